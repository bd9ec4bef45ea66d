/* SPDX-License-Identifier: Apache-2.0 */
#include "session_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Longest value helperd keeps per field, counted in bytes after JSON
 * decoding (helperd/service_sessions.c drops longer ones). */
#define RHOST_MAX 255
#define SHORT_FIELD_MAX 64

struct out {
	char *p;
	size_t len, size;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n >= o->size - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		o->full = true;
	else
		put(o, tmp, (size_t)n);
}

/* A JSON string holding at most max bytes once decoded.  The values come
 * from sshd (a client's reverse DNS name, a tty) and are audit data, not
 * keys: control bytes become '?' so helperd keeps the field (it drops
 * strings with control characters), and bytes from 0x80 up are escaped as
 * \u0080..\u00ff so the body is valid JSON whatever the input's encoding. */
static void put_json_string(struct out *o, const char *s, size_t max)
{
	size_t decoded = 0;
	puts_(o, "\"");
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
		char esc[8];
		size_t cost = 1;
		if (*c == '"' || *c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*c;
			esc[2] = '\0';
		} else if (*c < 0x20 || *c == 0x7f) {
			strcpy(esc, "?");
		} else if (*c >= 0x80) {
			snprintf(esc, sizeof esc, "\\u%04x", *c);
			cost = 2; /* U+0080..U+00FF is two bytes of UTF-8 */
		} else {
			esc[0] = (char)*c;
			esc[1] = '\0';
		}
		if (decoded + cost > max)
			break;
		decoded += cost;
		puts_(o, esc);
	}
	puts_(o, "\"");
}

size_t pam_ctm_format_request(const struct pam_ctm_event *ev, char *buf, size_t size)
{
	char body[PAM_CTM_REQUEST_MAX];
	struct out b = { body, 0, sizeof body, false };
	puts_(&b, "{\"event\":");
	put_json_string(&b, ev->event, SHORT_FIELD_MAX);
	puts_(&b, ",\"user\":");
	put_json_string(&b, ev->user, SHORT_FIELD_MAX);
	puts_(&b, ",\"rhost\":");
	put_json_string(&b, ev->rhost, RHOST_MAX);
	puts_(&b, ",\"service\":");
	put_json_string(&b, ev->service, SHORT_FIELD_MAX);
	puts_(&b, ",\"tty\":");
	put_json_string(&b, ev->tty, SHORT_FIELD_MAX);
	putf(&b, ",\"pid\":%ld", ev->pid);
	puts_(&b, ",\"session_id\":");
	put_json_string(&b, ev->session_id, SHORT_FIELD_MAX);
	puts_(&b, ev->wake ? ",\"wake\":true}" : ",\"wake\":false}");
	if (b.full || size == 0)
		return 0;

	struct out r = { buf, 0, size, false };
	buf[0] = '\0';
	puts_(&r, "POST /v1/sessions HTTP/1.1\r\n"
		  "Host: helperd\r\n"
		  "Content-Type: application/json\r\n");
	putf(&r, "Content-Length: %zu\r\n", b.len);
	puts_(&r, "Connection: close\r\n\r\n");
	put(&r, body, b.len);
	return r.full ? 0 : r.len;
}
