/* SPDX-License-Identifier: Apache-2.0 */
#include "registry.h"

#include "snapshot_reader.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocate.h"
#include "helperd_log.h"
#include "snapshot_reader.h"
#include "snapshot_writer.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct account *)a)->name, ((const struct account *)b)->name);
}

static int by_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Collect the ipv4.address of every NIC of an instance (expanded: profiles too). */
static void collect_ipv4(json_object *inst, uint32_t **ips, size_t *n, size_t *cap)
{
	json_object *devs = NULL;
	if (!json_object_object_get_ex(inst, "expanded_devices", &devs) &&
	    !json_object_object_get_ex(inst, "devices", &devs))
		return;
	if (!json_object_is_type(devs, json_type_object))
		return;
	json_object_object_foreach(devs, dname, dev)
	{
		(void)dname;
		json_object *t = NULL, *a = NULL;
		if (!json_object_object_get_ex(dev, "type", &t) || strcmp(json_object_get_string(t), "nic") ||
		    !json_object_object_get_ex(dev, "ipv4.address", &a))
			continue;
		struct in_addr in;
		if (inet_pton(AF_INET, json_object_get_string(a), &in) != 1)
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			uint32_t *g = realloc(*ips, nc * sizeof *g);
			if (!g)
				return;
			*ips = g;
			*cap = nc;
		}
		(*ips)[(*n)++] = ntohl(in.s_addr);
	}
}

static int by_uid_then_age(const void *a, const void *b, void *base)
{
	const struct account *accounts = base;
	const struct account *x = &accounts[*(const size_t *)a], *y = &accounts[*(const size_t *)b];
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	int order = rfc3339_cmp(x->incus_created, y->incus_created);
	return order ? order : strcmp(x->instance, y->instance);
}

/* Marks (1) every account holding a uid an earlier-created account also
 * holds.  NULL when out of memory or nothing to compare. */
static unsigned char *later_duplicates(const struct registry *r)
{
	if (r->count < 2)
		return NULL;
	size_t *idx = malloc(r->count * sizeof *idx);
	unsigned char *drop = calloc(r->count, 1);
	if (!idx || !drop) {
		free(idx);
		free(drop);
		return NULL;
	}
	for (size_t i = 0; i < r->count; i++)
		idx[i] = i;
	qsort_r(idx, r->count, sizeof *idx, by_uid_then_age, r->accounts);
	for (size_t i = 1; i < r->count; i++)
		if (r->accounts[idx[i]].uid == r->accounts[idx[i - 1]].uid) {
			drop[idx[i]] = 1;
			log_info("instances %s and %s both hold uid %u for now; publishing only the earlier",
				 r->accounts[idx[i - 1]].instance, r->accounts[idx[i]].instance,
				 r->accounts[idx[i]].uid);
		}
	free(idx);
	return drop;
}

struct loading {
	struct registry *r;
	size_t cap, ipcap;
};

/* One instance of the list, as it arrives (incus_get_each). */
static int load_instance(json_object *inst, void *arg)
{
	struct loading *l = arg;
	struct registry *r = l->r;
	if (r->count == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct account *g = realloc(r->accounts, nc * sizeof *g);
		if (!g)
			return -1;
		r->accounts = g;
		l->cap = nc;
	}
	char why[512];
	json_object *config = NULL, *v = NULL;
	if (!json_object_object_get_ex(inst, "config", &config) || !json_object_is_type(config, json_type_object)) {
		/* A member that does not answer: Incus lists its instances with
		 * status Error, their location, and no config. */
		const char *name = json_object_object_get_ex(inst, "name", &v) ? json_object_get_string(v) : NULL;
		const char *loc = json_object_object_get_ex(inst, "location", &v) ? json_object_get_string(v) : "";
		if (name && strlen(name) < sizeof r->unreachable->instance) {
			struct registry_unreachable *g = realloc(r->unreachable, (r->n_unreachable + 1) * sizeof *g);
			if (!g)
				return -1;
			r->unreachable = g;
			snprintf(g[r->n_unreachable].instance, sizeof g->instance, "%s", name);
			snprintf(g[r->n_unreachable].location, sizeof g->location, "%s", loc ? loc : "");
			r->n_unreachable++;
		}
		return 0;
	}
	collect_ipv4(inst, &r->used_ipv4, &r->used_ipv4_count, &l->ipcap);
	int got = account_from_instance(inst, &r->accounts[r->count], why, sizeof why);
	if (got > 0) {
		r->count++;
	} else if (got < 0) {
		r->skipped++;
		log_warning("skipping an instance marked as Containarium's: %s", why);
	}
	return 0;
}

