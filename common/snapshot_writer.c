/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot_writer.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "crc32c.h"
#include "errmsg.h"
#include "snapshot_format.h"
#include "snapshot_reader.h"
#include "sshkey.h"
#include "username.h"

#define ERR(...) ctm_fail(err, errlen, __VA_ARGS__)

static void wr16(unsigned char *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}
static void wr32(unsigned char *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}
static void wr64(unsigned char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}
static uint32_t align4(uint32_t x)
{
	return (x + 3u) & ~3u;
}

/* One user after validation, with defaults filled in and keys canonical. */
struct prepared {
	const struct ctm_user_spec *spec;
	const char *gecos, *home, *shell;
	size_t name_len, gecos_len, home_len, shell_len;
	char *keys; /* canonical lines, each NUL-terminated, back to back;
			   * NULL: the spec's own lines are canonical (trusted build) */
	size_t keys_len;
	uint32_t pw_off, key_off;
};

static int check_field(const char *what, const char *v, bool path, size_t i, const char *user, char *err, size_t errlen)
{
	size_t len = strlen(v);
	if (len > CTM_FIELD_MAX)
		return ERR("user %zu (\"%s\"): %s is %zu bytes long; the limit is %d", i, user, what, len,
			   CTM_FIELD_MAX);
	if (path && v[0] != '/')
		return ERR("user %zu (\"%s\"): %s \"%s\" is not an absolute path; start it with '/'", i, user, what, v);
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if (*c < 0x20 || *c == 0x7f || *c == ':')
			return ERR("user %zu (\"%s\"): %s contains %s; remove it (passwd fields cannot hold "
				   "':' or control characters)",
				   i, user, what, *c == ':' ? "':'" : "a control character");
	return 0;
}

static int check_group_name(const char *g, char *err, size_t errlen)
{
	size_t len = strlen(g);
	if (len == 0 || len > CTM_GROUP_NAME_MAX)
		return ERR("group name \"%s\" must be 1 to %d characters long", g, CTM_GROUP_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = g[i];
		if (!((c >= 'a' && c <= 'z') || c == '_' || (i && ((c >= '0' && c <= '9') || c == '-'))))
			return ERR("group name \"%s\" has '%c' at position %zu: use lowercase letters, "
				   "digits, '_' and '-', starting with a letter or '_'",
				   g, c, i + 1);
	}
	return 0;
}

/* What a trusted build (ctm_snapshot_build_canonical) still checks of a
 * name: what the passwd format and the readers rely on (length, and
 * characters that cannot end a field or a line), not the rules a caller
 * already applied with ctm_username_check (reserved names, hyphens). */
