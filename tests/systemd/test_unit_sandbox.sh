#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# containarium-helperd.service under a real systemd: a Debian 12 system
# container from the test image boots systemd 252 as PID 1, and helperd
# runs there from the unit file as shipped (only the binary's path is the
# package's, /usr/sbin).  What its sandbox allows and refuses is then
# systemd's doing, not ours to assume:
#   - Type=notify readiness, the journal, restart, Restart=on-failure after
#     SIGKILL;
#   - the Internet sockets helperd needs (https_listen here; the wake probe
#     is the same address families), reached from the host with a client
#     certificate; and, as the control, the same unit with the old
#     RestrictAddressFamilies=AF_UNIX, which must fail the way it did;
#   - the hardening in force on the running process (no new privileges,
#     the one capability, seccomp);
#   - the host CA (helperd.conf host_ca_key): ExecStartPre's --check-config
#     and the start read it with ssh-keygen and sign a trial certificate in
#     state_dir, as every create does, inside the sandbox;
#   - offline on the host: `systemd-analyze verify` clean, and the exposure
#     score of `systemd-analyze security` at most 2.0 ("OK").
# The container has no backend socket: helperd serves with the backend
# down (503s), which is enough for what this tests; the booted jump host
# with packages and a backend is another test.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/testlib.sh"
need_root
# shellcheck source=tests/lxd/lxdlib.sh
. "$SRC/tests/lxd/lxdlib.sh"
# shellcheck source=tests/lib/pki.sh
. "$SRC/tests/lib/pki.sh"
for tool in openssl curl jq systemd-analyze ldd; do
	command -v "$tool" >/dev/null || { fail "$tool is installed (tests/install-deps)"; summary; exit 1; }
done
HELPERD=$BUILD/helperd/containarium-helperd
UNIT=$SRC/helperd/containarium-helperd.service
if [ ! -x "$HELPERD" ]; then
	fail "built: $HELPERD (run make)"
	summary
	exit 1
