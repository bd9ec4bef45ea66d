#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One trusted SSH identity across a cluster of jump hosts (issue 12), live:
# three members (clusterlib.sh), one host CA given to every member the way
# Terraform does (the startup script's settings: each member signs its own
# host keys for the load balancer's name and its own name and address, and
# helperd signs every container's).  The host plays the developer's laptop,
# holding nothing but what `containarium export --jump-ip LB-NAME` wrote
# (an ssh_config that maps the load balancer's name to a member with
# HostName and HostKeyAlias, as DNS and the balancer would, is the only
# thing added):
#   - ssh -J through member 1 and through member 2 under the one name, no
#     question; straight into the container from a member's host;
#   - after a stop and start through another member, and after a snapshot
#     restore from before a rotation (signed again when the login wakes it);
#   - an unsigned sshd on member 1's address: refused;
#   - the rotation done through the startup script's settings on every
#     member (new CA trusted, then signing, then the old one gone): the
#     export of each step gets in at the next, through both members.
# Needs root; everything it makes is removed at the end.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
. "$HERE/../lib/testlib.sh"
need_root
CTM_BACKEND=incus
# shellcheck source-path=SCRIPTDIR
. "$HERE/clusterlib.sh"
for tool in /usr/libexec/incus/incusd incus nsenter unshare openssl jq ssh ssh-keygen python3 btrfs; do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
done
for f in helperd/containarium-helperd cli/containarium nss_containarium/libnss_containarium.so.2; do
	[ -f "$BUILD/$f" ] || { fail "$BUILD/$f is built (make BUILD=...)"; summary; exit 1; }
