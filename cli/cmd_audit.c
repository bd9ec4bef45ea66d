/* containarium audit [USER] [--limit N]: helperd's audit log (every change
 * through the API, and SSH sessions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "output.h"

enum { O_LIMIT = 1 };

static const struct opt opts[] = {
	{ "limit", 'n', true, O_LIMIT },
	{ NULL, 0, false, 0 },
};

/* Everything of an event but time, event and user, as key=value. */
static void details(json_object *ev, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	json_object_object_foreach(ev, key, val) {
		if (!strcmp(key, "time") || !strcmp(key, "event") || !strcmp(key, "user"))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "", key, json_object_get_string(val));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

static int run(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 0, 1, "audit", "[USER] [--limit N]");
	if (rc || (a->npos && (rc = check_username(a->pos[0]))))
		return rc;
	const char *limit = args_last(a, O_LIMIT);
	char *end = NULL;
	long n = limit ? strtol(limit, &end, 10) : 0;
	if (limit && (!*limit || *end || n < 1 || n > 100000)) {
		out_error("--limit \"%.20s\" must be a number of events from 1 to 100000", limit);
		return CLI_USAGE;
	}
	char target[160];
	snprintf(target, sizeof target, "/v1/audit%s%s%s%s%s", a->npos || limit ? "?" : "", a->npos ? "user=" : "",
		 a->npos ? a->pos[0] : "", a->npos && limit ? "&limit=" : limit ? "limit=" : "", limit ? limit : "");
	struct api_reply r;
	if ((rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r)))
		return rc;
	if (c->json) {
		out_json(r.json);
		api_reply_free(&r);
		return CLI_OK;
	}
	json_object *events;
	static const char *const headers[] = { "TIME", "EVENT", "USER", "DETAILS" };
	struct table *t = table_new(4, headers);
	if (json_object_object_get_ex(r.json, "events", &events) && json_object_is_type(events, json_type_array))
		for (size_t i = 0; i < json_object_array_length(events); i++) {
			json_object *ev = json_object_array_get_idx(events, i);
			char more[600];
			details(ev, more, sizeof more);
			const char *cells[] = { json_str(ev, "time", "?"), json_str(ev, "event", "?"), json_str(ev, "user", "-"),
						more };
			table_add(t, cells);
		}
	table_print(t, stdout);
	table_free(t);
	api_reply_free(&r);
	return CLI_OK;
}

const struct command cmd_audit = {
	"audit", "[USER] [--limit N]",
	"helperd's audit log: changes and SSH sessions",
	"Shows the newest events of helperd's audit log (oldest first): every change\n"
	"made through helperd (create, delete, start, stop, resize) with the\n"
	"caller's uid, and the SSH sessions pam_containarium reports.  Needs root\n"
	"or the admin group.\n"
	"\n"
	"Options:\n"
	"  USER            only events of this user\n"
	"  -n, --limit N   at most N events (default 100)\n",
	opts, run,
};
