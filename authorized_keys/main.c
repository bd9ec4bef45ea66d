/* SPDX-License-Identifier: Apache-2.0 */
/* containarium-authorized-keys: sshd's AuthorizedKeysCommand.
 *
 *   AuthorizedKeysCommand /usr/local/libexec/containarium-authorized-keys %u
 *
 * For an active jump user, prints each of the user's keys confined to a
 * tunnel to port 22 of the user's own container:
 *
 *   restrict,port-forwarding,permitopen="10.0.3.15:22" ssh-ed25519 AAAA... alice@laptop
 *
 * For anyone else prints nothing and exits 0, so sshd goes on to its other
 * key sources.  Reads only keys.db (mapped, no IPC) and links only libc. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "snapshot_format.h"
#include "snapshot_reader.h"
#include "version.h"

static const char *prog = "containarium-authorized-keys";

static int usage(void)
{
	fprintf(stderr,
		"usage: %s [--keys-db PATH] USER\n"
		"       %s --version\n"
		"Prints USER's SSH keys for sshd's AuthorizedKeysCommand (see %s(8)).\n",
		prog, prog, prog);
	return 2;
}

/* write(2) all of buf; a closed pipe (sshd stopped reading) is not our error. */
static int write_all(const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(STDOUT_FILENO, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EPIPE ? 0 : -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* sshd may close the pipe once it has found the key it wanted. */
	signal(SIGPIPE, SIG_IGN);
	const char *path = CTM_DEFAULT_KEYS_DB, *user = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--keys-db") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--keys-db=", 10) == 0)
			path = argv[i] + 10;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage();
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			return ctm_print_version(prog);
		} else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage();
		else if (user)
			return usage();
		else
			user = argv[i];
	}
	if (!user)
		return usage();

	struct ctm_db db;
	int r = ctm_db_open(&db, path, CTM_DB_KEYS);
	if (r != CTM_OK) {
		fprintf(stderr, "%s: %s: %s; is containarium-helperd running and publishing it?\n", prog, path,
			ctm_status_str(r));
		return 1;
	}
	struct ctm_keys k;
	r = ctm_keys_by_name(&db, user, &k);
	if (r == CTM_NOTFOUND) {
		ctm_db_close(&db);
		return 0; /* not ours */
	}
	if (r != CTM_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, ctm_status_str(r));
		ctm_db_close(&db);
		return 1;
	}
	static const unsigned char unset[4];
	if (k.state != CTM_STATE_ACTIVE || memcmp(k.ipv4, unset, 4) == 0) {
		/* Suspended, still provisioning, or no address to confine to:
		 * offer no key at all. */
		ctm_db_close(&db);
		return 0;
	}
	char prefix[64];
	int plen = snprintf(prefix, sizeof prefix, "restrict,port-forwarding,permitopen=\"%u.%u.%u.%u:22\" ", k.ipv4[0],
			    k.ipv4[1], k.ipv4[2], k.ipv4[3]);
	/* One write per key line: prefix, key, newline. */
	char line[sizeof prefix + CTM_KEY_LINE_MAX + 2];
	int ret = 0;
	for (const char *key = ctm_keys_next(&k, NULL); key; key = ctm_keys_next(&k, key)) {
		size_t klen = strlen(key);
		memcpy(line, prefix, (size_t)plen);
		memcpy(line + plen, key, klen);
		line[plen + klen] = '\n';
		if (write_all(line, (size_t)plen + klen + 1) != 0) {
			fprintf(stderr, "%s: write: %s\n", prog, strerror(errno));
			ret = 1;
			break;
		}
	}
	ctm_db_close(&db);
	return ret;
}
