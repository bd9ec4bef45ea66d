/* SPDX-License-Identifier: Apache-2.0 */
/* containarium export USER --jump-ip IP [--jump-port N] [--key PATH] [--known-hosts PATH]
 *                      [--output FILE] [--known-hosts-output FILE] */
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
/* ... and its known-hosts file starts with this one. */
#define KNOWN_HOSTS_MAGIC "# Containarium known hosts"
/* The line of the ssh_config block that names the known_hosts file: only
 * with a host CA (helperd.conf host_ca_key). */
#define KNOWN_HOSTS_LINE "\n    UserKnownHostsFile "

enum { O_JUMP_IP = 1, O_JUMP_PORT, O_KEY, O_OUTPUT, O_FORCE, O_KNOWN_HOSTS, O_KNOWN_HOSTS_OUTPUT };

static const struct opt opts[] = {
	{ "jump-ip", 0, true, O_JUMP_IP }, { "jump-port", 0, true, O_JUMP_PORT },
	{ "key", 0, true, O_KEY },         { "known-hosts", 0, true, O_KNOWN_HOSTS },
	{ "output", 'o', true, O_OUTPUT }, { "known-hosts-output", 0, true, O_KNOWN_HOSTS_OUTPUT },
	{ "force", 'f', false, O_FORCE },  { NULL, 0, false, 0 },
};

/* The known_hosts lines (GET .../known-hosts) into r. */
static int get_known_hosts(struct cli *c, const char *user, const char *ej, const char *port, struct api_reply *r)
{
	char *target = NULL;
	if (asprintf(&target, "/v1/containers/%s/known-hosts?jump_ip=%s%s%s", user, ej, port ? "&jump_port=" : "",
		     port ? port : "") < 0) {
		out_error("out of memory");
		return CLI_FAILED;
	}
	int rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, r);
	free(target);
	if (rc)
		return rc;
	if (r->json || strncmp(r->text, KNOWN_HOSTS_MAGIC "\n", strlen(KNOWN_HOSTS_MAGIC) + 1) != 0) {
		out_error("helperd's known-hosts answer does not start with \"%s\"; not writing it", KNOWN_HOSTS_MAGIC);
		api_reply_free(r);
		return CLI_FAILED;
	}
	return CLI_OK;
}

