#include "helperd_call.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline.  Returns >0 when ready, 0 when the
 * deadline passed, -1 with errno on error.  Signals do not extend the wait:
 * the time left is recomputed after each EINTR. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)left);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

static void pause_ms(int64_t deadline, int ms)
{
	int64_t left = deadline - now_ms();
	if (left > 0)
		poll(NULL, 0, (int)(left < ms ? left : ms));
}

static bool fail(struct pam_ctm_call *c, enum pam_ctm_outcome o, const char *stage, int err)
{
	c->outcome = o;
	c->stage = stage;
	c->err = err;
	return false;
}

/* A unix stream connect either completes at once or, with the listener's
 * backlog full, fails with EAGAIN and nothing to poll for: retry briefly
 * until the deadline.  EINPROGRESS is handled too, for completeness. */
static bool connect_by(int fd, const struct sockaddr_un *sa, int64_t deadline, struct pam_ctm_call *c)
{
	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0)
			return true;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			if (now_ms() >= deadline)
				return fail(c, PAM_CTM_TIMED_OUT, "connect", 0);
			pause_ms(deadline, 10);
			continue;
		}
		if (errno != EINPROGRESS)
			return fail(c, PAM_CTM_CONNECT_FAILED, "connect", errno);
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0)
			return fail(c, PAM_CTM_TIMED_OUT, "connect", 0);
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			return fail(c, PAM_CTM_CONNECT_FAILED, "connect", errno);
		if (soerr)
			return fail(c, PAM_CTM_CONNECT_FAILED, "connect", soerr);
		return true;
	}
}

static bool send_by(int fd, const char *p, size_t len, int64_t deadline, struct pam_ctm_call *c)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a peer gone away must not kill sshd with SIGPIPE. */
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return fail(c, PAM_CTM_IO_FAILED, "send", errno);
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0)
			return fail(c, PAM_CTM_TIMED_OUT, "send", 0);
		if (r < 0)
			return fail(c, PAM_CTM_IO_FAILED, "send", errno);
	}
	return true;
}

/* Read until the answer is complete (Content-Length or the peer closing),
 * garbage shows, the buffer is full or the deadline passes. */
static bool read_answer_by(int fd, int64_t deadline, struct pam_ctm_call *c)
{
	for (;;) {
		bool eof = false;
		ssize_t n = recv(fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
		if (n > 0)
			c->len += (size_t)n;
		else if (n == 0)
			eof = true;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN)
			return fail(c, PAM_CTM_IO_FAILED, "answer", errno);

		enum pam_ctm_answer_state st = pam_ctm_parse_answer(c->buf, c->len, eof, &c->answer);
		if (st == PAM_CTM_ANSWER_COMPLETE)
			return true;
		if (st == PAM_CTM_ANSWER_MALFORMED)
			return fail(c, PAM_CTM_MALFORMED, "answer", 0);
		if (c->len == sizeof c->buf) {
			/* Headers read, body longer than we keep: the status stands. */
			if (c->answer.body)
				return true;
			return fail(c, PAM_CTM_MALFORMED, "answer", 0);
		}
		if (n > 0)
			continue; /* more may be waiting */
		int r = wait_fd(fd, POLLIN, deadline);
		if (r == 0)
			return fail(c, PAM_CTM_TIMED_OUT, "answer", 0);
		if (r < 0)
			return fail(c, PAM_CTM_IO_FAILED, "answer", errno);
	}
}

void pam_ctm_call_helperd(const char *path, const char *req, size_t len, int send_ms, int answer_ms,
			  struct pam_ctm_call *c)
{
	int64_t start = now_ms();
	c->outcome = PAM_CTM_ANSWERED;
	c->stage = "";
	c->err = 0;
	c->len = 0;
	c->answer = (struct pam_ctm_answer){ 0, NULL, 0 };

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		fail(c, PAM_CTM_CONNECT_FAILED, "connect", ENAMETOOLONG);
		c->elapsed_ms = 0;
		return;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fail(c, PAM_CTM_CONNECT_FAILED, "connect", errno);
		c->elapsed_ms = now_ms() - start;
		return;
	}
	int64_t send_deadline = start + send_ms;
	int64_t answer_deadline = start + (answer_ms > send_ms ? answer_ms : send_ms);
	if (connect_by(fd, &sa, send_deadline, c) && send_by(fd, req, len, send_deadline, c))
		read_answer_by(fd, answer_deadline, c);
	close(fd);
	c->elapsed_ms = (long)(now_ms() - start);
}

const char *pam_ctm_outcome_str(enum pam_ctm_outcome o)
{
	switch (o) {
	case PAM_CTM_ANSWERED: return "answered";
	case PAM_CTM_CONNECT_FAILED: return "helperd is not reachable";
	case PAM_CTM_TIMED_OUT: return "helperd did not answer in time";
	case PAM_CTM_IO_FAILED: return "the connection to helperd failed";
	case PAM_CTM_MALFORMED: return "helperd sent a malformed answer";
	}
	return "unknown outcome";
}
