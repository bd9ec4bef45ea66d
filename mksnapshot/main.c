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
#include "snapshot_writer.h"

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
		"  --help             this text\n", prog, prog, prog, CTM_DEFAULT_PASSWD_DB, CTM_DEFAULT_KEYS_DB);
}

static const char *state_name(uint32_t s)
{
	switch (s) {
	case CTM_STATE_ACTIVE: return "active";
	case CTM_STATE_SUSPENDED: return "suspended";
	case CTM_STATE_PROVISIONING: return "provisioning";
	default: return "?";
	}
}

static int state_parse(const char *s, uint32_t *out)
{
	for (uint32_t i = CTM_STATE_MIN; i <= CTM_STATE_MAX; i++)
		if (strcmp(s, state_name(i)) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

/* Read a JSON integer member in [min, max]; absent leaves *out unchanged. */
static int get_uint(json_object *o, const char *key, uint64_t min, uint64_t max, uint64_t *out,
		    const char *where)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		fprintf(stderr, "%s: %s: \"%s\" must be a whole number\n", prog, where, key);
		return -1;
	}
	errno = 0;
	int64_t n = json_object_get_int64(v);
	if (errno || n < 0 || (uint64_t)n < min || (uint64_t)n > max) {
		fprintf(stderr, "%s: %s: \"%s\" must be between %llu and %llu\n", prog, where, key,
			(unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = (uint64_t)n;
	return 0;
}

static int get_str(json_object *o, const char *key, const char **out, const char *where)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		fprintf(stderr, "%s: %s: \"%s\" must be a string\n", prog, where, key);
		return -1;
	}
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v)) {
		fprintf(stderr, "%s: %s: \"%s\" contains a NUL character\n", prog, where, key);
		return -1;
	}
	return 0;
}

static const char *const user_keys[] = { "name", "uid", "gecos", "home", "shell", "state", "ipv4", "keys", NULL };
static const char *const top_keys[] = { "generation", "group", "gid", "uid_min", "uid_max", "users", NULL };

static int only_known(json_object *o, const char *const *known, const char *where)
{
	json_object_object_foreach(o, key, val) {
		(void)val;
		int ok = 0;
		for (const char *const *k = known; *k; k++)
			ok |= strcmp(*k, key) == 0;
		if (!ok) {
			fprintf(stderr, "%s: %s: unknown field \"%s\" (a typo?)\n", prog, where, key);
			return -1;
		}
	}
	return 0;
}

