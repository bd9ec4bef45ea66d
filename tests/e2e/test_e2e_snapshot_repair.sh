#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# helperd repairs its snapshots (issue 13 §7), on an installed jump host
# as tests/e2e/test_e2e_jump.sh builds one (tests/lib/installed_host.sh):
# the real sshd, NSS module, keys command and PAM, helperd with
# poll_seconds = 1 on the test backend, one user with a real container.
# While a loop logs her in with `ssh -J` again and again, passwd.db and
# keys.db are each removed, truncated, cut in half, chmod-ed and chown-ed;
# after each, helperd must publish both again within poll_seconds (plus
# the time of one poll), log what it found, count it in its metrics, and
# the next login must work.  Nothing else publishes meanwhile: no change
# in Incus, so only the repair can bring the files back.
#
#   BUILD=build bash tests/e2e/test_e2e_snapshot_repair.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/testlib.sh"
. "$SRC/tests/lxd/lxdlib.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac

if [ "${1:-}" != --inside ]; then
	need_root
	for tool in /usr/sbin/sshd ssh ssh-keygen unshare $(ctm_backend_tools) jq curl; do
		command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
	done
	need_built "$BUILD"/{cli/containarium,helperd/containarium-helperd,nss_containarium/libnss_containarium.so.2} \
		"$BUILD"/{authorized_keys/containarium-authorized-keys,pam_containarium/pam_containarium.so}
	P=sr$(tr -dc a-z0-9 </dev/urandom | head -c 4)
	trap 'ctm_lxd_api -f "/1.0/instances/$P-container" >/dev/null 2>&1 && ctm_lxd_delete "$P-container"; ctm_lxd_release' EXIT
	ctm_lxd_up || { fail "the test $CTM_BACKEND_NAME comes up"; summary; exit 1; }
	unshare --mount --pid --uts --fork --kill-child --mount-proc \
		env BUILD="$BUILD" SRC="$SRC" P="$P" bash "$HERE/$(basename "$0")" --inside
	exit $?
fi

# ---- inside the namespaces ------------------------------------------------------
set -u
W=/run/ctm-repair
PORT=$(free_port) # the jump sshd: never a fixed port, suites run side by side
U=$P
CLI=/usr/local/bin/containarium
STATE=/var/lib/containarium
LOOP_PID=
setup_fail() {
	fail "setup: $*"
	summary
	exit 1
}
cleanup() {
	[ -z "$LOOP_PID" ] || kill "$LOOP_PID" 2>/dev/null
	ctm_lxd_api -f "/1.0/instances/$U-container" >/dev/null 2>&1 && ctm_lxd_delete "$U-container"
	ih_stop
}
trap cleanup EXIT
trap 'exit 1' INT TERM

hostname "jump-$$"
. "$SRC/tests/lib/installed_host.sh"
BACKEND_DIR=$CTM_LXD_DIR
ih_prepare || setup_fail "$IH_ERR"
echo "poll_seconds = 1" >>/etc/containarium/helperd.conf
ih_install || setup_fail "$IH_ERR"
ih_start_helperd || setup_fail "$IH_ERR"
ih_start_sshd "$PORT" || setup_fail "$IH_ERR"

mkdir -m 0700 "$W/home" "$W/home/.ssh"
mount --bind "$W/home" /root || setup_fail "bind a home on /root"
export HOME=/root
ssh-keygen -q -t ed25519 -N '' -f "/root/.ssh/$U" </dev/null
OUT=$("$CLI" create "$U" --ssh-key "/root/.ssh/$U.pub" 2>&1) || setup_fail "containarium create $U: $OUT"
IP=$("$CLI" --json info "$U" | jq -r .ipv4)
"$CLI" export "$U" --jump-ip 127.0.0.1 --jump-port "$PORT" --key "/root/.ssh/$U" >"$W/u.conf"
{
	printf 'Host *\n  BatchMode yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n'
	printf '  LogLevel ERROR\n  ConnectTimeout 20\n  IdentitiesOnly yes\n\n'
	cat "$W/u.conf"
} >/root/.ssh/config
chmod 0600 /root/.ssh/config
ctm_ssh_banner "$IP" 60 >/dev/null
login() { timeout 30 ssh "$U-dev" true 2>/dev/null; }
login || setup_fail "$U logs in before anything is damaged"

metric() {
	curl -s --unix-socket /run/containarium/helperd.sock http://x/v1/metrics |
		awk '$1 == "containarium_snapshot_repairs_total" { print $2 }'
}
expect_eq "the metrics count no repair yet" 0 "$(metric)"

# Logins all along, one after the other: each line "SECONDS.NANOS rc".
(
	while :; do
		ssh "$U-dev" true 2>/dev/null </dev/null
		printf '%s %s\n' "$(date +%s.%N)" "$?"
		sleep 0.2
	done
) >"$W/logins" &
LOOP_PID=$!

