/* SPDX-License-Identifier: Apache-2.0 */
/* Per-container series for /v1/metrics (Prometheus text). */
#ifndef CONTAINARIUM_HELPERD_METRICS_CONTAINERS_H
#define CONTAINARIUM_HELPERD_METRICS_CONTAINERS_H

struct helperd;

/* The series of every user's container, read from the backend now (a
 * malloc'd text), or NULL when out of memory.  When the backend cannot be
 * read, only containarium_container_metrics_up 0 and what needs no backend
 * (running as last read, open sessions). */
char *metrics_containers_text(struct helperd *d);

#endif
