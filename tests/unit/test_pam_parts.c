/* SPDX-License-Identifier: Apache-2.0 */
/* The pure parts of pam_containarium (no libpam, no I/O): its argument
 * parser, the session request it writes and its reader of helperd's
 * answers.  The sources are compiled in here (the module is a shared object
 * the other unit tests do not link), so ASan and UBSan see them too. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#include "../../pam_containarium/http_answer.c"
#include "../../pam_containarium/module_args.c"
#include "../../pam_containarium/session_request.c"

/* ---- arguments ------------------------------------------------------------ */

struct complaints {
	int n;
	char last[256];
};

static void note(void *ctx, const char *arg, const char *why)
{
	struct complaints *c = ctx;
	c->n++;
	snprintf(c->last, sizeof c->last, "%s: %s", arg, why);
}

START_TEST(args_defaults)
{
	struct pam_ctm_args a;
	struct complaints c = { 0, "" };
	ck_assert_int_eq(pam_ctm_parse_args(0, NULL, &a, note, &c), 0);
	ck_assert_str_eq(a.passwd_db, "/var/lib/containarium/passwd.db");
	ck_assert_str_eq(a.socket_path, "/run/containarium/helperd.sock");
	ck_assert_int_eq(a.timeout_ms, 1000);
	ck_assert_int_eq(a.wake_timeout_ms, 30000);
	ck_assert(!a.fail_closed);
	ck_assert(a.wake);
	ck_assert(!a.debug);
	ck_assert_int_eq(c.n, 0);
}
END_TEST

START_TEST(args_all_set)
{
	const char *argv[] = { "passwd_db=/tmp/p.db",
			       "socket=/tmp/h.sock",
			       "timeout_ms=250",
			       "wake_timeout_ms=600000",
			       "fail=closed",
			       "wake=no",
			       "debug" };
	struct pam_ctm_args a;
	struct complaints c = { 0, "" };
	ck_assert_int_eq(pam_ctm_parse_args(7, argv, &a, note, &c), 0);
	ck_assert_str_eq(a.passwd_db, "/tmp/p.db");
	ck_assert_str_eq(a.socket_path, "/tmp/h.sock");
	ck_assert_int_eq(a.timeout_ms, 250);
	ck_assert_int_eq(a.wake_timeout_ms, 600000);
	ck_assert(a.fail_closed);
	ck_assert(!a.wake);
	ck_assert(a.debug);
	/* And back: the last word wins. */
	const char *back[] = { "fail=open", "wake=yes", "timeout_ms=1" };
	ck_assert_int_eq(pam_ctm_parse_args(3, back, &a, note, &c), 0);
	ck_assert(!a.fail_closed);
	ck_assert(a.wake);
	ck_assert_int_eq(a.timeout_ms, 1);
	ck_assert_int_eq(c.n, 0);
}
END_TEST

struct bad_arg {
	const char *arg;
	const char *says;
};

static const char sock_108[] =
	"socket=/"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const struct bad_arg bad_args[] = {
	{ "timeout_ms=0", "from 1 to 600000" },
	{ "timeout_ms=600001", "from 1 to 600000" },
	{ "timeout_ms=-5", "from 1 to 600000" },
	{ "timeout_ms=", "from 1 to 600000" },
	{ "timeout_ms=12abc", "from 1 to 600000" },
	{ "timeout_ms=99999999999999999999", "from 1 to 600000" },
	{ "wake_timeout_ms=x", "from 1 to 600000" },
	{ "fail=maybe", "needs open or closed" },
	{ "fail=", "needs open or closed" },
	{ "wake=true", "needs yes or no" },
	{ "socket=relative.sock", "absolute path" },
	{ sock_108, "shorter than 108 bytes" },
	{ "passwd_db=db", "needs an absolute path" },
	{ "timeout_ms", "is not an argument of this module" },
	{ "debug=1", "is not an argument of this module" },
	{ "wakeup=yes", "is not an argument of this module" },
	{ "", "is not an argument of this module" },
};
#define N_BAD_ARGS ((int)(sizeof bad_args / sizeof bad_args[0]))

START_TEST(args_refused)
{
	const struct bad_arg *b = &bad_args[_i];
	const char *argv[] = { b->arg };
	struct pam_ctm_args a;
	struct complaints c = { 0, "" };
	ck_assert_int_eq(pam_ctm_parse_args(1, argv, &a, note, &c), 1);
	ck_assert_int_eq(c.n, 1);
	ck_assert_msg(strstr(c.last, b->says) && strncmp(c.last, b->arg, strlen(b->arg)) == 0,
		      "%s: complaint \"%s\" should name the argument and say \"%s\"", b->arg, c.last, b->says);
	/* The argument keeps its default. */
	ck_assert_int_eq(a.timeout_ms, 1000);
	ck_assert_int_eq(a.wake_timeout_ms, 30000);
	ck_assert(!a.fail_closed && a.wake && !a.debug);
	ck_assert_str_eq(a.socket_path, "/run/containarium/helperd.sock");
	ck_assert_str_eq(a.passwd_db, "/var/lib/containarium/passwd.db");
}
END_TEST

