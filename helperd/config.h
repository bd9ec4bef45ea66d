/* SPDX-License-Identifier: Apache-2.0 */
/* helperd's configuration: /etc/containarium/helperd.conf, "key = value"
 * lines, '#' comments.  Every key has a built-in default, every value is
 * validated, and an unknown key is an error (usually a typo).  The keys are
 * documented in helperd.conf(5). */
#ifndef CONTAINARIUM_HELPERD_CONFIG_H
#define CONTAINARIUM_HELPERD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define HELPERD_DEFAULT_CONFIG "/etc/containarium/helperd.conf"

/* An image server for --image REMOTE:ALIAS ("remote = NAME URL PROTOCOL
 * [CERTIFICATE]", image_source.h). */
#define HELPERD_REMOTES_MAX 16
struct image_remote {
	char name[32];
	char url[256];
	char protocol[16];     /* "simplestreams" or "incus" */
	char certificate[256]; /* PEM file of the server's certificate; "" = the system CAs */
};

struct helperd_config {
	/* the API */
	char listen_socket[108]; /* sun_path limit */
	mode_t socket_mode;
	char admin_group[64]; /* members may change things; "" = root only */
	uint32_t max_body_bytes;
	/* the backend */
	char incus_socket[108]; /* "" = detect */
	char network[64];       /* bridge the containers' NIC attaches to */
	int isolate_tenants;    /* 0/1: port isolation between containers (nic_policy.h) */
	char storage_pool[64];
	char image[128];                                  /* [REMOTE:]alias or fingerprint */
	struct image_remote remotes[HELPERD_REMOTES_MAX]; /* "images" is built in */
	size_t remote_count;
	char instance_suffix[32]; /* "<user><suffix>" is the instance name */
	/* defaults for create */
	char default_cpu[16];
	char default_memory[16];
	char default_disk[16];
	int default_autostart; /* 0/1 */
	int default_docker;    /* 0/1: Docker in new containers unless the request says */
	/* Scheduled snapshots of a new container (snapshot_policy.h): Incus's
	 * snapshots.schedule and snapshots.expiry; "" = none, kept forever. */
	char snapshot_schedule[128];
	char snapshot_expiry[64];
	/* the registry and the host modules */
	char state_dir[256]; /* passwd.db, keys.db */
	char keys_group[64]; /* group of sshd's AuthorizedKeysCommandUser */
	char group_name[32];
	uint32_t gid, uid_min, uid_max;
	char backup_dir[256];
	char audit_log[256];
	char sshd_log[256];         /* failed logins from: auto, off, journal[:UNIT], or a file */
	uint32_t idle_stop_minutes; /* stop a container this long after its last session; 0: never */
	uint32_t poll_seconds;      /* how often to look for other helperds' changes */
	int log_level;              /* syslog priority: LOG_ERR..LOG_DEBUG */
	/* The remote API (api_tls.h): "ADDRESS:PORT", "" = off, and the PEM
	 * files it needs then (https_crl optional). */
	char https_listen[64];
	char https_cert[256];
	char https_key[256];
	char https_client_ca[256];
	char https_crl[256]; /* the client CA's revocation list; "" = none */
	/* SSH host certificates (host_cert.h): the CA's private key ("" = off;
	 * its public key is the same path + ".pub"), more CA public keys the
	 * exported known_hosts trusts (a rotation's other CA; "" = none), and
	 * the ssh-keygen that signs. */
	char host_ca_key[256];
	char host_ca_trust[256];
	char ssh_keygen[256];
};

void helperd_config_defaults(struct helperd_config *c);

/* Load path over the defaults.  A missing file is fine when missing_ok.
 * Returns 0, or -1 with err naming the file, line, key and the problem. */
int helperd_config_load(struct helperd_config *c, const char *path, int missing_ok, char *err, size_t errlen);

/* The same from an open stream; name is used in messages. */
int helperd_config_load_stream(struct helperd_config *c, FILE *f, const char *name, char *err, size_t errlen);

/* Parse one "key = value" setting (also used for command-line overrides). */
int helperd_config_set(struct helperd_config *c, const char *key, const char *value, char *err, size_t errlen);

/* Sizes ("20GB", "512MiB", "2G") are common/size.h's: ctm_size_parse(),
 * ctm_size_for_incus(). */
#include "size.h"

#endif
