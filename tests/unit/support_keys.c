/* SPDX-License-Identifier: Apache-2.0 */
#include "support_keys.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"

void ctm_t_wire_bytes(struct ctm_t_wire *w, const void *p, size_t len)
{
	ck_assert_msg(len <= sizeof w->buf - w->len, "test blob overflow");
	if (len)
		memcpy(w->buf + w->len, p, len);
	w->len += len;
}

void ctm_t_wire_u32(struct ctm_t_wire *w, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
			       (unsigned char)v };
	ctm_t_wire_bytes(w, b, 4);
}

void ctm_t_wire_string(struct ctm_t_wire *w, const void *p, size_t len)
{
	ctm_t_wire_u32(w, (uint32_t)len);
	ctm_t_wire_bytes(w, p, len);
}

void ctm_t_wire_cstring(struct ctm_t_wire *w, const char *s)
{
	ctm_t_wire_string(w, s, strlen(s));
}

size_t ctm_t_b64_encode(const void *in, size_t len, char *out, size_t cap)
{
	size_t o = ctm_base64_encode(in, len, out, cap);
	ck_assert_msg(o || !len, "base64 output does not fit");
	return o;
}

size_t ctm_t_b64_decode(const char *b64, unsigned char *out, size_t cap)
{
	long n = ctm_base64_decode(b64, strlen(b64), out, cap);
	ck_assert_msg(n >= 0, "test key base64 does not decode: %s", b64);
	return (size_t)n;
}

size_t ctm_t_key_line(char *out, size_t cap, const char *type, const struct ctm_t_wire *blob, const char *comment)
{
	char b64[sizeof blob->buf / 3 * 4 + 8];
	ctm_t_b64_encode(blob->buf, blob->len, b64, sizeof b64);
	int n = comment ? snprintf(out, cap, "%s %s %s", type, b64, comment) : snprintf(out, cap, "%s %s", type, b64);
	ck_assert_msg(n > 0 && (size_t)n < cap, "test key line does not fit");
	return (size_t)n;
}

void ctm_t_ed25519_pk(unsigned char pk[32])
{
	unsigned char blob[128];
	size_t n = ctm_t_b64_decode(CTM_T_ED25519_B64, blob, sizeof blob);
	/* string "ssh-ed25519" (4 + 11), then string pk (4 + 32) */
	ck_assert_uint_eq(n, 51);
	memcpy(pk, blob + 19, 32);
}

void ctm_t_ecdsa256_point(unsigned char point[65])
{
	unsigned char blob[256];
	size_t n = ctm_t_b64_decode(CTM_T_ECDSA256_B64, blob, sizeof blob);
	/* string type (4 + 19), string "nistp256" (4 + 8), string point (4 + 65) */
	ck_assert_uint_eq(n, 104);
	ck_assert_uint_eq(blob[39], 0x04);
	memcpy(point, blob + 39, 65);
}

size_t ctm_t_sk_ed25519_line(char *out, size_t cap, const char *application, const char *comment)
{
	unsigned char pk[32];
	ctm_t_ed25519_pk(pk);
	struct ctm_t_wire w = { .len = 0 };
	ctm_t_wire_cstring(&w, "sk-ssh-ed25519@openssh.com");
	ctm_t_wire_string(&w, pk, sizeof pk);
	ctm_t_wire_cstring(&w, application);
	return ctm_t_key_line(out, cap, "sk-ssh-ed25519@openssh.com", &w, comment);
}

size_t ctm_t_sk_ecdsa_line(char *out, size_t cap, const char *application, const char *comment)
{
	unsigned char point[65];
	ctm_t_ecdsa256_point(point);
	struct ctm_t_wire w = { .len = 0 };
	ctm_t_wire_cstring(&w, "sk-ecdsa-sha2-nistp256@openssh.com");
	ctm_t_wire_cstring(&w, "nistp256");
	ctm_t_wire_string(&w, point, sizeof point);
	ctm_t_wire_cstring(&w, application);
	return ctm_t_key_line(out, cap, "sk-ecdsa-sha2-nistp256@openssh.com", &w, comment);
}

size_t ctm_t_rsa_line(char *out, size_t cap, const unsigned char *e, size_t elen, const unsigned char *n, size_t nlen)
{
	struct ctm_t_wire w = { .len = 0 };
	ctm_t_wire_cstring(&w, "ssh-rsa");
	ctm_t_wire_string(&w, e, elen);
	ctm_t_wire_string(&w, n, nlen);
	return ctm_t_key_line(out, cap, "ssh-rsa", &w, "crafted@ctm-test");
}
