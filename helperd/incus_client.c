/* SPDX-License-Identifier: Apache-2.0 */
#include "incus_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "incus_http.h"
#include "json_list.h"
#include "percent.h"

/* Largest answer we accept: a list of 10,000 instances with recursion is
 * tens of MiB; anything much larger is not an answer we can use. */
#define MAX_RESPONSE (256u << 20)
#define MAX_ITEM (16u << 20) /* one element of a list; an instance object is about 4 KB */

struct incus_client {
	char socket[108];
	enum incus_server kind;
	char version[64];
	char member[64];     /* environment.server_name in a cluster; "" outside one */
	const char *hdr;     /* "X-Incus-" or "X-LXD-": the file API's header prefix */
	unsigned extensions; /* enum incus_extension bits */
};

static const struct {
	const char *name;
	enum incus_extension bit;
} known_extensions[] = {
	{ "container_nic_ipfilter", INCUS_EXT_NIC_IPFILTER },
	{ "instance_nic_bridged_port_isolation", INCUS_EXT_NIC_PORT_ISOLATION },
};

static unsigned extensions_of(json_object *md)
{
	json_object *list = NULL;
	unsigned bits = 0;
	if (!json_object_object_get_ex(md, "api_extensions", &list) || !json_object_is_type(list, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(list, i));
		for (size_t k = 0; name && k < sizeof known_extensions / sizeof known_extensions[0]; k++)
			if (strcmp(name, known_extensions[k].name) == 0)
				bits |= known_extensions[k].bit;
	}
	return bits;
}

struct buf {
	char *data;
	size_t len, cap;
	int too_big;
	struct json_list *split; /* not NULL: bytes go through it (incus_get_each) */
};

__attribute__((format(printf, 4, 5))) static enum incus_status fail(enum incus_status s, char *err, size_t errlen,
								    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return s;
}

const char *incus_status_str(enum incus_status s)
{
	switch (s) {
	case INCUS_OK: return "ok";
	case INCUS_ERR_UNAVAILABLE: return "container backend unavailable";
	case INCUS_ERR_NOT_FOUND: return "not found";
	case INCUS_ERR_CONFLICT: return "conflict";
	case INCUS_ERR_REQUEST: return "bad request";
	case INCUS_ERR_SERVER: return "server error";
	case INCUS_ERR_PROTOCOL: return "unexpected answer";
	case INCUS_ERR_TIMEOUT: return "timed out";
	case INCUS_ERR_COMMAND: return "command failed";
	case INCUS_ERR_ADDRESS_HELD: return "address held by a stale DHCP lease";
	}
	return "unknown";
}

const char *incus_default_socket(void)
{
	if (access("/var/lib/incus/unix.socket", F_OK) == 0)
		return "/var/lib/incus/unix.socket";
	if (access("/var/snap/lxd/common/lxd/unix.socket", F_OK) == 0)
		return "/var/snap/lxd/common/lxd/unix.socket";
	return "/var/lib/lxd/unix.socket";
}

/* Room for len more bytes and a NUL in b; -1 when that would pass max
 * (b->too_big) or memory ran out. */
