/* SPDX-License-Identifier: Apache-2.0 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cli.h"
#include "output.h"

/* Whether the regular file at path starts with magic_line. */
static int written_by_us(const char *path, const char *magic_line)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	char buf[128];
	size_t want = strlen(magic_line);
	ssize_t n = want < sizeof buf ? read(fd, buf, want + 1) : -1;
	close(fd);
	return n == (ssize_t)want + 1 && memcmp(buf, magic_line, want) == 0 && buf[want] == '\n';
}

int outfile_write(const char *path, const char *text, size_t len, const char *magic_line, bool force)
{
	struct stat st;
	bool exists = lstat(path, &st) == 0;
	if (!exists && errno != ENOENT) {
		out_error("cannot check %s: %s", path, strerror(errno));
		return CLI_FAILED;
	}
	if (exists && S_ISDIR(st.st_mode)) {
		out_error("%s is a directory; give a file name for --output", path);
		return CLI_FAILED;
	}
	if (exists && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		out_error("%s exists and is not a regular file; give another --output", path);
		return CLI_CONFLICT;
	}
	if (exists && !force) {
		if (S_ISLNK(st.st_mode)) {
			out_error("%s is a symbolic link; give the file it points to, or add --force to replace the "
				  "link with a file",
				  path);
			return CLI_CONFLICT;
		}
		if (!written_by_us(path, magic_line)) {
			out_error("%s exists and was not written by containarium (its first line is not \"%s\"); "
				  "choose another --output, or add --force to replace it",
				  path, magic_line);
			return CLI_CONFLICT;
		}
	}

	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	if (!*base) {
		out_error("--output %s names a directory; give a file name", path);
		return CLI_FAILED;
	}
	/* The common atomic write, in its steps: a missing or unwritable
	 * directory gets this command's own sentence. */
	char err[PATH_MAX + 256];
	struct ctm_staged tmp = CTM_STAGED_INIT;
	if (ctm_stage_write(&tmp, path, text, len, 0600, (gid_t)-1, err, sizeof err) ||
	    ctm_stage_sync(&tmp, err, sizeof err) || ctm_stage_commit(&tmp, err, sizeof err)) {
		if (tmp.create_errno)
			out_error("cannot create a file next to %s: %s", path, strerror(tmp.create_errno));
		else
			out_error("%s", err);
		ctm_stage_abort(&tmp);
		return CLI_FAILED;
	}
	/* The rename is durable once the directory is on disk too (best
	 * effort: the file is in place either way). */
	ctm_sync_dir_of(path, err, sizeof err);
	/* Replacing a file we wrote for someone (sudo ... --output ~alice/...):
	 * give it back its owner, so the user can still read it.  Not fatal:
	 * the file is written either way, owned by root. */
	if (exists && S_ISREG(st.st_mode) && geteuid() == 0 && lchown(path, st.st_uid, st.st_gid) != 0) {
		/* nothing to do */
	}
	return CLI_OK;
}