static bool name_bytes_ok(const char *name, size_t len)
{
	if (len == 0 || len > CTM_NAME_MAX || !(name[0] >= 'a' && name[0] <= 'z'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* ... and of a key line: one line of printable text that begins with a key
 * type ("ssh-", "ecdsa-", "sk-"), so that sshd, reading it from the keys
 * command, can never take any of it for options or a second key.  The
 * parse itself (base64, the blob, its sizes) the caller has done. */
static bool key_bytes_ok(const char *line, size_t *len)
{
	if (strncmp(line, "ssh-", 4) != 0 && strncmp(line, "ecdsa-", 6) != 0 && strncmp(line, "sk-", 3) != 0)
		return false;
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)line; *c; c++, n++)
		if (*c < 0x20 || *c == 0x7f)
			return false;
	*len = n;
	return n <= CTM_KEY_LINE_MAX;
}

static int prepare_user(const struct ctm_user_spec *u, size_t i, const struct ctm_snapshot_spec *spec, bool trusted,
			struct prepared *p, char *err, size_t errlen)
{
	char msg[512];
	memset(p, 0, sizeof *p);
	p->spec = u;
	if (!u->name)
		return ERR("user %zu: has no name", i);
	p->name_len = strlen(u->name);
	if (trusted ? !name_bytes_ok(u->name, p->name_len)
		    : ctm_username_check(u->name, p->name_len, msg, sizeof msg) != CTM_NAME_OK) {
		if (trusted)
			ctm_username_check(u->name, p->name_len, msg, sizeof msg);
		return ERR("user %zu: %s", i, msg);
	}
	if (u->uid < spec->uid_min || u->uid > spec->uid_max)
		return ERR("user %zu (\"%s\"): uid %u is outside the configured range %u-%u; pick a uid "
			   "inside it",
			   i, u->name, u->uid, spec->uid_min, spec->uid_max);
	if (u->state < CTM_STATE_MIN || u->state > CTM_STATE_MAX)
		return ERR("user %zu (\"%s\"): state %u is not one of active, suspended, provisioning", i, u->name,
			   u->state);
	/* The defaults are known to be good: only given fields are checked. */
	static const size_t home_default_len = sizeof CTM_DEFAULT_HOME - 1;
	static const size_t shell_default_len = sizeof CTM_DEFAULT_SHELL - 1;
	p->gecos = u->gecos ? u->gecos : "";
	p->home = u->home ? u->home : CTM_DEFAULT_HOME;
	p->shell = u->shell ? u->shell : CTM_DEFAULT_SHELL;
	if ((u->gecos && check_field("gecos", p->gecos, false, i, u->name, err, errlen)) ||
	    (u->home && check_field("home", p->home, true, i, u->name, err, errlen)) ||
	    (u->shell && check_field("shell", p->shell, true, i, u->name, err, errlen)))
		return -1;
	p->gecos_len = u->gecos ? strlen(p->gecos) : 0;
	p->home_len = u->home ? strlen(p->home) : home_default_len;
	p->shell_len = u->shell ? strlen(p->shell) : shell_default_len;
	if (u->key_count > CTM_KEYS_PER_USER_MAX)
		return ERR("user %zu (\"%s\"): has %zu keys; the limit is %d", i, u->name, u->key_count,
			   CTM_KEYS_PER_USER_MAX);
	if (trusted) {
		for (size_t k = 0; k < u->key_count; k++) {
			size_t n;
			if (!u->keys[k] || !key_bytes_ok(u->keys[k], &n))
				return ERR("user %zu (\"%s\"), key %zu: not a canonical key line (one line of "
					   "printable text starting with its key type)",
					   i, u->name, k + 1);
			p->keys_len += n + 1;
		}
		return 0;
	}
	size_t cap = 0;
	for (size_t k = 0; k < u->key_count; k++)
		cap += strlen(u->keys[k]) + 1;
	p->keys = malloc(cap ? cap : 1);
	if (!p->keys)
		return ERR("out of memory");
	for (size_t k = 0; k < u->key_count; k++) {
		struct ctm_sshkey key;
		const char *line = u->keys[k];
		if (ctm_sshkey_parse(line, strlen(line), &key, msg, sizeof msg) != CTM_KEY_OK) {
			free(p->keys);
			p->keys = NULL;
			return ERR("user %zu (\"%s\"), key %zu: %s", i, u->name, k + 1, msg);
		}
		/* Canonical form is never longer than the trimmed input. */
		size_t n = ctm_sshkey_format(&key, p->keys + p->keys_len, cap - p->keys_len);
		p->keys_len += n + 1;
	}
	return 0;
}

static int by_name(const void *a, const void *b, void *base)
{
	const struct prepared *pre = base;
	return strcmp(pre[*(const uint32_t *)a].spec->name, pre[*(const uint32_t *)b].spec->name);
}

/* Every slot of an index as empty: (CTM_SLOT_EMPTY, 0) and the CRC of
 * (i, CTM_SLOT_EMPTY, 0).  CRC-32C is affine over GF(2): for messages of
 * one length, crc(a ^ b) = crc(a) ^ crc(b) ^ crc(0).  So the CRC of slot
 * i is crc(slot 0) ^ (the part that depends on i), and that part is the
 * XOR of one table entry per byte of i: 4 x 256 CRCs instead of one per
 * slot (98,304 slots at 10,000 users).  The bytes are the same. */
static void fill_empty_slots(unsigned char *idx, uint32_t slots)
{
	unsigned char m[12] = { 0 };
	uint32_t zero = ctm_crc32c(0, m, 12);
	wr32(m + 4, CTM_SLOT_EMPTY);
	uint32_t base = ctm_crc32c(0, m, 12); /* slot 0 */
	memset(m, 0, sizeof m);
	uint32_t part[4][256];
	for (int b = 0; b < 4; b++) {
		part[b][0] = 0;
		for (int v = 1; v < 256; v++) {
			m[b] = (unsigned char)v; /* byte b of i, little-endian as wr32 writes it */
			part[b][v] = ctm_crc32c(0, m, 12) ^ zero;
		}
		m[b] = 0;
	}
	unsigned char empty[8];
	wr32(empty, CTM_SLOT_EMPTY);
	wr32(empty + 4, 0);
	for (uint32_t i = 0; i < slots; i++) {
		unsigned char *s = idx + (size_t)i * CTM_SLOT_SIZE;
		memcpy(s, empty, 8);
		wr32(s + 8, base ^ part[0][i & 0xff] ^ part[1][(i >> 8) & 0xff] ^ part[2][(i >> 16) & 0xff] ^
				    part[3][i >> 24]);
	}
}

/* Insert (rec, hash); returns the record already holding this key's slot
 * chain position when same(rec_existing) says it is a duplicate. */
static uint32_t slot_insert(unsigned char *img, uint32_t index, uint32_t slots, uint32_t hash, uint32_t rec,
			    bool (*same)(const unsigned char *, uint32_t, uint32_t), uint32_t other)
{
	uint32_t mask = slots - 1;
	for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
		unsigned char *s = img + index + (size_t)i * CTM_SLOT_SIZE;
		uint32_t cur;
		memcpy(&cur, s, 4);
		cur = le32toh(cur);
		if (cur != CTM_SLOT_EMPTY) {
			if (same && same(img, cur, other))
				return cur;
			continue;
		}
		unsigned char b[12];
		wr32(b, i);
		wr32(b + 4, rec);
		wr32(b + 8, hash);
		memcpy(s, b + 4, 8);
		wr32(s + 8, ctm_crc32c(0, b, 12));
		return CTM_SLOT_EMPTY;
	}
}

