/* SPDX-License-Identifier: Apache-2.0 */
/* Drives one PAM transaction with libpamtest (under pam_wrapper), for the
 * shell tests in this directory:
 *
 *   pamtest_driver SERVICE USER [ITEM=VALUE...] OP=EXPECTED...
 *
 * ITEM: rhost or tty (set with pam_set_item before the operations).
 * OP: account, open or close; EXPECTED: a PAM code name such as
 * PAM_SUCCESS.  The operations run in order in one handle (so session data
 * carries from open to close); libpamtest stops at the first one whose code
 * differs from EXPECTED.
 *
 * Output, one line each: every conversation message as it arrives
 * ("error: TEXT", "info: TEXT"), then "OP: CODE" for every operation that
 * ran, then "elapsed_ms: N" for the whole transaction and "pid: N" (the
 * pid the module reports to helperd).  Exit 0 when every
 * operation returned what was expected, 1 when one did not, 2 on misuse. */
#include <libpamtest.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_OPS 8

static const struct {
	const char *name;
	int code;
} codes[] = {
	{ "PAM_SUCCESS", PAM_SUCCESS },
	{ "PAM_IGNORE", PAM_IGNORE },
	{ "PAM_PERM_DENIED", PAM_PERM_DENIED },
	{ "PAM_SESSION_ERR", PAM_SESSION_ERR },
	{ "PAM_SYSTEM_ERR", PAM_SYSTEM_ERR },
	{ "PAM_SERVICE_ERR", PAM_SERVICE_ERR },
	{ "PAM_USER_UNKNOWN", PAM_USER_UNKNOWN },
	{ "PAM_AUTH_ERR", PAM_AUTH_ERR },
	{ "PAM_BUF_ERR", PAM_BUF_ERR },
	{ "PAM_CONV_ERR", PAM_CONV_ERR },
	{ "PAM_ABORT", PAM_ABORT },
	{ "PAM_SYMBOL_ERR", PAM_SYMBOL_ERR },
	{ "PAM_ACCT_EXPIRED", PAM_ACCT_EXPIRED },
};

static const struct {
	const char *name;
	enum pamtest_ops op;
} ops[] = {
	{ "account", PAMTEST_ACCOUNT },
	{ "open", PAMTEST_OPEN_SESSION },
	{ "close", PAMTEST_CLOSE_SESSION },
};

static const char *code_name(int code)
{
	static char other[32];
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i].code == code)
			return codes[i].name;
	snprintf(other, sizeof other, "PAM code %d", code);
	return other;
}

static int code_of(const char *name)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (strcmp(codes[i].name, name) == 0)
			return codes[i].code;
	return -1;
}

/* Prints what the module says; the module never prompts, so a prompt is an
 * error.  The responses array belongs to libpam afterwards. */
static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)data;
	struct pam_response *r = calloc((size_t)n, sizeof *r);
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_ERROR_MSG: printf("error: %s\n", msg[i]->msg); break;
		case PAM_TEXT_INFO: printf("info: %s\n", msg[i]->msg); break;
		default:
			printf("prompt (unexpected): %s\n", msg[i]->msg);
			free(r);
			return PAM_CONV_ERR;
		}
	}
	fflush(stdout);
	*resp = r;
	return PAM_SUCCESS;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s SERVICE USER [rhost=H] [tty=T] OP=EXPECTED...\n", argv[0]);
		return 2;
	}
	struct pam_testcase cases[MAX_OPS];
	const char *names[MAX_OPS];
	const char *rhost = NULL, *tty = NULL;
	size_t n = 0;
	for (int i = 3; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq) {
			fprintf(stderr, "%s: %s: expected OP=EXPECTED\n", argv[0], argv[i]);
			return 2;
		}
		*eq = '\0';
		if (strcmp(argv[i], "rhost") == 0) {
			rhost = eq + 1;
			continue;
		}
		if (strcmp(argv[i], "tty") == 0) {
			tty = eq + 1;
			continue;
		}
		size_t k = 0;
		while (k < sizeof ops / sizeof ops[0] && strcmp(ops[k].name, argv[i]) != 0)
			k++;
		int want = code_of(eq + 1);
		if (k == sizeof ops / sizeof ops[0] || want < 0 || n == MAX_OPS) {
			fprintf(stderr, "%s: bad operation %s=%s\n", argv[0], argv[i], eq + 1);
			return 2;
		}
		names[n] = ops[k].name;
		cases[n++] = (struct pam_testcase)pam_test(ops[k].op, want);
	}

	/* Items must be set before the operations: start the handle ourselves
	 * and give it to libpamtest, which ends it. */
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *ph = NULL;
	if (pam_start(argv[1], argv[2], &pc, &ph) != PAM_SUCCESS) {
		fprintf(stderr, "%s: pam_start failed\n", argv[0]);
		return 2;
	}
	if ((rhost && pam_set_item(ph, PAM_RHOST, rhost) != PAM_SUCCESS) ||
	    (tty && pam_set_item(ph, PAM_TTY, tty) != PAM_SUCCESS)) {
		fprintf(stderr, "%s: pam_set_item failed\n", argv[0]);
		pam_end(ph, PAM_SYSTEM_ERR);
		return 2;
	}
	long t0 = now_ms();
	enum pamtest_err err = _pamtest_conv(argv[1], argv[2], conv, NULL, cases, n, ph);
	long elapsed = now_ms() - t0;

	const struct pam_testcase *bad = err == PAMTEST_ERR_CASE ? _pamtest_failed_case(cases, n) : NULL;
	size_t ran = bad ? (size_t)(bad - cases) + 1 : n;
	for (size_t i = 0; i < ran; i++)
		printf("%s: %s\n", names[i], code_name(cases[i].op_rv));
	printf("elapsed_ms: %ld\npid: %ld\n", elapsed, (long)getpid());
	if (err != PAMTEST_ERR_OK && err != PAMTEST_ERR_CASE)
		fprintf(stderr, "%s: %s\n", argv[0], pamtest_strerror(err));
	return err == PAMTEST_ERR_OK ? 0 : 1;
}
