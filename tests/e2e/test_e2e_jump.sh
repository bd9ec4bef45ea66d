#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole system end to end, as an admin installs it: `make install`,
# containarium-host-setup on the host's own /etc (sshd drop-in, nsswitch,
# PAM), helperd on the real test LXD, the host's real sshd binary with the
# host's sshd_config and PAM stack, and real containers.  Then what issue 5
# asks: ssh -J into alice's container; no shell, TTY or other tunnels on
# the jump host; bob's key does not open alice's account; a stopped
# container is woken by the login; the audit log has the sessions with
# durations, and failed logins (a wrong key, an unknown name) read from
# sshd's own log, which its filters select and its summary counts, through
# a logrotate-style rotation; `containarium sessions` shows a held ssh -J;
# with helperd killed alice still gets in (fail=open) or is
# refused (fail=closed); a local `files` user logs in exactly as before.
#
# Private mount, pid and UTS namespaces over a copy of /etc, a scratch
# /usr/local, /var/lib/containarium and /run: nothing on the host changes.
# sshd listens on loopback only; the containers are on the test bridge.
#
#   BUILD=build bash tests/e2e/test_e2e_jump.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/testlib.sh"
. "$SRC/tests/lxd/lxdlib.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac

if [ "${1:-}" != --inside ]; then
	need_root
	for tool in /usr/sbin/sshd ssh ssh-keygen unshare $(ctm_backend_tools) jq useradd; do
		command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
	done
	need_built "$BUILD"/{cli/containarium,helperd/containarium-helperd,nss_containarium/libnss_containarium.so.2} \
		"$BUILD"/{authorized_keys/containarium-authorized-keys,pam_containarium/pam_containarium.so}
	P=e2e$(tr -dc a-z0-9 </dev/urandom | head -c 4)
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
W=/run/ctm-e2e
PORT=$(free_port) # the jump sshd: never a fixed port, suites run side by side
ALICE=${P}a
BOB=${P}b
CLI=/usr/local/bin/containarium
setup_fail() {
	fail "setup: $*"
	summary
	exit 1
}
cleanup() {
	for u in "$ALICE" "$BOB"; do
		ctm_lxd_api -f "/1.0/instances/$u-container" >/dev/null 2>&1 && ctm_lxd_delete "$u-container"
	done
	ih_stop
}
trap cleanup EXIT
trap 'exit 1' INT TERM

hostname "jump-$$"
. "$SRC/tests/lib/installed_host.sh"
ih_prepare || setup_fail "$IH_ERR"

# ---- install, as the README says ---------------------------------------------------
if ih_install; then ok "containarium-host-setup install"; else fail "containarium-host-setup install"; fi
printf '%s\n' "$IH_OUT" | sed 's/^/#   /'
check "sshd -t on the installed configuration" /usr/sbin/sshd -t
ih_start_helperd || setup_fail "$IH_ERR"
ih_start_sshd "$PORT" || setup_fail "$IH_ERR"
check "sshd runs with UsePAM yes (the host's sshd_config)" \
	bash -c '/usr/sbin/sshd -T -C user=root,host=x,addr=127.0.0.1 | grep -qx "usepam yes"'

# ---- the users' laptops -----------------------------------------------------------------
mkdir -m 0700 "$W/home" "$W/home/.ssh"
mount --bind "$W/home" /root || setup_fail "bind a home on /root"
export HOME=/root
for u in "$ALICE" "$BOB"; do
	ssh-keygen -q -t ed25519 -N '' -C "$u@laptop" -f "/root/.ssh/$u" </dev/null
done

# ---- the admin creates two users ---------------------------------------------------------
for u in "$ALICE" "$BOB"; do
	OUT=$("$CLI" create "$u" --ssh-key "/root/.ssh/$u.pub" 2>&1)
	expect_eq "containarium create $u" 0 "$?" || printf '%s\n' "$OUT" | sed 's/^/#   /'
done
AIP=$("$CLI" --json info "$ALICE" | jq -r .ipv4)
BIP=$("$CLI" --json info "$BOB" | jq -r .ipv4)
GW=$(ctm_lxd_subnet_addr 1)

