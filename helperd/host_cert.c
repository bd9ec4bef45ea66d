/* SPDX-License-Identifier: Apache-2.0 */
/* SSH host certificates: the host CA (checks, signing with ssh-keygen -s,
 * the known_hosts lines) and the containers' side (reading their host
 * keys, pushing certificates, renewing).  See host_cert.h. */
#include "host_cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helperd_log.h"
#include "key_fingerprint.h"
#include "lifecycle.h"
#include "operations.h"
#include "registry.h"
#include "service.h"
#include "snapshot_writer.h"
#include "sshkey.h"

void host_pubkeys_free(struct host_pubkey *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(keys[i].line);
		keys[i].line = NULL;
	}
}

/* ---- running ssh-keygen -------------------------------------------------- */

/* Run argv (argv[0] an absolute path) with stdin from /dev/null, stdout and
 * stderr into out (NUL-terminated, the rest dropped), for at most
 * timeout_s.  Its exit status, or -1 with err when it could not run or was
 * killed. */
static int run_tool(char *const argv[], char *out, size_t outlen, int timeout_s, char *err, size_t errlen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* helperd's other descriptors (the API's sockets, Incus connections)
	 * are none of its business. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	/* helperd blocks SIGTERM, SIGINT and SIGHUP (its signalfd) and ignores
	 * SIGPIPE: the tool gets the defaults. */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	static char *const env[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };
	int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(rc));
		return -1;
	}
	size_t used = 0;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int killed = 0;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = timeout_s * 1000L -
			    ((now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L);
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		char buf[1024];
		ssize_t got = read(p[0], buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		size_t take = (size_t)got;
		if (outlen && take > outlen - 1 - used)
			take = outlen - 1 - used;
		memcpy(out + used, buf, take);
		used += take;
	}
	close(p[0]);
	if (outlen)
		out[used] = '\0';
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (killed) {
		snprintf(err, errlen, "%s did not finish within %d s", argv[0], timeout_s);
		return -1;
	}
	if (!WIFEXITED(status)) {
		snprintf(err, errlen, "%s died of signal %d", argv[0], WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
}

/* out without its trailing newlines, its lines joined by "; ". */
static void one_line(char *s)
{
	size_t len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ';';
}

/* ---- the CA ------------------------------------------------------------ */

/* The first line of path (a public key file) into line, without its newline. */
static int read_line(const char *path, char *line, size_t linelen, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(line, (int)linelen, f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return 0;
}

int host_ca_public(const struct helperd_config *cfg, char *line, size_t linelen, char *fp, size_t fplen, char *err,
		   size_t errlen)
{
	char path[300], msg[256];
	struct ctm_sshkey k;
	snprintf(path, sizeof path, "%s.pub", cfg->host_ca_key);
	if (read_line(path, line, linelen, err, errlen))
		return -1;
	if (ctm_sshkey_parse(line, strlen(line), &k, msg, sizeof msg) != CTM_KEY_OK) {
		snprintf(err, errlen,
			 "%s is not an OpenSSH public key (%s): it must be the host CA's public key, "
			 "as ssh-keygen -y -f %s prints it",
			 path, msg, cfg->host_ca_key);
		return -1;
	}
	if (key_fingerprint(line, fp, fplen)) {
		snprintf(err, errlen, "%s: cannot compute the key's fingerprint", path);
		return -1;
	}
	return 0;
}

int host_ca_check(const struct helperd_config *cfg, char *fp, size_t fplen, char *err, size_t errlen)
{
	*fp = '\0';
	if (!*cfg->host_ca_key)
		return 0;
	struct stat st;
	const char *key = cfg->host_ca_key;
	if (stat(key, &st) != 0) {
		snprintf(err, errlen,
			 "host_ca_key %s: %s (make the host CA with ssh-keygen -t ed25519 -N '' -f %s, "
			 "or remove host_ca_key from helperd.conf)",
			 key, strerror(errno), key);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "host_ca_key %s is not a regular file", key);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		snprintf(err, errlen,
			 "host_ca_key %s may be read by others (owner uid %u, mode %04o): it is the "
			 "private key every host certificate trusts; chown root and chmod 600 it",
			 key, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (access(cfg->ssh_keygen, X_OK) != 0) {
		snprintf(err, errlen, "ssh_keygen %s: %s (install openssh-client, or set ssh_keygen in helperd.conf)",
			 cfg->ssh_keygen, strerror(errno));
		return -1;
	}
	char line[CTM_KEY_LINE_MAX + 1];
	if (host_ca_public(cfg, line, sizeof line, fp, fplen, err, errlen))
		return -1;
	/* The private key, through ssh-keygen: it can run here (under the
	 * unit's sandbox too), read the key without a passphrase, and the
	 * key is the .pub's. */
	char out[CTM_KEY_LINE_MAX + 512], e2[256];
	char *argv[] = { (char *)cfg->ssh_keygen, "-y", "-f", (char *)key, NULL };
	int rc = run_tool(argv, out, sizeof out, 30, e2, sizeof e2);
	if (rc != 0) {
		if (rc > 0)
			one_line(out);
		snprintf(err, errlen,
			 "host_ca_key %s: ssh-keygen -y %s: %s (the key must be an OpenSSH private "
			 "key without a passphrase)",
			 key, rc < 0 ? "failed" : "refused it", rc < 0 ? e2 : out);
		*fp = '\0';
		return -1;
	}
	out[strcspn(out, "\n")] = '\0';
	if (!key_same(out, line)) {
		snprintf(err, errlen,
			 "host_ca_key %s and %s.pub are not one key pair: write the public key "
			 "again with ssh-keygen -y -f %s > %s.pub",
			 key, key, key, key);
		*fp = '\0';
		return -1;
	}
	/* A trial signature of the CA's own public key, by the path every
	 * create takes (a private directory in state_dir, ssh-keygen -s):
	 * under the unit's sandbox too.  Skipped while state_dir does not
	 * exist (--check-config before the first start). */
	struct stat sd;
	if (stat(cfg->state_dir, &sd) == 0 && S_ISDIR(sd.st_mode)) {
		struct host_pubkey probe = { .name = "host_ca_probe", .line = line };
		char *cert = NULL, pfp[64];
		if (host_ca_sign(cfg, &probe, 1, "containarium helperd check", "containarium-check", &cert, pfp,
				 sizeof pfp, e2, sizeof e2)) {
			snprintf(err, errlen, "host_ca_key %s: a trial signature failed: %s", key, e2);
			*fp = '\0';
			return -1;
		}
		free(cert);
	}
	if (*cfg->host_ca_trust) {
		FILE *f = fopen(cfg->host_ca_trust, "re");
		if (!f) {
			snprintf(err, errlen, "host_ca_trust %s: %s", cfg->host_ca_trust, strerror(errno));
			*fp = '\0';
			return -1;
		}
		int lineno = 0, bad = 0;
		char msg[256];
		struct ctm_sshkey k;
		while (!bad && fgets(line, sizeof line, f)) {
			lineno++;
			line[strcspn(line, "\r\n")] = '\0';
			const char *s = line + strspn(line, " \t");
			if (!*s || *s == '#')
				continue;
			if (ctm_sshkey_parse(s, strlen(s), &k, msg, sizeof msg) != CTM_KEY_OK)
				bad = lineno;
		}
		fclose(f);
		if (bad) {
			snprintf(err, errlen,
				 "host_ca_trust %s:%d is not an OpenSSH public key (%s): the file lists "
				 "the public keys of the other host CAs users trust, one per line",
				 cfg->host_ca_trust, bad, msg);
			*fp = '\0';
			return -1;
		}
	}
	return 0;
}

/* Remove dir and what ssh-keygen left in it. */
static void remove_tree(const char *dir, const struct host_pubkey *keys, size_t n)
{
	char path[512];
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s.pub", dir, keys[i].name);
		unlink(path);
		snprintf(path, sizeof path, "%s/%s-cert.pub", dir, keys[i].name);
		unlink(path);
	}
	rmdir(dir);
}

static int principals_ok(const char *p)
{
	/* Names and addresses only: no spaces (ssh-keygen's list is split
	 * on commas), no wildcards (a host certificate for "*" would vouch
	 * for every host). */
	return *p && strlen(p) < 512 &&
	       strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:,") == strlen(p);
}

int host_ca_sign(const struct helperd_config *cfg, const struct host_pubkey *keys, size_t n, const char *identity,
		 const char *principals, char **certs, char *fp, size_t fplen, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		certs[i] = NULL;
	if (!n || n > HOST_KEYS_MAX || !principals_ok(principals)) {
		snprintf(err, errlen, "internal error: %zu keys to sign for \"%.60s\"", n, principals);
		return -1;
	}
	char pub[CTM_KEY_LINE_MAX + 1];
	if (host_ca_public(cfg, pub, sizeof pub, fp, fplen, err, errlen))
		return -1;
	char dir[300];
	snprintf(dir, sizeof dir, "%s/.host-cert-XXXXXX", cfg->state_dir);
	if (!mkdtemp(dir)) {
		snprintf(err, errlen, "cannot make a temporary directory in %s: %s", cfg->state_dir, strerror(errno));
		return -1;
	}
	char *argv[16 + HOST_KEYS_MAX];
	char paths[HOST_KEYS_MAX][400];
	size_t a = 0;
	argv[a++] = (char *)cfg->ssh_keygen;
	argv[a++] = "-q";
	argv[a++] = "-s";
	argv[a++] = (char *)cfg->host_ca_key;
	argv[a++] = "-h";
	argv[a++] = "-I";
	argv[a++] = (char *)identity;
	argv[a++] = "-n";
	argv[a++] = (char *)principals;
	int ret = -1;
	for (size_t i = 0; i < n; i++) {
		snprintf(paths[i], sizeof paths[i], "%s/%s.pub", dir, keys[i].name);
		char e2[256];
		size_t len = strlen(keys[i].line);
		char *text = malloc(len + 2);
		if (!text) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		memcpy(text, keys[i].line, len);
		memcpy(text + len, "\n", 2);
		int w = ctm_write_file_atomic(paths[i], text, len + 1, 0600, (gid_t)-1, e2, sizeof e2);
		free(text);
		if (w) {
			snprintf(err, errlen, "writing a host key to sign: %s", e2);
			goto out;
		}
		argv[a++] = paths[i];
	}
	argv[a] = NULL;
	char out[2048], e2[256];
	int rc = run_tool(argv, out, sizeof out, 30, e2, sizeof e2);
	if (rc != 0) {
		if (rc > 0)
			one_line(out);
		snprintf(err, errlen, "ssh-keygen -s %s %s: %s", cfg->host_ca_key, rc < 0 ? "failed" : "refused",
			 rc < 0 ? e2 : out);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char path[420], line[CTM_KEY_LINE_MAX + 1];
		snprintf(path, sizeof path, "%s/%s-cert.pub", dir, keys[i].name);
		if (read_line(path, line, sizeof line, err, errlen))
			goto out;
		/* "TYPE-cert-v01@openssh.com BASE64 COMMENT": one line of
		 * printable text, as it goes into an exec's argument and a file. */
		const char *sp = strchr(line, ' ');
		int ok = sp && sp - line > 21 && strncmp(sp - 21, "-cert-v01@openssh.com", 21) == 0;
		for (const char *p = line; ok && *p; p++)
			ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
		if (!ok) {
			snprintf(err, errlen, "ssh-keygen wrote %s, which is not a certificate line", path);
			goto out;
		}
		if (!(certs[i] = strdup(line))) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	remove_tree(dir, keys, n);
	if (ret)
		for (size_t i = 0; i < n; i++) {
			free(certs[i]);
			certs[i] = NULL;
		}
	return ret;
}

/* Append "@cert-authority PATTERNS KEY\n" for key (canonical, no comment)
 * unless a line for it is there already. */
static int add_ca_line(char **text, size_t *len, const char *patterns, const char *key, int *count)
{
	struct ctm_sshkey k;
	char msg[64], canon[CTM_KEY_LINE_MAX + 1];
	if (ctm_sshkey_parse(key, strlen(key), &k, msg, sizeof msg) != CTM_KEY_OK)
		return 0;
	k.comment_len = 0;
	ctm_sshkey_format(&k, canon, sizeof canon);
	if (*text && strstr(*text, canon))
		return 0;
	size_t need = *len + strlen(patterns) + strlen(canon) + 64;
	char *n = realloc(*text, need);
	if (!n)
		return -1;
	*text = n;
	*len += (size_t)snprintf(n + *len, need - *len, "@cert-authority %s %s containarium-host-ca\n", patterns,
				 canon);
	(*count)++;
	return 0;
}

char *host_ca_known_hosts(const struct helperd_config *cfg, const char *patterns, char *err, size_t errlen)
{
	char line[CTM_KEY_LINE_MAX + 1], fp[64];
	if (host_ca_public(cfg, line, sizeof line, fp, sizeof fp, err, errlen))
		return NULL;
	char *text = NULL;
	size_t len = 0;
	int count = 0;
	if (add_ca_line(&text, &len, patterns, line, &count))
		goto oom;
	if (*cfg->host_ca_trust) {
		FILE *f = fopen(cfg->host_ca_trust, "re");
		if (!f) {
			snprintf(err, errlen, "host_ca_trust %s: %s", cfg->host_ca_trust, strerror(errno));
			free(text);
			return NULL;
		}
		while (fgets(line, sizeof line, f)) {
			line[strcspn(line, "\r\n")] = '\0';
			const char *s = line + strspn(line, " \t");
			if (*s && *s != '#' && add_ca_line(&text, &len, patterns, s, &count)) {
				fclose(f);
				goto oom;
			}
		}
		fclose(f);
	}
	return text;
oom:
	free(text);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

int host_cert_network_pattern(const char *cidr, char *out, size_t outlen)
{
	unsigned a, b, c, d, len;
	char tail;
	if (sscanf(cidr, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &len, &tail) != 5 || a > 255 || b > 255 || c > 255 ||
	    d > 255 || len > 32 || len < 8)
		return -1;
	unsigned octets = len / 8;
	int n = octets >= 4   ? snprintf(out, outlen, "%u.%u.%u.%u", a, b, c, d)
		: octets == 3 ? snprintf(out, outlen, "%u.%u.%u.*", a, b, c)
		: octets == 2 ? snprintf(out, outlen, "%u.%u.*", a, b)
			      : snprintf(out, outlen, "%u.*", a);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* ---- the containers' side ------------------------------------------------ */

int host_pubkeys_parse(const char *out, struct host_pubkey *keys, size_t max, size_t *n, char *err, size_t errlen)
{
	*n = 0;
	for (const char *p = out ? out : ""; *p;) {
		size_t len = strcspn(p, "\n");
		if (len > 8 && strncmp(p, "hostkey ", 8) == 0) {
			const char *name = p + 8, *sp = memchr(name, ' ', len - 8);
			size_t nl = sp ? (size_t)(sp - name) : 0;
			struct ctm_sshkey k;
			char msg[256], canon[CTM_KEY_LINE_MAX + 1];
			if (!sp || nl < 9 || nl > HOST_KEY_NAME_MAX || strncmp(name, "ssh_host_", 9) != 0 ||
			    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") < nl) {
				snprintf(err, errlen,
					 "the container printed a host key line without a usable name: "
					 "\"%.60s\"",
					 p);
				goto bad;
			}
			size_t kl = len - (size_t)(sp + 1 - p);
			if (ctm_sshkey_parse(sp + 1, kl, &k, msg, sizeof msg) != CTM_KEY_OK) {
				snprintf(err, errlen, "%s/%.*s.pub in the container is not a public key: %s",
					 HOST_KEY_DIR, (int)nl, name, msg);
				goto bad;
			}
			if (*n == max) {
				snprintf(err, errlen, "the container has more than %zu SSH host keys", max);
				goto bad;
			}
			k.comment_len = 0;
			ctm_sshkey_format(&k, canon, sizeof canon);
			memcpy(keys[*n].name, name, nl);
			keys[*n].name[nl] = '\0';
			if (!(keys[*n].line = strdup(canon))) {
				snprintf(err, errlen, "out of memory");
				goto bad;
			}
			(*n)++;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	if (*n == 0) {
		snprintf(err, errlen, "the container printed no SSH host keys");
		return -1;
	}
	return 0;
bad:
	host_pubkeys_free(keys, *n);
	*n = 0;
	return -1;
}

int host_keys_parse(const char *out, struct host_keys *hk, char *err, size_t errlen)
{
	hk->n = 0;
	hk->sshd_before = false;
	hk->sshd_version = 0;
	if (host_pubkeys_parse(out, hk->keys, HOST_KEYS_MAX, &hk->n, err, errlen))
		return -1;
	for (const char *p = out; *p;) {
		size_t len = strcspn(p, "\n");
		if (len == 11 && strncmp(p, "sshd-before", 11) == 0)
			hk->sshd_before = true;
		const char *v = len > 13 && strncmp(p, "sshd-version ", 13) == 0 ? memmem(p, len, "OpenSSH_", 8) : NULL;
		unsigned major = 0, minor = 0;
		if (v && sscanf(v + 8, "%u.%u", &major, &minor) == 2 && major < 100 && minor < 100)
			hk->sshd_version = (int)(major * 100 + minor);
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}

void host_keys_free(struct host_keys *hk)
{
	host_pubkeys_free(hk->keys, hk->n);
	hk->n = 0;
}

/* Put the certificates in place beside their keys (HOST_KEY_DIR) by a
 * temporary file and a rename each ("$2 $3", "$4 $5"...: NAME CERTIFICATE
 * pairs), and reload sshd as "$1" says: "none"; "reload" (it read its
 * configuration before the drop-in named them); "listener" (an OpenSSH
 * whose listener loads the certificates once: reload it if it started
 * before they were renamed into place, the same clock-tick test as
 * HOST_KEYS_SCRIPT's).  A reload waits for sshd's pid file (it handles
 * SIGHUP from then on; before, the signal would end it) and comes after
 * sshd -t (a reload into a configuration sshd refuses would end it; sshd
 * -t needs the privilege separation directory ssh.service makes).  Run
 * again it writes the same files.  41: a file could not be written; 42:
 * sshd -t refused (its words on stderr); 43: the reload failed. */
static const char install_script[] =
	"umask 022\n"
	"mode=$1\n"
	"shift\n"
	"k=$(($# / 2))\n"
	"while [ \"$k\" -gt 0 ]; do\n"
	"  k=$((k - 1))\n"
	"  c=" HOST_KEY_DIR "/$1-cert.pub\n"
	"  printf '%s\\n' \"$2\" >\"$c.tmp\" || exit 41\n"
	"  set -- \"$@\" \"$c\"\n"
	"  shift 2\n"
	"done\n"
	"for c in \"$@\"; do mv -f \"$c.tmp\" \"$c\" || exit 41; done\n"
	"if [ \"$mode\" = listener ]; then\n"
	"  mark=$(cut -d ' ' -f 22 /proc/self/stat)\n"
	"  mode=none\n"
	"  for p in $(grep -lx sshd /proc/[0-9]*/comm 2>/dev/null); do\n"
	"    t=$(cut -d ' ' -f 22 \"${p%/comm}/stat\" 2>/dev/null) || continue\n"
	"    [ -z \"$t\" ] || [ \"$t\" -gt \"$mark\" ] || { mode=reload; break; }\n"
	"  done\n"
	"fi\n"
	"[ \"$mode\" = reload ] || exit 0\n"
	"[ -d /run/sshd ] || mkdir -m 0755 /run/sshd || exit 41\n"
	"if ! e=$(/usr/sbin/sshd -t 2>&1); then printf '%s\\n' \"$e\" >&2; exit 42; fi\n"
	"i=0\n"
	"while [ ! -s /run/sshd.pid ] && [ \"$i\" -lt 500 ]; do sleep 0.02; i=$((i + 1)); done\n"
	"[ -s /run/sshd.pid ] || exit 0\n"
	"read -r pid </run/sshd.pid\n"
	"echo reloaded\n"
	"kill -HUP \"$pid\" || exit 43\n";

/* OpenSSH before 9.8 re-executes itself for each connection, which loads
 * the host keys and certificates from disk: certificates that appear
 * after sshd started are served to the next connection. */
#define SSHD_LOADS_PER_CONNECTION(v) ((v) > 0 && (v) < 908)

enum incus_status host_cert_push(struct incus_client *c, const struct helperd *d, const char *iname, const char *ip,
				 const struct host_keys *hk, bool at_create, char *record, size_t recordlen, char *err,
				 size_t errlen)
{
	char principals[160], identity[200], fp[64];
	char *certs[HOST_KEYS_MAX];
	snprintf(principals, sizeof principals, "%s,%s", ip, iname);
	snprintf(identity, sizeof identity, "containarium container %s at %s", iname, ip);
	struct timespec t0, t1, t2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (host_ca_sign(&d->cfg, hk->keys, hk->n, identity, principals, certs, fp, sizeof fp, err, errlen))
		return INCUS_ERR_SERVER;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	enum incus_status st = INCUS_OK;
	const char *how;
	if (at_create && !hk->sshd_before && SSHD_LOADS_PER_CONNECTION(hk->sshd_version)) {
		/* No sshd has read its configuration yet, or each connection
		 * reads the certificates: plain pushes.  (Nobody logs in to a
		 * container being made: a half-written file meets no one.) */
		how = "pushed";
		for (size_t i = 0; i < hk->n && st == INCUS_OK; i++) {
			char path[160];
			snprintf(path, sizeof path, "%s/%s-cert.pub", HOST_KEY_DIR, hk->keys[i].name);
			size_t len = strlen(certs[i]);
			certs[i][len] = '\n'; /* the NUL's place; the length says where it ends */
			st = incus_file_push(c, iname, path, certs[i], len + 1, 0, 0, 0644, err, errlen);
			certs[i][len] = '\0';
		}
	} else {
		const char *mode = hk->sshd_before                               ? "reload"
				   : SSHD_LOADS_PER_CONNECTION(hk->sshd_version) ? "none"
										 : "listener";
		const char *argv[5 + 2 * HOST_KEYS_MAX + 1] = { "sh", "-c", install_script,
								"containarium-host-certificate", mode };
		size_t a = 5;
		for (size_t i = 0; i < hk->n; i++) {
			argv[a++] = hk->keys[i].name;
			argv[a++] = certs[i];
		}
		argv[a] = NULL;
		int rc = -1;
		char *errout = NULL, *out = NULL;
		st = incus_exec(c, iname, argv, 60, &rc, &out, &errout, err, errlen);
		how = st == INCUS_OK && out && strstr(out, "reloaded") ? "written; sshd reloaded" : "written";
		if (st == INCUS_ERR_COMMAND) {
			if (errout)
				one_line(errout);
			snprintf(err, errlen, "%s in %s failed%s%.400s",
				 rc == 42   ? "sshd -t, before reloading sshd for the host certificates"
				 : rc == 43 ? "reloading sshd"
					    : "writing the host certificates",
				 iname, errout && *errout ? ": " : "", errout ? errout : "");
		}
		free(out);
		free(errout);
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (st == INCUS_OK)
		log_debug("%s: SSH host certificates in place for %s (signed in %.3f s, %s in %.3f s)", iname, ip,
			  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, how,
			  (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9);
	for (size_t i = 0; i < hk->n; i++)
		free(certs[i]);
	if (st == INCUS_OK)
		snprintf(record, recordlen, "%s %s", fp, ip);
	return st;
}

static const char keys_script[] = HOST_KEYS_SCRIPT;

enum incus_status host_cert_sign_instance(struct incus_client *c, const struct helperd *d, const char *iname,
					  const char *ip, char *record, size_t recordlen, char *err, size_t errlen)
{
	const char *argv[] = { "sh", "-c", keys_script, "containarium-host-keys", NULL };
	char *out = NULL;
	int rc = -1;
	enum incus_status st = incus_exec(c, iname, argv, 60, &rc, &out, NULL, err, errlen);
	if (st == INCUS_ERR_COMMAND)
		snprintf(err, errlen,
			 "making the SSH host keys of %s or their sshd drop-in failed (ssh-keygen in %s; "
			 "is openssh-client installed there?)",
			 iname, HOST_KEY_DIR);
	struct host_keys hk = { .n = 0 };
	if (st == INCUS_OK && host_keys_parse(out ? out : "", &hk, err, errlen))
		st = INCUS_ERR_PROTOCOL;
	free(out);
	if (st == INCUS_OK)
		st = host_cert_push(c, d, iname, ip, &hk, false, record, recordlen, err, errlen);
	host_keys_free(&hk);
	return st;
}

enum incus_status host_cert_renew(struct incus_client *c, const struct helperd *d, const struct account *a, char *err,
				  size_t errlen)
{
	char ip[INET_ADDRSTRLEN], record[HOST_CERT_RECORD_MAX];
	inet_ntop(AF_INET, a->ipv4, ip, sizeof ip);
	enum incus_status st = host_cert_sign_instance(c, d, a->instance, ip, record, sizeof record, err, errlen);
	if (st != INCUS_OK)
		return st;
	char path[128];
	snprintf(path, sizeof path, "/1.0/instances/%s", a->instance);
	json_object *b = json_object_new_object(), *cfg = json_object_new_object();
	json_object_object_add(cfg, ACCT_KEY_HOST_CERT, json_object_new_string(record));
	json_object_object_add(b, "config", cfg);
	st = incus_call(c, "PATCH", path, b, NULL, 60, NULL, err, errlen);
	json_object_put(b);
	if (st == INCUS_OK)
		log_notice("%s: SSH host certificate signed for %s (%s)", a->instance, ip, record);
	return st;
}

/* ---- the sweep at start ---------------------------------------------------- */

static void sweep(struct operation *op, void *arg)
{
	struct helperd *d = arg;
	char err[1024];
	operation_step(op, 1, "Renewing SSH host certificates...");
	struct incus_client *c = helperd_client(d, err, sizeof err);
	if (!c) {
		operation_fail(op, 503, "backend_unavailable", "%s", err);
		return;
	}
	struct registry reg;
	if (registry_load(c, &reg, err, sizeof err) != INCUS_OK) {
		operation_fail(op, 503, "backend_unavailable", "%s", err);
		incus_close(c);
		return;
	}
	const char *member = incus_server_member(c);
	unsigned done = 0, failed = 0, waiting = 0;
	for (size_t i = 0; i < reg.count; i++) {
		const struct account *a = &reg.accounts[i];
		if (a->host_cert == ACCT_HOST_CERT_CURRENT || a->host_cert == ACCT_HOST_CERT_OFF ||
		    a->state == CTM_STATE_PROVISIONING || a->uid < d->cfg.uid_min || a->uid > d->cfg.uid_max ||
		    (*member && strcmp(a->location, member) != 0) || operation_busy(a->name))
			continue;
		if (strcmp(a->status, "Running") != 0) {
			waiting++; /* signed when it starts */
			continue;
		}
		if (host_cert_renew(c, d, a, err, sizeof err) == INCUS_OK) {
			done++;
		} else {
			failed++;
			log_error(
				"%s: cannot renew its SSH host certificate: %s; helperd tries again at its next start "
				"and when the container starts",
				a->instance, err);
		}
	}
	registry_free(&reg);
	if (done || failed || waiting)
		log_notice("SSH host certificates: %u renewed, %u failed, %u stopped containers renewed when they "
			   "start",
			   done, failed, waiting);
	char e2[512];
	if (done && helperd_refresh(d, c, e2, sizeof e2))
		log_error("publishing after renewing host certificates: %s", e2);
	incus_close(c);
	if (failed) {
		operation_fail(op, 502, "host_certificate_failed",
			       "%u of %u SSH host certificates could not be "
			       "renewed; the log names them",
			       failed, done + failed);
		return;
	}
	json_object *r = json_object_new_object();
	json_object_object_add(r, "renewed", json_object_new_int((int)done));
	json_object_object_add(r, "stopped", json_object_new_int((int)waiting));
	operation_succeed(op, r);
}

void host_cert_sweep_start(struct helperd *d)
{
	if (!*d->host_ca_fp)
		return;
	int stale = 0;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->reg.count && !stale; i++) {
		const struct account *a = &d->reg.accounts[i];
		stale = (a->host_cert == ACCT_HOST_CERT_MISSING || a->host_cert == ACCT_HOST_CERT_STALE) &&
			a->state != CTM_STATE_PROVISIONING && strcmp(a->status, "Running") == 0;
	}
	pthread_mutex_unlock(&d->lock);
	if (stale && !operation_start("host-certificates", "(host certificates)", 1, sweep, d, NULL))
		log_warning("renewing SSH host certificates is running already");
}
