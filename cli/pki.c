/* SPDX-License-Identifier: Apache-2.0 */
#include "pki.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cli.h"

#define INDEX_FORMAT "containarium-pki 1"
#define MAX_FILE_BYTES (4u << 20)
/* notBefore a little in the past: a client or server whose clock is a few
 * minutes behind still accepts a certificate made just now. */
#define BACKDATE_SECONDS 300

__attribute__((format(printf, 4, 5))) static int fail(struct pki_error *e, int rc, const char *code, const char *fmt,
						      ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	e->code = code;
	return rc;
}

/* OpenSSL's reason for the last failure, for a message. */
static const char *ssl_reason(void)
{
	static char buf[256];
	unsigned long err = ERR_get_error();
	ERR_clear_error();
	if (!err)
		return "no reason given";
	ERR_error_string_n(err, buf, sizeof buf);
	return buf;
}

/* ---- input ------------------------------------------------------------- */

int pki_check_name(const char *name, char *msg, size_t msglen)
{
	size_t n = strlen(name);
	if (n == 0 || n > PKI_NAME_MAX || !isalnum((unsigned char)name[0]) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") != n) {
		snprintf(msg, msglen,
			 "\"%.70s\" is not a name for a client certificate: use 1 to %d letters, digits, "
			 "'.', '_', '@' or '-', starting with a letter or digit (ops-alice, alice@example.com)",
			 name, PKI_NAME_MAX);
		return -1;
	}
	return 0;
}

int pki_check_ip(const char *ip, char *msg, size_t msglen)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1)
		return 0;
	snprintf(msg, msglen,
		 "--server-ip \"%.60s\" is not an IPv4 or IPv6 address; give the address clients "
		 "connect to (--server-ip 203.0.113.10), and host names with --dns",
		 ip);
	return -1;
}

int pki_check_dns(const char *name, char *msg, size_t msglen)
{
	size_t n = strlen(name);
	int ok = n > 0 && n <= 253 && name[n - 1] != '.';
	for (const char *label = name; ok && *label;) {
		size_t len = strcspn(label, ".");
		ok = len >= 1 && len <= 63 && label[0] != '-' && label[len - 1] != '-';
		for (size_t i = 0; ok && i < len; i++)
			ok = isalnum((unsigned char)label[i]) || label[i] == '-';
		label += len + (label[len] == '.');
	}
	if (ok) {
		unsigned char buf[16];
		ok = inet_pton(AF_INET, name, buf) != 1; /* an address belongs in --server-ip */
	}
	if (!ok) {
		snprintf(msg, msglen,
			 "--dns \"%.60s\" is not a DNS name (labels of letters, digits and '-', "
			 "such as --dns jump.example.com); give addresses with --server-ip",
			 name);
		return -1;
	}
	return 0;
}

int pki_check_listen(const char *listen, char *msg, size_t msglen)
{
	char host[64];
	const char *port;
	unsigned char buf[16];
	int ok = 0;
	if (listen[0] == '[') {
		const char *close_br = strchr(listen, ']');
		if (close_br && close_br[1] == ':' && (size_t)(close_br - listen - 1) < sizeof host) {
			snprintf(host, sizeof host, "%.*s", (int)(close_br - listen - 1), listen + 1);
			port = close_br + 2;
			ok = inet_pton(AF_INET6, host, buf) == 1;
		}
	} else {
		const char *colon = strchr(listen, ':');
		if (colon && strrchr(listen, ':') == colon && (size_t)(colon - listen) < sizeof host) {
			snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
			port = colon + 1;
			ok = inet_pton(AF_INET, host, buf) == 1;
		}
	}
	if (ok) {
		char *end;
		errno = 0;
		long n = strtol(port, &end, 10);
		ok = isdigit((unsigned char)*port) && !*end && !errno && n >= 1 && n <= 65535;
	}
	if (!ok) {
		snprintf(msg, msglen,
			 "--https-listen \"%.60s\" is not ADDRESS:PORT with a numeric address, as "
			 "helperd's https_listen takes it (0.0.0.0:8443, 127.0.0.1:8443, [::]:8443)",
			 listen);
		return -1;
	}
	return 0;
}

int pki_check_days(const char *flag, const char *value, int *days, char *msg, size_t msglen)
{
	char *end;
	errno = 0;
	long n = strtol(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || *end || errno || n < 1 || n > PKI_MAX_DAYS) {
		snprintf(msg, msglen, "%s \"%.30s\" must be a whole number of days from 1 to %d", flag, value,
			 PKI_MAX_DAYS);
		return -1;
	}
	*days = (int)n;
	return 0;
}

