#include "api_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PEM files are small; anything larger is not one. */
#define MAX_PEM_BYTES (1u << 20)

static int read_pem(const char *setting, const char *path, int secret, char **out, char *err, size_t errlen)
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
				  .ai_socktype = SOCK_STREAM }, *res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		goto bad;
	memcpy(&m->addr, res->ai_addr, res->ai_addrlen);
	m->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	snprintf(err, errlen, "https_listen \"%s\" is not ADDRESS:PORT with a numeric address "
		 "(127.0.0.1:8443, 0.0.0.0:8443, [::]:8443)", listen);
	return -1;
}

int api_tls_load(const struct helperd_config *c, struct api_tls_material *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(err, errlen, "https_listen is set but this libmicrohttpd has no TLS support");
		return -1;
	}
	if (parse_listen(c->https_listen, m, err, errlen) ||
	    read_pem("https_cert", c->https_cert, 0, &m->cert, err, errlen) ||
	    read_pem("https_key", c->https_key, 1, &m->key, err, errlen) ||
	    read_pem("https_client_ca", c->https_client_ca, 0, &m->client_ca, err, errlen)) {
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
		snprintf(why, whylen, "this port takes only clients with a certificate signed by helperd's client "
			 "CA (https_client_ca): give the CLI --cert and --key");
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
	if (r == GNUTLS_E_SUCCESS)
		r = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len);
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
