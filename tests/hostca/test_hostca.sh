#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SSH host certificates end to end on one installed jump host (issue 12):
# the host CA signs the jump host's keys (containarium-host-setup --host-ca)
# and every container's (helperd's create), and a user holding nothing but
# what `containarium export` wrote (an ssh_config block with
# StrictHostKeyChecking yes and a known_hosts file of @cert-authority lines)
# logs in without a question:
#   - ssh -J through the jump host, and straight into the container;
#   - after a stop and start; after wake-on-SSH; after a resize;
#   - after a snapshot restore that brought back a certificate of the CA
#     the deployment has since retired (helperd signs it again when the
#     container starts, or is woken by the login);
# impostors are refused with OpenSSH's own words: a second sshd with an
# unsigned key on the jump host's address, one with a certificate of
# another CA, a container whose certificate was removed; the rotation to a
# new CA loses no login of a user who took the export of each step; a CA
# file others may read stops helperd.
#
# The installed host is tests/lib/installed_host.sh's (private mount, pid
# and UTS namespaces over a copy of /etc; the host's real sshd and PAM on
# loopback; helperd on the test backend); its helperd has a uid range of
# its own, so it never signs another test's containers on the shared
# backend.
#
#   BUILD=build bash tests/hostca/test_hostca.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
. "$HERE/../lib/testlib.sh"
# shellcheck source-path=SCRIPTDIR
. "$SRC/tests/lxd/lxdlib.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac

if [ "${1:-}" != --inside ]; then
	need_root
	for tool in /usr/sbin/sshd ssh ssh-keygen unshare $(ctm_backend_tools) jq useradd curl; do
		command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
	done
	need_built "$BUILD"/{cli/containarium,helperd/containarium-helperd,nss_containarium/libnss_containarium.so.2} \
		"$BUILD"/{authorized_keys/containarium-authorized-keys,pam_containarium/pam_containarium.so}
	P=hc$(tr -dc a-z0-9 </dev/urandom | head -c 4)
	# Inside, the test deletes its containers; this is for a test that died.
	trap 'for u in a b; do ctm_lxd_api -f "/1.0/instances/$P$u-container" >/dev/null 2>&1 &&
		ctm_lxd_delete "$P$u-container"; done; ctm_lxd_release' EXIT
	ctm_lxd_up || { fail "the test $CTM_BACKEND_NAME comes up"; summary; exit 1; }
	unshare --mount --pid --uts --fork --kill-child --mount-proc \
		env BUILD="$BUILD" SRC="$SRC" P="$P" bash "$HERE/$(basename "$0")" --inside
	exit $?
fi

# ---- inside the namespaces ------------------------------------------------------
set -u
W=/run/ctm-hostca
PORT=$(free_port) # the jump sshd: never a fixed port, suites run side by side
ALICE=${P}a
BOB=${P}b
CLI=/usr/local/bin/containarium
CA=/etc/containarium/host-ca
setup_fail() {
	fail "setup: $*"
	summary
	exit 1
}
IMPOSTOR_PID=
cleanup() {
	for u in "$ALICE" "$BOB"; do
		ctm_lxd_api -f "/1.0/instances/$u-container" >/dev/null 2>&1 && ctm_lxd_delete "$u-container"
	done
	[ -z "$IMPOSTOR_PID" ] || kill "$IMPOSTOR_PID" 2>/dev/null
	ih_stop
}
trap cleanup EXIT
trap 'exit 1' INT TERM

hostname "jump-$$"
# shellcheck source=tests/lib/installed_host.sh
. "$SRC/tests/lib/installed_host.sh"
ih_prepare || setup_fail "$IH_ERR"

# ---- the host CA and the installer --------------------------------------------------
install -d -m 0700 "$CA"
for n in host_ca host_ca2 rogue_ca; do
	ssh-keygen -q -t ed25519 -N '' -C "test $n" -f "$CA/$n" </dev/null
done
: >"$CA/trusted.pub"
cat >>/etc/containarium/helperd.conf <<EOF
uid_min = 66000
uid_max = 66999
host_ca_key = $CA/host_ca
host_ca_trust = $CA/trusted.pub
EOF
# conf_set KEY VALUE: helperd.conf's line for KEY says VALUE now.
conf_set() { sed -i "s|^$1 = .*|$1 = $2|" /etc/containarium/helperd.conf; }