enum incus_status registry_load(struct incus_client *c, struct registry *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	/* Instance by instance: the whole answer (41 MB at 10,000 instances)
	 * and its json-c tree (~29 KB per instance) are never held at once. */
	struct loading l = { .r = r, .cap = 1 };
	/* Never NULL, even when empty: callers bsearch it. */
	if (!(r->accounts = calloc(1, sizeof *r->accounts))) {
		snprintf(err, errlen, "out of memory");
		return INCUS_ERR_SERVER;
	}
	enum incus_status s = incus_get_each(c, "/1.0/instances?recursion=1", load_instance, &l, err, errlen);
	if (s != INCUS_OK) {
		registry_free(r);
		return s;
	}
	if (r->count > 1)
		qsort(r->accounts, r->count, sizeof *r->accounts, by_name);
	if (r->used_ipv4_count > 1)
		qsort(r->used_ipv4, r->used_ipv4_count, sizeof *r->used_ipv4, by_u32);
	/* Two instances claiming one user (made by hand?): keep the first,
	 * never publish a name twice. */
	for (size_t i = 1; i < r->count;) {
		if (strcmp(r->accounts[i - 1].name, r->accounts[i].name) == 0) {
			log_warning("instances %s and %s both claim user %s; ignoring %s", r->accounts[i - 1].instance,
				    r->accounts[i].instance, r->accounts[i].name, r->accounts[i].instance);
			account_free(&r->accounts[i]);
			memmove(&r->accounts[i], &r->accounts[i + 1], (r->count - i - 1) * sizeof *r->accounts);
			r->count--;
			r->skipped++;
		} else {
			i++;
		}
	}
	return INCUS_OK;
}

void registry_free(struct registry *r)
{
	for (size_t i = 0; i < r->count; i++)
		account_free(&r->accounts[i]);
	free(r->accounts);
	free(r->used_ipv4);
	free(r->unreachable);
	memset(r, 0, sizeof *r);
}

static int has_name(const struct registry *r, const char *name)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->accounts[i].name, name) == 0)
			return 1;
	return 0;
}

size_t registry_carry_over(struct registry *r, const struct registry *old, const char *keys_db, const char *suffix)
{
	size_t put = 0;
	struct ctm_db db;
	int db_open = -1;
	for (size_t u = 0; u < r->n_unreachable; u++) {
		const struct registry_unreachable *ur = &r->unreachable[u];
		struct account *g = realloc(r->accounts, (r->count + 1) * sizeof *g);
		if (!g)
			break;
		r->accounts = g;
		struct account *a = &r->accounts[r->count];
		int got = 0;
		for (size_t i = 0; old && i < old->count && !got; i++)
			if (strcmp(old->accounts[i].instance, ur->instance) == 0 && !has_name(r, old->accounts[i].name))
				got = account_carry(a, &old->accounts[i]) == 0;
		size_t il = strlen(ur->instance), sl = strlen(suffix);
		if (!got && il > sl && strcmp(ur->instance + il - sl, suffix) == 0) {
			char user[CTM_NAME_MAX + 1];
			struct ctm_keys k;
			snprintf(user, sizeof user, "%.*s", (int)(il - sl), ur->instance);
			if (db_open < 0)
				db_open = ctm_db_open(&db, keys_db, CTM_DB_KEYS);
			if (db_open == CTM_OK && !has_name(r, user) && ctm_keys_by_name(&db, user, &k) == CTM_OK)
				got = account_from_snapshot(a, &k, ur->instance, ur->location) == 0;
		}
		if (!got)
			continue;
		r->count++;
		put++;
		uint32_t ip = account_ipv4(a);
		uint32_t *ips = realloc(r->used_ipv4, (r->used_ipv4_count + 1) * sizeof *ips);
		if (ips) {
			r->used_ipv4 = ips;
			r->used_ipv4[r->used_ipv4_count++] = ip;
		}
	}
	if (db_open == CTM_OK)
		ctm_db_close(&db);
	if (put) {
		qsort(r->accounts, r->count, sizeof *r->accounts, by_name);
		qsort(r->used_ipv4, r->used_ipv4_count, sizeof *r->used_ipv4, by_u32);
	}
	return put;
}

