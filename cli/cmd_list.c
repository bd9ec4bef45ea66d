/* containarium list [--state STATE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "output.h"

enum { O_STATE = 1 };

static const struct opt opts[] = {
	{ "state", 0, true, O_STATE },
	{ NULL, 0, false, 0 },
};

static enum out_colour state_colour(const char *cell)
{
	if (strncmp(cell, "Running", 7) == 0)
		return strchr(cell, '(') ? OUT_YELLOW : OUT_GREEN;
	if (strncmp(cell, "Stopped", 7) == 0)
		return OUT_RED;
	return OUT_YELLOW;
}

static int run(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 0, 0, "list", "[--state STATE]");
	if (rc)
		return rc;
	const char *state = args_last(a, O_STATE);
	if (state && (!*state || strlen(state) > 32 ||
		      strspn(state, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(state))) {
		out_error("--state \"%.40s\" is not a state: use running, stopped, active, suspended or provisioning",
			  state);
		return CLI_USAGE;
	}
	char target[128];
	if (state)
		snprintf(target, sizeof target, "/v1/containers?state=%s", state);
	else
		snprintf(target, sizeof target, "/v1/containers");
	struct api_reply r;
	if ((rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r)))
		return rc;
	if (c->json) {
		out_json(r.json);
		api_reply_free(&r);
		return CLI_OK;
	}
	json_object *arr;
	if (!json_object_object_get_ex(r.json, "containers", &arr) || !json_object_is_type(arr, json_type_array)) {
		out_error("helperd's list has no \"containers\"");
		api_reply_free(&r);
		return CLI_FAILED;
	}
	size_t n = json_object_array_length(arr);
	if (n == 0) {
		if (state)
			printf("No containers in state %s.\n", state);
		else
			printf("No containers yet; create one with containarium create USER --ssh-key FILE.\n");
		api_reply_free(&r);
		return CLI_OK;
	}
	/* LOCATION (the cluster member) only on a cluster: "none" elsewhere. */
	int clustered = 0;
	for (size_t i = 0; i < n; i++)
		clustered |= strcmp(json_str(json_object_array_get_idx(arr, i), "location", "none"), "none") != 0;
	static const char *const headers[] = { "NAME", "STATE", "IPV4", "QUOTA", "AUTOSTART", "LOCATION" };
	struct table *t = table_new(clustered ? 6 : 5, headers);
	table_colour(t, 1, state_colour);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		char st[64];
		const char *status = json_str(o, "status", ""), *acct = json_str(o, "state", "");
		/* The container's status; the jump account's state only when it
		 * is not the usual "active". */
		if (strcmp(acct, "active") == 0)
			snprintf(st, sizeof st, "%s", *status ? status : "Unknown");
		else
			snprintf(st, sizeof st, "%s (%s)", *status ? status : "Unknown", acct);
		const char *ip = json_str(o, "ipv4", ""), *disk = json_str(o, "disk", "");
		const char *cells[] = { json_str(o, "container", "?"), st, *ip ? ip : "-", *disk ? disk : "-",
					json_flag(o, "autostart") ? "Yes" : "No", json_str(o, "location", "-") };
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
	api_reply_free(&r);
	return CLI_OK;
}

const struct command cmd_list = {
	"list", "[--state STATE]",
	"list the containers",
	"Lists every container helperd manages: NAME (the container), STATE (its\n"
	"status, and the jump account's state when that is not active), IPV4,\n"
	"QUOTA (root disk size), AUTOSTART and, on an Incus cluster, LOCATION (the\n"
	"member the container runs on).\n"
	"\n"
	"Options:\n"
	"  --state STATE   only containers in STATE: running, stopped (the\n"
	"                  container), or active, suspended, provisioning (the\n"
	"                  jump account)\n",
	opts, run,
};
