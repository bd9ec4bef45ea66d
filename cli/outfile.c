#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
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
				  "link with a file", path);
			return CLI_CONFLICT;
		}
		if (!written_by_us(path, magic_line)) {
			out_error("%s exists and was not written by containarium (its first line is not \"%s\"); "
				  "choose another --output, or add --force to replace it", path, magic_line);
			return CLI_CONFLICT;
		}
	}

	char dir[4096], *tmp = NULL;
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	if (!*base) {
		out_error("--output %s names a directory; give a file name", path);
		return CLI_FAILED;
	}
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		out_error("out of memory");
		return CLI_FAILED;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		out_error("cannot create a file next to %s: %s", path, strerror(errno));
		free(tmp);
		return CLI_FAILED;
	}
	/* Replacing a file we wrote for someone (sudo ... --output ~alice/...):
	 * keep its owner, so the user can still read it. */
	if (exists && S_ISREG(st.st_mode) && geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) != 0) {
		/* not fatal: the file is still written, owned by root */
	}
	const char *what = NULL;
	if (fchmod(fd, 0600) != 0)
		what = "set the mode of";
	else if (write_all(fd, text, len) != 0)
		what = "write";
	else if (fsync(fd) != 0)
		what = "flush";
	if (close(fd) != 0 && !what)
		what = "write";
	if (!what && rename(tmp, path) != 0)
		what = "rename into place";
	if (what) {
		out_error("cannot %s %s: %s", what, strcmp(what, "rename into place") ? tmp : path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return CLI_FAILED;
	}
	free(tmp);
	/* The rename is durable once the directory is on disk too. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return CLI_OK;
}
