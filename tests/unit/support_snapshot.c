/* SPDX-License-Identifier: Apache-2.0 */
#include "support_snapshot.h"

#include <check.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support_keys.h"

/* ---- scratch directory ------------------------------------------------ */

static char scratch[PATH_MAX];

void ctm_t_scratch_setup_in(const char *base)
{
	if (!base) {
		base = getenv("TMPDIR");
		if (!base || base[0] != '/')
			base = "/tmp";
	}
	snprintf(scratch, sizeof scratch, "%s/ctm-unit-XXXXXX", base);
	if (!mkdtemp(scratch)) {
		fprintf(stderr, "cannot create a scratch directory in %s: %s\n", base, strerror(errno));
		abort();
	}
	/* Traversable, so a test that drops privileges can reach its files. */
	chmod(scratch, 0755);
}

void ctm_t_scratch_setup(void)
{
	ctm_t_scratch_setup_in(NULL);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void ctm_t_scratch_teardown(void)
{
	if (scratch[0])
		nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	scratch[0] = '\0';
}

void ctm_t_newdir(char out[PATH_MAX], const char *tag)
{
	ck_assert_msg(scratch[0], "scratch directory not set up");
	int n = snprintf(out, PATH_MAX, "%s/%s-XXXXXX", scratch, tag);
	ck_assert(n > 0 && n < PATH_MAX);
	ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp %s: %s", out, strerror(errno));
	ck_assert_int_eq(chmod(out, 0755), 0);
}

void ctm_t_join(char out[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	ck_assert(n > 0 && n < PATH_MAX);
}

/* ---- files ------------------------------------------------------------- */

unsigned char *ctm_t_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	unsigned char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	ck_assert_ptr_nonnull(buf);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		ck_assert_msg(r > 0, "read %s: %s", path, strerror(errno));
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

void ctm_t_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	const unsigned char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		ck_assert_msg(w > 0, "write %s: %s", path, strerror(errno));
		p += w;
		len -= (size_t)w;
	}
	ck_assert_int_eq(fchmod(fd, (mode_t)mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

void ctm_t_replace_file(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof tmp, "%s.test-new", path);
	ck_assert(n > 0 && n < PATH_MAX);
	ctm_t_write_file(tmp, data, len, mode);
	ck_assert_msg(rename(tmp, path) == 0, "rename %s: %s", tmp, strerror(errno));
}

size_t ctm_t_count_entries(const char *dir, size_t *tmp)
{
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "opendir %s: %s", dir, strerror(errno));
	size_t n = 0, t = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		t += strstr(e->d_name, ".tmp.") != NULL;
	}
	closedir(d);
	if (tmp)
		*tmp = t;
	return n;
}

/* ---- fixtures ------------------------------------------------------------ */

void ctm_t_fixture_init(struct ctm_t_fixture *f, size_t n)
{
	memset(f, 0, sizeof *f);
	f->n = n;
	f->users = calloc(n ? n : 1, sizeof *f->users);
	f->expect = calloc(n ? n : 1, sizeof *f->expect);
	ck_assert_ptr_nonnull(f->users);
	ck_assert_ptr_nonnull(f->expect);
	f->spec.generation = 1;
	f->spec.group_name = NULL;
	f->spec.gid = CTM_DEFAULT_GID;
	f->spec.uid_min = CTM_DEFAULT_UID_MIN;
	f->spec.uid_max = CTM_DEFAULT_UID_MAX;
	f->spec.users = f->users;
	f->spec.user_count = n;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	size_t len = strlen(src);
	ck_assert_msg(len < cap, "test field too long: %s", src);
	memcpy(dst, src, len + 1);
}

