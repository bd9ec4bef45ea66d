/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: keys.db images as containarium-authorized-keys reads them.
 *
 * Each input is opened with ctm_db_from_memory and, when the header is
 * accepted, every entry is read by position and by name, fixed names are
 * looked up, and each entry's key lines are walked with ctm_keys_next the way
 * the keys command prints them.  Asserted besides "no crash, no
 * out-of-bounds read":
 *   - every status is one the header documents;
 *   - an entry lies inside the image, its name is 1..CTM_NAME_MAX bytes, its
 *     state known, and it has exactly key_count lines, each non-empty, at
 *     most CTM_KEY_LINE_MAX bytes and free of control characters (each is
 *     printed to sshd as one authorized_keys line), the last ending at
 *     keys_end;
 *   - a hit by name is for that name;
 *   - when ctm_db_verify says OK, every entry reads and the name index leads
 *     to the record the order array names.
 * Each input runs as given and again with its checksums recomputed
 * (snapshot_fixup.h), so mutations get past the CRCs. */
#include <stdbool.h>

#include "fuzz.h"
#include "snapshot_fixup.h"
#include "snapshot_format.h"
#include "snapshot_reader.h"

static bool inside(const struct ctm_db *db, const char *p, size_t len)
{
	const char *lo = (const char *)db->map;
	return p >= lo && p <= lo + db->size && len < (size_t)(lo + db->size - p);
}

static void check_keys(const struct ctm_db *db, const struct ctm_keys *k)
{
	size_t name_len = strnlen(k->name, CTM_NAME_MAX + 1);
	FUZZ_ASSERT(name_len >= 1 && name_len <= CTM_NAME_MAX && inside(db, k->name, name_len));
	FUZZ_ASSERT(k->state >= CTM_STATE_MIN && k->state <= CTM_STATE_MAX);
	FUZZ_ASSERT(k->key_count <= CTM_KEYS_PER_USER_MAX);
	FUZZ_ASSERT(k->keys <= k->keys_end && k->keys_end <= (const char *)db->map + db->size);
	uint32_t lines = 0;
	const char *last_end = k->keys;
	for (const char *line = ctm_keys_next(k, NULL); line; line = ctm_keys_next(k, line)) {
		FUZZ_ASSERT(lines < CTM_KEYS_PER_USER_MAX);
		size_t len = strnlen(line, (size_t)(k->keys_end - line));
		FUZZ_ASSERT(len >= 1 && len <= CTM_KEY_LINE_MAX && line + len < k->keys_end);
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)line[i];
			FUZZ_ASSERT(c >= 0x20 && c != 0x7f);
		}
		last_end = line + len + 1;
		lines++;
	}
	FUZZ_ASSERT(lines == k->key_count && last_end == k->keys_end);
}

static void by_name(const struct ctm_db *db, const char *name)
{
	struct ctm_keys k;
	int r = ctm_keys_by_name(db, name, &k);
	FUZZ_ASSERT(r == CTM_OK || r == CTM_NOTFOUND || r == CTM_ERR_CORRUPT);
	if (r == CTM_OK) {
		check_keys(db, &k);
		FUZZ_ASSERT(strcmp(k.name, name) == 0);
	}
}

static void exercise(const unsigned char *img, size_t len)
{
	struct ctm_db db;
	int r = ctm_db_from_memory(&db, img, len, CTM_DB_KEYS);
	FUZZ_ASSERT(r == CTM_OK || r == CTM_ERR_CORRUPT);
	if (r != CTM_OK) {
		FUZZ_ASSERT(db.map == NULL && db.size == 0);
		return;
	}
	FUZZ_ASSERT(db.map == img && db.size == len && !db.mapped && db.kind == CTM_DB_KEYS);
	FUZZ_ASSERT(db.id_index == 0 && db.id_slots == 0);

	int data = ctm_db_check_data(&db);
	FUZZ_ASSERT(data == CTM_OK || data == CTM_ERR_CORRUPT);
	int v = ctm_db_verify(&db);
	FUZZ_ASSERT(v == CTM_OK || v == CTM_ERR_CORRUPT);
	bool verified = v == CTM_OK;
	if (verified)
		FUZZ_ASSERT(data == CTM_OK);

	uint32_t n = db.count < FUZZ_MAX_ENTRIES ? db.count : FUZZ_MAX_ENTRIES;
	for (uint32_t i = 0; i < n; i++) {
		struct ctm_keys k, l;
		r = ctm_keys_at(&db, i, &k);
		FUZZ_ASSERT(r == CTM_OK || r == CTM_ERR_CORRUPT);
		if (verified)
			FUZZ_ASSERT(r == CTM_OK);
		if (r != CTM_OK)
			continue;
		check_keys(&db, &k);
		by_name(&db, k.name);
		if (verified)
			FUZZ_ASSERT(ctm_keys_by_name(&db, k.name, &l) == CTM_OK && l.name == k.name);
	}
	FUZZ_ASSERT(ctm_keys_at(&db, db.count, &(struct ctm_keys){ 0 }) == CTM_NOTFOUND);
	for (size_t i = 0; i < FUZZ_NFIXED_NAMES; i++)
		by_name(&db, fuzz_fixed_names[i]);
	ctm_db_close(&db);
	FUZZ_ASSERT(db.map == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *img = fuzz_dup(data, size);
	exercise(img, size);
	snapshot_fixup(img, size, CTM_DB_KEYS);
	if (size && memcmp(img, data, size) != 0)
		exercise(img, size);
	free(img);
	return 0;
}
