/* SPDX-License-Identifier: Apache-2.0 */
/* A user back from a delete --backup tarball, in five steps.  The user
 * gets back the uid and address the backup holds when they are still
 * free, else new ones, and the result says which changed and why; the
 * keys, files and everything else are the backup's.  All-or-nothing: a
 * failure removes what was imported and gives back what was reserved, and
 * the tarball is only ever read. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocate.h"
#include "backup_index.h"
#include "helperd_log.h"
#include "instance.h"
#include "lifecycle.h"
#include "nic_policy.h"
#include "registry_hold.h"
#include "reservation.h"

struct wanted {
	uint32_t uid, ip;                                                 /* what the account gets (host order ip) */
	uint32_t old_uid, old_ip;                                         /* what the backup had */
	char uid_res[RESERVATION_NAME_MAX], ip_res[RESERVATION_NAME_MAX]; /* claimed by us ("" = none) */
	char note[2][256];                                                /* why a value changed */
	/* The candidate pair this helperd holds while the restore runs
	 * (allocate.h keeps pairs; a value not picked is a placeholder). */
	uint32_t held_uid, held_ip;
	int held;
};

static int in_subnet(const struct subnet *sn, uint32_t ip)
{
	return ip && (ip & sn->mask) == sn->network && ip != sn->gateway && ip != sn->network &&
	       ip != (sn->network | ~sn->mask);
}

/* Claim the backup's value when it is free, else the lowest free one.
 * k: 0 uid, 1 address. */
static enum incus_status claim_one(struct incus_client *c, struct helperd *d, const char *user,
				   const struct registry *reg, const struct subnet *sn, int k, struct wanted *w,
				   char *err, size_t errlen)
{
	char name[RESERVATION_NAME_MAX], txt[INET_ADDRSTRLEN];
	uint32_t old = k ? w->old_ip : w->old_uid;
	const struct account *holder = k ? NULL : registry_find_uid(reg, old);
	int usable = k ? in_subnet(sn, old) &&
				     !registry_ipv4_used(reg, (unsigned char[4]){ old >> 24, old >> 16, old >> 8, old })
		       : old >= d->cfg.uid_min && old <= d->cfg.uid_max && !holder;
	if (k)
		subnet_ip_text(old, txt, sizeof txt);
	enum incus_status st;
	if (usable) {
		if (k)
			reservation_ipv4_name(old, name, sizeof name);
		else
			reservation_uid_name(old, name, sizeof name);
		st = reservation_claim(c, name, user, d->host_id, err, errlen);
		if (st == INCUS_OK) {
			snprintf(k ? w->ip_res : w->uid_res, RESERVATION_NAME_MAX, "%s", name);
			*(k ? &w->ip : &w->uid) = old;
			return INCUS_OK;
		}
		if (st != INCUS_ERR_CONFLICT)
			return st;
		snprintf(w->note[k], sizeof w->note[k], "its %s %s%s is reserved by another account now",
			 k ? "address" : "uid", k ? txt : "", k ? "" : (snprintf(txt, sizeof txt, "%u", old), txt));
	} else if (k) {
		snprintf(w->note[k], sizeof w->note[k], "its address %s is %s", txt,
			 in_subnet(sn, old) ? "pinned by another container now"
					    : "not in this host's container network");
	} else {
		snprintf(w->note[k], sizeof w->note[k], "its uid %u %s", old,
			 holder ? "belongs to another user now" : "is outside uid_min/uid_max");
		if (holder)
			snprintf(w->note[k], sizeof w->note[k], "its uid %u belongs to %s now", old, holder->name);
	}
	/* Another value: the lowest free one, claimed as a create does. */
	struct alloc_skip skip = { 0 };
	if (k)
		allocate_skip_ip(&skip, old);
	else
		allocate_skip_uid(&skip, old);
	uint32_t uid = w->held ? w->held_uid : w->uid ? w->uid : 1, ip = w->held ? w->held_ip : 1;
	for (int tries = 0; tries < ALLOC_SKIP_MAX - 1; tries++) {
		if (allocate_pick(reg, d->cfg.uid_min, d->cfg.uid_max, sn, &skip, !k, k, &uid, &ip)) {
			snprintf(err, errlen, "no free %s left", k ? "IPv4 address" : "uid");
			return INCUS_ERR_CONFLICT;
		}
		if (k)
			reservation_ipv4_name(ip, name, sizeof name);
		else
			reservation_uid_name(uid, name, sizeof name);
		w->held = 1;
		w->held_uid = uid;
		w->held_ip = ip;
		st = reservation_claim(c, name, user, d->host_id, err, errlen);
		if (st == INCUS_OK) {
			snprintf(k ? w->ip_res : w->uid_res, RESERVATION_NAME_MAX, "%s", name);
			*(k ? &w->ip : &w->uid) = k ? ip : uid;
			return INCUS_OK;
		}
		if (st != INCUS_ERR_CONFLICT || (k ? allocate_skip_ip(&skip, ip) : allocate_skip_uid(&skip, uid)))
			return st;
	}
	snprintf(err, errlen, "could not reserve a %s: every candidate was reserved already", k ? "address" : "uid");
	return INCUS_ERR_CONFLICT;
}

