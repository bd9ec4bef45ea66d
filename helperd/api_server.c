/* SPDX-License-Identifier: Apache-2.0 */
/* The API's server layer: libmicrohttpd, who is calling, routing, body
 * limits and JSON parsing, and the responses.  Handlers see only struct
 * api_request / struct api_response (api.h).  The unix socket itself (its
 * directory, mode, group, SO_PEERCRED) is api_socket.c's.
 *
 * Each connection gets its own thread (MHD_USE_THREAD_PER_CONNECTION), so
 * a handler may block (waiting for an operation, say) without holding up
 * anyone else.  Callers are identified by SO_PEERCRED and SO_PEERGROUPS
 * only: helperd serves the NSS module's data, so resolving users or
 * groups through NSS here could deadlock. */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api_socket.h"
#include "api_tls.h"
#include "errmsg.h"
#include "helperd_log.h"
#include "service.h"

#define MAX_CONNECTIONS 64
#define IDLE_TIMEOUT_SECONDS 30
#define MAX_SEGMENTS 32
#define MAX_PARAMS 4
#define JSON_TYPE "application/json"
#define TEXT_TYPE "text/plain; charset=utf-8"

struct api_server {
	struct MHD_Daemon *mhd;
	struct MHD_Daemon *mhd_tls; /* the remote API (api_tls.h), or NULL */
	struct helperd *d;
	const struct api_route *routes;
	struct api_socket sock; /* the unix socket we listen on (api_socket.h) */
};

/* One request, from the request line to the completion callback. */
struct request {
	struct timespec started;
	bool begun;         /* the first access-handler call happened */
	char *raw_path;     /* undecoded path of the request line */
	char method[16];    /* for the log line */
	char log_path[256]; /* decoded path, control characters replaced */
	int status;         /* queued response status; 0: none yet */

	bool have_peer;
	struct ucred peer;
	enum api_role role;
	char client_cn[128]; /* a remote caller's certificate name, or "" */

	const struct api_route *route;
	char *segments; /* decoded path segments; params point here */
	const char *params[MAX_PARAMS];

	char *body;
	size_t body_len, body_cap;
	bool body_too_large;
	unsigned long long declared_len; /* Content-Length of a body over the limit */
};

/* A body declared at most this much over max_body_bytes is read (and
 * dropped) before the 413 goes out.  Answering at once and closing with
 * the rest unread loses the answer: a unix socket closed with unread data
 * fails the peer's next read with ECONNRESET, so the client saw a reset
 * instead of the 413 whenever it had not read the answer yet.  Larger
 * declared bodies are still answered at once. */
#define DRAIN_MAX (1u << 20)

/* ---- responses ---------------------------------------------------------- */

const char *api_query(const struct api_request *req, const char *name)
{
	if (!req || !req->conn || !name)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void api_error(struct api_response *resp, int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_object_put(resp->body);
	free(resp->text);
	resp->text = NULL;
	resp->status = status;
	json_object *e = json_object_new_object();
	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(e, "status", json_object_new_int(status));
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "error", e);
}

/* Queue resp (and free what it holds).  allow: an Allow header, or NULL. */
static enum MHD_Result respond(struct MHD_Connection *conn, struct request *rq, struct api_response *resp,
			       const char *allow)
{
	if (!resp->body && !resp->text)
		/* A handler that answers nothing is a bug; make it visible. */
		api_error(resp, 500, "internal_error",
			  "helperd produced no answer for %s %s; this is a bug in helperd, please report it",
			  rq->method, rq->log_path);

	int status = resp->status ? resp->status : MHD_HTTP_OK;
	struct MHD_Response *r;
	const char *type;
	if (resp->body) {
		size_t len;
		const char *s = json_object_to_json_string_length(
			resp->body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		r = MHD_create_response_from_buffer(len, (void *)s, MHD_RESPMEM_MUST_COPY);
		type = JSON_TYPE;
	} else {
		r = MHD_create_response_from_buffer(strlen(resp->text), resp->text, MHD_RESPMEM_MUST_COPY);
		type = resp->content_type ? resp->content_type : TEXT_TYPE;
	}
	enum MHD_Result ok = MHD_NO;
	if (r) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
		if (resp->location[0])
			MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
		if (allow)
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
		ok = MHD_queue_response(conn, (unsigned)status, r);
		MHD_destroy_response(r);
	}
	json_object_put(resp->body);
	free(resp->text);
	resp->body = NULL;
	resp->text = NULL;
	if (ok == MHD_YES)
		rq->status = status;
	else
		log_error("cannot send the answer to %s %s", rq->method, rq->log_path);
	return ok;
}

