/* SPDX-License-Identifier: Apache-2.0 */
/* Input validation: usernames, SSH public keys and whole snapshot specs.
 * Each refusal is checked for its specific error code and for a message that
 * names the problem (a distinctive substring per case); each supported key
 * type is accepted from real ssh-keygen output (security-key types from
 * crafted blobs) and printed back in canonical form. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sshkey.h"
#include "support_keys.h"
#include "support_snapshot.h"
#include "username.h"

/* ---- usernames -------------------------------------------------------------------- */

struct name_case {
	const char *name;
	size_t len; /* 0: strlen(name) */
	enum ctm_name_error code;
	const char *says; /* must appear in the message */
};

static const struct name_case bad_names[] = {
	{ "", 0, CTM_NAME_EMPTY, "username is empty" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, CTM_NAME_TOO_LONG, "33 characters long: use at most 32" },
	{ "a-very-long-username-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-x", 0,
	  CTM_NAME_TOO_LONG, "91 characters long" },
	{ "ab\0cd", 5, CTM_NAME_NUL, "NUL byte" },
	{ "alice\0", 6, CTM_NAME_NUL, "NUL byte" },
	{ "Alice", 0, CTM_NAME_UPPERCASE, "uppercase letter 'A' at position 1" },
	{ "aLice", 0, CTM_NAME_UPPERCASE, "uppercase letter 'L' at position 2" },
	{ "alicE", 0, CTM_NAME_UPPERCASE, "uppercase letter 'E' at position 5" },
	{ "Alice\x1b[2J", 0, CTM_NAME_UPPERCASE, "uppercase letter 'A' at position 1" },
	{ "ROOT", 0, CTM_NAME_UPPERCASE, "uppercase letter 'R'" },
	{ "1alice", 0, CTM_NAME_BAD_FIRST, "starts with '1'" },
	{ "-alice", 0, CTM_NAME_BAD_FIRST, "starts with '-'" },
	{ "_alice", 0, CTM_NAME_BAD_FIRST, "starts with '_'" },
	{ ".alice", 0, CTM_NAME_BAD_FIRST, "starts with '.'" },
	{ " alice", 0, CTM_NAME_BAD_FIRST, "starts with ' '" },
	{ "\x01"
	  "abc",
	  0, CTM_NAME_BAD_FIRST, "starts with the byte 0x01" },
	{ "\xc3\xa9lise", 0, CTM_NAME_BAD_FIRST, "starts with the byte 0xc3" },
	{ "\x7f"
	  "abc",
	  0, CTM_NAME_BAD_FIRST, "starts with the byte 0x7f" },
	{ "al_ice", 0, CTM_NAME_BAD_CHAR, "'_' at position 3" },
	{ "al.ice", 0, CTM_NAME_BAD_CHAR, "'.' at position 3" },
	{ "al.ice\n", 0, CTM_NAME_BAD_CHAR, "'.' at position 3" },
	{ "al ice", 0, CTM_NAME_BAD_CHAR, "' ' at position 3" },
	{ "alice:", 0, CTM_NAME_BAD_CHAR, "':' at position 6" },
	{ "al/ice", 0, CTM_NAME_BAD_CHAR, "'/' at position 3" },
	{ "a;rm", 0, CTM_NAME_BAD_CHAR, "';' at position 2" },
	{ "a$(id)", 0, CTM_NAME_BAD_CHAR, "'$' at position 2" },
	{ "a`id`", 0, CTM_NAME_BAD_CHAR, "'`' at position 2" },
	{ "a'b", 0, CTM_NAME_BAD_CHAR, "''' at position 2" },
	{ "a\"b", 0, CTM_NAME_BAD_CHAR, "'\"' at position 2" },
	{ "a@b", 0, CTM_NAME_BAD_CHAR, "'@' at position 2" },
	{ "a*", 0, CTM_NAME_BAD_CHAR, "'*' at position 2" },
	{ "alice\n", 0, CTM_NAME_BAD_CHAR, "byte 0x0a at position 6" },
	{ "al\tice", 0, CTM_NAME_BAD_CHAR, "byte 0x09 at position 3" },
	{ "ali\xc3\xa9", 0, CTM_NAME_BAD_CHAR, "byte 0xc3 at position 4" },
	{ "al\x7f"
	  "ice",
	  0, CTM_NAME_BAD_CHAR, "byte 0x7f at position 3" },
	{ "alice-", 0, CTM_NAME_TRAILING_HYPHEN, "ends with '-'" },
	{ "a-", 0, CTM_NAME_TRAILING_HYPHEN, "ends with '-'" },
	{ "al--ice", 0, CTM_NAME_DOUBLE_HYPHEN, "two hyphens in a row" },
	{ "a---b", 0, CTM_NAME_DOUBLE_HYPHEN, "two hyphens in a row" },
	{ "a--", 0, CTM_NAME_DOUBLE_HYPHEN, "two hyphens in a row" },
	{ "a--b\r\nforged log line", 0, CTM_NAME_DOUBLE_HYPHEN, "two hyphens in a row" },
	{ "root", 0, CTM_NAME_RESERVED, "\"root\" is reserved" },
	{ "sshd", 0, CTM_NAME_RESERVED, "\"sshd\" is reserved" },
	{ "nobody", 0, CTM_NAME_RESERVED, "\"nobody\" is reserved" },
	{ "www-data", 0, CTM_NAME_RESERVED, "\"www-data\" is reserved" },
	{ "containarium", 0, CTM_NAME_RESERVED, "\"containarium\" is reserved" },
	{ "containarium-users", 0, CTM_NAME_RESERVED, "is reserved" },
	{ "incus", 0, CTM_NAME_RESERVED, "is reserved" },
	{ "lxd", 0, CTM_NAME_RESERVED, "is reserved" },
	{ "admin", 0, CTM_NAME_RESERVED, "is reserved" },
	{ "ubuntu", 0, CTM_NAME_RESERVED, "is reserved" },
};
#define N_BAD_NAMES (int)(sizeof bad_names / sizeof bad_names[0])

