/* SPDX-License-Identifier: Apache-2.0 */
/* containarium audit [USER] [filters] [--limit N] [--summary]: helperd's
 * audit log (every change through the API, SSH sessions, failed logins),
 * its rotated copies included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "commands.h"
#include "output.h"
#include "time_arg.h"

enum { O_LIMIT = 1, O_SINCE, O_UNTIL, O_USER, O_RHOST, O_EVENT, O_SUMMARY };

static const struct opt opts[] = {
	{ "limit", 'n', true, O_LIMIT },    { "since", 0, true, O_SINCE }, { "until", 0, true, O_UNTIL },
	{ "user", 'u', true, O_USER },      { "rhost", 0, true, O_RHOST }, { "event", 'e', true, O_EVENT },
	{ "summary", 0, false, O_SUMMARY }, { NULL, 0, false, 0 },
};

/* Everything of an event but time, event and user, as key=value. */
static void details(json_object *ev, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	json_object_object_foreach(ev, key, val)
	{
		if (!strcmp(key, "time") || !strcmp(key, "event") || !strcmp(key, "user"))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "", key, json_object_get_string(val));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

/* A filter value: printable, bounded.  Names in the log need not be valid
 * jump user names (failed logins record unknown ones). */
static int check_text(const char *flag, const char *v, size_t max)
{
	size_t n = strlen(v);
	int bad = !n || n > max;
	for (size_t i = 0; i < n && !bad; i++)
		bad = (unsigned char)v[i] < 0x20 || v[i] == 0x7f;
	if (bad) {
		out_error("%s must be 1 to %zu printable characters", flag, max);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int check_events(const char *v)
{
	if (!*v || strlen(v) > 256 || strspn(v, "abcdefghijklmnopqrstuvwxyz_,") != strlen(v)) {
		out_error("--event \"%.40s\" must be event names separated by commas, such as login_failed or "
			  "session_open,session_close",
			  v);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int check_time(const char *flag, const char *v)
{
	time_t t;
	if (ctm_time_arg(v, time(NULL), &t) != 0) {
		out_error("%s \"%.40s\" is not a time: write it in RFC 3339 (2026-12-03T12:00:00Z, or with an "
			  "offset such as +01:00), as a date (2026-12-03), or as a time before now (90s, 30m, 1h, "
			  "7d, 2w)",
			  flag, v);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Append "&name=escaped value" (or "?" first) to the target. */
static void add_param(char *target, size_t len, const char *name, const char *value)
{
	if (!value)
		return;
	char *e = url_escape(value);
	size_t used = strlen(target);
	snprintf(target + used, len - used, "%s%s=%s", strchr(target, '?') ? "&" : "?", name, e);
	free(e);
}

static void print_events(json_object *reply)
{
	json_object *events;
	static const char *const headers[] = { "TIME", "EVENT", "USER", "DETAILS" };
	struct table *t = table_new(4, headers);
	if (json_object_object_get_ex(reply, "events", &events) && json_object_is_type(events, json_type_array))
		for (size_t i = 0; i < json_object_array_length(events); i++) {
			json_object *ev = json_object_array_get_idx(events, i);
			char more[600];
			details(ev, more, sizeof more);
			const char *cells[] = { json_str(ev, "time", "?"), json_str(ev, "event", "?"),
						json_str(ev, "user", "-"), more };
			table_add(t, cells);
		}
	table_print(t, stdout);
	table_free(t);
}

static void print_summary(json_object *reply)
{
	json_object *users;
	static const char *const headers[] = {
		"USER", "SESSIONS", "LAST LOGIN", "FROM", "FAILED", "LAST FAILED", "FROM"
	};
	struct table *t = table_new(7, headers);
	if (json_object_object_get_ex(reply, "users", &users) && json_object_is_type(users, json_type_array))
		for (size_t i = 0; i < json_object_array_length(users); i++) {
			json_object *u = json_object_array_get_idx(users, i);
			char sessions[24], failed[24];
			snprintf(sessions, sizeof sessions, "%lld", json_int(u, "sessions", 0));
			snprintf(failed, sizeof failed, "%lld", json_int(u, "failed_logins", 0));
			const char *cells[] = { json_str(u, "user", "?"),
						sessions,
						json_str(u, "last_login", "-"),
						json_str(u, "last_rhost", "-"),
						failed,
						json_str(u, "last_failed", "-"),
						json_str(u, "last_failed_rhost", "-") };
			table_add(t, cells);
		}
	table_print(t, stdout);
	table_free(t);
	long long others = json_int(reply, "others", 0);
	if (others)
		printf("(%lld more events of users beyond the first 10000)\n", others);
}

static int run(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 0, 1, "audit", "[USER] [--since T] [--until T] [--rhost ADDR] [--event E]");
	if (rc)
		return rc;
	const char *limit = args_last(a, O_LIMIT), *user = a->npos ? a->pos[0] : args_last(a, O_USER);
	const char *since = args_last(a, O_SINCE), *until = args_last(a, O_UNTIL), *rhost = args_last(a, O_RHOST),
		   *event = args_last(a, O_EVENT);
	int summary = args_has(a, O_SUMMARY);
	if (a->npos && args_last(a, O_USER) && strcmp(a->pos[0], args_last(a, O_USER))) {
		out_error("audit: USER and --user name two users; give one");
		return CLI_USAGE;
	}
	char *end = NULL;
	long n = limit ? strtol(limit, &end, 10) : 0;
	if (limit && (!*limit || *end || n < 1 || n > 100000)) {
		out_error("--limit \"%.20s\" must be a number of events from 1 to 100000", limit);
		return CLI_USAGE;
	}
	if (limit && summary) {
		out_error("--limit is for events; --summary counts every event that passes the filters");
		return CLI_USAGE;
	}
	if ((user && (rc = check_text("--user", user, 128))) || (rhost && (rc = check_text("--rhost", rhost, 255))) ||
	    (event && (rc = check_events(event))) || (since && (rc = check_time("--since", since))) ||
	    (until && (rc = check_time("--until", until))))
		return rc;
	/* Relative times go as typed: helperd resolves them by its clock. */
	char target[2048];
	snprintf(target, sizeof target, "/v1/audit%s", summary ? "/summary" : "");
	add_param(target, sizeof target, "user", user);
	add_param(target, sizeof target, "rhost", rhost);
	add_param(target, sizeof target, "event", event);
	add_param(target, sizeof target, "since", since);
	add_param(target, sizeof target, "until", until);
	add_param(target, sizeof target, "limit", limit);
	struct api_reply r;
	if ((rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r)))
		return rc;
	if (c->json)
		out_json(r.json);
	else if (summary)
		print_summary(r.json);
	else
		print_events(r.json);
	api_reply_free(&r);
	return CLI_OK;
}

const struct command cmd_audit = {
	"audit",
	"[USER] [--since T] [--until T] [--rhost ADDR] [--event E] [--limit N] [--summary]",
	"helperd's audit log: changes, SSH sessions, failed logins",
	"Shows the newest events of helperd's audit log (oldest first), its rotated\n"
	"copies included: every change made through helperd (create, delete,\n"
	"start, stop, resize, keys) with the caller, the SSH sessions\n"
	"pam_containarium reports (session_open, session_close), and failed SSH\n"
	"logins of jump users and unknown names from sshd's log (login_failed).\n"
	"Needs root or the admin group.\n"
	"\n"
	"Options:\n"
	"  USER, -u, --user NAME   only events of this user (any name: failed logins\n"
	"                  record names that do not exist)\n"
	"  --since T       only events at or after T, and\n"
	"  --until T       only events at or before T: RFC 3339\n"
	"                  (2026-12-03T12:00:00Z, 2026-12-03T13:00:00+01:00), a date\n"
	"                  (2026-12-03, midnight UTC) or a time before now (90s,\n"
	"                  30m, 1h, 7d, 2w)\n"
	"  --rhost ADDR    only events from this source address\n"
	"  -e, --event E   only these events (names separated by commas), such as\n"
	"                  login_failed or session_open,session_close\n"
	"  -n, --limit N   at most N events, the newest (default 100)\n"
	"  --summary       per user instead: sessions, last login and its address,\n"
	"                  failed logins and the last one (the filters apply)\n",
	opts,
	run,
};
