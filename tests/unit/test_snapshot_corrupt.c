/* SPDX-License-Identifier: Apache-2.0 */
/* Corrupt snapshots: the reader must refuse or contain every kind of damage.
 *
 *  - truncation at every length, and single-bit and whole-byte flips at every
 *    offset: opening fails, or every lookup returns the exact original data or
 *    CTM_ERR_CORRUPT (never another user's data, never "not found" for a user
 *    who exists), and the full checks report the damage;
 *  - forged files whose checksums were recomputed after the edit (see
 *    support_forge.h), one per format rule, so each rule's own check is what
 *    rejects the file.  Controls (a harmless forged edit that must be
 *    accepted) prove that the forging itself produces files the reader
 *    accepts, so a rejection is the rule's doing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support_forge.h"
#include "support_keys.h"
#include "support_snapshot.h"

/* ---- fuzz-like sweeps ------------------------------------------------------ */

struct sweep_stats {
	size_t opened;    /* variants that passed the header checks */
	size_t lookup_ok; /* lookups that returned the original data */
	size_t lookup_corrupt;
};

/* Every lookup of every user of f must be exact or CTM_ERR_CORRUPT. */
static void lookups_exact_or_corrupt(const struct ctm_t_fixture *f, const struct ctm_db *db, size_t where,
				     struct sweep_stats *st)
{
	char why[256];
	for (size_t i = 0; i < f->n; i++) {
		const char *name = f->expect[i].name;
		int r;
		if (db->kind == CTM_DB_PASSWD) {
			struct ctm_user u;
			r = ctm_passwd_by_name(db, name, &u);
			CTM_T_CHECK(r == CTM_OK || r == CTM_ERR_CORRUPT, "offset %zu: by_name %s -> %d", where, name,
				    r);
			CTM_T_CHECK(r != CTM_OK || ctm_t_user_matches(f, i, &u, why),
				    "offset %zu: by_name %s wrong answer: %s", where, name, why);
			st->lookup_ok += r == CTM_OK;
			st->lookup_corrupt += r == CTM_ERR_CORRUPT;
			r = ctm_passwd_by_uid(db, f->users[i].uid, &u);
			CTM_T_CHECK(r == CTM_OK || r == CTM_ERR_CORRUPT, "offset %zu: by_uid %u -> %d", where,
				    f->users[i].uid, r);
			CTM_T_CHECK(r != CTM_OK || ctm_t_user_matches(f, i, &u, why),
				    "offset %zu: by_uid %u wrong answer: %s", where, f->users[i].uid, why);
			st->lookup_ok += r == CTM_OK;
			st->lookup_corrupt += r == CTM_ERR_CORRUPT;
			/* Enumeration relies on ctm_db_check_data; here only "no crash". */
			r = ctm_passwd_at(db, (uint32_t)i, &u);
			CTM_T_CHECK(r == CTM_OK || r == CTM_ERR_CORRUPT, "offset %zu: at(%zu) -> %d", where, i, r);
		} else {
			struct ctm_keys k;
			r = ctm_keys_by_name(db, name, &k);
			CTM_T_CHECK(r == CTM_OK || r == CTM_ERR_CORRUPT, "offset %zu: keys %s -> %d", where, name, r);
			CTM_T_CHECK(r != CTM_OK || ctm_t_keys_match(f, i, &k, why),
				    "offset %zu: keys %s wrong answer: %s", where, name, why);
			st->lookup_ok += r == CTM_OK;
			st->lookup_corrupt += r == CTM_ERR_CORRUPT;
			r = ctm_keys_at(db, (uint32_t)i, &k);
			CTM_T_CHECK(r == CTM_OK || r == CTM_ERR_CORRUPT, "offset %zu: keys_at(%zu) -> %d", where, i, r);
		}
	}
	/* Absent entries: not found, or corrupt; never found. */
	int r;
	if (db->kind == CTM_DB_PASSWD) {
		struct ctm_user u;
		r = ctm_passwd_by_name(db, "mallory", &u);
		CTM_T_CHECK(r == CTM_NOTFOUND || r == CTM_ERR_CORRUPT, "offset %zu: mallory -> %d", where, r);
		r = ctm_passwd_by_uid(db, 70015, &u);
		CTM_T_CHECK(r == CTM_NOTFOUND || r == CTM_ERR_CORRUPT, "offset %zu: uid 70015 -> %d", where, r);
		uint32_t idx;
		r = ctm_passwd_seek_after(db, "b", &idx);
		CTM_T_CHECK(r == CTM_OK || r == CTM_ERR_CORRUPT, "offset %zu: seek_after -> %d", where, r);
	} else {
		struct ctm_keys k;
		r = ctm_keys_by_name(db, "mallory", &k);
		CTM_T_CHECK(r == CTM_NOTFOUND || r == CTM_ERR_CORRUPT, "offset %zu: mallory -> %d", where, r);
	}
}

static enum ctm_db_kind kind_of(int i)
{
	return i % 2 ? CTM_DB_KEYS : CTM_DB_PASSWD;
}

static void small_image(struct ctm_t_fixture *f, enum ctm_db_kind kind, struct ctm_image *img)
{
	struct ctm_image pw, kd;
	ctm_t_fixture_small(f);
	ctm_t_build(f, &pw, &kd);
	*img = kind == CTM_DB_PASSWD ? pw : kd;
	ctm_image_free(kind == CTM_DB_PASSWD ? &kd : &pw);
}

START_TEST(truncated_at_every_length)
{
	enum ctm_db_kind kind = kind_of(_i);
	struct ctm_t_fixture f;
	struct ctm_image img;
	small_image(&f, kind, &img);
	char dir[PATH_MAX], path[PATH_MAX];
	ctm_t_newdir(dir, "trunc");
	ctm_t_join(path, dir, "db");
	for (size_t len = 0; len < img.size; len++) {
		/* An allocation of exactly len bytes: any read past it is an ASan error. */
		unsigned char *buf = malloc(len ? len : 1);
		CTM_T_CHECK(buf != NULL, "out of memory");
		memcpy(buf, img.data, len);
		struct ctm_db db;
		CTM_T_CHECK(ctm_db_from_memory(&db, buf, len, kind) == CTM_ERR_CORRUPT,
			    "image truncated to %zu of %zu bytes accepted", len, img.size);
		CTM_T_CHECK(db.map == NULL, "left open"); /* left closed */
		free(buf);
		ctm_t_write_file(path, img.data, len, 0644);
		CTM_T_CHECK(ctm_db_open(&db, path, kind) == CTM_ERR_CORRUPT,
			    "file truncated to %zu of %zu bytes accepted", len, img.size);
	}
	/* One byte too many is as wrong as one too few. */
	unsigned char *longer = calloc(1, img.size + 1);
	ck_assert_ptr_nonnull(longer);
	memcpy(longer, img.data, img.size);
	struct ctm_db db;
	ck_assert_int_eq(ctm_db_from_memory(&db, longer, img.size + 1, kind), CTM_ERR_CORRUPT);
	ck_assert_int_eq(ctm_db_from_memory(&db, longer, img.size, kind), CTM_OK); /* control */
	free(longer);
	ctm_image_free(&img);
	ctm_t_fixture_free(&f);
}
END_TEST

