/* SPDX-License-Identifier: Apache-2.0 */
/* Make a mutated snapshot image pass its checksums again.
 *
 * Every header, slot and record carries a CRC-32C, so almost every random
 * mutation is rejected at the first checksum and the fuzzer would never
 * reach the code behind it (string lengths, probing, the order array).  The
 * snapshot targets therefore run each input twice: as given, and after this
 * fixup, which rewrites file_size and recomputes every checksum it can find,
 * leaving all other bytes as the fuzzer made them. */
#ifndef CONTAINARIUM_FUZZ_SNAPSHOT_FIXUP_H
#define CONTAINARIUM_FUZZ_SNAPSHOT_FIXUP_H

#include <stddef.h>

#include "snapshot_reader.h"

/* Recompute, in place: the CRC of each record named by the order array or an
 * index slot (when its rec_len fits the buffer), each slot CRC, data_crc,
 * file_size and header_crc.  Every access is bounds-checked against len. */
void snapshot_fixup(unsigned char *buf, size_t len, enum ctm_db_kind kind);

#endif
