/* SPDX-License-Identifier: Apache-2.0 */
/* Deadlines on CLOCK_MONOTONIC, for every socket wait that must end: the
 * PAM module inside sshd (a login must never hang on helperd) and helperd
 * talking to Incus.  One clock and one poll loop for both.  libc only. */
#ifndef CONTAINARIUM_DEADLINE_H
#define CONTAINARIUM_DEADLINE_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (not wall time: a clock step never
 * shortens or stretches a wait). */
int64_t ctm_now_ms(void);
/* The same clock in seconds, with nanoseconds: for measuring and logging
 * durations. */
double ctm_now_s(void);

/* Wait until fd is ready for events (POLLIN, POLLOUT) or deadline (in
 * ctm_now_ms() time) passes: 1 ready, 0 time is up, -1 poll failed (errno).
 * A signal does not extend the wait: the time left is recomputed. */
int ctm_wait_fd(int fd, short events, int64_t deadline);

/* Sleep ms milliseconds, or less when the deadline comes first. */
void ctm_pause_ms(int64_t deadline, int ms);

#endif
