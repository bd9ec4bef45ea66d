/* SPDX-License-Identifier: Apache-2.0 */
#include "json_list.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct json_list {
	char member[32];
	size_t member_len;
	int (*each)(json_object *, void *);
	void *arg;
	size_t max_rest, max_item;
	json_tokener *tok;

	char *rest; /* everything outside the array's elements */
	size_t rest_len, rest_cap;

	enum { JL_REST, JL_ARRAY, JL_ITEM } mode;
	unsigned depth; /* nesting outside elements: 1 inside the top-level object */
	bool in_str, esc;
	bool colon;    /* a ':' came after the last string begun at depth 1 */
	bool key_open; /* in a string begun at depth 1 (maybe a key) */
	char key[32];  /* its first bytes */
	size_t key_len;
	size_t item_bytes; /* of the element being read */
	enum json_list_result failed;
};

struct json_list *json_list_new(const char *member, int (*each)(json_object *item, void *arg), void *arg,
				size_t max_rest, size_t max_item)
{
	struct json_list *l = calloc(1, sizeof *l);
	if (!l || strlen(member) >= sizeof l->member || !(l->tok = json_tokener_new())) {
		free(l);
		return NULL;
	}
	strcpy(l->member, member);
	l->member_len = strlen(member);
	l->each = each;
	l->arg = arg;
	l->max_rest = max_rest;
	l->max_item = max_item;
	return l;
}

void json_list_free(struct json_list *l)
{
	if (!l)
		return;
	json_tokener_free(l->tok);
	free(l->rest);
	free(l);
}

/* Room for len more bytes of rest and a NUL. */
static int rest_reserve(struct json_list *l, size_t len)
{
	if (l->rest_len + len + 1 > l->max_rest) {
		l->failed = JL_BIG_REST;
		return -1;
	}
	if (l->rest_len + len + 1 <= l->rest_cap)
		return 0;
	size_t cap = l->rest_cap ? l->rest_cap : 1024;
	while (cap < l->rest_len + len + 1)
		cap *= 2;
	char *r = realloc(l->rest, cap);
	if (!r) {
		l->failed = JL_NOMEM;
		return -1;
	}
	l->rest = r;
	l->rest_cap = cap;
	return 0;
}

/* Feed p[0..len) to the element being read: the bytes it used (all of
 * them while the element goes on), or (size_t)-1 on failure. */
static size_t item_feed(struct json_list *l, const char *p, size_t len)
{
	size_t chunk = len > INT32_MAX ? INT32_MAX : len;
	json_object *o = json_tokener_parse_ex(l->tok, p, (int)chunk);
	enum json_tokener_error e = json_tokener_get_error(l->tok);
	if (e == json_tokener_continue) {
		l->item_bytes += chunk;
		if (l->item_bytes > l->max_item) {
			l->failed = JL_BIG_ITEM;
			return (size_t)-1;
		}
		return chunk;
	}
	if (e != json_tokener_success) {
		json_object_put(o);
		l->failed = JL_BAD_ITEM;
		return (size_t)-1;
	}
	size_t used = json_tokener_get_parse_end(l->tok);
	l->item_bytes += used;
	if (l->item_bytes > l->max_item) {
		json_object_put(o);
		l->failed = JL_BIG_ITEM;
		return (size_t)-1;
	}
	int r = o ? l->each(o, l->arg) : 0; /* a null element carries nothing */
	json_object_put(o);
	l->mode = JL_ARRAY;
	if (r) {
		l->failed = JL_STOPPED;
		return (size_t)-1;
	}
	return used;
}

int json_list_feed(struct json_list *l, const char *p, size_t len)
{
	if (l->failed)
		return -1;
	/* At most every byte goes to rest: room for all of them at once
	 * keeps the loop below simple. */
	if (rest_reserve(l, len))
		return -1;
	for (size_t i = 0; i < len;) {
		if (l->mode == JL_ITEM) {
			size_t used = item_feed(l, p + i, len - i);
			if (used == (size_t)-1)
				return -1;
			i += used;
			continue;
		}
		char ch = p[i++];
		if (l->mode == JL_ARRAY) { /* between elements */
			if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == ',')
				continue;
			if (ch == ']') { /* the array's end */
				l->rest[l->rest_len++] = ch;
				l->mode = JL_REST;
				l->depth--;
				continue;
			}
			json_tokener_reset(l->tok); /* an element begins with ch */
			l->mode = JL_ITEM;
			l->item_bytes = 0;
			i--;
			continue;
		}
		l->rest[l->rest_len++] = ch;
		if (l->in_str) {
			if (l->esc)
				l->esc = false;
			else if (ch == '\\')
				l->esc = true;
			else if (ch == '"')
				l->in_str = l->key_open = false;
			if (l->in_str && l->key_open) {
				if (l->key_len < sizeof l->key)
					l->key[l->key_len] = ch;
				l->key_len++;
			}
			continue;
		}
		switch (ch) {
		case '"':
			l->in_str = true;
			if (l->depth == 1) {
				l->key_open = true;
				l->key_len = 0;
				l->colon = false;
			}
			break;
		case ':': l->colon |= l->depth == 1; break;
		case '{':
		case '[':
			if (++l->depth == 2 && ch == '[' && l->colon && l->key_len == l->member_len &&
			    memcmp(l->key, l->member, l->member_len) == 0)
				l->mode = JL_ARRAY;
			break;
		case '}':
		case ']':
			if (l->depth)
				l->depth--;
			break;
		}
	}
	l->rest[l->rest_len] = '\0';
	return 0;
}

enum json_list_result json_list_finish(struct json_list *l, const char **rest, size_t *rest_len)
{
	*rest = l->rest ? l->rest : "";
	*rest_len = l->rest_len;
	if (l->failed)
		return l->failed;
	if (l->mode != JL_REST || l->depth != 0 || l->in_str)
		return JL_TRUNCATED;
	return JL_OK;
}
