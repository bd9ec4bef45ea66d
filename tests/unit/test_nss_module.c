/* SPDX-License-Identifier: Apache-2.0 */
/* The NSS module's entry points, called directly (as glibc's nss_* glue
 * would) against snapshots in a scratch directory named by
 * CONTAINARIUM_PASSWD_DB: exact entries, NOTFOUND vs UNAVAIL, the buffer
 * contract with canaries, errno, replacement of the file, enumeration (order,
 * resumption after a replacement, per-thread state) and initgroups_dyn. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "nss_exports.h"
#include "support_snapshot.h"

#define CANARY 0xa5
#define BIG 4096

/* A scratch directory with passwd.db (+ keys.db) named by the environment. */
struct env {
	char dir[PATH_MAX], pp[PATH_MAX], kp[PATH_MAX];
};

static void env_init(struct env *e, const char *tag)
{
	ctm_t_newdir(e->dir, tag);
	ctm_t_join(e->pp, e->dir, "passwd.db");
	ctm_t_join(e->kp, e->dir, "keys.db");
	ck_assert_int_eq(setenv("CONTAINARIUM_PASSWD_DB", e->pp, 1), 0);
}

static void publish(const struct env *e, const struct ctm_t_fixture *f)
{
	char err[512] = "";
	ck_assert_msg(ctm_snapshot_publish(&f->spec, e->pp, e->kp, (gid_t)-1, err, sizeof err) == 0, "%s", err);
}

static void publish_small(const struct env *e, struct ctm_t_fixture *f)
{
	ctm_t_fixture_small(f);
	f->spec.generation = 0;
	publish(e, f);
}

/* A fixture of users with the given names (uid 70101, 70102, ... in order). */
static void fixture_named(struct ctm_t_fixture *f, const char *const *names, size_t n)
{
	ctm_t_fixture_init(f, n);
	f->spec.generation = 0;
	for (size_t i = 0; i < n; i++)
		ctm_t_user_set(f, i, names[i], 70101 + (uint32_t)i, CTM_STATE_ACTIVE, NULL, NULL, NULL);
}

static bool in_buffer(const char *p, const char *buf, size_t len)
{
	return p >= buf && p < buf + len;
}

/* Every field of pw against fixture user i; strings inside buf. */
static void assert_passwd(const struct ctm_t_fixture *f, size_t i, const struct passwd *pw, const char *buf, size_t len)
{
	const struct ctm_t_user *e = &f->expect[i];
	ck_assert_str_eq(pw->pw_name, e->name);
	ck_assert_str_eq(pw->pw_passwd, "*");
	ck_assert_uint_eq(pw->pw_uid, f->users[i].uid);
	ck_assert_uint_eq(pw->pw_gid, f->spec.gid);
	ck_assert_str_eq(pw->pw_gecos, e->gecos);
	ck_assert_str_eq(pw->pw_dir, e->home);
	ck_assert_str_eq(pw->pw_shell, e->shell);
	ck_assert(in_buffer(pw->pw_name, buf, len) && in_buffer(pw->pw_passwd, buf, len) &&
		  in_buffer(pw->pw_gecos, buf, len) && in_buffer(pw->pw_dir, buf, len) &&
		  in_buffer(pw->pw_shell, buf, len));
}

static size_t passwd_need(const struct ctm_t_fixture *f, size_t i)
{
	const struct ctm_t_user *e = &f->expect[i];
	return strlen(e->name) + 1 + 2 + strlen(e->gecos) + 1 + strlen(e->home) + 1 + strlen(e->shell) + 1;
}

static void assert_group(const struct group *gr, const char *name, gid_t gid, const char *buf, size_t len)
{
	ck_assert_str_eq(gr->gr_name, name);
	ck_assert_str_eq(gr->gr_passwd, "*");
	ck_assert_uint_eq(gr->gr_gid, gid);
	ck_assert_ptr_nonnull(gr->gr_mem);
	ck_assert_ptr_null(gr->gr_mem[0]);
	ck_assert_uint_eq((uintptr_t)gr->gr_mem % sizeof(char *), 0);
	ck_assert(in_buffer(gr->gr_name, buf, len) && in_buffer(gr->gr_passwd, buf, len) &&
		  in_buffer((const char *)gr->gr_mem, buf, len));
}

/* ---- lookups ------------------------------------------------------------------ */

