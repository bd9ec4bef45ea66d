/* SPDX-License-Identifier: Apache-2.0 */
/* Operations: long work on worker threads, followed by clients through
 * operation_get().  One global list guarded by one mutex; one condition
 * variable wakes every waiter when any operation ends (waiters look their
 * operation up again by id, so pruning can never free what they wait on).
 *
 * An operation's outcome (operation_succeed/operation_fail) is recorded at
 * once but published only when the worker returns: until then its status
 * stays "running" and its target stays busy.  So a client that saw
 * "success" may start the next operation on the same target at once, and
 * free_arg has always run by then. */
#include "operations.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "helperd_log.h"

#define DEFAULT_KEEP_SECONDS 3600
#define DEFAULT_KEEP_MAX 1000

struct op_step {
	int n;
	char *description;
	struct timespec started, finished; /* CLOCK_REALTIME; finished.tv_sec 0 = open */
};

struct operation {
	struct operation *next; /* creation order */
	char id[33];
	char *kind, *target;
	int total_steps, step;
	struct op_step *steps;
	size_t nsteps, capsteps;
	struct timespec created, finished; /* CLOCK_REALTIME, for people */
	struct timespec finished_mono;     /* CLOCK_MONOTONIC, for pruning */
	enum operation_status status;      /* published */

	/* Recorded by operation_succeed/operation_fail, published at the end. */
	bool reported;
	enum operation_status outcome;
	json_object *result;
	int error_status;
	char *error_code, *error_message;

	/* Immutable once the worker runs. */
	operation_fn fn;
	void *arg;
	void (*free_arg)(void *);
};

static pthread_mutex_t ops_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ops_changed; /* CLOCK_MONOTONIC; set up once */
static pthread_once_t ops_once = PTHREAD_ONCE_INIT;
static struct operation *ops_head, *ops_tail;
static unsigned ops_running, ops_finished;
static unsigned long ops_succeeded, ops_failed;
static unsigned keep_seconds = DEFAULT_KEEP_SECONDS, keep_max = DEFAULT_KEEP_MAX;

static void ops_init(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&ops_changed, &a);
	pthread_condattr_destroy(&a);
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p) {
		log_error("out of memory");
		abort();
	}
	return p;
}

static void format_time(const struct timespec *ts, char out[32])
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ts->tv_nsec / 1000000) % 1000);
}

static void add_time(json_object *o, const char *key, const struct timespec *ts)
{
	char buf[32];
	format_time(ts, buf);
	json_object_object_add(o, key, json_object_new_string(buf));
}

static const char *status_name(enum operation_status s)
{
	switch (s) {
	case OP_RUNNING: return "running";
	case OP_SUCCESS: return "success";
	case OP_FAILURE: return "failure";
	}
	return "unknown";
}

/* Caller holds ops_lock. */
static json_object *op_to_json(const struct operation *op)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(op->id));
	json_object_object_add(o, "kind", json_object_new_string(op->kind));
	json_object_object_add(o, "target", json_object_new_string(op->target));
	json_object_object_add(o, "status", json_object_new_string(status_name(op->status)));
	json_object_object_add(o, "step", json_object_new_int(op->step));
	json_object_object_add(o, "total_steps", json_object_new_int(op->total_steps));
	json_object *steps = json_object_new_array();
	for (size_t i = 0; i < op->nsteps; i++) {
		const struct op_step *s = &op->steps[i];
		json_object *js = json_object_new_object();
		json_object_object_add(js, "n", json_object_new_int(s->n));
		json_object_object_add(js, "description", json_object_new_string(s->description));
		add_time(js, "started_at", &s->started);
		if (s->finished.tv_sec)
			add_time(js, "finished_at", &s->finished);
		json_object_array_add(steps, js);
	}
	json_object_object_add(o, "steps", steps);
	add_time(o, "created_at", &op->created);
	if (op->status != OP_RUNNING)
		add_time(o, "finished_at", &op->finished);
	if (op->status == OP_SUCCESS)
		json_object_object_add(o, "result", json_object_get(op->result));
	if (op->status == OP_FAILURE) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "code", json_object_new_string(op->error_code));
		json_object_object_add(e, "message", json_object_new_string(op->error_message));
		json_object_object_add(e, "status", json_object_new_int(op->error_status));
		json_object_object_add(o, "error", e);
	}
	return o;
}

static void op_free(struct operation *op)
{
	for (size_t i = 0; i < op->nsteps; i++)
		free(op->steps[i].description);
	free(op->steps);
	json_object_put(op->result);
	free(op->error_code);
	free(op->error_message);
	free(op->kind);
	free(op->target);
	free(op);
}

