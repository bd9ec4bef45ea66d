#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# containarium cert generate|revoke|list against a real helperd on the real
# test backend: a CA, a server certificate for 127.0.0.1 and localhost, and
# client certificates made by the CLI; the helperd.conf lines it prints,
# pasted as they are, start helperd's remote API; two admins call it with
# --remote; the second is revoked and refused during the TLS handshake
# while the first still works; a connection opened before a revocation is
# refused at its next request; a CRL that turns bad keeps the old list in
# force; helperd refuses to start with another CA's CRL.  openssl itself
# checks the SANs, the chain and the CRL; stat the modes.
#
#   BUILD=build bash tests/cli/test_cli_cert.sh
. "$(dirname "$0")/../lib/testlib.sh"
need_root
CLI=$BUILD/cli/containarium
HELPERD=${CTM_HELPERD:-$BUILD/helperd/containarium-helperd}
. "$SRC/tests/lxd/lxdlib.sh"
need_built "$CLI" "$HELPERD"
for tool in jq openssl curl python3 unshare $(ctm_backend_tools); do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
done
. "$SRC/tests/cli/clilib.sh"
mk_scratch
PORT=$(free_port)
URL=https://127.0.0.1:$PORT
cleanup() {
	stop_helperd cert
	stop_helperd bad
	ctm_lxd_release
	rm -rf "$T_TMP"
}
trap cleanup EXIT

# ---- arguments, before any file is touched ----------------------------------------------
P=$T_TMP/etc/certs   # its parent does not exist yet: made too
cli_run cert generate --output-dir "$P" --server-ip 127.0.0.1.5
expect_rc "--server-ip that is no address: usage error" 2
expect_match "... naming it and where host names go" '--server-ip "127.0.0.1.5" is not an IPv4 or IPv6 address.*--dns' "$ERR"
cli_run cert generate --output-dir "$P" --dns 10.0.0.1
expect_rc "--dns with an address: usage error" 2
cli_run cert generate --output-dir "$P" --client ../root
expect_rc "--client with a path in it: usage error" 2
expect_match "... saying what a name may hold" 'is not a name for a client certificate: use 1 to 64 letters' "$ERR"
cli_run cert generate --output-dir "$P" --server-ip 127.0.0.1 --https-listen localhost:8443
expect_rc "--https-listen with a host name: usage error" 2
cli_run cert generate --output-dir "$P" --client a --client a
expect_rc "a --client given twice: usage error" 2
check "nothing was written for a refused command" test ! -e "$P"
cli_run cert revoke
expect_rc "cert revoke without a name" 2
cli_run cert list --output-dir "$P"
expect_rc "cert list where there is no CA: not found" 3
expect_match "... saying how to make one" "does not exist: make the CA first with containarium cert generate" "$ERR"
cli_run cert
expect_rc "cert without a subcommand" 2

# ---- help and the manual ------------------------------------------------------------------
cli_run --help
expect_match "--help lists cert generate, revoke and list" 'cert generate.*CA.*' "$OUT"
expect_match "... and cert revoke" '^  cert revoke ' "$OUT"
cli_run help cert generate
expect_match "help cert generate: usage with --server-ip, --dns, --client" \
	'Usage: containarium cert generate \[--server-ip IP\]\.\.\. \[--dns NAME\]\.\.\. \[--client NAME\]' "$OUT"
cli_run cert --help
expect_match "cert --help lists the three" 'containarium cert list' "$OUT"
check "containarium(1) documents cert generate" grep -q 'cert generate' "$SRC/cli/containarium.1"
check "helperd.conf(5) documents https_crl" grep -q 'https_crl' "$SRC/helperd/helperd.conf.5"

# ---- generate --------------------------------------------------------------------------------
cli_run cert generate --output-dir "$P" --server-ip 127.0.0.1 --dns localhost --client ops-alice \
	--client ops-bob --https-listen "127.0.0.1:$PORT"
expect_rc "cert generate: a CA, a server certificate, two clients" 0
GEN=$OUT
expect_match "it says the CA is new" "^CA: $P/ca.crt, CN=Containarium CA [0-9A-F]{8},O=Containarium, valid until .* \(new" "$GEN"
expect_match "it prints https_crl among the helperd.conf lines" "^https_crl = $P/crl.pem$" "$GEN"
expect_match "it tells each admin the --remote URL" "containarium --remote https://localhost:$PORT list" "$GEN"
mapfile -t CONF < <(printf '%s\n' "$GEN" | grep '^https_')
expect_eq "five helperd.conf lines" 5 "${#CONF[@]}"
expect_eq "the first one is https_listen, as asked" "https_listen = 127.0.0.1:$PORT" "${CONF[0]}"

modes=$(cd "$P" && stat -c '%a %n' . ca.key ca.crt server.key server.crt clients clients/ops-alice.key \
	clients/ops-alice.crt clients/ops-bob.key crl.pem index.json | paste -sd, -)
