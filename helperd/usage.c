/* SPDX-License-Identifier: Apache-2.0 */
#include "usage.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

static long long get_ll(json_object *o, const char *key, bool *have)
{
	json_object *v;
	if (o && json_object_object_get_ex(o, key, &v) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
		*have = true;
		return json_object_get_int64(v);
	}
	return 0;
}

/* "2" -> 2; a CPU set "0-1,4" -> 3; "" or anything else -> 0. */
static double cpus_of(const char *limit)
{
	if (!limit || !*limit)
		return 0;
	char *end;
	long n = strtol(limit, &end, 10);
	if (*end == '\0')
		return n > 0 ? (double)n : 0;
	double count = 0;
	for (const char *p = limit; *p;) {
		char *e;
		long a = strtol(p, &e, 10), b = a;
		if (e == p)
			return 0;
		if (*e == '-') {
			p = e + 1;
			b = strtol(p, &e, 10);
			if (e == p || b < a)
				return 0;
		}
		count += (double)(b - a + 1);
		if (*e == ',')
			e++;
		else if (*e)
			return 0;
		p = e;
	}
	return count;
}

long usage_parse_time(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!s)
		return -1;
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest || tm.tm_year < 70) /* 0001-01-01: Incus's "never" */
		return -1;
	if (*rest == '.')
		while (*++rest >= '0' && *rest <= '9')
			;
	long off = 0;
	if (*rest == '+' || *rest == '-') {
		int h, m;
		if (sscanf(rest + 1, "%2d:%2d", &h, &m) != 2)
			return -1;
		off = (h * 3600L + m * 60L) * (*rest == '-' ? -1 : 1);
	} else if (*rest != 'Z') {
		return -1;
	}
	return (long)timegm(&tm) - off;
}

void usage_from_state(json_object *state, const char *cpu_limit, const char *memory_limit, const char *disk_limit,
		      const char *started, long now, struct usage *u)
{
	memset(u, 0, sizeof *u);
	json_object *v, *cpu = NULL, *mem = NULL, *disk = NULL, *root = NULL, *net = NULL, *eth = NULL,
			*counters = NULL;
	u->running =
		json_object_object_get_ex(state, "status", &v) && strcmp(json_object_get_string(v), "Running") == 0;
	json_object_object_get_ex(state, "cpu", &cpu);
	json_object_object_get_ex(state, "memory", &mem);
	if (json_object_object_get_ex(state, "disk", &disk) && json_object_is_type(disk, json_type_object))
		json_object_object_get_ex(disk, "root", &root);
	if (json_object_object_get_ex(state, "network", &net) && json_object_is_type(net, json_type_object) &&
	    json_object_object_get_ex(net, "eth0", &eth))
		json_object_object_get_ex(eth, "counters", &counters);
	bool have = false;
	long long ns = get_ll(cpu, "usage", &have);
	if (have && u->running) {
		u->have_cpu = true;
		u->cpu_seconds = (double)ns / 1e9;
	}
	have = false;
	u->memory_bytes = get_ll(mem, "usage", &have);
	u->have_memory = have && u->running;
	have = false;
	u->disk_bytes = get_ll(root, "usage", &have);
	u->have_disk = have;
	bool rx = false, tx = false;
	u->rx_bytes = get_ll(counters, "bytes_received", &rx);
	u->tx_bytes = get_ll(counters, "bytes_sent", &tx);
	u->have_network = rx && tx && u->running;
	have = false;
	u->processes = get_ll(state, "processes", &have);
	u->have_processes = have && u->running && u->processes >= 0;

	u->cpus = cpus_of(cpu_limit);
	if (u->cpus <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		u->cpus = n > 0 ? (double)n : 1;
	}
	unsigned long long b;
	if (memory_limit && *memory_limit && ctm_size_parse(memory_limit, &b) == 0)
		u->memory_limit_bytes = (long long)b;
	if (disk_limit && *disk_limit && ctm_size_parse(disk_limit, &b) == 0)
		u->disk_limit_bytes = (long long)b;
	long t = usage_parse_time(started);
	if (u->running && t > 0 && now >= t) {
		u->have_uptime = true;
		u->uptime_seconds = now - t;
	}
}

