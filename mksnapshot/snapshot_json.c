/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "snapshot_format.h"

const char *snapshot_json_state_name(uint32_t s)
{
	switch (s) {
	case CTM_STATE_ACTIVE: return "active";
	case CTM_STATE_SUSPENDED: return "suspended";
	case CTM_STATE_PROVISIONING: return "provisioning";
	default: return "?";
	}
}

static int state_parse(const char *s, uint32_t *out)
{
	for (uint32_t i = CTM_STATE_MIN; i <= CTM_STATE_MAX; i++)
		if (strcmp(s, snapshot_json_state_name(i)) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

/* A whole-number member in [min, max]; absent leaves *out unchanged. */
static int get_uint(json_object *o, const char *key, uint64_t min, uint64_t max, uint64_t *out, const char *where,
		    char *err, size_t errlen)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return ctm_fail(err, errlen, "%s: \"%s\" must be a whole number", where, key);
	errno = 0;
	int64_t n = json_object_get_int64(v);
	if (errno || n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return ctm_fail(err, errlen, "%s: \"%s\" must be between %llu and %llu", where, key,
				(unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

/* A string member without NUL; absent leaves *out unchanged. */
static int get_str(json_object *o, const char *key, const char **out, const char *where, char *err, size_t errlen)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return ctm_fail(err, errlen, "%s: \"%s\" must be a string", where, key);
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return ctm_fail(err, errlen, "%s: \"%s\" contains a NUL character", where, key);
	return 0;
}

static const char *const user_keys[] = { "name", "uid", "gecos", "home", "shell", "state", "ipv4", "keys", NULL };
static const char *const top_keys[] = { "generation", "group", "gid", "uid_min", "uid_max", "users", NULL };

static int only_known(json_object *o, const char *const *known, const char *where, char *err, size_t errlen)
{
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		int ok = 0;
		for (const char *const *k = known; *k; k++)
			ok |= strcmp(*k, key) == 0;
		if (!ok)
			return ctm_fail(err, errlen, "%s: unknown field \"%s\" (a typo?)", where, key);
	}
	return 0;
}

static int map_user(json_object *u, size_t i, struct ctm_user_spec *us, const char **keys, size_t *kpos, char *err,
		    size_t errlen)
{
	char where[64];
	snprintf(where, sizeof where, "user %zu", i);
	const char *state = "active", *ip = NULL;
	uint64_t v = 0;
	json_object *ka;
	if (!json_object_is_type(u, json_type_object))
		return ctm_fail(err, errlen, "%s: must be an object", where);
	if (only_known(u, user_keys, where, err, errlen) || get_str(u, "name", &us->name, where, err, errlen) ||
	    get_uint(u, "uid", 0, UINT32_MAX, &v, where, err, errlen) ||
	    get_str(u, "gecos", &us->gecos, where, err, errlen) || get_str(u, "home", &us->home, where, err, errlen) ||
	    get_str(u, "shell", &us->shell, where, err, errlen) || get_str(u, "state", &state, where, err, errlen) ||
	    get_str(u, "ipv4", &ip, where, err, errlen))
		return -1;
	us->uid = (uint32_t)v;
	if (!us->name || !json_object_object_get_ex(u, "uid", NULL))
		return ctm_fail(err, errlen, "%s: \"name\" and \"uid\" are required", where);
	if (state_parse(state, &us->state))
		return ctm_fail(err, errlen,
				"%s (\"%s\"): state \"%s\" is not one of active, suspended, "
				"provisioning",
				where, us->name, state);
	if (ip && inet_pton(AF_INET, ip, us->ipv4) != 1)
		return ctm_fail(err, errlen, "%s (\"%s\"): ipv4 \"%s\" is not a dotted IPv4 address", where, us->name,
				ip);
	us->keys = keys + *kpos;
	if (!json_object_object_get_ex(u, "keys", &ka))
		return 0;
	if (!json_object_is_type(ka, json_type_array))
		return ctm_fail(err, errlen, "%s (\"%s\"): \"keys\" must be an array of key lines", where, us->name);
	for (size_t k = 0; k < json_object_array_length(ka); k++) {
		json_object *kv = json_object_array_get_idx(ka, k);
		if (!json_object_is_type(kv, json_type_string) ||
		    strlen(json_object_get_string(kv)) != (size_t)json_object_get_string_len(kv))
			return ctm_fail(err, errlen, "%s (\"%s\"): key %zu must be a string without NUL", where,
					us->name, k + 1);
		keys[(*kpos)++] = json_object_get_string(kv);
		us->key_count++;
	}
	return 0;
}

void snapshot_json_free(struct snapshot_json *sj)
{
	free(sj->users);
	free(sj->keys);
	json_object_put(sj->root);
	memset(sj, 0, sizeof *sj);
}

int snapshot_json_parse(const char *text, size_t len, struct snapshot_json *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	struct ctm_snapshot_spec *spec = &out->spec;
	spec->gid = CTM_DEFAULT_GID;
	spec->uid_min = CTM_DEFAULT_UID_MIN;
	spec->uid_max = CTM_DEFAULT_UID_MAX;
	if (len > INT32_MAX)
		return ctm_fail(err, errlen, "input is larger than 2 GiB");
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return ctm_fail(err, errlen, "out of memory");
	json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success || !root) {
		json_object_put(root);
		return ctm_fail(
			err, errlen, "not valid JSON: %s (near byte %zu)",
			jerr == json_tokener_continue ? "unexpected end of input" : json_tokener_error_desc(jerr), end);
	}
	for (size_t i = end; i < len; i++)
		if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r') {
			json_object_put(root);
			return ctm_fail(err, errlen, "unexpected text after the JSON object (byte %zu)", i);
		}
	out->root = root;
	uint64_t v;
	json_object *arr;
	if (!json_object_is_type(root, json_type_object))
		goto bad_top;
	if (only_known(root, top_keys, "top level", err, errlen) ||
	    get_str(root, "group", &spec->group_name, "top level", err, errlen))
		goto fail;
	v = 0;
	if (get_uint(root, "generation", 1, INT64_MAX, &v, "top level", err, errlen))
		goto fail;
	spec->generation = v;
	v = spec->gid;
	if (get_uint(root, "gid", 1, UINT32_MAX - 1, &v, "top level", err, errlen))
		goto fail;
	spec->gid = (uint32_t)v;
	v = spec->uid_min;
	if (get_uint(root, "uid_min", 1, UINT32_MAX - 1, &v, "top level", err, errlen))
		goto fail;
	spec->uid_min = (uint32_t)v;
	v = spec->uid_max;
	if (get_uint(root, "uid_max", 1, UINT32_MAX - 1, &v, "top level", err, errlen))
		goto fail;
	spec->uid_max = (uint32_t)v;
	if (!json_object_object_get_ex(root, "users", &arr) || !json_object_is_type(arr, json_type_array))
		goto bad_top;
	size_t n = json_object_array_length(arr), nkeys = 0, kpos = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *ka, *u = json_object_array_get_idx(arr, i);
		if (u && json_object_object_get_ex(u, "keys", &ka) && json_object_is_type(ka, json_type_array))
			nkeys += json_object_array_length(ka);
	}
	out->users = calloc(n ? n : 1, sizeof *out->users);
	out->keys = calloc(nkeys ? nkeys : 1, sizeof *out->keys);
	if (!out->users || !out->keys) {
		ctm_fail(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		if (map_user(json_object_array_get_idx(arr, i), i, &out->users[i], out->keys, &kpos, err, errlen))
			goto fail;
	spec->users = out->users;
	spec->user_count = n;
	return 0;
bad_top:
	ctm_fail(err, errlen, "the top level must be an object with a \"users\" array");
fail:
	snapshot_json_free(out);
	return -1;
}