fi
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctm-$T_NAME.XXXXXX")
C=ctmsd$$
cleanup() {
	ctm_lxd_alive && ctm_lxd_delete "$C" >/dev/null 2>&1
	ctm_lxd_release
	rm -rf "$T_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# offline, on the host"
mkdir -p "$T_TMP/man/man8" "$T_TMP/man/man5" "$T_TMP/unit"
cp "$SRC/helperd/containarium-helperd.8" "$T_TMP/man/man8/"
cp "$SRC/helperd/helperd.conf.5" "$T_TMP/man/man5/"
# verify checks that ExecStart's binary and the Documentation= pages exist.
sed "s|/usr/local/sbin|$BUILD/helperd|g" "$UNIT" >"$T_TMP/unit/containarium-helperd.service"
out=$(MANPATH=$T_TMP/man systemd-analyze verify "$T_TMP/unit/containarium-helperd.service" 2>&1)
expect_eq "systemd-analyze verify: clean" "0:" "$?:$out"
score=$(systemd-analyze security --offline=yes "$T_TMP/unit/containarium-helperd.service" 2>&1 |
	sed -n 's/.*Overall exposure level for containarium-helperd.service: \([0-9.]*\) .*/\1/p')
echo "# exposure score: ${score:-none}"
check "systemd-analyze security: exposure ${score:-?} is at most 2.0 (OK)" \
	awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'

echo "# a booted Debian 12 container: systemd as PID 1"
ctm_lxd_up || { fail "the test backend comes up"; summary; exit 1; }
if ! ctm_lxd_launch "$C" || ! IP=$(ctm_lxd_ipv4 "$C" 60); then
	fail "container $C boots with an address"
	summary
	exit 1
fi
state=$(ctm_lxc exec "$C" -- timeout 60 systemctl is-system-running --wait 2>&1)
expect_match "systemd in $C finishes booting ($state)" '^(running|degraded)$' "$state"
expect_match "PID 1 is systemd 252 or later" '^systemd (25[2-9]|2[6-9][0-9])' \
	"$(ctm_lxc exec "$C" -- systemctl --version | head -n 1)"

# helperd and the shared libraries the image lacks (a package brings
# them through its dependencies; here a directory and LD_LIBRARY_PATH in a
# drop-in stand in for that, and change nothing else of the unit).
ctm_lxc exec "$C" -- mkdir -p /usr/local/lib/containarium-test /etc/containarium/tls \
	/etc/systemd/system/containarium-helperd.service.d
ctm_lxc file push -q "$HELPERD" "$C/usr/sbin/containarium-helperd"
ldd "$HELPERD" | awk '$3 ~ /^\// { print $3 }' | grep -Ev '/(libc|ld-linux[^/]*)\.so' | while read -r lib; do
	ctm_lxc file push -q "$lib" "$C/usr/local/lib/containarium-test/"
done
sed 's|/usr/local/sbin|/usr/sbin|g' "$UNIT" >"$T_TMP/containarium-helperd.service"
ctm_lxc file push -q "$T_TMP/containarium-helperd.service" "$C/etc/systemd/system/"
printf '[Service]\nEnvironment=LD_LIBRARY_PATH=/usr/local/lib/containarium-test\n' >"$T_TMP/libs.conf"
ctm_lxc file push -q "$T_TMP/libs.conf" "$C/etc/systemd/system/containarium-helperd.service.d/"

P=$T_TMP/pki
mkdir -m 0700 "$P"
pki_ca "$P" server-ca "Test server CA"
pki_ca "$P" client-ca "Test client CA"
pki_leaf "$P" server "jump.test" server-ca "IP:$IP"
pki_leaf "$P" admin "ops-admin" client-ca
for f in server.crt server.key client-ca.crt; do
	ctm_lxc file push -q --mode 0600 "$P/$f" "$C/etc/containarium/tls/"
done
# The host CA, root's only (as the startup script writes it).
ssh-keygen -q -t ed25519 -N '' -C '' -f "$T_TMP/host_ca" </dev/null
ctm_lxc exec "$C" -- install -d -m 0700 /etc/containarium/host-ca
ctm_lxc file push -q --mode 0600 "$T_TMP/host_ca" "$C/etc/containarium/host-ca/host_ca"
ctm_lxc file push -q --mode 0644 "$T_TMP/host_ca.pub" "$C/etc/containarium/host-ca/host_ca.pub"
cat >"$T_TMP/helperd.conf" <<'EOF'
# Nothing listens here: helperd serves with its backend down.
incus_socket = /run/containarium-test/no-backend.sock
admin_group =
keys_group =
https_listen = 0.0.0.0:8443
https_cert = /etc/containarium/tls/server.crt
https_key = /etc/containarium/tls/server.key
https_client_ca = /etc/containarium/tls/client-ca.crt
log_level = info
host_ca_key = /etc/containarium/host-ca/host_ca
EOF
ctm_lxc file push -q --mode 0600 "$T_TMP/helperd.conf" "$C/etc/containarium/helperd.conf"

in_c() { ctm_lxc exec "$C" -- "$@"; }
main_pid() { in_c systemctl show -p MainPID --value containarium-helperd; }
# https_answers: the remote API's /v1/system from the host, with the
# admin's certificate; prints the HTTP status and the backend's state.
https_answers() {
	curl -sS --max-time 5 --cert "$P/admin.crt" --key "$P/admin.key" --cacert "$P/server-ca.crt" \
		-w '%{http_code}\n' -o "$T_TMP/system.json" "https://$IP:8443/v1/system" 2>"$T_TMP/curl.err"
	jq -r '"available=\(.backend.available)"' "$T_TMP/system.json" 2>/dev/null
}
# wait_active: until the unit is active with a main process (15 s).
wait_active() {
	for _ in $(seq 1 75); do
		[ "$(in_c systemctl is-active containarium-helperd)" = active ] && [ "$(main_pid)" != 0 ] && return 0
		sleep 0.2
	done
	return 1
}
journal() { in_c journalctl -q -u containarium-helperd -o cat --no-pager; }
# not_in TEXT PATTERN: no line of TEXT has PATTERN.
not_in() { ! grep -q -- "$2" <<<"$1"; }

echo "# the unit as shipped"
in_c systemctl daemon-reload
in_c systemctl start containarium-helperd
check "systemctl start: the unit is active (Type=notify: helperd said READY=1)" wait_active
expect_eq "its status text is helperd's own" serving "$(in_c systemctl show -p StatusText --value containarium-helperd)"
expect_eq "the remote API answers over IPv4 from the host: 200, backend down" "200
available=false" "$(https_answers)"
log=$(journal)
expect_match "the journal: helperd listens on https_listen" \
	'remote API \(HTTPS, client certificates\) listening on 0\.0\.0\.0:8443' "$log"
expect_match "the journal: the API socket" 'API listening on /run/containarium/helperd\.sock' "$log"
expect_match "the journal: the backend down, said so" 'cannot reach the container backend' "$log"
check "the journal: no address family refused" not_in "$log" 'Address family not supported'
check "the journal: the host CA read and a trial certificate signed by ssh-keygen in the sandbox" \
	grep -qF "SSH host certificates: signed by the host CA $(ssh-keygen -l -f "$T_TMP/host_ca.pub" | awk '{ print $2 }')" <<<"$log"
check "... and nothing of it left in state_dir" \
	test -z "$(in_c find /var/lib/containarium -name '.host-cert-*')"
pid=$(main_pid)
status=$(in_c cat "/proc/$pid/status")
expect_match "the running helperd has no new privileges" '^NoNewPrivs:[[:space:]]+1$' "$status"
expect_match "its bounding set is CAP_CHOWN alone" '^CapBnd:[[:space:]]+0000000000000001$' "$status"
expect_match "it runs under a seccomp filter" '^Seccomp:[[:space:]]+2$' "$status"
# shellcheck disable=SC2016 # $5 is awk's
expect_match "its /proc hides other users' processes and all but them (ProtectProc, ProcSubset)" \
	'hidepid=invisible.*subset=pid|subset=pid.*hidepid=invisible' \
	"$(in_c awk '$5 == "/proc"' "/proc/$pid/mountinfo")"

echo "# restart, and SIGKILL"
in_c systemctl restart containarium-helperd
check "systemctl restart: active again" wait_active
new=$(main_pid)
check "a new main process ($pid -> $new)" test "$new" != "$pid"
expect_eq "the remote API answers after the restart" "200
available=false" "$(https_answers)"
in_c systemctl kill -s KILL containarium-helperd
sleep 0.5
check "after SIGKILL, Restart=on-failure brings it back" wait_active
again=$(main_pid)
check "with a new main process ($new -> $again)" test "$again" != "$new"
expect_match "the journal says systemd saw the kill" 'Main process exited, code=killed, status=9/KILL' \
	"$(in_c journalctl -q -u containarium-helperd --no-pager)"
expect_eq "the remote API answers after the kill" "200
available=false" "$(https_answers)"

echo "# control: the unit with RestrictAddressFamilies=AF_UNIX, as it was"
printf '[Service]\nRestrictAddressFamilies=\nRestrictAddressFamilies=AF_UNIX\n' >"$T_TMP/old.conf"
ctm_lxc file push -q "$T_TMP/old.conf" "$C/etc/systemd/system/containarium-helperd.service.d/"
in_c systemctl daemon-reload
in_c systemctl restart containarium-helperd 2>/dev/null # it fails: the journal says how
sleep 1
expect_match "with AF_UNIX alone the remote API cannot start" 'Address family not supported by protocol' \
	"$(journal)"
check "and the host reaches nothing" not_in "$(https_answers)" 200
in_c rm /etc/systemd/system/containarium-helperd.service.d/old.conf
in_c systemctl daemon-reload
in_c systemctl restart containarium-helperd
wait_active
expect_eq "the shipped unit again: the remote API answers" "200
available=false" "$(https_answers)"

summary
