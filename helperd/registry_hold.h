/* SPDX-License-Identifier: Apache-2.0 */
/* Accounts whose instance config is briefly not theirs.
 *
 * Restoring a snapshot also restores the instance's config, so between
 * the restore and helperd putting today's config back, Incus shows the
 * user's registry entry as it was at snapshot time (keys removed since,
 * an old state); importing a backup shows the user with the uid and
 * address it had, which another account may hold now.  A refresh in that
 * window (the event watcher's, another operation's) must not publish
 * either: while a name is held, every refresh keeps that account as the
 * registry had it before the hold (or keeps it absent). */
#ifndef CONTAINARIUM_HELPERD_REGISTRY_HOLD_H
#define CONTAINARIUM_HELPERD_REGISTRY_HOLD_H

#include "registry.h"

/* 0, or -1 when too many holds are taken already (the caller fails). */
int registry_hold(const char *name);
void registry_unhold(const char *name);

/* Make fresh show every held account as old has it.  Called by the
 * refresh with d->lock held, before fresh replaces old.  0, or -1 when out
 * of memory (fresh is then unchanged for the account that failed). */
int registry_apply_holds(struct registry *fresh, const struct registry *old);

#endif
