/* SPDX-License-Identifier: Apache-2.0 */
/* Test keys for the unit tests: real OpenSSH public keys generated once with
 * ssh-keygen 9.2 (private halves discarded), split into type, base64 blob and
 * comment so tests can rebuild lines with any spacing, plus helpers to craft
 * wire-format blobs (security-key types, and deliberately broken keys). */
#ifndef CONTAINARIUM_TEST_SUPPORT_KEYS_H
#define CONTAINARIUM_TEST_SUPPORT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define CTM_T_ED25519_TYPE "ssh-ed25519"
#define CTM_T_ED25519_B64                                                                                              \
	"AAAAC3NzaC1lZDI1NTE5AAAAIMJxLHTVPD1meMRvvCibtWNVhVy7w/Sp96fov0F0"                                             \
	"5ykK"
#define CTM_T_ED25519_COMMENT "ed@ctm-test"
#define CTM_T_ED25519 CTM_T_ED25519_TYPE " " CTM_T_ED25519_B64 " " CTM_T_ED25519_COMMENT

#define CTM_T_ECDSA256_TYPE "ecdsa-sha2-nistp256"
#define CTM_T_ECDSA256_B64                                                                                             \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDuqfc1Stgkn"                                             \
	"T2OHwGeQPPwQnDP1YZgw4kFpBlkpt/yPiXmYCNkLTag5bUrGTpQOg7DHPDjt10zE"                                             \
	"cHxj9xRKLEc="
#define CTM_T_ECDSA256_COMMENT "ec256@ctm-test"
#define CTM_T_ECDSA256 CTM_T_ECDSA256_TYPE " " CTM_T_ECDSA256_B64 " " CTM_T_ECDSA256_COMMENT

#define CTM_T_ECDSA384_TYPE "ecdsa-sha2-nistp384"
#define CTM_T_ECDSA384_B64                                                                                             \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBKOXDY4j03d1"                                             \
	"5AG6lPYbNC5T2oX1SWIplii+KAI8eviswExMqonWIM8KtJGU873vTULoyECHqGEG"                                             \
	"11UsZeIJ3AJgLrv6OrM8WrezAqGnO8z0/XhDvqABzXXeirq7tPLY1A=="
#define CTM_T_ECDSA384_COMMENT "ec384@ctm-test"
#define CTM_T_ECDSA384 CTM_T_ECDSA384_TYPE " " CTM_T_ECDSA384_B64 " " CTM_T_ECDSA384_COMMENT

#define CTM_T_ECDSA521_TYPE "ecdsa-sha2-nistp521"
#define CTM_T_ECDSA521_B64                                                                                             \
	"AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBABb+AsEtqK1"                                             \
	"LmzS8CNNRE+aBiHw6hjIJ6o73NR9Zea+RELbf4qd+poIpMrwr8wRX3/gLBppYM3X"                                             \
	"7/PCysrM1LgT7QGS+eJ0l3DgZkU+m78jAb+KLhMhtPki9JZ5JffG0mK4ofHCRl4S"                                             \
	"g4bl0a4msyvE56+B0igxVjS/enDiUD0JmUfM0g=="
#define CTM_T_ECDSA521_COMMENT "ec521@ctm-test"
#define CTM_T_ECDSA521 CTM_T_ECDSA521_TYPE " " CTM_T_ECDSA521_B64 " " CTM_T_ECDSA521_COMMENT