# Client configuration: one jump entry per user, as `containarium export`
# writes them, host keys not pinned (fresh containers).
"$CLI" export "$ALICE" --jump-ip 127.0.0.1 --jump-port "$PORT" --key "/root/.ssh/$ALICE" >"$W/alice.conf"
"$CLI" export "$BOB" --jump-ip 127.0.0.1 --jump-port "$PORT" --key "/root/.ssh/$BOB" >"$W/bob.conf"
{
	printf 'Host *\n  BatchMode yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n'
	printf '  LogLevel ERROR\n  ConnectTimeout 30\n  IdentitiesOnly yes\n\n'
	cat "$W/alice.conf" "$W/bob.conf"
} >/root/.ssh/config
chmod 0600 /root/.ssh/config
JA=containarium-jump-$ALICE

grep -q "^Host $JA\$" /root/.ssh/config || setup_fail "export names the jump entry $JA: $(cat "$W/alice.conf")"
ctm_ssh_banner "$AIP" 60 >/dev/null
ctm_ssh_banner "$BIP" 60 >/dev/null

mark() { wc -l <"$W/sshd.log"; }
since() { tail -n "+$(($1 + 1))" "$W/sshd.log"; }

# ---- alice gets in ------------------------------------------------------------------------
M=$(mark)
OUT=$(ssh -J "$JA" -i "/root/.ssh/$ALICE" "$ALICE@$AIP" 'id -un; hostname' 2>&1)
expect_eq "ssh -J $ALICE@127.0.0.1:$PORT $ALICE@IP: runs in her container as her" \
	"$ALICE|$ALICE-container" "$(printf '%s' "$OUT" | paste -sd '|')"
expect_match "sshd's log: Accepted publickey for $ALICE" "Accepted publickey for $ALICE from 127.0.0.1" "$(since "$M")"
OUT=$(ssh "$ALICE-dev" id -un 2>&1)
expect_eq "the exported config works as is (ssh $ALICE-dev)" "$ALICE" "$OUT"

# ---- and nowhere else -----------------------------------------------------------------------
OUT=$(ssh "$JA" 2>&1)
expect_eq "$ALICE on the jump host: no shell (exit 1)" 1 "$?"
# Nothing before it: sshd changes into the jump users' home (/) silently.
expect_eq "$ALICE on the jump host: nologin's refusal, and nothing else" \
	"This account is currently not available." "$(printf '%s' "$OUT" | tr -d '\r')"
OUT=$(ssh -tt "$JA" 2>&1)
expect_match "$ALICE on the jump host: no TTY" "PTY allocation request failed" "$OUT"
tunnel() { # tunnel JUMP HOST:PORT: reads the first line through ssh -W
	timeout 20 ssh -W "$2" "$1" </dev/null 2>&1 | head -c 200 | head -n 1
}
expect_match "$ALICE: -W to her own container's port 22 works" "^SSH-2.0-" "$(tunnel "$JA" "$AIP:22")"
for target in "$BIP:22" "$AIP:80" "$GW:22" "127.0.0.1:$PORT" "127.0.0.1:22"; do
	M=$(mark)
	OUT=$(tunnel "$JA" "$target")
	expect_match "$ALICE: -W $target refused, nothing relayed" "^(stdio forwarding failed|channel 0: open failed)" "$OUT"
	expect_match "sshd's log: $ALICE's request to $target was denied" \
		"refused permitted open|Received request to connect to host .* port .*, but the request was denied|denied" "$(since "$M")"
done
M=$(mark)
OUT=$(ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o IdentitiesOnly=yes -i "/root/.ssh/$BOB" -p "$PORT" "$ALICE@127.0.0.1" true 2>&1)
expect_eq "$BOB's key on $ALICE's account: refused (255)" 255 "$?"
expect_match "sshd's log: no Accepted for $ALICE with $BOB's key" "Failed publickey for $ALICE|Connection closed by authenticating user $ALICE" "$(since "$M")"
expect_eq "$BOB gets into his own container" "$BOB" "$(ssh "$BOB-dev" id -un 2>&1)"

# ---- failed logins, from sshd's log --------------------------------------------------------
GHOST=${P}ghost
OUT=$(ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o IdentitiesOnly=yes -i "/root/.ssh/$BOB" -p "$PORT" "$GHOST@127.0.0.1" true 2>&1)
expect_eq "an unknown name is refused (255)" 255 "$?"
# The two connections end in sshd's log; helperd looks at it twice a second.
audit_failed() { "$CLI" --json audit --event login_failed "$@" 2>&1; }
for _ in $(seq 50); do
	[ "$(audit_failed | jq '.events | length' 2>/dev/null)" = 2 ] && break
	sleep 0.2
