/* SPDX-License-Identifier: Apache-2.0 */
/* What keeps tenants apart on the container network: the options every
 * NIC helperd creates, moves or reconciles carries.
 *
 *   security.mac_filtering   frames leave the NIC only with its own MAC
 *   security.ipv4_filtering  ARP and IPv4 only from its pinned address
 *   security.ipv6_filtering  IPv6 only from its own address (on a network
 *                            without IPv6: no IPv6 at all)
 *   security.port_isolation  no frame between two isolated ports of the
 *                            bridge; the bridge itself (gateway, DHCP,
 *                            DNS, the jump host) is not a port and stays
 *                            reachable
 *
 * The first three make "take another tenant's address" impossible; the
 * fourth makes "reach another tenant's container" impossible.  All four
 * are enforced by the backend on the host (nftables bridge rules and the
 * kernel bridge's isolated flag), outside every container, so root in a
 * container cannot undo them.  Port isolation can be turned off with
 * isolate_tenants = no (helperd.conf(5)); the anti-spoofing options cannot. */
#ifndef CONTAINARIUM_HELPERD_NIC_POLICY_H
#define CONTAINARIUM_HELPERD_NIC_POLICY_H

#include <json-c/json.h>
#include <stddef.h>

#include "config.h"
#include "incus_client.h"

enum nic_option {
	NIC_MAC_FILTERING = 1u << 0,
	NIC_IPV4_FILTERING = 1u << 1,
	NIC_IPV6_FILTERING = 1u << 2,
	NIC_PORT_ISOLATION = 1u << 3,
};
#define NIC_OPTION_COUNT 4

/* The options helperd wants on every NIC (config), and the subset this
 * backend can enforce (extensions): wanted & ~supported is what it cannot. */
struct nic_policy {
	unsigned wanted;
	unsigned supported;
	const char *server; /* "incus" or "lxd", for messages */
};
void nic_policy_for(const struct incus_client *c, const struct helperd_config *cfg, struct nic_policy *p);

/* The options set to "true" on a device object (an instance's devices.eth0). */
unsigned nic_options_of(json_object *dev);

/* The NIC helperd gives a container: network, name, pinned address and
 * every option of the policy the backend supports. */
json_object *nic_device_new(const struct helperd_config *cfg, const struct nic_policy *p, const char *ipv4);

/* The options a NIC that has `have` should have: every supported option
 * of the policy added, and port isolation taken away when the policy does
 * not want it (isolate_tenants = no).  Anti-spoofing options are never
 * taken away. */
unsigned nic_policy_target(const struct nic_policy *p, unsigned have);

/* Make dev (an existing NIC device object) carry nic_policy_target's
 * options; every other key stays.  Returns the options changed. */
unsigned nic_device_apply(json_object *dev, const struct nic_policy *p);

/* Bring instance's NIC to the policy (GET with its ETag, PATCH with
 * If-Match, live: a running container keeps its address and sessions).
 * *changed gets the options added or removed (0: nothing to do). */
enum incus_status nic_apply_to_instance(struct incus_client *c, const struct nic_policy *p, const char *instance,
					unsigned *changed, char *err, size_t errlen);

/* "security.mac_filtering, security.port_isolation": the options in bits,
 * comma-separated ("none" when there are none). */
void nic_options_text(unsigned bits, char *buf, size_t len);

/* The same as a JSON array of device keys. */
json_object *nic_options_json(unsigned bits);

/* A sentence for the log and /v1/system: what isolates tenants on this
 * backend, and what does not. */
void nic_policy_describe(const struct nic_policy *p, char *buf, size_t len);

/* JSON for /v1/system: {"enforced": [...], "missing": [...], "isolate_tenants": bool,
 * "summary": "..."} */
json_object *nic_policy_to_json(const struct nic_policy *p, const struct helperd_config *cfg);

#endif
