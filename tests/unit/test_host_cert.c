/* SPDX-License-Identifier: Apache-2.0 */
/* helperd's host CA (helperd/host_cert.c) with OpenSSH's own ssh-keygen:
 * the checks of host_ca_check (a key others may read, a missing or
 * mismatched .pub, a passphrase, a bad trust file), the certificates
 * host_ca_sign makes as ssh-keygen -L reads them (host certificates of
 * the keys given, by the CA, for the principals, no file left behind),
 * the known_hosts lines, the network patterns, the parser of a
 * container's "hostkey" lines, the helperd.conf keys, and what an
 * account's record says against the current CA.  The end-to-end path
 * (containers, sshd, ssh) is tests/hostca/test_hostca.sh. */
#include <check.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "config.h"
#include "harness.h"
#include "host_cert.h"

static char base[64];

static void make_base(void)
{
	snprintf(base, sizeof base, "/tmp/ctm-hostcert-XXXXXX");
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
	static char buf[4][256];
	static int n;
	char *b = buf[n++ % 4];
	snprintf(b, 256, "%s/%s", base, rel);
	return b;
}

/* sh: run a shell command line, its stdout (first 4 KiB) returned. */
static const char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sh(const char *fmt, ...)
{
	static char out[4096];
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

/* run: a shell command line; its exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void keygen(const char *rel, const char *type, const char *pass)
{
	ck_assert_int_eq(run("ssh-keygen -q -t %s -N '%s' -C '' -f %s </dev/null", type, pass, at(rel)), 0);
}

static void cfg_for(struct helperd_config *c, const char *key)
{
	helperd_config_defaults(c);
	snprintf(c->host_ca_key, sizeof c->host_ca_key, "%s", key);
	snprintf(c->state_dir, sizeof c->state_dir, "%s", base);
}

static char *read_text(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s exists", path);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

START_TEST(ca_checks)
{
	make_base();
	struct helperd_config c;
	char fp[64], err[1024];
	keygen("ca", "ed25519", "");
	cfg_for(&c, at("ca"));
	ck_assert_int_eq(host_ca_check(&c, fp, sizeof fp, err, sizeof err), 0);
	char want[64];
	snprintf(want, sizeof want, "%s", sh("ssh-keygen -l -f %s.pub | awk '{ printf \"%%s\", $2 }'", at("ca")));
	ck_assert_str_eq(fp, want);
	ck_assert_str_eq(sh("ls -A %s", base), "ca\nca.pub\n"); /* the trial signature left nothing */

	cfg_for(&c, "");
	ck_assert_int_eq(host_ca_check(&c, fp, sizeof fp, err, sizeof err), 0);
	ck_assert_str_eq(fp, "");

	cfg_for(&c, at("nosuch"));
	ck_assert_int_eq(host_ca_check(&c, fp, sizeof fp, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "ssh-keygen -t ed25519 -N '' -f") != NULL, "%s", err);

	chmod(at("ca"), 0640);
	cfg_for(&c, at("ca"));
	ck_assert_int_eq(host_ca_check(&c, fp, sizeof fp, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "may be read by others") && strstr(err, "chmod 600"), "%s", err);
	chmod(at("ca"), 0600);

	keygen("other", "ed25519", "");
	ck_assert_int_eq(run("cp %s.pub %s.pub", at("other"), at("ca")), 0);
	ck_assert_int_eq(host_ca_check(&c, fp, sizeof fp, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "are not one key pair") && strstr(err, "ssh-keygen -y -f"), "%s", err);

	ck_assert_int_eq(run("echo garbage >%s.pub", at("ca")), 0);
	ck_assert_int_eq(host_ca_check(&c, fp, sizeof fp, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "is not an OpenSSH public key"), "%s", err);

	keygen("locked", "ed25519", "secret123");
	cfg_for(&c, at("locked"));
	ck_assert_int_eq(host_ca_check(&c, fp, sizeof fp, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "without a passphrase"), "%s", err);

	keygen("h", "ed25519", "");
	cfg_for(&c, at("other"));
	snprintf(c.host_ca_trust, sizeof c.host_ca_trust, "%s", at("trust"));
	ck_assert_int_eq(run("(echo '# the old CA'; cat %s.pub; echo not-a-key) >%s", at("h"), at("trust")), 0);
	ck_assert_int_eq(host_ca_check(&c, fp, sizeof fp, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "trust:3 is not an OpenSSH public key"), "%s", err);

	snprintf(c.ssh_keygen, sizeof c.ssh_keygen, "/nonexistent/ssh-keygen");
	ck_assert_int_eq(host_ca_check(&c, fp, sizeof fp, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "ssh_keygen /nonexistent/ssh-keygen"), "%s", err);
	remove_base();
}
END_TEST

