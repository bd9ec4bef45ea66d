/* SPDX-License-Identifier: Apache-2.0 */
#include "incus_events.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base64.h"
#include "incus_http.h"

/* A lifecycle event is a few hundred bytes; anything near this is not one. */
#define FRAME_MAX (1u << 20)

struct incus_events {
	int fd;
	unsigned char *buf;
	size_t len, cap;
};

struct incus_events *incus_events_open(const char *socket_path, char *err, size_t errlen)
{
	/* The key only proves to a caching proxy that this is a fresh
	 * handshake (RFC 6455, 4.1): any 16 bytes, base64.  The server's
	 * Sec-WebSocket-Accept is not checked: there is no proxy between
	 * helperd and a local unix socket it trusts anyway. */
	unsigned char raw[16];
	if (getrandom(raw, sizeof raw, GRND_NONBLOCK) != (ssize_t)sizeof raw)
		memset(raw, 0x5a, sizeof raw);
	char key[64] = "Sec-WebSocket-Key: ";
	size_t at = strlen(key);
	ctm_base64_encode(raw, sizeof raw, key + at, sizeof key - at);
	const char *hdrs[] = { "Upgrade: websocket", key, "Sec-WebSocket-Version: 13", NULL };
	struct http_request rq = {
		.method = "GET", .path = "/1.0/events?type=lifecycle", .headers = hdrs, .timeout_s = 10
	};
	struct http_response resp;
	char why[160];
	int fd = -1;
	enum http_result r = http_upgrade(socket_path, &rq, &fd, &resp, why, sizeof why);
	if (r != HTTP_OK) {
		if (resp.status)
			snprintf(err, errlen, "GET /1.0/events: HTTP %ld (%s)", resp.status, why);
		else
			snprintf(err, errlen, "GET /1.0/events: %s", why);
		return NULL;
	}
	struct incus_events *ev = calloc(1, sizeof *ev);
	if (!ev) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ev->fd = fd;
	return ev;
}

int incus_events_fd(const struct incus_events *ev)
{
	return ev->fd;
}

void incus_events_close(struct incus_events *ev)
{
	if (!ev)
		return;
	close(ev->fd);
	free(ev->buf);
	free(ev);
}

/* Answer a ping with a pong carrying the same payload (masked, as every
 * frame from a client must be).  Best effort: a lost pong at worst makes
 * the server close the stream, which helperd notices and reopens. */
static void pong(struct incus_events *ev, const unsigned char *payload, size_t len)
{
	unsigned char f[2 + 4 + 125], mask[4];
	if (len > 125)
		return;
	if (getrandom(mask, sizeof mask, GRND_NONBLOCK) != (ssize_t)sizeof mask)
		memset(mask, 0x3c, sizeof mask);
	f[0] = 0x80 | 0xA; /* FIN, pong */
	f[1] = 0x80 | (unsigned char)len;
	memcpy(f + 2, mask, 4);
	for (size_t i = 0; i < len; i++)
		f[6 + i] = payload[i] ^ mask[i & 3];
	ssize_t w = send(ev->fd, f, 6 + len, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
}

/* Take the complete frames at the start of buf: the data messages among
 * them, or -1 (close frame, or a frame no server sends). */
static int frames(struct incus_events *ev, char *err, size_t errlen)
{
	int messages = 0;
	size_t off = 0;
	for (;;) {
		unsigned char *p = ev->buf + off;
		size_t have = ev->len - off;
		if (have < 2)
			break;
		bool fin = p[0] & 0x80, masked = p[1] & 0x80;
		unsigned op = p[0] & 0x0f;
		uint64_t plen = p[1] & 0x7f;
		size_t hdr = 2;
		if (plen == 126) {
			if (have < 4)
				break;
			plen = (uint64_t)p[2] << 8 | p[3];
			hdr = 4;
		} else if (plen == 127) {
			if (have < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | p[2 + i];
			hdr = 10;
		}
		if (plen > FRAME_MAX) {
			snprintf(err, errlen, "an event frame of %llu bytes", (unsigned long long)plen);
			return -1;
		}
		size_t mask_at = hdr;
		if (masked)
			hdr += 4;
		if (have < hdr + plen)
			break;
		unsigned char *payload = p + hdr;
		if (masked)
			for (size_t i = 0; i < plen; i++)
				payload[i] ^= p[mask_at + (i & 3)];
		switch (op) {
		case 0x0: /* continuation */
		case 0x1: /* text: one event */
		case 0x2: messages += fin; break;
		case 0x8: snprintf(err, errlen, "the server closed the event stream"); return -1;
		case 0x9: pong(ev, payload, (size_t)plen); break;
		case 0xA: break;
		default: snprintf(err, errlen, "an event frame with opcode %u", op); return -1;
		}
		off += hdr + (size_t)plen;
	}
	memmove(ev->buf, ev->buf + off, ev->len - off);
	ev->len -= off;
	return messages;
}

int incus_events_read(struct incus_events *ev, char *err, size_t errlen)
{
	int messages = 0;
	for (;;) {
		if (ev->cap - ev->len < 4096) {
			size_t cap = ev->cap ? ev->cap * 2 : 8192;
			if (cap > FRAME_MAX + 64 * 1024) {
				snprintf(err, errlen, "an event larger than %u bytes", FRAME_MAX);
				return -1;
			}
			unsigned char *b = realloc(ev->buf, cap);
			if (!b) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			ev->buf = b;
			ev->cap = cap;
		}
		ssize_t got = read(ev->fd, ev->buf + ev->len, ev->cap - ev->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN)
			return messages;
		if (got <= 0) {
			snprintf(err, errlen, "the event stream ended (%s)", got < 0 ? strerror(errno) : "closed");
			return -1;
		}
		ev->len += (size_t)got;
		int m = frames(ev, err, errlen);
		if (m < 0)
			return -1;
		messages += m;
	}
}
