/* SPDX-License-Identifier: Apache-2.0 */
/* gen_users: the benchmark's user population, written once per run.
 *
 *   gen_users DIR COUNT
 *
 * writes into DIR:
 *   users.json      COUNT active users with one ed25519 key each, for
 *                   containarium-mksnapshot (passwd.db + keys.db)
 *   users.list      "name uid" per user: what the drivers look up
 *   passwd.cache    the same users as passwd lines, for libnss-cache
 *   passwd.small    a 30-line /etc/passwd, the `files` reference
 *   small.list      "name uid" for the 30 lines of passwd.small
 *   onekey          the one authorized_keys line `cat` prints as the
 *                   reference for containarium-authorized-keys
 *
 * Every user gets the same fields in every file, so each module copies the
 * same strings into the caller's buffer. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_key.h"

#define UID_BASE 200000u
#define UID_SPAN 100000000u /* uid_min..uid_max handed to mksnapshot */
#define GID 70000u
#define SMALL_LINES 30

static const char *dir;

static FILE *open_out(const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "gen_users: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return f;
}

static void close_out(FILE *f, const char *name)
{
	if (ferror(f) || fclose(f) != 0) {
		fprintf(stderr, "gen_users: writing %s/%s failed\n", dir, name);
		exit(1);
	}
}

static void ipv4(uint32_t i, char *out, size_t outlen)
{
	snprintf(out, outlen, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, (i & 255) | 1);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gen_users DIR COUNT\n");
		return 2;
	}
	dir = argv[1];
	char *end;
	unsigned long count = strtoul(argv[2], &end, 10);
	if (*end || count == 0 || count > 1000000) {
		fprintf(stderr, "gen_users: COUNT must be 1..1000000\n");
		return 2;
	}

	FILE *json = open_out("users.json"), *list = open_out("users.list"), *cache = open_out("passwd.cache");
	fprintf(json,
		"{\"generation\":1,\"group\":\"containarium-users\",\"gid\":%u,"
		"\"uid_min\":%u,\"uid_max\":%u,\"users\":[\n",
		GID, UID_BASE, UID_BASE + UID_SPAN - 1);
	for (uint32_t i = 0; i < count; i++) {
		char name[16], key[160], ip[20];
		uint32_t uid = UID_BASE + i;
		snprintf(name, sizeof name, "dev%06u", i);
		bench_key_line(i, name, key, sizeof key);
		ipv4(i, ip, sizeof ip);
		fprintf(json,
			"%s{\"name\":\"%s\",\"uid\":%u,\"gecos\":\"\",\"home\":\"/home/%s\","
			"\"shell\":\"/usr/sbin/nologin\",\"state\":\"active\",\"ipv4\":\"%s\","
			"\"keys\":[\"%s\"]}\n",
			i ? "," : "", name, uid, name, ip, key);
		fprintf(list, "%s %u\n", name, uid);
		fprintf(cache, "%s:*:%u:%u::/home/%s:/usr/sbin/nologin\n", name, uid, GID, name);
	}
	fprintf(json, "]}\n");
	close_out(json, "users.json");
	close_out(list, "users.list");
	close_out(cache, "passwd.cache");

	/* A typical small host: Debian's system accounts, then a few people. */
	static const char *const sys[] = {
		"root:x:0:0:root:/root:/bin/bash",
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
		"bin:x:2:2:bin:/bin:/usr/sbin/nologin",
		"sys:x:3:3:sys:/dev:/usr/sbin/nologin",
		"sync:x:4:65534:sync:/bin:/bin/sync",
		"games:x:5:60:games:/usr/games:/usr/sbin/nologin",
		"man:x:6:12:man:/var/cache/man:/usr/sbin/nologin",
		"lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin",
		"mail:x:8:8:mail:/var/mail:/usr/sbin/nologin",
		"news:x:9:9:news:/var/spool/news:/usr/sbin/nologin",
		"uucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin",
		"proxy:x:13:13:proxy:/bin:/usr/sbin/nologin",
		"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
		"backup:x:34:34:backup:/var/backups:/usr/sbin/nologin",
		"list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin",
		"irc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin",
		"_apt:x:42:65534::/nonexistent:/usr/sbin/nologin",
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
		"systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin",
		"messagebus:x:100:107::/nonexistent:/usr/sbin/nologin",
		"sshd:x:101:65534::/run/sshd:/usr/sbin/nologin",
	};
	FILE *small = open_out("passwd.small"), *slist = open_out("small.list");
	int n = 0;
	for (; n < (int)(sizeof sys / sizeof sys[0]); n++) {
		char name[64];
		unsigned uid;
		if (sscanf(sys[n], "%63[^:]:x:%u:", name, &uid) != 2)
			return 1;
		fprintf(small, "%s\n", sys[n]);
		fprintf(slist, "%s %u\n", name, uid);
	}
	for (unsigned u = 1000; n < SMALL_LINES; n++, u++) {
		fprintf(small, "staff%u:x:%u:%u:Staff %u:/home/staff%u:/bin/bash\n", u, u, u, u, u);
		fprintf(slist, "staff%u %u\n", u, u);
	}
	close_out(small, "passwd.small");
	close_out(slist, "small.list");

	/* The line containarium-authorized-keys prints for dev000000. */
	FILE *one = open_out("onekey");
	char key[160], ip[20];
	bench_key_line(0, "dev000000", key, sizeof key);
	ipv4(0, ip, sizeof ip);
	fprintf(one, "restrict,port-forwarding,permitopen=\"%s:22\" %s\n", ip, key);
	close_out(one, "onekey");
	return 0;
}
