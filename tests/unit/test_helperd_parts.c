/* SPDX-License-Identifier: Apache-2.0 */
/* helperd's pure parts, one Check case per module: configuration, id range
 * checks, allocation, the audit log, the session table, the
 * mapping between Incus instances and accounts, the streaming list reader,
 * the HTTP transport and the trusted snapshot build.  The daemon itself is
 * tested on real containers in tests/helperd/.
 *
 * The HTTP tests talk to a FAKE server (a thread here on a unix socket):
 * a real Incus cannot be made to cut an answer at chosen bytes, send a
 * malformed chunked body, stall, or close without answering, which is what
 * they check.  The normal path against a real LXD is tests/helperd/. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "allocate.h"
#include "audit.h"
#include "audit_query.h"
#include "session_table.h"
#include "config.h"
#include "harness.h"
#include "id_ranges.h"
#include "incus_client.h"
#include "incus_events.h"
#include "incus_http.h"
#include "json_list.h"
#include "percent.h"
#include "registry.h"
#include "reservation.h"
#include "snapshot_reader.h"
#include "snapshot_writer.h"
#include "sshkey.h"
#include "username.h"

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
	ck_assert_int_eq(
		load_text(&c,
			  "# comment\n\n  network = br1  \nsocket_mode = 0600\nuid_min = 200000\nuid_max = 299999\n"
			  "gid = 199999\ndefault_disk = 50GB\ndefault_memory = 2G\ndefault_cpu = 4\n"
			  "default_autostart = no\nlog_level = debug\nadmin_group =\nincus_socket = /x/y.sock\n",
			  err, sizeof err),
		0);
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
	static const struct {
		const char *text, *expect;
	} bad[] = {
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
	ck_assert_int_eq(ctm_size_parse("20GB", &b), 0);
	ck_assert_uint_eq(b, 20000000000ULL);
	ck_assert_int_eq(ctm_size_parse("2G", &b), 0);
	ck_assert_uint_eq(b, 2ULL << 30);
	ck_assert_int_eq(ctm_size_parse("512MiB", &b), 0);
	ck_assert_uint_eq(b, 512ULL << 20);
	ck_assert_int_eq(ctm_size_parse("5XB", &b), -1);
	ck_assert_int_eq(ctm_size_parse("-1G", &b), -1);
	ck_assert_int_eq(ctm_size_parse("G", &b), -1);
	ck_assert_int_eq(ctm_size_parse("99999999999999999999T", &b), -1);
	ck_assert_int_eq(ctm_size_for_incus("2G", out, sizeof out), 0);
	ck_assert_str_eq(out, "2GiB");
	ck_assert_int_eq(ctm_size_for_incus("5KB", out, sizeof out), 0);
	ck_assert_str_eq(out, "5kB");
	ck_assert_int_eq(ctm_size_for_incus("1024", out, sizeof out), 0);
	ck_assert_str_eq(out, "1024B");
	/* Found by fuzz_api_create: leading zeros reached Incus as written. */
	ck_assert_int_eq(ctm_size_for_incus("00000000000000000040TiB", out, sizeof out), 0);
	ck_assert_str_eq(out, "40TiB");
	ck_assert_int_eq(ctm_size_for_incus("0512M", out, sizeof out), 0);
	ck_assert_str_eq(out, "512MiB");
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
	unlink(pw);
	unlink(gr);
	unlink(su);
	unlink(sg);
	free(pw);
	free(gr);
	free(su);
	free(sg);
}
END_TEST

/* ---- accounts ---- */

