/* SPDX-License-Identifier: Apache-2.0 */
/* containarium snapshot create|list|restore|delete|schedule USER [NAME] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "client.h"
#include "commands.h"
#include "output.h"
#include "progress.h"

enum { O_SCHEDULE = 1, O_EXPIRY, O_NO_SCHEDULE, O_ALL, O_NAME };

static const struct opt no_opts[] = { { NULL, 0, false, 0 } };
static const struct opt create_opts[] = {
	{ "all", 0, false, O_ALL },
	{ "name", 0, true, O_NAME },
	{ NULL, 0, false, 0 },
};

/* A snapshot name as helperd takes it (checked here so nothing is sent). */
static int check_snapshot_name(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 63 || s[0] == '.' || s[0] == '-' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len) {
		out_error("snapshot name \"%.40s\" must be 1 to 63 letters, digits, '.', '_' or '-', not starting "
			  "with '.' or '-'",
			  s);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int args_user_snap(const struct args *a, const char *cmd, int need_snap)
{
	int rc = args_positional(a, 1 + need_snap, 2, cmd, need_snap ? "USER NAME" : "USER [NAME]");
	if (rc || (rc = check_username(a->pos[0])))
		return rc;
	return a->npos > 1 ? check_snapshot_name(a->pos[1]) : CLI_OK;
}

static int snapshot_one(struct cli *c, const char *user, void *arg)
{
	const char *name = arg;
	char target[160];
	snprintf(target, sizeof target, "/v1/containers/%s/snapshots", user);
	json_object *body = json_object_new_object(), *result;
	if (name)
		json_object_object_add(body, "name", json_object_new_string(name));
	int rc = progress_run(c, "POST", target, body, NULL, &result);
	json_object_put(body);
	if (rc == CLI_OK) {
		if (c->json)
			out_json(result);
		else
			printf("%sSnapshot %s of %s taken (kept until deleted)\n", out_ok_mark(),
			       json_str(result, "name", "?"), json_str(result, "container", user));
	}
	json_object_put(result);
	return rc;
}

static int run_create(struct cli *c, const struct args *a)
{
	static const char usage[] = "USER [NAME] | USER... --name NAME | --all [NAME]";
	const char *name = args_last(a, O_NAME);
	int all = args_has(a, O_ALL), rc;
	if (!all && !name) {
		rc = args_user_snap(a, "snapshot create", 0);
		return rc ? rc : snapshot_one(c, a->pos[0], a->npos > 1 ? (void *)a->pos[1] : NULL);
	}
	/* --all [NAME]: the word is the snapshot's name; USER... --name NAME:
	 * every word is a user.  The same name for each. */
	if (all && !name && a->npos) {
		if ((rc = args_positional(a, 0, 1, "snapshot create", usage)) || (rc = check_snapshot_name(a->pos[0])))
			return rc;
		name = a->pos[0];
	}
	if (name && (rc = check_snapshot_name(name)))
		return rc;
	struct batch b;
	int npos = all ? 0 : a->npos;
	if ((rc = batch_users(c, npos, a->pos, all, NULL, "snapshot create", usage, &b)))
		return rc;
	if (b.n == 0 && !c->json)
		printf("Nothing to snapshot: there are no containers\n");
	rc = batch_run(c, "snapshot create", &b, snapshot_one, (void *)name);
	batch_free(&b);
	return rc;
}

static int run_list(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 1, 1, "snapshot list", "USER");
	if (rc || (rc = check_username(a->pos[0])))
		return rc;
	char target[160];
	snprintf(target, sizeof target, "/v1/containers/%s/snapshots", a->pos[0]);
	struct api_reply r;
	if ((rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r)))
		return rc;
	if (c->json) {
		out_json(r.json);
		api_reply_free(&r);
		return CLI_OK;
	}
	json_object *snaps = NULL;
	json_object_object_get_ex(r.json, "snapshots", &snaps);
	const char *sched = json_str(r.json, "schedule", ""), *exp = json_str(r.json, "expiry", "");
	printf("Schedule: %s", *sched ? sched : "none");
	if (*sched)
		printf(" (kept %s)", *exp ? exp : "until deleted");
	printf("\n");
	size_t n = snaps ? json_object_array_length(snaps) : 0;
	if (!n) {
		printf("No snapshots of %s yet; take one with containarium snapshot create %s\n",
		       json_str(r.json, "container", a->pos[0]), a->pos[0]);
		api_reply_free(&r);
		return CLI_OK;
	}
	static const char *const headers[] = { "NAME", "CREATED", "EXPIRES" };
	struct table *t = table_new(3, headers);
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(snaps, i);
		const char *e = json_str(s, "expires_at", "");
		const char *cells[] = { json_str(s, "name", "?"), json_str(s, "created_at", "-"), *e ? e : "never" };
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
	api_reply_free(&r);
	return CLI_OK;
}

static int run_restore(struct cli *c, const struct args *a)
{
	int rc = args_user_snap(a, "snapshot restore", 1);
	if (rc)
		return rc;
	char target[200];
	snprintf(target, sizeof target, "/v1/containers/%s/snapshots/%s/restore", a->pos[0], a->pos[1]);
	json_object *result;
	rc = progress_run(c, "POST", target, NULL, NULL, &result);
	if (rc == CLI_OK) {
		if (c->json)
			out_json(result);
		else
			printf("%sContainer %s is back at snapshot %s; user %s keeps uid %lld, address %s and today's "
			       "SSH keys\n",
			       out_ok_mark(), json_str(result, "container", "?"), a->pos[1], a->pos[0],
			       json_int(result, "uid", 0), json_str(result, "ipv4", "-"));
	}
	json_object_put(result);
	return rc;
}

