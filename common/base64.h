/* SPDX-License-Identifier: Apache-2.0 */
/* Strict base64 (RFC 4648, standard alphabet, padded): decoding for key
 * blobs, and encoding for whatever writes one (the websocket key, test and
 * benchmark keys, the fuzzer's mutator).  One codec for the whole tree.
 * libc only, no allocation. */
#ifndef CONTAINARIUM_BASE64_H
#define CONTAINARIUM_BASE64_H

#include <stddef.h>

/* Characters that encoding len bytes produces (padding included, NUL not). */
#define CTM_BASE64_ENCODED_LEN(len) (((len) + 2) / 3 * 4)

/* Decode in[0..len) into out (capacity cap).  Returns the decoded length, or
 * -1 when the input is not canonical padded base64 or does not fit. */
long ctm_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap);

/* Encode in[0..len) into out (capacity cap), padded and NUL-terminated.
 * Returns the encoded length, or 0 (out untouched) when the encoding and
 * its NUL do not fit in cap. */
size_t ctm_base64_encode(const void *in, size_t len, char *out, size_t cap);

#endif
