#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Login benchmarks through the whole installed stack (bench/README.md,
# "logins"): the host of tests/lib/installed_host.sh (make install,
# containarium-host-setup, helperd on the test LXD, the host's sshd and PAM)
# in private namespaces, and one real container.
#
#   bench/jump_bench.sh BUILD [login-proxyjump] [wake-on-ssh]
#
# login-proxyjump  `ssh -J USER@jump USER@IP true`: the jump user from our
#                  NSS module, keys command and PAM module (session event
#                  to helperd) against a `files` user with an
#                  AuthorizedKeysFile on the same sshd, same key, same
#                  container.  ABBA order, medians.  Goal <= 1.10.
# wake-on-ssh      the same login to a stopped container (helperd starts it
#                  from the PAM session) against what a person does without
#                  wake-on-SSH: a raw start through LXD's API (its operation
#                  must succeed), a wait for the pinned IPv4 and for port 22
#                  done as helperd does it, then the same login to the
#                  running container (and, untimed, LXD's state must show
#                  the pinned IPv4).  Each side's run is
#                  timed whole; ABBA order; medians of whole runs.  Goal: at
#                  most 0.5 s more (ratio printed too).  The reference's
#                  parts are printed as well.
set -uo pipefail
SELF=$(readlink -f "$0")
SRC=$(cd "$(dirname "$SELF")/.." && pwd)
B=${1:?usage: bench/jump_bench.sh BUILD [NAME...]}
shift
case $B in /*) ;; *) B=$SRC/$B ;; esac
# shellcheck source=tests/lxd/lxdlib.sh
. "$SRC/tests/lxd/lxdlib.sh"

if [ "${JB_INSIDE:-}" != 1 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "jump bench: needs root (namespaces)" >&2; exit 1; }
	P=jb$(tr -dc a-z0-9 </dev/urandom | head -c 4)
	trap 'ctm_lxd_api -f "/1.0/instances/$P-container" >/dev/null 2>&1 && ctm_lxd_delete "$P-container"
		ctm_lxd_release' EXIT
	ctm_lxd_up || { echo "jump bench: the test LXD does not come up" >&2; exit 1; }
	unshare --mount --pid --uts --fork --kill-child --mount-proc \
		env JB_INSIDE=1 P="$P" BUILD="$B" SRC="$SRC" bash "$SELF" "$B" "$@"
	exit $?
fi

# ---- inside the namespaces ------------------------------------------------------
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(login-proxyjump wake-on-ssh)
W=/run/ctm-jump-bench
PORT=2224
RUNS=${JB_RUNS:-15}
WAKES=${JB_WAKES:-5}
CLI=/usr/local/bin/containarium
REF=${P}ref
die() { echo "jump bench: $*" >&2; exit 1; }
# shellcheck source=tests/lib/installed_host.sh
. "$SRC/tests/lib/installed_host.sh"
trap 'ih_stop' EXIT
hostname "jump-$$"
ih_prepare || die "$IH_ERR"
# shellcheck disable=SC2119 # no extra arguments for containarium-host-setup
ih_install || die "$IH_ERR"
ih_start_helperd || die "$IH_ERR"
ih_start_sshd "$PORT" || die "$IH_ERR"

mkdir -m 0700 "$W/home" "$W/home/.ssh"
mount --bind "$W/home" /root
export HOME=/root
ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/key </dev/null
"$CLI" create "$P" --ssh-key /root/.ssh/key.pub >/dev/null || die "containarium create $P"
IP=$("$CLI" --json info "$P" | jq -r .ipv4)
# The reference jump user: a files user whose key file holds the same key.
useradd --create-home --home-dir "$W/ref" --shell /bin/bash "$REF" || die "useradd $REF"
mkdir -m 0700 "$W/ref/.ssh"
cp /root/.ssh/key.pub "$W/ref/.ssh/authorized_keys"
chown -R "$REF:" "$W/ref/.ssh"
cat >/root/.ssh/config <<EOF
Host *
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  IdentityFile /root/.ssh/key
  IdentitiesOnly yes
Host ours
  HostName 127.0.0.1
  Port $PORT
  User $P
Host ref
  HostName 127.0.0.1
  Port $PORT
  User $REF
EOF
ctm_ssh_banner "$IP" 60 >/dev/null || die "$IP:22 does not answer"

# login JUMP: one ssh -J ... true; prints seconds, fails on a failed login.
login() {
	local t0 t1
	t0=$(date +%s%N)
	ssh -J "$1" "$P@$IP" true </dev/null || return 1
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "# jump benchmarks: $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); OpenSSH $(ssh -V 2>&1 | cut -d' ' -f1)"

login_proxyjump() {
	local i o r ours ref ratio
	for _ in 1 2; do
		login ours >/dev/null || die "warm-up login through our stack failed"
		login ref >/dev/null || die "warm-up login of the files user failed"
	done
	: >"$W/ours" && : >"$W/ref.t"
	# ABBA: ours first on even runs, ref first on odd ones, so a trend in
	# the machine's load falls on both alike.
	for ((i = 0; i < RUNS; i++)); do
		if ((i % 2 == 0)); then
			o=$(login ours) || die "login through our stack failed"
			r=$(login ref) || die "login of the files user failed"
		else
			r=$(login ref) || die "login of the files user failed"
			o=$(login ours) || die "login through our stack failed"
		fi
		echo "$o" >>"$W/ours"
		echo "$r" >>"$W/ref.t"
	done
	ours=$(median <"$W/ours")
	ref=$(median <"$W/ref.t")
	ratio=$(awk -v a="$ours" -v b="$ref" 'BEGIN { printf "%.3f", a / b }')
	echo "# login-proxyjump: ssh -J + true, median of $RUNS runs each, ABBA order"
	echo "#   ours (NSS module, keys command, PAM account + session to helperd): $ours s"
	echo "#   ref  (files user, AuthorizedKeysFile, same sshd, key and container): $ref s"
	echo "# goal: ratio <= 1.10 ($(awk -v r="$ratio" 'BEGIN { print (r <= 1.10) ? "met" : "MISSED" }'))"
	printf 'BENCH login-proxyjump ratio=%s ours=%.3f ref=%.3f unit=s\n' "$ratio" "$ours" "$ref"
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f\n", b - a }'; }

# has_address: LXD's state says the container runs with its pinned IPv4 on
# eth0; fails (saying so) when it stopped.
has_address() {
	local st
	st=$(ctm_lxd_api -f "/1.0/instances/$P-container/state" 2>/dev/null) || return 1
	case $(jq -r .metadata.status <<<"$st") in
	Stopped | Error) echo "jump bench: $P-container stopped while it started" >&2; return 2 ;;
	esac
	jq -e --arg ip "$IP" '.metadata.status == "Running" and
		([.metadata.network.eth0.addresses[]? | select(.family == "inet") | .address] | index($ip))' \
		<<<"$st" >/dev/null
}

# probe22: one TCP probe of IP:22 with a 50 ms budget, as helperd's
# tcp_probe: exit 0 when it accepts, 1 when it refuses (the address is up,
# nothing listens yet), 2 when nothing answers.
probe22() {
	local out
	# shellcheck disable=SC2016 # the inner bash expands $1
	out=$(timeout 0.05 bash -c 'exec 3<>"/dev/tcp/$1/22"' _ "$IP" 2>&1) && return 0
	case $out in *"Connection refused"*) return 1 ;; esac
	return 2
}

# raw_start: what a person without wake-on-SSH does before logging in:
# PUT start through LXD's API, which must end in Success, then the wait
# helperd's wake does (instance_wait_ready): LXD's state once a second, a
# probe of port 22 every 50 ms in between (a state read is costly for the
# backend and slows the boot it waits for).  The address is found when
# the state shows it or a probe is answered (accepted or refused: a host
# holds it, and only this container may, with ipv4_filtering), as helperd
# decides; wake_ref checks it in the state once the login is done.  Prints
# the time it was found; fails when the start failed, the container
# stopped, or no address came within 30 s.
raw_start() {
	local out op deadline=$((SECONDS + 30)) next rc
	out=$(ctm_lxd_api -X PUT -d '{"action": "start", "timeout": 30}' "/1.0/instances/$P-container/state") ||
		{ echo "jump bench: PUT start: no answer" >&2; return 1; }
	op=$(jq -r 'select(.type == "async") | .operation' <<<"$out" 2>/dev/null)
	[ -n "$op" ] || { echo "jump bench: PUT start refused: $(jq -r '.error // .' <<<"$out")" >&2; return 1; }
	out=$(ctm_lxd_api "$op/wait?timeout=60") || { echo "jump bench: waiting for the start: no answer" >&2; return 1; }
	[ "$(jq -r .metadata.status <<<"$out")" = Success ] ||
		{ echo "jump bench: the start failed: $(jq -r '.metadata.err // .error' <<<"$out")" >&2; return 1; }
	while :; do
		has_address
		rc=$?
		[ "$rc" != 0 ] || break
		[ "$rc" != 2 ] || return 1
		[ "$SECONDS" -lt "$deadline" ] || { echo "jump bench: $P-container did not get $IP in 30 s" >&2; return 1; }
		next=$(($(date +%s%N) + 1000000000))
		while [ "$(date +%s%N)" -lt "$next" ]; do
			probe22
			[ $? = 2 ] || { now; return 0; }
			sleep 0.05
		done
	done
	now
}

# port22_accepts: then, as helperd's instance_wait_port, until port 22
# accepts (a probe every 100 ms, 10 s at most).
port22_accepts() {
	local deadline=$((SECONDS + 10))
	until probe22; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "jump bench: nothing accepts on $IP:22" >&2; return 1; }
		sleep 0.1
	done
}
# stopped: the container is stopped, and has been for a second, so that
# neither side's start meets the backend still tidying up after the stop
# (ours used to get the jump hop's handshake as a head start).
stopped() {
	"$CLI" stop "$P" >/dev/null 2>&1
	[ "$(ctm_lxd_state "$P-container")" = Stopped ] || die "$P-container did not stop"
	sleep 1
}

# wake_ours: one whole run of ours, the login to the stopped container.
wake_ours() {
	stopped
	login ours >>"$W/wake" || die "login to the stopped container failed"
}

# wake_ref: one whole run of the reference, timed from the PUT to the end
# of the login (the raw start until the address, until port 22 accepts,
# the login); its parts go to $W/ref.parts.
wake_ref() {
	local t0 t_addr t_port t_end
	stopped
	t0=$(now)
	t_addr=$(raw_start) || die "the raw start failed"
	port22_accepts || die "sshd in $P-container did not accept after the raw start"
	t_port=$(now)
	login ours >/dev/null || die "login to the running container failed"
	t_end=$(now)
	# Untimed: the address raw_start went by is the pinned one, in LXD's state.
	has_address || die "after the raw start and a login, LXD's state does not show $IP on $P-container's eth0"
	secs "$t0" "$t_end" >>"$W/ref.t"
	echo "$(secs "$t0" "$t_addr") $(secs "$t_addr" "$t_port") $(secs "$t_port" "$t_end")" >>"$W/ref.parts"
}

wake_on_ssh() {
	local i ours ref ratio extra
	: >"$W/wake" && : >"$W/ref.t" && : >"$W/ref.parts"
	# Whole runs on both sides, in ABBA order (ours first on even rounds).
	for ((i = 0; i < WAKES; i++)); do
		if ((i % 2 == 0)); then wake_ours && wake_ref; else wake_ref && wake_ours; fi
	done
	ours=$(median <"$W/wake")
	ref=$(median <"$W/ref.t")
	ratio=$(awk -v a="$ours" -v b="$ref" 'BEGIN { printf "%.3f", a / b }')
	extra=$(awk -v a="$ours" -v b="$ref" 'BEGIN { printf "%.3f", a - b }')
	echo "# wake-on-ssh: median of $WAKES whole runs each, ABBA order"
	echo "#   ours: ssh -J ... true to a stopped container (helperd starts it from PAM): $ours s"
	echo "#   ref: PUT start through LXD's API, the address and port 22 waited for as helperd waits, then the" \
		"same login, timed as one: $ref s; ours - ref = $extra s"
	echo "#   ref's parts, medians: start until the address $(awk '{ print $1 }' "$W/ref.parts" | median) s," \
		"until port 22 accepts $(awk '{ print $2 }' "$W/ref.parts" | median) s, the login" \
		"$(awk '{ print $3 }' "$W/ref.parts" | median) s"
	echo "# goal: at most +0.5 s ($(awk -v e="$extra" 'BEGIN { print (e <= 0.5) ? "met" : "MISSED" }'))"
	printf 'BENCH wake-on-ssh ratio=%s ours=%.3f ref=%.3f unit=s\n' "$ratio" "$ours" "$ref"
}

for name in "${names[@]}"; do
	case $name in
	login-proxyjump) login_proxyjump ;;
	wake-on-ssh) wake_on_ssh ;;
	*) die "unknown benchmark $name" ;;
	esac
done
"$CLI" delete "$P" --force >/dev/null 2>&1
