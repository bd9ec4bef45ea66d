/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot_reader.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "snapshot_format.h"

/* Loads go through memcpy: the mapping is bytes, and a cast to uint32_t*
 * would be undefined for a corrupt (misaligned) offset. */
static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return le32toh(v);
}

static uint16_t rd16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof v);
	return le16toh(v);
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return le64toh(v);
}

const char *ctm_status_str(int status)
{
	switch (status) {
	case CTM_OK: return "ok";
	case CTM_NOTFOUND: return "not found";
	case CTM_ERR_MISSING: return "snapshot file does not exist";
	case CTM_ERR_CORRUPT: return "snapshot file is corrupt (failed a format or checksum check)";
	case CTM_ERR_IO: return "snapshot file could not be read";
	case CTM_ERR_UNSAFE: return "snapshot file is not owned by root or is writable by others";
	default: return "unknown status";
	}
}

/* [off, off+len) lies inside [lo, hi), without overflow. */
static bool span_ok(uint64_t off, uint64_t len, uint64_t lo, uint64_t hi)
{
	return off >= lo && off <= hi && len <= hi - off;
}

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

static int parse_header(struct ctm_db *db, enum ctm_db_kind kind)
{
	const unsigned char *h = db->map;
	size_t size = db->size;

	if (size < CTM_HEADER_SIZE)
		return CTM_ERR_CORRUPT;
	if (memcmp(h, kind == CTM_DB_PASSWD ? CTM_PASSWD_MAGIC : CTM_KEYS_MAGIC, CTM_MAGIC_LEN) != 0)
		return CTM_ERR_CORRUPT;
	if (rd32(h + CTM_H_HEADER_CRC) != ctm_crc32c(0, h, CTM_H_HEADER_CRC))
		return CTM_ERR_CORRUPT;
	if (rd32(h + CTM_H_VERSION) != CTM_FORMAT_VERSION || rd32(h + CTM_H_HEADER_SIZE) != CTM_HEADER_SIZE ||
	    rd64(h + CTM_H_FILE_SIZE) != size || size > UINT32_MAX || rd32(h + CTM_H_FLAGS) != 0)
		return CTM_ERR_CORRUPT;

	db->kind = kind;
	db->generation = rd64(h + CTM_H_GENERATION);
	db->count = rd32(h + CTM_H_ENTRY_COUNT);
	db->name_index = rd32(h + CTM_H_NAME_INDEX);
	db->name_slots = rd32(h + CTM_H_NAME_SLOTS);
	db->id_index = rd32(h + CTM_H_ID_INDEX);
	db->id_slots = rd32(h + CTM_H_ID_SLOTS);
	db->order = rd32(h + CTM_H_ORDER);
	db->records = rd32(h + CTM_H_RECORDS);
	uint32_t rsize = rd32(h + CTM_H_RECORDS_SIZE);
	db->gid = rd32(h + CTM_H_GROUP_GID);
	db->uid_min = rd32(h + CTM_H_UID_MIN);
	db->uid_max = rd32(h + CTM_H_UID_MAX);
	db->group_name = (const char *)h + CTM_H_GROUP_NAME;

	if (db->count > CTM_ENTRIES_MAX || db->generation == 0)
		return CTM_ERR_CORRUPT;
	if (!is_pow2(db->name_slots) || db->name_slots / 2 < db->count)
		return CTM_ERR_CORRUPT;
	if ((db->name_index | db->order | db->records | rsize) & 3u)
		return CTM_ERR_CORRUPT;
	if (!span_ok(db->name_index, (uint64_t)db->name_slots * CTM_SLOT_SIZE, CTM_HEADER_SIZE, size) ||
	    !span_ok(db->order, (uint64_t)db->count * 4, CTM_HEADER_SIZE, size) ||
	    !span_ok(db->records, rsize, CTM_HEADER_SIZE, size))
		return CTM_ERR_CORRUPT;
	db->records_end = db->records + rsize;

	if (kind == CTM_DB_PASSWD) {
		if (!is_pow2(db->id_slots) || db->id_slots / 2 < db->count || (db->id_index & 3u) ||
		    !span_ok(db->id_index, (uint64_t)db->id_slots * CTM_SLOT_SIZE, CTM_HEADER_SIZE, size))
			return CTM_ERR_CORRUPT;
		/* The group: never root, a terminated non-empty name. */
		if (db->gid == 0 || db->uid_min == 0 || db->uid_min > db->uid_max)
			return CTM_ERR_CORRUPT;
		const char *g = db->group_name;
		size_t glen = strnlen(g, CTM_GROUP_NAME_MAX + 1);
		if (glen == 0 || glen > CTM_GROUP_NAME_MAX)
			return CTM_ERR_CORRUPT;
	} else if (db->id_index != 0 || db->id_slots != 0) {
		return CTM_ERR_CORRUPT;
	}
	return CTM_OK;
}

