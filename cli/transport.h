/* SPDX-License-Identifier: Apache-2.0 */
/* How the CLI reaches helperd: one request in, status and body out.  Two
 * transports (transport_curl.c): HTTP over helperd's unix socket, and HTTPS
 * with a client certificate to helperd's remote API; client.c picks one. */
#ifndef CONTAINARIUM_CLI_TRANSPORT_H
#define CONTAINARIUM_CLI_TRANSPORT_H

#include <stddef.h>
#include <stdlib.h>

enum transport_status {
	TRANSPORT_OK = 0,      /* an HTTP answer arrived (any status) */
	TRANSPORT_UNAVAILABLE, /* nobody listens, or the server went away */
	TRANSPORT_DENIED,      /* not allowed to connect (EACCES) */
	TRANSPORT_TIMEOUT,
	TRANSPORT_FAILED,
	TRANSPORT_REFUSED, /* the server refused our client certificate (TLS alert) */
};

struct transport_reply {
	long status; /* HTTP status */
	char *body;  /* NUL-terminated; malloc'd */
	size_t len;
	char content_type[128];
};

struct transport;

struct transport_ops {
	/* target: path and query ("/v1/containers?state=running").  body may
	 * be NULL (no body).  On anything but TRANSPORT_OK, err says why. */
	enum transport_status (*request)(struct transport *t, const char *method, const char *target, const char *body,
					 size_t body_len, long timeout_seconds, struct transport_reply *reply,
					 char *err, size_t errlen);
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
};

/* HTTP over a unix socket (libcurl, one handle reused for every request). */
struct transport *transport_unix_open(const char *socket_path, char *err, size_t errlen);

/* HTTPS to url ("https://jump.example.com:8443"), authenticating with the
 * client certificate cert and its key; the server's certificate must chain
 * to cacert (NULL: the system's CA store) and name the host. */
struct transport *transport_https_open(const char *url, const char *cert, const char *key, const char *cacert,
				       char *err, size_t errlen);

static inline enum transport_status transport_request(struct transport *t, const char *method, const char *target,
						      const char *body, size_t body_len, long timeout_seconds,
						      struct transport_reply *reply, char *err, size_t errlen)
{
	return t->ops->request(t, method, target, body, body_len, timeout_seconds, reply, err, errlen);
}

static inline void transport_close(struct transport *t)
{
	if (t)
		t->ops->close(t);
}

static inline void transport_reply_free(struct transport_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

#endif