chmod 0644 "$CA/host_ca"
out=$(/usr/local/sbin/containarium-helperd -c /etc/containarium/helperd.conf --check-config 2>&1)
rc=$?
check "helperd refuses a host CA others may read (exit $rc)" test "$rc" -ne 0
expect_match "... and says what to do" "host_ca_key $CA/host_ca may be read by others .*chmod 600" "$out"
chmod 0600 "$CA/host_ca"
out=$(/usr/local/sbin/containarium-helperd -c /etc/containarium/helperd.conf --check-config 2>&1)
check "helperd --check-config: the CA is fine (ssh-keygen ran and read it)" \
	grep -qF "fine; host CA $(ssh-keygen -l -f "$CA/host_ca.pub" | awk '{ print $2 }')" <<<"$out"

if ih_install --host-ca "$CA/host_ca" --host-principals "jump.hostca.test,127.0.0.1"; then
	ok "containarium-host-setup install --host-ca"
else
	fail "containarium-host-setup install --host-ca"
	printf '%s\n' "$IH_ERR" | sed 's/^/#   /'
fi
ih_start_helperd || setup_fail "$IH_ERR"
ih_start_sshd "$PORT" || setup_fail "$IH_ERR"

# ---- the users' laptop --------------------------------------------------------------
mkdir -m 0700 "$W/home" "$W/home/.ssh"
mount --bind "$W/home" /root || setup_fail "bind a home on /root"
export HOME=/root
for u in "$ALICE" "$BOB"; do
	ssh-keygen -q -t ed25519 -N '' -C "$u@laptop" -f "/root/.ssh/$u" </dev/null
done

# export U TAG: U's files as `containarium export` writes them, the known
# hosts in $W/TAG.known_hosts (named so in the ssh_config block).
export_for() {
	"$CLI" export "$1" --jump-ip 127.0.0.1 --jump-port "$PORT" --key "/root/.ssh/$1" \
		--known-hosts "$W/$2.known_hosts" --output "$W/$2.conf" --known-hosts-output "$W/$2.known_hosts" --force
}
# login TAG HOST [CMD]: ssh with nothing but the exported files (and batch
# mode, as a test has no terminal to ask on).
login() {
	local tag=$1 host=$2
	shift 2
	timeout 60 ssh -F "$W/$tag.conf" -o BatchMode=yes -o ConnectTimeout=20 "$host" "${@:-id -un}" </dev/null 2>"$W/ssh.err"
}
errs() { tr -d '\r' <"$W/ssh.err"; }
# direct TAG USER IP: straight into the container, checked against TAG's
# known hosts only.
direct() {
	timeout 60 ssh -F /dev/null -i "/root/.ssh/$2" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$W/$1.known_hosts" -o GlobalKnownHostsFile=/dev/null \
		-o ConnectTimeout=20 "$2@$3" id -un </dev/null 2>"$W/ssh.err"
}
cert_of() { ctm_lxd_api "/1.0/instances/$1-container" | jq -r '.metadata.config["user.containarium.host_cert"] // ""'; }
fp() { ssh-keygen -l -f "$1" | awk '{ print $2 }'; }

# ---- creates ------------------------------------------------------------------------------
for u in "$ALICE" "$BOB"; do
	t0=$(date +%s%N)
	OUT=$("$CLI" create "$u" --ssh-key "/root/.ssh/$u.pub" 2>&1)
	expect_eq "create $u with a host CA" 0 "$?" || printf '%s\n' "$OUT" | sed 's/^/#   /'
	echo "# create $u: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
done
AIP=$("$CLI" --json info "$ALICE" | jq -r .ipv4)
BIP=$("$CLI" --json info "$BOB" | jq -r .ipv4)
expect_eq "info: $ALICE's host certificate is current" current "$("$CLI" --json info "$ALICE" | jq -r .host_certificate)"
expect_eq "the instance records the CA and the address it was signed for" "$(fp "$CA/host_ca.pub") $AIP" "$(cert_of "$ALICE")"
# in_ct NAME CMD: run CMD in the container NAME, its stdout printed.
in_ct() { ctm_lxc exec "$1" -- sh -c "$2"; }
certs=$(in_ct "$ALICE-container" 'for c in /etc/ssh/containarium/*-cert.pub; do ssh-keygen -L -f "$c"; done')
expect_eq "the container's Ed25519 and ECDSA host keys are certified (2 certificates)" 2 \
	"$(grep -c 'host certificate' <<<"$certs")"