expect_eq "modes: the directory 0700, keys 0600, certificates, CRL and index 0644" \
	"700 .,600 ca.key,644 ca.crt,600 server.key,644 server.crt,700 clients,600 clients/ops-alice.key,644 clients/ops-alice.crt,600 clients/ops-bob.key,644 crl.pem,644 index.json" \
	"$modes"
check "no temporary file left behind" test -z "$(find "$P" -name '.*.??????')"

TEXT=$(openssl x509 -in "$P/server.crt" -noout -text)
expect_match "openssl: the server certificate's SANs are --server-ip and --dns" \
	'IP Address:127.0.0.1, DNS:localhost' "$TEXT"
expect_match "... for TLS servers" 'TLS Web Server Authentication' "$TEXT"
expect_match "... ECDSA P-256" 'NIST CURVE: P-256' "$TEXT"
expect_match "openssl: a client certificate is named by its CN" 'CN ?= ?ops-alice' \
	"$(openssl x509 -in "$P/clients/ops-alice.crt" -noout -subject)"
expect_match "... for TLS clients" 'TLS Web Client Authentication' \
	"$(openssl x509 -in "$P/clients/ops-alice.crt" -noout -text)"
OUT=$(openssl verify -CAfile "$P/ca.crt" "$P/server.crt" "$P/clients/ops-alice.crt" "$P/clients/ops-bob.crt" 2>&1)
expect_eq "openssl verify accepts the chain of all three" 0 "$?"
quiet() { "$@" >/dev/null 2>&1; }
check "openssl crl parses the CRL" quiet openssl crl -in "$P/crl.pem" -noout
check "... the CA signed it" quiet openssl crl -in "$P/crl.pem" -noout -CAfile "$P/ca.crt"
OUT=$(openssl verify -crl_check -CAfile "$P/ca.crt" -CRLfile "$P/crl.pem" "$P/clients/ops-bob.crt" 2>&1)
expect_eq "openssl verify -crl_check: bob is not revoked yet" 0 "$?"

# ---- what generate refuses -------------------------------------------------------------------
CA_FP=$(openssl x509 -in "$P/ca.crt" -noout -fingerprint)
cli_run cert generate --output-dir "$P" --client ops-alice
expect_rc "a second certificate for a name that has a valid one: conflict" 4
expect_match "... saying to revoke it first or use --force" \
	"ops-alice already has a valid certificate \(serial [0-9A-F]+, valid until .*\): revoke it first \(containarium cert revoke ops-alice\), or add --force" "$ERR"
cli_run cert generate --output-dir "$P" --server-ip 127.0.0.1
expect_rc "a second server certificate without --force: conflict" 4
cli_run cert generate --output-dir "$P" --new-ca
expect_rc "--new-ca over an existing CA without --force: conflict" 4
expect_match "... saying what it would break" 'already has a CA: --new-ca replaces it, and every certificate it signed stops working; add --force' "$ERR"
cli_run cert generate --output-dir "$P" --client ops-zed --days 4000
expect_rc "--days beyond the CA: usage error" 2
expect_match "... with the most it can be" 'would outlive the CA \(valid until .*\): give --days [0-9]+ or less' "$ERR"
cli_run cert generate --output-dir "$P"
expect_rc "nothing to make: usage error" 2
cli_run --json cert generate --output-dir "$P" --client ops-alice
jq_eq "--json: a refusal is an error object" '.error.code' certificate_exists "$OUT"
expect_eq "the CA was not touched by any of these" "$CA_FP" "$(openssl x509 -in "$P/ca.crt" -noout -fingerprint)"

# --json, adding a third admin to the same CA.
cli_run --json cert generate --output-dir "$P" --client ops-carol
expect_rc "--json cert generate --client ops-carol" 0
jq_eq "--json: the existing CA is used" '.ca.created' false "$OUT"
jq_eq "--json: the client, its files and status" '.clients[0] | .name + " " + .cert + " " + .status' \
	"ops-carol $P/clients/ops-carol.crt valid" "$OUT"
jq_eq "--json: the same helperd.conf lines" '.helperd_conf | join("|")' "$(printf '%s|' "${CONF[@]}" | sed 's/|$//')" "$OUT"
jq_eq "--json: the URL for clients" '.remote' "https://localhost:$PORT" "$OUT"
cli_run --json cert list --output-dir "$P"
jq_eq "cert list --json: server and three clients, all valid" \
	'[.certificates[] | .kind + ":" + .name + ":" + .status] | join(" ")' \
	"server:localhost:valid client:ops-alice:valid client:ops-bob:valid client:ops-carol:valid" "$OUT"
