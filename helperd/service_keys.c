/* SPDX-License-Identifier: Apache-2.0 */
/* /v1/containers/{user}/keys, /ssh-config and /known-hosts.
 *
 * A key change updates three places together: the instance config (the
 * registry), the container's ~/.ssh/authorized_keys, and keys.db.  The
 * container file is written first; if that fails nothing else changes. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "helperd_log.h"
#include "host_cert.h"
#include "instance.h"
#include "key_fingerprint.h"
#include "service.h"
#include "service_handlers.h"
#include "sshkey.h"

static json_object *keys_json(const struct account *a)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < a->key_count; i++) {
		json_object *k = json_object_new_object();
		char fp[64] = "";
		struct ctm_sshkey parsed;
		char msg[8];
		key_fingerprint(a->keys[i], fp, sizeof fp);
		ctm_sshkey_parse(a->keys[i], strlen(a->keys[i]), &parsed, msg, sizeof msg);
		json_object_object_add(k, "fingerprint", json_object_new_string(fp));
		json_object_object_add(k, "type", json_object_new_string(parsed.type));
		json_object_object_add(k, "bits", json_object_new_int((int)parsed.bits));
		json_object_object_add(k, "comment",
				       json_object_new_string_len(parsed.comment, (int)parsed.comment_len));
		json_object_object_add(k, "key", json_object_new_string(a->keys[i]));
		json_object_array_add(arr, k);
	}
	return arr;
}

/* A client and the account of the request's user, straight from Incus
 * (with the ETag when etag is not NULL).  NULL after answering. */
static struct incus_client *open_account(struct helperd *d, const struct api_request *req, struct api_response *resp,
					 struct account *a, char **etag)
{
	char err[512];
	struct incus_client *c = helperd_client(d, err, sizeof err);
	if (!c) {
		answer_backend_down(d, resp, err);
		return NULL;
	}
	enum incus_status st = helperd_load_account(c, d, req->params[0], a, etag, err, sizeof err);
	if (st == INCUS_ERR_NOT_FOUND)
		snprintf(err, sizeof err, "user %s has no container; list them with containarium list", req->params[0]);
	if (st != INCUS_OK) {
		answer_incus_error(d, resp, st, err);
		incus_close(c);
		return NULL;
	}
	return c;
}

void handle_keys_list(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	if (user_param(req, resp))
		return;
	struct account a;
	struct incus_client *c = open_account(d, req, resp, &a, NULL);
	if (!c)
		return;
	incus_close(c);
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "name", json_object_new_string(a.name));
	json_object_object_add(resp->body, "keys", keys_json(&a));
	account_free(&a);
}

static void audit_key_change(struct helperd *d, const struct api_request *req, const char *action, const char *user,
			     const char *key)
{
	char err[512], fp[64] = "";
	key_fingerprint(key, fp, sizeof fp);
	json_object *ev = json_object_new_object();
	json_object_object_add(ev, "event", json_object_new_string(action));
	json_object_object_add(ev, "user", json_object_new_string(user));
	json_object_object_add(ev, "fingerprint", json_object_new_string(fp));
	api_caller_to_json(req, ev);
	if (audit_write(d->cfg.audit_log, ev, err, sizeof err))
		log_error("%s", err);
	json_object_put(ev);
}

/* Write keys to the container, then the instance config (If-Match etag),
 * then publish. */
