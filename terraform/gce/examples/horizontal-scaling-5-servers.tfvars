# Large team (200-250 users): five spot jump servers in one Incus cluster
# behind an SSH load balancer.  A preempted server comes back by itself.
#
#   cd terraform/gce
#   cp examples/horizontal-scaling-5-servers.tfvars terraform.tfvars
#   vim terraform.tfvars    # project_id, admin_ssh_keys, allowed_ssh_sources
#   terraform init && terraform apply

project_id = "my-gcp-project"
region     = "us-central1"
zone       = "us-central1-a"

enable_horizontal_scaling = true
jump_server_count         = 5
horizontal_scaling_layout = "cluster"
enable_load_balancer      = true

machine_type        = "n2-standard-8"
use_spot_instance   = true
use_persistent_disk = true
data_disk_size_gb   = 200

enable_disk_snapshots   = true
snapshot_retention_days = 30

admin_ssh_keys = {
  admin = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReplaceWithYourOwnPublicKeyXXXXXXXXXXXXX admin@laptop"
}

allowed_ssh_sources = ["0.0.0.0/0"]

containarium_source = "local"
