/* SPDX-License-Identifier: Apache-2.0 */
/* The uid and pinned address a create holds (create_claim.h), and the
 * bridge's subnet and leases it picks the address from. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "create_claim.h"
#include "helperd_log.h"
#include "lifecycle.h"
#include "nic_policy.h"

json_object *claim_profiles(const struct claim *cl)
{
	json_object *p = json_object_new_array();
	json_object_array_add(p, json_object_new_string(cl->uid_res));
	json_object_array_add(p, json_object_new_string(cl->ip_res));
	return p;
}

/* Move this instance to the address cl holds now (it is stopped).  The
 * NIC is given whole (a PATCH replaces a device), with its options, and
 * the profiles with the new reservation. */
enum incus_status claim_move_address(struct incus_client *c, struct helperd *d, const char *iname,
				     const struct claim *cl, char *err, size_t errlen)
{
	char path[256], ipbuf[INET_ADDRSTRLEN];
	struct nic_policy nic;
	nic_policy_for(c, &d->cfg, &nic);
	subnet_ip_text(cl->ip, ipbuf, sizeof ipbuf);
	snprintf(path, sizeof path, "/1.0/instances/%s", iname);
	json_object *b = json_object_new_object(), *cfg = json_object_new_object();
	json_object *devs = json_object_new_object();
	json_object_object_add(cfg, ACCT_KEY_IPV4, json_object_new_string(ipbuf));
	json_object_object_add(b, "config", cfg);
	json_object_object_add(devs, ACCT_NIC, nic_device_new(&d->cfg, &nic, ipbuf));
	json_object_object_add(b, "devices", devs);
	json_object_object_add(b, "profiles", claim_profiles(cl));
	enum incus_status s = incus_call(c, "PATCH", path, b, NULL, 60, NULL, err, errlen);
	json_object_put(b);
	return s;
}

enum incus_status claim_values(struct incus_client *c, struct helperd *d, const char *user, const struct subnet *sn,
			       const struct registry *known, struct claim *cl, int need_uid, int need_ip, char *err,
			       size_t errlen)
{
	/* known spares one read of every instance per create. */
	struct registry reg = { 0 };
	enum incus_status st;
	if (!known && (st = registry_load(c, &reg, err, errlen)) != INCUS_OK)
		return st;
	const struct registry *r = known ? known : &reg;
	for (;;) {
		if (allocate_pick(r, d->cfg.uid_min, d->cfg.uid_max, sn, &cl->skip, need_uid, need_ip, &cl->uid,
				  &cl->ip)) {
			registry_free(&reg);
			snprintf(err, errlen, "no free %s left", need_uid ? "uid" : "IPv4 address");
			return INCUS_ERR_CONFLICT;
		}
		char name[RESERVATION_NAME_MAX];
		if (need_uid) {
			reservation_uid_name(cl->uid, name, sizeof name);
			st = reservation_claim(c, name, user, d->host_id, err, errlen);
			if (st == INCUS_OK) {
				snprintf(cl->uid_res, sizeof cl->uid_res, "%s", name);
				need_uid = 0;
			} else if (st != INCUS_ERR_CONFLICT || allocate_skip_uid(&cl->skip, cl->uid)) {
				break;
			}
		}
		if (need_ip) {
			reservation_ipv4_name(cl->ip, name, sizeof name);
			st = reservation_claim(c, name, user, d->host_id, err, errlen);
			if (st == INCUS_OK) {
				snprintf(cl->ip_res, sizeof cl->ip_res, "%s", name);
				need_ip = 0;
			} else if (st != INCUS_ERR_CONFLICT || allocate_skip_ip(&cl->skip, cl->ip)) {
				break;
			}
		}
		if (!need_uid && !need_ip) {
			st = INCUS_OK;
			break;
		}
		if (++cl->tries == ALLOC_SKIP_MAX) {
			st = INCUS_ERR_CONFLICT;
			break;
		}
		log_debug("create %s: %s reserved already; trying the next", user, name);
	}
	registry_free(&reg);
	if (st == INCUS_ERR_CONFLICT)
		snprintf(err, errlen,
			 "could not reserve a uid and an address: %d candidates in a row were "
			 "reserved already",
			 cl->tries);
	return st;
}

void claim_release(struct incus_client *c, struct claim *cl)
{
	char e2[512];
	for (char *res = cl->uid_res; res; res = res == cl->uid_res ? cl->ip_res : NULL)
		if (*res && reservation_release(c, res, e2, sizeof e2) != INCUS_OK)
			log_warning("could not remove reservation %s (%s); the next helperd start removes it", res, e2);
	allocate_release(cl->uid, cl->ip);
}

int network_subnet(struct incus_client *c, struct helperd *d, struct subnet *sn, char *err, size_t errlen)
{
	char path[160];
	snprintf(path, sizeof path, "/1.0/networks/%s", d->cfg.network);
	json_object *md = NULL, *cfg, *addr, *ranges;
	if (incus_get(c, path, &md, NULL, err, errlen) != INCUS_OK)
		return -1;
	int ok = json_object_object_get_ex(md, "config", &cfg) &&
		 json_object_object_get_ex(cfg, "ipv4.address", &addr) &&
		 subnet_parse(json_object_get_string(addr), sn) == 0;
	if (ok && json_object_object_get_ex(cfg, "ipv4.dhcp.ranges", &ranges) &&
	    subnet_parse_dhcp(json_object_get_string(ranges), sn) != 0)
		sn->dhcp_count = 0; /* unreadable: treat the whole subnet as DHCP's */
	json_object_put(md);
	if (!ok) {
		snprintf(err, errlen,
			 "network %s has no IPv4 subnet (ipv4.address): containers need one for "
			 "their pinned address",
			 d->cfg.network);
		return -1;
	}
	/* Addresses the DHCP server still holds (allocate.h).  Best effort:
	 * without the list, allocation falls back to the registry alone. */
	snprintf(path, sizeof path, "/1.0/networks/%s/leases", d->cfg.network);
	char lerr[256];
	json_object *leases = NULL;
	if (incus_get(c, path, &leases, NULL, lerr, sizeof lerr) != INCUS_OK) {
		log_warning("cannot read the DHCP leases of %s (%s): allocating from the registry alone",
			    d->cfg.network, lerr);
		return 0;
	}
	size_t n = json_object_is_type(leases, json_type_array) ? json_object_array_length(leases) : 0, k = 0;
	uint32_t *ips = n ? malloc(n * sizeof *ips) : NULL;
	for (size_t i = 0; ips && i < n; i++) {
		json_object *a = NULL;
		struct in_addr in;
		if (json_object_object_get_ex(json_object_array_get_idx(leases, i), "address", &a) &&
		    inet_pton(AF_INET, json_object_get_string(a), &in) == 1)
			ips[k++] = ntohl(in.s_addr);
	}
	json_object_put(leases);
	subnet_set_leased(sn, ips, k);
	return 0;
}