expect_eq "... by the host CA" 2 "$(grep -c "Signing CA: ED25519 $(fp "$CA/host_ca.pub")" <<<"$certs")"
expect_eq "... for its address and its name" "$AIP $ALICE-container" \
	"$(awk '/Principals:/ { p = 1; next } p && /^[ \t]+[^ :]+$/ { printf "%s%s", s, $1; s = " "; next } p { exit }' <<<"$certs")"
check "... and the private keys stay in the container, root's only (0600)" \
	test "$(in_ct "$ALICE-container" 'stat -c %a /etc/ssh/containarium/ssh_host_ed25519_key')" = 600
expect_eq "the container's sshd serves them (sshd -T)" 2 \
	"$(in_ct "$ALICE-container" '/usr/sbin/sshd -T | grep -c ^hostcertificate')"

# ---- the user's side -----------------------------------------------------------------------
if export_for "$ALICE" a1 >"$W/export.out" 2>&1; then ok "export writes the ssh_config and the known hosts"; else
	fail "export writes the ssh_config and the known hosts"; sed 's/^/#   /' "$W/export.out"; fi
expect_eq "the block checks both hosts strictly against its own known_hosts file" "2 2" \
	"$(grep -c '^    StrictHostKeyChecking yes$' "$W/a1.conf") $(grep -c "^    UserKnownHostsFile $W/a1.known_hosts\$" "$W/a1.conf")"
NET=$(ctm_lxd_subnet_addr 0 | sed 's/\.0$/.*/')
expect_eq "the known hosts: the host CA for the jump host and the containers' network" \
	"@cert-authority [127.0.0.1]:$PORT,$NET $(cut -d' ' -f1,2 "$CA/host_ca.pub") containarium-host-ca" \
	"$(grep -v '^#' "$W/a1.known_hosts")"
expect_eq "the known hosts file is mode 0600" 600 "$(stat -c %a "$W/a1.known_hosts")"
OUT=$(login a1 "$ALICE-dev")
expect_eq "ssh -J with only the exported files: in, as $ALICE" "$ALICE" "$OUT" || errs | sed 's/^/#   /'
expect_eq "... and ssh asked nothing, added nothing, warned of nothing" "" "$(errs)"
check "... and wrote no known_hosts of its own" test ! -e /root/.ssh/known_hosts
expect_eq "straight into the container (no jump) against the CA only" "$ALICE" "$(direct a1 "$ALICE" "$AIP")" ||
	errs | sed 's/^/#   /'

# ---- stop, start, wake -----------------------------------------------------------------------
"$CLI" stop "$ALICE" >/dev/null 2>&1
"$CLI" start "$ALICE" >/dev/null 2>&1
expect_eq "after stop and start: in, no question" "$ALICE|" "$(login a1 "$ALICE-dev")|$(errs)"
"$CLI" stop "$ALICE" >/dev/null 2>&1
expect_eq "after stop, the login wakes the container: in, no question" "$ALICE|" "$(login a1 "$ALICE-dev")|$(errs)"
expect_eq "... its certificate unchanged (the same record)" "$(fp "$CA/host_ca.pub") $AIP" "$(cert_of "$ALICE")"
# Resize changes limits live (no restart): the certificate and its record
# stay as they were.  (Memory and CPU: the LXD backend's dir pool refuses a
# disk size.)
OUT=$("$CLI" resize "$ALICE" --memory 768MiB --cpu 2 2>&1)
expect_eq "resize $ALICE" 0 "$?" || printf '%s\n' "$OUT" | sed 's/^/#   /'
expect_eq "after resize: in, no question, the same record" "$ALICE||$(fp "$CA/host_ca.pub") $AIP" \
	"$(login a1 "$ALICE-dev")|$(errs)|$(cert_of "$ALICE")"

