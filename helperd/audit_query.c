/* SPDX-License-Identifier: Apache-2.0 */
#include "audit_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "time_arg.h"

/* Audit lines are a few hundred bytes; a longer one is not ours. */
#define LINE_MAX_BYTES 65536

/* The format audit_write gives "time": fixed width, so that comparing
 * strings compares times. */
static void stamp(time_t t, const char *frac, char *out, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, len - n, "%s", frac);
}

static int name_list_ok(const char *s)
{
	if (!*s || strlen(s) > 256)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_' || *p == ','))
			return 0;
	return 1;
}

int audit_filter_set(struct audit_filter *f, const char *user, const char *rhost, const char *events, const char *since,
		     const char *until, time_t now, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	f->user = user && *user ? user : NULL;
	f->rhost = rhost && *rhost ? rhost : NULL;
	if (events && *events && !name_list_ok(events)) {
		snprintf(err, errlen,
			 "event must be event names separated by commas, such as login_failed or "
			 "session_open,session_close");
		return -1;
	}
	f->events = events && *events ? events : NULL;
	time_t t;
	const char *bound[2] = { since, until };
	char *out[2] = { f->since, f->until };
	for (int i = 0; i < 2; i++) {
		if (!bound[i] || !*bound[i])
			continue;
		if (ctm_time_arg(bound[i], now, &t) != 0) {
			snprintf(err, errlen,
				 "%s \"%.40s\" is not a time: write it in RFC 3339 "
				 "(2026-12-03T12:00:00Z, or with an offset such as +01:00), as a date (2026-12-03), "
				 "or as a time before now (90s, 30m, 1h, 7d, 2w)",
				 i ? "until" : "since", bound[i]);
			return -1;
		}
		stamp(t, i ? ".999Z" : ".000Z", out[i], sizeof f->since);
	}
	return 0;
}

static const char *field(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);
		if (l == n && memcmp(p, name, n) == 0)
			return 1;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

int audit_filter_match(const struct audit_filter *f, json_object *ev)
{
	const char *v;
	if (f->user && (!(v = field(ev, "user")) || strcmp(v, f->user)))
		return 0;
	if (f->rhost && (!(v = field(ev, "rhost")) || strcmp(v, f->rhost)))
		return 0;
	if (f->events && (!(v = field(ev, "event")) || !in_list(f->events, v)))
		return 0;
	if (f->since[0] && (!(v = field(ev, "time")) || strcmp(v, f->since) < 0))
		return 0;
	if (f->until[0] && (!(v = field(ev, "time")) || strcmp(v, f->until) > 0))
		return 0;
	return 1;
}

typedef void (*event_fn)(json_object *ev, void *ctx);

/* Whether value, if it is in an event, is in its line as is (JSON escapes
 * none of these characters), so a line without it can be skipped unparsed. */
static int verbatim(const char *value)
{
	return value && value[0] &&
	       strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") == strlen(value);
}

