/* SPDX-License-Identifier: Apache-2.0 */
/* session: tell helperd when one of our users' sessions opens and closes.
 * helperd records the event and, on open with wake, starts a stopped
 * container and answers once it runs.  Users who are not ours cost no IPC
 * at all.  Every wait is bounded (helperd_call.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helperd_call.h"
#include "pam_module.h"
#include "session_id.h"
#include "session_request.h"
#include "snapshot_format.h"
#include "user_lookup.h"

struct event_result {
	bool ok;          /* helperd answered 2xx */
	char reason[320]; /* why not, for the user and syslog */
	char detail[256]; /* more for syslog */
	char container[16], ipv4[16];
	int status;
	long ms;
};

static void describe(const struct pam_ctm_call *c, int budget_ms, struct event_result *r)
{
	char ebuf[128];
	const char *estr = c->err ? strerror_r(c->err, ebuf, sizeof ebuf) : "";
	const struct pam_ctm_answer *an = &c->answer;
	r->status = an->status;
	r->ms = c->elapsed_ms;
	r->ok = c->outcome == PAM_CTM_ANSWERED && an->status >= 200 && an->status <= 299;
	r->reason[0] = r->detail[0] = r->container[0] = r->ipv4[0] = '\0';
	if (c->outcome == PAM_CTM_ANSWERED && an->body) {
		pam_ctm_json_string(an->body, an->body_len, "container", r->container, sizeof r->container);
		pam_ctm_json_string(an->body, an->body_len, "ipv4", r->ipv4, sizeof r->ipv4);
	}
	if (r->ok)
		return;
	switch (c->outcome) {
	case PAM_CTM_ANSWERED: {
		char msg[200] = "", code[48] = "";
		if (an->body) {
			pam_ctm_json_string(an->body, an->body_len, "message", msg, sizeof msg);
			pam_ctm_json_string(an->body, an->body_len, "code", code, sizeof code);
		}
		snprintf(r->reason, sizeof r->reason, "helperd answered %d%s%s", an->status, *msg ? ": " : "", msg);
		snprintf(r->detail, sizeof r->detail, "error code %s", *code ? code : "(none)");
		break;
	}
	case PAM_CTM_TIMED_OUT:
		snprintf(r->reason, sizeof r->reason, "no answer from helperd within %d ms", budget_ms);
		snprintf(r->detail, sizeof r->detail, "timed out at %s", c->stage);
		break;
	case PAM_CTM_CONNECT_FAILED:
	case PAM_CTM_IO_FAILED:
		snprintf(r->reason, sizeof r->reason, "%s", pam_ctm_outcome_str(c->outcome));
		snprintf(r->detail, sizeof r->detail, "%s: %s", c->stage, estr);
		break;
	case PAM_CTM_MALFORMED:
		snprintf(r->reason, sizeof r->reason, "%s", pam_ctm_outcome_str(c->outcome));
		snprintf(r->detail, sizeof r->detail, "%zu bytes received", c->len);
		break;
	}
}

static void send_event(pam_handle_t *pamh, const struct pam_ctm_args *a, const char *event, const char *user,
		       const char *sid, bool wake, struct event_result *r)
{
	struct pam_ctm_event ev = {
		.event = event,
		.user = user,
		.rhost = pam_ctm_item(pamh, PAM_RHOST),
		.service = pam_ctm_item(pamh, PAM_SERVICE),
		.tty = pam_ctm_item(pamh, PAM_TTY),
		.pid = (long)getpid(),
		.session_id = sid,
		.wake = wake,
	};
	char req[PAM_CTM_REQUEST_MAX];
	size_t len = pam_ctm_format_request(&ev, req, sizeof req);
	if (len == 0) { /* cannot happen: every field is capped */
		*r = (struct event_result){ .ok = false };
		snprintf(r->reason, sizeof r->reason, "the event does not fit in a request");
		return;
	}
	int answer_ms = wake ? a->wake_timeout_ms : a->timeout_ms;
	struct pam_ctm_call call;
	pam_ctm_call_helperd(a->socket_path, req, len, a->timeout_ms, answer_ms, &call);
	bool answer_stage = call.outcome == PAM_CTM_TIMED_OUT && strcmp(call.stage, "answer") == 0;
	describe(&call, answer_stage ? (answer_ms > a->timeout_ms ? answer_ms : a->timeout_ms) : a->timeout_ms, r);
	if (a->debug)
		pam_syslog(pamh, LOG_DEBUG, "session %s for %s (%s, wake=%s): %s in %ld ms", event, user, sid,
			   wake ? "yes" : "no", r->ok ? "recorded" : r->reason, r->ms);
}

