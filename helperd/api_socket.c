/* SPDX-License-Identifier: Apache-2.0 */
/* The API's unix socket (api_socket.h). */
#include "api_socket.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "helperd_log.h"

#define LISTEN_BACKLOG 64

/* mkdir -p for the socket's directory: root's, 0755, when missing. */
static int make_parent_dirs(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof dir, "%s", path);
	char *last = strrchr(dir, '/');
	if (!last || last == dir)
		return 0;
	*last = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			/* 0755 whatever the umask: every local user may reach the socket. */
			if (chmod(dir, 0755) < 0)
				return ctm_fail(err, errlen, "cannot set the mode of %s: %s", dir, strerror(errno));
		} else if (errno != EEXIST) {
			return ctm_fail(err, errlen, "cannot create %s for the API socket: %s", dir, strerror(errno));
		}
		struct stat st;
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			return ctm_fail(err, errlen, "%s (for the API socket) is not a directory", dir);
		*p = c;
		if (!c)
			return 0;
	}
}

/* Make the path free for bind(): refuse when someone listens there,
 * remove a stale socket, refuse anything that is not a socket. */
static int clear_path(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(sa->sun_path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return ctm_fail(err, errlen, "cannot check %s: %s", sa->sun_path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return ctm_fail(err, errlen,
				"%s exists and is not a socket; remove it or set listen_socket in helperd.conf",
				sa->sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ctm_fail(err, errlen, "cannot create a socket: %s", strerror(errno));
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
	int e = errno;
	close(fd);
	if (rc == 0)
		return ctm_fail(err, errlen, "another helperd is already listening on %s", sa->sun_path);
	if (e != ECONNREFUSED)
		return ctm_fail(err, errlen, "cannot tell whether another helperd listens on %s: %s", sa->sun_path,
				strerror(e));
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return ctm_fail(err, errlen, "cannot remove the stale socket %s: %s", sa->sun_path, strerror(errno));
	return 0;
}

int api_socket_open(const char *path, mode_t mode, gid_t gid, struct api_socket *out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (path[0] != '/' || strlen(path) >= sizeof sa.sun_path) {
		ctm_fail(err, errlen, "listen_socket must be an absolute path shorter than %zu bytes",
			 sizeof sa.sun_path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (make_parent_dirs(sa.sun_path, err, errlen) < 0 || clear_path(&sa, err, errlen) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ctm_fail(err, errlen, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		ctm_fail(err, errlen, "cannot bind %s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Group and mode before listen(): until then nobody can connect.
	 * The owner is whoever bound it: root, for the daemon. */
	struct stat st;
	const char *what = NULL;
	if (gid != (gid_t)-1 && chown(sa.sun_path, (uid_t)-1, gid) < 0)
		what = "give the group admin_group to";
	else if (chmod(sa.sun_path, mode) < 0)
		what = "set the mode (socket_mode) of";
	else if (lstat(sa.sun_path, &st) < 0)
		what = "check";
	else if (listen(fd, LISTEN_BACKLOG) < 0)
		what = "listen on";
	if (what) {
		ctm_fail(err, errlen, "cannot %s %s: %s", what, sa.sun_path, strerror(errno));
		unlink(sa.sun_path);
		close(fd);
		return -1;
	}
	snprintf(out->path, sizeof out->path, "%s", sa.sun_path);
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return fd;
}

void api_socket_remove(const struct api_socket *s)
{
	struct stat st;
	/* Only ours: a newer helperd may have replaced it already. */
	if (lstat(s->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
}

int api_socket_peer(int fd, struct ucred *peer)
{
	socklen_t len = sizeof *peer;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, peer, &len) < 0 || len != sizeof *peer) {
		log_error("cannot identify a caller (SO_PEERCRED): %s", strerror(errno));
		return -1;
	}
	return 0;
}

bool api_socket_peer_in_group(int fd, gid_t gid)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof small;
	bool found = false;
	while (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		/* ERANGE: len now says how much room the list needs. */
		if (errno != ERANGE || groups != small) {
			log_warning("cannot read the caller's groups (SO_PEERGROUPS): %s; "
				    "treating the caller as a user without privileges",
				    strerror(errno));
			goto out;
		}
		groups = malloc(len);
		if (!groups)
			return false;
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			found = true;
out:
	if (groups != small)
		free(groups);
	return found;
}
