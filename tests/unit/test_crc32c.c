/* SPDX-License-Identifier: Apache-2.0 */
/* CRC-32C: known answers, and the software and hardware paths agree at
 * every length and alignment (the hardware path starts at 4 KiB). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "harness.h"

START_TEST(known_answers)
{
	/* RFC 3720 (iSCSI) B.4 and the usual check value. */
	ck_assert_uint_eq(ctm_crc32c(0, "123456789", 9), 0xe3069283u);
	unsigned char zeros[32] = { 0 }, ones[32];
	memset(ones, 0xff, sizeof ones);
	ck_assert_uint_eq(ctm_crc32c(0, zeros, 32), 0x8a9136aau);
	ck_assert_uint_eq(ctm_crc32c(0, ones, 32), 0x62a8ab43u);
	ck_assert_uint_eq(ctm_crc32c(0, "", 0), 0);
}
END_TEST

/* Reference: bit at a time, straight from the definition. */
static uint32_t crc_bitwise(const unsigned char *p, size_t len)
{
	uint32_t c = 0xffffffffu;
	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

START_TEST(paths_agree)
{
	size_t n = 3 * 4096 + 77;
	unsigned char *buf = malloc(n + 8);
	ck_assert_ptr_nonnull(buf);
	srand(7);
	for (size_t i = 0; i < n + 8; i++)
		buf[i] = (unsigned char)rand();
	size_t lengths[] = { 1, 7, 8, 9, 63, 4095, 4096, 4097, 8191, n };
	for (size_t a = 0; a < 8; a++)
		for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
			ck_assert_uint_eq(ctm_crc32c(0, buf + a, lengths[i]), crc_bitwise(buf + a, lengths[i]));
	/* Chaining: two pieces give the CRC of the whole. */
	uint32_t part = ctm_crc32c(0, buf, 5000);
	ck_assert_uint_eq(ctm_crc32c(part, buf + 5000, n - 5000), crc_bitwise(buf, n));
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crc32c");
	TCase *tc = tcase_create("crc32c");
	tcase_add_test(tc, known_answers);
	tcase_add_test(tc, paths_agree);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
