/* SPDX-License-Identifier: Apache-2.0 */
/* The registry snapshot format: the one contract between helperd (writer)
 * and the host modules (NSS module, AuthorizedKeysCommand, PAM module).
 *
 * Two files share this layout and are published together under one
 * generation number:
 *
 *   passwd.db (0644)  users: name, uid, gid, gecos, home, shell, state, and
 *                     the one shared primary group.  World-readable.
 *   keys.db   (0640)  per user: state, pinned IPv4, uid and the SSH public
 *                     keys.  Readable by root and the AuthorizedKeysCommandUser
 *                     group only.
 *
 * All integers are little-endian.  All offsets are absolute file offsets and
 * 4-byte aligned.  Readers must check every offset and length against the
 * file size before using it (see snapshot_reader.c); nothing in a file is
 * trusted because it was written by us.
 *
 * Layout:
 *
 *   [header, 128 bytes]
 *   [name index: name_slots x 12-byte slots]
 *   [id index:   id_slots x 12-byte slots]          (passwd.db only)
 *   [order:      entry_count x u32 record offsets, sorted by name]
 *   [records:    records_size bytes, each record 4-byte aligned]
 *
 * Integrity is checked at three levels so that a lookup costs O(1) checksum
 * work however many users there are (a whole-file checksum would make every
 * `getent` or sshd fork pay for every user):
 *   - the header carries header_crc over its own first 124 bytes;
 *   - each index slot carries a CRC over (slot number, record offset, hash),
 *     so a damaged slot is detected rather than read as "empty";
 *   - each record carries a CRC over its own bytes.
 * data_crc covers every byte after the header; enumeration and verification
 * (containarium-mksnapshot --verify) check it, lookups do not need to.
 *
 * Index: open addressing with linear probing; name_slots and id_slots are
 * powers of two at least twice entry_count (load factor <= 0.5).  A slot with
 * record_off == CTM_SLOT_EMPTY is empty.  The hash of a name is
 * ctm_hash_name(); of a uid, ctm_hash_uid().
 */
#ifndef CONTAINARIUM_SNAPSHOT_FORMAT_H
#define CONTAINARIUM_SNAPSHOT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define CTM_PASSWD_MAGIC "CTMPWDB\n"
#define CTM_KEYS_MAGIC "CTMKEYS\n"
#define CTM_MAGIC_LEN 8
#define CTM_FORMAT_VERSION 1u

#define CTM_DEFAULT_PASSWD_DB "/var/lib/containarium/passwd.db"
#define CTM_DEFAULT_KEYS_DB "/var/lib/containarium/keys.db"

/* Header field offsets. */
enum {
	CTM_H_MAGIC = 0,         /* char[8] */
	CTM_H_VERSION = 8,       /* u32 */
	CTM_H_HEADER_SIZE = 12,  /* u32, = CTM_HEADER_SIZE */
	CTM_H_GENERATION = 16,   /* u64, same in both files of one publish */
	CTM_H_FILE_SIZE = 24,    /* u64, must equal the file's size */
	CTM_H_CREATED = 32,      /* u64, unix seconds */
	CTM_H_ENTRY_COUNT = 40,  /* u32 */
	CTM_H_FLAGS = 44,        /* u32, 0 */
	CTM_H_DATA_CRC = 48,     /* u32, crc32c of [header_size, file_size) */
	CTM_H_NAME_INDEX = 52,   /* u32 offset */
	CTM_H_NAME_SLOTS = 56,   /* u32 */
	CTM_H_ID_INDEX = 60,     /* u32 offset (0 in keys.db) */
	CTM_H_ID_SLOTS = 64,     /* u32 (0 in keys.db) */
	CTM_H_ORDER = 68,        /* u32 offset */
	CTM_H_RECORDS = 72,      /* u32 offset */
	CTM_H_RECORDS_SIZE = 76, /* u32 */
	CTM_H_GROUP_GID = 80,    /* u32, the shared primary group */
	CTM_H_UID_MIN = 84,      /* u32, every uid lies in [uid_min, uid_max] */
	CTM_H_UID_MAX = 88,      /* u32 */
	CTM_H_GROUP_NAME = 92,   /* char[32], NUL-terminated, NUL-padded */
	CTM_H_HEADER_CRC = 124,  /* u32, crc32c of bytes [0, 124) */
	CTM_HEADER_SIZE = 128,
};
#define CTM_GROUP_NAME_MAX 31

/* Index slot: u32 record_off, u32 hash, u32 crc32c(le32 slot_no, record_off, hash). */
#define CTM_SLOT_SIZE 12
#define CTM_SLOT_EMPTY 0xffffffffu

/* passwd.db record:
 *   0  u32 crc       crc32c of bytes [4, rec_len)
 *   4  u32 rec_len   28 + the four strings with their NULs (no padding)
 *   8  u32 uid
 *  12  u32 gid       = header group_gid
 *  16  u32 state     enum ctm_state
 *  20  u16 name_len, u16 gecos_len
 *  24  u16 home_len, u16 shell_len
 *  28  name NUL gecos NUL home NUL shell NUL
 */
#define CTM_PWREC_FIXED 28

/* keys.db record:
 *   0  u32 crc       crc32c of bytes [4, rec_len)
 *   4  u32 rec_len   24 + name + keys, with their NULs (no padding)
 *   8  u32 state
 *  12  u8[4] ipv4    the container's pinned address, network order
 *  16  u32 uid
 *  20  u16 name_len, u16 key_count
 *  24  name NUL, then key_count canonical key lines ("type base64 comment"), each NUL-terminated
 */
#define CTM_KEYREC_FIXED 24

/* Limits enforced by the writer and the reader. */
#define CTM_NAME_MAX 32       /* a username, without NUL */
#define CTM_FIELD_MAX 255     /* gecos, home, shell */
#define CTM_KEY_LINE_MAX 8192 /* one canonical key line */
#define CTM_KEYS_PER_USER_MAX 64
#define CTM_ENTRIES_MAX (1u << 24)

enum ctm_state {
	CTM_STATE_ACTIVE = 1,       /* container exists and is provisioned */
	CTM_STATE_SUSPENDED = 2,    /* an admin suspended the account */
	CTM_STATE_PROVISIONING = 3, /* being created; not ready for logins */
};
#define CTM_STATE_MIN 1
#define CTM_STATE_MAX 3

/* Hash of a name for the name index: FNV-1a, then murmur3's finaliser so
 * that the low bits (the slot) depend on every byte. */
static inline uint32_t ctm_hash_fmix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static inline uint32_t ctm_hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return ctm_hash_fmix(h);
}

static inline uint32_t ctm_hash_uid(uint32_t uid)
{
	return ctm_hash_fmix(uid ^ 0x9e3779b9u);
}

#endif