static bool same_uid(const unsigned char *img, uint32_t rec, uint32_t uid)
{
	uint32_t v;
	memcpy(&v, img + rec + 8, 4);
	return le32toh(v) == uid;
}

static uint32_t slots_for(size_t n)
{
	uint32_t s = 2;
	while (s / 2 < n)
		s <<= 1;
	return s;
}

static void finish_header(unsigned char *img, const char *magic, const struct ctm_snapshot_spec *spec, uint32_t size,
			  uint32_t count)
{
	memcpy(img + CTM_H_MAGIC, magic, CTM_MAGIC_LEN);
	wr32(img + CTM_H_VERSION, CTM_FORMAT_VERSION);
	wr32(img + CTM_H_HEADER_SIZE, CTM_HEADER_SIZE);
	wr64(img + CTM_H_GENERATION, spec->generation);
	wr64(img + CTM_H_FILE_SIZE, size);
	wr64(img + CTM_H_CREATED, (uint64_t)time(NULL));
	wr32(img + CTM_H_ENTRY_COUNT, count);
	wr32(img + CTM_H_DATA_CRC, ctm_crc32c(0, img + CTM_HEADER_SIZE, size - CTM_HEADER_SIZE));
	wr32(img + CTM_H_HEADER_CRC, ctm_crc32c(0, img, CTM_H_HEADER_CRC));
}

/* A snapshot on its way from spec to images: what validate() checked and
 * prepared, then what lay_out() computed, for emit() to write. */
