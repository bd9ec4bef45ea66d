/* SPDX-License-Identifier: Apache-2.0 */
#include "backup_index.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define YAML_MAX (1u << 20) /* backup.yaml is a few KiB; more is not ours */

/* A YAML scalar as Incus's encoder writes them: plain, "double" or
 * 'single' quoted; escapes are not expected in the values read here. */
static void scalar(const char *v, size_t len, char *out, size_t outlen)
{
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\r'))
		len--;
	if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
		v++;
		len -= 2;
	}
	snprintf(out, outlen, "%.*s", (int)(len < outlen ? len : outlen - 1), v);
}

int backup_index_parse(const char *yaml, size_t len, struct backup_index *bi, char *msg, size_t msglen)
{
	static const struct {
		const char *key;
		size_t off, cap;
	} keys[] = {
		{ "user.containarium.user", offsetof(struct backup_index, user), sizeof bi->user },
		{ "user.containarium.uid", offsetof(struct backup_index, uid), sizeof bi->uid },
		{ "user.containarium.ipv4", offsetof(struct backup_index, ipv4), sizeof bi->ipv4 },
		{ "user.containarium.state", offsetof(struct backup_index, state), sizeof bi->state },
		{ "user.containarium.managed", offsetof(struct backup_index, managed), sizeof bi->managed },
	};
	memset(bi, 0, sizeof *bi);
	/* Where we are: "container:" at indent 0, then its "config:" and
	 * "profiles:" at indent 2, their entries at 4 (profiles: "  - x"). */
	enum { OUTSIDE, CONTAINER, CONFIG, PROFILES } at = OUTSIDE;
	for (const char *p = yaml, *end = yaml + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t ind = 0;
		while (ind < ll && p[ind] == ' ')
			ind++;
		const char *t = p + ind;
		size_t tl = ll - ind;
		if (tl == 0) {
			/* blank */
		} else if (ind == 0) {
			at = tl == 10 && strncmp(t, "container:", 10) == 0 ? CONTAINER : OUTSIDE;
		} else if (at != OUTSIDE && ind == 2 && tl >= 2 && strncmp(t, "- ", 2) == 0 && at == PROFILES) {
			if (bi->n_profiles < BACKUP_PROFILES_MAX)
				scalar(t + 2, tl - 2, bi->profiles[bi->n_profiles++], sizeof bi->profiles[0]);
		} else if (at != OUTSIDE && ind == 2) {
			at = tl == 7 && strncmp(t, "config:", 7) == 0     ? CONFIG
			     : tl == 9 && strncmp(t, "profiles:", 9) == 0 ? PROFILES
									  : CONTAINER;
			if (tl > 6 && strncmp(t, "name: ", 6) == 0)
				scalar(t + 6, tl - 6, bi->instance, sizeof bi->instance);
		} else if (at == CONFIG && ind == 4) {
			for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
				size_t kl = strlen(keys[k].key);
				if (tl > kl + 1 && strncmp(t, keys[k].key, kl) == 0 && t[kl] == ':' && t[kl + 1] == ' ')
					scalar(t + kl + 2, tl - kl - 2, (char *)bi + keys[k].off, keys[k].cap);
			}
		} else if (at == PROFILES && ind == 4 && tl >= 2 && strncmp(t, "- ", 2) == 0) {
			if (bi->n_profiles < BACKUP_PROFILES_MAX)
				scalar(t + 2, tl - 2, bi->profiles[bi->n_profiles++], sizeof bi->profiles[0]);
		}
		p += ll + 1;
	}
	if (strcmp(bi->managed, "true") != 0 || !*bi->user || !*bi->uid) {
		snprintf(msg, msglen,
			 "it is not the backup of a Containarium container (its instance has no "
			 "user.containarium keys)");
		return -1;
	}
	return 0;
}

/* A tar header's octal size field. */
static long long tar_size(const unsigned char *h)
{
	long long n = 0;
	for (int i = 124; i < 136 && h[i]; i++) {
		if (h[i] == ' ')
			continue;
		if (h[i] < '0' || h[i] > '7')
			return -1;
		n = n * 8 + (h[i] - '0');
	}
	return n;
}

int backup_index_read(const char *path, struct backup_index *bi, char *msg, size_t msglen)
{
	gzFile z = gzopen(path, "rb"); /* reads a plain tar as it is, too */
	if (!z) {
		snprintf(msg, msglen, "cannot open %s: %s", path, strerror(errno ? errno : ENOMEM));
		return -1;
	}
	unsigned char h[512];
	int r = -1;
	/* backup.yaml is among the first entries: give up after a few. */
	for (int entries = 0; entries < 16; entries++) {
		if (gzread(z, h, sizeof h) != (int)sizeof h || !h[0])
			break;
		long long size = tar_size(h);
		if (size < 0 || memcmp(h + 257, "ustar", 5) != 0)
			break;
		long long padded = (size + 511) / 512 * 512;
		char name[101];
		snprintf(name, sizeof name, "%.100s", (const char *)h);
		if (strcmp(name, "backup/container/backup.yaml") == 0 ||
		    strcmp(name, "backup/virtual-machine/backup.yaml") == 0) {
			if (size > YAML_MAX)
				break;
			char *yaml = malloc((size_t)padded + 1);
			if (!yaml || gzread(z, yaml, (unsigned)padded) != (int)padded) {
				free(yaml);
				break;
			}
			r = backup_index_parse(yaml, (size_t)size, bi, msg, msglen);
			free(yaml);
			gzclose(z);
			return r;
		}
		/* skip this entry's data */
		if (padded && gzseek(z, (z_off_t)padded, SEEK_CUR) < 0)
			break;
	}
	gzclose(z);
	snprintf(msg, msglen,
		 "%s is not a container backup (a .tar.gz from containarium delete --backup or "
		 "incus export)",
		 path);
	return r;
}
