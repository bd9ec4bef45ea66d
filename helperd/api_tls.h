/* SPDX-License-Identifier: Apache-2.0 */
/* helperd's remote API: the same routes over HTTPS on a TCP port
 * (https_listen), for the CLI on another machine.  Callers authenticate with
 * a client certificate signed by https_client_ca and not revoked by
 * https_crl (when set); each such caller is an admin, never root (the PAM
 * session endpoint stays local), and its certificate's common name names it
 * in the log and the audit log.  libmicrohttpd does the TLS (GnuTLS); this
 * file loads the PEM files, keeps the revocation list current and checks
 * the peer. */
#ifndef CONTAINARIUM_HELPERD_API_TLS_H
#define CONTAINARIUM_HELPERD_API_TLS_H

#include <microhttpd.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

struct api_tls_material {
	char *cert, *key, *client_ca; /* PEM text, NUL-terminated */
	struct sockaddr_storage addr; /* where to listen */
	socklen_t addr_len;
};

/* Read the three PEM files (the key must be owned by root or us and not
 * readable by group or others) and parse https_listen ("127.0.0.1:8443",
 * "[::]:8443"); with https_crl, read the revocation list, which must be
 * signed by a CA of https_client_ca, and keep it until api_tls_stop.  0, or
 * -1 with err saying what to fix. */
int api_tls_load(const struct helperd_config *c, struct api_tls_material *m, char *err, size_t errlen);
/* The PEM texts (the revocation list stays). */
void api_tls_free(struct api_tls_material *m);
/* Forget the revocation list (after the TLS daemon stopped). */
void api_tls_stop(void);

/* MHD_OPTION_NOTIFY_CONNECTION of the TLS daemon: reads https_crl again
 * when the file changed, and has the handshake of the new connection
 * refuse a revoked client certificate (a certificate_revoked alert). */
void api_tls_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			   enum MHD_ConnectionNotificationCode code);

/* The caller on a TLS connection: 0 with its certificate's common name in
 * cn when it presented a certificate the client CA signed, that is valid
 * now and not revoked; -2 when https_crl revokes it; -1 otherwise; why is
 * a sentence for the caller. */
int api_tls_peer(struct MHD_Connection *conn, char *cn, size_t cnlen, char *why, size_t whylen);

#endif
