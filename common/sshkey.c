/* SPDX-License-Identifier: Apache-2.0 */
#include "sshkey.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "snapshot_format.h"

enum key_family { FAM_ED25519, FAM_SK_ED25519, FAM_ECDSA, FAM_SK_ECDSA, FAM_RSA };

static const struct key_type {
	const char *name;
	enum key_family family;
	const char *curve; /* ECDSA: the curve name inside the blob */
	size_t point_len;  /* ECDSA: uncompressed point size; ed25519: key size */
	unsigned bits;
} key_types[] = {
	{ "ssh-ed25519", FAM_ED25519, NULL, 32, 256 },
	{ "sk-ssh-ed25519@openssh.com", FAM_SK_ED25519, NULL, 32, 256 },
	{ "ecdsa-sha2-nistp256", FAM_ECDSA, "nistp256", 65, 256 },
	{ "ecdsa-sha2-nistp384", FAM_ECDSA, "nistp384", 97, 384 },
	{ "ecdsa-sha2-nistp521", FAM_ECDSA, "nistp521", 133, 521 },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", FAM_SK_ECDSA, "nistp256", 65, 256 },
	{ "ssh-rsa", FAM_RSA, NULL, 0, 0 },
};
#define SUPPORTED                                                                                                      \
	"ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (2048 bits or more), "                                      \
	"sk-ssh-ed25519@openssh.com or sk-ecdsa-sha2-nistp256@openssh.com"

static const struct key_type *find_type(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof key_types / sizeof key_types[0]; i++)
		if (strlen(key_types[i].name) == len && memcmp(key_types[i].name, s, len) == 0)
			return &key_types[i];
	return NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* A cursor over an SSH wire-format blob (RFC 4251 strings). */
struct wire {
	const unsigned char *p;
	size_t left;
};

static bool wire_string(struct wire *w, const unsigned char **s, size_t *len)
{
	if (w->left < 4)
		return false;
	uint32_t n = (uint32_t)w->p[0] << 24 | (uint32_t)w->p[1] << 16 | (uint32_t)w->p[2] << 8 | w->p[3];
	if (n > w->left - 4)
		return false;
	*s = w->p + 4;
	*len = n;
	w->p += 4 + n;
	w->left -= 4 + n;
	return true;
}

/* Valid UTF-8 with no C0/C1 control characters or DEL. */
static bool comment_ok(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
		if (n == 0 || c > 0xf4 || i + n > len)
			return false;
		uint32_t cp = c & (0xff >> (n + 1));
		for (size_t j = 1; j < n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += n;
	}
	return true;
}

/* Bits in a big-endian mpint magnitude (RFC 4251: no unneeded leading zero). */
static unsigned mpint_bits(const unsigned char *s, size_t len, bool *ok)
{
	*ok = true;
	if (len == 0)
		return 0;
	if (s[0] & 0x80) { /* negative */
		*ok = false;
		return 0;
	}
	if (s[0] == 0 && (len == 1 || !(s[1] & 0x80))) { /* non-minimal encoding */
		*ok = false;
		return 0;
	}
	size_t i = 0;
	while (i < len && s[i] == 0)
		i++;
	if (i == len)
		return 0;
	unsigned bits = (unsigned)(len - i - 1) * 8;
	for (unsigned char c = s[i]; c; c >>= 1)
		bits++;
	return bits;
}