START_TEST(username_refused)
{
	const struct name_case *c = &bad_names[_i];
	size_t len = c->len ? c->len : strlen(c->name);
	char msg[512];
	memset(msg, 'X', sizeof msg);
	enum ctm_name_error r = ctm_username_check(c->name, len, msg, sizeof msg);
	ck_assert_msg(r == c->code, "name case %d: code %d, expected %d (%s)", _i, r, c->code, msg);
	ck_assert_msg(memchr(msg, '\0', sizeof msg) != NULL, "message not terminated");
	ck_assert_msg(strstr(msg, c->says) != NULL, "name case %d: message \"%s\" lacks \"%s\"", _i, msg, c->says);
	/* A message never echoes a control byte: it reaches terminals, logs and
	 * JSON error bodies. */
	for (const char *p = msg; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f, "name case %d: control byte 0x%02x in message",
			      _i, (unsigned char)*p);
	/* A tiny message buffer is still terminated and the code unchanged. */
	char tiny[4] = "zzz";
	ck_assert_int_eq(ctm_username_check(c->name, len, tiny, sizeof tiny), c->code);
	ck_assert_int_eq(tiny[3], '\0');
	ck_assert_int_eq(ctm_username_check(c->name, len, NULL, 0), c->code);
}
END_TEST

/* The table's size is known when this compiles: a static assertion, not a
 * test that could never fail at run time. */
_Static_assert(sizeof bad_names / sizeof bad_names[0] >= 30, "username_refused covers at least 30 bad names");

START_TEST(username_accepted)
{
	static const char *const good[] = {
		"a",
		"z",
		"alice",
		"bob-smith",
		"a1",
		"x9-y8-z7",
		"dev01",
		"rootx",
		"roo",
		"sshd2",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 32 */,
		"a-b-c-d",
		"user-2024",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char msg[256] = "junk";
		ck_assert_msg(ctm_username_check(good[i], strlen(good[i]), msg, sizeof msg) == CTM_NAME_OK,
			      "\"%s\" refused: %s", good[i], msg);
		ck_assert_str_eq(msg, "");
	}
	/* Only len bytes count: a valid prefix of a longer buffer. */
	ck_assert_int_eq(ctm_username_check("alice;rm -rf", 5, NULL, 0), CTM_NAME_OK);
}
END_TEST

/* ---- SSH keys: refusals ---------------------------------------------------------------- */

#define ED CTM_T_ED25519_B64
struct key_case {
	const char *line;
	size_t len; /* 0: strlen(line) */
	enum ctm_key_error code;
	const char *says;
};

static const struct key_case bad_keys[] = {
	{ "", 0, CTM_KEY_EMPTY, "SSH key is empty" },
	{ " \t  \t ", 0, CTM_KEY_EMPTY, "SSH key is empty" },
	{ "ssh-ed25519 AAAA\0BBBB", 21, CTM_KEY_NUL, "NUL byte" },
	{ "\0", 1, CTM_KEY_NUL, "NUL byte" },
	{ CTM_T_ED25519 "\n", 0, CTM_KEY_NEWLINE, "line break" },
	{ CTM_T_ED25519 "\r\n", 0, CTM_KEY_NEWLINE, "line break" },
	{ "ssh-ed25519 " ED "\rcomment", 0, CTM_KEY_NEWLINE, "line break" },
	{ CTM_T_ED25519 "\n" CTM_T_RSA2048, 0, CTM_KEY_NEWLINE, "exactly one key" },
	{ "ssh-ed25519 " ED " ed\x01x", 0, CTM_KEY_CONTROL, "control character 0x01 at byte" },
	{ "ssh-ed25519 " ED " \x1b[31mred", 0, CTM_KEY_CONTROL, "control character 0x1b" },
	{ "ssh-ed25519\x0b" ED, 0, CTM_KEY_CONTROL, "control character 0x0b at byte 12" },
	{ "ssh-ed25519 " ED " x\x7f", 0, CTM_KEY_CONTROL, "control character 0x7f" },
	{ "command=\"/bin/sh\" " CTM_T_ED25519, 0, CTM_KEY_OPTIONS,
	  "authorized_keys options (\"command=\"/bin/sh\"\")" },
	{ "no-pty " CTM_T_ED25519, 0, CTM_KEY_OPTIONS, "authorized_keys options (\"no-pty\")" },
	{ "from=\"10.0.0.1\" " CTM_T_ED25519, 0, CTM_KEY_OPTIONS, "authorized_keys options" },
	{ "restrict,port-forwarding " CTM_T_ED25519, 0, CTM_KEY_OPTIONS, "authorized_keys options" },
	{ "permitopen=\"10.0.0.1:22\" " CTM_T_ED25519, 0, CTM_KEY_OPTIONS, "authorized_keys options" },
	{ "environment=\"LD_PRELOAD=/tmp/x.so\" " CTM_T_ED25519, 0, CTM_KEY_OPTIONS, "authorized_keys options" },
	{ "cert-authority " CTM_T_ED25519, 0, CTM_KEY_OPTIONS, "authorized_keys options" },
	{ "tunnel=\"0\",no-agent-forwarding\t" CTM_T_RSA2048, 0, CTM_KEY_OPTIONS, "authorized_keys options" },
	{ "ssh-foo AAAAB3NzaC1yc2E", 0, CTM_KEY_UNKNOWN_TYPE, "type \"ssh-foo\" is not supported" },
	{ "ssh-ed448 " ED, 0, CTM_KEY_UNKNOWN_TYPE, "type \"ssh-ed448\" is not supported" },
	{ "SSH-ED25519 " ED, 0, CTM_KEY_UNKNOWN_TYPE, "\"SSH-ED25519\" is not supported" },
	{ "ecdsa-sha2-nistp224 AAAA", 0, CTM_KEY_UNKNOWN_TYPE, "is not supported: use ssh-ed25519" },
	{ CTM_T_DSA, 0, CTM_KEY_DSA, "DSA (ssh-dss) keys are disabled" },
	{ CTM_T_ED25519_CERT, 0, CTM_KEY_CERT, "certificates are not accepted" },
	{ "ssh-rsa-cert-v01@openssh.com AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20=", 0, CTM_KEY_CERT,
	  "certificates are not accepted" },
	{ "-----BEGIN OPENSSH PRIVATE KEY-----", 0, CTM_KEY_PRIVATE, "private key, not an OpenSSH public key" },
	{ "-----BEGIN RSA PRIVATE KEY-----", 0, CTM_KEY_PRIVATE, "ssh-keygen -y" },
	{ "-----BEGIN PUBLIC KEY-----", 0, CTM_KEY_PRIVATE, "PEM" },
	{ "---- BEGIN SSH2 PUBLIC KEY ----", 0, CTM_KEY_RFC4716, "RFC 4716" },
	{ "ssh-ed25519", 0, CTM_KEY_NO_BLOB, "has the type \"ssh-ed25519\" but no key data" },
	{ "  ssh-rsa \t  ", 0, CTM_KEY_NO_BLOB, "\"ssh-rsa\" but no key data" },
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI!JxLHTVPD1meMRvvCibtWNVhVy7w/Sp96fov0F05ykK", 0, CTM_KEY_BAD_BASE64,
	  "not valid base64" },
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMJxLHTVPD1meMRvvCibtWNVhVy7w_Sp96fov0F05ykK", 0, CTM_KEY_BAD_BASE64,
	  "not valid base64" },
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMJxLHTVPD1meMRvvCibtWNVhVy7w-Sp96fov0F05ykK", 0, CTM_KEY_BAD_BASE64,
	  "not valid base64" },
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMJxLHTVPD1meMRvvCibtWNVhVy7w/Sp96fov0F05yk", 0, CTM_KEY_BAD_BASE64,
	  "not valid base64" },
	{ "ecdsa-sha2-nistp256 AAAA=AAA", 0, CTM_KEY_BAD_BASE64, "not valid base64" },
	{ "ecdsa-sha2-nistp256 AAAA====", 0, CTM_KEY_BAD_BASE64, "not valid base64" },
	{ "ecdsa-sha2-nistp256 AAB=", 0, CTM_KEY_BAD_BASE64, "not valid base64" }, /* bits under '=' */
	{ "ssh-rsa " ED, 0, CTM_KEY_TYPE_MISMATCH, "says \"ssh-rsa\" but its data holds a \"ssh-ed25519\" key" },
	{ "ecdsa-sha2-nistp384 " CTM_T_ECDSA256_B64, 0, CTM_KEY_TYPE_MISMATCH,
	  "data holds a \"ecdsa-sha2-nistp256\" key" },
	{ "ssh-ed25519 " CTM_T_RSA2048_B64, 0, CTM_KEY_TYPE_MISMATCH, "holds a \"ssh-rsa\" key" },
	{ "sk-ssh-ed25519@openssh.com " ED, 0, CTM_KEY_TYPE_MISMATCH, "holds a \"ssh-ed25519\" key" },
	{ "ssh-ed25519 AAAA", 0, CTM_KEY_BAD_BLOB, "does not start with a key type" },
	{ CTM_T_RSA1024, 0, CTM_KEY_RSA_SIZE, "ssh-rsa key has 1024 bits: use 2048 to 16384 bits" },
};
#undef ED
#define N_BAD_KEYS (int)(sizeof bad_keys / sizeof bad_keys[0])

