/* SPDX-License-Identifier: Apache-2.0 */
/* Following helperd's operations (create, delete, start, stop, resize): each
 * numbered step is printed as it appears ("[2/7] Starting container..."),
 * then the outcome. */
#ifndef CONTAINARIUM_CLI_PROGRESS_H
#define CONTAINARIUM_CLI_PROGRESS_H

#include <json-c/json.h>

#include "cli.h"

/* op: the operation object of a 202 answer (borrowed).  Follows it to the
 * end.  On success *result holds a reference to the operation's result and
 * CLI_OK is returned; on failure helperd's error is reported and its exit
 * code returned.  Steps are printed unless --json. */
int progress_follow(struct cli *c, json_object *op, json_object **result);

/* Start a long request (POST/PATCH/DELETE answered 202) and follow it.
 * headline (may be NULL) is printed once helperd has accepted the work. */
int progress_run(struct cli *c, const char *method, const char *target, json_object *body, const char *headline,
		 json_object **result);

#endif
