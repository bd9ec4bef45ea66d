/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: one public key line, as ctm_sshkey_parse sees it from
 * the CLI, helperd and the snapshot writer.
 *
 * Asserted besides "no crash, no out-of-bounds read":
 *   - the result does not depend on whether a message buffer is given, and
 *     the message is always NUL-terminated inside a small buffer: empty on
 *     success, non-empty on failure;
 *   - an accepted key's canonical line (ctm_sshkey_format) is no longer than
 *     the input (the snapshot writer sizes its buffer on that), fits the
 *     exact size the sizing call reports, truncates with a NUL in a buffer
 *     one byte short, holds no control character, and parses again to the
 *     same type, blob, comment and bits, with the same canonical line;
 *   - a certificate or a DSA key is refused as such (CTM_KEY_CERT,
 *     CTM_KEY_DSA), never with the generic CTM_KEY_UNKNOWN_TYPE, whose
 *     message would send the user looking for a different key type.
 * A custom mutator sometimes decodes the base64 field, mutates the blob
 * itself and encodes it again, so the SSH wire-format checks behind the
 * base64 layer get exercised, not only the base64 decoder. */
#include <stdbool.h>

#include "base64.h"
#include "fuzz.h"
#include "snapshot_format.h"
#include "sshkey.h"

#define MSG_CAP 16

static void check_canonical(const struct ctm_sshkey *key, size_t input_len)
{
	size_t need = ctm_sshkey_format(key, NULL, 0);
	FUZZ_ASSERT(need >= 1 && need <= input_len && need <= CTM_KEY_LINE_MAX);

	char *buf = malloc(need + 1);
	FUZZ_ASSERT(buf);
	FUZZ_ASSERT(ctm_sshkey_format(key, buf, need + 1) == need && strlen(buf) == need);
	char *shortbuf = malloc(need);
	FUZZ_ASSERT(shortbuf);
	FUZZ_ASSERT(ctm_sshkey_format(key, shortbuf, need) == need);
	FUZZ_ASSERT(strlen(shortbuf) == need - 1 && memcmp(shortbuf, buf, need - 1) == 0);
	free(shortbuf);

	size_t tlen = strlen(key->type);
	FUZZ_ASSERT(memcmp(buf, key->type, tlen) == 0 && buf[tlen] == ' ');
	for (size_t i = 0; i < need; i++)
		FUZZ_ASSERT((unsigned char)buf[i] >= 0x20 && (unsigned char)buf[i] != 0x7f);

	unsigned char *canon = fuzz_dup(buf, need);
	struct ctm_sshkey again;
	FUZZ_ASSERT(ctm_sshkey_parse((const char *)canon, need, &again, NULL, 0) == CTM_KEY_OK);
	FUZZ_ASSERT(strcmp(again.type, key->type) == 0);
	FUZZ_ASSERT(again.b64_len == key->b64_len && memcmp(again.b64, key->b64, key->b64_len) == 0);
	FUZZ_ASSERT(again.comment_len == key->comment_len &&
		    memcmp(again.comment, key->comment, key->comment_len) == 0);
	FUZZ_ASSERT(again.bits == key->bits);
	char *buf2 = malloc(need + 1);
	FUZZ_ASSERT(buf2);
	FUZZ_ASSERT(ctm_sshkey_format(&again, buf2, need + 1) == need && memcmp(buf, buf2, need + 1) == 0);
	free(buf2);
	free(canon);
	free(buf);
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* The first field of the line: the key type, or what stands in its place. */
static void first_token(const char *line, size_t len, const char **tok, size_t *tlen)
{
	size_t i = 0;
	while (i < len && is_space((uint8_t)line[i]))
		i++;
	size_t j = i;
	while (j < len && !is_space((uint8_t)line[j]))
		j++;
	*tok = line + i;
	*tlen = j - i;
}

static void check_refusal(const char *line, size_t len, enum ctm_key_error r)
{
	static const char cert[] = "-cert-v01@openssh.com";
	const size_t clen = sizeof cert - 1;
	const char *tok;
	size_t tlen;
	if (r != CTM_KEY_UNKNOWN_TYPE)
		return;
	first_token(line, len, &tok, &tlen);
	FUZZ_ASSERT(!(tlen > clen && memcmp(tok + tlen - clen, cert, clen) == 0));
	FUZZ_ASSERT(!(tlen == 7 && memcmp(tok, "ssh-dss", 7) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)fuzz_dup(data, size);
	char *msg = malloc(MSG_CAP);
	FUZZ_ASSERT(msg);
	memset(msg, 'X', MSG_CAP);
	struct ctm_sshkey key, key2;
	enum ctm_key_error r = ctm_sshkey_parse(line, size, &key, msg, MSG_CAP);
	FUZZ_ASSERT(strnlen(msg, MSG_CAP) < MSG_CAP);
	FUZZ_ASSERT(ctm_sshkey_parse(line, size, &key2, NULL, 0) == r);
	if (r == CTM_KEY_OK) {
		FUZZ_ASSERT(msg[0] == '\0');
		FUZZ_ASSERT(key.b64 >= line && key.b64 + key.b64_len <= line + size && key.b64_len > 0);
		FUZZ_ASSERT(key.comment >= line && key.comment + key.comment_len <= line + size);
		FUZZ_ASSERT(strnlen(key.type, sizeof key.type) < sizeof key.type && key.bits > 0);
		check_canonical(&key, size);
	} else {
		FUZZ_ASSERT(r > CTM_KEY_OK && r <= CTM_KEY_COMMENT && msg[0] != '\0');
		check_refusal(line, size, r);
	}
	free(msg);
	free((void *)line);
	return 0;
}

/* ---- structure-aware mutation of the base64 field ---- */

/* Blobs a little larger than any accepted key, to reach the size checks. */
#define BLOB_CAP (CTM_KEY_BLOB_MAX + 64)

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	if (seed % 3 == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	size_t t = 0;
	while (t < size && is_space(data[t]))
		t++;
	while (t < size && !is_space(data[t]))
		t++;
	size_t b = t;
	while (b < size && is_space(data[b]))
		b++;
	size_t e = b;
	while (e < size && !is_space(data[e]))
		e++;
	static unsigned char blob[BLOB_CAP];
	long n = e > b ? ctm_base64_decode((const char *)data + b, e - b, blob, sizeof blob) : -1;
	if (n < 0)
		return LLVMFuzzerMutate(data, size, max_size);
	size_t m = LLVMFuzzerMutate(blob, (size_t)n, sizeof blob);
	static char enc[CTM_BASE64_ENCODED_LEN(BLOB_CAP) + 1];
	size_t elen = ctm_base64_encode(blob, m, enc, sizeof enc);
	size_t tail = size - e;
	if (b + elen + tail > max_size)
		return LLVMFuzzerMutate(data, size, max_size);
	memmove(data + b + elen, data + e, tail);
	memcpy(data + b, enc, elen);
	return b + elen + tail;
}
