/* SPDX-License-Identifier: Apache-2.0 */
/* containarium delete | resize USER, start | stop USER... | --all: long
 * work, followed step by step (progress.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "client.h"
#include "commands.h"
#include "output.h"
#include "progress.h"

enum { O_FORCE = 1, O_BACKUP, O_CPU, O_MEMORY, O_DISK, O_ALL };

static int user_arg(const struct args *a, const char *cmd, const char *usage)
{
	int rc = args_positional(a, 1, 1, cmd, usage);
	return rc ? rc : check_username(a->pos[0]);
}

/* The human line after start/stop/resize, or the result for --json. */
static int finish(struct cli *c, int rc, json_object *result, const char *what, int show_ip)
{
	if (rc == CLI_OK) {
		if (c->json) {
			out_json(result);
		} else {
			const char *ip = json_str(result, "ipv4", "");
			printf("%sContainer %s %s", out_ok_mark(), json_str(result, "container", "?"), what);
			if (show_ip && *ip)
				printf(" at %s", ip);
			printf("\n");
		}
	}
	json_object_put(result);
	return rc;
}

/* ---- delete ------------------------------------------------------------- */

static const struct opt delete_opts[] = {
	{ "force", 'f', false, O_FORCE },
	{ "backup", 0, false, O_BACKUP },
	{ NULL, 0, false, 0 },
};

/* On a terminal, without --force: show what goes and ask. */
static int confirm_delete(struct cli *c, const char *user)
{
	char target[128], answer[16] = "";
	snprintf(target, sizeof target, "/v1/containers/%s", user);
	struct api_reply r;
	int rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r);
	if (rc)
		return rc;
	const char *ip = json_str(r.json, "ipv4", "");
	/* On stderr: with --json, stdout is for the result only. */
	fflush(stdout);
	fprintf(stderr,
		"Delete %s (%s%s%s) with everything in it, and the jump account %s? This cannot be undone. "
		"[y/N] ",
		json_str(r.json, "container", user), json_str(r.json, "status", "?"), *ip ? ", " : "", ip, user);
	fflush(stderr);
	api_reply_free(&r);
	if (!fgets(answer, sizeof answer, stdin) ||
	    (strcmp(answer, "y\n") != 0 && strcmp(answer, "yes\n") != 0 && strcmp(answer, "Y\n") != 0)) {
		out_error("not deleted");
		return CLI_FAILED;
	}
	return CLI_OK;
}

static int run_delete(struct cli *c, const struct args *a)
{
	int rc = user_arg(a, "delete", "USER [--force] [--backup]");
	if (rc)
		return rc;
	const char *user = a->pos[0];
	int force = args_has(a, O_FORCE), backup = args_has(a, O_BACKUP);
	if (!force && isatty(STDIN_FILENO) && (rc = confirm_delete(c, user)))
		return rc;
	char target[160];
	snprintf(target, sizeof target, "/v1/containers/%s%s%s%s", user, force || backup ? "?" : "",
		 force ? "force=1" : "", backup ? (force ? "&backup=1" : "backup=1") : "");
	json_object *result;
	rc = progress_run(c, "DELETE", target, NULL, NULL, &result);
	if (rc == CLI_OK) {
		if (c->json) {
			out_json(result);
		} else {
			printf("%sContainer %s and the jump account %s are deleted\n", out_ok_mark(),
			       json_str(result, "container", "?"), json_str(result, "name", user));
			if (json_str(result, "backup", NULL))
				printf("  Backup: %s\n", json_str(result, "backup", ""));
		}
	} else if (rc == CLI_CONFLICT && !force && !c->json) {
		fprintf(stderr, "  (stop it first: containarium stop %s; or: containarium delete %s --force)\n", user,
			user);
	}
	json_object_put(result);
	return rc;
}

const struct command cmd_delete = {
	"delete",
	"USER [--force] [--backup]",
	"delete a container and its jump account",
	"Deletes USER's container and everything in it; the jump account goes with\n"
	"it.  On a terminal it shows the container and asks first, unless --force.\n"
	"A running container is refused unless --force.\n"
	"\n"
	"Options:\n"
	"  -f, --force   do not ask, and stop the container if it runs\n"
	"  --backup      export the container to helperd's backup_dir first; if the\n"
	"                export fails nothing is deleted\n",
	delete_opts,
	run_delete,
};

/* ---- start, stop -------------------------------------------------------- */

static const struct opt start_opts[] = {
	{ "all", 0, false, O_ALL },
	{ NULL, 0, false, 0 },
};
static const struct opt stop_opts[] = {
	{ "force", 'f', false, O_FORCE },
	{ "all", 0, false, O_ALL },
	{ NULL, 0, false, 0 },
};

static bool is_running(json_object *e)
{
	return strcmp(json_str(e, "status", ""), "Running") == 0;
}
static bool is_not_running(json_object *e)
{
	return !is_running(e);
}

static int start_one(struct cli *c, const char *user, void *arg)
{
	(void)arg;
	char target[128];
	snprintf(target, sizeof target, "/v1/containers/%s/start", user);
	json_object *result;
	int rc = progress_run(c, "POST", target, NULL, NULL, &result);
	return finish(c, rc, result, "is running", 1);
}

