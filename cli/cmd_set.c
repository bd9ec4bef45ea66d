/* SPDX-License-Identifier: Apache-2.0 */
/* containarium set USER... | --all --autostart|--no-autostart: change a
 * setting of users' containers (the limits are resize's). */
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "client.h"
#include "commands.h"
#include "output.h"
#include "progress.h"

enum { O_AUTOSTART = 1, O_NO_AUTOSTART, O_ALL };

static const struct opt set_opts[] = {
	{ "autostart", 0, false, O_AUTOSTART },
	{ "no-autostart", 0, false, O_NO_AUTOSTART },
	{ "all", 0, false, O_ALL },
	{ NULL, 0, false, 0 },
};

static int set_one(struct cli *c, const char *user, void *arg)
{
	json_object *body = arg, *result;
	char target[128];
	snprintf(target, sizeof target, "/v1/containers/%s", user);
	int rc = progress_run(c, "PATCH", target, body, NULL, &result);
	if (rc == CLI_OK) {
		if (c->json)
			out_json(result);
		else
			printf("%s%s: auto-start %s\n", out_ok_mark(), json_str(result, "container", user),
			       json_flag(result, "autostart") ? "enabled" : "disabled");
	}
	json_object_put(result);
	return rc;
}

static int run_set(struct cli *c, const struct args *a)
{
	static const char usage[] = "USER... | --all  --autostart|--no-autostart";
	int on = args_has(a, O_AUTOSTART), off = args_has(a, O_NO_AUTOSTART);
	if (on == off) {
		out_error(on ? "set: --autostart and --no-autostart contradict each other"
			     : "set: nothing to change: give --autostart or --no-autostart");
		return CLI_USAGE;
	}
	struct batch b;
	int rc = batch_users(c, a->npos, a->pos, args_has(a, O_ALL), NULL, "set", usage, &b);
	if (rc)
		return rc;
	if (b.n == 0 && !c->json)
		printf("Nothing to change: there are no containers\n");
	json_object *body = json_object_new_object();
	json_object_object_add(body, "autostart", json_object_new_boolean(on));
	rc = batch_run(c, "set", &b, set_one, body);
	json_object_put(body);
	batch_free(&b);
	return rc;
}

const struct command cmd_set = {
	"set",
	"USER... | --all  --autostart|--no-autostart",
	"change a setting of containers",
	"Changes a setting of each USER's container (or of every container, with\n"
	"--all), one after the other; a failure does not stop the others, and the\n"
	"exit status is the first failure's.  Limits are changed with resize.\n"
	"\n"
	"Options:\n"
	"  --autostart      start the container when the host (or Incus) starts\n"
	"  --no-autostart   do not\n"
	"  --all            every container\n",
	set_opts,
	run_set,
};
