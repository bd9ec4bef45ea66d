/* SPDX-License-Identifier: Apache-2.0 */
/* Where a new container's image comes from (helperd/image_source.h): the
 * "remote" lines of helperd.conf, "[REMOTE:]ALIAS" as --image and the
 * image setting give it, and the source object POST /1.0/instances gets on
 * each backend.  Pulling from real image servers is tested in
 * tests/helperd/test_helperd_images.sh. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "image_source.h"

static int load_text(struct helperd_config *c, const char *text, char *err, size_t errlen)
{
	helperd_config_defaults(c);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	ck_assert_ptr_nonnull(f);
	int r = helperd_config_load_stream(c, f, "test.conf", err, errlen);
	fclose(f);
	return r;
}

static const char cert_text[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

/* A file holding cert_text (its path in path[], "/tmp/ctm-image-source-XXXXXX"). */
static void write_cert(char *path)
{
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, cert_text, sizeof cert_text - 1), (ssize_t)(sizeof cert_text - 1));
	close(fd);
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

START_TEST(remotes_built_in_declared_and_replaced)
{
	struct helperd_config c;
	char err[512], pem[] = "/tmp/ctm-image-source-XXXXXX", text[512];
	write_cert(pem);
	ck_assert_int_eq(load_text(&c, "", err, sizeof err), 0);
	ck_assert_uint_eq(c.remote_count, 1);
	ck_assert_str_eq(c.remotes[0].name, "images");
	ck_assert_str_eq(c.remotes[0].url, "https://images.linuxcontainers.org");
	ck_assert_str_eq(c.remotes[0].protocol, "simplestreams");
	ck_assert_str_eq(c.remotes[0].certificate, "");

	snprintf(text, sizeof text,
		 "remote = mirror https://10.0.0.5:8443 incus %s\n"
		 "remote =   images\thttps://images.example.org/   simplestreams  \n"
		 "image = mirror:debian/12/cloud\n",
		 pem);
	ck_assert_int_eq(load_text(&c, text, err, sizeof err), 0);
	ck_assert_uint_eq(c.remote_count, 2);
	ck_assert_str_eq(c.remotes[0].name, "images"); /* replaced in place */
	ck_assert_str_eq(c.remotes[0].url, "https://images.example.org/");
	ck_assert_str_eq(c.remotes[1].name, "mirror");
	ck_assert_str_eq(c.remotes[1].protocol, "incus");
	ck_assert_str_eq(c.remotes[1].certificate, pem);
	ck_assert_str_eq(c.image, "mirror:debian/12/cloud");
	unlink(pem);
}
END_TEST

