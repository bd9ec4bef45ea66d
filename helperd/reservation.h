/* SPDX-License-Identifier: Apache-2.0 */
/* Reserving a new account's uid and IPv4 address so that no two helperds
 * on one Incus, or on the members of one Incus cluster, ever hold the same
 * one: a decision Incus makes atomically, cluster-wide, instead of each
 * helperd guessing and moving later.
 *
 * A value is reserved by creating an empty Incus profile named after it:
 * "ctm-uid-70001", "ctm-ipv4-10-0-3-130".  Profile names are unique in the
 * cluster's database, and Incus creates a profile in one database
 * transaction that fails when the name exists, so of two creates that pick
 * the same value exactly one gets it; the other picks the next value
 * (bounded, and never seen by the user).  The instance is created with both
 * profiles attached (they hold no config and no devices, so they change
 * nothing in it): Incus then refuses to delete a reservation while its
 * instance exists, and `used_by` names the holder.  Delete releases them
 * after the instance.  A reservation whose create died before its instance
 * existed holds nothing; reconcile removes it (reservation_reap).
 *
 * The description says who reserved it and when:
 *   "containarium: uid 70001 for alice by HOST at 2026-12-05T03:40:00Z" */
#ifndef CONTAINARIUM_HELPERD_RESERVATION_H
#define CONTAINARIUM_HELPERD_RESERVATION_H

#include <stddef.h>
#include <stdint.h>

#include "incus_client.h"

#define RESERVATION_NAME_MAX 40

void reservation_uid_name(uint32_t uid, char *buf, size_t len);
void reservation_ipv4_name(uint32_t ip, char *buf, size_t len); /* host order */

/* Create the reservation.  INCUS_OK: it is ours.  INCUS_ERR_CONFLICT: it
 * exists already (another create's, or a live account's).  Other statuses
 * with err: the backend failed. */
enum incus_status reservation_claim(struct incus_client *c, const char *name, const char *user, const char *host_id,
				    char *err, size_t errlen);

/* Delete it; one that is gone already is fine.  A reservation still
 * attached to an instance is refused by Incus (INCUS_ERR_REQUEST). */
enum incus_status reservation_release(struct incus_client *c, const char *name, char *err, size_t errlen);

/* Remove reservations that no instance uses and that were made more than
 * max_age_s ago (a create holds its reservations unattached only until
 * its instance exists: after its image is pulled, which may take minutes).
 * An orphan costs nothing but the value it holds back.  Returns how many
 * were removed, -1 when the list could not be read (err). */
int reservation_reap(struct incus_client *c, long max_age_s, char *err, size_t errlen);

#endif