static void release_claims(struct incus_client *c, struct wanted *w)
{
	char e2[512];
	for (int k = 0; k < 2; k++) {
		char *res = k ? w->ip_res : w->uid_res;
		if (*res && reservation_release(c, res, e2, sizeof e2) != INCUS_OK)
			log_warning("could not remove reservation %s (%s); the next helperd start removes it", res, e2);
		*res = '\0';
	}
}

static enum incus_status patch(struct incus_client *c, const char *iname, json_object *b, char *err, size_t errlen)
{
	char path[160];
	snprintf(path, sizeof path, "/1.0/instances/%s", iname);
	enum incus_status st = incus_call(c, "PATCH", path, b, NULL, 120, NULL, err, errlen);
	json_object_put(b);
	return st;
}

void lifecycle_import(struct operation *op, void *arg)
{
	struct lifecycle_job *job = arg;
	struct helperd *d = job->d;
	char err[1024], iname[64], ipbuf[INET_ADDRSTRLEN], uidbuf[16];
	struct backup_index bi;
	struct wanted w = { 0 };
	struct subnet sn = { 0 };
	struct registry reg = { 0 };
	int imported = 0, done = 0;
	enum incus_status st;
	helperd_instance_name(d, job->user, iname, sizeof iname);
	struct incus_client *c = helperd_client(d, err, sizeof err);
	if (!c) {
		operation_fail(op, 503, "backend_unavailable", "%s", err);
		return;
	}
	if (registry_hold(job->user)) {
		operation_fail(op, 503, "busy", "too many restores at once; retry in a moment");
		incus_close(c);
		return;
	}
	operation_step(op, 1, "Reserving uid and address...");
	if (backup_index_read(job->backup_file, &bi, err, sizeof err)) {
		operation_fail(op, 400, "invalid_backup", "%s", err);
		goto out;
	}
	struct in_addr in;
	w.old_uid = (uint32_t)strtoul(bi.uid, NULL, 10);
	w.old_ip = inet_pton(AF_INET, bi.ipv4, &in) == 1 ? ntohl(in.s_addr) : 0;
	if ((st = registry_load(c, &reg, err, sizeof err)) != INCUS_OK)
		goto incus_fail;
	if (registry_find(&reg, job->user)) {
		operation_fail(op, 409, "already_exists",
			       "user %s exists already; the backup %s is left as it is "
			       "(delete the user first to restore it)",
			       job->user, job->backup_file);
		goto out;
	}
	if (network_subnet(c, d, &sn, err, sizeof err)) {
		operation_fail(op, 500, "backend_misconfigured", "%s", err);
		goto out;
	}
	for (int k = 0; k < 2; k++)
		if ((st = claim_one(c, d, job->user, &reg, &sn, k, &w, err, sizeof err)) != INCUS_OK) {
			if (st == INCUS_ERR_CONFLICT) {
				operation_fail(op, 507, "no_capacity", "%s", err);
				goto out;
			}
			goto incus_fail;
		}
	operation_step(op, 2, "Importing container...");
	st = incus_import_backup(c, job->backup_file, iname, d->cfg.storage_pool, 3600, err, sizeof err);
	if (st != INCUS_OK) {
		/* Incus may have made part of it (a name clash is refused first). */
		imported = st != INCUS_ERR_CONFLICT && !strstr(err, "already exists");
		if (!imported) {
			operation_fail(op, 409, "already_exists",
				       "a container named %s exists already; the backup "
				       "is left as it is",
				       iname);
			goto out;
		}
		goto incus_fail;
	}
	imported = 1;
	operation_step(op, 3, "Giving back its uid, address and keys...");
	{
		/* Marked provisioning until it runs: a crash from here on leaves
		 * an instance reconcile removes, never a half-restored user. */
		struct nic_policy nic;
		nic_policy_for(c, &d->cfg, &nic);
		subnet_ip_text(w.ip, ipbuf, sizeof ipbuf);
		snprintf(uidbuf, sizeof uidbuf, "%u", w.uid);
		json_object *b = json_object_new_object(), *cfg = json_object_new_object();
		json_object *devs = json_object_new_object(), *prof = json_object_new_array();
		json_object_object_add(cfg, ACCT_KEY_UID, json_object_new_string(uidbuf));
		json_object_object_add(cfg, ACCT_KEY_IPV4, json_object_new_string(ipbuf));
		json_object_object_add(cfg, ACCT_KEY_STATE, json_object_new_string("provisioning"));
		json_object_object_add(cfg, ACCT_KEY_OWNER, json_object_new_string(d->host_id));
		json_object_object_add(b, "config", cfg);
		json_object_object_add(devs, ACCT_NIC, nic_device_new(&d->cfg, &nic, ipbuf));
		json_object_object_add(b, "devices", devs);
		json_object_array_add(prof, json_object_new_string(w.uid_res));
		json_object_array_add(prof, json_object_new_string(w.ip_res));
		json_object_object_add(b, "profiles", prof);
		if ((st = patch(c, iname, b, err, sizeof err)) != INCUS_OK)
			goto incus_fail;
	}
	operation_step(op, 4, "Starting container...");
	if ((st = instance_set_state(c, iname, "start", 0, 60, err, sizeof err)) != INCUS_OK ||
	    (st = instance_wait_ready(c, iname, w.ip, 90, err, sizeof err)) != INCUS_OK)
		goto incus_fail;
	operation_step(op, 5, "Activating jump account...");
	{
		json_object *b = json_object_new_object(), *cfg = json_object_new_object();
		json_object_object_add(
			cfg, ACCT_KEY_STATE,
			json_object_new_string(strcmp(bi.state, "suspended") == 0 ? "suspended" : "active"));
		json_object_object_add(b, "config", cfg);
		if ((st = patch(c, iname, b, err, sizeof err)) != INCUS_OK)
			goto incus_fail;
	}
	registry_unhold(job->user);
	if (helperd_refresh(d, c, err, sizeof err)) {
		registry_hold(job->user); /* for the rollback's own unhold */
		operation_fail(op, 500, "publish_failed",
			       "the container is back but the host snapshot could not be "
			       "written: %s",
			       err);
		goto rollback;
	}
	pthread_mutex_lock(&d->lock);
	const struct account *a = registry_find(&d->reg, job->user);
	json_object *result = a ? account_to_json(a) : json_object_new_object();
	pthread_mutex_unlock(&d->lock);
	json_object_object_add(result, "restored_from", json_object_new_string(job->backup_file));
	json_object *notes = json_object_new_array();
	for (int k = 0; k < 2; k++)
		if (*w.note[k]) {
			char line[400];
			if (k)
				subnet_ip_text(w.ip, ipbuf, sizeof ipbuf);
			snprintf(line, sizeof line, "%s, so it has %s %s", w.note[k], k ? "address" : "uid",
				 k ? ipbuf : uidbuf);
			json_object_array_add(notes, json_object_new_string(line));
			log_notice("restore %s: %s", job->user, line);
		}
	json_object_object_add(result, "uid_kept", json_object_new_boolean(!*w.note[0]));
	json_object_object_add(result, "ipv4_kept", json_object_new_boolean(!*w.note[1]));
	json_object_object_add(result, "notes", notes);
	log_notice("restored %s (%s) from %s", job->user, iname, job->backup_file);
	operation_succeed(op, result);
	done = 1;
	goto out;

incus_fail:
	operation_fail(op, st == INCUS_ERR_UNAVAILABLE ? 503 : 502,
		       st == INCUS_ERR_UNAVAILABLE ? "backend_unavailable" : "backend_error",
		       "restoring %s failed, nothing was kept and the backup is left as it is: %s%s", job->user,
		       incus_error_reason(err) != err ? "the backend said: " : "", incus_error_reason(err));
rollback:
	if (imported) {
		char e2[512];
		if (instance_destroy(c, iname, e2, sizeof e2) != INCUS_OK)
			log_error("restore of %s failed and %s could not be removed (%s); helperd removes it at its "
				  "next start",
				  job->user, iname, e2);
	}
out:
	if (!done)
		release_claims(c, &w);
	if (w.held)
		allocate_release(w.held_uid, w.held_ip);
	if (!done) {
		registry_unhold(job->user);
		char e2[512];
		if (imported && helperd_refresh(d, c, e2, sizeof e2))
			log_error("publishing after a failed restore: %s", e2);
	}
	registry_free(&reg);
	subnet_free(&sn);
	incus_close(c);
}
