/* SPDX-License-Identifier: Apache-2.0 */
/* The request the module sends to helperd for a session event: an HTTP/1.1
 * POST /v1/sessions with a small JSON body (the contract is in
 * pam_containarium(8) and helperd/service_sessions.c).  Pure: no I/O, no
 * allocation. */
#ifndef CONTAINARIUM_PAM_SESSION_REQUEST_H
#define CONTAINARIUM_PAM_SESSION_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* Largest request the module ever builds: every string field is capped
 * (see session_request.c), so this always fits. */
#define PAM_CTM_REQUEST_MAX 4096

struct pam_ctm_event {
	const char *event; /* "open" or "close" */
	const char *user;
	const char *rhost; /* NULL: sent as "" */
	const char *service;
	const char *tty;
	long pid;
	const char *session_id;
	bool wake;
};

/* Write the whole request (request line, headers, body) into buf.  Returns
 * its length, or 0 when it does not fit in size bytes. */
size_t pam_ctm_format_request(const struct pam_ctm_event *ev, char *buf, size_t size);

#endif
