/* SPDX-License-Identifier: Apache-2.0 */
/* helperd's API server layer, driven over its unix socket with libcurl and
 * with raw requests from forked children running as other users:
 * routing and path parameters, the error answers (404, 405, 403, 413, 415,
 * 400) and their exact JSON shape, roles from SO_PEERCRED/SO_PEERGROUPS,
 * the socket's mode/owner/lifecycle, and that slow handlers do not hold up
 * other requests.  Each test runs in its own process (Check's fork mode)
 * and serves from a socket under one scratch directory, removed at the end
 * even when a test fails. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <time.h>

#include "api.h"
#include "harness.h"
#include "service.h"
#include "support_api.h"

#define TEST_ADMIN_GID 4242u
#define NOBODY 65534u

static char base[64]; /* scratch directory of the whole run */
static struct helperd d;
static struct api_server *srv;

/* ---- handlers --------------------------------------------------------- */

static json_object *echo(const struct api_request *req)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "method", json_object_new_string(req->method));
	json_object_object_add(o, "path", json_object_new_string(req->path));
	json_object *params = json_object_new_array();
	for (int i = 0; i < 4 && req->params[i]; i++)
		json_object_array_add(params, json_object_new_string(req->params[i]));
	json_object_object_add(o, "params", params);
	const char *q = api_query(req, "q");
	json_object_object_add(o, "query", q ? json_object_new_string(q) : NULL);
	json_object_object_add(o, "body", json_object_get(req->body));
	json_object_object_add(o, "uid", json_object_new_int64(req->uid));
	json_object_object_add(o, "gid", json_object_new_int64(req->gid));
	json_object_object_add(o, "pid", json_object_new_int64(req->pid));
	json_object_object_add(o, "role", json_object_new_int(req->role));
	return o;
}

static void h_echo(struct helperd *dd, const struct api_request *req, struct api_response *resp)
{
	resp->body = echo(req);
	json_object_object_add(resp->body, "same_helperd", json_object_new_boolean(dd == &d));
}

static void h_slow(struct helperd *dd, const struct api_request *req, struct api_response *resp)
{
	(void)dd;
	(void)req;
	usleep(1000 * 1000);
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "slow", json_object_new_boolean(1));
}

static void h_text(struct helperd *dd, const struct api_request *req, struct api_response *resp)
{
	(void)dd;
	(void)req;
	resp->text = strdup("hello\n");
}

static void h_csv(struct helperd *dd, const struct api_request *req, struct api_response *resp)
{
	(void)dd;
	(void)req;
	resp->text = strdup("a,b\n1,2\n");
	resp->content_type = "text/csv";
}

static void h_nothing(struct helperd *dd, const struct api_request *req, struct api_response *resp)
{
	(void)dd;
	(void)req;
	(void)resp;
}

static void h_created(struct helperd *dd, const struct api_request *req, struct api_response *resp)
{
	(void)dd;
	(void)req;
	resp->status = 202;
	snprintf(resp->location, sizeof resp->location, "/v1/operations/%s", "0123abcd");
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "id", json_object_new_string("0123abcd"));
}

static void h_conflict(struct helperd *dd, const struct api_request *req, struct api_response *resp)
{
	(void)dd;
	(void)req;
	/* A handler that had built an answer, then changed its mind. */
	resp->text = strdup("half an answer");
	api_error(resp, 409, "busy", "alice is busy with %s", "create");
}

static const struct api_route routes[] = {
	{ "GET", "/v1/things/{}/keys/{}", API_ROLE_USER, h_echo },
	{ "POST", "/v1/things/{}/keys/{}", API_ROLE_USER, h_echo },
	{ "POST", "/v1/echo", API_ROLE_USER, h_echo },
	{ "GET", "/v1/slow", API_ROLE_USER, h_slow },
	{ "GET", "/v1/text", API_ROLE_USER, h_text },
	{ "GET", "/v1/csv", API_ROLE_USER, h_csv },
	{ "GET", "/v1/nothing", API_ROLE_USER, h_nothing },
	{ "POST", "/v1/created", API_ROLE_USER, h_created },
	{ "GET", "/v1/conflict", API_ROLE_USER, h_conflict },
	{ "GET", "/v1/admin", API_ROLE_USER, h_echo },
	{ "POST", "/v1/admin", API_ROLE_ADMIN, h_echo },
	{ "POST", "/v1/root", API_ROLE_ROOT, h_echo },
	{ "GET", "/v1/p/{}/{}/{}/{}", API_ROLE_USER, h_echo },
	{ NULL, NULL, 0, NULL },
};