/* _i: kind (bit 0) and mask (the rest: 0 = 0xff, 1..8 = bit 0..7). */
START_TEST(flipped_at_every_offset)
{
	enum ctm_db_kind kind = kind_of(_i);
	int m = _i / 2;
	unsigned char mask = m == 0 ? 0xff : (unsigned char)(1u << (m - 1));
	struct ctm_t_fixture f;
	struct ctm_image img;
	small_image(&f, kind, &img);
	unsigned char *buf = ctm_t_dup(&img);
	struct sweep_stats st = { 0, 0, 0 };
	for (size_t off = 0; off < img.size; off++) {
		buf[off] ^= mask;
		struct ctm_db db;
		int r = ctm_db_from_memory(&db, buf, img.size, kind);
		CTM_T_CHECK(r == CTM_OK || r == CTM_ERR_CORRUPT, "offset %zu: open -> %d", off, r);
		if (r == CTM_OK) {
			st.opened++;
			CTM_T_CHECK(off >= CTM_HEADER_SIZE, "header flip at %zu accepted", off);
			lookups_exact_or_corrupt(&f, &db, off, &st);
			CTM_T_CHECK(ctm_db_check_data(&db) == CTM_ERR_CORRUPT, "offset %zu: data check passed", off);
			CTM_T_CHECK(ctm_db_verify(&db) == CTM_ERR_CORRUPT, "offset %zu: verify passed", off);
			ctm_db_close(&db);
		}
		buf[off] ^= mask;
	}
	/* The sweep really ran lookups over damaged data, and saw both outcomes. */
	ck_assert_uint_eq(st.opened, img.size - CTM_HEADER_SIZE);
	ck_assert_uint_gt(st.lookup_ok, 0);
	ck_assert_uint_gt(st.lookup_corrupt, 0);
	struct ctm_db db;
	ck_assert_int_eq(ctm_db_from_memory(&db, buf, img.size, kind), CTM_OK);
	ck_assert_int_eq(ctm_db_verify(&db), CTM_OK); /* restored */
	free(buf);
	ctm_image_free(&img);
	ctm_t_fixture_free(&f);
}
END_TEST

/* The same through files and ctm_db_open (the mmap path), whole-byte flips. */
START_TEST(flipped_files)
{
	enum ctm_db_kind kind = kind_of(_i);
	struct ctm_t_fixture f;
	struct ctm_image img;
	small_image(&f, kind, &img);
	unsigned char *buf = ctm_t_dup(&img);
	char dir[PATH_MAX], path[PATH_MAX];
	ctm_t_newdir(dir, "flipf");
	ctm_t_join(path, dir, "db");
	struct sweep_stats st = { 0, 0, 0 };
	for (size_t off = 0; off < img.size; off++) {
		buf[off] ^= 0xff;
		ctm_t_write_file(path, buf, img.size, 0644);
		buf[off] ^= 0xff;
		struct ctm_db db;
		int r = ctm_db_open(&db, path, kind);
		CTM_T_CHECK(r == CTM_OK || r == CTM_ERR_CORRUPT, "offset %zu: open -> %d", off, r);
		if (r != CTM_OK)
			continue;
		st.opened++;
		lookups_exact_or_corrupt(&f, &db, off, &st);
		CTM_T_CHECK(ctm_db_verify(&db) == CTM_ERR_CORRUPT, "offset %zu: verify passed", off);
		ctm_db_close(&db);
	}
	ck_assert_uint_eq(st.opened, img.size - CTM_HEADER_SIZE);
	ck_assert_uint_gt(st.lookup_corrupt, 0);
	free(buf);
	ctm_image_free(&img);
	ctm_t_fixture_free(&f);
}
END_TEST

/* ---- forged headers --------------------------------------------------------- */

enum { OP_SET, OP_ADD, OP_XOR, OP_GROUP_FILL, OP_SIZE_PLUS };
enum { BOTH = 3, PW = 1, KEYS = 2 };

struct header_case {
	const char *what;
	int kinds;
	size_t off;
	unsigned width; /* 1, 4 or 8 bytes */
	int op;
	uint64_t value; /* OP_SIZE_PLUS: the file size plus value */
	bool keep_crc;  /* leave header_crc as it is (the CRC case itself) */
	int open;       /* expected ctm_db_from_memory result */
	int verify;     /* expected ctm_db_verify result when open is OK */
};

