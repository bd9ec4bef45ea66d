/* SPDX-License-Identifier: Apache-2.0 */
#include "args.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "output.h"
#include "size.h"
#include "username.h"

static const struct opt global_opts[] = {
	{ "socket", 0, true, OPT_GLOBAL_SOCKET },      { "json", 0, false, OPT_GLOBAL_JSON },
	{ "verbose", 'v', false, OPT_GLOBAL_VERBOSE }, { "help", 'h', false, OPT_GLOBAL_HELP },
	{ "version", 0, false, OPT_GLOBAL_VERSION },   { "remote", 0, true, OPT_GLOBAL_REMOTE },
	{ "client-cert", 0, true, OPT_GLOBAL_CERT },   { "client-key", 0, true, OPT_GLOBAL_KEY },
	{ "server-ca", 0, true, OPT_GLOBAL_CACERT },   { NULL, 0, false, 0 },
};

static const struct opt *find_long(const struct opt *opts, const char *name, size_t len)
{
	for (const struct opt *o = opts; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	for (const struct opt *o = global_opts; o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static const struct opt *find_short(const struct opt *opts, char ch)
{
	for (const struct opt *o = opts; o && o->name; o++)
		if (o->short_name == ch)
			return o;
	for (const struct opt *o = global_opts; o->name; o++)
		if (o->short_name == ch)
			return o;
	return NULL;
}

__attribute__((format(printf, 2, 3))) static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("containarium: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see containarium %s%s--help\n", cmd, *cmd ? " " : "");
	return CLI_USAGE;
}

static int record(struct args *a, const struct opt *o, const char *value, const char *cmd, struct cli *c, bool *help,
		  bool *version)
{
	switch (o->id) {
	case OPT_GLOBAL_SOCKET:
	case OPT_GLOBAL_REMOTE:
	case OPT_GLOBAL_CERT:
	case OPT_GLOBAL_KEY:
	case OPT_GLOBAL_CACERT: return cli_set_global_path(c, o->name, value) ? CLI_USAGE : CLI_OK;
	case OPT_GLOBAL_JSON: c->json = true; return CLI_OK;
	case OPT_GLOBAL_VERBOSE: c->verbose = true; return CLI_OK;
	case OPT_GLOBAL_HELP: *help = true; return CLI_OK;
	case OPT_GLOBAL_VERSION: *version = true; return CLI_OK;
	}
	if (a->nopts == ARGS_MAX)
		return usage_error(cmd, "too many options (at most %d)", ARGS_MAX);
	a->opts[a->nopts].id = o->id;
	a->opts[a->nopts].name = o->name;
	a->opts[a->nopts].value = value;
	a->nopts++;
	return CLI_OK;
}

int args_parse(int argc, char **argv, const struct opt *opts, const char *cmd, struct args *a, struct cli *c,
	       bool *help, bool *version)
{
	memset(a, 0, sizeof *a);
	bool only_positional = false;
	char what[96];
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		if (only_positional || w[0] != '-' || strcmp(w, "-") == 0) {
			if (a->npos == ARGS_MAX)
				return usage_error(cmd, "too many arguments (at most %d)", ARGS_MAX);
			a->pos[a->npos++] = w;
			continue;
		}
		if (strcmp(w, "--") == 0) {
			only_positional = true;
			continue;
		}
		if (w[1] == '-') {
			const char *name = w + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct opt *o = find_long(opts, name, len);
			snprintf(what, sizeof what, "--%.*s", (int)(len > 60 ? 60 : len), name);
			if (!o)
				return usage_error(cmd, "unknown option %s%s", what, *cmd ? " for this command" : "");
			const char *value = NULL;
			if (o->has_arg) {
				if (eq)
					value = eq + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				else
					return usage_error(cmd, "%s needs a value", what);
			} else if (eq) {
				return usage_error(cmd, "%s takes no value", what);
			}
			int r = record(a, o, value, cmd, c, help, version);
			if (r)
				return r;
			continue;
		}
		/* Short options: -v, -h, and clusters of flags such as -vh. */
		for (const char *p = w + 1; *p; p++) {
			const struct opt *o = find_short(opts, *p);
			snprintf(what, sizeof what, "-%c", isprint((unsigned char)*p) ? *p : '?');
			if (!o)
				return usage_error(cmd, "unknown option %s%s", what, *cmd ? " for this command" : "");
			const char *value = NULL;
			if (o->has_arg) {
				if (p[1])
					value = p + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				else
					return usage_error(cmd, "%s needs a value", what);
			}
			int r = record(a, o, value, cmd, c, help, version);
			if (r)
				return r;
			if (value)
				break;
		}
	}
	return CLI_OK;
}

int args_positional(const struct args *a, int min, int max, const char *cmd, const char *what)
{
	if (a->npos < min) {
		out_error("%s: missing arguments; usage: containarium %s %s", cmd, cmd, what);
		return CLI_USAGE;
	}
	if (a->npos > max) {
		out_error("%s: unexpected argument \"%.80s\"; usage: containarium %s %s", cmd, a->pos[max], cmd, what);
		return CLI_USAGE;
	}
	return CLI_OK;
}

const char *args_last(const struct args *a, int id)
{
	const char *v = NULL;
	for (int i = 0; i < a->nopts; i++)
		if (a->opts[i].id == id)
			v = a->opts[i].value;
	return v;
}

int args_has(const struct args *a, int id)
{
	for (int i = 0; i < a->nopts; i++)
		if (a->opts[i].id == id)
			return 1;
	return 0;
}

/* ---- values ------------------------------------------------------------- */

int check_size(const char *flag, const char *value, unsigned long long min, const char *example)
{
	/* The grammar is common/size.h's; the CLI also refuses 16 characters
	 * or more, as it always has. */
	unsigned long long bytes = 0;
	int ok = strlen(value) < 16 && ctm_size_parse(value, &bytes) == 0;
	if (!ok) {
		out_error("%s \"%.40s\" is not a size: write a whole number and a unit, such as %s "
			  "(units: " CTM_SIZE_UNITS_HELP ")",
			  flag, value, example);
		return CLI_USAGE;
	}
	if (bytes < min) {
		out_error("%s %s is too small: give at least %lluMiB", flag, value, min >> 20);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int check_cpu(const char *flag, const char *value)
{
	char *end;
	errno = 0;
	long n = strtol(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || *end || errno || n < 1 || n > 1024) {
		out_error("%s \"%.40s\" must be a whole number of CPUs from 1 to 1024", flag, value);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int check_username(const char *value)
{
	char msg[256];
	if (ctm_username_check(value, strlen(value), msg, sizeof msg) != CTM_NAME_OK) {
		out_error("%s", msg);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int check_image(const char *value)
{
	if (!*value || strlen(value) > 127 ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:") != strlen(value)) {
		out_error("--image \"%.60s\" is not an image alias or fingerprint, optionally after a remote "
			  "(\"containarium-base\", \"images:debian/12\"; letters, digits, '-', '_', '.', '/', ':'; at "
			  "most 127 characters)",
			  value);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int check_member(const char *value)
{
	size_t n = strlen(value);
	if (!n || n > 63 || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != n ||
	    value[0] == '-' || value[0] == '.') {
		out_error("--target \"%.60s\" is not a cluster member's name (letters, digits, '-' and '.'; "
			  "`incus cluster list` shows them)",
			  value);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int check_host(const char *flag, const char *value)
{
	struct in_addr a4;
	struct in6_addr a6;
	size_t len = strlen(value);
	if (inet_pton(AF_INET, value, &a4) == 1 || inet_pton(AF_INET6, value, &a6) == 1)
		return CLI_OK;
	if (len && len <= 253 && value[0] != '-' && value[0] != '.' &&
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == len)
		return CLI_OK;
	out_error("%s \"%.60s\" is not an IP address or host name; give the jump server's public address, "
		  "such as %s 203.0.113.10",
		  flag, value, flag);
	return CLI_USAGE;
}

int check_port(const char *flag, const char *value)
{
	char *end;
	errno = 0;
	long n = strtol(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || *end || errno || n < 1 || n > 65535) {
		out_error("%s \"%.20s\" must be a port number from 1 to 65535", flag, value);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int check_key_path(const char *flag, const char *value)
{
	/* Control characters first: the message below would echo them. */
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			out_error("%s must not contain control characters", flag);
			return CLI_USAGE;
		}
	if (!*value || strlen(value) > 255 || strpbrk(value, " \"'\\")) {
		out_error("%s \"%.60s\" must be a path without spaces or quotes, such as ~/.ssh/containarium_alice",
			  flag, value);
		return CLI_USAGE;
	}
	return CLI_OK;
}
