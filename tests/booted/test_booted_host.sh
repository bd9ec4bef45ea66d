#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The booted jump host (issue 10, section 3): a Debian 12 system container
# from the test image, systemd as PID 1, becomes a jump host the way an
# admin makes one: `apt-get install ./*.deb` of the five packages (their
# dependencies copied in too: the container has no mirror), then
# /etc/containarium/helperd.conf and `systemctl restart
# containarium-helperd`.  Nothing else is placed by hand.  From the host,
# outside the jump host ("jh"), it then proves:
#   - `ssh -J U@JH U@CONTAINER` into a container made by `containarium
#     create` in jh, and a wrong key refused with "Permission denied",
#     which helperd records as login_failed from sshd's journal;
#   - wake-on-SSH: a stopped container is started by the login;
#   - the remote API over HTTPS with a client certificate (https_listen
#     under systemd's sandbox);
#   - logins through `systemctl restart` and `systemctl kill -s KILL` of
#     helperd (during the restart delay only the snapshots serve sshd);
#   - after `apt-get remove` and `apt-get purge`, a files user still logs
#     in, and nsswitch.conf, pam.d/sshd, sshd_config.d have their bytes back;
# on journal lines (helperd's, sshd's) as well as exit codes.
#
# The backend: the host's test Incus/LXD socket is passed into jh as a
# proxy device on /var/lib/incus/unix.socket.  That is production's shape,
# helperd on the jump host talking to the local daemon's unix socket, found
# at its default path; a nested Incus would need packages from a mirror jh
# cannot reach and would test Incus-in-a-container, not our packages.  So
# no security.nesting either.  The backend is shared with other tests:
# this helperd gets a uid range of its own (and publishes nobody else's
# users), its users a per-run prefix, and only they and jh are deleted.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/testlib.sh"
need_root
# shellcheck source=tests/lxd/lxdlib.sh
. "$SRC/tests/lxd/lxdlib.sh"
# shellcheck source=tests/lib/pki.sh
. "$SRC/tests/lib/pki.sh"
# shellcheck source=tests/lib/debs.sh
. "$SRC/tests/lib/debs.sh"
for tool in dpkg-buildpackage apt-get rsync openssl curl jq ssh ssh-keygen zstd tar lxc; do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
done
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctm-$T_NAME.XXXXXX")
P=bh$(tr -dc a-z0-9 </dev/urandom | head -c 4)
JH=$P-jh
U=${P}u
F=${P}f
BR=ctm$P
NFT=ctm_$P
# uids no other test's helperd hands out (their default range starts at 70001).
read -ra PKGS <<<"$CTM_DEBS_PACKAGES"
UID_MIN=88100
UID_MAX=88199
started=$SECONDS
lap=$SECONDS
timing() { printf '# %s: %d s\n' "$1" $((SECONDS - lap)); lap=$SECONDS; }
cleanup() {
	if ctm_lxd_alive; then
		ctm_lxd_api -f "/1.0/instances/$U-container" >/dev/null 2>&1 && ctm_lxd_delete "$U-container"
		ctm_lxd_api -f "/1.0/instances/$JH" >/dev/null 2>&1 && ctm_lxd_delete "$JH"
		ctm_lxd_api -f "/1.0/networks/$BR" >/dev/null 2>&1 && ctm_lxc network delete -q "$BR"
	fi
	nft list table inet "$NFT" >/dev/null 2>&1 && nft delete table inet "$NFT"
	ctm_lxd_release
	rm -rf "$T_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
setup_fail() {
	fail "$1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | tail -n 20 | sed 's/^/#   /'
	summary
	exit 1
}

# ---- the packages and their dependencies ---------------------------------------
ctm_lxd_up || setup_fail "the test backend comes up"
DEBS=$(ctm_debs_build) || setup_fail "the .debs of this tree build" "$CTM_DEBS_ERR"
timing "the .debs ($DEBS)"
tarball=$("$SRC/tests/lxd/build-image" 2>"$T_TMP/image.log") || setup_fail "the test image" "$(cat "$T_TMP/image.log")"
# The image's dpkg status tells apt what jh lacks.
zstd -dcq "$tarball" | tar -x -C "$T_TMP" rootfs/var/lib/dpkg/status ||
	setup_fail "the image's dpkg status from $tarball"
mkdir "$T_TMP/debs"
for p in $CTM_DEBS_PACKAGES; do cp "$DEBS/${p}_"*.deb "$T_TMP/debs/"; done
rm -f "$T_TMP"/debs/*-dbgsym_*.deb
ctm_debs_deps "$T_TMP/rootfs/var/lib/dpkg/status" "$T_TMP/debs" "$T_TMP/debs" ||
	setup_fail "the packages' dependencies (Debian's mirror or the cache)" "$CTM_DEBS_ERR"
timing "dependencies: $(find "$T_TMP/debs" -name '*.deb' | wc -l) .debs in all"

# ---- a bridge of this run's own, and jh on it -------------------------------------------
# On the shared test bridge jh could not reach the users' containers: with
# br_netfilter on (net.bridge.bridge-nf-call-iptables=1 here) frames between
# two ports of a bridge pass the inet forward hook, where the backend's rule
# for a bridge with ipv4.routing=false rejects them ("Connection refused",
# ICMP port-unreachable).  In production jh is the backend's host, and no
# frame is forwarded.  So: a bridge with routing on, confined by a table of
# our own to traffic within itself.
for n in $(shuf -i 100-250 -n 20); do
	ip -4 route show | grep -q "^10\.214\.$n\." || { BRNET=10.214.$n; break; }
done
[ -n "${BRNET:-}" ] || setup_fail "a free 10.214.N.0/24 for this run's bridge"
ctm_lxc network create -q "$BR" "ipv4.address=$BRNET.1/24" ipv4.nat=false ipv4.routing=true \
	ipv6.address=none ipv4.dhcp.ranges="$BRNET.2-$BRNET.127" raw.dnsmasq=no-resolv >/dev/null ||
	setup_fail "this run's bridge $BR ($BRNET.0/24)"
nft -f - <<EOF || setup_fail "the nft table $NFT confining $BR"
table inet $NFT {
	chain confine {
		type filter hook forward priority -10; policy accept;
		iifname "$BR" oifname != "$BR" drop
		oifname "$BR" iifname != "$BR" drop
	}
}
EOF
CTM_LXD_SUBNET=$BRNET.1/24
in_jh() { ctm_lxc exec "$JH" -- env DEBIAN_FRONTEND=noninteractive "$@"; }
# jh_ok DESCRIPTION COMMAND...: ok when the command succeeds in jh; else its
# last lines are shown.  Its output is in $out.
jh_ok() {
	local d=$1 rc
	shift
	out=$(in_jh "$@" 2>&1)
	rc=$?
	expect_eq "$d" 0 "$rc"
	[ "$rc" -eq 0 ] || printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
}
if ! { ctm_lxc init -q "$CTM_LXD_IMAGE" "$JH" && ctm_lxc config device override -q "$JH" eth0 "network=$BR" >/dev/null &&
	ctm_lxc start -q "$JH"; } || ! JIP=$(ctm_lxd_ipv4 "$JH" 60); then
	setup_fail "jh ($JH) boots with an address on $BR"
fi
state=$(in_jh timeout 60 systemctl is-system-running --wait 2>&1)
expect_match "systemd in jh finishes booting ($state)" '^(running|degraded)$' "$state"
expect_eq "PID 1 in jh is systemd" systemd "$(in_jh ps -o comm= -p 1)"
in_jh mkdir -p /var/lib/incus
ctm_lxc config device add -q "$JH" backend proxy listen=unix:/var/lib/incus/unix.socket \
	"connect=unix:$(ctm_lxd_socket)" bind=container uid=0 gid=0 mode=0660 >/dev/null ||
	setup_fail "the backend socket as a proxy device in jh"
timing "jh booted ($JIP)"

# The bytes purge must give back.
edited() {
	in_jh sh -c 'sha256sum /etc/nsswitch.conf /etc/pam.d/sshd;
		cd /etc/ssh/sshd_config.d && find . -printf "%p %m %U:%G\n" | sort && find . -type f -exec sha256sum {} + | sort'
}
BEFORE=$(edited)

# ---- install -----------------------------------------------------------------------------
in_jh mkdir /root/debs
for f in "$T_TMP"/debs/*.deb; do ctm_lxc file push -q "$f" "$JH/root/debs/"; done
jh_ok "apt-get install ./*.deb in jh (local files only)" \
	sh -c 'cd /root/debs && apt-get install -y -q --no-install-recommends ./*.deb'
for p in $CTM_DEBS_PACKAGES; do
	# shellcheck disable=SC2016 # a dpkg-query format
	expect_eq "$p is installed in jh" "ii " "$(in_jh dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>&1)"
done
expect_eq "ssh.service runs in jh after install (reloaded, not broken)" active "$(in_jh systemctl is-active ssh)"
timing "installed"

# ---- helperd's config -------------------------------------------------------------------------
PKI=$T_TMP/pki
mkdir -m 0700 "$PKI"
if ! { pki_ca "$PKI" server-ca "Test server CA" && pki_ca "$PKI" client-ca "Test client CA" &&
	pki_leaf "$PKI" server "jump.test" server-ca "IP:$JIP" && pki_leaf "$PKI" admin "ops-admin" client-ca; }; then
	setup_fail "test certificates"
fi
in_jh mkdir -p /etc/containarium/tls
for f in server.crt server.key client-ca.crt; do
	ctm_lxc file push -q --mode 0600 "$PKI/$f" "$JH/etc/containarium/tls/"
done
cat >"$T_TMP/helperd.conf" <<EOF
# $T_NAME: the test backend through the proxy device at the default path.
network = $BR
storage_pool = $CTM_LXD_POOL
image = $CTM_LXD_IMAGE
uid_min = $UID_MIN
uid_max = $UID_MAX
default_disk = 1GB
https_listen = 0.0.0.0:8443
https_cert = /etc/containarium/tls/server.crt
https_key = /etc/containarium/tls/server.key
https_client_ca = /etc/containarium/tls/client-ca.crt
EOF
ctm_lxc file push -q --mode 0644 "$T_TMP/helperd.conf" "$JH/etc/containarium/helperd.conf"

hd_journal() { in_jh journalctl -q -u containarium-helperd -o cat --no-pager; }
ssh_journal() { in_jh journalctl -q -u ssh -o cat --no-pager; }
main_pid() { in_jh systemctl show -p MainPID --value containarium-helperd; }
# connected_count: helperd's "connected to" lines so far (one per start).
connected_count() { hd_journal | grep -cE '^connected to (lxd|incus) [^ ]+ at /var/lib/incus/unix\.socket'; }
# wait_connected N: until helperd has said "connected to" N times (30 s).
wait_connected() {
	for _ in $(seq 1 150); do
		[ "$(connected_count)" -ge "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
in_jh systemctl restart containarium-helperd
check "systemctl restart containarium-helperd: it connects to the backend" wait_connected 1
expect_match "helperd's journal: connected to the backend at the default socket" \
	'^connected to (lxd|incus) [^ ]+ at /var/lib/incus/unix\.socket; [0-9]+ containers' "$(hd_journal)"
timing "helperd configured"

# ---- a user, from jh's CLI ------------------------------------------------------------------------
H=$T_TMP/home
mkdir -m 0700 "$H"
for k in "$U" "$U-other" "$F"; do ssh-keygen -q -t ed25519 -N '' -C "$k@laptop" -f "$H/$k" </dev/null; done
ctm_lxc file push -q "$H/$U.pub" "$JH/root/$U.pub"
jh_ok "containarium create $U in jh" containarium create "$U" --ssh-key "/root/$U.pub"
CIP=$(in_jh containarium --json info "$U" | jq -r '.ipv4 // empty')
expect_match "$U's container has a pinned IPv4 on the run's bridge ($CIP)" "^${BRNET//./\\.}\\.[0-9]+$" "$CIP"
expect_match "jh's NSS resolves $U in helperd's uid range" "^$U:\\*:881[0-9][0-9]:" "$(in_jh getent passwd "$U")"
timing "user created"

cat >"$H/config" <<EOF
Host *
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 30
  IdentitiesOnly yes
EOF
# jump USER [COMMAND]: ssh -J USER@jh USER@CONTAINER, as a user types it
# (the same key for both hops, as the users' documents say).
# ssh passes -F on to the ProxyJump hop, not -i: the key is named by the
# remote user (%r) in a config of its own, which only these logins use.
{ cat "$H/config"; printf '  IdentityFile %s/%%r\n' "$H"; } >"$H/jump-config"
jump() {
	local user=$1
	shift
	timeout 90 ssh -F "$H/jump-config" -J "$user@$JIP" "$user@$CIP" "$@" 2>&1
}
direct() { # direct KEY USER COMMAND: a login on jh itself
	local key=$1 user=$2
	shift 2
	timeout 30 ssh -F "$H/config" -i "$H/$key" "$user@$JIP" "$@" 2>&1
}
banner=$(ctm_ssh_banner "$CIP" 60 2>&1)
expect_match "$U's container answers on port 22 from the host" "^SSH-2.0-" "$banner"
# accepted_count USER: sshd's "Accepted publickey for USER" lines so far.
accepted_count() { ssh_journal | grep -c "^Accepted publickey for $1 from "; }

a0=$(accepted_count "$U")
out=$(jump "$U" 'id -un; hostname' | tr -d '\r' | paste -sd '|')
expect_eq "ssh -J $U@jh $U@container: a shell in the container, as $U" "$U|$U-container" "$out"
[ "$out" = "$U|$U-container" ] || {
	ssh_journal | tail -n 8 | sed 's/^/#   sshd: /'
	# shellcheck disable=SC2016 # for the shell in jh
	in_jh timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/22" && head -n 1 <&3' _ "$CIP" 2>&1 | sed 's/^/#   from jh to port 22: /'
	ctm_lxc exec "$U-container" -- sh -c 'systemctl is-active ssh; ss -ltn; ip -4 -br a' 2>&1 | sed 's/^/#   in the container: /'
}
expect_eq "sshd's journal in jh: one more 'Accepted publickey for $U'" $((a0 + 1)) "$(accepted_count "$U")"
expect_match "helperd's journal: the PAM session reached it" '^POST /v1/sessions 20[0-9] uid=0 ' "$(hd_journal)"
out=$(direct "$U-other" "$U" true)
expect_match "another key on $U's jump account: Permission denied (publickey)" \
	"$U@$JIP: Permission denied \\(publickey\\)" "$out"
expect_match "sshd's journal: that key was not accepted" "(Connection closed by authenticating user|Failed publickey for) $U " \
	"$(ssh_journal)"
# helperd follows ssh.service's journal (sshd_log = auto, journald runs):
# the refused key is one login_failed event from the host's address.
for _ in $(seq 50); do
	failed=$(in_jh containarium --json audit --event login_failed --user "$U" 2>&1)
	[ "$(printf '%s' "$failed" | jq '.events | length' 2>/dev/null)" = 1 ] && break
	sleep 0.2
done
expect_eq "helperd, from sshd's journal: login_failed for $U's refused key, from the host" "$U jump 1" \
	"$(printf '%s' "$failed" | jq -r '.events[] | "\(.user) \(.account) \(.rhost | length > 0)"' 2>/dev/null |
		sed 's/true$/1/')"
expect_match "helperd's journal: it follows ssh.service's journal" \
	'^recording failed SSH logins from the journal of ssh.service$' "$(hd_journal)"
[ "$(printf '%s' "$failed" | jq '.events | length' 2>/dev/null)" = 1 ] || {
	printf '%s\n' "$failed" | head -n 5 | sed 's/^/#   audit: /'
	hd_journal | grep -iE 'journal|sshd|login|fail|error' | tail -n 8 | sed 's/^/#   helperd: /'
	in_jh journalctl -q --no-pager -n 5 _COMM=journalctl 2>&1 | sed 's/^/#   journalctl: /'
	in_jh journalctl -q --no-pager -n 5 -g 'SECCOMP|audit' 2>&1 | sed 's/^/#   kernel: /'
	in_jh systemctl show -p MainPID containarium-helperd 2>&1 | sed 's/^/#   /'
	in_jh ps -eo pid,ppid,comm 2>&1 | grep -E 'journalctl|helperd' | sed 's/^/#   ps: /'
}
timing "ssh -J"

# ---- wake-on-SSH ------------------------------------------------------------------------------
jh_ok "containarium stop $U" containarium stop "$U"
expect_eq "$U's container is stopped" Stopped "$(ctm_lxd_state "$U-container")"
expect_eq "ssh -J to the stopped container: the login wakes it" "$U" "$(jump "$U" 'id -un' | tr -d '\r')"
expect_match "helperd's journal: waking $U-container" "^waking $U-container for an SSH session of $U\$" "$(hd_journal)"
expect_eq "$U's container runs again" Running "$(ctm_lxd_state "$U-container")"
timing "wake-on-SSH"

# ---- the remote API from the host ----------------------------------------------------------------
remote() { # remote [CURL-ARGS...] PATH
	curl -sS --max-time 10 --cacert "$PKI/server-ca.crt" -w '\n%{http_code}' "${@:1:$#-1}" "https://$JIP:8443${*: -1}"
}
out=$(remote --cert "$PKI/admin.crt" --key "$PKI/admin.key" "/v1/containers/$U" 2>&1)
expect_eq "remote API: GET /v1/containers/$U with the admin's certificate: 200" 200 "$(tail -n 1 <<<"$out")"
expect_eq "remote API: the answer names $U and its address" "$U $CIP" \
	"$(sed '$d' <<<"$out" | jq -r '"\(.name) \(.ipv4)"' 2>&1)"
out=$(remote "/v1/containers/$U" 2>&1)
check "remote API without a client certificate: no 200" test "$(tail -n 1 <<<"$out")" != 200
expect_match "helperd's journal: the remote call, by certificate" "^GET /v1/containers/$U 200 " "$(hd_journal)"
timing "remote API"

# ---- helperd restarted, and killed --------------------------------------------------------------------
pid=$(main_pid)
in_jh systemctl restart containarium-helperd
check "systemctl restart: helperd connects again" wait_connected 2
check "with a new main process" test "$(main_pid)" != "$pid"
expect_eq "ssh -J after the restart" "$U" "$(jump "$U" 'id -un' | tr -d '\r')"
pid=$(main_pid)
in_jh systemctl kill -s KILL containarium-helperd
sub=$(in_jh systemctl show -p SubState --value containarium-helperd)
expect_eq "after SIGKILL helperd is down, waiting out RestartSec (auto-restart)" auto-restart "$sub"
# RestartSec is 2 s: this login is served by the snapshots and PAM's fail=open.
expect_eq "ssh -J while helperd is down" "$U" "$(jump "$U" 'id -un' | tr -d '\r')"
check "systemd restarts helperd (Restart=on-failure): it connects again" wait_connected 3
check "with a new main process" test "$(main_pid)" != "$pid"
expect_match "the journal: systemd saw the kill" 'Main process exited, code=killed, status=9/KILL' \
	"$(in_jh journalctl -q -u containarium-helperd --no-pager)"
expect_eq "ssh -J after systemd restarted it" "$U" "$(jump "$U" 'id -un' | tr -d '\r')"
timing "restart and kill"

# ---- remove and purge: a files user, and the files' bytes -------------------------------------------------
in_jh useradd -m -s /bin/bash "$F"
in_jh install -d -m 0700 -o "$F" -g "$F" "/home/$F/.ssh"
ctm_lxc file push -q --uid 0 --gid 0 --mode 0644 "$H/$F.pub" "$JH/home/$F/.ssh/authorized_keys"
in_jh chown "$F:$F" "/home/$F/.ssh/authorized_keys"
expect_eq "files user $F logs in to jh with the packages installed" "$F" "$(direct "$F" "$F" id -un | tr -d '\r')"
jh_ok "apt-get remove of the five packages" apt-get remove -y -q "${PKGS[@]}"
f0=$(accepted_count "$F")
expect_eq "after remove, $F still logs in" "$F" "$(direct "$F" "$F" id -un | tr -d '\r')"
expect_eq "sshd's journal: Accepted publickey for $F" $((f0 + 1)) "$(accepted_count "$F")"
out=$(direct "$U" "$U" true)
# No Match block now: sshd's own defaults offer passwords too.
expect_match "after remove, the jump user $U is gone from jh: Permission denied (publickey,password)" \
	"$U@$JIP: Permission denied \\(publickey,password\\)" "$out"
jh_ok "apt-get purge of the five packages" apt-get purge -y -q "${PKGS[@]}"
expect_eq "after purge, $F still logs in" "$F" "$(direct "$F" "$F" id -un | tr -d '\r')"
expect_eq "sshd's journal: Accepted publickey for $F again" $((f0 + 2)) "$(accepted_count "$F")"
expect_eq "after purge: nsswitch.conf, pam.d/sshd, sshd_config.d have their original bytes" "$BEFORE" "$(edited)"
timing "remove and purge"

printf '# %d s in all\n' $((SECONDS - started))
summary
