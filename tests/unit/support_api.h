/* SPDX-License-Identifier: Apache-2.0 */
/* Test client for helperd's API: requests over a unix socket with libcurl,
 * or from a forked child that has dropped to another uid/gid/groups (so
 * the server sees a real unprivileged peer through SO_PEERCRED). */
#ifndef CONTAINARIUM_TEST_SUPPORT_API_H
#define CONTAINARIUM_TEST_SUPPORT_API_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct api_reply {
	long status;
	char *body; /* NUL-terminated; body_len bytes */
	size_t body_len;
	char content_type[128];
	char location[256];
	char allow[128];
	json_object *json; /* the body parsed, when it is application/json */
};

/* Call curl_global_init once from main(), before any test. */
void api_client_init(void);
void api_client_cleanup(void);

/* method path (with query) on socket.  content_type NULL sends no
 * Content-Type; chunked sends the body with Transfer-Encoding: chunked.
 * Returns 0, or -1 when the transfer failed (reply->body: curl's message). */
int api_call(const char *socket, const char *method, const char *path, const char *content_type, const char *body,
	     size_t body_len, bool chunked, struct api_reply *reply);

/* The same request from a child process running as uid/gid with exactly
 * groups (needs root).  Raw HTTP/1.1 over the socket.  Returns 0, -errno
 * when connecting failed (-EACCES: the socket's mode kept it out), or -1
 * for anything else. */
int api_call_as(const char *socket, uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups, const char *method,
		const char *path, const char *json_body, struct api_reply *reply);

void api_reply_free(struct api_reply *reply);

/* Whether j is exactly {"error":{"code":code,"message":"<non-empty>","status":status}};
 * when not, why says what differs. */
bool api_error_shape(json_object *j, int status, const char *code, char *why, size_t whylen);

/* Milliseconds on the monotonic clock. */
long long api_now_ms(void);

#endif
