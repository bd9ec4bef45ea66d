/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's parts that need neither root nor helperd: the argument parser
 * (cli/args.c), the output writer (cli/output.c) and the atomic file writer
 * (cli/outfile.c).  Every command on a real helperd is tests/cli/. */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../cli/args.h"
#include "../../cli/cli.h"
#include "../../cli/outfile.h"
#include "../../cli/output.h"
#include "harness.h"

/* ---- what the CLI says on stderr ---- */

static int saved_stderr = -1;
static FILE *captured;

static void capture(void)
{
	fflush(stderr);
	captured = tmpfile();
	ck_assert_ptr_nonnull(captured);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fileno(captured), STDERR_FILENO);
}

/* What was written to stderr since capture(), without the final newline. */
static const char *said(void)
{
	static char buf[2048];
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(captured);
	size_t n = fread(buf, 1, sizeof buf - 1, captured);
	fclose(captured);
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return buf;
}

/* ---- args ---- */

enum { O_FORCE = 1, O_MEMORY, O_KEY };
static const struct opt opts[] = {
	{ "force", 'f', false, O_FORCE },
	{ "memory", 0, true, O_MEMORY },
	{ "ssh-key", 'k', true, O_KEY },
	{ NULL, 0, false, 0 },
};

static int parse(struct args *a, struct cli *c, bool *help, const char *const *words, int n)
{
	static char *argv[ARGS_MAX + 8];
	for (int i = 0; i < n; i++)
		argv[i] = (char *)words[i];
	bool version = false;
	memset(c, 0, sizeof *c);
	*help = false;
	return args_parse(n, argv, opts, "resize", a, c, help, &version);
}

START_TEST(options_in_every_form)
{
	struct args a;
	struct cli c;
	bool help;
	const char *w[] = { "--json", "alice", "--memory", "512MB", "--memory=1GB", "-fk", "id.pub",
			    "-v",     "--",    "--force",  "-" };
	ck_assert_int_eq(parse(&a, &c, &help, w, 11), CLI_OK);
	ck_assert(c.json && c.verbose && !help);
	ck_assert_int_eq(a.npos, 3);
	ck_assert_str_eq(a.pos[0], "alice");
	ck_assert_str_eq(a.pos[1], "--force"); /* after "--": a word */
	ck_assert_str_eq(a.pos[2], "-");
	ck_assert_str_eq(args_last(&a, O_MEMORY), "1GB"); /* the last one given */
	ck_assert(args_has(&a, O_FORCE));
	ck_assert_str_eq(args_last(&a, O_KEY), "id.pub"); /* a cluster's last flag takes the next word */
	ck_assert_ptr_null(args_last(&a, 99));
	const char *w2[] = { "-kid.pub", "-h" };
	ck_assert_int_eq(parse(&a, &c, &help, w2, 2), CLI_OK);
	ck_assert_str_eq(args_last(&a, O_KEY), "id.pub");
	ck_assert(help);
}
END_TEST