START_TEST(signing)
{
	make_base();
	struct helperd_config c;
	char fp[64], err[1024];
	keygen("ca", "ed25519", "");
	keygen("h_ed", "ed25519", "");
	keygen("h_ec", "ecdsa", "");
	cfg_for(&c, at("ca"));
	struct host_pubkey keys[2] = { { .name = "ssh_host_ed25519_key" }, { .name = "ssh_host_ecdsa_key" } };
	keys[0].line = strdup(read_text(at("h_ed.pub")));
	keys[1].line = strdup(read_text(at("h_ec.pub")));
	char *certs[2];
	ck_assert_int_eq(host_ca_sign(&c, keys, 2, "test identity", "10.0.3.7,alice-container", certs, fp, sizeof fp,
				      err, sizeof err),
			 0);
	ck_assert_str_eq(sh("ls -A %s | sort | tr '\\n' ' '", base), "ca ca.pub h_ec h_ec.pub h_ed h_ed.pub ");
	const char *names[2] = { "h_ed", "h_ec" };
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(at("cert.pub"), "w");
		ck_assert_ptr_nonnull(f);
		fprintf(f, "%s\n", certs[i]);
		fclose(f);
		/* ssh-keygen -L: what OpenSSH makes of it. */
		const char *l = sh("ssh-keygen -L -f %s", at("cert.pub"));
		ck_assert_msg(strstr(l, "host certificate"), "%s", l);
		ck_assert_msg(strstr(l, "Key ID: \"test identity\""), "%s", l);
		ck_assert_msg(strstr(l, fp), "signed by the CA: %s", l);
		ck_assert_msg(strstr(l, "Principals: \n                10.0.3.7\n                alice-container\n"),
			      "%s", l);
		ck_assert_msg(strstr(l, "Valid: forever"), "%s", l);
		char key_fp[64];
		snprintf(key_fp, sizeof key_fp, "%s",
			 sh("ssh-keygen -l -f %s.pub | awk '{ printf \"%%s\", $2 }'", at(names[i])));
		ck_assert_msg(strstr(l, key_fp), "of key %s: %s", names[i], l);
		free(certs[i]);
	}
	ck_assert_msg(strstr(sh("ssh-keygen -L -f %s", at("cert.pub")), "ECDSA-CERT"), "the second is the ECDSA key's");

	/* Principals a certificate must never carry. */
	const char *bad[] = { "*", "10.0.3.*", "a b", "", "x\ny", "a;b" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(host_ca_sign(&c, keys, 1, "x", bad[i], certs, fp, sizeof fp, err, sizeof err) == -1,
			      "principals \"%s\" refused", bad[i]);
	/* ssh-keygen refusing (no such CA key): its words come back. */
	snprintf(c.host_ca_key, sizeof c.host_ca_key, "%s", at("h_ed.pub"));
	ck_assert_int_eq(host_ca_sign(&c, keys, 1, "x", "a", certs, fp, sizeof fp, err, sizeof err), -1);
	host_pubkeys_free(keys, 2);
	remove_base();
}
END_TEST

START_TEST(known_hosts_lines)
{
	make_base();
	struct helperd_config c;
	char err[1024];
	keygen("ca", "ed25519", "");
	keygen("ca2", "ed25519", "");
	cfg_for(&c, at("ca"));
	char *t = host_ca_known_hosts(&c, "[jump.example.com]:2222,10.0.3.*", err, sizeof err);
	ck_assert_ptr_nonnull(t);
	char want[1024];
	snprintf(want, sizeof want, "@cert-authority [jump.example.com]:2222,10.0.3.* %s containarium-host-ca\n",
		 sh("cut -d' ' -f1,2 %s.pub | tr -d '\\n'", at("ca")));
	ck_assert_str_eq(t, want);
	free(t);
	/* The trust file: the other CA once, the same CA not twice. */
	snprintf(c.host_ca_trust, sizeof c.host_ca_trust, "%s", at("trust"));
	ck_assert_int_eq(
		run("(echo '# rotation'; cat %s.pub %s.pub %s.pub) >%s", at("ca2"), at("ca"), at("ca2"), at("trust")),
		0);
	t = host_ca_known_hosts(&c, "j", err, sizeof err);
	ck_assert_ptr_nonnull(t);
	int lines = 0;
	for (const char *p = t; (p = strchr(p, '\n')); p++)
		lines++;
	ck_assert_int_eq(lines, 2);
	ck_assert_msg(strstr(t, sh("cut -d' ' -f2 %s.pub | tr -d '\\n'", at("ca2"))), "%s", t);
	free(t);
	/* What ssh itself accepts: ssh-keygen -F finds the CA line for a host. */
	FILE *f = fopen(at("kh"), "w");
	t = host_ca_known_hosts(&c, "jump.example.com,10.0.3.*", err, sizeof err);
	fputs(t, f);
	fclose(f);
	free(t);
	ck_assert_msg(strstr(sh("ssh-keygen -F 10.0.3.99 -f %s", at("kh")), "@cert-authority"),
		      "found by ssh-keygen -F");
	remove_base();
}
END_TEST