#define CTM_T_RSA2048_TYPE "ssh-rsa"
#define CTM_T_RSA2048_B64                                                                                              \
	"AAAAB3NzaC1yc2EAAAADAQABAAABAQDAIyp7BDjxOTkK4u1voqzftpXTrKkl54K/"                                             \
	"Ps2z5L3SW60u5yGhRJBqfgtl8v+2Ni7fo1HiwKZgjKrYd5I/M746yrVoG8B0COy5"                                             \
	"3Xg6eh6/78Sk4yoht49TAorMgRNC4KM0pbzvCPCH1tRoaFi6lrjllqO14vhhksFD"                                             \
	"HZwYktrnx8KX1JdSwxCTmfgMioXNYkbWiMY4eyR6SlyIOBFRuuIVcSWBqdizg+NJ"                                             \
	"bdI8W0LQsgKZbaL4XegEHvV7ANoufBXUHY6f2gtSXmv5JonBqjM2iW0/pbjtDQ8q"                                             \
	"geM7qtsdPnYV6zyYJ9HondGp7nXV0Hokx7hzd0fukkyuQWV8j9Lp"
#define CTM_T_RSA2048_COMMENT "rsa2048@ctm-test"
#define CTM_T_RSA2048 CTM_T_RSA2048_TYPE " " CTM_T_RSA2048_B64 " " CTM_T_RSA2048_COMMENT

#define CTM_T_RSA3072_TYPE "ssh-rsa"
#define CTM_T_RSA3072_B64                                                                                              \
	"AAAAB3NzaC1yc2EAAAADAQABAAABgQDFCp/qZqPg1SAW8ECogix5HEFa0NAQBn8l"                                             \
	"mUwL8yi4F2mZP6U9IRcYYwaCzjQ06e/8e/uuTzsCogkl0CC4Rtw4sdZLvbHkS/KX"                                             \
	"TmNtamQ1iUhnr/YQGF7vF2vjM7XlfBZMrQh6JaziNBFdtO5+tcMZlCH3v/1lyIeN"                                             \
	"vF0s7oohb2CHxoJJNW4doFcNwrQbBuhyK6ce39ZtVULVUKfHnvoMrZHZ7kF9+BS/"                                             \
	"aMkR5Ge50D/G0GDLKwJxxD4i8276pYUPROW96vDU6R5W8bszxr2Z+Pu7MhnlhSMm"                                             \
	"SA9AFZhTxOygoT4ocbmAJTKzuh/+Hxz++TysGiuehYGF2Zjx0rxGfjIUUoE1ufqo"                                             \
	"A0OmTaj3b7NIyWX3cpeC03LnSFPGjtjSxm0wwJBho2KgDNRBz31GK/Jw8jG2g+Wq"                                             \
	"Y5tt6MEVoJ6grG8ShFb20DfHM5Z0cqtck3/O/GKiT42anN75xEadJ1tqFpdYxBZS"                                             \
	"Io+qyFTHCggj0Edjdpi1So70QLQXK9E="
#define CTM_T_RSA3072_COMMENT "rsa3072@ctm-test"
#define CTM_T_RSA3072 CTM_T_RSA3072_TYPE " " CTM_T_RSA3072_B64 " " CTM_T_RSA3072_COMMENT

#define CTM_T_RSA4096_TYPE "ssh-rsa"
#define CTM_T_RSA4096_B64                                                                                              \
	"AAAAB3NzaC1yc2EAAAADAQABAAACAQDp/qSxi2tHmytHHp7nwuUlVQ6+yZwfqJS7"                                             \
	"TBGGFE6O3+vZXmPqBRSANOkXRV6uMWdXrww0ysljwhdLbNfNTJAInpWwCkHaiw1G"                                             \
	"UxxTDruE3q3ir2YUQlZvaygFbYsPNTc2Ek7B6sgQnRez9xcD+dVXy+QZM5tVJ0iD"                                             \
	"kk077B5WkSISDuiTCH/XEjovgH8X7anaCOOZb8t5uwpe8jysp545gzI5B6sPzCpR"                                             \
	"B3P6YxHNA1gxNc47ZoCUqglaidptG2uXHF6VNx40u9YjtzCCtsuVcU3M3AkyDVqn"                                             \
	"RalU7II5t6fO6vgjoc9SLwrLB9nbmZ8gl7/FFoaoCTvAb3A1gIYjPvpCtY3aAC+c"                                             \
	"VECgH05A8KHX+3bYI7k6WwK5avSt/lW1HYyNXVEqg4iFgV1yOOBpvpoLDb5gWMJi"                                             \
	"4XhW2hYuMmWt1WZviRAPM31gMvouRAnJuY9+4mYVBQaGbGReu1nXoikX9sJvQJPU"                                             \
	"ihpdXYqQfxDYXo/shq3ZWg2wCqGVcnS3vE5f6lmfL+BoSdYtD9ist5EgEZylEWTD"                                             \
	"OjOmwbqfLTLJD04ccVFigZCcDyiuZLCMYyMSpn6PKbze9AXEgHTHOWs+wDdXW6Fj"                                             \
	"cqhjQI3q9j6Ke+htUOTvhAW+gW+1pv0bhgITsCl4xHgN/r9lAtNV70ze84ZEAYMD"                                             \
	"Kb70u0zsxw=="
