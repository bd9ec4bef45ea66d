/* SPDX-License-Identifier: Apache-2.0 */
#include "sshd_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "helperd_log.h"
#include "log_follow.h"
#include "service.h"
#include "sshd_auth_track.h"

extern char **environ;

/* A connection not ended after this long is reported as it stands:
 * sshd's LoginGraceTime (120 s by default) has cut it off long before. */
#define PENDING_MAX_AGE 600
/* A journalctl that exited is started again after this long. */
#define RESPAWN_SECONDS 10

static pthread_t thread;
static int running;
static int stop_pipe[2] = { -1, -1 };
static atomic_ulong failures;

struct watch {
	struct helperd *d;
	struct log_follow follow; /* the file, or the pipe's line splitter */
	struct sshd_auth_track track;
	char unit[128]; /* journal mode: the sshd unit; "" for a file */
	pid_t child;
	int child_fd;
};

unsigned long sshd_watch_failures(void)
{
	return atomic_load(&failures);
}

int sshd_watch_record(struct helperd *d, const struct sshd_auth_failure *f)
{
	if (!f->invalid_user) {
		pthread_mutex_lock(&d->lock);
		int ours = registry_find(&d->reg, f->user) != NULL;
		pthread_mutex_unlock(&d->lock);
		if (!ours)
			return 0;
	}
	json_object *ev = json_object_new_object();
	json_object_object_add(ev, "event", json_object_new_string("login_failed"));
	json_object_object_add(ev, "user", json_object_new_string(f->user));
	json_object_object_add(ev, "rhost", json_object_new_string(f->rhost));
	json_object_object_add(ev, "port", json_object_new_int(f->port));
	json_object_object_add(ev, "reason", json_object_new_string(f->reason));
	json_object_object_add(ev, "attempts", json_object_new_int((int)f->attempts));
	json_object_object_add(ev, "account", json_object_new_string(f->invalid_user ? "unknown" : "jump"));
	char err[512];
	int r = audit_write(d->cfg.audit_log, ev, err, sizeof err);
	json_object_put(ev);
	if (r != 0) {
		log_error("%s", err);
		return -1;
	}
	atomic_fetch_add(&failures, 1);
	return 1;
}

static void emit(const struct sshd_auth_failure *f, void *ctx)
{
	sshd_watch_record(ctx, f);
}

static void on_line(const char *line, size_t len, void *ctx)
{
	struct watch *w = ctx;
	struct sshd_auth_line l;
	if (sshd_auth_line_parse(line, len, &l) != SSHD_AUTH_NONE)
		sshd_auth_track_line(&w->track, &l, time(NULL), emit, w->d);
}

static int spawn_journal(struct watch *w)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	/* stderr stays helperd's: journalctl's own complaint lands in
	 * helperd's log beside the warning below. */
	/* The main thread blocks SIGTERM and friends for its signalfd; the
	 * child must not inherit that, or stopping it would need SIGKILL. */
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	char unit_arg[160], machine[64] = "";
	snprintf(unit_arg, sizeof unit_arg, "--unit=%s", w->unit);
	/* --follow implies "this boot", which journalctl finds in
	 * /proc/sys/kernel/random/boot_id, hidden by the unit's ProcSubset=pid
	 * ("Failed to get boot id").  --merge does without it; it would also
	 * take other machines' journals (systemd-journal-remote's), so the
	 * entries are held to this machine's id. */
	FILE *f = fopen("/etc/machine-id", "re");
	char id[40] = "";
	if (f) {
		if (fgets(id, sizeof id, f) && strspn(id, "0123456789abcdef") == 32)
			snprintf(machine, sizeof machine, "_MACHINE_ID=%.32s", id);
		fclose(f);
	}
	char *argv[] = { "journalctl", "--follow",     "--lines=0",
			 "--merge",    "--output=cat", "--no-pager",
			 "--quiet",    unit_arg,       machine[0] ? machine : NULL,
			 NULL };
	int r = posix_spawnp(&w->child, "journalctl", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		errno = r;
		w->child = 0;
		return -1;
	}
	w->child_fd = p[0];
	w->follow.used = 0;
	w->follow.skipping = 0;
	return 0;
}