__attribute__((format(printf, 5, 6))) static enum MHD_Result
respond_error(struct MHD_Connection *conn, struct request *rq, int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct api_response resp = { 0 };
	api_error(&resp, status, code, "%s", msg);
	return respond(conn, rq, &resp, NULL);
}

/* ---- who is calling ----------------------------------------------------- */

/* A caller of the remote API: an admin named by its client certificate
 * (api_tls.h), or -1 with why (-2: the certificate is revoked). */
static int identify_tls(struct MHD_Connection *conn, struct request *rq, char *why, size_t whylen)
{
	int r = api_tls_peer(conn, rq->client_cn, sizeof rq->client_cn, why, whylen);
	if (r != 0) {
		rq->client_cn[0] = '\0';
		return r;
	}
	rq->peer.uid = (uid_t)-1;
	rq->peer.gid = (gid_t)-1;
	rq->peer.pid = 0;
	rq->role = API_ROLE_ADMIN;
	return 0;
}

static int identify(struct MHD_Connection *conn, const struct helperd *d, struct request *rq)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return -1;
	int fd = ci->connect_fd;
	if (api_socket_peer(fd, &rq->peer) != 0)
		return -1;
	rq->have_peer = true;
	if (rq->peer.uid == 0)
		rq->role = API_ROLE_ROOT;
	else if (d->admin_gid != (gid_t)-1 &&
		 (rq->peer.gid == d->admin_gid || api_socket_peer_in_group(fd, d->admin_gid)))
		rq->role = API_ROLE_ADMIN;
	else
		rq->role = API_ROLE_USER;
	return 0;
}

void api_caller_to_json(const struct api_request *req, json_object *event)
{
	if (req->client_name)
		json_object_object_add(event, "by_cert", json_object_new_string(req->client_name));
	else
		json_object_object_add(event, "by_uid", json_object_new_int64((int64_t)req->uid));
}

/* ---- routing ------------------------------------------------------------ */

/* Split the raw path into decoded segments (in place, in rq->segments).
 * A segment that decodes to something containing '/' or NUL is marked
 * unusable (NULL): it can match neither a literal nor {}. */
static int split_path(struct request *rq, const char *segs[MAX_SEGMENTS])
{
	if (!rq->raw_path || rq->raw_path[0] != '/')
		return -1;
	rq->segments = strdup(rq->raw_path + 1);
	if (!rq->segments)
		return -1;
	int n = 0;
	char *p = rq->segments;
	for (;;) {
		if (n == MAX_SEGMENTS)
			return -1;
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		size_t len = MHD_http_unescape(p);
		segs[n++] = len == strlen(p) && !strchr(p, '/') ? p : NULL;
		if (!slash)
			return n;
		p = slash + 1;
	}
}

/* Whether pattern matches the segments; fills params when it does. */
static bool pattern_matches(const char *pattern, const char *const *segs, int nsegs, const char *params[MAX_PARAMS])
{
	if (pattern[0] != '/')
		return false;
	const char *p = pattern + 1;
	int i = 0, np = 0;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (i == nsegs || !segs[i])
			return false;
		if (len == 2 && p[0] == '{' && p[1] == '}') {
			if (!segs[i][0] || np == MAX_PARAMS)
				return false;
			if (params)
				params[np] = segs[i];
			np++;
		} else if (strlen(segs[i]) != len || strncmp(segs[i], p, len) != 0) {
			return false;
		}
		i++;
		if (!end)
			return i == nsegs;
		p = end + 1;
	}
}

static const char *role_words(const struct helperd *d, enum api_role need, char *buf, size_t len)
{
	if (need == API_ROLE_ROOT)
		snprintf(buf, len, "is for root only");
	else if (!d->cfg.admin_group[0])
		snprintf(buf, len, "is for root only (admin_group is empty in helperd.conf)");
	else if (d->admin_gid == (gid_t)-1)
		snprintf(buf, len,
			 "is for root only: the admin group %s does not exist "
			 "(sudo groupadd %s, add members, then restart helperd)",
			 d->cfg.admin_group, d->cfg.admin_group);
	else
		snprintf(buf, len,
			 "needs root or membership in the group %s "
			 "(sudo usermod -aG %s USER, then log in again)",
			 d->cfg.admin_group, d->cfg.admin_group);
	return buf;
}

