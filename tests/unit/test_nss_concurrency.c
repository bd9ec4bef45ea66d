/* SPDX-License-Identifier: Apache-2.0 */
/* Lookups racing replacements: 8 threads call getpwnam_r/getpwuid_r in a
 * loop while a child process publishes 1,000 new snapshots (atomic rename).
 * Generation G holds users whose gecos is "gen=G" and whose home is
 * "/home/gG/NAME", so every answer can be checked to be whole and from one
 * generation: gecos and home agree, the uid belongs to the name.  The readers
 * must see no failure, no torn or mixed answer, never an older generation
 * after a newer one, and many distinct generations (the replacements were
 * really seen); afterwards the last generation is served, and no old mapping
 * or descriptor is left behind. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "nss_exports.h"
#include "support_snapshot.h"

#define THREADS 8
#define USERS 16
#define PUBLISHES 1000
#define LAST_GEN (1 + PUBLISHES)
#define UID_BASE 70100u

static void user_name(char out[16], size_t i)
{
	snprintf(out, 16, "dev%02zu", i);
}

/* Generation gen of the snapshot, published into pp/kp. */
static int publish_generation(uint64_t gen, const char *pp, const char *kp, char *err, size_t errlen)
{
	static char gecos[USERS][32], home[USERS][64], name[USERS][16];
	struct ctm_user_spec users[USERS];
	memset(users, 0, sizeof users);
	for (size_t i = 0; i < USERS; i++) {
		user_name(name[i], i);
		snprintf(gecos[i], sizeof gecos[i], "gen=%llu", (unsigned long long)gen);
		snprintf(home[i], sizeof home[i], "/home/g%llu/%s", (unsigned long long)gen, name[i]);
		users[i].name = name[i];
		users[i].gecos = gecos[i];
		users[i].home = home[i];
		users[i].uid = UID_BASE + (uint32_t)i;
		users[i].state = CTM_STATE_ACTIVE;
	}
	struct ctm_snapshot_spec spec = {
		.generation = gen,
		.gid = CTM_DEFAULT_GID,
		.uid_min = CTM_DEFAULT_UID_MIN,
		.uid_max = CTM_DEFAULT_UID_MAX,
		.users = users,
		.user_count = USERS,
	};
	return ctm_snapshot_publish(&spec, pp, kp, (gid_t)-1, err, errlen);
}

struct reader {
	pthread_t tid;
	int id;
	atomic_int *stop;
	unsigned long calls;
	unsigned long failures;
	char first_failure[256];
	unsigned char seen[LAST_GEN + 1];
	unsigned long last_gen;
};

__attribute__((format(printf, 2, 3))) static void reader_fail(struct reader *r, const char *fmt, ...)
{
	if (r->failures++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->first_failure, sizeof r->first_failure, fmt, ap);
		va_end(ap);
	}
}

/* Whole and from one generation; returns the generation or 0. */
static unsigned long check_entry(struct reader *r, const struct passwd *pw, size_t i)
{
	char name[16], tail[64];
	user_name(name, i);
	unsigned long g1 = 0, g2 = 0;
	int n1 = 0;
	if (strcmp(pw->pw_name, name) != 0 || pw->pw_uid != UID_BASE + i || pw->pw_gid != CTM_DEFAULT_GID ||
	    strcmp(pw->pw_passwd, "*") != 0 || strcmp(pw->pw_shell, CTM_DEFAULT_SHELL) != 0) {
		reader_fail(r, "user %zu: wrong entry %s/%u/%u", i, pw->pw_name, pw->pw_uid, pw->pw_gid);
		return 0;
	}
	if (sscanf(pw->pw_gecos, "gen=%lu%n", &g1, &n1) != 1 || pw->pw_gecos[n1] != '\0' ||
	    sscanf(pw->pw_dir, "/home/g%lu/%63s", &g2, tail) != 2 || strcmp(tail, name) != 0 || g1 != g2 || g1 < 1 ||
	    g1 > LAST_GEN) {
		reader_fail(r, "user %s: torn entry gecos \"%s\" home \"%s\"", name, pw->pw_gecos, pw->pw_dir);
		return 0;
	}
	return g1;
}

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	char buf[512];
	for (unsigned long k = 0; !atomic_load_explicit(r->stop, memory_order_relaxed); k++) {
		size_t i = (size_t)(k * 7 + (unsigned long)r->id) % USERS;
		struct passwd pw;
		int err = 0;
		enum nss_status s;
		errno = 0;
		if (k % 2) {
			s = _nss_containarium_getpwuid_r(UID_BASE + (uid_t)i, &pw, buf, sizeof buf, &err);
		} else {
			char name[16];
			user_name(name, i);
			s = _nss_containarium_getpwnam_r(name, &pw, buf, sizeof buf, &err);
		}
		r->calls++;
		if (s != NSS_STATUS_SUCCESS) {
			reader_fail(r, "call %lu (%s, user %zu): status %d, errno %d", k, k % 2 ? "by uid" : "by name",
				    i, s, err);
			continue;
		}
		if (errno != 0)
			reader_fail(r, "call %lu: errno changed to %d on success", k, errno);
		unsigned long g = check_entry(r, &pw, i);
		if (!g)
			continue;
		if (g < r->last_gen)
			reader_fail(r, "generation went back from %lu to %lu", r->last_gen, g);
		r->last_gen = g;
		r->seen[g] = 1;
	}
	return NULL;
}

