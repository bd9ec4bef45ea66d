/* SPDX-License-Identifier: Apache-2.0 */
#include "incus_http.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "http_response.h"
#include "http_client.h"

#define CONNECT_TIMEOUT_MS 5000
#define HEAD_MAX (64u << 10) /* status line and headers of one answer */

/* What Incus and LXD may answer: any status HTTP defines, any length. */
static const struct ctm_http_limits incus_limits = { .status_max = 599, .content_length_max = UINT64_MAX };

static void say(char *err, size_t errlen, const char *what)
{
	if (errlen)
		snprintf(err, errlen, "%s", what);
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

/* A reader for one answer (its head buffer after it), with resp emptied;
 * NULL when memory ran out.  free() it. */
static struct ctm_http_reader *reader_new(http_sink sink, void *arg, struct http_response *resp)
{
	resp->status = 0;
	resp->etag[0] = '\0';
	struct ctm_http_reader *r = malloc(sizeof *r + HEAD_MAX + 1);
	if (r)
		ctm_http_reader_init(r, (char *)(r + 1), HEAD_MAX + 1, &incus_limits, sink, arg);
	return r;
}

static void take_head(const struct ctm_http_reader *r, struct http_response *resp)
{
	resp->status = r->status;
	snprintf(resp->etag, sizeof resp->etag, "%s", r->etag);
}

/* The first half of both exchanges: connect, send the head (and the body),
 * and make the answer's reader (*r).  *fd is the caller's to close. */
static enum http_result send_request(const char *socket_path, const struct http_request *rq, bool upgrade,
				     int64_t deadline, http_sink sink, void *arg, struct http_response *resp, int *fd,
				     struct ctm_http_reader **r, char *err, size_t errlen)
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
	int64_t give_up = ctm_now_ms() + CONNECT_TIMEOUT_MS;
	enum ctm_io io = ctm_unix_connect(socket_path, give_up < deadline ? give_up : deadline, fd);
	enum http_result res = HTTP_OK;
	if (io == CTM_IO_FAILED && errno == ENAMETOOLONG) {
		say(err, errlen, "socket path too long");
		res = HTTP_BAD_REQUEST;
	} else if (io == CTM_IO_TIMEOUT) {
		say(err, errlen, "the server accepts no connection");
		res = HTTP_TIMEOUT;
	} else if (io != CTM_IO_OK) {
		say(err, errlen, strerror(errno));
		res = HTTP_REFUSED;
	}
	if (res == HTTP_OK) {
		io = ctm_send_all(*fd, head, head_len, deadline);
		if (io == CTM_IO_OK && rq->body && rq->body_len)
			io = ctm_send_all(*fd, rq->body, rq->body_len, deadline);
		if (io != CTM_IO_OK) {
			say(err, errlen, io == CTM_IO_TIMEOUT ? "the server took no request" : strerror(errno));
			res = io == CTM_IO_TIMEOUT ? HTTP_TIMEOUT : HTTP_REFUSED;
		}
	}
	free(head);
	if (res == HTTP_OK && !(*r = reader_new(sink, arg, resp))) {
		say(err, errlen, "out of memory");
		res = HTTP_STOPPED;
	}
	return res;
}

enum http_result http_exchange(const char *socket_path, const struct http_request *rq, http_sink sink, void *arg,
			       struct http_response *resp, char *err, size_t errlen)
{
	int64_t deadline = rq->timeout_s > 0 ? ctm_now_ms() + rq->timeout_s * 1000 : INT64_MAX;
	int fd;
	struct ctm_http_reader *r;
	enum http_result res = send_request(socket_path, rq, false, deadline, sink, arg, resp, &fd, &r, err, errlen);
	if (res == HTTP_OK) {
		r->no_body = strcmp(rq->method, "HEAD") == 0;
		size_t got;
		enum ctm_io io = ctm_http_receive(fd, deadline, r, &got);
		bool any = got > 0;
		switch (io) {
		case CTM_IO_OK: break;
		case CTM_IO_TIMEOUT:
			say(err, errlen, "no answer in time");
			res = HTTP_TIMEOUT;
			break;
		case CTM_IO_FAILED:
			say(err, errlen, strerror(errno));
			res = any ? HTTP_CUT : HTTP_REFUSED;
			break;
		case CTM_IO_CLOSED:
			say(err, errlen,
			    !any ? "the server closed the connection without answering"
				 : "the connection closed part-way through the answer");
			res = any ? HTTP_CUT : HTTP_REFUSED;
			break;
		case CTM_IO_STOPPED:
			say(err, errlen, "stopped reading the answer");
			res = HTTP_STOPPED;
			break;
		case CTM_IO_MALFORMED:
			say(err, errlen, r->problem);
			res = HTTP_PROTOCOL;
			break;
		}
		take_head(r, resp);
	}
	free(r);
	if (fd >= 0)
		close(fd);
	return res;
}

enum http_result http_upgrade(const char *socket_path, const struct http_request *rq, int *fd_out,
			      struct http_response *resp, char *err, size_t errlen)
{
	int64_t deadline = ctm_now_ms() + (rq->timeout_s > 0 ? rq->timeout_s : 10) * 1000;
	*fd_out = -1;
	int fd;
	struct ctm_http_reader *r;
	enum http_result res = send_request(socket_path, rq, true, deadline, NULL, NULL, resp, &fd, &r, err, errlen);
	/* The answer's head byte by byte: whatever follows it belongs to
	 * the new protocol, and must stay in the socket for the caller. */
	while (res == HTTP_OK && !r->in_body) {
		char c;
		ssize_t got = read(fd, &c, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN) {
			int w = ctm_wait_fd(fd, POLLIN, deadline);
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
		if (ctm_http_feed(r, &c, 1)) {
			say(err, errlen, r->problem ? r->problem : "the answer is not HTTP/1.x");
			res = HTTP_PROTOCOL;
		}
		if (r->status == 101 && r->in_body)
			break;
		if (r->in_body) { /* any other final answer: not upgraded */
			say(err, errlen, "the server did not switch protocols");
			res = HTTP_PROTOCOL;
		}
	}
	if (r)
		take_head(r, resp);
	free(r);
	if (res != HTTP_OK) {
		if (fd >= 0)
			close(fd);
		return res;
	}
	*fd_out = fd;
	return HTTP_OK;
}
