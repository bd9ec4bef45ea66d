/* SPDX-License-Identifier: Apache-2.0 */
/* containarium: the command line for Containarium.  Finds the command,
 * parses and checks its arguments (usage errors exit 2 before anything is
 * sent), runs it against helperd, and exits with a code from cli.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "output.h"

static const struct command *const commands[] = {
	&cmd_create,
	&cmd_list,
	&cmd_info,
	&cmd_delete,
	&cmd_start,
	&cmd_stop,
	&cmd_resize,
	&cmd_set,
	&cmd_export,
	&cmd_key_list,
	&cmd_key_add,
	&cmd_key_remove,
	&cmd_key_replace,
	&cmd_snapshot_create,
	&cmd_snapshot_list,
	&cmd_snapshot_restore,
	&cmd_snapshot_delete,
	&cmd_snapshot_schedule,
	&cmd_restore,
	&cmd_system_info,
	&cmd_metrics,
	&cmd_operations,
	&cmd_audit,
	&cmd_sessions,
	&cmd_cert_generate,
	&cmd_cert_revoke,
	&cmd_cert_list,
	NULL,
};

/* Commands of two words: "key add", "system info", "cert generate",
 * "snapshot create". */
static const char *const groups[] = { "key", "system", "cert", "snapshot", NULL };

static const char global_help[] = "Global options (before or after the command):\n"
				  "  --socket PATH   helperd's socket (default: $CONTAINARIUM_SOCKET, else\n"
				  "                  " CLI_DEFAULT_SOCKET ")\n"
				  "  --remote URL    helperd's remote API instead (https://HOST:PORT; default\n"
				  "                  $CONTAINARIUM_REMOTE), with a client certificate:\n"
				  "  --client-cert FILE, --client-key FILE\n"
				  "                  (default: $CONTAINARIUM_CLIENT_CERT / _KEY, else\n"
				  "                  ~/.config/containarium/client.crt and client.key)\n"
				  "  --server-ca FILE  the CA that signed helperd's certificate (default:\n"
				  "                  $CONTAINARIUM_SERVER_CA, else ~/.config/containarium/\n"
				  "                  server-ca.crt if present, else the system's CAs)\n"
				  "  --json          print helperd's JSON (for create, delete, start, stop,\n"
				  "                  resize, snapshot and restore: the finished operation's\n"
				  "                  result); on failure the\n"
				  "                  error object {\"error\": {...}} from helperd\n"
				  "  -v, --verbose   show each request to helperd and its status on stderr\n"
				  "  -h, --help      this help; containarium help COMMAND for one command\n"
				  "  --version       the version\n";

static const char exit_help[] = "Exit status: 0 done; 1 failed; 2 bad arguments (nothing was sent); 3 not found;\n"
				"4 conflict (exists, busy, running); 5 helperd or its backend unavailable;\n"
				"6 permission denied.  See containarium(1).\n";

static void general_help(FILE *f)
{
	fprintf(f, "Usage: containarium [--socket PATH | --remote URL] [--json] [-v] COMMAND [ARGS...]\n\n"
		   "Gives each developer a container reached through this host's SSH jump\n"
		   "server, by asking containarium-helperd.\n\nCommands:\n");
	for (const struct command *const *c = commands; *c; c++)
		fprintf(f, "  %-12s %s\n", (*c)->name, (*c)->summary);
	fprintf(f, "  %-12s %s\n\n%s\n%s", "help", "help for a command: containarium help create", global_help,
		exit_help);
}

static void command_help(const struct command *cmd)
{
	printf("Usage: containarium %s%s%s\n\n%s\n%s\n%s", cmd->name, *cmd->usage ? " " : "", cmd->usage, cmd->help,
	       global_help, exit_help);
}

static void group_help(const char *group)
{
	printf("Usage: containarium %s SUBCOMMAND ...\n\n", group);
	for (const struct command *const *c = commands; *c; c++)
		if (strncmp((*c)->name, group, strlen(group)) == 0 && (*c)->name[strlen(group)] == ' ')
			printf("  containarium %s %s\n      %s\n", (*c)->name, (*c)->usage, (*c)->summary);
	printf("\n%s", global_help);
}