/* Stop and reap journalctl; how it ended, for the log. */
static void reap_journal(struct watch *w, char *how, size_t len)
{
	if (w->child_fd >= 0)
		close(w->child_fd);
	w->child_fd = -1;
	int status = 0;
	if (w->child > 0) {
		kill(w->child, SIGTERM);
		waitpid(w->child, &status, 0);
	}
	w->child = 0;
	if (WIFSIGNALED(status))
		snprintf(how, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, len, "exit status %d", WEXITSTATUS(status));
}

static void *run(void *arg)
{
	struct watch *w = arg;
	time_t respawn_at = 0;
	for (;;) {
		time_t now = time(NULL);
		if (w->unit[0] && w->child_fd < 0 && now >= respawn_at) {
			if (spawn_journal(w) != 0) {
				log_warning("cannot run journalctl to follow %s: %s; trying again in %d s", w->unit,
					    strerror(errno), RESPAWN_SECONDS);
				respawn_at = now + RESPAWN_SECONDS;
			}
		}
		struct pollfd fds[2] = { { .fd = stop_pipe[0], .events = POLLIN },
					 { .fd = w->child_fd, .events = POLLIN } };
		/* A file has nothing to wait on: look at it twice a second. */
		if (poll(fds, 2, w->unit[0] ? 1000 : 500) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (w->unit[0] && fds[1].revents) {
			char chunk[8192];
			ssize_t n = read(w->child_fd, chunk, sizeof chunk);
			if (n > 0) {
				log_follow_feed(&w->follow, chunk, (size_t)n, on_line, w);
			} else if (n == 0 || errno != EINTR) {
				char how[64];
				reap_journal(w, how, sizeof how);
				log_warning("journalctl (following %s) ended, %s; starting it again in %d s", w->unit,
					    how, RESPAWN_SECONDS);
				respawn_at = time(NULL) + RESPAWN_SECONDS;
			}
		} else if (!w->unit[0]) {
			log_follow_poll(&w->follow, on_line, w);
		}
		sshd_auth_track_expire(&w->track, time(NULL), PENDING_MAX_AGE, emit, w->d);
	}
	if (!w->unit[0])
		log_follow_poll(&w->follow, on_line, w);
	char how[64];
	reap_journal(w, how, sizeof how);
	log_follow_close(&w->follow);
	sshd_auth_track_expire(&w->track, time(NULL), 0, emit, w->d);
	free(w);
	return NULL;
}

int sshd_watch_start(struct helperd *d)
{
	const char *src = d->cfg.sshd_log;
	char unit[128] = "", path[256] = "";
	struct stat st;
	if (strcmp(src, "auto") == 0) {
		/* journald runs: it has sshd's lines (whether or not rsyslog
		 * also writes auth.log). */
		if (stat("/run/systemd/journal/socket", &st) == 0)
			snprintf(unit, sizeof unit, "ssh.service");
		else if (stat("/var/log/auth.log", &st) == 0)
			snprintf(path, sizeof path, "/var/log/auth.log");
		else {
			log_info(
				"sshd_log = auto: no journal and no /var/log/auth.log; failed logins are not recorded");
			return 0;
		}
	} else if (strcmp(src, "off") == 0) {
		return 0;
	} else if (strncmp(src, "journal", 7) == 0) {
		snprintf(unit, sizeof unit, "%s", src[7] == ':' ? src + 8 : "ssh.service");
	} else {
		snprintf(path, sizeof path, "%s", src);
	}
	struct watch *w = calloc(1, sizeof *w);
	if (!w || pipe2(stop_pipe, O_CLOEXEC) != 0) {
		free(w);
		log_error("cannot follow sshd's log: %s", strerror(errno));
		return -1;
	}
	w->d = d;
	w->child_fd = -1;
	sshd_auth_track_init(&w->track);
	snprintf(w->unit, sizeof w->unit, "%s", unit);
	if (path[0])
		log_follow_open(&w->follow, path, 1);
	else
		w->follow.fd = -1; /* the pipe's line splitter only */
	int r = pthread_create(&thread, NULL, run, w);
	if (r != 0) {
		log_error("cannot start the sshd log follower: %s", strerror(r));
		log_follow_close(&w->follow);
		free(w);
		return -1;
	}
	running = 1;
	log_info("recording failed SSH logins from %s%s", path[0] ? path : "the journal of ", path[0] ? "" : unit);
	return 0;
}

void sshd_watch_stop(void)
{
	if (!running)
		return;
	if (write(stop_pipe[1], "x", 1) < 0)
		log_warning("stopping the sshd log follower: %s", strerror(errno));
	pthread_join(thread, NULL);
	running = 0;
}
