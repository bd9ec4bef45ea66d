/* SPDX-License-Identifier: Apache-2.0 */
#include "client.h"

#include <errno.h>
#include <grp.h>
#include <stddef.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "output.h"
#include "percent.h"
#include "transport.h"

const char *json_str(json_object *o, const char *key, const char *def)
{
	json_object *v;
	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return def;
}

long long json_int(json_object *o, const char *key, long long def)
{
	json_object *v;
	if (o && json_object_object_get_ex(o, key, &v) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return (long long)json_object_get_int64(v);
	return def;
}

int json_flag(json_object *o, const char *key)
{
	json_object *v;
	return o && json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

int exit_for_status(long status)
{
	if (status >= 200 && status < 300)
		return CLI_OK;
	switch (status) {
	case 400:
	case 413:
	case 415:
	case 422: return CLI_USAGE;
	case 401:
	case 403: return CLI_DENIED;
	case 404: return CLI_NOT_FOUND;
	case 409: return CLI_CONFLICT;
	case 503: return CLI_UNAVAILABLE;
	default: return CLI_FAILED;
	}
}

char *url_escape(const char *s)
{
	char *out = ctm_percent_escape(s);
	if (!out) {
		out_error("out of memory");
		exit(CLI_FAILED);
	}
	return out;
}

void api_reply_free(struct api_reply *r)
{
	json_object_put(r->json);
	free(r->text);
	memset(r, 0, sizeof *r);
}

void api_close(struct cli *c)
{
	transport_close(c->t);
	c->t = NULL;
}

int api_report_error(struct cli *c, json_object *error)
{
	long status = json_int(error, "status", 500);
	const char *msg = json_str(error, "message", NULL);
	const char *code = json_str(error, "code", "error");
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "error", json_object_get(error));
		out_json(o);
		json_object_put(o);
	}
	if (msg)
		out_error("%s", msg);
	else
		out_error("helperd reported %s (HTTP %ld)", code, status);
	return exit_for_status(status);
}

int cli_set_global_path(struct cli *c, const char *name, const char *value)
{
	static const struct {
		const char *name, *what;
		size_t off;
	} opts[] = {
		{ "socket", "a path", offsetof(struct cli, socket) },
		{ "remote", "an https:// address", offsetof(struct cli, remote) },
		{ "client-cert", "a certificate file", offsetof(struct cli, cert) },
		{ "client-key", "a key file", offsetof(struct cli, key) },
		{ "server-ca", "a CA certificate file", offsetof(struct cli, cacert) },
	};
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		if (strcmp(opts[i].name, name) != 0)
			continue;
		if (!value || !*value) {
			out_error("--%s needs %s; see containarium --help", name, opts[i].what);
			return -1;
		}
		memcpy((char *)c + opts[i].off, &value, sizeof value);
		return 0;
	}
	out_error("unknown option --%s", name);
	return -1;
}

/* Where requests go, for messages: the socket or the remote address. */
static const char *where(const struct cli *c)
{
	return c->remote ? c->remote : c->socket;
}

/* A file under ~/.config/containarium, when the option and its
 * environment variable are both unset. */
static const char *config_file(const char *given, const char *env, const char *file, char *buf, size_t len)
{
	if (given && *given)
		return given;
	const char *e = getenv(env);
	if (e && *e)
		return e;
	const char *home = getenv("HOME");
	snprintf(buf, len, "%s/.config/containarium/%s", home && *home ? home : "", file);
	return buf;
}

/* The HTTPS transport, with the client certificate, its key and the
 * server's CA from the options, the environment or ~/.config/containarium. */
static struct transport *open_remote(struct cli *c, char *err, size_t errlen)
{
	static char cert_buf[512], key_buf[512], ca_buf[512];
	c->cert = config_file(c->cert, "CONTAINARIUM_CLIENT_CERT", "client.crt", cert_buf, sizeof cert_buf);
	c->key = config_file(c->key, "CONTAINARIUM_CLIENT_KEY", "client.key", key_buf, sizeof key_buf);
	const char *ca = config_file(c->cacert, "CONTAINARIUM_SERVER_CA", "server-ca.crt", ca_buf, sizeof ca_buf);
	/* No CA of our own: the system's store (a server with a public cert). */
	c->cacert = c->cacert || access(ca, F_OK) == 0 ? ca : NULL;
	const char *files[] = { c->cert, c->key };
	const char *opts[] = { "--client-cert", "--client-key" };
	for (int i = 0; i < 2; i++)
		if (access(files[i], R_OK) != 0) {
			snprintf(err, errlen,
				 "cannot read %s (%s): the remote API needs your client certificate "
				 "and key; give %s, or put them in ~/.config/containarium/client.crt and client.key",
				 files[i], strerror(errno), opts[i]);
			return NULL;
		}
	return transport_https_open(c->remote, c->cert, c->key, c->cacert, err, errlen);
}