#define CORRUPT CTM_ERR_CORRUPT
static const struct header_case header_cases[] = {
	/* controls: forged but valid */
	{ "unchanged", BOTH, CTM_H_FLAGS, 4, OP_SET, 0, false, CTM_OK, CTM_OK },
	{ "creation time", BOTH, CTM_H_CREATED, 8, OP_SET, 12345, false, CTM_OK, CTM_OK },
	{ "largest generation", BOTH, CTM_H_GENERATION, 8, OP_SET, UINT64_MAX, false, CTM_OK, CTM_OK },
	{ "group name of 31 bytes", PW, CTM_H_GROUP_NAME, 0, OP_GROUP_FILL, 31, false, CTM_OK, CTM_OK },
	{ "uid_min at the lowest uid", PW, CTM_H_UID_MIN, 4, OP_SET, 70010, false, CTM_OK, CTM_OK },
	{ "uid_max at the highest uid", PW, CTM_H_UID_MAX, 4, OP_SET, 70030, false, CTM_OK, CTM_OK },
	/* the header itself */
	{ "magic, first byte", BOTH, 0, 1, OP_XOR, 0x20, false, CORRUPT, 0 },
	{ "magic, last byte", BOTH, 7, 1, OP_XOR, 0x01, false, CORRUPT, 0 },
	{ "version 0", BOTH, CTM_H_VERSION, 4, OP_SET, 0, false, CORRUPT, 0 },
	{ "version 2", BOTH, CTM_H_VERSION, 4, OP_SET, 2, false, CORRUPT, 0 },
	{ "header_size 0", BOTH, CTM_H_HEADER_SIZE, 4, OP_SET, 0, false, CORRUPT, 0 },
	{ "header_size 124", BOTH, CTM_H_HEADER_SIZE, 4, OP_SET, 124, false, CORRUPT, 0 },
	{ "header_size 256", BOTH, CTM_H_HEADER_SIZE, 4, OP_SET, 256, false, CORRUPT, 0 },
	{ "header_crc", BOTH, CTM_H_HEADER_CRC, 1, OP_XOR, 1, true, CORRUPT, 0 },
	{ "header edit without a new header_crc", BOTH, CTM_H_CREATED, 1, OP_XOR, 1, true, CORRUPT, 0 },
	{ "file_size + 1", BOTH, CTM_H_FILE_SIZE, 8, OP_SIZE_PLUS, 1, false, CORRUPT, 0 },
	{ "file_size - 1", BOTH, CTM_H_FILE_SIZE, 8, OP_SIZE_PLUS, (uint64_t)-1, false, CORRUPT, 0 },
	{ "file_size + 4 GiB", BOTH, CTM_H_FILE_SIZE, 8, OP_SIZE_PLUS, 1ull << 32, false, CORRUPT, 0 },
	{ "file_size 0", BOTH, CTM_H_FILE_SIZE, 8, OP_SET, 0, false, CORRUPT, 0 },
	{ "generation 0", BOTH, CTM_H_GENERATION, 8, OP_SET, 0, false, CORRUPT, 0 },
	{ "flags 1", BOTH, CTM_H_FLAGS, 4, OP_SET, 1, false, CORRUPT, 0 },
	{ "flags high bit", BOTH, CTM_H_FLAGS, 4, OP_SET, 0x80000000u, false, CORRUPT, 0 },
	{ "entry_count above the limit", BOTH, CTM_H_ENTRY_COUNT, 4, OP_SET, CTM_ENTRIES_MAX + 1u, false, CORRUPT, 0 },
	{ "entry_count above half the slots", BOTH, CTM_H_ENTRY_COUNT, 4, OP_SET, 5, false, CORRUPT, 0 },
	{ "entry_count 2^32-1", BOTH, CTM_H_ENTRY_COUNT, 4, OP_SET, UINT32_MAX, false, CORRUPT, 0 },
	{ "data_crc", BOTH, CTM_H_DATA_CRC, 1, OP_XOR, 1, false, CTM_OK, CORRUPT },
	/* offsets and sizes */
	{ "name_index inside the header", BOTH, CTM_H_NAME_INDEX, 4, OP_SET, 0, false, CORRUPT, 0 },
	{ "name_index at 124", BOTH, CTM_H_NAME_INDEX, 4, OP_SET, 124, false, CORRUPT, 0 },
	{ "name_index at the end", BOTH, CTM_H_NAME_INDEX, 4, OP_SIZE_PLUS, 0, false, CORRUPT, 0 },
	{ "name_index past the end", BOTH, CTM_H_NAME_INDEX, 4, OP_SIZE_PLUS, 4, false, CORRUPT, 0 },
	{ "name_index slots overrun the end", BOTH, CTM_H_NAME_INDEX, 4, OP_SIZE_PLUS, (uint64_t)-92, false, CORRUPT,
	  0 },
	{ "name_index wraps around", BOTH, CTM_H_NAME_INDEX, 4, OP_SET, 0xfffffff0u, false, CORRUPT, 0 },
	{ "name_index misaligned by 1", BOTH, CTM_H_NAME_INDEX, 4, OP_ADD, 1, false, CORRUPT, 0 },
	{ "name_index misaligned by 2", BOTH, CTM_H_NAME_INDEX, 4, OP_ADD, 2, false, CORRUPT, 0 },
	{ "name_slots 0", BOTH, CTM_H_NAME_SLOTS, 4, OP_SET, 0, false, CORRUPT, 0 },
	{ "name_slots 6 (not a power of two)", BOTH, CTM_H_NAME_SLOTS, 4, OP_SET, 6, false, CORRUPT, 0 },
	{ "name_slots 7 (not a power of two)", BOTH, CTM_H_NAME_SLOTS, 4, OP_SET, 7, false, CORRUPT, 0 },
	{ "name_slots 4 (fewer than twice the entries)", BOTH, CTM_H_NAME_SLOTS, 4, OP_SET, 4, false, CORRUPT, 0 },
	{ "name_slots 2^31 (past the end)", BOTH, CTM_H_NAME_SLOTS, 4, OP_SET, 1u << 31, false, CORRUPT, 0 },
	{ "order past the end", BOTH, CTM_H_ORDER, 4, OP_SIZE_PLUS, (uint64_t)-8, false, CORRUPT, 0 },
	{ "order wraps around", BOTH, CTM_H_ORDER, 4, OP_SET, 0xfffffffcu, false, CORRUPT, 0 },
	{ "order inside the header", BOTH, CTM_H_ORDER, 4, OP_SET, 64, false, CORRUPT, 0 },
	{ "order misaligned", BOTH, CTM_H_ORDER, 4, OP_ADD, 2, false, CORRUPT, 0 },
	{ "records past the end", BOTH, CTM_H_RECORDS, 4, OP_ADD, 4, false, CORRUPT, 0 },
	{ "records wrap around", BOTH, CTM_H_RECORDS, 4, OP_SET, 0xfffffffcu, false, CORRUPT, 0 },
	{ "records misaligned", BOTH, CTM_H_RECORDS, 4, OP_ADD, 1, false, CORRUPT, 0 },
	{ "records_size past the end", BOTH, CTM_H_RECORDS_SIZE, 4, OP_ADD, 4, false, CORRUPT, 0 },
	{ "records_size 2^32-4", BOTH, CTM_H_RECORDS_SIZE, 4, OP_SET, 0xfffffffcu, false, CORRUPT, 0 },
	{ "records_size misaligned", BOTH, CTM_H_RECORDS_SIZE, 4, OP_ADD, (uint64_t)-2, false, CORRUPT, 0 },
	{ "id_index misaligned", PW, CTM_H_ID_INDEX, 4, OP_ADD, 2, false, CORRUPT, 0 },
	{ "id_index inside the header", PW, CTM_H_ID_INDEX, 4, OP_SET, 0, false, CORRUPT, 0 },
	{ "id_index past the end", PW, CTM_H_ID_INDEX, 4, OP_SIZE_PLUS, 4, false, CORRUPT, 0 },
	{ "id_index wraps around", PW, CTM_H_ID_INDEX, 4, OP_SET, 0xfffffff0u, false, CORRUPT, 0 },
	{ "id_slots 0", PW, CTM_H_ID_SLOTS, 4, OP_SET, 0, false, CORRUPT, 0 },
	{ "id_slots 12 (not a power of two)", PW, CTM_H_ID_SLOTS, 4, OP_SET, 12, false, CORRUPT, 0 },
	{ "id_slots 4 (fewer than twice the entries)", PW, CTM_H_ID_SLOTS, 4, OP_SET, 4, false, CORRUPT, 0 },
	{ "id_slots 2^31", PW, CTM_H_ID_SLOTS, 4, OP_SET, 1u << 31, false, CORRUPT, 0 },
	{ "keys.db with an id index", KEYS, CTM_H_ID_INDEX, 4, OP_SET, 128, false, CORRUPT, 0 },
	{ "keys.db with id slots", KEYS, CTM_H_ID_SLOTS, 4, OP_SET, 8, false, CORRUPT, 0 },
	/* the group and the uid range */
	{ "gid 0", PW, CTM_H_GROUP_GID, 4, OP_SET, 0, false, CORRUPT, 0 },
	{ "uid_min 0", PW, CTM_H_UID_MIN, 4, OP_SET, 0, false, CORRUPT, 0 },
	{ "uid_min above uid_max", PW, CTM_H_UID_MIN, 4, OP_SET, CTM_DEFAULT_UID_MAX + 1u, false, CORRUPT, 0 },
	{ "uid_max below uid_min", PW, CTM_H_UID_MAX, 4, OP_SET, CTM_DEFAULT_UID_MIN - 1u, false, CORRUPT, 0 },
	{ "uid range that excludes the users", PW, CTM_H_UID_MAX, 4, OP_SET, 70011, false, CTM_OK, CORRUPT },
	{ "gid that differs from the records'", PW, CTM_H_GROUP_GID, 4, OP_SET, 70001, false, CTM_OK, CORRUPT },
	{ "empty group name", PW, CTM_H_GROUP_NAME, 0, OP_GROUP_FILL, 0, false, CORRUPT, 0 },
	{ "unterminated group name", PW, CTM_H_GROUP_NAME, 0, OP_GROUP_FILL, 32, false, CORRUPT, 0 },
};

