/* SPDX-License-Identifier: Apache-2.0 */
/* nss_lookup: in-process getpwnam_r + getpwuid_r hits through glibc, timed.
 *
 *   nss_lookup --list FILE [--seconds S] [--threads T] [--seed N]
 *   nss_lookup --user NAME:UID [--seconds S]
 *
 * With --list, each of T threads repeatedly picks a random user of FILE and
 * looks it up by name, then by uid, checking that both answers are that
 * user; counts two calls.  With --user, always the one user (to see how the
 * cost depends on where a user sits in a file).  Whatever module nsswitch.conf
 * names answers; the caller sets that up (bench/run.sh).
 *
 * Prints one line: ns_per_call=X calls=N threads=T
 * where X = wall time / calls over all threads, after one warm-up lookup per
 * thread (the module load and first open are not timed).  Exits 1 at the
 * first wrong or missing answer. */
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "userlist.h"

static struct bench_user *users;
static size_t user_count;
static atomic_bool stop;
static pthread_barrier_t start;

struct worker {
	pthread_t thread;
	uint64_t seed;
	unsigned long calls;
};

static void lookup_one(const struct bench_user *u)
{
	char buf[1024];
	struct passwd pw, *res = NULL;
	int e = getpwnam_r(u->name, &pw, buf, sizeof buf, &res);
	if (e != 0 || !res || pw.pw_uid != u->uid || strcmp(pw.pw_name, u->name) != 0) {
		fprintf(stderr, "nss_lookup: getpwnam_r(%s): %s\n", u->name,
			e     ? strerror(e)
			: res ? "wrong uid"
			      : "not found");
		exit(1);
	}
	res = NULL;
	e = getpwuid_r(u->uid, &pw, buf, sizeof buf, &res);
	if (e != 0 || !res || pw.pw_uid != u->uid || strcmp(pw.pw_name, u->name) != 0) {
		fprintf(stderr, "nss_lookup: getpwuid_r(%u): %s\n", (unsigned)u->uid,
			e     ? strerror(e)
			: res ? "wrong name"
			      : "not found");
		exit(1);
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	lookup_one(&users[bench_rand(&w->seed) % user_count]);
	pthread_barrier_wait(&start);
	/* Local counter and seed: the workers' structs share a cache line. */
	uint64_t seed = w->seed;
	unsigned long calls = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		lookup_one(&users[bench_rand(&seed) % user_count]);
		calls += 2;
	}
	w->calls = calls;
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int usage(void)
{
	fprintf(stderr, "usage: nss_lookup (--list FILE | --user NAME:UID) [--seconds S] "
			"[--threads T] [--seed N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *list = NULL, *one = NULL;
	double seconds = 1.0;
	int threads = 1;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--list") == 0)
			list = argv[++i];
		else if (strcmp(argv[i], "--user") == 0)
			one = argv[++i];
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--seed") == 0)
			seed = strtoull(argv[++i], NULL, 0) | 1;
		else
			return usage();
	}
	if (!list == !one || seconds <= 0 || threads < 1 || threads > 64)
		return usage();
	if (list) {
		users = userlist_load(list, &user_count);
	} else {
		static struct bench_user single;
		unsigned long uid;
		if (sscanf(one, "%32[^:]:%lu", single.name, &uid) != 2)
			return usage();
		single.uid = (uid_t)uid;
		users = &single;
		user_count = 1;
	}

	struct worker *w = calloc((size_t)threads, sizeof *w);
	if (!w || pthread_barrier_init(&start, NULL, (unsigned)threads + 1) != 0)
		return 1;
	for (int t = 0; t < threads; t++) {
		w[t].seed = seed + 0x100000001b3ull * (uint64_t)(t + 1);
		if (pthread_create(&w[t].thread, NULL, work, &w[t]) != 0) {
			fprintf(stderr, "nss_lookup: pthread_create failed\n");
			return 1;
		}
	}
	pthread_barrier_wait(&start);
	double t0 = now();
	struct timespec nap = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
	while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
		;
	atomic_store(&stop, true);
	unsigned long calls = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(w[t].thread, NULL);
		calls += w[t].calls;
	}
	double wall = now() - t0;
	if (calls == 0) {
		fprintf(stderr, "nss_lookup: no call finished in %.2f s\n", wall);
		return 1;
	}
	printf("ns_per_call=%.1f calls=%lu threads=%d\n", wall * 1e9 / (double)calls, calls, threads);
	free(w);
	return 0;
}