static int run_delete(struct cli *c, const struct args *a)
{
	int rc = args_user_snap(a, "snapshot delete", 1);
	if (rc)
		return rc;
	char target[200];
	snprintf(target, sizeof target, "/v1/containers/%s/snapshots/%s", a->pos[0], a->pos[1]);
	json_object *result;
	rc = progress_run(c, "DELETE", target, NULL, NULL, &result);
	if (rc == CLI_OK) {
		if (c->json)
			out_json(result);
		else
			printf("%sSnapshot %s of %s deleted\n", out_ok_mark(), a->pos[1],
			       json_str(result, "container", a->pos[0]));
	}
	json_object_put(result);
	return rc;
}

static const struct opt schedule_opts[] = {
	{ "schedule", 0, true, O_SCHEDULE },
	{ "expiry", 0, true, O_EXPIRY },
	{ "no-schedule", 0, false, O_NO_SCHEDULE },
	{ NULL, 0, false, 0 },
};

static int run_schedule(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 1, 1, "snapshot schedule", "USER --schedule CRON [--expiry DURATION]");
	if (rc || (rc = check_username(a->pos[0])))
		return rc;
	const char *sched = args_last(a, O_SCHEDULE), *exp = args_last(a, O_EXPIRY);
	int off = args_has(a, O_NO_SCHEDULE);
	if (off && sched) {
		out_error("snapshot schedule: --schedule and --no-schedule together; give one");
		return CLI_USAGE;
	}
	if (!sched && !exp && !off) {
		out_error("snapshot schedule: nothing to change: give --schedule CRON, --expiry DURATION or "
			  "--no-schedule");
		return CLI_USAGE;
	}
	json_object *body = json_object_new_object(), *result;
	if (sched || off)
		json_object_object_add(body, "snapshot_schedule", json_object_new_string(off ? "" : sched));
	if (exp)
		json_object_object_add(body, "snapshot_expiry", json_object_new_string(exp));
	char target[160];
	snprintf(target, sizeof target, "/v1/containers/%s", a->pos[0]);
	rc = progress_run(c, "PATCH", target, body, NULL, &result);
	json_object_put(body);
	if (rc == CLI_OK) {
		if (c->json) {
			out_json(result);
		} else {
			const char *s = json_str(result, "snapshot_schedule", ""),
				   *e = json_str(result, "snapshot_expiry", "");
			printf("%sContainer %s: ", out_ok_mark(), json_str(result, "container", "?"));
			if (*s)
				printf("snapshots on schedule \"%s\", kept %s\n", s, *e ? e : "until deleted");
			else
				printf("no scheduled snapshots%s%s\n", *e ? "; expiry " : "", e);
		}
	}
	json_object_put(result);
	return rc;
}

const struct command cmd_snapshot_create = {
	"snapshot create",
	"USER [NAME] | USER... --name NAME | --all [NAME]",
	"take a snapshot of a user's container",
	"Takes a snapshot of USER's container, named NAME (default: snap-DATE-TIME\n"
	"in UTC).  It is kept until deleted; snapshots on a schedule expire as the\n"
	"schedule says (containarium snapshot schedule).\n"
	"\n"
	"Options:\n"
	"  --all         every container, one after the other, each snapshot named\n"
	"                NAME (or by its own time); a failure does not stop the\n"
	"                others, and the exit status is the first failure's\n"
	"  --name NAME   the snapshot's name, for several USERs (or with --all)\n",
	create_opts,
	run_create,
};

const struct command cmd_snapshot_list = {
	"snapshot list",
	"USER",
	"list the snapshots of a user's container",
	"Lists USER's snapshots (scheduled and taken by hand) with their times,\n"
	"and the container's snapshot schedule and expiry.\n",
	no_opts,
	run_list,
};

const struct command cmd_snapshot_restore = {
	"snapshot restore",
	"USER NAME",
	"bring a container's files back to a snapshot",
	"Brings USER's container back to snapshot NAME: every file as it was then;\n"
	"changes since are lost (take a snapshot first to keep them).  The account\n"
	"stays as it is now: the same uid, address, SSH keys (authorized_keys in\n"
	"the container is rewritten with today's keys), limits and schedule.  A\n"
	"running container is stopped for the restore and started again.\n",
	no_opts,
	run_restore,
};

const struct command cmd_snapshot_delete = {
	"snapshot delete", "USER NAME", "delete a snapshot", "Deletes snapshot NAME of USER's container.\n",
	no_opts,           run_delete,
};

const struct command cmd_snapshot_schedule = {
	"snapshot schedule",
	"USER [--schedule CRON | --no-schedule] [--expiry DURATION]",
	"take snapshots of a container on a schedule",
	"Sets when Incus snapshots USER's container by itself and how long it keeps\n"
	"those snapshots (Incus's snapshots.schedule and snapshots.expiry; the\n"
	"default for new containers is helperd.conf's snapshot_schedule and\n"
	"snapshot_expiry).  Incus snapshots a stopped container on schedule only\n"
	"if it ran since the last one.\n"
	"\n"
	"Options:\n"
	"  --schedule CRON      five cron fields, such as \"0 3 * * *\" (03:00 every\n"
	"                       day), or @hourly, @daily, @weekly, @monthly\n"
	"  --no-schedule        no more scheduled snapshots (existing ones stay)\n"
	"  --expiry DURATION    delete scheduled snapshots this old, such as 7d, 2w,\n"
	"                       \"1w 3d\", 12H (M minutes, H hours, d, w, m months,\n"
	"                       y); \"\" keeps them until deleted\n",
	schedule_opts,
	run_schedule,
};
