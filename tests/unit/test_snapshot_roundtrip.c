/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshot round trip: what ctm_snapshot_build and ctm_snapshot_publish write,
 * the reader returns, field for field, through every lookup; publishing is
 * atomic, numbers generations, sets modes, and leaves the old files intact
 * when it fails. */
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "support_keys.h"
#include "support_snapshot.h"

/* Build, open both images from memory, check everything. */
static void roundtrip_memory(struct ctm_t_fixture *f)
{
	struct ctm_image pw, kd;
	ctm_t_build(f, &pw, &kd);
	struct ctm_db pdb, kdb;
	ck_assert_int_eq(ctm_db_from_memory(&pdb, pw.data, pw.size, CTM_DB_PASSWD), CTM_OK);
	ck_assert_int_eq(ctm_db_from_memory(&kdb, kd.data, kd.size, CTM_DB_KEYS), CTM_OK);
	ctm_t_check_passwd_db(f, &pdb, f->spec.generation);
	ctm_t_check_keys_db(f, &kdb, f->spec.generation);
	/* The two kinds are not interchangeable. */
	struct ctm_db other;
	ck_assert_int_eq(ctm_db_from_memory(&other, pw.data, pw.size, CTM_DB_KEYS), CTM_ERR_CORRUPT);
	ck_assert_int_eq(ctm_db_from_memory(&other, kd.data, kd.size, CTM_DB_PASSWD), CTM_ERR_CORRUPT);
	ctm_db_close(&pdb);
	ctm_db_close(&kdb);
	ctm_image_free(&pw);
	ctm_image_free(&kd);
	ck_assert_ptr_null(pw.data);
}

START_TEST(memory_zero_users)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_init(&f, 0);
	f.spec.generation = 7;
	roundtrip_memory(&f);
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(memory_one_user)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_init(&f, 1);
	ctm_t_user_set(&f, 0, "alice", 70001, CTM_STATE_ACTIVE, NULL, NULL, NULL);
	ctm_t_user_add_key(&f, 0, "  " CTM_T_ED25519 "  ", CTM_T_ED25519);
	memcpy(f.users[0].ipv4, (unsigned char[4]){ 10, 0, 3, 15 }, 4);
	roundtrip_memory(&f);
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(memory_one_user_varied)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_varied(&f, 1);
	roundtrip_memory(&f);
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(memory_small)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	roundtrip_memory(&f);
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(memory_thousand_users)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_varied(&f, 1000);
	/* The fixture really varies what it claims to. */
	size_t len_seen[CTM_NAME_MAX + 1] = { 0 }, states[4] = { 0 }, max_keys = 0;
	bool uid_min = false, uid_max = false;
	for (size_t i = 0; i < f.n; i++) {
		len_seen[strlen(f.expect[i].name)]++;
		states[f.users[i].state]++;
		max_keys = f.users[i].key_count > max_keys ? f.users[i].key_count : max_keys;
		uid_min |= f.users[i].uid == f.spec.uid_min;
		uid_max |= f.users[i].uid == f.spec.uid_max;
	}
	for (size_t l = 1; l <= CTM_NAME_MAX; l++)
		ck_assert_msg(len_seen[l], "no name of length %zu", l);
	ck_assert(states[1] && states[2] && states[3]);
	ck_assert_uint_eq(max_keys, CTM_KEYS_PER_USER_MAX);
	ck_assert(uid_min && uid_max);
	roundtrip_memory(&f);
	ctm_t_fixture_free(&f);
}
END_TEST

/* Two builds of one spec differ only in the creation time (and so in the
 * header CRC): the layout is deterministic. */
static void assert_same_image(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	ck_assert_uint_eq(alen, blen);
	for (size_t i = 0; i < alen; i++) {
		if ((i >= CTM_H_CREATED && i < CTM_H_CREATED + 8) ||
		    (i >= CTM_H_HEADER_CRC && i < CTM_H_HEADER_CRC + 4))
			continue;
		CTM_T_CHECK(a[i] == b[i], "images differ at byte %zu", i);
	}
}

static const size_t file_sizes[] = { 0, 1, 1000 };

