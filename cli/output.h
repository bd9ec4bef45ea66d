/* SPDX-License-Identifier: Apache-2.0 */
/* What people see: colours and symbols (on a terminal only), tables, the
 * error line, and JSON for --json. */
#ifndef CONTAINARIUM_CLI_OUTPUT_H
#define CONTAINARIUM_CLI_OUTPUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum out_colour { OUT_PLAIN, OUT_GREEN, OUT_RED, OUT_YELLOW, OUT_BOLD, OUT_DIM };

/* Decide once: colours and symbols when stdout is a terminal and NO_COLOR
 * is unset or empty. */
void out_init(void);
bool out_fancy(void);

/* The escape sequence for c, or "" when not fancy; out_reset() ends it. */
const char *out_colour(enum out_colour c);
const char *out_reset(void);
/* "✓ " / "✗ " on a terminal, "" elsewhere. */
const char *out_ok_mark(void);
const char *out_fail_mark(void);

/* "containarium: MESSAGE" on stderr. */
__attribute__((format(printf, 1, 2))) void out_error(const char *fmt, ...);

/* Pretty JSON on stdout, with a newline. */
void out_json(json_object *o);

/* A table for people: left-aligned columns two spaces apart, widths from
 * the content.  Cells are copied. */
struct table;
struct table *table_new(size_t ncols, const char *const *headers);
void table_add(struct table *t, const char *const *cells);
/* Colour of one column's cells, chosen per cell by fn (NULL: plain). */
void table_colour(struct table *t, size_t col, enum out_colour (*fn)(const char *cell));
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

/* "1.5 GiB" for people. */
void out_bytes(unsigned long long bytes, char *buf, size_t len);

#endif