static void apply_header_case(const struct header_case *c, unsigned char *img, size_t size)
{
	uint64_t cur = c->width == 8   ? ctm_t_rd64(img, c->off)
		       : c->width == 4 ? ctm_t_rd32(img, c->off)
		       : c->width == 1 ? img[c->off]
				       : 0;
	uint64_t v = 0;
	switch (c->op) {
	case OP_SET: v = c->value; break;
	case OP_ADD: v = cur + c->value; break;
	case OP_XOR: v = cur ^ c->value; break;
	case OP_SIZE_PLUS: v = size + c->value; break;
	case OP_GROUP_FILL:
		memset(img + CTM_H_GROUP_NAME, 0, CTM_GROUP_NAME_MAX + 1);
		memset(img + CTM_H_GROUP_NAME, 'g', c->value);
		break;
	}
	if (c->width == 8)
		ctm_t_wr64(img, c->off, v);
	else if (c->width == 4)
		ctm_t_wr32(img, c->off, (uint32_t)v);
	else if (c->width == 1)
		img[c->off] = (unsigned char)v;
	if (!c->keep_crc)
		ctm_t_fix_header(img);
}

#define N_HEADER_CASES (int)(sizeof header_cases / sizeof header_cases[0])

static void forged_header_case(const struct header_case *c, enum ctm_db_kind kind)
{
	struct ctm_t_fixture f;
	struct ctm_image img;
	small_image(&f, kind, &img);
	unsigned char *buf = ctm_t_dup(&img);
	apply_header_case(c, buf, img.size);
	struct ctm_db db;
	int r = ctm_db_from_memory(&db, buf, img.size, kind);
	ck_assert_msg(r == c->open, "%s (%s): open -> %d, expected %d", c->what,
		      kind == CTM_DB_PASSWD ? "passwd.db" : "keys.db", r, c->open);
	if (r == CTM_OK) {
		ck_assert_msg(ctm_db_verify(&db) == c->verify, "%s: verify -> %d", c->what, ctm_db_verify(&db));
		if (c->verify == CTM_OK) {
			struct sweep_stats st = { 0, 0, 0 };
			lookups_exact_or_corrupt(&f, &db, 0, &st);
			ck_assert_uint_eq(st.lookup_corrupt, 0);
		} else if (kind == CTM_DB_PASSWD) {
			/* A header that contradicts the records (gid, uid range):
			 * the records it rules out read as corrupt by name (by uid
			 * they can be "not found": outside the header's range). */
			size_t corrupt = 0;
			for (size_t i = 0; i < f.n; i++) {
				struct ctm_user u;
				char why[256];
				int q = ctm_passwd_by_name(&db, f.expect[i].name, &u);
				ck_assert(q == CTM_OK || q == CORRUPT);
				ck_assert(q != CTM_OK || ctm_t_user_matches(&f, i, &u, why));
				corrupt += q == CORRUPT;
			}
			/* A stale data_crc alone leaves every record readable. */
			if (c->off == CTM_H_DATA_CRC)
				ck_assert_uint_eq(corrupt, 0);
			else
				ck_assert_uint_gt(corrupt, 0);
		}
		ctm_db_close(&db);
	} else {
		ck_assert_ptr_null(db.map);
	}
	/* The same header through a file and ctm_db_open. */
	char dir[PATH_MAX], path[PATH_MAX];
	ctm_t_newdir(dir, "hdr");
	ctm_t_join(path, dir, "db");
	ctm_t_write_file(path, buf, img.size, 0644);
	r = ctm_db_open(&db, path, kind);
	ck_assert_msg(r == c->open, "%s: file open -> %d", c->what, r);
	if (r == CTM_OK)
		ctm_db_close(&db);
	free(buf);
	ctm_image_free(&img);
	ctm_t_fixture_free(&f);
}

/* _i: kind.  One test runs every case (a failure names its case). */
START_TEST(forged_header)
{
	enum ctm_db_kind kind = kind_of(_i);
	int ran = 0;
	for (int i = 0; i < N_HEADER_CASES; i++) {
		const struct header_case *c = &header_cases[i];
		if (c->kinds & (kind == CTM_DB_PASSWD ? PW : KEYS)) {
			forged_header_case(c, kind);
			ran++;
		}
	}
	ck_assert_int_ge(ran, kind == CTM_DB_PASSWD ? 60 : 45);
}
END_TEST

/* ---- forged passwd.db records, slots and order ----------------------------------- */

enum pw_case {
	/* controls */
	PWC_GECOS_EDIT,
	PWC_UID_AT_MIN,
	PWC_UID_AT_MAX,
	PWC_STATE_3,
	/* record fields */
	PWC_UID_BELOW,
	PWC_UID_ABOVE,
	PWC_UID_0,
	PWC_GID_OTHER,
	PWC_GID_0,
	PWC_STATE_0,
	PWC_STATE_4,
	PWC_NAME_LEN_0,
	PWC_NAME_LEN_33,
	PWC_LENS_PLUS_1,
	PWC_LENS_MINUS_1,
	PWC_REC_LEN_SHORT,
	PWC_REC_LEN_HUGE,
	PWC_REC_LEN_PLUS_4,
	PWC_NAME_UNTERMINATED,
	PWC_NAME_NUL,
	PWC_GECOS_UNTERMINATED,
	PWC_GECOS_NUL,
	PWC_HOME_UNTERMINATED,
	PWC_HOME_NUL,
	PWC_SHELL_UNTERMINATED,
	PWC_SHELL_NUL,
	PWC_RECORD_CRC,
	PWC_NAME_RENAMED,
	/* index slots */
	PWC_SLOT_MISALIGNED,
	PWC_SLOT_IN_HEADER,
	PWC_SLOT_PAST_END,
	PWC_SLOT_OTHER_RECORD,
	PWC_SLOT_EMPTIED,
	PWC_SLOT_CRC,
	PWC_UID_SLOT_OTHER_RECORD,
	PWC_UID_SLOT_CRC,
	PWC_TABLE_FULL,
	/* order array and data checksum */
	PWC_ORDER_DUP,
	PWC_ORDER_SWAP,
	PWC_ORDER_MISALIGNED,
	PWC_PADDING,
	PWC_COUNT
};

struct pw_expect {
	const char *what;
	int by_name, by_uid, verify; /* for alice */
};

