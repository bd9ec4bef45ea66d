/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/containers, once create_spec.c has checked it: a user's
 * container made in the seven steps its operation reports (create_steps
 * below, one function each), all or nothing.  Any failure removes the
 * instance again and gives back the uid and address it held. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allocate.h"
#include "create_claim.h"
#include "deadline.h"
#include "helperd_log.h"
#include "host_cert.h"
#include "instance.h"
#include "lifecycle.h"
#include "nic_policy.h"
#include "snapshot_policy.h"
#include "user_setup.h"

/* One create as it goes: what each step leaves for the ones after it. */
struct create_run {
	struct operation *op;
	struct helperd *d;
	const struct create_spec *s;
	struct incus_client *c;
	char iname[64];
	struct subnet sn;
	struct claim cl;         /* held until the end: given back there unless the account was made */
	struct user_setup setup; /* its certificates' thread is joined before the instance may go */
	bool created;            /* an instance may exist: a failure removes it */
	bool made;               /* the account is active and published */
	enum incus_status st;    /* a failed call to the backend, and what it said */
	char err[1024];
};

/* A step goes on, or has failed the operation (with a sentence) and
 * stops the create. */
enum step_result { STEP_DONE, STEP_FAILED };

static void now_rfc3339(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The body of POST /1.0/instances. */
static json_object *instance_body(struct helperd *d, const struct create_spec *s, const char *iname,
				  const struct claim *cl, const struct nic_policy *nic, json_object *src)
{
	uint32_t uid = cl->uid, ip = cl->ip;
	char ipbuf[INET_ADDRSTRLEN], uidbuf[16], created[32];
	subnet_ip_text(ip, ipbuf, sizeof ipbuf);
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

/* The step failed on a call to the backend (r->st, r->err). */
static enum step_result backend_failed(struct create_run *r)
{
	operation_fail(r->op, http_for(r->st), r->st == INCUS_ERR_UNAVAILABLE ? "backend_unavailable" : "backend_error",
		       "creating %s failed: %s%s", r->iname,
		       incus_error_reason(r->err) != r->err ? "the backend said: " : "", incus_error_reason(r->err));
	return STEP_FAILED;
}

/* Step 1, first half: nobody has the name yet, and a uid and an address
 * are reserved for it. */
static enum step_result reserve_values(struct create_run *r)
{
	const struct create_spec *s = r->s;
	struct registry reg;
	if ((r->st = registry_load(r->c, &reg, r->err, sizeof r->err)) != INCUS_OK)
		return backend_failed(r);
	if (registry_find(&reg, s->name)) {
		registry_free(&reg);
		operation_fail(r->op, 409, "already_exists",
			       "user %s already has a container; delete it first or choose another name", s->name);
		return STEP_FAILED;
	}
	if (network_subnet(r->c, r->d, &r->sn, r->err, sizeof r->err)) {
		registry_free(&reg);
		operation_fail(r->op, 500, "backend_misconfigured", "%s", r->err);
		return STEP_FAILED;
	}
	r->st = claim_values(r->c, r->d, s->name, &r->sn, &reg, &r->cl, 1, 1, r->err, sizeof r->err);
	registry_free(&reg);
	if (r->st == INCUS_ERR_CONFLICT) {
		operation_fail(r->op, 507, "no_capacity",
			       "no free uid or IPv4 address left (%s): widen "
			       "uid_min/uid_max in helperd.conf or use a larger subnet on %s",
			       r->err, r->d->cfg.network);
		return STEP_FAILED;
	}
	return r->st == INCUS_OK ? STEP_DONE : backend_failed(r);
}

/* Step 1: "Creating container...": the instance, stopped, with the
 * account's keys in its config and state "provisioning". */
static enum step_result step_create_instance(struct create_run *r)
{
	const struct create_spec *s = r->s;
	double t0 = ctm_now_s();
	if (reserve_values(r) != STEP_DONE)
		return STEP_FAILED;
	log_debug("create %s: uid and address reserved in %.3f s", s->name, ctm_now_s() - t0);
	struct nic_policy nic;
	nic_policy_for(r->c, &r->d->cfg, &nic);
	for (int tries = 0;; tries++) {
		json_object *src = image_source_json(&s->image, incus_server_kind(r->c), r->err, sizeof r->err);
		if (!src) {
			operation_fail(r->op, 500, "backend_misconfigured", "%s", r->err);
			return STEP_FAILED;
		}
		json_object *body = instance_body(r->d, s, r->iname, &r->cl, &nic, src);
		/* A remote image is pulled during this call (the first time only:
		 * Incus keeps it cached), which can take minutes on a slow link. */
		char path[128] = "/1.0/instances";
		if (*s->target)
			snprintf(path, sizeof path, "/1.0/instances?target=%s", s->target);
		r->st = incus_call(r->c, "POST", path, body, NULL, 1800, NULL, r->err, sizeof r->err);
		json_object_put(body);
		/* An instance helperd does not manage pins this address (Incus
		 * checks a managed network's addresses at create): take another. */
		if (r->st != INCUS_ERR_REQUEST || !strstr(r->err, "already defined") || tries == 3)
			break;
		char old[RESERVATION_NAME_MAX], e2[512];
		snprintf(old, sizeof old, "%s", r->cl.ip_res);
		log_info("create %s: %s; taking another address", s->name, incus_error_reason(r->err));
		if (allocate_skip_ip(&r->cl.skip, r->cl.ip) ||
		    (r->st = claim_values(r->c, r->d, s->name, &r->sn, NULL, &r->cl, 0, 1, r->err, sizeof r->err)) !=
			    INCUS_OK) {
			snprintf(r->cl.ip_res, sizeof r->cl.ip_res, "%s", old);
			return backend_failed(r);
		}
		reservation_release(r->c, old, e2, sizeof e2);
	}
	if (r->st == INCUS_ERR_CONFLICT) {
		operation_fail(r->op, 409, "already_exists",
			       "a container named %s already exists; delete it first or choose another name", r->iname);
		return STEP_FAILED;
	}
	/* From here a failure removes the instance: a create that failed
	 * part-way can leave one behind. */
	r->created = true;
	if (*s->target && r->st != INCUS_OK && r->st != INCUS_ERR_UNAVAILABLE &&
	    (strcasestr(r->err, "member") || strcasestr(r->err, "clustered") || strcasestr(r->err, "not found"))) {
		operation_fail(r->op, 400, "invalid_target",
			       "cannot place %s on cluster member \"%s\": %s; `incus cluster list` names the members",
			       r->iname, s->target, incus_error_reason(r->err));
		return STEP_FAILED;
	}
	if (r->st != INCUS_OK && s->image.remote_given && r->st != INCUS_ERR_UNAVAILABLE &&
	    image_fetch_failed(r->err)) {
		const struct image_remote *rm = &s->image.remote;
		operation_fail(r->op, 502, "image_unavailable",
			       "image %s could not be fetched from %s (%s): %s; "
			       "check the alias, and remote %s's URL and certificate in helperd.conf, and that "
			       "the backend reaches the server (its core.proxy_https applies)",
			       s->image_text, rm->url, rm->protocol, incus_error_reason(r->err), rm->name);
		return STEP_FAILED;
	}
	return r->st == INCUS_OK ? STEP_DONE : backend_failed(r);
}

/* Step 2: "Starting container...". */
static enum step_result step_start(struct create_run *r)
{
	r->st = instance_set_state(r->c, r->iname, "start", 0, 60, r->err, sizeof r->err);
	return r->st == INCUS_OK ? STEP_DONE : backend_failed(r);
}

/* Step 3: "Waiting for network...": until the container runs with its
 * pinned address.  The user setup of steps 5 and 6 starts here, on a
 * thread of its own, during the wait (host keys to make) or as it ends;
 * its outcome is reported at its own steps, once the address is there (a
 * container that died while booting fails the exec too, and the wait says
 * so better).  A container that gets another
 * address from DHCP lost its pinned one to a stale lease: stop it, reserve
 * another address, move it there, give back the old one, start it again. */
static enum step_result step_wait_network(struct create_run *r)
{
	const char *user = r->s->name;
	for (int moves = 0;; moves++) {
		double t0 = ctm_now_s();
		/* The user's setup: at once when it makes host keys (sshd must
		 * find its drop-in), else once the address has come, so as not
		 * to slow the boot (user_setup.c). */
		const bool early = *r->d->host_ca_fp != '\0';
		if (!r->setup.ran && early)
			user_setup_start(r->c, r->d, r->iname, r->cl.ip, &r->setup);
		r->st = instance_wait_ready(r->c, r->iname, r->cl.ip, 90, r->err, sizeof r->err);
		log_debug("create %s: the address came %.3f s after the start", user, ctm_now_s() - t0);
		if (r->st == INCUS_OK) {
			if (!r->setup.ran)
				user_setup_start(r->c, r->d, r->iname, r->cl.ip, &r->setup);
			return STEP_DONE;
		}
		if (r->st != INCUS_ERR_ADDRESS_HELD || moves == 3)
			return backend_failed(r);
		log_warning("create %s: %s; moving it to another address", user, r->err);
		user_setup_wait(&r->setup); /* done before the stop: what it made stays */
		allocate_avoid(r->cl.ip);
		if ((r->st = instance_set_state(r->c, r->iname, "stop", 1, 30, r->err, sizeof r->err)) != INCUS_OK)
			return backend_failed(r);
		char old[RESERVATION_NAME_MAX], e2[512];
		snprintf(old, sizeof old, "%s", r->cl.ip_res);
		if ((r->st = claim_values(r->c, r->d, user, &r->sn, NULL, &r->cl, 0, 1, r->err, sizeof r->err)) !=
		    INCUS_OK) {
			snprintf(r->cl.ip_res, sizeof r->cl.ip_res, "%s", old); /* still held: given back at the end */
			return backend_failed(r);
		}
		if ((r->st = claim_move_address(r->c, r->d, r->iname, &r->cl, r->err, sizeof r->err)) != INCUS_OK) {
			reservation_release(r->c, r->cl.ip_res, e2, sizeof e2);
			snprintf(r->cl.ip_res, sizeof r->cl.ip_res, "%s", old);
			return backend_failed(r);
		}
		if (reservation_release(r->c, old, e2, sizeof e2) != INCUS_OK)
			log_warning("could not remove reservation %s (%s); the next helperd start removes it", old, e2);
		if ((r->st = instance_set_state(r->c, r->iname, "start", 0, 60, r->err, sizeof r->err)) != INCUS_OK)
			return backend_failed(r);
	}
}

/* Step 4: what the image lacks (the setup's check found it), installed
 * now that the container has its network; the setup then runs again.
 * Its progress line says which of the two it is. */
static enum step_result step_install_missing(struct create_run *r)
{
	const struct create_spec *s = r->s;
	struct user_setup *setup = &r->setup;
	double t0 = ctm_now_s();
	user_setup_wait(setup);
	log_debug("create %s: the user setup ended %.3f s after the address", s->name, ctm_now_s() - t0);
	if (!setup->missing[0]) {
		operation_step(r->op, 4,
			       s->docker ? "Docker, SSH, and tools: already in the image..."
					 : "SSH and tools: already in the image...");
		return STEP_DONE;
	}
	operation_step(r->op, 4, "Installing Docker, SSH, and tools...");
	log_info("create %s: image %s lacks %s; installing from the container's package sources", s->name,
		 s->image_text, setup->missing);
	int http = 502;
	const char *code = "image_not_ready";
	char msg[1200];
	if (user_setup_install(r->c, r->iname, s, setup->missing, &http, &code, msg, sizeof msg)) {
		operation_fail(r->op, http, code, "%s", msg);
		return STEP_FAILED;
	}
	char was[sizeof setup->missing];
	snprintf(was, sizeof was, "%s", setup->missing);
	user_setup_run(r->c, r->d, r->iname, r->cl.ip, setup);
	if (setup->missing[0]) {
		operation_fail(r->op, 502, "image_not_ready",
			       "image %s still lacks %s after installing %s: use an "
			       "image with an SSH server (openssh-server), sudo and useradd",
			       s->image_text, setup->missing, was);
		return STEP_FAILED;
	}
	return STEP_DONE;
}

/* The setup's outcome for step 5 or 6 (it ran at step 3 or 4). */
static enum step_result setup_outcome(struct create_run *r, int step)
{
	if (r->setup.step != step)
		return STEP_DONE;
	r->st = r->setup.st;
	snprintf(r->err, sizeof r->err, "%s", r->setup.err);
	return backend_failed(r);
}

/* Step 5: "Creating user NAME...": useradd, sudo, the .ssh directory. */
static enum step_result step_create_user(struct create_run *r)
{
	return setup_outcome(r, 5);
}

/* Step 6: "Adding SSH keys...": authorized_keys, then what a login needs
 * besides: the host certificate (with a host CA), and an sshd that
 * answers. */
static enum step_result step_add_keys(struct create_run *r)
{
	struct helperd *d = r->d;
	struct user_setup *setup = &r->setup;
	if (setup_outcome(r, 6) != STEP_DONE)
		return STEP_FAILED;
	user_setup_join_certs(setup);
	/* Signed for an address the container left (a stale DHCP lease moved
	 * it, stopping it while they were pushed), or not at all: once more,
	 * for the address it has. */
	if (*d->host_ca_fp) {
		char ipbuf[INET_ADDRSTRLEN];
		subnet_ip_text(r->cl.ip, ipbuf, sizeof ipbuf);
		const char *sp = strchr(setup->cert_record, ' ');
		if ((!sp || strcmp(sp + 1, ipbuf) != 0) &&
		    host_cert_sign_instance(r->c, d, r->iname, ipbuf, setup->cert_record, sizeof setup->cert_record,
					    setup->cert_err, sizeof setup->cert_err) != INCUS_OK)
			setup->cert_record[0] = '\0';
	}
	/* A container without its certificate would be refused by every user
	 * who trusts only the host CA (StrictHostKeyChecking yes). */
	if (*d->host_ca_fp && !setup->cert_record[0]) {
		operation_fail(r->op, 502, "host_certificate_failed",
			       "the SSH host certificate of %s could not be made: %s (image %s)", r->iname,
			       setup->cert_err[0] ? setup->cert_err : "no host keys", r->s->image_text);
		return STEP_FAILED;
	}
	/* The login must work before the account is: an sshd that an image
	 * has but does not start, or one that failed, would otherwise make a
	 * "created" user who cannot log in.  Usually at once (the probe of
	 * step 3 saw it). */
	double tp = ctm_now_s();
	r->st = instance_wait_port(r->iname, r->cl.ip, 22, 30, r->err, sizeof r->err);
	log_debug("create %s: port 22 answered %.3f s after the steps before", r->s->name, ctm_now_s() - tp);
	if (r->st != INCUS_OK) {
		operation_fail(r->op, 502, "image_not_ready", "%s (image %s)", r->err, r->s->image_text);
		return STEP_FAILED;
	}
	return STEP_DONE;
}

/* Step 7: "Activating jump account...": state "active" (with the host
 * certificate's record and the snapshot schedule, which starts only now,
 * never on a half-made container), then the host snapshots published. */
static enum step_result step_activate(struct create_run *r)
{
	const struct create_spec *s = r->s;
	char path[256];
	snprintf(path, sizeof path, "/1.0/instances/%s", r->iname);
	json_object *b = json_object_new_object(), *cfg = json_object_new_object();
	json_object_object_add(cfg, ACCT_KEY_STATE, json_object_new_string("active"));
	snapshot_policy_to_config(cfg, s->snap_schedule, s->snap_expiry);
	if (r->setup.cert_record[0])
		json_object_object_add(cfg, ACCT_KEY_HOST_CERT, json_object_new_string(r->setup.cert_record));
	json_object_object_add(b, "config", cfg);
	double t0 = ctm_now_s();
	r->st = incus_call(r->c, "PATCH", path, b, NULL, 60, NULL, r->err, sizeof r->err);
	json_object_put(b);
	if (r->st != INCUS_OK)
		return backend_failed(r);
	double t1 = ctm_now_s();
	if (helperd_refresh(r->d, r->c, r->err, sizeof r->err)) {
		operation_fail(r->op, 500, "publish_failed",
			       "the container is ready but the host snapshot could not be written: %s", r->err);
		return STEP_FAILED;
	}
	log_debug("create %s: marked active in %.3f s, published in %.3f s", s->name, t1 - t0, ctm_now_s() - t1);
	pthread_mutex_lock(&r->d->lock);
	const struct account *a = registry_find(&r->d->reg, s->name);
	json_object *result = a ? account_to_json(a) : json_object_new_object();
	pthread_mutex_unlock(&r->d->lock);
	log_notice("created %s (%s, uid %u)", s->name, r->iname, r->cl.uid);
	operation_succeed(r->op, result); /* the operation owns result now */
	r->made = true;
	return STEP_DONE;
}

/* The steps, as the operation reports them (step i + 1 of CREATE_STEPS).
 * progress is the line reported as the step begins ("%u" stands for the
 * user's name); NULL: the step reports its own, which depends on what it
 * finds.  One step a line: clang-format is off for the table. */
/* clang-format off */
static const struct create_step {
	const char *progress;
	enum step_result (*run)(struct create_run *r);
} create_steps[CREATE_STEPS] = {
	{ "Creating container...",      step_create_instance },
	{ "Starting container...",      step_start },
	{ "Waiting for network...",     step_wait_network },
	{ NULL,                         step_install_missing },
	{ "Creating user %u...",        step_create_user },
	{ "Adding SSH keys...",         step_add_keys },
	{ "Activating jump account...", step_activate },
};
/* clang-format on */

/* A step's progress line, with the user's name for "%u". */
static void progress_line(const char *progress, const char *user, char *buf, size_t len)
{
	const char *at = strstr(progress, "%u");
	if (at)
		snprintf(buf, len, "%.*s%s%s", (int)(at - progress), progress, user, at + 2);
	else
		snprintf(buf, len, "%s", progress);
}

/* Undo a failed create: the instance, if one may exist, and what the host
 * snapshots said of it. */
static void roll_back(struct create_run *r)
{
	char e2[512];
	user_setup_wait(&r->setup);
	user_setup_join_certs(&r->setup);
	if (!r->created)
		return;
	if (instance_destroy(r->c, r->iname, e2, sizeof e2) != INCUS_OK)
		log_error("create %s failed and the half-made container could not be removed (%s); "
			  "helperd removes it at its next start",
			  r->iname, e2);
	if (helperd_refresh(r->d, r->c, e2, sizeof e2))
		log_error("publishing after a failed create: %s", e2);
}

void lifecycle_create(struct operation *op, void *arg)
{
	struct lifecycle_job *job = arg;
	struct create_run r = { .op = op, .d = job->d, .s = &job->spec, .setup = { .s = &job->spec } };
	helperd_instance_name(r.d, r.s->name, r.iname, sizeof r.iname);
	if (!(r.c = helperd_client(r.d, r.err, sizeof r.err))) {
		operation_fail(op, 503, "backend_unavailable", "%s", r.err);
		return;
	}
	for (unsigned i = 0; i < CREATE_STEPS; i++) {
		const struct create_step *step = &create_steps[i];
		if (step->progress) {
			char line[160];
			progress_line(step->progress, r.s->name, line, sizeof line);
			operation_step(op, (int)i + 1, line);
		}
		if (step->run(&r) != STEP_DONE) {
			roll_back(&r);
			break;
		}
	}
	user_setup_wait(&r.setup);
	user_setup_join_certs(&r.setup);
	/* A made account keeps its reservations (attached to its instance);
	 * a failed create gives them back once its instance is gone. */
	if (r.made)
		allocate_release(r.cl.uid, r.cl.ip);
	else
		claim_release(r.c, &r.cl);
	subnet_free(&r.sn);
	incus_close(r.c);
}
