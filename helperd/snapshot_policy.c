/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot_policy.h"

#include <stdio.h>
#include <string.h>

#include "service.h"

static const char cron_chars[] = "0123456789*/,-";

/* One cron field: digits, '*', '/', ',', '-' (names such as MON are not
 * taken: Incus's parser and LXD's agree on numbers, not on every alias). */
static int cron_field(const char *f, size_t len)
{
	return len > 0 && strspn(f, cron_chars) >= len;
}

int snapshot_schedule_check(const char *s, char *msg, size_t msglen)
{
	static const char *const aliases[] = { "@hourly",  "@daily",    "@midnight", "@weekly",
					       "@monthly", "@annually", "@yearly",   NULL };
	size_t len = strlen(s);
	if (len == 0)
		return 0;
	if (len > SNAP_SCHEDULE_MAX)
		goto bad;
	if (s[0] == '@') {
		/* "@daily" or "@daily,@weekly" */
		for (const char *p = s; *p;) {
			size_t n = strcspn(p, ",");
			int known = 0;
			for (const char *const *a = aliases; *a; a++)
				known |= strlen(*a) == n && strncmp(*a, p, n) == 0;
			if (!known)
				goto bad;
			p += n;
			if (*p == ',' && !*++p)
				goto bad;
		}
		return 0;
	}
	int fields = 0;
	for (const char *p = s; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		size_t n = strcspn(p, " ");
		if (!cron_field(p, n) || ++fields > 5)
			goto bad;
		p += n;
	}
	if (fields == 5)
		return 0;
bad:
	snprintf(msg, msglen,
		 "snapshot schedule \"%.40s%s\" is not a cron line of five fields (minute hour "
		 "day-of-month month day-of-week, such as \"0 3 * * *\") or @hourly, @daily, @weekly, @monthly",
		 s, len > 40 ? "..." : "");
	return -1;
}

int snapshot_expiry_check(const char *s, char *msg, size_t msglen)
{
	size_t len = strlen(s);
	if (len == 0)
		return 0;
	if (len <= SNAP_EXPIRY_MAX)
		for (const char *p = s;;) {
			size_t digits = strspn(p, "0123456789");
			if (digits == 0 || digits > 6 || !p[digits] || !strchr("MHdwmy", p[digits]))
				break;
			p += digits + 1;
			if (!*p)
				return 0;
			if (*p != ' ')
				break;
			p++;
		}
	snprintf(msg, msglen,
		 "snapshot expiry \"%.40s%s\" is not a duration such as 7d, 2w or \"1w 3d\" "
		 "(units: M minutes, H hours, d days, w weeks, m months, y years)",
		 s, len > 40 ? "..." : "");
	return -1;
}

int snapshot_name_check(const char *s, char *msg, size_t msglen)
{
	size_t len = strlen(s);
	if (len == 0 || len > SNAP_NAME_MAX || s[0] == '.' || s[0] == '-' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len) {
		snprintf(msg, msglen,
			 "snapshot name \"%.40s%s\" must be 1 to %d letters, digits, '.', '_' or '-', "
			 "not starting with '.' or '-'",
			 s, len > 40 ? "..." : "", SNAP_NAME_MAX);
		return -1;
	}
	return 0;
}

/* One of the two fields: absent -> def; present -> a string that passes check. */
static int field(json_object *body, const char *key, const char *def, int (*check)(const char *, char *, size_t),
		 char *out, size_t outlen, char *msg, size_t msglen)
{
	json_object *v;
	const char *s = def;
	if (body && json_object_object_get_ex(body, key, &v)) {
		if (!json_object_is_type(v, json_type_string)) {
			snprintf(msg, msglen, "\"%s\" must be a string (\"\" turns it off)", key);
			return -1;
		}
		s = json_object_get_string(v);
	}
	if (check(s, msg, msglen))
		return -1;
	snprintf(out, outlen, "%s", s);
	return 0;
}

int snapshot_fields_parse(const struct helperd *d, json_object *body, char *schedule, size_t slen, char *expiry,
			  size_t elen, char *msg, size_t msglen)
{
	return field(body, "snapshot_schedule", d->cfg.snapshot_schedule, snapshot_schedule_check, schedule, slen, msg,
		     msglen) || field(body, "snapshot_expiry", d->cfg.snapshot_expiry, snapshot_expiry_check, expiry,
				      elen, msg, msglen)
		       ? -1
		       : 0;
}

void snapshot_policy_to_config(json_object *cfg, const char *schedule, const char *expiry)
{
	if (schedule)
		json_object_object_add(cfg, "snapshots.schedule", json_object_new_string(schedule));
	if (expiry)
		json_object_object_add(cfg, "snapshots.expiry", json_object_new_string(expiry));
}