struct plan {
	const char *group;
	size_t n;             /* users */
	struct prepared *pre; /* n, in the spec's order */
	uint32_t *order;      /* indexes into pre, sorted by name */
	size_t prepared;      /* pre[0..prepared) hold canonical keys to free */
	/* the layout */
	uint32_t slots; /* per hash index */
	uint64_t idx_bytes;
	uint64_t pw_records, pw_rec, pw_size;    /* passwd.db: records' offset, their bytes, file */
	uint64_t key_records, key_rec, key_size; /* keys.db: the same */
};

static void plan_free(struct plan *pl)
{
	for (size_t i = 0; i < pl->prepared && pl->pre; i++)
		free(pl->pre[i].keys);
	free(pl->pre);
	free(pl->order);
}

/* Check the spec as a whole and every user (prepare_user: defaults, the
 * canonical keys), and sort by name, refusing a name given twice.  Every
 * refusal but a uid given twice (found while emitting the uid index) is
 * made here, before anything is laid out. */
static int validate(const struct ctm_snapshot_spec *spec, bool trusted, struct plan *pl, char *err, size_t errlen)
{
	const char *group = spec->group_name ? spec->group_name : CTM_DEFAULT_GROUP_NAME;
	pl->group = group;
	if (check_group_name(group, err, errlen))
		return -1;
	if (spec->gid == 0)
		return ERR("group id 0 is root's group: configure another gid for \"%s\"", group);
	if (spec->uid_min == 0 || spec->uid_min > spec->uid_max)
		return ERR("uid range %u-%u is empty or includes root: configure a range such as "
			   "2000000-2099999",
			   spec->uid_min, spec->uid_max);
	if (spec->generation == 0)
		return ERR("generation 0 is not allowed: number snapshots from 1");
	size_t n = spec->user_count;
	if (n > CTM_ENTRIES_MAX)
		return ERR("%zu users is more than the format holds (%u)", n, CTM_ENTRIES_MAX);
	pl->n = n;

	pl->pre = calloc(n ? n : 1, sizeof *pl->pre);
	pl->order = calloc(n ? n : 1, sizeof *pl->order);
	if (!pl->pre || !pl->order)
		return ERR("out of memory");
	for (; pl->prepared < n; pl->prepared++)
		if (prepare_user(&spec->users[pl->prepared], pl->prepared, spec, trusted, &pl->pre[pl->prepared], err,
				 errlen))
			return -1;
	/* Callers usually hand users sorted by name already (helperd's
	 * registry is): then sorting is a check in one pass. */
	bool sorted = true;
	for (uint32_t i = 0; i < n; i++) {
		pl->order[i] = i;
		if (i && strcmp(spec->users[i - 1].name, spec->users[i].name) > 0)
			sorted = false;
	}
	if (!sorted)
		qsort_r(pl->order, n, sizeof *pl->order, by_name, pl->pre);
	for (size_t i = 1; i < n; i++)
		if (strcmp(pl->pre[pl->order[i - 1]].spec->name, pl->pre[pl->order[i]].spec->name) == 0)
			return ERR("user \"%s\" appears twice: each name may appear once",
				   pl->pre[pl->order[i]].spec->name);
	return 0;
}

/* Every record's offset and both files' sizes, before anything is written. */
static int lay_out(struct plan *pl, char *err, size_t errlen)
{
	size_t n = pl->n;
	pl->slots = slots_for(n);
	uint64_t pw_rec = 0, key_rec = 0;
	for (size_t i = 0; i < n; i++) {
		struct prepared *p = &pl->pre[pl->order[i]];
		p->pw_off = (uint32_t)pw_rec;
		pw_rec += align4(
			(uint32_t)(CTM_PWREC_FIXED + p->name_len + p->gecos_len + p->home_len + p->shell_len + 4));
		p->key_off = (uint32_t)key_rec;
		key_rec += align4((uint32_t)(CTM_KEYREC_FIXED + p->name_len + 1 + p->keys_len));
	}
	pl->idx_bytes = (uint64_t)pl->slots * CTM_SLOT_SIZE;
	pl->pw_rec = pw_rec;
	pl->pw_records = CTM_HEADER_SIZE + 2 * pl->idx_bytes + 4 * (uint64_t)n;
	pl->pw_size = pl->pw_records + pw_rec;
	pl->key_rec = key_rec;
	pl->key_records = CTM_HEADER_SIZE + pl->idx_bytes + 4 * (uint64_t)n;
	pl->key_size = pl->key_records + key_rec;
	if (pl->pw_size > UINT32_MAX || pl->key_size > UINT32_MAX)
		return ERR("snapshot would exceed 4 GiB: too many users or keys");
	return 0;
}

