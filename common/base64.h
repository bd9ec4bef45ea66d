/* Strict base64 (RFC 4648, standard alphabet, padded) decoding for key blobs. */
#ifndef CONTAINARIUM_BASE64_H
#define CONTAINARIUM_BASE64_H

#include <stddef.h>

/* Decode in[0..len) into out (capacity cap).  Returns the decoded length, or
 * -1 when the input is not canonical padded base64 or does not fit. */
long ctm_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap);

#endif
