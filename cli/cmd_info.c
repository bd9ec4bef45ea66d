/* containarium info USER */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "output.h"

static const struct opt opts[] = { { NULL, 0, false, 0 } };

/* "Disk: 412.3 MiB used of 20GB", or why there is no limit: the pool's
 * driver says whether a root disk size is enforced (helperd's "storage"). */
static void print_disk(json_object *o, json_object *usage)
{
	json_object *storage = NULL, *v;
	char used[64] = "";
	if (usage && json_object_object_get_ex(usage, "disk_bytes", &v))
		out_bytes((unsigned long long)json_object_get_int64(v), used, sizeof used);
	const char *limit = json_str(o, "disk", "");
	int enforced = !json_object_object_get_ex(o, "storage", &storage) || json_flag(storage, "quota_enforced");
	printf("Disk: ");
	if (*used)
		printf("%s used%s", used, enforced && *limit ? " of " : "");
	if (enforced && *limit)
		printf("%s", limit);
	else if (!enforced)
		printf("%sno quota (the %s pool \"%s\" cannot enforce one)", *used ? "; " : "",
		       json_str(storage, "driver", "?"), json_str(storage, "pool", "?"));
	else if (!*used)
		printf("no quota");
	printf("\n");
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
	enum out_colour sc = strcmp(status, "Running") == 0 ? OUT_GREEN : strcmp(status, "Stopped") == 0 ? OUT_RED
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
	if (usage && json_object_object_get_ex(usage, "cpu_seconds", &v))
		printf(" (%.1f s used)", json_object_get_double(v));
	printf("\nMemory: ");
	if (usage && json_object_object_get_ex(usage, "memory_bytes", &v)) {
		out_bytes((unsigned long long)json_object_get_int64(v), buf, sizeof buf);
		printf("%s used of ", buf);
	}
	printf("%s\n", json_str(o, "memory", "-"));
	print_disk(o, usage);
	if (usage && json_object_object_get_ex(usage, "processes", &v))
		printf("Processes: %lld\n", (long long)json_object_get_int64(v));
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
	"info", "USER",
	"show one container's details and usage",
	"Shows USER's container: status, jump account state, address, limits and\n"
	"what it uses now (CPU time, memory, processes, and disk used of its quota,\n"
	"or why the storage pool has none), auto-start, image, creation time and\n"
	"the number of keys.\n",
	opts, run,
};
