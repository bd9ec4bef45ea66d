/* SPDX-License-Identifier: Apache-2.0 */
/* Read-only, bounds-checked access to passwd.db and keys.db.
 *
 * Used by the NSS module and the AuthorizedKeysCommand, so it depends on
 * libc only, never allocates, and is safe to call from several threads on
 * one struct ctm_db (all lookups are const).  Every pointer handed out
 * points into the read-only mapping and is valid until ctm_db_close(). */
#ifndef CONTAINARIUM_SNAPSHOT_READER_H
#define CONTAINARIUM_SNAPSHOT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum ctm_status {
	CTM_OK = 0,
	CTM_NOTFOUND = 1,    /* valid snapshot, no such entry */
	CTM_ERR_MISSING = 2, /* the file does not exist */
	CTM_ERR_CORRUPT = 3, /* the file fails a format or checksum check */
	CTM_ERR_IO = 4,      /* open/stat/mmap failed for another reason */
	CTM_ERR_UNSAFE = 5,  /* owned by someone else, or writable by others */
};

/* A short English phrase for a status, for logs and error messages. */
const char *ctm_status_str(int status);

enum ctm_db_kind { CTM_DB_PASSWD = 1, CTM_DB_KEYS = 2 };

struct ctm_db {
	const unsigned char *map;
	size_t size;
	bool mapped; /* map came from mmap (else from memory) */
	enum ctm_db_kind kind;
	/* identity of the mapped file, to notice a replacement */
	dev_t dev;
	ino_t ino;
	off_t st_size;
	struct timespec mtim;
	/* header, validated */
	uint64_t generation;
	uint32_t count;
	uint32_t name_index, name_slots;
	uint32_t id_index, id_slots;
	uint32_t order;
	uint32_t records, records_end;
	uint32_t gid, uid_min, uid_max;
	const char *group_name;
};

struct ctm_user {
	const char *name, *gecos, *home, *shell;
	size_t name_len, gecos_len, home_len, shell_len;
	uint32_t uid, gid, state;
};

struct ctm_keys {
	const char *name;
	uint32_t state, uid;
	unsigned char ipv4[4];
	uint32_t key_count;
	const char *keys;     /* key_count NUL-terminated lines, back to back */
	const char *keys_end; /* one past the last NUL */
};

/* Map path read-only and validate its header.  The file must be owned by
 * root or by the calling effective uid and not writable by group or others:
 * a snapshot anyone else can write could mint users.  On failure *db is
 * left closed and the return value says why. */
int ctm_db_open(struct ctm_db *db, const char *path, enum ctm_db_kind kind);

/* Validate an image already in memory (tests and fuzzers); no ownership
 * checks, no copy: buf must outlive db. */
int ctm_db_from_memory(struct ctm_db *db, const void *buf, size_t len, enum ctm_db_kind kind);

void ctm_db_close(struct ctm_db *db);

/* True when path no longer names the mapped file (replaced, removed, or
 * changed in size or time).  One stat(2). */
bool ctm_db_is_stale(const struct ctm_db *db, const char *path);

/* Full check: data_crc, every slot, every record, every index entry points
 * at the record it names.  O(file size). */
int ctm_db_verify(const struct ctm_db *db);

/* data_crc only: every byte after the header is as written.  O(file size);
 * enumeration checks this once per pass. */
int ctm_db_check_data(const struct ctm_db *db);

/* Index in name order of the first user whose name sorts after name (for
 * resuming an enumeration in a replaced snapshot).  CTM_OK or corrupt. */
int ctm_passwd_seek_after(const struct ctm_db *db, const char *name, uint32_t *index);

/* passwd.db lookups: CTM_OK, CTM_NOTFOUND or CTM_ERR_CORRUPT. */
int ctm_passwd_by_name(const struct ctm_db *db, const char *name, struct ctm_user *out);
int ctm_passwd_by_uid(const struct ctm_db *db, uint32_t uid, struct ctm_user *out);
/* The i-th user in name order, i < db->count. */
int ctm_passwd_at(const struct ctm_db *db, uint32_t i, struct ctm_user *out);

/* keys.db lookup: CTM_OK, CTM_NOTFOUND or CTM_ERR_CORRUPT. */
int ctm_keys_by_name(const struct ctm_db *db, const char *name, struct ctm_keys *out);
int ctm_keys_at(const struct ctm_db *db, uint32_t i, struct ctm_keys *out);

/* Iterate keys: pass NULL for the first; returns NULL after the last.
 * Lines were validated when the record was read. */
const char *ctm_keys_next(const struct ctm_keys *k, const char *prev);

#endif
