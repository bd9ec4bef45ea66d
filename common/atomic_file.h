/* SPDX-License-Identifier: Apache-2.0 */
/* Replacing a file atomically: a temporary file in the same directory
 * (created 0600, so nobody reads it half-written), its owner and mode set,
 * fsync, rename over the target, fsync of the directory.  A reader sees the
 * old file or the new one, whole, and after a crash the new one is either
 * there or not at all.  Used for the snapshots (two files staged together,
 * renamed in a set order), helperd's state files, the CLI's export --output
 * and its certificate files.  libc only.
 *
 * On failure the target is untouched, no temporary file remains, err holds
 * a sentence naming the path, and errno is the cause's. */
#ifndef CONTAINARIUM_ATOMIC_FILE_H
#define CONTAINARIUM_ATOMIC_FILE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Replace path with data[0..len): mode, group gid ((gid_t)-1: the caller's). */
int ctm_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, gid_t gid, char *err,
			  size_t errlen);

/* The same in steps, for writers of several files that want every file
 * written (and flushed) before any is renamed. */
struct ctm_staged {
	char tmp[PATH_MAX]; /* "PATH.tmp.XXXXXX"; "" when there is none */
	const char *path;
	int fd;           /* open between ctm_stage_write and ctm_stage_sync, else -1 */
	int create_errno; /* after ctm_stage_write failed: why the temporary file could
			       * not be created, or 0 when it was (and a later step failed) */
};
#define CTM_STAGED_INIT                                                                                                \
	{                                                                                                              \
		.tmp = "", .path = NULL, .fd = -1, .create_errno = 0                                                   \
	}

/* Create the temporary file next to path and write data (owner, mode);
 * it stays open for ctm_stage_sync.  0, or -1. */
int ctm_stage_write(struct ctm_staged *st, const char *path, const void *data, size_t len, mode_t mode, gid_t gid,
		    char *err, size_t errlen);
/* fsync and close it.  0, or -1 (the temporary file is removed). */
int ctm_stage_sync(struct ctm_staged *st, char *err, size_t errlen);
/* Rename it over its target.  0, or -1 (removed). */
int ctm_stage_commit(struct ctm_staged *st, char *err, size_t errlen);
/* Close and remove whatever is still staged (nothing after a commit). */
void ctm_stage_abort(struct ctm_staged *st);

/* The directory part of path ("." for a bare name, "/" for "/x"): 0, or
 * -1 when it does not fit in cap. */
int ctm_dir_of(const char *path, char *dir, size_t cap);
/* fsync the directory that holds path, which makes a rename in it durable. */
int ctm_sync_dir_of(const char *path, char *err, size_t errlen);

#endif
