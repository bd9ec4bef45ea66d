/* SPDX-License-Identifier: Apache-2.0 */
/* Failed logins from sshd's log: the line parser (sshd_auth_line.c) on
 * OpenSSH 9.2's own messages in the three forms helperd reads (sshd -E,
 * journalctl -o cat, auth.log), names made to mislead it, the connection
 * tracker (sshd_auth_track.c) that makes one event per failed connection,
 * and the file follower (log_follow.c) through logrotate's rename,
 * copytruncate and delete. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "log_follow.h"
#include "sshd_auth_line.h"
#include "sshd_auth_track.h"

static enum sshd_auth_kind parse(const char *line, struct sshd_auth_line *l)
{
	/* An exact-size copy: the parser must not need a NUL. */
	size_t n = strlen(line);
	char *copy = malloc(n ? n : 1);
	memcpy(copy, line, n);
	enum sshd_auth_kind k = sshd_auth_line_parse(copy, n, l);
	free(copy);
	return k;
}

START_TEST(parses_openssh_lines)
{
	struct sshd_auth_line l;
	ck_assert_int_eq(parse("Failed publickey for alice from 127.0.0.1 port 40022 ssh2: ED25519 SHA256:AbCd", &l),
			 SSHD_AUTH_FAILED);
	ck_assert_str_eq(l.user, "alice");
	ck_assert_str_eq(l.rhost, "127.0.0.1");
	ck_assert_uint_eq(l.port, 40022);
	ck_assert_str_eq(l.method, "publickey");
	ck_assert_int_eq(l.invalid_user, 0);

	ck_assert_int_eq(parse("Dec  3 12:00:01 jump sshd[4242]: Failed password for invalid user admin from "
			       "2001:db8::7 port 5 ssh2\n",
			       &l),
			 SSHD_AUTH_FAILED);
	ck_assert_str_eq(l.user, "admin");
	ck_assert_str_eq(l.rhost, "2001:db8::7");
	ck_assert_int_eq(l.invalid_user, 1);
	ck_assert_str_eq(l.method, "password");

	ck_assert_int_eq(parse("Invalid user nosuch from 10.0.0.9 port 33000", &l), SSHD_AUTH_INVALID);
	ck_assert_str_eq(l.user, "nosuch");
	ck_assert_str_eq(l.rhost, "10.0.0.9");

	ck_assert_int_eq(parse("Connection closed by authenticating user alice 127.0.0.1 port 40022 [preauth]", &l),
			 SSHD_AUTH_END);
	ck_assert_str_eq(l.user, "alice");
	ck_assert_uint_eq(l.port, 40022);
	ck_assert_int_eq(parse("2026-12-03T12:00:00.123456+00:00 jump sshd-session[77]: Disconnected from invalid "
			       "user bob 10.1.2.3 port 999 [preauth]",
			       &l),
			 SSHD_AUTH_END);
	ck_assert_str_eq(l.user, "bob");
	ck_assert_int_eq(l.invalid_user, 1);
	ck_assert_int_eq(parse("error: maximum authentication attempts exceeded for alice from 10.0.0.1 port 7 ssh2 "
			       "[preauth]",
			       &l),
			 SSHD_AUTH_FAILED);
	ck_assert_int_eq(l.too_many, 1);
	ck_assert_str_eq(l.user, "alice");
	ck_assert_int_eq(parse("Disconnecting authenticating user alice 10.0.0.1 port 7: Too many authentication "
			       "failures [preauth]",
			       &l),
			 SSHD_AUTH_END);
	ck_assert_int_eq(l.too_many, 1);
	ck_assert_int_eq(parse("Accepted publickey for alice from 127.0.0.1 port 40100 ssh2: ED25519 SHA256:x", &l),
			 SSHD_AUTH_ACCEPTED);
	ck_assert_int_eq(parse("Connection closed by 127.0.0.1 port 41000 [preauth]", &l), SSHD_AUTH_END);
	ck_assert_str_eq(l.user, "");
	ck_assert_int_eq(parse("fatal: Timeout before authentication for 10.9.9.9 port 1234", &l), SSHD_AUTH_END);

	/* Not about a failed login, or not sshd's. */
	const char *none[] = {
		"Disconnected from user alice 127.0.0.1 port 40100", /* an authenticated session ending */
		"Server listening on 0.0.0.0 port 22.",
		"Received disconnect from 10.0.0.1 port 7:11: Bye Bye [preauth]",
		"Dec  3 12:00:01 jump cron[1]: Failed publickey for alice from 1.2.3.4 port 5 ssh2",
		"Failed publickey for alice from 1.2.3.4 port 0 ssh2",
		"Failed publickey for alice from 1.2.3.4 port 65536 ssh2",
		"Failed publickey for alice from 1.2.3.4 port 22x",
		"Failed publickey for alice from 1.2.3.$ port 22 ssh2",
		"Failed publickey for  from 1.2.3.4 port 22 ssh2",
		"Invalid user  from 1.2.3.4 port 22",
		"Disconnecting : Too many authentication failures",
		"Failed ",
		"Invalid user a\tb from 10.0.0.1 port 5",
		"Invalid user a\033[2J from 10.0.0.1 port 5",
		"",
	};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		ck_assert_msg(parse(none[i], &l) == SSHD_AUTH_NONE, "parsed: %s", none[i]);
}
END_TEST

