/* SPDX-License-Identifier: Apache-2.0 */
#include "api_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helperd_log.h"

/* PEM files are small; anything larger is not one. */
#define MAX_PEM_BYTES (1u << 20)

static int read_pem(const char *setting, const char *path, int secret, char **out, struct stat *stp, char *err,
		    size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s %s: %s", setting, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	const char *bad = NULL;
	if (!S_ISREG(st.st_mode))
		bad = "is not a regular file";
	else if (st.st_size > MAX_PEM_BYTES)
		bad = "is larger than 1 MiB: not a PEM file";
	else if (secret && (st.st_mode & 077))
		bad = "can be read by group or others: chmod 600 it";
	else if (secret && st.st_uid != 0 && st.st_uid != geteuid())
		bad = "is not owned by root";
	if (bad) {
		snprintf(err, errlen, "%s %s %s", setting, path, bad);
		close(fd);
		return -1;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		snprintf(err, errlen, "%s %s: cannot read it", setting, path);
		free(buf);
		return -1;
	}
	buf[got] = '\0';
	if (!strstr(buf, "-----BEGIN ")) {
		snprintf(err, errlen, "%s %s is not PEM (no -----BEGIN line)", setting, path);
		free(buf);
		return -1;
	}
	*out = buf;
	if (stp)
		*stp = st;
	return 0;
}

static int parse_listen(const char *listen, struct api_tls_material *m, char *err, size_t errlen)
{
	char host[64];
	const char *port;
	if (listen[0] == '[') {
		const char *close_br = strchr(listen, ']');
		if (!close_br || close_br[1] != ':' || (size_t)(close_br - listen - 1) >= sizeof host)
			goto bad;
		snprintf(host, sizeof host, "%.*s", (int)(close_br - listen - 1), listen + 1);
		port = close_br + 2;
	} else {
		const char *colon = strrchr(listen, ':');
		if (!colon || (size_t)(colon - listen) >= sizeof host || strchr(listen, ':') != colon)
			goto bad;
		snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
		port = colon + 1;
	}
	char *end;
	long p = strtol(port, &end, 10);
	if (!*port || *end || p < 1 || p > 65535)
		goto bad;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM },
			*res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		goto bad;
	memcpy(&m->addr, res->ai_addr, res->ai_addrlen);
	m->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	snprintf(err, errlen,
		 "https_listen \"%s\" is not ADDRESS:PORT with a numeric address "
		 "(127.0.0.1:8443, 0.0.0.0:8443, [::]:8443)",
		 listen);
	return -1;
}

/* ---- the revocation list (https_crl) -------------------------------------
 * Read at start (a bad one stops helperd), and again whenever the file
 * changes: each new connection and each request stat()s it, and a new
 * inode, size or mtime makes helperd read it (cert revoke renames a new
 * file into place).  A new file that cannot be used is logged once and the
 * list read before stays in force, so nothing revoked comes back.  A
 * revoked certificate is refused during the TLS handshake (a verify
 * function on each session, set when libmicrohttpd announces the
 * connection, before its thread runs the handshake), and again on each
 * request, for connections opened before the revocation. */