START_TEST(files_roundtrip)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_varied(&f, file_sizes[_i]);
	f.spec.generation = 41;
	char dir[PATH_MAX], pp[PATH_MAX], kp[PATH_MAX], err[512] = "";
	ctm_t_newdir(dir, "files");
	ctm_t_join(pp, dir, "passwd.db");
	ctm_t_join(kp, dir, "keys.db");
	ck_assert_msg(ctm_snapshot_publish(&f.spec, pp, kp, (gid_t)-1, err, sizeof err) == 0, "%s", err);

	struct ctm_db pdb, kdb;
	ck_assert_int_eq(ctm_db_open(&pdb, pp, CTM_DB_PASSWD), CTM_OK);
	ck_assert_int_eq(ctm_db_open(&kdb, kp, CTM_DB_KEYS), CTM_OK);
	ck_assert(pdb.mapped && kdb.mapped);
	ck_assert(!ctm_db_is_stale(&pdb, pp));
	ck_assert(!ctm_db_is_stale(&kdb, kp));
	ctm_t_check_passwd_db(&f, &pdb, 41);
	ctm_t_check_keys_db(&f, &kdb, 41);

	/* The files hold exactly what ctm_snapshot_build makes. */
	struct ctm_image pw, kd;
	ctm_t_build(&f, &pw, &kd);
	size_t plen, klen;
	unsigned char *pfile = ctm_t_read_file(pp, &plen), *kfile = ctm_t_read_file(kp, &klen);
	assert_same_image(pfile, plen, pw.data, pw.size);
	assert_same_image(kfile, klen, kd.data, kd.size);

	ctm_db_close(&pdb);
	ctm_db_close(&kdb);
	ck_assert(!pdb.mapped && pdb.map == NULL);
	free(pfile);
	free(kfile);
	ctm_image_free(&pw);
	ctm_image_free(&kd);
	ctm_t_fixture_free(&f);
}
END_TEST

static uint64_t generation_of(const char *path, enum ctm_db_kind kind)
{
	struct ctm_db db;
	ck_assert_int_eq(ctm_db_open(&db, path, kind), CTM_OK);
	uint64_t g = db.generation;
	ctm_db_close(&db);
	return g;
}

static void publish_ok(const struct ctm_snapshot_spec *spec, const char *pp, const char *kp)
{
	char err[512] = "";
	ck_assert_msg(ctm_snapshot_publish(spec, pp, kp, (gid_t)-1, err, sizeof err) == 0, "%s", err);
}

START_TEST(publish_generation_auto_increment)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	char dir[PATH_MAX], pp[PATH_MAX], kp[PATH_MAX];
	ctm_t_newdir(dir, "gen");
	ctm_t_join(pp, dir, "passwd.db");
	ctm_t_join(kp, dir, "keys.db");

	f.spec.generation = 0;
	publish_ok(&f.spec, pp, kp); /* nothing on disk: 1 */
	ck_assert_uint_eq(generation_of(pp, CTM_DB_PASSWD), 1);
	ck_assert_uint_eq(generation_of(kp, CTM_DB_KEYS), 1);
	publish_ok(&f.spec, pp, kp);
	ck_assert_uint_eq(generation_of(pp, CTM_DB_PASSWD), 2);
	ck_assert_uint_eq(generation_of(kp, CTM_DB_KEYS), 2);
	ck_assert_uint_eq(f.spec.generation, 0); /* the caller's spec is not changed */

	f.spec.generation = 10; /* explicit numbers are used as given */
	publish_ok(&f.spec, pp, kp);
	ck_assert_uint_eq(generation_of(pp, CTM_DB_PASSWD), 10);
	f.spec.generation = 0;
	publish_ok(&f.spec, pp, kp);
	ck_assert_uint_eq(generation_of(pp, CTM_DB_PASSWD), 11);
	ck_assert_uint_eq(generation_of(kp, CTM_DB_KEYS), 11);

	/* The larger of the two files counts. */
	struct ctm_image pw, kd;
	f.spec.generation = 30;
	ctm_t_build(&f, &pw, &kd);
	ctm_t_replace_file(kp, kd.data, kd.size, 0640);
	ctm_image_free(&pw);
	ctm_image_free(&kd);
	f.spec.generation = 0;
	publish_ok(&f.spec, pp, kp);
	ck_assert_uint_eq(generation_of(pp, CTM_DB_PASSWD), 31);
	ck_assert_uint_eq(generation_of(kp, CTM_DB_KEYS), 31);

	f.spec.generation = 50;
	ctm_t_build(&f, &pw, &kd);
	ctm_t_replace_file(pp, pw.data, pw.size, 0644);
	ctm_image_free(&pw);
	ctm_image_free(&kd);
	f.spec.generation = 0;
	publish_ok(&f.spec, pp, kp);
	ck_assert_uint_eq(generation_of(pp, CTM_DB_PASSWD), 51);
	ck_assert_uint_eq(generation_of(kp, CTM_DB_KEYS), 51);

	/* A file that is not a snapshot does not count. */
	ctm_t_replace_file(pp, "garbage", 7, 0644);
	publish_ok(&f.spec, pp, kp);
	ck_assert_uint_eq(generation_of(pp, CTM_DB_PASSWD), 52);
	ctm_t_fixture_free(&f);
}
END_TEST