int ctm_db_from_memory(struct ctm_db *db, const void *buf, size_t len, enum ctm_db_kind kind)
{
	memset(db, 0, sizeof *db);
	db->map = buf;
	db->size = len;
	int r = parse_header(db, kind);
	if (r != CTM_OK)
		memset(db, 0, sizeof *db);
	return r;
}

int ctm_db_open(struct ctm_db *db, const char *path, enum ctm_db_kind kind)
{
	memset(db, 0, sizeof *db);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? CTM_ERR_MISSING : CTM_ERR_IO;

	struct stat st;
	int r = CTM_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	r = CTM_ERR_UNSAFE;
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		goto out;
	r = CTM_ERR_CORRUPT;
	if (st.st_size < CTM_HEADER_SIZE || (uint64_t)st.st_size > UINT32_MAX)
		goto out;
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		r = CTM_ERR_IO;
		goto out;
	}
	db->map = m;
	db->size = (size_t)st.st_size;
	db->mapped = true;
	r = parse_header(db, kind);
	if (r != CTM_OK) {
		munmap(m, (size_t)st.st_size);
		memset(db, 0, sizeof *db);
		goto out;
	}
	db->dev = st.st_dev;
	db->ino = st.st_ino;
	db->st_size = st.st_size;
	db->mtim = st.st_mtim;
out:
	close(fd);
	return r;
}

void ctm_db_close(struct ctm_db *db)
{
	if (db->mapped && db->map)
		munmap((void *)db->map, db->size);
	memset(db, 0, sizeof *db);
}

bool ctm_db_is_stale(const struct ctm_db *db, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return true;
	return st.st_ino != db->ino || st.st_dev != db->dev || st.st_size != db->st_size ||
	       st.st_mtim.tv_sec != db->mtim.tv_sec || st.st_mtim.tv_nsec != db->mtim.tv_nsec;
}

/* Read index slot i; CTM_ERR_CORRUPT when its CRC does not match. */
static int read_slot(const struct ctm_db *db, uint32_t index, uint32_t i, uint32_t *rec, uint32_t *hash)
{
	const unsigned char *s = db->map + index + (size_t)i * CTM_SLOT_SIZE;
	unsigned char buf[12];
	uint32_t le_i = htole32(i);
	memcpy(buf, &le_i, 4);
	memcpy(buf + 4, s, 8);
	if (ctm_crc32c(0, buf, sizeof buf) != rd32(s + 8))
		return CTM_ERR_CORRUPT;
	*rec = rd32(s);
	*hash = rd32(s + 4);
	return CTM_OK;
}

/* A NUL-terminated string of len bytes at p, with no NUL inside. */
static bool str_ok(const unsigned char *p, size_t len)
{
	return p[len] == '\0' && memchr(p, '\0', len) == NULL;
}

/* Common record prologue: bounds, length, CRC.  Returns the record length. */
static int check_record(const struct ctm_db *db, uint32_t off, uint32_t fixed, uint32_t *len)
{
	if ((off & 3u) || !span_ok(off, fixed, db->records, db->records_end))
		return CTM_ERR_CORRUPT;
	const unsigned char *r = db->map + off;
	uint32_t l = rd32(r + 4);
	if (l < fixed || !span_ok(off, l, db->records, db->records_end))
		return CTM_ERR_CORRUPT;
	if (ctm_crc32c(0, r + 4, l - 4) != rd32(r))
		return CTM_ERR_CORRUPT;
	*len = l;
	return CTM_OK;
}