jq_eq "cert list --json: the CRL, number 1, empty" '.crl | (.number | tostring) + " " + (.entries | tostring)' "1 0" "$OUT"
BOB_SERIAL=$(printf '%s' "$OUT" | jq -r '.certificates[] | select(.name == "ops-bob") | .serial')
cli_run cert list --output-dir "$P"
expect_match "cert list: a table" '^KIND +NAME +SERIAL +EXPIRES +STATUS' "$OUT"

# ---- helperd with the pasted lines ------------------------------------------------------------
ctm_lxd_up || { fail "the test $CTM_BACKEND_NAME comes up"; summary; exit 1; }
if start_helperd cert "${CONF[@]}"; then ok "helperd starts with the printed helperd.conf lines pasted"; else
	fail "helperd starts with the printed helperd.conf lines pasted"; summary; exit 1; fi
expect_match "its log: the CRL is checked" "client certificates are checked against https_crl $P/crl.pem \(0 revoked" \
	"$(cat "$T_TMP/cert/log")"
as() { local who=$1; shift; cli_run --remote "$URL" --client-cert "$P/clients/$who.crt" \
	--client-key "$P/clients/$who.key" --server-ca "$P/ca.crt" "$@"; }
as ops-alice system info
expect_rc "alice: system info over HTTPS" 0
as ops-alice --json list
expect_rc "alice: list --json over HTTPS" 0
jq_eq "... a list of containers" '.containers | type' array "$OUT"
as ops-bob --json list
expect_rc "bob: list --json over HTTPS" 0
OUT=$(curl -sS --cacert "$P/ca.crt" --cert "$P/clients/ops-bob.crt" --key "$P/clients/ops-bob.key" \
	"https://localhost:$PORT/v1/system" 2>&1)
jq_eq "curl with the files as they are, by host name (the DNS SAN)" '.backend.available' true "$OUT"

# ---- revoking bob --------------------------------------------------------------------------------
cli_run cert revoke --output-dir "$P" ops-bob
expect_rc "cert revoke ops-bob" 0
expect_match "... naming the certificate" "Revoked ops-bob's certificate, serial $BOB_SERIAL" "$OUT"
expect_match "openssl crl lists bob's serial" "Serial Number: $BOB_SERIAL" "$(openssl crl -in "$P/crl.pem" -noout -text)"
OUT=$(openssl verify -crl_check -CAfile "$P/ca.crt" -CRLfile "$P/crl.pem" "$P/clients/ops-bob.crt" 2>&1)
expect_match "openssl verify -crl_check: bob is revoked" 'certificate revoked' "$OUT"
check "openssl verify -crl_check: alice is not" quiet openssl verify -crl_check -CAfile "$P/ca.crt" \
	-CRLfile "$P/crl.pem" "$P/clients/ops-alice.crt"

as ops-bob list
expect_rc "bob, revoked: denied" 6
expect_match "... the CLI says his certificate was revoked, during the handshake" \
	"helperd refused the client certificate $P/clients/ops-bob.crt during the TLS handshake: it has been revoked" "$ERR"
OUT=$(curl -sS --tls-max 1.2 --cacert "$P/ca.crt" --cert "$P/clients/ops-bob.crt" --key "$P/clients/ops-bob.key" \
	"$URL/v1/system" 2>&1)
expect_match "curl, TLS 1.2: the handshake fails with a certificate_revoked alert" '^curl: \(35\) .*alert certificate revoked' "$OUT"
OUT=$(curl -sS --tlsv1.3 --cacert "$P/ca.crt" --cert "$P/clients/ops-bob.crt" --key "$P/clients/ops-bob.key" \
	"$URL/v1/system" 2>&1)
expect_match "curl, TLS 1.3: the alert, and no HTTP answer" '^curl: \([0-9]+\) .*alert certificate revoked' "$OUT"
expect_match "helperd's log names whom it refused at the handshake" \
	"refused the revoked client certificate of ops-bob \(serial $BOB_SERIAL\) at the TLS handshake" "$(cat "$T_TMP/cert/log")"
as ops-alice --json list
expect_rc "alice still works after bob's revocation" 0
as ops-alice system info
expect_rc "... system info too" 0

cli_run cert revoke --output-dir "$P" ops-bob
expect_rc "revoking bob again: not an error" 0
expect_match "... it says so" "ops-bob's certificate, serial $BOB_SERIAL, was already revoked" "$OUT"
cli_run --json cert revoke --output-dir "$P" ops-nobody
expect_rc "revoking a name never issued: not found" 3
jq_eq "... --json: error not_found" '.error.code' not_found "$OUT"
SERVER_SERIAL=$(jq -r '.certificates[] | select(.kind == "server") | .serial' "$P/index.json")
cli_run cert revoke --output-dir "$P" "$SERVER_SERIAL"
expect_rc "revoking the server certificate: refused, with what to do instead" 2
expect_match "... replace it" "helperd's server certificate; clients do not read a revocation list, so replace it" "$ERR"

