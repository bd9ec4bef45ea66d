/* SPDX-License-Identifier: Apache-2.0 */
/* Failed SSH logins, from sshd's own log, into the audit log.
 *
 * A thread follows the source helperd.conf's sshd_log names: a file
 * (auth.log, or sshd -E FILE; log_follow.h), or the journal through a
 * `journalctl --follow --merge --output=cat --unit=UNIT` child (no libsystemd
 * linked; journalctl's unit filter uses the journal's trusted fields, so
 * another program cannot write lines that pass for sshd's, which any local
 * user can do in auth.log with logger -t sshd).  Each connection that
 * fails to log in as a jump user (one in the registry) or as a name that
 * does not exist becomes one line
 * {"event":"login_failed","user","rhost","port","reason","attempts","account"};
 * failures of the host's own users are not Containarium's to record. */
#ifndef CONTAINARIUM_HELPERD_SSHD_WATCH_H
#define CONTAINARIUM_HELPERD_SSHD_WATCH_H

struct helperd;
struct sshd_auth_failure;

/* Start following (nothing when sshd_log is "off" or "auto" finds no
 * source).  0, or -1 when the thread could not start. */
int sshd_watch_start(struct helperd *d);
void sshd_watch_stop(void);

/* login_failed events recorded since helperd started (the metric). */
unsigned long sshd_watch_failures(void);

/* Record f in d's audit log when it concerns a jump user or an unknown
 * name; 1 when recorded, 0 when not ours, -1 when the write failed. */
int sshd_watch_record(struct helperd *d, const struct sshd_auth_failure *f);

#endif