done
AF=$(audit_failed)
expect_eq "login_failed for $ALICE with $BOB's key: user, rhost, reason, account" \
	"$ALICE 127.0.0.1 publickey jump 1" \
	"$(printf '%s' "$AF" | jq -r --arg u "$ALICE" '.events[] | select(.user == $u) | "\(.user) \(.rhost) \(.reason) \(.account) \(.attempts)"' 2>/dev/null)"
expect_eq "login_failed for the unknown name $GHOST" "$GHOST 127.0.0.1 invalid_user unknown" \
	"$(printf '%s' "$AF" | jq -r --arg u "$GHOST" '.events[] | select(.user == $u) | "\(.user) \(.rhost) \(.reason) \(.account)"' 2>/dev/null)"
expect_match "sshd's log has the lines they came from" "Invalid user $GHOST from 127.0.0.1" "$(cat "$W/sshd.log")"
count() { jq '.events | length' 2>/dev/null; }
expect_eq "audit --user $ALICE --event login_failed --since 5m: one" 1 "$(audit_failed --user "$ALICE" --since 5m | count)"
expect_eq "audit $GHOST --event login_failed (positional name, not a jump user): one" 1 \
	"$("$CLI" --json audit "$GHOST" --event login_failed | count)"
expect_eq "audit --rhost 127.0.0.1 --event login_failed: both" 2 "$(audit_failed --rhost 127.0.0.1 | count)"
expect_eq "audit --rhost 10.9.9.9: none" 0 "$("$CLI" --json audit --rhost 10.9.9.9 | count)"
expect_eq "audit --event login_failed --until 2000-01-01: none" 0 "$(audit_failed --until 2000-01-01 | count)"
expect_eq "audit --event login_failed --since in RFC 3339 with an offset, a minute ago: both" 2 \
	"$(audit_failed --since "$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%S+00:00)" | count)"
expect_eq "audit --user $ALICE --event session_open,session_close: sessions only" \
	"session_close session_open" \
	"$("$CLI" --json audit --user "$ALICE" --event session_open,session_close | jq -r '[.events[].event] | unique | join(" ")')"
OUT=$("$CLI" audit --event login_failed --user "$GHOST")
expect_match "audit table: the failed login's details" "login_failed +$GHOST +.*rhost=127.0.0.1.*reason=invalid_user" "$OUT"
SUM=$("$CLI" --json audit --summary)
expect_eq "audit --summary: $ALICE's sessions, last address, one failed login" "true 127.0.0.1 1 127.0.0.1" \
	"$(printf '%s' "$SUM" | jq -r --arg u "$ALICE" '.users[] | select(.user == $u) | "\(.sessions >= 2) \(.last_rhost) \(.failed_logins) \(.last_failed_rhost)"')"
expect_eq "audit --summary: $GHOST, no sessions, one failed login" "0 1" \
	"$(printf '%s' "$SUM" | jq -r --arg u "$GHOST" '.users[] | select(.user == $u) | "\(.sessions) \(.failed_logins)"')"
OUT=$("$CLI" audit --summary --user "$ALICE")
expect_match "audit --summary table" "^$ALICE +[0-9]+ +[0-9T:.-]+Z +127.0.0.1 +1 " "$(printf '%s' "$OUT" | tail -n 1)"
expect_match "metrics: containarium_login_failures_total" "^containarium_login_failures_total 2\$" "$("$CLI" metrics)"

# ---- the audit log rotated by logrotate with the package's file ---------------------------------
if command -v logrotate >/dev/null; then
	sed "s|^/var/log/containarium/audit.log {|$W/audit.log {|" "$SRC/debian/containarium-helperd.logrotate" >"$W/logrotate.conf"
	rotate() { logrotate -f -s "$W/logrotate.state" "$W/logrotate.conf"; }
	check "logrotate -f with debian/containarium-helperd.logrotate" rotate
	OUT=$(ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o IdentitiesOnly=yes -i "/root/.ssh/$ALICE" -p "$PORT" "$BOB@127.0.0.1" true 2>&1)
	for _ in $(seq 50); do
		[ "$(audit_failed --user "$BOB" | count)" = 1 ] && break
		sleep 0.2
	done
	expect_eq "after rotation: helperd made a new audit.log for the next failed login" 1 \
		"$(grep -c '"login_failed"' "$W/audit.log")"
	check "logrotate -f again" rotate
	expect_eq "two rotations: audit.log.2.gz and audit.log.1, as delaycompress leaves them" "audit.log.1 audit.log.2.gz" \
		"$(cd "$W" && ls audit.log* | paste -sd ' ')"
	expect_eq "after rotation: audit reads audit.log.2.gz and audit.log.1, oldest first" "$ALICE $GHOST $BOB" \
		"$(audit_failed | jq -r '[.events[].user] | join(" ")')"
	expect_eq "after rotation: the summary counts across the files" 3 \
		"$("$CLI" --json audit --summary --event login_failed | jq '[.users[].failed_logins] | add')"
