#include "account.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void account_free(struct account *a)
{
	for (size_t i = 0; i < a->key_count; i++)
		free(a->keys[i]);
	free(a->keys);
	a->keys = NULL;
	a->key_count = 0;
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

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
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

int account_from_instance(json_object *inst, struct account *a, char *why, size_t whylen)
{
	memset(a, 0, sizeof *a);
	json_object *config = NULL, *devices = NULL, *v = NULL;
	if (!json_object_is_type(inst, json_type_object) ||
	    !json_object_object_get_ex(inst, "config", &config) ||
	    !json_object_is_type(config, json_type_object))
		return 0;
	const char *managed = cfg(config, ACCT_KEY_MANAGED);
	if (!managed || strcmp(managed, "true") != 0)
		return 0;
	const char *iname = json_object_object_get_ex(inst, "name", &v) ? json_object_get_string(v) : NULL;
	const char *user = cfg(config, ACCT_KEY_USER), *uid = cfg(config, ACCT_KEY_UID);
	const char *state = cfg(config, ACCT_KEY_STATE), *ip = cfg(config, ACCT_KEY_IPV4);
	char msg[256];
	if (!iname || strlen(iname) >= sizeof a->instance) {
		snprintf(why, whylen, "instance without a usable name");
		return -1;
	}
	copy(a->instance, sizeof a->instance, iname);
	if (!user || ctm_username_check(user, strlen(user), msg, sizeof msg) != CTM_NAME_OK) {
		snprintf(why, whylen, "instance %s: %s: %s", iname, ACCT_KEY_USER, user ? msg : "missing");
		return -1;
	}
	copy(a->name, sizeof a->name, user);
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
	copy(a->created, sizeof a->created, cfg(config, ACCT_KEY_CREATED));
	copy(a->cpu, sizeof a->cpu, cfg(config, "limits.cpu"));
	copy(a->memory, sizeof a->memory, cfg(config, "limits.memory"));
	const char *as = cfg(config, "boot.autostart");
	a->autostart = as && strcmp(as, "true") == 0;
	copy(a->image, sizeof a->image, cfg(config, ACCT_KEY_IMAGE));
	copy(a->owner, sizeof a->owner, cfg(config, ACCT_KEY_OWNER));
	const char *dk = cfg(config, ACCT_KEY_DOCKER);
	a->docker = dk && strcmp(dk, "true") == 0;
	if (json_object_object_get_ex(inst, "created_at", &v))
		copy(a->incus_created, sizeof a->incus_created, json_object_get_string(v));
	if (json_object_object_get_ex(inst, "status", &v))
		copy(a->status, sizeof a->status, json_object_get_string(v));
	json_object *root = NULL;
	if (json_object_object_get_ex(inst, "devices", &devices) &&
	    json_object_object_get_ex(devices, "root", &root))
		copy(a->disk, sizeof a->disk, cfg(root, "size"));
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
	for (size_t i = 0; i < a->key_count; i++)
		json_object_array_add(keys, json_object_new_string(a->keys[i]));
	json_object_object_add(o, "ssh_keys", keys);
	return o;
}
