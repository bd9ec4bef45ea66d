/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 over a unix socket: the transport of incus_client.c, and no
 * more of HTTP than the Incus and LXD REST API use.
 *
 * Why not libcurl: helperd only ever speaks plain HTTP to one local
 * socket, and linking libcurl cost every helperd process about 4.3 MiB of
 * resident memory before any request (libcurl, OpenSSL's initialisation,
 * GSSAPI, LDAP, SSH, ... mapped and touched at start-up; measured in
 * bench/README.md, helperd-rss-10k), a quarter of the daemon's memory goal.
 *
 * One connection per exchange, with "Connection: close": no connection
 * state survives a call, so there is nothing to retry when a kept-alive
 * connection dies under a request.  A unix-socket connect costs tens of
 * microseconds; every Incus call costs milliseconds.
 *
 * Answers may come with Content-Length, chunked, or end at the close.  The
 * body goes to a sink as it arrives; nothing here buffers a whole body.
 * The connection, the deadlines and the answer's parser are common/'s
 * (http_client.h, http_answer.h), shared with the PAM module; this file
 * writes the requests and says in helperd's words what went wrong. */
#ifndef CONTAINARIUM_INCUS_HTTP_H
#define CONTAINARIUM_INCUS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

enum http_result {
	HTTP_OK = 0,
	HTTP_REFUSED,     /* cannot connect, or the server closed without answering */
	HTTP_CUT,         /* the connection failed part-way through the answer */
	HTTP_TIMEOUT,     /* no (complete) answer within the time allowed */
	HTTP_PROTOCOL,    /* the answer is not HTTP/1.x as we read it */
	HTTP_STOPPED,     /* the sink asked to stop */
	HTTP_BAD_REQUEST, /* the request itself cannot be sent (a CR in a header, ...) */
};

struct http_request {
	const char *method;
	const char *path;           /* "/1.0/...": bytes 0x21-0x7e only */
	const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
	const void *body;           /* NULL: none (no Content-Length is sent) */
	size_t body_len;
	long timeout_s; /* for the whole exchange (0: no limit); the connect gets at most 5 s */
};

struct http_response {
	long status;
	char etag[256]; /* the ETag header's value, "" when none (or too long) */
};

/* The body's bytes, in order: 0 to go on, -1 to stop (HTTP_STOPPED). */
typedef int (*http_sink)(void *arg, const char *p, size_t len);

/* One request and its answer on a new connection to socket_path.  On a
 * result other than HTTP_OK, err holds a short phrase (strerror-like)
 * saying what happened, for the caller to put in its own sentence. */
enum http_result http_exchange(const char *socket_path, const struct http_request *rq, http_sink sink, void *arg,
			       struct http_response *resp, char *err, size_t errlen);

/* A GET that switches protocols (a websocket): sends rq with "Connection:
 * Upgrade" (rq->headers carry Upgrade and the protocol's own), reads the
 * answer's head, and on "101 Switching Protocols" gives the connected,
 * non-blocking socket to the caller (*fd_out), with nothing of the new
 * protocol read from it.  Any other answer is HTTP_PROTOCOL (resp->status
 * says which).  rq->timeout_s bounds the handshake only. */
enum http_result http_upgrade(const char *socket_path, const struct http_request *rq, int *fd_out,
			      struct http_response *resp, char *err, size_t errlen);

#endif
