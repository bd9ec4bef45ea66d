/* SPDX-License-Identifier: Apache-2.0 */
/* Writing a file the CLI produces (export --output): atomically (temp file
 * in the same directory, fsync, rename, fsync of the directory), mode 0600,
 * and never over a file someone else wrote unless forced. */
#ifndef CONTAINARIUM_CLI_OUTFILE_H
#define CONTAINARIUM_CLI_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Replace path with text.  An existing path is replaced only when it is a
 * regular file whose first line is magic_line (we wrote it), or when force
 * is set (then also a symbolic link, which is replaced, not followed).
 * Returns CLI_OK, CLI_CONFLICT (refused) or CLI_FAILED, after reporting. */
int outfile_write(const char *path, const char *text, size_t len, const char *magic_line, bool force);

#endif