static int store_keys(struct helperd *d, struct incus_client *c, const struct account *a, char **keys, size_t n,
		      const char *etag, struct api_response *resp)
{
	char err[1024], path[128];
	char *ids = NULL;
	const char *id[] = { "id", "-u", a->name, NULL };
	enum incus_status st = instance_run(c, a->instance, id, &ids, err, sizeof err);
	if (st != INCUS_OK) {
		free(ids);
		api_error(resp, 409, "container_not_running",
			  "the keys could not be written into %s (%s); start "
			  "it (containarium start %s) and retry; nothing was changed",
			  a->instance, err, a->name);
		return -1;
	}
	unsigned long cuid = strtoul(ids ? ids : "", NULL, 10);
	free(ids);
	char *text = account_keys_join(keys, n); /* the registry's value, below */
	if (!text) {
		api_error(resp, 500, "internal_error", "out of memory");
		return -1;
	}
	st = instance_push_authorized_keys(c, a->instance, a->name, keys, n, (unsigned)cuid, (unsigned)cuid, err,
					   sizeof err);
	if (st != INCUS_OK) {
		free(text);
		answer_incus_error(d, resp, st, err);
		return -1;
	}
	snprintf(path, sizeof path, "/1.0/instances/%s", a->instance);
	json_object *b = json_object_new_object(), *cfg = json_object_new_object();
	json_object_object_add(cfg, ACCT_KEY_KEYS, json_object_new_string(text));
	json_object_object_add(b, "config", cfg);
	free(text);
	st = incus_call(c, "PATCH", path, b, etag, 60, NULL, err, sizeof err);
	json_object_put(b);
	if (st == INCUS_ERR_CONFLICT) {
		api_error(resp, 409, "conflict",
			  "the keys of %s changed while this request ran; list them and "
			  "retry",
			  a->name);
		return -1;
	}
	if (st != INCUS_OK) {
		answer_incus_error(d, resp, st, err);
		return -1;
	}
	if (helperd_refresh(d, c, err, sizeof err)) {
		api_error(resp, 500, "publish_failed",
			  "the keys were stored but the host snapshot could not "
			  "be written: %s",
			  err);
		return -1;
	}
	return 0;
}

void handle_keys_add(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	if (user_param(req, resp))
		return;
	json_object *k;
	if (!req->body || !json_object_object_get_ex(req->body, "key", &k) ||
	    !json_object_is_type(k, json_type_string)) {
		api_error(resp, 400, "invalid_key", "send {\"key\": \"ssh-ed25519 AAAA... comment\"}");
		return;
	}
	struct ctm_sshkey parsed;
	char msg[512], canon[CTM_KEY_LINE_MAX + 1], *etag = NULL;
	if (ctm_sshkey_parse(json_object_get_string(k), (size_t)json_object_get_string_len(k), &parsed, msg,
			     sizeof msg) != CTM_KEY_OK) {
		api_error(resp, 400, "invalid_key", "%s", msg);
		return;
	}
	ctm_sshkey_format(&parsed, canon, sizeof canon);
	struct account a;
	struct incus_client *c = open_account(d, req, resp, &a, &etag);
	if (!c)
		return;
	for (size_t i = 0; i < a.key_count; i++)
		if (key_same(a.keys[i], canon)) {
			api_error(resp, 409, "key_exists", "%s already has this key (perhaps with another comment)",
				  a.name);
			goto done;
		}
	if (a.key_count >= CTM_KEYS_PER_USER_MAX) {
		api_error(resp, 400, "too_many_keys", "%s already has %d keys, the limit; remove one first", a.name,
			  CTM_KEYS_PER_USER_MAX);
		goto done;
	}
	char **keys = realloc(a.keys, (a.key_count + 1) * sizeof *keys);
	if (!keys) {
		api_error(resp, 500, "internal_error", "out of memory");
		goto done;
	}
	a.keys = keys;
	if (!(a.keys[a.key_count] = strdup(canon))) {
		api_error(resp, 500, "internal_error", "out of memory");
		goto done;
	}
	a.key_count++;
	if (store_keys(d, c, &a, a.keys, a.key_count, etag, resp) == 0) {
		audit_key_change(d, req, "key_add", a.name, canon);
		resp->status = 201;
		resp->body = json_object_new_object();
		json_object_object_add(resp->body, "name", json_object_new_string(a.name));
		json_object_object_add(resp->body, "keys", keys_json(&a));
	}
done:
	account_free(&a);
	free(etag);
	incus_close(c);
}

/* Which key: a SHA256 fingerprint, the exact key line, or a unique comment. */
static long match_key(const struct account *a, const char *which, int *ambiguous)
{
	long found = -1;
	*ambiguous = 0;
	for (size_t i = 0; i < a->key_count; i++) {
		char fp[64] = "";
		struct ctm_sshkey parsed;
		char msg[8];
		key_fingerprint(a->keys[i], fp, sizeof fp);
		ctm_sshkey_parse(a->keys[i], strlen(a->keys[i]), &parsed, msg, sizeof msg);
		int hit = strcmp(fp, which) == 0 || strcmp(a->keys[i], which) == 0 ||
			  (parsed.comment_len && strlen(which) == parsed.comment_len &&
			   memcmp(parsed.comment, which, parsed.comment_len) == 0);
		if (hit) {
			if (found >= 0)
				*ambiguous = 1;
			found = (long)i;
		}
	}
	return found;
}

