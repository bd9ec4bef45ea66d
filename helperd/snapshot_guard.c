/* SPDX-License-Identifier: Apache-2.0 */
/* Marks of the published snapshots, and the check against them
 * (snapshot_guard.h says why). */
#include "snapshot_guard.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "snapshot_reader.h"

static void mark(struct snapshot_mark *k, const char *path)
{
	struct stat st;
	memset(k, 0, sizeof *k);
	if (stat(path, &st) != 0)
		return;
	k->set = true;
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->size = st.st_size;
	k->mtim = st.st_mtim;
	k->ctim = st.st_ctim;
	k->mode = st.st_mode;
	k->uid = st.st_uid;
	k->gid = st.st_gid;
}

void snapshot_marks_take(struct snapshot_marks *m, const char *state_dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/passwd.db", state_dir);
	mark(&m->passwd, path);
	snprintf(path, sizeof path, "%s/keys.db", state_dir);
	mark(&m->keys, path);
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Whether path is a whole, valid snapshot now (CTM_OK), or why not. */
static int valid_snapshot(const char *path, enum ctm_db_kind kind)
{
	struct ctm_db db;
	int r = ctm_db_open(&db, path, kind);
	if (r == CTM_OK) {
		r = ctm_db_verify(&db);
		ctm_db_close(&db);
	}
	return r;
}

/* 1 with what saying what is wrong with the file now, compared with k;
 * 0 if nothing.  The content is read only when the file itself changed,
 * to say whether what is there now is still a valid snapshot. */
static int check_one(const struct snapshot_mark *k, const char *dir, const char *name, enum ctm_db_kind kind,
		     char *what, size_t whatlen)
{
	if (!k->set)
		return 0;
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			snprintf(what, whatlen, "%s was removed", name);
		else
			snprintf(what, whatlen, "%s cannot be read: %s", name, strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(what, whatlen, "%s is no longer a regular file", name);
		return 1;
	}
	bool changed =
		st.st_dev != k->dev || st.st_ino != k->ino || st.st_size != k->size || !same_time(st.st_mtim, k->mtim);
	if (changed) {
		int r = valid_snapshot(path, kind);
		if (st.st_size < k->size && r != CTM_OK)
			snprintf(what, whatlen, "%s was truncated (%lld bytes, published %lld): %s", name,
				 (long long)st.st_size, (long long)k->size, ctm_status_str(r));
		else if (r != CTM_OK)
			snprintf(what, whatlen, "%s was changed by another process: %s", name, ctm_status_str(r));
		else
			snprintf(what, whatlen,
				 "%s was replaced or rewritten by another process (a valid snapshot, "
				 "but not the one published)",
				 name);
		return 1;
	}
	if ((st.st_mode & 07777) != (k->mode & 07777)) {
		snprintf(what, whatlen, "%s has mode %04o (published %04o)", name, (unsigned)(st.st_mode & 07777),
			 (unsigned)(k->mode & 07777));
		return 1;
	}
	if (st.st_uid != k->uid || st.st_gid != k->gid) {
		snprintf(what, whatlen, "%s has owner %u:%u (published %u:%u)", name, (unsigned)st.st_uid,
			 (unsigned)st.st_gid, (unsigned)k->uid, (unsigned)k->gid);
		return 1;
	}
	/* The same size, time, mode and owner, but a write or a touch since:
	 * only ctime shows it. */
	if (!same_time(st.st_ctim, k->ctim)) {
		int r = valid_snapshot(path, kind);
		snprintf(what, whatlen, "%s was changed by another process (%s)", name,
			 r == CTM_OK ? "still a valid snapshot" : ctm_status_str(r));
		return 1;
	}
	return 0;
}

int snapshot_marks_check(const struct snapshot_marks *m, const char *state_dir, char *what, size_t whatlen)
{
	if (check_one(&m->passwd, state_dir, "passwd.db", CTM_DB_PASSWD, what, whatlen))
		return 1;
	return check_one(&m->keys, state_dir, "keys.db", CTM_DB_KEYS, what, whatlen);
}
