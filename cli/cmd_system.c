/* SPDX-License-Identifier: Apache-2.0 */
/* containarium system info, containarium metrics */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "output.h"

static const struct opt no_opts[] = { { NULL, 0, false, 0 } };

static void duration(long long s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldm %llds", s / 60, s % 60);
}

static int run_info(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 0, 0, "system info", "");
	if (rc)
		return rc;
	struct api_reply r;
	if ((rc = api_call(c, "GET", "/v1/system", NULL, API_TIMEOUT_SECONDS, &r)))
		return rc;
	if (c->json) {
		out_json(r.json);
		api_reply_free(&r);
		return CLI_OK;
	}
	json_object *o = r.json, *backend = NULL, *ct = NULL, *reg = NULL, *host = NULL, *v;
	json_object_object_get_ex(o, "backend", &backend);
	json_object_object_get_ex(o, "containers", &ct);
	json_object_object_get_ex(o, "registry", &reg);
	json_object_object_get_ex(o, "host_resources", &host);
	char up[32], b1[32], b2[32];
	duration(json_int(o, "uptime_seconds", 0), up, sizeof up);
	printf("helperd: %s on %s, up %s\n", json_str(o, "version", "?"), json_str(o, "host", "?"), up);
	if (json_flag(backend, "available"))
		printf("Backend: %s%s %s%s at %s\n", out_colour(OUT_GREEN), json_str(backend, "server", "?"),
		       json_str(backend, "version", ""), out_reset(), json_str(backend, "socket", "?"));
	else
		printf("Backend: %sunavailable%s at %s: %s\n", out_colour(OUT_RED), out_reset(),
		       json_str(backend, "socket", "?"), json_str(backend, "error", "?"));
	json_object *storage = NULL;
	if (json_object_object_get_ex(o, "storage", &storage))
		printf("Storage: pool %s (%s), disk quotas %s\n", json_str(storage, "pool", "?"),
		       json_str(storage, "driver", "?"),
		       json_flag(storage, "quota_enforced") ? "enforced"
							    : "not enforced (refused on create and resize)");
	json_object *images = NULL, *remotes = NULL;
	if (json_object_object_get_ex(o, "images", &images)) {
		printf("Images: default %s", json_str(images, "default", "?"));
		if (json_object_object_get_ex(images, "remotes", &remotes) &&
		    json_object_is_type(remotes, json_type_array))
			for (size_t i = 0; i < json_object_array_length(remotes); i++) {
				json_object *rm = json_object_array_get_idx(remotes, i);
				printf("%s %s: %s (%s)", i ? "," : "; remotes", json_str(rm, "name", "?"),
				       json_str(rm, "url", "?"), json_str(rm, "protocol", "?"));
			}
		printf("\n");
	}
	printf("Containers: %lld (%lld running)\n", json_int(ct, "total", 0), json_int(ct, "running", 0));
	printf("Registry: %s, group %s (gid %lld), uids %lld-%lld, %lld publishes\n", json_str(reg, "state_dir", "?"),
	       json_str(reg, "group", "?"), json_int(reg, "gid", 0), json_int(reg, "uid_min", 0),
	       json_int(reg, "uid_max", 0), json_int(reg, "publishes", 0));
	if (host) {
		out_bytes((unsigned long long)json_int(host, "memory_total_bytes", 0), b1, sizeof b1);
		out_bytes((unsigned long long)json_int(host, "memory_free_bytes", 0), b2, sizeof b2);
		printf("Host: memory %s, %s free", b1, b2);
		if (json_object_object_get_ex(host, "load1", &v))
			printf("; load %.2f", json_object_get_double(v));
		printf("\n");
	}
	api_reply_free(&r);
	return CLI_OK;
}

/* Prometheus text as JSON: {"metrics": [{"name", "labels": {}, "value"}]}. */
static json_object *metrics_json(const char *text)
{
	json_object *arr = json_object_new_array();
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		char line[512];
		snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
		p += n + (p[n] == '\n');
		if (!line[0] || line[0] == '#')
			continue;
		char *sp = strrchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		json_object *m = json_object_new_object(), *labels = json_object_new_object();
		char *brace = strchr(line, '{');
		if (brace) {
			*brace = '\0';
			/* key="value",key="value"} */
			for (char *q = brace + 1; *q && *q != '}';) {
				char *eq = strchr(q, '=');
				if (!eq || eq[1] != '"')
					break;
				*eq = '\0';
				char *end = strchr(eq + 2, '"');
				if (!end)
					break;
				*end = '\0';
				json_object_object_add(labels, q, json_object_new_string(eq + 2));
				q = end + 1;
				if (*q == ',')
					q++;
			}
		}
		json_object_object_add(m, "name", json_object_new_string(line));
		json_object_object_add(m, "labels", labels);
		json_object_object_add(m, "value", json_object_new_double(strtod(sp + 1, NULL)));
		json_object_array_add(arr, m);
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "metrics", arr);
	return o;
}

static int run_metrics(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 0, 0, "metrics", "");
	if (rc)
		return rc;
	struct api_reply r;
	if ((rc = api_call(c, "GET", "/v1/metrics", NULL, API_TIMEOUT_SECONDS, &r)))
		return rc;
	if (c->json) {
		json_object *o = metrics_json(r.text);
		out_json(o);
		json_object_put(o);
	} else {
		fwrite(r.text, 1, r.len, stdout);
	}
	api_reply_free(&r);
	return CLI_OK;
}

const struct command cmd_system_info = {
	"system info",
	"",
	"helperd, its backend and the host",
	"Shows helperd's version and uptime, the container backend (Incus or LXD)\n"
	"and whether it answers, how many containers there are, where the\n"
	"snapshots are published, and the host's memory and load.\n",
	no_opts,
	run_info,
};

const struct command cmd_metrics = {
	"metrics",
	"",
	"helperd's metrics (Prometheus text)",
	"Prints helperd's metrics in the Prometheus text format; with --json as\n"
	"{\"metrics\": [{\"name\", \"labels\", \"value\"}]}.\n",
	no_opts,
	run_metrics,
};
