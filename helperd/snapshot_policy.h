/* SPDX-License-Identifier: Apache-2.0 */
/* What a person may write for a container's snapshots, checked before
 * anything reaches Incus: the schedule and expiry Incus keeps per instance
 * (snapshots.schedule, snapshots.expiry: Incus takes and expires the
 * scheduled snapshots itself, so they go on while helperd is down), and
 * snapshot names.  Each check is 0, or -1 with a sentence in msg. */
#ifndef CONTAINARIUM_HELPERD_SNAPSHOT_POLICY_H
#define CONTAINARIUM_HELPERD_SNAPSHOT_POLICY_H

#include <json-c/json.h>
#include <stddef.h>

struct helperd;

#define SNAP_SCHEDULE_MAX 127
#define SNAP_EXPIRY_MAX 63
#define SNAP_NAME_MAX 63

/* A cron line of five fields ("0 3 * * *"), or a comma-separated list of
 * @hourly, @daily, @midnight, @weekly, @monthly, @annually, @yearly; ""
 * turns scheduled snapshots off. */
int snapshot_schedule_check(const char *s, char *msg, size_t msglen);

/* Incus's duration: "7d", "1w 2d", "12H", units M (minutes), H, d, w,
 * m (months), y; "" keeps snapshots until deleted. */
int snapshot_expiry_check(const char *s, char *msg, size_t msglen);

/* A snapshot name: 1-63 of [A-Za-z0-9._-], not starting with '.' or '-'
 * (it goes into Incus paths as it is). */
int snapshot_name_check(const char *s, char *msg, size_t msglen);

/* "snapshot_schedule" and "snapshot_expiry" of a create body, checked,
 * or helperd.conf's defaults when absent.  0, or -1 with msg. */
int snapshot_fields_parse(const struct helperd *d, json_object *body, char *schedule, size_t slen, char *expiry,
			  size_t elen, char *msg, size_t msglen);

/* The two Incus config keys into cfg ("" turns them off: Incus takes an
 * empty value as unset). */
void snapshot_policy_to_config(json_object *cfg, const char *schedule, const char *expiry);

#endif