static json_object *read_json(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, path, strerror(errno));
		return NULL;
	}
	json_tokener *tok = json_tokener_new();
	json_object *root = NULL;
	char buf[65536];
	size_t n;
	enum json_tokener_error jerr = json_tokener_continue;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		root = json_tokener_parse_ex(tok, buf, (int)n);
		jerr = json_tokener_get_error(tok);
		if (jerr != json_tokener_continue)
			break;
	}
	if (f != stdin)
		fclose(f);
	if (jerr != json_tokener_success || !root) {
		fprintf(stderr, "%s: %s is not valid JSON: %s (near byte %zu)\n", prog, path,
			jerr == json_tokener_continue ? "unexpected end of input"
						      : json_tokener_error_desc(jerr),
			(size_t)json_tokener_get_parse_end(tok));
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

static int build(const char *input, const char *pw_path, const char *keys_path, gid_t keys_gid)
{
	json_object *root = read_json(input);
	if (!root)
		return 1;
	int ret = 1;
	struct ctm_user_spec *users = NULL;
	const char **keys = NULL;
	struct ctm_snapshot_spec spec = {
		.gid = CTM_DEFAULT_GID, .uid_min = CTM_DEFAULT_UID_MIN, .uid_max = CTM_DEFAULT_UID_MAX,
	};
	uint64_t v;
	json_object *arr;
	if (!json_object_is_type(root, json_type_object)) {
		fprintf(stderr, "%s: %s: the top level must be an object with a \"users\" array\n", prog, input);
		goto out;
	}
	if (only_known(root, top_keys, "top level") || get_str(root, "group", &spec.group_name, "top level"))
		goto out;
	v = 0;
	if (get_uint(root, "generation", 1, INT64_MAX, &v, "top level"))
		goto out;
	spec.generation = v;
	v = spec.gid;
	if (get_uint(root, "gid", 1, UINT32_MAX - 1, &v, "top level"))
		goto out;
	spec.gid = (uint32_t)v;
	v = spec.uid_min;
	if (get_uint(root, "uid_min", 1, UINT32_MAX - 1, &v, "top level"))
		goto out;
	spec.uid_min = (uint32_t)v;
	v = spec.uid_max;
	if (get_uint(root, "uid_max", 1, UINT32_MAX - 1, &v, "top level"))
		goto out;
	spec.uid_max = (uint32_t)v;
	if (!json_object_object_get_ex(root, "users", &arr) || !json_object_is_type(arr, json_type_array)) {
		fprintf(stderr, "%s: %s: \"users\" must be an array of users\n", prog, input);
		goto out;
	}
	size_t n = json_object_array_length(arr), nkeys = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *ka, *u = json_object_array_get_idx(arr, i);
		if (u && json_object_object_get_ex(u, "keys", &ka) && json_object_is_type(ka, json_type_array))
			nkeys += json_object_array_length(ka);
	}
	users = calloc(n ? n : 1, sizeof *users);
	keys = calloc(nkeys ? nkeys : 1, sizeof *keys);
	if (!users || !keys) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	size_t kpos = 0;
	for (size_t i = 0; i < n; i++) {
		char where[64];
		snprintf(where, sizeof where, "user %zu", i);
		json_object *u = json_object_array_get_idx(arr, i), *ka;
		struct ctm_user_spec *us = &users[i];
		const char *state = "active", *ip = NULL;
		if (!json_object_is_type(u, json_type_object)) {
			fprintf(stderr, "%s: %s: must be an object\n", prog, where);
			goto out;
		}
		v = 0;
		if (only_known(u, user_keys, where) || get_str(u, "name", &us->name, where) ||
		    get_uint(u, "uid", 0, UINT32_MAX, &v, where) || get_str(u, "gecos", &us->gecos, where) ||
		    get_str(u, "home", &us->home, where) || get_str(u, "shell", &us->shell, where) ||
		    get_str(u, "state", &state, where) || get_str(u, "ipv4", &ip, where))
			goto out;
		us->uid = (uint32_t)v;
		if (!us->name || !json_object_object_get_ex(u, "uid", NULL)) {
			fprintf(stderr, "%s: %s: \"name\" and \"uid\" are required\n", prog, where);
			goto out;
		}
		if (state_parse(state, &us->state)) {
			fprintf(stderr, "%s: %s (\"%s\"): state \"%s\" is not one of active, suspended, "
				"provisioning\n", prog, where, us->name, state);
			goto out;
		}
		if (ip && inet_pton(AF_INET, ip, us->ipv4) != 1) {
			fprintf(stderr, "%s: %s (\"%s\"): ipv4 \"%s\" is not a dotted IPv4 address\n",
				prog, where, us->name, ip);
			goto out;
		}
		us->keys = keys + kpos;
		if (json_object_object_get_ex(u, "keys", &ka)) {
			if (!json_object_is_type(ka, json_type_array)) {
				fprintf(stderr, "%s: %s (\"%s\"): \"keys\" must be an array of key lines\n",
					prog, where, us->name);
				goto out;
			}
			for (size_t k = 0; k < json_object_array_length(ka); k++) {
				json_object *kv = json_object_array_get_idx(ka, k);
				if (!json_object_is_type(kv, json_type_string) ||
				    strlen(json_object_get_string(kv)) != (size_t)json_object_get_string_len(kv)) {
					fprintf(stderr, "%s: %s (\"%s\"): key %zu must be a string without NUL\n",
						prog, where, us->name, k + 1);
					goto out;
				}
				keys[kpos++] = json_object_get_string(kv);
				us->key_count++;
			}
		}
	}
	spec.users = users;
	spec.user_count = n;
	char err[1024];
	if (ctm_snapshot_publish(&spec, pw_path, keys_path, keys_gid, err, sizeof err)) {
		fprintf(stderr, "%s: %s; nothing was changed\n", prog, err);
		goto out;
	}
	ret = 0;
out:
	free(users);
	free(keys);
	json_object_put(root);
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
		fprintf(stderr, "%s: %s is generation %llu with %u users but %s is generation %llu with "
			"%u users: they were not published together\n", prog, pw_path,
			(unsigned long long)pw.generation, pw.count, keys_path,
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
		json_object_object_add(o, "state", json_object_new_string(state_name(u.state)));
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
				fprintf(stderr, "%s: --keys-group: no group named \"%s\"; create it or give a "
					"numeric gid\n", prog, optarg);
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
