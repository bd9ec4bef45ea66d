/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot_guard: helperd's marks of the files it published, and what the
 * check says when someone else removed, truncated, rewrote, replaced,
 * chmod-ed or chown-ed one.  Real files, published by the real writer.
 * (helperd republishing them within poll_seconds while logins run is
 * tests/e2e/test_e2e_snapshot_repair.sh.) */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "snapshot_guard.h"
#include "support_snapshot.h"

static char dir[PATH_MAX], pw[PATH_MAX], keys[PATH_MAX];
static struct snapshot_marks marks;

/* Publish the small fixture into a new directory and mark it. */
static void publish(void)
{
	ctm_t_newdir(dir, "guard");
	ctm_t_join(pw, dir, "passwd.db");
	ctm_t_join(keys, dir, "keys.db");
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	char err[256];
	ck_assert_msg(ctm_snapshot_publish(&f.spec, pw, keys, (gid_t)-1, err, sizeof err) == 0, "publish: %s", err);
	ctm_t_fixture_free(&f);
	snapshot_marks_take(&marks, dir);
	ck_assert(marks.passwd.set && marks.keys.set);
}

static int check_says(char *what, size_t len)
{
	what[0] = '\0';
	return snapshot_marks_check(&marks, dir, what, len);
}

START_TEST(untouched_files_pass)
{
	publish();
	char what[320];
	ck_assert_int_eq(check_says(what, sizeof what), 0);
	/* Reading them (as the NSS module does) changes nothing the check sees. */
	struct ctm_db db;
	ck_assert_int_eq(ctm_db_open(&db, pw, CTM_DB_PASSWD), CTM_OK);
	ctm_db_close(&db);
	ck_assert_int_eq(check_says(what, sizeof what), 0);
}
END_TEST

START_TEST(removed)
{
	publish();
	char what[320];
	ck_assert_int_eq(unlink(keys), 0);
	ck_assert_int_eq(check_says(what, sizeof what), 1);
	ck_assert_str_eq(what, "keys.db was removed");
}
END_TEST

START_TEST(truncated)
{
	publish();
	char what[320];
	ck_assert_int_eq(truncate(pw, 100), 0);
	ck_assert_int_eq(check_says(what, sizeof what), 1);
	ck_assert_msg(strncmp(what, "passwd.db was truncated (100 bytes, published ", 46) == 0, "%s", what);
	ck_assert_int_eq(truncate(pw, 0), 0);
	ck_assert_int_eq(check_says(what, sizeof what), 1);
	ck_assert_msg(strstr(what, "passwd.db was truncated (0 bytes"), "%s", what);
}
END_TEST

START_TEST(chmod_and_chown)
{
	publish();
	char what[320];
	ck_assert_int_eq(chmod(pw, 0666), 0);
	ck_assert_int_eq(check_says(what, sizeof what), 1);
	ck_assert_str_eq(what, "passwd.db has mode 0666 (published 0644)");
	ck_assert_int_eq(chmod(pw, 0644), 0);
	/* Back as it was, but ctime tells that someone was there; the file is
	 * still the one published. */
	ck_assert_int_eq(check_says(what, sizeof what), 1);
	ck_assert_str_eq(what, "passwd.db was changed by another process (still a valid snapshot)");
	publish();
	ck_assert_int_eq(chmod(keys, 0644), 0);
	ck_assert_int_eq(check_says(what, sizeof what), 1);
	ck_assert_str_eq(what, "keys.db has mode 0644 (published 0640)");
	if (geteuid() == 0) {
		publish();
		ck_assert_int_eq(chown(keys, 0, 12345), 0);
		ck_assert_int_eq(check_says(what, sizeof what), 1);
		ck_assert_msg(strstr(what, "keys.db has owner 0:12345 (published 0:"), "%s", what);
	}
}
END_TEST

START_TEST(rewritten_in_place)
{
	publish();
	char what[320];
	/* One byte of a record flipped; size and modification time put back,
	 * as a careful editor would: the change time still shows it. */
	struct stat before;
	ck_assert_int_eq(stat(keys, &before), 0);
	int fd = open(keys, O_RDWR);
	ck_assert_int_ge(fd, 0);
	unsigned char b;
	ck_assert_int_eq(pread(fd, &b, 1, before.st_size - 2), 1);
	b ^= 0x20;
	ck_assert_int_eq(pwrite(fd, &b, 1, before.st_size - 2), 1);
	struct timespec t[2] = { before.st_atim, before.st_mtim };
	ck_assert_int_eq(futimens(fd, t), 0);
	close(fd);
	ck_assert_int_eq(check_says(what, sizeof what), 1);
	ck_assert_msg(strncmp(what, "keys.db was changed by another process (", 40) == 0 &&
			      !strstr(what, "still a valid snapshot"),
		      "%s", what);
}
END_TEST

START_TEST(replaced_by_a_valid_old_copy)
{
	publish();
	char what[320], old[PATH_MAX];
	size_t len;
	unsigned char *copy = ctm_t_read_file(pw, &len);
	ctm_t_join(old, dir, "old-passwd.db");
	ctm_t_write_file(old, copy, len, 0644);
	/* Published again (generation 2); then the old one is put back. */
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	char err[256];
	ck_assert(ctm_snapshot_publish(&f.spec, pw, keys, (gid_t)-1, err, sizeof err) == 0);
	ctm_t_fixture_free(&f);
	snapshot_marks_take(&marks, dir);
	ck_assert_int_eq(rename(old, pw), 0);
	free(copy);
	ck_assert_int_eq(check_says(what, sizeof what), 1);
	ck_assert_str_eq(what, "passwd.db was replaced or rewritten by another process (a valid snapshot, but not "
			       "the one published)");
}
END_TEST

START_TEST(nothing_marked_nothing_checked)
{
	struct snapshot_marks none;
	char empty[PATH_MAX], what[320] = "";
	ctm_t_newdir(empty, "unpublished");
	snapshot_marks_take(&none, empty);
	ck_assert(!none.passwd.set && !none.keys.set);
	ck_assert_int_eq(snapshot_marks_check(&none, empty, what, sizeof what), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("snapshot_guard");
	TCase *tc = tcase_create("marks");
	tcase_add_unchecked_fixture(tc, ctm_t_scratch_setup, ctm_t_scratch_teardown);
	tcase_add_test(tc, untouched_files_pass);
	tcase_add_test(tc, removed);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, chmod_and_chown);
	tcase_add_test(tc, rewritten_in_place);
	tcase_add_test(tc, replaced_by_a_valid_old_copy);
	tcase_add_test(tc, nothing_marked_nothing_checked);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