void ctm_t_user_set(struct ctm_t_fixture *f, size_t i, const char *name, uint32_t uid, uint32_t state,
		    const char *gecos, const char *home, const char *shell)
{
	struct ctm_t_user *e = &f->expect[i];
	struct ctm_user_spec *u = &f->users[i];
	copy_field(e->name, sizeof e->name, name);
	copy_field(e->gecos, sizeof e->gecos, gecos ? gecos : "");
	copy_field(e->home, sizeof e->home, home ? home : CTM_DEFAULT_HOME);
	copy_field(e->shell, sizeof e->shell, shell ? shell : CTM_DEFAULT_SHELL);
	u->name = e->name;
	u->gecos = gecos ? e->gecos : NULL;
	u->home = home ? e->home : NULL;
	u->shell = shell ? e->shell : NULL;
	u->uid = uid;
	u->state = state;
	u->keys = e->keys_in;
}

void ctm_t_user_add_key(struct ctm_t_fixture *f, size_t i, const char *in, const char *canon)
{
	struct ctm_user_spec *u = &f->users[i];
	ck_assert_uint_lt(u->key_count, CTM_KEYS_PER_USER_MAX);
	f->expect[i].keys_in[u->key_count] = in;
	f->expect[i].keys_canon[u->key_count] = canon;
	u->key_count++;
}

void ctm_t_fixture_free(struct ctm_t_fixture *f)
{
	free(f->users);
	free(f->expect);
	memset(f, 0, sizeof *f);
}

/* Keys given with untidy spacing, and the canonical line keys.db holds. */
struct pool_key {
	const char *in, *canon;
};

#define T(x) CTM_T_##x##_TYPE
#define B(x) CTM_T_##x##_B64
#define C(x) CTM_T_##x##_COMMENT
static const struct pool_key static_pool[] = {
	{ CTM_T_ED25519, CTM_T_ED25519 },
	{ "  " T(ED25519) "\t\t" B(ED25519) "   " C(ED25519) " \t", CTM_T_ED25519 },
	{ "\t" T(ECDSA256) " " B(ECDSA256) "\t", T(ECDSA256) " " B(ECDSA256) },
	{ T(ECDSA384) "  " B(ECDSA384) " my laptop  key ", T(ECDSA384) " " B(ECDSA384) " my laptop  key" },
	{ T(ECDSA521) " " B(ECDSA521) "\t" C(ECDSA521), CTM_T_ECDSA521 },
	{ CTM_T_RSA2048 "   ", CTM_T_RSA2048 },
	{ "   " CTM_T_RSA3072, CTM_T_RSA3072 },
	{ T(RSA4096) "\t" B(RSA4096) "\tJos\xc3\xa9 \xe2\x9c\x93 key",
	  T(RSA4096) " " B(RSA4096) " Jos\xc3\xa9 \xe2\x9c\x93 key" },
};
#undef T
#undef B
#undef C

#define POOL_SIZE (sizeof static_pool / sizeof static_pool[0] + 2)
static char sk_ed_canon[512], sk_ec_canon[512], sk_ed_in[sizeof sk_ed_canon + 8], sk_ec_in[sizeof sk_ec_canon + 8];
static struct pool_key pool[POOL_SIZE];

static void pool_init(void)
{
	if (pool[0].in)
		return;
	for (size_t i = 0; i < sizeof static_pool / sizeof static_pool[0]; i++)
		pool[i] = static_pool[i];
	ctm_t_sk_ed25519_line(sk_ed_canon, sizeof sk_ed_canon, "ssh:", "sk-ed@ctm-test");
	snprintf(sk_ed_in, sizeof sk_ed_in, " %s\t", sk_ed_canon);
	ctm_t_sk_ecdsa_line(sk_ec_canon, sizeof sk_ec_canon, "ssh:test", NULL);
	snprintf(sk_ec_in, sizeof sk_ec_in, "%s  ", sk_ec_canon);
	pool[POOL_SIZE - 2] = (struct pool_key){ sk_ed_in, sk_ed_canon };
	pool[POOL_SIZE - 1] = (struct pool_key){ sk_ec_in, sk_ec_canon };
}

/* Lengths 1 to 32.  Unique: one and two letters for i < 52, then the
 * decimal i after the first letter, ended by a non-digit. */
