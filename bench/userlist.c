/* SPDX-License-Identifier: Apache-2.0 */
#include "userlist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_user *userlist_load(const char *path, size_t *count)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	size_t n = 0, cap = 1024;
	struct bench_user *u = malloc(cap * sizeof *u);
	unsigned long uid;
	char name[64];
	while (u && fscanf(f, "%63s %lu", name, &uid) == 2) {
		if (strlen(name) >= sizeof u->name) {
			fprintf(stderr, "bench: %s: name too long: %s\n", path, name);
			exit(1);
		}
		if (n == cap) {
			cap *= 2;
			struct bench_user *bigger = realloc(u, cap * sizeof *u);
			if (!bigger)
				free(u);
			u = bigger;
			if (!u)
				break;
		}
		strcpy(u[n].name, name);
		u[n].uid = (uid_t)uid;
		n++;
	}
	if (!u || !feof(f) || n == 0) {
		fprintf(stderr, "bench: %s: not a \"name uid\" list\n", path);
		exit(1);
	}
	fclose(f);
	*count = n;
	return u;
}
