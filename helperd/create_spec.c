/* SPDX-License-Identifier: Apache-2.0 */
/* The body of POST /v1/containers, checked before anything is made: every
 * field, the keys in canonical form, the defaults of helperd.conf filled
 * in, and the name free on this host.  The create itself is
 * lifecycle_create.c. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key_fingerprint.h"
#include "lifecycle.h"
#include "size.h"
#include "snapshot_policy.h"
#include "sshkey.h"
#include "username.h"

static const char *const create_fields[] = {
	"name",   "ssh_keys",          "image",           "cpu", "memory", "disk", "autostart", "docker",
	"target", "snapshot_schedule", "snapshot_expiry", NULL
};

void create_spec_free(struct create_spec *s)
{
	for (size_t i = 0; i < s->key_count; i++)
		free(s->keys[i]);
	free(s->keys);
	s->keys = NULL;
	s->key_count = 0;
}

#define BAD(c, ...)                                                                                                    \
	do {                                                                                                           \
		*code = (c);                                                                                           \
		snprintf(msg, msglen, __VA_ARGS__);                                                                    \
		goto fail;                                                                                             \
	} while (0)

/* A string field, or a number for cpu. */
static const char *field_str(json_object *body, const char *key, char *num, size_t numlen)
{
	json_object *v;
	if (!json_object_object_get_ex(body, key, &v))
		return NULL;
	if (json_object_is_type(v, json_type_int)) {
		snprintf(num, numlen, "%lld", (long long)json_object_get_int64(v));
		return num;
	}
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

int create_spec_parse(struct helperd *d, json_object *body, struct create_spec *s, const char **code, char *msg,
		      size_t msglen)
{
	memset(s, 0, sizeof *s);
	char num[32], m[512];
	if (!body)
		BAD("invalid_request", "send a JSON object such as {\"name\": \"alice\", \"ssh_keys\": "
				       "[\"ssh-ed25519 AAAA... alice@laptop\"]}");
	json_object_object_foreach(body, key, val)
	{
		(void)val;
		int known = 0;
		for (const char *const *f = create_fields; *f; f++)
			known |= strcmp(*f, key) == 0;
		if (!known)
			BAD("invalid_request",
			    "unknown field \"%.40s\"; the fields are name, ssh_keys, image, "
			    "cpu, memory, disk, autostart, docker, target, snapshot_schedule, snapshot_expiry",
			    key);
	}
	json_object *v;
	if (!json_object_object_get_ex(body, "name", &v) || !json_object_is_type(v, json_type_string))
		BAD("invalid_name", "\"name\" is required: the user's name, such as \"alice\"");
	const char *name = json_object_get_string(v);
	size_t nlen = (size_t)json_object_get_string_len(v);
	if (ctm_username_check(name, nlen, m, sizeof m) != CTM_NAME_OK)
		BAD("invalid_name", "%s", m);
	memcpy(s->name, name, nlen + 1);

	json_object *keys;
	if (!json_object_object_get_ex(body, "ssh_keys", &keys) || !json_object_is_type(keys, json_type_array) ||
	    json_object_array_length(keys) == 0)
		BAD("invalid_key", "\"ssh_keys\" must list at least one public key (the contents of the "
				   "user's .pub file): without one nobody can log in");
	size_t nk = json_object_array_length(keys);
	if (nk > CTM_KEYS_PER_USER_MAX)
		BAD("invalid_key", "%zu keys given; the limit is %d", nk, CTM_KEYS_PER_USER_MAX);
	s->keys = calloc(nk, sizeof *s->keys);
	if (!s->keys)
		BAD("internal_error", "out of memory");
	for (size_t i = 0; i < nk; i++) {
		json_object *k = json_object_array_get_idx(keys, i);
		struct ctm_sshkey parsed;
		char canon[CTM_KEY_LINE_MAX + 1];
		if (!json_object_is_type(k, json_type_string))
			BAD("invalid_key", "ssh_keys[%zu] must be a string", i);
		if (ctm_sshkey_parse(json_object_get_string(k), (size_t)json_object_get_string_len(k), &parsed, m,
				     sizeof m) != CTM_KEY_OK)
			BAD("invalid_key", "ssh_keys[%zu]: %s", i, m);
		ctm_sshkey_format(&parsed, canon, sizeof canon);
		int dup = 0;
		for (size_t j = 0; j < s->key_count; j++)
			dup |= key_same(s->keys[j], canon);
		if (!dup && !(s->keys[s->key_count++] = strdup(canon)))
			BAD("internal_error", "out of memory");
	}

	const char *image = field_str(body, "image", num, sizeof num);
	if (image_ref_parse(&d->cfg, image ? image : d->cfg.image, &s->image, m, sizeof m))
		BAD("invalid_image", "%s", m);
	image_ref_format(&s->image, s->image_text, sizeof s->image_text);

	const char *cpu = field_str(body, "cpu", num, sizeof num);
	cpu = cpu ? cpu : d->cfg.default_cpu;
	char *end;
	errno = 0;
	long ncpu = strtol(cpu, &end, 10);
	if (!*cpu || *end || errno || ncpu < 1 || ncpu > 1024)
		BAD("invalid_cpu", "cpu \"%.20s\" must be a whole number of CPUs from 1 to 1024", cpu);
	snprintf(s->cpu, sizeof s->cpu, "%ld", ncpu);

	char num2[32]; /* memory and disk may both be numbers */
	const char *mem = field_str(body, "memory", num, sizeof num),
		   *disk = field_str(body, "disk", num2, sizeof num2);
	unsigned long long bytes;
	mem = mem ? mem : d->cfg.default_memory;
	if (ctm_size_parse(mem, &bytes) || bytes < (64ULL << 20) ||
	    ctm_size_for_incus(mem, s->memory, sizeof s->memory))
		BAD("invalid_memory",
		    "memory \"%.20s\" must be a size of at least 64MiB, written like 4GB "
		    "or 512MiB",
		    mem);
	s->disk_given = disk != NULL;
	disk = disk ? disk : d->cfg.default_disk;
	if (ctm_size_parse(disk, &bytes) || bytes < (512ULL << 20) || ctm_size_for_incus(disk, s->disk, sizeof s->disk))
		BAD("invalid_disk", "disk \"%.20s\" must be a size of at least 512MiB, written like 50GB", disk);

	s->autostart = d->cfg.default_autostart;
	if (json_object_object_get_ex(body, "autostart", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			BAD("invalid_request", "\"autostart\" must be true or false");
		s->autostart = json_object_get_boolean(v);
	}
	s->docker = d->cfg.default_docker;
	if (json_object_object_get_ex(body, "docker", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			BAD("invalid_request", "\"docker\" must be true or false");
		s->docker = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(body, "target", &v)) {
		const char *t = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		size_t tl = strlen(t);
		if (!tl || tl >= sizeof s->target || t[0] == '-' || t[0] == '.' ||
		    strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != tl)
			BAD("invalid_target", "\"target\" must name a cluster member (letters, digits, '-' and '.'; "
					      "`incus cluster list` shows them)");
		memcpy(s->target, t, tl + 1);
	}

	if (snapshot_fields_parse(d, body, s->snap_schedule, sizeof s->snap_schedule, s->snap_expiry,
				  sizeof s->snap_expiry, m, sizeof m))
		BAD("invalid_snapshot_policy", "%s", m);

	/* The name must not belong to anyone else on this host: root, sshd,
	 * a local, LDAP or OS Login user.  Our own NSS module never does IPC,
	 * so this lookup cannot deadlock on us; a hit on our own user (same
	 * uid as in the registry) is reported as "already exists" later. */
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwnam_r(s->name, &pw, buf, sizeof buf, &res) == 0 && res) {
		pthread_mutex_lock(&d->lock);
		const struct account *a = registry_find(&d->reg, s->name);
		int ours = a && a->uid == pw.pw_uid;
		pthread_mutex_unlock(&d->lock);
		if (ours)
			BAD("already_exists",
			    "user %s already has a container; delete it first or choose another "
			    "name",
			    s->name);
		BAD("name_taken", "\"%s\" is already a user on this host (uid %u); choose another name", s->name,
		    (unsigned)pw.pw_uid);
	}
	return 0;
fail:
	create_spec_free(s);
	return -1;
}

void lifecycle_job_free(void *arg)
{
	struct lifecycle_job *job = arg;
	create_spec_free(&job->spec);
	free(job);
}
