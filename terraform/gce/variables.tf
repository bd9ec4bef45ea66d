# SPDX-License-Identifier: Apache-2.0
# Variables.  The examples/ directory has a ready terraform.tfvars for each
# size; README.md explains each choice.

# ---- project and placement ------------------------------------------------------

variable "project_id" {
  description = "GCP project to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID (6-30 lowercase letters, digits and hyphens)."
  }
}

variable "region" {
  description = "Region of the network, addresses and load balancer."
  type        = string
  default     = "us-central1"
}

variable "zone" {
  description = "Zone of the jump servers and their disks (inside region)."
  type        = string
  default     = "us-central1-a"
}

variable "name_prefix" {
  description = "Prefix of every resource name: jump servers are NAME_PREFIX-jump-0, -1, ..."
  type        = string
  default     = "containarium"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name_prefix))
    error_message = "name_prefix must start with a letter and have at most 20 lowercase letters, digits or hyphens."
  }
}

variable "labels" {
  description = "Labels added to the instances and disks."
  type        = map(string)
  default     = {}
}

# ---- the jump servers -------------------------------------------------------------

variable "machine_type" {
  description = "Machine type of each jump server (n2-standard-8: 32 GB, about 50 containers)."
  type        = string
  default     = "n2-standard-8"
}

variable "boot_image" {
  description = "Boot image (Debian 12 or later)."
  type        = string
  default     = "debian-cloud/debian-12"
}

variable "boot_disk_size_gb" {
  description = "Boot disk size in GB."
  type        = number
  default     = 50

  validation {
    condition     = var.boot_disk_size_gb >= 20
    error_message = "boot_disk_size_gb must be at least 20 (packages, the ZFS module build, containarium's build)."
  }
}

variable "use_spot_instance" {
  description = "Spot VMs (about 70% cheaper). A preempted one is recreated by its managed instance group with the same name, disks and addresses, with nobody doing anything (README.md, \"Spot VMs\")."
  type        = bool
  default     = true
}

# Gone: each server's managed instance group recreates a preempted VM by
# itself.  Kept so that a terraform.tfvars that sets it says why.
variable "spot_restart_schedule" {
  description = "Removed: preempted spot VMs come back by themselves (each server's managed instance group recreates it). Leave unset."
  type        = string
  default     = ""

  validation {
    condition     = var.spot_restart_schedule == ""
    error_message = "spot_restart_schedule is gone: each jump server's managed instance group recreates a preempted spot VM by itself, so no restart schedule is needed. Remove it from your terraform.tfvars."
  }
}

# ---- storage ----------------------------------------------------------------------

variable "use_persistent_disk" {
  description = "Keep the ZFS pool (containers, Incus's state, backups, audit log) on a separate persistent disk that outlives the VM. false: a pool file on the boot disk."
  type        = bool
  default     = true
}

variable "data_disk_size_gb" {
  description = "Size of each jump server's ZFS pool in GB (the persistent disk, or the pool file)."
  type        = number
  default     = 100

  validation {
    condition     = var.data_disk_size_gb >= 10
    error_message = "data_disk_size_gb must be at least 10."
  }
}

variable "data_disk_type" {
  description = "Persistent disk type of the data disk."
  type        = string
  default     = "pd-balanced"

  validation {
    condition     = contains(["pd-standard", "pd-balanced", "pd-ssd", "pd-extreme"], var.data_disk_type)
    error_message = "data_disk_type must be pd-standard, pd-balanced, pd-ssd or pd-extreme."
  }
}

variable "enable_disk_snapshots" {
  description = "Daily snapshots of the data disks, kept snapshot_retention_days days."
  type        = bool
  default     = true
}

variable "snapshot_retention_days" {
  description = "Days each daily snapshot is kept."
  type        = number
  default     = 30

  validation {
    condition     = var.snapshot_retention_days >= 1
    error_message = "snapshot_retention_days must be at least 1."
  }
}

