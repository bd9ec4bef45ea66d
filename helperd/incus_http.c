#include "incus_http.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 5000
#define HEAD_MAX (64u << 10)   /* status line and headers of one answer */
#define CHUNK_SIZE_MAX ((uint64_t)1 << 40)

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(char *err, size_t errlen, const char *what)
{
	if (errlen)
		snprintf(err, errlen, "%s", what);
}

/* Wait until fd is ready for events or the deadline passes: 1 ready, 0 time
 * is up, -1 poll failed. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static enum http_result connect_unix(const char *path, int64_t deadline, int *out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	if (len >= sizeof sa.sun_path) {
		say(err, errlen, "socket path too long");
		return HTTP_BAD_REQUEST;
	}
	memcpy(sa.sun_path, path, len);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		say(err, errlen, strerror(errno));
		return HTTP_REFUSED;
	}
	int64_t give_up = now_ms() + CONNECT_TIMEOUT_MS;
	if (give_up > deadline)
		give_up = deadline;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			break;
		/* A unix socket's full backlog answers EAGAIN (not
		 * EINPROGRESS): the connect has to be tried again. */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || now_ms() >= give_up) {
			int e = errno;
			close(fd);
			say(err, errlen, e == EAGAIN ? "the server accepts no connection" : strerror(e));
			return e == EAGAIN ? HTTP_TIMEOUT : HTTP_REFUSED;
		}
		struct timespec pause = { 0, 10 * 1000000L };
		nanosleep(&pause, NULL);
	}
	*out = fd;
	return HTTP_OK;
}

static enum http_result send_all(int fd, const char *p, size_t len, int64_t deadline, char *err, size_t errlen)
{
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r > 0)
				continue;
			say(err, errlen, r == 0 ? "the server took no request" : strerror(errno));
			return r == 0 ? HTTP_TIMEOUT : HTTP_REFUSED;
		}
		say(err, errlen, w < 0 ? strerror(errno) : "cannot send");
		return HTTP_REFUSED;
	}
	return HTTP_OK;
}

/* Bytes allowed in a request line's path, and in header lines. */
static bool path_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool header_ok(const char *s)
{
	return !strpbrk(s, "\r\n") && strchr(s, ':');
}

/* The request's head: request line, Host, Connection (close, or Upgrade
 * for http_upgrade), the caller's lines, Content-Length.  malloc'd, or
 * NULL when a part cannot be sent. */
static char *request_head(const struct http_request *rq, bool upgrade, size_t *len)
{
	if (!path_ok(rq->method) || !path_ok(rq->path) || rq->path[0] != '/')
		return NULL;
	size_t cap = strlen(rq->method) + strlen(rq->path) + 128;
	for (const char *const *h = rq->headers; h && *h; h++) {
		if (!header_ok(*h))
			return NULL;
		cap += strlen(*h) + 2;
	}
	char *head = malloc(cap), *p = head;
	if (!head)
		return NULL;
	p += sprintf(p, "%s %s HTTP/1.1\r\nHost: incus\r\nConnection: %s\r\n", rq->method, rq->path,
		     upgrade ? "Upgrade" : "close");
	for (const char *const *h = rq->headers; h && *h; h++)
		p += sprintf(p, "%s\r\n", *h);
	if (rq->body)
		p += sprintf(p, "Content-Length: %zu\r\n", rq->body_len);
	p += sprintf(p, "\r\n");
	*len = (size_t)(p - head);
	return head;
}

/* Reading an answer. */
enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_TO_CLOSE };
enum chunk_state { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER_START, CH_TRAILER_LINE, CH_DONE };

struct reader {
	char head[HEAD_MAX + 1];
	size_t head_len;
	bool in_body, done;
	enum body_mode mode;
	uint64_t left;            /* BODY_LENGTH: bytes to come; BODY_CHUNKED: of this chunk */
	enum chunk_state ch;
	unsigned size_digits;
	bool no_body;             /* HEAD, or a status without a body */
	http_sink sink;
	void *arg;
	struct http_response *resp;
	const char *problem;      /* why the answer could not be read */
};

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

/* Parse the head in r->head[0..end) (end is just past the blank line).
 * 0, or -1 with r->problem set. */
