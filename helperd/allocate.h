/* SPDX-License-Identifier: Apache-2.0 */
/* Choosing a candidate uid and pinned IPv4 address for a new account: the
 * lowest ones no account holds, no create of this helperd holds, and this
 * create has not found reserved already.  A candidate is only a guess: it
 * is the account's once reservation_claim (reservation.h) got it from
 * Incus, atomically across every helperd and cluster member. */
#ifndef CONTAINARIUM_HELPERD_ALLOCATE_H
#define CONTAINARIUM_HELPERD_ALLOCATE_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

struct subnet {
	uint32_t network, mask, gateway; /* host order */
	/* The bridge's DHCP pool (ipv4.dhcp.ranges): pinned addresses are
	 * taken outside it when it leaves room, so a pinned address is never
	 * one a DHCP client already holds. */
	uint32_t dhcp_lo[8], dhcp_hi[8];
	int dhcp_count;
	/* Addresses the bridge's DHCP server has a lease or a host entry for
	 * (GET /1.0/networks/NAME/leases), sorted.  A lease outlives its
	 * container when LXD could not release it (a crash, a delete while the
	 * DHCP server was down); dnsmasq then will not hand the address to a
	 * new MAC until the lease expires, so a container pinned to it never
	 * gets its address.  Owned by the subnet: subnet_free. */
	uint32_t *leased;
	size_t n_leased;
};

/* Parse the bridge's "ipv4.address" ("10.0.3.1/24"). */
int subnet_parse(const char *cidr, struct subnet *s);
/* Parse "ipv4.dhcp.ranges" ("10.0.3.2-10.0.3.127,10.0.3.200-10.0.3.210"). */
int subnet_parse_dhcp(const char *ranges, struct subnet *s);
/* Hand the subnet the addresses (host order, any order, malloc'ed) the
 * DHCP server holds; it sorts them and frees them in subnet_free. */
void subnet_set_leased(struct subnet *s, uint32_t *ips, size_t n);
void subnet_free(struct subnet *s);
/* An address in host order as dotted text ("10.0.3.17"). */
void subnet_ip_text(uint32_t ip, char *buf, size_t len);

/* Values one create must not pick (their reservation belongs to someone
 * else, or the address is held otherwise).  Zero-initialise it. */
#define ALLOC_SKIP_MAX 64
struct alloc_skip {
	uint32_t uid[ALLOC_SKIP_MAX], ip[ALLOC_SKIP_MAX];
	size_t n_uid, n_ip;
};
/* Add a value; -1 when the list is full (the create gives up then). */
int allocate_skip_uid(struct alloc_skip *k, uint32_t uid);
int allocate_skip_ip(struct alloc_skip *k, uint32_t ip);

/* Lowest uid in [uid_min, uid_max] no account holds and not in skip (may
 * be NULL).  0 when the range is full. */
uint32_t allocate_uid(const struct registry *r, uint32_t uid_min, uint32_t uid_max, const struct alloc_skip *skip);

/* Lowest address in the subnet (after the first ten, which admins often
 * use by hand) that no NIC pins and no DHCP lease holds, not the gateway,
 * network or broadcast, not in skip, outside the DHCP pool if possible.
 * 0 when the subnet is full. */
uint32_t allocate_ipv4(const struct registry *r, const struct subnet *s, const struct alloc_skip *skip);

/* Pick a candidate uid (need_uid) and/or address (need_ip) that is in
 * neither r nor skip nor held by another create of this helperd still
 * running, and hold them in this helperd: *uid and *ip are replaced (the
 * old values are given up).  0 on success, -1 when a range is full.
 * allocate_release gives the pair up when the create ends. */
int allocate_pick(const struct registry *r, uint32_t uid_min, uint32_t uid_max, const struct subnet *s,
		  const struct alloc_skip *skip, int need_uid, int need_ip, uint32_t *uid, uint32_t *ip);
void allocate_release(uint32_t uid, uint32_t ip);

/* Keep ip out of allocate_ipv4's answers for an hour (LXD's and Incus's
 * default DHCP lease time): a stale lease holds it (instance.h). */
void allocate_avoid(uint32_t ip);

/* Compare two RFC 3339 timestamps as times (LXD trims trailing zeros of
 * the fraction, so plain string order is wrong). */
int rfc3339_cmp(const char *a, const char *b);

#endif
