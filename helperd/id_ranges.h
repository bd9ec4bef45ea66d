/* SPDX-License-Identifier: Apache-2.0 */
/* Startup check that the jump accounts' ids cannot collide with anything
 * else on the host: a `files` user or group, or a subordinate id range in
 * /etc/subuid or /etc/subgid (Incus maps container ids into those).
 *
 * The files are parsed directly, never through NSS: helperd must not
 * resolve users through its own module, and only the local files are
 * authoritative here. */
#ifndef CONTAINARIUM_HELPERD_ID_RANGES_H
#define CONTAINARIUM_HELPERD_ID_RANGES_H

#include <stddef.h>
#include <stdint.h>

struct id_files {
	const char *passwd, *group, *subuid, *subgid; /* NULL: the /etc default */
};

/* 0 when [uid_min, uid_max] and gid (named group_name) are free; -1 with err
 * naming the file, line and entry that overlaps, and what to change. */
int id_ranges_check(const struct id_files *files, uint32_t uid_min, uint32_t uid_max, uint32_t gid,
		    const char *group_name, char *err, size_t errlen);

#endif