static int run(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 1, 1, "export", "USER --jump-ip IP");
	if (rc || (rc = check_username(a->pos[0])))
		return rc;
	const char *jump = args_last(a, O_JUMP_IP), *port = args_last(a, O_JUMP_PORT), *key = args_last(a, O_KEY);
	const char *output = args_last(a, O_OUTPUT), *kh = args_last(a, O_KNOWN_HOSTS);
	const char *kh_output = args_last(a, O_KNOWN_HOSTS_OUTPUT);
	if (!jump) {
		out_error("export: --jump-ip is required: the jump server's public address or host name, "
			  "such as --jump-ip 203.0.113.10");
		return CLI_USAGE;
	}
	if ((rc = check_host("--jump-ip", jump)) || (port && (rc = check_port("--jump-port", port))) ||
	    (key && (rc = check_key_path("--key", key))) || (kh && (rc = check_key_path("--known-hosts", kh))))
		return rc;
	if (output && !*output) {
		out_error("--output needs a file name");
		return CLI_USAGE;
	}
	if (kh_output && !*kh_output) {
		out_error("--known-hosts-output needs a file name");
		return CLI_USAGE;
	}
	char *ej = url_escape(jump), *ek = key ? url_escape(key) : NULL, *ekh = kh ? url_escape(kh) : NULL;
	char *target = NULL;
	int n = asprintf(&target, "/v1/containers/%s/ssh-config?jump_ip=%s%s%s%s%s%s%s", a->pos[0], ej,
			 port ? "&jump_port=" : "", port ? port : "", ek ? "&key=" : "", ek ? ek : "",
			 ekh ? "&known_hosts=" : "", ekh ? ekh : "");
	free(ek);
	free(ekh);
	if (n < 0) {
		free(ej);
		out_error("out of memory");
		return CLI_FAILED;
	}
	struct api_reply r, kr = { 0 };
	rc = api_call(c, "GET", target, NULL, API_TIMEOUT_SECONDS, &r);
	free(target);
	if (rc) {
		free(ej);
		return rc;
	}
	if (r.json || strncmp(r.text, CONFIG_MAGIC "\n", strlen(CONFIG_MAGIC) + 1) != 0) {
		out_error("helperd's ssh-config answer does not start with \"%s\"; not writing it", CONFIG_MAGIC);
		api_reply_free(&r);
		free(ej);
		return CLI_FAILED;
	}
	/* With host certificates the block names a known_hosts file of its
	 * own: its @cert-authority lines go beside the configuration. */
	const char *named = strstr(r.text, KNOWN_HOSTS_LINE);
	char *kh_path = NULL, *kh_default = NULL;
	bool have_kh = false;
	if (named) {
		if ((rc = get_known_hosts(c, a->pos[0], ej, port, &kr))) {
			free(ej);
			api_reply_free(&r);
			return rc;
		}
		have_kh = true;
		const char *v = named + strlen(KNOWN_HOSTS_LINE);
		kh_path = strndup(v, strcspn(v, "\n"));
		if (!kh_output && output && asprintf(&kh_default, "%s.known_hosts", output) >= 0)
			kh_output = kh_default;
	}
	free(ej);
	if (output)
		rc = outfile_write(output, r.text, r.len, CONFIG_MAGIC, args_has(a, O_FORCE));
	if (rc == CLI_OK && have_kh && kh_output)
		rc = outfile_write(kh_output, kr.text, kr.len, KNOWN_HOSTS_MAGIC, args_has(a, O_FORCE));
	if (rc == CLI_OK) {
		if (c->json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(a->pos[0]));
			json_object_object_add(o, "ssh_config", json_object_new_string_len(r.text, (int)r.len));
			if (output)
				json_object_object_add(o, "output", json_object_new_string(output));
			if (have_kh) {
				json_object_object_add(o, "known_hosts",
						       json_object_new_string_len(kr.text, (int)kr.len));
				json_object_object_add(o, "known_hosts_path",
						       json_object_new_string(kh_path ? kh_path : ""));
				if (kh_output)
					json_object_object_add(o, "known_hosts_output",
							       json_object_new_string(kh_output));
			}
			out_json(o);
			json_object_put(o);
		} else if (output) {
			printf("%sWrote the SSH configuration of %s to %s (mode 0600)\n", out_ok_mark(), a->pos[0],
			       output);
			if (have_kh && kh_output)
				printf("%sWrote the host CA's known_hosts lines to %s (mode 0600)\n", out_ok_mark(),
				       kh_output);
			if (have_kh && kh_output)
				printf("  Send both to %s: the first in ~/.ssh/config (or Include'd from there), the "
				       "second as %s;\n  then: ssh %s-dev (no host key question: the hosts' "
				       "certificates are checked)\n",
				       a->pos[0], kh_path ? kh_path : "", a->pos[0]);
			else
				printf("  Send it to %s; with it in ~/.ssh/config (or Include'd from there) they connect "
				       "with: ssh %s-dev\n",
				       a->pos[0], a->pos[0]);
		} else {
			fwrite(r.text, 1, r.len, stdout);
			if (have_kh && kh_output)
				fprintf(stderr,
					"Wrote the host CA's known_hosts lines to %s: the user needs them as %s\n",
					kh_output, kh_path ? kh_path : "");
			else if (have_kh)
				fprintf(stderr,
					"Note: this configuration checks host keys against the host CA only "
					"(StrictHostKeyChecking yes); the user also needs the known_hosts lines as %s: "
					"run again with --known-hosts-output FILE\n",
					kh_path ? kh_path : "");
		}
	}
	free(kh_path);
	free(kh_default);
	if (have_kh)
		api_reply_free(&kr);
	api_reply_free(&r);
	return rc;
}

const struct command cmd_export = {
	"export",
	"USER --jump-ip IP [--jump-port PORT] [--key PATH] [--known-hosts PATH] [--output FILE] "
	"[--known-hosts-output FILE]",
	"print the user's ~/.ssh/config block",
	"Prints the ssh_config block that takes USER through the jump server to\n"
	"their container (Host USER-dev), ready for the user's ~/.ssh/config.\n"
	"With a host CA (helperd.conf host_ca_key) both hosts are checked against\n"
	"the CA only (StrictHostKeyChecking yes, a UserKnownHostsFile of its own):\n"
	"its @cert-authority lines go to the known-hosts output.\n"
	"\n"
	"Options:\n"
	"  --jump-ip IP       the jump server's public address or host name (required);\n"
	"                     with a host CA, a name its certificate carries\n"
	"  --jump-port PORT   its SSH port, when not 22\n"
	"  --key PATH         IdentityFile for both hops, as the user's machine knows\n"
	"                     it, such as ~/.ssh/containarium_alice\n"
	"  --known-hosts PATH the UserKnownHostsFile the block names, as the user's\n"
	"                     machine knows it (default ~/.ssh/containarium_known_hosts)\n"
	"  -o, --output FILE  write FILE instead of printing: atomically, mode 0600.\n"
	"                     An existing FILE is replaced only when containarium\n"
	"                     wrote it (first line \"" CONFIG_MAGIC "\")\n"
	"  --known-hosts-output FILE\n"
	"                     write the known_hosts lines to FILE (the same way;\n"
	"                     default with --output: FILE.known_hosts)\n"
	"  -f, --force        replace files even when something else wrote them\n",
	opts,
	run,
};
