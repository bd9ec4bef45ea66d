/* SPDX-License-Identifier: Apache-2.0 */
/* The benchmarks' users' SSH keys: a well-formed ed25519 public key line
 * per user (wire blob: string type, string 32-byte point), distinct per
 * user index and the same in every benchmark.  Not a real key pair: nobody
 * logs in. */
#ifndef CONTAINARIUM_BENCH_KEY_H
#define CONTAINARIUM_BENCH_KEY_H

#include <stddef.h>
#include <stdint.h>

/* "ssh-ed25519 BASE64 NAME@bench" for user i. */
void bench_key_line(uint32_t i, const char *name, char *out, size_t outlen);

#endif