/* Ours, as far as the snapshot says; others are PAM_IGNORE'd by the caller. */
static bool is_ours(pam_handle_t *pamh, const struct pam_ctm_args *a, const char *user, struct pam_ctm_user *u)
{
	return user && pam_ctm_lookup_user(pamh, a, user, u) == PAM_CTM_OURS;
}

int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	int saved_errno = errno;
	struct pam_ctm_args a;
	pam_ctm_args_load(pamh, argc, argv, &a);
	const char *user = pam_ctm_user(pamh);
	struct pam_ctm_user u;
	if (!is_ours(pamh, &a, user, &u)) {
		errno = saved_errno;
		return PAM_IGNORE;
	}
	/* The account phase refuses suspended and unready users; should a
	 * stack skip it, their containers still must not be started. */
	bool wake = a.wake && u.state == CTM_STATE_ACTIVE;

	struct event_result r;
	char sid[PAM_CTM_SESSION_ID_LEN + 1];
	if (!pam_ctm_new_session_id(sid)) {
		r = (struct event_result){ .ok = false };
		snprintf(r.reason, sizeof r.reason, "no randomness for a session id");
		snprintf(r.detail, sizeof r.detail, "getrandom and /dev/urandom failed; nothing sent");
	} else {
		if (!pam_ctm_store_session_id(pamh, sid))
			pam_syslog(pamh, LOG_WARNING,
				   "cannot keep session id %s for %s: its close event "
				   "will carry another",
				   sid, user);
		send_event(pamh, &a, "open", user, sid, wake, &r);
	}

	int rc = PAM_SUCCESS;
	if (r.ok) {
		if (strcmp(r.container, "started") == 0)
			pam_syslog(pamh, LOG_INFO, "session open for %s: helperd started the container (%s) in %ld ms",
				   user, r.ipv4, r.ms);
	} else if (!a.fail_closed) {
		pam_syslog(pamh, LOG_WARNING, "session open for %s: %s (%s); fail=open: allowing the session", user,
			   r.reason, r.detail);
	} else {
		pam_syslog(pamh, LOG_ERR, "session open for %s: %s (%s); fail=closed: refusing the session", user,
			   r.reason, r.detail);
		if (!(flags & PAM_SILENT))
			pam_error(pamh,
				  "Containarium could not confirm your session (%s); try again or "
				  "contact your administrator",
				  r.reason);
		rc = PAM_SESSION_ERR;
	}
	errno = saved_errno;
	return rc;
}

int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	int saved_errno = errno;
	struct pam_ctm_args a;
	pam_ctm_args_load(pamh, argc, argv, &a);
	const char *user = pam_ctm_user(pamh);
	/* An id stored at open means the user was ours then: the close is
	 * sent even if the account went away meanwhile. */
	const char *stored = user ? pam_ctm_stored_session_id(pamh) : NULL;
	struct pam_ctm_user u;
	if (!stored && !is_ours(pamh, &a, user, &u)) {
		errno = saved_errno;
		return PAM_IGNORE;
	}
	char fresh[PAM_CTM_SESSION_ID_LEN + 1] = "";
	struct event_result r;
	if (!stored && !pam_ctm_new_session_id(fresh)) {
		pam_syslog(pamh, LOG_WARNING, "session close for %s: no randomness for a session id; not sent", user);
	} else {
		/* Never a wake, never longer than timeout_ms: logout must not wait. */
		send_event(pamh, &a, "close", user, stored ? stored : fresh, false, &r);
		if (!r.ok)
			pam_syslog(pamh, LOG_WARNING,
				   "session close for %s: %s (%s); the end of the session "
				   "is not recorded",
				   user, r.reason, r.detail);
	}
	errno = saved_errno;
	return PAM_SUCCESS;
}
