/* SPDX-License-Identifier: Apache-2.0 */
/* helperd's published snapshots, watched for what others do to them.
 *
 * A deleted, truncated, replaced or edited passwd.db or keys.db, or one
 * whose mode or owner changed, makes every jump login fail (the NSS module
 * and the keys command refuse a file that is damaged or that others may
 * write) until helperd publishes again, which may be hours away when
 * nothing changes in Incus.  So helperd marks each file right after it
 * publishes it, compares at every poll (two stat calls), and on any
 * difference publishes again from the registry it holds (service.c:
 * helperd_repair_snapshots), without asking Incus, which may be the very
 * reason nothing was published.
 *
 * helperd is the files' only writer: any change it did not make is
 * repaired, even one that left a valid file (an old copy put back would
 * publish users that are gone).  The change time (ctime) is part of the
 * mark because nobody can set it: an edit that restores the size and the
 * modification time is still seen. */
#ifndef CONTAINARIUM_HELPERD_SNAPSHOT_GUARD_H
#define CONTAINARIUM_HELPERD_SNAPSHOT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct snapshot_mark {
	bool set;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
	mode_t mode; /* permission bits and type */
	uid_t uid;
	gid_t gid;
};

struct snapshot_marks {
	struct snapshot_mark passwd, keys;
};

/* Mark state_dir's passwd.db and keys.db as they are now (just published).
 * A file that cannot be stat'ed is left unmarked (and not checked). */
void snapshot_marks_take(struct snapshot_marks *m, const char *state_dir);

/* 0 when both marked files are as marked.  Otherwise 1, with what naming
 * the file and what happened to it, in words an admin reads in the log:
 * "keys.db was removed", "passwd.db has mode 0666 (published 0644)",
 * "keys.db was changed by another process: damaged (bad checksum)". */
int snapshot_marks_check(const struct snapshot_marks *m, const char *state_dir, char *what, size_t whatlen);

#endif