static const struct pw_expect pw_expect[PWC_COUNT] = {
	[PWC_GECOS_EDIT] = { "gecos edited, CRCs fixed (control)", CTM_OK, CTM_OK, CTM_OK },
	[PWC_UID_AT_MIN] = { "uid = uid_min (control)", CTM_OK, CORRUPT, CORRUPT },
	[PWC_UID_AT_MAX] = { "uid = uid_max (control)", CTM_OK, CORRUPT, CORRUPT },
	[PWC_STATE_3] = { "state provisioning (control)", CTM_OK, CTM_OK, CTM_OK },
	[PWC_UID_BELOW] = { "uid below uid_min", CORRUPT, CORRUPT, CORRUPT },
	[PWC_UID_ABOVE] = { "uid above uid_max", CORRUPT, CORRUPT, CORRUPT },
	[PWC_UID_0] = { "uid 0", CORRUPT, CORRUPT, CORRUPT },
	[PWC_GID_OTHER] = { "gid differs from the header's", CORRUPT, CORRUPT, CORRUPT },
	[PWC_GID_0] = { "gid 0", CORRUPT, CORRUPT, CORRUPT },
	[PWC_STATE_0] = { "state 0", CORRUPT, CORRUPT, CORRUPT },
	[PWC_STATE_4] = { "state 4", CORRUPT, CORRUPT, CORRUPT },
	[PWC_NAME_LEN_0] = { "name_len 0", CORRUPT, CORRUPT, CORRUPT },
	[PWC_NAME_LEN_33] = { "name_len 33", CORRUPT, CORRUPT, CORRUPT },
	[PWC_LENS_PLUS_1] = { "string lengths exceed rec_len", CORRUPT, CORRUPT, CORRUPT },
	[PWC_LENS_MINUS_1] = { "string lengths short of rec_len", CORRUPT, CORRUPT, CORRUPT },
	[PWC_REC_LEN_SHORT] = { "rec_len below the fixed part", CORRUPT, CORRUPT, CORRUPT },
	[PWC_REC_LEN_HUGE] = { "rec_len past the records", CORRUPT, CORRUPT, CORRUPT },
	[PWC_REC_LEN_PLUS_4] = { "rec_len 4 bytes longer, CRC fixed", CORRUPT, CORRUPT, CORRUPT },
	[PWC_NAME_UNTERMINATED] = { "name not NUL-terminated", CORRUPT, CORRUPT, CORRUPT },
	[PWC_NAME_NUL] = { "NUL inside the name", CORRUPT, CORRUPT, CORRUPT },
	[PWC_GECOS_UNTERMINATED] = { "gecos not NUL-terminated", CORRUPT, CORRUPT, CORRUPT },
	[PWC_GECOS_NUL] = { "NUL inside the gecos", CORRUPT, CORRUPT, CORRUPT },
	[PWC_HOME_UNTERMINATED] = { "home not NUL-terminated", CORRUPT, CORRUPT, CORRUPT },
	[PWC_HOME_NUL] = { "NUL inside the home", CORRUPT, CORRUPT, CORRUPT },
	[PWC_SHELL_UNTERMINATED] = { "shell not NUL-terminated", CORRUPT, CORRUPT, CORRUPT },
	[PWC_SHELL_NUL] = { "NUL inside the shell", CORRUPT, CORRUPT, CORRUPT },
	[PWC_RECORD_CRC] = { "record edited, CRC not fixed", CORRUPT, CORRUPT, CORRUPT },
	/* The uid index still points at the record, which now names "alicf". */
	[PWC_NAME_RENAMED] = { "record renamed under its name slot", CORRUPT, CTM_OK, CORRUPT },
	[PWC_SLOT_MISALIGNED] = { "name slot: misaligned record offset", CORRUPT, CTM_OK, CORRUPT },
	[PWC_SLOT_IN_HEADER] = { "name slot: offset inside the header", CORRUPT, CTM_OK, CORRUPT },
	[PWC_SLOT_PAST_END] = { "name slot: offset past the end", CORRUPT, CTM_OK, CORRUPT },
	[PWC_SLOT_OTHER_RECORD] = { "name slot: another user's record", CORRUPT, CTM_OK, CORRUPT },
	/* A slot emptied with a valid CRC reads as absent; only verify sees it. */
	[PWC_SLOT_EMPTIED] = { "name slot emptied, CRC fixed", CTM_NOTFOUND, CTM_OK, CORRUPT },
	[PWC_SLOT_CRC] = { "name slot edited, CRC not fixed", CORRUPT, CTM_OK, CORRUPT },
	[PWC_UID_SLOT_OTHER_RECORD] = { "uid slot: another user's record", CTM_OK, CORRUPT, CORRUPT },
	[PWC_UID_SLOT_CRC] = { "uid slot edited, CRC not fixed", CTM_OK, CORRUPT, CORRUPT },
	[PWC_TABLE_FULL] = { "name index without an empty slot", CTM_OK, CTM_OK, CORRUPT },
	[PWC_ORDER_DUP] = { "order lists a record twice", CTM_OK, CTM_OK, CORRUPT },
	[PWC_ORDER_SWAP] = { "order not sorted by name", CTM_OK, CTM_OK, CORRUPT },
	[PWC_ORDER_MISALIGNED] = { "order entry misaligned", CTM_OK, CTM_OK, CORRUPT },
	[PWC_PADDING] = { "padding byte changed, data_crc not fixed", CTM_OK, CTM_OK, CORRUPT },
};

/* Replace the lengths of alice's strings, keeping their sum. */
static void set_lens(unsigned char *img, uint32_t rec, int name_delta)
{
	ctm_t_wr16(img, rec + 20, (uint16_t)(ctm_t_rd16(img, rec + 20) + name_delta));
	ctm_t_wr16(img, rec + 22, (uint16_t)(ctm_t_rd16(img, rec + 22) - name_delta));
}

/* Offsets of alice's four strings' terminating NULs. */
static size_t string_end(const unsigned char *img, uint32_t rec, int which)
{
	size_t p = rec + CTM_PWREC_FIXED;
	for (int k = 0; k <= which; k++)
		p += ctm_t_rd16(img, rec + 20 + 2 * (size_t)k) + (k < which ? 1 : 0);
	return p;
}

