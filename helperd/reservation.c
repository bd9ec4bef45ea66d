/* SPDX-License-Identifier: Apache-2.0 */
#include "reservation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helperd_log.h"

#define PREFIX_UID "ctm-uid-"
#define PREFIX_IPV4 "ctm-ipv4-"

void reservation_uid_name(uint32_t uid, char *buf, size_t len)
{
	snprintf(buf, len, PREFIX_UID "%u", uid);
}

void reservation_ipv4_name(uint32_t ip, char *buf, size_t len)
{
	/* Dashes, not dots: a profile name is also a path segment. */
	snprintf(buf, len, PREFIX_IPV4 "%u-%u-%u-%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

enum incus_status reservation_claim(struct incus_client *c, const char *name, const char *user, const char *host_id,
				    char *err, size_t errlen)
{
	char desc[512], now[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
	const char *what = strncmp(name, PREFIX_UID, strlen(PREFIX_UID)) == 0 ? "uid" : "address";
	const char *value =
		name + strlen(strncmp(name, PREFIX_UID, strlen(PREFIX_UID)) == 0 ? PREFIX_UID : PREFIX_IPV4);
	snprintf(desc, sizeof desc, "containarium: %s %s for %s by %s at %s", what, value, user, host_id, now);
	json_object *b = json_object_new_object();
	json_object_object_add(b, "name", json_object_new_string(name));
	json_object_object_add(b, "description", json_object_new_string(desc));
	enum incus_status s = incus_call(c, "POST", "/1.0/profiles", b, NULL, 30, NULL, err, errlen);
	json_object_put(b);
	/* Incus answers a name that exists with 500 "... The profile already
	 * exists" (LXD 5.0: "... already exists"), or with the database's
	 * UNIQUE constraint when two inserts raced. */
	if (s != INCUS_OK && s != INCUS_ERR_UNAVAILABLE && (strstr(err, "already exists") || strstr(err, "UNIQUE")))
		return INCUS_ERR_CONFLICT;
	return s;
}

enum incus_status reservation_release(struct incus_client *c, const char *name, char *err, size_t errlen)
{
	char path[128];
	snprintf(path, sizeof path, "/1.0/profiles/%s", name);
	enum incus_status s = incus_call(c, "DELETE", path, NULL, NULL, 30, NULL, err, errlen);
	return s == INCUS_ERR_NOT_FOUND ? INCUS_OK : s;
}

/* The time at the end of a reservation's description; 0 when it has none. */
static time_t reserved_at(const char *desc)
{
	const char *at = desc ? strstr(desc, " at ") : NULL;
	struct tm tm = { 0 };
	if (!at || !strptime(at + 4, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 0;
	return timegm(&tm);
}

int reservation_reap(struct incus_client *c, long max_age_s, char *err, size_t errlen)
{
	json_object *list = NULL;
	if (incus_get(c, "/1.0/profiles?recursion=1", &list, NULL, err, errlen) != INCUS_OK)
		return -1;
	int removed = 0;
	time_t now = time(NULL);
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(list, i), *v = NULL, *used = NULL;
		const char *name = json_object_object_get_ex(p, "name", &v) ? json_object_get_string(v) : NULL;
		if (!name || (strncmp(name, PREFIX_UID, strlen(PREFIX_UID)) != 0 &&
			      strncmp(name, PREFIX_IPV4, strlen(PREFIX_IPV4)) != 0))
			continue;
		if (json_object_object_get_ex(p, "used_by", &used) && json_object_is_type(used, json_type_array) &&
		    json_object_array_length(used) > 0)
			continue;
		const char *desc = json_object_object_get_ex(p, "description", &v) ? json_object_get_string(v) : NULL;
		time_t at = reserved_at(desc);
		if (!desc || strncmp(desc, "containarium: ", 14) != 0 || (at && now - at < max_age_s))
			continue; /* not ours to judge, or a create may still hold it */
		char e2[512];
		if (reservation_release(c, name, e2, sizeof e2) == INCUS_OK) {
			log_notice("removed reservation %s: no container holds it (%s)", name, desc);
			removed++;
		} else {
			log_warning("could not remove the unused reservation %s: %s", name, e2);
		}
	}
	json_object_put(list);
	return removed;
}
