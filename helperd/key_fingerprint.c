/* SPDX-License-Identifier: Apache-2.0 */
#include "key_fingerprint.h"

#include <openssl/evp.h>
#include <string.h>

#include "base64.h"
#include "sshkey.h"

int key_fingerprint(const char *line, char *out, size_t outlen)
{
	struct ctm_sshkey k;
	char msg[8];
	unsigned char blob[CTM_KEY_BLOB_MAX], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (ctm_sshkey_parse(line, strlen(line), &k, msg, sizeof msg) != CTM_KEY_OK)
		return -1;
	long n = ctm_base64_decode(k.b64, k.b64_len, blob, sizeof blob);
	if (n < 0 || !EVP_Digest(blob, (size_t)n, md, &mdlen, EVP_sha256(), NULL))
		return -1;
	unsigned char b64[64];
	int blen = EVP_EncodeBlock(b64, md, (int)mdlen);
	while (blen > 0 && b64[blen - 1] == '=') /* OpenSSH prints it unpadded */
		blen--;
	if (outlen < (size_t)blen + 8)
		return -1;
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, b64, (size_t)blen);
	out[7 + blen] = '\0';
	return 0;
}

int key_same(const char *a, const char *b)
{
	char fa[64], fb[64];
	return key_fingerprint(a, fa, sizeof fa) == 0 && key_fingerprint(b, fb, sizeof fb) == 0 && strcmp(fa, fb) == 0;
}