/* Apply case c to img; returns false when the data checksum must stay stale. */
static bool forge_passwd(int c, unsigned char *img, size_t size)
{
	uint32_t alice = ctm_t_record_of(img, CTM_DB_PASSWD, "alice");
	uint32_t bob = ctm_t_record_of(img, CTM_DB_PASSWD, "bob");
	uint32_t name_index = ctm_t_rd32(img, CTM_H_NAME_INDEX), slots = ctm_t_rd32(img, CTM_H_NAME_SLOTS);
	uint32_t id_index = ctm_t_rd32(img, CTM_H_ID_INDEX);
	uint32_t order = ctm_t_rd32(img, CTM_H_ORDER);
	uint32_t nslot = ctm_t_slot_of(img, name_index, slots, alice);
	uint32_t islot = ctm_t_slot_of(img, id_index, slots, alice);
	uint32_t rec_len = ctm_t_rd32(img, alice + 4), r, h;
	bool fix = true;
	ctm_t_get_slot(img, name_index, nslot, &r, &h);
	switch (c) {
	case PWC_GECOS_EDIT: img[string_end(img, alice, 0) + 1] = 'B'; break;
	case PWC_UID_AT_MIN: ctm_t_wr32(img, alice + 8, CTM_DEFAULT_UID_MIN); break;
	case PWC_UID_AT_MAX: ctm_t_wr32(img, alice + 8, CTM_DEFAULT_UID_MAX); break;
	case PWC_STATE_3: ctm_t_wr32(img, alice + 16, CTM_STATE_PROVISIONING); break;
	case PWC_UID_BELOW: ctm_t_wr32(img, alice + 8, CTM_DEFAULT_UID_MIN - 1); break;
	case PWC_UID_ABOVE: ctm_t_wr32(img, alice + 8, CTM_DEFAULT_UID_MAX + 1); break;
	case PWC_UID_0: ctm_t_wr32(img, alice + 8, 0); break;
	case PWC_GID_OTHER: ctm_t_wr32(img, alice + 12, CTM_DEFAULT_GID + 1); break;
	case PWC_GID_0: ctm_t_wr32(img, alice + 12, 0); break;
	case PWC_STATE_0: ctm_t_wr32(img, alice + 16, 0); break;
	case PWC_STATE_4: ctm_t_wr32(img, alice + 16, 4); break;
	case PWC_NAME_LEN_0: set_lens(img, alice, -5); break;
	case PWC_NAME_LEN_33: set_lens(img, alice, 28); break;
	case PWC_LENS_PLUS_1: ctm_t_wr16(img, alice + 22, (uint16_t)(ctm_t_rd16(img, alice + 22) + 1)); break;
	case PWC_LENS_MINUS_1: ctm_t_wr16(img, alice + 22, (uint16_t)(ctm_t_rd16(img, alice + 22) - 1)); break;
	case PWC_REC_LEN_SHORT:
		ctm_t_wr32(img, alice + 4, CTM_PWREC_FIXED - 4);
		fix = false;
		break;
	case PWC_REC_LEN_HUGE:
		ctm_t_wr32(img, alice + 4, 0xfffffff0u);
		fix = false;
		break;
	case PWC_REC_LEN_PLUS_4: ctm_t_wr32(img, alice + 4, rec_len + 4); break;
	case PWC_NAME_UNTERMINATED: img[string_end(img, alice, 0)] = 'x'; break;
	case PWC_NAME_NUL: img[alice + CTM_PWREC_FIXED + 2] = '\0'; break;
	case PWC_GECOS_UNTERMINATED: img[string_end(img, alice, 1)] = 'x'; break;
	case PWC_GECOS_NUL: img[string_end(img, alice, 1) - 3] = '\0'; break;
	case PWC_HOME_UNTERMINATED: img[string_end(img, alice, 2)] = 'x'; break;
	case PWC_HOME_NUL: img[string_end(img, alice, 2) - 1] = '\0'; break;
	case PWC_SHELL_UNTERMINATED: img[string_end(img, alice, 3)] = 'x'; break;
	case PWC_SHELL_NUL: img[string_end(img, alice, 3) - 4] = '\0'; break;
	case PWC_RECORD_CRC:
		img[string_end(img, alice, 0) + 1] = 'B';
		fix = false;
		break;
	case PWC_NAME_RENAMED: img[alice + CTM_PWREC_FIXED + 4] = 'f'; break;
	case PWC_SLOT_MISALIGNED: ctm_t_set_slot(img, name_index, nslot, alice + 2, h); break;
	case PWC_SLOT_IN_HEADER: ctm_t_set_slot(img, name_index, nslot, 64, h); break;
	case PWC_SLOT_PAST_END: ctm_t_set_slot(img, name_index, nslot, (uint32_t)size, h); break;
	case PWC_SLOT_OTHER_RECORD: ctm_t_set_slot(img, name_index, nslot, bob, h); break;
	case PWC_SLOT_EMPTIED: ctm_t_set_slot(img, name_index, nslot, CTM_SLOT_EMPTY, 0); break;
	case PWC_SLOT_CRC: ctm_t_wr32(img, name_index + nslot * CTM_SLOT_SIZE, bob); break;
	case PWC_UID_SLOT_OTHER_RECORD:
		ctm_t_get_slot(img, id_index, islot, &r, &h);
		ctm_t_set_slot(img, id_index, islot, bob, h);
		break;
	case PWC_UID_SLOT_CRC: ctm_t_wr32(img, id_index + islot * CTM_SLOT_SIZE + 4, 1); break;
	case PWC_TABLE_FULL:
		for (uint32_t i = 0; i < slots; i++) {
			ctm_t_get_slot(img, name_index, i, &r, &h);
			if (r == CTM_SLOT_EMPTY)
				ctm_t_set_slot(img, name_index, i, bob, 0x5eed0000u + i);
		}
		break;
	case PWC_ORDER_DUP: ctm_t_wr32(img, order + 4, ctm_t_rd32(img, order)); break;
	case PWC_ORDER_SWAP: {
		uint32_t a = ctm_t_rd32(img, order), b = ctm_t_rd32(img, order + 4);
		ctm_t_wr32(img, order, b);
		ctm_t_wr32(img, order + 4, a);
		break;
	}
	case PWC_ORDER_MISALIGNED: ctm_t_wr32(img, order + 8, ctm_t_rd32(img, order + 8) + 2); break;
	case PWC_PADDING:
		ck_assert_msg(rec_len % 4 != 0, "alice's record has no padding to edit");
		img[alice + rec_len] ^= 0x55;
		ctm_t_fix_header(img);
		return false;
	}
	if (fix && c < PWC_SLOT_MISALIGNED)
		ctm_t_fix_record(img, size, alice);
	return true;
}

