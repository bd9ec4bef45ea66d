# SPDX-License-Identifier: Apache-2.0
# The deployment's SSH host certificate authority (one per deployment: one
# per cluster).  Every jump server signs its own host keys with it
# (containarium-host-setup --host-ca) and helperd signs every container's,
# so a user's known_hosts trusts one @cert-authority line (written by
# `containarium export`) instead of each host's key: no question at the
# first connection, no "host key changed" when the load balancer picks
# another server or a server is rebuilt.
#
# Like the cluster's certificates (horizontal-scaling.tf), the private key
# is made here and reaches each server in its startup script, which writes
# it to /etc/containarium/host-ca/host_ca (0600, in a 0700 directory, next
# to deploy.conf, itself 0600).  It is in Terraform's state and in the
# instances' metadata: keep the state private, and give only admins
# compute.instances.get (containers never reach the metadata server: the
# guard firewall drops it).
#
# Rotation, with no login lost (terraform/gce/README.md, "Host keys"):
#   1. host_ca_names = ["ca1", "ca2"]: both trusted, ca1 still signs; apply;
#      users take a new export (its known_hosts names both).
#   2. host_ca_signing = "ca2": apply, then run the startup script again on
#      each server (the servers' and the containers' certificates are signed
#      again).
#   3. host_ca_names = ["ca2"], host_ca_signing = "": apply, run the startup
#      script again; ca1 is trusted nowhere and its key is gone.

resource "tls_private_key" "host_ca" {
  for_each  = toset(var.host_ca_names)
  algorithm = "ED25519"
}

locals {
  host_ca_signing = var.host_ca_signing != "" ? var.host_ca_signing : var.host_ca_names[0]
  # Checked by the instances' precondition (spot-instance.tf).
  host_ca_key = try(tls_private_key.host_ca[local.host_ca_signing].private_key_openssh, "")
  host_ca_trusted = join("", [for n in var.host_ca_names :
  "${trimspace(tls_private_key.host_ca[n].public_key_openssh)} containarium-host-ca-${n}\n"])
  # What users connect to each server by: the load balancer's address, the
  # names you gave it, and the server's own name and addresses.
  host_principals = [for i in range(local.server_count) : join(",", distinct(concat(
    var.jump_host_names,
    local.lb ? [google_compute_address.lb[0].address] : [],
    [google_compute_address.external[i].address, local.internal_ips[i], local.server_names[i]]
  )))]
}
