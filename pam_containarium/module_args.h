/* SPDX-License-Identifier: Apache-2.0 */
/* The module's arguments (pam_containarium(8)).  Parsing is pure (no libpam)
 * so the unit tests can drive it; complaints go through a callback that the
 * module points at pam_syslog. */
#ifndef CONTAINARIUM_PAM_MODULE_ARGS_H
#define CONTAINARIUM_PAM_MODULE_ARGS_H

#include <stdbool.h>

#define PAM_CTM_DEFAULT_SOCKET "/run/containarium/helperd.sock"
#define PAM_CTM_DEFAULT_TIMEOUT_MS 1000
#define PAM_CTM_DEFAULT_WAKE_TIMEOUT_MS 30000
/* Bounds for timeout_ms and wake_timeout_ms: sshd waits on every one. */
#define PAM_CTM_TIMEOUT_MIN_MS 1
#define PAM_CTM_TIMEOUT_MAX_MS 600000

struct pam_ctm_args {
	const char *passwd_db; /* points into argv or at a default */
	const char *socket_path;
	int timeout_ms;
	int wake_timeout_ms;
	bool fail_closed;
	bool wake;
	bool debug;
};

/* Called once per argument that is unknown or has a bad value; the
 * argument keeps its default. */
typedef void (*pam_ctm_complain_fn)(void *ctx, const char *arg, const char *why);

/* Fill a with the defaults, then apply argv.  Returns the number of
 * arguments complained about. */
int pam_ctm_parse_args(int argc, const char **argv, struct pam_ctm_args *a, pam_ctm_complain_fn complain, void *ctx);

#endif
