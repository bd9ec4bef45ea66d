/* helperd's pure parts: configuration, id range checks, allocation and
 * the mapping between Incus instances and accounts.  The daemon itself is
 * tested on real containers in tests/helperd/. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "account.h"
#include "allocate.h"
#include "audit.h"
#include "sessions.h"
#include "config.h"
#include "harness.h"
#include "id_ranges.h"
#include "registry.h"

static const char alice_key[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1wJvX5qExo/rZpqB75+B1MDJTGLT6Ob0V3beQSe99b alice@laptop";

/* ---- configuration ---- */

static int load_text(struct helperd_config *c, const char *text, char *err, size_t errlen)
{
	helperd_config_defaults(c);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	ck_assert_ptr_nonnull(f);
	int r = helperd_config_load_stream(c, f, "test.conf", err, errlen);
	fclose(f);
	return r;
}

START_TEST(config_defaults_and_settings)
{
	struct helperd_config c;
	char err[512];
	ck_assert_int_eq(load_text(&c, "", err, sizeof err), 0);
	ck_assert_str_eq(c.listen_socket, "/run/containarium/helperd.sock");
	ck_assert_uint_eq(c.socket_mode, 0660);
	ck_assert_uint_eq(c.gid, 70000);
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_int_eq(load_text(&c,
		"# comment\n\n  network = br1  \nsocket_mode = 0600\nuid_min = 200000\nuid_max = 299999\n"
		"gid = 199999\ndefault_disk = 50GB\ndefault_memory = 2G\ndefault_cpu = 4\n"
		"default_autostart = no\nlog_level = debug\nadmin_group =\nincus_socket = /x/y.sock\n",
		err, sizeof err), 0);
	ck_assert_str_eq(c.network, "br1");
	ck_assert_uint_eq(c.socket_mode, 0600);
	ck_assert_uint_eq(c.uid_min, 200000);
	ck_assert_uint_eq(c.gid, 199999);
	ck_assert_str_eq(c.default_disk, "50GB");
	ck_assert_int_eq(c.default_autostart, 0);
	ck_assert_int_eq(c.log_level, LOG_DEBUG);
	ck_assert_str_eq(c.admin_group, "");
	ck_assert_str_eq(c.incus_socket, "/x/y.sock");
}
END_TEST

