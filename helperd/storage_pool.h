/* SPDX-License-Identifier: Apache-2.0 */
/* What helperd's storage pool can promise about a root disk's size.
 *
 * A root disk "size" is a hard limit only on drivers that give each
 * container a volume of its own (btrfs qgroups, ZFS datasets, LVM and Ceph
 * block volumes).  The dir driver stores the number and, without project
 * quotas on the host filesystem, enforces nothing: Incus and LXD then
 * accept the size silently.  helperd asks the pool which driver it is and
 * refuses a disk quota it cannot enforce, instead of storing a number that
 * means nothing (helperd.conf(5), storage_pool). */
#ifndef CONTAINARIUM_HELPERD_STORAGE_POOL_H
#define CONTAINARIUM_HELPERD_STORAGE_POOL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "incus_client.h"

struct storage_pool_info {
	char name[64];
	char driver[32];     /* "btrfs", "dir", ... as the pool says */
	bool quota_enforced; /* a root disk size is a hard limit here */
};

/* true for the drivers that enforce a root disk size. */
bool storage_driver_enforces_quota(const char *driver);

/* GET /1.0/storage-pools/NAME into *info.  INCUS_ERR_NOT_FOUND when the
 * pool does not exist. */
enum incus_status storage_pool_probe(struct incus_client *c, const char *pool, struct storage_pool_info *info,
				     char *err, size_t errlen);

/* The sentence a refused disk quota gets: names the pool, its driver and
 * what to do. */
void storage_pool_quota_refusal(const struct storage_pool_info *info, char *msg, size_t len);

/* {"pool": ..., "driver": ..., "quota_enforced": ...} */
json_object *storage_pool_to_json(const struct storage_pool_info *info);

#endif
