/* SPDX-License-Identifier: Apache-2.0 */
/* containarium cert generate|revoke|list: the certificates of helperd's
 * remote API, made and kept on this host (pki.h).  These commands never
 * talk to helperd: helperd reads the files (https_cert, https_key,
 * https_client_ca, https_crl). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"
#include "pki.h"

enum { O_DIR = 1, O_SERVER_IP, O_DNS, O_CLIENT, O_DAYS, O_CA_DAYS, O_LISTEN, O_FORCE, O_NEW_CA };

static const struct opt generate_opts[] = {
	{ "server-ip", 0, true, O_SERVER_IP },
	{ "dns", 0, true, O_DNS },
	{ "client", 0, true, O_CLIENT },
	{ "output-dir", 0, true, O_DIR },
	{ "dir", 0, true, O_DIR },
	{ "days", 0, true, O_DAYS },
	{ "ca-days", 0, true, O_CA_DAYS },
	{ "https-listen", 0, true, O_LISTEN },
	{ "force", 'f', false, O_FORCE },
	{ "new-ca", 0, false, O_NEW_CA },
	{ NULL, 0, false, 0 },
};

static const struct opt dir_opts[] = {
	{ "output-dir", 0, true, O_DIR },
	{ "dir", 0, true, O_DIR },
	{ NULL, 0, false, 0 },
};

/* A failure: the sentence on stderr, and with --json the error object on
 * stdout, as for helperd's errors. */
static int report(const struct cli *c, int rc, const struct pki_error *e)
{
	if (c->json) {
		json_object *o = json_object_new_object(), *err = json_object_new_object();
		json_object_object_add(err, "code", json_object_new_string(e->code ? e->code : "failed"));
		json_object_object_add(err, "message", json_object_new_string(e->message));
		json_object_object_add(o, "error", err);
		out_json(o);
		json_object_put(o);
	}
	out_error("%s", e->message);
	return rc;
}

__attribute__((format(printf, 3, 4))) static int usage(const struct cli *c, const char *code, const char *fmt, ...)
{
	struct pki_error e = { code, "" };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e.message, sizeof e.message, fmt, ap);
	va_end(ap);
	return report(c, CLI_USAGE, &e);
}

static const char *dir_of(const struct args *a)
{
	const char *d = args_last(a, O_DIR);
	return d ? d : PKI_DEFAULT_DIR;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;
	return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : "";
}

/* "2027-12-05" of "2027-12-05T03:39:03Z". */
static const char *day_of(const char *iso, char *buf, size_t len)
{
	snprintf(buf, len, "%.10s", iso);
	return buf;
}

/* An index entry for output: its paths made absolute, and its status. */
static json_object *entry_out(const struct pki *p, json_object *entry)
{
	json_object *o = NULL;
	char path[PKI_PATH_MAX + 64];
	if (json_object_deep_copy(entry, &o, NULL) != 0)
		return json_object_new_object();
	json_object_object_add(o, "cert", json_object_new_string(pki_path(p, str(entry, "cert"), path, sizeof path)));
	json_object_object_add(o, "key", json_object_new_string(pki_path(p, str(entry, "key"), path, sizeof path)));
	json_object_object_add(o, "status",
			       json_object_new_string(pki_entry_revoked(entry)               ? "revoked"
						      : pki_entry_expired(entry, time(NULL)) ? "expired"
											     : "valid"));
	return o;
}

static json_object *ca_out(const struct pki *p, bool created)
{
	char subject[256], serial[64], when[32], path[PKI_PATH_MAX + 64];
	time_t na;
	pki_ca_info(p, subject, sizeof subject, serial, sizeof serial, &na);
	pki_time_str(na, when, sizeof when);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "cert", json_object_new_string(pki_path(p, "ca.crt", path, sizeof path)));
	json_object_object_add(o, "key", json_object_new_string(pki_path(p, "ca.key", path, sizeof path)));
	json_object_object_add(o, "subject", json_object_new_string(subject));
	json_object_object_add(o, "serial", json_object_new_string(serial));
	json_object_object_add(o, "not_after", json_object_new_string(when));
	json_object_object_add(o, "created", json_object_new_boolean(created));
	return o;
}