/* Write both images as laid out: records, the order arrays, the hash
 * indexes (refusing a uid given twice), then the headers and checksums. */
static int emit(const struct ctm_snapshot_spec *spec, const struct plan *pl, struct ctm_image *passwd,
		struct ctm_image *keys, char *err, size_t errlen)
{
	size_t n = pl->n;
	uint32_t slots = pl->slots;
	uint64_t idx_bytes = pl->idx_bytes, pw_records = pl->pw_records, key_records = pl->key_records;
	passwd->data = calloc(1, pl->pw_size);
	keys->data = calloc(1, pl->key_size);
	if (!passwd->data || !keys->data)
		return ERR("out of memory");
	passwd->size = pl->pw_size;
	keys->size = pl->key_size;

	unsigned char *pw = passwd->data, *kd = keys->data;
	uint32_t pw_name_idx = CTM_HEADER_SIZE, pw_id_idx = (uint32_t)(CTM_HEADER_SIZE + idx_bytes);
	uint32_t pw_order = (uint32_t)(CTM_HEADER_SIZE + 2 * idx_bytes);
	uint32_t k_name_idx = CTM_HEADER_SIZE, k_order = (uint32_t)(CTM_HEADER_SIZE + idx_bytes);
	fill_empty_slots(pw + pw_name_idx, slots);
	fill_empty_slots(pw + pw_id_idx, slots);
	fill_empty_slots(kd + k_name_idx, slots);

	for (size_t i = 0; i < n; i++) {
		const struct prepared *p = &pl->pre[pl->order[i]];
		const struct ctm_user_spec *u = p->spec;
		uint32_t name_hash = ctm_hash_name(u->name, p->name_len);

		uint32_t off = (uint32_t)pw_records + p->pw_off;
		unsigned char *r = pw + off;
		uint32_t len =
			(uint32_t)(CTM_PWREC_FIXED + p->name_len + p->gecos_len + p->home_len + p->shell_len + 4);
		wr32(r + 4, len);
		wr32(r + 8, u->uid);
		wr32(r + 12, spec->gid);
		wr32(r + 16, u->state);
		wr16(r + 20, (uint16_t)p->name_len);
		wr16(r + 22, (uint16_t)p->gecos_len);
		wr16(r + 24, (uint16_t)p->home_len);
		wr16(r + 26, (uint16_t)p->shell_len);
		unsigned char *s = r + CTM_PWREC_FIXED;
		memcpy(s, u->name, p->name_len + 1);
		s += p->name_len + 1;
		memcpy(s, p->gecos, p->gecos_len + 1);
		s += p->gecos_len + 1;
		memcpy(s, p->home, p->home_len + 1);
		s += p->home_len + 1;
		memcpy(s, p->shell, p->shell_len + 1);
		wr32(r, ctm_crc32c(0, r + 4, len - 4));
		wr32(pw + pw_order + 4 * i, off);
		slot_insert(pw, pw_name_idx, slots, name_hash, off, NULL, 0);
		uint32_t dup = slot_insert(pw, pw_id_idx, slots, ctm_hash_uid(u->uid), off, same_uid, u->uid);
		if (dup != CTM_SLOT_EMPTY)
			return ERR("users \"%s\" and \"%s\" both have uid %u: give each user its own uid",
				   (const char *)pw + dup + CTM_PWREC_FIXED, u->name, u->uid);

		off = (uint32_t)key_records + p->key_off;
		r = kd + off;
		len = (uint32_t)(CTM_KEYREC_FIXED + p->name_len + 1 + p->keys_len);
		wr32(r + 4, len);
		wr32(r + 8, u->state);
		memcpy(r + 12, u->ipv4, 4);
		wr32(r + 16, u->uid);
		wr16(r + 20, (uint16_t)p->name_len);
		wr16(r + 22, (uint16_t)u->key_count);
		memcpy(r + CTM_KEYREC_FIXED, u->name, p->name_len + 1);
		if (p->keys) {
			memcpy(r + CTM_KEYREC_FIXED + p->name_len + 1, p->keys, p->keys_len);
		} else { /* trusted: the caller's canonical lines as they are */
			unsigned char *kp = r + CTM_KEYREC_FIXED + p->name_len + 1;
			for (size_t k = 0; k < u->key_count; k++) {
				size_t kl = strlen(u->keys[k]) + 1;
				memcpy(kp, u->keys[k], kl);
				kp += kl;
			}
		}
		wr32(r, ctm_crc32c(0, r + 4, len - 4));
		wr32(kd + k_order + 4 * i, off);
		slot_insert(kd, k_name_idx, slots, name_hash, off, NULL, 0);
	}