else
	fail "logrotate is not installed (tests/install-deps)"
fi

# ---- containarium sessions: an ssh -J held open ------------------------------------------------
expect_eq "sessions: none of $ALICE's open" 0 "$("$CLI" --json sessions "$ALICE" | jq '.sessions | length')"
ssh "$ALICE-dev" 'sleep 60' </dev/null >/dev/null 2>&1 &
HELD=$!
for _ in $(seq 100); do
	[ "$("$CLI" --json sessions "$ALICE" | jq '.sessions | length')" = 1 ] && break
	sleep 0.2
done
expect_eq "sessions --json: $ALICE's held ssh -J, from 127.0.0.1" "$ALICE 127.0.0.1" \
	"$("$CLI" --json sessions | jq -r --arg u "$ALICE" '.sessions[] | select(.user == $u) | "\(.user) \(.rhost)"')"
sleep 1
OUT=$("$CLI" sessions)
expect_match "sessions: the table" "^$ALICE +127.0.0.1 +[0-9T:-]+Z +[0-9]+s\$" "$(printf '%s' "$OUT" | grep "^$ALICE ")"
expect_match "sessions: the table's header" "^USER +FROM +SINCE +DURATION" "$OUT"
kill "$HELD"
wait "$HELD" 2>/dev/null
for _ in $(seq 50); do
	[ "$("$CLI" --json sessions "$ALICE" | jq '.sessions | length')" = 0 ] && break
	sleep 0.2
done
expect_eq "sessions: gone once the ssh -J ends" 0 "$("$CLI" --json sessions "$ALICE" | jq '.sessions | length')"

# ---- wake-on-SSH ----------------------------------------------------------------------------
"$CLI" stop "$ALICE" >/dev/null 2>&1
expect_eq "$ALICE's container stopped" Stopped "$(ctm_lxd_state "$ALICE-container")"
t0=$(date +%s%N)
OUT=$(ssh "$ALICE-dev" id -un 2>&1)
echo "# login to a stopped container: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_eq "the next ssh -J starts the stopped container and gets in" "$ALICE" "$OUT"
expect_eq "$ALICE's container runs again" Running "$(ctm_lxd_state "$ALICE-container")"
sleep 1 # session_close is sent as sshd tears the session down
AUDIT=$("$CLI" --json audit "$ALICE" 2>&1)
expect_eq "audit: a session_open with wake=started for the woken login" 1 \
	"$(printf '%s' "$AUDIT" | jq '[.events[] | select(.event == "session_open" and .container == "started")] | length' 2>/dev/null)"
n_open=$(printf '%s' "$AUDIT" | jq '[.events[] | select(.event == "session_open")] | length' 2>/dev/null)
n_dur=$(printf '%s' "$AUDIT" | jq '[.events[] | select(.event == "session_close" and (.duration_seconds | type) == "number")] | length' 2>/dev/null)
check "audit: every session of $ALICE is there, each closed with a duration ($n_open opened, $n_dur closed)" \
	test "${n_open:-0}" -ge 5 -a "${n_open:-0}" = "${n_dur:-x}"
expect_eq "audit: the sessions name the remote host" 127.0.0.1 \
	"$(printf '%s' "$AUDIT" | jq -r '[.events[] | select(.event == "session_open")][0].rhost' 2>/dev/null)"

