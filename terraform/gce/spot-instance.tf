# SPDX-License-Identifier: Apache-2.0
# The jump servers: (spot) VMs, each with a persistent data disk that holds
# its ZFS pool, a fixed external and internal address, and the startup
# script that makes it a Containarium jump server at every boot.

# ---- addresses --------------------------------------------------------------------
# Static, so a spot VM that comes back keeps the address in everyone's
# ~/.ssh/config.

resource "google_compute_address" "external" {
  count  = local.server_count
  name   = "${local.server_names[count.index]}-ip"
  region = var.region
}

resource "google_compute_address" "internal" {
  count        = local.server_count
  name         = "${local.server_names[count.index]}-internal-ip"
  region       = var.region
  subnetwork   = google_compute_subnetwork.jump.id
  address_type = "INTERNAL"
  address      = local.internal_ips[count.index]
}

# ---- data disks -------------------------------------------------------------------
# The ZFS pool: containers, Incus's own state (/var/lib/incus), backups,
# the audit log.  A separate resource: it outlives a preempted, stopped or
# replaced VM, and the next boot imports the pool again.

resource "google_compute_disk" "data" {
  count  = var.use_persistent_disk ? local.server_count : 0
  name   = "${local.server_names[count.index]}-data"
  zone   = var.zone
  type   = var.data_disk_type
  size   = var.data_disk_size_gb
  labels = merge(var.labels, { "containarium-role" = "data" })
}

resource "google_compute_resource_policy" "daily_snapshot" {
  count  = var.use_persistent_disk && var.enable_disk_snapshots ? 1 : 0
  name   = "${var.name_prefix}-daily-snapshot"
  region = var.region

  snapshot_schedule_policy {
    schedule {
      daily_schedule {
        days_in_cycle = 1
        start_time    = var.snapshot_start_time
      }
    }
    retention_policy {
      max_retention_days    = var.snapshot_retention_days
      on_source_disk_delete = "KEEP_AUTO_SNAPSHOTS"
    }
    snapshot_properties {
      labels      = merge(var.labels, { "containarium-role" = "data-snapshot" })
      guest_flush = false
    }
  }
}

resource "google_compute_disk_resource_policy_attachment" "daily_snapshot" {
  count = var.use_persistent_disk && var.enable_disk_snapshots ? local.server_count : 0
  name  = google_compute_resource_policy.daily_snapshot[0].name
  disk  = google_compute_disk.data[count.index].name
  zone  = var.zone
}

# ---- the startup script -------------------------------------------------------------
# Each server's settings (names, addresses, layout, certificates) go into
# the script base64-encoded, one KEY=BASE64 line each: nothing in them is
# ever evaluated by a shell.  scripts/containarium-startup reads them.

