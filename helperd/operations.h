/* SPDX-License-Identifier: Apache-2.0 */
/* Operations: long work (create, delete, start, stop, resize) runs on a
 * worker thread and reports numbered steps; the API answers 202 with the
 * operation at once, and clients follow it with GET /v1/operations/{id}
 * (or .../wait).  Long work never blocks other requests.
 *
 * Operations live in memory; finished ones are kept for a while (an hour,
 * at most 1000) so a client that reconnects can read the result. */
#ifndef CONTAINARIUM_HELPERD_OPERATIONS_H
#define CONTAINARIUM_HELPERD_OPERATIONS_H

#include <json-c/json.h>
#include <stdbool.h>

struct operation;

enum operation_status { OP_RUNNING, OP_SUCCESS, OP_FAILURE };

/* The work: runs on its own thread; reports steps with operation_step(),
 * ends with operation_succeed() or operation_fail(). */
typedef void (*operation_fn)(struct operation *op, void *arg);

/* Start fn(op, arg) in a new thread.  kind: "create", "delete", ...;
 * target: the user.  free_arg (may be NULL) frees arg when the op ends.
 * Returns the new operation's id, or NULL when another operation on target
 * is running (the caller answers 409). */
const char *operation_start(const char *kind, const char *target, int total_steps, operation_fn fn, void *arg,
			    void (*free_arg)(void *));

/* Step n of total (1-based), with a short present-tense description:
 * "Creating container...". */
void operation_step(struct operation *op, int n, const char *description);
/* result: a JSON object the op returns; the caller's reference passes to
 * the operation (do not put it afterwards).  NULL: {}. */
void operation_succeed(struct operation *op, json_object *result);
/* code and message as in API errors; http_status for clients that care. */
__attribute__((format(printf, 4, 5))) void operation_fail(struct operation *op, int http_status, const char *code,
							  const char *fmt, ...);

/* The operation as JSON:
 * {"id","kind","target","status":"running|success|failure","step":n,"total_steps":N,
 *  "steps":[{"n":1,"description":"...","started_at":"...","finished_at":"..."}],
 *  "created_at","finished_at","result":{...},"error":{"code","message","status"}}
 * NULL when id is unknown.  wait_ms > 0 blocks until the op ends or time runs out. */
json_object *operation_get(const char *id, int wait_ms);
json_object *operation_list(void);
/* Whether an operation on target is running now. */
bool operation_busy(const char *target);

/* Counters for metrics. */
void operation_counts(unsigned *running, unsigned long *succeeded, unsigned long *failed);

/* Wait until no operation runs (shutdown) or timeout_ms passes; returns how
 * many still run. */
unsigned operations_wait_idle(int timeout_ms);
/* How long and how many finished operations are kept (tests). */
void operations_set_retention(unsigned keep_seconds, unsigned keep_max);

/* Notes on the contract:
 * - The outcome recorded by operation_succeed/operation_fail becomes visible
 *   when fn returns, after free_arg: a client that sees it may start the
 *   next operation on the target at once.
 * - When operation_start returns NULL, arg still belongs to the caller.
 * - The id returned is a copy in thread-local storage, valid until the
 *   calling thread's next operation_start. */

#endif