struct file_id {
	bool set;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

static struct {
	pthread_mutex_t lock;
	bool active; /* https_crl is set */
	char path[256];
	gnutls_x509_crt_t *cas; /* https_client_ca: a CRL must be signed by one of them */
	unsigned int ncas;
	gnutls_x509_crl_t *crls;
	unsigned int ncrls, entries;
	struct file_id loaded, refused;
	bool no_session_logged;
} crl = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct file_id file_id_of(const struct stat *st)
{
	return (struct file_id){ true, st->st_dev, st->st_ino, st->st_size, st->st_mtim };
}

static bool same_file(const struct file_id *a, const struct file_id *b)
{
	return a->set && b->set && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void free_crls(gnutls_x509_crl_t *list, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		gnutls_x509_crl_deinit(list[i]);
	gnutls_free(list);
}

/* Read and check the file: PEM CRLs, each signed by one of the client CAs
 * (times are not checked: the list is the host's own file, not fetched). */
static int crl_read(const char *path, gnutls_x509_crl_t **out, unsigned int *n, unsigned int *entries,
		    struct file_id *id, char *err, size_t errlen)
{
	char *text = NULL;
	struct stat st;
	if (read_pem("https_crl", path, 0, &text, &st, err, errlen) != 0)
		return -1;
	gnutls_datum_t d = { (unsigned char *)text, (unsigned int)strlen(text) };
	gnutls_x509_crl_t *list = NULL;
	unsigned int count = 0;
	int r = gnutls_x509_crl_list_import2(&list, &count, &d, GNUTLS_X509_FMT_PEM, 0);
	free(text);
	if (r < 0 || count == 0) {
		snprintf(err, errlen,
			 "https_crl %s holds no revocation list (-----BEGIN X509 CRL-----): give "
			 "the file containarium cert generate made (crl.pem)",
			 path);
		if (r >= 0)
			free_crls(list, count);
		return -1;
	}
	*entries = 0;
	for (unsigned int i = 0; i < count; i++) {
		unsigned int status = 0;
		r = gnutls_x509_crl_verify(list[i], crl.cas, crl.ncas, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status);
		if (r < 0 || status != 0) {
			char issuer[256];
			size_t len = sizeof issuer;
			if (gnutls_x509_crl_get_issuer_dn(list[i], issuer, &len) < 0)
				snprintf(issuer, sizeof issuer, "?");
			snprintf(err, errlen,
				 "https_crl %s is not signed by a CA of https_client_ca (its issuer: %s): "
				 "use the crl.pem beside the ca.crt that https_client_ca names",
				 path, issuer);
			free_crls(list, count);
			return -1;
		}
		int c = gnutls_x509_crl_get_crt_count(list[i]);
		*entries += c > 0 ? (unsigned int)c : 0;
	}
	*out = list;
	*n = count;
	*id = file_id_of(&st);
	return 0;
}

/* Read the file again when it is not the one read last. */
static void crl_refresh(void)
{
	if (!crl.active)
		return;
	pthread_mutex_lock(&crl.lock);
	struct stat st;
	struct file_id now = { .set = true }; /* all zero: the file is missing */
	int stat_errno = stat(crl.path, &st) == 0 ? 0 : errno;
	if (!stat_errno)
		now = file_id_of(&st);
	if (same_file(&now, &crl.loaded) || same_file(&now, &crl.refused)) {
		pthread_mutex_unlock(&crl.lock);
		return;
	}
	char err[512];
	gnutls_x509_crl_t *list = NULL;
	unsigned int n = 0, entries = 0;
	struct file_id id;
	if (stat_errno) {
		snprintf(err, sizeof err, "https_crl %s: %s", crl.path, strerror(stat_errno));
	} else if (crl_read(crl.path, &list, &n, &entries, &id, err, sizeof err) == 0) {
		free_crls(crl.crls, crl.ncrls);
		crl.crls = list;
		crl.ncrls = n;
		crl.entries = entries;
		crl.loaded = id;
		crl.refused.set = false;
		log_notice("https_crl %s read again: %u revoked certificate%s", crl.path, entries,
			   entries == 1 ? "" : "s");
		pthread_mutex_unlock(&crl.lock);
		return;
	}
	crl.refused = now;
	log_error("%s; the list read before stays in force (%u revoked certificate%s)", err, crl.entries,
		  crl.entries == 1 ? "" : "s");
	pthread_mutex_unlock(&crl.lock);
}

/* Whether the list revokes crt. */
static bool crl_revokes(gnutls_x509_crt_t crt)
{
	if (!crl.active)
		return false;
	pthread_mutex_lock(&crl.lock);
	int r = crl.ncrls ? gnutls_x509_crt_check_revocation(crt, crl.crls, crl.ncrls) : 0;
	pthread_mutex_unlock(&crl.lock);
	return r == 1;
}

/* "CN (serial HEX)" of a certificate, for the log and the caller. */
static void describe(gnutls_x509_crt_t crt, char *buf, size_t len)
{
	char cn[128] = "", hex[2 * 20 + 1] = "";
	unsigned char serial[20];
	size_t cnlen = sizeof cn, slen = sizeof serial;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cnlen) < 0)
		snprintf(cn, sizeof cn, "?");
	for (char *p = cn; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	if (gnutls_x509_crt_get_serial(crt, serial, &slen) == 0) {
		size_t i = 0;
		while (i + 1 < slen && serial[i] == 0)
			i++; /* as OpenSSL prints it, without leading zero bytes */
		for (size_t k = 0; i < slen; i++, k += 2)
			snprintf(hex + k, 3, "%02X", serial[i]);
	}
	snprintf(buf, len, "%s (serial %s)", cn, *hex ? hex : "?");
}

/* The session's verify function: runs in the handshake when the client's
 * certificate arrives.  Anything but revocation is left to api_tls_peer,
 * which answers with a sentence; a revoked certificate ends the handshake
 * with a certificate_revoked alert. */
static int verify_at_handshake(gnutls_session_t session)
{
	unsigned int n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(session, &n);
	if (!certs || n == 0)
		return 0;
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS)
		return GNUTLS_E_MEMORY_ERROR;
	bool revoked =
		gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS && crl_revokes(crt);
	if (revoked) {
		char who[200];
		describe(crt, who, sizeof who);
		log_notice("remote API: refused the revoked client certificate of %s at the TLS handshake "
			   "(https_crl)",
			   who);
	}
	gnutls_x509_crt_deinit(crt);
	if (!revoked)
		return 0;
	gnutls_alert_send(session, GNUTLS_AL_FATAL, GNUTLS_A_CERTIFICATE_REVOKED);
	/* Under TLS 1.3 the client has sent its request by now.  Closing with
	 * it unread would reset the connection, and the client could lose the
	 * alert (and with it the reason): end our side, and read until the
	 * client closes (at most a second, in this connection's own thread). */
	int fd = gnutls_transport_get_int(session);
	if (fd >= 0 && shutdown(fd, SHUT_WR) == 0) {
		struct timespec start, now;
		clock_gettime(CLOCK_MONOTONIC, &start);
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			long left = 1000 - (now.tv_sec - start.tv_sec) * 1000 - (now.tv_nsec - start.tv_nsec) / 1000000;
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			char sink[4096];
			if (left <= 0 || poll(&pfd, 1, (int)left) <= 0 ||
			    recv(fd, sink, sizeof sink, MSG_DONTWAIT) <= 0)
				break;
		}
	}
	return GNUTLS_E_CERTIFICATE_ERROR;
}

