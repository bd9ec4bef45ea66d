/* SPDX-License-Identifier: Apache-2.0 */
/* The certificates of helperd's remote API, made on the jump host with
 * OpenSSL's libcrypto (containarium cert generate|revoke|list): one CA, a
 * server certificate naming the host (IP and DNS subjectAltNames), one
 * client certificate per admin named by its common name, and the CA's
 * revocation list.  All in one directory:
 *
 *   DIR/ca.crt ca.key              the CA (key 0600)
 *   DIR/server.crt server.key      helperd's https_cert and https_key
 *   DIR/clients/NAME.crt NAME.key  one per admin
 *   DIR/crl.pem                    helperd's https_crl
 *   DIR/index.json                 every certificate issued, and which are revoked
 *
 * Keys are ECDSA P-256 (GnuTLS, OpenSSL and libcurl all take it),
 * signatures ECDSA with SHA-256, serial numbers 127 random bits.  Every
 * file is written to a temporary file in its directory, flushed and renamed
 * into place; keys are mode 0600 from their first byte, certificates, the
 * CRL and the index 0644; a directory made here is 0700.  A lock file
 * (DIR/.lock) keeps two runs apart.
 *
 * Functions return a CLI exit code (cli.h) and, on failure, fill a
 * struct pki_error with a stable code and a sentence saying what to do. */
#ifndef CONTAINARIUM_CLI_PKI_H
#define CONTAINARIUM_CLI_PKI_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define PKI_DEFAULT_DIR "/etc/containarium/certs"
#define PKI_DEFAULT_DAYS 365
#define PKI_DEFAULT_CA_DAYS 3650
#define PKI_MAX_DAYS 36500
#define PKI_DEFAULT_LISTEN "0.0.0.0:8443"
#define PKI_NAME_MAX 64 /* a common name is at most 64 characters */
#define PKI_SANS_MAX 16
#define PKI_PATH_MAX 1024

struct pki_error {
	const char *code;   /* "certificate_exists", "not_found", ... */
	char message[3072]; /* room for two paths */
};

/* The host names of a server certificate. */
struct pki_sans {
	const char *ip[PKI_SANS_MAX];
	const char *dns[PKI_SANS_MAX];
	int nip, ndns;
};

struct x509_st;
struct evp_pkey_st;

struct pki {
	char dir[PKI_PATH_MAX]; /* absolute, no trailing slash */
	int lockfd;
	json_object *index; /* the contents of index.json */
	struct x509_st *ca; /* after pki_create_ca or pki_load_ca */
	struct evp_pkey_st *ca_key;
	bool crl_healed; /* pki_load_ca rewrote a CRL that did not match the index */
};

/* ---- input ------------------------------------------------------------- */

/* An admin's name for a client certificate's CN and file name: 1 to 64 of
 * letters, digits, '.', '_', '@', '-', starting with a letter or digit.
 * 0, or -1 with msg. */
int pki_check_name(const char *name, char *msg, size_t msglen);
/* A numeric IPv4 or IPv6 address. */
int pki_check_ip(const char *ip, char *msg, size_t msglen);
/* A DNS name: labels of letters, digits and '-', at most 253 characters. */
int pki_check_dns(const char *name, char *msg, size_t msglen);
/* helperd's https_listen: ADDRESS:PORT with a numeric address. */
int pki_check_listen(const char *listen, char *msg, size_t msglen);
/* A number of days, 1 to PKI_MAX_DAYS. */
int pki_check_days(const char *flag, const char *value, int *days, char *msg, size_t msglen);

/* ---- the directory ----------------------------------------------------- */

/* Open DIR (made, with missing parents, when create is set), check that
 * group and others cannot write it, take its lock, and read its index.
 * Fails with "locked" when another run holds it. */
int pki_open(struct pki *p, const char *dir, bool create, struct pki_error *e);
void pki_close(struct pki *p);
/* DIR/rel, in buf. */
const char *pki_path(const struct pki *p, const char *rel, char *buf, size_t len);

/* Whether DIR has a CA (ca.crt). */
bool pki_has_ca(const struct pki *p);
/* Move the CA and everything it signed to DIR/old/STAMP/ (for a new CA);
 * where in moved_to. */
int pki_archive(struct pki *p, char *moved_to, size_t len, struct pki_error *e);
/* A new CA valid for days, and its empty CRL. */
int pki_create_ca(struct pki *p, int days, struct pki_error *e);
/* The existing CA: its certificate and key, which must match, be a CA and
 * be valid now.  A CRL that is missing or older than the index is written
 * again (crl_healed). */
int pki_load_ca(struct pki *p, struct pki_error *e);

/* ---- certificates ------------------------------------------------------ */

/* Issue a server certificate (sans) or a client certificate (name), valid
 * for days but never beyond the CA; records it in the index first, then
 * writes its key and certificate.  *entry is its index entry (owned by the
 * index). */
int pki_issue_server(struct pki *p, const struct pki_sans *sans, int days, json_object **entry, struct pki_error *e);
int pki_issue_client(struct pki *p, const char *name, int days, json_object **entry, struct pki_error *e);

/* The index's entries: json array of objects with "kind" ("server",
 * "client"), "name", "serial" (hex), "not_before", "not_after",
 * "revoked_at" (absent when not revoked), "cert", "key" (relative paths),
 * "sans" (server). */
json_object *pki_entries(const struct pki *p);
/* Whether an entry is revoked, or expired at now. */
bool pki_entry_revoked(json_object *entry);
bool pki_entry_expired(json_object *entry, time_t now);
/* The first entry of kind and name neither revoked nor expired, or NULL. */
json_object *pki_find_valid(const struct pki *p, const char *kind, const char *name);
/* The entry with this serial (hex, any case, colons allowed), or NULL. */
json_object *pki_find_serial(const struct pki *p, const char *serial);

/* Mark entries revoked (now) and write the CRL again, signed by the CA. */
int pki_revoke(struct pki *p, json_object *const *entries, int n, struct pki_error *e);
/* Write DIR/crl.pem from the index: every revoked serial, the next CRL
 * number, valid until the CA expires. */
int pki_write_crl(struct pki *p, struct pki_error *e);
/* The number of the current CRL (index "crl_number"). */
long long pki_crl_number(const struct pki *p);

/* The CA: subject, serial and expiry (after pki_create_ca/pki_load_ca). */
void pki_ca_info(const struct pki *p, char *subject, size_t slen, char *serial, size_t serlen, time_t *not_after);

/* Settings remembered in the index: "https_listen" and "remote" (the URL
 * clients use), set when a server certificate is issued. */
const char *pki_setting(const struct pki *p, const char *key);
void pki_set_setting(struct pki *p, const char *key, const char *value);
/* Write the index now (after pki_set_setting). */
int pki_save_index(struct pki *p, struct pki_error *e);

/* "2026-12-05T03:39:03Z"; 0 on a bad string. */
void pki_time_str(time_t t, char *buf, size_t len);
time_t pki_time_parse(const char *s);

#endif