static void assert_mode(const char *path, unsigned mode, gid_t gid)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == mode, "%s has mode %o, expected %o", path, st.st_mode & 07777, mode);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_uint_eq(st.st_gid, gid);
}

START_TEST(publish_modes_and_group)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	char dir[PATH_MAX], pp[PATH_MAX], kp[PATH_MAX], err[512] = "";
	ctm_t_newdir(dir, "modes");
	ctm_t_join(pp, dir, "passwd.db");
	ctm_t_join(kp, dir, "keys.db");
	static const mode_t masks[] = { 077, 0, 022, 0777 };
	/* root can give keys.db any group; others only their own. */
	gid_t keys_gid = geteuid() == 0 ? 4321 : getegid();
	for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
		mode_t old = umask(masks[i]);
		f.spec.generation = 0;
		int r = ctm_snapshot_publish(&f.spec, pp, kp, keys_gid, err, sizeof err);
		umask(old);
		ck_assert_msg(r == 0, "%s", err);
		assert_mode(pp, 0644, getegid());
		assert_mode(kp, 0640, keys_gid);
	}
	/* (gid_t)-1: keys.db keeps the caller's group. */
	publish_ok(&f.spec, pp, kp);
	assert_mode(kp, 0640, getegid());
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(publish_leaves_no_temp_files)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_varied(&f, 20);
	char dir[PATH_MAX], pp[PATH_MAX], kp[PATH_MAX];
	ctm_t_newdir(dir, "notmp");
	ctm_t_join(pp, dir, "passwd.db");
	ctm_t_join(kp, dir, "keys.db");
	f.spec.generation = 0;
	for (int i = 0; i < 5; i++) {
		publish_ok(&f.spec, pp, kp);
		size_t tmp;
		ck_assert_uint_eq(ctm_t_count_entries(dir, &tmp), 2);
		ck_assert_uint_eq(tmp, 0);
	}
	ctm_t_fixture_free(&f);
}
END_TEST

/* The bytes and inode of a file, to prove a failed publish left it alone. */
struct file_state {
	unsigned char *data;
	size_t len;
	ino_t ino;
};

static void file_state_get(const char *path, struct file_state *s)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	s->ino = st.st_ino;
	s->data = ctm_t_read_file(path, &s->len);
}

static void file_state_same(const char *path, struct file_state *s)
{
	struct file_state now;
	file_state_get(path, &now);
	ck_assert_msg(now.ino == s->ino, "%s was replaced", path);
	ck_assert_msg(now.len == s->len && memcmp(now.data, s->data, s->len) == 0, "%s changed", path);
	free(now.data);
	free(s->data);
	s->data = NULL;
}

enum bad_input { BAD_DUP_NAME, BAD_KEY, BAD_UID, BAD_GECOS, BAD_GROUP, BAD_COUNT };

