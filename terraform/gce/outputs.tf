# SPDX-License-Identifier: Apache-2.0
# What `terraform output` shows after apply.

locals {
  admin_user = length(var.admin_ssh_keys) > 0 ? sort(keys(var.admin_ssh_keys))[0] : "ADMIN"
  # The address developers put in their ~/.ssh/config: the load balancer
  # when there is one (cluster layout: any server serves any user).
  public_jump_ip = local.lb ? google_compute_address.lb[0].address : google_compute_address.external[0].address
}

output "layout" {
  description = "standalone (one server), cluster (one Incus cluster) or independent (separate servers)."
  value       = local.layout
}

output "jump_server_ip" {
  description = "The address users connect to: the load balancer's, or the first jump server's."
  value       = local.public_jump_ip
}

output "jump_server_ips" {
  description = "Each jump server's external address, by name."
  value       = zipmap(local.server_names, google_compute_address.external[*].address)
}

output "jump_server_internal_ips" {
  description = "Each jump server's internal address, by name."
  value       = zipmap(local.server_names, local.internal_ips)
}

output "load_balancer_ip" {
  description = "The SSH load balancer's address (null without enable_load_balancer)."
  value       = local.lb ? google_compute_address.lb[0].address : null
}

output "host_ca_public_keys" {
  description = "The SSH host CAs users trust (their known_hosts @cert-authority lines name them; `containarium export` writes those)."
  value       = { for n in var.host_ca_names : n => trimspace(tls_private_key.host_ca[n].public_key_openssh) }
}

output "host_ca_signing" {
  description = "The host CA that signs the servers' and the containers' host certificates."
  value       = local.host_ca_signing
}

output "admin_ssh_commands" {
  description = "SSH to each jump server as the first admin."
  value       = [for ip in google_compute_address.external[*].address : "ssh ${local.admin_user}@${ip}"]
}

output "next_steps" {
  description = "What to run next."
  value       = <<-EOT
    Jump servers (${local.layout}): ${join(", ", [for i, n in local.server_names : "${n} ${google_compute_address.external[i].address}"])}

    1. Wait for the startup script (5-10 minutes on the first boot: ZFS, Incus, containarium's build):
         gcloud compute instances get-serial-port-output ${local.server_names[0]} --zone ${var.zone} | grep containarium-startup
       It ends with "containarium-startup: ready".
    2. Create a user's container (on ${local.layout == "independent" ? "the server that should hold it" : "any jump server"}):
         ssh ${local.admin_user}@${google_compute_address.external[0].address}
         sudo containarium create alice --ssh-key /tmp/alice.pub
    3. Give the user their SSH configuration:
         sudo containarium export alice --jump-ip ${local.layout == "independent" ? "THAT-SERVER'S-IP" : local.public_jump_ip} --output alice-ssh-config.txt
       (and alice-ssh-config.txt.known_hosts: the host CA, as ~/.ssh/containarium_known_hosts)
       and they connect with: ssh alice-dev (no host key question: the hosts' certificates are checked)
    ${var.use_spot_instance ? "4. A preempted spot VM comes back by itself: its managed instance group recreates it (same name, disks, addresses, SSH host keys). Watch: gcloud compute instance-groups managed list-instances ${local.server_names[0]} --zone ${var.zone}" : ""}
  EOT
}