variable "snapshot_start_time" {
  description = "UTC hour the daily snapshot starts, HH:00."
  type        = string
  default     = "04:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):00$", var.snapshot_start_time))
    error_message = "snapshot_start_time must be a whole UTC hour such as 04:00."
  }
}

# ---- access -----------------------------------------------------------------------

variable "admin_ssh_keys" {
  description = "Admin accounts of the jump servers: user name => one OpenSSH public key. Admins get a shell and sudo; developers never do (their jump accounts come from containarium)."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for user, key in var.admin_ssh_keys :
      can(regex("^[a-z_][a-z0-9_-]{0,31}$", user)) &&
      can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh.com|sk-ecdsa-sha2-nistp256@openssh.com) [A-Za-z0-9+/]+=* ?[^\n\r]*$", key))
    ])
    error_message = "admin_ssh_keys: each user name must be a POSIX user name and each key one line \"TYPE BASE64 [comment]\"."
  }
}

variable "allowed_ssh_sources" {
  description = "CIDR ranges allowed to reach SSH (port 22) on the jump servers and the load balancer; nothing else reaches them."
  type        = list(string)

  validation {
    condition     = length(var.allowed_ssh_sources) > 0 && alltrue([for c in var.allowed_ssh_sources : can(cidrhost(c, 0))])
    error_message = "allowed_ssh_sources must list at least one CIDR range, such as 203.0.113.0/24 (0.0.0.0/0 for everyone)."
  }
}

variable "jump_host_names" {
  description = "DNS names users connect to the jump servers by (the load balancer's, or a server's): they go into the servers' SSH host certificates with the addresses, so that `containarium export --jump-ip NAME` works without a host key question."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.jump_host_names : can(regex("^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$", n))])
    error_message = "jump_host_names: each must be a host name such as jump.example.com (letters, digits, '.' and '-'; no wildcards)."
  }
}

variable "host_ca_names" {
  description = "The SSH host CAs users trust, by name: one normally, two during a rotation (host-ca.tf says the steps). Each name makes one Ed25519 key; removing a name destroys its key."
  type        = list(string)
  default     = ["ca1"]

  validation {
    condition     = length(var.host_ca_names) >= 1 && length(var.host_ca_names) <= 3 && length(distinct(var.host_ca_names)) == length(var.host_ca_names) && alltrue([for n in var.host_ca_names : can(regex("^[a-z][a-z0-9-]{0,30}$", n))])
    error_message = "host_ca_names must list 1 to 3 distinct names such as ca1 (lowercase letters, digits and hyphens)."
  }
}

variable "host_ca_signing" {
  description = "Which of host_ca_names signs the host certificates; \"\" = the first."
  type        = string
  default     = ""
}

# ---- scaling ----------------------------------------------------------------------

variable "enable_horizontal_scaling" {
  description = "Several jump servers (jump_server_count)."
  type        = bool
  default     = false
}

variable "jump_server_count" {
  description = "Number of jump servers when enable_horizontal_scaling is true (cluster layout: 1 to 9; 3 or more keep the cluster's database up when one is preempted)."
  type        = number
  default     = 3

  validation {
    condition     = var.jump_server_count >= 1 && var.jump_server_count <= 50 && floor(var.jump_server_count) == var.jump_server_count
    error_message = "jump_server_count must be a whole number from 1 to 50."
  }
}

variable "horizontal_scaling_layout" {
  description = "\"cluster\": the jump servers form one Incus cluster; one registry, any server serves any user. \"independent\": the documents' layout, each server with its own Incus, containers and users."
  type        = string
  default     = "cluster"

  validation {
    condition     = contains(["cluster", "independent"], var.horizontal_scaling_layout)
    error_message = "horizontal_scaling_layout must be \"cluster\" or \"independent\"."
  }
}

variable "enable_load_balancer" {
  description = "One address for all jump servers: a passthrough TCP load balancer on port 22 with health checks and client-IP session affinity."
  type        = bool
  default     = false
}