const struct account *registry_find(const struct registry *r, const char *name)
{
	struct account key;
	if (!r->count) /* the registry before the first read has no array */
		return NULL;
	snprintf(key.name, sizeof key.name, "%s", name);
	return bsearch(&key, r->accounts, r->count, sizeof *r->accounts, by_name);
}

const struct account *registry_find_uid(const struct registry *r, uint32_t uid)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->accounts[i].uid == uid)
			return &r->accounts[i];
	return NULL;
}

int registry_ipv4_used(const struct registry *r, const unsigned char ipv4[4])
{
	uint32_t ip = (uint32_t)ipv4[0] << 24 | (uint32_t)ipv4[1] << 16 | (uint32_t)ipv4[2] << 8 | ipv4[3];
	if (!r->used_ipv4_count)
		return 0;
	return bsearch(&ip, r->used_ipv4, r->used_ipv4_count, sizeof ip, by_u32) != NULL;
}

int registry_publish(const struct registry *r, const struct helperd_config *cfg, gid_t keys_gid, char *err,
		     size_t errlen)
{
	struct ctm_user_spec *users = calloc(r->count ? r->count : 1, sizeof *users);
	if (!users) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Two instances with one uid: never from a create (reservation.h),
	 * but accounts made before reservations existed, or instances edited
	 * by hand, can hold one (reconcile reports them).  Publish only the
	 * earliest, never both: the writer would refuse the whole snapshot. */
	unsigned char *later = later_duplicates(r);
	size_t n = 0;
	for (size_t i = 0; i < r->count; i++) {
		const struct account *a = &r->accounts[i];
		if (later && later[i])
			continue;
		/* An account outside the configured range cannot be published
		 * safely (it may be another host's uid); say so once per publish. */
		if (a->uid < cfg->uid_min || a->uid > cfg->uid_max) {
			log_warning("user %s has uid %u outside uid_min/uid_max %u-%u; not published", a->name, a->uid,
				    cfg->uid_min, cfg->uid_max);
			continue;
		}
		users[n].name = a->name;
		users[n].uid = a->uid;
		users[n].state = a->state;
		memcpy(users[n].ipv4, a->ipv4, 4);
		users[n].keys = (const char *const *)a->keys;
		users[n].key_count = a->key_count;
		n++;
	}
	char pw[512], keys[512];
	snprintf(pw, sizeof pw, "%s/passwd.db", cfg->state_dir);
	snprintf(keys, sizeof keys, "%s/keys.db", cfg->state_dir);
	struct ctm_snapshot_spec spec = {
		.generation = 0, /* one more than on disk */
		.group_name = cfg->group_name,
		.gid = cfg->gid,
		.uid_min = cfg->uid_min,
		.uid_max = cfg->uid_max,
		.users = users,
		.user_count = n,
	};
	/* account_from_instance validated and canonicalised every name and key. */
	int ret = ctm_snapshot_publish_canonical(&spec, pw, keys, keys_gid, err, errlen);
	free(users);
	free(later);
	return ret;
}