/* The helperd.conf lines for this directory, or none before a server
 * certificate exists. */
static json_object *conf_lines(const struct pki *p)
{
	json_object *a = json_object_new_array();
	if (!pki_find_valid(p, "server", NULL))
		return a;
	const char *listen = pki_setting(p, "https_listen");
	char line[PKI_PATH_MAX + 128], path[PKI_PATH_MAX + 64];
	static const char *const files[][2] = { { "https_cert", "server.crt" },
						{ "https_key", "server.key" },
						{ "https_client_ca", "ca.crt" },
						{ "https_crl", "crl.pem" } };
	snprintf(line, sizeof line, "https_listen = %s", listen ? listen : PKI_DEFAULT_LISTEN);
	json_object_array_add(a, json_object_new_string(line));
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(line, sizeof line, "%s = %s", files[i][0], pki_path(p, files[i][1], path, sizeof path));
		json_object_array_add(a, json_object_new_string(line));
	}
	return a;
}

/* https://HOST:PORT for clients: the first DNS name, else the first
 * address, and https_listen's port. */
static void remote_url(const struct pki_sans *s, const char *listen, char *buf, size_t len)
{
	const char *port = strrchr(listen, ':');
	const char *host = s->ndns ? s->dns[0] : s->ip[0];
	int v6 = !s->ndns && strchr(host, ':');
	snprintf(buf, len, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port ? port + 1 : "8443");
}

static void print_client_help(const struct pki *p, json_object *entry)
{
	const char *name = str(entry, "name"), *remote = pki_setting(p, "remote");
	printf("\nFor %s: copy %s/%s, %s/%s and %s/ca.crt\n"
	       "to %s's machine, into ~/.config/containarium/ as client.crt, client.key (mode 0600)\n"
	       "and server-ca.crt; then\n"
	       "  containarium --remote %s list\n",
	       name, p->dir, str(entry, "cert"), p->dir, str(entry, "key"), p->dir, name,
	       remote ? remote : "https://JUMP-HOST:8443");
}