/* The index of the one key of a that which names, or -1 after answering
 * (none, or several). */
static long find_key(const struct account *a, const char *which, struct api_response *resp)
{
	int ambiguous;
	long i = match_key(a, which, &ambiguous);
	if (i < 0)
		api_error(resp, 404, "key_not_found",
			  "%s has no key with fingerprint or comment \"%.80s\"; "
			  "containarium key list %s shows them",
			  a->name, which, a->name);
	else if (ambiguous)
		api_error(resp, 409, "ambiguous_key", "several keys of %s match \"%.80s\"; give the fingerprint",
			  a->name, which);
	return i < 0 || ambiguous ? -1 : i;
}

void handle_keys_remove(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	if (user_param(req, resp))
		return;
	const char *which = api_query(req, "key");
	if (!which || !*which) {
		api_error(resp, 400, "invalid_request",
			  "say which key: ?key=SHA256:... (ssh-keygen -lf FILE shows "
			  "it) or ?key=COMMENT");
		return;
	}
	char *etag = NULL;
	struct account a;
	struct incus_client *c = open_account(d, req, resp, &a, &etag);
	if (!c)
		return;
	long i = find_key(&a, which, resp);
	if (i < 0)
		goto done;
	if (a.key_count == 1) {
		api_error(resp, 409, "last_key",
			  "this is the last key of %s; add another first, or delete the "
			  "container",
			  a.name);
		goto done;
	}
	char *removed = a.keys[i];
	memmove(&a.keys[i], &a.keys[i + 1], (a.key_count - (size_t)i - 1) * sizeof *a.keys);
	a.key_count--;
	int stored = store_keys(d, c, &a, a.keys, a.key_count, etag, resp) == 0;
	if (stored)
		audit_key_change(d, req, "key_remove", a.name, removed);
	free(removed);
	if (stored) {
		resp->body = json_object_new_object();
		json_object_object_add(resp->body, "name", json_object_new_string(a.name));
		json_object_object_add(resp->body, "keys", keys_json(&a));
	}
done:
	account_free(&a);
	free(etag);
	incus_close(c);
}

/* One key for another in one change of the registry: there is never a
 * moment with both keys or with neither (a rotation that adds, then
 * removes, leaves the old key working in between; one that removes first
 * can lock the user out of their last key). */
void handle_keys_replace(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	if (user_param(req, resp))
		return;
	const char *which = api_query(req, "key");
	json_object *k;
	if (!which || !*which || !req->body || !json_object_object_get_ex(req->body, "key", &k) ||
	    !json_object_is_type(k, json_type_string)) {
		api_error(resp, 400, "invalid_request",
			  "say which key to replace (?key=SHA256:... or ?key=COMMENT) "
			  "and send the new one: {\"key\": \"ssh-ed25519 AAAA... comment\"}");
		return;
	}
	struct ctm_sshkey parsed;
	char msg[512], canon[CTM_KEY_LINE_MAX + 1], *etag = NULL;
	if (ctm_sshkey_parse(json_object_get_string(k), (size_t)json_object_get_string_len(k), &parsed, msg,
			     sizeof msg) != CTM_KEY_OK) {
		api_error(resp, 400, "invalid_key", "%s", msg);
		return;
	}
	ctm_sshkey_format(&parsed, canon, sizeof canon);
	struct account a;
	struct incus_client *c = open_account(d, req, resp, &a, &etag);
	if (!c)
		return;
	long i = find_key(&a, which, resp);
	if (i < 0)
		goto done;
	for (size_t j = 0; j < a.key_count; j++)
		if (key_same(a.keys[j], canon)) {
			api_error(
				resp, 409, "key_exists",
				(long)j == i
					? "the new key is the key it would replace (perhaps with another comment); nothing "
					  "to do for %s"
					: "%s already has the new key; remove the old one instead",
				a.name);
			goto done;
		}
	char *old = a.keys[i], *fresh = strdup(canon);
	if (!fresh) {
		api_error(resp, 500, "internal_error", "out of memory");
		goto done;
	}
	a.keys[i] = fresh;
	int stored = store_keys(d, c, &a, a.keys, a.key_count, etag, resp) == 0;
	if (stored) {
		audit_key_change(d, req, "key_remove", a.name, old);
		audit_key_change(d, req, "key_add", a.name, fresh);
		resp->body = json_object_new_object();
		json_object_object_add(resp->body, "name", json_object_new_string(a.name));
		json_object_object_add(resp->body, "keys", keys_json(&a));
	}
	free(old);
done:
	account_free(&a);
	free(etag);
	incus_close(c);
}

