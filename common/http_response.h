/* SPDX-License-Identifier: Apache-2.0 */
/* Reading an HTTP/1.1 answer: the one response parser of helperd's Incus
 * client (helperd/incus_http.c) and of the PAM module's call to helperd
 * (pam_containarium/helperd_call.c).  Both read bytes from a local unix
 * socket that an outside program writes, so this is fuzzed
 * (fuzz/fuzz_http_response.c).  libc only; no allocation (the caller gives the
 * reader and the buffer the head is gathered in).
 *
 * Incremental: bytes go in as they are read, in pieces of any size.  The
 * status line is checked on its first bytes ("HTTP/1.D DDD" then a space or
 * CR), so garbage is refused at once instead of after a timeout; 1xx heads
 * (100 Continue) are skipped, 101 is final (a websocket upgrade).  The body
 * may come with Content-Length, chunked (extensions and trailers read and
 * dropped), or end when the peer closes; HEAD, 204 and 304 have none.  The
 * body goes to a sink as it arrives; anything after it is ignored (every
 * connection carries one exchange).  Limits: the head's size (the caller's
 * buffer), the highest status, the largest Content-Length, 11 hex digits
 * (and 2^40) per chunk. */
#ifndef CONTAINARIUM_HTTP_RESPONSE_H
#define CONTAINARIUM_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The body's bytes, in order: 0 to go on, -1 to stop. */
typedef int (*ctm_http_sink)(void *arg, const char *p, size_t len);

struct ctm_http_limits {
	long status_max;             /* 599 for Incus; 999 for helperd's PAM answers */
	uint64_t content_length_max; /* a larger Content-Length is malformed */
};

enum ctm_http_body { CTM_HTTP_BODY_NONE, CTM_HTTP_BODY_LENGTH, CTM_HTTP_BODY_CHUNKED, CTM_HTTP_BODY_TO_CLOSE };

struct ctm_http_reader {
	/* set up by ctm_http_reader_init */
	char *head; /* head_cap bytes: the head is gathered here */
	size_t head_cap, head_len;
	struct ctm_http_limits lim;
	ctm_http_sink sink;
	void *arg;
	bool no_body; /* the request was HEAD: set before feeding */

	/* what has been read */
	long status;    /* 0 until a final head is read */
	char etag[256]; /* the ETag header's value, "" when none (or too long) */
	bool in_body;   /* the final head is read */
	bool done;      /* the whole answer is read */
	enum ctm_http_body mode;
	const char *problem; /* why feeding failed (-1) */

	/* chunked state */
	uint64_t left;
	int ch;
	unsigned size_digits;
};

void ctm_http_reader_init(struct ctm_http_reader *r, char *head, size_t head_cap, const struct ctm_http_limits *lim,
			  ctm_http_sink sink, void *arg);

/* The next n bytes read: 0 (go on), -1 malformed (r->problem says how),
 * -2 the sink asked to stop. */
int ctm_http_feed(struct ctm_http_reader *r, const char *p, size_t n);

/* Whether the answer is complete, eof saying whether the peer has closed
 * (which ends a body without length). */
bool ctm_http_complete(const struct ctm_http_reader *r, bool eof);

/* The reader over bytes in memory, handed over in pieces of `piece` bytes
 * (as reads would), the peer closing after the last: for the fuzz target and
 * tests.  head_only: stop after the final head.  0 complete, -1 malformed,
 * -2 stopped by the sink, -3 cut short (nothing at all when r->head_len and
 * r->in_body are both 0). */
int ctm_http_read_memory(struct ctm_http_reader *r, const char *data, size_t len, size_t piece, bool head_only);

#endif