static json_object *instance(const char *name, const char *user, const char *uid, const char *ip, const char *created,
			     const char *keys)
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
	ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "location")), "none");
	json_object_put(j);
	ck_assert_uint_eq(a.reservations, 0); /* made before reservations */
	account_free(&a);
	/* Its cluster member, and the reservations it carries (only the ones
	 * named after its own uid and address count). */
	json_object_object_add(o, "location", json_object_new_string("m2"));
	json_object *profiles = json_object_new_array();
	json_object_array_add(profiles, json_object_new_string("ctm-uid-70010"));
	json_object_array_add(profiles, json_object_new_string("ctm-ipv4-10-0-3-201"));
	json_object_object_add(o, "profiles", profiles);
	ck_assert_int_eq(account_from_instance(o, &a, why, sizeof why), 1);
	ck_assert_str_eq(a.location, "m2");
	ck_assert_uint_eq(a.reservations, ACCT_RESERVED_UID);
	account_free(&a);
	json_object_array_put_idx(profiles, 1, json_object_new_string("ctm-ipv4-10-0-3-200"));
	ck_assert_int_eq(account_from_instance(o, &a, why, sizeof why), 1);
	ck_assert_uint_eq(a.reservations, ACCT_RESERVED_UID | ACCT_RESERVED_IPV4);
	account_free(&a);
	json_object_put(o);

	/* Not ours: no managed flag. */
	o = json_tokener_parse("{\"name\":\"web\",\"config\":{\"limits.cpu\":\"1\"}}");
	ck_assert_int_eq(account_from_instance(o, &a, why, sizeof why), 0);
	json_object_put(o);
	/* Ours but broken: each says what. */
	static const struct {
		const char *user, *uid, *ip, *keys, *expect;
	} bad[] = {
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
		r->used_ipv4[r->used_ipv4_count++] =
			(uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
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
	struct alloc_skip skip = { 0 };
	ck_assert_uint_eq(allocate_uid(&r, 70001, 99999, NULL), 70003);
	ck_assert_int_eq(allocate_skip_uid(&skip, 70003), 0);
	ck_assert_uint_eq(allocate_uid(&r, 70001, 99999, &skip), 70004);
	ck_assert_int_eq(allocate_skip_uid(&skip, 70004), 0);
	ck_assert_uint_eq(allocate_uid(&r, 70001, 99999, &skip), 70005);
	ck_assert_uint_eq(allocate_uid(&r, 70001, 70002, NULL), 0);
	/* First address outside the DHCP pool, after the used ones; one
	 * found reserved is skipped. */
	ck_assert_uint_eq(allocate_ipv4(&r, &sn, NULL), (10u << 24) | (3u << 8) | 130);
	ck_assert_int_eq(allocate_skip_ip(&skip, (10u << 24) | (3u << 8) | 130), 0);
	ck_assert_uint_eq(allocate_ipv4(&r, &sn, &skip), (10u << 24) | (3u << 8) | 131);
	/* Two creates of one helperd never start from the same candidates,
	 * and a candidate given up is free again. */
	uint32_t u1 = 0, i1 = 0, u2 = 0, i2 = 0;
	ck_assert_int_eq(allocate_pick(&r, 70001, 99999, &sn, NULL, 1, 1, &u1, &i1), 0);
	ck_assert_int_eq(allocate_pick(&r, 70001, 99999, &sn, NULL, 1, 1, &u2, &i2), 0);
	ck_assert_uint_eq(u1, 70003);
	ck_assert_uint_eq(u2, 70004);
	ck_assert_uint_ne(i1, i2);
	ck_assert_int_eq(allocate_pick(&r, 70001, 99999, &sn, &skip, 1, 0, &u1, &i1), 0); /* u1 moves on */
	ck_assert_uint_eq(u1, 70005);
	allocate_release(u1, i1);
	allocate_release(u2, i2);
	ck_assert_uint_eq(allocate_uid(&r, 70001, 99999, NULL), 70003);
	struct alloc_skip full = { 0 };
	for (int k = 0; k < ALLOC_SKIP_MAX; k++)
		ck_assert_int_eq(allocate_skip_uid(&full, (uint32_t)k), 0);
	ck_assert_int_eq(allocate_skip_uid(&full, 99), -1);
	/* A lease the DHCP server still holds (a deleted container's, not
	 * released) keeps its address out of reach until it expires. */
	uint32_t *held = malloc(2 * sizeof *held);
	ck_assert_ptr_nonnull(held);
	held[0] = (10u << 24) | (3u << 8) | 131;
	held[1] = (10u << 24) | (3u << 8) | 130;
	subnet_set_leased(&sn, held, 2);
	ck_assert_uint_eq(allocate_ipv4(&r, &sn, NULL), (10u << 24) | (3u << 8) | 132);
	subnet_free(&sn);
	ck_assert_uint_eq(allocate_ipv4(&r, &sn, NULL), (10u << 24) | (3u << 8) | 130);
	/* An address a container lost to a stale lease is avoided too. */
	allocate_avoid((10u << 24) | (3u << 8) | 130);
	ck_assert_uint_eq(allocate_ipv4(&r, &sn, NULL), (10u << 24) | (3u << 8) | 131);
	/* The reservations' names (reservation.h). */
	char res[RESERVATION_NAME_MAX];
	reservation_uid_name(70001, res, sizeof res);
	ck_assert_str_eq(res, "ctm-uid-70001");
	reservation_ipv4_name((10u << 24) | (213u << 16) | (78u << 8) | 130, res, sizeof res);
	ck_assert_str_eq(res, "ctm-ipv4-10-213-78-130");
	reservation_ipv4_name(0xffffffffu, res, sizeof res);
	ck_assert_str_eq(res, "ctm-ipv4-255-255-255-255"); /* the longest fits */
	/* rfc3339: .1 is later than .12?  No: 0.1 s < 0.12 s. */
	ck_assert_int_lt(rfc3339_cmp("2026-01-01T00:00:00.1Z", "2026-01-01T00:00:00.12Z"), 0);
	ck_assert_int_gt(rfc3339_cmp("2026-01-01T00:00:01Z", "2026-01-01T00:00:00.999999999Z"), 0);
	registry_free(&r);
	for (size_t i = 0; i < 2; i++)
		json_object_put(insts[i]);
}
END_TEST

/* ---- audit log; sessions ---- */

START_TEST(audit_log)
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
	struct audit_filter any = { 0 }, only_alice = { .user = "alice" };
	json_object *all = audit_read(path, &any, 100), *alice = audit_read(path, &only_alice, 100);
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
	all = audit_read(path, &any, 2);
	ck_assert_uint_eq(json_object_array_length(all), 2);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(all, 1), "user")),
			 "carol");
	json_object_put(all);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(session_table)
{
	sessions_open("s1", "alice", "10.0.0.1", 1000);
	sessions_open("s2", "alice", "10.0.0.2", 1010);
	ck_assert_uint_eq(sessions_count("alice"), 2);
	ck_assert_int_eq(sessions_close("s1", "alice", 1100), 100);
	ck_assert_int_eq(sessions_close("s1", "alice", 1100), -1); /* closed twice */
	ck_assert_int_eq(sessions_close("s2", "bob", 1100), -1);   /* someone else's id */
	ck_assert_uint_eq(sessions_count("alice"), 1);
	ck_assert_int_eq(sessions_last_activity("alice"), 1100);
	ck_assert_int_eq(sessions_last_activity("nobody"), 0);
}
END_TEST

/* ---- accounts: strings ---- */

START_TEST(account_strings)
{
	char long_image[300], text[4096], why[256];
	memset(long_image, 'i', sizeof long_image - 1);
	long_image[sizeof long_image - 1] = '\0';
	snprintf(text, sizeof text,
		 "{\"name\":\"carol-container\",\"status\":\"Running\",\"created_at\":\"2026-01-01T00:00:00.5Z\","
		 "\"config\":{\"user.containarium.managed\":\"true\",\"user.containarium.user\":\"carol\","
		 "\"user.containarium.uid\":\"70020\",\"user.containarium.state\":\"active\","
		 "\"user.containarium.image\":\"%s\",\"user.containarium.helperd\":\"host/0123456789abcdef\"}}",
		 long_image);
	json_object *o = json_tokener_parse(text);
	struct account a;
	ck_assert_int_eq(account_from_instance(o, &a, why, sizeof why), 1);
	/* Cut to the lengths the fixed arrays of old held; absent ones are "". */
	ck_assert_uint_eq(strlen(a.image), 127);
	ck_assert_str_eq(a.owner, "host/0123456789abcdef");
	ck_assert_str_eq(a.instance, "carol-container");
	ck_assert_str_eq(a.incus_created, "2026-01-01T00:00:00.5Z");
	ck_assert_str_eq(a.cpu, "");
	ck_assert_str_eq(a.disk, "");
	ck_assert_uint_eq(a.key_count, 0);
	account_free(&a);
	account_free(&a); /* twice is harmless */
	ck_assert_str_eq(a.status, "");
	json_object_put(o);
	/* An instance name of 64 bytes is not read (it never was). */
	char name[65];
	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(text, sizeof text,
		 "{\"name\":\"%s\",\"config\":{\"user.containarium.managed\":\"true\","
		 "\"user.containarium.user\":\"carol\",\"user.containarium.uid\":\"70020\","
		 "\"user.containarium.state\":\"active\"}}",
		 name);
	o = json_tokener_parse(text);
	ck_assert_int_eq(account_from_instance(o, &a, why, sizeof why), -1);
	account_free(&a); /* safe after a refusal too */
	json_object_put(o);
}
END_TEST

/* ---- the streaming list reader ---- */

struct collected {
	json_object *items; /* an array of what each() got */
	int stop_after;     /* each() fails on this element (1-based; 0 never) */
};

static int collect(json_object *item, void *arg)
{
	struct collected *c = arg;
	json_object_array_add(c->items, json_object_get(item));
	return c->stop_after && (int)json_object_array_length(c->items) == c->stop_after ? -1 : 0;
}