# ---- impostors ---------------------------------------------------------------------------------
# A second sshd on the jump host's address and port, with a key of its own
# and no certificate (the real one stopped: it is the one a man in the
# middle would replace).
impostor() { # impostor KEY [CERT]
	kill "$SSHD_PID"
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
	{
		printf 'HostKey %s\nListenAddress 127.0.0.1:%s\nPidFile %s/impostor.pid\nUsePAM no\n' "$1" "$PORT" "$W"
		[ -z "${2:-}" ] || printf 'HostCertificate %s\n' "$2"
	} >"$W/impostor.conf"
	/usr/sbin/sshd -D -f "$W/impostor.conf" -E "$W/impostor.log" </dev/null >/dev/null 2>&1 &
	IMPOSTOR_PID=$!
	for _ in $(seq 100); do [ -s "$W/impostor.pid" ] && break; sleep 0.05; done
}
impostor_gone() {
	kill "$IMPOSTOR_PID" 2>/dev/null
	wait "$IMPOSTOR_PID" 2>/dev/null
	IMPOSTOR_PID=
	rm -f "$W/impostor.pid"
	ih_start_sshd "$PORT" || setup_fail "$IH_ERR"
}
ssh-keygen -q -t ed25519 -N '' -f "$W/impostor_key" </dev/null
impostor "$W/impostor_key"
OUT=$(login a1 "$ALICE-dev")
rc=$?
expect_eq "an unsigned sshd on the jump host's address: refused (255)" 255 "$rc"
expect_match "... with OpenSSH's own words" "No ED25519 host key is known for \[127.0.0.1\]:$PORT and you have requested strict checking" "$(errs)"
impostor_gone
cp "$W/impostor_key.pub" "$W/rogue.pub"
ssh-keygen -q -s "$CA/rogue_ca" -h -I rogue -n 127.0.0.1,jump.hostca.test "$W/rogue.pub"
impostor "$W/impostor_key" "$W/rogue-cert.pub"
OUT=$(login a1 "$ALICE-dev")
rc=$?
expect_eq "an sshd with a certificate of another CA for the right names: refused (255)" 255 "$rc"
expect_match "... with OpenSSH's own words" "Host key verification failed" "$(errs)"
impostor_gone
expect_eq "the real jump host back: in again" "$ALICE" "$(login a1 "$ALICE-dev")"

export_for "$BOB" b >/dev/null 2>&1
expect_eq "$BOB gets in while his container has its certificate" "$BOB" "$(login b "$BOB-dev")"
in_ct "$BOB-container" 'rm -f /etc/ssh/containarium/*-cert.pub /etc/ssh/sshd_config.d/containarium-host-certificate.conf &&
	kill -HUP "$(cat /run/sshd.pid)"'
sleep 0.5
OUT=$(login b "$BOB-dev")
rc=$?
expect_eq "a container whose certificate was removed: refused (255)" 255 "$rc"
expect_match "... with OpenSSH's own words" "No (ED25519|ECDSA) host key is known for $BIP and you have requested strict checking" "$(errs)"
OUT=$(direct b "$BOB" "$BIP")
expect_eq "... straight in too" 255 "$?"
"$CLI" delete "$BOB" --force >/dev/null 2>&1

# ---- rotation: a new CA alongside, then the old one retired ------------------------------------------
# Users keep the export of each step; each must still get in at the next.
snap() { # snap METHOD PATH BODY: an async backend call, waited for
	local r op
	r=$(ctm_lxd_api -X "$1" -H 'Content-Type: application/json' -d "$3" "$2") || return 1
	op=$(jq -r '.operation // empty' <<<"$r")
	[ -n "$op" ] || { echo "$r" >&2; return 1; }
	[ "$(ctm_lxd_api "$op/wait?timeout=120" | jq -r .metadata.status)" = Success ]
}
"$CLI" stop "$ALICE" >/dev/null 2>&1
check "a snapshot of $ALICE's container (its certificate of the first CA)" \
	snap POST "/1.0/instances/$ALICE-container/snapshots" '{"name": "before-rotation"}'
"$CLI" start "$ALICE" >/dev/null 2>&1

# 1. the new CA alongside: exports trust both; hosts still show the old one.
cp "$CA/host_ca2.pub" "$CA/trusted.pub"
export_for "$ALICE" a2 >/dev/null 2>&1
expect_eq "step 1 (new CA trusted alongside): the export names both CAs" 2 "$(grep -c '^@cert-authority' "$W/a2.known_hosts")"
expect_eq "step 1: the export of before gets in" "$ALICE" "$(login a1 "$ALICE-dev")"
expect_eq "step 1: the new export gets in" "$ALICE" "$(login a2 "$ALICE-dev")"

# 2. the new CA signs: helperd restarted (it signs its member's running
# containers again at start), the jump host's certificates signed again.
conf_set host_ca_key "$CA/host_ca2"
cp "$CA/host_ca.pub" "$CA/trusted.pub"
kill "$HELPERD_PID"
wait "$HELPERD_PID" 2>/dev/null
ih_start_helperd || setup_fail "helperd with the new CA: $IH_ERR"
ih_install --host-ca "$CA/host_ca2" || fail "install --host-ca (the new CA): $IH_ERR"
kill -HUP "$SSHD_PID"
for _ in $(seq 100); do
	[ "$(cert_of "$ALICE")" = "$(fp "$CA/host_ca2.pub") $AIP" ] && break
	sleep 0.2
