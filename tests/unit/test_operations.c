/* SPDX-License-Identifier: Apache-2.0 */
/* Operations: steps and results, failures with codes, one running
 * operation per target, waiting (with and without timeout), many at once,
 * pruning of finished ones, free_arg, and work that forgets to report.
 * Each test runs in its own process (Check's fork mode), so each starts
 * with no operations; every test waits for its workers before it ends. */
#include <check.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "operations.h"

/* Not in operations.h: defined in operations.c for tests and shutdown. */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A gate the work waits at until the test opens it. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static unsigned at_gate;

static void gate_wait(void)
{
	pthread_mutex_lock(&gate_lock);
	at_gate++;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void gate_release(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* Until n workers wait at the gate. */
static void gate_await(unsigned n)
{
	pthread_mutex_lock(&gate_lock);
	while (at_gate < n)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static atomic_int freed;

static void count_free(void *arg)
{
	free(arg);
	atomic_fetch_add(&freed, 1);
}

static void idle(void)
{
	ck_assert_uint_eq(operations_wait_idle(10000), 0);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int jint(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int(v) : -999;
}

static bool has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static void expect_rfc3339(const char *s)
{
	regex_t re;
	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	ck_assert_msg(s && regexec(&re, s, 0, NULL, 0) == 0, "not RFC 3339 UTC: %s", s ? s : "(none)");
	regfree(&re);
}

/* ---- work ------------------------------------------------------------- */

static void two_steps(struct operation *op, void *arg)
{
	if (strcmp(arg, "payload") != 0) {
		operation_fail(op, 500, "wrong_arg", "the work got the wrong argument");
		return;
	}
	operation_step(op, 1, "Creating container...");
	usleep(20 * 1000);
	operation_step(op, 2, "Starting container...");
	json_object *r = json_object_new_object();
	json_object_object_add(r, "ipv4", json_object_new_string("10.0.3.15"));
	operation_succeed(op, r);
}

static void fails(struct operation *op, void *arg)
{
	(void)arg;
	operation_step(op, 1, "Checking quota...");
	operation_fail(op, 409, "quota_exceeded", "alice has %d containers already", 3);
}

static void gated(struct operation *op, void *arg)
{
	(void)arg;
	operation_step(op, 1, "Waiting...");
	gate_wait();
	operation_succeed(op, NULL);
}

static void sleeps_300ms(struct operation *op, void *arg)
{
	(void)arg;
	usleep(300 * 1000);
	operation_succeed(op, NULL);
}

static void forgets(struct operation *op, void *arg)
{
	(void)op;
	(void)arg;
}

static void twice(struct operation *op, void *arg)
{
	(void)arg;
	operation_succeed(op, json_object_new_int(1));
	operation_fail(op, 500, "late", "too late");
	operation_succeed(op, json_object_new_int(2));
}

static void quick(struct operation *op, void *arg)
{
	(void)arg;
	operation_succeed(op, NULL);
}

/* ---- tests ------------------------------------------------------------ */

START_TEST(steps_and_result)
{
	const char *id = operation_start("create", "alice", 2, two_steps, strdup("payload"), count_free);
	ck_assert_ptr_nonnull(id);
	ck_assert_uint_eq(strlen(id), 32);
	ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 32);
	char copy[33];
	strcpy(copy, id);
	json_object *o = operation_get(copy, 10000);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(jstr(o, "id"), copy);
	ck_assert_str_eq(jstr(o, "kind"), "create");
	ck_assert_str_eq(jstr(o, "target"), "alice");
	ck_assert_str_eq(jstr(o, "status"), "success");
	ck_assert_int_eq(jint(o, "step"), 2);
	ck_assert_int_eq(jint(o, "total_steps"), 2);
	expect_rfc3339(jstr(o, "created_at"));
	expect_rfc3339(jstr(o, "finished_at"));
	ck_assert_str_eq(jstr(json_object_object_get(o, "result"), "ipv4"), "10.0.3.15");
	ck_assert(!has(o, "error"));
	json_object *steps = json_object_object_get(o, "steps");
	ck_assert_uint_eq(json_object_array_length(steps), 2);
	json_object *s1 = json_object_array_get_idx(steps, 0), *s2 = json_object_array_get_idx(steps, 1);
	ck_assert_int_eq(jint(s1, "n"), 1);
	ck_assert_str_eq(jstr(s1, "description"), "Creating container...");
	ck_assert_int_eq(jint(s2, "n"), 2);
	ck_assert_str_eq(jstr(s2, "description"), "Starting container...");
	for (int i = 0; i < 2; i++) {
		expect_rfc3339(jstr(json_object_array_get_idx(steps, i), "started_at"));
		expect_rfc3339(jstr(json_object_array_get_idx(steps, i), "finished_at"));
	}
	/* Same format throughout, so text order is time order. */
	ck_assert(strcmp(jstr(o, "created_at"), jstr(s1, "started_at")) <= 0);
	ck_assert(strcmp(jstr(s1, "finished_at"), jstr(s2, "started_at")) <= 0);
	ck_assert(strcmp(jstr(s1, "started_at"), jstr(s1, "finished_at")) < 0); /* 20 ms apart */
	ck_assert(strcmp(jstr(s2, "finished_at"), jstr(o, "finished_at")) <= 0);
	json_object_put(o);
	/* free_arg has run by the time the outcome is visible. */
	ck_assert_int_eq(atomic_load(&freed), 1);
	ck_assert(!operation_busy("alice"));
	unsigned running;
	unsigned long ok, failed;
	operation_counts(&running, &ok, &failed);
	ck_assert_uint_eq(running, 0);
	ck_assert_uint_eq(ok, 1);
	ck_assert_uint_eq(failed, 0);
	idle();
}
END_TEST

START_TEST(failure_with_code)
{
	const char *id = operation_start("create", "bob", 3, fails, strdup("x"), count_free);
	ck_assert_ptr_nonnull(id);
	json_object *o = operation_get(id, 10000);
	ck_assert_str_eq(jstr(o, "status"), "failure");
	ck_assert_int_eq(jint(o, "step"), 1);
	ck_assert_int_eq(jint(o, "total_steps"), 3);
	ck_assert(!has(o, "result"));
	json_object *e = json_object_object_get(o, "error");
	ck_assert_int_eq(json_object_object_length(e), 3);
	ck_assert_str_eq(jstr(e, "code"), "quota_exceeded");
	ck_assert_str_eq(jstr(e, "message"), "alice has 3 containers already");
	ck_assert_int_eq(jint(e, "status"), 409);
	/* The step that was under way when it failed is closed too. */
	expect_rfc3339(jstr(json_object_array_get_idx(json_object_object_get(o, "steps"), 0), "finished_at"));
	json_object_put(o);
	ck_assert_int_eq(atomic_load(&freed), 1);
	unsigned long ok, failed;
	operation_counts(NULL, &ok, &failed);
	ck_assert_uint_eq(ok, 0);
	ck_assert_uint_eq(failed, 1);
	idle();
}
END_TEST

START_TEST(one_running_operation_per_target)
{
	const char *id = operation_start("start", "carol", 1, gated, NULL, NULL);
	ck_assert_ptr_nonnull(id);
	char first[33];
	strcpy(first, id);
	ck_assert(operation_busy("carol"));
	ck_assert(!operation_busy("dave"));
	/* Busy: NULL, and the argument stays the caller's. */
	char *arg = strdup("mine");
	ck_assert_ptr_null(operation_start("stop", "carol", 1, quick, arg, count_free));
	ck_assert_int_eq(atomic_load(&freed), 0);
	free(arg);
	/* Another target is not held up. */
	const char *other = operation_start("stop", "dave", 1, quick, NULL, NULL);
	ck_assert_ptr_nonnull(other);
	json_object *o = operation_get(other, 10000);
	ck_assert_str_eq(jstr(o, "status"), "success");
	json_object_put(o);

	gate_release();
	o = operation_get(first, 10000);
	ck_assert_str_eq(jstr(o, "status"), "success");
	json_object_put(o);
	ck_assert(!operation_busy("carol"));
	/* Free again once the first one ended. */
	id = operation_start("stop", "carol", 1, quick, NULL, NULL);
	ck_assert_ptr_nonnull(id);
	ck_assert_str_ne(id, first);
	idle();
}
END_TEST

START_TEST(wait_times_out_while_running)
{
	const char *id = operation_start("start", "erin", 1, gated, NULL, NULL);
	char copy[33];
	strcpy(copy, id);
	gate_await(1);
	long long t0 = now_ms();
	json_object *o = operation_get(copy, 0);
	ck_assert_msg(now_ms() - t0 < 100, "wait_ms 0 must not wait");
	ck_assert_str_eq(jstr(o, "status"), "running");
	ck_assert(!has(o, "finished_at"));
	ck_assert(!has(o, "result"));
	ck_assert(!has(o, "error"));
	ck_assert_int_eq(jint(o, "step"), 1);
	ck_assert(!has(json_object_array_get_idx(json_object_object_get(o, "steps"), 0), "finished_at"));
	json_object_put(o);

	t0 = now_ms();
	o = operation_get(copy, 300);
	long long waited = now_ms() - t0;
	ck_assert_msg(waited >= 290 && waited < 3000, "waited %lld ms for 300", waited);
	ck_assert_str_eq(jstr(o, "status"), "running");
	json_object_put(o);

	unsigned running;
	operation_counts(&running, NULL, NULL);
	ck_assert_uint_eq(running, 1);
	gate_release();
	idle();
}
END_TEST

START_TEST(wait_ends_when_the_operation_ends)
{
	long long t0 = now_ms();
	const char *id = operation_start("resize", "frank", 1, sleeps_300ms, NULL, NULL);
	char copy[33];
	strcpy(copy, id);
	json_object *o = operation_get(copy, 20000);
	long long waited = now_ms() - t0;
	ck_assert_str_eq(jstr(o, "status"), "success");
	ck_assert_msg(waited >= 290 && waited < 5000, "waited %lld ms", waited);
	/* No step reported: step 0, an empty list, and a result object. */
	ck_assert_int_eq(jint(o, "step"), 0);
	ck_assert_uint_eq(json_object_array_length(json_object_object_get(o, "steps")), 0);
	ck_assert(json_object_is_type(json_object_object_get(o, "result"), json_type_object));
	json_object_put(o);
	idle();
}
END_TEST

/* Waiters on other operations are not woken for good by someone else's end. */
struct waiter {
	pthread_t t;
	char id[33];
	char status[16];
};

static void *wait_thread(void *p)
{
	struct waiter *w = p;
	json_object *o = operation_get(w->id, 20000);
	snprintf(w->status, sizeof w->status, "%s", o ? jstr(o, "status") : "gone");
	json_object_put(o);
	return NULL;
}

START_TEST(many_concurrent_operations)
{
	enum { N = 50 };
	struct waiter w[N];
	for (int i = 0; i < N; i++) {
		char target[16];
		snprintf(target, sizeof target, "user%d", i);
		const char *id = operation_start("create", target, 1, gated, strdup(target), count_free);
		ck_assert_ptr_nonnull(id);
		snprintf(w[i].id, sizeof w[i].id, "%s", id);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(w[j].id, w[i].id);
	}
	gate_await(N);
	unsigned running;
	operation_counts(&running, NULL, NULL);
	ck_assert_uint_eq(running, N);
	json_object *list = operation_list();
	ck_assert_uint_eq(json_object_array_length(list), N);
	json_object_put(list);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pthread_create(&w[i].t, NULL, wait_thread, &w[i]), 0);
	gate_release();
	for (int i = 0; i < N; i++) {
		pthread_join(w[i].t, NULL);
		ck_assert_str_eq(w[i].status, "success");
	}
	idle();
	unsigned long ok, failed;
	operation_counts(&running, &ok, &failed);
	ck_assert_uint_eq(running, 0);
	ck_assert_uint_eq(ok, N);
	ck_assert_uint_eq(failed, 0);
	ck_assert_int_eq(atomic_load(&freed), N);
}
END_TEST

START_TEST(finished_operations_expire)
{
	operations_set_retention(1, 1000);
	const char *id = operation_start("stop", "gina", 0, quick, NULL, NULL);
	char old[33];
	strcpy(old, id);
	json_object *o = operation_get(old, 10000);
	ck_assert_str_eq(jstr(o, "status"), "success");
	json_object_put(o);
	/* A running one outlives the retention. */
	id = operation_start("start", "hank", 1, gated, NULL, NULL);
	char running[33];
	strcpy(running, id);
	usleep(1100 * 1000);
	ck_assert_ptr_null(operation_get(old, 0));
	o = operation_get(running, 0);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(jstr(o, "status"), "running");
	json_object_put(o);
	gate_release();
	idle();
	/* Just finished: still there. */
	o = operation_get(running, 0);
	ck_assert_ptr_nonnull(o);
	json_object_put(o);
}
END_TEST

START_TEST(at_most_keep_max_finished)
{
	operations_set_retention(3600, 5);
	char ids[8][33];
	for (int i = 0; i < 8; i++) {
		const char *id = operation_start("stop", "ivan", 0, quick, NULL, NULL);
		ck_assert_ptr_nonnull(id);
		strcpy(ids[i], id);
		json_object_put(operation_get(ids[i], 10000));
	}
	json_object *list = operation_list();
	ck_assert_uint_eq(json_object_array_length(list), 5);
	/* The oldest go first, in order. */
	for (int i = 0; i < 5; i++)
		ck_assert_str_eq(jstr(json_object_array_get_idx(list, (size_t)i), "id"), ids[i + 3]);
	json_object_put(list);
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_null(operation_get(ids[i], 0));
	idle();
}
END_TEST

START_TEST(default_limit_is_1000)
{
	char first[33];
	for (int i = 0; i < 1003; i++) {
		const char *id = operation_start("stop", "judy", 0, quick, NULL, NULL);
		ck_assert_ptr_nonnull(id);
		if (i == 0)
			strcpy(first, id);
		char copy[33];
		strcpy(copy, id);
		json_object_put(operation_get(copy, 10000));
	}
	json_object *list = operation_list();
	ck_assert_uint_eq(json_object_array_length(list), 1000);
	json_object_put(list);
	ck_assert_ptr_null(operation_get(first, 0));
	unsigned long ok;
	operation_counts(NULL, &ok, NULL);
	ck_assert_uint_eq(ok, 1003); /* counters are not pruned */
	idle();
}
END_TEST

START_TEST(no_outcome_is_internal_error)
{
	const char *id = operation_start("delete", "kate", 2, forgets, strdup("x"), count_free);
	json_object *o = operation_get(id, 10000);
	ck_assert_str_eq(jstr(o, "status"), "failure");
	json_object *e = json_object_object_get(o, "error");
	ck_assert_str_eq(jstr(e, "code"), "internal_error");
	ck_assert_int_eq(jint(e, "status"), 500);
	ck_assert_ptr_nonnull(strstr(jstr(e, "message"), "bug"));
	json_object_put(o);
	ck_assert_int_eq(atomic_load(&freed), 1);
	idle();
}
END_TEST

START_TEST(first_outcome_wins)
{
	const char *id = operation_start("start", "liam", 0, twice, NULL, NULL);
	json_object *o = operation_get(id, 10000);
	ck_assert_str_eq(jstr(o, "status"), "success");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "result")), 1);
	ck_assert(!has(o, "error"));
	json_object_put(o);
	idle();
}
END_TEST

START_TEST(unknown_ids)
{
	ck_assert_ptr_null(operation_get("00000000000000000000000000000000", 0));
	ck_assert_ptr_null(operation_get("nope", 50));
	ck_assert_ptr_null(operation_get(NULL, 0));
	json_object *list = operation_list();
	ck_assert_uint_eq(json_object_array_length(list), 0);
	json_object_put(list);
	ck_assert(!operation_busy("anyone"));
	ck_assert(!operation_busy(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("operations");
	TCase *tc = tcase_create("operations");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, steps_and_result);
	tcase_add_test(tc, failure_with_code);
	tcase_add_test(tc, one_running_operation_per_target);
	tcase_add_test(tc, wait_times_out_while_running);
	tcase_add_test(tc, wait_ends_when_the_operation_ends);
	tcase_add_test(tc, many_concurrent_operations);
	tcase_add_test(tc, finished_operations_expire);
	tcase_add_test(tc, at_most_keep_max_finished);
	tcase_add_test(tc, default_limit_is_1000);
	tcase_add_test(tc, no_outcome_is_internal_error);
	tcase_add_test(tc, first_outcome_wins);
	tcase_add_test(tc, unknown_ids);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