static void assert_key_refused(const char *line, size_t len, enum ctm_key_error code, const char *says,
			       const char *label)
{
	struct ctm_sshkey key;
	char msg[512];
	memset(msg, 'X', sizeof msg);
	enum ctm_key_error r = ctm_sshkey_parse(line, len, &key, msg, sizeof msg);
	ck_assert_msg(memchr(msg, '\0', sizeof msg) != NULL, "%s: message not terminated", label);
	ck_assert_msg(r == code, "%s: code %d, expected %d; message: %s", label, r, code, msg);
	ck_assert_msg(strstr(msg, says) != NULL, "%s: message \"%s\" lacks \"%s\"", label, msg, says);
	for (const char *p = msg; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f, "%s: control byte in message", label);
	ck_assert_int_eq(ctm_sshkey_parse(line, len, &key, NULL, 0), code);
}

START_TEST(key_refused)
{
	const struct key_case *c = &bad_keys[_i];
	char label[32];
	snprintf(label, sizeof label, "key case %d", _i);
	assert_key_refused(c->line, c->len ? c->len : strlen(c->line), c->code, c->says, label);
}
END_TEST

/* Keys that need building: crafted blobs and oversized lines. */
enum crafted {
	CR_TOO_LONG,
	CR_BLOB_TOO_LONG,
	CR_TRAILING_BITS_1,
	CR_TRAILING_BITS_2,
	CR_TYPE_UNPRINTABLE,
	CR_TYPE_EMPTY,
	CR_TYPE_TRUNCATED,
	CR_ED_SHORT,
	CR_ED_LONG,
	CR_ED_MISSING,
	CR_ED_TRUNCATED_BLOB,
	CR_ED_TRAILING,
	CR_EC_CURVE,
	CR_EC_CURVE_MISSING,
	CR_EC_COMPRESSED,
	CR_EC_PREFIX_03,
	CR_EC_384_SHORT_POINT,
	CR_RSA_2047,
	CR_RSA_16392,
	CR_RSA_E_EVEN,
	CR_RSA_E_1,
	CR_RSA_E_NEG,
	CR_RSA_E_PADDED,
	CR_RSA_E_EMPTY,
	CR_RSA_NO_N,
	CR_RSA_NO_E,
	CR_RSA_N_NEG,
	CR_RSA_N_PADDED,
	CR_RSA_TRAILING,
	CR_RSA_TRUNCATED,
	CR_UTF8_FF,
	CR_UTF8_TRUNCATED,
	CR_UTF8_OVERLONG,
	CR_UTF8_SURROGATE,
	CR_UTF8_C1,
	CR_UTF8_ABOVE_MAX,
	CR_COMMENT_1025,
	CR_SK_NO_APP,
	CR_SK_EMPTY_APP,
	CR_SK_LONG_APP,
	CR_SK_CTRL_APP,
	CR_SK_EC_NO_APP,
	CR_COUNT
};

/* A minimal mpint of exactly `bits` bits (odd, top bit set): a leading zero
 * byte only when the top byte's high bit is set. */
static size_t make_modulus(unsigned char *n, unsigned bits)
{
	size_t bytes = (bits + 7) / 8, o = 0;
	if (bits % 8 == 0)
		n[o++] = 0;
	for (size_t i = 0; i < bytes; i++)
		n[o + i] = (unsigned char)(0x5a ^ (i * 37));
	unsigned top = bits % 8 ? bits % 8 : 8;
	n[o] = (unsigned char)((n[o] | (1u << (top - 1))) & ((1u << top) - 1));
	n[o + bytes - 1] |= 1;
	return o + bytes;
}

