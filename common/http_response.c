/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP/1.1 answer reader (http_response.h). */
#include "http_response.h"

#include <string.h>
#include <strings.h>

#define CHUNK_SIZE_MAX ((uint64_t)1 << 40)

enum chunk_state { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER_START, CH_TRAILER_LINE, CH_DONE };

static const char NOT_HTTP[] = "the answer is not HTTP/1.x";

void ctm_http_reader_init(struct ctm_http_reader *r, char *head, size_t head_cap, const struct ctm_http_limits *lim,
			  ctm_http_sink sink, void *arg)
{
	memset(r, 0, sizeof *r);
	r->head = head;
	r->head_cap = head_cap;
	r->lim = *lim;
	r->sink = sink;
	r->arg = arg;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "HTTP/1.D DDD" then ' ' or '\r', checked on the bytes there are: false as
 * soon as one of them is wrong.  The status is at least 100. */
static bool status_line_so_far(const char *h, size_t len)
{
	static const char lead[] = "HTTP/1.";
	for (size_t i = 0; i < len && i < 13; i++) {
		char c = h[i];
		bool good;
		if (i < 7)
			good = c == lead[i];
		else if (i == 7 || i == 10 || i == 11)
			good = is_digit(c);
		else if (i == 9)
			good = c >= '1' && c <= '9';
		else if (i == 8)
			good = c == ' ';
		else
			good = c == ' ' || c == '\r';
		if (!good)
			return false;
	}
	return true;
}

static bool header_is(const char *line, size_t n, const char *name, const char **value)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return false;
	const char *v = line + k + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	*value = v;
	return true;
}

/* A Content-Length value (leading blanks already skipped, NUL-terminated):
 * digits, then only blanks.  0, or -1. */