static void varied_name(char *out, size_t i)
{
	if (i < 52) {
		out[0] = (char)(i < 26 ? 'a' + i : 'z');
		out[1] = i < 26 ? '\0' : (char)('a' + i - 26);
		out[2] = '\0';
		return;
	}
	int n = snprintf(out, CTM_NAME_MAX + 1, "%c%zu", (char)('a' + i % 26), i);
	int target = 2 + (int)((i * 7) % 31);
	if (n < target) {
		out[n] = target - n >= 2 ? '-' : 'q';
		for (n++; n < target; n++)
			out[n] = "x9z0"[n % 4];
		out[n] = '\0';
	}
}

void ctm_t_fixture_varied(struct ctm_t_fixture *f, size_t n)
{
	pool_init();
	ctm_t_fixture_init(f, n);
	f->spec.group_name = "ctm_varied-1";
	f->spec.gid = 4242;
	f->spec.uid_min = 200000;
	/* A permutation of [0, n + 3): uid_min is used, and some values inside
	 * the range are not. */
	uint32_t range = (uint32_t)n + 3, max = f->spec.uid_min;
	static const char *const gecos[] = {
		NULL,
		"",
		"User Name",
		NULL /* long, below */,
		"Zo\xc3\xab \xc3\x91"
		"and\xc3\xba \xe6\x97\xa5\xe6\x9c\xac",
		"a,b,c (x) #1 !$%&'*+ \\ \"quoted\"",
	};
	char longg[CTM_FIELD_MAX + 1];
	for (size_t k = 0; k < CTM_FIELD_MAX; k++)
		longg[k] = k % 9 == 8 ? ' ' : (char)('a' + k % 26);
	longg[CTM_FIELD_MAX] = '\0';
	for (size_t i = 0; i < n; i++) {
		char name[CTM_NAME_MAX + 1], home[CTM_FIELD_MAX + 1];
		varied_name(name, i);
		uint32_t uid = f->spec.uid_min + (uint32_t)((i * 7919) % range);
		if (uid > max)
			max = uid;
		const char *g = i % 6 == 3 ? longg : gecos[i % 6];
		const char *h = NULL;
		switch (i % 4) {
		case 1:
			snprintf(home, sizeof home, "/home/%s", name);
			h = home;
			break;
		case 2:
			snprintf(home, sizeof home, "/srv/users/%s/deep/path", name);
			h = home;
			break;
		case 3: h = "/"; break;
		}
		static const char *const shells[] = {
			NULL,
			"/bin/false",
			"/usr/local/bin/containarium-shell-with-a-long-name",
		};
		ctm_t_user_set(f, i, name, uid, CTM_STATE_MIN + (uint32_t)(i % 3), g, h, shells[i % 3]);
		unsigned char ip[4] = { 10, (unsigned char)(i >> 8), (unsigned char)i, (unsigned char)(1 + i % 254) };
		memcpy(f->users[i].ipv4, ip, 4);
		size_t keys = i == 7 ? CTM_KEYS_PER_USER_MAX : i % 5;
		for (size_t k = 0; k < keys; k++) {
			const struct pool_key *pk = &pool[(i + k) % POOL_SIZE];
			ctm_t_user_add_key(f, i, pk->in, pk->canon);
		}
	}
	f->spec.uid_max = n ? max : f->spec.uid_min + 10;
}