# A connection opened before the revocation: refused at its next request.
cat >"$T_TMP/keepalive.py" <<'EOF'
import http.client, json, ssl, subprocess, sys
d, port, cli = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=d + "/ca.crt")
ctx.load_cert_chain(d + "/clients/ops-carol.crt", d + "/clients/ops-carol.key")
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
c.request("GET", "/v1/system")
r = c.getresponse()
first = r.status
r.read()
subprocess.run([cli, "cert", "revoke", "--output-dir", d, "ops-carol"], check=True, stdout=subprocess.DEVNULL)
c.request("GET", "/v1/system")
r = c.getresponse()
print(first, r.status, json.loads(r.read())["error"]["code"])
EOF
OUT=$(python3 "$T_TMP/keepalive.py" "$P" "$PORT" "$CLI" 2>&1)
expect_eq "carol's open connection: 200, then, revoked, 403 client_certificate_revoked" \
	"200 403 client_certificate_revoked" "$OUT"

# Bob gets a new certificate: no --force needed, the old one is revoked.
cli_run cert generate --output-dir "$P" --client ops-bob
expect_rc "a new certificate for bob" 0
as ops-bob --json list
expect_rc "bob's new certificate works" 0
cli_run --json cert list --output-dir "$P"
jq_eq "cert list: bob's old certificate revoked, the new one valid" \
	'[.certificates[] | select(.name == "ops-bob") | .status] | join(" ")' "revoked valid" "$OUT"
jq_eq "... the CRL lists two (bob's old one, carol's)" '.crl.entries' 2 "$OUT"

# ---- a CRL that turns bad --------------------------------------------------------------------------
cp "$P/crl.pem" "$T_TMP/good-crl.pem"
printf 'not a CRL\n' >"$P/.crl.tmp" && mv "$P/.crl.tmp" "$P/crl.pem"
as ops-alice system info
expect_rc "a damaged CRL file: alice still works" 0
OUT=$(curl -sS --cacert "$P/ca.crt" --cert "$P/clients/ops-carol.crt" --key "$P/clients/ops-carol.key" "$URL/v1/system" 2>&1)
expect_match "... carol is still refused (the list read before stays in force)" 'alert certificate revoked' "$OUT"
expect_match "... and the log says so, naming the file" \
	"https_crl $P/crl.pem is not PEM .*; the list read before stays in force \(2 revoked certificates\)" \
	"$(cat "$T_TMP/cert/log")"
cli_run cert generate --output-dir "$P" --client ops-dan
expect_rc "the next cert command writes the CRL again" 0
expect_match "... and says so" 'crl.pem did not match index.json and was written again' "$OUT"
as ops-alice system info
expect_rc "alice works" 0
expect_match "helperd read the repaired CRL" "https_crl $P/crl.pem read again: 2 revoked certificates" \
	"$(cat "$T_TMP/cert/log")"
check "helperd is still running" helperd_alive cert
stop_helperd cert

# ---- helperd refuses a CRL that is not its client CA's -----------------------------------------------
Q=$T_TMP/other
cli_run cert generate --output-dir "$Q"
expect_rc "a second CA, with no certificates (the default directory layout)" 0
expect_match "... it says what to make next" 'No server certificate yet: containarium cert generate --server-ip IP' "$OUT"
start_helperd bad "${CONF[@]}" "https_crl = $Q/crl.pem" >/dev/null
expect_match "another CA's CRL: helperd refuses to start, naming it" \
	"https_crl $Q/crl.pem is not signed by a CA of https_client_ca" "$(cat "$T_TMP/bad/log")"
stop_helperd bad
start_helperd bad "${CONF[@]}" "https_crl = $P/ca.crt" >/dev/null
expect_match "a certificate as https_crl: refused" "https_crl $P/ca.crt holds no revocation list" "$(cat "$T_TMP/bad/log")"
stop_helperd bad

# ---- a new CA over the old one --------------------------------------------------------------------
cli_run cert generate --output-dir "$Q" --new-ca --force --server-ip 10.1.2.3
expect_rc "--new-ca --force" 0
expect_match "... the old one moved aside" "The previous CA and everything it signed moved to $Q/old/[0-9T]+Z" "$OUT"
expect_match "... https_listen defaults to 0.0.0.0:8443" '^https_listen = 0.0.0.0:8443$' "$OUT"
OLD=$(find "$Q/old" -mindepth 1 -maxdepth 1 -type d)
expect_eq "... the old CA key kept, mode 0600" 600 "$(stat -c %a "$OLD/ca.key")"
check "... the old and new CA differ" test "$(openssl x509 -in "$OLD/ca.crt" -noout -fingerprint)" != \
	"$(openssl x509 -in "$Q/ca.crt" -noout -fingerprint)"
summary
