/* SPDX-License-Identifier: Apache-2.0 */
/* Reading helperd's answer: its status and body, through the common HTTP
 * answer parser (common/http_response.h) with the PAM module's limits, and two
 * string fields of the JSON body for messages.  Pure. */
#ifndef CONTAINARIUM_PAM_HTTP_ANSWER_H
#define CONTAINARIUM_PAM_HTTP_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

#include "http_response.h"

/* helperd's answers are a few hundred bytes; a larger body is kept up to
 * this much (its status still counts, the rest is not read).  The head
 * (status line and headers) gets the same room. */
#define PAM_CTM_ANSWER_MAX 8192

enum pam_ctm_answer_state {
	PAM_CTM_ANSWER_INCOMPLETE = 0, /* read more */
	PAM_CTM_ANSWER_COMPLETE,       /* status and body known */
	PAM_CTM_ANSWER_MALFORMED,      /* not an HTTP/1.x answer, or cut short */
};

struct pam_ctm_answer {
	int status;       /* 100..999, once the head is read */
	const char *body; /* kept, once the head is read; else NULL */
	size_t body_len;
	char kept[PAM_CTM_ANSWER_MAX];
};

/* Set up r (its head gathered in head[head_cap]) to read an answer into a. */
void pam_ctm_answer_reader(struct ctm_http_reader *r, char *head, size_t head_cap, struct pam_ctm_answer *a);

/* Where an answer stands after feeding r gave f (ctm_http_feed's result,
 * 0 when nothing was fed) and eof says whether the peer has closed; sets
 * a's status and body once the head is read.  A body longer than kept ends
 * the answer: its status stands. */
enum pam_ctm_answer_state pam_ctm_answer_state(const struct ctm_http_reader *r, int f, bool eof,
					       struct pam_ctm_answer *a);

/* buf[0..len) is everything read so far; eof: the peer closed.  A status
 * line is "HTTP/1.x DDD" followed by a space or CR LF. */
enum pam_ctm_answer_state pam_ctm_parse_answer(const char *buf, size_t len, bool eof, struct pam_ctm_answer *out);

/* Copy the string value of the first "key": "..." in a JSON body into out,
 * keeping printable ASCII only (the result may reach a user's terminal and
 * syslog).  For messages, never for decisions.  Returns false when absent. */
bool pam_ctm_json_string(const char *body, size_t len, const char *key, char *out, size_t outlen);

#endif
