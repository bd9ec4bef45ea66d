/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/sessions (pam_containarium, root only), GET /v1/sessions (the
 * open ones), GET /v1/audit and /v1/audit/summary.
 *
 * A session open for a stopped container starts it and answers only once
 * it runs with its address (wake-on-SSH): sshd opens the tunnel to port 22
 * right after, so answering earlier would fail the login. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_query.h"
#include "helperd_log.h"
#include "host_cert.h"
#include "instance.h"
#include "service.h"
#include "service_handlers.h"
#include "session_table.h"
#include "username.h"

static const char *str_field(json_object *body, const char *key, size_t max)
{
	json_object *v;
	if (!json_object_object_get_ex(body, key, &v) || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) > max)
		return NULL;
	const char *s = json_object_get_string(v);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return NULL;
	return s;
}

/* Start the container if it is stopped and wait until it answers on its
 * address.  *state: "running", "started", "stopped" (could not), or
 * "unreachable" (its cluster member does not answer: not tried). */
static enum incus_status wake(struct helperd *d, const char *user, const char **state, char *ip, size_t iplen,
			      char *err, size_t errlen)
{
	char iname[64], path[128], why[256];
	helperd_instance_name(d, user, iname, sizeof iname);
	snprintf(path, sizeof path, "/1.0/instances/%s", iname);
	/* Its cluster member does not answer (registry_carry_over): Incus
	 * would take seconds to say so, and the container may well be running
	 * (a member whose Incus died keeps its containers).  Let the login go
	 * on at once; the tunnel reaches it or is refused. */
	pthread_mutex_lock(&d->lock);
	const struct account *known = registry_find(&d->reg, user);
	int unreachable = known && known->carried;
	/* A certificate to sign again (below) needs the trip through Incus. */
	int running = known && strcmp(known->status, "Running") == 0 && known->host_cert != ACCT_HOST_CERT_MISSING &&
		      known->host_cert != ACCT_HOST_CERT_STALE;
	uint32_t known_ip = known ? account_ipv4(known) : 0;
	if (unreachable || running)
		inet_ntop(AF_INET, known->ipv4, ip, (socklen_t)iplen);
	pthread_mutex_unlock(&d->lock);
	if (unreachable) {
		*state = "unreachable";
		return INCUS_OK;
	}
	/* Running as last read, and its sshd accepts: nothing to wake, and
	 * no round trip through Incus on this login (on a cluster, one to
	 * the container's member, which may not answer). */
	if (running && known_ip && instance_port_open(known_ip, 22, 300)) {
		*state = "running";
		return INCUS_OK;
	}
	struct incus_client *c = helperd_client(d, err, errlen);
	if (!c)
		return INCUS_ERR_UNAVAILABLE;
	json_object *inst = NULL;
	struct account a;
	enum incus_status st = incus_get(c, path, &inst, NULL, err, errlen);
	if (st == INCUS_OK && account_from_instance(inst, &a, why, sizeof why) <= 0) {
		snprintf(err, errlen, "%s is not a Containarium container", iname);
		st = INCUS_ERR_NOT_FOUND;
	}
	json_object_put(inst);
	if (st != INCUS_OK) {
		incus_close(c);
		return st;
	}
	inet_ntop(AF_INET, a.ipv4, ip, (socklen_t)iplen);
	uint32_t want = account_ipv4(&a);
	*state = "running";
	if (strcmp(a.status, "Running") != 0) {
		*state = "started";
		log_notice("waking %s for an SSH session of %s", iname, user);
		/* The whole wake fits in pam_containarium's default 30 s budget. */
		st = instance_set_state(c, iname, "start", 0, 12, err, errlen);
		/* Two sessions waking one container: the second start fails
		 * because the first won; the wait below settles it. */
		if (st == INCUS_ERR_REQUEST)
			st = INCUS_OK;
	}
	if (st == INCUS_OK)
		st = instance_wait_ready(c, iname, want, 15, err, errlen);
	/* The address comes a moment before sshd in the container listens;
	 * a tunnel opened in between would be refused. */
	if (st == INCUS_OK)
		st = instance_wait_port(iname, want, 22, 10, err, errlen);
	/* Certificates from another CA or for another address (a rotation
	 * while it was stopped, a restored snapshot or backup) are signed
	 * again before sshd opens the user's tunnel.  A failure is logged;
	 * the login goes on (it may still work for users who kept the old
	 * CA). */
	if (st == INCUS_OK && (a.host_cert == ACCT_HOST_CERT_MISSING || a.host_cert == ACCT_HOST_CERT_STALE)) {
		char e2[1024];
		if (host_cert_renew(c, d, &a, e2, sizeof e2) != INCUS_OK)
			log_error("%s: cannot renew its SSH host certificate: %s", iname, e2);
		else if (helperd_refresh(d, c, e2, sizeof e2))
			log_error("publishing after renewing a host certificate: %s", e2);
	}
	if (st != INCUS_OK)
		*state = "stopped";
	account_free(&a);
	incus_close(c);
	return st;
}