static const struct command *find(const char *name)
{
	for (const struct command *const *c = commands; *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}

static int is_group(const char *w)
{
	for (const char *const *g = groups; *g; g++)
		if (strcmp(*g, w) == 0)
			return 1;
	return 0;
}

static int unknown_command(const char *name)
{
	out_error("unknown command \"%.60s\"; containarium --help lists the commands", name);
	return CLI_USAGE;
}

/* containarium help [COMMAND [SUB]] */
static int help_for(int n, char **words)
{
	if (n == 0) {
		general_help(stdout);
		return CLI_OK;
	}
	char name[64];
	snprintf(name, sizeof name, "%s%s%s", words[0], n > 1 ? " " : "", n > 1 ? words[1] : "");
	const struct command *cmd = find(name);
	if (cmd) {
		command_help(cmd);
		return CLI_OK;
	}
	if (n == 1 && is_group(words[0])) {
		group_help(words[0]);
		return CLI_OK;
	}
	return unknown_command(name);
}

static int wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

/* A global option that takes a value: --socket, --remote, --client-cert,
 * --client-key, --server-ca (with "=VALUE" or without). */
static int is_path_option(const char *w)
{
	static const char *const names[] = { "--socket",     "--remote",    "--client-cert",
					     "--client-key", "--server-ca", NULL };
	for (int k = 0; names[k]; k++) {
		size_t n = strlen(names[k]);
		if (strncmp(w, names[k], n) == 0 && (w[n] == '\0' || w[n] == '='))
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	const char *env = getenv("CONTAINARIUM_SOCKET");
	c.socket = env && *env ? env : CLI_DEFAULT_SOCKET;
	const char *remote = getenv("CONTAINARIUM_REMOTE");
	c.remote = remote && *remote ? remote : NULL;
	out_init();

	/* Global options before the command. */
	int i = 1, help = 0, version = 0;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *w = argv[i];
		if (strcmp(w, "--json") == 0) {
			c.json = true;
		} else if (strcmp(w, "-v") == 0 || strcmp(w, "--verbose") == 0) {
			c.verbose = true;
		} else if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0) {
			help = 1;
		} else if (strcmp(w, "--version") == 0) {
			version = 1;
		} else if (is_path_option(w)) {
			/* --name=VALUE or --name VALUE */
			char name[32];
			const char *eq = strchr(w, '=');
			snprintf(name, sizeof name, "%.*s", (int)((eq ? (size_t)(eq - w) : strlen(w)) - 2), w + 2);
			const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (cli_set_global_path(&c, name, value))
				return CLI_USAGE;
		} else {
			out_error("unknown option %.60s before the command; options of a command go after it "
				  "(containarium create alice --ssh-key FILE); see containarium --help",
				  w);
			return CLI_USAGE;
		}
	}
	if (version) {
		ctm_print_version("containarium");
		return CLI_OK;
	}
	if (i == argc) {
		if (help) {
			general_help(stdout);
			return CLI_OK;
		}
		general_help(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		int n = 0;
		while (i + 1 + n < argc && argv[i + 1 + n][0] != '-' && n < 2)
			n++;
		return help_for(n, argv + i + 1);
	}

	char name[64];
	const char *group = is_group(argv[i]) ? argv[i] : NULL;
	if (group) {
		const char *sub = i + 1 < argc && argv[i + 1][0] != '-' ? argv[i + 1] : NULL;
		if (!sub && strcmp(group, "system") == 0) {
			sub = "info";
			i -= 1; /* no word to skip */
		}
		if (!sub) {
			if (help || wants_help(argc - i - 1, argv + i + 1)) {
				group_help(group);
				return CLI_OK;
			}
			out_error("%s needs a subcommand; see containarium %s --help", group, group);
			return CLI_USAGE;
		}
		snprintf(name, sizeof name, "%s %.40s", group, sub);
		i += 2;
	} else {
		snprintf(name, sizeof name, "%.60s", argv[i]);
		i += 1;
	}
	const struct command *cmd = find(name);
	if (!cmd)
		return unknown_command(name);
	if (help || wants_help(argc - i, argv + i)) {
		command_help(cmd);
		return CLI_OK;
	}
	struct args a;
	bool want_help = false, want_version = false;
	int rc = args_parse(argc - i, argv + i, cmd->opts, cmd->name, &a, &c, &want_help, &want_version);
	if (rc)
		return rc;
	if (want_version) {
		ctm_print_version("containarium");
		return CLI_OK;
	}
	rc = cmd->run(&c, &a);
	api_close(&c);
	fflush(stdout);
	if (ferror(stdout)) {
		out_error("cannot write the output");
		return rc ? rc : CLI_FAILED;
	}
	return rc;
}