static void bump_last_b64_char(char *line)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *eq = strchr(line, '=');
	ck_assert_ptr_nonnull(eq);
	char *c = eq - 1;
	*c = alphabet[strchr(alphabet, *c) - alphabet + 1];
}

static void crafted_case(int i, char *line, size_t cap, enum ctm_key_error *code, const char **says)
{
	struct ctm_t_wire w = { .len = 0 };
	unsigned char pk[32], point[65], n[2100];
	memset(n, 0x11, sizeof n);
	ctm_t_ed25519_pk(pk);
	ctm_t_ecdsa256_point(point);
	static const unsigned char e65537[] = { 0x01, 0x00, 0x01 };
	const char *type = "ssh-ed25519", *comment = "crafted";
	bool built = false; /* line already written */
	switch (i) {
	case CR_TOO_LONG:
		memset(line, ' ', CTM_KEY_LINE_MAX + 1);
		memcpy(line + CTM_KEY_LINE_MAX + 1 - strlen(CTM_T_ED25519), CTM_T_ED25519, strlen(CTM_T_ED25519));
		line[CTM_KEY_LINE_MAX + 1] = '\0';
		*code = CTM_KEY_TOO_LONG;
		*says = "8193 bytes long: the limit is 8192";
		built = true;
		break;
	case CR_BLOB_TOO_LONG:
		memcpy(line, "ssh-rsa ", 8);
		memset(line + 8, 'A', 5500);
		line[5508] = '\0';
		*code = CTM_KEY_BLOB_TOO_LONG;
		*says = "5500 characters long";
		built = true;
		break;
	case CR_TRAILING_BITS_1:
		snprintf(line, cap, "%s", CTM_T_ECDSA256);
		bump_last_b64_char(line);
		*code = CTM_KEY_BAD_BASE64;
		*says = "not valid base64";
		built = true;
		break;
	case CR_TRAILING_BITS_2:
		snprintf(line, cap, "%s", CTM_T_ECDSA384);
		bump_last_b64_char(line);
		*code = CTM_KEY_BAD_BASE64;
		*says = "not valid base64";
		built = true;
		break;
	case CR_TYPE_UNPRINTABLE:
		ctm_t_wire_string(&w, "\x01\x02\x03", 3);
		ctm_t_wire_string(&w, pk, 32);
		*code = CTM_KEY_TYPE_MISMATCH;
		*says = "its data holds a \"?\" key";
		break;
	case CR_TYPE_EMPTY:
		ctm_t_wire_string(&w, "", 0);
		ctm_t_wire_string(&w, pk, 32);
		*code = CTM_KEY_BAD_BLOB;
		*says = "does not start with a key type";
		break;
	case CR_TYPE_TRUNCATED:
		ctm_t_wire_u32(&w, 200);
		ctm_t_wire_bytes(&w, "ssh-ed25519", 11);
		*code = CTM_KEY_BAD_BLOB;
		*says = "does not start with a key type";
		break;
	case CR_ED_SHORT:
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_string(&w, pk, 31);
		*code = CTM_KEY_ED25519_SIZE;
		*says = "does not hold a 32-byte public key";
		break;
	case CR_ED_LONG:
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_string(&w, n, 33);
		*code = CTM_KEY_ED25519_SIZE;
		*says = "does not hold a 32-byte public key";
		break;
	case CR_ED_MISSING:
		ctm_t_wire_cstring(&w, type);
		*code = CTM_KEY_ED25519_SIZE;
		*says = "does not hold a 32-byte public key";
		break;
	case CR_ED_TRUNCATED_BLOB: /* the length says 32, the blob ends sooner */
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_u32(&w, 32);
		ctm_t_wire_bytes(&w, pk, 20);
		*code = CTM_KEY_ED25519_SIZE;
		*says = "32-byte";
		break;
	case CR_ED_TRAILING:
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_string(&w, pk, 32);
		ctm_t_wire_u32(&w, 0);
		*code = CTM_KEY_TRAILING_DATA;
		*says = "has 4 unexpected bytes after the key";
		break;
	case CR_EC_CURVE:
		type = "ecdsa-sha2-nistp256";
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_cstring(&w, "nistp384");
		ctm_t_wire_string(&w, point, 65);
		*code = CTM_KEY_ECDSA_CURVE;
		*says = "names a different curve than nistp256";
		break;
	case CR_EC_CURVE_MISSING:
		type = "ecdsa-sha2-nistp256";
		ctm_t_wire_cstring(&w, type);
		*code = CTM_KEY_ECDSA_CURVE;
		*says = "different curve";
		break;
	case CR_EC_COMPRESSED:
		type = "ecdsa-sha2-nistp256";
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_cstring(&w, "nistp256");
		point[0] = 0x02;
		ctm_t_wire_string(&w, point, 33);
		*code = CTM_KEY_ECDSA_POINT;
		*says = "does not hold an uncompressed nistp256 point";
		break;
	case CR_EC_PREFIX_03:
		type = "ecdsa-sha2-nistp256";
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_cstring(&w, "nistp256");
		point[0] = 0x03;
		ctm_t_wire_string(&w, point, 65);
		*code = CTM_KEY_ECDSA_POINT;
		*says = "uncompressed nistp256 point";
		break;
	case CR_EC_384_SHORT_POINT:
		type = "ecdsa-sha2-nistp384";
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_cstring(&w, "nistp384");
		ctm_t_wire_string(&w, point, 65);
		*code = CTM_KEY_ECDSA_POINT;
		*says = "uncompressed nistp384 point";
		break;
	case CR_RSA_2047:
	case CR_RSA_16392: {
		unsigned bits = i == CR_RSA_2047 ? 2047 : 16392;
		size_t nl = make_modulus(n, bits);
		ctm_t_rsa_line(line, cap, e65537, 3, n, nl);
		*code = CTM_KEY_RSA_SIZE;
		*says = i == CR_RSA_2047 ? "has 2047 bits" : "has 16392 bits";
		built = true;
		break;
	}
	case CR_RSA_E_EVEN:
	case CR_RSA_E_1:
	case CR_RSA_E_NEG:
	case CR_RSA_E_PADDED:
	case CR_RSA_E_EMPTY: {
		static const unsigned char even[] = { 0x01, 0x00, 0x00 }, one[] = { 0x01 },
					   neg[] = { 0x81, 0x00, 0x01 }, padded[] = { 0x00, 0x01, 0x00, 0x01 };
		const unsigned char *e = i == CR_RSA_E_EVEN  ? even
					 : i == CR_RSA_E_1   ? one
					 : i == CR_RSA_E_NEG ? neg
							     : padded;
		size_t el = i == CR_RSA_E_EVEN     ? 3
			    : i == CR_RSA_E_1      ? 1
			    : i == CR_RSA_E_NEG    ? 3
			    : i == CR_RSA_E_PADDED ? 4
						   : 0;
		size_t nl = make_modulus(n, 2048);
		ctm_t_rsa_line(line, cap, e, el, n, nl);
		*code = CTM_KEY_RSA_EXPONENT;
		*says = "invalid public exponent";
		built = true;
		break;
	}
	case CR_RSA_NO_N:
		type = "ssh-rsa";
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_string(&w, e65537, 3);
		*code = CTM_KEY_BAD_BLOB;
		*says = "ends before its modulus";
		break;
	case CR_RSA_NO_E:
		type = "ssh-rsa";
		ctm_t_wire_cstring(&w, type);
		*code = CTM_KEY_BAD_BLOB;
		*says = "ends before its exponent";
		break;
	case CR_RSA_N_NEG: {
		size_t nl = make_modulus(n, 2048);
		ctm_t_rsa_line(line, cap, e65537, 3, n + 1, nl - 1); /* drop the sign byte */
		*code = CTM_KEY_BAD_BLOB;
		*says = "malformed modulus";
		built = true;
		break;
	}
	case CR_RSA_N_PADDED: {
		size_t nl = make_modulus(n + 1, 2047);
		n[0] = 0; /* a zero before a byte whose top bit is clear */
		ctm_t_rsa_line(line, cap, e65537, 3, n, nl + 1);
		*code = CTM_KEY_BAD_BLOB;
		*says = "malformed modulus";
		built = true;
		break;
	}
	case CR_RSA_TRAILING: {
		size_t nl = make_modulus(n, 2048);
		type = "ssh-rsa";
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_string(&w, e65537, 3);
		ctm_t_wire_string(&w, n, nl);
		ctm_t_wire_bytes(&w, "", 1);
		*code = CTM_KEY_TRAILING_DATA;
		*says = "ssh-rsa key data has 1 unexpected bytes";
		break;
	}
	case CR_RSA_TRUNCATED: { /* a real key with the end of its blob cut off */
		unsigned char blob[1024];
		size_t bl = ctm_t_b64_decode(CTM_T_RSA2048_B64, blob, sizeof blob);
		type = "ssh-rsa";
		ctm_t_wire_bytes(&w, blob, bl - 30);
		*code = CTM_KEY_BAD_BLOB;
		*says = "ends before its modulus";
		break;
	}
	case CR_UTF8_FF:
	case CR_UTF8_TRUNCATED:
	case CR_UTF8_OVERLONG:
	case CR_UTF8_SURROGATE:
	case CR_UTF8_C1:
	case CR_UTF8_ABOVE_MAX: {
		static const char *const bad[] = { "caf\xff",
						   "caf\xc3",
						   "\xc0\xaf"
						   "etc",
						   "\xed\xa0\x80",
						   "a\xc2\x85"
						   "b",
						   "\xf4\x90\x80\x80" };
		snprintf(line, cap, "%s %s", CTM_T_ED25519, bad[i - CR_UTF8_FF]);
		*code = CTM_KEY_COMMENT;
		*says = "is not printable UTF-8";
		built = true;
		break;
	}
	case CR_COMMENT_1025: {
		int k = snprintf(line, cap, "%s ", CTM_T_ED25519);
		memset(line + k, 'c', 1025);
		line[k + 1025] = '\0';
		*code = CTM_KEY_COMMENT;
		*says = "longer than 1024 bytes";
		built = true;
		break;
	}
	case CR_SK_NO_APP:
	case CR_SK_EMPTY_APP:
	case CR_SK_LONG_APP:
	case CR_SK_CTRL_APP: {
		type = "sk-ssh-ed25519@openssh.com";
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_string(&w, pk, 32);
		char app[300];
		memset(app, 's', 257);
		app[257] = '\0';
		if (i == CR_SK_EMPTY_APP)
			ctm_t_wire_cstring(&w, "");
		else if (i == CR_SK_LONG_APP)
			ctm_t_wire_cstring(&w, app);
		else if (i == CR_SK_CTRL_APP)
			ctm_t_wire_cstring(&w, "ssh:\n");
		*code = CTM_KEY_SK_APPLICATION;
		*says = "has no valid application string";
		break;
	}
	case CR_SK_EC_NO_APP:
		type = "sk-ecdsa-sha2-nistp256@openssh.com";
		ctm_t_wire_cstring(&w, type);
		ctm_t_wire_cstring(&w, "nistp256");
		ctm_t_wire_string(&w, point, 65);
		*code = CTM_KEY_SK_APPLICATION;
		*says = "sk-ecdsa-sha2-nistp256@openssh.com key has no valid application string";
		break;
	}
	if (!built)
		ctm_t_key_line(line, cap, type, &w, comment);
}

