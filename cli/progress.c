/* SPDX-License-Identifier: Apache-2.0 */
#include "progress.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "output.h"

/* helperd's ?wait=N returns early only when the operation ends, not when
 * a step starts, so a long wait would show steps late.  Short polls show
 * each step within a quarter second; every step is kept in the operation,
 * so none is missed between polls. */
#define POLL_INTERVAL_MS 250

static char following[160]; /* message for Ctrl-C */

static void on_interrupt(int sig)
{
	(void)sig;
	ssize_t n = write(STDERR_FILENO, following, strlen(following));
	(void)n;
	_exit(130);
}

struct view {
	size_t shown;   /* steps printed */
	bool open;      /* fancy: the last step's line waits for its mark */
	char line[300]; /* that line */
};

static void close_step(struct view *v, bool ok)
{
	if (!v->open)
		return;
	printf("\r%s%s\n", ok ? out_ok_mark() : out_fail_mark(), v->line);
	fflush(stdout);
	v->open = false;
}

static void show_steps(struct cli *c, json_object *op, struct view *v)
{
	json_object *steps;
	if (c->json || !json_object_object_get_ex(op, "steps", &steps) || !json_object_is_type(steps, json_type_array))
		return;
	long long total = json_int(op, "total_steps", 0);
	size_t n = json_object_array_length(steps);
	for (; v->shown < n; v->shown++) {
		json_object *s = json_object_array_get_idx(steps, v->shown);
		close_step(v, true);
		snprintf(v->line, sizeof v->line, "[%lld/%lld] %s", json_int(s, "n", 0), total,
			 json_str(s, "description", ""));
		if (out_fancy()) {
			printf("  %s", v->line);
			v->open = true;
		} else {
			printf("%s\n", v->line);
		}
		fflush(stdout);
	}
}

int progress_follow(struct cli *c, json_object *op, json_object **result)
{
	const char *id = json_str(op, "id", NULL);
	char target[256], *eid;
	struct view v = { 0 };
	*result = NULL;
	if (!id) {
		out_error("helperd's answer names no operation to follow");
		return CLI_FAILED;
	}
	snprintf(following, sizeof following,
		 "\ncontainarium: stopped following; the work goes on in helperd: "
		 "containarium operations %.40s --follow\n",
		 id);
	struct sigaction sa = { .sa_handler = on_interrupt }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	eid = url_escape(id);
	snprintf(target, sizeof target, "/v1/operations/%s", eid);
	free(eid);
	int rc = CLI_OK;
	json_object *cur = json_object_get(op);
	for (;;) {
		show_steps(c, cur, &v);
		if (strcmp(json_str(cur, "status", "running"), "running") != 0)
			break;
		struct timespec pause = { 0, POLL_INTERVAL_MS * 1000000L };
		while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
			;
		struct api_reply r;
		rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r);
		if (rc != CLI_OK) {
			close_step(&v, false);
			if (rc == CLI_NOT_FOUND) {
				out_error(
					"helperd no longer knows operation %s (was it restarted?); see what became of "
					"%s with containarium info %s",
					id, json_str(op, "target", "the user"), json_str(op, "target", "USER"));
				rc = CLI_FAILED;
			}
			goto out;
		}
		json_object_put(cur);
		cur = json_object_get(r.json);
		api_reply_free(&r);
		if (!cur) {
			out_error("helperd answered with no operation");
			rc = CLI_FAILED;
			goto out;
		}
	}
	json_object *res, *error;
	if (strcmp(json_str(cur, "status", ""), "success") == 0) {
		close_step(&v, true);
		*result = json_object_object_get_ex(cur, "result", &res) ? json_object_get(res)
									 : json_object_new_object();
	} else {
		close_step(&v, false);
		if (!json_object_object_get_ex(cur, "error", &error)) {
			out_error("operation %s ended as %s without saying why", id, json_str(cur, "status", "?"));
			rc = CLI_FAILED;
		} else {
			rc = api_report_error(c, error);
		}
	}
out:
	json_object_put(cur);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}

int progress_run(struct cli *c, const char *method, const char *target, json_object *body, const char *headline,
		 json_object **result)
{
	struct api_reply r;
	*result = NULL;
	int rc = api_call(c, method, target, body, API_TIMEOUT_SECONDS, &r);
	if (rc != CLI_OK)
		return rc;
	json_object *op;
	if (!r.json || !json_object_object_get_ex(r.json, "operation", &op)) {
		out_error("helperd answered %s %s without an operation to follow (HTTP %ld)", method, target, r.status);
		api_reply_free(&r);
		return CLI_FAILED;
	}
	if (headline && !c->json) {
		printf("%s\n", headline);
		fflush(stdout);
	}
	rc = progress_follow(c, op, result);
	api_reply_free(&r);
	return rc;
}