START_TEST(forged_passwd)
{
	const struct pw_expect *e = &pw_expect[_i];
	ck_assert_ptr_nonnull(e->what);
	struct ctm_t_fixture f;
	struct ctm_image img;
	small_image(&f, CTM_DB_PASSWD, &img);
	ck_assert_str_eq(f.expect[0].name, "alice");
	unsigned char *buf = ctm_t_dup(&img);
	bool reseal = forge_passwd(_i, buf, img.size);
	if (reseal)
		ctm_t_reseal(buf, img.size);
	struct ctm_db db;
	ck_assert_msg(ctm_db_from_memory(&db, buf, img.size, CTM_DB_PASSWD) == CTM_OK, "%s: open", e->what);
	/* Only the forged part is wrong: every checksum matches unless the
	 * case is about that checksum. */
	ck_assert_int_eq(ctm_db_check_data(&db), reseal ? CTM_OK : CORRUPT);

	struct ctm_user u;
	char why[256];
	int r = ctm_passwd_by_name(&db, "alice", &u);
	ck_assert_msg(r == e->by_name, "%s: by_name(alice) -> %d, expected %d", e->what, r, e->by_name);
	if (r == CTM_OK) {
		switch (_i) {
		case PWC_GECOS_EDIT: ck_assert_str_eq(u.gecos, "Blice Example, Room 42, +1 555 0100, work"); break;
		case PWC_UID_AT_MIN: ck_assert_uint_eq(u.uid, CTM_DEFAULT_UID_MIN); break;
		case PWC_UID_AT_MAX: ck_assert_uint_eq(u.uid, CTM_DEFAULT_UID_MAX); break;
		case PWC_STATE_3: ck_assert_uint_eq(u.state, CTM_STATE_PROVISIONING); break;
		default: ck_assert_msg(ctm_t_user_matches(&f, 0, &u, why), "%s: %s", e->what, why);
		}
	}
	r = ctm_passwd_by_uid(&db, 70010, &u);
	ck_assert_msg(r == e->by_uid, "%s: by_uid(70010) -> %d, expected %d", e->what, r, e->by_uid);
	if (r == CTM_OK && _i != PWC_NAME_RENAMED && _i != PWC_GECOS_EDIT && _i != PWC_STATE_3)
		ck_assert_msg(ctm_t_user_matches(&f, 0, &u, why), "%s: %s", e->what, why);
	if (r == CTM_OK && _i == PWC_NAME_RENAMED)
		ck_assert_str_eq(u.name, "alicf"); /* what the (valid) record says */
	r = ctm_db_verify(&db);
	ck_assert_msg(r == e->verify, "%s: verify -> %d, expected %d", e->what, r, e->verify);

	/* The damage stays local: the other users are intact, except that a
	 * broken slot also breaks the probe chains that run through it (an
	 * emptied slot ends them: "not found"; a bad CRC: corrupt). */
	bool name_chain = _i == PWC_SLOT_EMPTIED || _i == PWC_SLOT_CRC;
	bool uid_chain = _i == PWC_UID_SLOT_CRC;
	int chain_err = _i == PWC_SLOT_EMPTIED ? CTM_NOTFOUND : CORRUPT;
	for (size_t i = 1; i < f.n; i++) {
		r = ctm_passwd_by_name(&db, f.expect[i].name, &u);
		ck_assert_msg(r == CTM_OK || (name_chain && r == chain_err), "%s: by_name(%s) -> %d", e->what,
			      f.expect[i].name, r);
		ck_assert_msg(r != CTM_OK || ctm_t_user_matches(&f, i, &u, why), "%s: %s", e->what, why);
		r = ctm_passwd_by_uid(&db, f.users[i].uid, &u);
		ck_assert_msg(r == CTM_OK || (uid_chain && r == chain_err), "%s: by_uid(%u) -> %d", e->what,
			      f.users[i].uid, r);
		ck_assert_msg(r != CTM_OK || ctm_t_user_matches(&f, i, &u, why), "%s: %s", e->what, why);
	}
	/* Absent names stay absent or corrupt, and a full table never loops. */
	r = ctm_passwd_by_name(&db, "mallory", &u);
	if (_i == PWC_TABLE_FULL)
		ck_assert_int_eq(r, CORRUPT);
	else
		ck_assert_msg(r == CTM_NOTFOUND || (name_chain && r == CORRUPT), "%s: mallory -> %d", e->what, r);
	for (uint32_t i = 0; i < db.count; i++) {
		r = ctm_passwd_at(&db, i, &u);
		ck_assert(r == CTM_OK || r == CORRUPT);
	}
	free(buf);
	ctm_image_free(&img);
	ctm_t_fixture_free(&f);
}
END_TEST

/* ---- forged keys.db records ------------------------------------------------------- */

enum keys_case {
	KC_COMMENT_EDIT,
	KC_IPV4_EDIT, /* controls */
	KC_COUNT_65,
	KC_COUNT_PLUS_1,
	KC_COUNT_MINUS_1,
	KC_COUNT_0,
	KC_EMPTY_LINE,
	KC_CTRL_01,
	KC_CTRL_7F,
	KC_CTRL_TAB,
	KC_CTRL_LF,
	KC_NAME_UNTERMINATED,
	KC_NAME_LEN_0,
	KC_NAME_LEN_33,
	KC_NAME_LEN_PAST_RECORD,
	KC_STATE_0,
	KC_STATE_4,
	KC_NAME_RENAMED,
	KC_REC_LEN_SHORT,
	KC_RECORD_CRC,
	KC_SLOT_OTHER_RECORD,
	KC_COUNT
};

static const char *const keys_case_name[KC_COUNT] = {
	[KC_COMMENT_EDIT] = "key comment edited, CRCs fixed (control)",
	[KC_IPV4_EDIT] = "ipv4 edited, CRCs fixed (control)",
	[KC_COUNT_65] = "key_count above the limit",
	[KC_COUNT_PLUS_1] = "key_count one more than the lines",
	[KC_COUNT_MINUS_1] = "key_count one less than the lines",
	[KC_COUNT_0] = "key_count 0 with lines present",
	[KC_EMPTY_LINE] = "an empty key line",
	[KC_CTRL_01] = "control character 0x01 in a key line",
	[KC_CTRL_7F] = "DEL in a key line",
	[KC_CTRL_TAB] = "tab in a key line",
	[KC_CTRL_LF] = "line feed in a key line",
	[KC_NAME_UNTERMINATED] = "name not NUL-terminated",
	[KC_NAME_LEN_0] = "name_len 0",
	[KC_NAME_LEN_33] = "name_len 33",
	[KC_NAME_LEN_PAST_RECORD] = "name_len past the record",
	[KC_STATE_0] = "state 0",
	[KC_STATE_4] = "state 4",
	[KC_NAME_RENAMED] = "record renamed under its name slot",
	[KC_REC_LEN_SHORT] = "rec_len below the fixed part",
	[KC_RECORD_CRC] = "record edited, CRC not fixed",
	[KC_SLOT_OTHER_RECORD] = "name slot: another user's record",
};

