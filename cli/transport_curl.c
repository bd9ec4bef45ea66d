/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's two ways to helperd, both libcurl: HTTP over its unix socket,
 * and HTTPS to its remote API with a client certificate.  One easy handle
 * per run: every request reuses it (and its connection, when helperd keeps
 * it open).  They differ only in how the handle is set up. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "transport.h"

/* helperd's answers are small; a bigger one means something is wrong. */
#define MAX_REPLY_BYTES (16u << 20)
#define CONNECT_TIMEOUT_SECONDS 5L

struct curl_transport {
	struct transport base;
	CURL *curl;
	char socket[108];
	char prefix[256];            /* "http://helperd" or "https://host:port" */
	char cert[256], cacert[256]; /* remote: for the messages */
	char errbuf[CURL_ERROR_SIZE];
	struct transport_reply *reply; /* being filled */
	bool too_big;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct curl_transport *u = arg;
	struct transport_reply *r = u->reply;
	size_t len = size * n;
	if (len > MAX_REPLY_BYTES - r->len) {
		u->too_big = true;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	char *b = realloc(r->body, r->len + len + 1);
	if (!b)
		return 0;
	memcpy(b + r->len, data, len);
	r->len += len;
	b[r->len] = '\0';
	r->body = b;
	return len;
}

static enum transport_status curl_request(struct transport *t, const char *method, const char *target, const char *body,
					  size_t body_len, long timeout_seconds, struct transport_reply *reply,
					  char *err, size_t errlen)
{
	struct curl_transport *u = (struct curl_transport *)t;
	CURL *h = u->curl;
	char url[2048];
	memset(reply, 0, sizeof *reply);
	if (snprintf(url, sizeof url, "%s%s", u->prefix, target) >= (int)sizeof url) {
		snprintf(err, errlen, "request path too long");
		return TRANSPORT_FAILED;
	}
	struct curl_slist *headers = NULL;
	headers = curl_slist_append(headers, "Accept: application/json");
	headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
	if (body)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	u->reply = reply;
	u->too_big = false;
	u->errbuf[0] = '\0';

	/* Settings that differ between requests are all set every time, so
	 * nothing of the previous request (a body, a method) leaks into this one. */
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_seconds);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") == 0 ? NULL : method);
	/* HEAD-like methods are not used; DELETE answers have bodies. */
	curl_easy_setopt(h, CURLOPT_NOBODY, 0L);

	CURLcode rc = curl_easy_perform(h);
	curl_slist_free_all(headers);
	u->reply = NULL;
	if (rc == CURLE_OK) {
		char *ct = NULL;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply->status);
		if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
			snprintf(reply->content_type, sizeof reply->content_type, "%s", ct);
		if (!reply->body && !(reply->body = calloc(1, 1))) {
			snprintf(err, errlen, "out of memory");
			return TRANSPORT_FAILED;
		}
		return TRANSPORT_OK;
	}
	transport_reply_free(reply);
	long os_errno = 0;
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	/* helperd's handshake refuses a revoked certificate with an alert;
	 * under TLS 1.3 it arrives at the first read, under 1.2 at connect. */
	if (u->cert[0] && strstr(u->errbuf, "alert certificate revoked")) {
		snprintf(err, errlen,
			 "helperd refused the client certificate %s during the TLS handshake: it has "
			 "been revoked; ask an admin for a new one (containarium cert generate --client NAME on the "
			 "jump host)",
			 u->cert);
		return TRANSPORT_REFUSED;
	}
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		if (os_errno == EACCES || os_errno == EPERM) {
			snprintf(err, errlen, "%s", strerror((int)os_errno));
			return TRANSPORT_DENIED;
		}
		snprintf(err, errlen, "%s", os_errno ? strerror((int)os_errno) : curl_easy_strerror(rc));
		return TRANSPORT_UNAVAILABLE;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		snprintf(err, errlen, "helperd closed the connection without a complete answer (%s)",
			 u->errbuf[0] ? u->errbuf : curl_easy_strerror(rc));
		return TRANSPORT_UNAVAILABLE;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, errlen, "%s", u->errbuf[0] ? u->errbuf : curl_easy_strerror(rc));
		return TRANSPORT_UNAVAILABLE;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(err, errlen,
			 "helperd's server certificate is not trusted: it must be signed by the CA in "
			 "%s and name the host you gave in --remote (%s)",
			 u->cacert[0] ? u->cacert : "the system's store",
			 u->errbuf[0] ? u->errbuf : curl_easy_strerror(rc));
		return TRANSPORT_FAILED;
	case CURLE_SSL_CERTPROBLEM:
		snprintf(err, errlen, "cannot use the client certificate %s with its key (%s)", u->cert,
			 u->errbuf[0] ? u->errbuf : curl_easy_strerror(rc));
		return TRANSPORT_FAILED;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(err, errlen, "cannot read the CA file %s (%s)", u->cacert,
			 u->errbuf[0] ? u->errbuf : curl_easy_strerror(rc));
		return TRANSPORT_FAILED;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(err, errlen,
			 "the TLS handshake with helperd failed (%s): is --remote an https "
			 "address of helperd's https_listen?",
			 u->errbuf[0] ? u->errbuf : curl_easy_strerror(rc));
		return TRANSPORT_FAILED;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errlen, "no answer within %ld seconds", timeout_seconds);
		return TRANSPORT_TIMEOUT;
	case CURLE_WRITE_ERROR:
		if (u->too_big) {
			snprintf(err, errlen, "the answer is larger than %u bytes", MAX_REPLY_BYTES);
			return TRANSPORT_FAILED;
		}
		/* fall through */
	default:
		snprintf(err, errlen, "%s", u->errbuf[0] ? u->errbuf : curl_easy_strerror(rc));
		return TRANSPORT_FAILED;
	}
}

