/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshots of a user's container: take one, delete one, restore one.
 *
 * A restore brings back the container's files only.  Incus restores the
 * instance's config with them, which here is also the user's registry
 * entry (user.containarium.*: keys, state, address), its NIC (the pinned
 * address and the isolation options) and its reservations (profiles), and
 * its limits and snapshot schedule.  All of those stay as they are now: a
 * key removed since the snapshot must not come back, and the address and
 * uid are the account's, not the disk's.  So the config read before the
 * restore is put back right after it, the snapshot-time authorized_keys
 * inside the container is replaced by today's keys, and meanwhile the
 * registry keeps publishing the account as it was (registry_hold.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helperd_log.h"
#include "instance.h"
#include "lifecycle.h"
#include "registry_hold.h"

static int http_for(enum incus_status s)
{
	switch (s) {
	case INCUS_ERR_UNAVAILABLE: return 503;
	case INCUS_ERR_CONFLICT: return 409;
	case INCUS_ERR_NOT_FOUND: return 404;
	case INCUS_ERR_TIMEOUT: return 504;
	default: return 502;
	}
}

static void fail_incus(struct operation *op, enum incus_status st, const char *what, const char *err)
{
	const char *reason = incus_error_reason(err);
	operation_fail(op, http_for(st), st == INCUS_ERR_UNAVAILABLE ? "backend_unavailable" : "backend_error",
		       "%s: %s%s", what, reason != err ? "the backend said: " : "", reason);
}

/* The account and a client, or NULL after failing op (an unknown user is
 * a sentence, not the backend's 404). */
static struct incus_client *begin(struct operation *op, struct lifecycle_job *job, struct account *a, char *err,
				  size_t errlen)
{
	struct incus_client *c = helperd_client(job->d, err, errlen);
	if (!c) {
		operation_fail(op, 503, "backend_unavailable", "%s", err);
		return NULL;
	}
	enum incus_status st = helperd_load_account(c, job->d, job->user, a, NULL, err, errlen);
	if (st == INCUS_ERR_NOT_FOUND)
		operation_fail(op, 404, "not_found", "user %s has no container; list them with containarium list",
			       job->user);
	else if (st != INCUS_OK)
		fail_incus(op, st, "reading the container", err);
	if (st != INCUS_OK) {
		incus_close(c);
		return NULL;
	}
	return c;
}

static void snapshot_path(char *buf, size_t len, const char *instance, const char *snap)
{
	snprintf(buf, len, "/1.0/instances/%s/snapshots%s%s", instance, *snap ? "/" : "", snap);
}

static void no_such_snapshot(struct operation *op, const struct lifecycle_job *job)
{
	operation_fail(op, 404, "not_found",
		       "user %s has no snapshot named %s; containarium snapshot list %s "
		       "shows them",
		       job->user, job->snapshot, job->user);
}

json_object *snapshot_to_json(json_object *s)
{
	json_object *o = json_object_new_object(), *v;
	const char *name = json_object_object_get_ex(s, "name", &v) ? json_object_get_string(v) : "";
	/* LXD and Incus name a snapshot "snap0" in its own object but
	 * "INSTANCE/snap0" in some answers. */
	const char *slash = strrchr(name, '/');
	json_object_object_add(o, "name", json_object_new_string(slash ? slash + 1 : name));
	json_object_object_add(o, "created_at",
			       json_object_new_string(json_object_object_get_ex(s, "created_at", &v)
							      ? json_object_get_string(v)
							      : ""));
	/* Go's zero time means "never". */
	const char *exp = json_object_object_get_ex(s, "expires_at", &v) ? json_object_get_string(v) : "";
	json_object_object_add(o, "expires_at",
			       json_object_new_string(exp && strncmp(exp, "0001-01-01", 10) != 0 ? exp : ""));
	if (json_object_object_get_ex(s, "size", &v) && json_object_get_int64(v) > 0)
		json_object_object_add(o, "size_bytes", json_object_new_int64(json_object_get_int64(v)));
	json_object *cfg, *st;
	if (json_object_object_get_ex(s, "config", &cfg) && json_object_object_get_ex(cfg, ACCT_KEY_STATE, &st))
		json_object_object_add(o, "account_state", json_object_new_string(json_object_get_string(st)));
	return o;
}

void lifecycle_snapshot_create(struct operation *op, void *arg)
{
	struct lifecycle_job *job = arg;
	char err[1024], path[256];
	struct account a;
	struct incus_client *c = begin(op, job, &a, err, sizeof err);
	if (!c)
		return;
	if (!*job->snapshot) {
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(job->snapshot, sizeof job->snapshot, "snap-%Y%m%d-%H%M%S", &tm);
	}
	operation_step(op, 1, "Taking snapshot...");
	json_object *md = NULL;
	/* Asked first: Incus 6.0 answers a taken name with a database error. */
	snapshot_path(path, sizeof path, a.instance, job->snapshot);
	enum incus_status st = incus_get(c, path, NULL, NULL, err, sizeof err);
	if (st == INCUS_OK) {
		operation_fail(op, 409, "already_exists",
			       "user %s has a snapshot named %s already; choose another "
			       "name or delete it first",
			       job->user, job->snapshot);
		goto done;
	}
	snapshot_path(path, sizeof path, a.instance, "");
	json_object *b = json_object_new_object();
	json_object_object_add(b, "name", json_object_new_string(job->snapshot));
	json_object_object_add(b, "stateful", json_object_new_boolean(0));
	/* A snapshot someone asked for is kept until deleted: snapshots.expiry
	 * is for the scheduled ones (Incus would apply it to both). */
	json_object_object_add(b, "expires_at", json_object_new_string("0001-01-01T00:00:00Z"));
	st = incus_call(c, "POST", path, b, NULL, 600, NULL, err, sizeof err);
	json_object_put(b);
	if (st == INCUS_ERR_CONFLICT || (st != INCUS_OK && (strstr(err, "already exists") || strstr(err, "UNIQUE")))) {
		operation_fail(op, 409, "already_exists",
			       "user %s has a snapshot named %s already; choose another "
			       "name or delete it first",
			       job->user, job->snapshot);
		goto done;
	}
	if (st != INCUS_OK) {
		fail_incus(op, st, "taking the snapshot", err);
		goto done;
	}
	snapshot_path(path, sizeof path, a.instance, job->snapshot);
	if ((st = incus_get(c, path, &md, NULL, err, sizeof err)) != INCUS_OK) {
		fail_incus(op, st, "reading the new snapshot", err);
		goto done;
	}
	json_object *result = snapshot_to_json(md);
	json_object_object_add(result, "user", json_object_new_string(job->user));
	json_object_object_add(result, "container", json_object_new_string(a.instance));
	log_notice("snapshot %s of %s taken", job->snapshot, a.instance);
	operation_succeed(op, result);
done:
	json_object_put(md);
	account_free(&a);
	incus_close(c);
}

void lifecycle_snapshot_delete(struct operation *op, void *arg)
{
	struct lifecycle_job *job = arg;
	char err[1024], path[256];
	struct account a;
	struct incus_client *c = begin(op, job, &a, err, sizeof err);
	if (!c)
		return;
	operation_step(op, 1, "Deleting snapshot...");
	snapshot_path(path, sizeof path, a.instance, job->snapshot);
	enum incus_status st = incus_call(c, "DELETE", path, NULL, NULL, 600, NULL, err, sizeof err);
	if (st == INCUS_ERR_NOT_FOUND) {
		no_such_snapshot(op, job);
	} else if (st != INCUS_OK) {
		fail_incus(op, st, "deleting the snapshot", err);
	} else {
		json_object *result = json_object_new_object();
		json_object_object_add(result, "user", json_object_new_string(job->user));
		json_object_object_add(result, "container", json_object_new_string(a.instance));
		json_object_object_add(result, "name", json_object_new_string(job->snapshot));
		json_object_object_add(result, "deleted", json_object_new_boolean(1));
		log_notice("snapshot %s of %s deleted", job->snapshot, a.instance);
		operation_succeed(op, result);
	}
	account_free(&a);
	incus_close(c);
}

/* The instance as it should be after the restore: today's config (every
 * key but volatile.*, which Incus keeps for itself and which the restore
 * set consistently with the restored disk), devices and profiles, on top
 * of what Incus shows after the restore. */
static json_object *config_as_now(json_object *now, json_object *after)
{
	json_object *body = json_object_new_object(), *cfg = json_object_new_object(), *v;
	static const char *const members[] = { "architecture", "devices",     "profiles", "ephemeral",
					       "stateful",     "description", NULL };
	for (const char *const *m = members; *m; m++)
		if (json_object_object_get_ex(now, *m, &v))
			json_object_object_add(body, *m, json_object_get(v));
	json_object *nowcfg = NULL, *aftercfg = NULL;
	if (json_object_object_get_ex(now, "config", &nowcfg) && json_object_is_type(nowcfg, json_type_object)) {
		json_object_object_foreach(nowcfg, k, val) if (strncmp(k, "volatile.", 9) != 0)
			json_object_object_add(cfg, k, json_object_get(val));
	}
	if (json_object_object_get_ex(after, "config", &aftercfg) && json_object_is_type(aftercfg, json_type_object)) {
		json_object_object_foreach(aftercfg, k, val) if (strncmp(k, "volatile.", 9) == 0)
			json_object_object_add(cfg, k, json_object_get(val));
	}
	json_object_object_add(body, "config", cfg);
	return body;
}

/* PUT today's config back (config_as_now), retrying when something else
 * changed the instance in between (412: the ETag no longer matches). */
static enum incus_status put_back(struct incus_client *c, const char *instance, json_object *now, char *err,
				  size_t errlen)
{
	char path[160];
	snprintf(path, sizeof path, "/1.0/instances/%s", instance);
	enum incus_status st = INCUS_ERR_CONFLICT;
	for (int tries = 0; tries < 3 && st == INCUS_ERR_CONFLICT; tries++) {
		json_object *after = NULL;
		char *etag = NULL;
		if ((st = incus_get(c, path, &after, &etag, err, errlen)) != INCUS_OK)
			break;
		json_object *body = config_as_now(now, after);
		st = incus_call(c, "PUT", path, body, etag, 120, NULL, err, errlen);
		json_object_put(body);
		json_object_put(after);
		free(etag);
	}
	return st;
}

/* The user's uid and gid inside the container, from its /etc/passwd
 * (read as a file: the container may be stopped).  0, or -1. */
static int inner_ids(struct incus_client *c, const char *instance, const char *user, unsigned *uid, unsigned *gid)
{
	char *pw = NULL, err[512];
	size_t len = 0, ul = strlen(user);
	if (incus_file_pull(c, instance, "/etc/passwd", &pw, &len, err, sizeof err) != INCUS_OK)
		return -1;
	int r = -1;
	for (char *line = pw; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, user, ul) == 0 && line[ul] == ':' &&
		    sscanf(line + ul, ":%*[^:]:%u:%u:", uid, gid) == 2) {
			r = 0;
			break;
		}
	free(pw);
	return r;
}