/* One file, plain or gzip (zlib reads both). */
static void scan_file(const char *path, const struct audit_filter *f, char *line, event_fn fn, void *ctx)
{
	gzFile z = gzopen(path, "rb");
	if (!z)
		return;
	while (gzgets(z, line, LINE_MAX_BYTES)) {
		size_t n = strlen(line);
		if (n == LINE_MAX_BYTES - 1 && line[n - 1] != '\n') {
			/* Over-long: skip to its end. */
			while (gzgets(z, line, LINE_MAX_BYTES) && line[strlen(line) - 1] != '\n')
				;
			continue;
		}
		/* The filters' fields appear verbatim in a line that passes:
		 * skip parsing the others. */
		if ((verbatim(f->user) && !strstr(line, f->user)) || (verbatim(f->rhost) && !strstr(line, f->rhost)))
			continue;
		json_object *ev = json_tokener_parse(line);
		if (ev && json_object_is_type(ev, json_type_object) && audit_filter_match(f, ev))
			fn(ev, ctx);
		json_object_put(ev);
	}
	gzclose(z);
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Every file of the log, oldest first. */
static void scan(const char *path, const struct audit_filter *f, event_fn fn, void *ctx)
{
	char *line = malloc(LINE_MAX_BYTES);
	if (!line)
		return;
	char name[600];
	int oldest = 0;
	for (int i = 1; i <= AUDIT_ROTATED_MAX; i++) {
		snprintf(name, sizeof name, "%s.%d", path, i);
		int plain = exists(name);
		snprintf(name, sizeof name, "%s.%d.gz", path, i);
		if (!plain && !exists(name))
			break;
		oldest = i;
	}
	for (int i = oldest; i >= 1; i--) {
		snprintf(name, sizeof name, "%s.%d", path, i);
		if (!exists(name))
			snprintf(name, sizeof name, "%s.%d.gz", path, i);
		scan_file(name, f, line, fn, ctx);
	}
	scan_file(path, f, line, fn, ctx);
	free(line);
}

struct ring {
	json_object **ev;
	size_t cap, next, count;
};

static void keep_last(json_object *ev, void *ctx)
{
	struct ring *r = ctx;
	json_object_put(r->ev[r->next]);
	r->ev[r->next] = json_object_get(ev);
	r->next = (r->next + 1) % r->cap;
	if (r->count < r->cap)
		r->count++;
}

json_object *audit_read(const char *path, const struct audit_filter *f, size_t limit)
{
	json_object *out = json_object_new_array();
	struct ring r = { calloc(limit ? limit : 1, sizeof(json_object *)), limit ? limit : 1, 0, 0 };
	if (!r.ev)
		return out;
	scan(path, f, keep_last, &r);
	size_t first = (r.next + r.cap - r.count) % r.cap;
	for (size_t i = 0; i < r.count; i++)
		json_object_array_add(out, r.ev[(first + i) % r.cap]);
	free(r.ev);
	return out;
}

struct user_row {
	char *name;
	unsigned long sessions, failed;
	char last_login[32], last_rhost[64], last_failed[32], last_failed_rhost[64];
};

struct summary {
	struct user_row *rows;
	size_t count, cap;
	unsigned long others; /* events of users beyond AUDIT_SUMMARY_USERS_MAX */
	/* Open addressing over rows by name: index+1, 0 = empty. */
	unsigned *slots;
	size_t nslots;
};

static unsigned long hash(const char *s)
{
	unsigned long h = 1469598103934665603UL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211UL;
	return h;
}

static struct user_row *row_for(struct summary *s, const char *name)
{
	size_t i = hash(name) & (s->nslots - 1);
	for (; s->slots[i]; i = (i + 1) & (s->nslots - 1))
		if (strcmp(s->rows[s->slots[i] - 1].name, name) == 0)
			return &s->rows[s->slots[i] - 1];
	if (s->count == AUDIT_SUMMARY_USERS_MAX)
		return NULL;
	if (s->count == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		struct user_row *r = realloc(s->rows, nc * sizeof *r);
		if (!r)
			return NULL;
		s->rows = r;
		s->cap = nc;
	}
	struct user_row *row = &s->rows[s->count];
	memset(row, 0, sizeof *row);
	if (!(row->name = strdup(name)))
		return NULL;
	s->slots[i] = (unsigned)++s->count;
	return row;
}

static void count_event(json_object *ev, void *ctx)
{
	struct summary *s = ctx;
	const char *user = field(ev, "user"), *event = field(ev, "event"), *when = field(ev, "time"),
		   *rhost = field(ev, "rhost");
	if (!user || !event)
		return;
	int open = strcmp(event, "session_open") == 0, failed = strcmp(event, "login_failed") == 0;
	if (!open && !failed)
		return;
	struct user_row *row = row_for(s, user);
	if (!row) {
		s->others++;
		return;
	}
	/* Events come oldest first: the last one seen is the latest. */
	if (open) {
		row->sessions++;
		snprintf(row->last_login, sizeof row->last_login, "%s", when ? when : "");
		snprintf(row->last_rhost, sizeof row->last_rhost, "%s", rhost ? rhost : "");
	} else {
		row->failed++;
		snprintf(row->last_failed, sizeof row->last_failed, "%s", when ? when : "");
		snprintf(row->last_failed_rhost, sizeof row->last_failed_rhost, "%s", rhost ? rhost : "");
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct user_row *)a)->name, ((const struct user_row *)b)->name);
}

static void add_opt(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, value[0] ? json_object_new_string(value) : NULL);
}

json_object *audit_summary(const char *path, const struct audit_filter *f)
{
	struct summary s = { .nslots = 16384 }; /* a power of two above AUDIT_SUMMARY_USERS_MAX */
	s.slots = calloc(s.nslots, sizeof *s.slots);
	json_object *out = json_object_new_object(), *users = json_object_new_array();
	if (s.slots)
		scan(path, f, count_event, &s);
	if (s.count)
		qsort(s.rows, s.count, sizeof *s.rows, by_name);
	for (size_t i = 0; i < s.count; i++) {
		struct user_row *r = &s.rows[i];
		json_object *u = json_object_new_object();
		json_object_object_add(u, "user", json_object_new_string(r->name));
		json_object_object_add(u, "sessions", json_object_new_int64((int64_t)r->sessions));
		add_opt(u, "last_login", r->last_login);
		add_opt(u, "last_rhost", r->last_rhost);
		json_object_object_add(u, "failed_logins", json_object_new_int64((int64_t)r->failed));
		add_opt(u, "last_failed", r->last_failed);
		add_opt(u, "last_failed_rhost", r->last_failed_rhost);
		json_object_array_add(users, u);
		free(r->name);
	}
	free(s.rows);
	free(s.slots);
	json_object_object_add(out, "users", users);
	json_object_object_add(out, "others", json_object_new_int64((int64_t)s.others));
	return out;
}
