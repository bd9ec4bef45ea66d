#include "registry.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocate.h"
#include "helperd_log.h"
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
	json_object_object_foreach(devs, dname, dev) {
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
			log_warning("instances %s and %s both claim user %s; ignoring %s",
				    r->accounts[i - 1].instance, r->accounts[i].instance, r->accounts[i].name,
				    r->accounts[i].instance);
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
	memset(r, 0, sizeof *r);
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

int registry_publish(const struct registry *r, const struct helperd_config *cfg, gid_t keys_gid,
		     char *err, size_t errlen)
{
	struct ctm_user_spec *users = calloc(r->count ? r->count : 1, sizeof *users);
	if (!users) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Two instances with one uid: a create racing another helperd holds
	 * it until it moves (allocate.h; the settling needs to see both, so
	 * the registry keeps both).  Publish only the earliest, never both:
	 * the writer would refuse the whole snapshot. */
	unsigned char *later = later_duplicates(r);
	size_t n = 0;
	for (size_t i = 0; i < r->count; i++) {
		const struct account *a = &r->accounts[i];
		if (later && later[i])
			continue;
		/* An account outside the configured range cannot be published
		 * safely (it may be another host's uid); say so once per publish. */
		if (a->uid < cfg->uid_min || a->uid > cfg->uid_max) {
			log_warning("user %s has uid %u outside uid_min/uid_max %u-%u; not published",
				    a->name, a->uid, cfg->uid_min, cfg->uid_max);
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
