/* SPDX-License-Identifier: Apache-2.0 */
/* /v1/containers: list, get, create, delete, start, stop, resize. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "audit.h"
#include "deadline.h"
#include "helperd_log.h"
#include "instance.h"
#include "lifecycle.h"
#include "service.h"
#include "service_handlers.h"
#include "snapshot_policy.h"
#include "storage_pool.h"
#include "usage.h"
#include "username.h"

void answer_operation(struct api_response *resp, const char *id)
{
	json_object *op = operation_get(id, 0);
	resp->status = 202;
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "operation", op);
	snprintf(resp->location, sizeof resp->location, "/v1/operations/%s", id);
}

void answer_backend_down(struct helperd *d, struct api_response *resp, const char *err)
{
	(void)d;
	api_error(resp, 503, "backend_unavailable",
		  "the container backend is not answering (%s); "
		  "existing users can still log in from the last snapshot; start incus (or lxd) and retry",
		  err);
}

void answer_incus_error(struct helperd *d, struct api_response *resp, enum incus_status st, const char *err)
{
	/* What the backend said, without the client's "METHOD /1.0/...: CODE"
	 * frame: a sentence for a person, not a raw answer. */
	const char *reason = incus_error_reason(err);
	if (st == INCUS_ERR_UNAVAILABLE)
		answer_backend_down(d, resp, err);
	else if (st == INCUS_ERR_NOT_FOUND)
		api_error(resp, 404, "not_found", "%s", reason);
	else
		api_error(resp, 502, "backend_error", "the container backend refused or failed the request: %s",
			  reason);
}

/* The user path parameter, validated (never passed to Incus unchecked). */
int user_param(const struct api_request *req, struct api_response *resp)
{
	char msg[256];
	const char *u = req->params[0];
	if (!u || ctm_username_check(u, strlen(u), msg, sizeof msg) != CTM_NAME_OK) {
		api_error(resp, 404, "not_found", "no such user: %s", msg);
		return -1;
	}
	return 0;
}

/* list?usage=1: what each container uses now, its type and its number of
 * snapshots, from one streamed read of every instance with its state
 * (recursion=2), matched to the list's entries by container name. */
struct details {
	json_object *by_name; /* container name -> the list's entry (borrowed) */
	size_t needs_sample;  /* running containers without a recent CPU reading */
	bool final;           /* the last read: record percentages */
};

static int add_details(json_object *item, void *arg)
{
	struct details *x = arg;
	json_object *v, *entry, *state, *snaps;
	const char *name = json_object_object_get_ex(item, "name", &v) ? json_object_get_string(v) : NULL;
	if (!name || !json_object_object_get_ex(x->by_name, name, &entry) ||
	    !json_object_object_get_ex(item, "state", &state) || !json_object_is_type(state, json_type_object))
		return 0;
	const char *started = json_object_object_get_ex(state, "started_at", &v)    ? json_object_get_string(v)
			      : json_object_object_get_ex(item, "last_used_at", &v) ? json_object_get_string(v)
										    : NULL;
	struct usage u;
	json_object *cpu, *mem, *disk;
	json_object_object_get_ex(entry, "cpu", &cpu);
	json_object_object_get_ex(entry, "memory", &mem);
	json_object_object_get_ex(entry, "disk", &disk);
	usage_from_state(state, json_object_get_string(cpu), json_object_get_string(mem), json_object_get_string(disk),
			 started, (long)time(NULL), &u);
	double now = ctm_now_s();
	if (!x->final) {
		if (u.running && usage_needs_sample(name, now))
			x->needs_sample++;
		usage_cpu_sample(name, &u, now);
		return 0;
	}
	usage_cpu_sample(name, &u, now);
	json_object_object_add(entry, "usage", usage_to_json(&u));
	json_object_object_add(entry, "type",
			       json_object_new_string(json_object_object_get_ex(item, "type", &v)
							      ? json_object_get_string(v)
							      : "container"));
	size_t n = json_object_object_get_ex(item, "snapshots", &snaps) && json_object_is_type(snaps, json_type_array)
			   ? json_object_array_length(snaps)
			   : 0;
	json_object_object_add(entry, "snapshots", json_object_new_int64((int64_t)n));
	return 0;
}