void handle_session(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	json_object *b = req->body, *v;
	const char *event = b ? str_field(b, "event", 16) : NULL;
	const char *user = b ? str_field(b, "user", CTM_NAME_MAX) : NULL;
	const char *sid = b ? str_field(b, "session_id", 64) : NULL;
	const char *rhost = b ? str_field(b, "rhost", 255) : NULL;
	const char *service = b ? str_field(b, "service", 64) : NULL;
	char msg[256];
	if (!event || (strcmp(event, "open") && strcmp(event, "close")) || !user || !sid || !*sid ||
	    ctm_username_check(user, strlen(user), msg, sizeof msg) != CTM_NAME_OK) {
		api_error(resp, 400, "invalid_request",
			  "send {\"event\": \"open\"|\"close\", \"user\": NAME, "
			  "\"session_id\": ID, \"rhost\", \"service\", \"pid\", \"wake\"}");
		return;
	}
	int open = strcmp(event, "open") == 0;
	int want_wake = open && json_object_object_get_ex(b, "wake", &v) && json_object_get_boolean(v);
	time_t now = time(NULL);
	long duration = -1;
	if (open)
		sessions_open(sid, user, rhost, now);
	else
		duration = sessions_close(sid, user, now);

	const char *state = "unknown";
	char ip[INET_ADDRSTRLEN] = "", err[512] = "";
	enum incus_status st = INCUS_OK;
	if (want_wake)
		st = wake(d, user, &state, ip, sizeof ip, err, sizeof err);

	json_object *ev = json_object_new_object();
	json_object_object_add(ev, "event", json_object_new_string(open ? "session_open" : "session_close"));
	json_object_object_add(ev, "user", json_object_new_string(user));
	json_object_object_add(ev, "session_id", json_object_new_string(sid));
	if (rhost)
		json_object_object_add(ev, "rhost", json_object_new_string(rhost));
	if (service)
		json_object_object_add(ev, "service", json_object_new_string(service));
	if (json_object_object_get_ex(b, "pid", &v) && json_object_is_type(v, json_type_int))
		json_object_object_add(ev, "pid", json_object_new_int64(json_object_get_int64(v)));
	if (duration >= 0)
		json_object_object_add(ev, "duration_seconds", json_object_new_int64(duration));
	if (want_wake)
		json_object_object_add(ev, "container", json_object_new_string(state));
	char aerr[512];
	int logged = audit_write(d->cfg.audit_log, ev, aerr, sizeof aerr);
	json_object_put(ev);
	if (logged != 0) {
		log_error("%s", aerr);
		/* The message reaches the user's terminal: no paths or internals. */
		api_error(resp, 500, "audit_failed",
			  "the session could not be recorded; the administrator "
			  "will find why in helperd's log");
		return;
	}
	if (st != INCUS_OK) {
		answer_incus_error(d, resp, st, err);
		return;
	}
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "recorded", json_object_new_boolean(1));
	if (want_wake) {
		json_object_object_add(resp->body, "container", json_object_new_string(state));
		json_object_object_add(resp->body, "ipv4", json_object_new_string(ip));
	}
}