	const char *group = pl->group;
	wr32(pw + CTM_H_NAME_INDEX, pw_name_idx);
	wr32(pw + CTM_H_NAME_SLOTS, slots);
	wr32(pw + CTM_H_ID_INDEX, pw_id_idx);
	wr32(pw + CTM_H_ID_SLOTS, slots);
	wr32(pw + CTM_H_ORDER, pw_order);
	wr32(pw + CTM_H_RECORDS, (uint32_t)pw_records);
	wr32(pw + CTM_H_RECORDS_SIZE, (uint32_t)pl->pw_rec);
	wr32(pw + CTM_H_GROUP_GID, spec->gid);
	wr32(pw + CTM_H_UID_MIN, spec->uid_min);
	wr32(pw + CTM_H_UID_MAX, spec->uid_max);
	memcpy(pw + CTM_H_GROUP_NAME, group, strlen(group));
	finish_header(pw, CTM_PASSWD_MAGIC, spec, (uint32_t)pl->pw_size, (uint32_t)n);

	wr32(kd + CTM_H_NAME_INDEX, k_name_idx);
	wr32(kd + CTM_H_NAME_SLOTS, slots);
	wr32(kd + CTM_H_ORDER, k_order);
	wr32(kd + CTM_H_RECORDS, (uint32_t)key_records);
	wr32(kd + CTM_H_RECORDS_SIZE, (uint32_t)pl->key_rec);
	wr32(kd + CTM_H_GROUP_GID, spec->gid);
	wr32(kd + CTM_H_UID_MIN, spec->uid_min);
	wr32(kd + CTM_H_UID_MAX, spec->uid_max);
	memcpy(kd + CTM_H_GROUP_NAME, group, strlen(group));
	finish_header(kd, CTM_KEYS_MAGIC, spec, (uint32_t)pl->key_size, (uint32_t)n);
	return 0;
}

/* validate, lay out, emit; on failure no image is left allocated. */
static int build(const struct ctm_snapshot_spec *spec, bool trusted, struct ctm_image *passwd, struct ctm_image *keys,
		 char *err, size_t errlen)
{
	memset(passwd, 0, sizeof *passwd);
	memset(keys, 0, sizeof *keys);
	struct plan pl = { 0 };
	int ret = validate(spec, trusted, &pl, err, errlen) || lay_out(&pl, err, errlen) ||
				  emit(spec, &pl, passwd, keys, err, errlen)
			  ? -1
			  : 0;
	plan_free(&pl);
	if (ret) {
		ctm_image_free(passwd);
		ctm_image_free(keys);
	}
	return ret;
}

