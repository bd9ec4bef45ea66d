/* SPDX-License-Identifier: Apache-2.0 */
#include "image_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What an alias or fingerprint may hold: Incus aliases such as
 * "debian/12/cloud" or "ubuntu/24.04", fingerprints in hex. */
static int alias_ok(const char *a)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./";
	return *a && *a != '/' && *a != '.' && strspn(a, ok) == strlen(a) && !strstr(a, "..");
}

static void remote_names(const struct helperd_config *cfg, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < cfg->remote_count && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", cfg->remotes[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

int image_ref_parse(const struct helperd_config *cfg, const char *text, struct image_ref *ref, char *err, size_t errlen)
{
	memset(ref, 0, sizeof *ref);
	const char *colon = strchr(text, ':');
	const char *alias = colon ? colon + 1 : text;
	if (strlen(alias) > IMAGE_ALIAS_MAX || !alias_ok(alias)) {
		snprintf(err, errlen,
			 "image \"%.80s\" is not an image alias or fingerprint, optionally after a "
			 "remote: write it like containarium-base or images:debian/12 (letters, digits, '-', '_', "
			 "'.', '/')",
			 text);
		return -1;
	}
	if (colon) {
		size_t nlen = (size_t)(colon - text);
		if (!(nlen == 5 && strncmp(text, "local", 5) == 0)) {
			for (size_t i = 0; i < cfg->remote_count && !ref->remote_given; i++)
				if (strlen(cfg->remotes[i].name) == nlen &&
				    strncmp(cfg->remotes[i].name, text, nlen) == 0) {
					ref->remote = cfg->remotes[i];
					ref->remote_given = 1;
				}
			if (!ref->remote_given) {
				char names[512];
				remote_names(cfg, names, sizeof names);
				snprintf(err, errlen,
					 "image \"%.80s\": no image server is called \"%.*s\"; the declared "
					 "remotes are %s (helperd.conf: remote = NAME URL PROTOCOL), and \"local:\" or "
					 "no prefix means the backend's own images",
					 text, (int)(nlen > 40 ? 40 : nlen), text, names);
				return -1;
			}
		}
	}
	snprintf(ref->alias, sizeof ref->alias, "%s", alias);
	return 0;
}

void image_ref_format(const struct image_ref *ref, char *buf, size_t len)
{
	if (ref->remote_given)
		snprintf(buf, len, "%s:%s", ref->remote.name, ref->alias);
	else
		snprintf(buf, len, "%s", ref->alias);
}

/* A PEM certificate file, whole; NULL with err. */
static char *read_pem(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot read the image server's certificate %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(65536);
	size_t n = buf ? fread(buf, 1, 65535, f) : 0;
	int more = buf && fgetc(f) != EOF;
	fclose(f);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	buf[n] = '\0';
	if (more || strlen(buf) != n || !strstr(buf, "-----BEGIN CERTIFICATE-----")) {
		snprintf(err, errlen,
			 "%s is not a PEM certificate (a \"-----BEGIN CERTIFICATE-----\" block of "
			 "under 64 KiB): give the image server's certificate, as `openssl s_client -showcerts` "
			 "prints it",
			 path);
		free(buf);
		return NULL;
	}
	return buf;
}

int image_remote_check(const struct image_remote *r, char *err, size_t errlen)
{
	if (!*r->certificate)
		return 0;
	char *pem = read_pem(r->certificate, err, errlen);
	free(pem);
	return pem ? 0 : -1;
}

json_object *image_source_json(const struct image_ref *ref, enum incus_server kind, char *err, size_t errlen)
{
	json_object *src = json_object_new_object();
	json_object_object_add(src, "type", json_object_new_string("image"));
	json_object_object_add(src, "alias", json_object_new_string(ref->alias));
	if (!ref->remote_given)
		return src;
	const struct image_remote *r = &ref->remote;
	/* LXD calls the protocol it shares with Incus "lxd" (and refuses
	 * "incus"); Incus takes either. */
	const char *protocol = strcmp(r->protocol, "incus") == 0 && kind == INCUS_SERVER_LXD ? "lxd" : r->protocol;
	json_object_object_add(src, "mode", json_object_new_string("pull"));
	json_object_object_add(src, "server", json_object_new_string(r->url));
	json_object_object_add(src, "protocol", json_object_new_string(protocol));
	if (*r->certificate) {
		char *pem = read_pem(r->certificate, err, errlen);
		if (!pem) {
			json_object_put(src);
			return NULL;
		}
		json_object_object_add(src, "certificate", json_object_new_string(pem));
		free(pem);
	}
	return src;
}