static int buf_reserve(struct buf *b, size_t len, size_t max)
{
	if (b->len + len + 1 > max) {
		b->too_big = 1;
		return -1;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	return 0;
}

static int on_data(void *arg, const char *p, size_t len)
{
	struct buf *b = arg;
	if (b->split)
		return json_list_feed(b->split, p, len);
	if (buf_reserve(b, len, MAX_RESPONSE))
		return -1;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

/* One HTTP exchange: the HTTP status in *status, the body through sink
 * (into b with on_data), the ETag into *etag when etag is not NULL. */
static enum incus_status exchange_to(struct incus_client *c, const char *method, const char *path, const char *ctype,
				     const void *body, size_t body_len, const char *const *extra, long timeout_s,
				     long *status, http_sink sink, void *arg, char **etag, char *err, size_t errlen)
{
	const char *hdrs[12];
	size_t n = 0;
	char ct[128];
	for (const char *const *h = extra; h && *h && n < 10; h++)
		hdrs[n++] = *h;
	if (body) {
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
		hdrs[n++] = ct;
	}
	hdrs[n] = NULL;
	struct http_request rq = {
		.method = method,
		.path = path,
		.headers = hdrs,
		.body = body,
		.body_len = body_len,
		.timeout_s = timeout_s,
	};
	struct http_response resp;
	char why[160];
	enum http_result r = http_exchange(c->socket, &rq, sink, arg, &resp, why, sizeof why);
	*status = resp.status;
	if (etag)
		*etag = NULL;
	switch (r) {
	case HTTP_OK: break;
	case HTTP_REFUSED:
		return fail(INCUS_ERR_UNAVAILABLE, err, errlen,
			    "cannot reach the container backend at "
			    "%s (%s): is incus (or lxd) running?",
			    c->socket, why);
	case HTTP_TIMEOUT:
		return fail(INCUS_ERR_TIMEOUT, err, errlen, "%s %s: no answer within %ld s", method, path, timeout_s);
	case HTTP_CUT: return fail(INCUS_ERR_UNAVAILABLE, err, errlen, "%s %s: %s", method, path, why);
	case HTTP_PROTOCOL: return fail(INCUS_ERR_PROTOCOL, err, errlen, "%s %s: %s", method, path, why);
	case HTTP_STOPPED: /* the sink's own failure; callers that can say more do */
		return fail(INCUS_ERR_PROTOCOL, err, errlen,
			    "%s %s: answer larger than %u MiB, or out "
			    "of memory",
			    method, path, MAX_RESPONSE >> 20);
	case HTTP_BAD_REQUEST: return fail(INCUS_ERR_REQUEST, err, errlen, "%s %.200s: %s", method, path, why);
	}
	if (etag && resp.etag[0] && !(*etag = strdup(resp.etag)))
		return fail(INCUS_ERR_SERVER, err, errlen, "out of memory");
	return INCUS_OK;
}

static enum incus_status exchange(struct incus_client *c, const char *method, const char *path, const char *ctype,
				  const void *body, size_t body_len, const char *const *extra, long timeout_s,
				  long *status, struct buf *b, char **etag, char *err, size_t errlen)
{
	return exchange_to(c, method, path, ctype, body, body_len, extra, timeout_s, status, on_data, b, etag, err,
			   errlen);
}

static enum incus_status status_from_http(long code)
{
	if (code == 404)
		return INCUS_ERR_NOT_FOUND;
	if (code == 409 || code == 412)
		return INCUS_ERR_CONFLICT;
	if (code >= 400 && code < 500)
		return INCUS_ERR_REQUEST;
	return INCUS_ERR_SERVER;
}

enum incus_status incus_error_status(long http, const char *message)
{
	/* The validators' words, the same in Incus 6.0 and LXD 5.0, also when
	 * wrapped ("Failed creating instance record: Unknown configuration
	 * key: security.devlxd"). */
	static const char *const refused[] = { "Invalid config: ", "Invalid devices: ", "Unknown configuration key" };
	enum incus_status s = status_from_http(http);
	for (size_t i = 0; s == INCUS_ERR_SERVER && message && i < sizeof refused / sizeof refused[0]; i++)
		if (strstr(message, refused[i]))
			s = INCUS_ERR_REQUEST;
	return s;
}

/* Parse a standard response; on an error response report its message. */
static enum incus_status parse_response(const char *method, const char *path, long http, struct buf *b,
					json_object **root, char *err, size_t errlen)
{
	json_object *j = b->data ? json_tokener_parse(b->data) : NULL;
	json_object *type = NULL, *msg = NULL;
	if (!j || !json_object_is_type(j, json_type_object) || !json_object_object_get_ex(j, "type", &type)) {
		json_object_put(j);
		if (http >= 400)
			return fail(status_from_http(http), err, errlen, "%s %s: HTTP %ld", method, path, http);
		return fail(INCUS_ERR_PROTOCOL, err, errlen,
			    "%s %s: the answer is not the API's JSON "
			    "(HTTP %ld)",
			    method, path, http);
	}
	if (strcmp(json_object_get_string(type), "error") == 0 || http >= 400) {
		json_object_object_get_ex(j, "error", &msg);
		enum incus_status s =
			incus_error_status(http >= 400 ? http : 500, msg ? json_object_get_string(msg) : NULL);
		fail(s, err, errlen, "%s %s: %ld %s", method, path, http, msg ? json_object_get_string(msg) : "error");
		json_object_put(j);
		return s;
	}
	*root = j;
	return INCUS_OK;
}

static enum incus_status request(struct incus_client *c, const char *method, const char *path, json_object *body,
				 const char *const *hdrs, long timeout_s, json_object **root, char **etag, char *err,
				 size_t errlen)
{
	struct buf b = { 0 };
	long http = 0;
	char *tag = NULL;
	const char *text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL;
	enum incus_status s = exchange(c, method, path, "application/json", text, text ? strlen(text) : 0, hdrs,
				       timeout_s, &http, &b, etag ? &tag : NULL, err, errlen);
	if (s == INCUS_OK)
		s = parse_response(method, path, http, &b, root, err, errlen);
	if (etag)
		*etag = s == INCUS_OK ? tag : NULL;
	if (s != INCUS_OK)
		free(tag);
	free(b.data);
	return s;
}

static json_object *take_member(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get(v);
}

enum incus_status incus_open(const char *socket_path, struct incus_client **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!socket_path || !*socket_path)
		socket_path = incus_default_socket();
	struct incus_client *c = calloc(1, sizeof *c);
	if (!c || strlen(socket_path) >= sizeof c->socket) {
		free(c);
		return fail(INCUS_ERR_REQUEST, err, errlen, "cannot set up a client for %s", socket_path);
	}
	strcpy(c->socket, socket_path);
	json_object *md = NULL;
	enum incus_status s = incus_get(c, "/1.0", &md, NULL, err, errlen);
	if (s != INCUS_OK) {
		incus_close(c);
		return s;
	}
	json_object *env = NULL, *server = NULL, *ver = NULL, *clustered = NULL, *sname = NULL;
	if (json_object_object_get_ex(md, "environment", &env))
		json_object_object_get_ex(env, "server", &server),
			json_object_object_get_ex(env, "server_version", &ver),
			json_object_object_get_ex(env, "server_clustered", &clustered),
			json_object_object_get_ex(env, "server_name", &sname);
	const char *name = server ? json_object_get_string(server) : "";
	if (strcmp(name, "incus") == 0) {
		c->kind = INCUS_SERVER_INCUS;
		c->hdr = "X-Incus-";
	} else if (strcmp(name, "lxd") == 0) {
		c->kind = INCUS_SERVER_LXD;
		c->hdr = "X-LXD-";
	} else {
		json_object_put(md);
		incus_close(c);
		return fail(INCUS_ERR_PROTOCOL, err, errlen,
			    "%s answers as \"%s\", not incus or lxd (is "
			    "this the right socket, and is helperd allowed to use it as root?)",
			    socket_path, name);
	}
	snprintf(c->version, sizeof c->version, "%s", ver ? json_object_get_string(ver) : "unknown");
	if (clustered && json_object_get_boolean(clustered) && sname)
		snprintf(c->member, sizeof c->member, "%s", json_object_get_string(sname));
	c->extensions = extensions_of(md);
	json_object_put(md);
	*out = c;
	return INCUS_OK;
}

enum incus_status incus_clone(const struct incus_client *c, struct incus_client **out, char *err, size_t errlen)
{
	struct incus_client *n = calloc(1, sizeof *n);
	if (!n) {
		return fail(INCUS_ERR_REQUEST, err, errlen, "out of memory");
	}
	memcpy(n->socket, c->socket, sizeof n->socket);
	n->kind = c->kind;
	n->hdr = c->hdr;
	n->extensions = c->extensions;
	memcpy(n->version, c->version, sizeof n->version);
	memcpy(n->member, c->member, sizeof n->member);
	*out = n;
	return INCUS_OK;
}

void incus_close(struct incus_client *c)
{
	free(c);
}

enum incus_server incus_server_kind(const struct incus_client *c)
{
	return c->kind;
}
const char *incus_server_name(const struct incus_client *c)
{
	return c->kind == INCUS_SERVER_INCUS ? "incus" : "lxd";
}
const char *incus_server_version(const struct incus_client *c)
{
	return c->version;
}
const char *incus_socket_path(const struct incus_client *c)
{
	return c->socket;
}
const char *incus_server_member(const struct incus_client *c)
{
	return c->member;
}
bool incus_has_extension(const struct incus_client *c, enum incus_extension e)
{
	return (c->extensions & e) == e;
}

enum incus_status incus_get(struct incus_client *c, const char *path, json_object **metadata, char **etag, char *err,
			    size_t errlen)
{
	json_object *root = NULL;
	enum incus_status s = request(c, "GET", path, NULL, NULL, 60, &root, etag, err, errlen);
	if (s != INCUS_OK)
		return s;
	if (metadata)
		*metadata = take_member(root, "metadata");
	json_object_put(root);
	return INCUS_OK;
}

enum incus_status incus_get_each(struct incus_client *c, const char *path, int (*each)(json_object *item, void *arg),
				 void *arg, char *err, size_t errlen)
{
	struct json_list *jl = json_list_new("metadata", each, arg, MAX_RESPONSE, MAX_ITEM);
	struct buf b = { .split = jl };
	long http = 0;
	if (!jl)
		return fail(INCUS_ERR_SERVER, err, errlen, "out of memory");
	enum incus_status s = exchange(c, "GET", path, NULL, NULL, 0, NULL, 60, &http, &b, NULL, err, errlen);
	struct buf rest = { 0 };
	enum json_list_result r = json_list_finish(jl, (const char **)&rest.data, &rest.len);
	if (r == JL_STOPPED || r == JL_NOMEM)
		s = fail(INCUS_ERR_SERVER, err, errlen, "GET %s: out of memory", path);
	else if (r == JL_BAD_ITEM || r == JL_BIG_ITEM || r == JL_BIG_REST)
		s = fail(INCUS_ERR_PROTOCOL, err, errlen, "GET %s: %s", path,
			 r == JL_BIG_ITEM   ? "a list element larger than 16 MiB"
			 : r == JL_BIG_REST ? "the answer is too large"
					    : "a list element is not JSON");
	else if (s == INCUS_OK && r == JL_TRUNCATED)
		s = fail(INCUS_ERR_PROTOCOL, err, errlen, "GET %s: the answer ended part-way", path);
	json_object *root = NULL, *md = NULL;
	if (s == INCUS_OK)
		s = parse_response("GET", path, http, &rest, &root, err, errlen);
	if (s == INCUS_OK &&
	    (!json_object_object_get_ex(root, "metadata", &md) || !json_object_is_type(md, json_type_array)))
		s = fail(INCUS_ERR_PROTOCOL, err, errlen, "GET %s: the answer is not a list", path);
	/* Elements the reader did not see as such (a "metadata" key spelt
	 * with escapes, say) are in the rest's tree: the same calls, just
	 * not streamed. */
	for (size_t i = 0; s == INCUS_OK && i < json_object_array_length(md); i++)
		if (each(json_object_array_get_idx(md, i), arg))
			s = fail(INCUS_ERR_SERVER, err, errlen, "GET %s: out of memory", path);
	json_object_put(root);
	json_list_free(jl);
	return s;
}

/* Wait for a background operation; returns its metadata object. */
static enum incus_status wait_operation(struct incus_client *c, const char *op, int timeout_s, json_object **opmd,
					char *err, size_t errlen)
{
	char path[512];
	/* An operation another cluster member runs comes with a query
	 * ("/1.0/operations/ID?project=default"): /wait goes before it. */
	size_t base = strcspn(op, "?");
	if (snprintf(path, sizeof path, "%.*s/wait?timeout=%d%s%s", (int)base, op, timeout_s, op[base] ? "&" : "",
		     op[base] ? op + base + 1 : "") >= (int)sizeof path)
		return fail(INCUS_ERR_PROTOCOL, err, errlen, "operation path too long");
	json_object *root = NULL, *md, *status = NULL, *e = NULL;
	enum incus_status s = request(c, "GET", path, NULL, NULL, timeout_s + 10, &root, NULL, err, errlen);
	if (s != INCUS_OK)
		return s;
	if (!json_object_object_get_ex(root, "metadata", &md) || !json_object_object_get_ex(md, "status", &status)) {
		json_object_put(root);
		return fail(INCUS_ERR_PROTOCOL, err, errlen, "operation %s: no status in the answer", op);
	}
	const char *st = json_object_get_string(status);
	if (strcmp(st, "Success") != 0) {
		json_object_object_get_ex(md, "err", &e);
		const char *why = e ? json_object_get_string(e) : "";
		s = strcmp(st, "Running") == 0 || strcmp(st, "Pending") == 0
			    ? fail(INCUS_ERR_TIMEOUT, err, errlen, "operation %s still %s after %d s", op, st,
				   timeout_s)
			    : fail(incus_error_status(500, why), err, errlen, "operation %s: %s%s%s", op, st,
				   *why ? ": " : "", why);
		json_object_put(root);
		return s;
	}
	if (opmd)
		*opmd = json_object_get(md);
	json_object_put(root);
	return INCUS_OK;
}

enum incus_status incus_call(struct incus_client *c, const char *method, const char *path, json_object *body,
			     const char *if_match, int timeout_s, json_object **metadata, char *err, size_t errlen)
{
	char im[300];
	const char *hdrs[2] = { NULL, NULL };
	if (if_match) {
		snprintf(im, sizeof im, "If-Match: %s", if_match);
		hdrs[0] = im;
	}
	json_object *root = NULL, *type = NULL, *op = NULL;
	enum incus_status s = request(c, method, path, body, hdrs, timeout_s + 10, &root, NULL, err, errlen);
	if (s != INCUS_OK)
		return s;
	json_object_object_get_ex(root, "type", &type);
	if (strcmp(json_object_get_string(type), "async") == 0) {
		if (!json_object_object_get_ex(root, "operation", &op)) {
			json_object_put(root);
			return fail(INCUS_ERR_PROTOCOL, err, errlen, "%s %s: async answer without an operation", method,
				    path);
		}
		json_object *opmd = NULL;
		s = wait_operation(c, json_object_get_string(op), timeout_s, &opmd, err, errlen);
		if (s == INCUS_OK && metadata)
			*metadata = opmd;
		else
			json_object_put(opmd);
	} else if (metadata) {
		*metadata = take_member(root, "metadata");
	}
	json_object_put(root);
	return s;
}

/* GET a raw (non-JSON) resource, such as an exec log or a file. */
static enum incus_status get_raw(struct incus_client *c, const char *path, char **data, size_t *len, char *err,
				 size_t errlen)
{
	struct buf b = { 0 };
	long http = 0;
	enum incus_status s = exchange(c, "GET", path, NULL, NULL, 0, NULL, 60, &http, &b, NULL, err, errlen);
	if (s == INCUS_OK && http != 200) {
		json_object *root = NULL;
		s = parse_response("GET", path, http, &b, &root, err, errlen);
		json_object_put(root);
		if (s == INCUS_OK)
			s = fail(INCUS_ERR_PROTOCOL, err, errlen, "GET %s: HTTP %ld", path, http);
	}
	if (s != INCUS_OK) {
		free(b.data);
		return s;
	}
	if (!b.data && !(b.data = calloc(1, 1)))
		return fail(INCUS_ERR_SERVER, err, errlen, "out of memory");
	*data = b.data;
	if (len)
		*len = b.len;
	return INCUS_OK;
}

enum incus_status incus_exec(struct incus_client *c, const char *instance, const char *const *argv, int timeout_s,
			     int *exit_code, char **out, char **errout, char *err, size_t errlen)
{
	*exit_code = -1;
	if (out)
		*out = NULL;
	if (errout)
		*errout = NULL;
	json_object *body = json_object_new_object(), *cmd = json_object_new_array();
	for (size_t i = 0; argv[i]; i++)
		json_object_array_add(cmd, json_object_new_string(argv[i]));
	json_object_object_add(body, "command", cmd);
	json_object_object_add(body, "wait-for-websocket", json_object_new_boolean(0));
	json_object_object_add(body, "interactive", json_object_new_boolean(0));
	json_object_object_add(body, "record-output", json_object_new_boolean(1));
	json_object *env = json_object_new_object();
	json_object_object_add(env, "PATH", json_object_new_string("/usr/sbin:/usr/bin:/sbin:/bin"));
	json_object_object_add(env, "LANG", json_object_new_string("C.UTF-8"));
	json_object_object_add(body, "environment", env);
	char path[512];
	snprintf(path, sizeof path, "/1.0/instances/%s/exec", instance);
	json_object *md = NULL;
	enum incus_status s;
	for (int attempt = 1;; attempt++) {
		s = incus_call(c, "POST", path, body, NULL, timeout_s, &md, err, errlen);
		/* LXD and Incus fail an exec with this when forkexec could not
		 * attach to the container (seen under load right after a start).
		 * The command never ran, so running it again is safe. */
		if (s != INCUS_ERR_SERVER || attempt == 5 || !err ||
		    !strstr(err, "Failed to retrieve PID of executing child process"))
			break;
		struct timespec pause = { 0, 200000000L * attempt };
		nanosleep(&pause, NULL);
	}
	json_object_put(body);
	if (s != INCUS_OK)
		return s;
	json_object *inner = NULL, *ret = NULL, *output = NULL;
	if (!json_object_object_get_ex(md, "metadata", &inner) || !json_object_object_get_ex(inner, "return", &ret)) {
		json_object_put(md);
		return fail(INCUS_ERR_PROTOCOL, err, errlen, "exec in %s: no exit code in the answer", instance);
	}
	*exit_code = json_object_get_int(ret);
	json_object_object_get_ex(inner, "output", &output);
	static const char *const fds[] = { "1", "2" };
	char **dest[] = { out, errout };
	for (int i = 0; i < 2 && output; i++) {
		json_object *p = NULL;
		if (!json_object_object_get_ex(output, fds[i], &p))
			continue;
		const char *log = json_object_get_string(p);
		char e2[256];
		if (dest[i])
			get_raw(c, log, dest[i], NULL, e2, sizeof e2);
		/* Exec logs pile up in the instance's log directory: remove them. */
		json_object *ignored = NULL;
		if (incus_call(c, "DELETE", log, NULL, NULL, 30, &ignored, e2, sizeof e2) == INCUS_OK)
			json_object_put(ignored);
	}
	json_object_put(md);
	if (*exit_code != 0) {
		return fail(INCUS_ERR_COMMAND, err, errlen, "command \"%s\" in %s exited with status %d%s%.200s",
			    argv[0], instance, *exit_code, errout && *errout && **errout ? ": " : "",
			    errout && *errout ? *errout : "");
	}
	return INCUS_OK;
}

enum incus_status incus_file_push(struct incus_client *c, const char *instance, const char *path, const void *data,
				  size_t len, uid_t uid, gid_t gid, mode_t mode, char *err, size_t errlen)
{
	char *ep = ctm_percent_escape(path);
	if (!ep)
		return fail(INCUS_ERR_REQUEST, err, errlen, "out of memory");
	char url[1024], h[4][64];
	int n = snprintf(url, sizeof url, "/1.0/instances/%s/files?path=%s", instance, ep);
	free(ep);
	if (n >= (int)sizeof url)
		return fail(INCUS_ERR_REQUEST, err, errlen, "file path is too long: %s", path);
	snprintf(h[0], sizeof h[0], "%suid: %u", c->hdr, (unsigned)uid);
	snprintf(h[1], sizeof h[1], "%sgid: %u", c->hdr, (unsigned)gid);
	snprintf(h[2], sizeof h[2], "%smode: %04o", c->hdr, (unsigned)mode & 07777);
	snprintf(h[3], sizeof h[3], "%stype: file", c->hdr);
	char wr[64];
	snprintf(wr, sizeof wr, "%swrite: overwrite", c->hdr);
	const char *hdrs[] = { h[0], h[1], h[2], h[3], wr, NULL };
	struct buf b = { 0 };
	long http = 0;
	/* application/octet-stream: with any other type the body is dropped. */
	enum incus_status s = exchange(c, "POST", url, "application/octet-stream", data ? data : "", len, hdrs, 60,
				       &http, &b, NULL, err, errlen);
	if (s == INCUS_OK) {
		json_object *root = NULL;
		s = parse_response("POST", url, http, &b, &root, err, errlen);
		json_object_put(root);
	}
	free(b.data);
	return s;
}

enum incus_status incus_file_pull(struct incus_client *c, const char *instance, const char *path, char **data,
				  size_t *len, char *err, size_t errlen)
{
	char *ep = ctm_percent_escape(path);
	if (!ep)
		return fail(INCUS_ERR_REQUEST, err, errlen, "out of memory");
	char url[1024];
	int n = snprintf(url, sizeof url, "/1.0/instances/%s/files?path=%s", instance, ep);
	free(ep);
	if (n >= (int)sizeof url)
		return fail(INCUS_ERR_REQUEST, err, errlen, "file path is too long: %s", path);
	return get_raw(c, url, data, len, err, errlen);
}

/* incus_download's sink: the body into the file on success; an error
 * answer's body into err_body, to report. */
struct download {
	FILE *f;
	const struct http_response *resp;
	struct buf err_body;
	int write_failed;
};

static int to_file(void *arg, const char *p, size_t len)
{
	struct download *dl = arg;
	if (dl->resp->status >= 300) {
		if (buf_reserve(&dl->err_body, len, 1u << 20))
			return 0; /* keep the start of a long error page */
		memcpy(dl->err_body.data + dl->err_body.len, p, len);
		dl->err_body.len += len;
		dl->err_body.data[dl->err_body.len] = '\0';
		return 0;
	}
	if (fwrite(p, 1, len, dl->f) != len) {
		dl->write_failed = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

enum incus_status incus_download(struct incus_client *c, const char *resource, const char *path, mode_t mode, char *err,
				 size_t errlen)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.part.XXXXXX", path) >= (int)sizeof tmp)
		return fail(INCUS_ERR_REQUEST, err, errlen, "path too long: %s", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return fail(INCUS_ERR_REQUEST, err, errlen, "cannot create %s: %s", tmp, strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return fail(INCUS_ERR_REQUEST, err, errlen, "cannot write %s: %s", tmp, strerror(errno));
	}
	/* No time limit: an export of a large container takes as long as it
	 * takes (the connect still gives up after 5 s). */
	struct http_response resp = { 0 };
	struct download dl = { .f = f, .resp = &resp };
	char why[160];
	const char *hdrs[] = { NULL };
	struct http_request rq = { .method = "GET", .path = resource, .headers = hdrs, .timeout_s = 0 };
	enum http_result r = http_exchange(c->socket, &rq, to_file, &dl, &resp, why, sizeof why);
	int werr = fflush(f) != 0 || fsync(fd) != 0 || fchmod(fd, mode) != 0;
	werr |= fclose(f) != 0;
	enum incus_status s = INCUS_OK;
	if (r == HTTP_STOPPED && dl.write_failed)
		s = fail(INCUS_ERR_REQUEST, err, errlen, "cannot write %s: %s", path, strerror(dl.write_failed));
	else if (r == HTTP_REFUSED)
		s = fail(INCUS_ERR_UNAVAILABLE, err, errlen,
			 "cannot reach the container backend at %s (%s): "
			 "is incus (or lxd) running?",
			 c->socket, why);
	else if (r != HTTP_OK)
		s = fail(r == HTTP_PROTOCOL ? INCUS_ERR_PROTOCOL : INCUS_ERR_UNAVAILABLE, err, errlen,
			 "GET %s: %s (HTTP %ld)", resource, why, resp.status);
	else if (resp.status >= 300) {
		json_object *root = NULL;
		s = parse_response("GET", resource, resp.status, &dl.err_body, &root, err, errlen);
		json_object_put(root);
		if (s == INCUS_OK)
			s = fail(status_from_http(resp.status), err, errlen, "GET %s: HTTP %ld", resource, resp.status);
	} else if (werr)
		s = fail(INCUS_ERR_REQUEST, err, errlen, "cannot write %s: %s", path, strerror(errno));
	else if (rename(tmp, path) != 0)
		s = fail(INCUS_ERR_REQUEST, err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
	free(dl.err_body.data);
	if (s != INCUS_OK)
		unlink(tmp);
	return s;
}

enum incus_status incus_import_backup(struct incus_client *c, const char *file, const char *name, const char *pool,
				      int timeout_s, char *err, size_t errlen)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fail(INCUS_ERR_REQUEST, err, errlen, "cannot read %s: %s", file, strerror(e));
	}
	/* Mapped, not read: a backup is as large as the container. */
	void *data = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	close(fd);
	if (data == MAP_FAILED)
		return fail(INCUS_ERR_REQUEST, err, errlen, "cannot map %s: %s", file,
			    st.st_size ? strerror(errno) : "empty file");
	char h[2][128];
	snprintf(h[0], sizeof h[0], "%sname: %s", c->hdr, name);
	snprintf(h[1], sizeof h[1], "%spool: %s", c->hdr, pool);
	const char *hdrs[] = { h[0], h[1], NULL };
	struct buf b = { 0 };
	long http = 0;
	json_object *root = NULL, *op = NULL;
	enum incus_status s = exchange(c, "POST", "/1.0/instances", "application/octet-stream", data,
				       (size_t)st.st_size, hdrs, timeout_s, &http, &b, NULL, err, errlen);
	munmap(data, (size_t)st.st_size);
	if (s == INCUS_OK)
		s = parse_response("POST", "/1.0/instances", http, &b, &root, err, errlen);
	free(b.data);
	if (s == INCUS_OK) {
		if (json_object_object_get_ex(root, "operation", &op))
			s = wait_operation(c, json_object_get_string(op), timeout_s, NULL, err, errlen);
		else
			s = fail(INCUS_ERR_PROTOCOL, err, errlen,
				 "POST /1.0/instances: an import answered without "
				 "an operation");
	}
	json_object_put(root);
	return s;
}

const char *incus_error_reason(const char *err)
{
	const char *p = strstr(err, " /1.0/");
	if (!p || !(p = strstr(p, ": ")))
		return err;
	p += 2;
	if (strspn(p, "0123456789") == 3 && p[3] == ' ')
		p += 4;
	if (strncmp(p, "Failure: ", 9) == 0) /* LXD's failed operation */
		p += 9;
	return p;
}
