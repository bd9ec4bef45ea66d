# Small team (20-50 users): one spot jump server, n2-standard-8 (32 GB),
# a 100 GB persistent ZFS disk with daily snapshots kept 30 days.
#
#   cd terraform/gce
#   cp examples/single-server-spot.tfvars terraform.tfvars
#   vim terraform.tfvars    # project_id, admin_ssh_keys, allowed_ssh_sources
#   terraform init && terraform apply

project_id = "my-gcp-project"
region     = "us-central1"
zone       = "us-central1-a"

machine_type        = "n2-standard-8"
use_spot_instance   = true
use_persistent_disk = true
data_disk_size_gb   = 100

enable_disk_snapshots   = true
snapshot_retention_days = 30

# Admins: a shell and sudo on the jump server.  Developers never get one.
admin_ssh_keys = {
  admin = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReplaceWithYourOwnPublicKeyXXXXXXXXXXXXX admin@laptop"
}

# Who may reach SSH at all (0.0.0.0/0: everyone; fail2ban still bans).
allowed_ssh_sources = ["0.0.0.0/0"]

# Build containarium's Debian packages on the server from this checkout
# (uploaded by terraform apply).
containarium_source = "local"
# Or install a release's .debs instead (README.md, "Installing a release"):
# containarium_release_url    = "https://example.org/containarium/0.1.0/"
# containarium_release_sha256 = "the output of: sha256sum SHA256SUMS"