/* Drop finished operations older than keep_seconds, then the oldest
 * finished ones beyond keep_max.  Running ones are never dropped.  Caller
 * holds ops_lock. */
static void prune_locked(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct operation **pp = &ops_head, *prev = NULL;
	while (*pp) {
		struct operation *op = *pp;
		long long age_ms = (long long)(now.tv_sec - op->finished_mono.tv_sec) * 1000 +
				   (now.tv_nsec - op->finished_mono.tv_nsec) / 1000000;
		bool expired = op->status != OP_RUNNING &&
			       (age_ms >= (long long)keep_seconds * 1000 || ops_finished > keep_max);
		if (!expired) {
			prev = op;
			pp = &op->next;
			continue;
		}
		*pp = op->next;
		if (ops_tail == op)
			ops_tail = prev;
		ops_finished--;
		op_free(op);
	}
}

/* Caller holds ops_lock. */
static struct operation *find_locked(const char *id)
{
	for (struct operation *op = ops_head; op; op = op->next)
		if (strcmp(op->id, id) == 0)
			return op;
	return NULL;
}

static void close_open_step(struct operation *op, const struct timespec *now)
{
	if (op->nsteps && !op->steps[op->nsteps - 1].finished.tv_sec)
		op->steps[op->nsteps - 1].finished = *now;
}

/* Publish the outcome: the worker is done with op.  Takes ops_lock. */
static void finish(struct operation *op)
{
	pthread_mutex_lock(&ops_lock);
	if (!op->reported) {
		op->reported = true;
		op->outcome = OP_FAILURE;
		op->error_status = 500;
		op->error_code = xstrdup("internal_error");
		op->error_message = xstrdup("the operation ended without reporting a result; "
					    "this is a bug in helperd, please report it");
		log_error("operation %s (%s %s) ended without a result", op->id, op->kind, op->target);
	}
	clock_gettime(CLOCK_REALTIME, &op->finished);
	clock_gettime(CLOCK_MONOTONIC, &op->finished_mono);
	close_open_step(op, &op->finished);
	op->status = op->outcome;
	ops_running--;
	ops_finished++;
	if (op->status == OP_SUCCESS)
		ops_succeeded++;
	else
		ops_failed++;
	pthread_cond_broadcast(&ops_changed);
	pthread_mutex_unlock(&ops_lock);
}

static void *worker(void *p)
{
	struct operation *op = p;
	op->fn(op, op->arg);
	if (op->free_arg)
		op->free_arg(op->arg);
	finish(op);
	return NULL;
}

static void new_id(char out[33])
{
	unsigned char raw[16];
	size_t got = 0;
	while (got < sizeof raw) {
		ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Ids are capabilities of a sort (they name a user's
			 * work); never hand out guessable ones. */
			log_error("getrandom failed: %s", strerror(errno));
			abort();
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static bool busy_locked(const char *target)
{
	for (struct operation *op = ops_head; op; op = op->next)
		if (op->status == OP_RUNNING && strcmp(op->target, target) == 0)
			return true;
	return false;
}

const char *operation_start(const char *kind, const char *target, int total_steps, operation_fn fn, void *arg,
			    void (*free_arg)(void *))
{
	/* Per thread, so the caller can use it after another thread's
	 * operations were pruned. */
	static __thread char id_copy[33];

	pthread_once(&ops_once, ops_init);
	struct operation *op = calloc(1, sizeof *op);
	if (!op) {
		log_error("out of memory starting an operation");
		abort();
	}
	op->kind = xstrdup(kind);
	op->target = xstrdup(target);
	op->total_steps = total_steps;
	op->fn = fn;
	op->arg = arg;
	op->free_arg = free_arg;
	op->status = OP_RUNNING;
	clock_gettime(CLOCK_REALTIME, &op->created);

	pthread_mutex_lock(&ops_lock);
	prune_locked();
	if (busy_locked(op->target)) {
		pthread_mutex_unlock(&ops_lock);
		op_free(op);
		return NULL; /* arg stays the caller's */
	}
	do
		new_id(op->id);
	while (find_locked(op->id));
	snprintf(id_copy, sizeof id_copy, "%s", op->id);
	if (ops_tail)
		ops_tail->next = op;
	else
		ops_head = op;
	ops_tail = op;
	ops_running++;
	pthread_mutex_unlock(&ops_lock);

	/* Workers take no signals: those are the main thread's business. */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int rc = pthread_create(&t, &attr, worker, op);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_error("cannot start a thread for operation %s (%s %s): %s", op->id, kind, target, strerror(rc));
		operation_fail(op, 500, "internal_error",
			       "helperd could not start a thread for this operation (%s); "
			       "it may be out of memory or at its thread limit",
			       strerror(rc));
		if (free_arg)
			free_arg(arg);
		finish(op);
	}
	return id_copy;
}

void operation_step(struct operation *op, int n, const char *description)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char *desc = xstrdup(description);
	pthread_mutex_lock(&ops_lock);
	if (op->nsteps == op->capsteps) {
		size_t cap = op->capsteps ? 2 * op->capsteps : 8;
		struct op_step *s = realloc(op->steps, cap * sizeof *s);
		if (!s) {
			pthread_mutex_unlock(&ops_lock);
			log_error("out of memory recording a step");
			abort();
		}
		op->steps = s;
		op->capsteps = cap;
	}
	close_open_step(op, &now);
	op->steps[op->nsteps++] = (struct op_step){ .n = n, .description = desc, .started = now };
	op->step = n;
	pthread_mutex_unlock(&ops_lock);
	log_info("operation %s (%s %s): step %d/%d: %s", op->id, op->kind, op->target, n, op->total_steps, description);
}