START_TEST(remote_errors_say_what_is_wrong)
{
	static const struct {
		const char *text, *expect;
	} bad[] = {
		{ "remote = x\n", "has 1 fields; write it as \"remote = NAME URL PROTOCOL [CERTIFICATE]\"" },
		{ "remote = a b c d e\n", "has 5 fields" },
		{ "remote = local https://x.org incus\n", "\"local\" means the backend's own images" },
		{ "remote = a:b https://x.org incus\n", "is not a remote name" },
		{ "remote = a ftp://x.org incus\n", "is not an https:// (or http://) URL" },
		{ "remote = a https:// incus\n", "is not an https://" },
		{ "remote = a https://x.org oci\n", "protocol \"oci\" must be simplestreams" },
		{ "remote = a https://x.org incus cert.pem\n", "must be the absolute path" },
		{ "remote = a https://x.org incus /nonexistent/cert.pem\n",
		  "remote a: cannot read the image server's certificate /nonexistent/cert.pem" },
		{ "remote = a https://x.org incus /dev/null\n", "remote a: /dev/null is not a PEM certificate" },
		{ "remote = a \"https://x.org\" incus\n", "quotes" },
		{ "image = nosuch:debian/12\n",
		  "no image server is called \"nosuch\"; the declared remotes are images" },
		{ "image = images:\n", "is not an image alias" },
		{ "image = images:../x\n", "is not an image alias" },
		{ "image = a b\n", "is not an image alias" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct helperd_config c;
		char err[512] = "";
		ck_assert_msg(load_text(&c, bad[i].text, err, sizeof err) == -1, "accepted: %s", bad[i].text);
		ck_assert_msg(strstr(err, bad[i].expect), "for %s: got \"%s\", want \"%s\"", bad[i].text, err,
			      bad[i].expect);
		ck_assert_msg(strstr(err, "test.conf"), "the file is named: %s", err);
	}
	/* The limit. */
	struct helperd_config c;
	char err[512], text[4096] = "";
	for (int i = 0; i < HELPERD_REMOTES_MAX; i++) /* "images" is one already */
		snprintf(text + strlen(text), sizeof text - strlen(text), "remote = r%d https://r%d.org incus\n", i, i);
	ck_assert_int_eq(load_text(&c, text, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "at most 16 remotes"));
}
END_TEST

START_TEST(image_refs)
{
	struct helperd_config c;
	char err[512], text[200];
	ck_assert_int_eq(load_text(&c, "remote = lab https://127.0.0.1:8443 incus\n", err, sizeof err), 0);
	struct image_ref r;
	ck_assert_int_eq(image_ref_parse(&c, "containarium-base", &r, err, sizeof err), 0);
	ck_assert_int_eq(r.remote_given, 0);
	ck_assert_str_eq(r.alias, "containarium-base");
	ck_assert_int_eq(image_ref_parse(&c, "local:containarium-base", &r, err, sizeof err), 0);
	ck_assert_int_eq(r.remote_given, 0);
	image_ref_format(&r, text, sizeof text);
	ck_assert_str_eq(text, "containarium-base");
	ck_assert_int_eq(image_ref_parse(&c, "images:ubuntu/24.04", &r, err, sizeof err), 0);
	ck_assert_int_eq(r.remote_given, 1);
	ck_assert_str_eq(r.remote.name, "images");
	ck_assert_str_eq(r.alias, "ubuntu/24.04");
	image_ref_format(&r, text, sizeof text);
	ck_assert_str_eq(text, "images:ubuntu/24.04");
	ck_assert_int_eq(image_ref_parse(&c, "lab:debian/12", &r, err, sizeof err), 0);
	ck_assert_str_eq(r.remote.url, "https://127.0.0.1:8443");
	/* A fingerprint is an alias to Incus. */
	ck_assert_int_eq(image_ref_parse(&c, "lab:2d87624b9857", &r, err, sizeof err), 0);

	ck_assert_int_eq(image_ref_parse(&c, "labs:debian/12", &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no image server is called \"labs\"; the declared remotes are images, lab"));
	ck_assert_int_eq(image_ref_parse(&c, "la:debian/12", &r, err, sizeof err), -1); /* a prefix is not a name */
	static const char *const bad[] = { "",    ":",    "images:", "/etc",   "a:b:c",
					   "x y", "a\"b", ".hidden", "a/../b", "images:$(id)" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(image_ref_parse(&c, bad[i], &r, err, sizeof err) == -1, "accepted \"%s\"", bad[i]);
	char longer[200];
	memset(longer, 'a', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	ck_assert_int_eq(image_ref_parse(&c, longer, &r, err, sizeof err), -1);
}
END_TEST

START_TEST(source_objects_per_backend)
{
	char pem[] = "/tmp/ctm-image-source-XXXXXX";
	write_cert(pem);
	char conf[512], err[512];
	snprintf(conf, sizeof conf, "remote = lab https://127.0.0.1:8443 incus %s\n", pem);
	struct helperd_config c;
	ck_assert_int_eq(load_text(&c, conf, err, sizeof err), 0);
	struct image_ref r;

	/* The local store: alias only, nothing to pull. */
	ck_assert_int_eq(image_ref_parse(&c, "containarium-base", &r, err, sizeof err), 0);
	json_object *src = image_source_json(&r, INCUS_SERVER_INCUS, err, sizeof err);
	ck_assert_str_eq(json_object_to_json_string_ext(src, JSON_C_TO_STRING_PLAIN),
			 "{\"type\":\"image\",\"alias\":\"containarium-base\"}");
	json_object_put(src);

	/* simplestreams, the same on both backends; no certificate. */
	ck_assert_int_eq(image_ref_parse(&c, "images:debian/12", &r, err, sizeof err), 0);
	for (int kind = INCUS_SERVER_INCUS; kind <= INCUS_SERVER_LXD; kind++) {
		src = image_source_json(&r, (enum incus_server)kind, err, sizeof err);
		ck_assert_str_eq(json_object_to_json_string_ext(src, JSON_C_TO_STRING_PLAIN),
				 "{\"type\":\"image\",\"alias\":\"debian\\/12\",\"mode\":\"pull\",\"server\":"
				 "\"https:\\/\\/images.linuxcontainers.org\",\"protocol\":\"simplestreams\"}");
		json_object_put(src);
	}

	/* The Incus protocol is "incus" to Incus and "lxd" to LXD; the
	 * certificate is the file's text. */
	ck_assert_int_eq(image_ref_parse(&c, "lab:debian/12", &r, err, sizeof err), 0);
	src = image_source_json(&r, INCUS_SERVER_INCUS, err, sizeof err);
	ck_assert_str_eq(str_of(src, "protocol"), "incus");
	ck_assert_str_eq(str_of(src, "certificate"), cert_text);
	ck_assert_str_eq(str_of(src, "server"), "https://127.0.0.1:8443");
	json_object_put(src);
	src = image_source_json(&r, INCUS_SERVER_LXD, err, sizeof err);
	ck_assert_str_eq(str_of(src, "protocol"), "lxd");
	json_object_put(src);

	/* A certificate file that is not one, or is gone: NULL and why. */
	FILE *f = fopen(pem, "w");
	fputs("not a certificate\n", f);
	fclose(f);
	ck_assert_ptr_null(image_source_json(&r, INCUS_SERVER_INCUS, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "is not a PEM certificate"));
	unlink(pem);
	ck_assert_ptr_null(image_source_json(&r, INCUS_SERVER_INCUS, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "cannot read the image server's certificate"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("image_source");
	TCase *tc = tcase_create("image_source");
	tcase_add_test(tc, remotes_built_in_declared_and_replaced);
	tcase_add_test(tc, remote_errors_say_what_is_wrong);
	tcase_add_test(tc, image_refs);
	tcase_add_test(tc, source_objects_per_backend);
	suite_add_tcase(s, tc);
	Suite *suites[] = { s, NULL };
	return ctm_run_suites(suites);
}
