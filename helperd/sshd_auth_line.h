/* SPDX-License-Identifier: Apache-2.0 */
/* One line of sshd's log, read for what it says about authentication: a
 * failed method, an unknown name, a connection that ended before it
 * authenticated, or one that succeeded.  Stateless; sshd_auth_track.h
 * puts a connection's lines together.
 *
 * Accepted forms: the bare message (sshd -E FILE, journalctl -o cat) and a
 * syslog line (auth.log: "... sshd[PID]: MESSAGE", also sshd-session[PID]
 * of OpenSSH 9.8+).  The user name is the client's text as sshd logged it
 * (sshd escapes control characters), so it may hold spaces and words such
 * as " from ": every field after the name is taken from the right end of
 * the line, where only sshd writes. */
#ifndef CONTAINARIUM_HELPERD_SSHD_AUTH_LINE_H
#define CONTAINARIUM_HELPERD_SSHD_AUTH_LINE_H

#include <stddef.h>

enum sshd_auth_kind {
	SSHD_AUTH_NONE = 0, /* not an authentication line */
	SSHD_AUTH_FAILED,   /* "Failed METHOD for ...", "maximum authentication attempts exceeded" */
	SSHD_AUTH_INVALID,  /* "Invalid user NAME from ADDR port P" */
	SSHD_AUTH_END,      /* closed, reset, or disconnected before authenticating */
	SSHD_AUTH_ACCEPTED, /* "Accepted METHOD for ..." */
};

#define SSHD_AUTH_USER_MAX 128 /* sshd logs at most 100 bytes of a name, escaped */
#define SSHD_AUTH_HOST_MAX 64  /* an address (UseDNS no, the default) or a short name */

struct sshd_auth_line {
	enum sshd_auth_kind kind;
	int invalid_user;                  /* sshd said "invalid user": no such account */
	int too_many;                      /* MaxAuthTries reached */
	unsigned port;                     /* the client's source port */
	char user[SSHD_AUTH_USER_MAX + 1]; /* "" when the line names none (Timeout, closed by ADDR) */
	char rhost[SSHD_AUTH_HOST_MAX + 1];
	char method[32]; /* SSHD_AUTH_FAILED/ACCEPTED: "publickey", "password", ... */
};

/* Parse line[0..len) (no NUL needed; a trailing CR/LF is ignored).  Fills
 * out and returns its kind; SSHD_AUTH_NONE for anything else, including a
 * line whose address or port does not look like one. */
enum sshd_auth_kind sshd_auth_line_parse(const char *line, size_t len, struct sshd_auth_line *out);

#endif
