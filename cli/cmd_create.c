/* SPDX-License-Identifier: Apache-2.0 */
/* containarium create USER --ssh-key FILE ... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "keyfile.h"
#include "output.h"
#include "progress.h"

enum {
	O_SSH_KEY = 1,
	O_IMAGE,
	O_CPU,
	O_MEMORY,
	O_DISK,
	O_AUTOSTART,
	O_NO_AUTOSTART,
	O_DOCKER,
	O_NO_DOCKER,
	O_TARGET,
	O_SNAP_SCHEDULE,
	O_SNAP_EXPIRY
};

static const struct opt opts[] = {
	{ "ssh-key", 0, true, O_SSH_KEY },
	{ "image", 0, true, O_IMAGE },
	{ "cpu", 0, true, O_CPU },
	{ "memory", 0, true, O_MEMORY },
	{ "disk-quota", 0, true, O_DISK },
	{ "autostart", 0, false, O_AUTOSTART },
	{ "no-autostart", 0, false, O_NO_AUTOSTART },
	{ "docker", 0, false, O_DOCKER },
	{ "no-docker", 0, false, O_NO_DOCKER },
	{ "target", 0, true, O_TARGET },
	{ "snapshot-schedule", 0, true, O_SNAP_SCHEDULE },
	{ "snapshot-expiry", 0, true, O_SNAP_EXPIRY },
	{ NULL, 0, false, 0 },
};

static void print_details(json_object *r)
{
	const char *user = json_str(r, "name", "?"), *ip = json_str(r, "ipv4", "");
	char host[256] = "JUMP-HOST";
	if (gethostname(host, sizeof host - 1) != 0)
		snprintf(host, sizeof host, "JUMP-HOST");
	printf("%sContainer %s created successfully!\n\n", out_ok_mark(), json_str(r, "container", "?"));
	printf("Container Details:\n");
	printf("  Name: %s\n", json_str(r, "container", "?"));
	printf("  User: %s\n", user);
	printf("  IP: %s\n", *ip ? ip : "-");
	const char *location = json_str(r, "location", "none");
	if (strcmp(location, "none") != 0)
		printf("  Location: %s (cluster member)\n", location);
	printf("  CPU: %s\n", json_str(r, "cpu", "-"));
	printf("  Memory: %s\n", json_str(r, "memory", "-"));
	const char *disk = json_str(r, "disk", "");
	printf("  Disk: %s\n", *disk ? disk : "no quota (the storage pool cannot enforce one)");
	printf("  Auto-start: %s\n", json_flag(r, "autostart") ? "enabled" : "disabled");
	printf("  Docker: %s\n", json_flag(r, "docker") ? "enabled" : "disabled");
	printf("\nJump Server Account (proxy-only):\n");
	printf("  Username: %s\n", user);
	printf("  Shell: /usr/sbin/nologin (no shell; it can only open a tunnel to port 22 of %s)\n",
	       *ip ? ip : "the container");
	printf("\nSSH Access (via ProxyJump):\n");
	printf("  ssh -J %s@%s %s@%s\n", user, host, user, *ip ? ip : "CONTAINER-IP");
	printf("  ssh %s-dev    # after: containarium export %s --jump-ip PUBLIC-IP >> ~/.ssh/config\n", user, user);
}

static int run(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 1, 1, "create", "USER --ssh-key FILE");
	if (rc)
		return rc;
	const char *user = a->pos[0];
	if ((rc = check_username(user)))
		return rc;
	struct key_list keys = { 0 };
	int autostart = -1, docker = -1;
	const char *image = NULL, *cpu = NULL, *memory = NULL, *disk = NULL, *target = NULL;
	for (int i = 0; i < a->nopts && !rc; i++) {
		const char *v = a->opts[i].value;
		switch (a->opts[i].id) {
		case O_IMAGE: rc = check_image(image = v); break;
		case O_CPU: rc = check_cpu("--cpu", cpu = v); break;
		case O_MEMORY: rc = check_size("--memory", memory = v, 64ULL << 20, "4GB or 512MiB"); break;
		case O_DISK: rc = check_size("--disk-quota", disk = v, 512ULL << 20, "50GB"); break;
		case O_AUTOSTART: autostart = 1; break;
		case O_NO_AUTOSTART: autostart = 0; break;
		case O_DOCKER: docker = 1; break;
		case O_NO_DOCKER: docker = 0; break;
		case O_TARGET: rc = check_member(target = v); break;
		}
	}
	if (rc || (rc = keyfile_read_options(a, O_SSH_KEY,
					     "create: --ssh-key FILE is required: the user's public "
					     "key (their .pub file); without one nobody can log in",
					     &keys)))
		return rc;
	json_object *body = json_object_new_object(), *arr = json_object_new_array();
	json_object_object_add(body, "name", json_object_new_string(user));
	for (size_t i = 0; i < keys.count; i++)
		json_object_array_add(arr, json_object_new_string(keys.keys[i]));
	json_object_object_add(body, "ssh_keys", arr);
	key_list_free(&keys);
	if (image)
		json_object_object_add(body, "image", json_object_new_string(image));
	if (cpu)
		json_object_object_add(body, "cpu", json_object_new_int(atoi(cpu)));
	if (memory)
		json_object_object_add(body, "memory", json_object_new_string(memory));
	if (disk)
		json_object_object_add(body, "disk", json_object_new_string(disk));
	if (autostart >= 0)
		json_object_object_add(body, "autostart", json_object_new_boolean(autostart));
	if (docker >= 0)
		json_object_object_add(body, "docker", json_object_new_boolean(docker));
	if (target)
		json_object_object_add(body, "target", json_object_new_string(target));
	/* Checked by helperd, which names what is wrong with either. */
	if (args_last(a, O_SNAP_SCHEDULE))
		json_object_object_add(body, "snapshot_schedule",
				       json_object_new_string(args_last(a, O_SNAP_SCHEDULE)));
	if (args_last(a, O_SNAP_EXPIRY))
		json_object_object_add(body, "snapshot_expiry", json_object_new_string(args_last(a, O_SNAP_EXPIRY)));

	char headline[80];
	snprintf(headline, sizeof headline, "Creating container for user %s", user);
	json_object *result;
	rc = progress_run(c, "POST", "/v1/containers", body, headline, &result);
	json_object_put(body);
	if (rc == CLI_OK) {
		if (c->json)
			out_json(result);
		else
			print_details(result);
	}
	json_object_put(result);
	return rc;
}