static int run_generate(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 0, 0, "cert generate", "[--server-ip IP] [--dns NAME] [--client NAME]...");
	if (rc)
		return rc;
	struct pki_sans sans = { 0 };
	const char *clients[ARGS_MAX];
	int nclients = 0, days = PKI_DEFAULT_DAYS, ca_days = PKI_DEFAULT_CA_DAYS;
	char msg[512];
	for (int i = 0; i < a->nopts; i++) {
		const char *v = a->opts[i].value;
		switch (a->opts[i].id) {
		case O_SERVER_IP:
			if (pki_check_ip(v, msg, sizeof msg))
				return usage(c, "bad_address", "%s", msg);
			if (sans.nip == PKI_SANS_MAX)
				return usage(c, "too_many", "at most %d --server-ip", PKI_SANS_MAX);
			sans.ip[sans.nip++] = v;
			break;
		case O_DNS:
			if (pki_check_dns(v, msg, sizeof msg))
				return usage(c, "bad_dns_name", "%s", msg);
			if (sans.ndns == PKI_SANS_MAX)
				return usage(c, "too_many", "at most %d --dns", PKI_SANS_MAX);
			sans.dns[sans.ndns++] = v;
			break;
		case O_CLIENT:
			if (pki_check_name(v, msg, sizeof msg))
				return usage(c, "bad_name", "--client %s", msg);
			for (int k = 0; k < nclients; k++)
				if (strcmp(clients[k], v) == 0)
					return usage(c, "bad_name", "--client %s is given twice", v);
			clients[nclients++] = v;
			break;
		case O_DAYS:
			if (pki_check_days("--days", v, &days, msg, sizeof msg))
				return usage(c, "bad_days", "%s", msg);
			break;
		case O_CA_DAYS:
			if (pki_check_days("--ca-days", v, &ca_days, msg, sizeof msg))
				return usage(c, "bad_days", "%s", msg);
			break;
		case O_LISTEN:
			if (pki_check_listen(v, msg, sizeof msg))
				return usage(c, "bad_listen", "%s", msg);
			break;
		}
	}
	bool want_server = sans.nip + sans.ndns > 0, force = args_has(a, O_FORCE), new_ca = args_has(a, O_NEW_CA);
	const char *listen = args_last(a, O_LISTEN);
	if (listen && !want_server)
		return usage(c, "bad_listen",
			     "--https-listen goes with the server certificate: give --server-ip "
			     "and/or --dns too");

	struct pki p;
	struct pki_error e = { 0 };
	if ((rc = pki_open(&p, dir_of(a), true, &e)))
		goto out;
	bool had_ca = pki_has_ca(&p), create_ca = !had_ca || new_ca;
	char path[PKI_PATH_MAX + 64], archived[PKI_PATH_MAX + 64] = "";
	if (had_ca && new_ca && !force) {
		rc = CLI_CONFLICT;
		snprintf(e.message, sizeof e.message,
			 "%s already has a CA: --new-ca replaces it, and every "
			 "certificate it signed stops working; add --force to do that (the old files are kept "
			 "under %s/old/)",
			 p.dir, p.dir);
		e.code = "ca_exists";
		goto out;
	}
	if (!create_ca) {
		if ((rc = pki_load_ca(&p, &e)))
			goto out;
		if (args_has(a, O_CA_DAYS)) {
			rc = CLI_USAGE;
			e.code = "bad_days";
			snprintf(e.message, sizeof e.message,
				 "--ca-days applies to a new CA, and %s has one; "
				 "--new-ca --force makes a new one",
				 p.dir);
			goto out;
		}
	} else if (days > ca_days && (want_server || nclients)) {
		rc = CLI_USAGE;
		e.code = "outlives_ca";
		snprintf(e.message, sizeof e.message,
			 "--days %d would outlive the new CA (--ca-days %d): give "
			 "--days %d or less, or a longer --ca-days",
			 days, ca_days, ca_days);
		goto out;
	}
	if (!create_ca && !want_server && !nclients) {
		rc = CLI_USAGE;
		e.code = "nothing_to_do";
		snprintf(e.message, sizeof e.message,
			 "%s has a CA already; say what to make: --server-ip IP "
			 "and/or --dns NAME for helperd's certificate, --client NAME for an admin's",
			 p.dir);
		goto out;
	}
	/* Everything that could refuse, before anything is written. */
	if (!create_ca && !force) {
		json_object *old = pki_find_valid(&p, "server", NULL);
		char until[16];
		if (want_server && old) {
			rc = CLI_CONFLICT;
			e.code = "certificate_exists";
			snprintf(e.message, sizeof e.message,
				 "%s/server.crt exists (serial %s, valid until %s): add "
				 "--force to issue a new server certificate (then restart containarium-helperd)",
				 p.dir, str(old, "serial"), day_of(str(old, "not_after"), until, sizeof until));
			goto out;
		}
		for (int i = 0; i < nclients; i++)
			if ((old = pki_find_valid(&p, "client", clients[i]))) {
				rc = CLI_CONFLICT;
				e.code = "certificate_exists";
				snprintf(e.message, sizeof e.message,
					 "%s already has a valid certificate (serial %s, "
					 "valid until %s): revoke it first (containarium cert revoke %s), or add "
					 "--force to issue another (the old one stays valid until revoked)",
					 clients[i], str(old, "serial"),
					 day_of(str(old, "not_after"), until, sizeof until), clients[i]);
				goto out;
			}
	}
	if (!create_ca) {
		time_t ca_end;
		pki_ca_info(&p, NULL, 0, NULL, 0, &ca_end);
		if ((want_server || nclients) && time(NULL) + (time_t)days * 86400 > ca_end) {
			char when[32];
			pki_time_str(ca_end, when, sizeof when);
			rc = CLI_USAGE;
			e.code = "outlives_ca";
			snprintf(e.message, sizeof e.message,
				 "--days %d would outlive the CA (valid until %s): give "
				 "--days %lld or less",
				 days, when, (long long)((ca_end - time(NULL)) / 86400));
			goto out;
		}
	}

	if (had_ca && new_ca && (rc = pki_archive(&p, archived, sizeof archived, &e)))
		goto out;
	if (create_ca && (rc = pki_create_ca(&p, ca_days, &e)))
		goto out;
	json_object *server = NULL, *issued[ARGS_MAX];
	if (want_server) {
		char url[512];
		const char *l = listen ? listen : pki_setting(&p, "https_listen");
		pki_set_setting(&p, "https_listen", l ? l : PKI_DEFAULT_LISTEN);
		remote_url(&sans, pki_setting(&p, "https_listen"), url, sizeof url);
		pki_set_setting(&p, "remote", url);
		if ((rc = pki_issue_server(&p, &sans, days, &server, &e)))
			goto out;
	}
	for (int i = 0; i < nclients; i++)
		if ((rc = pki_issue_client(&p, clients[i], days, &issued[i], &e)))
			goto out;

	json_object *conf = conf_lines(&p);
	if (c->json) {
		json_object *o = json_object_new_object(), *cl = json_object_new_array();
		json_object_object_add(o, "dir", json_object_new_string(p.dir));
		json_object *ca = ca_out(&p, create_ca);
		if (*archived)
			json_object_object_add(ca, "replaced_moved_to", json_object_new_string(archived));
		json_object_object_add(o, "ca", ca);
		json_object_object_add(o, "crl", json_object_new_string(pki_path(&p, "crl.pem", path, sizeof path)));
		json_object_object_add(o, "server", server ? entry_out(&p, server) : NULL);
		for (int i = 0; i < nclients; i++)
			json_object_array_add(cl, entry_out(&p, issued[i]));
		json_object_object_add(o, "clients", cl);
		json_object_object_add(o, "helperd_conf", json_object_get(conf));
		const char *remote = pki_setting(&p, "remote");
		json_object_object_add(o, "remote", remote ? json_object_new_string(remote) : NULL);
		out_json(o);
		json_object_put(o);
	} else {
		char subject[256], serial[64], when[32], day[16];
		time_t na;
		pki_ca_info(&p, subject, sizeof subject, serial, sizeof serial, &na);
		pki_time_str(na, when, sizeof when);
		if (*archived)
			printf("%sThe previous CA and everything it signed moved to %s\n", out_ok_mark(), archived);
		printf("%sCA: %s/ca.crt, %s, valid until %s%s\n", out_ok_mark(), p.dir, subject,
		       day_of(when, day, sizeof day), create_ca ? " (new; its key ca.key is mode 0600)" : "");
		if (p.crl_healed)
			printf("%sRevocation list: %s/crl.pem did not match index.json and was written again\n",
			       out_ok_mark(), p.dir);
		if (server) {
			printf("%sServer certificate: %s/server.crt for ", out_ok_mark(), p.dir);
			json_object *s = NULL;
			json_object_object_get_ex(server, "sans", &s);
			for (size_t i = 0; s && i < json_object_array_length(s); i++)
				printf("%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(s, i)));
			printf(", key server.key (0600), serial %s, valid until %s\n", str(server, "serial"),
			       day_of(str(server, "not_after"), day, sizeof day));
		}
		for (int i = 0; i < nclients; i++)
			printf("%sClient certificate: %s/%s (CN=%s), key %s (0600), serial %s, valid until %s\n",
			       out_ok_mark(), p.dir, str(issued[i], "cert"), clients[i], str(issued[i], "key"),
			       str(issued[i], "serial"), day_of(str(issued[i], "not_after"), day, sizeof day));
		if (json_object_array_length(conf)) {
			printf("\nhelperd.conf lines (in /etc/containarium/helperd.conf; restart containarium-helperd\n"
			       "after changing them; helperd re-reads the revocation list by itself):\n");
			for (size_t i = 0; i < json_object_array_length(conf); i++)
				printf("%s\n", json_object_get_string(json_object_array_get_idx(conf, i)));
		} else {
			printf("\nNo server certificate yet: containarium cert generate --server-ip IP [--dns NAME]\n"
			       "makes helperd's; then --client NAME, one per admin.\n");
		}
		for (int i = 0; i < nclients; i++)
			print_client_help(&p, issued[i]);
	}
	json_object_put(conf);
out:
	if (rc)
		report(c, rc, &e);
	pki_close(&p);
	return rc;
}

