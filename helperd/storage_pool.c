/* SPDX-License-Identifier: Apache-2.0 */
#include "storage_pool.h"

#include <stdio.h>
#include <string.h>

bool storage_driver_enforces_quota(const char *driver)
{
	/* Drivers whose root volumes have a size of their own.  Anything else
	 * (dir, and any driver this list does not know yet) is treated as not
	 * enforcing: a refusal the admin can read beats a limit that is not
	 * there. */
	static const char *const enforcing[] = {
		"btrfs", "zfs", "lvm", "lvmcluster", "ceph", "powerflex", "pure", NULL
	};
	for (const char *const *e = enforcing; *e; e++)
		if (strcmp(driver, *e) == 0)
			return true;
	return false;
}

enum incus_status storage_pool_probe(struct incus_client *c, const char *pool, struct storage_pool_info *info,
				     char *err, size_t errlen)
{
	char path[128];
	json_object *md = NULL, *v;
	memset(info, 0, sizeof *info);
	snprintf(info->name, sizeof info->name, "%s", pool);
	snprintf(path, sizeof path, "/1.0/storage-pools/%s", pool);
	enum incus_status st = incus_get(c, path, &md, NULL, err, errlen);
	if (st == INCUS_ERR_NOT_FOUND)
		snprintf(err, errlen,
			 "storage pool \"%s\" (helperd.conf storage_pool) does not exist on the "
			 "backend; create it or set storage_pool to one that does",
			 pool);
	if (st != INCUS_OK)
		return st;
	if (!json_object_object_get_ex(md, "driver", &v) || !json_object_is_type(v, json_type_string)) {
		json_object_put(md);
		snprintf(err, errlen, "GET %s: the answer has no driver", path);
		return INCUS_ERR_PROTOCOL;
	}
	snprintf(info->driver, sizeof info->driver, "%s", json_object_get_string(v));
	info->quota_enforced = storage_driver_enforces_quota(info->driver);
	json_object_put(md);
	return INCUS_OK;
}

void storage_pool_quota_refusal(const struct storage_pool_info *info, char *msg, size_t len)
{
	snprintf(msg, len,
		 "storage pool \"%s\" uses the %s driver, which cannot enforce a disk quota; leave "
		 "out the disk quota, or point helperd.conf storage_pool at a btrfs, zfs or lvm pool",
		 info->name, info->driver);
}

json_object *storage_pool_to_json(const struct storage_pool_info *info)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "pool", json_object_new_string(info->name));
	json_object_object_add(o, "driver", json_object_new_string(info->driver));
	json_object_object_add(o, "quota_enforced", json_object_new_boolean(info->quota_enforced));
	return o;
}