void api_tls_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			   enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)socket_context;
	if (code != MHD_CONNECTION_NOTIFY_STARTED || !crl.active)
		return;
	crl_refresh();
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci && ci->tls_session) {
		gnutls_session_set_verify_function((gnutls_session_t)ci->tls_session, verify_at_handshake);
	} else if (!crl.no_session_logged) {
		crl.no_session_logged = true;
		log_warning("libmicrohttpd gave no TLS session when the connection started: revoked client "
			    "certificates are refused on each request, not during the handshake");
	}
}

/* Start checking against https_crl (with the client CAs in ca_pem). */
static int crl_start(const struct helperd_config *c, const char *ca_pem, char *err, size_t errlen)
{
	gnutls_datum_t d = { (unsigned char *)ca_pem, (unsigned int)strlen(ca_pem) };
	if (gnutls_x509_crt_list_import2(&crl.cas, &crl.ncas, &d, GNUTLS_X509_FMT_PEM, 0) < 0 || crl.ncas == 0) {
		snprintf(err, errlen, "https_client_ca %s holds no certificate that GnuTLS can read",
			 c->https_client_ca);
		return -1;
	}
	snprintf(crl.path, sizeof crl.path, "%s", c->https_crl);
	if (crl_read(crl.path, &crl.crls, &crl.ncrls, &crl.entries, &crl.loaded, err, errlen) != 0) {
		api_tls_stop();
		return -1;
	}
	crl.active = true;
	log_info("remote API: client certificates are checked against https_crl %s (%u revoked certificate%s)",
		 crl.path, crl.entries, crl.entries == 1 ? "" : "s");
	return 0;
}

