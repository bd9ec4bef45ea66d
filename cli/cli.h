/* SPDX-License-Identifier: Apache-2.0 */
/* The containarium CLI: what every command shares.  A run parses and
 * validates its arguments first (nothing is sent while anything is wrong),
 * then talks to helperd through one transport (client.h), and ends with
 * one of the exit codes below (documented in containarium(1)). */
#ifndef CONTAINARIUM_CLI_H
#define CONTAINARIUM_CLI_H

#include <stdbool.h>

#include "version.h" /* ctm_version(), ctm_print_version() */

#define CLI_DEFAULT_SOCKET "/run/containarium/helperd.sock"

enum cli_exit {
	CLI_OK = 0,
	CLI_FAILED = 1,      /* anything not below */
	CLI_USAGE = 2,       /* bad flags or arguments; nothing was sent */
	CLI_NOT_FOUND = 3,   /* no such user, key or operation */
	CLI_CONFLICT = 4,    /* already exists, busy, running, last key */
	CLI_UNAVAILABLE = 5, /* helperd not running, or its backend down (503) */
	CLI_DENIED = 6,      /* the socket or the request is not allowed (403) */
};

struct transport;

/* One run of the CLI. */
struct cli {
	const char *socket; /* --socket, $CONTAINARIUM_SOCKET, or the default */
	/* The remote API instead of the socket: --remote URL ($CONTAINARIUM_REMOTE)
	 * with a client certificate; NULL/unset fields get their defaults
	 * under ~/.config/containarium (client.c). */
	const char *remote, *cert, *key, *cacert;
	bool json;           /* --json: machine output on stdout */
	bool verbose;        /* -v: each request and its status on stderr */
	struct transport *t; /* opened at the first request */
};

#endif