#define CTM_T_RSA4096_COMMENT "rsa4096@ctm-test"
#define CTM_T_RSA4096 CTM_T_RSA4096_TYPE " " CTM_T_RSA4096_B64 " " CTM_T_RSA4096_COMMENT

#define CTM_T_RSA1024_TYPE "ssh-rsa"
#define CTM_T_RSA1024_B64                                                                                              \
	"AAAAB3NzaC1yc2EAAAADAQABAAAAgQCVYPST/4+cOKDpHW7M5jDn8Dn0fFKzdsKO"                                             \
	"UwrmATNb7VXiaC5yZjiuo+nEhsyJkIRwk6S0ioNtXhiEV9ifx/9aue1k9q8+LJCP"                                             \
	"FjpiOghNp+9RfPfcuK5+k/gnxrJhpvq/WH3GkO2mmm6F+6Hpu7ENGrZ+uL/eQzS/"                                             \
	"RTo9ULuUqQ=="
#define CTM_T_RSA1024_COMMENT "rsa1024@ctm-test"
#define CTM_T_RSA1024 CTM_T_RSA1024_TYPE " " CTM_T_RSA1024_B64 " " CTM_T_RSA1024_COMMENT

#define CTM_T_DSA_TYPE "ssh-dss"
#define CTM_T_DSA_B64                                                                                                  \
	"AAAAB3NzaC1kc3MAAACBAKqBzhGuJb1QV/69IJLZ+jWy6CgzlN8a0NjqbTi/A1CS"                                             \
	"PpxXl2cnO12lEufInXMPTz2BPYpf/MSffRYxuIxkL2ZKToM/3X2wHSZnYFjfyWaX"                                             \
	"Ab/FFKN9O2s3Zvfm5w7WJOyChPJqF3gp7+mkuqCFPLCZ4oSY5T+Y5Yfm3Y3jxQwZ"                                             \
	"AAAAFQDphLtcgtDIJLjEy6g3aHWtTID8pwAAAIADbkkL5Inoj3PijjiEH0+RUMNb"                                             \
	"3T0fZz16FXB5F53nye7d4Re+pOS/lmkPUnK431pD5yM0f4Vq74K10TMYvStiMtsy"                                             \
	"1hXt+iQ62zxVzRoh/NDcL4MHtV0C/fBSE2qW4G/7Mat46r68p3w/CI4Tjfvk+eI1"                                             \
	"WVJeXjWYdZ0WYX40BQAAAIBPBmvkb0bYslqHOg7i0HTSpPocSq6+z/YwsjwSR4so"                                             \
	"GWVXfLwG7m732tUbYPKIQ3EJhQv4afJhCHinBxhKmG8PIY+733e7A9b0Y4w4Cu+O"                                             \
	"+41phycIAnvU9resYO0LtvM8+ec5BGhHZAv7Hj4SmpcGQjCUcTHQ/XT4VsChPk+L"                                             \
	"8w=="
