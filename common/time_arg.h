/* SPDX-License-Identifier: Apache-2.0 */
/* A point in time as a person writes it on the command line (audit
 * --since/--until): RFC 3339 ("2026-12-03T12:00:00Z", with an offset such
 * as "+01:00", fractional seconds ignored; a space for the T), a date
 * alone ("2026-12-03", midnight UTC), or a time before now ("90s", "30m",
 * "1h", "7d", "2w").  The CLI checks with it before sending; helperd
 * resolves it against its own clock.  libc only. */
#ifndef CONTAINARIUM_TIME_ARG_H
#define CONTAINARIUM_TIME_ARG_H

#include <time.h>

/* 0 with *out (seconds since the epoch), or -1 when s is none of those. */
int ctm_time_arg(const char *s, time_t now, time_t *out);

#endif
