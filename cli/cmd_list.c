/* SPDX-License-Identifier: Apache-2.0 */
/* containarium list [--state STATE] [--usage] [--long] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "output.h"

enum { O_STATE = 1, O_USAGE, O_LONG };

static const struct opt opts[] = {
	{ "state", 0, true, O_STATE },
	{ "usage", 'u', false, O_USAGE },
	{ "long", 'l', false, O_LONG },
	{ NULL, 0, false, 0 },
};

/* "12%", or "-" when helperd gave no figure (a stopped container). */
static void percent(json_object *usage, char *buf, size_t len)
{
	json_object *v;
	if (usage && json_object_object_get_ex(usage, "cpu_percent", &v))
		snprintf(buf, len, "%.0f%%", json_object_get_double(v));
	else
		snprintf(buf, len, "-");
}

static void bytes(json_object *usage, const char *key, char *buf, size_t len)
{
	json_object *v;
	if (usage && json_object_object_get_ex(usage, key, &v))
		out_bytes((unsigned long long)json_object_get_int64(v), buf, len);
	else
		snprintf(buf, len, "-");
}

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
	int rc = args_positional(a, 0, 0, "list", "[--state STATE] [--usage] [--long]");
	if (rc)
		return rc;
	const char *state = args_last(a, O_STATE);
	if (state && (!*state || strlen(state) > 32 ||
		      strspn(state, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(state))) {
		out_error("--state \"%.40s\" is not a state: use running, stopped, active, suspended or provisioning",
			  state);
		return CLI_USAGE;
	}
	int usage = args_has(a, O_USAGE), lng = args_has(a, O_LONG);
	char target[128];
	snprintf(target, sizeof target, "/v1/containers%s%s%s", state ? "?state=" : "", state ? state : "",
		 usage || lng ? (state ? "&usage=1" : "?usage=1") : "");
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
	/* The columns: the usual five, LOCATION on a cluster, TYPE and
	 * SNAPSHOTS with --long (as the documents' table has them), and what
	 * each uses now with --usage. */
	const char *headers[12];
	size_t nc = 0;
	static const char *const base[] = { "NAME", "STATE", "IPV4", "QUOTA", "AUTOSTART" };
	for (size_t k = 0; k < 5; k++)
		headers[nc++] = base[k];
	if (clustered)
		headers[nc++] = "LOCATION";
	if (lng) {
		headers[nc++] = "TYPE";
		headers[nc++] = "SNAPSHOTS";
	}
	if (usage) {
		headers[nc++] = "CPU";
		headers[nc++] = "MEMORY";
		headers[nc++] = "DISK";
	}
	struct table *t = table_new(nc, headers);
	table_colour(t, 1, state_colour);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i), *u = NULL;
		json_object_object_get_ex(o, "usage", &u);
		char st[64], snaps[24], cpu[16], mem[32], dsk[32];
		const char *status = json_str(o, "status", ""), *acct = json_str(o, "state", "");
		/* The container's status; the jump account's state only when it
		 * is not the usual "active". */
		if (strcmp(acct, "active") == 0)
			snprintf(st, sizeof st, "%s", *status ? status : "Unknown");
		else
			snprintf(st, sizeof st, "%s (%s)", *status ? status : "Unknown", acct);
		snprintf(snaps, sizeof snaps, "%lld", json_int(o, "snapshots", 0));
		percent(u, cpu, sizeof cpu);
		bytes(u, "memory_bytes", mem, sizeof mem);
		bytes(u, "disk_bytes", dsk, sizeof dsk);
		const char *ip = json_str(o, "ipv4", ""), *disk = json_str(o, "disk", "");
		const char *cells[12];
		size_t k = 0;
		cells[k++] = json_str(o, "container", "?");
		cells[k++] = st;
		cells[k++] = *ip ? ip : "-";
		cells[k++] = *disk ? disk : "-";
		cells[k++] = json_flag(o, "autostart") ? "Yes" : "No";
		if (clustered)
			cells[k++] = json_str(o, "location", "-");
		if (lng) {
			cells[k++] = json_str(o, "type", "container");
			cells[k++] = snaps;
		}
		if (usage) {
			cells[k++] = cpu;
			cells[k++] = mem;
			cells[k++] = dsk;
		}
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
	api_reply_free(&r);
	return CLI_OK;
}

const struct command cmd_list = {
	"list",
	"[--state STATE] [--usage] [--long]",
	"list the containers",
	"Lists every container helperd manages: NAME (the container), STATE (its\n"
	"status, and the jump account's state when that is not active), IPV4,\n"
	"QUOTA (root disk size), AUTOSTART and, on an Incus cluster, LOCATION (the\n"
	"member the container runs on).\n"
	"\n"
	"Options:\n"
	"  --state STATE   only containers in STATE: running, stopped (the\n"
	"                  container), or active, suspended, provisioning (the\n"
	"                  jump account)\n"
	"  -u, --usage     add what each uses now: CPU (busy, of its limit), MEMORY\n"
	"                  and DISK (helperd reads every container's state: slower)\n"
	"  -l, --long      add TYPE and SNAPSHOTS (the number of snapshots)\n",
	opts,
	run,
};
