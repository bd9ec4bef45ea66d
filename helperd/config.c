/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "errmsg.h"
#include "image_source.h"
#include "snapshot_policy.h"
#include "snapshot_writer.h"

void helperd_config_defaults(struct helperd_config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->listen_socket, sizeof c->listen_socket, "/run/containarium/helperd.sock");
	c->socket_mode = 0660;
	snprintf(c->admin_group, sizeof c->admin_group, "containarium-admin");
	c->max_body_bytes = 256 * 1024;
	snprintf(c->network, sizeof c->network, "containariumbr0");
	snprintf(c->storage_pool, sizeof c->storage_pool, "default");
	snprintf(c->image, sizeof c->image, "containarium-base");
	/* The server `incus launch images:debian/12` uses. */
	c->remote_count = 1;
	snprintf(c->remotes[0].name, sizeof c->remotes[0].name, "images");
	snprintf(c->remotes[0].url, sizeof c->remotes[0].url, "https://images.linuxcontainers.org");
	snprintf(c->remotes[0].protocol, sizeof c->remotes[0].protocol, "simplestreams");
	snprintf(c->instance_suffix, sizeof c->instance_suffix, "-container");
	snprintf(c->default_cpu, sizeof c->default_cpu, "2");
	snprintf(c->default_memory, sizeof c->default_memory, "2GB");
	snprintf(c->default_disk, sizeof c->default_disk, "20GB");
	c->default_autostart = 1;
	c->isolate_tenants = 1;
	snprintf(c->state_dir, sizeof c->state_dir, "/var/lib/containarium");
	snprintf(c->keys_group, sizeof c->keys_group, "containarium-keys");
	snprintf(c->group_name, sizeof c->group_name, "%s", CTM_DEFAULT_GROUP_NAME);
	c->gid = CTM_DEFAULT_GID;
	c->uid_min = CTM_DEFAULT_UID_MIN;
	c->uid_max = CTM_DEFAULT_UID_MAX;
	snprintf(c->backup_dir, sizeof c->backup_dir, "/var/lib/containarium/backups");
	snprintf(c->audit_log, sizeof c->audit_log, "/var/log/containarium/audit.log");
	snprintf(c->sshd_log, sizeof c->sshd_log, "auto");
	c->poll_seconds = 2;
	c->log_level = LOG_INFO;
	snprintf(c->ssh_keygen, sizeof c->ssh_keygen, "/usr/bin/ssh-keygen");
}

enum kind { STR, PATH, OPT_PATH, NAME, SIZE, UINT, BOOL, MODE, LEVEL, CPU, SCHEDULE, EXPIRY, LOG_SOURCE };

