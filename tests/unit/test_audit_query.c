/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the audit log back (helperd/audit_query.c): the --since/--until
 * time forms (common/time_arg.c), the filters, the log and its rotated
 * copies as logrotate leaves them (audit.log.1, audit.log.2.gz), the last-N
 * window, the per-user summary, and the list of open sessions. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "audit_query.h"
#include "harness.h"
#include "session_table.h"
#include "time_arg.h"

START_TEST(time_forms)
{
	time_t t, now = 1796299200; /* 2026-12-03T12:00:00Z */
	ck_assert_int_eq(ctm_time_arg("2026-12-03T12:00:00Z", now, &t), 0);
	ck_assert_int_eq(t, now);
	ck_assert_int_eq(ctm_time_arg("2026-12-03T13:30:00.5+01:30", now, &t), 0);
	ck_assert_int_eq(t, now);
	ck_assert_int_eq(ctm_time_arg("2026-12-03 07:00:00-05:00", now, &t), 0);
	ck_assert_int_eq(t, now);
	ck_assert_int_eq(ctm_time_arg("2026-12-03", now, &t), 0);
	ck_assert_int_eq(t, now - 12 * 3600);
	ck_assert_int_eq(ctm_time_arg("1h", now, &t), 0);
	ck_assert_int_eq(t, now - 3600);
	ck_assert_int_eq(ctm_time_arg("7d", now, &t), 0);
	ck_assert_int_eq(t, now - 7 * 86400);
	ck_assert_int_eq(ctm_time_arg("90s", now, &t), 0);
	ck_assert_int_eq(t, now - 90);
	ck_assert_int_eq(ctm_time_arg("2w", now, &t), 0);
	ck_assert_int_eq(t, now - 14 * 86400);
	const char *bad[] = { "",
			      "h",
			      "1",
			      "1y",
			      "1h2",
			      "-1h",
			      "2026-13-01",
			      "2026-02-30",
			      "2025-02-29",
			      "2026-12-03T25:00:00Z",
			      "2026-12-03T12:00:00",
			      "2026-12-03T12:00Z",
			      "2026-12-03T12:00:00+1:00",
			      "2026-12-03T12:00:00Zjunk",
			      "yesterday",
			      "999999999999d" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(ctm_time_arg(bad[i], now, &t) == -1, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(ctm_time_arg("2024-02-29", now, &t), 0);
}
END_TEST

static json_object *event(const char *time, const char *name, const char *user, const char *rhost)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string(name));
	json_object_object_add(o, "user", json_object_new_string(user));
	if (rhost)
		json_object_object_add(o, "rhost", json_object_new_string(rhost));
	json_object_object_add(o, "time", json_object_new_string(time));
	return o;
}

START_TEST(filters)
{
	struct audit_filter f;
	char err[512];
	time_t now = 1796299200;
	json_object *a = event("2026-12-03T11:30:00.000Z", "login_failed", "alice", "10.0.0.1");
	json_object *b = event("2026-12-01T00:00:00.000Z", "session_open", "bob", "10.0.0.2");
	ck_assert_int_eq(audit_filter_set(&f, NULL, NULL, NULL, NULL, NULL, now, err, sizeof err), 0);
	ck_assert(audit_filter_match(&f, a) && audit_filter_match(&f, b));
	ck_assert_int_eq(audit_filter_set(&f, NULL, NULL, NULL, "1h", NULL, now, err, sizeof err), 0);
	ck_assert(audit_filter_match(&f, a) && !audit_filter_match(&f, b));
	ck_assert_int_eq(audit_filter_set(&f, NULL, NULL, NULL, NULL, "2026-12-02", now, err, sizeof err), 0);
	ck_assert(!audit_filter_match(&f, a) && audit_filter_match(&f, b));
	/* until takes the whole second it names. */
	ck_assert_int_eq(audit_filter_set(&f, NULL, NULL, NULL, "2026-12-03T11:30:00Z", "2026-12-03T11:30:00Z", now,
					  err, sizeof err),
			 0);
	ck_assert(audit_filter_match(&f, a));
	ck_assert_int_eq(audit_filter_set(&f, "alice", NULL, NULL, NULL, NULL, now, err, sizeof err), 0);
	ck_assert(audit_filter_match(&f, a) && !audit_filter_match(&f, b));
	ck_assert_int_eq(audit_filter_set(&f, NULL, "10.0.0.2", NULL, NULL, NULL, now, err, sizeof err), 0);
	ck_assert(!audit_filter_match(&f, a) && audit_filter_match(&f, b));
	ck_assert_int_eq(
		audit_filter_set(&f, NULL, NULL, "session_open,session_close", NULL, NULL, now, err, sizeof err), 0);
	ck_assert(!audit_filter_match(&f, a) && audit_filter_match(&f, b));
	ck_assert_int_eq(audit_filter_set(&f, NULL, NULL, "session", NULL, NULL, now, err, sizeof err), 0);
	ck_assert(!audit_filter_match(&f, b)); /* whole names only */
	ck_assert_int_eq(audit_filter_set(&f, NULL, NULL, "Login-Failed", NULL, NULL, now, err, sizeof err), -1);
	ck_assert_int_eq(audit_filter_set(&f, NULL, NULL, NULL, "yesterday", NULL, now, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "since \"yesterday\" is not a time"));
	json_object_put(a);
	json_object_put(b);
}
END_TEST