START_TEST(forged_keys)
{
	const char *what = keys_case_name[_i];
	struct ctm_t_fixture f;
	struct ctm_image img;
	small_image(&f, CTM_DB_KEYS, &img);
	ck_assert_str_eq(f.expect[2].name, "carol-2");
	ck_assert_uint_eq(f.users[2].key_count, 2);
	unsigned char *buf = ctm_t_dup(&img);
	/* Every case damages carol-2 (two keys), except one that needs a record
	 * too short for a 32-byte name: bob's (no keys). */
	size_t ti = _i == KC_NAME_LEN_PAST_RECORD ? 1 : 2;
	const char *target = f.expect[ti].name;
	uint32_t carol = ctm_t_record_of(buf, CTM_DB_KEYS, target);
	uint32_t len = ctm_t_rd32(buf, carol + 4);
	size_t line1 = carol + CTM_KEYREC_FIXED + strlen(target) + 1;
	size_t line2 = ti == 2 ? line1 + strlen((const char *)buf + line1) + 1 : 0;
	size_t last = carol + len - 2; /* last character of line 2 */
	bool fix = true;
	switch (_i) {
	case KC_COMMENT_EDIT: buf[last] = 'Q'; break;
	case KC_IPV4_EDIT: buf[carol + 12] = 172; break;
	case KC_COUNT_65: ctm_t_wr16(buf, carol + 22, 65); break;
	case KC_COUNT_PLUS_1: ctm_t_wr16(buf, carol + 22, 3); break;
	case KC_COUNT_MINUS_1: ctm_t_wr16(buf, carol + 22, 1); break;
	case KC_COUNT_0: ctm_t_wr16(buf, carol + 22, 0); break;
	case KC_EMPTY_LINE: buf[line2] = '\0'; break;
	case KC_CTRL_01: buf[line2 + 3] = 0x01; break;
	case KC_CTRL_7F: buf[line1 + 20] = 0x7f; break;
	case KC_CTRL_TAB: buf[line1 + 19] = '\t'; break;
	case KC_CTRL_LF: buf[last] = '\n'; break;
	case KC_NAME_UNTERMINATED: buf[line1 - 1] = 'x'; break;
	case KC_NAME_LEN_0: ctm_t_wr16(buf, carol + 20, 0); break;
	case KC_NAME_LEN_33: ctm_t_wr16(buf, carol + 20, 33); break;
	case KC_NAME_LEN_PAST_RECORD:
		ck_assert_uint_lt(len - CTM_KEYREC_FIXED, CTM_NAME_MAX);
		ctm_t_wr16(buf, carol + 20, CTM_NAME_MAX);
		break;
	case KC_STATE_0: ctm_t_wr32(buf, carol + 8, 0); break;
	case KC_STATE_4: ctm_t_wr32(buf, carol + 8, 4); break;
	case KC_NAME_RENAMED: buf[carol + CTM_KEYREC_FIXED + 6] = '3'; break;
	case KC_REC_LEN_SHORT:
		ctm_t_wr32(buf, carol + 4, 8);
		fix = false;
		break;
	case KC_RECORD_CRC:
		buf[last] = 'Q';
		fix = false;
		break;
	case KC_SLOT_OTHER_RECORD: {
		uint32_t idx = ctm_t_rd32(buf, CTM_H_NAME_INDEX), slots = ctm_t_rd32(buf, CTM_H_NAME_SLOTS);
		uint32_t s = ctm_t_slot_of(buf, idx, slots, carol), r, h;
		ctm_t_get_slot(buf, idx, s, &r, &h);
		ctm_t_set_slot(buf, idx, s, ctm_t_record_of(buf, CTM_DB_KEYS, "alice"), h);
		fix = false;
		break;
	}
	}
	if (fix)
		ctm_t_fix_record(buf, img.size, carol);
	ctm_t_reseal(buf, img.size);
	struct ctm_db db;
	ck_assert_int_eq(ctm_db_from_memory(&db, buf, img.size, CTM_DB_KEYS), CTM_OK);
	ck_assert_int_eq(ctm_db_check_data(&db), CTM_OK);
	struct ctm_keys k;
	int r = ctm_keys_by_name(&db, target, &k);
	bool control = _i == KC_COMMENT_EDIT || _i == KC_IPV4_EDIT;
	ck_assert_msg(r == (control ? CTM_OK : CORRUPT), "%s: keys_by_name -> %d", what, r);
	ck_assert_int_eq(ctm_db_verify(&db), control ? CTM_OK : CORRUPT);
	if (_i == KC_COMMENT_EDIT) {
		const char *l1 = ctm_keys_next(&k, NULL), *l2 = ctm_keys_next(&k, l1);
		ck_assert_str_eq(l1, f.expect[2].keys_canon[0]);
		ck_assert_uint_eq(strlen(l2), strlen(f.expect[2].keys_canon[1]));
		ck_assert_int_eq(l2[strlen(l2) - 1], 'Q');
	}
	if (_i == KC_IPV4_EDIT)
		ck_assert_uint_eq(k.ipv4[0], 172);
	char why[256];
	for (size_t i = 0; i < f.n; i++) {
		if (i == ti)
			continue;
		ck_assert_int_eq(ctm_keys_by_name(&db, f.expect[i].name, &k), CTM_OK);
		ck_assert_msg(ctm_t_keys_match(&f, i, &k, why), "%s: %s", what, why);
	}
	free(buf);
	ctm_image_free(&img);
	ctm_t_fixture_free(&f);
}
END_TEST

/* A key line longer than CTM_KEY_LINE_MAX, made by joining a user's 12
 * RSA-4096 lines into one (the writer never makes such a line).  Joining
 * two lines is the control: a long but legal line is accepted. */
START_TEST(forged_key_line_too_long)
{
	bool control = _i == 0;
	size_t join = control ? 2 : 12;
	struct ctm_t_fixture f;
	ctm_t_fixture_init(&f, 1);
	ctm_t_user_set(&f, 0, "alice", 70010, CTM_STATE_ACTIVE, NULL, NULL, NULL);
	for (int i = 0; i < 12; i++)
		ctm_t_user_add_key(&f, 0, CTM_T_RSA4096, CTM_T_RSA4096);
	struct ctm_image pw, kd;
	ctm_t_build(&f, &pw, &kd);
	uint32_t rec = ctm_t_record_of(kd.data, CTM_DB_KEYS, "alice");
	unsigned char *p = kd.data + rec + CTM_KEYREC_FIXED + 6;
	size_t joined = 0;
	for (size_t i = 0; i < join; i++) {
		size_t l = strlen((const char *)p);
		joined += l + (i + 1 < join);
		if (i + 1 < join)
			p[l] = ' ';
		p += l + 1;
	}
	ck_assert(control ? joined < CTM_KEY_LINE_MAX : joined > CTM_KEY_LINE_MAX);
	ctm_t_wr16(kd.data, rec + 22, (uint16_t)(12 - join + 1));
	ctm_t_fix_record(kd.data, kd.size, rec);
	ctm_t_reseal(kd.data, kd.size);
	struct ctm_db db;
	ck_assert_int_eq(ctm_db_from_memory(&db, kd.data, kd.size, CTM_DB_KEYS), CTM_OK);
	struct ctm_keys k;
	ck_assert_int_eq(ctm_keys_by_name(&db, "alice", &k), control ? CTM_OK : CORRUPT);
	if (control)
		ck_assert_uint_eq(strlen(ctm_keys_next(&k, NULL)), joined);
	ctm_image_free(&pw);
	ctm_image_free(&kd);
	ctm_t_fixture_free(&f);
}
END_TEST

static Suite *corrupt_suite(void)
{
	Suite *s = suite_create("snapshot_corrupt");
	TCase *tc = tcase_create("sweeps");
	tcase_add_unchecked_fixture(tc, ctm_t_scratch_setup, ctm_t_scratch_teardown);
	tcase_add_loop_test(tc, truncated_at_every_length, 0, 2);
	tcase_add_loop_test(tc, flipped_at_every_offset, 0, 18);
	tcase_add_loop_test(tc, flipped_files, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("forged");
	tcase_add_unchecked_fixture(tc, ctm_t_scratch_setup, ctm_t_scratch_teardown);
	tcase_add_loop_test(tc, forged_header, 0, 2);
	tcase_add_loop_test(tc, forged_passwd, 0, PWC_COUNT);
	tcase_add_loop_test(tc, forged_keys, 0, KC_COUNT);
	tcase_add_loop_test(tc, forged_key_line_too_long, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	Suite *suites[] = { corrupt_suite(), NULL };
	return ctm_run_suites(suites);
}