START_TEST(config_errors_name_line_and_problem)
{
	static const struct { const char *text, *expect; } bad[] = {
		{ "netwrk = br0\n", "test.conf:1: unknown setting \"netwrk\"" },
		{ "\n\nnetwork br0\n", "test.conf:3: expected \"key = value\"" },
		{ "listen_socket = run/x.sock\n", "must be an absolute path" },
		{ "socket_mode = 0666\n", "no access for others" },
		{ "socket_mode = 9\n", "octal mode" },
		{ "uid_min = 12x\n", "whole number" },
		{ "uid_min = 10\n", "from 1000 to" },
		{ "uid_min = 90000\nuid_max = 80000\n", "uid_min 90000 is above uid_max 80000" },
		{ "gid = 70005\n", "gid 70005 lies inside the uid range" },
		{ "default_disk = 5XB\n", "is not a size" },
		{ "default_memory = 0\n", "is not a size" },
		{ "default_cpu = 0\n", "CPU count from 1 to 1024" },
		{ "default_autostart = maybe\n", "yes or no" },
		{ "log_level = loud\n", "error, warning, notice, info or debug" },
		{ "network = br 0\n", "letters, digits" },
		{ "image = a\"b\n", "quotes" },
		{ "poll_seconds = 0\n", "from 1 to 3600" },
		{ "state_dir =\n", "state_dir: a path is required" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct helperd_config c;
		char err[512] = "";
		ck_assert_msg(load_text(&c, bad[i].text, err, sizeof err) == -1, "accepted: %s", bad[i].text);
		ck_assert_msg(strstr(err, bad[i].expect), "for %s: got \"%s\", want \"%s\"", bad[i].text, err,
			      bad[i].expect);
	}
}
END_TEST

START_TEST(config_file_missing)
{
	struct helperd_config c;
	char err[512];
	helperd_config_defaults(&c);
	ck_assert_int_eq(helperd_config_load(&c, "/nonexistent/helperd.conf", 1, err, sizeof err), 0);
	ck_assert_int_eq(helperd_config_load(&c, "/nonexistent/helperd.conf", 0, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot read /nonexistent/helperd.conf"));
}
END_TEST

START_TEST(sizes)
{
	unsigned long long b;
	char out[32];
	ck_assert_int_eq(helperd_parse_size("20GB", &b), 0);
	ck_assert_uint_eq(b, 20000000000ULL);
	ck_assert_int_eq(helperd_parse_size("2G", &b), 0);
	ck_assert_uint_eq(b, 2ULL << 30);
	ck_assert_int_eq(helperd_parse_size("512MiB", &b), 0);
	ck_assert_uint_eq(b, 512ULL << 20);
	ck_assert_int_eq(helperd_parse_size("5XB", &b), -1);
	ck_assert_int_eq(helperd_parse_size("-1G", &b), -1);
	ck_assert_int_eq(helperd_parse_size("G", &b), -1);
	ck_assert_int_eq(helperd_parse_size("99999999999999999999T", &b), -1);
	ck_assert_int_eq(helperd_size_for_incus("2G", out, sizeof out), 0);
	ck_assert_str_eq(out, "2GiB");
	ck_assert_int_eq(helperd_size_for_incus("5KB", out, sizeof out), 0);
	ck_assert_str_eq(out, "5kB");
	ck_assert_int_eq(helperd_size_for_incus("1024", out, sizeof out), 0);
	ck_assert_str_eq(out, "1024B");
}
END_TEST

/* ---- id ranges ---- */

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/ctm-idrXXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(id_ranges)
{
	char *pw = write_tmp("root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/a:/bin/sh\n");
	char *gr = write_tmp("root:x:0:\nusers:x:100:\n");
	char *su = write_tmp("alice:100000:65536\n");
	char *sg = write_tmp("alice:100000:65536\n");
	struct id_files f = { pw, gr, su, sg };
	char err[512];
	ck_assert_int_eq(id_ranges_check(&f, 70001, 99999, 70000, "containarium-users", err, sizeof err), 0);
	/* uid range over a files user */
	ck_assert_int_eq(id_ranges_check(&f, 900, 2000, 70000, "containarium-users", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "uid 1000 is inside") && strstr(err, pw), "%s", err);
	/* over the subordinate ids */
	ck_assert_int_eq(id_ranges_check(&f, 150000, 160000, 70000, "containarium-users", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "subordinate ids 100000-165535"), "%s", err);
	/* the gid over a files group, and the group name taken */
	ck_assert_int_eq(id_ranges_check(&f, 70001, 99999, 100, "containarium-users", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "gid 100"), "%s", err);
	ck_assert_int_eq(id_ranges_check(&f, 70001, 99999, 70000, "users", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "already named \"users\""), "%s", err);
	/* the gid inside a subordinate range */
	ck_assert_int_eq(id_ranges_check(&f, 70001, 99999, 100500, "containarium-users", err, sizeof err), -1);
	unlink(pw); unlink(gr); unlink(su); unlink(sg);
	free(pw); free(gr); free(su); free(sg);
}
END_TEST

/* ---- accounts ---- */

static json_object *instance(const char *name, const char *user, const char *uid, const char *ip,
			     const char *created, const char *keys)
{
	char text[2048];
	snprintf(text, sizeof text,
		 "{\"name\":\"%s\",\"status\":\"Running\",\"created_at\":\"%s\","
		 "\"config\":{\"user.containarium.managed\":\"true\",\"user.containarium.user\":\"%s\","
		 "\"user.containarium.uid\":\"%s\",\"user.containarium.state\":\"active\","
		 "\"user.containarium.ipv4\":\"%s\",\"user.containarium.keys\":\"%s\","
		 "\"limits.cpu\":\"2\",\"limits.memory\":\"2GiB\",\"boot.autostart\":\"true\"},"
		 "\"devices\":{\"root\":{\"type\":\"disk\",\"size\":\"20GiB\"},"
		 "\"eth0\":{\"type\":\"nic\",\"ipv4.address\":\"%s\"}}}",
		 name, created, user, uid, ip, keys, ip);
	json_object *o = json_tokener_parse(text);
	ck_assert_ptr_nonnull(o);
	return o;
}

START_TEST(account_mapping)
{
	struct account a;
	char why[512];
	json_object *o = instance("alice-container", "alice", "70010", "10.0.3.200", "2026-01-01T00:00:00Z", alice_key);
	ck_assert_int_eq(account_from_instance(o, &a, why, sizeof why), 1);
	ck_assert_str_eq(a.name, "alice");
	ck_assert_uint_eq(a.uid, 70010);
	ck_assert_uint_eq(a.ipv4[3], 200);
	ck_assert_uint_eq(a.key_count, 1);
	ck_assert_str_eq(a.keys[0], alice_key);
	ck_assert_str_eq(a.disk, "20GiB");
	ck_assert_int_eq(a.autostart, 1);
	json_object *j = account_to_json(&a);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "ipv4")), "10.0.3.200");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "state")), "active");
	json_object_put(j);
	account_free(&a);
	json_object_put(o);

	/* Not ours: no managed flag. */
	o = json_tokener_parse("{\"name\":\"web\",\"config\":{\"limits.cpu\":\"1\"}}");
	ck_assert_int_eq(account_from_instance(o, &a, why, sizeof why), 0);
	json_object_put(o);
	/* Ours but broken: each says what. */
	static const struct { const char *user, *uid, *ip, *keys, *expect; } bad[] = {
		{ "Root", "70010", "10.0.3.2", "", "user.containarium.user" },
		{ "bob", "x", "10.0.3.2", "", "is not a uid" },
		{ "bob", "0", "10.0.3.2", "", "is not a uid" },
		{ "bob", "70010", "10.0.3", "", "is not an IPv4 address" },
		{ "bob", "70010", "10.0.3.2", "command=\\\"x\\\" ssh-ed25519 AAAA", "user.containarium.keys, key 1" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		o = instance("bob-container", bad[i].user, bad[i].uid, bad[i].ip, "2026-01-01T00:00:00Z", bad[i].keys);
		ck_assert_int_eq(account_from_instance(o, &a, why, sizeof why), -1);
		ck_assert_msg(strstr(why, bad[i].expect), "case %zu: %s", i, why);
		json_object_put(o);
	}
}
END_TEST

