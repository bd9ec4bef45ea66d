/* SPDX-License-Identifier: Apache-2.0 */
/* Steps 4 to 6 of a create inside the container (user_setup.h). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocate.h"
#include "deadline.h"
#include "helperd_log.h"
#include "instance.h"
#include "user_setup.h"

/* Steps 5 and 6 are done in one call to Incus: one exec of a fixed script
 * (useradd, the sudoers drop-in and visudo's check of it, the .ssh
 * directory and authorized_keys, the docker group when asked, the uid).
 * Each was a call of its own (four execs, two pushes), and a call is a
 * round trip through Incus, proxied to another member on a cluster: the
 * last push alone took 0.11-0.35 s after the exec (bench/README.md).
 * Later key changes push the file (instance_push_authorized_keys); both
 * write instance_authorized_keys_text's bytes.
 *
 * The script first checks that the image has what a user needs to log in
 * (sshd, useradd, sudo, and docker when asked): without one of them it
 * changes nothing, prints "missing: PACKAGE..." and exits 20, and step 4
 * installs them once the container has its network (install_script).
 *
 * The script is a constant; the user's name reaches it as "$1" (and was
 * validated: [a-z0-9-]), "docker" or "-" as "$2", "hostkeys" or "-" as
 * "$3", the authorized_keys text as "$4": an argument the script only
 * prints, quoted, so the shell never parses key text (which was validated
 * too: canonical OpenSSH lines).  Every command's exit
 * status is checked, and the script exits with a status that says which
 * one failed.  It may run twice (incus_exec retries an exec LXD reports as
 * unattached, which can happen after the command started): every line is
 * idempotent (useradd's 9 is "that name is in use": a run before made
 * the user if id -u finds it; a group of that name fails as before).
 * Each command is a process started in a container that is still
 * booting, so there are as few as the checks allow: no id -u before
 * useradd, the sudoers file's mode from a umask rather than a chmod.
 *
 * With a host CA ("$3" = hostkeys) it also makes the container's
 * certified host keys with the container's own ssh-keygen and the sshd
 * drop-in that names them and their certificates, and prints the public
 * halves (HOST_KEYS_SCRIPT); helperd signs them on the host and pushes the
 * certificates beside them (host_cert_push), on a thread of its own.  The
 * image's first boot starts sshd a second or more later and reads the
 * drop-in: no reload, and no second exec.
 *
 * When it starts (step_wait_network) is measured, not guessed: the
 * container has limits.cpu CPUs, often one, and an exec during its boot
 * takes that CPU from the boot, which the address and sshd wait for.
 * Without a host CA it starts once the address has come: the boot is not
 * slowed (the address came 0.04-0.18 s after raw Incus's, against
 * 0.15-0.55 s when it ran from the start, even at nice 10) and it ends
 * 0.4-0.6 s after the address, about when sshd answers (create-ready 1.10
 * twice, against 1.07-1.19 before).  With a host CA it starts at once,
 * at full priority: the script must write sshd's drop-in before the boot
 * starts sshd, or the certificates need a reload of sshd, a second exec
 * that ended 0.3-0.7 s after the address on a cluster.  Either way it runs
 * on a thread of its own (user_setup_start), beside the wait for the
 * address or for sshd.  bench/README.md has the figures. */
static const char user_script[] =
	"missing=\n"
	"[ -x /usr/sbin/sshd ] || missing=\"$missing openssh-server\"\n"
	"command -v useradd >/dev/null 2>&1 || missing=\"$missing passwd\"\n"
	"command -v visudo >/dev/null 2>&1 || missing=\"$missing sudo\"\n"
	"[ \"$2\" != docker ] || command -v docker >/dev/null 2>&1 || missing=\"$missing docker.io\"\n"
	"if [ -n \"$missing\" ]; then echo \"missing:$missing\"; exit 20; fi\n"
	"useradd --create-home --shell /bin/bash --user-group --groups sudo --comment 'Containarium user' \"$1\"\n"
	"r=$?; [ $r = 0 ] || { [ $r = 9 ] && id -u \"$1\" >/dev/null 2>&1; } || exit 11\n"
	"(umask 0337 && printf '%s ALL=(ALL) NOPASSWD:ALL\\n' \"$1\" >/etc/sudoers.d/containarium) || exit 12\n"
	"visudo -c -q -f /etc/sudoers.d/containarium || exit 13\n"
	"install -d -m 0700 -o \"$1\" -g \"$1\" \"/home/$1/.ssh\" || exit 14\n"
	"printf '%s' \"$4\" | install -m 0600 -o \"$1\" -g \"$1\" /dev/stdin \"/home/$1/.ssh/authorized_keys\" || exit 18\n"
	"if [ \"$2\" = docker ]; then\n"
	"  getent group docker >/dev/null || groupadd --system docker || exit 16\n"
	"  usermod -aG docker \"$1\" || exit 16\n"
	"fi\n"
	"id -u \"$1\" || exit 15\n"
	"[ \"$3\" = hostkeys ] || exit 0\n" HOST_KEYS_SCRIPT;

