/* SPDX-License-Identifier: Apache-2.0 */
#include "support_forge.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "snapshot_format.h"
#include "support_snapshot.h"

unsigned char *ctm_t_dup(const struct ctm_image *img)
{
	unsigned char *p = malloc(img->size ? img->size : 1);
	ck_assert_ptr_nonnull(p);
	memcpy(p, img->data, img->size);
	return p;
}

void ctm_t_fix_record(unsigned char *img, size_t size, uint32_t off)
{
	uint32_t len = ctm_t_rd32(img, off + 4);
	ck_assert_msg(len >= 8 && off + (size_t)len <= size, "forged record length %u out of bounds", len);
	ctm_t_wr32(img, off, ctm_crc32c(0, img + off + 4, len - 4));
}

void ctm_t_set_slot(unsigned char *img, uint32_t index_off, uint32_t i, uint32_t rec, uint32_t hash)
{
	unsigned char b[12];
	ctm_t_wr32(b, 0, i);
	ctm_t_wr32(b, 4, rec);
	ctm_t_wr32(b, 8, hash);
	size_t s = index_off + (size_t)i * CTM_SLOT_SIZE;
	memcpy(img + s, b + 4, 8);
	ctm_t_wr32(img, s + 8, ctm_crc32c(0, b, sizeof b));
}

void ctm_t_get_slot(const unsigned char *img, uint32_t index_off, uint32_t i, uint32_t *rec, uint32_t *hash)
{
	size_t s = index_off + (size_t)i * CTM_SLOT_SIZE;
	*rec = ctm_t_rd32(img, s);
	*hash = ctm_t_rd32(img, s + 4);
}

void ctm_t_fix_header(unsigned char *img)
{
	ctm_t_wr32(img, CTM_H_HEADER_CRC, ctm_crc32c(0, img, CTM_H_HEADER_CRC));
}

void ctm_t_reseal(unsigned char *img, size_t size)
{
	ctm_t_wr32(img, CTM_H_DATA_CRC, ctm_crc32c(0, img + CTM_HEADER_SIZE, size - CTM_HEADER_SIZE));
	ctm_t_fix_header(img);
}

uint32_t ctm_t_record_of(const unsigned char *img, enum ctm_db_kind kind, const char *name)
{
	uint32_t count = ctm_t_rd32(img, CTM_H_ENTRY_COUNT), order = ctm_t_rd32(img, CTM_H_ORDER);
	size_t fixed = kind == CTM_DB_PASSWD ? CTM_PWREC_FIXED : CTM_KEYREC_FIXED;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t rec = ctm_t_rd32(img, order + 4 * (size_t)i);
		if (strcmp((const char *)img + rec + fixed, name) == 0)
			return rec;
	}
	ck_abort_msg("no record for %s", name);
	return 0;
}

uint32_t ctm_t_slot_of(const unsigned char *img, uint32_t index_off, uint32_t slots, uint32_t rec)
{
	for (uint32_t i = 0; i < slots; i++) {
		uint32_t r, h;
		ctm_t_get_slot(img, index_off, i, &r, &h);
		if (r == rec)
			return i;
	}
	ck_abort_msg("no slot for record %u", rec);
	return 0;
}
