/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 over a unix socket, with deadlines (http_client.h). */
#include "http_client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "deadline.h"

enum ctm_io ctm_unix_connect(const char *path, int64_t deadline, int *out)
{
	*out = -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	if (len >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return CTM_IO_FAILED;
	}
	memcpy(sa.sun_path, path, len);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return CTM_IO_FAILED;
	enum ctm_io res = CTM_IO_OK;
	for (;;) {
		if (connect(fd, (const struct sockaddr *)&sa, sizeof sa) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) { /* the listener's backlog is full: try again */
			if (ctm_now_ms() >= deadline) {
				res = CTM_IO_TIMEOUT;
				break;
			}
			ctm_pause_ms(deadline, 10);
			continue;
		}
		if (errno != EINPROGRESS) {
			res = CTM_IO_FAILED;
			break;
		}
		int w = ctm_wait_fd(fd, POLLOUT, deadline);
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (w == 0)
			res = CTM_IO_TIMEOUT;
		else if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			res = CTM_IO_FAILED;
		else if (soerr)
			errno = soerr, res = CTM_IO_FAILED;
		break;
	}
	if (res != CTM_IO_OK) {
		int e = errno;
		close(fd);
		errno = e;
		return res;
	}
	*out = fd;
	return CTM_IO_OK;
}

enum ctm_io ctm_send_all(int fd, const void *p_, size_t len, int64_t deadline)
{
	const char *p = p_;
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return CTM_IO_FAILED;
		int r = ctm_wait_fd(fd, POLLOUT, deadline);
		if (r == 0)
			return CTM_IO_TIMEOUT;
		if (r < 0)
			return CTM_IO_FAILED;
	}
	return CTM_IO_OK;
}

enum ctm_io ctm_http_receive(int fd, int64_t deadline, struct ctm_http_reader *r, size_t *received)
{
	char buf[16384];
	*received = 0;
	while (!ctm_http_complete(r, false)) {
		ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN) {
			int w = ctm_wait_fd(fd, POLLIN, deadline);
			if (w > 0)
				continue;
			return w == 0 ? CTM_IO_TIMEOUT : CTM_IO_FAILED;
		}
		if (got < 0)
			return CTM_IO_FAILED;
		if (got == 0)
			return ctm_http_complete(r, true) ? CTM_IO_OK : CTM_IO_CLOSED;
		*received += (size_t)got;
		int f = ctm_http_feed(r, buf, (size_t)got);
		if (f == -2)
			return CTM_IO_STOPPED;
		if (f)
			return CTM_IO_MALFORMED;
	}
	return CTM_IO_OK;
}