/* Pick the route (rq->route, rq->params).  Returns false when there is
 * none the caller may use, after answering 404, 405 or 403 (*res: the
 * result of queueing that answer). */
static bool route(struct api_server *s, struct MHD_Connection *conn, struct request *rq, const char *method,
		  enum MHD_Result *res)
{
	const char *segs[MAX_SEGMENTS];
	int nsegs = split_path(rq, segs);
	char allow[128] = "";
	bool path_known = false;
	if (nsegs > 0)
		for (const struct api_route *r = s->routes; r->method; r++) {
			const char *params[MAX_PARAMS] = { 0 };
			if (!pattern_matches(r->pattern, segs, nsegs, params))
				continue;
			if (strcmp(r->method, method) == 0) {
				rq->route = r;
				memcpy(rq->params, params, sizeof params);
				break;
			}
			path_known = true;
			/* Allow: each method once, in table order. */
			bool seen = false;
			for (const struct api_route *q = s->routes; q != r; q++)
				if (strcmp(q->method, r->method) == 0 && pattern_matches(q->pattern, segs, nsegs, NULL))
					seen = true;
			if (!seen) {
				size_t used = strlen(allow);
				snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "", r->method);
			}
		}
	if (!rq->route && !path_known) {
		*res = respond_error(conn, rq, MHD_HTTP_NOT_FOUND, "not_found",
				     "there is no %s in helperd's API; see containarium-helperd(8)", rq->log_path);
		return false;
	}
	if (!rq->route) {
		struct api_response resp = { 0 };
		api_error(&resp, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "%s does not take %s; it takes %s",
			  rq->log_path, rq->method, allow);
		*res = respond(conn, rq, &resp, allow);
		return false;
	}
	if (rq->role < rq->route->min_role) {
		char words[256];
		*res = respond_error(conn, rq, MHD_HTTP_FORBIDDEN, "forbidden", "%s %s %s", rq->method, rq->log_path,
				     role_words(s->d, rq->route->min_role, words, sizeof words));
		return false;
	}
	return true;
}

/* ---- bodies ------------------------------------------------------------- */

static bool is_json_type(const char *type)
{
	if (!type)
		return false;
	while (*type == ' ' || *type == '\t')
		type++;
	if (strncasecmp(type, JSON_TYPE, strlen(JSON_TYPE)) != 0)
		return false;
	type += strlen(JSON_TYPE);
	while (*type == ' ' || *type == '\t')
		type++;
	return *type == '\0' || *type == ';';
}

/* 413 for a body whose Content-Length is n. */
static enum MHD_Result refuse_declared(struct MHD_Connection *conn, struct request *rq, unsigned long long n,
				       size_t limit)
{
	return respond_error(conn, rq, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
			     "the request body has %llu bytes; helperd takes at most %zu "
			     "(max_body_bytes in helperd.conf)",
			     n, limit);
}

static void take_body(struct request *rq, const char *data, size_t len, size_t limit)
{
	if (rq->body_too_large)
		return; /* read and dropped: nothing is buffered past the limit */
	if (len > limit - rq->body_len) {
		rq->body_too_large = true;
		free(rq->body);
		rq->body = NULL;
		rq->body_len = rq->body_cap = 0;
		return;
	}
	size_t need = rq->body_len + len;
	if (need > rq->body_cap) {
		size_t cap = rq->body_cap ? rq->body_cap : 4096;
		while (cap < need)
			cap *= 2;
		if (cap > limit)
			cap = limit;
		char *b = realloc(rq->body, cap);
		if (!b) {
			rq->body_too_large = true; /* answered as 413; better than nothing */
			return;
		}
		rq->body = b;
		rq->body_cap = cap;
	}
	memcpy(rq->body + rq->body_len, data, len);
	rq->body_len = need;
}

/* Parse the body: a JSON object, nothing after it but whitespace.
 * Returns NULL with msg filled when it is not. */
