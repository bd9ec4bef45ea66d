/* SPDX-License-Identifier: Apache-2.0 */
/* Atomic file replacement (atomic_file.h). */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"

/* The sentence, then errno set back to the cause e (close and unlink on the
 * way out may have changed it). */
#define ERR_E(e, ...) (ctm_fail(err, errlen, __VA_ARGS__), errno = (e), -1)

int ctm_dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return snprintf(dir, cap, ".") >= (int)cap ? -1 : 0;
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= cap)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

int ctm_stage_write(struct ctm_staged *st, const char *path, const void *data, size_t len, mode_t mode, gid_t gid,
		    char *err, size_t errlen)
{
	st->path = path;
	st->fd = -1;
	st->create_errno = 0;
	if (snprintf(st->tmp, sizeof st->tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof st->tmp) {
		st->tmp[0] = '\0';
		st->create_errno = ENAMETOOLONG;
		return ERR_E(ENAMETOOLONG, "path %s is too long", path);
	}
	int fd = mkostemp(st->tmp, O_CLOEXEC); /* created 0600: nobody reads a partial file */
	if (fd < 0) {
		int e = errno;
		st->tmp[0] = '\0';
		st->create_errno = e;
		return ERR_E(e,
			     "cannot create a temporary file next to %s: %s (does the directory exist "
			     "and is it writable?)",
			     path, strerror(e));
	}
	const unsigned char *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(fd);
			unlink(st->tmp);
			st->tmp[0] = '\0';
			return ERR_E(e, "cannot write %s: %s", path, strerror(e));
		}
		p += w;
		left -= (size_t)w;
	}
	if ((gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) != 0) || fchmod(fd, mode) != 0) {
		int e = errno;
		close(fd);
		unlink(st->tmp);
		st->tmp[0] = '\0';
		return ERR_E(e, "cannot set up %s (owner or mode): %s", path, strerror(e));
	}
	st->fd = fd;
	return 0;
}

int ctm_stage_sync(struct ctm_staged *st, char *err, size_t errlen)
{
	int fd = st->fd;
	st->fd = -1;
	if (fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(st->tmp);
		st->tmp[0] = '\0';
		return ERR_E(e, "cannot fsync %s: %s", st->path, strerror(e));
	}
	if (close(fd) != 0) {
		int e = errno;
		unlink(st->tmp);
		st->tmp[0] = '\0';
		return ERR_E(e, "cannot write %s: %s", st->path, strerror(e));
	}
	return 0;
}

void ctm_stage_abort(struct ctm_staged *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	if (st->tmp[0])
		unlink(st->tmp);
	st->tmp[0] = '\0';
}

int ctm_stage_commit(struct ctm_staged *st, char *err, size_t errlen)
{
	if (rename(st->tmp, st->path) != 0) {
		int e = errno;
		ctm_stage_abort(st);
		return ERR_E(e, "cannot rename the new file over %s: %s", st->path, strerror(e));
	}
	st->tmp[0] = '\0';
	return 0;
}

int ctm_sync_dir_of(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	if (ctm_dir_of(path, dir, sizeof dir))
		return ERR_E(ENAMETOOLONG, "path %s is too long", path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return ERR_E(e, "cannot fsync directory %s: %s", dir, strerror(e));
	}
	close(fd);
	return 0;
}

int ctm_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, gid_t gid, char *err,
			  size_t errlen)
{
	struct ctm_staged st = CTM_STAGED_INIT;
	if (ctm_stage_write(&st, path, data, len, mode, gid, err, errlen) || ctm_stage_sync(&st, err, errlen) ||
	    ctm_stage_commit(&st, err, errlen))
		return -1;
	return ctm_sync_dir_of(path, err, errlen);
}