enum ctm_key_error ctm_sshkey_parse(const char *line, size_t len, struct ctm_sshkey *key, char *msg, size_t msglen)
{
#define FAIL(code, ...)                                                                                                \
	do {                                                                                                           \
		if (msglen)                                                                                            \
			snprintf(msg, msglen, __VA_ARGS__);                                                            \
		return code;                                                                                           \
	} while (0)
	memset(key, 0, sizeof *key);
	if (len > CTM_KEY_LINE_MAX)
		FAIL(CTM_KEY_TOO_LONG,
		     "SSH key is %zu bytes long: the limit is %d; give one public "
		     "key (the contents of a .pub file)",
		     len, CTM_KEY_LINE_MAX);
	if (memchr(line, '\0', len))
		FAIL(CTM_KEY_NUL, "SSH key contains a NUL byte: give the text of a .pub file");
	if (memchr(line, '\n', len) || memchr(line, '\r', len))
		FAIL(CTM_KEY_NEWLINE, "SSH key contains a line break: give exactly one key, on one "
				      "line (add further keys one at a time)");
	while (len && is_space(line[0])) {
		line++;
		len--;
	}
	while (len && is_space(line[len - 1]))
		len--;
	if (len == 0)
		FAIL(CTM_KEY_EMPTY, "SSH key is empty: give the contents of a .pub file, such as "
				    "~/.ssh/id_ed25519.pub");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			FAIL(CTM_KEY_CONTROL,
			     "SSH key contains the control character 0x%02x at byte %zu: "
			     "give the plain text of a .pub file",
			     c, i + 1);
	}
	if (len >= 10 && memcmp(line, "-----BEGIN", 10) == 0)
		FAIL(CTM_KEY_PRIVATE, "this is a PEM or private key, not an OpenSSH public key: give "
				      "the .pub file (ssh-keygen -y -f KEYFILE prints it)");
	if (len >= 10 && memcmp(line, "---- BEGIN", 10) == 0)
		FAIL(CTM_KEY_RFC4716, "this is an RFC 4716 (SSH2) public key: convert it with "
				      "ssh-keygen -i -f FILE and give the one-line result");

	size_t tlen = 0;
	while (tlen < len && !is_space(line[tlen]))
		tlen++;
	const struct key_type *kt = find_type(line, tlen);
	if (!kt) {
		/* An options prefix: the first token holds option syntax, or a
		 * key type appears later on the line. */
		bool opts = memchr(line, '=', tlen) || memchr(line, ',', tlen) || memchr(line, '"', tlen);
		for (size_t i = tlen; !opts && i < len; i++)
			if (is_space(line[i - 1]) && !is_space(line[i])) {
				size_t j = i;
				while (j < len && !is_space(line[j]))
					j++;
				opts = find_type(line + i, j - i) != NULL;
			}
		if (opts)
			FAIL(CTM_KEY_OPTIONS,
			     "SSH key starts with authorized_keys options (\"%.*s\"): give "
			     "only \"type base64 comment\"; containarium sets the options itself",
			     (int)(tlen > 40 ? 40 : tlen), line);
		if (tlen == 7 && memcmp(line, "ssh-dss", 7) == 0)
			FAIL(CTM_KEY_DSA, "DSA (ssh-dss) keys are disabled in current OpenSSH: create an "
					  "ed25519 key with ssh-keygen -t ed25519");
		static const char cert[] = "-cert-v01@openssh.com";
		const size_t clen = sizeof cert - 1;
		if (tlen > clen && memcmp(line + tlen - clen, cert, clen) == 0)
			FAIL(CTM_KEY_CERT,
			     "SSH certificates are not accepted here: give the plain public "
			     "key (%.*s)",
			     (int)(tlen - clen > 40 ? 40 : tlen - clen), line);
		FAIL(CTM_KEY_UNKNOWN_TYPE, "SSH key type \"%.*s\" is not supported: use %s",
		     (int)(tlen > 40 ? 40 : tlen), line, SUPPORTED);
	}
	memcpy(key->type, line, tlen);
	key->type[tlen] = '\0';

	size_t b = tlen;
	while (b < len && is_space(line[b]))
		b++;
	size_t blen = 0;
	while (b + blen < len && !is_space(line[b + blen]))
		blen++;
	if (blen == 0)
		FAIL(CTM_KEY_NO_BLOB,
		     "SSH key has the type \"%s\" but no key data after it: give the "
		     "whole line of the .pub file",
		     key->type);
	unsigned char bl[CTM_KEY_BLOB_MAX];
	if (blen > (size_t)CTM_KEY_BLOB_MAX / 3 * 4 + 4)
		FAIL(CTM_KEY_BLOB_TOO_LONG,
		     "SSH key data is %zu characters long: no supported key is "
		     "that large (limit %d bytes decoded)",
		     blen, CTM_KEY_BLOB_MAX);
	long n = ctm_base64_decode(line + b, blen, bl, CTM_KEY_BLOB_MAX);
	if (n < 0)
		FAIL(CTM_KEY_BAD_BASE64, "SSH key data is not valid base64 (the second field of the "
					 "line): copy the key again without changing it");

	struct wire w = { bl, (size_t)n };
	const unsigned char *s;
	size_t sl;
	if (!wire_string(&w, &s, &sl) || sl == 0 || sl > CTM_KEY_TYPE_MAX)
		FAIL(CTM_KEY_BAD_BLOB, "SSH key data does not start with a key type: it is not an "
				       "OpenSSH public key");
	if (sl != tlen || memcmp(s, line, tlen) != 0) {
		bool printable = !memchr(s, '\0', sl) && comment_ok(s, sl);
		FAIL(CTM_KEY_TYPE_MISMATCH,
		     "SSH key says \"%s\" but its data holds a \"%.*s\" key: "
		     "the line was edited; copy the .pub file again",
		     key->type, printable ? (int)sl : 1, printable ? (const char *)s : "?");
	}

	switch (kt->family) {
	case FAM_ED25519:
	case FAM_SK_ED25519:
		if (!wire_string(&w, &s, &sl) || sl != kt->point_len)
			FAIL(CTM_KEY_ED25519_SIZE,
			     "%s key data does not hold a 32-byte public key: the "
			     "key is damaged; copy the .pub file again",
			     key->type);
		break;
	case FAM_ECDSA:
	case FAM_SK_ECDSA:
		if (!wire_string(&w, &s, &sl) || sl != strlen(kt->curve) || memcmp(s, kt->curve, sl) != 0)
			FAIL(CTM_KEY_ECDSA_CURVE,
			     "%s key data names a different curve than %s: the key is "
			     "damaged; copy the .pub file again",
			     key->type, kt->curve);
		if (!wire_string(&w, &s, &sl) || sl != kt->point_len || s[0] != 0x04)
			FAIL(CTM_KEY_ECDSA_POINT,
			     "%s key data does not hold an uncompressed %s point: the "
			     "key is damaged; copy the .pub file again",
			     key->type, kt->curve);
		break;
	case FAM_RSA: {
		bool ok;
		if (!wire_string(&w, &s, &sl))
			FAIL(CTM_KEY_BAD_BLOB, "ssh-rsa key data ends before its exponent: the key is "
					       "damaged; copy the .pub file again");
		unsigned ebits = mpint_bits(s, sl, &ok);
		if (!ok || ebits < 2 || ebits > 64 || !(s[sl - 1] & 1))
			FAIL(CTM_KEY_RSA_EXPONENT, "ssh-rsa key has an invalid public exponent: the key is "
						   "damaged; copy the .pub file again");
		if (!wire_string(&w, &s, &sl))
			FAIL(CTM_KEY_BAD_BLOB, "ssh-rsa key data ends before its modulus: the key is "
					       "damaged; copy the .pub file again");
		key->bits = mpint_bits(s, sl, &ok);
		if (!ok)
			FAIL(CTM_KEY_BAD_BLOB, "ssh-rsa key has a malformed modulus: the key is damaged; "
					       "copy the .pub file again");
		if (key->bits < CTM_RSA_MIN_BITS || key->bits > CTM_RSA_MAX_BITS)
			FAIL(CTM_KEY_RSA_SIZE,
			     "ssh-rsa key has %u bits: use %d to %d bits, or better an "
			     "ed25519 key (ssh-keygen -t ed25519)",
			     key->bits, CTM_RSA_MIN_BITS, CTM_RSA_MAX_BITS);
		break;
	}
	}
	if (kt->family == FAM_SK_ED25519 || kt->family == FAM_SK_ECDSA) {
		if (!wire_string(&w, &s, &sl) || sl == 0 || sl > 256 || !comment_ok(s, sl))
			FAIL(CTM_KEY_SK_APPLICATION,
			     "%s key has no valid application string (such as "
			     "\"ssh:\"): the key is damaged; copy the .pub file again",
			     key->type);
	}
	if (kt->family != FAM_RSA)
		key->bits = kt->bits;
	if (w.left)
		FAIL(CTM_KEY_TRAILING_DATA,
		     "%s key data has %zu unexpected bytes after the key: the "
		     "key is damaged; copy the .pub file again",
		     key->type, w.left);

	size_t c = b + blen;
	while (c < len && is_space(line[c]))
		c++;
	if (len - c > CTM_KEY_COMMENT_MAX || !comment_ok((const unsigned char *)line + c, len - c))
		FAIL(CTM_KEY_COMMENT,
		     "SSH key comment is longer than %d bytes or is not printable "
		     "UTF-8: shorten it or edit it to plain text",
		     CTM_KEY_COMMENT_MAX);
	key->b64 = line + b;
	key->b64_len = blen;
	key->comment = line + c;
	key->comment_len = len - c;
	if (msglen)
		msg[0] = '\0';
	return CTM_KEY_OK;
#undef FAIL
}

size_t ctm_sshkey_format(const struct ctm_sshkey *key, char *buf, size_t buflen)
{
	int n = key->comment_len ? snprintf(buf, buflen, "%s %.*s %.*s", key->type, (int)key->b64_len, key->b64,
					    (int)key->comment_len, key->comment)
				 : snprintf(buf, buflen, "%s %.*s", key->type, (int)key->b64_len, key->b64);
	return n < 0 ? (size_t)-1 : (size_t)n;
}