static size_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	ck_assert_ptr_nonnull(d);
	size_t n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Mappings of files in dir (the module's passwd.db mapping). */
static size_t mappings_of(const char *dir)
{
	FILE *f = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(f);
	char line[4096];
	size_t n = 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, dir) != NULL;
	fclose(f);
	return n;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(lookups_during_replacements)
{
	char dir[PATH_MAX], pp[PATH_MAX], kp[PATH_MAX], err[512] = "";
	ctm_t_newdir(dir, "race");
	ctm_t_join(pp, dir, "passwd.db");
	ctm_t_join(kp, dir, "keys.db");
	ck_assert_int_eq(setenv("CONTAINARIUM_PASSWD_DB", pp, 1), 0);
	ck_assert_msg(publish_generation(1, pp, kp, err, sizeof err) == 0, "%s", err);

	size_t fds_before = count_dir("/proc/self/fd");
	/* The publisher is forked before any thread exists, and waits for the
	 * readers to be running. */
	int go[2], done[2];
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		close(done[0]);
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		for (uint64_t g = 2; g <= LAST_GEN; g++) {
			if (publish_generation(g, pp, kp, err, sizeof err) != 0) {
				ssize_t w = write(done[1], err, strlen(err) + 1);
				_exit(w > 0 ? 1 : 2);
			}
			/* A short pause per generation, so that slow (sanitized)
			 * readers still get to see most of them. */
			usleep(200);
		}
		_exit(0);
	}
	close(go[0]);
	close(done[1]);

	atomic_int stop = 0;
	struct reader *readers = calloc(THREADS, sizeof *readers);
	ck_assert_ptr_nonnull(readers);
	for (int t = 0; t < THREADS; t++) {
		readers[t].id = t;
		readers[t].stop = &stop;
		ck_assert_int_eq(pthread_create(&readers[t].tid, NULL, read_loop, &readers[t]), 0);
	}
	double t0 = now();
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	double elapsed = now() - t0;
	atomic_store(&stop, 1);
	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_join(readers[t].tid, NULL), 0);
	ssize_t n = read(done[0], err, sizeof err - 1);
	err[n > 0 ? n : 0] = '\0';
	close(done[0]);
	close(go[1]);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "publisher failed: %s", err);

	unsigned long calls = 0, distinct = 0;
	for (int t = 0; t < THREADS; t++) {
		ck_assert_msg(readers[t].failures == 0, "reader %d: %lu failures, first: %s", t, readers[t].failures,
			      readers[t].first_failure);
		calls += readers[t].calls;
		ck_assert_uint_gt(readers[t].calls, 0);
	}
	for (int g = 1; g <= LAST_GEN; g++) {
		bool any = false;
		for (int t = 0; t < THREADS && !any; t++)
			any = readers[t].seen[g];
		distinct += any;
	}
	fprintf(stderr,
		"nss_concurrency: %lu lookups by %d threads during %d publishes in %.2f s; "
		"%lu distinct generations seen\n",
		calls, THREADS, PUBLISHES, elapsed, distinct);
	free(readers);
	ck_assert_msg(distinct >= 100, "only %lu distinct generations seen: replacements not picked up?", distinct);

	/* Once publishing stopped, the next call serves the last generation. */
	struct passwd pw;
	char buf[512];
	int e;
	ck_assert_int_eq(_nss_containarium_getpwnam_r("dev03", &pw, buf, sizeof buf, &e), NSS_STATUS_SUCCESS);
	char want[32];
	snprintf(want, sizeof want, "gen=%d", LAST_GEN);
	ck_assert_str_eq(pw.pw_gecos, want);
	/* Old mappings were unmapped and descriptors closed. */
	ck_assert_uint_le(mappings_of(dir), 1);
	ck_assert_uint_eq(count_dir("/proc/self/fd"), fds_before);
	size_t tmp;
	ck_assert_uint_eq(ctm_t_count_entries(dir, &tmp), 2);
	ck_assert_uint_eq(tmp, 0);
}
END_TEST

/* tmpfs makes the publisher's fsyncs cheap, so 1,000 publishes fit easily. */
static void scratch_on_tmpfs(void)
{
	struct stat st;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		ctm_t_scratch_setup_in("/dev/shm");
	else
		ctm_t_scratch_setup();
}

static Suite *concurrency_suite(void)
{
	Suite *s = suite_create("nss_concurrency");
	TCase *tc = tcase_create("race");
	tcase_add_unchecked_fixture(tc, scratch_on_tmpfs, ctm_t_scratch_teardown);
	tcase_add_test(tc, lookups_during_replacements);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	Suite *suites[] = { concurrency_suite(), NULL };
	return ctm_run_suites(suites);
}
