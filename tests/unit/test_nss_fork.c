/* SPDX-License-Identifier: Apache-2.0 */
/* Fork safety: a child forked after (and during) lookups can look users up
 * too.  sshd looks a user up, forks its AuthorizedKeysCommand child, and
 * that child calls initgroups() through the module: a lock left held
 * across fork() hung every login. */
#include <check.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "nss_exports.h"
#include "snapshot_writer.h"

static char dir[] = "/tmp/ctm-forkXXXXXX";

static void publish(void)
{
	static const char *const no_keys[] = { NULL };
	struct ctm_user_spec users[] = {
		{ .name = "alice", .uid = 70010, .state = 1, .ipv4 = { 10, 0, 0, 2 }, .keys = no_keys },
		{ .name = "bob", .uid = 70011, .state = 1, .ipv4 = { 10, 0, 0, 3 }, .keys = no_keys },
	};
	struct ctm_snapshot_spec spec = {
		.gid = 70000, .uid_min = 70001, .uid_max = 99999, .users = users, .user_count = 2
	};
	char pw[256], keys[256], err[256];
	snprintf(pw, sizeof pw, "%s/passwd.db", dir);
	snprintf(keys, sizeof keys, "%s/keys.db", dir);
	ck_assert_msg(ctm_snapshot_publish(&spec, pw, keys, (gid_t)-1, err, sizeof err) == 0, "%s", err);
	setenv("CONTAINARIUM_PASSWD_DB", pw, 1);
}

static int lookup(const char *name)
{
	struct passwd pw;
	char buf[512];
	int e = 0;
	return _nss_containarium_getpwnam_r(name, &pw, buf, sizeof buf, &e) == NSS_STATUS_SUCCESS;
}

/* Child: look up with a 5 s alarm; exit 0 when the lookups worked. */
static void child_lookups(void)
{
	alarm(5);
	long start = 1, size = 4; /* one group (the primary, 1) already listed */
	gid_t *groups = calloc(4, sizeof *groups);
	if (groups)
		groups[0] = 1;
	int e = 0, ok = lookup("bob") && lookup("alice");
	ok = ok && groups &&
	     _nss_containarium_initgroups_dyn("alice", 1, &start, &size, &groups, 0, &e) == NSS_STATUS_SUCCESS;
	free(groups);
	_exit(ok ? 0 : 1);
}

static void expect_child_ok(pid_t pid)
{
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child lookups failed or hung (status %d)",
		      status);
}

START_TEST(lookup_after_fork)
{
	ck_assert(lookup("alice"));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child_lookups();
	expect_child_ok(pid);
	ck_assert(lookup("bob")); /* the parent still works too */
}
END_TEST

static volatile int stop;
static void *spin(void *arg)
{
	(void)arg;
	while (!stop)
		lookup("alice");
	return NULL;
}

START_TEST(fork_while_other_threads_look_up)
{
	pthread_t t[2];
	stop = 0;
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, spin, NULL), 0);
	for (int i = 0; i < 50; i++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			child_lookups();
		expect_child_ok(pid);
	}
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}
END_TEST

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0755);
	Suite *s = suite_create("nss_fork");
	TCase *tc = tcase_create("fork");
	tcase_add_unchecked_fixture(tc, publish, NULL);
	tcase_add_test(tc, lookup_after_fork);
	tcase_add_test(tc, fork_while_other_threads_look_up);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	int r = ctm_run_suites(all);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		r = 1;
	return r;
}
