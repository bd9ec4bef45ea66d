/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/containers: validate, then create a user's container in seven
 * numbered steps; undo everything on any failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allocate.h"
#include "deadline.h"
#include "helperd_log.h"
#include "host_cert.h"
#include "instance.h"
#include "key_fingerprint.h"
#include "lifecycle.h"
#include "nic_policy.h"
#include "reservation.h"
#include "snapshot_policy.h"
#include "sshkey.h"
#include "username.h"

static const char *const create_fields[] = {
	"name",   "ssh_keys",          "image",           "cpu", "memory", "disk", "autostart", "docker",
	"target", "snapshot_schedule", "snapshot_expiry", NULL
};

void create_spec_free(struct create_spec *s)
{
	for (size_t i = 0; i < s->key_count; i++)
		free(s->keys[i]);
	free(s->keys);
	s->keys = NULL;
	s->key_count = 0;
}

#define BAD(c, ...)                                                                                                    \
	do {                                                                                                           \
		*code = (c);                                                                                           \
		snprintf(msg, msglen, __VA_ARGS__);                                                                    \
		goto fail;                                                                                             \
	} while (0)

/* A string field, or a number for cpu. */
static const char *field_str(json_object *body, const char *key, char *num, size_t numlen)
{
	json_object *v;
	if (!json_object_object_get_ex(body, key, &v))
		return NULL;
	if (json_object_is_type(v, json_type_int)) {
		snprintf(num, numlen, "%lld", (long long)json_object_get_int64(v));
		return num;
	}
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

int create_spec_parse(struct helperd *d, json_object *body, struct create_spec *s, const char **code, char *msg,
		      size_t msglen)
{
	memset(s, 0, sizeof *s);
	char num[32], m[512];
	if (!body)
		BAD("invalid_request", "send a JSON object such as {\"name\": \"alice\", \"ssh_keys\": "
				       "[\"ssh-ed25519 AAAA... alice@laptop\"]}");
	json_object_object_foreach(body, key, val)
	{
		(void)val;
		int known = 0;
		for (const char *const *f = create_fields; *f; f++)
			known |= strcmp(*f, key) == 0;
		if (!known)
			BAD("invalid_request",
			    "unknown field \"%.40s\"; the fields are name, ssh_keys, image, "
			    "cpu, memory, disk, autostart, docker, target, snapshot_schedule, snapshot_expiry",
			    key);
	}
	json_object *v;
	if (!json_object_object_get_ex(body, "name", &v) || !json_object_is_type(v, json_type_string))
		BAD("invalid_name", "\"name\" is required: the user's name, such as \"alice\"");
	const char *name = json_object_get_string(v);
	size_t nlen = (size_t)json_object_get_string_len(v);
	if (ctm_username_check(name, nlen, m, sizeof m) != CTM_NAME_OK)
		BAD("invalid_name", "%s", m);
	memcpy(s->name, name, nlen + 1);

	json_object *keys;
	if (!json_object_object_get_ex(body, "ssh_keys", &keys) || !json_object_is_type(keys, json_type_array) ||
	    json_object_array_length(keys) == 0)
		BAD("invalid_key", "\"ssh_keys\" must list at least one public key (the contents of the "
				   "user's .pub file): without one nobody can log in");
	size_t nk = json_object_array_length(keys);
	if (nk > CTM_KEYS_PER_USER_MAX)
		BAD("invalid_key", "%zu keys given; the limit is %d", nk, CTM_KEYS_PER_USER_MAX);
	s->keys = calloc(nk, sizeof *s->keys);
	if (!s->keys)
		BAD("internal_error", "out of memory");
	for (size_t i = 0; i < nk; i++) {
		json_object *k = json_object_array_get_idx(keys, i);
		struct ctm_sshkey parsed;
		char canon[CTM_KEY_LINE_MAX + 1];
		if (!json_object_is_type(k, json_type_string))
			BAD("invalid_key", "ssh_keys[%zu] must be a string", i);
		if (ctm_sshkey_parse(json_object_get_string(k), (size_t)json_object_get_string_len(k), &parsed, m,
				     sizeof m) != CTM_KEY_OK)
			BAD("invalid_key", "ssh_keys[%zu]: %s", i, m);
		ctm_sshkey_format(&parsed, canon, sizeof canon);
		int dup = 0;
		for (size_t j = 0; j < s->key_count; j++)
			dup |= key_same(s->keys[j], canon);
		if (!dup && !(s->keys[s->key_count++] = strdup(canon)))
			BAD("internal_error", "out of memory");
	}

	const char *image = field_str(body, "image", num, sizeof num);
	if (image_ref_parse(&d->cfg, image ? image : d->cfg.image, &s->image, m, sizeof m))
		BAD("invalid_image", "%s", m);
	image_ref_format(&s->image, s->image_text, sizeof s->image_text);

	const char *cpu = field_str(body, "cpu", num, sizeof num);
	cpu = cpu ? cpu : d->cfg.default_cpu;
	char *end;
	errno = 0;
	long ncpu = strtol(cpu, &end, 10);
	if (!*cpu || *end || errno || ncpu < 1 || ncpu > 1024)
		BAD("invalid_cpu", "cpu \"%.20s\" must be a whole number of CPUs from 1 to 1024", cpu);
	snprintf(s->cpu, sizeof s->cpu, "%ld", ncpu);

	char num2[32]; /* memory and disk may both be numbers */
	const char *mem = field_str(body, "memory", num, sizeof num),
		   *disk = field_str(body, "disk", num2, sizeof num2);
	unsigned long long bytes;
	mem = mem ? mem : d->cfg.default_memory;
	if (ctm_size_parse(mem, &bytes) || bytes < (64ULL << 20) ||
	    ctm_size_for_incus(mem, s->memory, sizeof s->memory))
		BAD("invalid_memory",
		    "memory \"%.20s\" must be a size of at least 64MiB, written like 4GB "
		    "or 512MiB",
		    mem);
	s->disk_given = disk != NULL;
	disk = disk ? disk : d->cfg.default_disk;
	if (ctm_size_parse(disk, &bytes) || bytes < (512ULL << 20) || ctm_size_for_incus(disk, s->disk, sizeof s->disk))
		BAD("invalid_disk", "disk \"%.20s\" must be a size of at least 512MiB, written like 50GB", disk);

	s->autostart = d->cfg.default_autostart;
	if (json_object_object_get_ex(body, "autostart", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			BAD("invalid_request", "\"autostart\" must be true or false");
		s->autostart = json_object_get_boolean(v);
	}
	s->docker = d->cfg.default_docker;
	if (json_object_object_get_ex(body, "docker", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			BAD("invalid_request", "\"docker\" must be true or false");
		s->docker = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(body, "target", &v)) {
		const char *t = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		size_t tl = strlen(t);
		if (!tl || tl >= sizeof s->target || t[0] == '-' || t[0] == '.' ||
		    strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != tl)
			BAD("invalid_target", "\"target\" must name a cluster member (letters, digits, '-' and '.'; "
					      "`incus cluster list` shows them)");
		memcpy(s->target, t, tl + 1);
	}

	if (snapshot_fields_parse(d, body, s->snap_schedule, sizeof s->snap_schedule, s->snap_expiry,
				  sizeof s->snap_expiry, m, sizeof m))
		BAD("invalid_snapshot_policy", "%s", m);

	/* The name must not belong to anyone else on this host: root, sshd,
	 * a local, LDAP or OS Login user.  Our own NSS module never does IPC,
	 * so this lookup cannot deadlock on us; a hit on our own user (same
	 * uid as in the registry) is reported as "already exists" later. */
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwnam_r(s->name, &pw, buf, sizeof buf, &res) == 0 && res) {
		pthread_mutex_lock(&d->lock);
		const struct account *a = registry_find(&d->reg, s->name);
		int ours = a && a->uid == pw.pw_uid;
		pthread_mutex_unlock(&d->lock);
		if (ours)
			BAD("already_exists",
			    "user %s already has a container; delete it first or choose another "
			    "name",
			    s->name);
		BAD("name_taken", "\"%s\" is already a user on this host (uid %u); choose another name", s->name,
		    (unsigned)pw.pw_uid);
	}
	return 0;
fail:
	create_spec_free(s);
	return -1;
}

void lifecycle_job_free(void *arg)
{
	struct lifecycle_job *job = arg;
	create_spec_free(&job->spec);
	free(job);
}

static void ip_text(uint32_t ip, char *buf, size_t len)
{
	struct in_addr in = { htonl(ip) };
	inet_ntop(AF_INET, &in, buf, (socklen_t)len);
}

static void now_rfc3339(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The body of POST /1.0/instances. */
/* The uid and address one create holds: candidates in this helperd
 * (allocate.h) and, once claimed, reservations in Incus (reservation.h),
 * which the instance carries as its only two profiles. */
struct claim {
	uint32_t uid, ip;
	char uid_res[RESERVATION_NAME_MAX], ip_res[RESERVATION_NAME_MAX]; /* "" until claimed */
	struct alloc_skip skip;
	int tries;
};

static json_object *claim_profiles(const struct claim *cl)
{
	json_object *p = json_object_new_array();
	json_object_array_add(p, json_object_new_string(cl->uid_res));
	json_object_array_add(p, json_object_new_string(cl->ip_res));
	return p;
}

static json_object *instance_body(struct helperd *d, const struct create_spec *s, const char *iname,
				  const struct claim *cl, const struct nic_policy *nic, json_object *src)
{
	uint32_t uid = cl->uid, ip = cl->ip;
	char ipbuf[INET_ADDRSTRLEN], uidbuf[16], created[32];
	ip_text(ip, ipbuf, sizeof ipbuf);
	snprintf(uidbuf, sizeof uidbuf, "%u", uid);
	now_rfc3339(created, sizeof created);
	json_object *b = json_object_new_object();
	json_object *cfg = json_object_new_object(), *devs = json_object_new_object();
	json_object *root = json_object_new_object();
	json_object_object_add(b, "name", json_object_new_string(iname));
	json_object_object_add(b, "type", json_object_new_string("container"));
	/* No shared profile: the instance carries all its devices, so a change
	 * to a shared profile can never move a user's address or disk.  Its
	 * two reservations are empty profiles of its own. */
	json_object_object_add(b, "profiles", claim_profiles(cl));
	json_object_object_add(b, "source", src);
	json_object_object_add(cfg, ACCT_KEY_MANAGED, json_object_new_string("true"));
	json_object_object_add(cfg, ACCT_KEY_USER, json_object_new_string(s->name));
	json_object_object_add(cfg, ACCT_KEY_UID, json_object_new_string(uidbuf));
	json_object_object_add(cfg, ACCT_KEY_STATE, json_object_new_string("provisioning"));
	json_object_object_add(cfg, ACCT_KEY_IPV4, json_object_new_string(ipbuf));
	char *keys = account_keys_join(s->keys, s->key_count);
	json_object_object_add(cfg, ACCT_KEY_KEYS, json_object_new_string(keys ? keys : ""));
	free(keys);
	json_object_object_add(cfg, ACCT_KEY_CREATED, json_object_new_string(created));
	json_object_object_add(cfg, ACCT_KEY_OWNER, json_object_new_string(d->host_id));
	json_object_object_add(cfg, ACCT_KEY_IMAGE, json_object_new_string(s->image_text));
	json_object_object_add(cfg, ACCT_KEY_DOCKER, json_object_new_string(s->docker ? "true" : "false"));
	json_object_object_add(cfg, "limits.cpu", json_object_new_string(s->cpu));
	json_object_object_add(cfg, "limits.memory", json_object_new_string(s->memory));
	json_object_object_add(cfg, "boot.autostart", json_object_new_string(s->autostart ? "true" : "false"));
	if (s->docker) {
		json_object_object_add(cfg, "security.nesting", json_object_new_string("true"));
		json_object_object_add(cfg, "security.syscalls.intercept.mknod", json_object_new_string("true"));
		json_object_object_add(cfg, "security.syscalls.intercept.setxattr", json_object_new_string("true"));
	}
	json_object_object_add(b, "config", cfg);
	json_object_object_add(root, "type", json_object_new_string("disk"));
	json_object_object_add(root, "path", json_object_new_string("/"));
	json_object_object_add(root, "pool", json_object_new_string(d->cfg.storage_pool));
	if (*s->disk)
		json_object_object_add(root, "size", json_object_new_string(s->disk));
	json_object_object_add(devs, "root", root);
	json_object_object_add(devs, ACCT_NIC, nic_device_new(&d->cfg, nic, ipbuf));
	json_object_object_add(b, "devices", devs);
	return b;
}

/* Move this instance to the address cl holds now (it is stopped).  The
 * NIC is given whole (a PATCH replaces a device), with its options, and
 * the profiles with the new reservation. */
static enum incus_status move_address(struct incus_client *c, struct helperd *d, const char *iname,
				      const struct claim *cl, char *err, size_t errlen)
{
	char path[256], ipbuf[INET_ADDRSTRLEN];
	struct nic_policy nic;
	nic_policy_for(c, &d->cfg, &nic);
	ip_text(cl->ip, ipbuf, sizeof ipbuf);
	snprintf(path, sizeof path, "/1.0/instances/%s", iname);
	json_object *b = json_object_new_object(), *cfg = json_object_new_object();
	json_object *devs = json_object_new_object();
	json_object_object_add(cfg, ACCT_KEY_IPV4, json_object_new_string(ipbuf));
	json_object_object_add(b, "config", cfg);
	json_object_object_add(devs, ACCT_NIC, nic_device_new(&d->cfg, &nic, ipbuf));
	json_object_object_add(b, "devices", devs);
	json_object_object_add(b, "profiles", claim_profiles(cl));
	enum incus_status s = incus_call(c, "PATCH", path, b, NULL, 60, NULL, err, errlen);
	json_object_put(b);
	return s;
}

/* Reserve a uid (need_uid) and/or an address (need_ip) for user: take the
 * lowest candidates, claim them in Incus, and take the next ones while a
 * claim finds its value reserved already (another helperd's create, or a
 * reservation a crash left).  Bounded; the user never sees the retries.
 * A value replaced here is given up in this helperd, not in Incus: the
 * caller releases a reservation it no longer wants. */
static enum incus_status claim_values(struct incus_client *c, struct helperd *d, const char *user,
				      const struct subnet *sn, const struct registry *known, struct claim *cl,
				      int need_uid, int need_ip, char *err, size_t errlen)
{
	/* known: the registry the caller has just read (one read of every
	 * instance less per create); NULL: read it now. */
	struct registry reg = { 0 };
	enum incus_status st;
	if (!known && (st = registry_load(c, &reg, err, errlen)) != INCUS_OK)
		return st;
	const struct registry *r = known ? known : &reg;
	for (;;) {
		if (allocate_pick(r, d->cfg.uid_min, d->cfg.uid_max, sn, &cl->skip, need_uid, need_ip, &cl->uid,
				  &cl->ip)) {
			registry_free(&reg);
			snprintf(err, errlen, "no free %s left", need_uid ? "uid" : "IPv4 address");
			return INCUS_ERR_CONFLICT;
		}
		char name[RESERVATION_NAME_MAX];
		if (need_uid) {
			reservation_uid_name(cl->uid, name, sizeof name);
			st = reservation_claim(c, name, user, d->host_id, err, errlen);
			if (st == INCUS_OK) {
				snprintf(cl->uid_res, sizeof cl->uid_res, "%s", name);
				need_uid = 0;
			} else if (st != INCUS_ERR_CONFLICT || allocate_skip_uid(&cl->skip, cl->uid)) {
				break;
			}
		}
		if (need_ip) {
			reservation_ipv4_name(cl->ip, name, sizeof name);
			st = reservation_claim(c, name, user, d->host_id, err, errlen);
			if (st == INCUS_OK) {
				snprintf(cl->ip_res, sizeof cl->ip_res, "%s", name);
				need_ip = 0;
			} else if (st != INCUS_ERR_CONFLICT || allocate_skip_ip(&cl->skip, cl->ip)) {
				break;
			}
		}
		if (!need_uid && !need_ip) {
			st = INCUS_OK;
			break;
		}
		if (++cl->tries == ALLOC_SKIP_MAX) {
			st = INCUS_ERR_CONFLICT;
			break;
		}
		log_debug("create %s: %s reserved already; trying the next", user, name);
	}
	registry_free(&reg);
	if (st == INCUS_ERR_CONFLICT)
		snprintf(err, errlen,
			 "could not reserve a uid and an address: %d candidates in a row were "
			 "reserved already",
			 cl->tries);
	return st;
}

/* Give up what cl holds, in Incus and in this helperd. */
static void claim_release(struct incus_client *c, struct claim *cl)
{
	char e2[512];
	for (char *res = cl->uid_res; res; res = res == cl->uid_res ? cl->ip_res : NULL)
		if (*res && reservation_release(c, res, e2, sizeof e2) != INCUS_OK)
			log_warning("could not remove reservation %s (%s); the next helperd start removes it", res, e2);
	allocate_release(cl->uid, cl->ip);
}

int network_subnet(struct incus_client *c, struct helperd *d, struct subnet *sn, char *err, size_t errlen)
{
	char path[160];
	snprintf(path, sizeof path, "/1.0/networks/%s", d->cfg.network);
	json_object *md = NULL, *cfg, *addr, *ranges;
	if (incus_get(c, path, &md, NULL, err, errlen) != INCUS_OK)
		return -1;
	int ok = json_object_object_get_ex(md, "config", &cfg) &&
		 json_object_object_get_ex(cfg, "ipv4.address", &addr) &&
		 subnet_parse(json_object_get_string(addr), sn) == 0;
	if (ok && json_object_object_get_ex(cfg, "ipv4.dhcp.ranges", &ranges) &&
	    subnet_parse_dhcp(json_object_get_string(ranges), sn) != 0)
		sn->dhcp_count = 0; /* unreadable: treat the whole subnet as DHCP's */
	json_object_put(md);
	if (!ok) {
		snprintf(err, errlen,
			 "network %s has no IPv4 subnet (ipv4.address): containers need one for "
			 "their pinned address",
			 d->cfg.network);
		return -1;
	}
	/* Addresses the DHCP server still holds (allocate.h).  Best effort:
	 * without the list, allocation falls back to the registry alone. */
	snprintf(path, sizeof path, "/1.0/networks/%s/leases", d->cfg.network);
	char lerr[256];
	json_object *leases = NULL;
	if (incus_get(c, path, &leases, NULL, lerr, sizeof lerr) != INCUS_OK) {
		log_warning("cannot read the DHCP leases of %s (%s): allocating from the registry alone",
			    d->cfg.network, lerr);
		return 0;
	}
	size_t n = json_object_is_type(leases, json_type_array) ? json_object_array_length(leases) : 0, k = 0;
	uint32_t *ips = n ? malloc(n * sizeof *ips) : NULL;
	for (size_t i = 0; ips && i < n; i++) {
		json_object *a = NULL;
		struct in_addr in;
		if (json_object_object_get_ex(json_object_array_get_idx(leases, i), "address", &a) &&
		    inet_pton(AF_INET, json_object_get_string(a), &in) == 1)
			ips[k++] = ntohl(in.s_addr);
	}
	json_object_put(leases);
	subnet_set_leased(sn, ips, k);
	return 0;
}

/* Steps 5 and 6, done in two calls to Incus: one exec of a fixed script
 * (useradd, the sudoers drop-in and visudo's check of it, the .ssh
 * directory, the docker group when asked, the uid), then the push of
 * authorized_keys owned by that uid.  Each was a call of its own (four
 * execs, two pushes), and an exec is a round trip through Incus's exec
 * machinery.
 *
 * The script first checks that the image has what a user needs to log in
 * (sshd, useradd, sudo, and docker when asked): without one of them it
 * changes nothing, prints "missing: PACKAGE..." and exits 20, and step 4
 * installs them once the container has its network (install_script).
 *
 * The script is a constant; the user's name reaches it as "$1" (and was
 * validated: [a-z0-9-]), "docker" or "-" as "$2".  Key text never goes
 * through a shell: it is the pushed file's content.  Every command's exit
 * status is checked, and the script exits with a status that says which
 * one failed.  It may run twice (incus_exec retries an exec LXD reports as
 * unattached, which can happen after the command started): every line is
 * idempotent.
 *
 * With a host CA ("$3" = hostkeys) it also makes the container's
 * certified host keys with the container's own ssh-keygen and the sshd
 * drop-in that names them and their certificates, and prints the public
 * halves (HOST_KEYS_SCRIPT); helperd signs them on the host and pushes the
 * certificates beside them (host_cert_push), on a thread of its own.  The
 * image's first boot starts sshd a second or more later and reads the
 * drop-in: no reload, and no second exec.
 *
 * It runs as soon as the container has started, while it waits for its
 * address (an exec needs the container running, not its network): its
 * time, and the certificates', hides inside the DHCP wait.  The steps are
 * still reported in order, each with its own outcome. */
static const char user_script[] =
	"missing=\n"
	"[ -x /usr/sbin/sshd ] || missing=\"$missing openssh-server\"\n"
	"command -v useradd >/dev/null 2>&1 || missing=\"$missing passwd\"\n"
	"command -v visudo >/dev/null 2>&1 || missing=\"$missing sudo\"\n"
	"[ \"$2\" != docker ] || command -v docker >/dev/null 2>&1 || missing=\"$missing docker.io\"\n"
	"if [ -n \"$missing\" ]; then echo \"missing:$missing\"; exit 20; fi\n"
	"id -u \"$1\" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --user-group --groups sudo "
	"--comment 'Containarium user' \"$1\" || exit 11\n"
	"printf '%s ALL=(ALL) NOPASSWD:ALL\\n' \"$1\" >/etc/sudoers.d/containarium || exit 12\n"
	"chmod 0440 /etc/sudoers.d/containarium || exit 12\n"
	"visudo -c -q -f /etc/sudoers.d/containarium || exit 13\n"
	"install -d -m 0700 -o \"$1\" -g \"$1\" \"/home/$1/.ssh\" || exit 14\n"
	"if [ \"$2\" = docker ]; then\n"
	"  getent group docker >/dev/null || groupadd --system docker || exit 16\n"
	"  usermod -aG docker \"$1\" || exit 16\n"
	"fi\n"
	"id -u \"$1\" || exit 15\n"
	"[ \"$3\" = hostkeys ] || exit 0\n" HOST_KEYS_SCRIPT;

/* Step 4 when the image lacks something: install it with the container's
 * own package manager and package sources ("$@": the missing packages).
 * Exit 30: no apt-get; 31: no package index could be read; 32: the
 * install failed. */
static const char install_script[] = "command -v apt-get >/dev/null 2>&1 || exit 30\n"
				     "export DEBIAN_FRONTEND=noninteractive\n"
				     "apt-get update -q -o APT::Update::Error-Mode=any >/dev/null || exit 31\n"
				     "apt-get install -y -q --no-install-recommends \"$@\" >/dev/null || exit 32\n";

struct user_setup {
	const struct create_spec *s;
	bool ran;
	int step; /* the step that failed: 5 or 6 (0: none) */
	enum incus_status st;
	char missing[256]; /* the script's "missing:" list ("" when nothing is missing) */
	char err[1024];
	/* With a host CA: the certificates are signed and pushed on a thread
	 * of their own (cert_thread) while the authorized_keys push and the
	 * wait for the address go on; cert_record is what ACCT_KEY_HOST_CERT
	 * should say once they are in place ("" until then, or on failure,
	 * with cert_err saying why).  Joined by cert_join. */
	struct helperd *d;
	struct incus_client *cert_c; /* the thread's own client */
	char iname[64], ip[INET_ADDRSTRLEN];
	struct host_keys hk;
	pthread_t cert_tid;
	bool cert_running;
	double cert_seconds;
	char cert_record[HOST_CERT_RECORD_MAX];
	char cert_err[1024];
};

static void *cert_thread(void *arg)
{
	struct user_setup *u = arg;
	double t0 = ctm_now_s();
	if (host_cert_push(u->cert_c, u->d, u->iname, u->ip, &u->hk, true, u->cert_record, sizeof u->cert_record,
			   u->cert_err, sizeof u->cert_err) != INCUS_OK)
		u->cert_record[0] = '\0';
	u->cert_seconds = ctm_now_s() - t0;
	return NULL;
}

/* Start the certificates' thread for the keys in u (pushing them on this
 * thread when no other can be started). */
static void cert_start(struct user_setup *u, struct incus_client *c)
{
	if (incus_clone(c, &u->cert_c, u->cert_err, sizeof u->cert_err) == INCUS_OK) {
		/* It inherits the operation thread's mask: no signals. */
		int rc = pthread_create(&u->cert_tid, NULL, cert_thread, u);
		if (rc == 0) {
			u->cert_running = true;
			return;
		}
		incus_close(u->cert_c);
		u->cert_c = NULL;
	}
	if (host_cert_push(c, u->d, u->iname, u->ip, &u->hk, true, u->cert_record, sizeof u->cert_record, u->cert_err,
			   sizeof u->cert_err) != INCUS_OK)
		u->cert_record[0] = '\0';
}

/* Wait for the certificates' thread, if it runs, and free its keys. */
static void cert_join(struct user_setup *u)
{
	if (u->cert_running) {
		double t0 = ctm_now_s();
		pthread_join(u->cert_tid, NULL);
		u->cert_running = false;
		incus_close(u->cert_c);
		u->cert_c = NULL;
		/* What they added to the create: the wait for them here, once
		 * everything else was done. */
		log_debug("create %s: host certificates done in %.3f s, waited for %.3f s%s%s", u->s->name,
			  u->cert_seconds, ctm_now_s() - t0,
			  u->cert_record[0] ? "" : "; failed: ", u->cert_record[0] ? "" : u->cert_err);
	}
	host_keys_free(&u->hk);
}

static void user_setup_run(struct incus_client *c, struct helperd *d, const char *iname, uint32_t ip,
			   struct user_setup *u)
{
	static const char *const what[] = { "useradd",
					    "writing /etc/sudoers.d/containarium",
					    "visudo -c of /etc/sudoers.d/containarium",
					    "creating the .ssh directory",
					    "id -u",
					    "adding the user to group docker",
					    "making the SSH host keys (ssh-keygen in " HOST_KEY_DIR
					    ") or their sshd drop-in" };
	const struct create_spec *s = u->s;
	u->ran = true;
	u->step = 5;
	u->missing[0] = '\0';
	cert_join(u); /* a run before (step 4 runs it again) */
	u->cert_record[0] = u->cert_err[0] = '\0';
	u->d = d;
	snprintf(u->iname, sizeof u->iname, "%s", iname);
	ip_text(ip, u->ip, sizeof u->ip);
	const bool certs = *d->host_ca_fp != '\0';
	const char *argv[] = { "sh",
			       "-c",
			       user_script,
			       "containarium-user-setup",
			       s->name,
			       s->docker ? "docker" : "-",
			       certs ? "hostkeys" : "-",
			       NULL };
	char *out = NULL, *errout = NULL;
	int code = -1;
	double t0 = ctm_now_s();
	u->st = incus_exec(c, iname, argv, 120, &code, &out, &errout, u->err, sizeof u->err);
	double t1 = ctm_now_s();
	if (u->st == INCUS_ERR_COMMAND && code == 20 && out && strncmp(out, "missing:", 8) == 0) {
		snprintf(u->missing, sizeof u->missing, "%s", out + 8 + strspn(out + 8, " "));
		u->missing[strcspn(u->missing, "\n")] = '\0';
		free(out);
		free(errout);
		return; /* step 4 installs them and runs this again */
	}
	if (u->st == INCUS_ERR_COMMAND && code >= 11 && code <= 17)
		snprintf(u->err, sizeof u->err, "%s for %s in %s failed%s%.300s", what[code - 11], s->name, iname,
			 errout && *errout ? ": " : "", errout ? errout : "");
	free(errout);
	char *end = NULL;
	unsigned long cuid = u->st == INCUS_OK && out ? strtoul(out, &end, 10) : 0;
	if (u->st == INCUS_OK && (!out || end == out || cuid == 0 || cuid > 0xfffffffe)) {
		snprintf(u->err, sizeof u->err, "id -u %s in %s printed \"%.40s\", not a uid", s->name, iname,
			 out ? out : "");
		u->st = INCUS_ERR_PROTOCOL;
	}
	if (u->st == INCUS_OK && certs && host_keys_parse(out, &u->hk, u->cert_err, sizeof u->cert_err))
		u->hk.n = 0;
	free(out);
	if (u->st != INCUS_OK) {
		host_keys_free(&u->hk);
		return;
	}

	/* The host certificates: signed here and pushed there, alongside. */
	double t2 = ctm_now_s();
	if (u->hk.n)
		cert_start(u, c);

	u->step = 6;
	char ak[100];
	snprintf(ak, sizeof ak, "/home/%s/.ssh/authorized_keys", s->name);
	char *text = account_keys_join(s->keys, s->key_count);
	size_t tlen = text ? strlen(text) : 0;
	char *file = text ? realloc(text, tlen + 2) : NULL;
	if (!file) {
		free(text);
		snprintf(u->err, sizeof u->err, "out of memory");
		u->st = INCUS_ERR_SERVER;
		return;
	}
	file[tlen] = '\n';
	file[tlen + 1] = '\0';
	u->st = incus_file_push(c, iname, ak, file, tlen + 1, (uid_t)cuid, (gid_t)cuid, 0600, u->err, sizeof u->err);
	free(file);
	if (u->st == INCUS_OK)
		u->step = 0;
	log_debug("create %s: user setup exec %.3f s, authorized_keys %.3f s", s->name, t1 - t0, ctm_now_s() - t2);
}

/* Step 4: install what user_setup_run found missing.  0, or -1 with the
 * API error code and a sentence that names the image and what it lacks. */
static int install_missing(struct incus_client *c, const char *iname, const struct create_spec *s, const char *missing,
			   int *http, const char **code, char *msg, size_t msglen)
{
	const char *argv[16] = { "sh", "-c", install_script, "containarium-install" };
	size_t n = 4;
	char list[256];
	snprintf(list, sizeof list, "%s", missing);
	char *save = NULL;
	for (char *t = strtok_r(list, " ", &save); t && n < 15; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	int rc = -1;
	char *errout = NULL, err[1024];
	enum incus_status st = incus_exec(c, iname, argv, 900, &rc, NULL, &errout, err, sizeof err);
	/* Only docker.io missing: the request's own option failed, not the image. */
	int docker_only = strcmp(missing, "docker.io") == 0;
	*code = docker_only ? "docker_install_failed" : "image_not_ready";
	*http = 502;
	const char *advice = docker_only ? "use an image with Docker, or create without docker"
					 : "use an image that has them (an SSH server, sudo and useradd), or make its "
					   "package sources reachable from the container";
	if (st == INCUS_ERR_COMMAND && rc == 30 && (*http = 422))
		snprintf(msg, msglen, "image %s lacks %s and has no apt-get to install %s: %s", s->image_text, missing,
			 strchr(missing, ' ') ? "them" : "it", advice);
	else if (st == INCUS_ERR_COMMAND && (rc == 31 || rc == 32)) {
		char tail[300] = "";
		if (errout) {
			size_t len = strlen(errout);
			while (len && errout[len - 1] == '\n')
				errout[--len] = '\0';
			char *last = strrchr(errout, '\n');
			snprintf(tail, sizeof tail, ": %.280s", last ? last + 1 : errout);
		}
		snprintf(msg, msglen,
			 "%s %s not in image %s and could not be installed from its package sources "
			 "(apt-get %s failed%s); %s",
			 docker_only ? "Docker" : missing, docker_only || !strchr(missing, ' ') ? "is" : "are",
			 s->image_text, rc == 31 ? "update" : "install", tail, advice);
	} else if (st != INCUS_OK) {
		*code = st == INCUS_ERR_UNAVAILABLE ? "backend_unavailable" : "backend_error";
		snprintf(msg, msglen, "installing %s in %s failed: %.700s", missing, iname, err);
	}
	free(errout);
	return st == INCUS_OK ? 0 : -1;
}

/* Steps 2 and 3: start, and wait until the container runs with its pinned
 * address.  A container that gets another address from DHCP lost its
 * pinned one to a stale lease: stop it, reserve another address, move it
 * there, release the old one and start it again. */
static enum incus_status start_and_wait(struct operation *op, struct incus_client *c, struct helperd *d,
					const char *user, const char *iname, const struct subnet *sn, struct claim *cl,
					struct user_setup *setup, char *err, size_t errlen)
{
	enum incus_status st;
	for (int moves = 0;; moves++) {
		if (moves == 0)
			operation_step(op, 2, "Starting container...");
		if ((st = instance_set_state(c, iname, "start", 0, 60, err, errlen)) != INCUS_OK)
			return st;
		if (moves == 0)
			operation_step(op, 3, "Waiting for network...");
		/* Its failure is reported at its own step, once the address is
		 * there: a container that died while booting fails the exec too,
		 * and the wait below says so better. */
		if (!setup->ran)
			user_setup_run(c, d, iname, cl->ip, setup);
		double t0 = ctm_now_s();
		st = instance_wait_ready(c, iname, cl->ip, 90, err, errlen);
		log_debug("create %s: the address came %.3f s after the user setup", user, ctm_now_s() - t0);
		if (st != INCUS_ERR_ADDRESS_HELD || moves == 3)
			return st;
		log_warning("create %s: %s; moving it to another address", user, err);
		allocate_avoid(cl->ip);
		if ((st = instance_set_state(c, iname, "stop", 1, 30, err, errlen)) != INCUS_OK)
			return st;
		char old[RESERVATION_NAME_MAX];
		snprintf(old, sizeof old, "%s", cl->ip_res);
		if ((st = claim_values(c, d, user, sn, NULL, cl, 0, 1, err, errlen)) != INCUS_OK) {
			snprintf(cl->ip_res, sizeof cl->ip_res, "%s", old); /* still held: released on rollback */
			return st;
		}
		if ((st = move_address(c, d, iname, cl, err, errlen)) != INCUS_OK) {
			char e2[512];
			reservation_release(c, cl->ip_res, e2, sizeof e2);
			snprintf(cl->ip_res, sizeof cl->ip_res, "%s", old);
			return st;
		}
		char e2[512];
		if (reservation_release(c, old, e2, sizeof e2) != INCUS_OK)
			log_warning("could not remove reservation %s (%s); the next helperd start removes it", old, e2);
	}
}

/* A create from a remote image failed while the backend fetched it: the
 * server did not answer, refused its certificate, or has no such image. */
static bool image_fetch_failed(const char *err)
{
	static const char *const signs[] = { "image", "Failed to connect to", "certificate", "x509",
					     "tls:",  "simple streams server" };
	for (size_t i = 0; i < sizeof signs / sizeof signs[0]; i++)
		if (strcasestr(err, signs[i]))
			return true;
	return false;
}

static int http_for(enum incus_status s)
{
	switch (s) {
	case INCUS_ERR_UNAVAILABLE: return 503;
	case INCUS_ERR_CONFLICT: return 409;
	case INCUS_ERR_NOT_FOUND: return 404;
	case INCUS_ERR_TIMEOUT: return 504;
	default: return 502;
	}
}

void lifecycle_create(struct operation *op, void *arg)
{
	struct lifecycle_job *job = arg;
	struct helperd *d = job->d;
	const struct create_spec *s = &job->spec;
	char err[1024], iname[64], msg[1200];
	enum incus_status st = INCUS_OK;
	int created = 0;
	struct claim cl = { 0 }; /* held until out: released there unless the account is made */
	int made = 0;
	struct subnet sn = { 0 };
	/* Its certificates' thread is joined before the instance may go. */
	struct user_setup setup = { .s = s };
	helperd_instance_name(d, s->name, iname, sizeof iname);
	struct incus_client *c = helperd_client(d, err, sizeof err);
	if (!c) {
		operation_fail(op, 503, "backend_unavailable", "%s", err);
		return;
	}

	operation_step(op, 1, "Creating container...");
	struct registry reg;
	if ((st = registry_load(c, &reg, err, sizeof err)) != INCUS_OK)
		goto incus_fail;
	if (registry_find(&reg, s->name)) {
		registry_free(&reg);
		operation_fail(op, 409, "already_exists",
			       "user %s already has a container; delete it first "
			       "or choose another name",
			       s->name);
		goto out;
	}
	if (network_subnet(c, d, &sn, err, sizeof err)) {
		registry_free(&reg);
		operation_fail(op, 500, "backend_misconfigured", "%s", err);
		goto out;
	}
	st = claim_values(c, d, s->name, &sn, &reg, &cl, 1, 1, err, sizeof err);
	registry_free(&reg);
	if (st == INCUS_ERR_CONFLICT) {
		operation_fail(op, 507, "no_capacity",
			       "no free uid or IPv4 address left (%s): widen "
			       "uid_min/uid_max in helperd.conf or use a larger subnet on %s",
			       err, d->cfg.network);
		goto out;
	}
	if (st != INCUS_OK)
		goto incus_fail;
	struct nic_policy nic;
	nic_policy_for(c, &d->cfg, &nic);
	for (int tries = 0;; tries++) {
		json_object *src = image_source_json(&s->image, incus_server_kind(c), err, sizeof err);
		if (!src) {
			operation_fail(op, 500, "backend_misconfigured", "%s", err);
			goto out;
		}
		json_object *body = instance_body(d, s, iname, &cl, &nic, src);
		/* A remote image is pulled during this call (the first time only:
		 * Incus keeps it cached), which can take minutes on a slow link. */
		char path[128] = "/1.0/instances";
		if (*s->target)
			snprintf(path, sizeof path, "/1.0/instances?target=%s", s->target);
		st = incus_call(c, "POST", path, body, NULL, 1800, NULL, err, sizeof err);
		json_object_put(body);
		/* An instance helperd does not manage pins this address (Incus
		 * checks a managed network's addresses at create): take another. */
		if (st != INCUS_ERR_REQUEST || !strstr(err, "already defined") || tries == 3)
			break;
		char old[RESERVATION_NAME_MAX], e2[512];
		snprintf(old, sizeof old, "%s", cl.ip_res);
		log_info("create %s: %s; taking another address", s->name, incus_error_reason(err));
		if (allocate_skip_ip(&cl.skip, cl.ip) ||
		    (st = claim_values(c, d, s->name, &sn, NULL, &cl, 0, 1, err, sizeof err)) != INCUS_OK) {
			snprintf(cl.ip_res, sizeof cl.ip_res, "%s", old);
			goto incus_fail;
		}
		reservation_release(c, old, e2, sizeof e2);
	}
	if (st == INCUS_ERR_CONFLICT) {
		operation_fail(op, 409, "already_exists",
			       "a container named %s already exists; delete it "
			       "first or choose another name",
			       iname);
		goto out;
	}
	if (*s->target && st != INCUS_OK && st != INCUS_ERR_UNAVAILABLE &&
	    (strcasestr(err, "member") || strcasestr(err, "clustered") || strcasestr(err, "not found"))) {
		operation_fail(op, 400, "invalid_target",
			       "cannot place %s on cluster member \"%s\": %s; "
			       "`incus cluster list` names the members",
			       iname, s->target, incus_error_reason(err));
		created = 1; /* in case the backend made part of it */
		goto rollback;
	}
	if (st != INCUS_OK) {
		/* A create that failed part-way can leave an instance behind. */
		created = 1;
		if (s->image.remote_given && st != INCUS_ERR_UNAVAILABLE && image_fetch_failed(err)) {
			const struct image_remote *r = &s->image.remote;
			operation_fail(op, 502, "image_unavailable",
				       "image %s could not be fetched from %s (%s): %s; "
				       "check the alias, and remote %s's URL and certificate in helperd.conf, and that "
				       "the backend reaches the server (its core.proxy_https applies)",
				       s->image_text, r->url, r->protocol, incus_error_reason(err), r->name);
			goto rollback;
		}
		goto incus_fail;
	}
	created = 1;
	st = start_and_wait(op, c, d, s->name, iname, &sn, &cl, &setup, err, sizeof err);
	if (st != INCUS_OK)
		goto incus_fail;

	/* Step 4: what the image lacks, installed now that the container has
	 * its network; the user's setup then runs (again). */
	if (setup.missing[0]) {
		operation_step(op, 4, "Installing Docker, SSH, and tools...");
		log_info("create %s: image %s lacks %s; installing from the container's package sources", s->name,
			 s->image_text, setup.missing);
		int http = 502;
		const char *code = "image_not_ready";
		if (install_missing(c, iname, s, setup.missing, &http, &code, msg, sizeof msg)) {
			operation_fail(op, http, code, "%s", msg);
			goto rollback;
		}
		char was[sizeof setup.missing];
		snprintf(was, sizeof was, "%s", setup.missing);
		user_setup_run(c, d, iname, cl.ip, &setup);
		if (setup.missing[0]) {
			operation_fail(op, 502, "image_not_ready",
				       "image %s still lacks %s after installing %s: use an "
				       "image with an SSH server (openssh-server), sudo and useradd",
				       s->image_text, setup.missing, was);
			goto rollback;
		}
	} else {
		operation_step(op, 4,
			       s->docker ? "Docker, SSH, and tools: already in the image..."
					 : "SSH and tools: already in the image...");
	}

	/* Done while the address came (user_setup_run): each step reports
	 * its own outcome, in order. */
	snprintf(msg, sizeof msg, "Creating user %s...", s->name);
	operation_step(op, 5, msg);
	if (setup.step == 5) {
		st = setup.st;
		snprintf(err, sizeof err, "%s", setup.err);
		goto incus_fail;
	}
	operation_step(op, 6, "Adding SSH keys...");
	if (setup.step == 6) {
		st = setup.st;
		snprintf(err, sizeof err, "%s", setup.err);
		goto incus_fail;
	}
	cert_join(&setup);
	/* Signed for an address the container left (a stale DHCP lease moved
	 * it, stopping it while they were pushed), or not at all: once more,
	 * for the address it has. */
	if (*d->host_ca_fp) {
		char ipbuf[INET_ADDRSTRLEN];
		ip_text(cl.ip, ipbuf, sizeof ipbuf);
		const char *sp = strchr(setup.cert_record, ' ');
		if ((!sp || strcmp(sp + 1, ipbuf) != 0) &&
		    host_cert_sign_instance(c, d, iname, ipbuf, setup.cert_record, sizeof setup.cert_record,
					    setup.cert_err, sizeof setup.cert_err) != INCUS_OK)
			setup.cert_record[0] = '\0';
	}
	/* A container without its certificate would be refused by every user
	 * who trusts only the host CA (StrictHostKeyChecking yes). */
	if (*d->host_ca_fp && !setup.cert_record[0]) {
		operation_fail(op, 502, "host_certificate_failed",
			       "the SSH host certificate of %s could not be made: "
			       "%s (image %s)",
			       iname, setup.cert_err[0] ? setup.cert_err : "no host keys", s->image_text);
		goto rollback;
	}
	/* The login must work before the account is: an sshd that an image
	 * has but does not start, or one that failed, would otherwise make a
	 * "created" user who cannot log in.  Usually at once (the probe of
	 * step 3 saw it). */
	double tp = ctm_now_s();
	st = instance_wait_port(iname, cl.ip, 22, 30, err, sizeof err);
	log_debug("create %s: port 22 answered %.3f s after the steps before", s->name, ctm_now_s() - tp);
	if (st != INCUS_OK) {
		operation_fail(op, 502, "image_not_ready", "%s (image %s)", err, s->image_text);
		goto rollback;
	}

	operation_step(op, 7, "Activating jump account...");
	{
		char path[256];
		snprintf(path, sizeof path, "/1.0/instances/%s", iname);
		json_object *b = json_object_new_object(), *cfg = json_object_new_object();
		json_object_object_add(cfg, ACCT_KEY_STATE, json_object_new_string("active"));
		/* Scheduled snapshots from now on, not of a half-made container. */
		snapshot_policy_to_config(cfg, s->snap_schedule, s->snap_expiry);
		if (setup.cert_record[0])
			json_object_object_add(cfg, ACCT_KEY_HOST_CERT, json_object_new_string(setup.cert_record));
		json_object_object_add(b, "config", cfg);
		st = incus_call(c, "PATCH", path, b, NULL, 60, NULL, err, sizeof err);
		json_object_put(b);
		if (st != INCUS_OK)
			goto incus_fail;
		if (helperd_refresh(d, c, err, sizeof err)) {
			operation_fail(op, 500, "publish_failed",
				       "the container is ready but the host snapshot "
				       "could not be written: %s",
				       err);
			goto rollback;
		}
	}
	pthread_mutex_lock(&d->lock);
	const struct account *a = registry_find(&d->reg, s->name);
	json_object *result = a ? account_to_json(a) : json_object_new_object();
	pthread_mutex_unlock(&d->lock);
	log_notice("created %s (%s, uid %u)", s->name, iname, cl.uid);
	operation_succeed(op, result); /* the operation owns result now */
	made = 1;
	goto out;

incus_fail:
	operation_fail(op, http_for(st), st == INCUS_ERR_UNAVAILABLE ? "backend_unavailable" : "backend_error",
		       "creating %s failed: %s%s", iname, incus_error_reason(err) != err ? "the backend said: " : "",
		       incus_error_reason(err));
rollback:
	cert_join(&setup);
	if (created) {
		char e2[512];
		if (instance_destroy(c, iname, e2, sizeof e2) != INCUS_OK)
			log_error("create %s failed and the half-made container could not be removed (%s); "
				  "helperd removes it at its next start",
				  iname, e2);
		if (helperd_refresh(d, c, e2, sizeof e2))
			log_error("publishing after a failed create: %s", e2);
	}
out:
	cert_join(&setup);
	/* A made account keeps its reservations (attached to its instance);
	 * a failed create gives them back once its instance is gone. */
	if (made)
		allocate_release(cl.uid, cl.ip);
	else
		claim_release(c, &cl);
	subnet_free(&sn);
	incus_close(c);
}