enum incus_status helperd_usage_details(struct helperd *d, json_object *arr, char *err, size_t errlen)
{
	struct details x = { .by_name = json_object_new_object() };
	size_t need = 0;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i), *v, *st;
		if (!json_object_object_get_ex(e, "container", &v))
			continue;
		json_object_object_add(x.by_name, json_object_get_string(v), json_object_get(e));
		need += json_object_object_get_ex(e, "status", &st) &&
			strcmp(json_object_get_string(st), "Running") == 0 &&
			usage_needs_sample(json_object_get_string(v), ctm_now_s());
	}
	struct incus_client *c = helperd_client(d, err, errlen);
	if (!c) {
		json_object_put(x.by_name);
		return INCUS_ERR_UNAVAILABLE;
	}
	static const char path[] = "/1.0/instances?recursion=2";
	enum incus_status st = need ? incus_get_each(c, path, add_details, &x, err, errlen) : INCUS_OK;
	if (st == INCUS_OK && x.needs_sample) {
		/* A second reading half a second on, for how busy each is. */
		struct timespec pause = { 0, 500 * 1000000L };
		nanosleep(&pause, NULL);
	}
	if (st == INCUS_OK) {
		x.final = true;
		st = incus_get_each(c, path, add_details, &x, err, errlen);
	}
	incus_close(c);
	json_object_put(x.by_name);
	return st;
}

void handle_list(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	char err[512];
	const char *want = api_query(req, "state");
	struct incus_client *c = helperd_client(d, err, sizeof err);
	if (!c) {
		answer_backend_down(d, resp, err);
		return;
	}
	int r = helperd_refresh(d, c, err, sizeof err);
	incus_close(c);
	if (r && !d->backend_up) {
		answer_backend_down(d, resp, err);
		return;
	}
	json_object *arr = json_object_new_array();
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->reg.count; i++) {
		const struct account *a = &d->reg.accounts[i];
		if (want && strcasecmp(want, a->status) != 0 && strcmp(want, account_state_name(a->state)) != 0)
			continue;
		json_object_array_add(arr, account_to_json(a));
	}
	pthread_mutex_unlock(&d->lock);
	const char *usage = api_query(req, "usage");
	if (usage && strcmp(usage, "0") != 0) {
		enum incus_status st = helperd_usage_details(d, arr, err, sizeof err);
		if (st != INCUS_OK) {
			json_object_put(arr);
			if (st == INCUS_ERR_UNAVAILABLE)
				answer_backend_down(d, resp, err);
			else
				answer_incus_error(d, resp, st, err);
			return;
		}
	}
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "containers", arr);
}

void handle_get(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	if (user_param(req, resp))
		return;
	char err[512], iname[64], path[128], why[256];
	helperd_instance_name(d, req->params[0], iname, sizeof iname);
	struct incus_client *c = helperd_client(d, err, sizeof err);
	if (!c) {
		answer_backend_down(d, resp, err);
		return;
	}
	snprintf(path, sizeof path, "/1.0/instances/%s", iname);
	json_object *inst = NULL, *state = NULL;
	struct account a;
	enum incus_status st = incus_get(c, path, &inst, NULL, err, sizeof err);
	if (st == INCUS_ERR_NOT_FOUND || (st == INCUS_OK && account_from_instance(inst, &a, why, sizeof why) <= 0)) {
		api_error(resp, 404, "not_found", "user %s has no container; list them with containarium list",
			  req->params[0]);
		goto out;
	}
	if (st != INCUS_OK) {
		answer_incus_error(d, resp, st, err);
		goto out;
	}
	resp->body = account_to_json(&a);
	if (instance_state(c, iname, &state, err, sizeof err) == INCUS_OK) {
		/* How busy it is needs a second reading of its CPU time when
		 * helperd has none recent (usage.h). */
		if (usage_needs_sample(iname, ctm_now_s())) {
			struct usage first;
			usage_from_state(state, a.cpu, a.memory, a.disk, NULL, (long)time(NULL), &first);
			usage_cpu_sample(iname, &first, ctm_now_s());
			if (first.running) {
				struct timespec pause = { 0, 500 * 1000000L };
				nanosleep(&pause, NULL);
				json_object *again = NULL;
				if (instance_state(c, iname, &again, err, sizeof err) == INCUS_OK) {
					json_object_put(state);
					state = again;
				}
			}
		}
		json_object *v;
		const char *started = json_object_object_get_ex(state, "started_at", &v)    ? json_object_get_string(v)
				      : json_object_object_get_ex(inst, "last_used_at", &v) ? json_object_get_string(v)
											    : NULL;
		struct usage u;
		usage_from_state(state, a.cpu, a.memory, a.disk, started, (long)time(NULL), &u);
		usage_cpu_sample(iname, &u, ctm_now_s());
		json_object_object_add(resp->body, "usage", usage_to_json(&u));
	}
	account_free(&a);
	/* Whether "disk" is a limit: the pool's driver decides (storage_pool.h). */
	struct storage_pool_info pool;
	if (storage_pool_probe(c, d->cfg.storage_pool, &pool, err, sizeof err) == INCUS_OK)
		json_object_object_add(resp->body, "storage", storage_pool_to_json(&pool));
	json_object *created;
	if (json_object_object_get_ex(inst, "last_used_at", &created))
		json_object_object_add(resp->body, "last_started", json_object_get(created));
out:
	json_object_put(inst);
	json_object_put(state);
	incus_close(c);
}

