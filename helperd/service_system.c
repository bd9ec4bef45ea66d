/* SPDX-License-Identifier: Apache-2.0 */
/* /v1/system, /v1/metrics (Prometheus text), /v1/operations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>

#include "metrics_containers.h"
#include "nic_policy.h"
#include "operations.h"
#include "service.h"
#include "service_handlers.h"
#include "sshd_watch.h"
#include "storage_pool.h"

#include "version.h"

void handle_system(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	(void)req;
	char err[512];
	json_object *o = json_object_new_object(), *backend = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(ctm_version()));
	json_object_object_add(o, "host", json_object_new_string(d->host_id));
	json_object_object_add(o, "uptime_seconds", json_object_new_int64((int64_t)(time(NULL) - d->started)));
	struct incus_client *c = helperd_client(d, err, sizeof err);
	json_object_object_add(backend, "socket", json_object_new_string(d->incus_socket));
	if (c) {
		json_object_object_add(backend, "server", json_object_new_string(incus_server_name(c)));
		json_object_object_add(backend, "version", json_object_new_string(incus_server_version(c)));
		json_object_object_add(backend, "available", json_object_new_boolean(1));
		struct nic_policy nic;
		nic_policy_for(c, &d->cfg, &nic);
		json_object_object_add(o, "tenant_isolation", nic_policy_to_json(&nic, &d->cfg));
		struct storage_pool_info pool;
		if (storage_pool_probe(c, d->cfg.storage_pool, &pool, err, sizeof err) == INCUS_OK)
			json_object_object_add(o, "storage", storage_pool_to_json(&pool));
		else
			json_object_object_add(backend, "storage_error", json_object_new_string(err));
		incus_close(c);
	} else {
		json_object_object_add(backend, "available", json_object_new_boolean(0));
		json_object_object_add(backend, "error", json_object_new_string(err));
	}
	json_object_object_add(o, "backend", backend);
	/* Where new containers' images come from (image_source.h). */
	json_object *images = json_object_new_object(), *remotes = json_object_new_array();
	json_object_object_add(images, "default", json_object_new_string(d->cfg.image));
	for (size_t i = 0; i < d->cfg.remote_count; i++) {
		const struct image_remote *r = &d->cfg.remotes[i];
		json_object *ro = json_object_new_object();
		json_object_object_add(ro, "name", json_object_new_string(r->name));
		json_object_object_add(ro, "url", json_object_new_string(r->url));
		json_object_object_add(ro, "protocol", json_object_new_string(r->protocol));
		json_object_object_add(ro, "certificate",
				       *r->certificate ? json_object_new_string(r->certificate) : NULL);
		json_object_array_add(remotes, ro);
	}
	json_object_object_add(images, "remotes", remotes);
	json_object_object_add(o, "images", images);
	pthread_mutex_lock(&d->lock);
	size_t running = 0, total = d->reg.count;
	for (size_t i = 0; i < d->reg.count; i++)
		running += strcmp(d->reg.accounts[i].status, "Running") == 0;
	unsigned long publishes = d->publishes, repairs = d->snapshot_repairs;
	pthread_mutex_unlock(&d->lock);
	json_object *ct = json_object_new_object();
	json_object_object_add(ct, "total", json_object_new_int64((int64_t)total));
	json_object_object_add(ct, "running", json_object_new_int64((int64_t)running));
	json_object_object_add(o, "containers", ct);
	json_object *reg = json_object_new_object();
	json_object_object_add(reg, "state_dir", json_object_new_string(d->cfg.state_dir));
	json_object_object_add(reg, "group", json_object_new_string(d->cfg.group_name));
	json_object_object_add(reg, "gid", json_object_new_int64(d->cfg.gid));
	json_object_object_add(reg, "uid_min", json_object_new_int64(d->cfg.uid_min));
	json_object_object_add(reg, "uid_max", json_object_new_int64(d->cfg.uid_max));
	json_object_object_add(reg, "publishes", json_object_new_int64((int64_t)publishes));
	json_object_object_add(reg, "repairs", json_object_new_int64((int64_t)repairs));
	json_object_object_add(o, "registry", reg);
	struct sysinfo si;
	if (sysinfo(&si) == 0) {
		json_object *h = json_object_new_object();
		json_object_object_add(h, "memory_total_bytes",
				       json_object_new_int64((int64_t)si.totalram * si.mem_unit));
		json_object_object_add(h, "memory_free_bytes",
				       json_object_new_int64((int64_t)si.freeram * si.mem_unit));
		json_object_object_add(h, "load1", json_object_new_double(si.loads[0] / 65536.0));
		json_object_object_add(o, "host_resources", h);
	}
	resp->body = o;
}

