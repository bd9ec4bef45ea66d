/* SPDX-License-Identifier: Apache-2.0 */
/* Container lifecycle: the long work behind the API, each run as an
 * operation (operations.h) on its own thread with its own Incus client.
 *
 * Create is all-or-nothing: any failure removes the instance again, and a
 * crash leaves an instance in state "provisioning" that reconcile removes
 * at the next start, so no half-made user is ever published as active. */
#ifndef CONTAINARIUM_HELPERD_LIFECYCLE_H
#define CONTAINARIUM_HELPERD_LIFECYCLE_H

#include <json-c/json.h>
#include <stddef.h>

#include "image_source.h"
#include "operations.h"
#include "service.h"

struct create_spec {
	char name[CTM_NAME_MAX + 1];
	char **keys; /* canonical key lines */
	size_t key_count;
	struct image_ref image; /* where the image comes from */
	char image_text[160];   /* the same as written: "images:debian/12" */
	char cpu[16];
	char memory[32];
	char disk[32];  /* "" = no size on the root disk (a pool that cannot enforce one) */
	int disk_given; /* the request named a disk size (not helperd.conf's default) */
	int autostart;
	int docker;
	char target[64];         /* cluster member to place it on ("" = Incus's scheduler) */
	char snap_schedule[128]; /* snapshots.schedule at activation ("" = none; snapshot_policy.h) */
	char snap_expiry[64];    /* snapshots.expiry ("" = kept until deleted) */
};

/* Validate a POST /v1/containers body.  0, or -1 with an API error code
 * and a sentence in msg; nothing is changed either way. */
int create_spec_parse(struct helperd *d, json_object *body, struct create_spec *s, const char **code, char *msg,
		      size_t msglen);
void create_spec_free(struct create_spec *s);

#define CREATE_STEPS 7
/* operation_fn for create; arg: struct lifecycle_job with spec set. */
void lifecycle_create(struct operation *op, void *arg);

struct lifecycle_job {
	struct helperd *d;
	char user[CTM_NAME_MAX + 1];
	struct create_spec spec;            /* create */
	int force, backup;                  /* delete, stop */
	char cpu[16], memory[32], disk[32]; /* resize ("" = unchanged) */
	/* resize: the snapshot schedule and expiry, when *_set ("" = off) */
	int snap_schedule_set, snap_expiry_set;
	char snap_schedule[128], snap_expiry[64];
	int autostart_set, autostart; /* resize (set): boot.autostart */
	char snapshot[64];            /* snapshot create ("" = a name by the time), restore, delete */
	char backup_file[512];        /* restore from a backup: the tarball (inside backup_dir) */
};
void lifecycle_job_free(void *job);

void lifecycle_delete(struct operation *op, void *arg);
void lifecycle_start(struct operation *op, void *arg);
void lifecycle_stop(struct operation *op, void *arg);
void lifecycle_resize(struct operation *op, void *arg);

/* Snapshots of a user's container (lifecycle_snapshot.c). */
void lifecycle_snapshot_create(struct operation *op, void *arg);
void lifecycle_snapshot_delete(struct operation *op, void *arg);
void lifecycle_snapshot_restore(struct operation *op, void *arg);
#define SNAPSHOT_RESTORE_STEPS 5
/* Snapshot names and times as the API shows them. */
json_object *snapshot_to_json(json_object *incus_snapshot);

/* A user back from a delete --backup tarball (lifecycle_import.c). */
void lifecycle_import(struct operation *op, void *arg);
#define IMPORT_STEPS 5

/* The bridge's subnet and the DHCP server's leases (create_claim.c). */
struct subnet;
int network_subnet(struct incus_client *c, struct helperd *d, struct subnet *sn, char *err, size_t errlen);

/* Remove what a crash left: instances still "provisioning" that no running
 * operation owns (this host's at once, other hosts' after 15 minutes). */
int lifecycle_reconcile(struct helperd *d, struct incus_client *c, char *err, size_t errlen);

#endif
