/* SPDX-License-Identifier: Apache-2.0 */
#include "time_arg.h"

#include <stdio.h>
#include <string.h>

static int digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

static int relative(const char *s, time_t now, time_t *out)
{
	long long n = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > 100000000)
			return -1;
	}
	static const struct {
		char unit;
		long long secs;
	} units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
	};
	if (p == s || !p[0] || p[1])
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (*p == units[i].unit) {
			*out = now - (time_t)(n * units[i].secs);
			return 0;
		}
	return -1;
}

int ctm_time_arg(const char *s, time_t now, time_t *out)
{
	if (relative(s, now, out) == 0)
		return 0;
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0;
	size_t len = strlen(s);
	if (len < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d))
		return -1;
	const char *p = s + 10;
	long offset = 0;
	if (*p) {
		if ((*p != 'T' && *p != 't' && *p != ' ') || strlen(p) < 9 || digits(p + 1, 2, &h) || p[3] != ':' ||
		    digits(p + 4, 2, &mi) || p[6] != ':' || digits(p + 7, 2, &sec))
			return -1;
		p += 9;
		if (*p == '.') {
			p++;
			if (*p < '0' || *p > '9')
				return -1;
			while (*p >= '0' && *p <= '9')
				p++;
		}
		int oh, om;
		if ((*p == 'Z' || *p == 'z') && !p[1]) {
			offset = 0;
		} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && !digits(p + 1, 2, &oh) && p[3] == ':' &&
			   !digits(p + 4, 2, &om) && oh < 24 && om < 60) {
			offset = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
		} else {
			return -1;
		}
	}
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - (time_t)offset;
	return 0;
}
