/* SPDX-License-Identifier: Apache-2.0 */
/* Forging corrupt snapshots that get past every checksum: edit a field, then
 * recompute the CRCs that cover it, so the reader's specific check for that
 * field is what rejects the file (without this, the header or record CRC
 * would reject every edit and no specific check would ever run). */
#ifndef CONTAINARIUM_TEST_SUPPORT_FORGE_H
#define CONTAINARIUM_TEST_SUPPORT_FORGE_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot_reader.h"
#include "snapshot_writer.h"

/* A malloc'd copy of exactly img->size bytes (so ASan sees any over-read). */
unsigned char *ctm_t_dup(const struct ctm_image *img);

/* Recompute the CRC of the record at off from its own rec_len. */
void ctm_t_fix_record(unsigned char *img, size_t size, uint32_t off);
/* Set slot i of the index at index_off to (rec, hash) with a correct CRC. */
void ctm_t_set_slot(unsigned char *img, uint32_t index_off, uint32_t i, uint32_t rec, uint32_t hash);
void ctm_t_get_slot(const unsigned char *img, uint32_t index_off, uint32_t i, uint32_t *rec, uint32_t *hash);
/* Recompute data_crc, then header_crc. */
void ctm_t_reseal(unsigned char *img, size_t size);
/* Recompute header_crc only. */
void ctm_t_fix_header(unsigned char *img);

/* Record offset of name, found through the order array. */
uint32_t ctm_t_record_of(const unsigned char *img, enum ctm_db_kind kind, const char *name);
/* Slot number of the index at index_off (slots entries) that holds rec. */
uint32_t ctm_t_slot_of(const unsigned char *img, uint32_t index_off, uint32_t slots, uint32_t rec);

#endif
