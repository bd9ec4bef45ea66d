/* SPDX-License-Identifier: Apache-2.0 */
/* The API's unix socket: where helperd listens and who is on the other end.
 *
 * Opening it makes the parent directories (root's, 0755), refuses a path
 * another helperd listens on, removes a stale socket, and sets the group
 * (admin_group) and mode (socket_mode) before listen(), so nobody connects
 * before the permissions hold.  Callers are identified by SO_PEERCRED and
 * SO_PEERGROUPS only: helperd serves the NSS module's data, so resolving
 * users or groups through NSS here could deadlock.  The HTTP side
 * (libmicrohttpd, routing) is api_server.c's. */
#ifndef CONTAINARIUM_HELPERD_API_SOCKET_H
#define CONTAINARIUM_HELPERD_API_SOCKET_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

struct api_socket {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* the socket file we bound, so removing it removes only ours */
	ino_t ino;
};

/* Bind and listen on path (absolute) with mode, group gid ((gid_t)-1:
 * leave it).  The listening fd, or -1 with a sentence in err. */
int api_socket_open(const char *path, mode_t mode, gid_t gid, struct api_socket *out, char *err, size_t errlen);

/* Remove the socket file, if it is still the one we bound (a newer helperd
 * may have replaced it already). */
void api_socket_remove(const struct api_socket *s);

/* The caller's pid, uid and gid on a connected socket: 0, or -1 (logged). */
int api_socket_peer(int fd, struct ucred *peer);

/* Whether gid is among the caller's supplementary groups (SO_PEERGROUPS);
 * false, logged, when they cannot be read. */
bool api_socket_peer_in_group(int fd, gid_t gid);

#endif