void operation_succeed(struct operation *op, json_object *result)
{
	pthread_mutex_lock(&ops_lock);
	if (op->reported) {
		pthread_mutex_unlock(&ops_lock);
		log_error("operation %s reported a second outcome (success); ignored", op->id);
		json_object_put(result);
		return;
	}
	op->reported = true;
	op->outcome = OP_SUCCESS;
	op->result = result ? result : json_object_new_object();
	pthread_mutex_unlock(&ops_lock);
}

void operation_fail(struct operation *op, int http_status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char *c = xstrdup(code), *m = xstrdup(msg);
	pthread_mutex_lock(&ops_lock);
	if (op->reported) {
		pthread_mutex_unlock(&ops_lock);
		log_error("operation %s reported a second outcome (%s: %s); ignored", op->id, c, m);
		free(c);
		free(m);
		return;
	}
	op->reported = true;
	op->outcome = OP_FAILURE;
	op->error_status = http_status;
	op->error_code = c;
	op->error_message = m;
	pthread_mutex_unlock(&ops_lock);
	log_notice("operation %s (%s %s) failed: %s: %s", op->id, op->kind, op->target, code, msg);
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

json_object *operation_get(const char *id, int wait_ms)
{
	if (!id)
		return NULL;
	pthread_once(&ops_once, ops_init);
	struct timespec deadline;
	if (wait_ms > 0)
		deadline_after(&deadline, wait_ms);
	pthread_mutex_lock(&ops_lock);
	prune_locked();
	struct operation *op = find_locked(id);
	while (op && op->status == OP_RUNNING && wait_ms > 0) {
		if (pthread_cond_timedwait(&ops_changed, &ops_lock, &deadline) == ETIMEDOUT)
			break;
		op = find_locked(id);
	}
	json_object *o = op ? op_to_json(op) : NULL;
	pthread_mutex_unlock(&ops_lock);
	return o;
}

json_object *operation_list(void)
{
	json_object *a = json_object_new_array();
	pthread_mutex_lock(&ops_lock);
	prune_locked();
	for (struct operation *op = ops_head; op; op = op->next)
		json_object_array_add(a, op_to_json(op));
	pthread_mutex_unlock(&ops_lock);
	return a;
}

bool operation_busy(const char *target)
{
	pthread_mutex_lock(&ops_lock);
	bool busy = target && busy_locked(target);
	pthread_mutex_unlock(&ops_lock);
	return busy;
}

void operation_counts(unsigned *running, unsigned long *succeeded, unsigned long *failed)
{
	pthread_mutex_lock(&ops_lock);
	if (running)
		*running = ops_running;
	if (succeeded)
		*succeeded = ops_succeeded;
	if (failed)
		*failed = ops_failed;
	pthread_mutex_unlock(&ops_lock);
}

void operations_set_retention(unsigned seconds, unsigned max)
{
	pthread_mutex_lock(&ops_lock);
	keep_seconds = seconds;
	keep_max = max;
	pthread_mutex_unlock(&ops_lock);
}

unsigned operations_wait_idle(int timeout_ms)
{
	pthread_once(&ops_once, ops_init);
	struct timespec deadline;
	deadline_after(&deadline, timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&ops_lock);
	while (ops_running && pthread_cond_timedwait(&ops_changed, &ops_lock, &deadline) != ETIMEDOUT)
		;
	unsigned left = ops_running;
	pthread_mutex_unlock(&ops_lock);
	return left;
}