START_TEST(key_refused_crafted)
{
	char *line = malloc(16384);
	ck_assert_ptr_nonnull(line);
	enum ctm_key_error code = CTM_KEY_OK;
	const char *says = NULL;
	crafted_case(_i, line, 16384, &code, &says);
	ck_assert_ptr_nonnull(says);
	char label[32];
	snprintf(label, sizeof label, "crafted key case %d", _i);
	assert_key_refused(line, strlen(line), code, says, label);
	free(line);
}
END_TEST

START_TEST(key_tables_are_big_enough)
{
	ck_assert_int_ge(N_BAD_KEYS + CR_COUNT, 30);
	/* Every refusal code is exercised somewhere. */
	bool seen[CTM_KEY_COMMENT + 1] = { false };
	for (int i = 0; i < N_BAD_KEYS; i++)
		seen[bad_keys[i].code] = true;
	char *line = malloc(16384);
	ck_assert_ptr_nonnull(line);
	for (int i = 0; i < CR_COUNT; i++) {
		enum ctm_key_error code = CTM_KEY_OK;
		const char *says;
		crafted_case(i, line, 16384, &code, &says);
		seen[code] = true;
	}
	free(line);
	for (int c = CTM_KEY_EMPTY; c <= CTM_KEY_COMMENT; c++)
		ck_assert_msg(seen[c], "no test case for key error %d", c);
}
END_TEST

