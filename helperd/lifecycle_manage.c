/* SPDX-License-Identifier: Apache-2.0 */
/* Start, stop, delete (with optional backup), resize, and reconcile. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helperd_log.h"
#include "host_cert.h"
#include "instance.h"
#include "lifecycle.h"
#include "nic_policy.h"
#include "reservation.h"
#include "snapshot_policy.h"
#include "snapshot_writer.h"

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
	operation_fail(op, http_for(st),
		       st == INCUS_ERR_UNAVAILABLE ? "backend_unavailable"
		       : st == INCUS_ERR_NOT_FOUND ? "not_found"
						   : "backend_error",
		       "%s: %s%s", what, reason != err ? "the backend said: " : "", reason);
}

static void succeed_with_account(struct operation *op, struct helperd *d, const char *user)
{
	pthread_mutex_lock(&d->lock);
	const struct account *a = registry_find(&d->reg, user);
	json_object *result = a ? account_to_json(a) : json_object_new_object();
	pthread_mutex_unlock(&d->lock);
	operation_succeed(op, result); /* the operation owns result now */
}

/* Every operation on an existing account starts alike: its own client,
 * and the account as Incus has it now.  NULL after failing op. */
static struct incus_client *begin(struct operation *op, struct lifecycle_job *job, struct account *a, const char *what,
				  char *err, size_t errlen)
{
	struct incus_client *c = helperd_client(job->d, err, errlen);
	if (!c) {
		operation_fail(op, 503, "backend_unavailable", "%s", err);
		return NULL;
	}
	enum incus_status st = helperd_load_account(c, job->d, job->user, a, NULL, err, errlen);
	if (st == INCUS_ERR_NOT_FOUND) {
		/* The sentence info gives, whatever the command. */
		operation_fail(op, 404, "not_found", "user %s has no container; list them with containarium list",
			       job->user);
		incus_close(c);
		return NULL;
	}
	if (st != INCUS_OK) {
		fail_incus(op, st, what, err);
		incus_close(c);
		return NULL;
	}
	return c;
}

static void refresh_or_log(struct helperd *d, struct incus_client *c)
{
	char err[512];
	if (helperd_refresh(d, c, err, sizeof err))
		log_error("publishing the snapshot failed: %s", err);
}

void lifecycle_start(struct operation *op, void *arg)
{
	struct lifecycle_job *job = arg;
	char err[1024];
	struct account a;
	enum incus_status st;
	struct incus_client *c = begin(op, job, &a, "starting", err, sizeof err);
	if (!c)
		return;
	uint32_t ip = account_ipv4(&a);
	operation_step(op, 1, "Starting container...");
	if (strcmp(a.status, "Running") != 0 &&
	    (st = instance_set_state(c, a.instance, "start", 0, 60, err, sizeof err)) != INCUS_OK) {
		fail_incus(op, st, "starting", err);
		goto done;
	}
	operation_step(op, 2, "Waiting for network...");
	if ((st = instance_wait_ready(c, a.instance, ip, 90, err, sizeof err)) != INCUS_OK) {
		fail_incus(op, st, "starting", err);
		goto done;
	}
	/* Its certificates are from another CA or address (a rotation while
	 * it was stopped, a snapshot or backup restored): signed again now. */
	if ((a.host_cert == ACCT_HOST_CERT_MISSING || a.host_cert == ACCT_HOST_CERT_STALE) &&
	    (st = host_cert_renew(c, job->d, &a, err, sizeof err)) != INCUS_OK) {
		refresh_or_log(job->d, c);
		operation_fail(op, 502, "host_certificate_failed",
			       "%s runs, but its SSH host certificate could not "
			       "be renewed: %s; users who trust only the host CA are refused until it is (start it "
			       "again, or restart helperd)",
			       a.instance, incus_error_reason(err));
		goto done;
	}
	refresh_or_log(job->d, c);
	succeed_with_account(op, job->d, job->user);
done:
	account_free(&a);
	incus_close(c);
}

