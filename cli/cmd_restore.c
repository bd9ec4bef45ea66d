/* SPDX-License-Identifier: Apache-2.0 */
/* containarium restore FILE: a user back from a delete --backup tarball. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "output.h"
#include "progress.h"

static const struct opt opts[] = { { NULL, 0, false, 0 } };

static int run(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 1, 1, "restore", "FILE");
	if (rc)
		return rc;
	const char *file = a->pos[0];
	if (!*file || strlen(file) > 400 || strpbrk(file, "\n\r")) {
		out_error("restore: FILE must name a backup such as alice-container-20261205T101500Z.tar.gz");
		return CLI_USAGE;
	}
	json_object *body = json_object_new_object(), *result;
	json_object_object_add(body, "file", json_object_new_string(file));
	rc = progress_run(c, "POST", "/v1/backups/restore", body, NULL, &result);
	json_object_put(body);
	if (rc == CLI_OK) {
		if (c->json) {
			out_json(result);
		} else {
			printf("%sUser %s is back: container %s, uid %lld, address %s\n", out_ok_mark(),
			       json_str(result, "name", "?"), json_str(result, "container", "?"),
			       json_int(result, "uid", 0), json_str(result, "ipv4", "-"));
			json_object *notes = NULL;
			json_object_object_get_ex(result, "notes", &notes);
			for (size_t i = 0; notes && i < json_object_array_length(notes); i++)
				printf("  Note: %s\n", json_object_get_string(json_object_array_get_idx(notes, i)));
		}
	}
	json_object_put(result);
	return rc;
}

const struct command cmd_restore = {
	"restore",
	"FILE",
	"bring a deleted user back from a delete --backup file",
	"Brings back the user whose container containarium delete --backup saved in\n"
	"FILE, a file in helperd's backup_dir (its name, or its path there):\n"
	"the container with its files, and the jump account with its SSH keys, the\n"
	"same uid and the same IPv4 address.  When another user holds that uid or\n"
	"address now, the user gets a free one, and the output says so.  A user of\n"
	"that name who exists now is an error: nothing changes, the file stays.\n",
	opts,
	run,
};
