/* SPDX-License-Identifier: Apache-2.0 */
/* The "name uid" lists gen_users writes, loaded for the bench drivers. */
#ifndef CONTAINARIUM_BENCH_USERLIST_H
#define CONTAINARIUM_BENCH_USERLIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bench_user {
	char name[33];
	uid_t uid;
};

/* Load PATH; exits with a message on any error or an empty list. */
struct bench_user *userlist_load(const char *path, size_t *count);

/* xorshift64*: cheap, per-thread, reproducible from a seed. */
static inline uint64_t bench_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

#endif
