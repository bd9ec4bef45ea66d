/* SPDX-License-Identifier: Apache-2.0 */
/* The remote API's certificates: the CLI's side (cli/pki.c, behind
 * containarium cert generate|revoke|list) checked with OpenSSL itself, and
 * helperd's side of https_crl (helperd/api_tls.c) loading what it makes.
 * The handshake against a real helperd is tests/cli/test_cli_cert.sh. */
#include <check.h>
#include <dirent.h>
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../cli/cli.h"
#include "../../cli/pki.h"
#include "api_tls.h"
#include "config.h"
#include "harness.h"

static char base[64];

static void make_base(void)
{
	snprintf(base, sizeof base, "/tmp/ctm-pki-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
}

static void remove_base(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *at(const char *rel)
{
	static char buf[4][512];
	static int n;
	char *b = buf[n++ % 4];
	snprintf(b, 512, "%s/pki/%s", base, rel);
	return b;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	ck_assert_msg(stat(path, &st) == 0, "%s exists", path);
	return st.st_mode & 07777;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	return x;
}

static X509_CRL *read_crl(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	X509_CRL *c = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* OpenSSL's verdict on cert against the CA, and the CRL when crl is set. */
static int verify(const char *cert, int with_crl)
{
	X509_STORE *store = X509_STORE_new();
	X509 *ca = read_cert(at("ca.crt")), *x = read_cert(cert);
	X509_STORE_add_cert(store, ca);
	X509_CRL *crl = NULL;
	if (with_crl) {
		crl = read_crl(at("crl.pem"));
		X509_STORE_add_crl(store, crl);
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, store, x, NULL);
	int ok = X509_verify_cert(ctx);
	int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(ca);
	X509_free(x);
	X509_CRL_free(crl);
	return err;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

START_TEST(input_checks)
{
	char msg[512];
	static const char *const good_names[] = { "alice", "ops-alice", "alice@example.com", "a", "A_1.b" };
	static const char *const bad_names[] = {
		"",        "-alice", ".alice",
		"a/b",     "../x",   "a b",
		"al\nice", "é",      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	};
	for (size_t i = 0; i < sizeof good_names / sizeof *good_names; i++)
		ck_assert_msg(pki_check_name(good_names[i], msg, sizeof msg) == 0, "%s: %s", good_names[i], msg);
	for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
		ck_assert_msg(pki_check_name(bad_names[i], msg, sizeof msg) == -1, "%s is refused", bad_names[i]);
	ck_assert_ptr_nonnull(strstr(msg, "is not a name for a client certificate"));

	ck_assert_int_eq(pki_check_ip("203.0.113.10", msg, sizeof msg), 0);
	ck_assert_int_eq(pki_check_ip("2001:db8::1", msg, sizeof msg), 0);
	ck_assert_int_eq(pki_check_ip("203.0.113", msg, sizeof msg), -1);
	ck_assert_int_eq(pki_check_ip("jump.example.com", msg, sizeof msg), -1);
	ck_assert_ptr_nonnull(strstr(msg, "host names with --dns"));

	ck_assert_int_eq(pki_check_dns("jump.example.com", msg, sizeof msg), 0);
	ck_assert_int_eq(pki_check_dns("localhost", msg, sizeof msg), 0);
	static const char *const bad_dns[] = { "",
					       "-a.example.com",
					       "a..b",
					       "a_b.example",
					       "jump.example.com.",
					       "203.0.113.10",
					       "a b",
					       "*.example.com",
					       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com" };
	for (size_t i = 0; i < sizeof bad_dns / sizeof *bad_dns; i++)
		ck_assert_msg(pki_check_dns(bad_dns[i], msg, sizeof msg) == -1, "%s is refused", bad_dns[i]);

	static const char *const good_listen[] = { "0.0.0.0:8443", "127.0.0.1:1", "[::]:8443", "[::1]:65535" };
	static const char *const bad_listen[] = { "localhost:8443", "1.2.3.4",   "1.2.3.4:0",   "1.2.3.4:65536",
						  "::1:8443",       "[::1]8443", "1.2.3.4:84x", ":8443" };
	for (size_t i = 0; i < sizeof good_listen / sizeof *good_listen; i++)
		ck_assert_msg(pki_check_listen(good_listen[i], msg, sizeof msg) == 0, "%s: %s", good_listen[i], msg);
	for (size_t i = 0; i < sizeof bad_listen / sizeof *bad_listen; i++)
		ck_assert_msg(pki_check_listen(bad_listen[i], msg, sizeof msg) == -1, "%s is refused", bad_listen[i]);

	int days = 0;
	ck_assert_int_eq(pki_check_days("--days", "30", &days, msg, sizeof msg), 0);
	ck_assert_int_eq(days, 30);
	ck_assert_int_eq(pki_check_days("--days", "0", &days, msg, sizeof msg), -1);
	ck_assert_int_eq(pki_check_days("--days", "36501", &days, msg, sizeof msg), -1);
	ck_assert_int_eq(pki_check_days("--days", "1y", &days, msg, sizeof msg), -1);
	ck_assert_str_eq(msg, "--days \"1y\" must be a whole number of days from 1 to 36500");
}
END_TEST

/* A CA, a server and two clients; what OpenSSL says of them; revoking. */
START_TEST(issue_verify_revoke)
{
	make_base();
	struct pki p;
	struct pki_error e = { 0 };
	ck_assert_int_eq(pki_open(&p, at(""), true, &e), CLI_OK);
	ck_assert_uint_eq(mode_of(at("")), 0700);
	ck_assert(!pki_has_ca(&p));
	ck_assert_int_eq(pki_create_ca(&p, 3650, &e), CLI_OK);
	struct pki_sans sans = {
		.ip = { "203.0.113.10", "2001:db8::1" }, .nip = 2, .dns = { "jump.example.com" }, .ndns = 1
	};
	json_object *server, *alice, *bob;
	ck_assert_int_eq(pki_issue_server(&p, &sans, 30, &server, &e), CLI_OK);
	ck_assert_int_eq(pki_issue_client(&p, "alice", 30, &alice, &e), CLI_OK);
	ck_assert_int_eq(pki_issue_client(&p, "bob", 30, &bob, &e), CLI_OK);
	ck_assert_int_eq(pki_issue_client(&p, "../evil", 30, &bob, &e), CLI_USAGE);
	ck_assert_str_eq(e.code, "bad_name");
	ck_assert_int_eq(pki_issue_client(&p, "carol", 3649, &bob, &e), CLI_OK); /* within the CA */
	ck_assert_int_eq(pki_issue_client(&p, "dave", 3651, &bob, &e), CLI_USAGE);
	ck_assert_str_eq(e.code, "outlives_ca");
	ck_assert_ptr_nonnull(strstr(e.message, "would outlive the CA"));
	bob = pki_find_valid(&p, "client", "bob");
	ck_assert_ptr_nonnull(bob);

	/* Modes: keys 0600, everything else 0644, clients/ 0700; no
	 * temporary file left behind. */
	ck_assert_uint_eq(mode_of(at("ca.key")), 0600);
	ck_assert_uint_eq(mode_of(at("server.key")), 0600);
	ck_assert_uint_eq(mode_of(at("clients/alice.key")), 0600);
	ck_assert_uint_eq(mode_of(at("ca.crt")), 0644);
	ck_assert_uint_eq(mode_of(at("server.crt")), 0644);
	ck_assert_uint_eq(mode_of(at("clients/alice.crt")), 0644);
	ck_assert_uint_eq(mode_of(at("crl.pem")), 0644);
	ck_assert_uint_eq(mode_of(at("index.json")), 0644);
	ck_assert_uint_eq(mode_of(at("clients")), 0700);
	DIR *d = opendir(at(""));
	for (struct dirent *de; (de = readdir(d));)
		ck_assert_msg(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
				      strcmp(de->d_name, ".lock") == 0 || de->d_name[0] != '.',
			      "left behind: %s", de->d_name);
	closedir(d);

	/* OpenSSL accepts the chain. */
	ck_assert_int_eq(verify(at("server.crt"), 0), X509_V_OK);
	ck_assert_int_eq(verify(at("clients/alice.crt"), 1), X509_V_OK);
	ck_assert_int_eq(verify(at("clients/bob.crt"), 1), X509_V_OK);

	/* The CA: a CA, pathlen 0, self-signed, ECDSA P-256. */
	X509 *ca = read_cert(at("ca.crt"));
	ck_assert_int_ge(X509_check_ca(ca), 1);
	ck_assert_int_eq(X509_check_issued(ca, ca), X509_V_OK);
	ck_assert_int_eq(EVP_PKEY_get_base_id(X509_get0_pubkey(ca)), EVP_PKEY_EC);
	ck_assert_int_eq(EVP_PKEY_get_bits(X509_get0_pubkey(ca)), 256);
	X509_free(ca);

	/* The server: its names as subjectAltNames, for TLS servers only. */
	X509 *srv = read_cert(at("server.crt"));
	ck_assert_int_eq(X509_check_ip_asc(srv, "203.0.113.10", 0), 1);
	ck_assert_int_eq(X509_check_ip_asc(srv, "2001:db8::1", 0), 1);
	ck_assert_int_eq(X509_check_host(srv, "jump.example.com", 0, 0, NULL), 1);
	ck_assert_int_eq(X509_check_host(srv, "other.example.com", 0, 0, NULL), 0);
	ck_assert_int_eq(X509_check_purpose(srv, X509_PURPOSE_SSL_SERVER, 0), 1);
	ck_assert_int_eq(X509_check_purpose(srv, X509_PURPOSE_SSL_CLIENT, 0), 0);
	ck_assert_int_eq(X509_check_ca(srv), 0);
	time_t na = 0;
	struct tm tm;
	ASN1_TIME_to_tm(X509_get0_notAfter(srv), &tm);
	na = timegm(&tm);
	ck_assert_int_le(labs((long)(na - time(NULL) - 30 * 86400)), 5);
	X509_free(srv);

	/* A client: CN is the name, for TLS clients only; serials are 127
	 * random bits and differ. */
	X509 *cl = read_cert(at("clients/alice.crt"));
	char cn[80];
	X509_NAME_get_text_by_NID(X509_get_subject_name(cl), NID_commonName, cn, sizeof cn);
	ck_assert_str_eq(cn, "alice");
	ck_assert_int_eq(X509_check_purpose(cl, X509_PURPOSE_SSL_CLIENT, 0), 1);
	ck_assert_int_eq(X509_check_purpose(cl, X509_PURPOSE_SSL_SERVER, 0), 0);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cl), NULL);
	ck_assert_int_eq(BN_num_bits(bn), 127);
	char *hex = BN_bn2hex(bn);
	ck_assert_str_eq(hex, str(alice, "serial"));
	ck_assert_str_ne(str(alice, "serial"), str(bob, "serial"));
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(cl);

	/* Finding by serial, written as openssl prints it too. */
	char colons[128] = "";
	const char *s = str(bob, "serial");
	for (size_t i = 0; s[i]; i += 2)
		snprintf(colons + strlen(colons), sizeof colons - strlen(colons), "%s%c%c", i ? ":" : "", s[i],
			 s[i + 1]);
	for (char *c = colons; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
	ck_assert_ptr_eq(pki_find_serial(&p, colons), bob);
	ck_assert_ptr_null(pki_find_serial(&p, "00"));
	ck_assert_ptr_null(pki_find_serial(&p, "xyz"));

	/* Revoking bob: the CRL lists him, signed by the CA, a new number. */
	long long before = pki_crl_number(&p);
	ck_assert_int_eq(pki_revoke(&p, &bob, 1, &e), CLI_OK);
	ck_assert_int_eq(pki_crl_number(&p), before + 1);
	ck_assert(pki_entry_revoked(bob));
	ck_assert_ptr_null(pki_find_valid(&p, "client", "bob"));
	ck_assert_int_eq(verify(at("clients/bob.crt"), 1), X509_V_ERR_CERT_REVOKED);
	ck_assert_int_eq(verify(at("clients/alice.crt"), 1), X509_V_OK);
	X509_CRL *crl = read_crl(at("crl.pem"));
	ca = read_cert(at("ca.crt"));
	ck_assert_int_eq(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
	ck_assert_int_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	X509_CRL_free(crl);
	X509_free(ca);
	pki_close(&p);

	/* Everything is in the index on disk. */
	ck_assert_int_eq(pki_open(&p, at(""), false, &e), CLI_OK);
	ck_assert_int_eq(pki_load_ca(&p, &e), CLI_OK);
	ck_assert(!p.crl_healed);
	ck_assert_uint_eq(json_object_array_length(pki_entries(&p)), 4);
	ck_assert_ptr_nonnull(pki_find_valid(&p, "client", "alice"));
	ck_assert_ptr_null(pki_find_valid(&p, "client", "bob"));
	ck_assert_int_eq(pki_crl_number(&p), before + 1);
	pki_close(&p);
	remove_base();
}
END_TEST

/* What the directory refuses: someone else's lock, a directory others can
 * write, a CA key without its certificate, a damaged index; and what it
 * repairs: a missing or stale CRL. */
START_TEST(refusals_and_repairs)
{
	make_base();
	struct pki p, q;
	struct pki_error e = { 0 };
	ck_assert_int_eq(pki_open(&p, at("a/b"), false, &e), CLI_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(e.message, "does not exist"));
	ck_assert_int_eq(pki_open(&p, at(""), true, &e), CLI_OK);
	ck_assert_int_eq(pki_open(&q, at(""), true, &e), CLI_CONFLICT);
	ck_assert_str_eq(e.code, "locked");
	pki_close(&q);
	ck_assert_int_eq(pki_create_ca(&p, 100, &e), CLI_OK);
	pki_close(&p);

	chmod(at(""), 0777);
	ck_assert_int_eq(pki_open(&p, at(""), false, &e), CLI_FAILED);
	ck_assert_ptr_nonnull(strstr(e.message, "can be written by group or others"));
	pki_close(&p);
	chmod(at(""), 0700);

	/* A stale CRL (an older copy) and a missing one are written again. */
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cp %s %s/old-crl.pem", at("crl.pem"), base);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(pki_open(&p, at(""), false, &e), CLI_OK);
	ck_assert_int_eq(pki_load_ca(&p, &e), CLI_OK);
	json_object *x;
	ck_assert_int_eq(pki_issue_client(&p, "x", 10, &x, &e), CLI_OK);
	ck_assert_int_eq(pki_revoke(&p, &x, 1, &e), CLI_OK);
	pki_close(&p);
	snprintf(cmd, sizeof cmd, "cp %s/old-crl.pem %s", base, at("crl.pem"));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(pki_open(&p, at(""), false, &e), CLI_OK);
	ck_assert_int_eq(pki_load_ca(&p, &e), CLI_OK);
	ck_assert(p.crl_healed);
	pki_close(&p);
	unlink(at("crl.pem"));
	ck_assert_int_eq(pki_open(&p, at(""), false, &e), CLI_OK);
	ck_assert_int_eq(pki_load_ca(&p, &e), CLI_OK);
	ck_assert(p.crl_healed);
	pki_close(&p);
	X509_CRL *crl = read_crl(at("crl.pem"));
	ck_assert_int_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	X509_CRL_free(crl);

	/* A damaged index stops every command, naming the file. */
	snprintf(cmd, sizeof cmd, "cp %s %s/index.good && echo '{\"format\": 7}' > %s", at("index.json"), base,
		 at("index.json"));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(pki_open(&p, at(""), false, &e), CLI_FAILED);
	ck_assert_str_eq(e.code, "bad_index");
	ck_assert_ptr_nonnull(strstr(e.message, "index.json is damaged"));
	pki_close(&p);
	snprintf(cmd, sizeof cmd, "cp %s/index.good %s", base, at("index.json"));
	ck_assert_int_eq(system(cmd), 0);

	/* A CA key whose certificate is gone: no new CA over it. */
	snprintf(cmd, sizeof cmd, "mv %s %s/ca.crt.away", at("ca.crt"), base);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(pki_open(&p, at(""), false, &e), CLI_OK);
	ck_assert(!pki_has_ca(&p));
	ck_assert_int_eq(pki_create_ca(&p, 100, &e), CLI_CONFLICT);
	ck_assert_ptr_nonnull(strstr(e.message, "ca.key exists without ca.crt"));
	pki_close(&p);
	snprintf(cmd, sizeof cmd, "mv %s/ca.crt.away %s", base, at("ca.crt"));
	ck_assert_int_eq(system(cmd), 0);

	/* A new CA moves the old one aside, whole. */
	ck_assert_int_eq(pki_open(&p, at(""), false, &e), CLI_OK);
	char moved[1200];
	ck_assert_int_eq(pki_archive(&p, moved, sizeof moved, &e), CLI_OK);
	ck_assert(!pki_has_ca(&p));
	ck_assert_uint_eq(json_object_array_length(pki_entries(&p)), 0);
	char path[1300];
	snprintf(path, sizeof path, "%s/ca.key", moved);
	ck_assert_uint_eq(mode_of(path), 0600);
	snprintf(path, sizeof path, "%s/clients/x.key", moved);
	ck_assert_uint_eq(mode_of(path), 0600);
	ck_assert_int_eq(pki_create_ca(&p, 100, &e), CLI_OK);
	pki_close(&p);
	remove_base();
}
END_TEST

static void tls_config(struct helperd_config *c, const char *crl)
{
	helperd_config_defaults(c);
	snprintf(c->https_listen, sizeof c->https_listen, "127.0.0.1:8443");
	snprintf(c->https_cert, sizeof c->https_cert, "%s", at("server.crt"));
	snprintf(c->https_key, sizeof c->https_key, "%s", at("server.key"));
	snprintf(c->https_client_ca, sizeof c->https_client_ca, "%s", at("ca.crt"));
	snprintf(c->https_crl, sizeof c->https_crl, "%s", crl);
}

/* helperd takes the CRL cert generate made, and refuses one another CA
 * signed or a file that is no CRL, naming it. */
START_TEST(helperd_loads_the_crl)
{
	make_base();
	struct pki p;
	struct pki_error e = { 0 };
	json_object *en;
	struct pki_sans sans = { .ip = { "127.0.0.1" }, .nip = 1 };
	ck_assert_int_eq(pki_open(&p, at(""), true, &e), CLI_OK);
	ck_assert_int_eq(pki_create_ca(&p, 100, &e), CLI_OK);
	ck_assert_int_eq(pki_issue_server(&p, &sans, 10, &en, &e), CLI_OK);
	ck_assert_int_eq(pki_issue_client(&p, "alice", 10, &en, &e), CLI_OK);
	ck_assert_int_eq(pki_revoke(&p, &en, 1, &e), CLI_OK);
	pki_close(&p);

	struct helperd_config c;
	struct api_tls_material m;
	char err[1024], other[256];
	tls_config(&c, at("crl.pem"));
	ck_assert_msg(api_tls_load(&c, &m, err, sizeof err) == 0, "%s", err);
	api_tls_free(&m);
	api_tls_stop();

	/* Another CA's CRL. */
	snprintf(other, sizeof other, "%s/other", base);
	ck_assert_int_eq(pki_open(&p, other, true, &e), CLI_OK);
	ck_assert_int_eq(pki_create_ca(&p, 100, &e), CLI_OK);
	pki_close(&p);
	snprintf(other, sizeof other, "%s/other/crl.pem", base);
	tls_config(&c, other);
	ck_assert_int_eq(api_tls_load(&c, &m, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "is not signed by a CA of https_client_ca (its issuer: ") &&
			      strstr(err, "CN=Containarium CA"),
		      "%s", err);

	/* A certificate where the CRL should be. */
	tls_config(&c, at("ca.crt"));
	ck_assert_int_eq(api_tls_load(&c, &m, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "holds no revocation list"), "%s", err);

	/* No file. */
	tls_config(&c, at("nothere.pem"));
	ck_assert_int_eq(api_tls_load(&c, &m, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "https_crl ") && strstr(err, "No such file"), "%s", err);
	remove_base();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cert_pki");
	TCase *tc = tcase_create("pki");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, input_checks);
	tcase_add_test(tc, issue_verify_revoke);
	tcase_add_test(tc, refusals_and_repairs);
	tcase_add_test(tc, helperd_loads_the_crl);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
