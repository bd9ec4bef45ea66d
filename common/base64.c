/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 (base64.h): the one decoder and encoder. */
#include "base64.h"

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long ctm_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
	if (len == 0 || len % 4)
		return -1;
	size_t pad = 0;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	size_t outlen = len / 4 * 3 - pad;
	if (outlen > cap)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		for (int j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)in[i + j];
			if (c == '=' && i + 4 == len && j >= 4 - (int)pad)
				v[j] = 0;
			else if ((v[j] = b64val(c)) < 0)
				return -1;
		}
		unsigned long n = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 | (unsigned long)v[2] << 6 |
				  (unsigned long)v[3];
		unsigned char b[3] = { (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n };
		size_t take = i + 4 == len ? 3 - pad : 3;
		/* Canonical: the bits under the padding must be zero. */
		if (i + 4 == len && ((pad == 1 && b[2]) || (pad == 2 && (b[1] || b[2]))))
			return -1;
		for (size_t j = 0; j < take; j++)
			out[o++] = b[j];
	}
	return (long)o;
}

size_t ctm_base64_encode(const void *in_, size_t len, char *out, size_t cap)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *in = in_;
	if (len > (((size_t)-1) - 1) / 4 * 3 - 2 || CTM_BASE64_ENCODED_LEN(len) >= cap)
		return 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned long n = (unsigned long)in[i] << 16;
		if (i + 1 < len)
			n |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < len)
			n |= in[i + 2];
		out[o++] = abc[n >> 18 & 63];
		out[o++] = abc[n >> 12 & 63];
		out[o++] = i + 1 < len ? abc[n >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? abc[n & 63] : '=';
	}
	out[o] = '\0';
	return o;
}
