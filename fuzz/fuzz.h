/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the libFuzzer targets: the entry points libFuzzer calls, an
 * exact-size heap copy of the input (so AddressSanitizer reports a read one
 * byte past the end), and a property check that aborts, which libFuzzer
 * records as a crash with the input that caused it. */
#ifndef CONTAINARIUM_FUZZ_H
#define CONTAINARIUM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

#define FUZZ_ASSERT(cond)                                                                                              \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond);                  \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

/* A copy of data[0..size) in a heap block of exactly size bytes (one byte
 * for an empty input, which is then never read). */
static inline unsigned char *fuzz_dup(const void *data, size_t size)
{
	unsigned char *p = malloc(size ? size : 1);
	if (!p)
		abort();
	if (size)
		memcpy(p, data, size);
	return p;
}

/* Names every snapshot target also looks up, whatever the input holds:
 * empty, reserved, typical, the longest valid, one too long, bytes above
 * 0x7f, and names that sort before and after everything. */
static const char *const fuzz_fixed_names[] = {
	"",
	"root",
	"alice",
	"bob",
	"a",
	"z",
	"zzzzzzzz",
	"0",
	"-",
	"\xff\xfe",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  /* 32: the longest valid name */
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 33: one too long */
};
#define FUZZ_NFIXED_NAMES (sizeof fuzz_fixed_names / sizeof fuzz_fixed_names[0])

/* Entries each snapshot target walks at most, so a header claiming 2^24
 * entries cannot turn one input into a timeout. */
#define FUZZ_MAX_ENTRIES 4096u

#endif
