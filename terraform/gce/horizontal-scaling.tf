# SPDX-License-Identifier: Apache-2.0
# Several jump servers.
#
# Cluster layout (horizontal_scaling_layout = "cluster", the default): the
# servers form one Incus cluster, Incus's own clustering (a replicated
# database over all members).  Every helperd talks to its local Incus, which
# answers for the whole cluster: one registry, so every server publishes
# every user and any server behind the load balancer serves any user.  The
# containers' bridge spans all members (scripts/containarium-fabric), so
# each server reaches every container.
#
# Independent layout ("independent", the documents' layout): each server
# has its own Incus, containers and users; a user connects to the server
# that holds their container.
#
# Joining a cluster needs trust both ways, arranged here so that nothing
# travels between the VMs: Terraform makes the cluster's certificate (the
# bootstrap member installs it after bootstrapping, and the others check
# it when they join) and each joining member's server certificate (the
# bootstrap member trusts them before they ask).  They are in Terraform's
# state and in the instances' metadata: keep the state private.

resource "tls_private_key" "incus_cluster" {
  count       = local.cluster ? 1 : 0
  algorithm   = "ECDSA"
  ecdsa_curve = "P384"
}

resource "tls_self_signed_cert" "incus_cluster" {
  count                 = local.cluster ? 1 : 0
  private_key_pem       = tls_private_key.incus_cluster[0].private_key_pem
  validity_period_hours = 24 * 365 * 10
  ip_addresses          = local.internal_ips
  dns_names             = local.server_names
  allowed_uses          = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]

  subject {
    common_name  = "${var.name_prefix} Incus cluster"
    organization = "Containarium"
  }
}

resource "tls_private_key" "incus_member" {
  count       = local.cluster ? local.server_count : 0
  algorithm   = "ECDSA"
  ecdsa_curve = "P384"
}

resource "tls_self_signed_cert" "incus_member" {
  count                 = local.cluster ? local.server_count : 0
  private_key_pem       = tls_private_key.incus_member[count.index].private_key_pem
  validity_period_hours = 24 * 365 * 10
  ip_addresses          = [local.internal_ips[count.index]]
  dns_names             = [local.server_names[count.index]]
  allowed_uses          = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]

  subject {
    common_name  = local.server_names[count.index]
    organization = "Containarium"
  }
}

# ---- the load balancer ------------------------------------------------------------------
# A passthrough TCP load balancer: clients' addresses reach sshd unchanged
# (fail2ban bans the client, not the balancer).  Health checks on port 22;
# CLIENT_IP affinity keeps each client on one server while it is healthy.

resource "google_compute_address" "lb" {
  count  = local.lb ? 1 : 0
  name   = "${var.name_prefix}-ssh-lb-ip"
  region = var.region
}

resource "google_compute_region_health_check" "ssh" {
  count               = local.lb ? 1 : 0
  name                = "${var.name_prefix}-ssh-health"
  region              = var.region
  check_interval_sec  = 10
  timeout_sec         = 5
  healthy_threshold   = 2
  unhealthy_threshold = 3

  tcp_health_check {
    port = 22
  }
}

resource "google_compute_region_backend_service" "ssh" {
  count                           = local.lb ? 1 : 0
  name                            = "${var.name_prefix}-ssh"
  region                          = var.region
  protocol                        = "TCP"
  load_balancing_scheme           = "EXTERNAL"
  session_affinity                = "CLIENT_IP"
  health_checks                   = [google_compute_region_health_check.ssh[0].id]
  connection_draining_timeout_sec = 300

  # Each server's managed instance group (spot-instance.tf): the one VM in
  # it, whichever VM that is after a recreation.
  dynamic "backend" {
    for_each = google_compute_instance_group_manager.jump_server[*].instance_group
    content {
      group          = backend.value
      balancing_mode = "CONNECTION"
    }
  }
}

resource "google_compute_forwarding_rule" "ssh" {
  count                 = local.lb ? 1 : 0
  name                  = "${var.name_prefix}-ssh"
  region                = var.region
  load_balancing_scheme = "EXTERNAL"
  ip_protocol           = "TCP"
  port_range            = "22"
  ip_address            = google_compute_address.lb[0].address
  backend_service       = google_compute_region_backend_service.ssh[0].id
}

# Google's health checkers (documented ranges for passthrough load balancers).
resource "google_compute_firewall" "health_checks" {
  count         = local.lb ? 1 : 0
  name          = "${var.name_prefix}-allow-health-checks"
  network       = google_compute_network.jump.id
  direction     = "INGRESS"
  source_ranges = ["35.191.0.0/16", "209.85.152.0/22", "209.85.204.0/22"]
  target_tags   = [local.tag]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}
