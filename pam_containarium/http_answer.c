/* SPDX-License-Identifier: Apache-2.0 */
#include "http_answer.h"

#include <string.h>

/* What helperd (libmicrohttpd) may answer the module: a status line with
 * any three digits from 100, and no body of a billion bytes. */
static const struct ctm_http_limits pam_limits = { .status_max = 999, .content_length_max = 999999999 };

static int keep_body(void *arg, const char *p, size_t n)
{
	struct pam_ctm_answer *a = arg;
	size_t room = sizeof a->kept - a->body_len, take = n < room ? n : room;
	memcpy(a->kept + a->body_len, p, take);
	a->body_len += take;
	return take < n ? -1 : 0; /* full: stop reading, the status stands */
}

void pam_ctm_answer_reader(struct ctm_http_reader *r, char *head, size_t head_cap, struct pam_ctm_answer *a)
{
	a->status = 0;
	a->body = NULL;
	a->body_len = 0;
	ctm_http_reader_init(r, head, head_cap, &pam_limits, keep_body, a);
}

enum pam_ctm_answer_state pam_ctm_answer_state(const struct ctm_http_reader *r, int f, bool eof,
					       struct pam_ctm_answer *a)
{
	if (r->in_body) {
		a->status = (int)r->status;
		a->body = a->kept;
	}
	if (f == -1)
		return PAM_CTM_ANSWER_MALFORMED;
	if (f == -2 || ctm_http_complete(r, eof))
		return PAM_CTM_ANSWER_COMPLETE;
	return eof ? PAM_CTM_ANSWER_MALFORMED : PAM_CTM_ANSWER_INCOMPLETE;
}

enum pam_ctm_answer_state pam_ctm_parse_answer(const char *buf, size_t len, bool eof, struct pam_ctm_answer *out)
{
	char head[PAM_CTM_ANSWER_MAX];
	struct ctm_http_reader r;
	pam_ctm_answer_reader(&r, head, sizeof head, out);
	int f = len ? ctm_http_feed(&r, buf, len) : 0;
	return pam_ctm_answer_state(&r, f, eof, out);
}

bool pam_ctm_json_string(const char *body, size_t len, const char *key, char *out, size_t outlen)
{
	char pat[64];
	size_t klen = strlen(key);
	if (outlen == 0 || klen + 3 > sizeof pat)
		return false;
	out[0] = '\0';
	pat[0] = '"';
	memcpy(pat + 1, key, klen);
	pat[klen + 1] = '"';
	const char *end = body + len;
	const char *p = memmem(body, len, pat, klen + 2);
	if (!p)
		return false;
	p += klen + 2;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p >= end || *p++ != ':')
		return false;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p >= end || *p++ != '"')
		return false;
	size_t n = 0;
	for (; p < end && n + 1 < outlen; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			out[n] = '\0';
			return true;
		}
		if (c == '\\') {
			if (++p >= end)
				break;
			c = (unsigned char)*p;
			if (c == 'u') {
				p += p + 4 < end ? 4 : (size_t)(end - p - 1);
				c = '?';
			} else if (c != '"' && c != '\\' && c != '/') {
				c = ' '; /* \n, \t and friends */
			}
		}
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
	return n + 1 == outlen; /* cut at the caller's size: still worth showing */
}
