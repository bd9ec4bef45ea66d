/* SPDX-License-Identifier: Apache-2.0 */
/* containarium key list|add|remove|replace: a user's SSH keys (helperd changes the
 * container's authorized_keys, the registry and keys.db together). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "keyfile.h"
#include "output.h"

enum { O_SSH_KEY = 1 };

static const struct opt no_opts[] = { { NULL, 0, false, 0 } };
static const struct opt add_opts[] = {
	{ "ssh-key", 0, true, O_SSH_KEY },
	{ NULL, 0, false, 0 },
};

static int user_arg(const struct args *a, int n, const char *cmd, const char *usage)
{
	int rc = args_positional(a, n, n, cmd, usage);
	return rc ? rc : check_username(a->pos[0]);
}

static size_t key_count(json_object *o)
{
	json_object *keys;
	return json_object_object_get_ex(o, "keys", &keys) && json_object_is_type(keys, json_type_array)
		       ? json_object_array_length(keys)
		       : 0;
}

/* The fingerprint helperd gives for key line canon, or "". */
static const char *fingerprint_of(json_object *o, const char *canon)
{
	json_object *keys;
	if (!json_object_object_get_ex(o, "keys", &keys))
		return "";
	for (size_t i = 0; i < key_count(o); i++) {
		json_object *k = json_object_array_get_idx(keys, i);
		if (strcmp(json_str(k, "key", ""), canon) == 0)
			return json_str(k, "fingerprint", "");
	}
	return "";
}

static int run_list(struct cli *c, const struct args *a)
{
	int rc = user_arg(a, 1, "key list", "USER");
	if (rc)
		return rc;
	char target[128];
	snprintf(target, sizeof target, "/v1/containers/%s/keys", a->pos[0]);
	struct api_reply r;
	if ((rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r)))
		return rc;
	if (c->json) {
		out_json(r.json);
	} else {
		static const char *const headers[] = { "FINGERPRINT", "TYPE", "BITS", "COMMENT" };
		struct table *t = table_new(4, headers);
		json_object *keys;
		json_object_object_get_ex(r.json, "keys", &keys);
		for (size_t i = 0; i < key_count(r.json); i++) {
			json_object *k = json_object_array_get_idx(keys, i);
			char bits[16];
			snprintf(bits, sizeof bits, "%lld", json_int(k, "bits", 0));
			const char *cells[] = { json_str(k, "fingerprint", "?"), json_str(k, "type", "?"), bits,
						json_str(k, "comment", "") };
			table_add(t, cells);
		}
		table_print(t, stdout);
		table_free(t);
	}
	api_reply_free(&r);
	return CLI_OK;
}

static int run_add(struct cli *c, const struct args *a)
{
	int rc = user_arg(a, 1, "key add", "USER --ssh-key FILE");
	if (rc)
		return rc;
	struct key_list keys = { 0 };
	if ((rc = keyfile_read_options(a, O_SSH_KEY,
				       "key add: --ssh-key FILE is required: the public key (.pub) "
				       "to add",
				       &keys)))
		return rc;
	char target[128];
	snprintf(target, sizeof target, "/v1/containers/%s/keys", a->pos[0]);
	json_object *last = NULL;
	for (size_t i = 0; i < keys.count && !rc; i++) {
		json_object *body = json_object_new_object();
		json_object_object_add(body, "key", json_object_new_string(keys.keys[i]));
		struct api_reply r;
		rc = api_call(c, "POST", target, body, API_TIMEOUT_SECONDS, &r);
		json_object_put(body);
		if (rc) {
			if (i > 0 && !c->json)
				fprintf(stderr, "  (%zu of the %zu keys were added before this one)\n", i, keys.count);
			break;
		}
		if (!c->json)
			printf("%sAdded %s to %s\n", out_ok_mark(), fingerprint_of(r.json, keys.keys[i]), a->pos[0]);
		json_object_put(last);
		last = json_object_get(r.json);
		api_reply_free(&r);
	}
	if (!rc) {
		if (c->json)
			out_json(last);
		else
			printf("%s has %zu keys now\n", a->pos[0], key_count(last));
	}
	json_object_put(last);
	key_list_free(&keys);
	return rc;
}

