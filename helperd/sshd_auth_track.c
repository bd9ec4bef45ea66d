/* SPDX-License-Identifier: Apache-2.0 */
#include "sshd_auth_track.h"

#include <stdio.h>
#include <string.h>

void sshd_auth_track_init(struct sshd_auth_track *t)
{
	memset(t, 0, sizeof *t);
}

static long find(const struct sshd_auth_track *t, const char *rhost, unsigned port)
{
	for (unsigned i = 0; i < t->count; i++)
		if (t->pending[i].f.port == port && strcmp(t->pending[i].f.rhost, rhost) == 0)
			return i;
	return -1;
}

static void finish(struct sshd_auth_pending *p)
{
	struct sshd_auth_failure *f = &p->f;
	if (p->too_many)
		snprintf(f->reason, sizeof f->reason, "max_auth_tries");
	else if (f->invalid_user)
		snprintf(f->reason, sizeof f->reason, "invalid_user");
	else if (!f->reason[0])
		snprintf(f->reason, sizeof f->reason, "closed_during_auth");
}

/* Report pending[i] and drop it (order does not matter: swap with the last). */
static void emit_at(struct sshd_auth_track *t, unsigned i, sshd_auth_emit_fn emit, void *ctx)
{
	struct sshd_auth_pending p = t->pending[i];
	t->pending[i] = t->pending[--t->count];
	if (!p.f.user[0])
		return; /* never named a user: a scanner, not a login */
	finish(&p);
	emit(&p.f, ctx);
}

static struct sshd_auth_pending *add(struct sshd_auth_track *t, const struct sshd_auth_line *l, time_t now,
				     sshd_auth_emit_fn emit, void *ctx)
{
	if (t->count == SSHD_AUTH_TRACK_MAX) {
		unsigned oldest = 0;
		for (unsigned i = 1; i < t->count; i++)
			if (t->pending[i].seen < t->pending[oldest].seen)
				oldest = i;
		emit_at(t, oldest, emit, ctx);
	}
	struct sshd_auth_pending *p = &t->pending[t->count++];
	memset(p, 0, sizeof *p);
	memcpy(p->f.rhost, l->rhost, sizeof p->f.rhost);
	p->f.port = l->port;
	p->seen = now;
	return p;
}

void sshd_auth_track_line(struct sshd_auth_track *t, const struct sshd_auth_line *l, time_t now, sshd_auth_emit_fn emit,
			  void *ctx)
{
	long i = l->kind == SSHD_AUTH_NONE ? -1 : find(t, l->rhost, l->port);
	struct sshd_auth_pending *p = i >= 0 ? &t->pending[i] : NULL;
	switch (l->kind) {
	case SSHD_AUTH_NONE: return;
	case SSHD_AUTH_ACCEPTED:
		if (i >= 0)
			t->pending[i] = t->pending[--t->count];
		return;
	case SSHD_AUTH_FAILED:
	case SSHD_AUTH_INVALID:
		if (!p)
			p = add(t, l, now, emit, ctx);
		break;
	case SSHD_AUTH_END:
		/* Only an ending: sshd logged nothing else at its level. */
		if (!p && !l->user[0])
			return;
		if (!p)
			p = add(t, l, now, emit, ctx);
		break;
	}
	p->seen = now;
	if (l->user[0] && !p->f.user[0])
		memcpy(p->f.user, l->user, sizeof p->f.user);
	p->f.invalid_user |= l->invalid_user;
	p->too_many |= l->too_many;
	/* "Failed none" is the client asking which methods there are. */
	if (l->kind == SSHD_AUTH_FAILED && !l->too_many && strcmp(l->method, "none") != 0) {
		p->f.attempts++;
		snprintf(p->f.reason, sizeof p->f.reason, "%s", l->method);
	}
	if (l->kind == SSHD_AUTH_END)
		emit_at(t, (unsigned)(p - t->pending), emit, ctx);
}

void sshd_auth_track_expire(struct sshd_auth_track *t, time_t now, time_t max_age, sshd_auth_emit_fn emit, void *ctx)
{
	for (unsigned i = t->count; i-- > 0;)
		if (!max_age || now - t->pending[i].seen > max_age)
			emit_at(t, i, emit, ctx);
}