/* Today's keys into the restored home (the snapshot's authorized_keys is
 * as old as the snapshot).  0, or -1 with a sentence in why. */
static int keys_back(struct incus_client *c, const struct account *a, char *why, size_t whylen)
{
	unsigned uid, gid;
	if (inner_ids(c, a->instance, a->name, &uid, &gid)) {
		snprintf(why, whylen, "the restored container has no user %s in /etc/passwd", a->name);
		return -1;
	}
	char err[512];
	if (instance_push_authorized_keys(c, a->instance, a->name, a->keys, a->key_count, uid, gid, err, sizeof err) !=
	    INCUS_OK) {
		snprintf(why, whylen, "writing /home/%s/.ssh/authorized_keys: %s", a->name, incus_error_reason(err));
		return -1;
	}
	return 0;
}

void lifecycle_snapshot_restore(struct operation *op, void *arg)
{
	struct lifecycle_job *job = arg;
	struct helperd *d = job->d;
	char err[1024], path[256], why[512];
	struct account a;
	json_object *snap = NULL, *now = NULL, *cfg, *v;
	enum incus_status st;
	int held = 0, failed = 0;
	struct incus_client *c = begin(op, job, &a, err, sizeof err);
	if (!c)
		return;
	operation_step(op, 1, "Checking snapshot...");
	snapshot_path(path, sizeof path, a.instance, job->snapshot);
	st = incus_get(c, path, &snap, NULL, err, sizeof err);
	if (st == INCUS_ERR_NOT_FOUND) {
		no_such_snapshot(op, job);
		goto done;
	}
	if (st != INCUS_OK) {
		fail_incus(op, st, "reading the snapshot", err);
		goto done;
	}
	/* A snapshot taken while the container was still being created has
	 * no user inside, or half of one. */
	if (json_object_object_get_ex(snap, "config", &cfg) && json_object_object_get_ex(cfg, ACCT_KEY_STATE, &v) &&
	    strcmp(json_object_get_string(v), "provisioning") == 0) {
		operation_fail(op, 409, "snapshot_unusable",
			       "snapshot %s of %s was taken while the container was "
			       "still being created; restore another one",
			       job->snapshot, job->user);
		goto done;
	}
	snprintf(path, sizeof path, "/1.0/instances/%s", a.instance);
	if ((st = incus_get(c, path, &now, NULL, err, sizeof err)) != INCUS_OK) {
		fail_incus(op, st, "reading the container", err);
		goto done;
	}
	if (registry_hold(job->user)) {
		operation_fail(op, 503, "busy", "too many restores at once; retry in a moment");
		goto done;
	}
	held = 1;
	int was_running = strcmp(a.status, "Stopped") != 0;
	operation_step(op, 2, "Stopping container...");
	if (was_running && instance_set_state(c, a.instance, "stop", 0, 30, err, sizeof err) != INCUS_OK &&
	    (st = instance_set_state(c, a.instance, "stop", 1, 30, err, sizeof err)) != INCUS_OK) {
		fail_incus(op, st, "stopping before the restore, nothing was restored", err);
		goto done;
	}
	operation_step(op, 3, "Restoring snapshot...");
	json_object *b = json_object_new_object();
	json_object_object_add(b, "restore", json_object_new_string(job->snapshot));
	st = incus_call(c, "PUT", path, b, NULL, 1800, NULL, err, sizeof err);
	json_object_put(b);
	/* Whatever the restore did, today's config goes back. */
	char e2[1024];
	enum incus_status put = put_back(c, a.instance, now, e2, sizeof e2);
	if (st != INCUS_OK) {
		fail_incus(op, st, "restoring the snapshot", err);
		failed = 1;
		goto restart;
	}
	operation_step(op, 4, "Keeping today's account, address and keys...");
	if (put != INCUS_OK) {
		log_error("restore of %s to %s: cannot put today's config back: %s", a.instance, job->snapshot, e2);
		fail_incus(op, put,
			   "the files are restored, but today's account settings could not be put back "
			   "(restore again to retry)",
			   e2);
		goto done;
	}
	if (keys_back(c, &a, why, sizeof why)) {
		operation_fail(op, 502, "backend_error",
			       "the files are restored, but today's SSH keys could not be "
			       "written into the container: %s",
			       why);
		goto restart;
	}
restart:
	if (was_running) {
		if (failed)
			operation_step(op, 5, "Starting container again...");
		else
			operation_step(op, 5, "Starting container...");
		if ((st = instance_set_state(c, a.instance, "start", 0, 60, err, sizeof err)) != INCUS_OK ||
		    (st = instance_wait_ready(c, a.instance, account_ipv4(&a), 90, err, sizeof err)) != INCUS_OK) {
			if (!failed)
				fail_incus(op, st, "the snapshot is restored, but starting the container failed", err);
			goto done;
		}
	}
	if (failed)
		goto done;
	registry_unhold(job->user);
	held = 0;
	if (helperd_refresh(d, c, err, sizeof err))
		log_error("publishing the snapshot failed: %s", err);
	pthread_mutex_lock(&d->lock);
	const struct account *now_a = registry_find(&d->reg, job->user);
	json_object *result = now_a ? account_to_json(now_a) : json_object_new_object();
	pthread_mutex_unlock(&d->lock);
	json_object_object_add(result, "restored", json_object_new_string(job->snapshot));
	log_notice("restored %s to snapshot %s (today's account, address and keys kept)", a.instance, job->snapshot);
	operation_succeed(op, result);
done:
	if (held) {
		registry_unhold(job->user);
		if (helperd_refresh(d, c, err, sizeof err))
			log_error("publishing the snapshot failed: %s", err);
	}
	json_object_put(snap);
	json_object_put(now);
	account_free(&a);
	incus_close(c);
}
