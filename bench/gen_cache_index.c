/* SPDX-License-Identifier: Apache-2.0 */
/* gen_cache_index: the name and uid indexes libnss-cache binary-searches.
 *
 *   gen_cache_index PASSWD.CACHE
 *
 * writes PASSWD.CACHE.ixname and PASSWD.CACHE.ixuid, in the format that
 * libnss-cache 0.18 (_nss_cache_bsearch2 in nss_cache.c) reads:
 *   - fixed-width entries; the reader takes the width from the first '\n'
 *     and the entry count from file size / width;
 *   - an entry is KEY NUL OFFSET NUL, NUL-padded, then '\n', where OFFSET
 *     is the decimal byte offset of the user's line in PASSWD.CACHE;
 *   - entries sorted by strcmp() of KEY (the reader compares with strcmp;
 *     the uid index is therefore sorted by the uid's decimal *text*);
 *   - the index must not be older than PASSWD.CACHE (the reader falls back
 *     to a linear scan when it is); we write it afterwards.
 * The key is field 1 (name) or field 3 (uid) of each passwd line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	const char *key;
	size_t key_len;
	long offset;
};

static int by_key(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return strcmp(x->key, y->key);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap + 1);
	for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
		n += r;
		if (n == cap) {
			cap *= 2;
			char *bigger = realloc(buf, cap + 1);
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	if (ferror(f) && buf) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* Copy field number `field` (1-based) of every line into its own string. */
static struct entry *collect(const char *data, size_t len, int field, size_t *count)
{
	size_t n = 0, cap = 1024;
	struct entry *e = malloc(cap * sizeof *e);
	for (size_t pos = 0; e && pos < len;) {
		const char *line = data + pos, *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - line) : len - pos;
		const char *f = line, *line_end = line + line_len;
		for (int i = 1; i < field && f; i++) {
			f = memchr(f, ':', (size_t)(line_end - f));
			f = f ? f + 1 : NULL;
		}
		if (!f) {
			fprintf(stderr, "gen_cache_index: line at offset %zu has no field %d\n", pos, field);
			exit(1);
		}
		const char *colon = memchr(f, ':', (size_t)(line_end - f));
		size_t klen = colon ? (size_t)(colon - f) : (size_t)(line_end - f);
		if (n == cap) {
			cap *= 2;
			struct entry *bigger = realloc(e, cap * sizeof *e);
			if (!bigger) {
				free(e);
				return NULL;
			}
			e = bigger;
		}
		e[n].key = strndup(f, klen);
		e[n].key_len = klen;
		e[n].offset = (long)pos;
		if (!e[n].key)
			return NULL;
		n++;
		pos += line_len + 1;
	}
	*count = n;
	return e;
}

static int write_index(const char *path, struct entry *e, size_t n)
{
	qsort(e, n, sizeof *e, by_key);
	size_t width = 0;
	for (size_t i = 0; i < n; i++) {
		size_t w = e[i].key_len + 1 + (size_t)snprintf(NULL, 0, "%ld", e[i].offset) + 1;
		if (w > width)
			width = w;
	}
	char *buf = malloc(width + 1);
	FILE *f = buf ? fopen(path, "w") : NULL;
	if (!f) {
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(e[i - 1].key, e[i].key) == 0) {
			fprintf(stderr, "gen_cache_index: duplicate key %s\n", e[i].key);
			exit(1);
		}
		memset(buf, 0, width + 1);
		memcpy(buf, e[i].key, e[i].key_len);
		snprintf(buf + e[i].key_len + 1, width - e[i].key_len - 1, "%ld", e[i].offset);
		buf[width] = '\n';
		fwrite(buf, 1, width + 1, f);
	}
	free(buf);
	int bad = ferror(f);
	return fclose(f) != 0 || bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_cache_index PASSWD.CACHE\n");
		return 2;
	}
	size_t len;
	char *data = slurp(argv[1], &len);
	if (!data) {
		fprintf(stderr, "gen_cache_index: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	static const struct {
		int field;
		const char *suffix;
	} ix[] = {
		{ 1, ".ixname" },
		{ 3, ".ixuid" },
	};
	for (size_t i = 0; i < 2; i++) {
		size_t n;
		struct entry *e = collect(data, len, ix[i].field, &n);
		char path[4096];
		snprintf(path, sizeof path, "%s%s", argv[1], ix[i].suffix);
		if (!e || write_index(path, e, n) != 0) {
			fprintf(stderr, "gen_cache_index: %s: %s\n", path, strerror(errno));
			return 1;
		}
		for (size_t j = 0; j < n; j++)
			free((char *)e[j].key);
		free(e);
	}
	free(data);
	return 0;
}