START_TEST(names_made_to_mislead)
{
	struct sshd_auth_line l;
	/* A real account's name has no space: this is not alice's failure. */
	ck_assert_int_eq(parse("Failed publickey for alice from 6.6.6.6 port 1 ssh2 from 10.0.0.2 port 9 ssh2", &l),
			 SSHD_AUTH_NONE);
	/* An unknown name is the client's text; the address is sshd's, at the end. */
	ck_assert_int_eq(parse("Invalid user x from 6.6.6.6 port 1 from 10.0.0.2 port 9", &l), SSHD_AUTH_INVALID);
	ck_assert_str_eq(l.user, "x from 6.6.6.6 port 1");
	ck_assert_str_eq(l.rhost, "10.0.0.2");
	ck_assert_uint_eq(l.port, 9);
	ck_assert_int_eq(parse("Connection closed by invalid user a 1.1.1.1 port 2 10.0.0.2 port 9 [preauth]", &l),
			 SSHD_AUTH_END);
	ck_assert_str_eq(l.user, "a 1.1.1.1 port 2");
	ck_assert_str_eq(l.rhost, "10.0.0.2");
	/* A syslog line: the first sshd[PID] tag is sshd's own. */
	ck_assert_int_eq(parse("Dec 3 jump sshd[1]: Invalid user sshd[2]: Accepted from 10.0.0.3 port 4", &l),
			 SSHD_AUTH_INVALID);
	ck_assert_str_eq(l.user, "sshd[2]: Accepted");
	/* A name longer than sshd logs is refused, not cut. */
	char line[400];
	snprintf(line, sizeof line, "Invalid user %0200d from 10.0.0.1 port 5", 0);
	ck_assert_int_eq(parse(line, &l), SSHD_AUTH_NONE);
}
END_TEST

struct got {
	struct sshd_auth_failure f[8];
	int n;
};

static void collect(const struct sshd_auth_failure *f, void *ctx)
{
	struct got *g = ctx;
	ck_assert_int_lt(g->n, 8);
	g->f[g->n++] = *f;
}

static void feed(struct sshd_auth_track *t, const char *line, time_t now, struct got *g)
{
	struct sshd_auth_line l;
	parse(line, &l);
	sshd_auth_track_line(t, &l, now, collect, g);
}

