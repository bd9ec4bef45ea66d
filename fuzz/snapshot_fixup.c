/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot_fixup.h"

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "crc32c.h"
#include "snapshot_format.h"

/* Bound the work on a header that claims millions of slots or entries. */
#define FIXUP_MAX_ITEMS 65536u

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static void wr32(unsigned char *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void fix_record(unsigned char *buf, size_t len, uint32_t off)
{
	if (off == CTM_SLOT_EMPTY || off >= len || len - off < 8)
		return;
	uint32_t rec_len = rd32(buf + off + 4);
	if (rec_len < 4 || rec_len > len - off)
		return;
	wr32(buf + off, ctm_crc32c(0, buf + off + 4, rec_len - 4));
}

/* Visit an index's slots: fix the record each names, then the slot CRC. */
static void fix_index(unsigned char *buf, size_t len, uint32_t index, uint32_t slots)
{
	for (uint32_t i = 0; i < slots && i < FIXUP_MAX_ITEMS; i++) {
		uint64_t at = (uint64_t)index + (uint64_t)i * CTM_SLOT_SIZE;
		if (at + CTM_SLOT_SIZE > len)
			return;
		unsigned char *s = buf + at;
		fix_record(buf, len, rd32(s));
		unsigned char b[12];
		wr32(b, i);
		memcpy(b + 4, s, 8);
		wr32(s + 8, ctm_crc32c(0, b, sizeof b));
	}
}

void snapshot_fixup(unsigned char *buf, size_t len, enum ctm_db_kind kind)
{
	if (len < CTM_HEADER_SIZE || len > UINT32_MAX)
		return;
	uint64_t size = htole64((uint64_t)len);
	memcpy(buf + CTM_H_FILE_SIZE, &size, 8);

	uint32_t count = rd32(buf + CTM_H_ENTRY_COUNT), order = rd32(buf + CTM_H_ORDER);
	for (uint32_t i = 0; i < count && i < FIXUP_MAX_ITEMS; i++) {
		uint64_t at = (uint64_t)order + (uint64_t)i * 4;
		if (at + 4 > len)
			break;
		fix_record(buf, len, rd32(buf + at));
	}
	fix_index(buf, len, rd32(buf + CTM_H_NAME_INDEX), rd32(buf + CTM_H_NAME_SLOTS));
	if (kind == CTM_DB_PASSWD)
		fix_index(buf, len, rd32(buf + CTM_H_ID_INDEX), rd32(buf + CTM_H_ID_SLOTS));

	wr32(buf + CTM_H_DATA_CRC, ctm_crc32c(0, buf + CTM_HEADER_SIZE, len - CTM_HEADER_SIZE));
	wr32(buf + CTM_H_HEADER_CRC, ctm_crc32c(0, buf, CTM_H_HEADER_CRC));
}