static void curl_close(struct transport *t)
{
	struct curl_transport *u = (struct curl_transport *)t;
	curl_easy_cleanup(u->curl);
	free(u);
	curl_global_cleanup();
}

static const struct transport_ops curl_ops = { curl_request, curl_close };

/* The handle both transports share: callbacks, time limits, no redirects,
 * one protocol. */
static struct curl_transport *curl_transport_new(const char *protocol, char *err, size_t errlen)
{
	struct curl_transport *u = calloc(1, sizeof *u);
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (curl_global_init(strcmp(protocol, "https") == 0 ? CURL_GLOBAL_SSL : CURL_GLOBAL_NOTHING) != CURLE_OK ||
	    !(u->curl = curl_easy_init())) {
		snprintf(err, errlen, "cannot initialise libcurl");
		free(u);
		return NULL;
	}
	u->base.ops = &curl_ops;
	CURL *h = u->curl;
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, u->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, u);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_SECONDS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	char agent[64]; /* curl keeps a copy */
	snprintf(agent, sizeof agent, "containarium/%s", ctm_version());
	curl_easy_setopt(h, CURLOPT_USERAGENT, agent);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocol);
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
			 strcmp(protocol, "https") == 0 ? (long)CURLPROTO_HTTPS : (long)CURLPROTO_HTTP);
#endif
	return u;
}

struct transport *transport_unix_open(const char *socket_path, char *err, size_t errlen)
{
	struct curl_transport *u = curl_transport_new("http", err, errlen);
	if (!u)
		return NULL;
	if (strlen(socket_path) >= sizeof u->socket) {
		snprintf(err, errlen, "socket path %s is longer than %zu bytes", socket_path, sizeof u->socket - 1);
		curl_close(&u->base);
		return NULL;
	}
	snprintf(u->socket, sizeof u->socket, "%s", socket_path);
	snprintf(u->prefix, sizeof u->prefix, "http://helperd");
	curl_easy_setopt(u->curl, CURLOPT_UNIX_SOCKET_PATH, u->socket);
	return &u->base;
}

struct transport *transport_https_open(const char *url, const char *cert, const char *key, const char *cacert,
				       char *err, size_t errlen)
{
	size_t n = strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	if (strncmp(url, "https://", 8) != 0 || n <= 8 || n >= sizeof((struct curl_transport *)0)->prefix) {
		snprintf(err, errlen, "--remote \"%s\" is not an https:// address (https://jump.example.com:8443)",
			 url);
		return NULL;
	}
	struct curl_transport *u = curl_transport_new("https", err, errlen);
	if (!u)
		return NULL;
	snprintf(u->prefix, sizeof u->prefix, "%.*s", (int)n, url);
	snprintf(u->cert, sizeof u->cert, "%s", cert);
	snprintf(u->cacert, sizeof u->cacert, "%s", cacert ? cacert : "");
	CURL *h = u->curl;
	curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(h, CURLOPT_SSLKEY, key);
	if (cacert && *cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, cacert);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	return &u->base;
}