static int read_user(const struct ctm_db *db, uint32_t off, struct ctm_user *u)
{
	uint32_t len;
	int r = check_record(db, off, CTM_PWREC_FIXED, &len);
	if (r != CTM_OK)
		return r;
	const unsigned char *p = db->map + off;
	u->uid = rd32(p + 8);
	u->gid = rd32(p + 12);
	u->state = rd32(p + 16);
	u->name_len = rd16(p + 20);
	u->gecos_len = rd16(p + 22);
	u->home_len = rd16(p + 24);
	u->shell_len = rd16(p + 26);
	if ((uint64_t)CTM_PWREC_FIXED + u->name_len + u->gecos_len + u->home_len + u->shell_len + 4 != len)
		return CTM_ERR_CORRUPT;
	if (u->uid < db->uid_min || u->uid > db->uid_max || u->gid != db->gid || u->state < CTM_STATE_MIN ||
	    u->state > CTM_STATE_MAX || u->name_len == 0 || u->name_len > CTM_NAME_MAX)
		return CTM_ERR_CORRUPT;
	const unsigned char *s = p + CTM_PWREC_FIXED;
	u->name = (const char *)s;
	if (!str_ok(s, u->name_len))
		return CTM_ERR_CORRUPT;
	s += u->name_len + 1;
	u->gecos = (const char *)s;
	if (!str_ok(s, u->gecos_len))
		return CTM_ERR_CORRUPT;
	s += u->gecos_len + 1;
	u->home = (const char *)s;
	if (!str_ok(s, u->home_len))
		return CTM_ERR_CORRUPT;
	s += u->home_len + 1;
	u->shell = (const char *)s;
	if (!str_ok(s, u->shell_len))
		return CTM_ERR_CORRUPT;
	return CTM_OK;
}

static int read_keys(const struct ctm_db *db, uint32_t off, struct ctm_keys *k)
{
	uint32_t len;
	int r = check_record(db, off, CTM_KEYREC_FIXED, &len);
	if (r != CTM_OK)
		return r;
	const unsigned char *p = db->map + off, *end = p + len;
	k->state = rd32(p + 8);
	memcpy(k->ipv4, p + 12, 4);
	k->uid = rd32(p + 16);
	size_t name_len = rd16(p + 20);
	k->key_count = rd16(p + 22);
	if (k->state < CTM_STATE_MIN || k->state > CTM_STATE_MAX || name_len == 0 || name_len > CTM_NAME_MAX ||
	    k->key_count > CTM_KEYS_PER_USER_MAX || (size_t)(end - (p + CTM_KEYREC_FIXED)) < name_len + 1)
		return CTM_ERR_CORRUPT;
	const unsigned char *s = p + CTM_KEYREC_FIXED;
	if (!str_ok(s, name_len))
		return CTM_ERR_CORRUPT;
	k->name = (const char *)s;
	s += name_len + 1;
	k->keys = (const char *)s;
	/* Exactly key_count non-empty lines fill the rest of the record, each
	 * free of control characters (it will be printed to sshd). */
	for (uint32_t i = 0; i < k->key_count; i++) {
		const unsigned char *nul = memchr(s, '\0', (size_t)(end - s));
		if (!nul || nul == s || nul - s > CTM_KEY_LINE_MAX)
			return CTM_ERR_CORRUPT;
		for (const unsigned char *c = s; c < nul; c++)
			if (*c < 0x20 || *c == 0x7f)
				return CTM_ERR_CORRUPT;
		s = nul + 1;
	}
	if (s != end)
		return CTM_ERR_CORRUPT;
	k->keys_end = (const char *)end;
	return CTM_OK;
}

