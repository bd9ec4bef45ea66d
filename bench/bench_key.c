/* SPDX-License-Identifier: Apache-2.0 */
/* The benchmarks' SSH key lines (bench_key.h). */
#include "bench_key.h"

#include <stdio.h>
#include <string.h>

#include "base64.h"

void bench_key_line(uint32_t i, const char *name, char *out, size_t outlen)
{
	unsigned char blob[4 + 11 + 4 + 32];
	memcpy(blob, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
	uint32_t x = i * 2654435761u + 12345u;
	for (int b = 0; b < 32; b++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		blob[19 + b] = (unsigned char)x;
	}
	char b64[80];
	ctm_base64_encode(blob, sizeof blob, b64, sizeof b64);
	snprintf(out, outlen, "ssh-ed25519 %s %s@bench", b64, name);
}