/* ---- allocation ---- */

static void registry_of(struct registry *r, json_object **insts, size_t n)
{
	memset(r, 0, sizeof *r);
	r->accounts = calloc(n, sizeof *r->accounts);
	r->used_ipv4 = calloc(n, sizeof *r->used_ipv4);
	char why[256];
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(account_from_instance(insts[i], &r->accounts[r->count], why, sizeof why), 1);
		const unsigned char *b = r->accounts[r->count].ipv4;
		r->used_ipv4[r->used_ipv4_count++] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		r->count++;
	}
	/* registry_load sorts both; these inputs are given sorted */
}

START_TEST(allocation)
{
	struct subnet sn;
	ck_assert_int_eq(subnet_parse("10.0.3.1/24", &sn), 0);
	ck_assert_int_eq(subnet_parse("10.0.3.1", &sn), -1);
	ck_assert_int_eq(subnet_parse("10.0.3.1/31", &sn), -1);
	ck_assert_int_eq(subnet_parse("10.0.3.1/24", &sn), 0);
	ck_assert_int_eq(subnet_parse_dhcp("10.0.3.2-10.0.3.127", &sn), 0);
	json_object *insts[] = {
		instance("a-container", "a", "70001", "10.0.3.128", "2026-01-01T00:00:00.1Z", ""),
		instance("b-container", "b", "70002", "10.0.3.129", "2026-01-01T00:00:00.12Z", ""),
	};
	struct registry r;
	registry_of(&r, insts, 2);
	ck_assert_uint_eq(allocate_uid(&r, 70001, 99999, 0), 70003);
	ck_assert_uint_eq(allocate_uid(&r, 70001, 99999, 70003), 70004);
	ck_assert_uint_eq(allocate_uid(&r, 70001, 70002, 0), 0);
	/* First address outside the DHCP pool, after the used ones. */
	ck_assert_uint_eq(allocate_ipv4(&r, &sn, 0), (10u << 24) | (3u << 8) | 130);
	/* A lease the DHCP server still holds (a deleted container's, not
	 * released) keeps its address out of reach until it expires. */
	uint32_t *held = malloc(2 * sizeof *held);
	ck_assert_ptr_nonnull(held);
	held[0] = (10u << 24) | (3u << 8) | 131;
	held[1] = (10u << 24) | (3u << 8) | 130;
	subnet_set_leased(&sn, held, 2);
	ck_assert_uint_eq(allocate_ipv4(&r, &sn, 0), (10u << 24) | (3u << 8) | 132);
	subnet_free(&sn);
	ck_assert_uint_eq(allocate_ipv4(&r, &sn, 0), (10u << 24) | (3u << 8) | 130);
	/* An address a container lost to a stale lease is avoided too. */
	allocate_avoid((10u << 24) | (3u << 8) | 130);
	ck_assert_uint_eq(allocate_ipv4(&r, &sn, 0), (10u << 24) | (3u << 8) | 131);
	/* rfc3339: .1 is later than .12?  No: 0.1 s < 0.12 s. */
	ck_assert_int_lt(rfc3339_cmp("2026-01-01T00:00:00.1Z", "2026-01-01T00:00:00.12Z"), 0);
	ck_assert_int_gt(rfc3339_cmp("2026-01-01T00:00:01Z", "2026-01-01T00:00:00.999999999Z"), 0);
	/* b (later) holding a's uid must move; a (earlier) never. */
	r.accounts[1].uid = 70001;
	int uid_taken, ip_taken;
	allocate_conflicts(&r, &r.accounts[1], &uid_taken, &ip_taken);
	ck_assert(uid_taken && !ip_taken);
	allocate_conflicts(&r, &r.accounts[0], &uid_taken, &ip_taken);
	ck_assert(!uid_taken && !ip_taken);
	registry_free(&r);
	for (size_t i = 0; i < 2; i++)
		json_object_put(insts[i]);
}
END_TEST

