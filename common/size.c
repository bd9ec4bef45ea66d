/* SPDX-License-Identifier: Apache-2.0 */
/* The size grammar (size.h). */
#include "size.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctm_size_parse(const char *s, unsigned long long *bytes)
{
	static const struct {
		const char *u;
		unsigned long long m;
	} units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "KB", 1000ULL },
		{ "MB", 1000000ULL },
		{ "GB", 1000000000ULL },
		{ "TB", 1000000000000ULL },
		{ "KiB", 1ULL << 10 },
		{ "MiB", 1ULL << 20 },
		{ "GiB", 1ULL << 30 },
		{ "TiB", 1ULL << 40 },
		{ "K", 1ULL << 10 },
		{ "M", 1ULL << 20 },
		{ "G", 1ULL << 30 },
		{ "T", 1ULL << 40 },
	};
	if (!(s[0] >= '0' && s[0] <= '9'))
		return -1;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno || n == 0)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].u) == 0) {
			if (n > ~0ULL / units[i].m)
				return -1;
			*bytes = n * units[i].m;
			return 0;
		}
	return -1;
}

int ctm_size_for_incus(const char *s, char *out, size_t outlen)
{
	unsigned long long b;
	if (ctm_size_parse(s, &b))
		return -1;
	size_t digits = strspn(s, "0123456789");
	const char *unit = s + digits;
	/* "0040GB" is 40GB: Incus gets the number without its leading zeros. */
	while (digits > 1 && *s == '0') {
		s++;
		digits--;
	}
	static const struct {
		const char *in, *out;
	} map[] = {
		{ "", "B" }, { "K", "KiB" }, { "M", "MiB" }, { "G", "GiB" }, { "T", "TiB" }, { "KB", "kB" },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(unit, map[i].in) == 0)
			unit = map[i].out;
	int n = snprintf(out, outlen, "%.*s%s", (int)digits, s, unit);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
