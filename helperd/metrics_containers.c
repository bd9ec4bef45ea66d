/* SPDX-License-Identifier: Apache-2.0 */
/* The per-container part of /v1/metrics: one series set per user,
 * labelled by the user's name only, so the number of series is bounded by
 * the number of users (no container addresses, images or session ids as
 * labels). */
#include "metrics_containers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "session_table.h"
#include "service.h"

struct family {
	const char *name, *type, *help;
};

static const struct family families[] = {
	{ "containarium_container_running", "gauge", "Whether the user's container runs (1) or not (0)." },
	{ "containarium_container_cpu_seconds_total", "counter", "CPU time the container used since it started." },
	{ "containarium_container_memory_bytes", "gauge", "Memory the container uses." },
	{ "containarium_container_memory_limit_bytes", "gauge", "The container's memory limit." },
	{ "containarium_container_disk_bytes", "gauge", "Disk space the container's root uses." },
	{ "containarium_container_network_receive_bytes_total", "counter",
	  "Bytes the container received on eth0 since it started." },
	{ "containarium_container_network_transmit_bytes_total", "counter",
	  "Bytes the container sent on eth0 since it started." },
	{ "containarium_container_sessions", "gauge", "Jump sessions of the user open now." },
};
enum { F_RUNNING, F_CPU, F_MEM, F_MEMLIMIT, F_DISK, F_RX, F_TX, F_SESSIONS, F_N };

static bool num(json_object *o, const char *key, double *out)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v))
		return false;
	*out = json_object_get_double(v);
	return true;
}

char *metrics_containers_text(struct helperd *d)
{
	char err[512];
	json_object *arr = json_object_new_array();
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->reg.count; i++)
		json_object_array_add(arr, account_to_json(&d->reg.accounts[i]));
	pthread_mutex_unlock(&d->lock);
	int ok = helperd_usage_details(d, arr, err, sizeof err) == INCUS_OK;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		json_object_put(arr);
		return NULL;
	}
	fprintf(f,
		"# HELP containarium_container_metrics_up Whether the per-container figures below could be "
		"read from the backend.\n# TYPE containarium_container_metrics_up gauge\n"
		"containarium_container_metrics_up %d\n",
		ok);
	size_t n = json_object_array_length(arr);
	for (int fam = 0; fam < F_N; fam++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", families[fam].name, families[fam].help, families[fam].name,
			families[fam].type);
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(arr, i), *u = NULL, *v;
			const char *user = json_object_object_get_ex(e, "name", &v) ? json_object_get_string(v) : "";
			json_object_object_get_ex(e, "usage", &u);
			double x = 0;
			bool have;
			switch (fam) {
			case F_RUNNING:
				have = json_object_object_get_ex(e, "status", &v);
				x = have && strcmp(json_object_get_string(v), "Running") == 0;
				break;
			case F_CPU: have = num(u, "cpu_seconds", &x); break;
			case F_MEM: have = num(u, "memory_bytes", &x); break;
			case F_MEMLIMIT: have = num(u, "memory_limit_bytes", &x); break;
			case F_DISK: have = num(u, "disk_bytes", &x); break;
			case F_RX: have = num(u, "network_rx_bytes", &x); break;
			case F_TX: have = num(u, "network_tx_bytes", &x); break;
			default:
				have = true;
				x = (double)sessions_count(user);
				break;
			}
			/* Names are [a-z0-9-] (username.h): nothing to escape. */
			if (have)
				fprintf(f, "%s{user=\"%s\"} %.17g\n", families[fam].name, user, x);
		}
	}
	fclose(f);
	json_object_put(arr);
	return text;
}