START_TEST(one_event_per_failed_connection)
{
	static struct sshd_auth_track t;
	struct got g = { .n = 0 };
	sshd_auth_track_init(&t);
	/* LogLevel VERBOSE: two keys refused, then the client gives up. */
	feed(&t, "Failed none for alice from 127.0.0.1 port 100 ssh2", 1, &g);
	feed(&t, "Failed publickey for alice from 127.0.0.1 port 100 ssh2: ED25519 SHA256:a", 1, &g);
	feed(&t, "Failed publickey for alice from 127.0.0.1 port 100 ssh2: RSA SHA256:b", 1, &g);
	/* Another connection, interleaved: an unknown name. */
	feed(&t, "Invalid user ghost from 10.0.0.5 port 200", 1, &g);
	ck_assert_int_eq(g.n, 0);
	feed(&t, "Connection closed by authenticating user alice 127.0.0.1 port 100 [preauth]", 2, &g);
	ck_assert_int_eq(g.n, 1);
	ck_assert_str_eq(g.f[0].user, "alice");
	ck_assert_str_eq(g.f[0].rhost, "127.0.0.1");
	ck_assert_str_eq(g.f[0].reason, "publickey");
	ck_assert_uint_eq(g.f[0].attempts, 2);
	feed(&t, "Connection closed by invalid user ghost 10.0.0.5 port 200 [preauth]", 2, &g);
	ck_assert_int_eq(g.n, 2);
	ck_assert_str_eq(g.f[1].reason, "invalid_user");
	ck_assert_int_eq(g.f[1].invalid_user, 1);
	/* LogLevel INFO: only the end is logged. */
	feed(&t, "Connection closed by authenticating user bob 127.0.0.1 port 300 [preauth]", 3, &g);
	ck_assert_int_eq(g.n, 3);
	ck_assert_str_eq(g.f[2].reason, "closed_during_auth");
	ck_assert_uint_eq(g.f[2].attempts, 0);
	/* MaxAuthTries. */
	feed(&t, "Failed publickey for carol from 10.0.0.6 port 400 ssh2: ED25519 SHA256:c", 4, &g);
	feed(&t, "error: maximum authentication attempts exceeded for carol from 10.0.0.6 port 400 ssh2 [preauth]", 4,
	     &g);
	feed(&t,
	     "Disconnecting authenticating user carol 10.0.0.6 port 400: Too many authentication failures [preauth]", 4,
	     &g);
	ck_assert_int_eq(g.n, 4);
	ck_assert_str_eq(g.f[3].reason, "max_auth_tries");
	ck_assert_uint_eq(g.f[3].attempts, 1);
	/* A key refused, then another accepted: a login, not a failure. */
	feed(&t, "Failed publickey for alice from 127.0.0.1 port 500 ssh2: RSA SHA256:b", 5, &g);
	feed(&t, "Accepted publickey for alice from 127.0.0.1 port 500 ssh2: ED25519 SHA256:a", 5, &g);
	feed(&t, "Connection closed by 127.0.0.1 port 500", 6, &g);
	/* A scanner that never named a user. */
	feed(&t, "Connection closed by 10.0.0.7 port 600 [preauth]", 6, &g);
	ck_assert_int_eq(g.n, 4);
	ck_assert_uint_eq(t.count, 0);
	/* Never ended: reported once it is old. */
	feed(&t, "Failed password for dave from 10.0.0.8 port 700 ssh2", 10, &g);
	sshd_auth_track_expire(&t, 100, 600, collect, &g);
	ck_assert_int_eq(g.n, 4);
	sshd_auth_track_expire(&t, 611, 600, collect, &g);
	ck_assert_int_eq(g.n, 5);
	ck_assert_str_eq(g.f[4].user, "dave");
	ck_assert_str_eq(g.f[4].reason, "password");
}
END_TEST

static void count_full(const struct sshd_auth_failure *f, void *ctx)
{
	(void)f;
	(*(int *)ctx)++;
}