/* The filters every audit query takes: user, rhost, event, since, until. */
static int audit_params(const struct api_request *req, struct api_response *resp, struct audit_filter *f)
{
	char err[512];
	const char *user = api_query(req, "user"), *rhost = api_query(req, "rhost");
	if ((user && strlen(user) > 128) || (rhost && strlen(rhost) > 255)) {
		api_error(resp, 400, "invalid_request", "user and rhost are a name and an address");
		return -1;
	}
	if (audit_filter_set(f, user, rhost, api_query(req, "event"), api_query(req, "since"), api_query(req, "until"),
			     time(NULL), err, sizeof err)) {
		api_error(resp, 400, "invalid_request", "%s", err);
		return -1;
	}
	return 0;
}

void handle_audit(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	const char *lim = api_query(req, "limit");
	char *end = NULL;
	long limit = lim ? strtol(lim, &end, 10) : 100;
	if (lim && (!*lim || *end || limit < 1 || limit > 100000)) {
		api_error(resp, 400, "invalid_request", "limit must be a number from 1 to 100000");
		return;
	}
	struct audit_filter f;
	if (audit_params(req, resp, &f))
		return;
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "events", audit_read(d->cfg.audit_log, &f, (size_t)limit));
}

void handle_audit_summary(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	struct audit_filter f;
	if (audit_params(req, resp, &f))
		return;
	resp->body = audit_summary(d->cfg.audit_log, &f);
}

static void add_time(json_object *o, const char *key, time_t t)
{
	char when[32];
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(o, key, json_object_new_string(when));
}

/* As pam_containarium reported them since helperd started: a session
 * open across a restart of helperd is not known to the new one. */
void handle_sessions_list(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	const char *user = api_query(req, "user");
	size_t n;
	struct session_info *s = sessions_list(&n);
	time_t now = time(NULL);
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		if (user && strcmp(user, s[i].user))
			continue;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "user", json_object_new_string(s[i].user));
		json_object_object_add(o, "rhost", s[i].rhost[0] ? json_object_new_string(s[i].rhost) : NULL);
		add_time(o, "since", s[i].opened);
		json_object_object_add(o, "duration_seconds", json_object_new_int64((int64_t)(now - s[i].opened)));
		json_object_object_add(o, "session_id", json_object_new_string(s[i].id));
		json_object_array_add(list, o);
	}
	free(s);
	resp->body = json_object_new_object();
	json_object_object_add(resp->body, "sessions", list);
	add_time(resp->body, "helperd_started", d->started);
}

/* The watcher's idle stop (idle_stop_minutes > 0): running containers of
 * users with no open session and no activity for that long. */
void sessions_stop_idle(struct helperd *d)
{
	if (!d->cfg.idle_stop_minutes)
		return;
	time_t now = time(NULL), limit = (time_t)d->cfg.idle_stop_minutes * 60;
	char users[64][CTM_NAME_MAX + 1];
	size_t n = 0;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->reg.count && n < 64; i++) {
		const struct account *a = &d->reg.accounts[i];
		time_t last = sessions_last_activity(a->name);
		/* Never seen since helperd started: count from the start. */
		if (!last)
			last = d->started;
		if (strcmp(a->status, "Running") == 0 && a->state == CTM_STATE_ACTIVE && !sessions_count(a->name) &&
		    now - last >= limit)
			snprintf(users[n++], sizeof users[0], "%s", a->name);
	}
	pthread_mutex_unlock(&d->lock);
	for (size_t i = 0; i < n; i++) {
		char err[512], iname[64];
		helperd_instance_name(d, users[i], iname, sizeof iname);
		struct incus_client *c = helperd_client(d, err, sizeof err);
		if (!c)
			return;
		log_notice("stopping %s: no SSH session for %u minutes (idle_stop_minutes)", iname,
			   d->cfg.idle_stop_minutes);
		if (instance_set_state(c, iname, "stop", 0, 60, err, sizeof err) != INCUS_OK)
			log_warning("idle stop of %s failed: %s", iname, err);
		json_object *ev = json_object_new_object();
		json_object_object_add(ev, "event", json_object_new_string("idle_stop"));
		json_object_object_add(ev, "user", json_object_new_string(users[i]));
		audit_write(d->cfg.audit_log, ev, err, sizeof err);
		json_object_put(ev);
		incus_close(c);
	}
}
