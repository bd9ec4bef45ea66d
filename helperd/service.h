/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's state, shared by the API handlers (service_*.c), the
 * operations they start, and the background watcher. */
#ifndef CONTAINARIUM_HELPERD_SERVICE_H
#define CONTAINARIUM_HELPERD_SERVICE_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "incus_client.h"
#include "registry.h"
#include "snapshot_guard.h"

struct helperd {
	struct helperd_config cfg;
	char incus_socket[108]; /* resolved (configured or detected) */
	gid_t admin_gid;        /* (gid_t)-1 when admin_group is "" or absent */
	gid_t keys_gid;         /* group of keys.db; (gid_t)-1: root's */
	time_t started;
	char host_id[128];   /* this helperd: hostname, for user.containarium.helperd */
	char host_ca_fp[64]; /* the host CA's fingerprint at start; "" = no host certificates */

	/* The registry as last read from Incus, and the snapshot generation
	 * published from it.  Guarded by lock; long work never holds it while
	 * waiting for Incus. */
	pthread_mutex_t lock;
	struct registry reg;
	bool backend_up;         /* last call to Incus succeeded */
	char backend_error[256]; /* why not, for 503 answers */
	unsigned long publishes, publish_failures;
	struct timespec last_publish;
	/* The files as last published, and how often helperd had to put
	 * them back (snapshot_guard.h).  Guarded by the publish lock. */
	struct snapshot_marks marks;
	unsigned long snapshot_repairs;
	char repair_failed[320]; /* the last repair that failed, not to log it at every poll */
};

/* A new Incus client for the calling thread (each operation has its own). */
struct incus_client *helperd_client(struct helperd *d, char *err, size_t errlen);

/* Read every account from Incus, make it the registry, and publish both
 * snapshot files from it.  Called after each change and by the watcher. */
int helperd_refresh(struct helperd *d, struct incus_client *c, char *err, size_t errlen);
/* The same, but publish only when what the snapshots hold has changed
 * (the watcher's poll). */
int helperd_refresh_if_changed(struct helperd *d, struct incus_client *c, char *err, size_t errlen);

/* Publish both snapshot files again from the registry held (not asking
 * Incus) when one of them is not as helperd published it: removed,
 * truncated, rewritten, or with another mode or owner.  The watcher calls
 * it at every poll.  1 when it republished, 0 when nothing was wrong, -1
 * when the republish failed. */
int helperd_repair_snapshots(struct helperd *d);

/* Add to each entry of arr (account_to_json objects) what its container
 * uses now ("usage", usage.h), its "type" and its number of "snapshots":
 * one streamed read of every instance with its state, two half a second
 * apart when a running one has no recent CPU reading. */
enum incus_status helperd_usage_details(struct helperd *d, json_object *arr, char *err, size_t errlen);

/* The account of user as Incus has it now (not the cached registry), and
 * its instance's ETag when etag is not NULL.  INCUS_ERR_NOT_FOUND when the
 * instance is missing or not a Containarium one. */
enum incus_status helperd_load_account(struct incus_client *c, struct helperd *d, const char *user, struct account *a,
				       char **etag, char *err, size_t errlen);

/* "<user><suffix>" into buf. */
void helperd_instance_name(const struct helperd *d, const char *user, char *buf, size_t len);

#endif
