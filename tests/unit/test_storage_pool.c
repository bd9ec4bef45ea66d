/* SPDX-License-Identifier: Apache-2.0 */
/* storage_pool: which drivers make a root disk size a limit, and what a
 * refused quota says.  (The limit's effect on real writes, on btrfs, and
 * the refusal over the API and the CLI, on the LXD pass's dir pool, are
 * tests/helperd/test_helperd_api.sh and tests/cli/test_cli.sh.) */
#include <check.h>
#include <string.h>

#include "harness.h"
#include "storage_pool.h"

START_TEST(enforcing_drivers)
{
	static const char *const yes[] = { "btrfs", "zfs", "lvm", "lvmcluster", "ceph", "powerflex", "pure" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		ck_assert_msg(storage_driver_enforces_quota(yes[i]), "%s enforces a root disk size", yes[i]);
	/* dir without project quotas stores the number and enforces nothing;
	 * a driver helperd does not know is not trusted to either. */
	static const char *const no[] = { "dir", "cephfs", "cephobject", "", "BTRFS", "btrfs ", "zfs2" };
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		ck_assert_msg(!storage_driver_enforces_quota(no[i]), "\"%s\" is not trusted to enforce", no[i]);
}
END_TEST

START_TEST(refusal_names_pool_driver_and_remedy)
{
	struct storage_pool_info p = { .name = "default", .driver = "dir", .quota_enforced = false };
	char msg[512];
	storage_pool_quota_refusal(&p, msg, sizeof msg);
	ck_assert_str_eq(msg, "storage pool \"default\" uses the dir driver, which cannot enforce a disk quota; "
			      "leave out the disk quota, or point helperd.conf storage_pool at a btrfs, zfs or "
			      "lvm pool");
	json_object *j = storage_pool_to_json(&p);
	ck_assert_str_eq(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
			 "{\"pool\":\"default\",\"driver\":\"dir\",\"quota_enforced\":false}");
	json_object_put(j);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("storage_pool");
	TCase *tc = tcase_create("quota");
	tcase_add_test(tc, enforcing_drivers);
	tcase_add_test(tc, refusal_names_pool_driver_and_remedy);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