/* Probe an index for hash; for each candidate record call match().  Stops at
 * an empty slot (NOTFOUND), a match (OK) or any corruption. */
typedef int (*match_fn)(const struct ctm_db *db, uint32_t rec, const void *key, void *out);

static int probe(const struct ctm_db *db, uint32_t index, uint32_t slots, uint32_t hash, match_fn match,
		 const void *key, void *out)
{
	uint32_t mask = slots - 1;
	for (uint32_t n = 0, i = hash & mask; n < slots; n++, i = (i + 1) & mask) {
		uint32_t rec, h;
		if (read_slot(db, index, i, &rec, &h) != CTM_OK)
			return CTM_ERR_CORRUPT;
		if (rec == CTM_SLOT_EMPTY)
			return CTM_NOTFOUND;
		if (h != hash)
			continue;
		int r = match(db, rec, key, out);
		if (r != CTM_NOTFOUND)
			return r;
	}
	/* A table with no empty slot breaks the load-factor contract. */
	return CTM_ERR_CORRUPT;
}

struct name_key {
	const char *name;
	size_t len;
};

static int match_user_name(const struct ctm_db *db, uint32_t rec, const void *key, void *out)
{
	const struct name_key *k = key;
	struct ctm_user *u = out;
	int r = read_user(db, rec, u);
	if (r != CTM_OK)
		return r;
	if (ctm_hash_name(u->name, u->name_len) != ctm_hash_name(k->name, k->len))
		return CTM_ERR_CORRUPT; /* slot hash disagrees with its record */
	return u->name_len == k->len && memcmp(u->name, k->name, k->len) == 0 ? CTM_OK : CTM_NOTFOUND;
}

static int match_user_uid(const struct ctm_db *db, uint32_t rec, const void *key, void *out)
{
	uint32_t uid = *(const uint32_t *)key;
	struct ctm_user *u = out;
	int r = read_user(db, rec, u);
	if (r != CTM_OK)
		return r;
	if (ctm_hash_uid(u->uid) != ctm_hash_uid(uid))
		return CTM_ERR_CORRUPT;
	return u->uid == uid ? CTM_OK : CTM_NOTFOUND;
}

static int match_keys_name(const struct ctm_db *db, uint32_t rec, const void *key, void *out)
{
	const struct name_key *k = key;
	struct ctm_keys *e = out;
	int r = read_keys(db, rec, e);
	if (r != CTM_OK)
		return r;
	size_t len = strlen(e->name);
	if (ctm_hash_name(e->name, len) != ctm_hash_name(k->name, k->len))
		return CTM_ERR_CORRUPT;
	return len == k->len && memcmp(e->name, k->name, len) == 0 ? CTM_OK : CTM_NOTFOUND;
}

static bool name_plausible(const char *name, size_t *len)
{
	*len = strnlen(name, CTM_NAME_MAX + 1);
	return *len > 0 && *len <= CTM_NAME_MAX;
}

int ctm_passwd_by_name(const struct ctm_db *db, const char *name, struct ctm_user *out)
{
	struct name_key k = { name, 0 };
	if (!name_plausible(name, &k.len))
		return CTM_NOTFOUND;
	return probe(db, db->name_index, db->name_slots, ctm_hash_name(name, k.len), match_user_name, &k, out);
}

int ctm_passwd_by_uid(const struct ctm_db *db, uint32_t uid, struct ctm_user *out)
{
	if (uid < db->uid_min || uid > db->uid_max)
		return CTM_NOTFOUND;
	return probe(db, db->id_index, db->id_slots, ctm_hash_uid(uid), match_user_uid, &uid, out);
}

int ctm_keys_by_name(const struct ctm_db *db, const char *name, struct ctm_keys *out)
{
	struct name_key k = { name, 0 };
	if (!name_plausible(name, &k.len))
		return CTM_NOTFOUND;
	return probe(db, db->name_index, db->name_slots, ctm_hash_name(name, k.len), match_keys_name, &k, out);
}

