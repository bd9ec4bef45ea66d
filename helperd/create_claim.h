/* SPDX-License-Identifier: Apache-2.0 */
/* The uid and address one create holds: candidates in this helperd
 * (allocate.h) and, once claimed, reservations in Incus (reservation.h),
 * which the instance carries as its only two profiles.  A create claims
 * both at step 1, may move to another address at step 3 (a stale DHCP
 * lease held its own), and gives both back if it fails. */
#ifndef CONTAINARIUM_HELPERD_CREATE_CLAIM_H
#define CONTAINARIUM_HELPERD_CREATE_CLAIM_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "allocate.h"
#include "incus_client.h"
#include "reservation.h"
#include "service.h"

struct claim {
	uint32_t uid, ip;
	char uid_res[RESERVATION_NAME_MAX], ip_res[RESERVATION_NAME_MAX]; /* "" until claimed */
	struct alloc_skip skip;
	int tries;
};

/* Reserve a uid (need_uid) and/or an address (need_ip) for user: take the
 * lowest candidates, claim them in Incus, and take the next ones while a
 * claim finds its value reserved already (another helperd's create, or a
 * reservation a crash left).  Bounded; the user never sees the retries.
 * A value replaced here is given up in this helperd, not in Incus: the
 * caller releases a reservation it no longer wants.  known: the registry
 * the caller has just read (NULL: read it now).  INCUS_ERR_CONFLICT when
 * no value is left. */
enum incus_status claim_values(struct incus_client *c, struct helperd *d, const char *user, const struct subnet *sn,
			       const struct registry *known, struct claim *cl, int need_uid, int need_ip, char *err,
			       size_t errlen);

/* Give up what cl holds, in Incus and in this helperd. */
void claim_release(struct incus_client *c, struct claim *cl);

/* The instance's profiles: its two reservations (a new JSON array). */
json_object *claim_profiles(const struct claim *cl);

/* Move a stopped instance to the address cl holds now. */
enum incus_status claim_move_address(struct incus_client *c, struct helperd *d, const char *iname,
				     const struct claim *cl, char *err, size_t errlen);

#endif
