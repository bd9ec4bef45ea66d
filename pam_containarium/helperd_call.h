/* SPDX-License-Identifier: Apache-2.0 */
/* One request to helperd over its unix socket, every wait bounded: connect
 * (non-blocking, retried while the listen backlog is full), send and the
 * answer all end by their deadlines, measured on CLOCK_MONOTONIC.  No
 * threads, no signals (MSG_NOSIGNAL), no allocation; the socket is
 * close-on-exec and closed before returning.  The transport and the
 * answer's parser are common/http_client.h's, shared with helperd. */
#ifndef CONTAINARIUM_PAM_HELPERD_CALL_H
#define CONTAINARIUM_PAM_HELPERD_CALL_H

#include <stddef.h>

#include "http_answer.h"

enum pam_ctm_outcome {
	PAM_CTM_ANSWERED = 0,   /* an HTTP answer: see answer.status */
	PAM_CTM_CONNECT_FAILED, /* err: connect's errno */
	PAM_CTM_TIMED_OUT,      /* stage: where the time ran out */
	PAM_CTM_IO_FAILED,      /* stage, err */
	PAM_CTM_MALFORMED,      /* not an HTTP/1.x answer, or cut short */
};

struct pam_ctm_call {
	enum pam_ctm_outcome outcome;
	const char *stage; /* "connect", "send" or "answer" */
	int err;
	long elapsed_ms;
	struct pam_ctm_answer answer;
	size_t len; /* bytes of the answer received */
};

/* Send req[0..len) to the socket at path.  Connecting and sending end
 * within send_ms of the start; the answer must be complete within
 * answer_ms of the start (answer_ms >= send_ms; a larger answer_ms is the
 * wake budget). */
void pam_ctm_call_helperd(const char *path, const char *req, size_t len, int send_ms, int answer_ms,
			  struct pam_ctm_call *call);

/* A short phrase for an outcome, for messages to users and syslog. */
const char *pam_ctm_outcome_str(enum pam_ctm_outcome o);

#endif
