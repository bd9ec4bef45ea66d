#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The CLI against helperd's remote API: HTTPS on a TCP port (https_listen),
# clients authenticated by certificates that helperd's client CA signed.
# A real helperd on the real test LXD, real certificates made with openssl:
# a create and a delete over HTTPS recorded in the audit log under the
# certificate's name; no certificate, a certificate from another CA, the
# wrong server CA, a missing key file, a plain-HTTP address, nobody
# listening, and a key file others can read, each refused with a message
# that says what to do; the PAM session endpoint stays local.
#
#   BUILD=build bash tests/cli/test_cli_remote.sh
. "$(dirname "$0")/../lib/testlib.sh"
need_root
CLI=$BUILD/cli/containarium
HELPERD=${CTM_HELPERD:-$BUILD/helperd/containarium-helperd}
. "$SRC/tests/lxd/lxdlib.sh"
need_built "$CLI" "$HELPERD"
for tool in jq openssl curl ssh-keygen unshare $(ctm_backend_tools); do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
done
. "$SRC/tests/cli/clilib.sh"
# shellcheck source=tests/lib/pki.sh
. "$SRC/tests/lib/pki.sh"
mk_scratch
U=rem$(tr -dc a-z0-9 </dev/urandom | head -c 5)
# A free loopback port for the remote API.
PORT=$(free_port)
URL=https://127.0.0.1:$PORT
cleanup() {
	lxd_has "$U" && ctm_lxd_delete "$U-container"
	stop_helperd tls
	stop_helperd bad
	ctm_lxd_release
	rm -rf "$T_TMP"
}
trap cleanup EXIT
ctm_lxd_up || { fail "the test $CTM_BACKEND_NAME comes up"; summary; exit 1; }

# ---- certificates ------------------------------------------------------------------
P=$T_TMP/pki
mkdir -m 0700 "$P"
pki_ca "$P" server-ca "Test server CA"
pki_ca "$P" client-ca "Test client CA"
pki_ca "$P" rogue-ca "Someone else's CA"
pki_leaf "$P" server "jump.test" server-ca "IP:127.0.0.1,DNS:localhost"
pki_leaf "$P" alice "ops-alice" client-ca
pki_leaf "$P" mallory "ops-mallory" rogue-ca
ssh-keygen -q -t ed25519 -N '' -C "$U@laptop" -f "$T_TMP/k" </dev/null

TLS=("https_listen = 127.0.0.1:$PORT" "https_cert = $P/server.crt" "https_key = $P/server.key"
	"https_client_ca = $P/client-ca.crt")
if start_helperd tls "${TLS[@]}"; then ok "helperd starts with https_listen"; else
	fail "helperd starts with https_listen"; summary; exit 1; fi
expect_match "its log says where the remote API listens" \
	"remote API \(HTTPS, client certificates\) listening on 127.0.0.1:$PORT" "$(cat "$T_TMP/tls/log")"
remote() { cli_run --remote "$URL" --client-cert "$P/alice.crt" --client-key "$P/alice.key" --server-ca "$P/server-ca.crt" "$@"; }

# ---- the CLI over HTTPS ----------------------------------------------------------------
remote system info
expect_rc "system info over HTTPS with alice's certificate" 0
remote --json list
expect_rc "list --json over HTTPS" 0
jq_eq "list --json: a JSON list" '.containers | type' array "$OUT"
remote create "$U" --ssh-key "$T_TMP/k.pub"
expect_rc "create over HTTPS (a real container)" 0
expect_match "create: the details block" "Container $U-container" "$OUT"
check "the container exists in LXD" lxd_has "$U"
remote --json audit "$U"
expect_rc "audit over HTTPS" 0
jq_eq "the audit log names the certificate, not a uid" \
	'[.events[] | select(.event == "create")][0] | (.by_cert // "none") + "/" + ((.by_uid // "none") | tostring)' \
	"ops-alice/none" "$OUT"
expect_match "helperd's request log names the certificate" "POST /v1/containers 202 uid=-, cert=ops-alice" \
	"$(cat "$T_TMP/tls/log")"
remote delete "$U" --force
expect_rc "delete over HTTPS" 0
gone() { ! lxd_has "$1"; }
check "the container is gone" gone "$U"

