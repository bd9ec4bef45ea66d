/* SPDX-License-Identifier: Apache-2.0 */
/* What a create does inside the container once it runs (steps 4 to 6):
 * the user, sudo, the .ssh directory, the docker group, authorized_keys,
 * and with a host CA the certified host keys; and what the image lacks,
 * installed from its own package sources.  user_setup.c says why it is
 * one exec, and when it starts. */
#ifndef CONTAINARIUM_HELPERD_USER_SETUP_H
#define CONTAINARIUM_HELPERD_USER_SETUP_H

#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host_cert.h"
#include "incus_client.h"
#include "lifecycle.h"

struct user_setup {
	const struct create_spec *s;
	bool ran;
	int step; /* the step that failed: 5 or 6 (0: none) */
	enum incus_status st;
	char missing[256]; /* the script's "missing:" list ("" when nothing is missing) */
	char err[1024];
	/* With a host CA: the certificates are signed and pushed on a thread
	 * of their own while the wait for the address goes on; cert_record
	 * is what ACCT_KEY_HOST_CERT should say once they are in place (""
	 * until then, or on failure, with cert_err saying why).  Joined by
	 * user_setup_join_certs. */
	struct helperd *d;
	struct incus_client *cert_c; /* the thread's own client */
	char iname[64], ip[INET_ADDRSTRLEN];
	struct host_keys hk;
	pthread_t cert_tid;
	bool cert_running;
	double cert_seconds;
	char cert_record[HOST_CERT_RECORD_MAX];
	char cert_err[1024];
	/* user_setup_start's thread, with its own client, while the caller
	 * waits for the address.  Joined by user_setup_wait. */
	struct incus_client *run_c;
	uint32_t run_ip;
	pthread_t run_tid;
	bool run_running;
};

/* Run the setup in instance iname (address ip, host order) for u->s.
 * Its outcome is in u: missing[] names what the image lacks (nothing else
 * was done: install it, then run this again), or step says which step
 * failed (st, err), or 0 when both were done.  May be run again. */
void user_setup_run(struct incus_client *c, struct helperd *d, const char *iname, uint32_t ip, struct user_setup *u);

/* user_setup_run on a thread of its own (on this one when none can be
 * started), so that the caller sees the address come while it runs: it
 * is niced in the container, where the boot goes first.  u->ran is set
 * at once. */
void user_setup_start(struct incus_client *c, struct helperd *d, const char *iname, uint32_t ip, struct user_setup *u);

/* Wait for user_setup_start's thread, if it runs: u's outcome is then
 * there to read.  Before anything else reads u, stops the instance or
 * removes it. */
void user_setup_wait(struct user_setup *u);

/* Wait for the certificates' thread, if it runs, and free its keys.
 * Before the instance may go, and before u does (after user_setup_wait). */
void user_setup_join_certs(struct user_setup *u);

/* Step 4: install missing (user_setup_run's list).  0, or -1 with the
 * HTTP status, API error code and a sentence that names the image and
 * what it lacks. */
int user_setup_install(struct incus_client *c, const char *iname, const struct create_spec *s, const char *missing,
		       int *http, const char **code, char *msg, size_t msglen);

#endif