static const struct key {
	const char *name;
	enum kind kind;
	size_t off, cap;        /* STR/PATH/NAME/SIZE/CPU: char array; numbers: field */
	unsigned long min, max; /* UINT */
} keys[] = {
#define S(k, f, kind)                                                                                                  \
	{                                                                                                              \
		k, kind, offsetof(struct helperd_config, f), sizeof(((struct helperd_config *)0)->f), 0, 0             \
	}
#define U(k, f, lo, hi)                                                                                                \
	{                                                                                                              \
		k, UINT, offsetof(struct helperd_config, f), sizeof(((struct helperd_config *)0)->f), lo, hi           \
	}
	S("listen_socket", listen_socket, PATH),
	{ "socket_mode", MODE, offsetof(struct helperd_config, socket_mode), 0, 0, 0 },
	S("admin_group", admin_group, NAME),
	U("max_body_bytes", max_body_bytes, 1024, 16 * 1024 * 1024),
	S("incus_socket", incus_socket, OPT_PATH), /* "": detect */
	S("network", network, NAME),
	{ "isolate_tenants", BOOL, offsetof(struct helperd_config, isolate_tenants), 0, 0, 0 },
	S("storage_pool", storage_pool, NAME),
	S("image", image, STR),
	S("instance_suffix", instance_suffix, NAME),
	S("default_cpu", default_cpu, CPU),
	S("default_memory", default_memory, SIZE),
	S("default_disk", default_disk, SIZE),
	{ "default_autostart", BOOL, offsetof(struct helperd_config, default_autostart), 0, 0, 0 },
	{ "default_docker", BOOL, offsetof(struct helperd_config, default_docker), 0, 0, 0 },
	S("snapshot_schedule", snapshot_schedule, SCHEDULE),
	S("snapshot_expiry", snapshot_expiry, EXPIRY),
	S("state_dir", state_dir, PATH),
	S("keys_group", keys_group, NAME),
	S("group_name", group_name, NAME),
	U("gid", gid, 1000, 4294967294u),
	U("uid_min", uid_min, 1000, 4294967294u),
	U("uid_max", uid_max, 1000, 4294967294u),
	S("backup_dir", backup_dir, PATH),
	S("audit_log", audit_log, PATH),
	S("sshd_log", sshd_log, LOG_SOURCE),
	U("poll_seconds", poll_seconds, 1, 3600),
	U("idle_stop_minutes", idle_stop_minutes, 0, 525600),
	{ "log_level", LEVEL, offsetof(struct helperd_config, log_level), 0, 0, 0 },
	S("https_listen", https_listen, STR),
	S("https_cert", https_cert, OPT_PATH),
	S("https_key", https_key, OPT_PATH),
	S("https_client_ca", https_client_ca, OPT_PATH),
	S("https_crl", https_crl, OPT_PATH),
	S("host_ca_key", host_ca_key, OPT_PATH),
	S("host_ca_trust", host_ca_trust, OPT_PATH),
	S("ssh_keygen", ssh_keygen, PATH),
#undef S
#undef U
};

static int name_ok(const char *v)
{
	if (!*v)
		return 0;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return 0;
	return 1;
}

/* "remote = NAME URL PROTOCOL [CERTIFICATE]": declares an image server,
 * or replaces the one of that name (the built-in "images" too). */
static int set_remote(struct helperd_config *c, const char *value, char *err, size_t errlen)
{
	static const char usage[] = "write it as \"remote = NAME URL PROTOCOL [CERTIFICATE]\", such as "
				    "\"remote = images https://images.linuxcontainers.org simplestreams\"";
	char copy[1024], *save = NULL;
	if (strlen(value) >= sizeof copy)
		return ctm_fail(err, errlen, "remote: value is too long");
	if (strpbrk(value, "\"'\\"))
		return ctm_fail(err, errlen, "remote: value must not contain quotes or backslashes");
	snprintf(copy, sizeof copy, "%s", value);
	char *f[5] = { 0 };
	size_t n = 0;
	for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		if (n < 5)
			f[n++] = t;
		else
			n++;
	if (n < 3 || n > 4)
		return ctm_fail(err, errlen, "remote: \"%s\" has %zu fields; %s", value, n, usage);
	struct image_remote r = { 0 };
	if (strlen(f[0]) >= sizeof r.name || !name_ok(f[0]) || strchr(f[0], ':') || strcmp(f[0], "local") == 0)
		return ctm_fail(err, errlen,
				"remote: \"%s\" is not a remote name (up to %zu letters, digits, '-', "
				"'_' or '.'; \"local\" means the backend's own images)",
				f[0], sizeof r.name - 1);
	if ((strncmp(f[1], "https://", 8) != 0 && strncmp(f[1], "http://", 7) != 0) || strlen(f[1]) >= sizeof r.url ||
	    strlen(f[1]) <= 8)
		return ctm_fail(err, errlen,
				"remote %s: \"%s\" is not an https:// (or http://) URL of up to %zu "
				"characters",
				f[0], f[1], sizeof r.url - 1);
	if (strcmp(f[2], "simplestreams") != 0 && strcmp(f[2], "incus") != 0)
		return ctm_fail(err, errlen,
				"remote %s: protocol \"%s\" must be simplestreams (a static image "
				"server such as images.linuxcontainers.org) or incus (an Incus or LXD server)",
				f[0], f[2]);
	if (f[3] && (*f[3] != '/' || strlen(f[3]) >= sizeof r.certificate))
		return ctm_fail(err, errlen,
				"remote %s: certificate \"%s\" must be the absolute path of the "
				"server's PEM certificate",
				f[0], f[3]);
	snprintf(r.name, sizeof r.name, "%s", f[0]);
	snprintf(r.url, sizeof r.url, "%s", f[1]);
	snprintf(r.protocol, sizeof r.protocol, "%s", f[2]);
	if (f[3])
		snprintf(r.certificate, sizeof r.certificate, "%s", f[3]);
	for (size_t i = 0; i < c->remote_count; i++)
		if (strcmp(c->remotes[i].name, r.name) == 0) {
			c->remotes[i] = r;
			return 0;
		}
	if (c->remote_count == HELPERD_REMOTES_MAX)
		return ctm_fail(err, errlen, "remote %s: at most %d remotes may be declared", r.name,
				HELPERD_REMOTES_MAX);
	c->remotes[c->remote_count++] = r;
	return 0;
}

