/* SPDX-License-Identifier: Apache-2.0 */
/* spawn_bench: wall time of whole short-lived processes, two or more kinds
 * interleaved run by run so that a busy machine slows each kind alike.
 *
 *   spawn_bench --runs N SIDE [; SIDE]...
 *   SIDE:  [--ns NSFILE] [--list FILE] [--expect TEXT] -- CMD ARG...
 *
 * Each round runs every SIDE once, in turn, N rounds after 10 untimed
 * warm-up rounds.  A run of a side forks (vfork), enters the mount
 * namespace NSFILE if given (a /proc/PID/ns/mnt bind-mounted by
 * `unshare --mount=NSFILE`), and execs CMD with every "{}" in ARG... and TEXT
 * replaced by the name of a random user of FILE.  It is timed from the fork
 * until its output pipe is at EOF and it has been reaped; it must exit 0
 * and, with --expect, print TEXT somewhere.  The separator ";" is its own
 * argument.
 *
 * Prints per side: side=I median_us=X mean_us=Y min_us=Z runs=N */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "userlist.h"

#define WARMUP 10
#define SIDES_MAX 4
#define ARG_MAX_LEN 4096
#define OUT_MAX 65536

extern char **environ;

struct side {
	int ns_fd; /* -1: stay in ours */
	struct bench_user *users;
	size_t user_count;
	const char *expect_tmpl;
	char **tmpl; /* CMD ARG... */
	int nargs;
	char **cmd; /* tmpl expanded for this run */
	char expect[ARG_MAX_LEN];
	double *t;
};

/* Replace each "{}" in tmpl by name, into out (ARG_MAX_LEN). */
static void expand(const char *tmpl, const char *name, char *out)
{
	size_t n = 0, nlen = strlen(name);
	for (const char *p = tmpl; *p; p++) {
		const char *add = p;
		size_t len = 1;
		if (p[0] == '{' && p[1] == '}') {
			add = name;
			len = nlen;
			p++;
		}
		if (n + len >= ARG_MAX_LEN) {
			fprintf(stderr, "spawn_bench: argument too long: %s\n", tmpl);
			exit(2);
		}
		memcpy(out + n, add, len);
		n += len;
	}
	out[n] = '\0';
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

/* One run of s; returns its wall time in µs.  Exits on any failure. */
static double run_once(struct side *s)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		perror("spawn_bench: pipe");
		exit(1);
	}
	static char out[OUT_MAX + 1];
	size_t got = 0;
	static volatile int child_errno; /* shared with the vfork child */
	child_errno = 0;

	double t0 = now_us();
	pid_t pid = vfork();
	if (pid == 0) {
		/* Only system calls here: we share the parent's memory. */
		if ((s->ns_fd >= 0 && setns(s->ns_fd, CLONE_NEWNS) != 0) || dup2(p[1], STDOUT_FILENO) < 0)
			child_errno = errno;
		else
			execve(s->cmd[0], s->cmd, environ);
		if (!child_errno)
			child_errno = errno;
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		perror("spawn_bench: vfork");
		exit(1);
	}
	for (;;) {
		ssize_t r = read(p[0], out + got, OUT_MAX - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == OUT_MAX)
			break;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	double t1 = now_us();

	close(p[0]);
	out[got] = '\0';
	if (child_errno) {
		fprintf(stderr, "spawn_bench: %s: %s\n", s->cmd[0], strerror(child_errno));
		exit(1);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "spawn_bench: %s %s: exit status %d\n", s->cmd[0], s->cmd[1] ? s->cmd[1] : "",
			WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		exit(1);
	}
	if (s->expect_tmpl && !strstr(out, s->expect)) {
		fprintf(stderr, "spawn_bench: %s: output lacks \"%s\":\n%s\n", s->cmd[0], s->expect, out);
		exit(1);
	}
	return t1 - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int usage(void)
{
	fprintf(stderr, "usage: spawn_bench --runs N SIDE [; SIDE]...\n"
			"  SIDE: [--ns NSFILE] [--list FILE] [--expect TEXT] -- CMD ARG...\n");
	return 2;
}

/* Parse one SIDE from argv[*i]; leaves *i after its ";" or at argc. */
static int parse_side(int argc, char **argv, int *i, struct side *s)
{
	static struct bench_user none = { "", 0 };
	s->ns_fd = -1;
	s->users = &none;
	s->user_count = 1;
	for (; *i < argc && strcmp(argv[*i], "--") != 0; (*i)++) {
		if (*i + 1 >= argc)
			return -1;
		const char *opt = argv[*i], *val = argv[++*i];
		if (strcmp(opt, "--ns") == 0) {
			s->ns_fd = open(val, O_RDONLY | O_CLOEXEC);
			if (s->ns_fd < 0) {
				fprintf(stderr, "spawn_bench: %s: %s\n", val, strerror(errno));
				exit(1);
			}
		} else if (strcmp(opt, "--list") == 0) {
			s->users = userlist_load(val, &s->user_count);
		} else if (strcmp(opt, "--expect") == 0) {
			s->expect_tmpl = val;
		} else {
			return -1;
		}
	}
	if (*i >= argc)
		return -1;
	(*i)++;
	s->tmpl = argv + *i;
	while (*i < argc && strcmp(argv[*i], ";") != 0)
		(*i)++;
	s->nargs = (int)(argv + *i - s->tmpl);
	if (*i < argc)
		(*i)++;
	if (s->nargs < 1)
		return -1;
	s->cmd = calloc((size_t)s->nargs + 1, sizeof *s->cmd);
	if (!s->cmd)
		return -1;
	for (int a = 0; a < s->nargs; a++)
		if (!(s->cmd[a] = malloc(ARG_MAX_LEN)))
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "--runs") != 0)
		return usage();
	long runs = atol(argv[2]);
	if (runs < 1)
		return usage();
	struct side sides[SIDES_MAX];
	int n = 0;
	for (int i = 3; i < argc; n++) {
		if (n == SIDES_MAX || parse_side(argc, argv, &i, &sides[n]) != 0)
			return usage();
		if (!(sides[n].t = calloc((size_t)runs, sizeof(double))))
			return 1;
	}
	if (n == 0)
		return usage();

	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (long r = -WARMUP; r < runs; r++) {
		for (int k = 0; k < n; k++) {
			struct side *s = &sides[k];
			const char *name = s->users[bench_rand(&seed) % s->user_count].name;
			for (int a = 0; a < s->nargs; a++)
				expand(s->tmpl[a], name, s->cmd[a]);
			if (s->expect_tmpl)
				expand(s->expect_tmpl, name, s->expect);
			double us = run_once(s);
			if (r >= 0)
				s->t[r] = us;
		}
	}

	for (int k = 0; k < n; k++) {
		double *t = sides[k].t, sum = 0;
		for (long r = 0; r < runs; r++)
			sum += t[r];
		qsort(t, (size_t)runs, sizeof *t, cmp_double);
		double median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
		printf("side=%d median_us=%.1f mean_us=%.1f min_us=%.1f runs=%ld\n", k, median, sum / (double)runs,
		       t[0], runs);
	}
	return 0;
}
