/* containarium export USER --jump-ip IP [--jump-port N] [--key PATH] [--output FILE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "outfile.h"
#include "output.h"

/* helperd's ssh-config starts with this line; a file that does was
 * written by us and may be replaced. */
#define CONFIG_MAGIC "# Containarium SSH Configuration"

enum { O_JUMP_IP = 1, O_JUMP_PORT, O_KEY, O_OUTPUT, O_FORCE };

static const struct opt opts[] = {
	{ "jump-ip", 0, true, O_JUMP_IP },
	{ "jump-port", 0, true, O_JUMP_PORT },
	{ "key", 0, true, O_KEY },
	{ "output", 'o', true, O_OUTPUT },
	{ "force", 'f', false, O_FORCE },
	{ NULL, 0, false, 0 },
};

static int run(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 1, 1, "export", "USER --jump-ip IP");
	if (rc || (rc = check_username(a->pos[0])))
		return rc;
	const char *jump = args_last(a, O_JUMP_IP), *port = args_last(a, O_JUMP_PORT), *key = args_last(a, O_KEY);
	const char *output = args_last(a, O_OUTPUT);
	if (!jump) {
		out_error("export: --jump-ip is required: the jump server's public address or host name, "
			  "such as --jump-ip 203.0.113.10");
		return CLI_USAGE;
	}
	if ((rc = check_host("--jump-ip", jump)) || (port && (rc = check_port("--jump-port", port))) ||
	    (key && (rc = check_key_path("--key", key))))
		return rc;
	if (output && !*output) {
		out_error("--output needs a file name");
		return CLI_USAGE;
	}
	char *ej = url_escape(jump), *ek = key ? url_escape(key) : NULL, *target = NULL;
	int n = asprintf(&target, "/v1/containers/%s/ssh-config?jump_ip=%s%s%s%s%s", a->pos[0], ej,
			 port ? "&jump_port=" : "", port ? port : "", ek ? "&key=" : "", ek ? ek : "");
	free(ej);
	free(ek);
	if (n < 0) {
		out_error("out of memory");
		return CLI_FAILED;
	}
	struct api_reply r;
	rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r);
	free(target);
	if (rc)
		return rc;
	if (r.json || strncmp(r.text, CONFIG_MAGIC "\n", strlen(CONFIG_MAGIC) + 1) != 0) {
		out_error("helperd's ssh-config answer does not start with \"%s\"; not writing it", CONFIG_MAGIC);
		api_reply_free(&r);
		return CLI_FAILED;
	}
	if (output)
		rc = outfile_write(output, r.text, r.len, CONFIG_MAGIC, args_has(a, O_FORCE));
	if (rc == CLI_OK) {
		if (c->json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(a->pos[0]));
			json_object_object_add(o, "ssh_config", json_object_new_string_len(r.text, (int)r.len));
			if (output)
				json_object_object_add(o, "output", json_object_new_string(output));
			out_json(o);
			json_object_put(o);
		} else if (output) {
			printf("%sWrote the SSH configuration of %s to %s (mode 0600)\n", out_ok_mark(), a->pos[0], output);
			printf("  Send it to %s; with it in ~/.ssh/config (or Include'd from there) they connect "
			       "with: ssh %s-dev\n", a->pos[0], a->pos[0]);
		} else {
			fwrite(r.text, 1, r.len, stdout);
		}
	}
	api_reply_free(&r);
	return rc;
}

const struct command cmd_export = {
	"export", "USER --jump-ip IP [--jump-port PORT] [--key PATH] [--output FILE]",
	"print the user's ~/.ssh/config block",
	"Prints the ssh_config block that takes USER through the jump server to\n"
	"their container (Host USER-dev), ready for the user's ~/.ssh/config.\n"
	"\n"
	"Options:\n"
	"  --jump-ip IP       the jump server's public address or host name (required)\n"
	"  --jump-port PORT   its SSH port, when not 22\n"
	"  --key PATH         IdentityFile for both hops, as the user's machine knows\n"
	"                     it, such as ~/.ssh/containarium_alice\n"
	"  -o, --output FILE  write FILE instead of printing: atomically, mode 0600.\n"
	"                     An existing FILE is replaced only when containarium\n"
	"                     wrote it (first line \"" CONFIG_MAGIC "\")\n"
	"  -f, --force        replace FILE even when something else wrote it\n",
	opts, run,
};
