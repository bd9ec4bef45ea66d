/* SPDX-License-Identifier: Apache-2.0 */
/* Public key files given with --ssh-key: a path, or "-" for stdin.  A file
 * may hold several keys, one per line; blank lines and # comments are
 * skipped.  Every key is checked with the same parser helperd uses
 * (common/sshkey.h), so a bad key is refused here, naming the file and line,
 * before any request. */
#ifndef CONTAINARIUM_CLI_KEYFILE_H
#define CONTAINARIUM_CLI_KEYFILE_H

#include <stddef.h>

#include "args.h"

struct key_list {
	char **keys; /* canonical key lines, no duplicates */
	size_t count;
};

/* Read one more file into list.  Returns CLI_OK, or CLI_USAGE after
 * printing why (missing, unreadable, no keys, a bad line). */
int keyfile_read(const char *path, struct key_list *list);
void key_list_free(struct key_list *list);

/* Every file given as option opt_id in a, in order ("-" at most once).
 * At least one key is required: missing_msg says what to give. */
int keyfile_read_options(const struct args *a, int opt_id, const char *missing_msg, struct key_list *list);

#endif
