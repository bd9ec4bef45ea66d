/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the audit log back: the file and its rotated copies as logrotate
 * leaves them (audit.log.N.gz ... audit.log.2.gz, audit.log.1, audit.log;
 * compressed or not, oldest first), one line at a time, through filters.
 * Memory is bounded by what is asked for (the last `limit` events; one row
 * per user for the summary), not by the size of the log. */
#ifndef CONTAINARIUM_HELPERD_AUDIT_QUERY_H
#define CONTAINARIUM_HELPERD_AUDIT_QUERY_H

#include <json-c/json.h>
#include <stddef.h>
#include <time.h>

/* Rotated copies looked for: audit.log.1 to audit.log.AUDIT_ROTATED_MAX. */
#define AUDIT_ROTATED_MAX 1000
/* Distinct users in one summary; more are counted in "others". */
#define AUDIT_SUMMARY_USERS_MAX 10000

struct audit_filter {
	const char *user;   /* NULL: any */
	const char *rhost;  /* NULL: any */
	const char *events; /* NULL: any; else names separated by ',' */
	char since[32];     /* "": none; else an event's "time" >= this */
	char until[32];     /* "": none; else an event's "time" <= this */
};

/* Fill f from the API's query values (each may be NULL); since and until
 * take what ctm_time_arg takes, resolved against now.  0, or -1 with a
 * sentence in err. */
int audit_filter_set(struct audit_filter *f, const char *user, const char *rhost, const char *events, const char *since,
		     const char *until, time_t now, char *err, size_t errlen);

/* Whether event (an object) passes f. */
int audit_filter_match(const struct audit_filter *f, json_object *event);

/* The last `limit` events that pass f, oldest first.  A new array. */
json_object *audit_read(const char *path, const struct audit_filter *f, size_t limit);

/* Per user among the events that pass f: sessions opened, the last
 * login's time and address, failed logins and the last one's time.
 * {"users": [...] sorted by name, "others": N}.  A new object. */
json_object *audit_summary(const char *path, const struct audit_filter *f);

#endif