locals {
  settings_common = {
    CTM_LAYOUT            = local.layout
    CTM_PEER_IPS          = join(" ", local.internal_ips)
    CTM_VPC_CIDR          = var.network_cidr
    CTM_CONTAINER_SUBNET  = var.container_subnet
    CTM_BRIDGE_ADDRESS    = local.bridge_address
    CTM_BRIDGE_HWADDR     = local.bridge_hwaddr
    CTM_BRIDGE_MTU        = tostring(local.bridge_mtu)
    CTM_DHCP_RANGE        = local.dhcp_range
    CTM_STORAGE_DRIVER    = "zfs"
    CTM_ZPOOL             = "incus-pool"
    CTM_DATA_DEVICE       = var.use_persistent_disk ? "/dev/disk/by-id/google-containarium-data" : "file:/var/lib/containarium-zfs/pool.img"
    CTM_DATA_FILE_SIZE_GB = tostring(var.data_disk_size_gb)
    CTM_INCUS_CHANNEL     = var.incus_channel
    CTM_CONTAINER_IMAGE   = var.container_image
    CTM_SOURCE            = local.source_url
    CTM_SOURCE_REF        = var.containarium_ref
    CTM_SOURCE_SHA256     = local.source_sha256
    CTM_RELEASE_URL       = var.containarium_release_url
    CTM_RELEASE_SHA256    = var.containarium_release_sha256
    CTM_ADMIN_USERS       = join(" ", sort(keys(var.admin_ssh_keys)))
    CTM_CLUSTER_CERT      = local.cluster ? tls_self_signed_cert.incus_cluster[0].cert_pem : ""
    # The host CA (host-ca.tf): the key that signs, and every CA users trust.
    CTM_HOST_CA_KEY     = local.host_ca_key
    CTM_HOST_CA_TRUSTED = local.host_ca_trusted
  }

  settings = [for i in range(local.server_count) : merge(local.settings_common, {
    CTM_SERVER_NAME  = local.server_names[i]
    CTM_SERVER_INDEX = tostring(i)
    CTM_INTERNAL_IP  = local.internal_ips[i]
    CTM_HOST_ADDRESS = local.cluster ? cidrhost(var.container_subnet, 2 + i) : ""
    # The bootstrap member (0) holds the cluster key and trusts the others'
    # certificates; the others present theirs when they join.
    CTM_CLUSTER_KEY  = local.cluster && i == 0 ? tls_private_key.incus_cluster[0].private_key_pem : ""
    CTM_SERVER_CERT  = local.cluster && i > 0 ? tls_self_signed_cert.incus_member[i].cert_pem : ""
    CTM_SERVER_KEY   = local.cluster && i > 0 ? tls_private_key.incus_member[i].private_key_pem : ""
    CTM_MEMBER_CERTS = local.cluster && i == 0 ? join("", slice(tls_self_signed_cert.incus_member[*].cert_pem, 1, local.server_count)) : ""
    # The names and addresses in this server's host certificates.
    CTM_HOST_PRINCIPALS = local.host_principals[i]
  })]

  startup_scripts = [for s in local.settings : templatefile("${path.module}/scripts/startup.sh.tftpl", {
    settings = join("", [for k, v in s : "${k}=${base64encode(v)}\n"])
    main     = file("${path.module}/scripts/containarium-startup")
    fabric   = file("${path.module}/scripts/containarium-fabric")
  })]

  ssh_keys_metadata = join("\n", [for user, key in var.admin_ssh_keys : "${user}:${trimspace(key)}"])
}

# ---- the VMs: each the one VM of its own managed instance group ------------------------
# A managed instance group (MIG) repairs its VMs by itself: one that is not
# running (a spot VM preempted and stopped, a host error, a VM someone
# stopped or deleted) is recreated, with no person and no schedule
# (README.md, "Spot VMs").  One MIG per jump server, so that each has its
# own startup script (its settings: index, certificates) and a VM named as
# before.  Its per-instance config keeps what makes the VM this server across
# recreations: the name (the Incus cluster member's), the data disk (the
# ZFS pool: containers, Incus's database with every user, the SSH host
# keys), the internal and the external address.  The boot disk is stateful
# too, which only saves the reinstall: a new boot disk comes back whole
# from the data disk alone (tests/terraform/test_startup_recovery.sh).

