/* SPDX-License-Identifier: Apache-2.0 */
/* Sizes as people write them ("512MB", "4GiB", "2G", "1073741824"): one
 * grammar and one unit table for the CLI's --memory/--disk-quota and
 * helperd's configuration and API, so a size the CLI accepts is one helperd
 * accepts and means the same number of bytes.  libc only.
 *
 * Grammar: a whole number (decimal digits, leading zeros allowed, not 0)
 * then one unit, nothing else: none or B (bytes); KB MB GB TB (powers of
 * 1000); KiB MiB GiB TiB, and K M G T for the same (powers of 1024). */
#ifndef CONTAINARIUM_SIZE_H
#define CONTAINARIUM_SIZE_H

#include <stddef.h>

/* The units, for a sentence telling someone what to write. */
#define CTM_SIZE_UNITS_HELP "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB; K, M, G, T mean KiB, MiB, GiB, TiB"

/* 0 and *bytes, or -1: not a size, or more bytes than 64 bits hold. */
int ctm_size_parse(const char *s, unsigned long long *bytes);

/* The size as Incus reads it ("2G" -> "2GiB", "5KB" -> "5kB", "1024" ->
 * "1024B", leading zeros dropped): 0, or -1 (not a size, or out too small). */
int ctm_size_for_incus(const char *s, char *out, size_t outlen);

#endif
