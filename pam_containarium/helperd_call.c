/* SPDX-License-Identifier: Apache-2.0 */
#include "helperd_call.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "deadline.h"
#include "http_client.h"

static void fail(struct pam_ctm_call *c, enum pam_ctm_outcome o, const char *stage, int err)
{
	c->outcome = o;
	c->stage = stage;
	c->err = err;
}

/* Read until the answer is complete (Content-Length, chunked or the peer
 * closing), garbage shows, the body outgrows what we keep (its status
 * stands) or the deadline passes. */
static void read_answer_by(int fd, int64_t deadline, struct pam_ctm_call *c)
{
	char head[PAM_CTM_ANSWER_MAX];
	struct ctm_http_reader r;
	pam_ctm_answer_reader(&r, head, sizeof head, &c->answer);
	enum ctm_io io = ctm_http_receive(fd, deadline, &r, &c->len);
	int e = errno;
	switch (io) {
	case CTM_IO_OK:
	case CTM_IO_STOPPED: /* the body is longer than we keep */
		pam_ctm_answer_state(&r, io == CTM_IO_STOPPED ? -2 : 0, true, &c->answer);
		break;
	case CTM_IO_TIMEOUT: fail(c, PAM_CTM_TIMED_OUT, "answer", 0); break;
	case CTM_IO_FAILED: fail(c, PAM_CTM_IO_FAILED, "answer", e); break;
	case CTM_IO_CLOSED:
	case CTM_IO_MALFORMED: fail(c, PAM_CTM_MALFORMED, "answer", 0); break;
	}
}

void pam_ctm_call_helperd(const char *path, const char *req, size_t len, int send_ms, int answer_ms,
			  struct pam_ctm_call *c)
{
	int64_t start = ctm_now_ms();
	c->outcome = PAM_CTM_ANSWERED;
	c->stage = "";
	c->err = 0;
	c->len = 0;
	c->answer.status = 0;
	c->answer.body = NULL;
	c->answer.body_len = 0;

	int64_t send_deadline = start + send_ms;
	int64_t answer_deadline = start + (answer_ms > send_ms ? answer_ms : send_ms);
	int fd;
	enum ctm_io io = ctm_unix_connect(path, send_deadline, &fd);
	if (io == CTM_IO_TIMEOUT) {
		fail(c, PAM_CTM_TIMED_OUT, "connect", 0);
	} else if (io != CTM_IO_OK) {
		fail(c, PAM_CTM_CONNECT_FAILED, "connect", errno);
	} else {
		io = ctm_send_all(fd, req, len, send_deadline);
		if (io == CTM_IO_TIMEOUT)
			fail(c, PAM_CTM_TIMED_OUT, "send", 0);
		else if (io != CTM_IO_OK)
			fail(c, PAM_CTM_IO_FAILED, "send", errno);
		else
			read_answer_by(fd, answer_deadline, c);
		close(fd);
	}
	c->elapsed_ms = (long)(ctm_now_ms() - start);
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