START_TEST(getpwnam_exact_entries)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "pwnam");
	publish_small(&e, &f);
	for (size_t i = 0; i < f.n; i++) {
		struct passwd pw;
		char buf[BIG];
		int err = -7;
		errno = EDOM;
		ck_assert_int_eq(_nss_containarium_getpwnam_r(f.expect[i].name, &pw, buf, sizeof buf, &err),
				 NSS_STATUS_SUCCESS);
		ck_assert_int_eq(errno, EDOM);
		ck_assert_int_eq(err, -7);
		assert_passwd(&f, i, &pw, buf, sizeof buf);
	}
	/* The defaults reach the entry: nologin, *, the shared group. */
	struct passwd pw;
	char buf[BIG];
	int err;
	ck_assert_int_eq(_nss_containarium_getpwnam_r("bob", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_str_eq(pw.pw_shell, "/usr/sbin/nologin");
	ck_assert_str_eq(pw.pw_dir, "/");
	ck_assert_str_eq(pw.pw_gecos, "");
	ck_assert_uint_eq(pw.pw_gid, 70000);
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(getpwuid_exact_entries)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "pwuid");
	ctm_t_fixture_varied(&f, 60);
	f.spec.generation = 0;
	publish(&e, &f);
	for (size_t i = 0; i < f.n; i++) {
		struct passwd pw;
		char buf[BIG];
		int err = -7;
		errno = EDOM;
		ck_assert_int_eq(_nss_containarium_getpwuid_r(f.users[i].uid, &pw, buf, sizeof buf, &err),
				 NSS_STATUS_SUCCESS);
		ck_assert_int_eq(errno, EDOM);
		assert_passwd(&f, i, &pw, buf, sizeof buf);
		ck_assert_int_eq(_nss_containarium_getpwnam_r(f.expect[i].name, &pw, buf, sizeof buf, &err),
				 NSS_STATUS_SUCCESS);
		assert_passwd(&f, i, &pw, buf, sizeof buf);
	}
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(lookups_notfound)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "nf");
	publish_small(&e, &f);
	static const char *const names[] = {
		"mallory",
		"",
		"root",
		"alice ",
		"ALICE",
		"alic",
		"alicex",
		"carol",
		"containarium-users",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct passwd pw;
		char buf[BIG];
		int err = -7;
		errno = EDOM;
		ck_assert_msg(_nss_containarium_getpwnam_r(names[i], &pw, buf, sizeof buf, &err) == NSS_STATUS_NOTFOUND,
			      "\"%s\"", names[i]);
		ck_assert_int_eq(errno, EDOM);
	}
	static const uid_t uids[] = { 0, 1, 1000, 65534, 70000, 70001, 70015, 99999, 100000, (uid_t)-2 };
	for (size_t i = 0; i < sizeof uids / sizeof uids[0]; i++) {
		struct passwd pw;
		char buf[BIG];
		int err = -7;
		errno = EDOM;
		ck_assert_msg(_nss_containarium_getpwuid_r(uids[i], &pw, buf, sizeof buf, &err) == NSS_STATUS_NOTFOUND,
			      "uid %u", uids[i]);
		ck_assert_int_eq(errno, EDOM);
	}
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(group_lookups)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "grp");
	ctm_t_fixture_small(&f);
	f.spec.group_name = "jumpers";
	f.spec.gid = 71000;
	publish(&e, &f);
	struct group gr;
	char buf[BIG];
	int err = -7;
	errno = EDOM;
	ck_assert_int_eq(_nss_containarium_getgrnam_r("jumpers", &gr, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(errno, EDOM);
	assert_group(&gr, "jumpers", 71000, buf, sizeof buf);
	ck_assert_int_eq(_nss_containarium_getgrgid_r(71000, &gr, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(errno, EDOM);
	assert_group(&gr, "jumpers", 71000, buf, sizeof buf);
	static const char *const names[] = { "containarium-users", "root", "", "jumper", "jumpersx", "alice" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		ck_assert_msg(_nss_containarium_getgrnam_r(names[i], &gr, buf, sizeof buf, &err) == NSS_STATUS_NOTFOUND,
			      "group \"%s\"", names[i]);
		ck_assert_int_eq(errno, EDOM);
	}
	static const gid_t gids[] = { 0, 70000, 70010, 70999, 71001 };
	for (size_t i = 0; i < sizeof gids / sizeof gids[0]; i++) {
		ck_assert_msg(_nss_containarium_getgrgid_r(gids[i], &gr, buf, sizeof buf, &err) == NSS_STATUS_NOTFOUND,
			      "gid %u", gids[i]);
		ck_assert_int_eq(errno, EDOM);
	}
	ck_assert_int_eq(err, -7);
	ctm_t_fixture_free(&f);
}
END_TEST

/* The group exists even with no users (sshd's Match Group can name it). */
START_TEST(group_with_no_users)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "grp0");
	ctm_t_fixture_init(&f, 0);
	publish(&e, &f);
	struct group gr;
	struct passwd pw;
	char buf[BIG];
	int err;
	ck_assert_int_eq(_nss_containarium_getgrnam_r("containarium-users", &gr, buf, sizeof buf, &err),
			 NSS_STATUS_SUCCESS);
	ck_assert_int_eq(_nss_containarium_getgrgid_r(70000, &gr, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(_nss_containarium_getpwnam_r("alice", &pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
	_nss_containarium_setpwent(0);
	ck_assert_int_eq(_nss_containarium_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
	_nss_containarium_endpwent();
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(getgrent_once)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "grent");
	publish_small(&e, &f);
	struct group gr;
	char buf[BIG];
	int err = -7;
	for (int pass = 0; pass < 2; pass++) {
		ck_assert_int_eq(_nss_containarium_setgrent(0), NSS_STATUS_SUCCESS);
		errno = EDOM;
		ck_assert_int_eq(_nss_containarium_getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
		ck_assert_int_eq(errno, EDOM);
		assert_group(&gr, "containarium-users", 70000, buf, sizeof buf);
		ck_assert_int_eq(_nss_containarium_getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
		ck_assert_int_eq(_nss_containarium_getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
		ck_assert_int_eq(errno, EDOM);
		ck_assert_int_eq(_nss_containarium_endgrent(), NSS_STATUS_SUCCESS);
	}
	ctm_t_fixture_free(&f);
}
END_TEST

/* Enumerate from the current position until NOTFOUND; names into out. */
static size_t enumerate_rest(char (*out)[CTM_NAME_MAX + 1], size_t cap)
{
	size_t n = 0;
	for (;;) {
		struct passwd pw;
		char buf[BIG];
		int err = -7;
		errno = EDOM;
		enum nss_status s = _nss_containarium_getpwent_r(&pw, buf, sizeof buf, &err);
		ck_assert_int_eq(errno, EDOM);
		if (s == NSS_STATUS_NOTFOUND)
			return n;
		ck_assert_int_eq(s, NSS_STATUS_SUCCESS);
		ck_assert_uint_lt(n, cap);
		snprintf(out[n++], CTM_NAME_MAX + 1, "%s", pw.pw_name);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

START_TEST(getpwent_in_name_order)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "pwent");
	ctm_t_fixture_varied(&f, 200);
	f.spec.generation = 0;
	publish(&e, &f);
	const char **sorted = malloc(f.n * sizeof *sorted);
	char(*got)[CTM_NAME_MAX + 1] = malloc((f.n + 1) * sizeof *got);
	ck_assert(sorted && got);
	for (size_t i = 0; i < f.n; i++)
		sorted[i] = f.expect[i].name;
	qsort(sorted, f.n, sizeof *sorted, cmp_str);
	for (int pass = 0; pass < 2; pass++) {
		_nss_containarium_setpwent(1);
		size_t n = enumerate_rest(got, f.n + 1);
		ck_assert_uint_eq(n, f.n);
		for (size_t i = 0; i < n; i++)
			ck_assert_str_eq(got[i], sorted[i]);
		struct passwd pw;
		char buf[BIG];
		int err;
		/* Stays at the end until setpwent. */
		ck_assert_int_eq(_nss_containarium_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
		_nss_containarium_endpwent();
	}
	/* Every entry is complete. */
	_nss_containarium_setpwent(0);
	for (size_t i = 0; i < f.n; i++) {
		struct passwd pw;
		char buf[BIG];
		int err;
		ck_assert_int_eq(_nss_containarium_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
		size_t k = 0;
		while (strcmp(f.expect[k].name, pw.pw_name) != 0)
			k++;
		assert_passwd(&f, k, &pw, buf, sizeof buf);
	}
	_nss_containarium_endpwent();
	free(sorted);
	free(got);
	ctm_t_fixture_free(&f);
}
END_TEST

/* ---- UNAVAIL ------------------------------------------------------------------ */

enum bad_file {
	BF_MISSING,
	BF_MISSING_DIR,
	BF_EMPTY,
	BF_GARBAGE,
	BF_TRUNCATED,
	BF_FLIPPED_HEADER,
	BF_KEYS_DB,
	BF_GROUP_WRITABLE,
	BF_WORLD_WRITABLE,
	BF_OTHER_OWNER,
	BF_DIRECTORY,
	BF_COUNT
};

/* Set up the bad file; returns the errno the module must report, or 0 when
 * the condition cannot be made here (chown needs root). */
static int make_bad_file(int which, struct env *e)
{
	struct ctm_t_fixture f;
	struct ctm_image pw, kd;
	ctm_t_fixture_small(&f);
	ctm_t_build(&f, &pw, &kd);
	int want = EIO;
	switch (which) {
	case BF_MISSING: want = ENOENT; break;
	case BF_MISSING_DIR:
		ctm_t_join(e->pp, e->dir, "no-such-dir/passwd.db");
		ck_assert_int_eq(setenv("CONTAINARIUM_PASSWD_DB", e->pp, 1), 0);
		want = ENOENT;
		break;
	case BF_EMPTY: ctm_t_write_file(e->pp, "", 0, 0644); break;
	case BF_GARBAGE: {
		char junk[4096];
		for (size_t i = 0; i < sizeof junk; i++)
			junk[i] = (char)(i * 131 + 7);
		ctm_t_write_file(e->pp, junk, sizeof junk, 0644);
		break;
	}
	case BF_TRUNCATED: ctm_t_write_file(e->pp, pw.data, pw.size / 2, 0644); break;
	case BF_FLIPPED_HEADER:
		pw.data[CTM_H_ENTRY_COUNT] ^= 1;
		ctm_t_write_file(e->pp, pw.data, pw.size, 0644);
		break;
	case BF_KEYS_DB: ctm_t_write_file(e->pp, kd.data, kd.size, 0644); break;
	case BF_GROUP_WRITABLE:
		ctm_t_write_file(e->pp, pw.data, pw.size, 0664);
		want = EPERM;
		break;
	case BF_WORLD_WRITABLE:
		ctm_t_write_file(e->pp, pw.data, pw.size, 0646);
		want = EPERM;
		break;
	case BF_OTHER_OWNER:
		ctm_t_write_file(e->pp, pw.data, pw.size, 0644);
		want = geteuid() == 0 && chown(e->pp, 12345, 12345) == 0 ? EPERM : 0;
		break;
	case BF_DIRECTORY:
		ck_assert_int_eq(mkdir(e->pp, 0755), 0);
		want = EPERM;
		break;
	}
	ctm_image_free(&pw);
	ctm_image_free(&kd);
	ctm_t_fixture_free(&f);
	return want;
}

/* Every entry point must say UNAVAIL with errnop set: never NOTFOUND. */
static void assert_all_unavail(int want, const char *what)
{
	struct passwd pw;
	struct group gr;
	char buf[BIG];
	int err;
#define UNAVAIL(call)                                                                                                  \
	do {                                                                                                           \
		err = -7;                                                                                              \
		enum nss_status s_ = (call);                                                                           \
		ck_assert_msg(s_ == NSS_STATUS_UNAVAIL, "%s: %s -> %d", what, #call, s_);                              \
		ck_assert_msg(err == want, "%s: %s set errno %d, expected %d", what, #call, err, want);                \
	} while (0)
	UNAVAIL(_nss_containarium_getpwnam_r("alice", &pw, buf, sizeof buf, &err));
	UNAVAIL(_nss_containarium_getpwnam_r("mallory", &pw, buf, sizeof buf, &err));
	UNAVAIL(_nss_containarium_getpwuid_r(70010, &pw, buf, sizeof buf, &err));
	UNAVAIL(_nss_containarium_getpwuid_r(70015, &pw, buf, sizeof buf, &err));
	UNAVAIL(_nss_containarium_getgrnam_r("containarium-users", &gr, buf, sizeof buf, &err));
	UNAVAIL(_nss_containarium_getgrgid_r(70000, &gr, buf, sizeof buf, &err));
	_nss_containarium_setpwent(0);
	UNAVAIL(_nss_containarium_getpwent_r(&pw, buf, sizeof buf, &err));
	_nss_containarium_endpwent();
	_nss_containarium_setgrent(0);
	UNAVAIL(_nss_containarium_getgrent_r(&gr, buf, sizeof buf, &err));
	_nss_containarium_endgrent();
	long start = 1, size = 2;
	gid_t *groups = malloc(2 * sizeof *groups);
	ck_assert_ptr_nonnull(groups);
	groups[0] = 100;
	UNAVAIL(_nss_containarium_initgroups_dyn("alice", 100, &start, &size, &groups, -1, &err));
	ck_assert_int_eq(start, 1);
	free(groups);
#undef UNAVAIL
}

START_TEST(unavailable_files)
{
	struct env e;
	env_init(&e, "unavail");
	int want = make_bad_file(_i, &e);
	if (want == 0)
		return; /* not root: cannot give the file to another owner */
	char what[32];
	snprintf(what, sizeof what, "bad file case %d", _i);
	assert_all_unavail(want, what);
}
END_TEST

/* A working snapshot replaced by a bad one: UNAVAIL, not the old answers;
 * then a good one again: answers again. */
START_TEST(unavailable_after_replacement)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "unavail2");
	publish_small(&e, &f);
	struct passwd pw;
	char buf[BIG];
	int err;
	ck_assert_int_eq(_nss_containarium_getpwnam_r("alice", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ctm_t_replace_file(e.pp, "not a snapshot", 14, 0644);
	assert_all_unavail(EIO, "garbage over a good file");
	publish(&e, &f);
	ck_assert_int_eq(_nss_containarium_getpwnam_r("alice", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(unlink(e.pp), 0);
	assert_all_unavail(ENOENT, "file removed");
	publish(&e, &f);
	ck_assert_int_eq(_nss_containarium_getpwnam_r("alice", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	/* Made world-writable and then written in place (not the publishing
	 * path): the write changes the mtime, the module notices and refuses.
	 * The pause puts the write in a later clock tick than the creation. */
	ck_assert_int_eq(chmod(e.pp, 0666), 0);
	usleep(20000);
	size_t len;
	unsigned char *data = ctm_t_read_file(e.pp, &len);
	FILE *fp = fopen(e.pp, "r+");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	free(data);
	assert_all_unavail(EPERM, "file made world-writable and rewritten in place");
	ck_assert_int_eq(chmod(e.pp, 0644), 0);
	ck_assert_int_eq(_nss_containarium_getpwnam_r("alice", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ctm_t_fixture_free(&f);
}
END_TEST

/* ---- the buffer contract ------------------------------------------------------ */

/* One call into the module with a caller-chosen buffer. */
struct call {
	enum nss_status (*fn)(struct call *c, char *buf, size_t len, int *err);
	const char *name;
	union {
		struct passwd pw;
		struct group gr;
	} out;
};

static enum nss_status call_pwnam(struct call *c, char *buf, size_t len, int *err)
{
	return _nss_containarium_getpwnam_r("alice", &c->out.pw, buf, len, err);
}

static enum nss_status call_pwuid(struct call *c, char *buf, size_t len, int *err)
{
	return _nss_containarium_getpwuid_r(70010, &c->out.pw, buf, len, err);
}

static enum nss_status call_pwent(struct call *c, char *buf, size_t len, int *err)
{
	return _nss_containarium_getpwent_r(&c->out.pw, buf, len, err);
}

static enum nss_status call_grnam(struct call *c, char *buf, size_t len, int *err)
{
	return _nss_containarium_getgrnam_r("containarium-users", &c->out.gr, buf, len, err);
}

static enum nss_status call_grgid(struct call *c, char *buf, size_t len, int *err)
{
	return _nss_containarium_getgrgid_r(70000, &c->out.gr, buf, len, err);
}

static enum nss_status call_grent(struct call *c, char *buf, size_t len, int *err)
{
	return _nss_containarium_getgrent_r(&c->out.gr, buf, len, err);
}

static struct call calls[] = {
	{ call_pwnam, "getpwnam_r", { .pw = { 0 } } }, { call_pwuid, "getpwuid_r", { .pw = { 0 } } },
	{ call_pwent, "getpwent_r", { .pw = { 0 } } }, { call_grnam, "getgrnam_r", { .pw = { 0 } } },
	{ call_grgid, "getgrgid_r", { .pw = { 0 } } }, { call_grent, "getgrent_r", { .pw = { 0 } } },
};
#define N_CALLS (int)(sizeof calls / sizeof calls[0])

static void assert_canary(const unsigned char *p, size_t from, size_t to, const char *what, size_t buflen)
{
	for (size_t i = from; i < to; i++)
		CTM_T_CHECK(p[i] == CANARY, "%s with buflen %zu wrote byte %zu (outside the buffer)", what, buflen, i);
}

/* Every buffer size up to the first that works, for call c with a buffer
 * that starts skew bytes past an aligned address. */
static void buffer_sizes_case(struct call *c, size_t skew)
{
	char label[64];
	snprintf(label, sizeof label, "%s (buffer at +%zu)", c->name, skew);
	bool group = c->fn == call_grnam || c->fn == call_grgid || c->fn == call_grent;
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "buf");
	publish_small(&e, &f);
	/* alice (first in name order, the longest entry) or the group. */
	size_t need = group ? sizeof(char *) + strlen("containarium-users") + 1 + 2 : passwd_need(&f, 0);
	size_t slack = group ? sizeof(char *) - 1 : 0; /* room to align gr_mem */
	size_t total = skew + need + slack + 64;
	unsigned char *mem = malloc(total);
	ck_assert_ptr_nonnull(mem);
	char *buf = (char *)mem + skew;
	_nss_containarium_setpwent(0);
	_nss_containarium_setgrent(0);

	size_t ok_at = 0;
	for (size_t len = 0; len <= need + slack; len++) {
		memset(mem, CANARY, total);
		int err = -7;
		enum nss_status s = c->fn(c, buf, len, &err);
		assert_canary(mem, 0, skew, label, len);
		assert_canary(mem, skew + len, total, label, len);
		if (s == NSS_STATUS_TRYAGAIN) {
			ck_assert_msg(err == ERANGE, "%s with buflen %zu: errno %d, expected ERANGE", label, len, err);
			continue;
		}
		ck_assert_msg(s == NSS_STATUS_SUCCESS, "%s with buflen %zu -> %d", label, len, s);
		ok_at = len;
		break;
	}
	ck_assert_msg(ok_at > 0, "%s never succeeded", label);
	/* passwd entries need no alignment: the exact sum of the strings.  The
	 * group needs an aligned gr_mem: at most the alignment slack more. */
	if (group && skew % sizeof(char *) == 0)
		ck_assert_msg(ok_at == need, "%s: succeeded at %zu, exact need %zu on an aligned buffer", label, ok_at,
			      need);
	else if (group)
		ck_assert_msg(ok_at >= need && ok_at <= need + slack, "%s: succeeded at %zu, need %zu (+%zu)", label,
			      ok_at, need, slack);
	else
		ck_assert_msg(ok_at == need, "%s: succeeded at %zu, exact need %zu", label, ok_at, need);
	if (group)
		assert_group(&c->out.gr, "containarium-users", 70000, buf, ok_at);
	else
		assert_passwd(&f, 0, &c->out.pw, buf, ok_at); /* enumeration did not skip alice */
	/* Larger sizes keep working and write nothing past the entry's size. */
	for (size_t len = ok_at; len < ok_at + 16 && c->fn != call_grent; len++) {
		if (c->fn == call_pwent)
			_nss_containarium_setpwent(0);
		memset(mem, CANARY, total);
		int err;
		ck_assert_int_eq(c->fn(c, buf, len, &err), NSS_STATUS_SUCCESS);
		assert_canary(mem, skew + ok_at, total, label, len);
	}
	_nss_containarium_endpwent();
	_nss_containarium_endgrent();
	free(mem);
	ctm_t_fixture_free(&f);
}

/* _i: the call; every misalignment of the buffer, 0 to 7 bytes. */
START_TEST(buffer_sizes)
{
	for (size_t skew = 0; skew < sizeof(char *); skew++)
		buffer_sizes_case(&calls[_i], skew);
}
END_TEST

/* After ERANGE, enumeration retries the same entry (glibc grows the buffer
 * and calls again); nothing is skipped. */
START_TEST(getpwent_retry_does_not_skip)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "retry");
	publish_small(&e, &f);
	_nss_containarium_setpwent(0);
	static const char *const order[] = { "alice", "bob", "carol-2" };
	for (size_t i = 0; i < 3; i++) {
		struct passwd pw;
		char small[4], buf[BIG];
		int err;
		ck_assert_int_eq(_nss_containarium_getpwent_r(&pw, small, sizeof small, &err), NSS_STATUS_TRYAGAIN);
		ck_assert_int_eq(err, ERANGE);
		ck_assert_int_eq(_nss_containarium_getpwent_r(&pw, small, 1, &err), NSS_STATUS_TRYAGAIN);
		ck_assert_int_eq(_nss_containarium_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
		ck_assert_str_eq(pw.pw_name, order[i]);
	}
	_nss_containarium_endpwent();
	ctm_t_fixture_free(&f);
}
END_TEST

/* ---- replacement -------------------------------------------------------------- */

START_TEST(replacement_is_picked_up)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "repl");
	static const char *const v1[] = { "alice", "bob" };
	fixture_named(&f, v1, 2);
	publish(&e, &f);
	struct passwd pw;
	char buf[BIG];
	int err;
	ck_assert_int_eq(_nss_containarium_getpwnam_r("alice", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_uint_eq(pw.pw_uid, 70101);
	ck_assert_int_eq(_nss_containarium_getpwnam_r("dave", &pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
	ctm_t_fixture_free(&f);

	/* A new generation: alice changes uid, dave appears, bob goes. */
	static const char *const v2[] = { "dave", "alice" };
	fixture_named(&f, v2, 2);
	publish(&e, &f);
	errno = EDOM;
	ck_assert_int_eq(_nss_containarium_getpwnam_r("alice", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(errno, EDOM); /* also across the remap */
	ck_assert_uint_eq(pw.pw_uid, 70102);
	ck_assert_int_eq(_nss_containarium_getpwnam_r("dave", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(_nss_containarium_getpwnam_r("bob", &pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(_nss_containarium_getpwuid_r(70101, &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_str_eq(pw.pw_name, "dave");

	/* Same size, same second, same generation: only the inode differs. */
	struct ctm_image pwi, kd;
	f.spec.generation = 9;
	ctm_t_user_set(&f, 1, "alice", 70102, CTM_STATE_ACTIVE, "old", NULL, NULL);
	ctm_t_build(&f, &pwi, &kd);
	ctm_t_replace_file(e.pp, pwi.data, pwi.size, 0644);
	ck_assert_int_eq(_nss_containarium_getpwnam_r("alice", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_str_eq(pw.pw_gecos, "old");
	ctm_image_free(&pwi);
	ctm_image_free(&kd);
	ctm_t_user_set(&f, 1, "alice", 70102, CTM_STATE_ACTIVE, "new", NULL, NULL);
	ctm_t_build(&f, &pwi, &kd);
	ctm_t_replace_file(e.pp, pwi.data, pwi.size, 0644);
	ck_assert_int_eq(_nss_containarium_getpwnam_r("alice", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_str_eq(pw.pw_gecos, "new");
	ctm_image_free(&pwi);
	ctm_image_free(&kd);

	/* The group follows the file too. */
	f.spec.group_name = "renamed-group";
	f.spec.gid = 70500;
	f.spec.generation = 0;
	publish(&e, &f);
	struct group gr;
	ck_assert_int_eq(_nss_containarium_getgrgid_r(70500, &gr, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_str_eq(gr.gr_name, "renamed-group");
	ck_assert_int_eq(_nss_containarium_getgrnam_r("containarium-users", &gr, buf, sizeof buf, &err),
			 NSS_STATUS_NOTFOUND);
	ctm_t_fixture_free(&f);
}
END_TEST

/* Enumerate k entries, replace the file, then the rest: the names after the
 * last returned one in the new file, each once. */
static void resume_case(const char *const *before, size_t nb, size_t k, const char *const *after, size_t na,
			uint64_t gen_after, const char *const *want, size_t nwant)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "resume");
	fixture_named(&f, before, nb);
	f.spec.generation = 5;
	publish(&e, &f);
	ctm_t_fixture_free(&f);
	_nss_containarium_setpwent(0);
	char got[16][CTM_NAME_MAX + 1];
	for (size_t i = 0; i < k; i++) {
		struct passwd pw;
		char buf[BIG];
		int err;
		ck_assert_int_eq(_nss_containarium_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
		ck_assert_str_eq(pw.pw_name, before[i]);
	}
	fixture_named(&f, after, na);
	f.spec.generation = gen_after;
	publish(&e, &f);
	ctm_t_fixture_free(&f);
	size_t n = enumerate_rest(got, 16);
	char seq[16 * (CTM_NAME_MAX + 1) + 1] = "";
	for (size_t i = 0; i < n; i++) {
		strcat(seq, got[i]);
		strcat(seq, " ");
	}
	ck_assert_msg(n == nwant, "resumed enumeration returned: %s", seq);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strcmp(got[i], want[i]) == 0, "resumed enumeration returned: %s", seq);
	_nss_containarium_endpwent();
}

static const char *const five[] = { "anna", "bert", "cleo", "dora", "emil" };
static const char *const grown[] = { "anna", "anton", "bert", "bruno", "cleo", "emil" };
static const char *const grown_rest[] = { "bruno", "cleo", "emil" };

START_TEST(getpwent_resumes_after_replacement)
{
	resume_case(five, 5, 2, grown, 6, 6, grown_rest, 3);
}
END_TEST

START_TEST(getpwent_resumes_after_removed_name)
{
	static const char *const after[] = { "anna", "cleo", "dora" };
	static const char *const rest[] = { "cleo", "dora" };
	resume_case(five, 5, 2, after, 3, 6, rest, 2);
}
END_TEST

START_TEST(getpwent_resumes_at_end)
{
	static const char *const after[] = { "aaron", "anna", "bert" };
	resume_case(five, 5, 5, after, 3, 6, NULL, 0);
}
END_TEST

/* The generation number is the writer's business: a file replaced by one
 * that carries the same generation (a second `containarium-mksnapshot` run
 * with "generation" in its JSON, a restored backup) is still a different
 * file, and enumeration must still resume by name. */
START_TEST(getpwent_resumes_after_replacement_same_generation)
{
	resume_case(five, 5, 2, grown, 6, 5, grown_rest, 3);
}
END_TEST

/* ---- per-thread enumeration ------------------------------------------------------ */

struct enum_thread {
	pthread_barrier_t *barrier;
	size_t steps;
	char names[64][CTM_NAME_MAX + 1];
	size_t n;
	int bad_status;
};

static void *enumerate_in_lockstep(void *arg)
{
	struct enum_thread *t = arg;
	_nss_containarium_setpwent(0);
	for (size_t i = 0; i < t->steps; i++) {
		pthread_barrier_wait(t->barrier);
		struct passwd pw;
		char buf[BIG];
		int err;
		enum nss_status s = _nss_containarium_getpwent_r(&pw, buf, sizeof buf, &err);
		if (s == NSS_STATUS_SUCCESS && t->n < 64)
			snprintf(t->names[t->n++], CTM_NAME_MAX + 1, "%s", pw.pw_name);
		else if (s != NSS_STATUS_NOTFOUND)
			t->bad_status = (int)s + 100;
		pthread_barrier_wait(t->barrier);
	}
	_nss_containarium_endpwent();
	return NULL;
}

START_TEST(getpwent_per_thread)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "threads");
	fixture_named(&f, five, 5);
	publish(&e, &f);
	/* This thread is one entry into its own enumeration. */
	_nss_containarium_setpwent(0);
	struct passwd pw;
	char buf[BIG];
	int err;
	ck_assert_int_eq(_nss_containarium_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_str_eq(pw.pw_name, "anna");

	pthread_barrier_t barrier;
	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, 2), 0);
	struct enum_thread *t = calloc(2, sizeof *t);
	ck_assert_ptr_nonnull(t);
	pthread_t tid[2];
	for (int i = 0; i < 2; i++) {
		t[i].barrier = &barrier;
		t[i].steps = 7; /* 5 entries, then NOTFOUND twice */
		ck_assert_int_eq(pthread_create(&tid[i], NULL, enumerate_in_lockstep, &t[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(t[i].bad_status, 0);
		ck_assert_uint_eq(t[i].n, 5);
		for (size_t k = 0; k < 5; k++)
			ck_assert_str_eq(t[i].names[k], five[k]);
	}
	free(t);
	/* ... and carries on where it was. */
	ck_assert_int_eq(_nss_containarium_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
	ck_assert_str_eq(pw.pw_name, "bert");
	_nss_containarium_endpwent();
	ctm_t_fixture_free(&f);
}
END_TEST

/* ---- initgroups_dyn ------------------------------------------------------------- */

struct groups {
	long start, size;
	gid_t *g;
};

static void groups_init(struct groups *gs, long start, long size, const gid_t *init)
{
	gs->start = start;
	gs->size = size;
	gs->g = malloc((size_t)size * sizeof *gs->g);
	ck_assert_ptr_nonnull(gs->g);
	for (long i = 0; i < start; i++)
		gs->g[i] = init[i];
}

static enum nss_status call_initgroups(const char *user, gid_t group, struct groups *gs, long limit, int *err)
{
	return _nss_containarium_initgroups_dyn(user, group, &gs->start, &gs->size, &gs->g, limit, err);
}

START_TEST(initgroups_dyn_adds_group)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "initgr");
	publish_small(&e, &f);
	static const gid_t base[] = { 100, 200, 300 };
	struct groups gs;
	int err = -7;

	/* Full array, no limit: grows and appends. */
	groups_init(&gs, 1, 1, base);
	errno = EDOM;
	ck_assert_int_eq(call_initgroups("alice", 100, &gs, -1, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(errno, EDOM);
	ck_assert_int_eq(err, -7);
	ck_assert_int_eq(gs.start, 2);
	ck_assert_int_ge(gs.size, 2);
	ck_assert_uint_eq(gs.g[0], 100);
	ck_assert_uint_eq(gs.g[1], 70000);
	/* Calling again does not add it twice. */
	ck_assert_int_eq(call_initgroups("alice", 100, &gs, -1, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(gs.start, 2);
	free(gs.g);

	/* Room left: no reallocation needed, appended in place. */
	groups_init(&gs, 2, 8, base);
	gid_t *before = gs.g;
	ck_assert_int_eq(call_initgroups("carol-2", 100, &gs, 0, &err), NSS_STATUS_SUCCESS);
	ck_assert_ptr_eq(gs.g, before);
	ck_assert_int_eq(gs.size, 8);
	ck_assert_int_eq(gs.start, 3);
	ck_assert_uint_eq(gs.g[2], 70000);
	free(gs.g);

	/* The primary group glibc passes is already counted. */
	groups_init(&gs, 1, 1, (const gid_t[]){ 70000 });
	ck_assert_int_eq(call_initgroups("bob", 70000, &gs, -1, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(gs.start, 1);
	ck_assert_int_eq(gs.size, 1);
	free(gs.g);

	/* A bigger full array doubles (or at least grows). */
	gid_t many[16];
	for (int i = 0; i < 16; i++)
		many[i] = 1000 + (gid_t)i;
	groups_init(&gs, 16, 16, many);
	ck_assert_int_eq(call_initgroups("alice", 1000, &gs, -1, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(gs.start, 17);
	ck_assert_int_gt(gs.size, 16);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(gs.g[i], 1000 + (gid_t)i);
	ck_assert_uint_eq(gs.g[16], 70000);
	free(gs.g);
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(initgroups_dyn_respects_limit)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "initlim");
	publish_small(&e, &f);
	static const gid_t base[] = { 100, 200, 300 };
	struct groups gs;
	int err = -7;

	/* Full at the limit: quietly not added. */
	groups_init(&gs, 1, 1, base);
	ck_assert_int_eq(call_initgroups("alice", 100, &gs, 1, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(gs.start, 1);
	ck_assert_int_eq(gs.size, 1);
	free(gs.g);
	groups_init(&gs, 2, 2, base);
	ck_assert_int_eq(call_initgroups("alice", 100, &gs, 2, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(gs.start, 2);
	ck_assert_int_eq(gs.size, 2);
	free(gs.g);

	/* Room under the limit: grows to the limit, not past it. */
	groups_init(&gs, 2, 2, base);
	ck_assert_int_eq(call_initgroups("alice", 100, &gs, 3, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(gs.start, 3);
	ck_assert_int_eq(gs.size, 3);
	ck_assert_uint_eq(gs.g[2], 70000);
	free(gs.g);
	ck_assert_int_eq(err, -7);
	ctm_t_fixture_free(&f);
}
END_TEST

START_TEST(initgroups_dyn_unknown_user)
{
	struct env e;
	struct ctm_t_fixture f;
	env_init(&e, "initnf");
	publish_small(&e, &f);
	static const gid_t base[] = { 100 };
	struct groups gs;
	groups_init(&gs, 1, 1, base);
	gid_t *before = gs.g;
	int err = -7;
	static const char *const names[] = { "mallory", "root", "", "alice2" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		errno = EDOM;
		ck_assert_int_eq(call_initgroups(names[i], 100, &gs, -1, &err), NSS_STATUS_NOTFOUND);
		ck_assert_int_eq(errno, EDOM);
		ck_assert_int_eq(gs.start, 1);
		ck_assert_int_eq(gs.size, 1);
		ck_assert_ptr_eq(gs.g, before);
		ck_assert_uint_eq(gs.g[0], 100);
	}
	free(gs.g);
	ctm_t_fixture_free(&f);
}
END_TEST

static Suite *nss_suite(void)
{
	Suite *s = suite_create("nss_module");
	TCase *tc = tcase_create("lookups");
	tcase_add_unchecked_fixture(tc, ctm_t_scratch_setup, ctm_t_scratch_teardown);
	tcase_add_test(tc, getpwnam_exact_entries);
	tcase_add_test(tc, getpwuid_exact_entries);
	tcase_add_test(tc, lookups_notfound);
	tcase_add_test(tc, group_lookups);
	tcase_add_test(tc, group_with_no_users);
	tcase_add_test(tc, getgrent_once);
	tcase_add_test(tc, getpwent_in_name_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("unavailable");
	tcase_add_unchecked_fixture(tc, ctm_t_scratch_setup, ctm_t_scratch_teardown);
	tcase_add_loop_test(tc, unavailable_files, 0, BF_COUNT);
	tcase_add_test(tc, unavailable_after_replacement);
	suite_add_tcase(s, tc);

	tc = tcase_create("buffers");
	tcase_add_unchecked_fixture(tc, ctm_t_scratch_setup, ctm_t_scratch_teardown);
	tcase_add_loop_test(tc, buffer_sizes, 0, N_CALLS);
	tcase_add_test(tc, getpwent_retry_does_not_skip);
	suite_add_tcase(s, tc);

	tc = tcase_create("replacement");
	tcase_add_unchecked_fixture(tc, ctm_t_scratch_setup, ctm_t_scratch_teardown);
	tcase_add_test(tc, replacement_is_picked_up);
	tcase_add_test(tc, getpwent_resumes_after_replacement);
	tcase_add_test(tc, getpwent_resumes_after_removed_name);
	tcase_add_test(tc, getpwent_resumes_at_end);
	tcase_add_test(tc, getpwent_resumes_after_replacement_same_generation);
	tcase_add_test(tc, getpwent_per_thread);
	suite_add_tcase(s, tc);

	tc = tcase_create("initgroups");
	tcase_add_unchecked_fixture(tc, ctm_t_scratch_setup, ctm_t_scratch_teardown);
	tcase_add_test(tc, initgroups_dyn_adds_group);
	tcase_add_test(tc, initgroups_dyn_respects_limit);
	tcase_add_test(tc, initgroups_dyn_unknown_user);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	Suite *suites[] = { nss_suite(), NULL };
	return ctm_run_suites(suites);
}
