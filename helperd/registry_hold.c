/* SPDX-License-Identifier: Apache-2.0 */
#include "registry_hold.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HOLDS_MAX 64

static pthread_mutex_t holds_lock = PTHREAD_MUTEX_INITIALIZER;
static char holds[HOLDS_MAX][CTM_NAME_MAX + 1];
static unsigned hold_count[HOLDS_MAX]; /* 0: slot free */

int registry_hold(const char *name)
{
	int r = -1;
	pthread_mutex_lock(&holds_lock);
	for (int i = 0; i < HOLDS_MAX && r; i++)
		if (hold_count[i] && strcmp(holds[i], name) == 0) {
			hold_count[i]++;
			r = 0;
		}
	for (int i = 0; i < HOLDS_MAX && r; i++)
		if (!hold_count[i]) {
			strncpy(holds[i], name, CTM_NAME_MAX);
			holds[i][CTM_NAME_MAX] = '\0';
			hold_count[i] = 1;
			r = 0;
		}
	pthread_mutex_unlock(&holds_lock);
	return r;
}

void registry_unhold(const char *name)
{
	pthread_mutex_lock(&holds_lock);
	for (int i = 0; i < HOLDS_MAX; i++)
		if (hold_count[i] && strcmp(holds[i], name) == 0) {
			hold_count[i]--;
			break;
		}
	pthread_mutex_unlock(&holds_lock);
}

static long index_of(const struct registry *r, const char *name)
{
	const struct account *a = registry_find(r, name);
	return a ? a - r->accounts : -1;
}

/* Replace fresh's account at i with a copy of was (its status kept). */
static int keep_as_was(struct registry *fresh, long i, const struct account *was)
{
	struct account *a = &fresh->accounts[i];
	char **keys = was->key_count ? calloc(was->key_count, sizeof *keys) : NULL;
	if (was->key_count && !keys)
		return -1;
	for (size_t k = 0; k < was->key_count; k++)
		if (!(keys[k] = strdup(was->keys[k]))) {
			while (k--)
				free(keys[k]);
			free(keys);
			return -1;
		}
	for (size_t k = 0; k < a->key_count; k++)
		free(a->keys[k]);
	free(a->keys);
	a->keys = keys;
	a->key_count = was->key_count;
	a->uid = was->uid;
	a->state = was->state;
	memcpy(a->ipv4, was->ipv4, 4);
	return 0;
}

/* Take fresh's account at i out (it was not there before the hold). */
static void leave_out(struct registry *fresh, long i)
{
	account_free(&fresh->accounts[i]);
	memmove(&fresh->accounts[i], &fresh->accounts[i + 1], (fresh->count - (size_t)i - 1) * sizeof *fresh->accounts);
	fresh->count--;
}

int registry_apply_holds(struct registry *fresh, const struct registry *old)
{
	int r = 0;
	pthread_mutex_lock(&holds_lock);
	for (int h = 0; h < HOLDS_MAX; h++) {
		if (!hold_count[h])
			continue;
		long i = index_of(fresh, holds[h]);
		if (i < 0)
			continue; /* gone from Incus: nothing to publish that is not so */
		const struct account *was = registry_find(old, holds[h]);
		if (!was)
			leave_out(fresh, i);
		else if (keep_as_was(fresh, i, was))
			r = -1;
	}
	pthread_mutex_unlock(&holds_lock);
	return r;
}
