/* SPDX-License-Identifier: Apache-2.0 */
/* Calls the module's _nss_containarium_initgroups_dyn directly (dlopen), the
 * way glibc's initgroups/getgrouplist does, and prints what it did to the
 * group list.  nss_wrapper cannot drive this entry point (its initgroups path
 * is broken), so the nss_wrapper test uses this instead.
 *
 *   initgroups_probe MODULE USER GROUP LIMIT SIZE [GID...]
 *     GROUP: the primary gid glibc passes; SIZE: allocated slots (>= number
 *     of GIDs, which are the groups already collected); LIMIT: glibc's limit
 *     (-1: none).
 *   -> "SUCCESS start=2 size=2: 100 70000 errno=kept"
 *      "UNAVAIL errnop=ENOENT start=1 size=4: 100"
 */
#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

typedef enum nss_status (*initgroups_fn)(const char *user, gid_t group, long int *start, long int *size,
					 gid_t **groupsp, long int limit, int *errnop);

static const char *status_name(enum nss_status s)
{
	switch (s) {
	case NSS_STATUS_TRYAGAIN: return "TRYAGAIN";
	case NSS_STATUS_UNAVAIL: return "UNAVAIL";
	case NSS_STATUS_NOTFOUND: return "NOTFOUND";
	case NSS_STATUS_SUCCESS: return "SUCCESS";
	default: return "?";
	}
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: initgroups_probe MODULE USER GROUP LIMIT SIZE [GID...]\n");
		return 2;
	}
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "initgroups_probe: %s\n", dlerror());
		return 2;
	}
	initgroups_fn fn = (initgroups_fn)dlsym(h, "_nss_containarium_initgroups_dyn");
	if (!fn) {
		fprintf(stderr, "initgroups_probe: %s\n", dlerror());
		return 2;
	}
	gid_t group = (gid_t)strtoul(argv[3], NULL, 10);
	long limit = strtol(argv[4], NULL, 10);
	long size = strtol(argv[5], NULL, 10);
	long start = argc - 6;
	if (size < 1 || start > size) {
		fprintf(stderr, "initgroups_probe: SIZE must be >= 1 and >= the number of GIDs\n");
		return 2;
	}
	/* malloc'd like glibc's list, since the module may realloc it. */
	gid_t *groups = malloc((size_t)size * sizeof *groups);
	if (!groups)
		return 2;
	for (long i = 0; i < start; i++)
		groups[i] = (gid_t)strtoul(argv[6 + i], NULL, 10);

	int err = 0;
	errno = EILSEQ; /* a value the module has no reason to set */
	enum nss_status s = fn(argv[2], group, &start, &size, &groups, limit, &err);
	int saved = errno;

	printf("%s", status_name(s));
	if (err)
		printf(" errnop=%s", strerrorname_np(err));
	printf(" start=%ld size=%ld:", start, size);
	for (long i = 0; i < start; i++)
		printf(" %lu", (unsigned long)groups[i]);
	if (s == NSS_STATUS_SUCCESS || s == NSS_STATUS_NOTFOUND)
		printf(" errno=%s", saved == EILSEQ ? "kept" : strerrorname_np(saved));
	printf("\n");
	free(groups);
	dlclose(h);
	return 0;
}