START_TEST(publish_bad_input_keeps_files)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	char dir[PATH_MAX], pp[PATH_MAX], kp[PATH_MAX], err[512] = "";
	ctm_t_newdir(dir, "badin");
	ctm_t_join(pp, dir, "passwd.db");
	ctm_t_join(kp, dir, "keys.db");
	f.spec.generation = 0;
	publish_ok(&f.spec, pp, kp);
	struct file_state ps, ks;
	file_state_get(pp, &ps);
	file_state_get(kp, &ks);

	const char *want = NULL;
	switch (_i) {
	case BAD_DUP_NAME:
		ctm_t_user_set(&f, 1, "alice", 70020, CTM_STATE_ACTIVE, NULL, NULL, NULL);
		want = "appears twice";
		break;
	case BAD_KEY:
		ctm_t_user_add_key(&f, 1, "ssh-ed25519 AAA", "");
		want = "user 1 (\"bob\"), key 1: SSH key data is not valid base64";
		break;
	case BAD_UID:
		f.users[2].uid = 5;
		want = "outside the configured range";
		break;
	case BAD_GECOS:
		ctm_t_user_set(&f, 0, "alice", 70010, CTM_STATE_ACTIVE, "a:b", NULL, NULL);
		want = "':'";
		break;
	case BAD_GROUP:
		f.spec.group_name = "Bad Group";
		want = "group name";
		break;
	}
	int r = ctm_snapshot_publish(&f.spec, pp, kp, (gid_t)-1, err, sizeof err);
	ck_assert_int_eq(r, -1);
	ck_assert_msg(strstr(err, want) != NULL, "message \"%s\" lacks \"%s\"", err, want);
	file_state_same(pp, &ps);
	file_state_same(kp, &ks);
	size_t tmp;
	ck_assert_uint_eq(ctm_t_count_entries(dir, &tmp), 2);
	ck_assert_uint_eq(tmp, 0);
	ctm_t_fixture_free(&f);
}
END_TEST

/* passwd.db lives in a directory the publisher cannot write, keys.db in one
 * it can: keys.db is staged, then the passwd.db temporary file cannot be
 * created.  Neither file may change and no temporary file may remain.  As
 * root, a child drops to nobody so permissions apply; otherwise chmod. */
START_TEST(publish_unwritable_dir_keeps_files)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	char pdir[PATH_MAX], kdir[PATH_MAX], pp[PATH_MAX], kp[PATH_MAX], err[512] = "";
	ctm_t_newdir(pdir, "ro");
	ctm_t_newdir(kdir, "rw");
	ctm_t_join(pp, pdir, "passwd.db");
	ctm_t_join(kp, kdir, "keys.db");
	f.spec.generation = 3;
	publish_ok(&f.spec, pp, kp);
	struct file_state ps, ks;
	file_state_get(pp, &ps);
	file_state_get(kp, &ks);
	f.spec.generation = 4;
	f.users[1].uid = 70021;

	int r;
	if (geteuid() == 0) {
		ck_assert_int_eq(chmod(kdir, 0777), 0);
		int fds[2];
		ck_assert_int_eq(pipe(fds), 0);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			int ok = setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
				 setresuid(65534, 65534, 65534) == 0;
			if (!ok)
				_exit(3);
			int pr = ctm_snapshot_publish(&f.spec, pp, kp, (gid_t)-1, err, sizeof err);
			ssize_t w = write(fds[1], err, strlen(err) + 1);
			_exit(pr == 0 ? 0 : w > 0 ? 1 : 2);
		}
		close(fds[1]);
		ssize_t n = read(fds[0], err, sizeof err - 1);
		err[n > 0 ? n : 0] = '\0';
		close(fds[0]);
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 3, "could not drop privileges");
		ck_assert(WIFEXITED(status));
		r = WEXITSTATUS(status) == 0 ? 0 : -1;
	} else {
		ck_assert_int_eq(chmod(pdir, 0555), 0);
		r = ctm_snapshot_publish(&f.spec, pp, kp, (gid_t)-1, err, sizeof err);
		chmod(pdir, 0755);
	}
	ck_assert_int_eq(r, -1);
	ck_assert_msg(strstr(err, "cannot create a temporary file") && strstr(err, pp),
		      "message \"%s\" does not name the temporary file next to %s", err, pp);
	file_state_same(pp, &ps);
	file_state_same(kp, &ks);
	size_t tmp;
	ck_assert_uint_eq(ctm_t_count_entries(pdir, &tmp), 1);
	ck_assert_uint_eq(tmp, 0);
	ck_assert_uint_eq(ctm_t_count_entries(kdir, &tmp), 1);
	ck_assert_uint_eq(tmp, 0);
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(publish_missing_dir_keeps_files)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	char dir[PATH_MAX], pp[PATH_MAX], kp[PATH_MAX], err[512] = "";
	ctm_t_newdir(dir, "missing");
	ctm_t_join(pp, dir, "passwd.db");
	ctm_t_join(kp, dir, "keys.db");
	publish_ok(&f.spec, pp, kp);
	struct file_state ps;
	file_state_get(pp, &ps);
	char bad[PATH_MAX];
	ctm_t_join(bad, dir, "no-such-dir/keys.db");
	f.spec.generation = 9;
	ck_assert_int_eq(ctm_snapshot_publish(&f.spec, pp, bad, (gid_t)-1, err, sizeof err), -1);
	ck_assert_msg(strstr(err, bad) != NULL, "message \"%s\" does not name %s", err, bad);
	file_state_same(pp, &ps);
	size_t tmp;
	ck_assert_uint_eq(ctm_t_count_entries(dir, &tmp), 2);
	ck_assert_uint_eq(tmp, 0);
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(write_file_atomic_replaces)
{
	char dir[PATH_MAX], p[PATH_MAX], err[512] = "";
	ctm_t_newdir(dir, "atomic");
	ctm_t_join(p, dir, "f");
	ck_assert_int_eq(ctm_write_file_atomic(p, "first", 5, 0600, (gid_t)-1, err, sizeof err), 0);
	struct stat a, b;
	ck_assert_int_eq(stat(p, &a), 0);
	ck_assert_int_eq(ctm_write_file_atomic(p, "second!", 7, 0644, (gid_t)-1, err, sizeof err), 0);
	ck_assert_int_eq(stat(p, &b), 0);
	ck_assert(a.st_ino != b.st_ino); /* a new file, renamed into place */
	ck_assert_uint_eq(b.st_mode & 07777, 0644);
	size_t len;
	unsigned char *d = ctm_t_read_file(p, &len);
	ck_assert_uint_eq(len, 7);
	ck_assert_mem_eq(d, "second!", 7);
	free(d);
	size_t tmp;
	ck_assert_uint_eq(ctm_t_count_entries(dir, &tmp), 1);
	ck_assert_uint_eq(tmp, 0);
}
END_TEST