int ctm_snapshot_build(const struct ctm_snapshot_spec *spec, struct ctm_image *passwd, struct ctm_image *keys,
		       char *err, size_t errlen)
{
	return build(spec, false, passwd, keys, err, errlen);
}

int ctm_snapshot_build_canonical(const struct ctm_snapshot_spec *spec, struct ctm_image *passwd, struct ctm_image *keys,
				 char *err, size_t errlen)
{
	return build(spec, true, passwd, keys, err, errlen);
}

void ctm_image_free(struct ctm_image *img)
{
	free(img->data);
	img->data = NULL;
	img->size = 0;
}

static uint64_t generation_on_disk(const char *path, enum ctm_db_kind kind)
{
	struct ctm_db db;
	if (ctm_db_open(&db, path, kind) != CTM_OK)
		return 0;
	uint64_t g = db.generation;
	ctm_db_close(&db);
	return g;
}

static int publish(const struct ctm_snapshot_spec *spec_in, bool trusted, const char *passwd_path,
		   const char *keys_path, gid_t keys_gid, char *err, size_t errlen)
{
	struct ctm_snapshot_spec spec = *spec_in;
	if (spec.generation == 0) {
		uint64_t a = generation_on_disk(passwd_path, CTM_DB_PASSWD);
		uint64_t b = generation_on_disk(keys_path, CTM_DB_KEYS);
		spec.generation = (a > b ? a : b) + 1;
	}
	struct ctm_image pw, kd;
	if (build(&spec, trusted, &pw, &kd, err, errlen))
		return -1;
	struct ctm_staged ks = CTM_STAGED_INIT, ps = CTM_STAGED_INIT;
	int ret = -1;
	/* Both files are written before either is fsynced: the file system
	 * can then flush them together (on ext4 the first fsync's journal
	 * commit carries the second file's blocks too), instead of one full
	 * round of I/O each.  Both are on disk before either is renamed. */
	if (ctm_stage_write(&ks, keys_path, kd.data, kd.size, 0640, keys_gid, err, errlen) ||
	    ctm_stage_write(&ps, passwd_path, pw.data, pw.size, 0644, (gid_t)-1, err, errlen) ||
	    ctm_stage_sync(&ks, err, errlen) || ctm_stage_sync(&ps, err, errlen))
		goto out;
	/* keys.db first: a user visible through NSS always has keys.db entries. */
	if (ctm_stage_commit(&ks, err, errlen) || ctm_stage_commit(&ps, err, errlen))
		goto out;
	/* Both renames are done: one fsync of a directory makes every rename
	 * in it durable, so a shared directory is synced once. */
	char kdir[PATH_MAX], pdir[PATH_MAX];
	bool same_dir = ctm_dir_of(keys_path, kdir, sizeof kdir) == 0 &&
			ctm_dir_of(passwd_path, pdir, sizeof pdir) == 0 && strcmp(kdir, pdir) == 0;
	if (ctm_sync_dir_of(keys_path, err, errlen) || (!same_dir && ctm_sync_dir_of(passwd_path, err, errlen)))
		goto out;
	ret = 0;
out:
	ctm_stage_abort(&ks);
	ctm_stage_abort(&ps);
	ctm_image_free(&pw);
	ctm_image_free(&kd);
	return ret;
}

int ctm_snapshot_publish(const struct ctm_snapshot_spec *spec, const char *passwd_path, const char *keys_path,
			 gid_t keys_gid, char *err, size_t errlen)
{
	return publish(spec, false, passwd_path, keys_path, keys_gid, err, errlen);
}

int ctm_snapshot_publish_canonical(const struct ctm_snapshot_spec *spec, const char *passwd_path, const char *keys_path,
				   gid_t keys_gid, char *err, size_t errlen)
{
	return publish(spec, true, passwd_path, keys_path, keys_gid, err, errlen);
}