static json_object *parse_body(const char *buf, size_t len, char *msg, size_t msglen)
{
	struct json_tokener *tok = json_tokener_new();
	if (!tok) {
		snprintf(msg, msglen, "helperd is out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* The end of input ends values that have no end mark of their
		 * own ("null", "12"); json-c learns of it from a NUL. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		snprintf(msg, msglen, "the body is not valid JSON: %s at byte %zu", json_tokener_error_desc(jerr), end);
		return NULL;
	}
	for (size_t i = end; i < len; i++)
		if (!strchr(" \t\r\n", buf[i]) || !buf[i]) {
			json_object_put(obj);
			snprintf(msg, msglen, "the body is not valid JSON: unexpected data after the value at byte %zu",
				 i);
			return NULL;
		}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(msg, msglen, "the body must be a JSON object ({...}), not %s",
			 obj ? json_type_to_name(json_object_get_type(obj)) : "null");
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* ---- MHD callbacks ------------------------------------------------------ */

static struct request *request_new(const char *raw_uri)
{
	struct request *rq = calloc(1, sizeof *rq);
	if (!rq)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &rq->started);
	size_t n = strcspn(raw_uri, "?");
	rq->raw_path = strndup(raw_uri, n);
	if (!rq->raw_path) {
		free(rq);
		return NULL;
	}
	return rq;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	return request_new(uri); /* NULL is handled in on_request */
}

static void copy_for_log(char *dst, size_t cap, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)version;
	struct api_server *s = cls;
	struct request *rq = *con_cls;
	if (!rq) {
		rq = request_new(url);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
	}
	size_t limit = s->d->cfg.max_body_bytes;

	if (!rq->begun) {
		/* Headers are in: decide everything we can before reading a
		 * byte of body. */
		rq->begun = true;
		copy_for_log(rq->method, sizeof rq->method, method);
		copy_for_log(rq->log_path, sizeof rq->log_path, url);
		const union MHD_ConnectionInfo *di = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
		if (s->mhd_tls && di && di->daemon == s->mhd_tls) {
			char why[400];
			int r = identify_tls(conn, rq, why, sizeof why);
			if (r < 0)
				return respond_error(conn, rq, MHD_HTTP_FORBIDDEN,
						     r == -2 ? "client_certificate_revoked"
							     : "client_certificate_required",
						     "%s", why);
		} else if (identify(conn, s->d, rq) < 0) {
			return respond_error(conn, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error",
					     "helperd cannot tell who is calling (SO_PEERCRED failed)");
		}
		enum MHD_Result r;
		if (!route(s, conn, rq, method, &r))
			return r;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno == 0 && *end == '\0' && n > limit && n - limit <= DRAIN_MAX) {
				rq->body_too_large = true;
				rq->declared_len = n;
				return MHD_YES;
			}
			if (errno == 0 && *end == '\0' && n > limit)
				return refuse_declared(conn, rq, n, limit);
			if (errno == 0 && *end == '\0' && n > 0 &&
			    !is_json_type(
				    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
				return respond_error(
					conn, rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
					"send the request body as JSON with Content-Type: application/json");
		}
		return MHD_YES;
	}

	if (*upload_data_size) {
		take_body(rq, upload_data, *upload_data_size, limit);
		*upload_data_size = 0;
		return MHD_YES;
	}

	/* The whole request is in. */
	if (rq->body_too_large && rq->declared_len)
		return refuse_declared(conn, rq, rq->declared_len, limit);
	if (rq->body_too_large)
		return respond_error(conn, rq, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
				     "the request body is larger than %zu bytes, the most helperd takes "
				     "(max_body_bytes in helperd.conf)",
				     limit);
	struct api_request req = {
		.method = method,
		.path = url,
		.conn = conn,
		.uid = rq->peer.uid,
		.gid = rq->peer.gid,
		.pid = rq->peer.pid,
		.role = rq->role,
		.client_name = rq->client_cn[0] ? rq->client_cn : NULL,
	};
	memcpy(req.params, rq->params, sizeof req.params);
	if (rq->body_len) {
		if (!is_json_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
			return respond_error(conn, rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
					     "send the request body as JSON with Content-Type: application/json");
		char msg[256];
		req.body = parse_body(rq->body, rq->body_len, msg, sizeof msg);
		if (!req.body)
			return respond_error(conn, rq, MHD_HTTP_BAD_REQUEST, "invalid_json", "%s", msg);
	}
	struct api_response resp = { 0 };
	rq->route->handler(s->d, &req, &resp);
	json_object_put(req.body);
	return respond(conn, rq, &resp, NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	struct request *rq = *con_cls;
	if (!rq)
		return;
	*con_cls = NULL;
	if (rq->begun) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms =
			(long)(now.tv_sec - rq->started.tv_sec) * 1000 + (now.tv_nsec - rq->started.tv_nsec) / 1000000;
		char uid[150] = "?";
		if (rq->client_cn[0])
			snprintf(uid, sizeof uid, "-, cert=%s", rq->client_cn);
		else if (rq->have_peer)
			snprintf(uid, sizeof uid, "%u", (unsigned)rq->peer.uid);
		if (rq->status)
			log_info("%s %s %d uid=%s %ld ms%s", rq->method, rq->log_path, rq->status, uid, ms,
				 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (not fully sent)");
		else
			log_info("%s %s - uid=%s %ld ms (the caller went away)", rq->method, rq->log_path, uid, ms);
	}
	free(rq->raw_path);
	free(rq->segments);
	free(rq->body);
	free(rq);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_warning("API server: %s", line);
}

/* One libmicrohttpd daemon serving on_request, a thread per connection,
 * with the options both listeners share and its own (where it listens,
 * TLS). */
static struct MHD_Daemon *start_mhd(struct api_server *s, unsigned int flags, struct MHD_OptionItem *own)
{
	/* MHD's threads inherit this mask: signals are the main thread's. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	struct MHD_Daemon *mhd = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
			MHD_USE_ERROR_LOG | flags,
		0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
		(void *)NULL, /* first: MHD wants it so */
		MHD_OPTION_ARRAY, own, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_SECONDS, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
		(void *)NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)NULL, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return mhd;
}

/* The remote API: the same handler over HTTPS on https_listen, clients
 * asked for a certificate against https_client_ca (api_tls.h). */
static int start_tls(struct api_server *s, char *err, size_t errlen)
{
	struct api_tls_material m;
	if (api_tls_load(&s->d->cfg, &m, err, errlen) != 0)
		return -1;
	struct MHD_OptionItem own[] = {
		{ MHD_OPTION_SOCK_ADDR, 0, &m.addr },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, m.cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, m.key },
		{ MHD_OPTION_HTTPS_MEM_TRUST, 0, m.client_ca },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)api_tls_on_connection, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	s->mhd_tls = start_mhd(s, MHD_USE_TLS | (m.addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), own);
	api_tls_free(&m); /* GnuTLS has its own copies */
	if (!s->mhd_tls) {
		api_tls_stop();
		return ctm_fail(err, errlen,
				"cannot serve HTTPS on %s: the address is in use or not this "
				"machine's, or the certificate and key do not match (see the log above)",
				s->d->cfg.https_listen);
	}
	log_info("remote API (HTTPS, client certificates) listening on %s", s->d->cfg.https_listen);
	return 0;
}

