/* SPDX-License-Identifier: Apache-2.0 */
/* One jump account as helperd keeps it: the user.containarium.* keys of
 * its Incus instance, the instance's NIC and limits.  Incus holds the only
 * copy; this struct is what helperd reads out of an instance (and writes
 * back), never a second database. */
#ifndef CONTAINARIUM_HELPERD_ACCOUNT_H
#define CONTAINARIUM_HELPERD_ACCOUNT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot_format.h"

/* Instance config keys (all strings, as Incus config values are). */
#define ACCT_KEY_MANAGED "user.containarium.managed" /* "true" */
#define ACCT_KEY_USER "user.containarium.user"
#define ACCT_KEY_UID "user.containarium.uid"
#define ACCT_KEY_STATE "user.containarium.state" /* provisioning|active|suspended */
#define ACCT_KEY_IPV4 "user.containarium.ipv4"
#define ACCT_KEY_KEYS "user.containarium.keys"       /* key lines joined by "\n" */
#define ACCT_KEY_CREATED "user.containarium.created" /* RFC 3339, UTC */
#define ACCT_KEY_OWNER "user.containarium.helperd"   /* host that created it */
#define ACCT_KEY_IMAGE "user.containarium.image"     /* image it was created from */
#define ACCT_KEY_DOCKER "user.containarium.docker"   /* "true" when created with Docker */
/* What its SSH host certificates were signed for (host_cert.h):
 * "SHA256:<the CA's fingerprint> <IPv4>". */
#define ACCT_KEY_HOST_CERT "user.containarium.host_cert"

#define ACCT_NIC "eth0"

/* The reservations of its uid and address (reservation.h) it carries. */
#define ACCT_RESERVED_UID 1u
#define ACCT_RESERVED_IPV4 2u

/* Its host certificates against the CA helperd signs with now
 * (account_set_host_ca). */
enum account_host_cert {
	ACCT_HOST_CERT_OFF = 0, /* helperd has no host CA */
	ACCT_HOST_CERT_MISSING, /* never signed (made before, or without a CA) */
	ACCT_HOST_CERT_CURRENT, /* signed by the CA for its address */
	ACCT_HOST_CERT_STALE,   /* another CA, or another address */
};

struct account {
	char name[CTM_NAME_MAX + 1];
	unsigned char host_cert; /* enum account_host_cert */
	uint32_t uid;
	unsigned char ipv4[4];
	uint32_t state; /* enum ctm_state */
	int autostart;
	int docker;
	unsigned nic_options;  /* enum nic_option bits set on its eth0 (nic_policy.h) */
	unsigned reservations; /* ACCT_RESERVED_* profiles it carries (reservation.h) */
	char **keys;           /* canonical key lines, each malloc'd */
	size_t key_count;
	/* From the instance itself.  Never NULL ("" when Incus has no value);
	 * each is cut to the length given (as the fixed arrays of old did).
	 * They point into text, one allocation per account: a registry holds
	 * one account per container, 10,000s of them, and fixed arrays sized
	 * for the longest value took 568 bytes each (bench/README.md). */
	const char *instance;      /* < 64 (longer: not read) */
	const char *created;       /* user.containarium.created, <= 31 */
	const char *status;        /* Incus status: Running, Stopped, ...; <= 15 */
	const char *cpu;           /* <= 15 */
	const char *memory, *disk; /* <= 31 each */
	const char *image;         /* <= 127 */
	const char *owner;         /* host_id of the helperd that created it; <= 127 */
	const char *incus_created; /* the instance's created_at: orders duplicates (registry.c); <= 47 */
	const char *location;      /* the cluster member it is on ("" outside a cluster); <= 63 */
	int carried;               /* its member is unreachable: kept as last known (registry.h) */
	char *text;                /* owns the strings above (NULL: all are static "") */
};

/* The fingerprint ("SHA256:...") of the host CA that signs now, or NULL
 * (no CA): what account_from_instance compares ACCT_KEY_HOST_CERT with.
 * Set once at start, before any thread reads accounts; the string is
 * copied. */
void account_set_host_ca(const char *fingerprint);
const char *account_host_cert_name(unsigned state);

/* Read an instance object (GET /1.0/instances?recursion=1 element).
 * Returns 1 and fills a when it is a Containarium instance with valid keys,
 * 0 when it is not ours, -1 when it claims to be ours but a key is invalid
 * (why says which).  Only 1 leaves anything for account_free to free, but
 * account_free is safe on a after any result.  The account owns its
 * memory: it is moved (memcpy, memmove), never copied. */
int account_from_instance(json_object *inst, struct account *a, char *why, size_t whylen);

void account_free(struct account *a);

/* A copy of src (its own allocations) with status "Unknown": the account
 * of an instance whose cluster member does not answer, as last read.
 * 0, or -1 when out of memory. */
int account_carry(struct account *dst, const struct account *src);

/* The same from what the last published keys.db holds of the user (after
 * a restart, when nothing was read yet): name, uid, state, address, keys.
 * 0, or -1 (out of memory, or a key keys.db should never have held). */
struct ctm_keys;
int account_from_snapshot(struct account *dst, const struct ctm_keys *k, const char *instance, const char *location);

/* The state name stored in Incus and shown by the API. */
const char *account_state_name(uint32_t state);
int account_state_parse(const char *s, uint32_t *state);

/* The pinned address in host byte order. */
static inline uint32_t account_ipv4(const struct account *a)
{
	return (uint32_t)a->ipv4[0] << 24 | (uint32_t)a->ipv4[1] << 16 | (uint32_t)a->ipv4[2] << 8 | a->ipv4[3];
}

/* The account as the API shows it (GET /v1/containers/{user}). */
json_object *account_to_json(const struct account *a);

/* "\n"-joined key lines (malloc'd) for ACCT_KEY_KEYS. */
char *account_keys_join(char *const *keys, size_t n);

#endif
