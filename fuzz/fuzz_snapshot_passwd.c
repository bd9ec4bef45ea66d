/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: passwd.db images as the NSS module reads them.
 *
 * Each input is opened with ctm_db_from_memory and, when the header is
 * accepted, every lookup the NSS module uses is run: by position, by name
 * (of each record found and of fixed names), by uid, the resume search and
 * both integrity checks.  Besides "no crash, no out-of-bounds read", it
 * asserts what the reader promises:
 *   - every status is one the header documents;
 *   - every user handed out lies inside the image, has NUL-terminated
 *     strings of the stated lengths, a uid inside the header's range, the
 *     header's gid and a known state;
 *   - a hit by name or uid is for that name or uid;
 *   - when ctm_db_verify says OK, every lookup succeeds and agrees with the
 *     order array, and ctm_passwd_seek_after matches the sorted order.
 * Each input runs as given and again with its checksums recomputed
 * (snapshot_fixup.h), so mutations get past the CRCs. */
#include <stdbool.h>

#include "fuzz.h"
#include "snapshot_fixup.h"
#include "snapshot_format.h"
#include "snapshot_reader.h"
#include "snapshot_writer.h" /* CTM_DEFAULT_UID_MIN */

static bool inside(const struct ctm_db *db, const char *p, size_t len)
{
	const char *lo = (const char *)db->map;
	return p >= lo && p <= lo + db->size && len < (size_t)(lo + db->size - p);
}

static void check_user(const struct ctm_db *db, const struct ctm_user *u)
{
	FUZZ_ASSERT(inside(db, u->name, u->name_len) && strlen(u->name) == u->name_len);
	FUZZ_ASSERT(inside(db, u->gecos, u->gecos_len) && strlen(u->gecos) == u->gecos_len);
	FUZZ_ASSERT(inside(db, u->home, u->home_len) && strlen(u->home) == u->home_len);
	FUZZ_ASSERT(inside(db, u->shell, u->shell_len) && strlen(u->shell) == u->shell_len);
	FUZZ_ASSERT(u->name_len >= 1 && u->name_len <= CTM_NAME_MAX);
	FUZZ_ASSERT(u->uid >= db->uid_min && u->uid <= db->uid_max);
	FUZZ_ASSERT(u->gid == db->gid);
	FUZZ_ASSERT(u->state >= CTM_STATE_MIN && u->state <= CTM_STATE_MAX);
}

static bool lookup_status(int r)
{
	return r == CTM_OK || r == CTM_NOTFOUND || r == CTM_ERR_CORRUPT;
}

static void by_name(const struct ctm_db *db, const char *name, bool verified)
{
	struct ctm_user u;
	int r = ctm_passwd_by_name(db, name, &u);
	FUZZ_ASSERT(lookup_status(r));
	if (r == CTM_OK) {
		check_user(db, &u);
		FUZZ_ASSERT(strcmp(u.name, name) == 0);
	}
	uint32_t idx = UINT32_MAX;
	r = ctm_passwd_seek_after(db, name, &idx);
	FUZZ_ASSERT(r == CTM_OK || r == CTM_ERR_CORRUPT);
	if (verified) {
		/* Sorted order: everything before idx sorts <= name, the rest after. */
		FUZZ_ASSERT(r == CTM_OK && idx <= db->count);
		if (idx > 0 && idx - 1 < FUZZ_MAX_ENTRIES) {
			FUZZ_ASSERT(ctm_passwd_at(db, idx - 1, &u) == CTM_OK);
			FUZZ_ASSERT(strcmp(u.name, name) <= 0);
		}
		if (idx < db->count && idx < FUZZ_MAX_ENTRIES) {
			FUZZ_ASSERT(ctm_passwd_at(db, idx, &u) == CTM_OK);
			FUZZ_ASSERT(strcmp(u.name, name) > 0);
		}
	}
}

static void by_uid(const struct ctm_db *db, uint32_t uid)
{
	struct ctm_user u;
	int r = ctm_passwd_by_uid(db, uid, &u);
	FUZZ_ASSERT(lookup_status(r));
	if (r == CTM_OK) {
		check_user(db, &u);
		FUZZ_ASSERT(u.uid == uid);
	}
	if (uid < db->uid_min || uid > db->uid_max)
		FUZZ_ASSERT(r == CTM_NOTFOUND);
}

static void exercise(const unsigned char *img, size_t len)
{
	struct ctm_db db;
	int r = ctm_db_from_memory(&db, img, len, CTM_DB_PASSWD);
	FUZZ_ASSERT(r == CTM_OK || r == CTM_ERR_CORRUPT);
	if (r != CTM_OK) {
		FUZZ_ASSERT(db.map == NULL && db.size == 0);
		return;
	}
	FUZZ_ASSERT(db.map == img && db.size == len && !db.mapped && db.kind == CTM_DB_PASSWD);
	FUZZ_ASSERT(strlen(db.group_name) >= 1 && strlen(db.group_name) <= CTM_GROUP_NAME_MAX);

	int data = ctm_db_check_data(&db);
	FUZZ_ASSERT(data == CTM_OK || data == CTM_ERR_CORRUPT);
	int v = ctm_db_verify(&db);
	FUZZ_ASSERT(v == CTM_OK || v == CTM_ERR_CORRUPT);
	bool verified = v == CTM_OK;
	if (verified)
		FUZZ_ASSERT(data == CTM_OK);

	uint32_t n = db.count < FUZZ_MAX_ENTRIES ? db.count : FUZZ_MAX_ENTRIES;
	for (uint32_t i = 0; i < n; i++) {
		struct ctm_user u, w;
		r = ctm_passwd_at(&db, i, &u);
		FUZZ_ASSERT(r == CTM_OK || r == CTM_ERR_CORRUPT);
		if (verified)
			FUZZ_ASSERT(r == CTM_OK);
		if (r != CTM_OK)
			continue;
		check_user(&db, &u);
		by_name(&db, u.name, verified);
		by_uid(&db, u.uid);
		by_uid(&db, u.uid + 1);
		if (verified) {
			/* The indexes lead to the very record the order array names. */
			FUZZ_ASSERT(ctm_passwd_by_name(&db, u.name, &w) == CTM_OK && w.name == u.name);
			FUZZ_ASSERT(ctm_passwd_by_uid(&db, u.uid, &w) == CTM_OK && w.name == u.name);
			uint32_t idx;
			FUZZ_ASSERT(ctm_passwd_seek_after(&db, u.name, &idx) == CTM_OK && idx == i + 1);
		}
	}
	FUZZ_ASSERT(ctm_passwd_at(&db, db.count, &(struct ctm_user){ 0 }) == CTM_NOTFOUND);
	for (size_t i = 0; i < FUZZ_NFIXED_NAMES; i++)
		by_name(&db, fuzz_fixed_names[i], verified);
	const uint32_t uids[] = {
		0, 1, db.uid_min, db.uid_max, db.uid_min - 1, db.uid_max + 1, CTM_DEFAULT_UID_MIN, UINT32_MAX
	};
	for (size_t i = 0; i < sizeof uids / sizeof uids[0]; i++)
		by_uid(&db, uids[i]);
	ctm_db_close(&db);
	FUZZ_ASSERT(db.map == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *img = fuzz_dup(data, size);
	exercise(img, size);
	snapshot_fixup(img, size, CTM_DB_PASSWD);
	if (size && memcmp(img, data, size) != 0)
		exercise(img, size);
	free(img);
	return 0;
}