const struct command cmd_create = {
	"create",
	"USER --ssh-key FILE [options]",
	"create a user's container and jump account",
	"Creates USER's container, starts it, makes the user inside with the given\n"
	"public keys, and activates the proxy-only jump account.  Prints each step\n"
	"as helperd reports it, then the container's details.\n"
	"\n"
	"Options:\n"
	"  --ssh-key FILE     public key file (.pub); - reads standard input.  May be\n"
	"                     repeated; a file may hold several keys, one per line\n"
	"                     (blank lines and # comments are skipped).  Required.\n"
	"  --image IMAGE      [REMOTE:]ALIAS, such as images:debian/12 (default: helperd's image)\n"
	"  --cpu N            CPU limit, 1-1024\n"
	"  --memory SIZE      memory limit, such as 4GB or 512MiB (at least 64MiB)\n"
	"  --disk-quota SIZE  root disk size, such as 50GB (at least 512MiB)\n"
	"  --autostart        start the container when the host boots\n"
	"  --no-autostart     do not\n"
	"  --docker           install Docker in the container and allow nesting\n"
	"  --no-docker        do not (default: helperd.conf's default_docker)\n"
	"  --target MEMBER    on an Incus cluster, the member to put the container on\n"
	"                     (default: the one Incus's scheduler picks)\n"
	"  --snapshot-schedule CRON\n"
	"                     snapshots on a schedule, such as \"0 3 * * *\" or @daily\n"
	"                     (default: helperd.conf's snapshot_schedule; \"\" none)\n"
	"  --snapshot-expiry DURATION\n"
	"                     how long scheduled snapshots are kept, such as 7d or 2w\n"
	"                     (default: helperd.conf's snapshot_expiry)\n",
	opts,
	run,
};