done
mk_scratch
N=3
IMPOSTOR=
cleanup() {
	[ -z "$IMPOSTOR" ] || kill "$IMPOSTOR" 2>/dev/null
	cl_down
	rm -rf "$T_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
exec 9>"$CTM_TEST_CACHE/.cluster.lock"
flock 9
cl_down

t0=$SECONDS
if ! cl_up "$N"; then
	fail "a $N-member cluster with a jump host on each and one host CA comes up: $CL_ERR"
	summary
	exit 1
fi
ok "a $N-member cluster with a jump host on each and one host CA comes up ($((SECONDS - t0)) s)"
fp() { ssh-keygen -l -f "$1" | awk '{ print $2 }'; }
CA1=$CL_HOME/certs/host_ca
for i in 1 2 3; do
	expect_eq "m$i: its host certificates, signed by the deployment's CA for $CL_LB_NAME, its address and name" \
		"$(fp "$CA1.pub") $CL_LB_NAME,$(cl_addr "$i"),m$i" \
		"$(cl_in "$i" ssh-keygen -L -f /etc/ssh/containarium/ssh_host_ed25519_key-cert.pub |
			awk '$1 == "Signing" { ca = $4 } $1 == "Principals:" { p = 1; next }
				p && /^[ \t]+[^:]+$/ { l = l (l == "" ? "" : ",") $1; next } p { p = 0 } END { print ca, l }')"
done

cli() {
	local i=$1
	shift
	cl_in "$i" /usr/local/bin/containarium "$@"
}
K=$T_TMP/keys
mkdir -m 0700 "$K"
ssh-keygen -q -t ed25519 -N '' -C hostca-test -f "$K/id" </dev/null
for i in 1 2 3; do cp "$K/id.pub" "$CL_HOME/m$i/etc/containarium/test-user.pub"; done
U=alice
out=$(cli 1 create "$U" --ssh-key /etc/containarium/test-user.pub --target m3 2>&1)
expect_eq "create $U through m1, on m3" 0 "$?" || printf '%s\n' "$out" | tail -n 5 | sed 's/^/#   /'
IP=$(cli 1 --json info "$U" | jq -r .ipv4)
LOC=$(cli 1 --json info "$U" | jq -r .location)
echo "# $U's container is on $LOC at $IP"
cert_of() { cl_api 1 GET "/1.0/instances/$U-container" | jq -r '.metadata.config["user.containarium.host_cert"] // ""'; }
expect_eq "its certificate: the CA's, for its address" "$(fp "$CA1.pub") $IP" "$(cert_of)"

# export TAG: U's files as m1's containarium writes them, for the name
# of the load balancer.
export_as() {
	cli 1 export "$U" --jump-ip "$CL_LB_NAME" --key "$K/id" --known-hosts "$T_TMP/$1.known_hosts" \
		--output "$T_TMP/$1.conf" --known-hosts-output "$T_TMP/$1.known_hosts" --force >/dev/null
}
# via I TAG: an ssh_config where the balancer's name leads to member I
# (what DNS and the balancer do), then the exported block as it is.
via() {
	printf 'Host containarium-jump-%s\n    HostName %s\n    HostKeyAlias %s\n\nMatch all\nInclude %s\n' \
		"$U" "$(cl_addr "$1")" "$CL_LB_NAME" "$T_TMP/$2.conf" >"$T_TMP/via$1-$2.conf"
	printf '%s\n' "$T_TMP/via$1-$2.conf"
}
# login I TAG: ssh USER-dev through member I with TAG's export.
login() {
	timeout 60 ssh -F "$(via "$1" "$2")" -o BatchMode=yes -o ConnectTimeout=20 "$U-dev" id -un </dev/null 2>"$T_TMP/ssh.err"
}
errs() { tr -d '\r' <"$T_TMP/ssh.err"; }

check "export --jump-ip $CL_LB_NAME through m1 writes the ssh_config and the known hosts" export_as e1
expect_eq "the known hosts: the CA for $CL_LB_NAME and the containers' network" \
	"@cert-authority $CL_LB_NAME,10.213.91.* $(cut -d' ' -f1,2 "$CA1.pub") containarium-host-ca" \
	"$(grep -v '^#' "$T_TMP/e1.known_hosts")"
for i in 1 2; do
	expect_eq "ssh -J through m$i under $CL_LB_NAME with only the exported files: in, no question" \
		"$U|" "$(login "$i" e1)|$(errs)"
done
direct() { # direct I TAG: from member I's host straight into the container
	cl_in "$1" timeout 60 ssh -F /dev/null -i "$K/id" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
		-o "UserKnownHostsFile=$T_TMP/$2.known_hosts" -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=20 \
		"$U@$IP" id -un </dev/null 2>"$T_TMP/ssh.err"
}
expect_eq "straight into the container from m3's host, against the CA only" "$U|" "$(direct 3 e1)|$(errs)"

# ---- stop, start through another member ------------------------------------------------
cli 2 stop "$U" >/dev/null 2>&1
out=$(cli 3 start "$U" 2>&1)
expect_eq "stopped through m2, started through m3" 0 "$?" || printf '%s\n' "$out" | sed 's/^/#   /'
expect_eq "after stop and start: in through m1, no question" "$U|" "$(login 1 e1)|$(errs)"
expect_eq "... through m2 too" "$U|" "$(login 2 e1)|$(errs)"

# ---- an impostor on member 1's address -----------------------------------------------------
cl_sshd_stop 1
ssh-keygen -q -t ed25519 -N '' -f "$T_TMP/impostor_key" </dev/null
printf 'HostKey %s\nListenAddress %s:22\nPidFile /run/impostor.pid\nUsePAM no\n' "$T_TMP/impostor_key" "$(cl_addr 1)" \
	>"$T_TMP/impostor.conf"
(cl_exec 1 /usr/sbin/sshd -D -f "$T_TMP/impostor.conf" </dev/null >/dev/null 2>&1 9>&-) &
IMPOSTOR=$!
for _ in $(seq 100); do timeout 1 bash -c "exec 3<>/dev/tcp/$(cl_addr 1)/22" 2>/dev/null && break; sleep 0.05; done
out=$(login 1 e1)
expect_eq "an unsigned sshd on m1's address: refused (255)" 255 "$?"
expect_match "... with OpenSSH's own words" "No ED25519 host key is known for $CL_LB_NAME and you have requested strict checking" "$(errs)"
kill "$IMPOSTOR"
wait "$IMPOSTOR" 2>/dev/null
IMPOSTOR=
cl_sshd_start 1 || fail "m1's sshd again: $CL_ERR"
expect_eq "m1's own sshd again: in" "$U" "$(login 1 e1)"

# ---- rotation through the startup script's settings on every member --------------------------
# settings_all: every member's startup phase with CL_HOST_CA and
# CL_HOST_CA_TRUSTED (the installer signs its host keys again), then its
# helperd restarted (the startup script restarts it when the CA changed;
# it signs its member's running containers again at start).
settings_all() {
	local i
	for i in 1 2 3; do
		cl_startup "$i" hostca || { fail "m$i: the startup script's hostca phase: $CL_ERR"; return 1; }
		kill -HUP "$(cat "$CL_HOME/m$i/sshd.pid")"
		cl_helperd_stop "$i"
		cl_helperd_start "$i" || { fail "m$i: helperd again: $CL_ERR"; return 1; }
	done
}
CA2=$T_TMP/host_ca2
ssh-keygen -q -t ed25519 -N '' -C '' -f "$CA2" </dev/null
{ cat "$CL_HOME/certs/host_ca.trusted"; printf '%s containarium-host-ca-ca2\n' "$(cut -d' ' -f1,2 "$CA2.pub")"; } >"$T_TMP/trusted12"
printf '%s containarium-host-ca-ca2\n' "$(cut -d' ' -f1,2 "$CA2.pub")" >"$T_TMP/trusted2"

cli 1 stop "$U" >/dev/null 2>&1
snapshot=$(cl_api 1 POST "/1.0/instances/$U-container/snapshots" -H 'Content-Type: application/json' -d '{"name": "ca1"}' |
	jq -r .operation)
expect_eq "a snapshot of $U's container (certificate of the first CA)" Success \
	"$(cl_api 1 GET "$snapshot/wait?timeout=120" | jq -r .metadata.status)"
cli 1 start "$U" >/dev/null 2>&1

# 1. the new CA trusted alongside.
CL_HOST_CA_TRUSTED=$T_TMP/trusted12 settings_all
export_as e2
expect_eq "step 1: the export names both CAs" 2 "$(grep -c '^@cert-authority' "$T_TMP/e2.known_hosts")"
for i in 1 2; do
	expect_eq "step 1 through m$i: the export of before gets in" "$U" "$(login "$i" e1)"
	expect_eq "step 1 through m$i: the new export gets in" "$U" "$(login "$i" e2)"
done
# 2. the new CA signs.
CL_HOST_CA=$CA2 CL_HOST_CA_TRUSTED=$T_TMP/trusted12 settings_all
for _ in $(seq 100); do [ "$(cert_of)" = "$(fp "$CA2.pub") $IP" ] && break; sleep 0.2; done
expect_eq "step 2: $U's container signed again by the new CA (the helperd of $LOC, at its start)" \
	"$(fp "$CA2.pub") $IP" "$(cert_of)"
for i in 1 2 3; do
	check "step 2: m$i's host certificates are the new CA's" grep -qF "Signing CA: ED25519 $(fp "$CA2.pub")" \
		<<<"$(cl_in "$i" ssh-keygen -L -f /etc/ssh/containarium/ssh_host_ed25519_key-cert.pub)"
done
for i in 1 2; do
	expect_eq "step 2 through m$i: the export of step 1 gets in" "$U|" "$(login "$i" e2)|$(errs)"
done
# 3. the old CA retired.
CL_HOST_CA=$CA2 CL_HOST_CA_TRUSTED=$T_TMP/trusted2 settings_all
export_as e3
expect_eq "step 3: the export names the new CA only" "$(cut -d' ' -f1,2 "$CA2.pub")" \
	"$(grep '^@cert-authority' "$T_TMP/e3.known_hosts" | cut -d' ' -f3,4)"
for i in 1 2; do
	expect_eq "step 3 through m$i: the export of step 1 gets in" "$U" "$(login "$i" e2)"
	expect_eq "step 3 through m$i: the new export gets in" "$U|" "$(login "$i" e3)|$(errs)"
done
expect_eq "step 3: straight into the container from m2's host" "$U" "$(direct 2 e3)"

# ---- a snapshot from before the rotation ------------------------------------------------------
cli 1 stop "$U" >/dev/null 2>&1
op=$(cl_api 1 PUT "/1.0/instances/$U-container" -H 'Content-Type: application/json' -d '{"restore": "ca1"}' | jq -r .operation)
expect_eq "the snapshot restored" Success "$(cl_api 1 GET "$op/wait?timeout=120" | jq -r .metadata.status)"
expect_eq "... its record names the retired CA: stale" stale "$(cli 2 --json info "$U" | jq -r .host_certificate)"
expect_eq "the login through m2 wakes it, signed again: in, no question" "$U|" "$(login 2 e3)|$(errs)"
expect_eq "... by the new CA" "$(fp "$CA2.pub") $IP" "$(cert_of)"
expect_eq "... and through m1 too" "$U" "$(login 1 e3)"

cli 1 delete "$U" --force >/dev/null 2>&1
summary