# ---- networks ---------------------------------------------------------------------

variable "network_cidr" {
  description = "Subnet of the jump servers' own VPC network."
  type        = string
  default     = "10.10.0.0/24"

  validation {
    condition     = can(cidrhost(var.network_cidr, 0)) && tonumber(split("/", var.network_cidr)[1]) <= 26
    error_message = "network_cidr must be an IPv4 CIDR range of /26 or larger."
  }
}

variable "container_subnet" {
  description = "The containers' bridge subnet (the same on every jump server; one network in the cluster layout)."
  type        = string
  default     = "10.200.0.0/16"

  validation {
    condition = (can(cidrhost(var.container_subnet, 0)) &&
      tonumber(split("/", var.container_subnet)[1]) >= 12 &&
    tonumber(split("/", var.container_subnet)[1]) <= 22)
    error_message = "container_subnet must be an IPv4 CIDR range from /12 to /22."
  }
}

# ---- software ---------------------------------------------------------------------

variable "incus_channel" {
  description = "Zabbly's Incus channel: \"stable\" (the current release) or an LTS series such as \"lts-6.0\"."
  type        = string
  default     = "stable"

  validation {
    condition     = can(regex("^(stable|lts-[0-9]+\\.[0-9]+)$", var.incus_channel))
    error_message = "incus_channel must be \"stable\" or \"lts-X.Y\"."
  }
}

variable "container_image" {
  description = "Incus image the containers' base image is made from (sshd and sudo are added once)."
  type        = string
  default     = "images:ubuntu/24.04"

  validation {
    condition     = can(regex("^[A-Za-z0-9._:/-]+$", var.container_image))
    error_message = "container_image must be an Incus image reference such as images:ubuntu/24.04."
  }
}

variable "containarium_source" {
  description = "Where the jump servers build containarium's Debian packages from (dpkg-buildpackage on each server), unless containarium_release_url is set: \"local\" (this checkout, zipped and uploaded to a private bucket by terraform apply) or a git repository URL (with containarium_ref)."
  type        = string
  default     = "local"

  validation {
    condition     = var.containarium_source == "local" || can(regex("^(https://|git@|ssh://)[^ ']+$", var.containarium_source))
    error_message = "containarium_source must be \"local\" or a git URL (https://, ssh://, git@)."
  }
}

variable "containarium_ref" {
  description = "Git commit, tag or branch of containarium_source to build (a commit pins exactly what runs). Empty: the default branch."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]*$", var.containarium_ref))
    error_message = "containarium_ref must be a commit, tag or branch name."
  }
}

variable "containarium_release_url" {
  description = "Install a containarium release instead of building containarium_source on each server: the URL of a directory holding its five .deb packages (containarium, containarium-helperd, containarium-host, libnss-containarium, libpam-containarium) and a SHA256SUMS file listing them, e.g. https://example.org/containarium/0.1.0/ (file:///DIR: a directory on the boot image). Empty: build from containarium_source."
  type        = string
  default     = ""

  validation {
    condition     = var.containarium_release_url == "" || can(regex("^(https://[A-Za-z0-9.-]+(:[0-9]+)?|file://)/[A-Za-z0-9._~%+@=/-]*$", var.containarium_release_url))
    error_message = "containarium_release_url must be empty or the https:// (or file:///) URL of a directory, without spaces, quotes or a query string."
  }
}

variable "containarium_release_sha256" {
  description = "The sha256 of the release's SHA256SUMS (`sha256sum SHA256SUMS`), required with containarium_release_url: it pins exactly what the servers install, since SHA256SUMS pins each .deb. A new value installs that release at the next boot."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^([0-9a-f]{64})?$", var.containarium_release_sha256))
    error_message = "containarium_release_sha256 must be empty or 64 lowercase hex digits (the output of sha256sum SHA256SUMS)."
  }
}
