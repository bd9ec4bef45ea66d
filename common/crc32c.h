/* SPDX-License-Identifier: Apache-2.0 */
/* CRC-32C (Castagnoli), the checksum of every snapshot header, index slot
 * and record.  Chosen over CRC-32 because x86-64 computes it in hardware
 * (SSE4.2), which keeps per-lookup verification in the NSS module cheap.
 * Depends on libc only. */
#ifndef CONTAINARIUM_CRC32C_H
#define CONTAINARIUM_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC over len more bytes.  Start with crc = 0; the result of one
 * call can be passed as crc to the next to checksum discontiguous pieces. */
uint32_t ctm_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