static int parse_head(struct reader *r, size_t end)
{
	char *h = r->head;
	h[end] = '\0';
	char *eol = strstr(h, "\r\n");
	if (!eol || strncmp(h, "HTTP/1.", 7) != 0 || h[8] != ' ' || eol - h < 12 ||
	    h[9] < '1' || h[9] > '5' || h[10] < '0' || h[10] > '9' || h[11] < '0' || h[11] > '9' ||
	    (eol - h > 12 && h[12] != ' ')) {
		r->problem = "the answer is not HTTP/1.x";
		return -1;
	}
	r->resp->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
	bool chunked = false, have_length = false;
	uint64_t length = 0;
	r->resp->etag[0] = '\0';
	for (char *line = eol + 2; line < h + end;) {
		char *next = strstr(line, "\r\n");
		if (!next)
			break;
		size_t n = (size_t)(next - line);
		*next = '\0';
		const char *v;
		if (header_is(line, n, "Content-Length", &v)) {
			char *e;
			errno = 0;
			unsigned long long x = strtoull(v, &e, 10);
			if (errno || e == v || (*e && *e != ' ' && *e != '\t') || *v == '-' ||
			    (have_length && x != length)) {
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
			if (vl < sizeof r->resp->etag) {
				memcpy(r->resp->etag, v, vl);
				r->resp->etag[vl] = '\0';
			}
		}
		line = next + 2;
	}
	long st = r->resp->status;
	if (r->no_body || st == 204 || st == 304)
		r->mode = BODY_NONE;
	else if (chunked)
		r->mode = BODY_CHUNKED;
	else if (have_length)
		r->mode = BODY_LENGTH, r->left = length;
	else
		r->mode = BODY_TO_CLOSE;
	r->ch = CH_SIZE;
	r->size_digits = 0;
	r->done = r->mode == BODY_NONE || (r->mode == BODY_LENGTH && r->left == 0);
	return 0;
}

static int deliver(struct reader *r, const char *p, size_t n)
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
static int feed_body(struct reader *r, const char *p, size_t n)
{
	if (r->mode == BODY_TO_CLOSE)
		return deliver(r, p, n);
	if (r->mode == BODY_LENGTH) {
		size_t take = n < r->left ? n : (size_t)r->left;
		r->left -= take;
		r->done = r->left == 0;
		return deliver(r, p, take); /* anything after the body is ignored: the connection closes */
	}
	if (r->mode == BODY_NONE)
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
		case CH_DONE:
			return 0;
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

/* Bytes as read from the socket. */
static int feed(struct reader *r, const char *p, size_t n)
{
	while (n && !r->in_body) {
		size_t room = HEAD_MAX - r->head_len, take = n < room ? n : room;
		size_t from = r->head_len > 3 ? r->head_len - 3 : 0;
		memcpy(r->head + r->head_len, p, take);
		r->head_len += take;
		r->head[r->head_len] = '\0';
		char *blank = strstr(r->head + from, "\r\n\r\n");
		if (!blank) {
			if (r->head_len == HEAD_MAX) {
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
		if (r->resp->status < 200 && r->resp->status != 101) { /* 100 Continue: another head follows */
			r->head_len = 0;
			continue;
		}
		r->in_body = true;
	}
	return r->done ? 0 : feed_body(r, p, n);
}

/* A reader for one answer, with resp emptied; NULL when memory ran out. */
static struct reader *reader_new(http_sink sink, void *arg, struct http_response *resp)
{
	resp->status = 0;
	resp->etag[0] = '\0';
	struct reader *r = calloc(1, sizeof *r);
	if (r) {
		r->sink = sink;
		r->arg = arg;
		r->resp = resp;
	}
	return r;
}

/* The first half of both exchanges: connect, send the head (and the body),
 * and make the answer's reader (*r).  *fd is the caller's to close. */
static enum http_result send_request(const char *socket_path, const struct http_request *rq, bool upgrade,
				     int64_t deadline, http_sink sink, void *arg, struct http_response *resp,
				     int *fd, struct reader **r, char *err, size_t errlen)
{
	*fd = -1;
	*r = NULL;
	size_t head_len = 0;
	char *head = request_head(rq, upgrade, &head_len);
	resp->status = 0;
	resp->etag[0] = '\0';
	if (!head) {
		say(err, errlen, "the request has a byte HTTP cannot carry (or memory ran out)");
		return HTTP_BAD_REQUEST;
	}
	enum http_result res = connect_unix(socket_path, deadline, fd, err, errlen);
	if (res == HTTP_OK)
		res = send_all(*fd, head, head_len, deadline, err, errlen);
	if (res == HTTP_OK && rq->body && rq->body_len)
		res = send_all(*fd, rq->body, rq->body_len, deadline, err, errlen);
	free(head);
	if (res == HTTP_OK && !(*r = reader_new(sink, arg, resp))) {
		say(err, errlen, "out of memory");
		res = HTTP_STOPPED;
	}
	return res;
}

enum http_result http_exchange(const char *socket_path, const struct http_request *rq, http_sink sink,
			       void *arg, struct http_response *resp, char *err, size_t errlen)
{
	int64_t deadline = rq->timeout_s > 0 ? now_ms() + rq->timeout_s * 1000 : INT64_MAX;
	int fd;
	struct reader *r;
	enum http_result res = send_request(socket_path, rq, false, deadline, sink, arg, resp, &fd, &r, err, errlen);
	if (r)
		r->no_body = strcmp(rq->method, "HEAD") == 0;
	bool any = false;
	char buf[16384];
	while (res == HTTP_OK && !(r->in_body && r->done)) {
		ssize_t got = read(fd, buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN) {
			int w = wait_fd(fd, POLLIN, deadline);
			if (w > 0)
				continue;
			say(err, errlen, w == 0 ? "no answer in time" : strerror(errno));
			res = w == 0 ? HTTP_TIMEOUT : HTTP_CUT;
			break;
		}
		if (got < 0) {
			say(err, errlen, strerror(errno));
			res = any ? HTTP_CUT : HTTP_REFUSED;
			break;
		}
		if (got == 0) {
			if (r->in_body && r->mode == BODY_TO_CLOSE) {
				r->done = true;
				break;
			}
			say(err, errlen, !any ? "the server closed the connection without answering"
					      : "the connection closed part-way through the answer");
			res = any ? HTTP_CUT : HTTP_REFUSED;
			break;
		}
		any = true;
		int f = feed(r, buf, (size_t)got);
		if (f == -2) {
			say(err, errlen, "stopped reading the answer");
			res = HTTP_STOPPED;
		} else if (f) {
			say(err, errlen, r->problem);
			res = HTTP_PROTOCOL;
		}
	}
	free(r);
	if (fd >= 0)
		close(fd);
	return res;
}

enum http_result http_read_answer(const char *data, size_t len, size_t piece, bool head_only, http_sink sink,
				  void *arg, struct http_response *resp)
{
	struct reader *r = reader_new(sink, arg, resp);
	if (!r)
		return HTTP_STOPPED;
	enum http_result res = HTTP_OK;
	if (piece == 0)
		piece = 1;
	size_t at = 0;
	while (at < len && !(r->in_body && (r->done || head_only))) {
		size_t n = len - at < piece ? len - at : piece;
		int f = feed(r, data + at, n);
		at += n;
		if (f == -2)
			res = HTTP_STOPPED;
		else if (f)
			res = HTTP_PROTOCOL;
		if (f)
			break;
	}
	if (res == HTTP_OK && !(r->in_body && (r->done || head_only || r->mode == BODY_TO_CLOSE)))
		res = at == 0 ? HTTP_REFUSED : HTTP_CUT;
	free(r);
	return res;
}

enum http_result http_upgrade(const char *socket_path, const struct http_request *rq, int *fd_out,
			      struct http_response *resp, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + (rq->timeout_s > 0 ? rq->timeout_s : 10) * 1000;
	*fd_out = -1;
	int fd;
	struct reader *r;
	enum http_result res = send_request(socket_path, rq, true, deadline, NULL, NULL, resp, &fd, &r, err, errlen);
	/* The answer's head byte by byte: whatever follows it belongs to
	 * the new protocol, and must stay in the socket for the caller. */
	while (res == HTTP_OK && !r->in_body) {
		char c;
		ssize_t got = read(fd, &c, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN) {
			int w = wait_fd(fd, POLLIN, deadline);
			if (w <= 0) {
				say(err, errlen, w == 0 ? "no answer in time" : strerror(errno));
				res = w == 0 ? HTTP_TIMEOUT : HTTP_CUT;
			}
			continue;
		}
		if (got <= 0) {
			say(err, errlen, got < 0 ? strerror(errno) : "the server closed the connection");
			res = r->head_len ? HTTP_CUT : HTTP_REFUSED;
			break;
		}
		if (feed(r, &c, 1)) {
			say(err, errlen, r->problem ? r->problem : "the answer is not HTTP/1.x");
			res = HTTP_PROTOCOL;
		}
		if (r->resp->status == 101 && r->in_body)
			break;
		if (r->in_body) { /* any other final answer: not upgraded */
			say(err, errlen, "the server did not switch protocols");
			res = HTTP_PROTOCOL;
		}
	}
	free(r);
	if (res != HTTP_OK) {
		if (fd >= 0)
			close(fd);
		return res;
	}
	*fd_out = fd;
	return HTTP_OK;
}