/* Generation 0 is reserved for "pick the next one" and never stored. */
START_TEST(build_refuses_generation_zero)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	f.spec.generation = 0;
	struct ctm_image pw, kd;
	char err[512] = "";
	ck_assert_int_eq(ctm_snapshot_build(&f.spec, &pw, &kd, err, sizeof err), -1);
	ck_assert_ptr_null(pw.data);
	ck_assert_ptr_null(kd.data);
	ck_assert_msg(strstr(err, "generation 0") != NULL, "%s", err);
	ctm_t_fixture_free(&f);
}
END_TEST

static Suite *roundtrip_suite(void)
{
	Suite *s = suite_create("snapshot_roundtrip");
	TCase *tc = tcase_create("memory");
	tcase_add_test(tc, memory_zero_users);
	tcase_add_test(tc, memory_one_user);
	tcase_add_test(tc, memory_one_user_varied);
	tcase_add_test(tc, memory_small);
	tcase_add_test(tc, memory_thousand_users);
	tcase_add_test(tc, build_refuses_generation_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_unchecked_fixture(tc, ctm_t_scratch_setup, ctm_t_scratch_teardown);
	tcase_add_loop_test(tc, files_roundtrip, 0, (int)(sizeof file_sizes / sizeof file_sizes[0]));
	tcase_add_test(tc, publish_generation_auto_increment);
	tcase_add_test(tc, publish_modes_and_group);
	tcase_add_test(tc, publish_leaves_no_temp_files);
	tcase_add_loop_test(tc, publish_bad_input_keeps_files, 0, BAD_COUNT);
	tcase_add_test(tc, publish_unwritable_dir_keeps_files);
	tcase_add_test(tc, publish_missing_dir_keeps_files);
	tcase_add_test(tc, write_file_atomic_replaces);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	Suite *suites[] = { roundtrip_suite(), NULL };
	return ctm_run_suites(suites);
}
