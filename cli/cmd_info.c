/* SPDX-License-Identifier: Apache-2.0 */
/* containarium info USER */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "output.h"

static const struct opt opts[] = { { NULL, 0, false, 0 } };

/* "USED of LIMIT (P%)", both in the same units (out_bytes), or USED
 * alone; "" when neither is known. */
static void used_of(json_object *usage, const char *used_key, const char *limit_key, char *buf, size_t len)
{
	json_object *v;
	char used[32] = "", limit[32] = "";
	long long u = -1, l = 0;
	if (usage && json_object_object_get_ex(usage, used_key, &v)) {
		u = json_object_get_int64(v);
		out_bytes((unsigned long long)u, used, sizeof used);
	}
	if (usage && json_object_object_get_ex(usage, limit_key, &v) && (l = json_object_get_int64(v)) > 0)
		out_bytes((unsigned long long)l, limit, sizeof limit);
	if (*used && *limit)
		snprintf(buf, len, "%s used of %s (%.0f%%)", used, limit, 100.0 * (double)u / (double)l);
	else if (*used)
		snprintf(buf, len, "%s used", used);
	else if (*limit)
		snprintf(buf, len, "limit %s", limit);
	else
		buf[0] = '\0';
}

/* "Disk: 412.3 MiB used of 953.7 MiB (43%)", or why there is no limit:
 * the pool's driver says whether a root disk size is enforced (helperd's
 * "storage"). */
static void print_disk(json_object *o, json_object *usage)
{
	json_object *storage = NULL;
	int enforced = !json_object_object_get_ex(o, "storage", &storage) || json_flag(storage, "quota_enforced");
	char text[128];
	used_of(usage, "disk_bytes", enforced ? "disk_limit_bytes" : "", text, sizeof text);
	printf("Disk: %s", text);
	if (!enforced)
		printf("%sno quota (the %s pool \"%s\" cannot enforce one)", *text ? "; " : "",
		       json_str(storage, "driver", "?"), json_str(storage, "pool", "?"));
	else if (!*text)
		printf("no quota");
	else if (!strstr(text, " of "))
		printf("; no quota");
	printf("\n");
}

/* "3d 4h", "2h 13m", "5m 12s", "12s". */
static void duration(long long s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm %llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%llds", s);
}

static int run(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 1, 1, "info", "USER");
	if (rc || (rc = check_username(a->pos[0])))
		return rc;
	char target[128];
	snprintf(target, sizeof target, "/v1/containers/%s", a->pos[0]);
	struct api_reply r;
	if ((rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r)))
		return rc;
	if (c->json) {
		out_json(r.json);
		api_reply_free(&r);
		return CLI_OK;
	}
	json_object *o = r.json, *usage = NULL, *keys = NULL, *v;
	json_object_object_get_ex(o, "usage", &usage);
	json_object_object_get_ex(o, "ssh_keys", &keys);
	const char *status = json_str(o, "status", "Unknown"), *ip = json_str(o, "ipv4", "");
	enum out_colour sc = strcmp(status, "Running") == 0   ? OUT_GREEN
			     : strcmp(status, "Stopped") == 0 ? OUT_RED
							      : OUT_YELLOW;
	char buf[64];
	printf("Container: %s\n", json_str(o, "container", "?"));
	printf("Status: %s%s%s\n", out_colour(sc), status, out_reset());
	printf("User: %s (uid %lld)\n", json_str(o, "name", "?"), json_int(o, "uid", 0));
	printf("Jump account: %s\n", json_str(o, "state", "?"));
	printf("IP Address: %s\n", *ip ? ip : "-");
	const char *location = json_str(o, "location", "none");
	if (strcmp(location, "none") != 0)
		printf("Location: %s (cluster member)\n", location);
	printf("CPU: %s", json_str(o, "cpu", "-"));
	char busy[48] = "", used[48] = "";
	if (usage && json_object_object_get_ex(usage, "cpu_percent", &v))
		snprintf(busy, sizeof busy, "%.1f%% busy now", json_object_get_double(v));
	if (usage && json_object_object_get_ex(usage, "cpu_seconds", &v))
		snprintf(used, sizeof used, "%.1f s used since start", json_object_get_double(v));
	if (*busy || *used)
		printf(" (%s%s%s)", busy, *busy && *used ? "; " : "", used);
	char mem[128];
	used_of(usage, "memory_bytes", "memory_limit_bytes", mem, sizeof mem);
	printf("\nMemory: %s\n", *mem ? mem : json_str(o, "memory", "-"));
	print_disk(o, usage);
	if (usage && json_object_object_get_ex(usage, "network_rx_bytes", &v)) {
		char rx[32], tx[32];
		out_bytes((unsigned long long)json_object_get_int64(v), rx, sizeof rx);
		json_object_object_get_ex(usage, "network_tx_bytes", &v);
		out_bytes((unsigned long long)json_object_get_int64(v), tx, sizeof tx);
		printf("Network: %s received, %s sent\n", rx, tx);
	}
	if (usage && json_object_object_get_ex(usage, "processes", &v))
		printf("Processes: %lld\n", (long long)json_object_get_int64(v));
	if (usage && json_object_object_get_ex(usage, "uptime_seconds", &v)) {
		duration(json_object_get_int64(v), buf, sizeof buf);
		printf("Uptime: %s\n", buf);
	}
	printf("Auto-start: %s\n", json_flag(o, "autostart") ? "enabled" : "disabled");
	printf("Docker: %s\n", json_flag(o, "docker") ? "enabled" : "disabled");
	printf("Image: %s\n", json_str(o, "image", "-"));
	printf("Created: %s\n", json_str(o, "created", "-"));
	if (json_str(o, "last_started", NULL))
		printf("Last started: %s\n", json_str(o, "last_started", ""));
	size_t nk = keys && json_object_is_type(keys, json_type_array) ? json_object_array_length(keys) : 0;
	printf("SSH keys: %zu (containarium key list %s)\n", nk, json_str(o, "name", "USER"));
	api_reply_free(&r);
	return CLI_OK;
}

const struct command cmd_info = {
	"info",
	"USER",
	"show one container's details and usage",
	"Shows USER's container: status, jump account state, address, limits and\n"
	"what it uses now, in one unit style (how busy its CPUs are, CPU time;\n"
	"memory and disk used of their limits, or why the storage pool has no disk\n"
	"quota; network bytes, processes, uptime), auto-start, image, creation\n"
	"time and the number of keys.  How busy needs two readings half a second\n"
	"apart, unless helperd read the container in the last minute.\n",
	opts,
	run,
};
