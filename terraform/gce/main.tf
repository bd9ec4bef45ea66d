# SPDX-License-Identifier: Apache-2.0
# Containarium on GCE: the network, its firewall, the jump servers' service
# account, and the containarium source they build.  The jump servers and
# their disks: spot-instance.tf.  Several servers (Incus cluster, load
# balancer): horizontal-scaling.tf.

locals {
  server_count = var.enable_horizontal_scaling ? var.jump_server_count : 1
  # standalone: one server.  cluster: one Incus cluster over all servers.
  # independent: the documents' layout, each server on its own.
  layout       = local.server_count == 1 ? "standalone" : var.horizontal_scaling_layout
  cluster      = local.layout == "cluster"
  server_names = [for i in range(local.server_count) : "${var.name_prefix}-jump-${i}"]
  # Fixed internal addresses: each server knows its peers from the start.
  internal_ips = [for i in range(local.server_count) : cidrhost(var.network_cidr, 10 + i)]
  tag          = "${var.name_prefix}-jump"
  lb           = var.enable_load_balancer

  # The containers' bridge: gateway .1; each server's own address on it
  # (cluster fabric) among the first ten, which helperd never hands out;
  # Incus's DHCP pool (containers helperd did not make) in the last /24.
  prefix_len     = tonumber(split("/", var.container_subnet)[1])
  bridge_address = "${cidrhost(var.container_subnet, 1)}/${local.prefix_len}"
  dhcp_range     = "${cidrhost(var.container_subnet, -255)}-${cidrhost(var.container_subnet, -2)}"
  # One MAC for the gateway on every member (locally administered, Incus's OUI).
  bridge_hwaddr = "00:16:3e:ca:fe:01"
  # GCE's VPC MTU is 1460; the cluster fabric's VXLAN takes 50 of it.
  bridge_mtu = local.cluster ? 1410 : 1460

  # containarium: a release's .debs, or built on each server from the
  # source (this checkout uploaded, or a git repository).
  release      = var.containarium_release_url != ""
  source_local = !local.release && var.containarium_source == "local"
}

# ---- network ----------------------------------------------------------------------

resource "google_compute_network" "jump" {
  name                    = "${var.name_prefix}-net"
  auto_create_subnetworks = false
  mtu                     = 1460
}

resource "google_compute_subnetwork" "jump" {
  name          = "${var.name_prefix}-subnet"
  region        = var.region
  network       = google_compute_network.jump.id
  ip_cidr_range = var.network_cidr
}

# SSH from allowed_ssh_sources only: the network has no other ingress rule
# (a new VPC denies all ingress by default).
resource "google_compute_firewall" "ssh" {
  name          = "${var.name_prefix}-allow-ssh"
  network       = google_compute_network.jump.id
  direction     = "INGRESS"
  source_ranges = var.allowed_ssh_sources
  target_tags   = [local.tag]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

# Incus's cluster API and the container fabric (VXLAN), between the jump
# servers only.
resource "google_compute_firewall" "cluster" {
  count       = local.cluster ? 1 : 0
  name        = "${var.name_prefix}-allow-cluster"
  network     = google_compute_network.jump.id
  direction   = "INGRESS"
  source_tags = [local.tag]
  target_tags = [local.tag]

  allow {
    protocol = "tcp"
    ports    = ["8443"]
  }

  allow {
    protocol = "udp"
    ports    = ["4789"]
  }
}

# ---- service account ----------------------------------------------------------------

resource "google_service_account" "jump" {
  account_id   = "${var.name_prefix}-jump"
  display_name = "Containarium jump servers"
}

resource "google_project_iam_member" "jump_logging" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.jump.email}"
}

resource "google_project_iam_member" "jump_monitoring" {
  project = var.project_id
  role    = "roles/monitoring.metricWriter"
  member  = "serviceAccount:${google_service_account.jump.email}"
}

# ---- the containarium source --------------------------------------------------------
# containarium_source = "local" (and no containarium_release_url): this
# checkout, zipped (without build output, git data and Terraform state)
# into a private bucket the jump servers read; each builds its Debian
# packages from it and installs them with apt when its sha256 changes.

data "archive_file" "containarium" {
  count       = local.source_local ? 1 : 0
  type        = "zip"
  source_dir  = "${path.module}/../.."
  output_path = "${path.module}/.terraform/containarium-source.zip"
  excludes = [
    ".git",
    "build",
    "terraform/gce/.terraform",
    "terraform/gce/terraform.tfstate",
    "terraform/gce/terraform.tfstate.backup",
    "terraform/gce/terraform.tfvars",
  ]
}

resource "google_storage_bucket" "source" {
  count                       = local.source_local ? 1 : 0
  name                        = "${var.project_id}-${var.name_prefix}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
}

resource "google_storage_bucket_object" "source" {
  count  = local.source_local ? 1 : 0
  name   = "containarium-${data.archive_file.containarium[0].output_sha256}.zip"
  bucket = google_storage_bucket.source[0].name
  source = data.archive_file.containarium[0].output_path
}

resource "google_storage_bucket_iam_member" "source_reader" {
  count  = local.source_local ? 1 : 0
  bucket = google_storage_bucket.source[0].name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.jump.email}"
}

locals {
  source_url    = local.release ? "" : local.source_local ? "gs://${google_storage_bucket.source[0].name}/${google_storage_bucket_object.source[0].name}" : var.containarium_source
  source_sha256 = local.source_local ? data.archive_file.containarium[0].output_sha256 : ""
}