/* Why the socket refused us, with the group that would let us in. */
static int report_denied(const struct cli *c, const char *why)
{
	struct stat st;
	if (stat(c->socket, &st) != 0) {
		out_error("cannot reach helperd's socket %s: %s; a directory on the way is closed to you: run "
			  "the command as root (sudo containarium ...)",
			  c->socket, strerror(errno));
		return CLI_DENIED;
	}
	struct group *g = getgrgid(st.st_gid);
	char gname[64];
	if (g)
		snprintf(gname, sizeof gname, "%s", g->gr_name);
	else
		snprintf(gname, sizeof gname, "%u", (unsigned)st.st_gid);
	if (st.st_gid == 0)
		out_error("permission denied connecting to helperd at %s (%s; mode %04o, group %s): only root may "
			  "use it, because helperd.conf sets no admin_group; run the command as root "
			  "(sudo containarium ...)",
			  c->socket, why, (unsigned)(st.st_mode & 07777), gname);
	else
		out_error("permission denied connecting to helperd at %s (%s; mode %04o, group %s): join the "
			  "group %s (sudo usermod -aG %s $USER, then log in again) or run the command as root",
			  c->socket, why, (unsigned)(st.st_mode & 07777), gname, gname, gname);
	return CLI_DENIED;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

int api_call(struct cli *c, const char *method, const char *target, json_object *body, long timeout_seconds,
	     struct api_reply *r)
{
	char err[512];
	memset(r, 0, sizeof *r);
	if (!c->t &&
	    !(c->t = c->remote ? open_remote(c, err, sizeof err) : transport_unix_open(c->socket, err, sizeof err))) {
		out_error("%s", err);
		return CLI_FAILED;
	}
	const char *text = NULL;
	size_t text_len = 0;
	if (body)
		text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
							 &text_len);
	if (c->verbose)
		fprintf(stderr, "> %s %s%s\n", method, target, body ? " (JSON body)" : "");
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct transport_reply tr;
	enum transport_status ts =
		transport_request(c->t, method, target, text, text_len, timeout_seconds, &tr, err, sizeof err);
	if (c->verbose) {
		if (ts == TRANSPORT_OK)
			fprintf(stderr, "< %ld (%.0f ms)\n", tr.status, ms_since(&t0));
		else
			fprintf(stderr, "< no answer: %s\n", err);
	}
	switch (ts) {
	case TRANSPORT_OK: break;
	case TRANSPORT_DENIED: return report_denied(c, err);
	case TRANSPORT_UNAVAILABLE:
		if (strstr(err, "closed the connection"))
			out_error("helperd at %s %s: it may have stopped or crashed; check its log "
				  "(journalctl -u containarium-helperd)",
				  where(c), err);
		else if (c->remote)
			out_error("cannot connect to helperd at %s (%s): is https_listen set in its helperd.conf, "
				  "and does a firewall let you through?",
				  c->remote, err);
		else
			out_error("cannot connect to helperd at %s: is containarium-helperd running? "
				  "(systemctl start containarium-helperd)",
				  c->socket);
		return CLI_UNAVAILABLE;
	case TRANSPORT_TIMEOUT:
		out_error("helperd at %s gave %s; check its log (journalctl -u containarium-helperd)", where(c), err);
		return CLI_UNAVAILABLE;
	case TRANSPORT_FAILED: out_error("request to helperd at %s failed: %s", where(c), err); return CLI_FAILED;
	case TRANSPORT_REFUSED: out_error("%s", err); return CLI_DENIED;
	}
	r->status = tr.status;
	r->text = tr.body;
	r->len = tr.len;
	if (strncmp(tr.content_type, "application/json", 16) == 0) {
		json_tokener *tok = json_tokener_new();
		if (tok) {
			r->json = json_tokener_parse_ex(tok, r->text, (int)r->len);
			if (json_tokener_get_error(tok) != json_tokener_success) {
				json_object_put(r->json);
				r->json = NULL;
			}
			json_tokener_free(tok);
		}
		if (!r->json) {
			out_error("helperd answered %s %s with JSON this CLI cannot read (HTTP %ld)", method, target,
				  tr.status);
			api_reply_free(r);
			return CLI_FAILED;
		}
	}
	if (r->status >= 200 && r->status < 300)
		return CLI_OK;
	json_object *error;
	int rc;
	if (r->json && json_object_object_get_ex(r->json, "error", &error) &&
	    json_object_is_type(error, json_type_object)) {
		rc = api_report_error(c, error);
	} else {
		out_error("helperd answered %s %s with HTTP %ld: %.300s", method, target, r->status,
			  r->text && *r->text ? r->text : "(no message)");
		rc = exit_for_status(r->status);
	}
	api_reply_free(r);
	return rc;
}
