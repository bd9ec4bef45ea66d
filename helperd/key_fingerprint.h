/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSH's SHA256 fingerprint of a public key line ("SHA256:..." as
 * ssh-keygen -lf prints it), used to name keys in the API and the CLI. */
#ifndef CONTAINARIUM_HELPERD_KEY_FINGERPRINT_H
#define CONTAINARIUM_HELPERD_KEY_FINGERPRINT_H

#include <stddef.h>

/* 0 and the fingerprint in out (at least 51 bytes), or -1 for a bad line. */
int key_fingerprint(const char *line, char *out, size_t outlen);

/* Whether two key lines hold the same key (comments aside). */
int key_same(const char *a, const char *b);

#endif
