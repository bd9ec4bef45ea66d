/* SPDX-License-Identifier: Apache-2.0 */
#include "crc32c.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define HAVE_X86_CRC 1
#endif

#include "crc32c_tables.h"

/* Slicing-by-8 in software: about one cycle a byte, and no CPU detection.
 * Lookups checksum a few hundred bytes, so this is their path: detecting
 * SSE4.2 costs cpuid instructions, which trap to the hypervisor on a VM and
 * cost more than a whole lookup (measured: ~100 us per process with libgcc's
 * __builtin_cpu_supports, paid by every process that loads the NSS module). */
static uint32_t crc32c_soft(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = crc32c_tables[0][(crc ^ *p++) & 0xffU] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= crc;
		crc = crc32c_tables[7][lo & 0xff] ^ crc32c_tables[6][(lo >> 8) & 0xff] ^
		      crc32c_tables[5][(lo >> 16) & 0xff] ^ crc32c_tables[4][lo >> 24] ^ crc32c_tables[3][hi & 0xff] ^
		      crc32c_tables[2][(hi >> 8) & 0xff] ^ crc32c_tables[1][(hi >> 16) & 0xff] ^
		      crc32c_tables[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc32c_tables[0][(crc ^ *p++) & 0xffU] ^ (crc >> 8);
	return crc;
}

#ifdef HAVE_X86_CRC
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, sizeof v);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return c32;
}

/* Asked once, on the first large checksum (enumeration, full verify). */
static int have_sse42(void)
{
	static atomic_int cached; /* 0 unknown, 1 no, 2 yes */
	int v = atomic_load_explicit(&cached, memory_order_relaxed);
	if (v == 0) {
		unsigned a, b, c, d;
		v = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2) ? 2 : 1;
		atomic_store_explicit(&cached, v, memory_order_relaxed);
	}
	return v == 2;
}
#endif

/* Below this size the software path is as fast as asking the CPU. */
#define HW_THRESHOLD 4096

uint32_t ctm_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	crc = ~crc;
#ifdef HAVE_X86_CRC
	if (len >= HW_THRESHOLD && have_sse42())
		return ~crc32c_hw(crc, p, len);
#endif
	return ~crc32c_soft(crc, p, len);
}
