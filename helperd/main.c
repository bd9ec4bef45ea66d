/* SPDX-License-Identifier: Apache-2.0 */
/* containarium-helperd: owns container lifecycle through Incus, keeps the
 * registry in Incus, publishes the snapshots the host modules read, and
 * serves the API on a unix socket.  See containarium-helperd(8).
 *
 * Start-up order matters: the id ranges are checked before anything else
 * (a clash would make jump users alias real ones), the API comes up before
 * Incus is reached (callers get a clear 503, not a refused connection), and
 * the snapshots on disk keep serving logins whatever happens here. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "helperd_log.h"
#include "host_cert.h"
#include "id_ranges.h"
#include "operations.h"
#include "service.h"
#include "snapshot_writer.h"
#include "sshd_watch.h"

#include "version.h"
#include "watcher.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: containarium-helperd [-c CONFIG] [--check-config] [--syslog] [--version]\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  --check-config      validate the configuration and the id ranges, then exit\n"
		"  --syslog            log to syslog instead of stderr\n",
		HELPERD_DEFAULT_CONFIG);
}

/* Tell systemd (Type=notify) we are ready, without linking libsystemd. */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	if (len >= sizeof sa.sun_path)
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	static const char msg[] = "READY=1\nSTATUS=serving";
	sendto(fd, msg, sizeof msg - 1, 0, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

static gid_t group_id(const char *name, const char *what)
{
	if (!*name)
		return (gid_t)-1;
	struct group gr, *res = NULL;
	char buf[16384];
	if (getgrnam_r(name, &gr, buf, sizeof buf, &res) == 0 && res)
		return gr.gr_gid;
	log_warning("%s \"%s\" does not exist: %s", what, name,
		    strcmp(what, "admin_group") == 0
			    ? "only root may change containers (create it: groupadd --system containarium-admin)"
			    : "sshd's AuthorizedKeysCommandUser cannot read keys.db (create the group and put that "
			      "user in it)");
	return (gid_t)-1;
}

/* This daemon's identity, written on the instances it creates so that its
 * reconcile removes only its own half-made containers: the host name plus
 * an id kept in state_dir (two helperds on one host, or a host renamed by
 * a cloud, stay apart). */
static int helperd_identity(struct helperd *d, char *err, size_t errlen)
{
	char host[64] = "unknown", path[300], id[17] = "";
	gethostname(host, sizeof host - 1);
	snprintf(path, sizeof path, "%s/helperd-id", d->cfg.state_dir);
	FILE *f = fopen(path, "re");
	if (f) {
		if (!fgets(id, sizeof id, f))
			id[0] = '\0';
		fclose(f);
		id[strspn(id, "0123456789abcdef")] = '\0';
	}
	if (strlen(id) != 16) {
		unsigned char r[8];
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < 8; i++)
			snprintf(id + 2 * i, 3, "%02x", r[i]);
		char line[18];
		snprintf(line, sizeof line, "%s\n", id);
		if (ctm_write_file_atomic(path, line, strlen(line), 0644, (gid_t)-1, err, errlen))
			return -1;
	}
	snprintf(d->host_id, sizeof d->host_id, "%s/%s", host, id);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = HELPERD_DEFAULT_CONFIG;
	int check_only = 0, use_syslog = 0, config_given = 0;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check-config", no_argument, NULL, 'C' },
		{ "syslog", no_argument, NULL, 'S' },       { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },         { 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			config_given = 1;
			break;
		case 'C': check_only = 1; break;
		case 'S': use_syslog = 1; break;
		case 'V': return ctm_print_version("containarium-helperd");
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	static struct helperd d;
	char err[1024];
	helperd_config_defaults(&d.cfg);
	if (helperd_config_load(&d.cfg, config, !config_given, err, sizeof err)) {
		fprintf(stderr, "containarium-helperd: %s\n", err);
		return 1;
	}
	log_setup(d.cfg.log_level, use_syslog);
	if (id_ranges_check(NULL, d.cfg.uid_min, d.cfg.uid_max, d.cfg.gid, d.cfg.group_name, err, sizeof err)) {
		log_error("refusing to start: %s", err);
		return 1;
	}
	/* The host CA: checked before anything is served, as a create would
	 * fail on it otherwise (and under the unit's sandbox, where
	 * --check-config runs first, this shows ssh-keygen runs and reads it). */
	if (host_ca_check(&d.cfg, d.host_ca_fp, sizeof d.host_ca_fp, err, sizeof err)) {
		log_error("refusing to start: %s", err);
		return 1;
	}
	if (check_only) {
		printf("%s: configuration and id ranges are fine%s%s\n", config, *d.host_ca_fp ? "; host CA " : "",
		       d.host_ca_fp);
		return 0;
	}
	account_set_host_ca(*d.host_ca_fp ? d.host_ca_fp : NULL);
	if (*d.host_ca_fp)
		log_info("SSH host certificates: signed by the host CA %s (%s)", d.host_ca_fp, d.cfg.host_ca_key);
	if (geteuid() != 0)
		log_warning(
			"not running as root: Incus, the state directory and the socket's group may be out of reach");

	/* Allocations of 128 KiB and more (a registry's array of accounts,
	 * the snapshot images, the writer's work arrays: a few MiB each at
	 * 10,000 users) always get their own mapping, returned whole when
	 * freed.  By default glibc raises this threshold after the first such
	 * free and puts later ones in the heap, where they leave holes. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	signal(SIGPIPE, SIG_IGN);
	d.started = time(NULL);
	pthread_mutex_init(&d.lock, NULL);
	if (mkdir(d.cfg.state_dir, 0755) != 0 && errno != EEXIST) {
		log_error("cannot create state_dir %s: %s", d.cfg.state_dir, strerror(errno));
		return 1;
	}
	if (helperd_identity(&d, err, sizeof err)) {
		log_error("%s", err);
		return 1;
	}
	snprintf(d.incus_socket, sizeof d.incus_socket, "%s",
		 *d.cfg.incus_socket ? d.cfg.incus_socket : incus_default_socket());
	d.admin_gid = group_id(d.cfg.admin_group, "admin_group");
	d.keys_gid = group_id(d.cfg.keys_group, "keys_group");

	/* SIGTERM, SIGINT end the daemon, SIGHUP makes it read Incus now;
	 * the main thread waits for them (signalfd) between polls of Incus.
	 * Blocked before any thread starts, so that no other thread takes them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	struct api_server *api = api_server_start(&d, api_routes, err, sizeof err);
	if (!api) {
		log_error("cannot serve the API: %s", err);
		return 1;
	}
	/* The event stream first, then the first read: nothing that changes
	 * in between is missed (watcher.h). */
	struct watcher *w = watcher_start(&d);
	/* After the first read: a failure is recorded only for a user the
	 * registry knows. */
	sshd_watch_start(&d);
	notify_ready();
	log_notice("serving the API on %s", d.cfg.listen_socket);
	if (watcher_run(w, &stop) != 0)
		return 1;
	log_notice("stopping");
	sshd_watch_stop();
	api_server_stop(api);
	/* A create cut off part-way is undone at the next start (reconcile);
	 * give running work a moment to finish cleanly first. */
	unsigned left = operations_wait_idle(10000);
	if (left)
		log_warning("%u operations still running at exit; the next start cleans up after them", left);
	return 0;
}
