/* helperd's remote API: the same routes over HTTPS on a TCP port
 * (https_listen), for the CLI on another machine.  Callers authenticate with
 * a client certificate signed by https_client_ca; each such caller is an
 * admin, never root (the PAM session endpoint stays local), and its
 * certificate's common name names it in the log and the audit log.
 * libmicrohttpd does the TLS (GnuTLS); this file loads the PEM files and
 * checks the peer. */
#ifndef CONTAINARIUM_HELPERD_API_TLS_H
#define CONTAINARIUM_HELPERD_API_TLS_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

struct MHD_Connection;

struct api_tls_material {
	char *cert, *key, *client_ca;   /* PEM text, NUL-terminated */
	struct sockaddr_storage addr;   /* where to listen */
	socklen_t addr_len;
};

/* Read the three PEM files (the key must be owned by root or us and not
 * readable by group or others) and parse https_listen ("127.0.0.1:8443",
 * "[::]:8443").  0, or -1 with err saying what to fix. */
int api_tls_load(const struct helperd_config *c, struct api_tls_material *m, char *err, size_t errlen);
void api_tls_free(struct api_tls_material *m);

/* The caller on a TLS connection: 0 with its certificate's common name in
 * cn when it presented a certificate the client CA signed and that is valid
 * now; -1 with why (a sentence for the caller) otherwise. */
int api_tls_peer(struct MHD_Connection *conn, char *cn, size_t cnlen, char *why, size_t whylen);

#endif
