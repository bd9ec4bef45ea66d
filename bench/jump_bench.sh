#!/usr/bin/env bash
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
#                  container.  Alternating runs, medians.  Goal <= 1.10.
# wake-on-ssh      the same login to a stopped container (helperd starts it
#                  from the PAM session) against what a person does without
#                  wake-on-SSH: a raw start through LXD's API until the
#                  container has its IPv4, then the same login to the running
#                  container.  Goal: at most 0.5 s more (ratio printed too).
#                  The difference against the raw start alone is printed as
#                  well: it is mostly the login itself.
set -uo pipefail
SELF=$(readlink -f "$0")
SRC=$(cd "$(dirname "$SELF")/.." && pwd)
B=${1:?usage: bench/jump_bench.sh BUILD [NAME...]}
shift
case $B in /*) ;; *) B=$SRC/$B ;; esac
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
. "$SRC/tests/lib/installed_host.sh"
trap 'ih_stop' EXIT
hostname "jump-$$"
ih_prepare || die "$IH_ERR"
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
	local o r ours ref ratio
	for _ in 1 2; do login ours >/dev/null && login ref >/dev/null || die "warm-up login failed"; done
	: >"$W/ours" && : >"$W/ref.t"
	for _ in $(seq "$RUNS"); do
		o=$(login ours) || die "login through our stack failed"
		r=$(login ref) || die "login of the files user failed"
		echo "$o" >>"$W/ours"
		echo "$r" >>"$W/ref.t"
	done
	ours=$(median <"$W/ours")
	ref=$(median <"$W/ref.t")
	ratio=$(awk -v a="$ours" -v b="$ref" 'BEGIN { printf "%.3f", a / b }')
	echo "# login-proxyjump: ssh -J + true, median of $RUNS alternating runs each"
	echo "#   ours (NSS module, keys command, PAM account + session to helperd): $ours s"
	echo "#   ref  (files user, AuthorizedKeysFile, same sshd, key and container): $ref s"
	echo "# goal: ratio <= 1.10 ($(awk -v r="$ratio" 'BEGIN { print (r <= 1.10) ? "met" : "MISSED" }'))"
	printf 'BENCH login-proxyjump ratio=%s ours=%.3f ref=%.3f unit=s\n' "$ratio" "$ours" "$ref"
}

# raw_start: PUT start through LXD's API, then poll until eth0 has IPv4.
raw_start() {
	local t0 t1
	t0=$(date +%s%N)
	ctm_lxd_api -X PUT -d '{"action": "start", "timeout": 30}' "/1.0/instances/$P-container/state" >/dev/null
	for _ in $(seq 600); do
		ctm_lxd_api "/1.0/instances/$P-container/state" |
			jq -e '.metadata.network.eth0.addresses[]? | select(.family == "inet")' >/dev/null 2>&1 && break
		sleep 0.05
	done
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}
stopped() {
	"$CLI" stop "$P" >/dev/null 2>&1
	[ "$(ctm_lxd_state "$P-container")" = Stopped ] || die "$P-container did not stop"
}

wake_on_ssh() {
	local ours raw run ref ratio extra
	: >"$W/wake" && : >"$W/raw" && : >"$W/running"
	for _ in $(seq "$WAKES"); do
		stopped
		login ours >>"$W/wake" || die "login to the stopped container failed"
		stopped
		raw_start >>"$W/raw"
		ctm_ssh_banner "$IP" 30 >/dev/null
		login ours >>"$W/running" || die "login to the running container failed"
	done
	ours=$(median <"$W/wake")
	raw=$(median <"$W/raw")
	run=$(median <"$W/running")
	# What a person without wake-on-SSH does: start it, then log in.
	ref=$(awk -v a="$raw" -v b="$run" 'BEGIN { printf "%.4f", a + b }')
	ratio=$(awk -v a="$ours" -v b="$ref" 'BEGIN { printf "%.3f", a / b }')
	extra=$(awk -v a="$ours" -v b="$ref" 'BEGIN { printf "%.3f", a - b }')
	echo "# wake-on-ssh: median of $WAKES each"
	echo "#   ours: ssh -J ... true to a stopped container (helperd starts it from PAM): $ours s"
	echo "#   raw start through LXD's API until the container has its IPv4: $raw s"
	echo "#   the same login to the running container: $run s"
	echo "#   ref = raw start + IPv4, then the login: $ref s; ours - ref = $extra s"
	echo "#   (against the raw start alone: +$(awk -v a="$ours" -v b="$raw" 'BEGIN { printf "%.3f", a - b }') s, of which the login is $run s)"
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