struct api_server *api_server_start(struct helperd *d, const struct api_route *routes, char *err, size_t errlen)
{
	struct api_server *s = calloc(1, sizeof *s);
	if (!s) {
		ctm_fail(err, errlen, "out of memory");
		return NULL;
	}
	s->d = d;
	s->routes = routes;
	int fd = api_socket_open(d->cfg.listen_socket, d->cfg.socket_mode, d->admin_gid, &s->sock, err, errlen);
	if (fd < 0) {
		free(s);
		return NULL;
	}
	struct MHD_OptionItem own[] = {
		{ MHD_OPTION_LISTEN_SOCKET, (intptr_t)fd, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	s->mhd = start_mhd(s, 0, own);
	if (!s->mhd) {
		ctm_fail(err, errlen, "cannot start the API server on %s (libmicrohttpd refused)", s->sock.path);
		api_socket_remove(&s->sock);
		close(fd);
		free(s);
		return NULL;
	}
	log_info("API listening on %s", s->sock.path);
	if (*d->cfg.https_listen && start_tls(s, err, errlen) != 0) {
		api_server_stop(s);
		return NULL;
	}
	return s;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	/* Waits for every connection's thread; MHD closes the listen socket. */
	if (s->mhd_tls) {
		MHD_stop_daemon(s->mhd_tls);
		api_tls_stop();
	}
	MHD_stop_daemon(s->mhd);
	api_socket_remove(&s->sock);
	free(s);
}