/* Feed doc in chunks of size chunk; returns the result and fills got/rest. */
static enum json_list_result list_read(const char *doc, size_t chunk, size_t max_rest, size_t max_item, int stop_after,
				       json_object **got, json_object **rest)
{
	struct collected c = { json_object_new_array(), stop_after };
	struct json_list *l = json_list_new("metadata", collect, &c, max_rest, max_item);
	ck_assert_ptr_nonnull(l);
	size_t len = strlen(doc);
	for (size_t i = 0; i < len; i += chunk)
		if (json_list_feed(l, doc + i, len - i < chunk ? len - i : chunk))
			break;
	const char *text;
	size_t tlen;
	enum json_list_result r = json_list_finish(l, &text, &tlen);
	ck_assert_uint_eq(strlen(text), tlen);
	*rest = json_tokener_parse(text);
	json_list_free(l);
	*got = c.items;
	return r;
}

START_TEST(json_list_chunks)
{
	/* Strings full of the bytes the reader tracks, a "metadata" key that
	 * is not at the top, members before and after the array. */
	static const char doc[] = "{\"type\":\"sync\",\"x\":[1,{\"metadata\":[9]}],\"s\":\"]}\\\"metadata\\\":[\","
				  "\"odd\":\"a\\\"b\\\\\","
				  "\"metadata\":[ {\"name\":\"a{[\\\"]}\",\"n\":[1,[2]],\"config\":{\"k\":\"v\\\\\"}} ,"
				  "{\"name\":\"b\",\"u\":\"\\u00e9\\n\"},\n{\"name\":\"c\",\"e\":{}}],"
				  "\"status_code\":200}";
	for (size_t chunk = 1; chunk <= sizeof doc; chunk += chunk < 24 ? 1 : 37) {
		json_object *got, *rest, *md;
		ck_assert_int_eq(list_read(doc, chunk, 1 << 20, 1 << 20, 0, &got, &rest), JL_OK);
		ck_assert_msg(json_object_array_length(got) == 3, "chunk %zu: %zu elements", chunk,
			      json_object_array_length(got));
		ck_assert_str_eq(
			json_object_get_string(json_object_object_get(json_object_array_get_idx(got, 0), "name")),
			"a{[\"]}");
		ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(got, 1), "u")),
				 "\xc3\xa9\n");
		ck_assert_str_eq(
			json_object_get_string(json_object_object_get(json_object_array_get_idx(got, 2), "name")), "c");
		ck_assert_ptr_nonnull(rest);
		ck_assert(json_object_object_get_ex(rest, "metadata", &md));
		ck_assert_uint_eq(json_object_array_length(md), 0);
		ck_assert_int_eq(json_object_get_int(json_object_object_get(rest, "status_code")), 200);
		ck_assert_str_eq(json_object_get_string(json_object_object_get(rest, "s")), "]}\"metadata\":[");
		ck_assert_str_eq(json_object_get_string(json_object_object_get(rest, "odd")), "a\"b\\");
		ck_assert_uint_eq(json_object_array_length(json_object_object_get(rest, "x")), 2);
		json_object_put(got);
		json_object_put(rest);
	}
}
END_TEST

START_TEST(json_list_edges)
{
	json_object *got, *rest;
	/* Scalar elements (a null carries nothing), an empty list, no list. */
	for (size_t chunk = 1; chunk < 8; chunk++) {
		ck_assert_int_eq(
			list_read("{\"metadata\":[\"a,]\", 12 ,null,true,-1.5e3]}", chunk, 4096, 4096, 0, &got, &rest),
			JL_OK);
		ck_assert_uint_eq(json_object_array_length(got), 4);
		ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(got, 0)), "a,]");
		ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(got, 1)), 12);
		ck_assert(json_object_get_boolean(json_object_array_get_idx(got, 2)));
		json_object_put(got);
		json_object_put(rest);
	}
	ck_assert_int_eq(list_read("{\"metadata\":[]}", 3, 4096, 4096, 0, &got, &rest), JL_OK);
	ck_assert_uint_eq(json_object_array_length(got), 0);
	json_object_put(got);
	json_object_put(rest);
	ck_assert_int_eq(
		list_read("{\"type\":\"error\",\"metadata\":null,\"error\":\"x\"}", 5, 4096, 4096, 0, &got, &rest),
		JL_OK);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(rest, "error")), "x");
	json_object_put(got);
	json_object_put(rest);
	/* A member name with an escape is not recognised: the array stays in
	 * the rest, whole, for the caller to read. */
	ck_assert_int_eq(list_read("{\"meta\\u0064ata\":[{\"a\":1}]}", 4, 4096, 4096, 0, &got, &rest), JL_OK);
	ck_assert_uint_eq(json_object_array_length(got), 0);
	ck_assert_uint_eq(json_object_array_length(json_object_object_get(rest, "metadata")), 1);
	json_object_put(got);
	json_object_put(rest);
	/* Failures. */
	ck_assert_int_eq(list_read("{\"metadata\":[{\"a\":1},{\"b\":", 4, 4096, 4096, 0, &got, &rest), JL_TRUNCATED);
	ck_assert_uint_eq(json_object_array_length(got), 1);
	json_object_put(got);
	json_object_put(rest);
	ck_assert_int_eq(list_read("{\"metadata\":[{\"a\":1}]", 4, 4096, 4096, 0, &got, &rest), JL_TRUNCATED);
	json_object_put(got);
	json_object_put(rest);
	ck_assert_int_eq(list_read("{\"metadata\":[{\"a\":}]}", 2, 4096, 4096, 0, &got, &rest), JL_BAD_ITEM);
	json_object_put(got);
	json_object_put(rest);
	ck_assert_int_eq(list_read("{\"metadata\":[{\"a\":1},{\"b\":2}]}", 1, 4096, 4096, 1, &got, &rest), JL_STOPPED);
	ck_assert_uint_eq(json_object_array_length(got), 1);
	json_object_put(got);
	json_object_put(rest);
	ck_assert_int_eq(
		list_read("{\"metadata\":[{\"a\":\"0123456789abcdef0123456789\"}]}", 5, 4096, 16, 0, &got, &rest),
		JL_BIG_ITEM);
	json_object_put(got);
	json_object_put(rest);
	ck_assert_int_eq(
		list_read("{\"error\":\"0123456789abcdef0123456789\",\"metadata\":[]}", 5, 16, 4096, 0, &got, &rest),
		JL_BIG_REST);
	json_object_put(got);
	json_object_put(rest);
}
END_TEST

/* ---- HTTP over a unix socket, against a FAKE server (see the top) ---- */

struct fake_reply {
	const char *const *pieces; /* written one by one, 2 ms apart; NULL-terminated */
	int no_reply;              /* close at once after reading the request */
	const char *const *after;  /* if not NULL: read what the client sends (into
				    * fake_server.heard), then write these */
};

struct fake_server {
	char path[108];
	int fd;
	pthread_t thread;
	const struct fake_reply *replies;
	size_t count;
	char request[8192];       /* the last request, head and body */
	char heads[16][1024];     /* each request's head, by connection */
	unsigned char heard[256]; /* what came after the request (fake_reply.after) */
	size_t heard_len;
};