/* ---- SSH keys: accepted and canonical ---------------------------------------------------- */

struct good_key {
	const char *line;
	const char *type;
	unsigned bits;
	const char *comment;
};

static const struct good_key good_keys[] = {
	{ CTM_T_ED25519, "ssh-ed25519", 256, CTM_T_ED25519_COMMENT },
	{ CTM_T_ECDSA256, "ecdsa-sha2-nistp256", 256, CTM_T_ECDSA256_COMMENT },
	{ CTM_T_ECDSA384, "ecdsa-sha2-nistp384", 384, CTM_T_ECDSA384_COMMENT },
	{ CTM_T_ECDSA521, "ecdsa-sha2-nistp521", 521, CTM_T_ECDSA521_COMMENT },
	{ CTM_T_RSA2048, "ssh-rsa", 2048, CTM_T_RSA2048_COMMENT },
	{ CTM_T_RSA3072, "ssh-rsa", 3072, CTM_T_RSA3072_COMMENT },
	{ CTM_T_RSA4096, "ssh-rsa", 4096, CTM_T_RSA4096_COMMENT },
};

static void assert_key_ok(const char *line, const char *type, unsigned bits, const char *comment, const char *canonical)
{
	struct ctm_sshkey key;
	char msg[512] = "junk";
	ck_assert_msg(ctm_sshkey_parse(line, strlen(line), &key, msg, sizeof msg) == CTM_KEY_OK,
		      "refused: %s\n  %.100s", msg, line);
	ck_assert_str_eq(msg, "");
	ck_assert_str_eq(key.type, type);
	ck_assert_uint_eq(key.bits, bits);
	ck_assert_uint_eq(key.comment_len, strlen(comment));
	ck_assert(memcmp(key.comment, comment, key.comment_len) == 0);
	/* The pieces point into the input. */
	ck_assert(key.b64 > line && key.b64 + key.b64_len <= line + strlen(line));
	char out[CTM_KEY_LINE_MAX + 1];
	size_t n = ctm_sshkey_format(&key, out, sizeof out);
	ck_assert_uint_eq(n, strlen(canonical));
	ck_assert_str_eq(out, canonical);
	/* The canonical line parses to itself. */
	struct ctm_sshkey again;
	ck_assert_int_eq(ctm_sshkey_parse(out, n, &again, NULL, 0), CTM_KEY_OK);
	char out2[CTM_KEY_LINE_MAX + 1];
	ctm_sshkey_format(&again, out2, sizeof out2);
	ck_assert_str_eq(out2, canonical);
}

START_TEST(key_accepted_real)
{
	const struct good_key *g = &good_keys[_i];
	assert_key_ok(g->line, g->type, g->bits, g->comment, g->line);
	/* Without its comment too. */
	char line[CTM_KEY_LINE_MAX];
	const char *sp = strrchr(g->line, ' ');
	snprintf(line, sizeof line, "%.*s", (int)(sp - g->line), g->line);
	assert_key_ok(line, g->type, g->bits, "", line);
}
END_TEST

START_TEST(key_accepted_security_keys)
{
	char line[1024];
	ctm_t_sk_ed25519_line(line, sizeof line, "ssh:", "yubikey@desk");
	assert_key_ok(line, "sk-ssh-ed25519@openssh.com", 256, "yubikey@desk", line);
	ctm_t_sk_ecdsa_line(line, sizeof line, "ssh:", "token");
	assert_key_ok(line, "sk-ecdsa-sha2-nistp256@openssh.com", 256, "token", line);
	ctm_t_sk_ecdsa_line(line, sizeof line, "ssh:work-\xc3\xa9", NULL);
	assert_key_ok(line, "sk-ecdsa-sha2-nistp256@openssh.com", 256, "", line);
	char app[257];
	memset(app, 'a', 256);
	app[256] = '\0';
	ctm_t_sk_ed25519_line(line, sizeof line, app, NULL); /* the longest application */
	assert_key_ok(line, "sk-ssh-ed25519@openssh.com", 256, "", line);
}
END_TEST

START_TEST(key_accepted_crafted_rsa)
{
	char *line = malloc(16384);
	unsigned char n[2100];
	static const unsigned char e3[] = { 0x03 }, e65537[] = { 0x01, 0x00, 0x01 };
	ck_assert_ptr_nonnull(line);
	size_t nl = make_modulus(n, 2048);
	ctm_t_rsa_line(line, 16384, e3, 1, n, nl);
	assert_key_ok(line, "ssh-rsa", 2048, "crafted@ctm-test", line);
	nl = make_modulus(n, 16384); /* the largest allowed */
	ctm_t_rsa_line(line, 16384, e65537, 3, n, nl);
	assert_key_ok(line, "ssh-rsa", 16384, "crafted@ctm-test", line);
	nl = make_modulus(n, 2049); /* a top byte whose high bit is clear: no sign byte */
	ctm_t_rsa_line(line, 16384, e65537, 3, n, nl);
	assert_key_ok(line, "ssh-rsa", 2049, "crafted@ctm-test", line);
	free(line);
}
END_TEST