/* A job for user, or NULL after answering 500. */
static struct lifecycle_job *new_job(struct helperd *d, const char *user, struct api_response *resp)
{
	struct lifecycle_job *job = calloc(1, sizeof *job);
	if (!job) {
		api_error(resp, 500, "internal_error", "out of memory");
		return NULL;
	}
	job->d = d;
	snprintf(job->user, sizeof job->user, "%s", user);
	return job;
}

static void start_op(struct helperd *d, const struct api_request *req, struct api_response *resp, const char *kind,
		     const char *user_in, int steps, operation_fn fn, struct lifecycle_job *job)
{
	/* user_in points into job, which the operation may free at any time. */
	char user[CTM_NAME_MAX + 1];
	snprintf(user, sizeof user, "%s", user_in);
	const char *id = operation_start(kind, user, steps, fn, job, lifecycle_job_free);
	if (!id) {
		/* user may point into job: answer before freeing it. */
		api_error(resp, 409, "busy",
			  "another operation on %s is still running; wait for it "
			  "(containarium operations) and retry",
			  user);
		lifecycle_job_free(job);
		return;
	}
	/* Who asked for what: the audit log keeps every change. */
	char err[512];
	json_object *ev = json_object_new_object();
	json_object_object_add(ev, "event",
			       json_object_new_string(kind)); /* requested; the operation says how it ended */
	json_object_object_add(ev, "user", json_object_new_string(user));
	api_caller_to_json(req, ev);
	json_object_object_add(ev, "operation", json_object_new_string(id));
	if (audit_write(d->cfg.audit_log, ev, err, sizeof err))
		log_error("%s", err);
	json_object_put(ev);
	answer_operation(resp, id);
}

/* Whether helperd's storage pool enforces a root disk size: 1 yes, 0 no,
 * -1 after answering (the backend is down, the pool is missing, or a disk
 * size was asked for and the pool cannot enforce it: storage_pool.h). */
static int pool_enforces_quota(struct helperd *d, int asked, struct api_response *resp)
{
	char err[512], msg[512];
	struct storage_pool_info pool;
	struct incus_client *c = helperd_client(d, err, sizeof err);
	if (!c) {
		answer_backend_down(d, resp, err);
		return -1;
	}
	enum incus_status st = storage_pool_probe(c, d->cfg.storage_pool, &pool, err, sizeof err);
	incus_close(c);
	if (st == INCUS_ERR_NOT_FOUND) {
		api_error(resp, 500, "storage_pool_missing", "%s", err);
		return -1;
	}
	if (st != INCUS_OK) {
		answer_incus_error(d, resp, st, err);
		return -1;
	}
	if (asked && !pool.quota_enforced) {
		storage_pool_quota_refusal(&pool, msg, sizeof msg);
		api_error(resp, 400, "disk_quota_unsupported", "%s", msg);
		json_object_object_add(resp->body, "storage", storage_pool_to_json(&pool));
		return -1;
	}
	return pool.quota_enforced;
}

void handle_create(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	struct lifecycle_job *job = new_job(d, "", resp);
	const char *code = NULL;
	char msg[1024];
	if (!job)
		return;
	if (create_spec_parse(d, req->body, &job->spec, &code, msg, sizeof msg)) {
		free(job);
		int status = strcmp(code, "already_exists") == 0 || strcmp(code, "name_taken") == 0 ? 409
			     : strcmp(code, "internal_error") == 0                                  ? 500
												    : 400;
		api_error(resp, status, code, "%s", msg);
		return;
	}
	int enforced = pool_enforces_quota(d, job->spec.disk_given, resp);
	if (enforced < 0) {
		lifecycle_job_free(job);
		return;
	}
	if (!enforced)
		job->spec.disk[0] = '\0'; /* helperd.conf's default_disk: not a limit this pool can keep */
	snprintf(job->user, sizeof job->user, "%s", job->spec.name);
	start_op(d, req, resp, "create", job->user, CREATE_STEPS, lifecycle_create, job);
}

