/* SPDX-License-Identifier: Apache-2.0 */
/* Commands that act on several users at once (start, stop, set, snapshot
 * create): the users named, or with --all every user helperd lists that
 * the command applies to; then one request per user, in order, each
 * reported as it ends.  One failure does not stop the others. */
#ifndef CONTAINARIUM_CLI_BATCH_H
#define CONTAINARIUM_CLI_BATCH_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

struct batch {
	char **users;
	size_t n;
};

/* The users: the positional words (each a valid name, none twice), or with
 * all (and no words) every container whose entry keep() accepts (NULL: all
 * of them), in helperd's order.  cmd and usage name the command in
 * messages.  CLI_OK, or a usage error or helperd's error, reported. */
int batch_users(struct cli *c, int npos, const char *const *pos, bool all, bool (*keep)(json_object *entry),
		const char *cmd, const char *usage, struct batch *b);
void batch_free(struct batch *b);

/* one(c, user, arg) for each user.  CLI_OK when every one succeeded;
 * otherwise, after a line naming those that failed, the first failure's
 * exit code. */
int batch_run(struct cli *c, const char *cmd, const struct batch *b,
	      int (*one)(struct cli *c, const char *user, void *arg), void *arg);

#endif