static void *fake_serve(void *arg)
{
	struct fake_server *f = arg;
	for (size_t i = 0; i < f->count; i++) {
		int c = accept(f->fd, NULL, NULL);
		if (c < 0)
			break;
		size_t len = 0, want = 0;
		for (;;) { /* the head, then Content-Length bytes of body */
			ssize_t n = read(c, f->request + len, sizeof f->request - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			f->request[len] = '\0';
			char *end = strstr(f->request, "\r\n\r\n");
			if (!end)
				continue;
			const char *cl = strcasestr(f->request, "\r\nContent-Length: ");
			want = (size_t)(end + 4 - f->request) + (cl && cl < end ? strtoul(cl + 18, NULL, 10) : 0);
			if (len >= want)
				break;
		}
		if (i < sizeof f->heads / sizeof f->heads[0]) {
			char *end = strstr(f->request, "\r\n\r\n");
			snprintf(f->heads[i], sizeof f->heads[i], "%.*s",
				 (int)(end ? end - f->request : (ptrdiff_t)len), f->request);
		}
		if (!f->replies[i].no_reply) {
			for (const char *const *p = f->replies[i].pieces; *p; p++) {
				if (send(c, *p, strlen(*p), MSG_NOSIGNAL) < 0)
					break; /* the client is gone: what it read is what it tests */
				struct timespec pause = { 0, 2000000 };
				nanosleep(&pause, NULL);
			}
		}
		if (f->replies[i].after) {
			struct timeval tv = { 2, 0 };
			setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
			ssize_t n = read(c, f->heard, sizeof f->heard);
			f->heard_len = n > 0 ? (size_t)n : 0;
			for (const char *const *p = f->replies[i].after; *p; p++)
				if (send(c, *p, strlen(*p), MSG_NOSIGNAL) < 0)
					break;
		}
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake_server *f, const struct fake_reply *replies, size_t count)
{
	memset(f, 0, sizeof *f);
	snprintf(f->path, sizeof f->path, "/tmp/ctm-fake-http-%d.sock", (int)getpid());
	unlink(f->path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, f->path);
	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(f->fd, 0);
	ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(f->fd, 8), 0);
	f->replies = replies;
	f->count = count;
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake_server *f)
{
	pthread_join(f->thread, NULL);
	close(f->fd);
	unlink(f->path);
}

struct body {
	char data[65536];
	size_t len;
};

static int to_body(void *arg, const char *p, size_t len)
{
	struct body *b = arg;
	ck_assert_uint_lt(b->len + len, sizeof b->data);
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

static enum http_result get(const char *socket, const char *path, long timeout_s, struct body *b,
			    struct http_response *resp, char *err, size_t errlen)
{
	struct http_request rq = { .method = "GET", .path = path, .timeout_s = timeout_s };
	memset(b, 0, sizeof *b);
	return http_exchange(socket, &rq, to_body, b, resp, err, errlen);
}

START_TEST(http_transport)
{
	static const char *const chunked[] = { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"abc\"\r\n",
					       "Transfer-Encoding: chunked\r\n\r\n",
					       "5\r\nhello\r\n",
					       "7;ext=1\r\n, world\r\n1",
					       "\r\n!\r\n0\r\nTrailer: x\r\n\r\n",
					       NULL };
	static const char *const length[] = { "HTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\nbody",
					      "ignored after the body", NULL };
	static const char *const to_close[] = { "HTTP/1.0 200 OK\r\n\r\nuntil", " the end", NULL };
	static const char *const cont[] = { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", NULL };
	static const char *const bad_status[] = { "HTTP/2 200 OK\r\n\r\n", NULL };
	static const char *const bad_chunk[] = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", NULL };
	static const char *const cut[] = { "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", NULL };
	static const char *const echo[] = { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", NULL };
	const struct fake_reply replies[] = {
		{ chunked, 0, NULL }, { length, 0, NULL },     { to_close, 0, NULL },
		{ cont, 0, NULL },    { bad_status, 0, NULL }, { bad_chunk, 0, NULL },
		{ cut, 0, NULL },     { NULL, 1, NULL },       { echo, 0, NULL },
	};
	struct fake_server f;
	fake_start(&f, replies, sizeof replies / sizeof replies[0]);
	struct body b;
	struct http_response resp;
	char err[256];
	ck_assert_int_eq(get(f.path, "/1.0/a", 10, &b, &resp, err, sizeof err), HTTP_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.etag, "\"abc\"");
	ck_assert_str_eq(b.data, "hello, world!");
	ck_assert_int_eq(get(f.path, "/1.0/b", 10, &b, &resp, err, sizeof err), HTTP_OK);
	ck_assert_int_eq(resp.status, 201);
	ck_assert_str_eq(b.data, "body");
	ck_assert_str_eq(resp.etag, "");
	ck_assert_int_eq(get(f.path, "/1.0/c", 10, &b, &resp, err, sizeof err), HTTP_OK);
	ck_assert_str_eq(b.data, "until the end");
	ck_assert_int_eq(get(f.path, "/1.0/d", 10, &b, &resp, err, sizeof err), HTTP_OK);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(get(f.path, "/1.0/e", 10, &b, &resp, err, sizeof err), HTTP_PROTOCOL);
	ck_assert_int_eq(get(f.path, "/1.0/f", 10, &b, &resp, err, sizeof err), HTTP_PROTOCOL);
	ck_assert_int_eq(get(f.path, "/1.0/g", 10, &b, &resp, err, sizeof err), HTTP_CUT);
	ck_assert_str_eq(b.data, "only ten b");
	ck_assert_int_eq(get(f.path, "/1.0/h", 10, &b, &resp, err, sizeof err), HTTP_REFUSED);
	/* What goes out: the request line, Host, Connection: close, the
	 * caller's headers, Content-Length and the body. */
	const char *hdrs[] = { "If-Match: \"e1\"", NULL };
	struct http_request rq = { .method = "PATCH",
				   .path = "/1.0/instances/x?y=%2F",
				   .headers = hdrs,
				   .body = "{\"a\":1}",
				   .body_len = 7,
				   .timeout_s = 10 };
	memset(&b, 0, sizeof b);
	ck_assert_int_eq(http_exchange(f.path, &rq, to_body, &b, &resp, err, sizeof err), HTTP_OK);
	fake_stop(&f);
	ck_assert_str_eq(f.request, "PATCH /1.0/instances/x?y=%2F HTTP/1.1\r\nHost: incus\r\nConnection: close\r\n"
				    "If-Match: \"e1\"\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
	/* Refused before connecting: bytes a request line or header cannot carry. */
	rq.path = "/1.0/a b";
	ck_assert_int_eq(http_exchange(f.path, &rq, to_body, &b, &resp, err, sizeof err), HTTP_BAD_REQUEST);
	rq.path = "/1.0/a";
	const char *evil[] = { "X-A: 1\r\nX-B: 2", NULL };
	rq.headers = evil;
	ck_assert_int_eq(http_exchange(f.path, &rq, to_body, &b, &resp, err, sizeof err), HTTP_BAD_REQUEST);
	/* Nobody listening; a server that never answers. */
	ck_assert_int_eq(get("/tmp/ctm-no-such-socket", "/1.0", 10, &b, &resp, err, sizeof err), HTTP_REFUSED);
	const struct fake_reply none[] = { { NULL, 1, NULL } };
	fake_start(&f, none, 0); /* listens, never accepts */
	ck_assert_int_eq(get(f.path, "/1.0", 1, &b, &resp, err, sizeof err), HTTP_TIMEOUT);
	fake_stop(&f);
	char *e = ctm_percent_escape("/home/a b/.ssh~x");
	ck_assert_str_eq(e, "%2Fhome%2Fa%20b%2F.ssh~x");
	free(e);
}
END_TEST

/* The event stream: the websocket handshake, messages (one of them in two
 * frames), a ping answered with a masked pong, the close. */
START_TEST(events_stream)
{
	static const char *const upgrade[] = {
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05hello",
		"\x01\x03"
		"abc",
		"\x80\x02"
		"de\x89\x02hi",
		NULL
	};
	static const char *const close_frame[] = { "\x88\x02\x03\xe8", NULL };
	static const char *const refused[] = { "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", NULL };
	const struct fake_reply replies[] = { { upgrade, 0, close_frame }, { refused, 0, NULL } };
	struct fake_server f;
	fake_start(&f, replies, 2);
	char err[256];
	struct incus_events *ev = incus_events_open(f.path, err, sizeof err);
	ck_assert_msg(ev != NULL, "%s", err);
	int messages = 0, n;
	for (int rounds = 0; rounds < 200; rounds++) {
		struct pollfd p = { .fd = incus_events_fd(ev), .events = POLLIN };
		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		if ((n = incus_events_read(ev, err, sizeof err)) < 0)
			break;
		messages += n;
	}
	ck_assert_int_eq(n, -1);
	ck_assert_msg(strstr(err, "closed"), "%s", err);
	ck_assert_int_eq(messages, 2);
	incus_events_close(ev);
	ck_assert_ptr_null(incus_events_open(f.path, err, sizeof err));
	ck_assert_msg(strstr(err, "404"), "%s", err);
	fake_stop(&f);
	/* The pong: FIN+pong, masked, 2 bytes, unmasking to the ping's "hi". */
	ck_assert_uint_eq(f.heard_len, 8);
	ck_assert_uint_eq(f.heard[0], 0x8a);
	ck_assert_uint_eq(f.heard[1], 0x82);
	ck_assert_uint_eq(f.heard[6] ^ f.heard[2], 'h');
	ck_assert_uint_eq(f.heard[7] ^ f.heard[3], 'i');
	/* (the request here is the second one, the refused handshake) */
	ck_assert_msg(strstr(f.request, "GET /1.0/events?type=lifecycle HTTP/1.1\r\n") == f.request, "%s", f.request);
	ck_assert(strstr(f.request, "\r\nConnection: Upgrade\r\n"));
	ck_assert(strstr(f.request, "\r\nUpgrade: websocket\r\n"));
	ck_assert(strstr(f.request, "\r\nSec-WebSocket-Version: 13\r\n"));
	const char *key = strstr(f.request, "\r\nSec-WebSocket-Key: ");
	ck_assert_ptr_nonnull(key);
	ck_assert_uint_eq(strcspn(key + 21, "\r"), 24);
}
END_TEST

/* registry_load through the Incus client: the list arrives chunked, in
 * small pieces; an error answer is the server's error. */
START_TEST(registry_from_a_streamed_list)
{
	static const char hello_body[] = "{\"type\":\"sync\",\"metadata\":{\"environment\":{\"server\":\"lxd\","
					 "\"server_version\":\"5.0.2\"}}}";
	char hello[256];
	snprintf(hello, sizeof hello, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(hello_body),
		 hello_body);
	json_object *insts[] = {
		instance("b-container", "b", "70002", "10.0.3.129", "2026-01-01T00:00:00Z", alice_key),
		instance("a-container", "a", "70001", "10.0.3.128", "2026-01-01T00:00:00Z", ""),
	};
	char list[8192];
	snprintf(
		list, sizeof list,
		"{\"type\":\"sync\",\"status\":\"Success\",\"metadata\":[%s,%s,"
		"{\"name\":\"web\",\"config\":{},\"devices\":{\"eth0\":{\"type\":\"nic\",\"ipv4.address\":\"10.0.3.7\"}}}]}",
		json_object_to_json_string_ext(insts[0], JSON_C_TO_STRING_PLAIN),
		json_object_to_json_string_ext(insts[1], JSON_C_TO_STRING_PLAIN));
	/* chunked, in pieces of 100 bytes (cut anywhere, chunk headers too) */
	static char wire[16384];
	size_t n = (size_t)snprintf(wire, sizeof wire, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (size_t i = 0, len = strlen(list); i < len; i += 333) {
		size_t k = len - i < 333 ? len - i : 333;
		n += (size_t)snprintf(wire + n, sizeof wire - n, "%zx\r\n%.*s\r\n", k, (int)k, list + i);
	}
	n += (size_t)snprintf(wire + n, sizeof wire - n, "0\r\n\r\n");
	static char pieces_text[200][101];
	const char *pieces[201];
	size_t np = 0;
	for (size_t i = 0; i < n; i += 100, np++) {
		snprintf(pieces_text[np], sizeof pieces_text[np], "%.100s", wire + i);
		pieces[np] = pieces_text[np];
	}
	pieces[np] = NULL;
	const char *hello_pieces[] = { hello, NULL };
	static const char *const notfound[] = {
		"HTTP/1.1 404 Not Found\r\nContent-Length: 69\r\n\r\n"
		"{\"type\":\"error\",\"error\":\"not found\",\"error_code\":404,\"metadata\":null}",
		NULL
	};
	const struct fake_reply replies[] = { { hello_pieces, 0, NULL }, { pieces, 0, NULL }, { notfound, 0, NULL } };
	struct fake_server f;
	fake_start(&f, replies, 3);
	struct incus_client *c = NULL;
	char err[512];
	ck_assert_msg(incus_open(f.path, &c, err, sizeof err) == INCUS_OK, "%s", err);
	struct registry r;
	ck_assert_msg(registry_load(c, &r, err, sizeof err) == INCUS_OK, "%s", err);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_str_eq(r.accounts[0].name, "a"); /* sorted */
	ck_assert_str_eq(r.accounts[1].name, "b");
	ck_assert_str_eq(r.accounts[1].keys[0], alice_key);
	ck_assert_uint_eq(r.used_ipv4_count, 3); /* the other instance's NIC counts too */
	ck_assert_uint_eq(r.used_ipv4[0], (10u << 24) | (3u << 8) | 7);
	registry_free(&r);
	json_object *md = NULL;
	ck_assert_int_eq(incus_get(c, "/1.0/instances/nope", &md, NULL, err, sizeof err), INCUS_ERR_NOT_FOUND);
	ck_assert_msg(strstr(err, "not found"), "%s", err);
	incus_close(c);
	fake_stop(&f);
	for (size_t i = 0; i < 2; i++)
		json_object_put(insts[i]);
}
END_TEST

/* The Incus/LXD differences helperd handles, against a fake of each
 * backend: the file headers follow the backend GET /1.0 names; exec output
 * is fetched (and removed) from the paths the operation returns, which
 * differ (Incus: logs/exec-output/exec_ID.stdout, LXD: logs/exec_ID.stdout);
 * a validation refusal is a request error however it comes (a sync 500,
 * an operation's failure), any other 500 a server error. */
static const char *reply(char *buf, size_t len, const char *status, const char *body)
{
	snprintf(buf, len, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", status,
		 strlen(body), body);
	return buf;
}

START_TEST(backend_differences)
{
	static const struct {
		const char *server, *version, *hdr, *other_hdr, *logs;
		enum incus_server kind;
	} be[] = {
		{ "incus", "6.0.4", "X-Incus-", "X-LXD-", "/1.0/instances/u-container/logs/exec-output/exec_7",
		  INCUS_SERVER_INCUS },
		{ "lxd", "5.0.2", "X-LXD-", "X-Incus-", "/1.0/instances/u-container/logs/exec_7", INCUS_SERVER_LXD },
	};
	const int i = _i;
	static char text[12][2048];
	char body[1024];
	snprintf(body, sizeof body,
		 "{\"type\":\"sync\",\"metadata\":{\"environment\":{\"server\":\"%s\","
		 "\"server_version\":\"%s\"}}}",
		 be[i].server, be[i].version);
	const char *hello[] = { reply(text[0], sizeof text[0], "200 OK", body), NULL };
	const char *async[] = { reply(text[1], sizeof text[1], "202 Accepted",
				      "{\"type\":\"async\",\"operation\":\"/1.0/operations/op7\",\"metadata\":{}}"),
				NULL };
	snprintf(body, sizeof body,
		 "{\"type\":\"sync\",\"metadata\":{\"status\":\"Success\",\"metadata\":"
		 "{\"return\":3,\"output\":{\"1\":\"%s.stdout\",\"2\":\"%s.stderr\"}}}}",
		 be[i].logs, be[i].logs);
	const char *done[] = { reply(text[2], sizeof text[2], "200 OK", body), NULL };
	const char *out[] = { "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n", NULL };
	const char *err_text[] = { "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\noops", NULL };
	const char *deleted[] = { reply(text[3], sizeof text[3], "200 OK", "{\"type\":\"sync\",\"metadata\":{}}"),
				  NULL };
	const char *pushed[] = { reply(text[4], sizeof text[4], "200 OK", "{\"type\":\"sync\",\"metadata\":{}}"),
				 NULL };
	const char *bad_key[] = {
		reply(text[5], sizeof text[5], "500 Internal Server Error",
		      "{\"type\":\"error\",\"error_code\":500,\"error\":\"Invalid config: Unknown configuration key: "
		      "security.devlxd\",\"metadata\":null}"),
		NULL
	};
	const char *broken[] = {
		reply(text[6], sizeof text[6], "500 Internal Server Error",
		      "{\"type\":\"error\",\"error_code\":500,\"error\":\"Failed to begin transaction: database is "
		      "locked\",\"metadata\":null}"),
		NULL
	};
	/* An operation another cluster member runs: its URL has a query. */
	const char *async_remote[] = {
		reply(text[8], sizeof text[8], "202 Accepted",
		      "{\"type\":\"async\",\"operation\":\"/1.0/operations/op8?project=default\",\"metadata\":{}}"),
		NULL
	};
	const char *failed_op[] = {
		reply(text[7], sizeof text[7], "200 OK",
		      "{\"type\":\"sync\",\"metadata\":{\"status\":\"Failure\",\"err\":\"Failed creating instance "
		      "record: Unknown configuration key: bogus.key\"}}"),
		NULL
	};
	const struct fake_reply replies[] = {
		{ hello, 0, NULL },   { async, 0, NULL },    { done, 0, NULL },         { out, 0, NULL },
		{ deleted, 0, NULL }, { err_text, 0, NULL }, { deleted, 0, NULL },      { pushed, 0, NULL },
		{ bad_key, 0, NULL }, { broken, 0, NULL },   { async_remote, 0, NULL }, { failed_op, 0, NULL },
	};
	struct fake_server f;
	fake_start(&f, replies, sizeof replies / sizeof replies[0]);
	struct incus_client *c = NULL;
	char err[512];
	ck_assert_msg(incus_open(f.path, &c, err, sizeof err) == INCUS_OK, "%s", err);
	ck_assert_int_eq(incus_server_kind(c), be[i].kind);
	ck_assert_str_eq(incus_server_version(c), be[i].version);

	const char *argv[] = { "true", NULL };
	int code = 0;
	char *o = NULL, *e = NULL;
	ck_assert_int_eq(incus_exec(c, "u-container", argv, 10, &code, &o, &e, err, sizeof err), INCUS_ERR_COMMAND);
	ck_assert_int_eq(code, 3);
	ck_assert_str_eq(o, "hello\n");
	ck_assert_str_eq(e, "oops");
	ck_assert_msg(strstr(err, "status 3: oops"), "%s", err);
	free(o);
	free(e);
	ck_assert_msg(strncmp(f.heads[1], "POST /1.0/instances/u-container/exec ", 37) == 0, "%s", f.heads[1]);
	ck_assert_msg(strncmp(f.heads[2], "GET /1.0/operations/op7/wait?timeout=", 37) == 0, "%s", f.heads[2]);
	static const char *const method[] = { "GET", "DELETE", "GET", "DELETE" };
	static const char *const suffix[] = { "stdout", "stdout", "stderr", "stderr" };
	for (int k = 0; k < 4; k++) {
		char want[256];
		snprintf(want, sizeof want, "%s %s.%s ", method[k], be[i].logs, suffix[k]);
		ck_assert_msg(strncmp(f.heads[3 + k], want, strlen(want)) == 0, "%s: %s", want, f.heads[3 + k]);
	}

	ck_assert_msg(incus_file_push(c, "u-container", "/etc/x", "x", 1, 1000, 1000, 0644, err, sizeof err) ==
			      INCUS_OK,
		      "%s", err);
	char h[64];
	snprintf(h, sizeof h, "\r\n%suid: 1000\r\n", be[i].hdr);
	ck_assert_msg(strstr(f.heads[7], h), "%s", f.heads[7]);
	snprintf(h, sizeof h, "\r\n%swrite: overwrite\r\n", be[i].hdr);
	ck_assert_msg(strstr(f.heads[7], h), "%s", f.heads[7]);
	ck_assert_msg(!strstr(f.heads[7], be[i].other_hdr), "%s", f.heads[7]);
	ck_assert_msg(strstr(f.heads[7], "\r\nContent-Type: application/octet-stream\r\n"), "%s", f.heads[7]);

	json_object *cfg = json_tokener_parse("{\"config\":{\"security.devlxd\":\"false\"}}"), *md = NULL;
	ck_assert_int_eq(incus_call(c, "PATCH", "/1.0/instances/u-container", cfg, NULL, 10, &md, err, sizeof err),
			 INCUS_ERR_REQUEST);
	ck_assert_msg(strstr(err, "Unknown configuration key: security.devlxd"), "%s", err);
	ck_assert_int_eq(incus_call(c, "PATCH", "/1.0/instances/u-container", cfg, NULL, 10, &md, err, sizeof err),
			 INCUS_ERR_SERVER);
	ck_assert_msg(strstr(err, "database is locked"), "%s", err);
	ck_assert_int_eq(incus_call(c, "POST", "/1.0/instances", cfg, NULL, 10, &md, err, sizeof err),
			 INCUS_ERR_REQUEST);
	ck_assert_msg(strstr(err, "Failure: Failed creating instance record: Unknown configuration key"), "%s", err);
	/* /wait went before the query, and the query came along. */
	ck_assert_msg(strncmp(f.heads[11], "GET /1.0/operations/op8/wait?timeout=", 37) == 0, "%s", f.heads[11]);
	ck_assert_msg(strstr(f.heads[11], "&project=default HTTP/1.1\r\n"), "%s", f.heads[11]);
	ck_assert_str_eq(incus_error_reason(err),
			 "Failed creating instance record: Unknown configuration key: bogus.key");
	json_object_put(cfg);
	incus_close(c);
	fake_stop(&f);

	ck_assert_int_eq(incus_error_status(500, "Invalid devices: Device validation failed for \"root\""),
			 INCUS_ERR_REQUEST);
	ck_assert_int_eq(incus_error_status(500, NULL), INCUS_ERR_SERVER);
	ck_assert_int_eq(incus_error_status(404, "Invalid config: x"), INCUS_ERR_NOT_FOUND);
	ck_assert_int_eq(incus_error_status(409, "IP address already defined on another NIC"), INCUS_ERR_CONFLICT);
}
END_TEST

/* A cluster member that does not answer: Incus lists its instances with
 * status Error, their location and no config.  Their users stay published
 * as last known (from the registry before, or from keys.db after a
 * restart), never dropped: dropping them locked them out of every member. */
START_TEST(registry_keeps_an_unreachable_members_users)
{
	static const char hello_body[] = "{\"type\":\"sync\",\"metadata\":{\"environment\":{\"server\":\"incus\","
					 "\"server_version\":\"6.0.4\"}}}";
	char hello[256], list[8192], listed[9000];
	snprintf(hello, sizeof hello, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(hello_body),
		 hello_body);
	json_object *a = instance("a-container", "a", "70001", "10.0.3.128", "2026-01-01T00:00:00Z", "");
	json_object *erin =
		instance("erin-container", "erin", "70005", "10.0.3.133", "2026-01-01T00:00:00Z", alice_key);
	snprintf(list, sizeof list,
		 "{\"type\":\"sync\",\"status\":\"Success\",\"metadata\":[%s,"
		 "{\"name\":\"erin-container\",\"status\":\"Error\",\"location\":\"m3\",\"config\":null}]}",
		 json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	snprintf(listed, sizeof listed, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(list), list);
	const char *hello_pieces[] = { hello, NULL }, *list_pieces[] = { listed, NULL };
	const struct fake_reply replies[] = { { hello_pieces, 0, NULL },
					      { list_pieces, 0, NULL },
					      { list_pieces, 0, NULL } };
	struct fake_server f;
	fake_start(&f, replies, 3);
	struct incus_client *c = NULL;
	char err[512];
	ck_assert_msg(incus_open(f.path, &c, err, sizeof err) == INCUS_OK, "%s", err);

	/* Before: a and erin.  Now erin's member is down. */
	json_object *both[] = { a, erin };
	struct registry old, r;
	registry_of(&old, both, 2);
	ck_assert_msg(registry_load(c, &r, err, sizeof err) == INCUS_OK, "%s", err);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(r.n_unreachable, 1);
	ck_assert_str_eq(r.unreachable[0].instance, "erin-container");
	ck_assert_str_eq(r.unreachable[0].location, "m3");
	ck_assert_uint_eq(registry_carry_over(&r, &old, "/nonexistent/keys.db", "-container"), 1);
	ck_assert_uint_eq(r.count, 2);
	const struct account *e = registry_find(&r, "erin");
	ck_assert_ptr_nonnull(e);
	ck_assert(e->carried);
	ck_assert_uint_eq(e->uid, 70005);
	ck_assert_str_eq(e->status, "Unknown");
	ck_assert_str_eq(e->keys[0], alice_key);
	unsigned char ip[4] = { 10, 0, 3, 133 };
	ck_assert(registry_ipv4_used(&r, ip)); /* never handed out again meanwhile */

	/* Published with erin; helperd restarts with erin's member still down. */
	char dir[] = "/tmp/ctm-carryXXXXXX", keys_db[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct helperd_config cfg;
	helperd_config_defaults(&cfg);
	snprintf(cfg.state_dir, sizeof cfg.state_dir, "%s", dir);
	ck_assert_msg(registry_publish(&r, &cfg, (gid_t)-1, err, sizeof err) == 0, "%s", err);
	registry_free(&r);
	ck_assert_msg(registry_load(c, &r, err, sizeof err) == INCUS_OK, "%s", err);
	snprintf(keys_db, sizeof keys_db, "%s/keys.db", dir);
	ck_assert_uint_eq(registry_carry_over(&r, NULL, keys_db, "-container"), 1);
	e = registry_find(&r, "erin");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->uid, 70005);
	ck_assert_uint_eq(e->state, CTM_STATE_ACTIVE);
	ck_assert_uint_eq(e->key_count, 1);
	ck_assert_str_eq(e->keys[0], alice_key);
	ck_assert_str_eq(e->instance, "erin-container");
	ck_assert_str_eq(e->location, "m3");
	ck_assert_int_eq(memcmp(e->ipv4, ip, 4), 0);
	/* A name the registry has already is not put back twice. */
	ck_assert_uint_eq(registry_carry_over(&r, &old, keys_db, "-container"), 0);
	registry_free(&r);
	registry_free(&old);
	char path[128];
	snprintf(path, sizeof path, "%s/passwd.db", dir);
	unlink(path);
	unlink(keys_db);
	rmdir(dir);
	incus_close(c);
	fake_stop(&f);
	json_object_put(a);
	json_object_put(erin);
}
END_TEST

/* ---- the trusted snapshot build ---- */

START_TEST(snapshot_build_canonical)
{
	static const char *const keys[] = {
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1wJvX5qExo/rZpqB75+B1MDJTGLT6Ob0V3beQSe99b alice@laptop",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1wJvX5qExo/rZpqB75+B1MDJTGLT6Ob0V3beQSe99b",
	};
	struct ctm_user_spec u[40];
	char names[40][16];
	memset(u, 0, sizeof u);
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof names[i], "user%02d", (i * 7) % 40); /* not sorted */
		u[i].name = names[i];
		u[i].uid = 70001 + (uint32_t)i;
		u[i].state = CTM_STATE_ACTIVE;
		u[i].ipv4[0] = 10;
		u[i].ipv4[3] = (unsigned char)i;
		u[i].keys = (const char *const *)keys;
		u[i].key_count = (size_t)i % 3;
		if (i == 5)
			u[i].gecos = "G", u[i].home = "/home/x", u[i].shell = "/bin/sh";
	}
	struct ctm_snapshot_spec spec = {
		.generation = 3, .gid = 70000, .uid_min = 70001, .uid_max = 99999, .users = u, .user_count = 40
	};
	struct ctm_image p1, k1, p2, k2;
	char err[512];
	ck_assert_msg(ctm_snapshot_build(&spec, &p1, &k1, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(ctm_snapshot_build_canonical(&spec, &p2, &k2, err, sizeof err) == 0, "%s", err);
	/* The same bytes but the creation time (and so the header's CRC). */
	ck_assert_uint_eq(p1.size, p2.size);
	ck_assert_uint_eq(k1.size, k2.size);
	memset(p1.data + CTM_H_CREATED, 0, 8), memset(p2.data + CTM_H_CREATED, 0, 8);
	memset(k1.data + CTM_H_CREATED, 0, 8), memset(k2.data + CTM_H_CREATED, 0, 8);
	memset(p1.data + CTM_H_HEADER_CRC, 0, 4), memset(p2.data + CTM_H_HEADER_CRC, 0, 4);
	memset(k1.data + CTM_H_HEADER_CRC, 0, 4), memset(k2.data + CTM_H_HEADER_CRC, 0, 4);
	ck_assert(memcmp(p1.data, p2.data, p1.size) == 0);
	ck_assert(memcmp(k1.data, k2.data, k1.size) == 0);
	ctm_image_free(&p1), ctm_image_free(&k1), ctm_image_free(&p2), ctm_image_free(&k2);

	/* It publishes what a reader finds. */
	char dir[] = "/tmp/ctm-canonXXXXXX", pp[64], kp[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(pp, sizeof pp, "%s/passwd.db", dir);
	snprintf(kp, sizeof kp, "%s/keys.db", dir);
	spec.generation = 0;
	ck_assert_msg(ctm_snapshot_publish_canonical(&spec, pp, kp, (gid_t)-1, err, sizeof err) == 0, "%s", err);
	struct ctm_db db;
	struct ctm_keys k;
	ck_assert_int_eq(ctm_db_open(&db, kp, CTM_DB_KEYS), CTM_OK);
	ck_assert_int_eq(ctm_keys_by_name(&db, "user14", &k), CTM_OK); /* u[2]: two keys */
	ck_assert_uint_eq(k.key_count, 2);
	ck_assert_str_eq(ctm_keys_next(&k, NULL), keys[0]);
	ctm_db_close(&db);
	unlink(pp), unlink(kp), rmdir(dir);

	/* What the format and sshd rely on is still refused. */
	static const char *const bad_keys[] = {
		"ssh-ed25519 AAAA x\ncommand=\"sh\" ssh-ed25519 AAAA y", /* a second line */
		"command=\"sh\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1wJvX5qExo/rZpqB75+B1MDJTGLT6Ob0V3beQSe99b",
		" ssh-ed25519 AAAA", /* not its canonical form */
		"ssh-ed25519 AAAA\x7f",
	};
	for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
		const char *one[] = { bad_keys[i] };
		struct ctm_user_spec bad = u[0];
		bad.keys = one;
		bad.key_count = 1;
		struct ctm_snapshot_spec bs = spec;
		bs.generation = 1;
		bs.users = &bad;
		bs.user_count = 1;
		ck_assert_int_eq(ctm_snapshot_build_canonical(&bs, &p1, &k1, err, sizeof err), -1);
		ck_assert_msg(strstr(err, "key 1"), "%s", err);
	}
	static const char *const bad_names[] = { "Alice",  "al:ice", "",
						 "al ice", "-x",     "a23456789012345678901234567890123" };
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
		struct ctm_user_spec bad = u[0];
		bad.name = bad_names[i];
		struct ctm_snapshot_spec bs = spec;
		bs.generation = 1;
		bs.users = &bad;
		bs.user_count = 1;
		ck_assert_int_eq(ctm_snapshot_build_canonical(&bs, &p1, &k1, err, sizeof err), -1);
		ck_assert_msg(strstr(err, "user 0"), "%s: %s", bad_names[i], err);
	}
	/* Duplicates and uids outside the range, as in the full build. */
	struct ctm_user_spec two[2] = { u[0], u[0] };
	two[1].uid = 70100;
	struct ctm_snapshot_spec ds = spec;
	ds.generation = 1;
	ds.users = two;
	ds.user_count = 2;
	ck_assert_int_eq(ctm_snapshot_build_canonical(&ds, &p1, &k1, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "appears twice"), "%s", err);
	two[1].name = "other";
	two[1].uid = u[0].uid;
	ck_assert_int_eq(ctm_snapshot_build_canonical(&ds, &p1, &k1, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "both have uid"), "%s", err);
	two[1].uid = 5;
	ck_assert_int_eq(ctm_snapshot_build_canonical(&ds, &p1, &k1, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "outside the configured range"), "%s", err);
}
END_TEST

/* One Check case per module, so a failure names the module. */
static TCase *module(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);
	suite_add_tcase(s, tc);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("helperd_parts");
	TCase *tc = module(s, "config");
	tcase_add_test(tc, config_defaults_and_settings);
	tcase_add_test(tc, config_errors_name_line_and_problem);
	tcase_add_test(tc, config_file_missing);
	tcase_add_test(tc, sizes);
	tcase_add_test(module(s, "id_ranges"), id_ranges);
	tc = module(s, "account");
	tcase_add_test(tc, account_mapping);
	tcase_add_test(tc, account_strings);
	tcase_add_test(module(s, "allocate"), allocation);
	tcase_add_test(module(s, "audit"), audit_log);
	tcase_add_test(module(s, "sessions"), session_table);
	tc = module(s, "json_list");
	tcase_add_test(tc, json_list_chunks);
	tcase_add_test(tc, json_list_edges);
	tcase_add_test(module(s, "incus_http"), http_transport);
	tcase_add_test(module(s, "incus_events"), events_stream);
	tc = module(s, "registry");
	tcase_add_test(tc, registry_from_a_streamed_list);
	tcase_add_test(tc, registry_keeps_an_unreachable_members_users);
	tcase_add_loop_test(module(s, "incus_client"), backend_differences, 0, 2);
	tcase_add_test(module(s, "snapshot_writer"), snapshot_build_canonical);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