int helperd_config_set(struct helperd_config *c, const char *key, const char *value, char *err, size_t errlen)
{
	if (strcmp(key, "remote") == 0)
		return set_remote(c, value, err, errlen);
	const struct key *k = NULL;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].name, key) == 0)
			k = &keys[i];
	if (!k)
		return ctm_fail(err, errlen, "unknown setting \"%s\" (see helperd.conf(5) for the list)", key);
	char *field = (char *)c + k->off;
	switch (k->kind) {
	case PATH:
	case OPT_PATH:
		if (k->kind == PATH && !*value)
			return ctm_fail(err, errlen, "%s: a path is required here", key);
		if (*value && *value != '/')
			return ctm_fail(err, errlen, "%s: \"%s\" must be an absolute path", key, value);
		/* fall through */
	case STR:
		if (strlen(value) >= k->cap)
			return ctm_fail(err, errlen, "%s: value is longer than %zu characters", key, k->cap - 1);
		if (strpbrk(value, "\"'\\"))
			return ctm_fail(err, errlen, "%s: value must not contain quotes or backslashes", key);
		strcpy(field, value);
		return 0;
	case LOG_SOURCE: {
		/* auto, off, journal[:UNIT] or a file (sshd_watch.h). */
		const char *unit = strncmp(value, "journal:", 8) == 0 ? value + 8 : NULL;
		if (strlen(value) >= k->cap ||
		    !(strcmp(value, "auto") == 0 || strcmp(value, "off") == 0 || strcmp(value, "journal") == 0 ||
		      (unit && name_ok(unit) && unit[0] != '-') || (*value == '/' && !strpbrk(value, "\"'\\"))))
			return ctm_fail(err, errlen,
					"%s: \"%s\" must be auto, off, journal, journal:UNIT (such as "
					"journal:ssh.service) or the absolute path of sshd's log file",
					key, value);
		strcpy(field, value);
		return 0;
	}
	case SCHEDULE:
	case EXPIRY: {
		char msg[256];
		if ((k->kind == SCHEDULE ? snapshot_schedule_check : snapshot_expiry_check)(value, msg, sizeof msg))
			return ctm_fail(err, errlen, "%s: %s", key, msg);
		snprintf(field, k->cap, "%s", value);
		return 0;
	}
	case NAME:
		if (strlen(value) >= k->cap)
			return ctm_fail(err, errlen, "%s: value is longer than %zu characters", key, k->cap - 1);
		if (*value && !name_ok(value))
			return ctm_fail(err, errlen, "%s: \"%s\" may hold only letters, digits, '-', '_' and '.'", key,
					value);
		strcpy(field, value);
		return 0;
	case SIZE: {
		unsigned long long b;
		if (strlen(value) >= k->cap || ctm_size_parse(value, &b))
			return ctm_fail(err, errlen, "%s: \"%s\" is not a size; write it like 20GB, 512MiB or 2G", key,
					value);
		strcpy(field, value);
		return 0;
	}
	case CPU: {
		char *end;
		errno = 0;
		long n = strtol(value, &end, 10);
		if (strlen(value) >= k->cap || errno || *end || n < 1 || n > 1024)
			return ctm_fail(err, errlen, "%s: \"%s\" is not a CPU count from 1 to 1024", key, value);
		strcpy(field, value);
		return 0;
	}
	case UINT: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(value, &end, 10);
		if (!isdigit((unsigned char)*value) || errno || *end || n < k->min || n > k->max)
			return ctm_fail(err, errlen, "%s: \"%s\" must be a whole number from %lu to %lu", key, value,
					k->min, k->max);
		uint32_t v = (uint32_t)n; /* every UINT setting is a uint32_t */
		memcpy(field, &v, sizeof v);
		return 0;
	}
	case BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
			memcpy(field, &(int){ 1 }, sizeof(int));
		else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
			memcpy(field, &(int){ 0 }, sizeof(int));
		else
			return ctm_fail(err, errlen, "%s: \"%s\" must be yes or no", key, value);
		return 0;
	case MODE: {
		char *end;
		errno = 0;
		unsigned long m = strtoul(value, &end, 8);
		if (!*value || errno || *end || m > 0777 || (m & 0007))
			return ctm_fail(err, errlen,
					"%s: \"%s\" must be an octal mode with no access for others, "
					"such as 0660",
					key, value);
		c->socket_mode = (mode_t)m;
		return 0;
	}
	case LEVEL: {
		static const char *const names[] = { "error", "warning", "notice", "info", "debug" };
		static const int levels[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };
		for (size_t i = 0; i < 5; i++)
			if (strcmp(value, names[i]) == 0) {
				c->log_level = levels[i];
				return 0;
			}
		return ctm_fail(err, errlen, "%s: \"%s\" must be error, warning, notice, info or debug", key, value);
	}
	}
	return ctm_fail(err, errlen, "%s: internal error", key);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int helperd_config_load_stream(struct helperd_config *c, FILE *f, const char *path, char *err, size_t errlen)
{
	char line[1024], msg[512];
	int lineno = 0, ret = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			ret = ctm_fail(err, errlen, "%s:%d: line is longer than %zu characters", path, lineno,
				       sizeof line - 2);
			break;
		}
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			ret = ctm_fail(err, errlen, "%s:%d: expected \"key = value\", got \"%.60s\"", path, lineno, s);
			break;
		}
		*eq = '\0';
		if (helperd_config_set(c, trim(s), trim(eq + 1), msg, sizeof msg)) {
			ret = ctm_fail(err, errlen, "%s:%d: %s", path, lineno, msg);
			break;
		}
	}
	if (ret == 0 && *c->https_listen && (!*c->https_cert || !*c->https_key || !*c->https_client_ca))
		ret = ctm_fail(err, errlen,
			       "%s: https_listen needs https_cert, https_key and https_client_ca (the CA "
			       "that signs the clients' certificates)",
			       path);
	if (ret == 0 && *c->host_ca_trust && !*c->host_ca_key)
		ret = ctm_fail(err, errlen,
			       "%s: host_ca_trust needs host_ca_key (the CA that signs the host "
			       "certificates)",
			       path);
	struct image_ref ref;
	if (ret == 0 && image_ref_parse(c, c->image, &ref, msg, sizeof msg))
		ret = ctm_fail(err, errlen, "%s: image: %s", path, msg);
	for (size_t i = 0; ret == 0 && i < c->remote_count; i++)
		if (image_remote_check(&c->remotes[i], msg, sizeof msg))
			ret = ctm_fail(err, errlen, "%s: remote %s: %s", path, c->remotes[i].name, msg);
	if (ret == 0 && c->uid_min > c->uid_max)
		ret = ctm_fail(err, errlen, "%s: uid_min %u is above uid_max %u", path, c->uid_min, c->uid_max);
	if (ret == 0 && c->gid >= c->uid_min && c->gid <= c->uid_max)
		ret = ctm_fail(err, errlen, "%s: gid %u lies inside the uid range %u-%u; put it outside", path, c->gid,
			       c->uid_min, c->uid_max);
	return ret;
}

int helperd_config_load(struct helperd_config *c, const char *path, int missing_ok, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return ctm_fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
	}
	int ret = helperd_config_load_stream(c, f, path, err, errlen);
	fclose(f);
	return ret;
}
