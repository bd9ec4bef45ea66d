/* SPDX-License-Identifier: Apache-2.0 */
/* The commands: each cmd_*.c defines its descriptors; main.c lists them,
 * parses the options each declares, and prints their help. */
#ifndef CONTAINARIUM_CLI_COMMANDS_H
#define CONTAINARIUM_CLI_COMMANDS_H

#include "args.h"
#include "cli.h"

struct command {
	const char *name;    /* "create", "key add" */
	const char *usage;   /* arguments after the name */
	const char *summary; /* one line for the command list */
	const char *help;    /* description and options, for --help */
	const struct opt *opts;
	int (*run)(struct cli *c, const struct args *a);
};

extern const struct command cmd_create;
extern const struct command cmd_list;
extern const struct command cmd_info;
extern const struct command cmd_delete, cmd_start, cmd_stop, cmd_resize, cmd_set;
extern const struct command cmd_export;
extern const struct command cmd_key_list, cmd_key_add, cmd_key_remove, cmd_key_replace;
extern const struct command cmd_system_info, cmd_metrics;
extern const struct command cmd_operations;
extern const struct command cmd_audit;
extern const struct command cmd_sessions;
extern const struct command cmd_snapshot_create, cmd_snapshot_list, cmd_snapshot_restore, cmd_snapshot_delete,
	cmd_snapshot_schedule;
extern const struct command cmd_restore;
extern const struct command cmd_cert_generate, cmd_cert_revoke, cmd_cert_list;

#endif