void ctm_t_fixture_small(struct ctm_t_fixture *f)
{
	pool_init();
	ctm_t_fixture_init(f, 3);
	ctm_t_user_set(f, 0, "alice", 70010, CTM_STATE_ACTIVE, "Alice Example, Room 42, +1 555 0100, work",
		       "/home/alice", "/bin/bash");
	ctm_t_user_set(f, 1, "bob", 70020, CTM_STATE_SUSPENDED, NULL, NULL, NULL);
	ctm_t_user_set(f, 2, "carol-2", 70030, CTM_STATE_PROVISIONING, "Carol", NULL, NULL);
	ctm_t_user_add_key(f, 0, pool[1].in, pool[1].canon);
	ctm_t_user_add_key(f, 2, pool[2].in, pool[2].canon);
	ctm_t_user_add_key(f, 2, pool[POOL_SIZE - 2].in, pool[POOL_SIZE - 2].canon);
	memcpy(f->users[0].ipv4, (unsigned char[4]){ 10, 0, 3, 15 }, 4);
	memcpy(f->users[1].ipv4, (unsigned char[4]){ 10, 0, 3, 16 }, 4);
	memcpy(f->users[2].ipv4, (unsigned char[4]){ 192, 168, 77, 254 }, 4);
}

void ctm_t_build(const struct ctm_t_fixture *f, struct ctm_image *pw, struct ctm_image *keys)
{
	char err[512] = "";
	int r = ctm_snapshot_build(&f->spec, pw, keys, err, sizeof err);
	ck_assert_msg(r == 0, "ctm_snapshot_build failed: %s", err);
}

/* ---- comparing ------------------------------------------------------------ */

static bool str_field(const char *what, const char *got, size_t got_len, const char *want, char *why)
{
	if (!got) {
		snprintf(why, 256, "%s is NULL", what);
		return false;
	}
	if (got_len != strlen(want) || strlen(got) != got_len || strcmp(got, want) != 0) {
		snprintf(why, 256, "%s is \"%.80s\" (len %zu), expected \"%.80s\"", what, got, got_len, want);
		return false;
	}
	return true;
}

bool ctm_t_user_matches(const struct ctm_t_fixture *f, size_t i, const struct ctm_user *u, char *why)
{
	const struct ctm_t_user *e = &f->expect[i];
	if (!str_field("name", u->name, u->name_len, e->name, why) ||
	    !str_field("gecos", u->gecos, u->gecos_len, e->gecos, why) ||
	    !str_field("home", u->home, u->home_len, e->home, why) ||
	    !str_field("shell", u->shell, u->shell_len, e->shell, why))
		return false;
	if (u->uid != f->users[i].uid || u->gid != f->spec.gid || u->state != f->users[i].state) {
		snprintf(why, 256, "user %s: uid/gid/state %u/%u/%u, expected %u/%u/%u", e->name, u->uid, u->gid,
			 u->state, f->users[i].uid, f->spec.gid, f->users[i].state);
		return false;
	}
	return true;
}

bool ctm_t_keys_match(const struct ctm_t_fixture *f, size_t i, const struct ctm_keys *k, char *why)
{
	const struct ctm_t_user *e = &f->expect[i];
	const struct ctm_user_spec *u = &f->users[i];
	if (!k->name || strcmp(k->name, e->name) != 0) {
		snprintf(why, 256, "keys name \"%s\", expected \"%s\"", k->name ? k->name : "(null)", e->name);
		return false;
	}
	if (k->state != u->state || k->uid != u->uid || memcmp(k->ipv4, u->ipv4, 4) != 0) {
		snprintf(why, 256, "keys of %s: state/uid/ipv4 %u/%u/%u.%u.%u.%u differ", e->name, k->state, k->uid,
			 k->ipv4[0], k->ipv4[1], k->ipv4[2], k->ipv4[3]);
		return false;
	}
	if (k->key_count != u->key_count) {
		snprintf(why, 256, "keys of %s: %u keys, expected %zu", e->name, k->key_count, u->key_count);
		return false;
	}
	const char *line = NULL;
	for (size_t j = 0; j < u->key_count; j++) {
		line = ctm_keys_next(k, line);
		if (!line || strcmp(line, e->keys_canon[j]) != 0) {
			snprintf(why, 256, "keys of %s: key %zu is \"%.60s\", expected \"%.60s\"", e->name, j + 1,
				 line ? line : "(none)", e->keys_canon[j]);
			return false;
		}
	}
	if (ctm_keys_next(k, line) != NULL) {
		snprintf(why, 256, "keys of %s: more lines than key_count", e->name);
		return false;
	}
	return true;
}