START_TEST(key_canonical_form)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "  " CTM_T_ED25519_TYPE "\t\t" CTM_T_ED25519_B64 "   \t" CTM_T_ED25519_COMMENT " \t ",
		  CTM_T_ED25519 },
		{ CTM_T_ED25519_TYPE "    " CTM_T_ED25519_B64, CTM_T_ED25519_TYPE " " CTM_T_ED25519_B64 },
		{ "\t" CTM_T_ED25519_TYPE " " CTM_T_ED25519_B64 "  \t  ", CTM_T_ED25519_TYPE " " CTM_T_ED25519_B64 },
		/* Spacing inside the comment is the user's and is kept. */
		{ CTM_T_RSA2048_TYPE " " CTM_T_RSA2048_B64 "  my  laptop key  ",
		  CTM_T_RSA2048_TYPE " " CTM_T_RSA2048_B64 " my  laptop key" },
		{ CTM_T_ECDSA256_TYPE "\t" CTM_T_ECDSA256_B64 "\tJos\xc3\xa9 \xe2\x9c\x93",
		  CTM_T_ECDSA256_TYPE " " CTM_T_ECDSA256_B64 " Jos\xc3\xa9 \xe2\x9c\x93" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ctm_sshkey key;
		char msg[256], out[CTM_KEY_LINE_MAX + 1];
		ck_assert_msg(ctm_sshkey_parse(cases[i].in, strlen(cases[i].in), &key, msg, sizeof msg) == CTM_KEY_OK,
			      "case %zu: %s", i, msg);
		ck_assert_uint_eq(ctm_sshkey_format(&key, out, sizeof out), strlen(cases[i].out));
		ck_assert_str_eq(out, cases[i].out);
	}
	/* A short buffer: the needed length comes back, the output is cut and
	 * terminated. */
	struct ctm_sshkey key;
	ck_assert_int_eq(ctm_sshkey_parse(CTM_T_ED25519, strlen(CTM_T_ED25519), &key, NULL, 0), CTM_KEY_OK);
	char small[20];
	memset(small, 'X', sizeof small);
	ck_assert_uint_eq(ctm_sshkey_format(&key, small, sizeof small), strlen(CTM_T_ED25519));
	ck_assert_uint_eq(strlen(small), sizeof small - 1);
	ck_assert_mem_eq(small, CTM_T_ED25519, sizeof small - 1);
	char exact[sizeof CTM_T_ED25519];
	ck_assert_uint_eq(ctm_sshkey_format(&key, exact, sizeof exact), sizeof exact - 1);
	ck_assert_str_eq(exact, CTM_T_ED25519);
}
END_TEST

/* The longest accepted line, and the longest comment, sit exactly at the limits. */
START_TEST(key_limits)
{
	char *line = malloc(CTM_KEY_LINE_MAX + 2);
	ck_assert_ptr_nonnull(line);
	memset(line, ' ', CTM_KEY_LINE_MAX);
	memcpy(line + CTM_KEY_LINE_MAX - strlen(CTM_T_ED25519), CTM_T_ED25519, strlen(CTM_T_ED25519));
	line[CTM_KEY_LINE_MAX] = '\0';
	assert_key_ok(line, "ssh-ed25519", 256, CTM_T_ED25519_COMMENT, CTM_T_ED25519);
	int k = snprintf(line, CTM_KEY_LINE_MAX, "%s %s ", CTM_T_ED25519_TYPE, CTM_T_ED25519_B64);
	memset(line + k, 'c', CTM_KEY_COMMENT_MAX);
	line[k + CTM_KEY_COMMENT_MAX] = '\0';
	struct ctm_sshkey key;
	ck_assert_int_eq(ctm_sshkey_parse(line, strlen(line), &key, NULL, 0), CTM_KEY_OK);
	ck_assert_uint_eq(key.comment_len, CTM_KEY_COMMENT_MAX);
	free(line);
}
END_TEST

/* ---- writer-level validation --------------------------------------------------------------- */

enum spec_case {
	SC_DUP_NAME,
	SC_DUP_UID,
	SC_UID_BELOW,
	SC_UID_ABOVE,
	SC_GECOS_COLON,
	SC_GECOS_CTRL,
	SC_GECOS_LONG,
	SC_HOME_RELATIVE,
	SC_HOME_COLON,
	SC_HOME_EMPTY,
	SC_SHELL_RELATIVE,
	SC_GID_0,
	SC_RANGE_EMPTY,
	SC_RANGE_ROOT,
	SC_TOO_MANY_KEYS,
	SC_BAD_KEY,
	SC_BAD_NAME,
	SC_RESERVED_NAME,
	SC_NO_NAME,
	SC_STATE_0,
	SC_STATE_4,
	SC_GENERATION_0,
	SC_GROUP_BAD,
	SC_GROUP_LONG,
	SC_GROUP_EMPTY,
	SC_COUNT
};

static const char *const spec_says[SC_COUNT][2] = {
	[SC_DUP_NAME] = { "user \"alice\" appears twice", "each name may appear once" },
	[SC_DUP_UID] = { "users \"alice\" and \"bob\" both have uid 70010", "its own uid" },
	[SC_UID_BELOW] = { "user 1 (\"bob\"): uid 70000 is outside the configured range 70001-99999", "inside it" },
	[SC_UID_ABOVE] = { "user 1 (\"bob\"): uid 100000 is outside", "70001-99999" },
	[SC_GECOS_COLON] = { "user 0 (\"alice\"): gecos contains ':'", "remove it" },
	[SC_GECOS_CTRL] = { "user 0 (\"alice\"): gecos contains a control character", "remove it" },
	[SC_GECOS_LONG] = { "user 0 (\"alice\"): gecos is 256 bytes long", "limit is 255" },
	[SC_HOME_RELATIVE] = { "user 2 (\"carol-2\"): home \"home/carol\" is not an absolute path", "'/'" },
	[SC_HOME_COLON] = { "user 2 (\"carol-2\"): home contains ':'", "remove it" },
	[SC_HOME_EMPTY] = { "user 2 (\"carol-2\"): home \"\" is not an absolute path", "'/'" },
	[SC_SHELL_RELATIVE] = { "user 1 (\"bob\"): shell \"nologin\" is not an absolute path", "'/'" },
	[SC_GID_0] = { "group id 0 is root's group", "containarium-users" },
	[SC_RANGE_EMPTY] = { "uid range 80000-70000 is empty", "configure a range" },
	[SC_RANGE_ROOT] = { "uid range 0-99999", "includes root" },
	[SC_TOO_MANY_KEYS] = { "user 0 (\"alice\"): has 65 keys", "limit is 64" },
	[SC_BAD_KEY] = { "user 2 (\"carol-2\"), key 3:", "authorized_keys options" },
	[SC_BAD_NAME] = { "user 1: username \"Bob\" has an uppercase letter 'B'", "lowercase" },
	[SC_RESERVED_NAME] = { "user 1: username \"root\" is reserved", "choose another name" },
	[SC_NO_NAME] = { "user 1: has no name", "user 1" },
	[SC_STATE_0] = { "user 0 (\"alice\"): state 0 is not one of", "active" },
	[SC_STATE_4] = { "user 2 (\"carol-2\"): state 4 is not one of", "provisioning" },
	[SC_GENERATION_0] = { "generation 0 is not allowed", "from 1" },
	[SC_GROUP_BAD] = { "group name \"Jump Users\" has 'J' at position 1", "lowercase" },
	[SC_GROUP_LONG] = { "must be 1 to 31 characters long", "group name" },
	[SC_GROUP_EMPTY] = { "group name \"\" must be 1 to 31", "characters" },
};