static int order_at(const struct ctm_db *db, uint32_t i, uint32_t *rec)
{
	if (i >= db->count)
		return CTM_NOTFOUND;
	*rec = rd32(db->map + db->order + (size_t)i * 4);
	return CTM_OK;
}

int ctm_passwd_at(const struct ctm_db *db, uint32_t i, struct ctm_user *out)
{
	uint32_t rec;
	int r = order_at(db, i, &rec);
	return r == CTM_OK ? read_user(db, rec, out) : r;
}

int ctm_keys_at(const struct ctm_db *db, uint32_t i, struct ctm_keys *out)
{
	uint32_t rec;
	int r = order_at(db, i, &rec);
	return r == CTM_OK ? read_keys(db, rec, out) : r;
}

const char *ctm_keys_next(const struct ctm_keys *k, const char *prev)
{
	const char *next = prev ? prev + strlen(prev) + 1 : k->keys;
	return next < k->keys_end ? next : NULL;
}

int ctm_db_check_data(const struct ctm_db *db)
{
	return ctm_crc32c(0, db->map + CTM_HEADER_SIZE, db->size - CTM_HEADER_SIZE) == rd32(db->map + CTM_H_DATA_CRC)
		       ? CTM_OK
		       : CTM_ERR_CORRUPT;
}

int ctm_passwd_seek_after(const struct ctm_db *db, const char *name, uint32_t *index)
{
	uint32_t lo = 0, hi = db->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct ctm_user u;
		if (ctm_passwd_at(db, mid, &u) != CTM_OK)
			return CTM_ERR_CORRUPT;
		if (strcmp(u.name, name) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*index = lo;
	return CTM_OK;
}

int ctm_db_verify(const struct ctm_db *db)
{
	if (ctm_db_check_data(db) != CTM_OK)
		return CTM_ERR_CORRUPT;
	/* Every entry must be found through each index, and be the record the
	 * order array names; every slot must check out. */
	uint32_t used = 0;
	for (uint32_t i = 0; i < db->name_slots; i++) {
		uint32_t rec, h;
		if (read_slot(db, db->name_index, i, &rec, &h) != CTM_OK)
			return CTM_ERR_CORRUPT;
		used += rec != CTM_SLOT_EMPTY;
	}
	if (used != db->count)
		return CTM_ERR_CORRUPT;
	if (db->kind == CTM_DB_PASSWD) {
		used = 0;
		for (uint32_t i = 0; i < db->id_slots; i++) {
			uint32_t rec, h;
			if (read_slot(db, db->id_index, i, &rec, &h) != CTM_OK)
				return CTM_ERR_CORRUPT;
			used += rec != CTM_SLOT_EMPTY;
		}
		if (used != db->count)
			return CTM_ERR_CORRUPT;
	}
	const char *prev = NULL;
	size_t prev_len = 0;
	for (uint32_t i = 0; i < db->count; i++) {
		const char *name;
		size_t len;
		uint32_t rec;
		order_at(db, i, &rec);
		if (db->kind == CTM_DB_PASSWD) {
			struct ctm_user u, v;
			if (read_user(db, rec, &u) != CTM_OK || ctm_passwd_by_name(db, u.name, &v) != CTM_OK ||
			    v.name != u.name || ctm_passwd_by_uid(db, u.uid, &v) != CTM_OK || v.name != u.name)
				return CTM_ERR_CORRUPT;
			name = u.name;
			len = u.name_len;
		} else {
			struct ctm_keys k, l;
			if (read_keys(db, rec, &k) != CTM_OK || ctm_keys_by_name(db, k.name, &l) != CTM_OK ||
			    l.name != k.name)
				return CTM_ERR_CORRUPT;
			name = k.name;
			len = strlen(name);
		}
		/* Strictly increasing names: no duplicates, deterministic order. */
		if (prev) {
			int c = memcmp(prev, name, prev_len < len ? prev_len : len);
			if (c > 0 || (c == 0 && prev_len >= len))
				return CTM_ERR_CORRUPT;
		}
		prev = name;
		prev_len = len;
	}
	return CTM_OK;
}