/* ---- times ------------------------------------------------------------- */

void pki_time_str(time_t t, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

time_t pki_time_parse(const char *s)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	if (!end || *end)
		return 0;
	return timegm(&tm);
}

static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* ---- files ------------------------------------------------------------- */

const char *pki_path(const struct pki *p, const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", p->dir, rel);
	return buf;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Replace DIR/rel with data, mode `mode`, atomically (common/atomic_file.h). */
static int write_file(struct pki *p, const char *rel, const void *data, size_t len, mode_t mode, struct pki_error *e)
{
	char path[PKI_PATH_MAX + 64], why[PKI_PATH_MAX + 256];
	pki_path(p, rel, path, sizeof path);
	if (ctm_write_file_atomic(path, data, len, mode, (gid_t)-1, why, sizeof why) != 0)
		return fail(e, errno == EACCES || errno == EPERM ? CLI_DENIED : CLI_FAILED, "write_failed", "%s", why);
	return CLI_OK;
}

/* DIR/rel into a NUL-terminated buffer (malloc'd): 0, -1 with errno
 * (ENOENT when it does not exist, EFBIG when too big). */
static int read_file(const struct pki *p, const char *rel, char **out, size_t *outlen)
{
	char path[PKI_PATH_MAX + 64];
	pki_path(p, rel, path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0)
		return -1;
	int bad = fstat(fd, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : st.st_size > MAX_FILE_BYTES ? EFBIG : 0;
	if (bad) {
		close(fd);
		errno = bad;
		return -1;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	int err = errno;
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		free(buf);
		errno = buf ? (err ? err : EIO) : ENOMEM;
		return -1;
	}
	buf[got] = '\0';
	*out = buf;
	if (outlen)
		*outlen = got;
	return 0;
}

static bool exists(const struct pki *p, const char *rel)
{
	char path[PKI_PATH_MAX + 64];
	struct stat st;
	return lstat(pki_path(p, rel, path, sizeof path), &st) == 0;
}

/* mkdir -p: missing parents 0755, the last one `mode`. */
static int make_dirs(const char *dir, mode_t mode)
{
	char buf[PKI_PATH_MAX];
	snprintf(buf, sizeof buf, "%s", dir);
	size_t n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0'; /* "certs/" is certs, made with mode */
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A directory of ours: a directory (not a link), owned by us or root, not
 * writable by group or others. */
static int check_dir(const char *dir, struct pki_error *e)
{
	struct stat st;
	if (lstat(dir, &st) != 0)
		return fail(e, errno == EACCES ? CLI_DENIED : CLI_FAILED, "bad_directory", "cannot use %s: %s", dir,
			    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(e, CLI_FAILED, "bad_directory", "%s is not a directory; give a directory with --output-dir",
			    dir);
	if (st.st_mode & 022)
		return fail(e, CLI_FAILED, "bad_directory",
			    "%s can be written by group or others, who could replace "
			    "the CA there: chmod go-w %s (or give another --output-dir)",
			    dir, dir);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return fail(e, CLI_FAILED, "bad_directory",
			    "%s belongs to uid %u, neither root nor you: use a "
			    "directory of your own",
			    dir, (unsigned)st.st_uid);
	return CLI_OK;
}

/* ---- the index ---------------------------------------------------------- */

json_object *pki_entries(const struct pki *p)
{
	json_object *a = NULL;
	json_object_object_get_ex(p->index, "certificates", &a);
	return a;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;
	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

const char *pki_setting(const struct pki *p, const char *key)
{
	return str_of(p->index, key);
}

void pki_set_setting(struct pki *p, const char *key, const char *value)
{
	json_object_object_add(p->index, key, json_object_new_string(value));
}

long long pki_crl_number(const struct pki *p)
{
	json_object *v;
	if (json_object_object_get_ex(p->index, "crl_number", &v) && json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return 0;
}

static json_object *new_index(void)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_string(INDEX_FORMAT));
	json_object_object_add(o, "crl_number", json_object_new_int64(0));
	json_object_object_add(o, "certificates", json_object_new_array());
	return o;
}

/* Every entry has the members the rest relies on, with the right types. */
static int index_valid(json_object *o, char *why, size_t whylen)
{
	json_object *v, *certs;
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(why, whylen, "not a JSON object");
		return 0;
	}
	const char *format = str_of(o, "format");
	if (!format || strcmp(format, INDEX_FORMAT) != 0) {
		snprintf(why, whylen, "\"format\" is not \"%s\"", INDEX_FORMAT);
		return 0;
	}
	if (!json_object_object_get_ex(o, "crl_number", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0) {
		snprintf(why, whylen, "no \"crl_number\"");
		return 0;
	}
	if (!json_object_object_get_ex(o, "certificates", &certs) || !json_object_is_type(certs, json_type_array)) {
		snprintf(why, whylen, "no \"certificates\" list");
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(certs); i++) {
		json_object *c = json_object_array_get_idx(certs, i);
		static const char *const need[] = {
			"kind", "name", "serial", "not_before", "not_after", "cert", "key"
		};
		for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
			if (!str_of(c, need[k])) {
				snprintf(why, whylen, "certificate %zu has no \"%s\"", i + 1, need[k]);
				return 0;
			}
		BIGNUM *bn = NULL;
		const char *serial = str_of(c, "serial");
		int ok = strlen(serial) <= 40 && BN_hex2bn(&bn, serial) == (int)strlen(serial);
		BN_free(bn);
		if (!ok || !pki_time_parse(str_of(c, "not_after")) ||
		    (json_object_object_get_ex(c, "revoked_at", &v) && !pki_time_parse(str_of(c, "revoked_at")))) {
			snprintf(why, whylen, "certificate %zu has a bad serial or date", i + 1);
			return 0;
		}
	}
	return 1;
}

static int load_index(struct pki *p, struct pki_error *e)
{
	char *text = NULL, path[PKI_PATH_MAX + 64], why[128];
	size_t len = 0;
	pki_path(p, "index.json", path, sizeof path);
	if (read_file(p, "index.json", &text, &len) != 0) {
		if (errno == ENOENT) {
			p->index = new_index();
			return CLI_OK;
		}
		return fail(e, errno == EACCES ? CLI_DENIED : CLI_FAILED, "bad_index", "cannot read %s: %s", path,
			    strerror(errno));
	}
	json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	int parsed =
		tok && json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	free(text);
	if (!parsed || !index_valid(o, why, sizeof why)) {
		json_object_put(o);
		return fail(e, CLI_FAILED, "bad_index",
			    "%s is damaged (%s): restore it from a backup; the "
			    "certificates themselves are unaffected",
			    path, parsed ? why : "not JSON");
	}
	p->index = o;
	return CLI_OK;
}

int pki_save_index(struct pki *p, struct pki_error *e)
{
	const char *text = json_object_to_json_string_ext(p->index, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
									    JSON_C_TO_STRING_NOSLASHESCAPE);
	char *withnl = NULL;
	if (asprintf(&withnl, "%s\n", text) < 0)
		return fail(e, CLI_FAILED, "failed", "out of memory");
	int rc = write_file(p, "index.json", withnl, strlen(withnl), 0644, e);
	free(withnl);
	return rc;
}

bool pki_entry_revoked(json_object *entry)
{
	return str_of(entry, "revoked_at") != NULL;
}

bool pki_entry_expired(json_object *entry, time_t now)
{
	return pki_time_parse(str_of(entry, "not_after")) < now;
}

json_object *pki_find_valid(const struct pki *p, const char *kind, const char *name)
{
	json_object *a = pki_entries(p);
	time_t now = time(NULL);
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		json_object *c = json_object_array_get_idx(a, i);
		if (strcmp(str_of(c, "kind"), kind) == 0 && (!name || strcmp(str_of(c, "name"), name) == 0) &&
		    !pki_entry_revoked(c) && !pki_entry_expired(c, now))
			return c;
	}
	return NULL;
}

/* A serial written any way (hex, any case, with colons, leading zeros) as
 * OpenSSL prints it: upper case, no leading zeros.  0, or -1 if not hex. */
static int normal_serial(const char *in, char *out, size_t outlen)
{
	char hex[96];
	size_t n = 0;
	for (const char *s = in; *s; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s) || n + 1 >= sizeof hex)
			return -1;
		hex[n++] = (char)toupper((unsigned char)*s);
	}
	hex[n] = '\0';
	size_t skip = strspn(hex, "0");
	if (n == 0 || skip == n || n - skip >= outlen)
		return -1;
	snprintf(out, outlen, "%s", hex + skip);
	return 0;
}

json_object *pki_find_serial(const struct pki *p, const char *serial)
{
	char want[64], have[64];
	if (normal_serial(serial, want, sizeof want) != 0)
		return NULL;
	json_object *a = pki_entries(p);
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		json_object *c = json_object_array_get_idx(a, i);
		if (normal_serial(str_of(c, "serial"), have, sizeof have) == 0 && strcmp(want, have) == 0)
			return c;
	}
	return NULL;
}

