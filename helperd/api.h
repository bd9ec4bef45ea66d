/* SPDX-License-Identifier: Apache-2.0 */
/* helperd's HTTP/1.1 + JSON API, served by libmicrohttpd on a unix socket.
 *
 * The server layer (api_server.c, its socket in api_socket.c) identifies
 * each caller by SO_PEERCRED, enforces body limits and content types, parses JSON
 * bodies, routes requests (api_routes.c) and writes responses.  Handlers
 * (service_*.c) see only struct api_request and fill struct api_response:
 * they never touch HTTP.
 *
 * Errors are JSON: {"error": {"code": "not_found", "message": "...", "status": 404}}
 * with a stable code and a sentence a person can act on. */
#ifndef CONTAINARIUM_HELPERD_API_H
#define CONTAINARIUM_HELPERD_API_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

struct helperd; /* the daemon's state, defined by service.h */

enum api_role {
	API_ROLE_USER = 0,  /* any local user: read-only endpoints */
	API_ROLE_ADMIN = 1, /* member of admin_group: may change things */
	API_ROLE_ROOT = 2,  /* uid 0: everything, including the PAM session endpoint */
};

struct api_request {
	const char *method;          /* "GET", "POST", ... */
	const char *path;            /* "/v1/containers/alice" (no query) */
	const char *params[4];       /* path parameters matched by the route, in order */
	struct MHD_Connection *conn; /* for api_query(); handlers need nothing else of it */
	json_object *body;           /* parsed JSON body, or NULL when there was none */
	uid_t uid;                   /* the caller, from SO_PEERCRED; (uid_t)-1 remote */
	gid_t gid;
	pid_t pid;
	enum api_role role;
	const char *client_name; /* remote callers: the certificate's CN; else NULL */
};

struct api_response {
	int status;               /* HTTP status; 0 means 200 */
	json_object *body;        /* JSON answer (the server puts it) */
	char *text;               /* or a text answer (malloc'd; the server frees it) */
	const char *content_type; /* for text; default "text/plain; charset=utf-8" */
	char location[128];       /* optional Location header (operations) */
};

/* Who made a request, for the audit log: "by_uid" for a local caller,
 * "by_cert" (the certificate's common name) for a remote one. */
void api_caller_to_json(const struct api_request *req, json_object *event);

/* A query parameter of the request, or NULL. */
const char *api_query(const struct api_request *req, const char *name);

/* Fill resp with a JSON error.  code: a stable snake_case identifier. */
__attribute__((format(printf, 4, 5))) void api_error(struct api_response *resp, int status, const char *code,
						     const char *fmt, ...);

typedef void (*api_handler)(struct helperd *d, const struct api_request *req, struct api_response *resp);

struct api_route {
	const char *method;
	const char *pattern; /* "/v1/containers/{}/keys/{}": {} matches one path segment */
	enum api_role min_role;
	api_handler handler;
};

/* helperd's route table, ended by an entry with method NULL (api_routes.c). */
extern const struct api_route api_routes[];

struct api_server;

/* Listen on d->cfg.listen_socket (mode socket_mode, group admin_group) and
 * serve routes, each connection on its own thread, until api_server_stop().
 * Refuses to start when another process is listening on the socket. */
struct api_server *api_server_start(struct helperd *d, const struct api_route *routes, char *err, size_t errlen);
void api_server_stop(struct api_server *s);

#endif