/* Append en to list unless it is there (a name given twice). */
static void add_unique(json_object **list, int *n, json_object *en)
{
	for (int i = 0; i < *n; i++)
		if (list[i] == en)
			return;
	list[(*n)++] = en;
}

static int run_revoke(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 1, ARGS_MAX, "cert revoke", "NAME|SERIAL...");
	if (rc)
		return rc;
	struct pki p;
	struct pki_error e = { 0 };
	json_object **newly = NULL, **already = NULL;
	int nnew = 0, nalready = 0;
	if ((rc = pki_open(&p, dir_of(a), false, &e)) || (rc = pki_load_ca(&p, &e)))
		goto out;
	json_object *entries = pki_entries(&p);
	size_t cap = json_object_array_length(entries) + 1;
	newly = calloc(cap, sizeof *newly);
	already = calloc(cap, sizeof *already);
	if (!newly || !already) {
		rc = CLI_FAILED;
		e.code = "failed";
		snprintf(e.message, sizeof e.message, "out of memory");
		goto out;
	}
	for (int i = 0; i < a->npos; i++) {
		const char *want = a->pos[i];
		int found = 0;
		for (size_t k = 0; k < json_object_array_length(entries); k++) {
			json_object *en = json_object_array_get_idx(entries, k);
			if (strcmp(str(en, "kind"), "client") != 0 || strcmp(str(en, "name"), want) != 0)
				continue;
			found = 1;
			if (pki_entry_revoked(en))
				add_unique(already, &nalready, en);
			else
				add_unique(newly, &nnew, en);
		}
		if (found)
			continue;
		json_object *en = pki_find_serial(&p, want);
		if (!en) {
			rc = CLI_NOT_FOUND;
			e.code = "not_found";
			snprintf(e.message, sizeof e.message,
				 "no client certificate named or numbered \"%.70s\" in %s "
				 "(containarium cert list shows them)",
				 want, p.dir);
			goto out;
		}
		if (strcmp(str(en, "kind"), "client") != 0) {
			rc = CLI_USAGE;
			e.code = "not_a_client";
			snprintf(e.message, sizeof e.message,
				 "serial %s is helperd's server certificate; clients do not "
				 "read a revocation list, so replace it instead: containarium cert generate "
				 "--server-ip IP --force, then restart containarium-helperd",
				 want);
			goto out;
		}
		if (pki_entry_revoked(en))
			add_unique(already, &nalready, en);
		else
			add_unique(newly, &nnew, en);
	}
	if (nnew && (rc = pki_revoke(&p, newly, nnew, &e)))
		goto out;
	int total = 0;
	for (size_t k = 0; k < json_object_array_length(entries); k++)
		total += pki_entry_revoked(json_object_array_get_idx(entries, k));
	char path[PKI_PATH_MAX + 64];
	pki_path(&p, "crl.pem", path, sizeof path);
	if (c->json) {
		json_object *o = json_object_new_object(), *r = json_object_new_array(), *al = json_object_new_array();
		for (int i = 0; i < nnew; i++)
			json_object_array_add(r, entry_out(&p, newly[i]));
		for (int i = 0; i < nalready; i++)
			json_object_array_add(al, entry_out(&p, already[i]));
		json_object_object_add(o, "revoked", r);
		json_object_object_add(o, "already_revoked", al);
		json_object_object_add(o, "crl", json_object_new_string(path));
		json_object_object_add(o, "crl_number", json_object_new_int64(pki_crl_number(&p)));
		json_object_object_add(o, "crl_entries", json_object_new_int(total));
		out_json(o);
		json_object_put(o);
	} else {
		char day[16];
		for (int i = 0; i < nnew; i++)
			printf("%sRevoked %s's certificate, serial %s\n", out_ok_mark(), str(newly[i], "name"),
			       str(newly[i], "serial"));
		for (int i = 0; i < nalready; i++)
			printf("%s's certificate, serial %s, was already revoked on %s\n", str(already[i], "name"),
			       str(already[i], "serial"), day_of(str(already[i], "revoked_at"), day, sizeof day));
		if (nnew)
			printf("%s (CRL number %lld) lists %d revoked certificate%s. helperd re-reads it at its next\n"
			       "connection when its helperd.conf has https_crl = %s\n",
			       path, pki_crl_number(&p), total, total == 1 ? "" : "s", path);
	}