done
expect_eq "step 2: helperd's start signed $ALICE's running container with the new CA" \
	"$(fp "$CA/host_ca2.pub") $AIP" "$(cert_of "$ALICE")"
check "step 2: the jump host's certificates are the new CA's" grep -qF "Signing CA: ED25519 $(fp "$CA/host_ca2.pub")" \
	<<<"$(ssh-keygen -L -f /etc/ssh/containarium/ssh_host_ed25519_key-cert.pub)"
expect_eq "step 2: the export of step 1 gets in" "$ALICE|" "$(login a2 "$ALICE-dev")|$(errs)"
OUT=$(login a1 "$ALICE-dev")
expect_eq "step 2: an export of before step 1 (the old CA only) is refused: users need step 1's" 255 "$?"

# 3. the old CA retired.
: >"$CA/trusted.pub"
export_for "$ALICE" a3 >/dev/null 2>&1
expect_eq "step 3 (old CA retired): the export names the new CA only" \
	"$(cut -d' ' -f1,2 "$CA/host_ca2.pub")" "$(grep '^@cert-authority' "$W/a3.known_hosts" | cut -d' ' -f3,4)"
expect_eq "step 3: the export of step 1 still gets in" "$ALICE" "$(login a2 "$ALICE-dev")"
expect_eq "step 3: the new export gets in" "$ALICE|" "$(login a3 "$ALICE-dev")|$(errs)"
expect_eq "step 3: straight into the container too" "$ALICE" "$(direct a3 "$ALICE" "$AIP")"

# ---- a snapshot restore brings back the retired CA's certificate -----------------------------------
"$CLI" stop "$ALICE" >/dev/null 2>&1
check "restore the snapshot taken before the rotation" \
	snap PUT "/1.0/instances/$ALICE-container" '{"restore": "before-rotation"}'
expect_eq "the restored instance says it was signed by the old CA" "$(fp "$CA/host_ca.pub") $AIP" "$(cert_of "$ALICE")"
expect_eq "... which helperd reads as stale" stale "$("$CLI" --json info "$ALICE" | jq -r .host_certificate)"
expect_eq "after the restore, the login wakes the container, which is signed again: in, no question" \
	"$ALICE|" "$(login a3 "$ALICE-dev")|$(errs)"
expect_eq "... by the new CA" "$(fp "$CA/host_ca2.pub") $AIP" "$(cert_of "$ALICE")"
"$CLI" stop "$ALICE" >/dev/null 2>&1
snap PUT "/1.0/instances/$ALICE-container" '{"restore": "before-rotation"}' || fail "restore again"
OUT=$("$CLI" start "$ALICE" 2>&1)
expect_eq "restored again, containarium start signs it again" "0 $(fp "$CA/host_ca2.pub") $AIP" "$? $(cert_of "$ALICE")" ||
	printf '%s\n' "$OUT" | sed 's/^/#   /'
expect_eq "... and the export of step 3 gets in" "$ALICE|" "$(login a3 "$ALICE-dev")|$(errs)"

# A restore while it runs: the backend restarts it with the old certificate.
# A login to a container helperd last read as Running takes no trip through
# the backend when port 22 accepts; with a certificate to renew it must.
# (Until helperd has read the restored record its registry says current:
# the login is tried for up to 20 s.)
check "restore the snapshot again, the container running" \
	snap PUT "/1.0/instances/$ALICE-container" '{"restore": "before-rotation"}'
got=
for _ in $(seq 20); do
	got="$(login a3 "$ALICE-dev")|$(errs)"
	[ "$got" = "$ALICE|" ] && break
	sleep 1
done
expect_eq "after a restore while it ran, the login signs it again: in, no question" "$ALICE|" "$got"
expect_eq "... by the new CA" "$(fp "$CA/host_ca2.pub") $AIP" "$(cert_of "$ALICE")"

# ---- delete ------------------------------------------------------------------------------------
"$CLI" delete "$ALICE" --force >/dev/null 2>&1
expect_eq "no error lines in helperd's log" "" "$(grep -E '<[0-3]>' "$W/helperd.log" | head -5)"
summary
