/* SPDX-License-Identifier: Apache-2.0 */
/* usage: a container's usage from Incus's instance state, beside its
 * limits; how busy its CPUs are from two readings; Incus's times.  (The
 * same figures from a real container: tests/cli/test_cli.sh, info, list
 * --usage and metrics.) */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "usage.h"

/* A state as GET /1.0/instances/NAME/state answers it (Incus 6.0). */
static json_object *state(const char *status, long long cpu_ns, long long mem, long long disk)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "{\"status\": \"%s\", \"cpu\": {\"usage\": %lld}, \"memory\": {\"usage\": %lld, \"total\": 0},"
		 " \"disk\": {\"root\": {\"usage\": %lld}}, \"processes\": 17, \"pid\": 4242,"
		 " \"network\": {\"eth0\": {\"counters\": {\"bytes_received\": 5000, \"bytes_sent\": 700}},"
		 " \"lo\": {\"counters\": {\"bytes_received\": 1, \"bytes_sent\": 1}}},"
		 " \"started_at\": \"2026-12-05T07:00:00.123456789Z\"}",
		 status, cpu_ns, mem, disk);
	json_object *o = json_tokener_parse(text);
	ck_assert_ptr_nonnull(o);
	return o;
}

START_TEST(figures_and_limits)
{
	json_object *st = state("Running", 12500000000LL, 43200000, 412000000);
	struct usage u;
	long now = usage_parse_time("2026-12-05T09:13:30Z");
	usage_from_state(st, "2", "256MB", "1GB", "2026-12-05T07:00:00.123456789Z", now, &u);
	ck_assert(u.running && u.have_cpu && u.have_memory && u.have_disk && u.have_network && u.have_uptime);
	ck_assert_double_eq_tol(u.cpu_seconds, 12.5, 1e-9);
	ck_assert_double_eq(u.cpus, 2);
	ck_assert_int_eq(u.memory_bytes, 43200000);
	ck_assert_int_eq(u.memory_limit_bytes, 256000000);
	ck_assert_int_eq(u.disk_bytes, 412000000);
	ck_assert_int_eq(u.disk_limit_bytes, 1000000000);
	ck_assert_int_eq(u.rx_bytes, 5000); /* eth0's, not lo's */
	ck_assert_int_eq(u.tx_bytes, 700);
	ck_assert_int_eq(u.processes, 17);
	ck_assert_int_eq(u.uptime_seconds, 2 * 3600 + 13 * 60 + 30);
	ck_assert(!u.have_percent);
	json_object *j = usage_to_json(&u);
	ck_assert_str_eq(
		json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
		"{\"cpu_seconds\":12.5,\"cpu_limit\":2.0,\"memory_bytes\":43200000,\"memory_limit_bytes\":256000000,"
		"\"disk_bytes\":412000000,\"disk_limit_bytes\":1000000000,\"network_rx_bytes\":5000,"
		"\"network_tx_bytes\":700,\"processes\":17,\"uptime_seconds\":8010}");
	json_object_put(j);
	json_object_put(st);
}
END_TEST

START_TEST(a_stopped_container_uses_nothing_but_disk)
{
	/* Incus reports the last figures of a stopped container as 0 or -1. */
	json_object *st = state("Stopped", 0, 0, 412000000);
	struct usage u;
	usage_from_state(st, "", "", "", "2026-12-05T07:00:00Z", 1900000000, &u);
	ck_assert(!u.running && !u.have_cpu && !u.have_memory && !u.have_network && !u.have_uptime);
	ck_assert(u.have_disk);
	ck_assert_int_eq(u.memory_limit_bytes, 0);
	ck_assert_double_gt(u.cpus, 0); /* no limit: the host's CPUs */
	json_object_put(st);
}
END_TEST

START_TEST(cpu_limits)
{
	static const struct {
		const char *limit;
		double cpus;
	} cases[] = { { "1", 1 }, { "4", 4 }, { "0-3", 4 }, { "0-1,4", 3 }, { "2,5,7-8", 4 } };
	json_object *st = state("Running", 1, 1, 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct usage u;
		usage_from_state(st, cases[i].limit, "", "", NULL, 0, &u);
		ck_assert_msg(u.cpus == cases[i].cpus, "%s: %g", cases[i].limit, u.cpus);
	}
	json_object_put(st);
}
END_TEST

START_TEST(busy_from_two_readings)
{
	const char *name = "t-busy-container";
	ck_assert(usage_needs_sample(name, 100.0));
	json_object *a = state("Running", 10000000000LL, 1, 1), *b = state("Running", 10500000000LL, 1, 1);
	struct usage u;
	usage_from_state(a, "2", "", "", NULL, 0, &u);
	usage_cpu_sample(name, &u, 100.0);
	ck_assert(!u.have_percent);
	/* Too soon after it: no figure yet, and no second reading either. */
	ck_assert(usage_needs_sample(name, 100.1));
	/* 0.5 s of CPU in 0.5 s with 2 CPUs: 50% of its limit. */
	usage_from_state(b, "2", "", "", NULL, 0, &u);
	usage_cpu_sample(name, &u, 100.5);
	ck_assert(u.have_percent);
	ck_assert_double_eq_tol(u.cpu_percent, 50.0, 1e-9);
	ck_assert(!usage_needs_sample(name, 110.0));
	ck_assert(usage_needs_sample(name, 161.0)); /* a minute old: read again */
	/* A restart in between (less CPU time than before): no figure. */
	json_object *c = state("Running", 100000000LL, 1, 1);
	usage_from_state(c, "2", "", "", NULL, 0, &u);
	usage_cpu_sample(name, &u, 101.0);
	ck_assert(!u.have_percent);
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
}
END_TEST

START_TEST(incus_times)
{
	ck_assert_int_eq(usage_parse_time("1970-01-01T00:01:00Z"), 60);
	ck_assert_int_eq(usage_parse_time("2026-12-05T07:00:00.5Z"), usage_parse_time("2026-12-05T07:00:00Z"));
	ck_assert_int_eq(usage_parse_time("2026-12-05T08:00:00+01:00"), usage_parse_time("2026-12-05T07:00:00Z"));
	ck_assert_int_eq(usage_parse_time("2026-12-05T06:30:00-00:30"), usage_parse_time("2026-12-05T07:00:00Z"));
	ck_assert_int_eq(usage_parse_time("0001-01-01T00:00:00Z"), -1); /* Incus's "never" */
	ck_assert_int_eq(usage_parse_time("yesterday"), -1);
	ck_assert_int_eq(usage_parse_time("2026-12-05T07:00:00"), -1);
	ck_assert_int_eq(usage_parse_time(NULL), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("usage");
	TCase *tc = tcase_create("usage");
	tcase_add_test(tc, figures_and_limits);
	tcase_add_test(tc, a_stopped_container_uses_nothing_but_disk);
	tcase_add_test(tc, cpu_limits);
	tcase_add_test(tc, busy_from_two_readings);
	tcase_add_test(tc, incus_times);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
