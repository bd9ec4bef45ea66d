/* SPDX-License-Identifier: Apache-2.0 */
/* A client for the Incus REST API (and LXD 5.x, which speaks the same API)
 * over its unix socket: HTTP/1.1 of our own (incus_http.h says why not
 * libcurl), json-c bodies.
 *
 * One struct incus_client per thread (it is only the server's address and
 * kind; each request has its own connection).  Nothing here knows about
 * Containarium; helperd's registry and lifecycle code build on it.
 *
 * Every function returns an enum incus_status and, on failure, writes a
 * sentence into err naming what failed (method, path, the server's error). */
#ifndef CONTAINARIUM_INCUS_CLIENT_H
#define CONTAINARIUM_INCUS_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum incus_status {
	INCUS_OK = 0,
	INCUS_ERR_UNAVAILABLE,  /* cannot connect, or the socket went away */
	INCUS_ERR_NOT_FOUND,    /* 404 */
	INCUS_ERR_CONFLICT,     /* 409: already exists, or busy */
	INCUS_ERR_REQUEST,      /* other 4xx: our request was wrong */
	INCUS_ERR_SERVER,       /* 5xx, or an operation that ended in failure */
	INCUS_ERR_PROTOCOL,     /* the answer was not the JSON the API promises */
	INCUS_ERR_TIMEOUT,      /* a wait ran out of time */
	INCUS_ERR_COMMAND,      /* exec: the command ran and exited non-zero */
	INCUS_ERR_ADDRESS_HELD, /* the DHCP server gave an instance another address than its pinned one */
};

enum incus_server { INCUS_SERVER_INCUS = 1, INCUS_SERVER_LXD = 2 };

/* API extensions (GET /1.0's api_extensions) that helperd uses where a
 * server may lack them.  Incus 6.0 and LXD 5.0 have both. */
enum incus_extension {
	INCUS_EXT_NIC_IPFILTER = 1u << 0,       /* container_nic_ipfilter: security.ipv4/ipv6_filtering */
	INCUS_EXT_NIC_PORT_ISOLATION = 1u << 1, /* instance_nic_bridged_port_isolation */
};

struct incus_client;

/* The socket to use when none is configured: Incus's if it exists, else LXD's. */
const char *incus_default_socket(void);

/* Connect and identify the server with GET /1.0 (environment.server). */
enum incus_status incus_open(const char *socket_path, struct incus_client **out, char *err, size_t errlen);
void incus_close(struct incus_client *c);
/* Another client for the same server (for another thread). */
enum incus_status incus_clone(const struct incus_client *c, struct incus_client **out, char *err, size_t errlen);

enum incus_server incus_server_kind(const struct incus_client *c);
const char *incus_server_name(const struct incus_client *c); /* "incus" or "lxd" */
const char *incus_server_version(const struct incus_client *c);
const char *incus_socket_path(const struct incus_client *c);
/* The cluster member this socket belongs to; "" when the server is not clustered. */
const char *incus_server_member(const struct incus_client *c);
bool incus_has_extension(const struct incus_client *c, enum incus_extension e);

/* A synchronous request.  path starts with "/1.0".  body may be NULL.  On
 * success *metadata (if not NULL) gets a new reference to the response's
 * "metadata" (the caller puts it); *etag (if not NULL) a malloc'd ETag or NULL. */
enum incus_status incus_get(struct incus_client *c, const char *path, json_object **metadata, char **etag, char *err,
			    size_t errlen);

/* GET a list (an answer whose metadata is an array, such as
 * /1.0/instances?recursion=1) and call each() on every element as it
 * arrives: one element is parsed at a time, so neither the answer (41 MB
 * for 10,000 instances) nor its whole json-c tree is ever held.  each()
 * borrows item (put after it returns) and returns 0 to go on, -1 to stop
 * (then INCUS_ERR_SERVER, "out of memory").  Elements may already have been
 * passed to each() when the call fails: discard what they built then. */
enum incus_status incus_get_each(struct incus_client *c, const char *path, int (*each)(json_object *item, void *arg),
				 void *arg, char *err, size_t errlen);

/* Any request; background operations are waited for (up to timeout_s) and
 * their failure reported as INCUS_ERR_SERVER with the operation's error.  A
 * request refused for what it asked (an unknown config key, a bad value or
 * device) is INCUS_ERR_REQUEST on both backends, however it is answered:
 * Incus and LXD say error_code 500 to such a PATCH, Incus also to such a
 * create, which LXD fails as an operation instead. */
enum incus_status incus_call(struct incus_client *c, const char *method, const char *path, json_object *body,
			     const char *if_match, int timeout_s, json_object **metadata, char *err, size_t errlen);

/* Run argv in instance as uid 0 with record-output (no websockets), wait,
 * fetch the recorded output.  INCUS_ERR_COMMAND when it exits non-zero
 * (*exit_code says how); stdout/stderr (if not NULL) get malloc'd text. */
enum incus_status incus_exec(struct incus_client *c, const char *instance, const char *const *argv, int timeout_s,
			     int *exit_code, char **out, char **errout, char *err, size_t errlen);

/* Write a file into an instance (owner, mode; parent must exist). */
enum incus_status incus_file_push(struct incus_client *c, const char *instance, const char *path, const void *data,
				  size_t len, uid_t uid, gid_t gid, mode_t mode, char *err, size_t errlen);

/* Read a file from an instance; *data is malloc'd and NUL-terminated. */
enum incus_status incus_file_pull(struct incus_client *c, const char *instance, const char *path, char **data,
				  size_t *len, char *err, size_t errlen);

/* GET a raw resource (a backup export) into a new file at path, mode mode:
 * written to a temporary file beside it and renamed when complete. */
enum incus_status incus_download(struct incus_client *c, const char *resource, const char *path, mode_t mode, char *err,
				 size_t errlen);

/* Import a backup tarball (incus export, or delete --backup) as instance
 * name on pool, and wait for it: POST /1.0/instances with the file as an
 * application/octet-stream body.  The instance comes back stopped. */
enum incus_status incus_import_backup(struct incus_client *c, const char *file, const char *name, const char *pool,
				      int timeout_s, char *err, size_t errlen);

const char *incus_status_str(enum incus_status s);

/* What the server said in an err this client wrote, without the client's
 * own frame ("GET /1.0/operations/ID/wait?timeout=N: 200 " from Incus,
 * "operation /1.0/operations/ID: Failure: " from LXD): for messages a
 * person reads.  err itself when it has no such frame. */
const char *incus_error_reason(const char *err);

/* What an error answer means: INCUS_ERR_REQUEST for a validation refusal
 * (message with "Invalid config: ", "Invalid devices: " or "Unknown
 * configuration key"), else what the HTTP code says (500 and others:
 * INCUS_ERR_SERVER). */
enum incus_status incus_error_status(long http, const char *message);

#endif
