/* SPDX-License-Identifier: Apache-2.0 */
/* Reading one large JSON answer as it arrives, one list element at a time.
 *
 * GET /1.0/instances?recursion=1 answers
 *   {"type":"sync", ..., "metadata":[INSTANCE,INSTANCE,...]}
 * which is 41 MB at 10,000 instances; parsed whole by json-c it also made
 * a tree of about 29 KB per instance.  A json_list takes the bytes in any
 * chunks: each element of the top-level member's array is parsed alone
 * (json-c's tokener, straight from the chunks), handed to each() and freed
 * before the next one begins.  Everything else (the small envelope) is kept
 * as text with the member's value as "[]", for the caller to parse.
 *
 * The bytes outside the array are followed at the level of JSON's syntax
 * (strings, escapes, nesting), not validated: the caller's parse of the
 * rest does that.  A member name written with escapes is not recognised;
 * its array then stays in the rest, whole (callers read it from there). */
#ifndef CONTAINARIUM_HELPERD_JSON_LIST_H
#define CONTAINARIUM_HELPERD_JSON_LIST_H

#include <json-c/json.h>
#include <stddef.h>

enum json_list_result {
	JL_OK = 0,
	JL_BAD_ITEM, /* an element is not JSON */
	JL_BIG_ITEM, /* an element is larger than max_item */
	JL_BIG_REST, /* the rest is larger than max_rest */
	JL_STOPPED,  /* each() returned non-zero */
	JL_NOMEM,
	JL_TRUNCATED, /* the bytes ended inside a string, an element or the array */
};

struct json_list;

/* member: the top-level key whose array is streamed ("metadata").
 * each() borrows item (it is put after each returns): 0 to go on. */
struct json_list *json_list_new(const char *member, int (*each)(json_object *item, void *arg), void *arg,
				size_t max_rest, size_t max_item);

/* The next bytes.  0, or -1 once something failed (json_list_finish says
 * what); nothing more is read after a failure. */
int json_list_feed(struct json_list *l, const char *p, size_t len);

/* After the last byte: the outcome, and the rest of the document as text
 * (NUL-terminated, "" when none; owned by l, valid until json_list_free). */
enum json_list_result json_list_finish(struct json_list *l, const char **rest, size_t *rest_len);

void json_list_free(struct json_list *l);

#endif
