#include "http_answer.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* "HTTP/1.x DDD" then ' ' or '\r': checked on the bytes we have, so garbage
 * is refused on its first bytes rather than after a timeout.  Returns the
 * state and sets *status once the whole line head is there. */
static enum pam_ctm_answer_state status_line(const char *buf, size_t len, bool eof, int *status)
{
	static const char head[] = "HTTP/1.";
	for (size_t i = 0; i < len && i < 13; i++) {
		char c = buf[i];
		bool good;
		if (i < 7)
			good = c == head[i];
		else if (i == 7 || (i >= 9 && i <= 11))
			good = is_digit(c);
		else if (i == 8)
			good = c == ' ';
		else
			good = c == ' ' || c == '\r';
		if (!good)
			return PAM_CTM_ANSWER_MALFORMED;
	}
	if (len < 13)
		return eof ? PAM_CTM_ANSWER_MALFORMED : PAM_CTM_ANSWER_INCOMPLETE;
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	return *status >= 100 ? PAM_CTM_ANSWER_COMPLETE : PAM_CTM_ANSWER_MALFORMED;
}

/* The Content-Length header among the header lines [p, end), each ending in
 * CR LF.  Returns 1 and sets *cl when present and valid, 0 when absent, -1
 * when present and not a plain decimal number. */
static int content_length(const char *p, const char *end, size_t *cl)
{
	static const char name[] = "content-length:";
	const size_t nlen = sizeof name - 1;
	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) >= nlen && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			size_t n = 0, digits = 0;
			for (; v < eol && is_digit(*v); v++, digits++) {
				if (digits == 9)
					return -1; /* a billion bytes is no answer of helperd's */
				n = n * 10 + (size_t)(*v - '0');
			}
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if (digits == 0 || v != eol)
				return -1;
			*cl = n;
			return 1;
		}
		p = eol + 2;
	}
	return 0;
}

enum pam_ctm_answer_state pam_ctm_parse_answer(const char *buf, size_t len, bool eof,
					       struct pam_ctm_answer *out)
{
	*out = (struct pam_ctm_answer){ 0, NULL, 0 };
	int status = 0;
	enum pam_ctm_answer_state st = status_line(buf, len, eof, &status);
	if (st != PAM_CTM_ANSWER_COMPLETE)
		return st;
	out->status = status;

	const char *hdr_end = memmem(buf, len, "\r\n\r\n", 4);
	if (!hdr_end)
		return eof ? PAM_CTM_ANSWER_MALFORMED : PAM_CTM_ANSWER_INCOMPLETE;
	const char *first_hdr = (const char *)memmem(buf, len, "\r\n", 2) + 2;
	const char *body = hdr_end + 4;
	size_t avail = len - (size_t)(body - buf), cl = 0;
	int has_cl = first_hdr <= hdr_end ? content_length(first_hdr, hdr_end + 2, &cl) : 0;
	if (has_cl < 0)
		return PAM_CTM_ANSWER_MALFORMED;
	out->body = body;
	out->body_len = avail;
	if (has_cl) {
		if (avail >= cl) {
			out->body_len = cl;
			return PAM_CTM_ANSWER_COMPLETE;
		}
		return eof ? PAM_CTM_ANSWER_MALFORMED : PAM_CTM_ANSWER_INCOMPLETE;
	}
	return eof ? PAM_CTM_ANSWER_COMPLETE : PAM_CTM_ANSWER_INCOMPLETE;
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