static int run_remove(struct cli *c, const struct args *a)
{
	int rc = user_arg(a, 2, "key remove", "USER FINGERPRINT|COMMENT");
	if (rc)
		return rc;
	const char *which = a->pos[1];
	if (!*which || strlen(which) > 1024 || strpbrk(which, "\r\n")) {
		out_error("key remove: give the key's SHA256:... fingerprint (containarium key list %s shows it) "
			  "or its comment",
			  a->pos[0]);
		return CLI_USAGE;
	}
	char *ew = url_escape(which), *target = NULL;
	if (asprintf(&target, "/v1/containers/%s/keys?key=%s", a->pos[0], ew) < 0) {
		free(ew);
		out_error("out of memory");
		return CLI_FAILED;
	}
	free(ew);
	struct api_reply r;
	rc = api_call(c, "DELETE", target, NULL, API_TIMEOUT_SECONDS, &r);
	free(target);
	if (rc)
		return rc;
	if (c->json)
		out_json(r.json);
	else
		printf("%sRemoved the key %s from %s; %zu left\n", out_ok_mark(), which, a->pos[0], key_count(r.json));
	api_reply_free(&r);
	return CLI_OK;
}

static int run_replace(struct cli *c, const struct args *a)
{
	int rc = user_arg(a, 2, "key replace", "USER FINGERPRINT|COMMENT --ssh-key FILE");
	if (rc)
		return rc;
	const char *which = a->pos[1];
	if (!*which || strlen(which) > 1024 || strpbrk(which, "\r\n")) {
		out_error("key replace: give the old key's SHA256:... fingerprint (containarium key list %s shows "
			  "it) or its comment",
			  a->pos[0]);
		return CLI_USAGE;
	}
	struct key_list keys = { 0 };
	if ((rc = keyfile_read_options(a, O_SSH_KEY,
				       "key replace: --ssh-key FILE is required: the new public key "
				       "(.pub)",
				       &keys)))
		return rc;
	if (keys.count != 1) {
		out_error("key replace: --ssh-key gave %zu keys; a key is replaced by exactly one (add the others "
			  "with key add)",
			  keys.count);
		key_list_free(&keys);
		return CLI_USAGE;
	}
	char *ew = url_escape(which), *target = NULL;
	if (asprintf(&target, "/v1/containers/%s/keys?key=%s", a->pos[0], ew) < 0) {
		free(ew);
		key_list_free(&keys);
		out_error("out of memory");
		return CLI_FAILED;
	}
	free(ew);
	json_object *body = json_object_new_object();
	json_object_object_add(body, "key", json_object_new_string(keys.keys[0]));
	struct api_reply r;
	rc = api_call(c, "PUT", target, body, API_TIMEOUT_SECONDS, &r);
	json_object_put(body);
	free(target);
	if (rc == CLI_OK) {
		if (c->json)
			out_json(r.json);
		else
			printf("%sReplaced the key %s of %s with %s\n", out_ok_mark(), which, a->pos[0],
			       fingerprint_of(r.json, keys.keys[0]));
		api_reply_free(&r);
	}
	key_list_free(&keys);
	return rc;
}

const struct command cmd_key_list = {
	"key list",
	"USER",
	"list a user's SSH keys",
	"Lists USER's public keys: SHA256 fingerprint, type, bits and comment.\n",
	no_opts,
	run_list,
};

const struct command cmd_key_add = {
	"key add",
	"USER --ssh-key FILE",
	"add SSH keys to a user",
	"Adds the public keys in FILE to USER: into the container's\n"
	"authorized_keys and the jump account at once.  The container must run.\n"
	"\n"
	"Options:\n"
	"  --ssh-key FILE   public key file; - reads standard input.  May be repeated;\n"
	"                   a file may hold several keys, one per line.  Required.\n",
	add_opts,
	run_add,
};

const struct command cmd_key_remove = {
	"key remove",
	"USER FINGERPRINT|COMMENT",
	"remove one of a user's SSH keys",
	"Removes the key with that SHA256 fingerprint (as key list and\n"
	"ssh-keygen -lf show it) or that comment.  The last key cannot be removed:\n"
	"add another first.  The container must run.\n",
	no_opts,
	run_remove,
};

const struct command cmd_key_replace = {
	"key replace",
	"USER FINGERPRINT|COMMENT --ssh-key FILE",
	"replace one of a user's SSH keys with another",
	"Replaces the key with that SHA256 fingerprint or comment by the one key\n"
	"in FILE, in one step: the container's authorized_keys and the jump account\n"
	"never hold both keys, nor neither (a rotation with key add and key remove\n"
	"leaves the old key working in between).  The container must run.\n"
	"\n"
	"Options:\n"
	"  --ssh-key FILE   the new public key file; - reads standard input.  Required.\n",
	add_opts,
	run_replace,
};