START_TEST(spec_refused)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	char gecos[300];
	switch (_i) {
	case SC_DUP_NAME: ctm_t_user_set(&f, 2, "alice", 70030, CTM_STATE_ACTIVE, NULL, NULL, NULL); break;
	case SC_DUP_UID: f.users[1].uid = 70010; break;
	case SC_UID_BELOW: f.users[1].uid = 70000; break;
	case SC_UID_ABOVE: f.users[1].uid = 100000; break;
	case SC_GECOS_COLON: f.users[0].gecos = "Alice:Admin"; break;
	case SC_GECOS_CTRL: f.users[0].gecos = "Alice\nroot::0:0::/:/bin/sh"; break;
	case SC_GECOS_LONG:
		memset(gecos, 'g', 256);
		gecos[256] = '\0';
		f.users[0].gecos = gecos;
		break;
	case SC_HOME_RELATIVE: f.users[2].home = "home/carol"; break;
	case SC_HOME_COLON: f.users[2].home = "/home/a:b"; break;
	case SC_HOME_EMPTY: f.users[2].home = ""; break;
	case SC_SHELL_RELATIVE: f.users[1].shell = "nologin"; break;
	case SC_GID_0: f.spec.gid = 0; break;
	case SC_RANGE_EMPTY:
		f.spec.uid_min = 80000;
		f.spec.uid_max = 70000;
		break;
	case SC_RANGE_ROOT: f.spec.uid_min = 0; break;
	case SC_TOO_MANY_KEYS: break; /* below */
	case SC_BAD_KEY: ctm_t_user_add_key(&f, 2, "no-pty " CTM_T_ED25519, ""); break;
	case SC_BAD_NAME: ctm_t_user_set(&f, 1, "Bob", 70020, CTM_STATE_ACTIVE, NULL, NULL, NULL); break;
	case SC_RESERVED_NAME: ctm_t_user_set(&f, 1, "root", 70020, CTM_STATE_ACTIVE, NULL, NULL, NULL); break;
	case SC_NO_NAME: f.users[1].name = NULL; break;
	case SC_STATE_0: f.users[0].state = 0; break;
	case SC_STATE_4: f.users[2].state = 4; break;
	case SC_GENERATION_0: f.spec.generation = 0; break;
	case SC_GROUP_BAD: f.spec.group_name = "Jump Users"; break;
	case SC_GROUP_LONG: f.spec.group_name = "abcdefghijklmnopqrstuvwxyzabcdef"; break;
	case SC_GROUP_EMPTY: f.spec.group_name = ""; break;
	}
	/* One key past the limit (the fixture's arrays stop at the limit). */
	const char *keys65[CTM_KEYS_PER_USER_MAX + 1];
	if (_i == SC_TOO_MANY_KEYS) {
		for (int k = 0; k <= CTM_KEYS_PER_USER_MAX; k++)
			keys65[k] = CTM_T_ED25519;
		f.users[0].keys = keys65;
		f.users[0].key_count = CTM_KEYS_PER_USER_MAX + 1;
	}
	struct ctm_image pw, kd;
	char err[512];
	memset(err, 'X', sizeof err);
	ck_assert_int_eq(ctm_snapshot_build(&f.spec, &pw, &kd, err, sizeof err), -1);
	ck_assert_ptr_null(pw.data);
	ck_assert_ptr_null(kd.data);
	ck_assert_msg(memchr(err, '\0', sizeof err) != NULL, "message not terminated");
	for (int k = 0; k < 2; k++)
		ck_assert_msg(strstr(err, spec_says[_i][k]) != NULL, "spec case %d: message \"%s\" lacks \"%s\"", _i,
			      err, spec_says[_i][k]);
	ctm_t_fixture_free(&f);
}
END_TEST

/* The limits themselves are accepted. */
START_TEST(spec_limits_accepted)
{
	struct ctm_t_fixture f;
	ctm_t_fixture_small(&f);
	char gecos[CTM_FIELD_MAX + 1];
	memset(gecos, 'g', CTM_FIELD_MAX);
	gecos[CTM_FIELD_MAX] = '\0';
	f.users[0].gecos = gecos;
	for (int k = 0; k < CTM_KEYS_PER_USER_MAX; k++)
		ctm_t_user_add_key(&f, 1, CTM_T_ED25519, CTM_T_ED25519);
	f.users[1].uid = f.spec.uid_min;
	f.users[2].uid = f.spec.uid_max;
	f.spec.group_name = "abcdefghijklmnopqrstuvwxyzabcde"; /* 31 */
	struct ctm_image pw, kd;
	char err[512] = "";
	ck_assert_msg(ctm_snapshot_build(&f.spec, &pw, &kd, err, sizeof err) == 0, "%s", err);
	struct ctm_db db;
	ck_assert_int_eq(ctm_db_from_memory(&db, kd.data, kd.size, CTM_DB_KEYS), CTM_OK);
	struct ctm_keys k;
	ck_assert_int_eq(ctm_keys_by_name(&db, "bob", &k), CTM_OK);
	ck_assert_uint_eq(k.key_count, CTM_KEYS_PER_USER_MAX);
	ck_assert_int_eq(ctm_db_verify(&db), CTM_OK);
	ctm_image_free(&pw);
	ctm_image_free(&kd);
	ctm_t_fixture_free(&f);
}
END_TEST

static Suite *validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("usernames");
	tcase_add_loop_test(tc, username_refused, 0, N_BAD_NAMES);
	tcase_add_test(tc, username_accepted);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_loop_test(tc, key_refused, 0, N_BAD_KEYS);
	tcase_add_loop_test(tc, key_refused_crafted, 0, CR_COUNT);
	tcase_add_test(tc, key_tables_are_big_enough);
	tcase_add_loop_test(tc, key_accepted_real, 0, (int)(sizeof good_keys / sizeof good_keys[0]));
	tcase_add_test(tc, key_accepted_security_keys);
	tcase_add_test(tc, key_accepted_crafted_rsa);
	tcase_add_test(tc, key_canonical_form);
	tcase_add_test(tc, key_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("specs");
	tcase_add_loop_test(tc, spec_refused, 0, SC_COUNT);
	tcase_add_test(tc, spec_limits_accepted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	Suite *suites[] = { validate_suite(), NULL };
	return ctm_run_suites(suites);
}
