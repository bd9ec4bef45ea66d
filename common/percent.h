/* SPDX-License-Identifier: Apache-2.0 */
/* Percent-encoding (RFC 3986) of a path segment or query value: every byte
 * but the unreserved A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex).
 * Used by helperd for Incus's URLs and by the CLI for helperd's; one rule,
 * so both ends of a request agree on what a name looks like.  libc only. */
#ifndef CONTAINARIUM_PERCENT_H
#define CONTAINARIUM_PERCENT_H

/* s percent-encoded, malloc'd (the caller frees it); NULL when memory ran out. */
char *ctm_percent_escape(const char *s);

#endif