START_TEST(network_patterns)
{
	char out[64];
	ck_assert_int_eq(host_cert_network_pattern("10.0.3.1/24", out, sizeof out), 0);
	ck_assert_str_eq(out, "10.0.3.*");
	ck_assert_int_eq(host_cert_network_pattern("10.200.0.1/16", out, sizeof out), 0);
	ck_assert_str_eq(out, "10.200.*");
	ck_assert_int_eq(host_cert_network_pattern("10.200.16.1/20", out, sizeof out), 0);
	ck_assert_str_eq(out, "10.200.*");
	ck_assert_int_eq(host_cert_network_pattern("10.9.8.7/8", out, sizeof out), 0);
	ck_assert_str_eq(out, "10.*");
	ck_assert_int_eq(host_cert_network_pattern("10.9.8.7/32", out, sizeof out), 0);
	ck_assert_str_eq(out, "10.9.8.7");
	ck_assert_int_eq(host_cert_network_pattern("10.9.8.7/7", out, sizeof out), -1);
	ck_assert_int_eq(host_cert_network_pattern("10.9.8/24", out, sizeof out), -1);
	ck_assert_int_eq(host_cert_network_pattern("10.9.8.300/24", out, sizeof out), -1);
	ck_assert_int_eq(host_cert_network_pattern("10.9.8.7/24x", out, sizeof out), -1);
}
END_TEST