system() { curl -s --unix-socket /run/containarium/helperd.sock http://x/v1/system; }

# damage NAME FILE LOG CMD...: does CMD, then waits for helperd's log line
# about FILE (matching the regex LOG: what helperd says it found) and
# checks that a login works at once.  Another test's containers on the
# same backend can make helperd publish from Incus in the meantime, which
# mends the file before the repair sees it: then the damage is done again
# (up to 3 times); under CI the suites run one at a time.
repairs=0
last_repair=0
damage() {
	local name=$1 file=$2 want=$3 n t0 ms line='' try pubs0 pubs1
	shift 3
	for try in 1 2 3; do
		n=$(wc -l <"$W/helperd.log")
		pubs0=$(system | jq '.registry.publishes - .registry.repairs')
		t0=$(date +%s%N)
		"$@"
		# poll_seconds = 1: the next poll is at most 1 s away, and a
		# read of Incus may run first; 3 s leaves a margin.
		for _ in $(seq 60); do
			line=$(tail -n "+$((n + 1))" "$W/helperd.log" | grep -m1 "$STATE/$file.*published both snapshots again")
			[ -n "$line" ] && break
			sleep 0.05
		done
		ms=$((($(date +%s%N) - t0) / 1000000))
		pubs1=$(system | jq '.registry.publishes - .registry.repairs')
		if [ -n "$line" ] || [ "$pubs1" -le "$pubs0" ] || [ "$try" -ge 3 ]; then break; fi
		echo "# $file $name: a publish from Incus mended it before the repair could; again"
	done
	if [ -n "$line" ]; then
		ok "$file $name: republished in $ms ms (poll_seconds = 1)"
		repairs=$((repairs + 1))
	else
		fail "$file $name: republished within 3 s; helperd's log since:"
		tail -n "+$((n + 1))" "$W/helperd.log" | grep -v 'POST /v1/sessions' | tail -n 20 | sed 's/^/#   /'
		ls -l --time-style=full-iso "$STATE" | sed 's/^/#   /'
	fi
	expect_match "$file $name: helperd's log says what it found" "$want" "$line"
	last_repair=$(date +%s.%N)
	check "$file $name: a login works right after" login
}

halve() { truncate -s $(($(stat -c %s "$1") / 2)) "$1"; }
for f in passwd.db keys.db; do
	mode=$(stat -c %a "$STATE/$f")
	damage "removed" "$f" "$f was removed" rm -f "$STATE/$f"
	damage "truncated to 0" "$f" "$f was truncated \(0 bytes" truncate -s 0 "$STATE/$f"
	damage "cut in half" "$f" "$f was truncated \([0-9]+ bytes, published [0-9]+\)" halve "$STATE/$f"
	damage "chmod 0666" "$f" "$f has mode 0666 \(published 0$mode\)" chmod 0666 "$STATE/$f"
	damage "chown nobody" "$f" "$f has owner $(id -u nobody):[0-9]+ \(published 0:" chown nobody "$STATE/$f"
	expect_eq "$f: back with its mode ($mode) and root's ownership" "$mode root" \
		"$(stat -c '%a %U' "$STATE/$f")"
done
# Incus out of reach (its directory unmounted in this namespace): the
# repair publishes from the registry helperd holds.
umount -l "$W/lxd" || setup_fail "unmount the backend's directory"
for _ in $(seq 50); do
	[ "$(system | jq .backend.available 2>/dev/null)" = false ] && break
	sleep 0.1
done
damage "removed while Incus is out of reach" passwd.db "passwd.db was removed" rm -f "$STATE/passwd.db"
expect_eq "helperd did not reach Incus meanwhile" "" "$(system | jq -r 'select(.backend.available == true) | "up"')"
mount --bind "$BACKEND_DIR" "$W/lxd" || setup_fail "bind the backend's directory again"
expect_eq "the metrics count every repair" "$repairs" "$(metric)"
expect_eq "/v1/system counts them too" "$repairs" \
	"$(system | jq .registry.repairs)"
expect_eq "getent passwd through the NSS module finds $U" "$U" "$(getent passwd "$U" | cut -d: -f1)"

sleep 2
kill "$LOOP_PID" 2>/dev/null
wait "$LOOP_PID" 2>/dev/null
LOOP_PID=
total=$(wc -l <"$W/logins")
failed=$(awk '$2 != 0' "$W/logins" | wc -l)
after=$(awk -v t="$last_repair" '$1 > t + 1' "$W/logins")
echo "# the login loop: $total logins, $failed failed while a file was damaged"
check "the loop logged in all along (more logins than damages)" test "$total" -gt 10
expect_eq "every login of the loop more than 1 s after the last repair worked" "" \
	"$(printf '%s\n' "$after" | awk 'NF && $2 != 0')"
check "and there were some" test -n "$after"
"$CLI" delete "$U" --force >/dev/null 2>&1
summary