/* The query both exports take: the jump host (jump_ip, jump_port), and
 * the user's account.  0, or -1 after answering. */
struct export_params {
	const char *jump;
	long port;
	char ip[INET_ADDRSTRLEN];
	char name[CTM_NAME_MAX + 1];
};

static int export_params(struct helperd *d, const struct api_request *req, struct api_response *resp,
			 struct export_params *e)
{
	if (user_param(req, resp))
		return -1;
	const char *jump = api_query(req, "jump_ip"), *port = api_query(req, "jump_port");
	struct in_addr in;
	struct in6_addr in6;
	if (!jump || !*jump ||
	    (inet_pton(AF_INET, jump, &in) != 1 && inet_pton(AF_INET6, jump, &in6) != 1 &&
	     strspn(jump, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(jump))) {
		api_error(resp, 400, "invalid_jump_ip",
			  "give the jump server's public address or host name: "
			  "?jump_ip=203.0.113.10");
		return -1;
	}
	char *end = NULL;
	long p = port ? strtol(port, &end, 10) : 22;
	if (port && (!*port || *end || p < 1 || p > 65535)) {
		api_error(resp, 400, "invalid_port", "jump_port \"%.10s\" must be a port from 1 to 65535", port);
		return -1;
	}
	e->jump = jump;
	e->port = p;
	e->ip[0] = e->name[0] = '\0';
	pthread_mutex_lock(&d->lock);
	const struct account *a = registry_find(&d->reg, req->params[0]);
	if (a) {
		inet_ntop(AF_INET, a->ipv4, e->ip, sizeof e->ip);
		snprintf(e->name, sizeof e->name, "%s", a->name);
	}
	pthread_mutex_unlock(&d->lock);
	if (!*e->name) {
		api_error(resp, 404, "not_found", "user %s has no container; list them with containarium list",
			  req->params[0]);
		return -1;
	}
	return 0;
}

/* A path the user's ssh reads (IdentityFile, UserKnownHostsFile): one
 * word, as ssh_config takes it. */
static int path_ok(const char *v)
{
	return *v && strlen(v) <= 255 && !strpbrk(v, "\n\r\t \"'\\");
}

#define KNOWN_HOSTS_DEFAULT "~/.ssh/containarium_known_hosts"

void handle_ssh_config(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	struct export_params e;
	if (export_params(d, req, resp, &e))
		return;
	const char *key = api_query(req, "key"), *kh = api_query(req, "known_hosts");
	if (key && !path_ok(key)) {
		api_error(resp, 400, "invalid_key_path",
			  "key must be a path without spaces or quotes, such as "
			  "~/.ssh/containarium_alice");
		return;
	}
	if (kh && !path_ok(kh)) {
		api_error(resp, 400, "invalid_known_hosts_path",
			  "known_hosts must be a path without spaces or quotes, "
			  "such as " KNOWN_HOSTS_DEFAULT);
		return;
	}
	char when[32], idline[300] = "", portline[32] = "", hostkeys[400];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (key)
		snprintf(idline, sizeof idline, "    IdentityFile %s\n    IdentitiesOnly yes\n", key);
	if (e.port != 22)
		snprintf(portline, sizeof portline, "    Port %ld\n", e.port);
	/* With a host CA both hosts are checked against its @cert-authority
	 * lines only (`containarium export` writes them into the file named
	 * here): no question at the first connection, and a host without a
	 * certificate is refused.  Without one, the first key seen is kept. */
	if (*d->host_ca_fp)
		snprintf(hostkeys, sizeof hostkeys, "    UserKnownHostsFile %s\n    StrictHostKeyChecking yes\n",
			 kh ? kh : KNOWN_HOSTS_DEFAULT);
	else
		snprintf(hostkeys, sizeof hostkeys, "%s", "");
	char *text = NULL;
	/* The jump host entry is named per user: ssh takes the first matching
	 * Host block, so one shared name would log bob in as alice. */
	if (asprintf(&text,
		     "# Containarium SSH Configuration\n"
		     "# User: %s\n"
		     "# Generated: %s\n"
		     "\n"
		     "# Jump server (proxy-only account: no shell)\n"
		     "Host containarium-jump-%s\n"
		     "    HostName %s\n"
		     "%s"
		     "    User %s\n"
		     "%s"
		     "%s"
		     "\n"
		     "# %s's development container\n"
		     "Host %s-dev\n"
		     "    HostName %s\n"
		     "    User %s\n"
		     "%s"
		     "    ProxyJump containarium-jump-%s\n"
		     "%s",
		     e.name, when, e.name, e.jump, portline, e.name, idline, hostkeys, e.name, e.name, e.ip, e.name,
		     idline, e.name, *hostkeys ? hostkeys : "    StrictHostKeyChecking accept-new\n") < 0) {
		api_error(resp, 500, "internal_error", "out of memory");
		return;
	}
	resp->text = text;
	resp->content_type = "text/plain; charset=utf-8";
}

/* GET /v1/containers/{user}/known-hosts?jump_ip=&jump_port=: the
 * known_hosts file the ssh-config names: the host CA (and, during a
 * rotation, the other one) trusted for the jump host's name as the user
 * connects to it and for the containers' network. */
void handle_known_hosts(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	struct export_params e;
	if (export_params(d, req, resp, &e))
		return;
	if (!*d->host_ca_fp) {
		api_error(resp, 409, "host_ca_not_configured",
			  "this helperd has no host CA (host_ca_key in "
			  "helperd.conf), so there are no host certificates to trust: the exported ssh_config keeps "
			  "the first host key it sees (StrictHostKeyChecking accept-new)");
		return;
	}
	/* The containers' network, as Incus has it (the user's own address
	 * when it cannot be read). */
	char err[512], path[160], net[64] = "", jump[300];
	struct incus_client *c = helperd_client(d, err, sizeof err);
	if (c) {
		json_object *md = NULL, *cfg = NULL, *addr = NULL;
		snprintf(path, sizeof path, "/1.0/networks/%s", d->cfg.network);
		if (incus_get(c, path, &md, NULL, err, sizeof err) == INCUS_OK &&
		    json_object_object_get_ex(md, "config", &cfg) &&
		    json_object_object_get_ex(cfg, "ipv4.address", &addr))
			host_cert_network_pattern(json_object_get_string(addr), net, sizeof net);
		json_object_put(md);
		incus_close(c);
	}
	if (!*net)
		snprintf(net, sizeof net, "%s", e.ip);
	if (e.port == 22)
		snprintf(jump, sizeof jump, "%s", e.jump);
	else
		snprintf(jump, sizeof jump, "[%s]:%ld", e.jump, e.port);
	char patterns[400];
	snprintf(patterns, sizeof patterns, "%s,%s", jump, net);
	char *lines = host_ca_known_hosts(&d->cfg, patterns, err, sizeof err);
	if (!lines) {
		api_error(resp, 500, "host_ca_unreadable", "%s", err);
		return;
	}
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	char *text = NULL;
	int n = asprintf(&text,
			 "# Containarium known hosts\n"
			 "# User: %s\n"
			 "# Generated: %s\n"
			 "# The host certificate authority of the jump servers (%s) and of the containers\n"
			 "# (%s): ssh trusts no other key for them.\n"
			 "%s",
			 e.name, when, jump, net, lines);
	free(lines);
	if (n < 0) {
		api_error(resp, 500, "internal_error", "out of memory");
		return;
	}
	resp->text = text;
	resp->content_type = "text/plain; charset=utf-8";
}
