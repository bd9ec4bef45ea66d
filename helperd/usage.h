/* SPDX-License-Identifier: Apache-2.0 */
/* What a container uses now, read from Incus's instance state, for info,
 * list --usage and the metrics: CPU time and how busy it is, memory, disk,
 * network bytes, processes and uptime, beside its limits, all in bytes and
 * seconds (the CLI picks the units).
 *
 * "How busy" needs two readings of the CPU time: helperd keeps the last
 * reading of each container (usage_cpu_sample), so an info or a scrape
 * soon after another answers at once; usage_needs_sample says when there
 * is none recent enough and the caller should read the state again a
 * moment later. */
#ifndef CONTAINARIUM_HELPERD_USAGE_H
#define CONTAINARIUM_HELPERD_USAGE_H

#include <json-c/json.h>
#include <stdbool.h>

struct usage {
	bool running;
	bool have_cpu, have_memory, have_disk, have_network, have_processes, have_uptime, have_percent;
	double cpu_seconds;                         /* since the container started */
	double cpu_percent;                         /* of its CPU limit, between the last two readings */
	double cpus;                                /* the limit in CPUs (limits.cpu), else the host's */
	long long memory_bytes, memory_limit_bytes; /* limit 0: none */
	long long disk_bytes, disk_limit_bytes;     /* limit 0: none (or not enforced) */
	long long rx_bytes, tx_bytes;               /* eth0, since the container started */
	long long processes;
	long long uptime_seconds;
};

/* u from state (GET /1.0/instances/NAME/state, or the "state" of a
 * recursion=2 list entry), the limits as the account has them (cpu as
 * limits.cpu: "2" or a CPU set such as "0-1,4"; memory and disk as sizes,
 * "" for none) and started, the instance's start time (its "started_at"
 * on Incus, else its "last_used_at", which both backends set at start;
 * NULL if unknown).  now is the wall clock. */
void usage_from_state(json_object *state, const char *cpu_limit, const char *memory_limit, const char *disk_limit,
		      const char *started, long now, struct usage *u);

/* Remember this reading of instance's CPU time (at monotonic time mono)
 * and, when the one before it is from 0.2 s to 5 minutes ago, set
 * u->cpu_percent from the two. */
void usage_cpu_sample(const char *instance, struct usage *u, double mono);

/* Whether instance has no reading recent enough (0.2 s to 60 s old) for a
 * percentage now: then read its state again about 0.5 s later. */
bool usage_needs_sample(const char *instance, double mono);

json_object *usage_to_json(const struct usage *u);

/* Seconds since the epoch of an RFC 3339 time as Incus writes them
 * ("2026-12-05T07:15:59.123456789Z", or with an offset); -1 if it is not
 * one, or is the zero time Incus writes for "never". */
long usage_parse_time(const char *s);

#endif
