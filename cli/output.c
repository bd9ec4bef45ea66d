/* SPDX-License-Identifier: Apache-2.0 */
#include "output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool fancy;

void out_init(void)
{
	const char *no = getenv("NO_COLOR");
	fancy = isatty(STDOUT_FILENO) && !(no && *no);
}

bool out_fancy(void)
{
	return fancy;
}

const char *out_colour(enum out_colour c)
{
	if (!fancy)
		return "";
	switch (c) {
	case OUT_GREEN: return "\033[32m";
	case OUT_RED: return "\033[31m";
	case OUT_YELLOW: return "\033[33m";
	case OUT_BOLD: return "\033[1m";
	case OUT_DIM: return "\033[2m";
	case OUT_PLAIN: break;
	}
	return "";
}

const char *out_reset(void)
{
	return fancy ? "\033[0m" : "";
}

const char *out_ok_mark(void)
{
	return fancy ? "\033[32m\u2713\033[0m " : "";
}

const char *out_fail_mark(void)
{
	return fancy ? "\033[31m\u2717\033[0m " : "";
}

void out_error(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("containarium: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void out_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
}

void out_bytes(unsigned long long b, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", b);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* ---- tables ------------------------------------------------------------- */

struct table {
	size_t ncols, nrows, caprows;
	char **cells; /* row-major; row 0: headers */
	enum out_colour (**colour)(const char *);
};

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p) {
		fputs("containarium: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

struct table *table_new(size_t ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof *t);
	if (!t || !(t->colour = calloc(ncols, sizeof *t->colour))) {
		fputs("containarium: out of memory\n", stderr);
		exit(1);
	}
	t->ncols = ncols;
	table_add(t, headers);
	return t;
}

void table_add(struct table *t, const char *const *cells)
{
	if (t->nrows == t->caprows) {
		size_t cap = t->caprows ? 2 * t->caprows : 16;
		char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
		if (!c) {
			fputs("containarium: out of memory\n", stderr);
			exit(1);
		}
		t->cells = c;
		t->caprows = cap;
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = xstrdup(cells[i]);
	t->nrows++;
}

void table_colour(struct table *t, size_t col, enum out_colour (*fn)(const char *cell))
{
	if (col < t->ncols)
		t->colour[col] = fn;
}

/* Columns on screen: UTF-8 continuation bytes take none. */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

void table_print(const struct table *t, FILE *f)
{
	size_t *w = calloc(t->ncols, sizeof *w);
	if (!w)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t n = width(t->cells[r * t->ncols + c]);
			if (n > w[c])
				w[c] = n;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			const char *on = r == 0         ? out_colour(OUT_BOLD)
					 : t->colour[c] ? out_colour(t->colour[c](cell))
							: "";
			fprintf(f, "%s%s%s", on, cell, *on ? out_reset() : "");
			if (c + 1 < t->ncols)
				fprintf(f, "%*s", (int)(w[c] - width(cell) + 2), "");
		}
		fputc('\n', f);
	}
	free(w);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->colour);
	free(t);
}