/* ---- opening ------------------------------------------------------------ */

int pki_open(struct pki *p, const char *dir, bool create, struct pki_error *e)
{
	memset(p, 0, sizeof *p);
	p->lockfd = -1;
	if (!*dir || strlen(dir) >= PKI_PATH_MAX - 64)
		return fail(e, CLI_USAGE, "bad_directory", "--output-dir needs a directory of at most %d characters",
			    PKI_PATH_MAX - 64);
	if (create && make_dirs(dir, 0700) != 0)
		return fail(e, errno == EACCES || errno == EPERM || errno == EROFS ? CLI_DENIED : CLI_FAILED,
			    "bad_directory", "cannot create %s: %s%s", dir, strerror(errno),
			    errno == EACCES ? " (run it as root, or give --output-dir)" : "");
	char real[PATH_MAX];
	if (!realpath(dir, real)) {
		if (errno == ENOENT)
			return fail(e, CLI_NOT_FOUND, "no_ca",
				    "%s does not exist: make the CA first with "
				    "containarium cert generate (or give --output-dir)",
				    dir);
		return fail(e, errno == EACCES ? CLI_DENIED : CLI_FAILED, "bad_directory", "cannot use %s: %s", dir,
			    strerror(errno));
	}
	if (strlen(real) >= sizeof p->dir - 64)
		return fail(e, CLI_USAGE, "bad_directory", "%s is too long a path", real);
	snprintf(p->dir, sizeof p->dir, "%s", strcmp(real, "/") == 0 ? "" : real);
	int rc = check_dir(real, e);
	if (rc)
		return rc;
	char lock[PKI_PATH_MAX + 64];
	p->lockfd = open(pki_path(p, ".lock", lock, sizeof lock), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (p->lockfd < 0)
		return fail(e, errno == EACCES ? CLI_DENIED : CLI_FAILED, "bad_directory", "cannot open %s: %s%s", lock,
			    strerror(errno), errno == EACCES ? " (run it as root)" : "");
	if (flock(p->lockfd, LOCK_EX | LOCK_NB) != 0)
		return fail(e, CLI_CONFLICT, "locked",
			    "another containarium cert command is working in %s; "
			    "try again when it is done",
			    real);
	return load_index(p, e);
}

void pki_close(struct pki *p)
{
	if (p->lockfd >= 0)
		close(p->lockfd); /* releases the lock */
	p->lockfd = -1;
	json_object_put(p->index);
	p->index = NULL;
	X509_free(p->ca);
	EVP_PKEY_free(p->ca_key);
	p->ca = NULL;
	p->ca_key = NULL;
}

bool pki_has_ca(const struct pki *p)
{
	return exists(p, "ca.crt");
}

int pki_archive(struct pki *p, char *moved_to, size_t len, struct pki_error *e)
{
	static const char *const files[] = { "ca.crt",  "ca.key",     "server.crt", "server.key",
					     "crl.pem", "index.json", "clients" };
	char stamp[32], rel[64], from[PKI_PATH_MAX + 64], to[PKI_PATH_MAX + 128];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(rel, sizeof rel, "old/%s", stamp);
	pki_path(p, "old", from, sizeof from);
	if (mkdir(from, 0700) != 0 && errno != EEXIST)
		return fail(e, CLI_FAILED, "write_failed", "cannot create %s: %s", from, strerror(errno));
	pki_path(p, rel, moved_to, len);
	if (mkdir(moved_to, 0700) != 0)
		return fail(e, CLI_FAILED, "write_failed", "cannot create %s: %s", moved_to, strerror(errno));
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		pki_path(p, files[i], from, sizeof from);
		snprintf(to, sizeof to, "%s/%s", moved_to, files[i]);
		if (rename(from, to) != 0 && errno != ENOENT)
			return fail(e, CLI_FAILED, "write_failed", "cannot move %s to %s: %s", from, to,
				    strerror(errno));
	}
	fsync_dir(p->dir);
	json_object_put(p->index);
	p->index = new_index();
	return CLI_OK;
}