START_TEST(hostkey_lines)
{
	static const char ed[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
	struct host_pubkey keys[HOST_KEYS_MAX];
	size_t n;
	char err[512], text[1024];
	snprintf(text, sizeof text, "70001\nhostkey ssh_host_ed25519_key %s root@c\nnoise\n", ed);
	ck_assert_int_eq(host_pubkeys_parse(text, keys, HOST_KEYS_MAX, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(keys[0].name, "ssh_host_ed25519_key");
	ck_assert_str_eq(keys[0].line, ed); /* the comment dropped */
	host_pubkeys_free(keys, n);

	const char *bad[] = {
		"70001\n",                                  /* no keys */
		"hostkey ../etc/shadow ssh-ed25519 AAAA\n", /* a name that is a path */
		"hostkey ssh_host_ed25519_key\n",           /* no key */
		"hostkey ssh_host_x_key ssh-ed25519 AAAAnotbase64!\n",
		"hostkey ssh_host_x_key command=\"x\" ssh-ed25519 AAAA\n",
		"hostkey SSH_HOST_X_KEY ssh-ed25519 AAAA\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(host_pubkeys_parse(bad[i], keys, HOST_KEYS_MAX, &n, err, sizeof err) == -1, "refused: %s",
			      bad[i]);
		ck_assert_uint_eq(n, 0);
	}
	/* More keys than it takes. */
	text[0] = '\0';
	for (int i = 0; i < HOST_KEYS_MAX + 1; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "hostkey ssh_host_k%d_key %s\n", i, ed);
	ck_assert_int_eq(host_pubkeys_parse(text, keys, HOST_KEYS_MAX, &n, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "more than"), "%s", err);
}
END_TEST

/* What HOST_KEYS_SCRIPT prints: the keys, whether an sshd read its
 * configuration before the drop-in, and the container's OpenSSH (which
 * decides whether certificates may arrive after sshd started). */
START_TEST(host_keys_output)
{
	static const char ed[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
	struct host_keys hk;
	char err[512], text[1024];
	snprintf(text, sizeof text,
		 "70001\nsshd-version OpenSSH_9.2, OpenSSL 3.0.15 3 Sep 2024\n"
		 "hostkey ssh_host_ed25519_key %s root@c\n",
		 ed);
	ck_assert_int_eq(host_keys_parse(text, &hk, err, sizeof err), 0);
	ck_assert_uint_eq(hk.n, 1);
	ck_assert(!hk.sshd_before);
	ck_assert_int_eq(hk.sshd_version, 902);
	host_keys_free(&hk);
	ck_assert_uint_eq(hk.n, 0);

	snprintf(text, sizeof text, "sshd-before\nsshd-version unknown option -- V\nhostkey ssh_host_ed25519_key %s\n",
		 ed);
	ck_assert_int_eq(host_keys_parse(text, &hk, err, sizeof err), 0);
	ck_assert(hk.sshd_before);
	ck_assert_int_eq(hk.sshd_version, 0); /* unknown: treated as a listener that loads them once */
	host_keys_free(&hk);

	snprintf(text, sizeof text,
		 "sshd-version OpenSSH_10.0p2 Debian-5\nsshd-beforex\nhostkey ssh_host_ed25519_key %s\n", ed);
	ck_assert_int_eq(host_keys_parse(text, &hk, err, sizeof err), 0);
	ck_assert(!hk.sshd_before); /* only the whole line counts */
	ck_assert_int_eq(hk.sshd_version, 1000);
	host_keys_free(&hk);

	ck_assert_int_eq(host_keys_parse("sshd-before\nsshd-version OpenSSH_9.2\n", &hk, err, sizeof err), -1);
	ck_assert_uint_eq(hk.n, 0);
}
END_TEST

START_TEST(config_keys)
{
	struct helperd_config c;
	char err[512];
	helperd_config_defaults(&c);
	ck_assert_str_eq(c.host_ca_key, "");
	ck_assert_str_eq(c.ssh_keygen, "/usr/bin/ssh-keygen");
	ck_assert_int_eq(helperd_config_set(&c, "host_ca_key", "relative/ca", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "absolute path"), "%s", err);
	ck_assert_int_eq(helperd_config_set(&c, "ssh_keygen", "", err, sizeof err), -1);
	FILE *f = fmemopen((char[]){ "host_ca_trust = /etc/containarium/host-ca/trusted.pub\n" }, 54, "r");
	ck_assert_int_eq(helperd_config_load_stream(&c, f, "t.conf", err, sizeof err), -1);
	fclose(f);
	ck_assert_msg(strstr(err, "host_ca_trust needs host_ca_key"), "%s", err);
}
END_TEST

START_TEST(account_records)
{
	static const char inst[] = "{\"name\": \"alice-container\", \"status\": \"Running\", \"config\": {"
				   "\"user.containarium.managed\": \"true\", \"user.containarium.user\": \"alice\","
				   "\"user.containarium.uid\": \"70001\", \"user.containarium.state\": \"active\","
				   "\"user.containarium.ipv4\": \"10.0.3.7\"%s}}";
	struct {
		const char *ca, *record, *want;
	} cases[] = {
		{ NULL, "SHA256:abc 10.0.3.7", "off" },
		{ "SHA256:abc", NULL, "missing" },
		{ "SHA256:abc", "SHA256:abc 10.0.3.7", "current" },
		{ "SHA256:abc", "SHA256:old 10.0.3.7", "stale" },
		{ "SHA256:abc", "SHA256:abc 10.0.3.8", "stale" },
		{ "SHA256:abc", "SHA256:abcd 10.0.3.7", "stale" },
		{ "SHA256:abc", "SHA256:abc", "stale" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char rec[128] = "", text[1024];
		if (cases[i].record)
			snprintf(rec, sizeof rec, ", \"%s\": \"%s\"", ACCT_KEY_HOST_CERT, cases[i].record);
		snprintf(text, sizeof text, inst, rec);
		account_set_host_ca(cases[i].ca);
		json_object *o = json_tokener_parse(text);
		struct account a;
		char why[256];
		ck_assert_int_eq(account_from_instance(o, &a, why, sizeof why), 1);
		ck_assert_msg(strcmp(account_host_cert_name(a.host_cert), cases[i].want) == 0, "case %zu: %s, not %s",
			      i, account_host_cert_name(a.host_cert), cases[i].want);
		json_object *j = account_to_json(&a);
		json_object *v;
		ck_assert(json_object_object_get_ex(j, "host_certificate", &v));
		ck_assert_str_eq(json_object_get_string(v), cases[i].want);
		json_object_put(j);
		account_free(&a);
		json_object_put(o);
	}
	account_set_host_ca(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("host_cert");
	TCase *tc = tcase_create("host_cert");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ca_checks);
	tcase_add_test(tc, signing);
	tcase_add_test(tc, known_hosts_lines);
	tcase_add_test(tc, network_patterns);
	tcase_add_test(tc, hostkey_lines);
	tcase_add_test(tc, host_keys_output);
	tcase_add_test(tc, config_keys);
	tcase_add_test(tc, account_records);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
