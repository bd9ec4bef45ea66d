/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line parsing for every command: long options (--name VALUE,
 * --name=VALUE), a few short ones, the global options anywhere, "--" to end
 * options.  Anything unknown or malformed is a usage error (exit 2), reported
 * before any request is made. */
#ifndef CONTAINARIUM_CLI_ARGS_H
#define CONTAINARIUM_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

#define ARGS_MAX 64

struct opt {
	const char *name; /* long name without "--"; NULL ends a list */
	char short_name;  /* 0: none */
	bool has_arg;
	int id; /* the command's own number for it */
};

struct args {
	struct {
		int id;
		const char *name;
		const char *value; /* NULL for flags */
	} opts[ARGS_MAX];
	int nopts;
	const char *pos[ARGS_MAX];
	int npos;
};

/* The global options, recognised before and after the command. */
enum {
	OPT_GLOBAL_SOCKET = -1,
	OPT_GLOBAL_JSON = -2,
	OPT_GLOBAL_VERBOSE = -3,
	OPT_GLOBAL_HELP = -4,
	OPT_GLOBAL_VERSION = -5,
	OPT_GLOBAL_REMOTE = -6,
	OPT_GLOBAL_CERT = -7,
	OPT_GLOBAL_KEY = -8,
	OPT_GLOBAL_CACERT = -9
};

/* Parse argv[0..argc) (the words after the command) against opts and the
 * global options; global ones are applied to c.  cmd names the command in
 * messages ("create", "key add").  Returns CLI_OK or CLI_USAGE (reported). */
int args_parse(int argc, char **argv, const struct opt *opts, const char *cmd, struct args *a, struct cli *c,
	       bool *help, bool *version);

/* Exactly min..max positional arguments, else a usage error naming what is
 * missing (what: "USER", "USER FINGERPRINT|COMMENT"). */
int args_positional(const struct args *a, int min, int max, const char *cmd, const char *what);

/* The value of the last option id given, or NULL. */
const char *args_last(const struct args *a, int id);
/* Whether option id was given. */
int args_has(const struct args *a, int id);

/* ---- validation of values (each reports its own message) ---------------- */

/* A size as helperd takes it: digits and an optional unit (B, KB, MB, GB,
 * TB, KiB, MiB, GiB, TiB, or K, M, G, T meaning KiB...); at least min bytes. */
int check_size(const char *flag, const char *value, unsigned long long min, const char *example);
/* A CPU count, 1 to 1024. */
int check_cpu(const char *flag, const char *value);
int check_username(const char *value);
int check_image(const char *value);
/* --target: a cluster member's name. */
int check_member(const char *value);
/* A host name or IPv4/IPv6 address for the jump server. */
int check_host(const char *flag, const char *value);
int check_port(const char *flag, const char *value);
/* A path for IdentityFile: no spaces, quotes or control characters. */
int check_key_path(const char *flag, const char *value);

#endif