resource "google_compute_instance_template" "jump_server" {
  count        = local.server_count
  name_prefix  = "${local.server_names[count.index]}-"
  machine_type = var.machine_type
  tags         = [local.tag]
  labels       = merge(var.labels, { "containarium-role" = "jump-server" })

  disk {
    boot         = true
    device_name  = "boot"
    source_image = var.boot_image
    disk_size_gb = var.boot_disk_size_gb
    disk_type    = "pd-balanced"
    auto_delete  = true
  }

  # The addresses are the per-instance config's (stateful): the external
  # one replaces this ephemeral one.
  network_interface {
    subnetwork = google_compute_subnetwork.jump.id
    access_config {}
  }

  # Spot: preemption stops the VM (its disks stay); the MIG recreates it.
  scheduling {
    provisioning_model          = var.use_spot_instance ? "SPOT" : "STANDARD"
    preemptible                 = var.use_spot_instance
    automatic_restart           = !var.use_spot_instance
    on_host_maintenance         = var.use_spot_instance ? "TERMINATE" : "MIGRATE"
    instance_termination_action = var.use_spot_instance ? "STOP" : null
  }

  service_account {
    email  = google_service_account.jump.email
    scopes = ["cloud-platform"]
  }

  metadata = {
    # The guest agent makes the admin accounts from ssh-keys ("user:key"
    # lines); OS Login would ignore them.
    "enable-oslogin" = "FALSE"
    "ssh-keys"       = local.ssh_keys_metadata
    "startup-script" = local.startup_scripts[count.index]
  }

  # A template cannot change: a new one (new settings, a new release) is
  # made first, then the MIG moves to it (update_policy below).
  lifecycle {
    create_before_destroy = true
    precondition {
      condition     = !local.cluster || local.server_count <= 9
      error_message = "The cluster layout takes 1 to 9 jump servers (each has one of the container subnet's first ten addresses); use more with horizontal_scaling_layout = \"independent\"."
    }
    precondition {
      condition     = startswith(var.zone, "${var.region}-")
      error_message = "zone must be in region."
    }
    precondition {
      condition     = contains(var.host_ca_names, local.host_ca_signing)
      error_message = "host_ca_signing must be one of host_ca_names (or \"\" for the first)."
    }
    precondition {
      condition     = (var.containarium_release_url == "") == (var.containarium_release_sha256 == "")
      error_message = "containarium_release_url and containarium_release_sha256 go together: set both (the release and the sha256 of its SHA256SUMS) or neither (build from containarium_source)."
    }
  }
}

resource "google_compute_instance_group_manager" "jump_server" {
  count              = local.server_count
  name               = local.server_names[count.index]
  zone               = var.zone
  base_instance_name = local.server_names[count.index]

  version {
    instance_template = google_compute_instance_template.jump_server[count.index].self_link_unique
  }

  # The one VM is the per-instance config's (below), named; a target size
  # of 1 here would make a second one with a random name first
  # (hashicorp/terraform-provider-google#15911).  Creating the config
  # raises the size to 1, which Terraform leaves alone (#20662).
  target_size = 0

  # Repair a VM that is not running by recreating it (the default, said
  # here), from the latest template.
  instance_lifecycle_policy {
    default_action_on_failure = "REPAIR"
    force_update_on_repair    = "YES"
  }

  stateful_disk {
    device_name = "boot"
    delete_rule = "ON_PERMANENT_INSTANCE_DELETION"
  }

  # A new template (new settings in the startup script) reaches the VM's
  # metadata without a restart (the script runs at its next boot, or now:
  # sudo google_metadata_script_runner startup); a new machine type
  # recreates it, keeping its name, disks and addresses.
  update_policy {
    type                           = "PROACTIVE"
    minimal_action                 = "REFRESH"
    most_disruptive_allowed_action = "REPLACE"
    replacement_method             = "RECREATE"
    max_surge_fixed                = 0
    max_unavailable_fixed          = 1
  }

  lifecycle {
    ignore_changes = [target_size]
  }

  depends_on = [google_storage_bucket_iam_member.source_reader]
}

resource "google_compute_per_instance_config" "jump_server" {
  count                          = local.server_count
  zone                           = var.zone
  instance_group_manager         = google_compute_instance_group_manager.jump_server[count.index].name
  name                           = local.server_names[count.index]
  minimal_action                 = "REFRESH"
  most_disruptive_allowed_action = "REPLACE"
  remove_instance_on_destroy     = true

  preserved_state {
    dynamic "disk" {
      for_each = [for d in google_compute_disk.data : d.id if d.name == "${local.server_names[count.index]}-data"]
      content {
        device_name = "containarium-data"
        source      = disk.value
        mode        = "READ_WRITE"
        delete_rule = "NEVER"
      }
    }

    internal_ip {
      interface_name = "nic0"
      auto_delete    = "NEVER"
      ip_address {
        address = google_compute_address.internal[count.index].self_link
      }
    }

    external_ip {
      interface_name = "nic0"
      auto_delete    = "NEVER"
      ip_address {
        address = google_compute_address.external[count.index].self_link
      }
    }
  }
}