# ---- helperd down ---------------------------------------------------------------------------
kill "$HELPERD_PID"
wait "$HELPERD_PID" 2>/dev/null
HELPERD_PID=
M=$(mark)
OUT=$(ssh "$ALICE-dev" id -un 2>&1)
expect_eq "helperd killed, fail=open: $ALICE still authenticates and gets in" "$ALICE" "$OUT"
expect_match "sshd's log: Accepted publickey for $ALICE (keys from the snapshot)" "Accepted publickey for $ALICE" "$(since "$M")"
ih_install --fail closed
expect_match "install --fail closed: the session line says so" "pam_containarium.so fail=closed$" \
	"$(grep '^session.*pam_containarium' /etc/pam.d/sshd)"
M=$(mark)
OUT=$(ssh "$ALICE-dev" id -un 2>&1)
rc=$?
echo "# fail=closed, the client printed: $(printf '%s' "$OUT" | paste -sd '|')"
expect_eq "helperd killed, fail=closed: $ALICE is refused" 255 "$rc"
expect_match "fail=closed: sshd's log says the PAM session was refused" "pam_open_session\(\): " "$(since "$M")"
# sshd (OpenSSH 9.2) answers a failed pam_open_session by restricting the
# session: no forwarding.  A jump login opens no session channel, so no
# channel can carry the module's sentence to the client; the client sees its
# tunnel refused, the sentence is in syslog and sshd's log has the refusal.
expect_match "fail=closed: the client sees its tunnel refused" "^stdio forwarding failed" "$OUT"
ih_install
ih_start_helperd || setup_fail "helperd starts again: $IH_ERR"
expect_eq "helperd back, fail=open again: $ALICE gets in" "$ALICE" "$(ssh "$ALICE-dev" id -un 2>&1)"

# ---- a local user is untouched ----------------------------------------------------------------
useradd --create-home --home-dir "$W/local" --shell /bin/bash ctmlocal || setup_fail "useradd ctmlocal"
mkdir -m 0700 "$W/local/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "/root/.ssh/local" </dev/null
cp /root/.ssh/local.pub "$W/local/.ssh/authorized_keys"
chown -R ctmlocal: "$W/local/.ssh"
lssh() { ssh -F none -o LogLevel=ERROR -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o IdentitiesOnly=yes -i /root/.ssh/local -p "$PORT" ctmlocal@127.0.0.1 "$@"; }
# A files user's failed login is not Containarium's to record (checked below).
ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o IdentitiesOnly=yes -i "/root/.ssh/$ALICE" -p "$PORT" ctmlocal@127.0.0.1 true >/dev/null 2>&1
M=$(mark)
expect_eq "a files user logs in with a shell as before" "ctmlocal /bin/bash" "$(lssh 'echo $(id -un) $SHELL' 2>&1)"
expect_match "a files user gets a TTY as before" "^/dev/pts/" "$(lssh -tt tty 2>/dev/null | tr -d '\r')"
expect_match "a files user may forward ports as before" "^SSH-2.0-" \
	"$(timeout 20 ssh -F none -o LogLevel=ERROR -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o IdentitiesOnly=yes -i /root/.ssh/local -p "$PORT" -W "$BIP:22" ctmlocal@127.0.0.1 </dev/null 2>&1 | head -n 1)"
expect_match "sshd's log: Accepted publickey for ctmlocal (its own authorized_keys)" \
	"Accepted publickey for ctmlocal" "$(since "$M")"
sleep 1 # the follower's next look at sshd's log
expect_match "sshd's log: ctmlocal's wrong key was refused" "Connection closed by authenticating user ctmlocal|Failed publickey for ctmlocal" \
	"$(cat "$W/sshd.log")"
expect_eq "the audit log has nothing about ctmlocal (PAM_IGNORE; its failed login is not ours)" 0 \
	"$(zcat -f "$W"/audit.log* | grep -c '"ctmlocal"')"

# ---- delete ------------------------------------------------------------------------------------
for u in "$ALICE" "$BOB"; do "$CLI" delete "$u" --force >/dev/null 2>&1; done
expect_eq "after delete the jump accounts are gone for glibc" "" "$(getent passwd "$ALICE" "$BOB")"
# (syslogin_perform_logout: the files user's TTY session, this namespace has no
# utmp; Connection reset: tunnel() closes its side after the first line.)
expect_eq "no error or fatal lines in sshd's log but the fail=closed one" "" \
	"$(grep -E 'error|fatal' "$W/sshd.log" | grep -Ev 'pam_open_session|Connection closed|syslogin_perform_logout|Connection reset by peer' | head -5)"
summary