START_TEST(args_socket_length_limit)
{
	/* sun_path holds 108 bytes with the NUL: 107 characters fit. */
	char arg[200] = "socket=/";
	memset(arg + 8, 'a', 106);
	arg[114] = '\0';
	const char *argv[] = { arg };
	struct pam_ctm_args a;
	ck_assert_int_eq(strlen(arg + 7), 107);
	ck_assert_int_eq(pam_ctm_parse_args(1, argv, &a, NULL, NULL), 0);
	ck_assert_str_eq(a.socket_path, arg + 7);
	ck_assert_int_eq(strlen(sock_108 + 7), 108);
}
END_TEST

/* ---- the request ------------------------------------------------------------ */

START_TEST(request_exact)
{
	struct pam_ctm_event ev = {
		"open", "alice", "203.0.113.9", "sshd", "ssh", 1234, "00112233445566778899aabbccddeeff", true
	};
	char buf[PAM_CTM_REQUEST_MAX];
	size_t n = pam_ctm_format_request(&ev, buf, sizeof buf);
	const char *body = "{\"event\":\"open\",\"user\":\"alice\",\"rhost\":\"203.0.113.9\",\"service\":\"sshd\","
			   "\"tty\":\"ssh\",\"pid\":1234,\"session_id\":\"00112233445566778899aabbccddeeff\","
			   "\"wake\":true}";
	char want[1024];
	snprintf(want, sizeof want,
		 "POST /v1/sessions HTTP/1.1\r\nHost: helperd\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen(body), body);
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(n, strlen(want));

	ev = (struct pam_ctm_event){ "close", "bob", NULL, NULL, NULL, 1, "x", false };
	n = pam_ctm_format_request(&ev, buf, sizeof buf);
	ck_assert_uint_gt(n, 0);
	ck_assert_str_eq(strstr(buf, "\r\n\r\n") + 4,
			 "{\"event\":\"close\",\"user\":\"bob\",\"rhost\":\"\",\"service\":\"\",\"tty\":\"\","
			 "\"pid\":1,\"session_id\":\"x\",\"wake\":false}");
}
END_TEST

START_TEST(request_escapes_and_caps)
{
	char rhost[600];
	struct pam_ctm_event ev = { "open",
				    "alice",
				    "a\"b\\c\x01\x1f\x7f"
				    "d\xc3\xa9",
				    "sshd",
				    "pts/0",
				    7,
				    "id",
				    false };
	char buf[PAM_CTM_REQUEST_MAX];
	ck_assert_uint_gt(pam_ctm_format_request(&ev, buf, sizeof buf), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"rhost\":\"a\\\"b\\\\c???d\\u00c3\\u00a9\","));

	/* 255 bytes of rhost once decoded: plain bytes count one, escaped
	 * high bytes two (their UTF-8 form). */
	memset(rhost, 'h', 599);
	rhost[599] = '\0';
	ev.rhost = rhost;
	ck_assert_uint_gt(pam_ctm_format_request(&ev, buf, sizeof buf), 0);
	char *r = strstr(buf, "\"rhost\":\"") + 9;
	ck_assert_int_eq((int)(strchr(r, '"') - r), 255);
	memset(rhost, '\xe9', 599);
	ck_assert_uint_gt(pam_ctm_format_request(&ev, buf, sizeof buf), 0);
	r = strstr(buf, "\"rhost\":\"") + 9;
	ck_assert_int_eq((int)(strchr(r, '"') - r), 127 * 6); /* 127 x \u00e9 = 254 bytes decoded */
	/* A service name is capped at 64. */
	ev.rhost = "h";
	ev.service = rhost;
	memset(rhost, 's', 599);
	ck_assert_uint_gt(pam_ctm_format_request(&ev, buf, sizeof buf), 0);
	r = strstr(buf, "\"service\":\"") + 11;
	ck_assert_int_eq((int)(strchr(r, '"') - r), 64);
	/* Content-Length counts the body's bytes. */
	size_t cl = strtoul(strstr(buf, "Content-Length: ") + 16, NULL, 10);
	ck_assert_uint_eq(cl, strlen(strstr(buf, "\r\n\r\n") + 4));
}
END_TEST