/* ---- making keys and certificates ---------------------------------------- */

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

static char *pem_of(int (*writer)(BIO *, const void *), const void *obj, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (b && writer(b, obj) == 1) {
		char *data;
		long n = BIO_get_mem_data(b, &data);
		if (n > 0 && (out = malloc((size_t)n + 1))) {
			memcpy(out, data, (size_t)n);
			out[n] = '\0';
			*len = (size_t)n;
		}
	}
	BIO_free(b);
	return out;
}

static int write_key_pem(BIO *b, const void *key)
{
	return PEM_write_bio_PrivateKey(b, (EVP_PKEY *)key, NULL, NULL, 0, NULL, NULL);
}

static int write_cert_pem(BIO *b, const void *x)
{
	return PEM_write_bio_X509(b, (X509 *)x);
}

static int write_crl_pem(BIO *b, const void *crl)
{
	return PEM_write_bio_X509_CRL(b, (X509_CRL *)crl);
}

/* Write an object as PEM to DIR/rel with mode. */
static int write_pem(struct pki *p, const char *rel, int (*writer)(BIO *, const void *), const void *obj, mode_t mode,
		     struct pki_error *e)
{
	size_t len = 0;
	char *pem = pem_of(writer, obj, &len);
	if (!pem)
		return fail(e, CLI_FAILED, "failed", "cannot encode %s: %s", rel, ssl_reason());
	int rc = write_file(p, rel, pem, len, mode, e);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

/* A random positive serial of exactly 127 bits, not yet in the index. */
static BIGNUM *new_serial(const struct pki *p)
{
	for (int tries = 0; tries < 8; tries++) {
		BIGNUM *bn = BN_new();
		if (!bn || BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1) {
			BN_free(bn);
			return NULL;
		}
		char *hex = BN_bn2hex(bn);
		int taken = !hex || pki_find_serial(p, hex) != NULL;
		OPENSSL_free(hex);
		if (!taken)
			return bn;
		BN_free(bn);
	}
	return NULL;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = ext && X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

static int add_sans(X509 *x, const struct pki_sans *sans)
{
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	int ok = names != NULL;
	for (int i = 0; ok && i < sans->nip; i++) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(sans->ip[i]);
		GENERAL_NAME *g = ip ? GENERAL_NAME_new() : NULL;
		if (g) {
			GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
			ok = sk_GENERAL_NAME_push(names, g) > 0;
		} else {
			ASN1_OCTET_STRING_free(ip);
			ok = 0;
		}
	}
	for (int i = 0; ok && i < sans->ndns; i++) {
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		GENERAL_NAME *g = s ? GENERAL_NAME_new() : NULL;
		if (g && ASN1_STRING_set(s, sans->dns[i], (int)strlen(sans->dns[i])) == 1) {
			GENERAL_NAME_set0_value(g, GEN_DNS, s);
			ok = sk_GENERAL_NAME_push(names, g) > 0;
		} else {
			ASN1_IA5STRING_free(s);
			GENERAL_NAME_free(g);
			ok = 0;
		}
	}
	ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
	GENERAL_NAMES_free(names);
	return ok;
}

enum kind { KIND_CA, KIND_SERVER, KIND_CLIENT };

/* A certificate for key, signed by signer (the CA's key; for the CA
 * itself, its own), issuer NULL for the self-signed CA. */
static X509 *build_cert(enum kind kind, EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *signer,
			const BIGNUM *serial, time_t not_before, time_t not_after, const struct pki_sans *sans)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	ASN1_INTEGER *sn = BN_to_ASN1_INTEGER(serial, NULL);
	int ok = x && name && sn && X509_set_version(x, X509_VERSION_3) == 1 && X509_set_serialNumber(x, sn) == 1 &&
		 X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Containarium", -1, -1,
					    0) == 1 &&
		 X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) == 1 &&
		 X509_set_subject_name(x, name) == 1 &&
		 X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1 &&
		 ASN1_TIME_set(X509_getm_notBefore(x), not_before) && ASN1_TIME_set(X509_getm_notAfter(x), not_after) &&
		 X509_set_pubkey(x, key) == 1;
	X509V3_CTX ctx;
	if (ok) {
		X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
		ok = add_ext(x, &ctx, NID_basic_constraints,
			     kind == KIND_CA ? "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE") &&
		     add_ext(x, &ctx, NID_key_usage,
			     kind == KIND_CA ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
		     (kind == KIND_CA ||
		      add_ext(x, &ctx, NID_ext_key_usage, kind == KIND_SERVER ? "serverAuth" : "clientAuth")) &&
		     add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
		     add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") &&
		     (kind != KIND_SERVER || add_sans(x, sans)) && X509_sign(x, signer, EVP_sha256()) > 0;
	}
	X509_NAME_free(name);
	ASN1_INTEGER_free(sn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static void serial_hex(const X509 *x, char *buf, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	snprintf(buf, len, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

void pki_ca_info(const struct pki *p, char *subject, size_t slen, char *serial, size_t serlen, time_t *not_after)
{
	if (subject) {
		/* "CN=Containarium CA 790F8C26,O=Containarium" */
		BIO *b = BIO_new(BIO_s_mem());
		char *data = NULL;
		long n = b && p->ca && X509_NAME_print_ex(b, X509_get_subject_name(p->ca), 0, XN_FLAG_RFC2253) >= 0
				 ? BIO_get_mem_data(b, &data)
				 : 0;
		snprintf(subject, slen, "%.*s", n > 0 ? (int)n : 1, n > 0 ? data : "?");
		BIO_free(b);
	}
	if (serial)
		serial_hex(p->ca, serial, serlen);
	if (not_after)
		*not_after = p->ca ? asn1_time(X509_get0_notAfter(p->ca)) : 0;
}

int pki_create_ca(struct pki *p, int days, struct pki_error *e)
{
	if (exists(p, "ca.key"))
		return fail(e, CLI_CONFLICT, "ca_exists",
			    "%s/ca.key exists without ca.crt beside it (a run that was "
			    "interrupted, or a CA certificate removed by hand): restore ca.crt, or remove ca.key "
			    "to make a new CA",
			    p->dir);
	time_t now = time(NULL);
	BIGNUM *serial = new_serial(p);
	EVP_PKEY *key = new_key();
	char *hex = serial ? BN_bn2hex(serial) : NULL, cn[64];
	snprintf(cn, sizeof cn, "Containarium CA %.8s", hex ? hex : "");
	X509 *ca = key && serial ? build_cert(KIND_CA, key, cn, NULL, key, serial, now - BACKDATE_SECONDS,
					      now + (time_t)days * 86400, NULL)
				 : NULL;
	OPENSSL_free(hex);
	BN_free(serial);
	if (!ca) {
		EVP_PKEY_free(key);
		return fail(e, CLI_FAILED, "failed", "cannot make the CA: %s", ssl_reason());
	}
	p->ca = ca;
	p->ca_key = key;
	/* The key first, the certificate last: ca.crt is what says a CA is here. */
	int rc = write_pem(p, "ca.key", write_key_pem, key, 0600, e);
	if (!rc)
		rc = write_pem(p, "ca.crt", write_cert_pem, ca, 0644, e);
	if (!rc)
		rc = pki_write_crl(p, e);
	return rc;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1; /* never prompt */
}

/* The CRL on disk matches the index: it parses, the CA signed it, and its
 * number is the index's. */
static bool crl_current(const struct pki *p)
{
	char *text = NULL;
	size_t len = 0;
	if (read_file(p, "crl.pem", &text, &len) != 0)
		return false;
	BIO *b = BIO_new_mem_buf(text, (int)len);
	X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, no_password, NULL) : NULL;
	BIO_free(b);
	free(text);
	bool ok = false;
	if (crl && X509_CRL_verify(crl, X509_get0_pubkey(p->ca)) == 1) {
		ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
		int64_t n = -1;
		ok = num && ASN1_INTEGER_get_int64(&n, num) == 1 && n == pki_crl_number(p);
		ASN1_INTEGER_free(num);
	}
	X509_CRL_free(crl);
	ERR_clear_error();
	return ok;
}

int pki_load_ca(struct pki *p, struct pki_error *e)
{
	char *crt = NULL, *key = NULL, path[PKI_PATH_MAX + 64];
	size_t crtlen = 0, keylen = 0;
	if (read_file(p, "ca.crt", &crt, &crtlen) != 0)
		return fail(e,
			    errno == ENOENT   ? CLI_NOT_FOUND
			    : errno == EACCES ? CLI_DENIED
					      : CLI_FAILED,
			    errno == ENOENT ? "no_ca" : "bad_ca", "cannot read %s: %s%s",
			    pki_path(p, "ca.crt", path, sizeof path), strerror(errno),
			    errno == ENOENT ? " (make the CA with containarium cert generate)" : "");
	if (read_file(p, "ca.key", &key, &keylen) != 0) {
		free(crt);
		return fail(e, errno == EACCES ? CLI_DENIED : CLI_FAILED, "bad_ca", "cannot read %s: %s%s",
			    pki_path(p, "ca.key", path, sizeof path), strerror(errno),
			    errno == EACCES ? " (run it as root)" : "");
	}
	BIO *b = BIO_new_mem_buf(crt, (int)crtlen);
	p->ca = b ? PEM_read_bio_X509(b, NULL, no_password, NULL) : NULL;
	BIO_free(b);
	b = BIO_new_mem_buf(key, (int)keylen);
	p->ca_key = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
	BIO_free(b);
	OPENSSL_cleanse(key, keylen);
	free(key);
	free(crt);
	ERR_clear_error();
	if (!p->ca)
		return fail(e, CLI_FAILED, "bad_ca", "%s/ca.crt is not a PEM certificate", p->dir);
	if (!p->ca_key)
		return fail(e, CLI_FAILED, "bad_ca", "%s/ca.key is not an unencrypted PEM private key", p->dir);
	if (X509_check_private_key(p->ca, p->ca_key) != 1) {
		ERR_clear_error();
		return fail(e, CLI_FAILED, "bad_ca", "%s/ca.key is not the key of %s/ca.crt", p->dir, p->dir);
	}
	if (X509_check_ca(p->ca) < 1)
		return fail(e, CLI_FAILED, "bad_ca", "%s/ca.crt is not a CA certificate", p->dir);
	char when[32];
	time_t na = asn1_time(X509_get0_notAfter(p->ca));
	pki_time_str(na, when, sizeof when);
	if (na < time(NULL))
		return fail(e, CLI_FAILED, "ca_expired",
			    "the CA in %s expired on %s: make a new one with "
			    "containarium cert generate --new-ca --force (every certificate must then be issued "
			    "again)",
			    p->dir, when);
	if (!crl_current(p)) {
		int rc = pki_write_crl(p, e);
		if (rc)
			return rc;
		p->crl_healed = true;
	}
	return CLI_OK;
}

/* Record a new certificate in the index (first: a certificate that exists
 * can always be revoked), then write its key and certificate. */
static int issue(struct pki *p, enum kind kind, const char *name, const char *cn, const char *dir_rel,
		 const struct pki_sans *sans, int days, json_object **entry, struct pki_error *e)
{
	time_t now = time(NULL), ca_end = asn1_time(X509_get0_notAfter(p->ca));
	time_t not_after = now + (time_t)days * 86400;
	if (not_after > ca_end) {
		char when[32];
		pki_time_str(ca_end, when, sizeof when);
		return fail(e, CLI_USAGE, "outlives_ca",
			    "--days %d would outlive the CA (valid until %s): give "
			    "--days %lld or less",
			    days, when, (long long)((ca_end - now) / 86400));
	}
	BIGNUM *serial = new_serial(p);
	EVP_PKEY *key = new_key();
	X509 *x = serial && key
			  ? build_cert(kind, key, cn, p->ca, p->ca_key, serial, now - BACKDATE_SECONDS, not_after, sans)
			  : NULL;
	BN_free(serial);
	if (!x) {
		EVP_PKEY_free(key);
		return fail(e, CLI_FAILED, "failed", "cannot make the certificate for %s: %s", name, ssl_reason());
	}
	char hex[64], nb[32], na[32], crt_rel[128], key_rel[128];
	serial_hex(x, hex, sizeof hex);
	pki_time_str(asn1_time(X509_get0_notBefore(x)), nb, sizeof nb);
	pki_time_str(asn1_time(X509_get0_notAfter(x)), na, sizeof na);
	snprintf(crt_rel, sizeof crt_rel, "%s%s.crt", dir_rel, kind == KIND_SERVER ? "server" : name);
	snprintf(key_rel, sizeof key_rel, "%s%s.key", dir_rel, kind == KIND_SERVER ? "server" : name);

	json_object *o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string(kind == KIND_SERVER ? "server" : "client"));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "serial", json_object_new_string(hex));
	json_object_object_add(o, "not_before", json_object_new_string(nb));
	json_object_object_add(o, "not_after", json_object_new_string(na));
	json_object_object_add(o, "cert", json_object_new_string(crt_rel));
	json_object_object_add(o, "key", json_object_new_string(key_rel));
	if (kind == KIND_SERVER) {
		json_object *s = json_object_new_array();
		for (int i = 0; i < sans->nip; i++) {
			char buf[80];
			snprintf(buf, sizeof buf, "IP:%s", sans->ip[i]);
			json_object_array_add(s, json_object_new_string(buf));
		}
		for (int i = 0; i < sans->ndns; i++) {
			char buf[270];
			snprintf(buf, sizeof buf, "DNS:%s", sans->dns[i]);
			json_object_array_add(s, json_object_new_string(buf));
		}
		json_object_object_add(o, "sans", s);
	}
	json_object_array_add(pki_entries(p), o);
	int rc = pki_save_index(p, e);
	if (!rc && *dir_rel) {
		char d[PKI_PATH_MAX + 64];
		pki_path(p, "clients", d, sizeof d);
		if (mkdir(d, 0700) != 0 && errno != EEXIST)
			rc = fail(e, CLI_FAILED, "write_failed", "cannot create %s: %s", d, strerror(errno));
	}
	if (!rc)
		rc = write_pem(p, key_rel, write_key_pem, key, 0600, e);
	if (!rc)
		rc = write_pem(p, crt_rel, write_cert_pem, x, 0644, e);
	X509_free(x);
	EVP_PKEY_free(key);
	if (!rc)
		*entry = o;
	return rc;
}

int pki_issue_server(struct pki *p, const struct pki_sans *sans, int days, json_object **entry, struct pki_error *e)
{
	if (sans->nip + sans->ndns == 0)
		return fail(e, CLI_USAGE, "no_names",
			    "the server certificate needs the addresses clients connect "
			    "to: --server-ip IP and/or --dns NAME");
	const char *cn = sans->ndns ? sans->dns[0] : sans->ip[0];
	return issue(p, KIND_SERVER, cn, cn, "", sans, days, entry, e);
}

int pki_issue_client(struct pki *p, const char *name, int days, json_object **entry, struct pki_error *e)
{
	char msg[256];
	if (pki_check_name(name, msg, sizeof msg) != 0)
		return fail(e, CLI_USAGE, "bad_name", "%s", msg);
	return issue(p, KIND_CLIENT, name, name, "clients/", NULL, days, entry, e);
}

/* ---- revocation ---------------------------------------------------------- */

int pki_write_crl(struct pki *p, struct pki_error *e)
{
	long long number = pki_crl_number(p) + 1;
	time_t now = time(NULL);
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	int ok = crl && t && num && X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1 &&
		 X509_CRL_set_issuer_name(crl, X509_get_subject_name(p->ca)) == 1 && ASN1_TIME_set(t, now) &&
		 X509_CRL_set1_lastUpdate(crl, t) == 1 &&
		 /* A list kept on the host, not fetched: good until the CA ends. */
		 ASN1_TIME_set(t, asn1_time(X509_get0_notAfter(p->ca))) && X509_CRL_set1_nextUpdate(crl, t) == 1;
	json_object *a = pki_entries(p);
	for (size_t i = 0; ok && i < json_object_array_length(a); i++) {
		json_object *c = json_object_array_get_idx(a, i);
		if (!pki_entry_revoked(c))
			continue;
		BIGNUM *bn = NULL;
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *sn = BN_hex2bn(&bn, str_of(c, "serial")) > 0 ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
		ASN1_TIME *when = ASN1_TIME_set(NULL, pki_time_parse(str_of(c, "revoked_at")));
		ok = r && sn && when && X509_REVOKED_set_serialNumber(r, sn) == 1 &&
		     X509_REVOKED_set_revocationDate(r, when) == 1 && X509_CRL_add0_revoked(crl, r) == 1;
		if (!ok)
			X509_REVOKED_free(r);
		BN_free(bn);
		ASN1_INTEGER_free(sn);
		ASN1_TIME_free(when);
	}
	if (ok) {
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, p->ca, NULL, NULL, crl, 0);
		X509_EXTENSION *aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
		ok = aki && X509_CRL_add_ext(crl, aki, -1) == 1 && ASN1_INTEGER_set_int64(num, number) == 1 &&
		     X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1 && X509_CRL_sort(crl) == 1 &&
		     X509_CRL_sign(crl, p->ca_key, EVP_sha256()) > 0;
		X509_EXTENSION_free(aki);
	}
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	int rc = ok ? CLI_OK : fail(e, CLI_FAILED, "failed", "cannot make the revocation list: %s", ssl_reason());
	/* The index first: a crash before the CRL is written leaves an index
	 * whose number is ahead, and the next run writes the CRL again. */
	if (!rc) {
		json_object_object_add(p->index, "crl_number", json_object_new_int64(number));
		rc = pki_save_index(p, e);
	}
	if (!rc)
		rc = write_pem(p, "crl.pem", write_crl_pem, crl, 0644, e);
	X509_CRL_free(crl);
	return rc;
}

int pki_revoke(struct pki *p, json_object *const *entries, int n, struct pki_error *e)
{
	char now[32];
	pki_time_str(time(NULL), now, sizeof now);
	for (int i = 0; i < n; i++)
		if (!pki_entry_revoked(entries[i]))
			json_object_object_add(entries[i], "revoked_at", json_object_new_string(now));
	return pki_write_crl(p, e);
}
