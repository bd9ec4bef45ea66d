/* SPDX-License-Identifier: Apache-2.0 */
/* Instance-level steps on top of the Incus client: state changes, waiting
 * for a container to really run with its address, deletion, and the state
 * numbers `info` shows.  Each returns an incus_status with err filled. */
#ifndef CONTAINARIUM_HELPERD_INSTANCE_H
#define CONTAINARIUM_HELPERD_INSTANCE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "incus_client.h"

/* PUT .../state {"action": action, "timeout": timeout_s, "force": force} and wait. */
enum incus_status instance_set_state(struct incus_client *c, const char *name, const char *action, int force,
				     int timeout_s, char *err, size_t errlen);

/* Wait until the instance is Running and eth0 carries ipv4 (host order).
 * A start can report success while the container dies at boot: this is
 * the check that it did not.  INCUS_ERR_SERVER when it stopped;
 * INCUS_ERR_ADDRESS_HELD when DHCP gave it another address because a
 * stale lease holds the pinned one.  The address is seen by a TCP probe
 * of port 22 (accepted or refused) between state reads once a second. */
/* Wait until ipv4:port accepts a TCP connection (the container's sshd
 * listens): what a session tunnel needs, a moment after the address. */
/* One TCP connect to ipv4:port within ms: true when something accepts. */
bool instance_port_open(uint32_t ipv4, int port, int ms);

enum incus_status instance_wait_port(const char *name, uint32_t ipv4, int port, int timeout_s, char *err,
				     size_t errlen);

enum incus_status instance_wait_ready(struct incus_client *c, const char *name, uint32_t ipv4, int timeout_s, char *err,
				      size_t errlen);

/* Stop (forced) if running, then delete, and wait until it is gone. */
enum incus_status instance_destroy(struct incus_client *c, const char *name, char *err, size_t errlen);

/* GET .../state metadata (new reference), for info and metrics. */
enum incus_status instance_state(struct incus_client *c, const char *name, json_object **state, char *err,
				 size_t errlen);

/* Run argv in the instance; any non-zero exit is an error that names the
 * command and quotes its stderr.  out (may be NULL) gets stdout. */
enum incus_status instance_run(struct incus_client *c, const char *name, const char *const *argv, char **out, char *err,
			       size_t errlen);

/* The bytes of a user's ~/.ssh/authorized_keys: the n keys (canonical
 * lines) one a line; "" for none.  malloc'd; NULL when out of memory.  The
 * create writes them from its setup script (user_setup.c), every later
 * change with instance_push_authorized_keys. */
char *instance_authorized_keys_text(char *const *keys, size_t n);

/* Write user's ~/.ssh/authorized_keys in the instance
 * (instance_authorized_keys_text), owned by uid:gid, mode 0600.
 * Out of memory is INCUS_ERR_SERVER, "out of memory", as in incus_client.h. */
enum incus_status instance_push_authorized_keys(struct incus_client *c, const char *name, const char *user,
						char *const *keys, size_t n, unsigned uid, unsigned gid, char *err,
						size_t errlen);

#endif
