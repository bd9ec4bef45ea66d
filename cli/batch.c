/* SPDX-License-Identifier: Apache-2.0 */
#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "client.h"
#include "output.h"

void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->users[i]);
	free(b->users);
	b->users = NULL;
	b->n = 0;
}

static int add(struct batch *b, const char *user)
{
	char **u = realloc(b->users, (b->n + 1) * sizeof *u);
	if (!u)
		return -1;
	b->users = u;
	if (!(b->users[b->n] = strdup(user)))
		return -1;
	b->n++;
	return 0;
}

int batch_users(struct cli *c, int npos, const char *const *pos, bool all, bool (*keep)(json_object *entry),
		const char *cmd, const char *usage, struct batch *b)
{
	memset(b, 0, sizeof *b);
	if (all && npos) {
		out_error("%s: give users or --all, not both; usage: containarium %s %s", cmd, cmd, usage);
		return CLI_USAGE;
	}
	if (!all && !npos) {
		out_error("%s: missing arguments; usage: containarium %s %s", cmd, cmd, usage);
		return CLI_USAGE;
	}
	for (int i = 0; i < npos; i++) {
		int rc = check_username(pos[i]);
		if (rc)
			return rc;
		for (int j = 0; j < i; j++)
			if (strcmp(pos[i], pos[j]) == 0) {
				out_error("%s: %s is named twice", cmd, pos[i]);
				return CLI_USAGE;
			}
	}
	for (int i = 0; i < npos; i++)
		if (add(b, pos[i])) {
			batch_free(b);
			out_error("out of memory");
			return CLI_FAILED;
		}
	if (!all)
		return CLI_OK;
	struct api_reply r;
	int rc = api_call(c, "GET", "/v1/containers", NULL, API_TIMEOUT_SECONDS, &r);
	if (rc)
		return rc;
	json_object *arr;
	if (!r.json || !json_object_object_get_ex(r.json, "containers", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		api_reply_free(&r);
		out_error("helperd's list has no \"containers\"");
		return CLI_FAILED;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *name = json_str(e, "name", NULL);
		if (name && (!keep || keep(e)) && add(b, name)) {
			batch_free(b);
			api_reply_free(&r);
			out_error("out of memory");
			return CLI_FAILED;
		}
	}
	api_reply_free(&r);
	return CLI_OK;
}

int batch_run(struct cli *c, const char *cmd, const struct batch *b,
	      int (*one)(struct cli *c, const char *user, void *arg), void *arg)
{
	int first = CLI_OK;
	size_t failed = 0;
	char names[512] = "";
	for (size_t i = 0; i < b->n; i++) {
		int rc = one(c, b->users[i], arg);
		if (rc == CLI_OK)
			continue;
		if (first == CLI_OK)
			first = rc;
		size_t len = strlen(names);
		if (len < sizeof names - 40)
			snprintf(names + len, sizeof names - len, "%s%s", failed ? ", " : "", b->users[i]);
		else if (!strstr(names, "..."))
			snprintf(names + len, sizeof names - len, ", ...");
		failed++;
	}
	if (failed && b->n > 1)
		out_error("%s: %zu of %zu failed: %s", cmd, failed, b->n, names);
	return first;
}
