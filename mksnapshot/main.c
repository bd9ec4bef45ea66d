/* SPDX-License-Identifier: Apache-2.0 */
/* containarium-mksnapshot: build, verify or dump the registry snapshots.
 *
 * helperd publishes snapshots itself; this command is for tests, benchmarks
 * and operators (rebuild from a JSON export, check a file, see what the host
 * modules see).  Input and --dump output share one JSON shape, documented in
 * containarium-mksnapshot(8). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot_format.h"
#include "snapshot_reader.h"
#include "snapshot_json.h"
#include "snapshot_writer.h"
#include "version.h"

static const char *prog = "containarium-mksnapshot";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [OPTIONS] [INPUT.json|-]   build both snapshots from JSON\n"
		"       %s --verify [OPTIONS]          check both snapshots completely\n"
		"       %s --dump [OPTIONS]            print both snapshots as JSON\n"
		"options:\n"
		"  --passwd-db PATH   passwd snapshot (default %s)\n"
		"  --keys-db PATH     keys snapshot (default %s)\n"
		"  --keys-group GROUP group that may read keys.db (the AuthorizedKeysCommandUser's)\n"
		"  --help             this text\n"
		"  --version          the version\n",
		prog, prog, prog, CTM_DEFAULT_PASSWD_DB, CTM_DEFAULT_KEYS_DB);
}

/* The whole input (a file or stdin) in memory; NULL with a message on error. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (!f) {
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, path, strerror(errno));
		return NULL;
	}
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		char *bigger = cap < (1u << 30) ? realloc(buf, cap * 2) : NULL;
		if (!bigger) {
			free(buf);
			buf = NULL;
			fprintf(stderr, "%s: %s is too large\n", prog, path);
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	if (buf && ferror(f)) {
		fprintf(stderr, "%s: cannot read %s: %s\n", prog, path, strerror(errno));
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

static int build(const char *input, const char *pw_path, const char *keys_path, gid_t keys_gid)
{
	size_t len;
	char *text = slurp(input, &len), err[1024];
	if (!text)
		return 1;
	struct snapshot_json sj;
	int ret = 1;
	if (snapshot_json_parse(text, len, &sj, err, sizeof err)) {
		fprintf(stderr, "%s: %s: %s; nothing was changed\n", prog, input, err);
	} else {
		if (ctm_snapshot_publish(&sj.spec, pw_path, keys_path, keys_gid, err, sizeof err))
			fprintf(stderr, "%s: %s; nothing was changed\n", prog, err);
		else
			ret = 0;
		snapshot_json_free(&sj);
	}
	free(text);
	return ret;
}

static int open_both(const char *pw_path, const char *keys_path, struct ctm_db *pw, struct ctm_db *kd)
{
	int r = ctm_db_open(pw, pw_path, CTM_DB_PASSWD);
	if (r != CTM_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, pw_path, ctm_status_str(r));
		return -1;
	}
	r = ctm_db_open(kd, keys_path, CTM_DB_KEYS);
	if (r != CTM_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, keys_path, ctm_status_str(r));
		ctm_db_close(pw);
		return -1;
	}
	return 0;
}

static int verify(const char *pw_path, const char *keys_path)
{
	struct ctm_db pw, kd;
	if (open_both(pw_path, keys_path, &pw, &kd))
		return 1;
	int ret = 0;
	if (ctm_db_verify(&pw) != CTM_OK) {
		fprintf(stderr, "%s: %s: fails the full check (checksum or index)\n", prog, pw_path);
		ret = 1;
	}
	if (ctm_db_verify(&kd) != CTM_OK) {
		fprintf(stderr, "%s: %s: fails the full check (checksum or index)\n", prog, keys_path);
		ret = 1;
	}
	if (!ret && (pw.generation != kd.generation || pw.count != kd.count)) {
		fprintf(stderr,
			"%s: %s is generation %llu with %u users but %s is generation %llu with "
			"%u users: they were not published together\n",
			prog, pw_path, (unsigned long long)pw.generation, pw.count, keys_path,
			(unsigned long long)kd.generation, kd.count);
		ret = 1;
	}
	if (!ret)
		printf("ok: generation %llu, %u users\n", (unsigned long long)pw.generation, pw.count);
	ctm_db_close(&pw);
	ctm_db_close(&kd);
	return ret;
}

static int dump(const char *pw_path, const char *keys_path)
{
	struct ctm_db pw, kd;
	if (open_both(pw_path, keys_path, &pw, &kd))
		return 1;
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	json_object_object_add(root, "generation", json_object_new_int64((int64_t)pw.generation));
	json_object_object_add(root, "group", json_object_new_string(pw.group_name));
	json_object_object_add(root, "gid", json_object_new_int64(pw.gid));
	json_object_object_add(root, "uid_min", json_object_new_int64(pw.uid_min));
	json_object_object_add(root, "uid_max", json_object_new_int64(pw.uid_max));
	json_object_object_add(root, "users", arr);
	int ret = 0;
	for (uint32_t i = 0; i < pw.count; i++) {
		struct ctm_user u;
		struct ctm_keys k;
		if (ctm_passwd_at(&pw, i, &u) != CTM_OK || ctm_keys_by_name(&kd, u.name, &k) != CTM_OK) {
			fprintf(stderr, "%s: entry %u is corrupt or missing from %s\n", prog, i, keys_path);
			ret = 1;
			break;
		}
		json_object *o = json_object_new_object(), *ka = json_object_new_array();
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, k.ipv4, ip, sizeof ip);
		json_object_object_add(o, "name", json_object_new_string(u.name));
		json_object_object_add(o, "uid", json_object_new_int64(u.uid));
		json_object_object_add(o, "gecos", json_object_new_string(u.gecos));
		json_object_object_add(o, "home", json_object_new_string(u.home));
		json_object_object_add(o, "shell", json_object_new_string(u.shell));
		json_object_object_add(o, "state", json_object_new_string(snapshot_json_state_name(u.state)));
		json_object_object_add(o, "ipv4", json_object_new_string(ip));
		for (const char *key = ctm_keys_next(&k, NULL); key; key = ctm_keys_next(&k, key))
			json_object_array_add(ka, json_object_new_string(key));
		json_object_object_add(o, "keys", ka);
		json_object_array_add(arr, o);
	}
	if (!ret)
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	ctm_db_close(&pw);
	ctm_db_close(&kd);
	return ret;
}

int main(int argc, char **argv)
{
	const char *pw_path = CTM_DEFAULT_PASSWD_DB, *keys_path = CTM_DEFAULT_KEYS_DB;
	gid_t keys_gid = (gid_t)-1;
	enum { BUILD, VERIFY, DUMP } mode = BUILD;
	static const struct option opts[] = {
		{ "passwd-db", required_argument, NULL, 'p' },
		{ "keys-db", required_argument, NULL, 'k' },
		{ "keys-group", required_argument, NULL, 'g' },
		{ "verify", no_argument, NULL, 'V' },
		{ "dump", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pw_path = optarg; break;
		case 'k': keys_path = optarg; break;
		case 'V': mode = VERIFY; break;
		case 'D': mode = DUMP; break;
		case 'h': usage(stdout); return 0;
		case 'v': return ctm_print_version(prog);
		case 'g': {
			char *end;
			errno = 0;
			unsigned long g = strtoul(optarg, &end, 10);
			if (*optarg && !*end && !errno && g < UINT_MAX) {
				keys_gid = (gid_t)g;
				break;
			}
			struct group *gr = getgrnam(optarg);
			if (!gr) {
				fprintf(stderr,
					"%s: --keys-group: no group named \"%s\"; create it or give a "
					"numeric gid\n",
					prog, optarg);
				return 2;
			}
			keys_gid = gr->gr_gid;
			break;
		}
		default: usage(stderr); return 2;
		}
	}
	if (mode != BUILD && optind != argc) {
		fprintf(stderr, "%s: --verify and --dump take no input file\n", prog);
		return 2;
	}
	if (mode == VERIFY)
		return verify(pw_path, keys_path);
	if (mode == DUMP)
		return dump(pw_path, keys_path);
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	return build(optind < argc ? argv[optind] : "-", pw_path, keys_path, keys_gid);
}