void api_tls_stop(void)
{
	pthread_mutex_lock(&crl.lock);
	free_crls(crl.crls, crl.ncrls);
	for (unsigned int i = 0; i < crl.ncas; i++)
		gnutls_x509_crt_deinit(crl.cas[i]);
	gnutls_free(crl.cas);
	crl.crls = NULL;
	crl.cas = NULL;
	crl.ncrls = crl.ncas = crl.entries = 0;
	crl.active = false;
	crl.loaded.set = crl.refused.set = false;
	pthread_mutex_unlock(&crl.lock);
}

int api_tls_load(const struct helperd_config *c, struct api_tls_material *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(err, errlen, "https_listen is set but this libmicrohttpd has no TLS support");
		return -1;
	}
	if (parse_listen(c->https_listen, m, err, errlen) ||
	    read_pem("https_cert", c->https_cert, 0, &m->cert, NULL, err, errlen) ||
	    read_pem("https_key", c->https_key, 1, &m->key, NULL, err, errlen) ||
	    read_pem("https_client_ca", c->https_client_ca, 0, &m->client_ca, NULL, err, errlen) ||
	    (*c->https_crl && crl_start(c, m->client_ca, err, errlen))) {
		api_tls_free(m);
		return -1;
	}
	return 0;
}

void api_tls_free(struct api_tls_material *m)
{
	if (m->key)
		explicit_bzero(m->key, strlen(m->key));
	free(m->cert);
	free(m->key);
	free(m->client_ca);
	m->cert = m->key = m->client_ca = NULL;
}

int api_tls_peer(struct MHD_Connection *conn, char *cn, size_t cnlen, char *why, size_t whylen)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session) {
		snprintf(why, whylen, "not a TLS connection");
		return -1;
	}
	gnutls_session_t tls = (gnutls_session_t)ci->tls_session;
	unsigned int n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(tls, &n);
	if (!certs || n == 0) {
		snprintf(why, whylen,
			 "this port takes only clients with a certificate signed by helperd's client "
			 "CA (https_client_ca): give the CLI --client-cert and --client-key");
		return -1;
	}
	/* MHD asked for the certificate against the client CA (its trust
	 * list); the check is ours. */
	unsigned int status = 0;
	if (gnutls_certificate_verify_peers2(tls, &status) != GNUTLS_E_SUCCESS || status != 0) {
		gnutls_datum_t text = { 0 };
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
			size_t tl = strlen((const char *)text.data);
			while (tl && ((const char *)text.data)[tl - 1] == ' ')
				tl--;
			snprintf(why, whylen, "the client certificate is not accepted: %.*s", (int)tl,
				 (const char *)text.data);
			gnutls_free(text.data);
		} else {
			snprintf(why, whylen, "the client certificate is not accepted");
		}
		return -1;
	}
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	size_t len = cnlen;
	int r = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (r == GNUTLS_E_SUCCESS) {
		/* Revoked since this connection's handshake (or the file
		 * changed since): the list as it is now decides. */
		crl_refresh();
		if (crl_revokes(crt)) {
			char who[200];
			describe(crt, who, sizeof who);
			snprintf(why, whylen,
				 "the client certificate of %s has been revoked (https_crl): ask an "
				 "admin for a new one",
				 who);
			gnutls_x509_crt_deinit(crt);
			return -2;
		}
		r = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len);
	}
	gnutls_x509_crt_deinit(crt);
	if (r != GNUTLS_E_SUCCESS || !*cn) {
		snprintf(why, whylen, "the client certificate has no common name (CN) to name its holder");
		return -1;
	}
	/* The name goes into logs and JSON: printable ASCII only. */
	for (char *p = cn; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return 0;
}