static int stop_one(struct cli *c, const char *user, void *arg)
{
	char target[128];
	snprintf(target, sizeof target, "/v1/containers/%s/stop%s", user, *(int *)arg ? "?force=1" : "");
	json_object *result;
	int rc = progress_run(c, "POST", target, NULL, NULL, &result);
	return finish(c, rc, result, "is stopped", 0);
}

/* start and stop: the users named, or --all (those not running, or those
 * running); nothing to do is not an error. */
static int start_or_stop(struct cli *c, const struct args *a, bool start)
{
	const char *cmd = start ? "start" : "stop";
	struct batch b;
	int rc = batch_users(c, a->npos, a->pos, args_has(a, O_ALL), start ? is_not_running : is_running, cmd,
			     start ? "USER... | --all" : "USER... [--force] | --all", &b);
	if (rc)
		return rc;
	if (b.n == 0 && !c->json)
		printf("Nothing to %s: %s\n", cmd, start ? "every container runs" : "no container runs");
	int force = args_has(a, O_FORCE);
	rc = batch_run(c, cmd, &b, start ? start_one : stop_one, &force);
	batch_free(&b);
	return rc;
}

static int run_start(struct cli *c, const struct args *a)
{
	return start_or_stop(c, a, true);
}
static int run_stop(struct cli *c, const struct args *a)
{
	return start_or_stop(c, a, false);
}

const struct command cmd_start = {
	"start",
	"USER... | --all",
	"start stopped containers",
	"Starts each USER's container and waits until it has its address; one\n"
	"after the other, each reported as it ends.  A failure does not stop the\n"
	"others; the exit status is the first failure's.\n"
	"\n"
	"Options:\n"
	"  --all         every container that is not running\n",
	start_opts,
	run_start,
};

const struct command cmd_stop = {
	"stop",
	"USER... [--force] | --all",
	"stop containers",
	"Stops each USER's container; the jump accounts stay, so the users can log\n"
	"in again once started.  One after the other; a failure does not stop the\n"
	"others, and the exit status is the first failure's.\n"
	"\n"
	"Options:\n"
	"  -f, --force   kill them instead of a clean shutdown\n"
	"  --all         every running container\n",
	stop_opts,
	run_stop,
};

/* ---- resize ------------------------------------------------------------- */

static const struct opt resize_opts[] = {
	{ "cpu", 0, true, O_CPU },
	{ "memory", 0, true, O_MEMORY },
	{ "disk-quota", 0, true, O_DISK },
	{ NULL, 0, false, 0 },
};

static int run_resize(struct cli *c, const struct args *a)
{
	int rc = user_arg(a, "resize", "USER [--cpu N] [--memory SIZE] [--disk-quota SIZE]");
	if (rc)
		return rc;
	const char *cpu = args_last(a, O_CPU), *memory = args_last(a, O_MEMORY), *disk = args_last(a, O_DISK);
	if (!cpu && !memory && !disk) {
		out_error("resize: nothing to change: give --cpu, --memory or --disk-quota");
		return CLI_USAGE;
	}
	for (int i = 0; i < a->nopts; i++) {
		const char *v = a->opts[i].value;
		if (a->opts[i].id == O_CPU)
			rc = check_cpu("--cpu", v);
		else if (a->opts[i].id == O_MEMORY)
			rc = check_size("--memory", v, 64ULL << 20, "4GB or 512MiB");
		else
			rc = check_size("--disk-quota", v, 512ULL << 20, "50GB");
		if (rc)
			return rc;
	}
	json_object *body = json_object_new_object();
	if (cpu)
		json_object_object_add(body, "cpu", json_object_new_int(atoi(cpu)));
	if (memory)
		json_object_object_add(body, "memory", json_object_new_string(memory));
	if (disk)
		json_object_object_add(body, "disk", json_object_new_string(disk));
	char target[128];
	snprintf(target, sizeof target, "/v1/containers/%s", a->pos[0]);
	json_object *result;
	rc = progress_run(c, "PATCH", target, body, NULL, &result);
	json_object_put(body);
	char now[160];
	const char *now_disk = json_str(result, "disk", "");
	snprintf(now, sizeof now, "now has CPU %s, memory %s, disk %s", json_str(result, "cpu", "-"),
		 json_str(result, "memory", "-"), *now_disk ? now_disk : "without quota");
	return finish(c, rc, result, now, 0);
}

const struct command cmd_resize = {
	"resize",
	"USER [--cpu N] [--memory SIZE] [--disk-quota SIZE]",
	"change a container's limits",
	"Changes USER's CPU, memory or disk limits; give at least one.\n"
	"\n"
	"Options:\n"
	"  --cpu N            CPU limit, 1-1024\n"
	"  --memory SIZE      memory limit, such as 4GB or 512MiB (at least 64MiB)\n"
	"  --disk-quota SIZE  root disk size, such as 100GB (at least 512MiB)\n",
	resize_opts,
	run_resize,
};
