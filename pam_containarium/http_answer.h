/* Reading helperd's answer: the status line, where the body starts and
 * ends, and two string fields of the JSON body for messages.  Deliberately
 * not an HTTP parser: helperd (libmicrohttpd) answers one request on a
 * connection we close, with Content-Length or until it closes.  Pure. */
#ifndef CONTAINARIUM_PAM_HTTP_ANSWER_H
#define CONTAINARIUM_PAM_HTTP_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

enum pam_ctm_answer_state {
	PAM_CTM_ANSWER_INCOMPLETE = 0, /* read more */
	PAM_CTM_ANSWER_COMPLETE,       /* status and body known */
	PAM_CTM_ANSWER_MALFORMED,      /* not an HTTP/1.x answer, or cut short */
};

struct pam_ctm_answer {
	int status;          /* 100..999, once the status line is read */
	const char *body;    /* into the caller's buffer */
	size_t body_len;
};

/* buf[0..len) is everything read so far; eof: the peer closed.  A status
 * line is "HTTP/1.x DDD" followed by a space or CR LF. */
enum pam_ctm_answer_state pam_ctm_parse_answer(const char *buf, size_t len, bool eof,
					       struct pam_ctm_answer *out);

/* Copy the string value of the first "key": "..." in a JSON body into out,
 * keeping printable ASCII only (the result may reach a user's terminal and
 * syslog).  For messages, never for decisions.  Returns false when absent. */
bool pam_ctm_json_string(const char *body, size_t len, const char *key, char *out, size_t outlen);

#endif
