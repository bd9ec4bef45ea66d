/* SPDX-License-Identifier: Apache-2.0 */
#include "session_table.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot_format.h"

_Static_assert(sizeof(((struct session_info *)0)->user) == CTM_NAME_MAX + 1, "session_info.user holds a name");

struct activity {
	char user[CTM_NAME_MAX + 1];
	time_t last;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct session_info *open_sessions;
static size_t n_open, cap_open;
static struct activity *acts;
static size_t n_acts, cap_acts;

/* With lock held. */
static void touch(const char *user, time_t now)
{
	for (size_t i = 0; i < n_acts; i++)
		if (strcmp(acts[i].user, user) == 0) {
			acts[i].last = now;
			return;
		}
	if (n_acts == cap_acts) {
		size_t nc = cap_acts ? cap_acts * 2 : 16;
		struct activity *a = realloc(acts, nc * sizeof *a);
		if (!a)
			return;
		acts = a;
		cap_acts = nc;
	}
	strncpy(acts[n_acts].user, user, CTM_NAME_MAX);
	acts[n_acts].user[CTM_NAME_MAX] = '\0';
	acts[n_acts++].last = now;
}

void sessions_open(const char *session_id, const char *user, const char *rhost, time_t now)
{
	pthread_mutex_lock(&lock);
	touch(user, now);
	if (n_open == cap_open) {
		size_t nc = cap_open ? cap_open * 2 : 16;
		struct session_info *s = realloc(open_sessions, nc * sizeof *s);
		if (!s) {
			pthread_mutex_unlock(&lock);
			return;
		}
		open_sessions = s;
		cap_open = nc;
	}
	struct session_info *s = &open_sessions[n_open++];
	strncpy(s->id, session_id, sizeof s->id - 1);
	s->id[sizeof s->id - 1] = '\0';
	strncpy(s->user, user, CTM_NAME_MAX);
	s->user[CTM_NAME_MAX] = '\0';
	snprintf(s->rhost, sizeof s->rhost, "%s", rhost ? rhost : "");
	s->opened = now;
	pthread_mutex_unlock(&lock);
}

long sessions_close(const char *session_id, const char *user, time_t now)
{
	long duration = -1;
	pthread_mutex_lock(&lock);
	touch(user, now);
	for (size_t i = 0; i < n_open; i++)
		if (strcmp(open_sessions[i].id, session_id) == 0 && strcmp(open_sessions[i].user, user) == 0) {
			duration = (long)(now - open_sessions[i].opened);
			/* Keep the order of opening for sessions_list. */
			memmove(&open_sessions[i], &open_sessions[i + 1], (n_open - i - 1) * sizeof *open_sessions);
			n_open--;
			break;
		}
	pthread_mutex_unlock(&lock);
	return duration;
}

size_t sessions_count(const char *user)
{
	size_t n = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_open; i++)
		n += strcmp(open_sessions[i].user, user) == 0;
	pthread_mutex_unlock(&lock);
	return n;
}

time_t sessions_last_activity(const char *user)
{
	time_t t = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_acts; i++)
		if (strcmp(acts[i].user, user) == 0)
			t = acts[i].last;
	pthread_mutex_unlock(&lock);
	return t;
}

struct session_info *sessions_list(size_t *n)
{
	pthread_mutex_lock(&lock);
	struct session_info *copy = n_open ? malloc(n_open * sizeof *copy) : NULL;
	*n = copy ? n_open : 0;
	if (copy)
		memcpy(copy, open_sessions, n_open * sizeof *copy);
	pthread_mutex_unlock(&lock);
	return copy;
}
