/* SPDX-License-Identifier: Apache-2.0 */
/* containarium operations [ID [--follow]]: helperd's long work, for when a
 * command was interrupted or helperd says another operation is running. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "output.h"
#include "progress.h"

enum { O_FOLLOW = 1 };

static const struct opt opts[] = {
	{ "follow", 0, false, O_FOLLOW },
	{ NULL, 0, false, 0 },
};

static void add_row(struct table *t, json_object *op)
{
	json_object *steps;
	char step[200] = "-";
	long long n = json_int(op, "step", 0), total = json_int(op, "total_steps", 0);
	if (n && json_object_object_get_ex(op, "steps", &steps) && json_object_array_length(steps))
		snprintf(step, sizeof step, "%lld/%lld %s", n, total,
			 json_str(json_object_array_get_idx(steps, json_object_array_length(steps) - 1), "description",
				  ""));
	const char *cells[] = { json_str(op, "id", "?"),
				json_str(op, "kind", "?"),
				json_str(op, "target", "?"),
				json_str(op, "status", "?"),
				step,
				json_str(op, "created_at", "?") };
	table_add(t, cells);
}

static int run(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 0, 1, "operations", "[ID [--follow]]");
	if (rc)
		return rc;
	const char *id = a->npos ? a->pos[0] : NULL;
	if (id && (strlen(id) > 64 || strspn(id, "0123456789abcdef") != strlen(id) || !*id)) {
		out_error("operations: \"%.70s\" is not an operation id (32 hex digits, as containarium operations "
			  "lists them)",
			  id);
		return CLI_USAGE;
	}
	if (!id && args_has(a, O_FOLLOW)) {
		out_error("operations: --follow needs an operation ID");
		return CLI_USAGE;
	}
	char target[128];
	if (id)
		snprintf(target, sizeof target, "/v1/operations/%s", id);
	else
		snprintf(target, sizeof target, "/v1/operations");
	struct api_reply r;
	if ((rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r)))
		return rc;
	if (id && args_has(a, O_FOLLOW)) {
		json_object *result;
		rc = progress_follow(c, r.json, &result);
		if (rc == CLI_OK) {
			if (c->json)
				out_json(result);
			else
				printf("%sOperation %s (%s %s) succeeded\n", out_ok_mark(), id,
				       json_str(r.json, "kind", "?"), json_str(r.json, "target", "?"));
		}
		json_object_put(result);
		api_reply_free(&r);
		return rc;
	}
	if (c->json) {
		out_json(r.json);
		api_reply_free(&r);
		return CLI_OK;
	}
	static const char *const headers[] = { "ID", "KIND", "TARGET", "STATUS", "STEP", "CREATED" };
	struct table *t = table_new(6, headers);
	json_object *ops;
	if (id) {
		add_row(t, r.json);
	} else if (json_object_object_get_ex(r.json, "operations", &ops)) {
		for (size_t i = 0; i < json_object_array_length(ops); i++)
			add_row(t, json_object_array_get_idx(ops, i));
	}
	table_print(t, stdout);
	table_free(t);
	if (id && strcmp(json_str(r.json, "status", ""), "failure") == 0) {
		json_object *e;
		if (json_object_object_get_ex(r.json, "error", &e))
			printf("Error: %s (%s)\n", json_str(e, "message", "?"), json_str(e, "code", "?"));
	}
	api_reply_free(&r);
	return CLI_OK;
}

const struct command cmd_operations = {
	"operations",
	"[ID [--follow]]",
	"helperd's long work: list, show, follow",
	"Without ID, lists the operations helperd keeps (running ones, and\n"
	"finished ones for an hour).  With ID, shows that one.\n"
	"\n"
	"Options:\n"
	"  --follow   follow operation ID to its end, printing its steps; the exit\n"
	"             code is its outcome's (as for the command that started it)\n",
	opts,
	run,
};