static void write_lines(const char *path, int gz, int from, int to)
{
	char line[256];
	gzFile z = gz ? gzopen(path, "wb") : NULL;
	FILE *f = gz ? NULL : fopen(path, "w");
	ck_assert(z || f);
	for (int i = from; i <= to; i++) {
		/* Two users; every third event a failed login from 10.0.0.9. */
		snprintf(line, sizeof line,
			 "{\"event\":\"%s\",\"user\":\"%s\",\"rhost\":\"10.0.0.%d\",\"n\":%d,"
			 "\"time\":\"2026-12-03T10:%02d:00.000Z\"}\n",
			 i % 3 == 0 ? "login_failed" : "session_open", i % 2 ? "alice" : "bob", i % 3 == 0 ? 9 : 1, i,
			 i);
		if (z)
			gzputs(z, line);
		else
			fputs(line, f);
	}
	if (z)
		gzclose(z);
	else
		fclose(f);
}

static int nth(json_object *arr, size_t i)
{
	return json_object_get_int(json_object_object_get(json_object_array_get_idx(arr, i), "n"));
}

START_TEST(rotated_files_and_summary)
{
	char dir[] = "/tmp/ctm-auditqXXXXXX", path[128], name[160];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/audit.log", dir);
	/* As logrotate with compress + delaycompress leaves them. */
	snprintf(name, sizeof name, "%s.3.gz", path);
	write_lines(name, 1, 1, 10);
	snprintf(name, sizeof name, "%s.2.gz", path);
	write_lines(name, 1, 11, 20);
	snprintf(name, sizeof name, "%s.1", path);
	write_lines(name, 0, 21, 30);
	write_lines(path, 0, 31, 40);
	/* A line that is not JSON, and one that is not an object. */
	FILE *f = fopen(path, "a");
	fputs("garbage\n[1,2]\n", f);
	fclose(f);

	struct audit_filter any = { 0 };
	json_object *all = audit_read(path, &any, 100000);
	ck_assert_uint_eq(json_object_array_length(all), 40);
	for (size_t i = 0; i < 40; i++)
		ck_assert_int_eq(nth(all, i), (int)i + 1); /* oldest first, across the files */
	json_object_put(all);
	json_object *last = audit_read(path, &any, 5);
	ck_assert_uint_eq(json_object_array_length(last), 5);
	ck_assert_int_eq(nth(last, 0), 36);
	ck_assert_int_eq(nth(last, 4), 40);
	json_object_put(last);

	struct audit_filter fails = { .events = "login_failed", .rhost = "10.0.0.9", .user = "alice" };
	snprintf(fails.since, sizeof fails.since, "2026-12-03T10:05:00.000Z");
	snprintf(fails.until, sizeof fails.until, "2026-12-03T10:33:00.999Z");
	json_object *sel = audit_read(path, &fails, 100);
	/* alice: odd n; failed: n % 3 == 0; 5 <= n <= 33: 9, 15, 21, 27, 33. */
	ck_assert_uint_eq(json_object_array_length(sel), 5);
	ck_assert_int_eq(nth(sel, 0), 9);
	ck_assert_int_eq(nth(sel, 4), 33);
	json_object_put(sel);

	json_object *sum = audit_summary(path, &any), *users = json_object_object_get(sum, "users");
	ck_assert_uint_eq(json_object_array_length(users), 2);
	json_object *alice = json_object_array_get_idx(users, 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(alice, "user")), "alice");
	/* alice: n odd 1..39 = 20 events, of which n % 3 == 0: 3,9,...,39 = 7. */
	ck_assert_int_eq(json_object_get_int(json_object_object_get(alice, "sessions")), 13);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(alice, "failed_logins")), 7);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(alice, "last_login")),
			 "2026-12-03T10:37:00.000Z");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(alice, "last_rhost")), "10.0.0.1");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(alice, "last_failed")),
			 "2026-12-03T10:39:00.000Z");
	json_object_put(sum);

	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(open_sessions)
{
	size_t n;
	ck_assert_ptr_null(sessions_list(&n));
	ck_assert_uint_eq(n, 0);
	sessions_open("s1", "alice", "10.0.0.1", 100);
	sessions_open("s2", "bob", "", 110);
	sessions_open("s3", "alice", "10.0.0.3", 120);
	sessions_close("s1", "alice", 130);
	struct session_info *s = sessions_list(&n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(s[0].user, "bob");
	ck_assert_str_eq(s[0].rhost, "");
	ck_assert_int_eq(s[0].opened, 110);
	ck_assert_str_eq(s[1].id, "s3");
	ck_assert_str_eq(s[1].rhost, "10.0.0.3");
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("audit_query");
	TCase *tc = tcase_create("audit_query");
	tcase_add_test(tc, time_forms);
	tcase_add_test(tc, filters);
	tcase_add_test(tc, rotated_files_and_summary);
	tcase_add_test(tc, open_sessions);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