/* ---- audit log and sessions ---- */

START_TEST(audit_and_sessions)
{
	char dir[] = "/tmp/ctm-auditXXXXXX", path[128], moved[140], err[256];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/log/audit.log", dir);
	for (int i = 0; i < 3; i++) {
		json_object *ev = json_object_new_object();
		json_object_object_add(ev, "event", json_object_new_string("session_open"));
		json_object_object_add(ev, "user", json_object_new_string(i == 1 ? "bob" : "alice"));
		ck_assert_msg(audit_write(path, ev, err, sizeof err) == 0, "%s", err);
		json_object_put(ev);
	}
	json_object *all = audit_read(path, NULL, 100), *alice = audit_read(path, "alice", 100);
	ck_assert_uint_eq(json_object_array_length(all), 3);
	ck_assert_uint_eq(json_object_array_length(alice), 2);
	ck_assert_ptr_nonnull(json_object_object_get(json_object_array_get_idx(all, 0), "time"));
	json_object_put(all);
	json_object_put(alice);
	/* logrotate moves the file: the next event goes to a new one, and
	 * reading takes path.1 first. */
	snprintf(moved, sizeof moved, "%s.1", path);
	ck_assert_int_eq(rename(path, moved), 0);
	json_object *ev = json_object_new_object();
	json_object_object_add(ev, "user", json_object_new_string("carol"));
	ck_assert_int_eq(audit_write(path, ev, err, sizeof err), 0);
	json_object_put(ev);
	ck_assert_int_eq(access(path, F_OK), 0);
	all = audit_read(path, NULL, 2);
	ck_assert_uint_eq(json_object_array_length(all), 2);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(all, 1), "user")), "carol");
	json_object_put(all);

	sessions_open("s1", "alice", 1000);
	sessions_open("s2", "alice", 1010);
	ck_assert_uint_eq(sessions_count("alice"), 2);
	ck_assert_int_eq(sessions_close("s1", "alice", 1100), 100);
	ck_assert_int_eq(sessions_close("s1", "alice", 1100), -1); /* closed twice */
	ck_assert_int_eq(sessions_close("s2", "bob", 1100), -1);   /* someone else's id */
	ck_assert_uint_eq(sessions_count("alice"), 1);
	ck_assert_int_eq(sessions_last_activity("alice"), 1100);
	ck_assert_int_eq(sessions_last_activity("nobody"), 0);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("helperd_parts");
	TCase *tc = tcase_create("parts");
	tcase_add_test(tc, config_defaults_and_settings);
	tcase_add_test(tc, config_errors_name_line_and_problem);
	tcase_add_test(tc, config_file_missing);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, id_ranges);
	tcase_add_test(tc, account_mapping);
	tcase_add_test(tc, allocation);
	tcase_add_test(tc, audit_and_sessions);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
