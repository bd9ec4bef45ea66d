/* SPDX-License-Identifier: Apache-2.0 */
#include "id_ranges.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"

/* Field n (0-based) of a ':'-separated line as a number; -1 if absent or bad. */
static long long field_num(const char *line, int n)
{
	const char *p = line;
	for (int i = 0; i < n; i++) {
		p = strchr(p, ':');
		if (!p)
			return -1;
		p++;
	}
	char *end;
	errno = 0;
	long long v = strtoll(p, &end, 10);
	if (errno || end == p || (*end != ':' && *end != '\n' && *end != '\0'))
		return -1;
	return v;
}

static int overlaps(long long lo, long long hi, uint32_t a, uint32_t b)
{
	return lo <= (long long)b && hi >= (long long)a;
}

/* Walk path's lines; check() returns non-zero to report a conflict. */
static int scan(const char *path, int (*check)(const char *line, const void *arg, char *why, size_t whylen),
		const void *arg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : ctm_fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
	char line[4096], why[512];
	int lineno = 0, ret = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n' || line[0] == '+' || line[0] == '-')
			continue; /* comments and NIS compat entries */
		if (check(line, arg, why, sizeof why)) {
			line[strcspn(line, "\n")] = '\0';
			ret = ctm_fail(err, errlen, "%s:%d (\"%.60s\"): %s", path, lineno, line, why);
			break;
		}
	}
	fclose(f);
	return ret;
}

struct range {
	uint32_t uid_min, uid_max, gid;
	const char *group;
};

static int check_passwd(const char *line, const void *arg, char *why, size_t whylen)
{
	const struct range *r = arg;
	long long uid = field_num(line, 2);
	if (uid >= 0 && overlaps(uid, uid, r->uid_min, r->uid_max)) {
		snprintf(why, whylen,
			 "uid %lld is inside the jump account range %u-%u; set uid_min/uid_max "
			 "in helperd.conf to a free range",
			 uid, r->uid_min, r->uid_max);
		return 1;
	}
	return 0;
}

static int check_group(const char *line, const void *arg, char *why, size_t whylen)
{
	const struct range *r = arg;
	long long gid = field_num(line, 2);
	size_t nlen = strcspn(line, ":");
	if (nlen == strlen(r->group) && strncmp(line, r->group, nlen) == 0) {
		snprintf(why, whylen,
			 "a local group is already named \"%s\"; remove it or set group_name "
			 "in helperd.conf",
			 r->group);
		return 1;
	}
	if (gid >= 0 && (gid == r->gid || overlaps(gid, gid, r->uid_min, r->uid_max))) {
		snprintf(why, whylen,
			 "gid %lld is our group's gid %u or inside the range %u-%u; set gid "
			 "or uid_min/uid_max in helperd.conf",
			 gid, r->gid, r->uid_min, r->uid_max);
		return 1;
	}
	return 0;
}

static int check_sub(const char *line, const void *arg, char *why, size_t whylen)
{
	const struct range *r = arg;
	long long start = field_num(line, 1), count = field_num(line, 2);
	if (start < 0 || count <= 0)
		return 0;
	long long end = start + count - 1;
	if (overlaps(start, end, r->uid_min, r->uid_max) || overlaps(start, end, r->gid, r->gid)) {
		snprintf(why, whylen,
			 "subordinate ids %lld-%lld overlap the jump account ids %u-%u (gid "
			 "%u); Incus maps container ids there, so choose another uid_min/uid_max/gid",
			 start, end, r->uid_min, r->uid_max, r->gid);
		return 1;
	}
	return 0;
}

int id_ranges_check(const struct id_files *files, uint32_t uid_min, uint32_t uid_max, uint32_t gid,
		    const char *group_name, char *err, size_t errlen)
{
	struct range r = { uid_min, uid_max, gid, group_name };
	return scan(files && files->passwd ? files->passwd : "/etc/passwd", check_passwd, &r, err, errlen) ||
			       scan(files && files->group ? files->group : "/etc/group", check_group, &r, err,
				    errlen) ||
			       scan(files && files->subuid ? files->subuid : "/etc/subuid", check_sub, &r, err,
				    errlen) ||
			       scan(files && files->subgid ? files->subgid : "/etc/subgid", check_sub, &r, err, errlen)
		       ? -1
		       : 0;
}