/* ---- the last CPU reading of each container ---- */

struct sample {
	char instance[64];
	double mono, cpu_seconds;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sample *samples;
static size_t nsamples, capsamples;

/* The reading of instance, or NULL; with create, a new slot (reusing one
 * older than 10 minutes: the table never outgrows the containers). */
static struct sample *find(const char *instance, double mono, bool create)
{
	struct sample *stale = NULL;
	for (size_t i = 0; i < nsamples; i++) {
		if (strcmp(samples[i].instance, instance) == 0)
			return &samples[i];
		if (!stale && mono - samples[i].mono > 600)
			stale = &samples[i];
	}
	if (!create)
		return NULL;
	if (!stale) {
		if (nsamples == capsamples) {
			size_t cap = capsamples ? 2 * capsamples : 64;
			struct sample *s = realloc(samples, cap * sizeof *s);
			if (!s)
				return NULL;
			samples = s;
			capsamples = cap;
		}
		stale = &samples[nsamples++];
	}
	snprintf(stale->instance, sizeof stale->instance, "%s", instance);
	stale->mono = -1;
	return stale;
}

void usage_cpu_sample(const char *instance, struct usage *u, double mono)
{
	if (!u->have_cpu)
		return;
	pthread_mutex_lock(&lock);
	struct sample *s = find(instance, mono, true);
	if (s) {
		double dt = mono - s->mono, used = u->cpu_seconds - s->cpu_seconds;
		/* A restart between the readings makes used negative: no figure. */
		if (s->mono >= 0 && dt >= 0.2 && dt <= 300 && used >= 0) {
			u->have_percent = true;
			u->cpu_percent = 100.0 * used / dt / u->cpus;
			if (u->cpu_percent > 100)
				u->cpu_percent = 100;
		}
		if (s->mono < 0 || dt >= 0.2) {
			s->mono = mono;
			s->cpu_seconds = u->cpu_seconds;
		}
	}
	pthread_mutex_unlock(&lock);
}

bool usage_needs_sample(const char *instance, double mono)
{
	pthread_mutex_lock(&lock);
	struct sample *s = find(instance, mono, false);
	bool need = !s || s->mono < 0 || mono - s->mono < 0.2 || mono - s->mono > 60;
	pthread_mutex_unlock(&lock);
	return need;
}

json_object *usage_to_json(const struct usage *u)
{
	json_object *o = json_object_new_object();
	if (u->have_cpu)
		json_object_object_add(o, "cpu_seconds", json_object_new_double(u->cpu_seconds));
	if (u->have_percent)
		json_object_object_add(o, "cpu_percent", json_object_new_double(u->cpu_percent));
	json_object_object_add(o, "cpu_limit", json_object_new_double(u->cpus));
	if (u->have_memory)
		json_object_object_add(o, "memory_bytes", json_object_new_int64(u->memory_bytes));
	if (u->memory_limit_bytes)
		json_object_object_add(o, "memory_limit_bytes", json_object_new_int64(u->memory_limit_bytes));
	if (u->have_disk)
		json_object_object_add(o, "disk_bytes", json_object_new_int64(u->disk_bytes));
	if (u->disk_limit_bytes)
		json_object_object_add(o, "disk_limit_bytes", json_object_new_int64(u->disk_limit_bytes));
	if (u->have_network) {
		json_object_object_add(o, "network_rx_bytes", json_object_new_int64(u->rx_bytes));
		json_object_object_add(o, "network_tx_bytes", json_object_new_int64(u->tx_bytes));
	}
	if (u->have_processes)
		json_object_object_add(o, "processes", json_object_new_int64(u->processes));
	if (u->have_uptime)
		json_object_object_add(o, "uptime_seconds", json_object_new_int64(u->uptime_seconds));
	return o;
}
