/* SPDX-License-Identifier: Apache-2.0 */
#include "keyfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "output.h"
#include "snapshot_format.h"
#include "sshkey.h"

/* Much more than any sane key file; a bigger one is the wrong file. */
#define MAX_KEYFILE_BYTES (1u << 20)

static int add_key(struct key_list *l, const char *canon)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->keys[i], canon) == 0)
			return 0;
	if (l->count == CTM_KEYS_PER_USER_MAX) {
		out_error("more than %d keys given; that is the most a user may have", CTM_KEYS_PER_USER_MAX);
		return -1;
	}
	char **k = realloc(l->keys, (l->count + 1) * sizeof *k);
	if (!k || !(k[l->count] = strdup(canon))) {
		if (k)
			l->keys = k;
		out_error("out of memory");
		return -1;
	}
	l->keys = k;
	l->count++;
	return 0;
}

/* The whole file, NUL-terminated (a NUL inside is caught by the key parser). */
static char *slurp(FILE *f, const char *name, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > MAX_KEYFILE_BYTES) {
			out_error("%s is larger than %u bytes: that is not a public key file", name, MAX_KEYFILE_BYTES);
			free(buf);
			return NULL;
		}
		if (got == 0) {
			if (ferror(f)) {
				out_error("cannot read %s: %s", name, strerror(errno));
				free(buf);
				return NULL;
			}
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		if (n == cap) {
			char *b = realloc(buf, 2 * cap + 1);
			if (!b)
				free(buf);
			buf = b;
			cap *= 2;
		}
	}
	out_error("out of memory reading %s", name);
	return NULL;
}

int keyfile_read(const char *path, struct key_list *list)
{
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			out_error("--ssh-key %s: no such file; give the path of the user's public key (.pub)", path);
		else
			out_error("--ssh-key %s: cannot open it: %s", path, strerror(errno));
		return CLI_USAGE;
	}
	struct stat st;
	if (f != stdin && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		out_error("--ssh-key %s is a directory; give the public key file inside it (such as id_ed25519.pub)",
			  path);
		fclose(f);
		return CLI_USAGE;
	}
	size_t len = 0;
	char *text = slurp(f, name, &len);
	if (f != stdin)
		fclose(f);
	if (!text)
		return CLI_USAGE;
	int found = 0, lineno = 0, rc = CLI_OK;
	for (char *p = text; p < text + len && rc == CLI_OK;) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		lineno++;
		if (n && p[n - 1] == '\r')
			n--; /* a file saved on Windows */
		size_t skip = strspn(p, " \t");
		if (skip < n && p[skip] != '#') {
			struct ctm_sshkey k;
			char msg[512], canon[CTM_KEY_LINE_MAX + 1];
			if (ctm_sshkey_parse(p, n, &k, msg, sizeof msg) != CTM_KEY_OK) {
				out_error("%s, line %d: %s", name, lineno, msg);
				rc = CLI_USAGE;
			} else if (ctm_sshkey_format(&k, canon, sizeof canon) >= sizeof canon || add_key(list, canon)) {
				rc = CLI_USAGE;
			} else {
				found++;
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	free(text);
	if (rc == CLI_OK && !found) {
		out_error("%s holds no public key (only blank lines or comments); give the user's .pub file", name);
		rc = CLI_USAGE;
	}
	return rc;
}

int keyfile_read_options(const struct args *a, int opt_id, const char *missing_msg, struct key_list *list)
{
	int stdin_uses = 0, rc = CLI_OK;
	for (int i = 0; i < a->nopts; i++)
		stdin_uses += a->opts[i].id == opt_id && strcmp(a->opts[i].value, "-") == 0;
	if (stdin_uses > 1) {
		out_error("--ssh-key - (standard input) is given twice; give it once");
		return CLI_USAGE;
	}
	for (int i = 0; i < a->nopts && rc == CLI_OK; i++)
		if (a->opts[i].id == opt_id)
			rc = keyfile_read(a->opts[i].value, list);
	if (rc == CLI_OK && list->count == 0) {
		out_error("%s", missing_msg);
		rc = CLI_USAGE;
	}
	if (rc)
		key_list_free(list);
	return rc;
}

void key_list_free(struct key_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->keys[i]);
	free(l->keys);
	l->keys = NULL;
	l->count = 0;
}