void lifecycle_stop(struct operation *op, void *arg)
{
	struct lifecycle_job *job = arg;
	char err[1024];
	struct account a;
	enum incus_status st;
	struct incus_client *c = begin(op, job, &a, "stopping", err, sizeof err);
	if (!c)
		return;
	operation_step(op, 1, "Stopping container...");
	if (strcmp(a.status, "Stopped") != 0 &&
	    (st = instance_set_state(c, a.instance, "stop", job->force, 60, err, sizeof err)) != INCUS_OK) {
		fail_incus(op, st, "stopping", err);
		goto done;
	}
	refresh_or_log(job->d, c);
	succeed_with_account(op, job->d, job->user);
done:
	account_free(&a);
	incus_close(c);
}

/* Export the instance to backup_dir/<instance>-<UTC time>.tar.gz. */
static enum incus_status backup(struct incus_client *c, struct helperd *d, const char *iname, char *file,
				size_t filelen, char *err, size_t errlen)
{
	char path[256], bname[64], when[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(bname, sizeof bname, "containarium-%s", when);
	snprintf(path, sizeof path, "/1.0/instances/%s/backups", iname);
	json_object *b = json_object_new_object();
	json_object_object_add(b, "name", json_object_new_string(bname));
	json_object_object_add(b, "instance_only", json_object_new_boolean(1));
	json_object_object_add(b, "optimized_storage", json_object_new_boolean(0));
	json_object_object_add(b, "compression_algorithm", json_object_new_string("gzip"));
	enum incus_status st = incus_call(c, "POST", path, b, NULL, 3600, NULL, err, errlen);
	json_object_put(b);
	if (st != INCUS_OK)
		return st;
	if (mkdir(d->cfg.backup_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create backup_dir %s: %s", d->cfg.backup_dir, strerror(errno));
		st = INCUS_ERR_REQUEST;
	} else {
		snprintf(file, filelen, "%s/%s-%s.tar.gz", d->cfg.backup_dir, iname, when);
		snprintf(path, sizeof path, "/1.0/instances/%s/backups/%s/export", iname, bname);
		st = incus_download(c, path, file, 0600, err, errlen);
	}
	/* The export is ours now; do not leave the backup inside Incus too. */
	char e2[256];
	snprintf(path, sizeof path, "/1.0/instances/%s/backups/%s", iname, bname);
	incus_call(c, "DELETE", path, NULL, NULL, 120, NULL, e2, sizeof e2);
	return st;
}

/* After its instance is gone, a's uid and address are free again
 * (reservation.h).  Incus refuses to delete a reservation another instance
 * still carries, so a value two accounts held stays reserved. */
static void release_reservations(struct incus_client *c, const struct account *a, const char *done)
{
	char res[RESERVATION_NAME_MAX], e2[512];
	for (int k = 0; k < 2; k++) {
		if (k == 0)
			reservation_uid_name(a->uid, res, sizeof res);
		else
			reservation_ipv4_name(account_ipv4(a), res, sizeof res);
		if (reservation_release(c, res, e2, sizeof e2) != INCUS_OK)
			log_warning("%s %s but not its reservation %s: %s", done, a->instance, res, e2);
	}
}

void lifecycle_delete(struct operation *op, void *arg)
{
	struct lifecycle_job *job = arg;
	struct helperd *d = job->d;
	char err[1024], file[512] = "";
	struct account a;
	enum incus_status st;
	struct incus_client *c = begin(op, job, &a, "deleting", err, sizeof err);
	if (!c)
		return;
	if (strcmp(a.status, "Stopped") != 0 && !job->force) {
		operation_fail(op, 409, "container_running", "%s is %s: stop it first, or delete with force",
			       a.instance, a.status);
		goto done;
	}
	if (job->backup) {
		operation_step(op, 1, "Stopping container...");
		if (strcmp(a.status, "Stopped") != 0 &&
		    (st = instance_set_state(c, a.instance, "stop", 1, 60, err, sizeof err)) != INCUS_OK) {
			fail_incus(op, st, "stopping before the backup", err);
			goto done;
		}
		operation_step(op, 2, "Exporting backup...");
		if ((st = backup(c, d, a.instance, file, sizeof file, err, sizeof err)) != INCUS_OK) {
			fail_incus(op, st, "backup failed, nothing was deleted", err);
			goto done;
		}
	}
	operation_step(op, job->backup ? 3 : 1, "Deleting container...");
	if ((st = instance_destroy(c, a.instance, err, sizeof err)) != INCUS_OK) {
		fail_incus(op, st, "deleting", err);
		goto done;
	}
	release_reservations(c, &a, "deleted");
	refresh_or_log(d, c);
	json_object *result = json_object_new_object();
	json_object_object_add(result, "name", json_object_new_string(job->user));
	json_object_object_add(result, "container", json_object_new_string(a.instance));
	json_object_object_add(result, "deleted", json_object_new_boolean(1));
	if (*file)
		json_object_object_add(result, "backup", json_object_new_string(file));
	log_notice("deleted %s (%s)%s%s", job->user, a.instance, *file ? ", backup " : "", file);
	operation_succeed(op, result); /* the operation owns result now */
done:
	account_free(&a);
	incus_close(c);
}

void lifecycle_resize(struct operation *op, void *arg)
{
	struct lifecycle_job *job = arg;
	char err[1024], path[128];
	struct account a;
	enum incus_status st;
	struct incus_client *c = begin(op, job, &a, "resizing", err, sizeof err);
	if (!c)
		return;
	operation_step(op, 1,
		       *job->cpu || *job->memory || *job->disk ? "Applying new limits..." : "Applying new settings...");
	snprintf(path, sizeof path, "/1.0/instances/%s", a.instance);
	json_object *b = json_object_new_object(), *cfg = json_object_new_object();
	if (*job->cpu)
		json_object_object_add(cfg, "limits.cpu", json_object_new_string(job->cpu));
	if (*job->memory)
		json_object_object_add(cfg, "limits.memory", json_object_new_string(job->memory));
	if (job->autostart_set)
		json_object_object_add(cfg, "boot.autostart",
				       json_object_new_string(job->autostart ? "true" : "false"));
	snapshot_policy_to_config(cfg, job->snap_schedule_set ? job->snap_schedule : NULL,
				  job->snap_expiry_set ? job->snap_expiry : NULL);
	json_object_object_add(b, "config", cfg);
	if (*job->disk) {
		json_object *devs = json_object_new_object(), *root = json_object_new_object();
		json_object_object_add(root, "type", json_object_new_string("disk"));
		json_object_object_add(root, "path", json_object_new_string("/"));
		json_object_object_add(root, "pool", json_object_new_string(job->d->cfg.storage_pool));
		json_object_object_add(root, "size", json_object_new_string(job->disk));
		json_object_object_add(devs, "root", root);
		json_object_object_add(b, "devices", devs);
	}
	st = incus_call(c, "PATCH", path, b, NULL, 120, NULL, err, sizeof err);
	json_object_put(b);
	if (st != INCUS_OK) {
		fail_incus(op, st, "resizing", err);
		goto done;
	}
	refresh_or_log(job->d, c);
	if (job->snap_schedule_set || job->snap_expiry_set) {
		/* The schedule is not part of the account: answer with it. */
		pthread_mutex_lock(&job->d->lock);
		const struct account *now = registry_find(&job->d->reg, job->user);
		json_object *result = now ? account_to_json(now) : json_object_new_object();
		pthread_mutex_unlock(&job->d->lock);
		json_object *m = NULL, *cf, *v;
		if (incus_get(c, path, &m, NULL, err, sizeof err) == INCUS_OK &&
		    json_object_object_get_ex(m, "config", &cf)) {
			json_object_object_add(
				result, "snapshot_schedule",
				json_object_new_string(json_object_object_get_ex(cf, "snapshots.schedule", &v)
							       ? json_object_get_string(v)
							       : ""));
			json_object_object_add(
				result, "snapshot_expiry",
				json_object_new_string(json_object_object_get_ex(cf, "snapshots.expiry", &v)
							       ? json_object_get_string(v)
							       : ""));
		}
		json_object_put(m);
		operation_succeed(op, result);
		goto done;
	}
	succeed_with_account(op, job->d, job->user);
done:
	account_free(&a);
	incus_close(c);
}

/* Containers created before helperd set the NIC options (or by a helperd
 * with other settings) get them now, live: same NIC, same address, same
 * keys.  Only settled accounts (a create in progress sets them itself),
 * and only those inside this helperd's uid_min/uid_max: one outside may
 * belong to another deployment on the same Incus, with its own policy, and
 * two policies would undo each other at every start (as publishing skips
 * such accounts too). */
static void nic_reconcile(struct helperd *d, struct incus_client *c, const struct registry *reg,
			  const struct nic_policy *p)
{
	for (size_t i = 0; i < reg->count; i++) {
		const struct account *a = &reg->accounts[i];
		unsigned changed;
		char e2[512], what[160];
		if (a->carried || a->state == CTM_STATE_PROVISIONING || operation_busy(a->name) ||
		    a->uid < d->cfg.uid_min || a->uid > d->cfg.uid_max ||
		    nic_policy_target(p, a->nic_options) == a->nic_options)
			continue;
		if (nic_apply_to_instance(c, p, a->instance, &changed, e2, sizeof e2) != INCUS_OK) {
			log_error("cannot bring the NIC of %s to the isolation policy (%s); helperd tries again "
				  "at its next start",
				  a->instance, e2);
			continue;
		}
		nic_options_text(changed, what, sizeof what);
		if (changed)
			log_notice("%s: NIC options changed to the isolation policy: %s", a->instance, what);
	}
}

/* Who carries reservation name: 1 when no instance, 0 when exactly
 * instance, -1 when another (its name in other), -2 when it cannot be read. */
static int reservation_holder(struct incus_client *c, const char *name, const char *instance, char *other,
			      size_t otherlen)
{
	char path[128], e2[256];
	json_object *md = NULL, *used = NULL;
	snprintf(path, sizeof path, "/1.0/profiles/%s", name);
	if (incus_get(c, path, &md, NULL, e2, sizeof e2) != INCUS_OK)
		return -2;
	int r = 1;
	size_t n = json_object_object_get_ex(md, "used_by", &used) && json_object_is_type(used, json_type_array)
			   ? json_object_array_length(used)
			   : 0;
	for (size_t i = 0; i < n; i++) {
		/* "/1.0/instances/NAME" (with "?project=..." outside the default) */
		const char *u = json_object_get_string(json_object_array_get_idx(used, i));
		const char *last = u ? strrchr(u, '/') : NULL;
		size_t len = last ? strcspn(last + 1, "?") : 0;
		if (last && len == strlen(instance) && strncmp(last + 1, instance, len) == 0) {
			r = r == 1 ? 0 : r;
		} else {
			snprintf(other, otherlen, "%.*s", (int)len, last ? last + 1 : "?");
			r = -1;
		}
	}
	json_object_put(md);
	return r;
}

/* Accounts made before reservations existed (or whose reservation was
 * lost) get theirs: claimed, or adopted when it exists and nobody carries
 * it, then attached.  A value two accounts hold (what the old protocol
 * could leave) is reported, not changed: one of them must be re-created. */
static void reservations_reconcile(struct helperd *d, struct incus_client *c, const struct registry *reg)
{
	for (size_t i = 0; i < reg->count; i++) {
		const struct account *a = &reg->accounts[i];
		if (a->carried || a->state == CTM_STATE_PROVISIONING || operation_busy(a->name) ||
		    a->uid < d->cfg.uid_min || a->uid > d->cfg.uid_max ||
		    a->reservations == (ACCT_RESERVED_UID | ACCT_RESERVED_IPV4))
			continue;
		char names[2][RESERVATION_NAME_MAX], e2[512], other[128];
		reservation_uid_name(a->uid, names[0], sizeof names[0]);
		reservation_ipv4_name(account_ipv4(a), names[1], sizeof names[1]);
		int ok = 1;
		for (int k = 0; k < 2 && ok; k++) {
			if (a->reservations & (k ? ACCT_RESERVED_IPV4 : ACCT_RESERVED_UID))
				continue;
			enum incus_status st = reservation_claim(c, names[k], a->name, d->host_id, e2, sizeof e2);
			if (st == INCUS_ERR_CONFLICT) {
				int h = reservation_holder(c, names[k], a->instance, other, sizeof other);
				if (h == -1)
					log_error("%s and %s both hold %s %s: re-create one of them (delete with "
						  "--backup, create again)",
						  a->instance, other, k ? "address" : "uid",
						  names[k] + strlen(k ? "ctm-ipv4-" : "ctm-uid-"));
				ok = h >= 0;
			} else if (st != INCUS_OK) {
				log_error("cannot reserve %s for %s (%s); helperd tries again at its next start",
					  names[k], a->instance, e2);
				ok = 0;
			}
		}
		if (!ok)
			continue;
		/* Attach both to what the instance carries now. */
		char path[256], *etag = NULL;
		json_object *inst = NULL, *profiles = NULL;
		snprintf(path, sizeof path, "/1.0/instances/%s", a->instance);
		if (incus_get(c, path, &inst, &etag, e2, sizeof e2) != INCUS_OK) {
			log_error("cannot read %s to attach its reservations: %s", a->instance, e2);
			continue;
		}
		json_object *now = json_object_new_array();
		if (json_object_object_get_ex(inst, "profiles", &profiles) &&
		    json_object_is_type(profiles, json_type_array))
			for (size_t j = 0; j < json_object_array_length(profiles); j++) {
				const char *p = json_object_get_string(json_object_array_get_idx(profiles, j));
				if (p && strcmp(p, names[0]) != 0 && strcmp(p, names[1]) != 0)
					json_object_array_add(now, json_object_new_string(p));
			}
		json_object_array_add(now, json_object_new_string(names[0]));
		json_object_array_add(now, json_object_new_string(names[1]));
		json_object *b = json_object_new_object();
		json_object_object_add(b, "profiles", now);
		if (incus_call(c, "PATCH", path, b, etag, 60, NULL, e2, sizeof e2) == INCUS_OK)
			log_notice("%s: reserved its uid and address (%s, %s)", a->instance, names[0], names[1]);
		else
			log_error("cannot attach the reservations of %s (%s); helperd tries again at its next start",
				  a->instance, e2);
		json_object_put(b);
		json_object_put(inst);
		free(etag);
	}
}

int lifecycle_reconcile(struct helperd *d, struct incus_client *c, char *err, size_t errlen)
{
	struct nic_policy p;
	char what[512];
	nic_policy_for(c, &d->cfg, &p);
	nic_policy_describe(&p, what, sizeof what);
	if (p.wanted & ~p.supported)
		log_warning("%s", what);
	else
		log_info("%s", what);
	struct registry reg;
	if (registry_load(c, &reg, err, errlen) != INCUS_OK)
		return -1;
	time_t now = time(NULL);
	for (size_t i = 0; i < reg.count; i++) {
		const struct account *a = &reg.accounts[i];
		if (a->state != CTM_STATE_PROVISIONING || operation_busy(a->name))
			continue;
		/* Ours: we just started, so no create of ours is running.  Another
		 * host's: give its create 15 minutes before calling it dead. */
		struct tm tm = { 0 };
		int old = strptime(a->created, "%Y-%m-%dT%H:%M:%SZ", &tm) && now - timegm(&tm) > 15 * 60;
		if (strcmp(a->owner, d->host_id) != 0 && !old)
			continue;
		char e2[512];
		log_warning("removing %s: its create did not finish (helperd stopped part-way)", a->instance);
		if (instance_destroy(c, a->instance, e2, sizeof e2) != INCUS_OK) {
			log_error("could not remove %s: %s", a->instance, e2);
			continue;
		}
		release_reservations(c, a, "removed");
	}
	nic_reconcile(d, c, &reg, &p);
	reservations_reconcile(d, c, &reg);
	registry_free(&reg);
	/* Reservations nobody carries: a create that died before its
	 * instance existed, or whose instance was removed above.  An hour:
	 * a create may hold them that long while its image is pulled. */
	char e2[512];
	if (reservation_reap(c, 3600, e2, sizeof e2) < 0)
		log_warning("cannot list the reservations to remove unused ones: %s", e2);
	/* Read again: what was removed or changed above shows. */
	return helperd_refresh(d, c, err, errlen);
}