static int bool_query(const struct api_request *req, const char *name)
{
	const char *v = api_query(req, name);
	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

void handle_delete(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	if (user_param(req, resp))
		return;
	struct lifecycle_job *job = new_job(d, req->params[0], resp);
	if (!job)
		return;
	job->force = bool_query(req, "force");
	job->backup = bool_query(req, "backup");
	start_op(d, req, resp, "delete", job->user, job->backup ? 3 : 1, lifecycle_delete, job);
}

void handle_start(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	if (user_param(req, resp))
		return;
	struct lifecycle_job *job = new_job(d, req->params[0], resp);
	if (!job)
		return;
	start_op(d, req, resp, "start", job->user, 2, lifecycle_start, job);
}

void handle_stop(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	if (user_param(req, resp))
		return;
	struct lifecycle_job *job = new_job(d, req->params[0], resp);
	if (!job)
		return;
	job->force = bool_query(req, "force");
	start_op(d, req, resp, "stop", job->user, 1, lifecycle_stop, job);
}

void handle_resize(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	if (user_param(req, resp))
		return;
	if (!req->body) {
		api_error(resp, 400, "invalid_request",
			  "send {\"cpu\": 4, \"memory\": \"8GB\", \"disk\": \"100GB\"} "
			  "with the limits to change");
		return;
	}
	struct lifecycle_job *job = new_job(d, req->params[0], resp);
	if (!job)
		return;
	int any = 0;
	json_object_object_foreach(req->body, key, val)
	{
		char num[32];
		const char *s =
			json_object_is_type(val, json_type_int)
				? (snprintf(num, sizeof num, "%lld", (long long)json_object_get_int64(val)), num)
			: json_object_is_type(val, json_type_string) ? json_object_get_string(val)
								     : "";
		unsigned long long bytes;
		char *end;
		if (strcmp(key, "cpu") == 0) {
			long n = strtol(s, &end, 10);
			if (!*s || *end || n < 1 || n > 1024) {
				api_error(resp, 400, "invalid_cpu",
					  "cpu \"%.20s\" must be a whole number from 1 to 1024", s);
				goto bad;
			}
			snprintf(job->cpu, sizeof job->cpu, "%ld", n);
		} else if (strcmp(key, "memory") == 0) {
			if (ctm_size_parse(s, &bytes) || bytes < (64ULL << 20) ||
			    ctm_size_for_incus(s, job->memory, sizeof job->memory)) {
				api_error(resp, 400, "invalid_memory",
					  "memory \"%.20s\" must be a size of at least "
					  "64MiB, written like 4GB or 512MiB",
					  s);
				goto bad;
			}
		} else if (strcmp(key, "disk") == 0) {
			if (ctm_size_parse(s, &bytes) || bytes < (512ULL << 20) ||
			    ctm_size_for_incus(s, job->disk, sizeof job->disk)) {
				api_error(resp, 400, "invalid_disk",
					  "disk \"%.20s\" must be a size of at least 512MiB, "
					  "written like 50GB",
					  s);
				goto bad;
			}
		} else if (strcmp(key, "autostart") == 0) {
			if (!json_object_is_type(val, json_type_boolean)) {
				api_error(resp, 400, "invalid_request", "\"autostart\" must be true or false");
				goto bad;
			}
			job->autostart_set = 1;
			job->autostart = json_object_get_boolean(val);
		} else if (strcmp(key, "snapshot_schedule") == 0 || strcmp(key, "snapshot_expiry") == 0) {
			int sched = key[9] == 's';
			char msg[512];
			if (!json_object_is_type(val, json_type_string) ||
			    (sched ? snapshot_schedule_check : snapshot_expiry_check)(s, msg, sizeof msg)) {
				api_error(
					resp, 400, "invalid_snapshot_policy", "%s",
					json_object_is_type(val, json_type_string)
						? msg
						: "snapshot_schedule and snapshot_expiry are strings (\"\" turns them off)");
				goto bad;
			}
			snprintf(sched ? job->snap_schedule : job->snap_expiry,
				 sched ? sizeof job->snap_schedule : sizeof job->snap_expiry, "%s", s);
			*(sched ? &job->snap_schedule_set : &job->snap_expiry_set) = 1;
		} else {
			api_error(resp, 400, "invalid_request",
				  "unknown field \"%.40s\"; this takes cpu, memory, "
				  "disk, autostart, snapshot_schedule and snapshot_expiry",
				  key);
			goto bad;
		}
		any = 1;
	}
	if (!any) {
		api_error(resp, 400, "invalid_request",
			  "nothing to change: give cpu, memory, disk, snapshot_schedule or "
			  "snapshot_expiry");
		goto bad;
	}
	if (*job->disk && pool_enforces_quota(d, 1, resp) < 0)
		goto bad;
	start_op(d, req, resp, "resize", job->user, 1, lifecycle_resize, job);
	return;
bad:
	lifecycle_job_free(job);
}