START_TEST(usage_errors_name_the_problem)
{
	struct args a;
	struct cli c;
	bool help;
	static const struct {
		const char *words[2];
		int n;
		const char *message;
	} bad[] = {
		{ { "--frobnicate" },
		  1,
		  "containarium: unknown option --frobnicate for this command; see "
		  "containarium resize --help" },
		{ { "-x" }, 1, "containarium: unknown option -x for this command; see containarium resize --help" },
		{ { "--memory" }, 1, "containarium: --memory needs a value; see containarium resize --help" },
		{ { "-k" }, 1, "containarium: -k needs a value; see containarium resize --help" },
		{ { "--force=yes" }, 1, "containarium: --force takes no value; see containarium resize --help" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		capture();
		int rc = parse(&a, &c, &help, bad[i].words, bad[i].n);
		const char *msg = said();
		ck_assert_int_eq(rc, CLI_USAGE);
		ck_assert_str_eq(msg, bad[i].message);
	}
	const char *many[ARGS_MAX + 1];
	for (int i = 0; i <= ARGS_MAX; i++)
		many[i] = "word";
	capture();
	ck_assert_int_eq(parse(&a, &c, &help, many, ARGS_MAX + 1), CLI_USAGE);
	ck_assert_str_eq(said(), "containarium: too many arguments (at most 64); see containarium resize --help");
}
END_TEST

START_TEST(positional_counts)
{
	struct args a;
	struct cli c;
	bool help;
	const char *none[] = { "--force" }, *two[] = { "alice", "bob" };
	ck_assert_int_eq(parse(&a, &c, &help, none, 1), CLI_OK);
	capture();
	ck_assert_int_eq(args_positional(&a, 1, 1, "resize", "USER [--memory SIZE]"), CLI_USAGE);
	ck_assert_str_eq(said(), "containarium: resize: missing arguments; usage: containarium resize USER "
				 "[--memory SIZE]");
	ck_assert_int_eq(parse(&a, &c, &help, two, 2), CLI_OK);
	capture();
	ck_assert_int_eq(args_positional(&a, 1, 1, "resize", "USER"), CLI_USAGE);
	ck_assert_str_eq(said(), "containarium: resize: unexpected argument \"bob\"; usage: containarium resize USER");
	ck_assert_int_eq(args_positional(&a, 1, 2, "resize", "USER"), CLI_OK);
}
END_TEST

START_TEST(values)
{
	static const char *const sizes_ok[] = { "512MB", "1GB", "1G", "1073741824", "2GiB", "64MiB", "1T" };
	for (size_t i = 0; i < sizeof sizes_ok / sizeof sizes_ok[0]; i++)
		ck_assert_msg(check_size("--memory", sizes_ok[i], 64ULL << 20, "512MB") == CLI_OK, "%s", sizes_ok[i]);
	static const char *const sizes_bad[] = { "", "MB", "12XB", "1.5GB", "-1GB", "0", "1 GB", "99999999999999999" };
	for (size_t i = 0; i < sizeof sizes_bad / sizeof sizes_bad[0]; i++) {
		capture();
		int rc = check_size("--memory", sizes_bad[i], 64ULL << 20, "512MB");
		const char *msg = said();
		ck_assert_msg(rc == CLI_USAGE && strstr(msg, "is not a size: write a whole number and a unit, such "
							     "as 512MB"),
			      "%s: %s", sizes_bad[i], msg);
	}
	capture();
	ck_assert_int_eq(check_size("--memory", "1MB", 64ULL << 20, "512MB"), CLI_USAGE);
	ck_assert_str_eq(said(), "containarium: --memory 1MB is too small: give at least 64MiB");

	ck_assert_int_eq(check_cpu("--cpu", "1"), CLI_OK);
	ck_assert_int_eq(check_cpu("--cpu", "1024"), CLI_OK);
	static const char *const cpus_bad[] = { "0", "1025", "2x", "", " 2", "-1" };
	for (size_t i = 0; i < sizeof cpus_bad / sizeof cpus_bad[0]; i++) {
		capture();
		ck_assert_int_eq(check_cpu("--cpu", cpus_bad[i]), CLI_USAGE);
		ck_assert_ptr_nonnull(strstr(said(), "must be a whole number of CPUs from 1 to 1024"));
	}
	ck_assert_int_eq(check_host("--jump-ip", "203.0.113.10"), CLI_OK);
	ck_assert_int_eq(check_host("--jump-ip", "2001:db8::1"), CLI_OK);
	ck_assert_int_eq(check_host("--jump-ip", "jump.example.com"), CLI_OK);
	capture();
	ck_assert_int_eq(check_host("--jump-ip", "-oProxyCommand=x"), CLI_USAGE);
	ck_assert_ptr_nonnull(strstr(said(), "is not an IP address or host name"));
	ck_assert_int_eq(check_port("--jump-port", "22"), CLI_OK);
	capture();
	ck_assert_int_eq(check_port("--jump-port", "65536"), CLI_USAGE);
	ck_assert_ptr_nonnull(strstr(said(), "must be a port number from 1 to 65535"));
	ck_assert_int_eq(check_key_path("--key", "~/.ssh/containarium_alice"), CLI_OK);
	capture();
	ck_assert_int_eq(check_key_path("--key", "a key"), CLI_USAGE);
	ck_assert_ptr_nonnull(strstr(said(), "must be a path without spaces or quotes"));
	capture();
	ck_assert_int_eq(check_key_path("--key", "a\nIdentityFile /etc/shadow"), CLI_USAGE);
	ck_assert_str_eq(said(), "containarium: --key must not contain control characters");
	ck_assert_int_eq(check_image("images:debian/12"), CLI_OK);
	capture();
	ck_assert_int_eq(check_image("debian 12"), CLI_USAGE);
	said();
	ck_assert_int_eq(check_member("m2"), CLI_OK);
	capture();
	ck_assert_int_eq(check_member("-m2"), CLI_USAGE);
	said();
	ck_assert_int_eq(check_username("alice"), CLI_OK);
	capture();
	ck_assert_int_eq(check_username("Alice!"), CLI_USAGE);
	ck_assert_str_ne(said(), "");
}
END_TEST

/* ---- output ---- */

START_TEST(bytes_in_one_unit_style)
{
	char buf[32];
	static const struct {
		unsigned long long b;
		const char *s;
	} cases[] = { { 0, "0 B" },
		      { 1023, "1023 B" },
		      { 1024, "1.0 KiB" },
		      { 1536, "1.5 KiB" },
		      { 256ULL << 20, "256.0 MiB" },
		      { 3ULL << 30, "3.0 GiB" },
		      { 5ULL << 40, "5.0 TiB" },
		      { 5ULL << 50, "5120.0 TiB" } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		out_bytes(cases[i].b, buf, sizeof buf);
		ck_assert_str_eq(buf, cases[i].s);
	}
}
END_TEST

START_TEST(tables_align_by_screen_columns)
{
	out_init(); /* stdout is not a terminal here: no colour */
	ck_assert(!out_fancy());
	static const char *const head[] = { "NAME", "STATUS", "IP" };
	struct table *t = table_new(3, head);
	static const char *const r1[] = { "alice", "Running", "10.0.3.10" };
	static const char *const r2[] = { "zoë", "Stopped", "" };
	table_add(t, r1);
	table_add(t, r2);
	for (int i = 0; i < 40; i++) /* past the first allocation */
		table_add(t, r1);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	table_print(t, f);
	fclose(f);
	table_free(t);
	char first3[256];
	const char *third = strchr(strchr(text, '\n') + 1, '\n') + 1;
	snprintf(first3, sizeof first3, "%.*s", (int)(strchr(third, '\n') - text + 1), text);
	/* "zoë" is three columns wide though four bytes. */
	ck_assert_str_eq(first3, "NAME   STATUS   IP\n"
				 "alice  Running  10.0.3.10\n"
				 "zoë    Stopped  \n");
	size_t lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	ck_assert_uint_eq(lines, 43);
	free(text);
}
END_TEST

/* ---- outfile ---- */

static char dir[PATH_MAX];

static void dir_setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/ctm-outfileXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void dir_teardown(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

#define MAGIC "# Written by containarium export"

START_TEST(outfile_new_and_own)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/config", dir);
	const char *v1 = MAGIC "\nHost a\n", *v2 = MAGIC "\nHost b\n";
	ck_assert_int_eq(outfile_write(path, v1, strlen(v1), MAGIC, false), CLI_OK);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_str_eq(slurp(path), v1);
	/* Ours: replaced without --force. */
	ck_assert_int_eq(outfile_write(path, v2, strlen(v2), MAGIC, false), CLI_OK);
	ck_assert_str_eq(slurp(path), v2);
	/* No temporary file left behind. */
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) = 1", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(outfile_refuses_what_is_not_ours)
{
	char path[PATH_MAX + 16], target[PATH_MAX + 16], link[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/config", dir);
	const char *mine = "Host personal\n  User me\n", *v = MAGIC "\nHost a\n";
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_eq(write(fd, mine, strlen(mine)), (ssize_t)strlen(mine));
	close(fd);
	capture();
	ck_assert_int_eq(outfile_write(path, v, strlen(v), MAGIC, false), CLI_CONFLICT);
	ck_assert_ptr_nonnull(strstr(said(), path));
	ck_assert_str_eq(slurp(path), mine); /* untouched */
	ck_assert_int_eq(outfile_write(path, v, strlen(v), MAGIC, true), CLI_OK);
	ck_assert_str_eq(slurp(path), v);

	/* A symbolic link: refused, then with --force replaced, not followed. */
	snprintf(target, sizeof target, "%s/target", dir);
	snprintf(link, sizeof link, "%s/link", dir);
	fd = open(target, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_eq(write(fd, mine, strlen(mine)), (ssize_t)strlen(mine));
	close(fd);
	ck_assert_int_eq(symlink(target, link), 0);
	capture();
	ck_assert_int_eq(outfile_write(link, v, strlen(v), MAGIC, false), CLI_CONFLICT);
	ck_assert_ptr_nonnull(strstr(said(), "is a symbolic link"));
	ck_assert_int_eq(outfile_write(link, v, strlen(v), MAGIC, true), CLI_OK);
	struct stat st;
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_str_eq(slurp(target), mine);

	/* A directory. */
	capture();
	ck_assert_int_eq(outfile_write(dir, v, strlen(v), MAGIC, true), CLI_FAILED);
	ck_assert_ptr_nonnull(strstr(said(), "is a directory; give a file name for --output"));
	/* A directory that does not exist: a failure that names the path. */
	char missing[PATH_MAX + 32];
	snprintf(missing, sizeof missing, "%s/nope/config", dir);
	capture();
	ck_assert_int_ne(outfile_write(missing, v, strlen(v), MAGIC, false), CLI_OK);
	ck_assert_ptr_nonnull(strstr(said(), "nope"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli_parts");
	TCase *tc = tcase_create("args");
	tcase_add_test(tc, options_in_every_form);
	tcase_add_test(tc, usage_errors_name_the_problem);
	tcase_add_test(tc, positional_counts);
	tcase_add_test(tc, values);
	suite_add_tcase(s, tc);
	tc = tcase_create("output");
	tcase_add_test(tc, bytes_in_one_unit_style);
	tcase_add_test(tc, tables_align_by_screen_columns);
	suite_add_tcase(s, tc);
	tc = tcase_create("outfile");
	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, outfile_new_and_own);
	tcase_add_test(tc, outfile_refuses_what_is_not_ours);
	suite_add_tcase(s, tc);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
