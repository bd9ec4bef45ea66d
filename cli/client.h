/* SPDX-License-Identifier: Apache-2.0 */
/* Requests to helperd and what their failures mean: JSON in and out,
 * helperd's error objects turned into a message and an exit code (cli.h). */
#ifndef CONTAINARIUM_CLI_CLIENT_H
#define CONTAINARIUM_CLI_CLIENT_H

#include <json-c/json.h>
#include <stddef.h>

#include "cli.h"

#define API_TIMEOUT_SECONDS 120L

struct api_reply {
	long status;
	json_object *json; /* parsed JSON answer, or NULL for text */
	char *text;        /* the raw answer, NUL-terminated */
	size_t len;
};

/* METHOD target (path and query; parts already escaped), with an optional
 * JSON body.  CLI_OK when helperd answered 2xx: r holds the answer.
 * Otherwise the failure is reported (stderr; with --json helperd's error
 * object also goes to stdout), r is empty, and the exit code is returned. */
int api_call(struct cli *c, const char *method, const char *target, json_object *body, long timeout_seconds,
	     struct api_reply *r);
void api_reply_free(struct api_reply *r);

/* Report an error object {"code","message","status"} (from an answer or a
 * failed operation) and return its exit code. */
int api_report_error(struct cli *c, json_object *error);

/* The exit code an HTTP status stands for. */
int exit_for_status(long status);

/* Percent-encode s for a path segment or query value (common/percent.h);
 * malloc'd; exits with CLI_FAILED when memory runs out. */
char *url_escape(const char *s);

/* A global option that takes a path or address (--socket, --remote,
 * --client-cert, --client-key, --server-ca; name without the dashes).
 * 0, or a usage error reported and -1. */
int cli_set_global_path(struct cli *c, const char *name, const char *value);

/* Close the transport (end of the run). */
void api_close(struct cli *c);

/* String member of o, or def. */
const char *json_str(json_object *o, const char *key, const char *def);
long long json_int(json_object *o, const char *key, long long def);
int json_flag(json_object *o, const char *key);

#endif
