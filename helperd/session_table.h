/* SPDX-License-Identifier: Apache-2.0 */
/* The table of open SSH sessions of jump users (service_sessions.c is the
 * API that fills it), as pam_containarium reports them: open
 * sessions (to compute durations at close) and each user's last activity
 * (for the opt-in idle stop).  In memory: after a helperd restart, open
 * sessions close without a duration, which the audit log shows. */
#ifndef CONTAINARIUM_HELPERD_SESSION_TABLE_H
#define CONTAINARIUM_HELPERD_SESSION_TABLE_H

#include <stddef.h>
#include <time.h>

/* rhost: the client's address as PAM has it ("" when unknown). */
void sessions_open(const char *session_id, const char *user, const char *rhost, time_t now);
/* Seconds since the open of session_id, or -1 when it is not known. */
long sessions_close(const char *session_id, const char *user, time_t now);
/* Open sessions of user. */
size_t sessions_count(const char *user);
/* When user last opened or closed a session (0: never seen). */
time_t sessions_last_activity(const char *user);

/* The sessions open now, oldest first: a new array of *n copies (free()
 * it), NULL with *n 0 when there are none. */
struct session_info {
	char id[65];
	char user[33];
	char rhost[64];
	time_t opened;
};
struct session_info *sessions_list(size_t *n);

#endif
