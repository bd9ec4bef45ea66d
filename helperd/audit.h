/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log: one JSON object per line, appended, for every SSH session
 * (open and close, with duration) and every change made through the API.
 *
 * Durability: each line is written with one write(2) on an O_APPEND file
 * and fdatasync'ed before the API answers, so an event the caller saw
 * acknowledged survives a crash.  Rotation: the path is stat'ed before each
 * write and reopened when logrotate has moved it (no signal needed; a
 * "copytruncate" rotation works too). */
#ifndef CONTAINARIUM_HELPERD_AUDIT_H
#define CONTAINARIUM_HELPERD_AUDIT_H

#include <json-c/json.h>
#include <stddef.h>

/* Append event (an object; "time" is added) to path.  0, or -1 with err. */
int audit_write(const char *path, json_object *event, char *err, size_t errlen);

/* Reading it back, rotated copies included: audit_query.h. */

#endif
