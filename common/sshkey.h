/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSH public key validation.  Every key that reaches an authorized_keys
 * line (the container's, or sshd through containarium-authorized-keys) has
 * passed this parser, so key text can never carry options, a second line, or
 * anything sshd would read as more than one key.  libc only. */
#ifndef CONTAINARIUM_SSHKEY_H
#define CONTAINARIUM_SSHKEY_H

#include <stddef.h>

enum ctm_key_error {
	CTM_KEY_OK = 0,
	CTM_KEY_EMPTY,
	CTM_KEY_TOO_LONG,
	CTM_KEY_NUL,
	CTM_KEY_NEWLINE,
	CTM_KEY_CONTROL,
	CTM_KEY_PRIVATE,
	CTM_KEY_RFC4716,
	CTM_KEY_OPTIONS,
	CTM_KEY_UNKNOWN_TYPE,
	CTM_KEY_DSA,
	CTM_KEY_CERT,
	CTM_KEY_NO_BLOB,
	CTM_KEY_BAD_BASE64,
	CTM_KEY_BLOB_TOO_LONG,
	CTM_KEY_BAD_BLOB,
	CTM_KEY_TYPE_MISMATCH,
	CTM_KEY_ED25519_SIZE,
	CTM_KEY_ECDSA_CURVE,
	CTM_KEY_ECDSA_POINT,
	CTM_KEY_RSA_EXPONENT,
	CTM_KEY_RSA_SIZE,
	CTM_KEY_SK_APPLICATION,
	CTM_KEY_TRAILING_DATA,
	CTM_KEY_COMMENT,
};

#define CTM_KEY_TYPE_MAX 40
#define CTM_KEY_COMMENT_MAX 1024
#define CTM_KEY_BLOB_MAX 4096
#define CTM_RSA_MIN_BITS 2048
#define CTM_RSA_MAX_BITS 16384

struct ctm_sshkey {
	char type[CTM_KEY_TYPE_MAX + 1];
	const char *b64; /* points into the input */
	size_t b64_len;
	const char *comment; /* points into the input; may be empty */
	size_t comment_len;
	unsigned bits; /* key size: RSA modulus bits, 256 for ed25519, curve bits for ECDSA */
};

/* Parse one public key line, line[0..len).  Leading and trailing spaces and
 * tabs are ignored.  On failure writes a sentence naming the problem and what
 * to do into msg. */
enum ctm_key_error ctm_sshkey_parse(const char *line, size_t len, struct ctm_sshkey *key, char *msg, size_t msglen);

/* Write the canonical line "type base64[ comment]" with a NUL; returns its
 * length, or the length it would need (>= buflen means it did not fit). */
size_t ctm_sshkey_format(const struct ctm_sshkey *key, char *buf, size_t buflen);

#endif
