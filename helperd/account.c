/* SPDX-License-Identifier: Apache-2.0 */
#include "account.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nic_policy.h"
#include "reservation.h"
#include "snapshot_reader.h"
#include "sshkey.h"
#include "username.h"

static const char *cfg(json_object *config, const char *key)
{
	json_object *v = NULL;
	if (!config || !json_object_object_get_ex(config, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

const char *account_state_name(uint32_t state)
{
	switch (state) {
	case CTM_STATE_ACTIVE: return "active";
	case CTM_STATE_SUSPENDED: return "suspended";
	case CTM_STATE_PROVISIONING: return "provisioning";
	}
	return "unknown";
}

int account_state_parse(const char *s, uint32_t *state)
{
	for (uint32_t i = CTM_STATE_MIN; i <= CTM_STATE_MAX; i++)
		if (s && strcmp(s, account_state_name(i)) == 0) {
			*state = i;
			return 0;
		}
	return -1;
}

static const char empty[] = "";

static char host_ca_fp[64];

void account_set_host_ca(const char *fingerprint)
{
	snprintf(host_ca_fp, sizeof host_ca_fp, "%s", fingerprint ? fingerprint : "");
}

const char *account_host_cert_name(unsigned state)
{
	switch (state) {
	case ACCT_HOST_CERT_MISSING: return "missing";
	case ACCT_HOST_CERT_CURRENT: return "current";
	case ACCT_HOST_CERT_STALE: return "stale";
	}
	return "off";
}

/* record ("SHA256:<CA> <IPv4>") against the CA now and the address. */
static unsigned host_cert_state(const char *record, const unsigned char ipv4[4])
{
	if (!*host_ca_fp)
		return ACCT_HOST_CERT_OFF;
	if (!record || !*record)
		return ACCT_HOST_CERT_MISSING;
	char ip[INET_ADDRSTRLEN] = "";
	inet_ntop(AF_INET, ipv4, ip, sizeof ip);
	size_t fl = strlen(host_ca_fp);
	return strncmp(record, host_ca_fp, fl) == 0 && record[fl] == ' ' && strcmp(record + fl + 1, ip) == 0
		       ? ACCT_HOST_CERT_CURRENT
		       : ACCT_HOST_CERT_STALE;
}

static void strings_clear(struct account *a)
{
	a->instance = a->created = a->status = a->cpu = a->memory = a->disk = empty;
	a->image = a->owner = a->incus_created = a->location = empty;
}

void account_free(struct account *a)
{
	for (size_t i = 0; i < a->key_count; i++)
		free(a->keys[i]);
	free(a->keys);
	a->keys = NULL;
	a->key_count = 0;
	free(a->text);
	a->text = NULL;
	strings_clear(a);
}

char *account_keys_join(char *const *keys, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(keys[i]) + 1;
	char *s = malloc(len), *p = s;
	if (!s)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "\n" : "", keys[i]);
	return s;
}

/* The instance's strings for one account, gathered before they are packed
 * into one allocation. */
enum {
	S_INSTANCE,
	S_CREATED,
	S_STATUS,
	S_CPU,
	S_MEMORY,
	S_DISK,
	S_IMAGE,
	S_OWNER,
	S_INCUS_CREATED,
	S_LOCATION,
	S_COUNT
};

/* Longest kept value of each (the sizes of the arrays these once were, less the NUL). */
static const size_t string_max[S_COUNT] = { 63, 31, 15, 15, 31, 31, 127, 127, 47, 63 };

static int strings_pack(struct account *a, const char *const v[S_COUNT])
{
	size_t len[S_COUNT], total = 0;
	for (int i = 0; i < S_COUNT; i++) {
		len[i] = v[i] ? strnlen(v[i], string_max[i]) : 0;
		total += len[i] ? len[i] + 1 : 0;
	}
	strings_clear(a);
	if (!total)
		return 0;
	char *p = a->text = malloc(total);
	if (!p)
		return -1;
	const char **dst[S_COUNT] = { &a->instance, &a->created, &a->status, &a->cpu,           &a->memory,
				      &a->disk,     &a->image,   &a->owner,  &a->incus_created, &a->location };
	for (int i = 0; i < S_COUNT; i++) {
		if (!len[i])
			continue;
		memcpy(p, v[i], len[i]);
		p[len[i]] = '\0';
		*dst[i] = p;
		p += len[i] + 1;
	}
	return 0;
}

static int parse_keys(const char *text, struct account *a, char *why, size_t whylen)
{
	if (!text || !*text)
		return 0;
	size_t n = 1;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	if (n > CTM_KEYS_PER_USER_MAX) {
		snprintf(why, whylen, "%s holds %zu keys; the limit is %d", ACCT_KEY_KEYS, n, CTM_KEYS_PER_USER_MAX);
		return -1;
	}
	a->keys = calloc(n, sizeof *a->keys);
	if (!a->keys)
		return -1;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		struct ctm_sshkey k;
		char msg[256], canon[CTM_KEY_LINE_MAX + 1];
		if (ctm_sshkey_parse(p, len, &k, msg, sizeof msg) != CTM_KEY_OK) {
			snprintf(why, whylen, "%s, key %zu: %s", ACCT_KEY_KEYS, a->key_count + 1, msg);
			return -1;
		}
		ctm_sshkey_format(&k, canon, sizeof canon);
		if (!(a->keys[a->key_count++] = strdup(canon)))
			return -1;
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}

static const char *member_string(json_object *o, const char *key)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

int account_from_instance(json_object *inst, struct account *a, char *why, size_t whylen)
{
	memset(a, 0, sizeof *a);
	strings_clear(a);
	json_object *config = NULL, *devices = NULL;
	if (!json_object_is_type(inst, json_type_object) || !json_object_object_get_ex(inst, "config", &config) ||
	    !json_object_is_type(config, json_type_object))
		return 0;
	const char *managed = cfg(config, ACCT_KEY_MANAGED);
	if (!managed || strcmp(managed, "true") != 0)
		return 0;
	const char *iname = member_string(inst, "name");
	const char *user = cfg(config, ACCT_KEY_USER), *uid = cfg(config, ACCT_KEY_UID);
	const char *state = cfg(config, ACCT_KEY_STATE), *ip = cfg(config, ACCT_KEY_IPV4);
	char msg[256];
	if (!iname || strlen(iname) > string_max[S_INSTANCE]) {
		snprintf(why, whylen, "instance without a usable name");
		return -1;
	}
	if (!user || ctm_username_check(user, strlen(user), msg, sizeof msg) != CTM_NAME_OK) {
		snprintf(why, whylen, "instance %s: %s: %s", iname, ACCT_KEY_USER, user ? msg : "missing");
		return -1;
	}
	snprintf(a->name, sizeof a->name, "%s", user);
	char *end;
	errno = 0;
	unsigned long u = uid ? strtoul(uid, &end, 10) : 0;
	if (!uid || errno || *end || u == 0 || u > UINT32_MAX - 1) {
		snprintf(why, whylen, "instance %s: %s \"%s\" is not a uid", iname, ACCT_KEY_UID, uid ? uid : "");
		return -1;
	}
	a->uid = (uint32_t)u;
	if (account_state_parse(state, &a->state)) {
		snprintf(why, whylen, "instance %s: %s \"%s\" is not a state", iname, ACCT_KEY_STATE,
			 state ? state : "");
		return -1;
	}
	if (ip && *ip && inet_pton(AF_INET, ip, a->ipv4) != 1) {
		snprintf(why, whylen, "instance %s: %s \"%s\" is not an IPv4 address", iname, ACCT_KEY_IPV4, ip);
		return -1;
	}
	if (parse_keys(cfg(config, ACCT_KEY_KEYS), a, why, whylen)) {
		account_free(a);
		return -1;
	}
	a->host_cert = (unsigned char)host_cert_state(cfg(config, ACCT_KEY_HOST_CERT), a->ipv4);
	const char *as = cfg(config, "boot.autostart");
	a->autostart = as && strcmp(as, "true") == 0;
	const char *dk = cfg(config, ACCT_KEY_DOCKER);
	a->docker = dk && strcmp(dk, "true") == 0;
	json_object *root = NULL, *nic = NULL;
	if (json_object_object_get_ex(inst, "devices", &devices) && json_object_object_get_ex(devices, "root", &root) &&
	    !json_object_is_type(root, json_type_object))
		root = NULL;
	if (devices && json_object_object_get_ex(devices, ACCT_NIC, &nic) && json_object_is_type(nic, json_type_object))
		a->nic_options = nic_options_of(nic);
	/* Its reservations (reservation.h): the profiles named after its
	 * uid and address. */
	json_object *profiles = NULL;
	if (json_object_object_get_ex(inst, "profiles", &profiles) && json_object_is_type(profiles, json_type_array)) {
		char uid_res[RESERVATION_NAME_MAX], ip_res[RESERVATION_NAME_MAX];
		reservation_uid_name(a->uid, uid_res, sizeof uid_res);
		reservation_ipv4_name(account_ipv4(a), ip_res, sizeof ip_res);
		for (size_t i = 0; i < json_object_array_length(profiles); i++) {
			const char *p = json_object_get_string(json_object_array_get_idx(profiles, i));
			if (p && strcmp(p, uid_res) == 0)
				a->reservations |= ACCT_RESERVED_UID;
			else if (p && strcmp(p, ip_res) == 0)
				a->reservations |= ACCT_RESERVED_IPV4;
		}
	}
	const char *v[S_COUNT] = {
		[S_INSTANCE] = iname,
		[S_CREATED] = cfg(config, ACCT_KEY_CREATED),
		[S_STATUS] = member_string(inst, "status"),
		[S_CPU] = cfg(config, "limits.cpu"),
		[S_MEMORY] = cfg(config, "limits.memory"),
		[S_DISK] = cfg(root, "size"),
		[S_IMAGE] = cfg(config, ACCT_KEY_IMAGE),
		[S_OWNER] = cfg(config, ACCT_KEY_OWNER),
		[S_INCUS_CREATED] = member_string(inst, "created_at"),
		/* The cluster member it runs on; "none" outside a cluster. */
		[S_LOCATION] = member_string(inst, "location"),
	};
	if (strings_pack(a, v)) {
		snprintf(why, whylen, "instance %s: out of memory", iname);
		account_free(a);
		return -1;
	}
	return 1;
}

json_object *account_to_json(const struct account *a)
{
	json_object *o = json_object_new_object(), *keys = json_object_new_array();
	char ip[INET_ADDRSTRLEN] = "";
	static const unsigned char none[4];
	if (memcmp(a->ipv4, none, 4) != 0)
		inet_ntop(AF_INET, a->ipv4, ip, sizeof ip);
	json_object_object_add(o, "name", json_object_new_string(a->name));
	json_object_object_add(o, "container", json_object_new_string(a->instance));
	json_object_object_add(o, "uid", json_object_new_int64(a->uid));
	json_object_object_add(o, "state", json_object_new_string(account_state_name(a->state)));
	json_object_object_add(o, "status", json_object_new_string(a->status));
	json_object_object_add(o, "ipv4", json_object_new_string(ip));
	json_object_object_add(o, "cpu", json_object_new_string(a->cpu));
	json_object_object_add(o, "memory", json_object_new_string(a->memory));
	json_object_object_add(o, "disk", json_object_new_string(a->disk));
	json_object_object_add(o, "autostart", json_object_new_boolean(a->autostart));
	json_object_object_add(o, "docker", json_object_new_boolean(a->docker));
	json_object_object_add(o, "image", json_object_new_string(a->image));
	json_object_object_add(o, "created", json_object_new_string(a->created));
	json_object_object_add(o, "location", json_object_new_string(*a->location ? a->location : "none"));
	for (size_t i = 0; i < a->key_count; i++)
		json_object_array_add(keys, json_object_new_string(a->keys[i]));
	json_object_object_add(o, "ssh_keys", keys);
	json_object_object_add(o, "network_security", nic_options_json(a->nic_options));
	json_object_object_add(o, "host_certificate", json_object_new_string(account_host_cert_name(a->host_cert)));
	return o;
}

int account_carry(struct account *dst, const struct account *src)
{
	*dst = *src;
	dst->keys = NULL;
	dst->key_count = 0;
	dst->text = NULL;
	strings_clear(dst);
	dst->carried = 1;
	if (src->key_count && !(dst->keys = calloc(src->key_count, sizeof *dst->keys)))
		return -1;
	for (size_t i = 0; i < src->key_count; i++)
		if (!(dst->keys[dst->key_count++] = strdup(src->keys[i]))) {
			account_free(dst);
			return -1;
		}
	const char *v[S_COUNT] = {
		[S_INSTANCE] = src->instance, [S_CREATED] = src->created, [S_STATUS] = "Unknown",
		[S_CPU] = src->cpu,           [S_MEMORY] = src->memory,   [S_DISK] = src->disk,
		[S_IMAGE] = src->image,       [S_OWNER] = src->owner,     [S_INCUS_CREATED] = src->incus_created,
		[S_LOCATION] = src->location,
	};
	if (strings_pack(dst, v)) {
		account_free(dst);
		return -1;
	}
	return 0;
}

int account_from_snapshot(struct account *dst, const struct ctm_keys *k, const char *instance, const char *location)
{
	memset(dst, 0, sizeof *dst);
	strings_clear(dst);
	dst->carried = 1;
	snprintf(dst->name, sizeof dst->name, "%s", k->name);
	dst->uid = k->uid;
	dst->state = k->state;
	memcpy(dst->ipv4, k->ipv4, 4);
	if (k->key_count && !(dst->keys = calloc(k->key_count, sizeof *dst->keys)))
		return -1;
	for (const char *line = ctm_keys_next(k, NULL); line; line = ctm_keys_next(k, line))
		if (dst->key_count < k->key_count && !(dst->keys[dst->key_count++] = strdup(line))) {
			account_free(dst);
			return -1;
		}
	const char *v[S_COUNT] = { [S_INSTANCE] = instance, [S_STATUS] = "Unknown", [S_LOCATION] = location };
	if (strings_pack(dst, v)) {
		account_free(dst);
		return -1;
	}
	return 0;
}