out:
	if (rc)
		report(c, rc, &e);
	pki_close(&p);
	free(newly);
	free(already);
	return rc;
}

static int run_list(struct cli *c, const struct args *a)
{
	int rc = args_positional(a, 0, 0, "cert list", "");
	if (rc)
		return rc;
	struct pki p;
	struct pki_error e = { 0 };
	if ((rc = pki_open(&p, dir_of(a), false, &e)) || (rc = pki_load_ca(&p, &e)))
		goto out;
	json_object *entries = pki_entries(&p);
	char path[PKI_PATH_MAX + 64];
	if (c->json) {
		json_object *o = json_object_new_object(), *l = json_object_new_array(),
			    *crl = json_object_new_object();
		int total = 0;
		for (size_t k = 0; k < json_object_array_length(entries); k++) {
			json_object *en = json_object_array_get_idx(entries, k);
			total += pki_entry_revoked(en);
			json_object_array_add(l, entry_out(&p, en));
		}
		json_object_object_add(o, "dir", json_object_new_string(p.dir));
		json_object_object_add(o, "ca", ca_out(&p, false));
		json_object_object_add(crl, "path", json_object_new_string(pki_path(&p, "crl.pem", path, sizeof path)));
		json_object_object_add(crl, "number", json_object_new_int64(pki_crl_number(&p)));
		json_object_object_add(crl, "entries", json_object_new_int(total));
		json_object_object_add(o, "crl", crl);
		json_object_object_add(o, "certificates", l);
		json_object_object_add(o, "helperd_conf", conf_lines(&p));
		out_json(o);
		json_object_put(o);
	} else {
		char subject[256], serial[64], when[32], day[16];
		time_t na, now = time(NULL);
		pki_ca_info(&p, subject, sizeof subject, serial, sizeof serial, &na);
		pki_time_str(na, when, sizeof when);
		printf("CA: %s/ca.crt, %s, serial %s, valid until %s\n\n", p.dir, subject, serial,
		       day_of(when, day, sizeof day));
		static const char *const headers[] = { "KIND", "NAME", "SERIAL", "EXPIRES", "STATUS" };
		struct table *t = table_new(5, headers);
		for (size_t k = 0; k < json_object_array_length(entries); k++) {
			json_object *en = json_object_array_get_idx(entries, k);
			char status[48], d2[16];
			if (pki_entry_revoked(en))
				snprintf(status, sizeof status, "revoked %s",
					 day_of(str(en, "revoked_at"), d2, sizeof d2));
			else
				snprintf(status, sizeof status, "%s", pki_entry_expired(en, now) ? "expired" : "valid");
			const char *cells[] = { str(en, "kind"), str(en, "name"), str(en, "serial"),
						day_of(str(en, "not_after"), day, sizeof day), status };
			table_add(t, cells);
		}
		table_print(t, stdout);
		table_free(t);
	}
out:
	if (rc)
		report(c, rc, &e);
	pki_close(&p);
	return rc;
}