#define CTM_T_DSA_COMMENT "dsa@ctm-test"
#define CTM_T_DSA CTM_T_DSA_TYPE " " CTM_T_DSA_B64 " " CTM_T_DSA_COMMENT

#define CTM_T_ED25519_CERT_TYPE "ssh-ed25519-cert-v01@openssh.com"
#define CTM_T_ED25519_CERT_B64                                                                                         \
	"AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIH+kWAu7izZ0"                                             \
	"OzMu38foNOq74s4Kbhqixo873eKyoQryAAAAIMJxLHTVPD1meMRvvCibtWNVhVy7"                                             \
	"w/Sp96fov0F05ykKAAAAAAAAAAAAAAABAAAABHRlc3QAAAAJAAAABWFsaWNlAAAA"                                             \
	"AAAAAAD//////////wAAAAAAAACCAAAAFXBlcm1pdC1YMTEtZm9yd2FyZGluZwAA"                                             \
	"AAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnBlcm1pdC1wb3J0"                                             \
	"LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2Vy"                                             \
	"LXJjAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIOIRBaGAjVpSoirBKNzz"                                             \
	"bnGwrlI/WL2cl3FVtjNoIItkAAAAUwAAAAtzc2gtZWQyNTUxOQAAAEBYRs/1Xe0j"                                             \
	"4XIboRyp/SAJpWhNFcgzgh8Zxd+/QPt3nhihtNsn/70emEoFnBJKq2wnFx7ifD3Q"                                             \
	"oofWYJNzxpUK"
#define CTM_T_ED25519_CERT_COMMENT "ed@ctm-test"
#define CTM_T_ED25519_CERT CTM_T_ED25519_CERT_TYPE " " CTM_T_ED25519_CERT_B64 " " CTM_T_ED25519_CERT_COMMENT

/* An SSH wire-format blob under construction (RFC 4251 strings, mpints). */
struct ctm_t_wire {
	unsigned char buf[16384];
	size_t len;
};

void ctm_t_wire_u32(struct ctm_t_wire *w, uint32_t v);
void ctm_t_wire_bytes(struct ctm_t_wire *w, const void *p, size_t len);
/* A string: u32 length then the bytes. */
void ctm_t_wire_string(struct ctm_t_wire *w, const void *p, size_t len);
void ctm_t_wire_cstring(struct ctm_t_wire *w, const char *s);

/* Standard padded base64 of in[0..len) into out (NUL-terminated); returns its
 * length.  Fails the test when it does not fit. */
size_t ctm_t_b64_encode(const void *in, size_t len, char *out, size_t cap);

/* Decode a blob (fails the test when b64 is invalid); returns its length. */
size_t ctm_t_b64_decode(const char *b64, unsigned char *out, size_t cap);

/* Write "type base64(blob)[ comment]" into out; returns its length. */
size_t ctm_t_key_line(char *out, size_t cap, const char *type, const struct ctm_t_wire *blob, const char *comment);

/* The 32-byte public key inside CTM_T_ED25519, and the 65-byte point inside
 * CTM_T_ECDSA256: real key material for the crafted security-key blobs. */
void ctm_t_ed25519_pk(unsigned char pk[32]);
void ctm_t_ecdsa256_point(unsigned char point[65]);

/* Well-formed security-key lines (as `ssh-keygen -t ed25519-sk` would print),
 * with the given application string. */
size_t ctm_t_sk_ed25519_line(char *out, size_t cap, const char *application, const char *comment);
size_t ctm_t_sk_ecdsa_line(char *out, size_t cap, const char *application, const char *comment);

/* An ssh-rsa line with the given exponent and modulus (big-endian, written
 * as mpints exactly as given: the caller controls leading zero bytes). */
size_t ctm_t_rsa_line(char *out, size_t cap, const unsigned char *e, size_t elen, const unsigned char *n, size_t nlen);

#endif