START_TEST(tracker_memory_is_bounded)
{
	static struct sshd_auth_track t;
	sshd_auth_track_init(&t);
	int emitted = 0;
	char line[128];
	for (unsigned i = 1; i <= SSHD_AUTH_TRACK_MAX + 10; i++) {
		struct sshd_auth_line l;
		snprintf(line, sizeof line, "Invalid user u%u from 10.0.0.1 port %u", i, i);
		parse(line, &l);
		sshd_auth_track_line(&t, &l, (time_t)i, count_full, &emitted);
	}
	ck_assert_uint_eq(t.count, SSHD_AUTH_TRACK_MAX);
	ck_assert_int_eq(emitted, 10); /* the oldest ten, to make room */
	sshd_auth_track_expire(&t, 0, 0, count_full, &emitted);
	ck_assert_int_eq(emitted, SSHD_AUTH_TRACK_MAX + 10);
}
END_TEST

struct lines {
	char text[16][64];
	int n;
};

static void keep(const char *line, size_t len, void *ctx)
{
	struct lines *ls = ctx;
	ck_assert_int_lt(ls->n, 16);
	snprintf(ls->text[ls->n++], 64, "%.*s", (int)len, line);
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(follower_survives_rotation)
{
	char dir[] = "/tmp/ctm-followXXXXXX", path[128], old[140];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/auth.log", dir);
	snprintf(old, sizeof old, "%s.1", path);
	append(path, "before helperd\n");
	static struct log_follow f;
	struct lines ls = { .n = 0 };
	log_follow_open(&f, path, 1);
	ck_assert_int_eq(log_follow_poll(&f, keep, &ls), 0); /* old lines are not news */
	append(path, "one\ntw");
	ck_assert_int_eq(log_follow_poll(&f, keep, &ls), 1);
	append(path, "o\n");
	log_follow_poll(&f, keep, &ls);
	ck_assert_int_eq(ls.n, 2);
	ck_assert_str_eq(ls.text[1], "two");
	/* logrotate: rename, the writer adds a last line to the old file,
	 * then a new file. */
	ck_assert_int_eq(rename(path, old), 0);
	append(old, "three\n");
	append(path, "four\n");
	log_follow_poll(&f, keep, &ls);
	ck_assert_int_eq(ls.n, 4);
	ck_assert_str_eq(ls.text[2], "three");
	ck_assert_str_eq(ls.text[3], "four");
	/* copytruncate: cut to nothing, then written again (less than was
	 * read: the follower looks twice a second, sshd writes lines). */
	ck_assert_int_eq(truncate(path, 0), 0);
	append(path, "5\n");
	log_follow_poll(&f, keep, &ls);
	ck_assert_int_eq(ls.n, 5);
	ck_assert_str_eq(ls.text[4], "5");
	/* Deleted, then made again. */
	ck_assert_int_eq(unlink(path), 0);
	log_follow_poll(&f, keep, &ls);
	append(path, "six\n");
	log_follow_poll(&f, keep, &ls);
	ck_assert_int_eq(ls.n, 6);
	ck_assert_str_eq(ls.text[5], "six");
	/* An over-long line is skipped whole; the next is whole. */
	char *big = malloc(LOG_FOLLOW_LINE_MAX * 3);
	memset(big, 'x', LOG_FOLLOW_LINE_MAX * 3 - 1);
	big[LOG_FOLLOW_LINE_MAX * 3 - 1] = '\0';
	append(path, big);
	append(path, "\nseven\n");
	free(big);
	log_follow_poll(&f, keep, &ls);
	ck_assert_int_eq(ls.n, 7);
	ck_assert_str_eq(ls.text[6], "seven");
	log_follow_close(&f);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sshd_log");
	TCase *tc = tcase_create("parser");
	tcase_add_test(tc, parses_openssh_lines);
	tcase_add_test(tc, names_made_to_mislead);
	suite_add_tcase(s, tc);
	tc = tcase_create("tracker");
	tcase_add_test(tc, one_event_per_failed_connection);
	tcase_add_test(tc, tracker_memory_is_bounded);
	suite_add_tcase(s, tc);
	tc = tcase_create("follower");
	tcase_add_test(tc, follower_survives_rotation);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