void handle_metrics(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	(void)req;
	unsigned running_ops;
	unsigned long ok_ops, failed_ops;
	operation_counts(&running_ops, &ok_ops, &failed_ops);
	pthread_mutex_lock(&d->lock);
	size_t total = d->reg.count, running = 0, by_state[CTM_STATE_MAX + 1] = { 0 };
	for (size_t i = 0; i < d->reg.count; i++) {
		running += strcmp(d->reg.accounts[i].status, "Running") == 0;
		if (d->reg.accounts[i].state <= CTM_STATE_MAX)
			by_state[d->reg.accounts[i].state]++;
	}
	int up = d->backend_up;
	unsigned long pubs = d->publishes, pubfail = d->publish_failures, repairs = d->snapshot_repairs;
	double last = (double)d->last_publish.tv_sec + (double)d->last_publish.tv_nsec / 1e9;
	pthread_mutex_unlock(&d->lock);
	char *text = NULL;
	if (asprintf(
		    &text,
		    "# HELP containarium_containers Containers managed by Containarium.\n"
		    "# TYPE containarium_containers gauge\n"
		    "containarium_containers %zu\n"
		    "# HELP containarium_containers_running Managed containers that are running.\n"
		    "# TYPE containarium_containers_running gauge\n"
		    "containarium_containers_running %zu\n"
		    "# HELP containarium_accounts Jump accounts by state.\n"
		    "# TYPE containarium_accounts gauge\n"
		    "containarium_accounts{state=\"active\"} %zu\n"
		    "containarium_accounts{state=\"suspended\"} %zu\n"
		    "containarium_accounts{state=\"provisioning\"} %zu\n"
		    "# HELP containarium_backend_up Whether the last call to Incus succeeded.\n"
		    "# TYPE containarium_backend_up gauge\n"
		    "containarium_backend_up %d\n"
		    "# HELP containarium_snapshot_publishes_total Snapshot publishes.\n"
		    "# TYPE containarium_snapshot_publishes_total counter\n"
		    "containarium_snapshot_publishes_total %lu\n"
		    "# HELP containarium_snapshot_publish_failures_total Snapshot publishes that failed.\n"
		    "# TYPE containarium_snapshot_publish_failures_total counter\n"
		    "containarium_snapshot_publish_failures_total %lu\n"
		    "# HELP containarium_snapshot_last_publish_seconds Time of the last publish.\n"
		    "# TYPE containarium_snapshot_last_publish_seconds gauge\n"
		    "containarium_snapshot_last_publish_seconds %.3f\n"
		    "# HELP containarium_snapshot_repairs_total Publishes because a snapshot file was removed, damaged or changed by another process.\n"
		    "# TYPE containarium_snapshot_repairs_total counter\n"
		    "containarium_snapshot_repairs_total %lu\n"
		    "# HELP containarium_operations_running Operations in progress.\n"
		    "# TYPE containarium_operations_running gauge\n"
		    "containarium_operations_running %u\n"
		    "# HELP containarium_operations_total Finished operations by result.\n"
		    "# TYPE containarium_operations_total counter\n"
		    "containarium_operations_total{result=\"success\"} %lu\n"
		    "containarium_operations_total{result=\"failure\"} %lu\n"
		    "# HELP containarium_login_failures_total Failed SSH logins recorded from sshd's log (jump users and unknown names).\n"
		    "# TYPE containarium_login_failures_total counter\n"
		    "containarium_login_failures_total %lu\n",
		    total, running, by_state[CTM_STATE_ACTIVE], by_state[CTM_STATE_SUSPENDED],
		    by_state[CTM_STATE_PROVISIONING], up, pubs, pubfail, last, repairs, running_ops, ok_ops, failed_ops,
		    sshd_watch_failures()) < 0) {
		api_error(resp, 500, "internal_error", "out of memory");
		return;
	}
	char *per = metrics_containers_text(d), *all = NULL;
	if (per && asprintf(&all, "%s%s", text, per) >= 0) {
		free(text);
		text = all;
	}
	free(per);
	resp->text = text;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void handle_operations(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	(void)d;
	(void)req;
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "operations", operation_list());
}

void handle_operation(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	(void)d;
	const char *w = api_query(req, "wait");
	long wait_s = 0;
	if (w) {
		char *end;
		wait_s = strtol(w, &end, 10);
		if (!*w || *end || wait_s < 0 || wait_s > 120) {
			api_error(resp, 400, "invalid_request",
				  "wait must be a number of seconds from 0 to 120 (wait again for longer)");
			return;
		}
	}
	json_object *op = operation_get(req->params[0], (int)(wait_s * 1000));
	if (!op) {
		api_error(resp, 404, "not_found", "no operation %.64s (finished operations are kept for an hour)",
			  req->params[0]);
		return;
	}
	resp->body = op;
}
