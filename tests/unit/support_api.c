/* SPDX-License-Identifier: Apache-2.0 */
#include "support_api.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void api_client_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void api_client_cleanup(void)
{
	curl_global_cleanup();
}

long long api_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append(struct api_reply *r, const char *p, size_t n)
{
	char *b = realloc(r->body, r->body_len + n + 1);
	if (!b)
		abort();
	memcpy(b + r->body_len, p, n);
	r->body = b;
	r->body_len += n;
	r->body[r->body_len] = '\0';
}

static size_t on_data(char *p, size_t size, size_t n, void *cls)
{
	append(cls, p, size * n);
	return size * n;
}

/* "Name: value\r\n" into dst when the name is name. */
static void take_header(const char *line, size_t len, const char *name, char *dst, size_t cap)
{
	size_t nl = strlen(name);
	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	snprintf(dst, cap, "%.*s", (int)(end - v), v);
}

static void take_headers(struct api_reply *r, const char *line, size_t len)
{
	take_header(line, len, "Content-Type", r->content_type, sizeof r->content_type);
	take_header(line, len, "Location", r->location, sizeof r->location);
	take_header(line, len, "Allow", r->allow, sizeof r->allow);
}

static size_t on_header(char *p, size_t size, size_t n, void *cls)
{
	take_headers(cls, p, size * n);
	return size * n;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t on_read(char *buf, size_t size, size_t n, void *cls)
{
	struct upload *u = cls;
	size_t k = size * n < u->left ? size * n : u->left;
	/* Small pieces, so a chunked body really arrives in chunks. */
	if (k > 300)
		k = 300;
	memcpy(buf, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

static void parse_json(struct api_reply *r)
{
	if (strncasecmp(r->content_type, "application/json", 16) == 0 && r->body)
		r->json = json_tokener_parse(r->body);
}

int api_call(const char *socket, const char *method, const char *path, const char *content_type, const char *body,
	     size_t body_len, bool chunked, struct api_reply *reply)
{
	memset(reply, 0, sizeof *reply);
	CURL *c = curl_easy_init();
	if (!c)
		return -1;
	char url[1024];
	snprintf(url, sizeof url, "http://localhost%s", path);
	struct curl_slist *h = NULL;
	char ct[160];
	/* "Content-Type:" with no value stops curl from adding its own. */
	snprintf(ct, sizeof ct, "Content-Type:%s%s", content_type ? " " : "", content_type ? content_type : "");
	h = curl_slist_append(h, ct);
	h = curl_slist_append(h, "Expect:");
	struct upload up = { body, body_len };
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, reply);
	if (body && chunked) {
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
	} else if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		free(reply->body);
		reply->body = strdup(curl_easy_strerror(rc));
		reply->body_len = strlen(reply->body);
		return -1;
	}
	parse_json(reply);
	return 0;
}

/* ---- as another user ---------------------------------------------------- */

/* Runs in the forked child of a threaded process: raw system calls only
 * (no malloc, no stdio), then _exit.  Writes an int (0 or -errno) and then
 * the server's answer to out. */
static void child(int out, const struct sockaddr_un *sa, uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
		  const char *request, size_t request_len)
{
	alarm(20);
	int res = 0;
	/* syscall(): only this thread exists, and glibc's wrappers would
	 * try to change every thread's ids. */
	if (syscall(SYS_setgroups, ngroups, groups) < 0 || syscall(SYS_setresgid, gid, gid, gid) < 0 ||
	    syscall(SYS_setresuid, uid, uid, uid) < 0) {
		res = -1;
		(void)!write(out, &res, sizeof res);
		_exit(1);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
		res = -errno;
		(void)!write(out, &res, sizeof res);
		_exit(2);
	}
	(void)!write(out, &res, sizeof res);
	for (size_t done = 0; done < request_len;) {
		ssize_t n = write(fd, request + done, request_len - done);
		if (n <= 0)
			_exit(3);
		done += (size_t)n;
	}
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			_exit(4);
	_exit(n < 0 ? 5 : 0);
}

static int parse_raw(const char *raw, size_t len, struct api_reply *r)
{
	const char *end = memmem(raw, len, "\r\n\r\n", 4);
	if (!end || sscanf(raw, "HTTP/1.1 %ld", &r->status) != 1)
		return -1;
	for (const char *line = strstr(raw, "\r\n") + 2; line < end;) {
		const char *eol = strstr(line, "\r\n");
		take_headers(r, line, (size_t)(eol - line));
		line = eol + 2;
	}
	append(r, end + 4, len - (size_t)(end + 4 - raw));
	parse_json(r);
	return 0;
}

int api_call_as(const char *socket, uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups, const char *method,
		const char *path, const char *json_body, struct api_reply *reply)
{
	memset(reply, 0, sizeof *reply);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket);
	char request[4096];
	size_t blen = json_body ? strlen(json_body) : 0;
	int rl = snprintf(request, sizeof request,
			  "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
			  "Content-Length: %zu\r\n%s\r\n%s",
			  method, path, blen, json_body ? "Content-Type: application/json\r\n" : "",
			  json_body ? json_body : "");
	if (rl < 0 || (size_t)rl >= sizeof request)
		return -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		child(p[1], &sa, uid, gid, groups, ngroups, request, (size_t)rl);
	}
	close(p[1]);
	char *raw = NULL;
	size_t len = 0;
	char buf[4096];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof buf)) > 0) {
		char *b = realloc(raw, len + (size_t)n + 1);
		if (!b)
			abort();
		raw = b;
		memcpy(raw + len, buf, (size_t)n);
		len += (size_t)n;
		raw[len] = '\0';
	}
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	int res = -1;
	if (len >= sizeof res)
		memcpy(&res, raw, sizeof res);
	if (res == 0)
		res = WIFEXITED(st) && WEXITSTATUS(st) == 0 && parse_raw(raw + sizeof res, len - sizeof res, reply) == 0
			      ? 0
			      : -1;
	free(raw);
	return res;
}

void api_reply_free(struct api_reply *reply)
{
	free(reply->body);
	json_object_put(reply->json);
	memset(reply, 0, sizeof *reply);
}

bool api_error_shape(json_object *j, int status, const char *code, char *why, size_t whylen)
{
	json_object *e, *v;
	if (!json_object_is_type(j, json_type_object) || json_object_object_length(j) != 1 ||
	    !json_object_object_get_ex(j, "error", &e) || !json_object_is_type(e, json_type_object)) {
		snprintf(why, whylen, "not {\"error\":{...}}: %s", json_object_to_json_string(j));
		return false;
	}
	if (json_object_object_length(e) != 3) {
		snprintf(why, whylen, "error has %d keys, not 3: %s", json_object_object_length(e),
			 json_object_to_json_string(e));
		return false;
	}
	if (!json_object_object_get_ex(e, "code", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), code) != 0) {
		snprintf(why, whylen, "code is not %s: %s", code, json_object_to_json_string(e));
		return false;
	}
	if (!json_object_object_get_ex(e, "status", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int(v) != status) {
		snprintf(why, whylen, "status is not %d: %s", status, json_object_to_json_string(e));
		return false;
	}
	if (!json_object_object_get_ex(e, "message", &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0) {
		snprintf(why, whylen, "no message: %s", json_object_to_json_string(e));
		return false;
	}
	return true;
}
