/* SPDX-License-Identifier: Apache-2.0 */
/* containarium sessions [USER]: the SSH jump sessions open now, as
 * pam_containarium reported them to helperd. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "output.h"

static const struct opt opts[] = {
	{ NULL, 0, false, 0 },
};

static void duration(long long s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

static int run(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 0, 1, "sessions", "[USER]");
	if (rc || (a->npos && (rc = check_username(a->pos[0]))))
		return rc;
	char target[128];
	snprintf(target, sizeof target, "/v1/sessions%s%s", a->npos ? "?user=" : "", a->npos ? a->pos[0] : "");
	struct api_reply r;
	if ((rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r)))
		return rc;
	if (c->json) {
		out_json(r.json);
		api_reply_free(&r);
		return CLI_OK;
	}
	json_object *list;
	static const char *const headers[] = { "USER", "FROM", "SINCE", "DURATION" };
	struct table *t = table_new(4, headers);
	if (json_object_object_get_ex(r.json, "sessions", &list) && json_object_is_type(list, json_type_array))
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			json_object *s = json_object_array_get_idx(list, i);
			char d[32];
			duration(json_int(s, "duration_seconds", 0), d, sizeof d);
			const char *cells[] = { json_str(s, "user", "?"), json_str(s, "rhost", "-"),
						json_str(s, "since", "?"), d };
			table_add(t, cells);
		}
	table_print(t, stdout);
	table_free(t);
	api_reply_free(&r);
	return CLI_OK;
}

const struct command cmd_sessions = {
	"sessions",
	"[USER]",
	"the SSH jump sessions open now",
	"Lists the jump sessions open now (pam_containarium reports each one's\n"
	"start and end to helperd): user, source address, since when, and for how\n"
	"long.  helperd keeps them in memory: a session opened before helperd last\n"
	"started is not listed (the audit log has its session_open).  Needs root\n"
	"or the admin group.\n"
	"\n"
	"Options:\n"
	"  USER            only this user's sessions\n",
	opts,
	run,
};