static const struct ctm_t_fixture *sort_fixture;

static int by_expected_name(const void *a, const void *b)
{
	return strcmp(sort_fixture->expect[*(const size_t *)a].name, sort_fixture->expect[*(const size_t *)b].name);
}

static size_t *name_order(const struct ctm_t_fixture *f)
{
	size_t *idx = malloc((f->n ? f->n : 1) * sizeof *idx);
	ck_assert_ptr_nonnull(idx);
	for (size_t i = 0; i < f->n; i++)
		idx[i] = i;
	sort_fixture = f;
	qsort(idx, f->n, sizeof *idx, by_expected_name);
	return idx;
}

static bool has_name(const struct ctm_t_fixture *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->expect[i].name, name) == 0)
			return true;
	return false;
}

static void check_header(const struct ctm_t_fixture *f, const struct ctm_db *db, uint64_t gen)
{
	ck_assert_uint_eq(db->count, f->n);
	ck_assert_uint_eq(db->generation, gen);
	ck_assert_uint_eq(db->gid, f->spec.gid);
	ck_assert_uint_eq(db->uid_min, f->spec.uid_min);
	ck_assert_uint_eq(db->uid_max, f->spec.uid_max);
	ck_assert_str_eq(db->group_name, f->spec.group_name ? f->spec.group_name : CTM_DEFAULT_GROUP_NAME);
	ck_assert_int_eq(ctm_db_check_data(db), CTM_OK);
	ck_assert_int_eq(ctm_db_verify(db), CTM_OK);
}

/* Names that are not in f: near misses of real names and odd inputs. */
static void check_absent_names(const struct ctm_t_fixture *f, const struct ctm_db *db)
{
	char buf[2 * CTM_NAME_MAX + 2];
	static const char *const odd[] = { "", "zzzz-absent", "root", "containarium-users",
					   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 33 */ };
	for (size_t i = 0; i < sizeof odd / sizeof odd[0] + 2 * f->n; i++) {
		const char *name;
		if (i < sizeof odd / sizeof odd[0]) {
			name = odd[i];
		} else {
			size_t j = (i - sizeof odd / sizeof odd[0]) / 2;
			const char *real = f->expect[j].name;
			if (i % 2) /* one character longer */
				snprintf(buf, sizeof buf, "%sq", real);
			else /* one character shorter */
				snprintf(buf, sizeof buf, "%.*s", (int)strlen(real) - 1, real);
			name = buf;
		}
		if (has_name(f, name))
			continue;
		if (db->kind == CTM_DB_PASSWD) {
			struct ctm_user u;
			CTM_T_CHECK(ctm_passwd_by_name(db, name, &u) == CTM_NOTFOUND, "\"%s\" found", name);
		} else {
			struct ctm_keys k;
			CTM_T_CHECK(ctm_keys_by_name(db, name, &k) == CTM_NOTFOUND, "\"%s\" found", name);
		}
	}
}

