/* SPDX-License-Identifier: Apache-2.0 */
/* Puts together the log lines of one SSH connection that failed to log in
 * (sshd_auth_line.h), so that each such connection is one login_failed
 * event: sshd logs several lines for one (each method tried, an unknown
 * name, then how it ended), and at its default LogLevel only the last.
 * A connection is known by its client's address and port, which every one
 * of those lines carries (sshd -E logs no PID).
 *
 * Bounded: at most SSHD_AUTH_TRACK_MAX connections at once; when full, the
 * oldest is reported as it stands to make room, and one not ended after
 * the max_age given to sshd_auth_track_expire (sshd's LoginGraceTime has
 * long cut it off) too.  Not thread-safe: one follower owns it. */
#ifndef CONTAINARIUM_HELPERD_SSHD_AUTH_TRACK_H
#define CONTAINARIUM_HELPERD_SSHD_AUTH_TRACK_H

#include <time.h>

#include "sshd_auth_line.h"

#define SSHD_AUTH_TRACK_MAX 256

struct sshd_auth_failure {
	char user[SSHD_AUTH_USER_MAX + 1];
	char rhost[SSHD_AUTH_HOST_MAX + 1];
	unsigned port;
	int invalid_user;  /* sshd knew no such account */
	unsigned attempts; /* "Failed METHOD" lines (0 at LogLevel INFO for a known user) */
	/* "invalid_user", "max_auth_tries", the last method that failed
	 * ("publickey", "password", ...), or "closed_during_auth" when sshd
	 * logged only the end. */
	char reason[32];
};

typedef void (*sshd_auth_emit_fn)(const struct sshd_auth_failure *f, void *ctx);

struct sshd_auth_track {
	struct sshd_auth_pending {
		struct sshd_auth_failure f;
		int too_many;
		time_t seen;
	} pending[SSHD_AUTH_TRACK_MAX];
	unsigned count;
};

void sshd_auth_track_init(struct sshd_auth_track *t);
/* Take one parsed line; calls emit for a connection that ended failed. */
void sshd_auth_track_line(struct sshd_auth_track *t, const struct sshd_auth_line *l, time_t now, sshd_auth_emit_fn emit,
			  void *ctx);
/* Report connections last seen more than max_age seconds before now
 * (max_age 0: all of them, at shutdown). */
void sshd_auth_track_expire(struct sshd_auth_track *t, time_t now, time_t max_age, sshd_auth_emit_fn emit, void *ctx);

#endif