const struct command cmd_cert_generate = {
	"cert generate",
	"[--server-ip IP]... [--dns NAME]... [--client NAME]... [--output-dir DIR]",
	"make the CA, helperd's certificate and admins' certificates",
	"Makes the certificates of helperd's remote API with OpenSSL, in DIR\n"
	"(default " PKI_DEFAULT_DIR "): a CA the first time (ca.crt, ca.key,\n"
	"an empty revocation list crl.pem), helperd's server certificate when\n"
	"--server-ip or --dns is given (server.crt, server.key), and a client\n"
	"certificate for each --client NAME (clients/NAME.crt, clients/NAME.key;\n"
	"NAME is its common name, which names the admin in helperd's audit log).\n"
	"Later runs use the CA that is there.  Keys are ECDSA P-256, mode 0600;\n"
	"every file is replaced atomically.  Prints the helperd.conf lines to use\n"
	"and what each admin copies; with --json all of it as JSON.\n\n"
	"Options:\n"
	"  --server-ip IP     an address clients connect to (repeatable; IPv4/IPv6)\n"
	"  --dns NAME         a host name clients connect to (repeatable)\n"
	"  --client NAME      an admin's certificate (repeatable)\n"
	"  --output-dir DIR   where the files are (also --dir; default\n"
	"                     " PKI_DEFAULT_DIR ")\n"
	"  --days N           validity of the new certificates (default 365; never\n"
	"                     beyond the CA's)\n"
	"  --ca-days N        validity of a new CA (default 3650)\n"
	"  --https-listen ADDRESS:PORT\n"
	"                     helperd's https_listen in the printed lines (default\n"
	"                     " PKI_DEFAULT_LISTEN "); its port goes into the clients' URL\n"
	"  -f, --force        replace a valid server certificate, or issue another\n"
	"                     to a NAME that has a valid one (that one stays valid)\n"
	"  --new-ca           a new CA although DIR has one (needs --force); the old\n"
	"                     files move to DIR/old/TIME/ and stop working\n\n"
	"Example:\n"
	"  sudo containarium cert generate --server-ip 203.0.113.10 \\\n"
	"      --dns jump.example.com --client alice --client bob\n",
	generate_opts,
	run_generate,
};

const struct command cmd_cert_revoke = {
	"cert revoke",
	"NAME|SERIAL... [--output-dir DIR]",
	"revoke admins' certificates (helperd then refuses them)",
	"Revokes every certificate of client NAME (or the one with SERIAL, in hex\n"
	"as cert list shows it) and writes DIR/crl.pem again, signed by the CA.\n"
	"helperd with https_crl set to that file re-reads it when it changes and\n"
	"refuses a revoked certificate during the TLS handshake.  Revoking again\n"
	"is not an error.\n\n"
	"Options:\n"
	"  --output-dir DIR   where the files are (also --dir; default\n"
	"                     " PKI_DEFAULT_DIR ")\n",
	dir_opts,
	run_revoke,
};

const struct command cmd_cert_list = {
	"cert list",
	"[--output-dir DIR]",
	"the certificates issued, and which are revoked",
	"Lists the CA and every certificate it issued (DIR/index.json): kind,\n"
	"name, serial, expiry, and whether it is valid, expired or revoked.\n\n"
	"Options:\n"
	"  --output-dir DIR   where the files are (also --dir; default\n"
	"                     " PKI_DEFAULT_DIR ")\n",
	dir_opts,
	run_list,
};