START_TEST(request_buffer_too_small)
{
	struct pam_ctm_event ev = { "open", "alice", "h", "sshd", "ssh", 1, "id", true };
	char buf[PAM_CTM_REQUEST_MAX];
	size_t full = pam_ctm_format_request(&ev, buf, sizeof buf);
	ck_assert_uint_gt(full, 0);
	/* Room for the text and its NUL is needed; one byte less is refused. */
	ck_assert_uint_eq(pam_ctm_format_request(&ev, buf, full + 1), full);
	ck_assert_uint_eq(pam_ctm_format_request(&ev, buf, full), 0);
	ck_assert_uint_eq(pam_ctm_format_request(&ev, buf, 10), 0);
	ck_assert_uint_eq(pam_ctm_format_request(&ev, buf, 0), 0);
}
END_TEST

/* ---- answers ----------------------------------------------------------------- */

struct answer_case {
	const char *text;
	bool eof;
	enum pam_ctm_answer_state state;
	int status;       /* when COMPLETE */
	const char *body; /* when COMPLETE */
};

#define OK200 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"recorded\":true}"
static const struct answer_case answers[] = {
	{ OK200, false, PAM_CTM_ANSWER_COMPLETE, 200, "{\"recorded\":true}" },
	{ OK200 "trailing", false, PAM_CTM_ANSWER_COMPLETE, 200, "{\"recorded\":true}" },
	{ "HTTP/1.1 200 OK\r\ncontent-length:2\r\n\r\n{}", false, PAM_CTM_ANSWER_COMPLETE, 200, "{}" },
	{ "HTTP/1.1 200 OK\r\nCONTENT-LENGTH: \t2 \r\n\r\n{}", false, PAM_CTM_ANSWER_COMPLETE, 200, "{}" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, PAM_CTM_ANSWER_COMPLETE, 200, "" },
	{ "HTTP/1.0 503 Service Unavailable\r\n\r\n", true, PAM_CTM_ANSWER_COMPLETE, 503, "" },
	{ "HTTP/1.1 404\r\n\r\nnot found", true, PAM_CTM_ANSWER_COMPLETE, 404, "not found" },
	{ "HTTP/1.1 204 No Content\r\nX-Content-Length: 5\r\n\r\n", true, PAM_CTM_ANSWER_COMPLETE, 204, "" },
	{ "HTTP/1.1 999 Odd\r\n\r\n", true, PAM_CTM_ANSWER_COMPLETE, 999, "" },
	/* Waiting for more. */
	{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}", false, PAM_CTM_ANSWER_INCOMPLETE, 0, NULL },
	{ "HTTP/1.1 200 OK\r\n\r\n{}", false, PAM_CTM_ANSWER_INCOMPLETE, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-", false, PAM_CTM_ANSWER_INCOMPLETE, 0, NULL },
	{ "HTTP/1.", false, PAM_CTM_ANSWER_INCOMPLETE, 0, NULL },
	{ "", false, PAM_CTM_ANSWER_INCOMPLETE, 0, NULL },
	/* Cut short. */
	{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}", true, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-", true, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1 20", true, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "", true, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	/* Not HTTP/1.x: refused on the first wrong byte, without waiting. */
	{ "SSH-2.0-OpenSSH_9.2\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "H", false, PAM_CTM_ANSWER_INCOMPLETE, 0, NULL },
	{ "X", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/2 200\r\n\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1 2x0 OK\r\n\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1  200 OK\r\n\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1 2000 OK\r\n\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1 099 Low\r\n\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "http/1.1 200 OK\r\n\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 2 2\r\n\r\n{}", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", false, PAM_CTM_ANSWER_MALFORMED, 0, NULL },
};
#define N_ANSWERS ((int)(sizeof answers / sizeof answers[0]))

START_TEST(answer_parsed)
{
	const struct answer_case *c = &answers[_i];
	size_t len = strlen(c->text);
	/* Exactly len bytes on the heap: ASan sees any read past the end. */
	char *buf = malloc(len ? len : 1);
	memcpy(buf, c->text, len);
	struct pam_ctm_answer an;
	enum pam_ctm_answer_state st = pam_ctm_parse_answer(buf, len, c->eof, &an);
	ck_assert_msg(st == c->state, "case %d (%s): state %d, want %d", _i, c->text, st, c->state);
	if (st == PAM_CTM_ANSWER_COMPLETE) {
		ck_assert_int_eq(an.status, c->status);
		ck_assert_ptr_nonnull(an.body);
		ck_assert_uint_eq(an.body_len, strlen(c->body));
		ck_assert(memcmp(an.body, c->body, an.body_len) == 0);
	}
	free(buf);
}
END_TEST

/* Every proper prefix of a good answer asks for more while the peer is
 * there and is malformed once it has gone; only the whole answer is
 * complete. */
START_TEST(answer_prefixes)
{
	const char *full = OK200;
	size_t len = strlen(full);
	for (size_t n = 0; n <= len; n++) {
		char *buf = malloc(n ? n : 1);
		memcpy(buf, full, n);
		struct pam_ctm_answer an;
		enum pam_ctm_answer_state open_st = pam_ctm_parse_answer(buf, n, false, &an);
		enum pam_ctm_answer_state eof_st = pam_ctm_parse_answer(buf, n, true, &an);
		if (n < len) {
			ck_assert_msg(open_st == PAM_CTM_ANSWER_INCOMPLETE, "prefix %zu: %d", n, open_st);
			ck_assert_msg(eof_st == PAM_CTM_ANSWER_MALFORMED, "prefix %zu at eof: %d", n, eof_st);
		} else {
			ck_assert_int_eq(open_st, PAM_CTM_ANSWER_COMPLETE);
			ck_assert_int_eq(eof_st, PAM_CTM_ANSWER_COMPLETE);
		}
		free(buf);
	}
}
END_TEST

/* ---- fields of the body, for messages ------------------------------------------ */

START_TEST(json_fields)
{
	const char *b =
		"{\"error\":{\"code\":\"start_failed\",\"message\":\"container \\\"x\\\" did\\nnot\\tstart \\u00e9\\/ok\","
		"\"status\":503}}";
	char out[128];
	ck_assert(pam_ctm_json_string(b, strlen(b), "code", out, sizeof out));
	ck_assert_str_eq(out, "start_failed");
	ck_assert(pam_ctm_json_string(b, strlen(b), "message", out, sizeof out));
	ck_assert_str_eq(out, "container \"x\" did not start ?/ok");
	ck_assert(!pam_ctm_json_string(b, strlen(b), "status", out, sizeof out)); /* a number */
	ck_assert(!pam_ctm_json_string(b, strlen(b), "ipv4", out, sizeof out));
	ck_assert_str_eq(out, "");

	const char *r = "{ \"recorded\" : true , \"container\" :\n \"started\", \"ipv4\":\"10.0.3.15\"}";
	ck_assert(pam_ctm_json_string(r, strlen(r), "container", out, sizeof out));
	ck_assert_str_eq(out, "started");
	ck_assert(pam_ctm_json_string(r, strlen(r), "ipv4", out, sizeof out));
	ck_assert_str_eq(out, "10.0.3.15");

	/* Control bytes and non-ASCII never reach a terminal. */
	const char *c = "{\"message\":\"a\x1b[2Jb\xc3\xa9\"}";
	ck_assert(pam_ctm_json_string(c, strlen(c), "message", out, sizeof out));
	ck_assert_str_eq(out, "a?[2Jb??");
	/* A key quoted inside a string value is not the key. */
	const char *q = "{\"note\":\"the \\\"message\\\" key\",\"message\":\"real\"}";
	ck_assert(pam_ctm_json_string(q, strlen(q), "message", out, sizeof out));
	ck_assert_str_eq(out, "real");
}
END_TEST

START_TEST(json_fields_bounded)
{
	char out[8];
	const char *b = "{\"message\":\"0123456789\"}";
	ck_assert(pam_ctm_json_string(b, strlen(b), "message", out, sizeof out));
	ck_assert_str_eq(out, "0123456");
	/* Cut off by the end of the body: not a value. */
	ck_assert(!pam_ctm_json_string(b, 16, "message", out, sizeof out));
	const char *e = "{\"message\":\"ab\\";
	ck_assert(!pam_ctm_json_string(e, strlen(e), "message", out, sizeof out));
	const char *u = "{\"message\":\"ab\\u00";
	ck_assert(!pam_ctm_json_string(u, strlen(u), "message", out, sizeof out));
	ck_assert(!pam_ctm_json_string(b, strlen(b), "message", out, 0));
	const char *k = "{\"message\"";
	ck_assert(!pam_ctm_json_string(k, strlen(k), "message", out, sizeof out));
}
END_TEST

static Suite *pam_suite(void)
{
	Suite *s = suite_create("pam_parts");
	TCase *tc = tcase_create("arguments");
	tcase_add_test(tc, args_defaults);
	tcase_add_test(tc, args_all_set);
	tcase_add_loop_test(tc, args_refused, 0, N_BAD_ARGS);
	tcase_add_test(tc, args_socket_length_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, request_exact);
	tcase_add_test(tc, request_escapes_and_caps);
	tcase_add_test(tc, request_buffer_too_small);
	suite_add_tcase(s, tc);

	tc = tcase_create("answer");
	tcase_add_loop_test(tc, answer_parsed, 0, N_ANSWERS);
	tcase_add_test(tc, answer_prefixes);
	tcase_add_test(tc, json_fields);
	tcase_add_test(tc, json_fields_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	Suite *suites[] = { pam_suite(), NULL };
	return ctm_run_suites(suites);
}
