/* SPDX-License-Identifier: Apache-2.0 */
/* The registry: every Containarium account, read from Incus.
 *
 * Incus is the source of truth; a struct registry is a snapshot of it taken
 * with one GET /1.0/instances?recursion=1.  helperd reloads it after each
 * change it makes and whenever Incus reports a change by anyone else (another
 * helperd on the same Incus), then publishes passwd.db and keys.db from it. */
#ifndef CONTAINARIUM_HELPERD_REGISTRY_H
#define CONTAINARIUM_HELPERD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "account.h"
#include "config.h"
#include "incus_client.h"

struct registry {
	struct account *accounts; /* sorted by name */
	size_t count;
	/* every IPv4 address pinned on any instance's NIC, ours or not */
	uint32_t *used_ipv4; /* host order, sorted */
	size_t used_ipv4_count;
	size_t skipped; /* instances marked ours but unreadable (logged) */
	/* Instances Incus listed without their config: on a cluster member
	 * that does not answer (Incus gives status Error, location, no
	 * config).  Their accounts are not in accounts until
	 * registry_carry_over puts them back. */
	struct registry_unreachable {
		char instance[64], location[64];
	} * unreachable;
	size_t n_unreachable;
};

enum incus_status registry_load(struct incus_client *c, struct registry *r, char *err, size_t errlen);
void registry_free(struct registry *r);

/* A member that does not answer must not lock its users out of every
 * other member: put back the accounts of r's unreachable instances as
 * last known, from old (the registry before this read) or, for those old
 * lacks (a helperd started while the member was down), from the last
 * published keys.db (keys_db; the user is the instance name less
 * suffix).  Their status is "Unknown"; their uids and addresses count as
 * used.  Returns how many were put back. */
size_t registry_carry_over(struct registry *r, const struct registry *old, const char *keys_db, const char *suffix);

const struct account *registry_find(const struct registry *r, const char *name);
const struct account *registry_find_uid(const struct registry *r, uint32_t uid);
int registry_ipv4_used(const struct registry *r, const unsigned char ipv4[4]);

/* Publish both snapshot files from r: every account, with its state.
 * keys_gid: group that may read keys.db ((gid_t)-1 to leave the default). */
int registry_publish(const struct registry *r, const struct helperd_config *cfg, gid_t keys_gid, char *err,
		     size_t errlen);

#endif