/* Step 4 when the image lacks something: install it with the container's
 * own package manager and package sources ("$@": the missing packages).
 * Exit 30: no apt-get; 31: no package index could be read; 32: the
 * install failed.  A container that has just booted may be running apt
 * itself (its timers catch up at boot): the install waits for dpkg's lock
 * (DPkg::Lock::Timeout), and the update, which has no such option, is
 * tried again while its lock is held, 2 minutes at most.  Any other
 * failure fails at once, with apt's own words on stderr. */
static const char install_script[] =
	"command -v apt-get >/dev/null 2>&1 || exit 30\n"
	"export DEBIAN_FRONTEND=noninteractive\n"
	"i=0\n"
	"while ! err=$(apt-get update -q -o APT::Update::Error-Mode=any 2>&1 >/dev/null); do\n"
	"  case $err in *'Could not get lock'*) ;; *) printf '%s\\n' \"$err\" >&2; exit 31 ;; esac\n"
	"  i=$((i + 1)); [ $i -lt 60 ] || { printf '%s\\n' \"$err\" >&2; exit 31; }\n"
	"  sleep 2\n"
	"done\n"
	"apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 \"$@\" >/dev/null || exit 32\n";

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

void user_setup_join_certs(struct user_setup *u)
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

void user_setup_run(struct incus_client *c, struct helperd *d, const char *iname, uint32_t ip, struct user_setup *u)
{
	static const char *const what[] = { "useradd",
					    "writing /etc/sudoers.d/containarium",
					    "visudo -c of /etc/sudoers.d/containarium",
					    "creating the .ssh directory",
					    "id -u",
					    "adding the user to group docker",
					    "making the SSH host keys (ssh-keygen in " HOST_KEY_DIR
					    ") or their sshd drop-in",
					    "writing ~/.ssh/authorized_keys" };
	const struct create_spec *s = u->s;
	u->ran = true;
	u->step = 5;
	u->missing[0] = '\0';
	user_setup_join_certs(u); /* a run before (step 4 runs it again) */
	u->cert_record[0] = u->cert_err[0] = '\0';
	u->d = d;
	snprintf(u->iname, sizeof u->iname, "%s", iname);
	subnet_ip_text(ip, u->ip, sizeof u->ip);
	const bool certs = *d->host_ca_fp != '\0';
	char *keys = instance_authorized_keys_text(s->keys, s->key_count);
	if (!keys) {
		snprintf(u->err, sizeof u->err, "out of memory");
		u->st = INCUS_ERR_SERVER;
		return;
	}
	const char *argv[] = { "sh",
			       "-c",
			       user_script,
			       "containarium-user-setup",
			       s->name,
			       s->docker ? "docker" : "-",
			       certs ? "hostkeys" : "-",
			       keys,
			       NULL };
	char *out = NULL, *errout = NULL;
	int code = -1;
	double t0 = ctm_now_s();
	u->st = incus_exec(c, iname, argv, 120, &code, &out, &errout, u->err, sizeof u->err);
	double t1 = ctm_now_s();
	free(keys);
	if (u->st == INCUS_ERR_COMMAND && code == 20 && out && strncmp(out, "missing:", 8) == 0) {
		snprintf(u->missing, sizeof u->missing, "%s", out + 8 + strspn(out + 8, " "));
		u->missing[strcspn(u->missing, "\n")] = '\0';
		free(out);
		free(errout);
		return; /* step 4 installs them and runs this again */
	}
	if (u->st == INCUS_ERR_COMMAND && code == 18)
		u->step = 6; /* "Adding SSH keys..." */
	if (u->st == INCUS_ERR_COMMAND && code >= 11 && code <= 18)
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
	if (u->hk.n)
		cert_start(u, c);
	u->step = 0;
	log_debug("create %s: user setup exec %.3f s", s->name, t1 - t0);
}

static void *setup_thread(void *arg)
{
	struct user_setup *u = arg;
	char iname[sizeof u->iname]; /* user_setup_run writes u->iname from it */
	memcpy(iname, u->iname, sizeof iname);
	user_setup_run(u->run_c, u->d, iname, u->run_ip, u);
	return NULL;
}

void user_setup_start(struct incus_client *c, struct helperd *d, const char *iname, uint32_t ip, struct user_setup *u)
{
	char err[512];
	u->ran = true;
	u->d = d;
	snprintf(u->iname, sizeof u->iname, "%s", iname);
	u->run_ip = ip;
	if (incus_clone(c, &u->run_c, err, sizeof err) == INCUS_OK) {
		/* It inherits the operation thread's mask: no signals. */
		if (pthread_create(&u->run_tid, NULL, setup_thread, u) == 0) {
			u->run_running = true;
			return;
		}
		incus_close(u->run_c);
		u->run_c = NULL;
	}
	user_setup_run(c, d, iname, ip, u);
}

void user_setup_wait(struct user_setup *u)
{
	if (!u->run_running)
		return;
	pthread_join(u->run_tid, NULL);
	u->run_running = false;
	incus_close(u->run_c);
	u->run_c = NULL;
}

int user_setup_install(struct incus_client *c, const char *iname, const struct create_spec *s, const char *missing,
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