/* ---- scratch directory and server ------------------------------------- */

static void scratch_setup(void)
{
	snprintf(base, sizeof base, "/tmp/ctm-api-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	/* Children running as nobody must reach the sockets below. */
	ck_assert_int_eq(chmod(base, 0755), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void scratch_teardown(void)
{
	if (base[0])
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *sock(void)
{
	return d.cfg.listen_socket;
}

/* The config for this test's server: a socket under base/<pid>/run. */
static void init_d(mode_t mode, gid_t admin_gid)
{
	memset(&d, 0, sizeof d);
	helperd_config_defaults(&d.cfg);
	snprintf(d.cfg.listen_socket, sizeof d.cfg.listen_socket, "%s/%d/run/helperd.sock", base, (int)getpid());
	d.cfg.socket_mode = mode;
	d.cfg.max_body_bytes = 1024;
	snprintf(d.cfg.admin_group, sizeof d.cfg.admin_group, "ctm-test-admin");
	d.admin_gid = admin_gid;
}

static void start(void)
{
	char err[512] = "";
	srv = api_server_start(&d, routes, err, sizeof err);
	ck_assert_msg(srv != NULL, "api_server_start: %s", err);
}

static void stop(void)
{
	api_server_stop(srv);
	srv = NULL;
}

/* The admin group of the default server: a made-up gid as root; as
 * another user (who cannot give files away) its own group. */
static gid_t admin_gid(void)
{
	return geteuid() == 0 ? TEST_ADMIN_GID : getegid();
}

static void start_default(void)
{
	init_d(0660, admin_gid());
	start();
}

/* ---- helpers ---------------------------------------------------------- */

static int call(const char *method, const char *path, const char *type, const char *body, struct api_reply *r)
{
	return api_call(sock(), method, path, type, body, body ? strlen(body) : 0, false, r);
}

#define expect_error(r, st, code)                                                                                      \
	do {                                                                                                           \
		char why_[512];                                                                                        \
		ck_assert_int_eq((r)->status, (st));                                                                   \
		ck_assert_str_eq((r)->content_type, "application/json");                                               \
		ck_assert_msg(api_error_shape((r)->json, (st), (code), why_, sizeof why_), "%s", why_);                \
	} while (0)

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static long long jint(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -999;
}

static const char *error_message(const struct api_reply *r)
{
	json_object *e;
	return json_object_object_get_ex(r->json, "error", &e) ? jstr(e, "message") : NULL;
}

static bool am_root(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "skipped: needs root to act as other users\n");
	return false;
}

/* ---- routing ---------------------------------------------------------- */

START_TEST(routes_with_params_and_query)
{
	start_default();
	struct api_reply r;
	ck_assert_int_eq(call("GET", "/v1/things/al%69ce/keys/k-1?q=a%20b&x=1", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "application/json");
	ck_assert_str_eq(jstr(r.json, "method"), "GET");
	ck_assert_str_eq(jstr(r.json, "path"), "/v1/things/alice/keys/k-1");
	ck_assert_str_eq(json_object_to_json_string(json_object_object_get(r.json, "params")),
			 "[ \"alice\", \"k-1\" ]");
	ck_assert_str_eq(jstr(r.json, "query"), "a b");
	ck_assert_ptr_null(json_object_object_get(r.json, "body"));
	ck_assert_int_eq(jint(r.json, "uid"), geteuid());
	ck_assert_int_eq(jint(r.json, "pid"), getpid());
	ck_assert_int_eq(jint(r.json, "role"), geteuid() == 0 ? API_ROLE_ROOT : API_ROLE_ADMIN);
	ck_assert(json_object_get_boolean(json_object_object_get(r.json, "same_helperd")));
	api_reply_free(&r);

	/* Four parameters, each decoded on its own. */
	ck_assert_int_eq(call("GET", "/v1/p/a/b%20c/d%3Fe/f", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_object_to_json_string(json_object_object_get(r.json, "params")),
			 "[ \"a\", \"b c\", \"d?e\", \"f\" ]");
	ck_assert_ptr_null(json_object_object_get(r.json, "query"));
	api_reply_free(&r);
	stop();
}
END_TEST

START_TEST(unknown_paths_are_404)
{
	start_default();
	/* Unknown; a parameter that decodes to '/'; an empty parameter;
	 * a trailing slash; too few and too many segments. */
	const char *paths[] = { "/nope",
				"/v1/things/a%2Fb/keys/k",
				"/v1/things//keys/k",
				"/v1/things/a/keys/k/",
				"/v1/things/a/keys",
				"/v1/things/a/keys/k/x",
				"/v1/p/a/b/c/%00",
				"/" };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		struct api_reply r;
		ck_assert_int_eq(call("GET", paths[i], NULL, NULL, &r), 0);
		ck_assert_msg(r.status == 404, "%s: %ld", paths[i], r.status);
		expect_error(&r, 404, "not_found");
		api_reply_free(&r);
	}
	stop();
}
END_TEST

START_TEST(wrong_method_is_405_with_allow)
{
	start_default();
	struct api_reply r;
	ck_assert_int_eq(call("DELETE", "/v1/things/a/keys/k", NULL, NULL, &r), 0);
	expect_error(&r, 405, "method_not_allowed");
	ck_assert_str_eq(r.allow, "GET, POST");
	ck_assert_ptr_nonnull(strstr(error_message(&r), "DELETE"));
	api_reply_free(&r);

	ck_assert_int_eq(call("PUT", "/v1/root", "application/json", "{}", &r), 0);
	expect_error(&r, 405, "method_not_allowed");
	ck_assert_str_eq(r.allow, "POST");
	api_reply_free(&r);
	stop();
}
END_TEST

/* ---- bodies ----------------------------------------------------------- */

START_TEST(json_body_is_parsed)
{
	start_default();
	struct api_reply r;
	ck_assert_int_eq(call("POST", "/v1/echo", "application/json; charset=utf-8",
			      " {\"name\": \"alice\", \"n\": [1, 2]}\n", &r),
			 0);
	ck_assert_int_eq(r.status, 200);
	json_object *body = json_object_object_get(r.json, "body");
	ck_assert_str_eq(jstr(body, "name"), "alice");
	ck_assert_int_eq(json_object_array_length(json_object_object_get(body, "n")), 2);
	api_reply_free(&r);

	/* No body at all: req.body is NULL, and no Content-Type is needed. */
	ck_assert_int_eq(call("POST", "/v1/echo", NULL, "", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(json_object_object_get(r.json, "body"));
	api_reply_free(&r);

	/* Chunked, in 300-byte pieces. */
	char big[1000];
	int n = snprintf(big, sizeof big, "{\"pad\": \"%0*d\"}", 900, 7);
	ck_assert_int_eq(api_call(sock(), "POST", "/v1/echo", "Application/JSON", big, (size_t)n, true, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(strlen(jstr(json_object_object_get(r.json, "body"), "pad")), 900);
	api_reply_free(&r);
	stop();
}
END_TEST

START_TEST(body_limit_is_413)
{
	start_default();
	char body[2048];
	/* Exactly max_body_bytes (1024) is fine. */
	int n = snprintf(body, sizeof body, "{\"pad\": \"%0*d\"}", 1024 - 11, 1);
	ck_assert_int_eq(n, 1024);
	struct api_reply r;
	ck_assert_int_eq(api_call(sock(), "POST", "/v1/echo", "application/json", body, 1024, false, &r), 0);
	ck_assert_int_eq(r.status, 200);
	api_reply_free(&r);

	/* One more byte: refused from Content-Length, and when chunked. */
	n = snprintf(body, sizeof body, "{\"pad\": \"%0*d\"}", 1025 - 11, 1);
	ck_assert_int_eq(n, 1025);
	ck_assert_int_eq(api_call(sock(), "POST", "/v1/echo", "application/json", body, 1025, false, &r), 0);
	expect_error(&r, 413, "body_too_large");
	api_reply_free(&r);
	ck_assert_int_eq(api_call(sock(), "POST", "/v1/echo", "application/json", body, 1025, true, &r), 0);
	expect_error(&r, 413, "body_too_large");
	ck_assert_ptr_nonnull(strstr(error_message(&r), "max_body_bytes"));
	api_reply_free(&r);

	/* A client that sends the whole oversized body (more than a socket
	 * buffer holds), and only then reads, gets the 413, not a broken pipe
	 * or a reset: the body is read before the answer. */
	char head[128];
	enum { BIG = 400000 };
	int hn = snprintf(head, sizeof head,
			  "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: "
			  "application/json\r\nContent-Length: %d\r\n\r\n",
			  BIG);
	static char pad[BIG];
	memset(pad, ' ', sizeof pad);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock());
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(send(fd, head, (size_t)hn, MSG_NOSIGNAL), hn);
	for (size_t off = 0; off < sizeof pad;) {
		ssize_t w = send(fd, pad + off, sizeof pad - off, MSG_NOSIGNAL);
		ck_assert_msg(w > 0, "sending the body, at %zu of %d bytes: %s", off, BIG, strerror(errno));
		off += (size_t)w;
	}
	struct timespec pause = { 0, 200000000 }; /* the server answers (and closes) meanwhile */
	nanosleep(&pause, NULL);
	char buf[2048] = "";
	ssize_t got = read(fd, buf, sizeof buf - 1);
	ck_assert_msg(got > 0, "read: %s", got < 0 ? strerror(errno) : "end of stream");
	ck_assert_msg(strncmp(buf, "HTTP/1.1 413", 12) == 0, "%s", buf);
	ck_assert_msg(strstr(buf, "has 400000 bytes"), "%s", buf);
	close(fd);

	/* The server is fine afterwards. */
	ck_assert_int_eq(call("GET", "/v1/text", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	api_reply_free(&r);
	stop();
}
END_TEST

START_TEST(body_must_be_json_415)
{
	start_default();
	const char *types[] = { "text/plain", NULL, "application/jsonx", "application/x-www-form-urlencoded" };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		for (int chunked = 0; chunked < 2; chunked++) {
			struct api_reply r;
			ck_assert_int_eq(api_call(sock(), "POST", "/v1/echo", types[i], "{}", 2, chunked, &r), 0);
			ck_assert_msg(r.status == 415, "%s chunked=%d: %ld", types[i], chunked, r.status);
			expect_error(&r, 415, "unsupported_media_type");
			api_reply_free(&r);
		}
	stop();
}
END_TEST

START_TEST(bad_json_is_400)
{
	start_default();
	static const struct {
		const char *body, *words;
	} cases[] = {
		{ "{bad", "at byte" },
		{ "{\"a\": ", "unexpected end of data at byte 6" },
		{ "[1, 2]", "JSON object" },
		{ "\"text\"", "JSON object" },
		{ "null", "JSON object" },
		{ "{} x", "at byte 3" },
		{ "{}{}", "at byte 2" },
		{ "{\"a\": 'x'}", "at byte 6" },    /* strict: no single quotes */
		{ "{\"a\": 1,}", "at byte 8" },     /* strict: no trailing comma */
		{ "{\"a\": \"\xff\"}", "at byte" }, /* not UTF-8 */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct api_reply r;
		ck_assert_int_eq(call("POST", "/v1/echo", "application/json", cases[i].body, &r), 0);
		ck_assert_msg(r.status == 400, "%s: %ld", cases[i].body, r.status);
		expect_error(&r, 400, "invalid_json");
		ck_assert_msg(strstr(error_message(&r), cases[i].words), "%s: %s", cases[i].body, error_message(&r));
		api_reply_free(&r);
	}
	stop();
}
END_TEST

/* ---- answers ---------------------------------------------------------- */

START_TEST(text_status_location_and_empty_answers)
{
	start_default();
	struct api_reply r;
	ck_assert_int_eq(call("GET", "/v1/text", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "text/plain; charset=utf-8");
	ck_assert_str_eq(r.body, "hello\n");
	api_reply_free(&r);

	ck_assert_int_eq(call("GET", "/v1/csv", NULL, NULL, &r), 0);
	ck_assert_str_eq(r.content_type, "text/csv");
	ck_assert_str_eq(r.body, "a,b\n1,2\n");
	api_reply_free(&r);

	ck_assert_int_eq(call("POST", "/v1/created", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 202);
	ck_assert_str_eq(r.location, "/v1/operations/0123abcd");
	ck_assert_str_eq(r.body, "{\"id\":\"0123abcd\"}");
	api_reply_free(&r);

	/* A handler's own error, replacing what it had started. */
	ck_assert_int_eq(call("GET", "/v1/conflict", NULL, NULL, &r), 0);
	expect_error(&r, 409, "busy");
	ck_assert_str_eq(error_message(&r), "alice is busy with create");
	api_reply_free(&r);

	/* A handler that answers nothing is a visible 500. */
	ck_assert_int_eq(call("GET", "/v1/nothing", NULL, NULL, &r), 0);
	expect_error(&r, 500, "internal_error");
	api_reply_free(&r);
	stop();
}
END_TEST

START_TEST(api_error_and_query_directly)
{
	struct api_response resp = { 0 };
	resp.body = json_object_new_object();
	api_error(&resp, 404, "no_such_user", "there is no user %s", "bob");
	ck_assert_int_eq(resp.status, 404);
	ck_assert_str_eq(json_object_to_json_string_ext(resp.body, JSON_C_TO_STRING_PLAIN),
			 "{\"error\":{\"code\":\"no_such_user\",\"message\":\"there is no user bob\",\"status\":404}}");
	json_object_put(resp.body);

	struct api_request req = { .method = "GET", .path = "/" };
	ck_assert_ptr_null(api_query(&req, "q"));
}
END_TEST

/* ---- callers and roles ------------------------------------------------ */

START_TEST(unprivileged_peer)
{
	if (!am_root())
		return;
	init_d(0666, TEST_ADMIN_GID);
	start();
	struct api_reply r;
	ck_assert_int_eq(api_call_as(sock(), NOBODY, NOBODY, NULL, 0, "GET", "/v1/things/a/keys/b", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(jint(r.json, "uid"), NOBODY);
	ck_assert_int_eq(jint(r.json, "gid"), NOBODY);
	ck_assert_int_eq(jint(r.json, "role"), API_ROLE_USER);
	api_reply_free(&r);

	ck_assert_int_eq(api_call_as(sock(), NOBODY, NOBODY, NULL, 0, "POST", "/v1/admin", "{}", &r), 0);
	expect_error(&r, 403, "forbidden");
	ck_assert_str_eq(error_message(&r), "POST /v1/admin needs root or membership in the group ctm-test-admin "
					    "(sudo usermod -aG ctm-test-admin USER, then log in again)");
	api_reply_free(&r);

	ck_assert_int_eq(api_call_as(sock(), NOBODY, NOBODY, NULL, 0, "POST", "/v1/root", "{}", &r), 0);
	expect_error(&r, 403, "forbidden");
	ck_assert_str_eq(error_message(&r), "POST /v1/root is for root only");
	api_reply_free(&r);

	/* Same path, a method open to everyone. */
	ck_assert_int_eq(api_call_as(sock(), NOBODY, NOBODY, NULL, 0, "GET", "/v1/admin", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	api_reply_free(&r);
	stop();
}
END_TEST

START_TEST(admin_peer)
{
	if (!am_root())
		return;
	init_d(0660, TEST_ADMIN_GID);
	start();
	struct api_reply r;
	/* Mode 0660 root:admin keeps others out before HTTP even starts. */
	ck_assert_int_eq(api_call_as(sock(), NOBODY, NOBODY, NULL, 0, "GET", "/v1/admin", NULL, &r), -EACCES);
	api_reply_free(&r);

	gid_t groups[] = { 100, TEST_ADMIN_GID };
	ck_assert_int_eq(api_call_as(sock(), NOBODY, NOBODY, groups, 2, "POST", "/v1/admin", "{\"x\":1}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(jint(r.json, "role"), API_ROLE_ADMIN);
	ck_assert_int_eq(jint(json_object_object_get(r.json, "body"), "x"), 1);
	api_reply_free(&r);

	ck_assert_int_eq(api_call_as(sock(), NOBODY, NOBODY, groups, 2, "POST", "/v1/root", "{}", &r), 0);
	expect_error(&r, 403, "forbidden");
	ck_assert_str_eq(error_message(&r), "POST /v1/root is for root only");
	api_reply_free(&r);

	/* The admin group as the primary group counts too. */
	ck_assert_int_eq(api_call_as(sock(), NOBODY, TEST_ADMIN_GID, NULL, 0, "POST", "/v1/admin", "{}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(jint(r.json, "role"), API_ROLE_ADMIN);
	api_reply_free(&r);

	/* Many supplementary groups (SO_PEERGROUPS needs a bigger buffer). */
	gid_t many[200];
	for (int i = 0; i < 200; i++)
		many[i] = 20000 + (gid_t)i;
	many[199] = TEST_ADMIN_GID;
	ck_assert_int_eq(api_call_as(sock(), NOBODY, NOBODY, many, 200, "POST", "/v1/admin", "{}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(jint(r.json, "role"), API_ROLE_ADMIN);
	api_reply_free(&r);
	stop();
}
END_TEST

START_TEST(no_admin_group_means_root_only)
{
	if (!am_root())
		return;
	init_d(0666, (gid_t)-1);
	start();
	struct stat st;
	ck_assert_int_eq(stat(sock(), &st), 0);
	ck_assert_int_eq(st.st_gid, 0);
	gid_t groups[] = { TEST_ADMIN_GID };
	struct api_reply r;
	ck_assert_int_eq(api_call_as(sock(), NOBODY, TEST_ADMIN_GID, groups, 1, "POST", "/v1/admin", "{}", &r), 0);
	expect_error(&r, 403, "forbidden");
	ck_assert_str_eq(error_message(&r),
			 "POST /v1/admin is for root only: the admin group ctm-test-admin does not exist "
			 "(sudo groupadd ctm-test-admin, add members, then restart helperd)");
	api_reply_free(&r);
	stop();

	d.cfg.admin_group[0] = '\0';
	start();
	ck_assert_int_eq(api_call_as(sock(), NOBODY, TEST_ADMIN_GID, groups, 1, "POST", "/v1/admin", "{}", &r), 0);
	expect_error(&r, 403, "forbidden");
	ck_assert_str_eq(error_message(&r), "POST /v1/admin is for root only (admin_group is empty in helperd.conf)");
	api_reply_free(&r);
	stop();
}
END_TEST

/* ---- the socket ------------------------------------------------------- */

START_TEST(socket_mode_owner_and_directory)
{
	umask(077); /* the directory must be 0755 anyway */
	start_default();
	struct stat st;
	ck_assert_int_eq(lstat(sock(), &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	ck_assert_int_eq(st.st_uid, geteuid());
	ck_assert_int_eq(st.st_gid, admin_gid());
	char dir[256];
	snprintf(dir, sizeof dir, "%s/%d", base, (int)getpid());
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	strcat(dir, "/run");
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	stop();

	init_d(0600, admin_gid());
	start();
	ck_assert_int_eq(lstat(sock(), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	stop();
}
END_TEST

START_TEST(refuses_when_another_listens)
{
	start_default();
	char err[512] = "";
	struct api_server *second = api_server_start(&d, routes, err, sizeof err);
	ck_assert_ptr_null(second);
	char want[512];
	snprintf(want, sizeof want, "another helperd is already listening on %s", sock());
	ck_assert_str_eq(err, want);
	/* The first one still serves, from the same socket file. */
	struct api_reply r;
	ck_assert_int_eq(call("GET", "/v1/text", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	api_reply_free(&r);
	stop();

	/* Any listener counts, not only helperd. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock());
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_ptr_null(api_server_start(&d, routes, err, sizeof err));
	ck_assert_str_eq(err, want);
	struct stat st;
	ck_assert_int_eq(lstat(sock(), &st), 0); /* left alone */
	close(fd);
}
END_TEST

START_TEST(stale_socket_replaced_other_files_refused)
{
	init_d(0660, admin_gid());
	/* A socket file nobody listens on: what a crashed helperd leaves. */
	char dir[256];
	snprintf(dir, sizeof dir, "%s/%d", base, (int)getpid());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	strcat(dir, "/run");
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock());
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	close(fd);
	start();
	struct stat after;
	ck_assert_int_eq(lstat(sock(), &after), 0);
	ck_assert(S_ISSOCK(after.st_mode));
	ck_assert_int_eq(after.st_mode & 07777, 0660);
	struct api_reply r;
	ck_assert_int_eq(call("GET", "/v1/text", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	api_reply_free(&r);
	stop();

	/* Not a socket: someone else's file, left alone. */
	fd = open(sock(), O_CREAT | O_EXCL | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	char err[512] = "";
	ck_assert_ptr_null(api_server_start(&d, routes, err, sizeof err));
	ck_assert_msg(strstr(err, "is not a socket"), "%s", err);
	ck_assert_int_eq(lstat(sock(), &after), 0);
	ck_assert(S_ISREG(after.st_mode));
}
END_TEST

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(dir);
	int n = 0;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

START_TEST(stop_closes_and_removes_only_its_socket)
{
	int fds = count_fds();
	start_default();
	struct api_reply r;
	ck_assert_int_eq(call("GET", "/v1/text", NULL, NULL, &r), 0);
	api_reply_free(&r);
	stop();
	struct stat st;
	ck_assert_int_eq(lstat(sock(), &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(count_fds(), fds);

	/* When the file was replaced meanwhile, stop leaves the new one. */
	start_default();
	ck_assert_int_eq(unlink(sock()), 0);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock());
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	stop();
	ck_assert_int_eq(lstat(sock(), &st), 0);
	close(fd);
}
END_TEST

/* ---- concurrency, logging, malformed requests --------------------------- */

struct slow_call {
	pthread_t t;
	long status;
	long long ended_ms;
};

static void *slow_thread(void *p)
{
	struct slow_call *c = p;
	struct api_reply r;
	if (api_call(sock(), "GET", "/v1/slow", NULL, NULL, 0, false, &r) == 0)
		c->status = r.status;
	c->ended_ms = api_now_ms();
	api_reply_free(&r);
	return NULL;
}

START_TEST(slow_handlers_do_not_block_others)
{
	start_default();
	struct slow_call slow[3] = { 0 };
	long long t0 = api_now_ms();
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&slow[i].t, NULL, slow_thread, &slow[i]), 0);
	usleep(200 * 1000); /* let them reach their handlers */
	long long f0 = api_now_ms();
	struct api_reply r;
	ck_assert_int_eq(call("GET", "/v1/text", NULL, NULL, &r), 0);
	long long fast_end = api_now_ms();
	ck_assert_int_eq(r.status, 200);
	api_reply_free(&r);
	for (int i = 0; i < 3; i++)
		pthread_join(slow[i].t, NULL);
	ck_assert_msg(fast_end - f0 < 600, "the quick request took %lld ms", fast_end - f0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(slow[i].status, 200);
		ck_assert_msg(slow[i].ended_ms - t0 >= 950, "a slow request took %lld ms", slow[i].ended_ms - t0);
		ck_assert(fast_end < slow[i].ended_ms);
	}
	/* All three slept at the same time, not one after another. */
	for (int i = 0; i < 3; i++)
		ck_assert_msg(slow[i].ended_ms - t0 < 2500, "slow requests ran one after another (%lld ms)",
			      slow[i].ended_ms - t0);
	stop();
}
END_TEST

START_TEST(one_log_line_per_request)
{
	char path[256];
	snprintf(path, sizeof path, "%s/log-%d", base, (int)getpid());
	int log_fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	ck_assert_int_ge(log_fd, 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(log_fd, 2);
	start_default();
	struct api_reply r;
	call("GET", "/v1/text?secret=1", NULL, NULL, &r);
	api_reply_free(&r);
	call("GET", "/v1/no%0Awhere", NULL, NULL, &r);
	api_reply_free(&r);
	stop(); /* waits for the completion callbacks */
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char buf[8192] = "";
	ck_assert_int_ge(pread(log_fd, buf, sizeof buf - 1, 0), 0);
	close(log_fd);
	char want[64];
	snprintf(want, sizeof want, "<6>GET /v1/text 200 uid=%u ", (unsigned)geteuid());
	ck_assert_msg(strstr(buf, want), "%s", buf);
	snprintf(want, sizeof want, "<6>GET /v1/no?where 404 uid=%u ", (unsigned)geteuid());
	ck_assert_msg(strstr(buf, want), "%s", buf);
	/* Exactly one line per request (two requests), each ending in its
	 * duration: the request lines are those naming the caller. */
	int request_lines = 0;
	for (char *line = buf, *nl; *line; line = nl + 1) {
		if (!(nl = strchr(line, '\n')))
			nl = line + strlen(line) - 1;
		size_t len = (size_t)(nl - line);
		if (memmem(line, len, " uid=", 5)) {
			request_lines++;
			ck_assert_msg(len > 3 && memcmp(nl - 3, " ms", 3) == 0,
				      "a request line without its duration: %.*s", (int)len, line);
		}
		if (!nl[1])
			break;
	}
	ck_assert_msg(request_lines == 2, "%d request lines for 2 requests:\n%s", request_lines, buf);
	ck_assert_msg(!strstr(buf, "secret"), "%s", buf);
}
END_TEST

START_TEST(malformed_requests_are_answered_400)
{
	start_default();
	static const char *raw[] = {
		"GET /v1/text HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
		"GET /v1/text HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock());
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
		ck_assert_int_eq(write(fd, raw[i], strlen(raw[i])), (ssize_t)strlen(raw[i]));
		char buf[2048] = "";
		ssize_t n = read(fd, buf, sizeof buf - 1);
		ck_assert_int_gt(n, 0);
		ck_assert_msg(strncmp(buf, "HTTP/1.1 400", 12) == 0, "%s", buf);
		close(fd);
	}
	struct api_reply r;
	ck_assert_int_eq(call("GET", "/v1/text", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	api_reply_free(&r);
	stop();
}
END_TEST

int main(void)
{
	api_client_init();
	Suite *s = suite_create("api_server");
	TCase *tc = tcase_create("api_server");
	tcase_add_unchecked_fixture(tc, scratch_setup, scratch_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, routes_with_params_and_query);
	tcase_add_test(tc, unknown_paths_are_404);
	tcase_add_test(tc, wrong_method_is_405_with_allow);
	tcase_add_test(tc, json_body_is_parsed);
	tcase_add_test(tc, body_limit_is_413);
	tcase_add_test(tc, body_must_be_json_415);
	tcase_add_test(tc, bad_json_is_400);
	tcase_add_test(tc, text_status_location_and_empty_answers);
	tcase_add_test(tc, api_error_and_query_directly);
	tcase_add_test(tc, unprivileged_peer);
	tcase_add_test(tc, admin_peer);
	tcase_add_test(tc, no_admin_group_means_root_only);
	tcase_add_test(tc, socket_mode_owner_and_directory);
	tcase_add_test(tc, refuses_when_another_listens);
	tcase_add_test(tc, stale_socket_replaced_other_files_refused);
	tcase_add_test(tc, stop_closes_and_removes_only_its_socket);
	tcase_add_test(tc, slow_handlers_do_not_block_others);
	tcase_add_test(tc, one_log_line_per_request);
	tcase_add_test(tc, malformed_requests_are_answered_400);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	int rc = ctm_run_suites(all);
	api_client_cleanup();
	return rc;
}
