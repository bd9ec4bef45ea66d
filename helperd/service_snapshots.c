/* SPDX-License-Identifier: Apache-2.0 */
/* /v1/containers/{user}/snapshots: list, take, delete, restore.  Taking,
 * deleting and restoring are operations (lifecycle_snapshot.c); the list
 * is read from Incus at once, with the container's schedule and expiry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "helperd_log.h"
#include "lifecycle.h"
#include "service.h"
#include "service_handlers.h"
#include "snapshot_policy.h"

void handle_snapshots_list(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	if (user_param(req, resp))
		return;
	char err[512], path[160], why[256];
	struct account a;
	struct incus_client *c = helperd_client(d, err, sizeof err);
	if (!c) {
		answer_backend_down(d, resp, err);
		return;
	}
	json_object *inst = NULL, *snaps = NULL, *cfg, *v;
	char iname[64];
	helperd_instance_name(d, req->params[0], iname, sizeof iname);
	snprintf(path, sizeof path, "/1.0/instances/%s", iname);
	enum incus_status st = incus_get(c, path, &inst, NULL, err, sizeof err);
	int ours = st == INCUS_OK && account_from_instance(inst, &a, why, sizeof why) > 0;
	if (ours)
		account_free(&a);
	if (st == INCUS_ERR_NOT_FOUND || (st == INCUS_OK && !ours)) {
		api_error(resp, 404, "not_found", "user %s has no container; list them with containarium list",
			  req->params[0]);
		goto out;
	}
	if (st != INCUS_OK) {
		answer_incus_error(d, resp, st, err);
		goto out;
	}
	snprintf(path, sizeof path, "/1.0/instances/%s/snapshots?recursion=1", iname);
	if ((st = incus_get(c, path, &snaps, NULL, err, sizeof err)) != INCUS_OK) {
		answer_incus_error(d, resp, st, err);
		goto out;
	}
	json_object *arr = json_object_new_array();
	size_t n = json_object_is_type(snaps, json_type_array) ? json_object_array_length(snaps) : 0;
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, snapshot_to_json(json_object_array_get_idx(snaps, i)));
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "user", json_object_new_string(req->params[0]));
	json_object_object_add(resp->body, "container", json_object_new_string(iname));
	const char *sched = "", *exp = "";
	if (json_object_object_get_ex(inst, "config", &cfg)) {
		if (json_object_object_get_ex(cfg, "snapshots.schedule", &v))
			sched = json_object_get_string(v);
		if (json_object_object_get_ex(cfg, "snapshots.expiry", &v))
			exp = json_object_get_string(v);
	}
	json_object_object_add(resp->body, "schedule", json_object_new_string(sched));
	json_object_object_add(resp->body, "expiry", json_object_new_string(exp));
	json_object_object_add(resp->body, "snapshots", arr);
out:
	json_object_put(inst);
	json_object_put(snaps);
	incus_close(c);
}

/* A job for the user (and the snapshot name, when the route has one), or
 * NULL after answering. */
static struct lifecycle_job *snapshot_job(struct helperd *d, const struct api_request *req, struct api_response *resp,
					  const char *snap)
{
	char msg[256];
	if (user_param(req, resp))
		return NULL;
	if (snap && snapshot_name_check(snap, msg, sizeof msg)) {
		/* Not a name Incus could hold: no such snapshot. */
		api_error(resp, snap == req->params[1] ? 404 : 400,
			  snap == req->params[1] ? "not_found" : "invalid_snapshot_name", "%s", msg);
		return NULL;
	}
	struct lifecycle_job *job = calloc(1, sizeof *job);
	if (!job) {
		api_error(resp, 500, "internal_error", "out of memory");
		return NULL;
	}
	job->d = d;
	snprintf(job->user, sizeof job->user, "%s", req->params[0]);
	snprintf(job->snapshot, sizeof job->snapshot, "%s", snap ? snap : "");
	return job;
}

/* Start the operation and record who asked in the audit log. */
static void start_snapshot_op(struct helperd *d, const struct api_request *req, struct api_response *resp,
			      const char *kind, int steps, operation_fn fn, struct lifecycle_job *job)
{
	char user[CTM_NAME_MAX + 1], snap[64], err[512];
	snprintf(user, sizeof user, "%s", job->user);
	snprintf(snap, sizeof snap, "%s", job->snapshot);
	const char *id = operation_start(kind, user, steps, fn, job, lifecycle_job_free);
	if (!id) {
		api_error(resp, 409, "busy",
			  "another operation on %s is still running; wait for it "
			  "(containarium operations) and retry",
			  user);
		lifecycle_job_free(job);
		return;
	}
	json_object *ev = json_object_new_object();
	json_object_object_add(ev, "event", json_object_new_string(kind));
	json_object_object_add(ev, "user", json_object_new_string(user));
	if (*snap)
		json_object_object_add(ev, "snapshot", json_object_new_string(snap));
	api_caller_to_json(req, ev);
	json_object_object_add(ev, "operation", json_object_new_string(id));
	if (audit_write(d->cfg.audit_log, ev, err, sizeof err))
		log_error("%s", err);
	json_object_put(ev);
	answer_operation(resp, id);
}

void handle_snapshot_create(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	json_object *v = NULL;
	const char *name = NULL;
	if (req->body) {
		json_object_object_foreach(req->body, key, val)
		{
			(void)val;
			if (strcmp(key, "name") != 0) {
				api_error(resp, 400, "invalid_request",
					  "unknown field \"%.40s\"; a snapshot takes only "
					  "\"name\"",
					  key);
				return;
			}
		}
		if (json_object_object_get_ex(req->body, "name", &v)) {
			if (!json_object_is_type(v, json_type_string)) {
				api_error(resp, 400, "invalid_snapshot_name", "\"name\" must be a string");
				return;
			}
			name = json_object_get_string(v);
		}
	}
	struct lifecycle_job *job = snapshot_job(d, req, resp, name);
	if (job)
		start_snapshot_op(d, req, resp, "snapshot", 1, lifecycle_snapshot_create, job);
}

void handle_snapshot_delete(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	struct lifecycle_job *job = snapshot_job(d, req, resp, req->params[1]);
	if (job)
		start_snapshot_op(d, req, resp, "snapshot-delete", 1, lifecycle_snapshot_delete, job);
}

void handle_snapshot_restore(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	struct lifecycle_job *job = snapshot_job(d, req, resp, req->params[1]);
	if (job)
		start_snapshot_op(d, req, resp, "snapshot-restore", SNAPSHOT_RESTORE_STEPS, lifecycle_snapshot_restore,
				  job);
}
