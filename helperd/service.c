/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon state's shared operations: per-thread clients, refresh
 * (Incus -> registry -> snapshots), instance names. */
#include "service.h"

#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "helperd_log.h"
#include "registry_hold.h"

struct incus_client *helperd_client(struct helperd *d, char *err, size_t errlen)
{
	struct incus_client *c = NULL;
	enum incus_status s = incus_open(d->incus_socket, &c, err, errlen);
	pthread_mutex_lock(&d->lock);
	d->backend_up = s == INCUS_OK;
	if (s != INCUS_OK)
		snprintf(d->backend_error, sizeof d->backend_error, "%s", err);
	pthread_mutex_unlock(&d->lock);
	return s == INCUS_OK ? c : NULL;
}

void helperd_instance_name(const struct helperd *d, const char *user, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", user, d->cfg.instance_suffix);
}

/* Publishes are serialised: two refreshes racing could otherwise rename an
 * older registry's files over a newer one's. */
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether two registries publish the same snapshots. */
static int same_snapshot(const struct registry *a, const struct registry *b)
{
	if (a->count != b->count)
		return 0;
	for (size_t i = 0; i < a->count; i++) {
		const struct account *x = &a->accounts[i], *y = &b->accounts[i];
		if (strcmp(x->name, y->name) || x->uid != y->uid || x->state != y->state ||
		    memcmp(x->ipv4, y->ipv4, 4) || x->key_count != y->key_count)
			return 0;
		for (size_t k = 0; k < x->key_count; k++)
			if (strcmp(x->keys[k], y->keys[k]))
				return 0;
	}
	return 1;
}

/* Free the registry a refresh replaced.  Its accounts lie between the
 * new registry's (both were built by small allocations, instance by
 * instance, among the json-c objects of each instance's parse), so glibc
 * cannot give their pages back by shrinking the heap: malloc_trim(0) does
 * (at 10,000 accounts, about 5 MiB; bench/README.md, helperd-rss-10k). */
static void registry_retire(struct registry *old)
{
	registry_free(old);
	malloc_trim(0);
}

static int refresh(struct helperd *d, struct incus_client *c, int force, char *err, size_t errlen)
{
	pthread_mutex_lock(&publish_lock);
	struct registry fresh;
	enum incus_status s = registry_load(c, &fresh, err, errlen);
	pthread_mutex_lock(&d->lock);
	d->backend_up = s == INCUS_OK;
	if (s != INCUS_OK) {
		snprintf(d->backend_error, sizeof d->backend_error, "%s", err);
		pthread_mutex_unlock(&d->lock);
		pthread_mutex_unlock(&publish_lock);
		return -1;
	}
	struct registry old = d->reg;
	if (fresh.n_unreachable) {
		char keys_db[300];
		snprintf(keys_db, sizeof keys_db, "%s/keys.db", d->cfg.state_dir);
		size_t put = registry_carry_over(&fresh, &old, keys_db, d->cfg.instance_suffix);
		log_warning("%zu containers are on a cluster member that does not answer (%s first); their %zu "
			    "users stay as last published until it is back",
			    fresh.n_unreachable, fresh.unreachable[0].location, put);
	}
	if (registry_apply_holds(&fresh, &old))
		log_error("out of memory keeping an account being restored as it was");
	d->reg = fresh;
	if (!force && d->publishes && same_snapshot(&old, &d->reg)) {
		pthread_mutex_unlock(&d->lock);
		pthread_mutex_unlock(&publish_lock);
		registry_retire(&old);
		return 0;
	}
	/* Publish from the new registry while holding the lock so readers
	 * of d->reg and the files agree; publishing is fast (see bench). */
	int r = registry_publish(&d->reg, &d->cfg, d->keys_gid, err, errlen);
	if (r == 0) {
		d->publishes++;
		clock_gettime(CLOCK_REALTIME, &d->last_publish);
		snapshot_marks_take(&d->marks, d->cfg.state_dir);
	} else {
		d->publish_failures++;
	}
	pthread_mutex_unlock(&d->lock);
	pthread_mutex_unlock(&publish_lock);
	registry_retire(&old);
	if (r)
		log_error("publishing %s/passwd.db and keys.db failed: %s", d->cfg.state_dir, err);
	return r;
}

int helperd_refresh(struct helperd *d, struct incus_client *c, char *err, size_t errlen)
{
	return refresh(d, c, 1, err, errlen);
}

int helperd_refresh_if_changed(struct helperd *d, struct incus_client *c, char *err, size_t errlen)
{
	return refresh(d, c, 0, err, errlen);
}

int helperd_repair_snapshots(struct helperd *d)
{
	char what[320], err[512];
	int r = 0;
	pthread_mutex_lock(&publish_lock);
	/* Before the first publish there is nothing to keep as it was. */
	if (!d->publishes || !snapshot_marks_check(&d->marks, d->cfg.state_dir, what, sizeof what)) {
		d->repair_failed[0] = '\0';
		pthread_mutex_unlock(&publish_lock);
		return 0;
	}
	/* The directory itself may be what went. */
	if (mkdir(d->cfg.state_dir, 0755) != 0 && errno != EEXIST)
		log_warning("cannot create state_dir %s again: %s", d->cfg.state_dir, strerror(errno));
	pthread_mutex_lock(&d->lock);
	r = registry_publish(&d->reg, &d->cfg, d->keys_gid, err, sizeof err);
	if (r == 0) {
		d->publishes++;
		d->snapshot_repairs++;
		clock_gettime(CLOCK_REALTIME, &d->last_publish);
		snapshot_marks_take(&d->marks, d->cfg.state_dir);
	} else {
		d->publish_failures++;
	}
	size_t users = d->reg.count;
	pthread_mutex_unlock(&d->lock);
	if (r == 0) {
		log_warning("%s/%s; published both snapshots again (%zu users, from the registry helperd holds)",
			    d->cfg.state_dir, what, users);
		d->repair_failed[0] = '\0';
		r = 1;
	} else if (strcmp(d->repair_failed, what) != 0) {
		/* Once per cause, not at every poll while it lasts. */
		log_error("%s/%s, and publishing it again failed: %s (helperd retries at every poll)", d->cfg.state_dir,
			  what, err);
		snprintf(d->repair_failed, sizeof d->repair_failed, "%s", what);
	}
	pthread_mutex_unlock(&publish_lock);
	return r;
}

enum incus_status helperd_load_account(struct incus_client *c, struct helperd *d, const char *user, struct account *a,
				       char **etag, char *err, size_t errlen)
{
	char iname[64], path[128], why[512];
	helperd_instance_name(d, user, iname, sizeof iname);
	snprintf(path, sizeof path, "/1.0/instances/%s", iname);
	json_object *inst = NULL;
	enum incus_status st = incus_get(c, path, &inst, etag, err, errlen);
	if (st != INCUS_OK)
		return st;
	int got = account_from_instance(inst, a, why, sizeof why);
	json_object_put(inst);
	if (got <= 0) {
		if (etag) {
			free(*etag);
			*etag = NULL;
		}
		snprintf(err, errlen, "%s is not a Containarium container%s%s", iname, got < 0 ? ": " : "",
			 got < 0 ? why : "");
		return INCUS_ERR_NOT_FOUND;
	}
	return INCUS_OK;
}