static int content_length(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;
	size_t digits = 0;
	for (; is_digit(*v); v++, digits++) {
		unsigned d = (unsigned)(*v - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	while (*v == ' ' || *v == '\t')
		v++;
	if (!digits || *v || x > max)
		return -1;
	*out = x;
	return 0;
}

/* Parse the head in r->head[0..end) (end is just past the blank line).
 * 0, or -1 with r->problem set. */
static int parse_head(struct ctm_http_reader *r, size_t end)
{
	char *h = r->head;
	char *eol = memmem(h, end, "\r\n", 2);
	r->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
	if (r->status > r->lim.status_max) {
		r->problem = NOT_HTTP;
		return -1;
	}
	bool chunked = false, have_length = false;
	uint64_t length = 0;
	r->etag[0] = '\0';
	for (char *line = eol + 2; line < h + end;) {
		char *next = memmem(line, (size_t)(h + end - line), "\r\n", 2);
		if (!next)
			break;
		size_t n = (size_t)(next - line);
		*next = '\0';
		const char *v;
		if (header_is(line, n, "Content-Length", &v)) {
			uint64_t x;
			if (content_length(v, r->lim.content_length_max, &x) || (have_length && x != length)) {
				r->problem = "the answer has a bad Content-Length";
				return -1;
			}
			length = x;
			have_length = true;
		} else if (header_is(line, n, "Transfer-Encoding", &v)) {
			/* Incus and LXD (Go's net/http) only ever say "chunked". */
			if (strcasestr(v, "chunked"))
				chunked = true;
			else if (strcasecmp(v, "identity") != 0) {
				r->problem = "the answer has a transfer encoding we do not read";
				return -1;
			}
		} else if (header_is(line, n, "ETag", &v)) {
			size_t vl = strlen(v);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl < sizeof r->etag) {
				memcpy(r->etag, v, vl);
				r->etag[vl] = '\0';
			}
		}
		line = next + 2;
	}
	long st = r->status;
	if (r->no_body || st == 204 || st == 304)
		r->mode = CTM_HTTP_BODY_NONE;
	else if (chunked)
		r->mode = CTM_HTTP_BODY_CHUNKED;
	else if (have_length)
		r->mode = CTM_HTTP_BODY_LENGTH, r->left = length;
	else
		r->mode = CTM_HTTP_BODY_TO_CLOSE;
	r->ch = CH_SIZE;
	r->size_digits = 0;
	r->done = r->mode == CTM_HTTP_BODY_NONE || (r->mode == CTM_HTTP_BODY_LENGTH && r->left == 0);
	return 0;
}

static int deliver(struct ctm_http_reader *r, const char *p, size_t n)
{
	if (!n)
		return 0;
	if (r->sink && r->sink(r->arg, p, n)) {
		r->problem = NULL;
		return -2;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Body bytes: 0, -1 malformed (r->problem), -2 the sink stopped. */
static int feed_body(struct ctm_http_reader *r, const char *p, size_t n)
{
	if (r->mode == CTM_HTTP_BODY_TO_CLOSE)
		return deliver(r, p, n);
	if (r->mode == CTM_HTTP_BODY_LENGTH) {
		size_t take = n < r->left ? n : (size_t)r->left;
		r->left -= take;
		r->done = r->left == 0;
		return deliver(r, p, take); /* anything after the body is ignored: the connection closes */
	}
	if (r->mode == CTM_HTTP_BODY_NONE)
		return 0;
	for (size_t i = 0; i < n && !r->done;) {
		char c = p[i];
		switch (r->ch) {
		case CH_SIZE: {
			int d = hexval(c);
			i++;
			if (d >= 0) {
				r->left = r->left * 16 + (uint64_t)d;
				if (++r->size_digits > 11 || r->left > CHUNK_SIZE_MAX)
					goto bad;
			} else if (c == ';' || c == ' ' || c == '\t') {
				r->ch = CH_EXT;
			} else if (c == '\r') {
				r->ch = CH_EXT; /* the LF follows */
			} else if (c == '\n') {
				goto size_done;
			} else {
				goto bad;
			}
			break;
		}
		case CH_EXT:
			i++;
			if (c == '\n')
				goto size_done;
			break;
		case CH_DATA: {
			size_t take = n - i < r->left ? n - i : (size_t)r->left;
			int d = deliver(r, p + i, take);
			if (d)
				return d;
			i += take;
			r->left -= take;
			if (!r->left)
				r->ch = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			i++;
			if (c == '\r')
				r->ch = CH_DATA_LF;
			else if (c == '\n')
				r->ch = CH_SIZE;
			else
				goto bad;
			break;
		case CH_DATA_LF:
			i++;
			if (c != '\n')
				goto bad;
			r->ch = CH_SIZE;
			break;
		case CH_TRAILER_START:
			i++;
			if (c == '\n')
				r->done = true, r->ch = CH_DONE;
			else if (c != '\r')
				r->ch = CH_TRAILER_LINE;
			break;
		case CH_TRAILER_LINE:
			i++;
			if (c == '\n')
				r->ch = CH_TRAILER_START;
			break;
		case CH_DONE: return 0;
		}
		continue;
	size_done:
		if (!r->size_digits)
			goto bad;
		r->size_digits = 0;
		r->ch = r->left ? CH_DATA : CH_TRAILER_START;
	}
	return 0;
bad:
	r->problem = "the answer's chunked body is malformed";
	return -1;
}

int ctm_http_feed(struct ctm_http_reader *r, const char *p, size_t n)
{
	while (n && !r->in_body) {
		size_t room = r->head_cap - 1 - r->head_len, take = n < room ? n : room;
		size_t from = r->head_len > 3 ? r->head_len - 3 : 0;
		memcpy(r->head + r->head_len, p, take);
		r->head_len += take;
		r->head[r->head_len] = '\0';
		if (!status_line_so_far(r->head, r->head_len)) {
			r->problem = NOT_HTTP;
			return -1;
		}
		char *blank = memmem(r->head + from, r->head_len - from, "\r\n\r\n", 4);
		if (!blank) {
			if (r->head_len == r->head_cap - 1) {
				r->problem = "the answer's headers are too long";
				return -1;
			}
			return 0;
		}
		size_t end = (size_t)(blank - r->head) + 4, used = take - (r->head_len - end);
		if (parse_head(r, end))
			return -1;
		p += used;
		n -= used;
		if (r->status < 200 && r->status != 101) { /* 100 Continue: another head follows */
			r->head_len = 0;
			continue;
		}
		r->in_body = true;
	}
	return r->done ? 0 : feed_body(r, p, n);
}

bool ctm_http_complete(const struct ctm_http_reader *r, bool eof)
{
	return r->in_body && (r->done || (eof && r->mode == CTM_HTTP_BODY_TO_CLOSE));
}

int ctm_http_read_memory(struct ctm_http_reader *r, const char *data, size_t len, size_t piece, bool head_only)
{
	if (piece == 0)
		piece = 1;
	size_t at = 0;
	while (at < len && !(r->in_body && (r->done || head_only))) {
		size_t n = len - at < piece ? len - at : piece;
		int f = ctm_http_feed(r, data + at, n);
		at += n;
		if (f)
			return f;
	}
	if (r->in_body && head_only)
		return 0;
	return ctm_http_complete(r, true) ? 0 : -3;
}