void ctm_t_check_passwd_db(const struct ctm_t_fixture *f, const struct ctm_db *db, uint64_t gen)
{
	char why[256];
	ck_assert_int_eq(db->kind, CTM_DB_PASSWD);
	check_header(f, db, gen);
	for (size_t i = 0; i < f->n; i++) {
		struct ctm_user u, v;
		CTM_T_CHECK(ctm_passwd_by_name(db, f->expect[i].name, &u) == CTM_OK, "by_name %s", f->expect[i].name);
		CTM_T_CHECK(ctm_t_user_matches(f, i, &u, why), "by_name: %s", why);
		CTM_T_CHECK(ctm_passwd_by_uid(db, f->users[i].uid, &v) == CTM_OK, "by_uid %u", f->users[i].uid);
		CTM_T_CHECK(ctm_t_user_matches(f, i, &v, why), "by_uid: %s", why);
		CTM_T_CHECK(u.name == v.name, "%s: by_name and by_uid give different records", u.name);
	}
	size_t *order = name_order(f);
	for (uint32_t k = 0; k < f->n; k++) {
		struct ctm_user u;
		CTM_T_CHECK(ctm_passwd_at(db, k, &u) == CTM_OK, "at(%u) failed", k);
		CTM_T_CHECK(ctm_t_user_matches(f, order[k], &u, why), "at(%u): %s", k, why);
	}
	free(order);
	struct ctm_user u;
	ck_assert_int_eq(ctm_passwd_at(db, (uint32_t)f->n, &u), CTM_NOTFOUND);
	check_absent_names(f, db);
	/* uids: outside the range, and every unused one inside it. */
	static const uint32_t outside[] = { 0, 1, 65534, UINT32_MAX };
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
		ck_assert_int_eq(ctm_passwd_by_uid(db, outside[i], &u), CTM_NOTFOUND);
	ck_assert_int_eq(ctm_passwd_by_uid(db, f->spec.uid_min - 1, &u), CTM_NOTFOUND);
	ck_assert_int_eq(ctm_passwd_by_uid(db, f->spec.uid_max + 1, &u), CTM_NOTFOUND);
	uint32_t probe_end = f->spec.uid_max - f->spec.uid_min > 5000 ? f->spec.uid_min + 5000 : f->spec.uid_max;
	for (uint32_t uid = f->spec.uid_min; uid <= probe_end; uid++) {
		bool used = false;
		for (size_t i = 0; i < f->n && !used; i++)
			used = f->users[i].uid == uid;
		if (!used)
			CTM_T_CHECK(ctm_passwd_by_uid(db, uid, &u) == CTM_NOTFOUND, "unused uid %u found", uid);
	}
}

void ctm_t_check_keys_db(const struct ctm_t_fixture *f, const struct ctm_db *db, uint64_t gen)
{
	char why[256];
	ck_assert_int_eq(db->kind, CTM_DB_KEYS);
	check_header(f, db, gen);
	for (size_t i = 0; i < f->n; i++) {
		struct ctm_keys k;
		CTM_T_CHECK(ctm_keys_by_name(db, f->expect[i].name, &k) == CTM_OK, "keys_by_name %s",
			    f->expect[i].name);
		CTM_T_CHECK(ctm_t_keys_match(f, i, &k, why), "keys_by_name: %s", why);
	}
	size_t *order = name_order(f);
	for (uint32_t j = 0; j < f->n; j++) {
		struct ctm_keys k;
		CTM_T_CHECK(ctm_keys_at(db, j, &k) == CTM_OK, "keys_at(%u) failed", j);
		CTM_T_CHECK(ctm_t_keys_match(f, order[j], &k, why), "keys_at(%u): %s", j, why);
	}
	free(order);
	struct ctm_keys k;
	ck_assert_int_eq(ctm_keys_at(db, (uint32_t)f->n, &k), CTM_NOTFOUND);
	check_absent_names(f, db);
}

/* ---- raw field access -------------------------------------------------------- */

uint16_t ctm_t_rd16(const unsigned char *img, size_t off)
{
	uint16_t v;
	memcpy(&v, img + off, 2);
	return le16toh(v);
}

uint32_t ctm_t_rd32(const unsigned char *img, size_t off)
{
	uint32_t v;
	memcpy(&v, img + off, 4);
	return le32toh(v);
}

uint64_t ctm_t_rd64(const unsigned char *img, size_t off)
{
	uint64_t v;
	memcpy(&v, img + off, 8);
	return le64toh(v);
}

void ctm_t_wr16(unsigned char *img, size_t off, uint16_t v)
{
	v = htole16(v);
	memcpy(img + off, &v, 2);
}

void ctm_t_wr32(unsigned char *img, size_t off, uint32_t v)
{
	v = htole32(v);
	memcpy(img + off, &v, 4);
}

void ctm_t_wr64(unsigned char *img, size_t off, uint64_t v)
{
	v = htole64(v);
	memcpy(img + off, &v, 8);
}
