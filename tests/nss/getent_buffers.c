/* SPDX-License-Identifier: Apache-2.0 */
/* Buffer contract through glibc: calls getpwnam_r / getgrnam_r with every
 * buffer size from 0 up, and checks that each too-small size gives ERANGE
 * with nothing written past the buffer, then prints the smallest size that
 * works and the entry.  Run with nsswitch.conf saying only `containarium`
 * (files would answer ERANGE first for its own long lines).
 *
 *   getent_buffers passwd|group NAME
 *   -> "passwd alice: ERANGE below 42 bytes; alice:*:70010:70000:...", exit 0 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOM 4096
#define CANARY 0xa5

static unsigned char *arena;

static int untouched_from(size_t n)
{
	for (size_t i = n; i < ROOM; i++)
		if (arena[i] != CANARY)
			return 0;
	return 1;
}

static int inside(const char *p, size_t n)
{
	return p >= (const char *)arena && p < (const char *)arena + n;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "passwd") && strcmp(argv[1], "group"))) {
		fprintf(stderr, "usage: getent_buffers passwd|group NAME\n");
		return 2;
	}
	int is_pw = strcmp(argv[1], "passwd") == 0;
	arena = malloc(ROOM);
	if (!arena)
		return 2;
	for (size_t n = 0; n < ROOM; n++) {
		memset(arena, CANARY, ROOM);
		struct passwd pw, *pwr = NULL;
		struct group gr, *grr = NULL;
		int rc = is_pw ? getpwnam_r(argv[2], &pw, (char *)arena, n, &pwr)
			       : getgrnam_r(argv[2], &gr, (char *)arena, n, &grr);
		if (!untouched_from(n)) {
			printf("%s %s: wrote past a %zu-byte buffer (rc %d)\n", argv[1], argv[2], n, rc);
			return 1;
		}
		if (rc == ERANGE)
			continue;
		if (rc != 0 || !(is_pw ? (void *)pwr : (void *)grr)) {
			printf("%s %s: rc %d (%s) at %zu bytes\n", argv[1], argv[2], rc,
			       rc ? strerror(rc) : "not found", n);
			return 1;
		}
		if (is_pw) {
			if (!inside(pw.pw_name, n) || !inside(pw.pw_passwd, n) || !inside(pw.pw_gecos, n) ||
			    !inside(pw.pw_dir, n) || !inside(pw.pw_shell, n)) {
				printf("passwd %s: a string lies outside the buffer\n", argv[2]);
				return 1;
			}
			printf("passwd %s: ERANGE below %zu bytes; %s:%s:%u:%u:%s:%s:%s\n", argv[2], n, pw.pw_name,
			       pw.pw_passwd, (unsigned)pw.pw_uid, (unsigned)pw.pw_gid, pw.pw_gecos, pw.pw_dir,
			       pw.pw_shell);
		} else {
			if (!inside(gr.gr_name, n) || !inside(gr.gr_passwd, n) || !inside((const char *)gr.gr_mem, n)) {
				printf("group %s: a field lies outside the buffer\n", argv[2]);
				return 1;
			}
			int members = 0;
			while (gr.gr_mem[members])
				members++;
			printf("group %s: ERANGE below %zu bytes; %s:%s:%u: %d members\n", argv[2], n, gr.gr_name,
			       gr.gr_passwd, (unsigned)gr.gr_gid, members);
		}
		free(arena);
		return 0;
	}
	printf("%s %s: ERANGE even with %d bytes\n", argv[1], argv[2], ROOM);
	return 1;
}