# The defaults: $CONTAINARIUM_REMOTE and ~/.config/containarium.
mkdir -p "$T_TMP/home/.config/containarium"
cp "$P/alice.crt" "$T_TMP/home/.config/containarium/client.crt"
cp "$P/alice.key" "$T_TMP/home/.config/containarium/client.key"
cp "$P/server-ca.crt" "$T_TMP/home/.config/containarium/server-ca.crt"
OUT=$(HOME=$T_TMP/home CONTAINARIUM_REMOTE=$URL "$CLI" --json system info 2>&1)
expect_eq "\$CONTAINARIUM_REMOTE with the files in ~/.config/containarium" 0 "$?"

# ---- refusals --------------------------------------------------------------------------
OUT=$(curl -sS --cacert "$P/server-ca.crt" "$URL/v1/system" 2>&1)
jq_eq "no client certificate: 403 client_certificate_required" '.error.code + " " + (.error.status | tostring)' \
	"client_certificate_required 403" "$OUT"
expect_match "... saying what to give" "give the CLI --cert and --key|--client-cert" "$OUT"
cli_run --remote "$URL" --client-cert "$P/mallory.crt" --client-key "$P/mallory.key" --server-ca "$P/server-ca.crt" list
expect_rc "a certificate from another CA: denied" 6
expect_match "... because its issuer is unknown to helperd" "client certificate is not accepted: .*issuer is unknown" "$ERR"
cli_run --remote "$URL" --client-cert "$P/alice.crt" --client-key "$P/alice.key" --server-ca "$P/rogue-ca.crt" list
expect_rc "the wrong server CA: refused" 1
expect_match "... the server certificate is not trusted" "helperd's server certificate is not trusted: it must be signed by the CA in $P/rogue-ca.crt" "$ERR"
cli_run --remote "$URL" --client-cert "$P/alice.crt" --client-key "$P/nothere.key" --server-ca "$P/server-ca.crt" list
expect_rc "a missing key file: refused before connecting" 1
expect_match "... naming the file and the option" "cannot read $P/nothere.key .*give --client-key" "$ERR"
cli_run --remote "$URL" --client-cert "$P/alice.crt" --client-key "$P/mallory.key" --server-ca "$P/server-ca.crt" list
expect_rc "a key that does not match the certificate: refused" 1
expect_match "... saying so" "cannot use the client certificate $P/alice.crt with its key" "$ERR"
cli_run --remote "http://127.0.0.1:$PORT" --client-cert "$P/alice.crt" --client-key "$P/alice.key" list
expect_rc "an http:// address: refused" 1
expect_match "... it must be https" 'is not an https:// address' "$ERR"
cli_run --remote "https://127.0.0.1:1" --client-cert "$P/alice.crt" --client-key "$P/alice.key" --server-ca "$P/server-ca.crt" list
expect_rc "nobody listening: unavailable" 5
expect_match "... with what to check" "is https_listen set in its helperd.conf" "$ERR"
cli_run --remote
expect_rc "--remote without a value" 2
OUT=$(curl -sS --cacert "$P/server-ca.crt" --cert "$P/alice.crt" --key "$P/alice.key" -H 'Content-Type: application/json' \
	-d '{"event": "open", "user": "x", "session_id": "0123456789abcdef0123456789abcdef"}' "$URL/v1/sessions" 2>&1)
jq_eq "a remote admin cannot post PAM session events (root, locally, only)" '.error.status' 403 "$OUT"
check "helperd is still running" helperd_alive tls

# ---- helperd's side of bad settings ------------------------------------------------------
chmod 0644 "$P/server.key"
start_helperd bad "listen_socket = $T_TMP/bad/helperd.sock" "https_listen = 127.0.0.1:$((PORT + 1))" \
	"https_cert = $P/server.crt" "https_key = $P/server.key" "https_client_ca = $P/client-ca.crt" >/dev/null
expect_match "a key others can read: helperd refuses to start, says how to fix it" \
	"https_key $P/server.key can be read by group or others: chmod 600 it" "$(cat "$T_TMP/bad/log")"
stop_helperd bad
chmod 0600 "$P/server.key"
start_helperd bad "https_listen = 127.0.0.1:$((PORT + 1))" >/dev/null
expect_match "https_listen without the certificate files: refused" \
	"https_listen needs https_cert, https_key and https_client_ca" "$(cat "$T_TMP/bad/log")"
stop_helperd bad
start_helperd bad "https_listen = localhost:8443" "https_cert = $P/server.crt" "https_key = $P/server.key" \
	"https_client_ca = $P/client-ca.crt" >/dev/null
expect_match "a host name instead of an address: refused with examples" \
	'https_listen "localhost:8443" is not ADDRESS:PORT with a numeric address' "$(cat "$T_TMP/bad/log")"
stop_helperd bad
summary
