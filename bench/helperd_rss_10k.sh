#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# helperd-rss-10k: helperd's resident memory while it holds 10,000 registry
# entries, read from a FAKE Incus server (bench/fake_incus.py: a real LXD
# cannot hold 10,000 containers on the test machine) that answers with
# 10,000 copies of a real helperd-made LXD instance object.
#
#   bench/helperd_rss_10k.sh BUILD
#
# Steps: helperd against the fake with 0 containers (its floor), then with
# 10,000; wait until passwd.db lists 10,000 users; sample VmRSS every 0.5 s
# over HD_WINDOW seconds twice: idle (nothing changes; helperd follows the
# fake's event stream and reads nothing), then busy (the fake sends an
# "instance-updated" event every 2 s, so helperd reads all 10,000 again,
# as often as poll_seconds allows).  The busy median is the figure; the
# busy window's peak (VmHWM, reset when the window starts) is printed
# beside it, on the BENCH line too.  The measurement fails when the busy
# window did not read the instances again (at least once per event but
# the last).  The reference is the goal itself, 16 MiB.  With gdb installed, also asks
# glibc (malloc_stats, then malloc_trim) how much of that memory is in use.
#
# Environment: HD_USERS (10000), HD_WINDOW (6), PYTHON (/usr/bin/python3).
set -euo pipefail

SELF=$(readlink -f "$0")
SRC=$(cd "$(dirname "$SELF")/.." && pwd)
BUILD=${1:?usage: helperd_rss_10k.sh BUILD}
USERS=${HD_USERS:-10000}
WINDOW=${HD_WINDOW:-6}
PYTHON=${PYTHON:-/usr/bin/python3}
GOAL_MIB=16
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
# shellcheck source=bench/helperd_lib.sh
. "$SRC/bench/helperd_lib.sh"

[ "$(id -u)" = 0 ] || hd_die "helperd-rss-10k needs root (a UTS namespace for helperd)"
"$PYTHON" -c 'import http.server, socketserver' 2>/dev/null || hd_die "needs $PYTHON (Debian: python3)"
[ -x "$BUILD/helperd/containarium-helperd" ] || hd_die "build first: make BUILD=$BUILD"
MKSNAP=$BUILD/mksnapshot/containarium-mksnapshot

TAG=$(printf 'r%04d' $(($$ % 10000)))
S=$(mktemp -d /tmp/ctm-hdbench.XXXXXX)
FAKE_PID=

fake_stop() {
	if [ -n "$FAKE_PID" ] && kill -0 "$FAKE_PID" 2>/dev/null; then
		kill -TERM "$FAKE_PID"
		wait "$FAKE_PID" 2>/dev/null || true
	fi
	FAKE_PID=
}

cleanup() {
	local rc=$?
	trap - EXIT
	set +e
	# A stopped fake server would hold helperd's poll (and its exit) for 60 s.
	[ -z "$FAKE_PID" ] || kill -CONT "$FAKE_PID" 2>/dev/null
	hd_helperd_stop
	fake_stop
	rm -rf "$S"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# fake_start COUNT: the fake server on $S/fake.sock; returns once it listens.
fake_start() {
	: >"$S/fake.out"
	"$PYTHON" "$SRC/bench/fake_incus.py" --socket "$S/fake.sock" --count "$1" \
		>"$S/fake.out" 2>"$S/fake.log" &
	FAKE_PID=$!
	local tries=1200
	until grep -q '^ready ' "$S/fake.out"; do
		kill -0 "$FAKE_PID" 2>/dev/null || { cat "$S/fake.log" >&2; hd_die "fake_incus.py failed"; }
		[ $((tries -= 1)) -ge 0 ] || hd_die "fake_incus.py did not get ready in 120 s"
		sleep 0.1
	done
}

# helperd_up: helperd on the fake, state in $S/state (emptied first).
helperd_up() {
	rm -rf "$S/state"
	hd_conf "$S/helperd.conf" "listen_socket=$S/helperd.sock" socket_mode=0600 "incus_socket=$S/fake.sock" \
		network=ctmtestbr0 storage_pool=ctmtest image=containarium-base "state_dir=$S/state" \
		admin_group= keys_group= default_memory=256MB default_disk=1GB default_cpu=1 poll_seconds=2
	hd_helperd_start "$BUILD" "$S" "$S/helperd.conf" "$TAG"
}

snapshot_users() {
	"$MKSNAP" --verify --passwd-db "$S/state/passwd.db" --keys-db "$S/state/keys.db" 2>/dev/null |
		sed -n 's/^ok: generation [0-9]*, \([0-9]*\) users$/\1/p'
}

list_reads() { grep -c 'GET /1.0/instances?recursion=1 ' "$S/fake.log" || true; }

# quiet: waits until helperd has used no CPU for 0.2 s.
quiet() {
	local a b
	b=$(hd_cpu_ticks "$HD_HELPERD_PID")
	while a=$b && sleep 0.2 && b=$(hd_cpu_ticks "$HD_HELPERD_PID") && [ "$a" != "$b" ]; do :; done
}

# quiet_after_poll: makes helperd read the instance list (an event, when it
# follows them; else its next poll), waits for that read, then quiet (parsed,
# compared, maybe published).
quiet_after_poll() {
	local n tries=100
	n=$(list_reads)
	kill -USR1 "$FAKE_PID"
	while [ "$(list_reads)" = "$n" ] && [ $((tries -= 1)) -ge 0 ]; do
		sleep 0.05
	done
	quiet
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --- helperd's floor: the same daemon with no containers
fake_start 0
helperd_up
sleep 1
floor=$(hd_kib "$HD_HELPERD_PID" VmRSS)
hd_helperd_stop
fake_stop

# --- 10,000 containers
fake_start "$USERS"
read -r _ _ list_bytes <"$S/fake.out"
t0=$EPOCHREALTIME
helperd_up
tries=1200
until [ "$(snapshot_users)" = "$USERS" ]; do
	hd_helperd_alive || { cat "$HD_HELPERD_LOG" >&2; hd_die "helperd died"; }
	[ $((tries -= 1)) -ge 0 ] || hd_die "passwd.db never listed $USERS users"
	sleep 0.1
done
t_listed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')

pid=$HD_HELPERD_PID
follows=no
grep -q 'following the backend.s events' "$HD_HELPERD_LOG" && follows=yes
grep -q ' 101 0$' "$S/fake.log" || follows=no

# window MODE: VmRSS every 0.5 s over WINDOW s into $S/rss.MODE; "busy"
# also tells helperd "an instance changed" (a lifecycle event) every 2 s,
# as a host where something changes all the time.  Sets CPU_PCT, READS
# (answers to the instance list the fake wrote whole to helperd: it logs
# one only after the last byte went into the socket), EVENTS, and PEAK:
# VmHWM after the kernel reset it to VmRSS at the window's start (clear_refs
# 5), the peak between samples included.
window() {
	local mode=$1 ticks0 ticks1 lists0 i
	echo 5 >"/proc/$pid/clear_refs" || hd_die "cannot reset helperd's VmHWM (/proc/$pid/clear_refs)"
	ticks0=$(hd_cpu_ticks "$pid")
	lists0=$(list_reads)
	EVENTS=0
	: >"$S/rss.$mode"
	for ((i = 0; i < WINDOW * 2; i++)); do
		if [ "$mode" = busy ] && [ $((i % 4)) = 0 ]; then
			kill -USR1 "$FAKE_PID"
			EVENTS=$((EVENTS + 1))
		fi
		hd_kib "$pid" VmRSS >>"$S/rss.$mode"
		sleep 0.5
	done
	PEAK=$(hd_kib "$pid" VmHWM)
	ticks1=$(hd_cpu_ticks "$pid")
	READS=$(($(list_reads) - lists0))
	CPU_PCT=$(awk -v t=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK)" -v w="$WINDOW" 'BEGIN { printf "%.0f", 100 * t / hz / w }')
}

# Idle first (nothing changes: no reads while helperd follows events), then busy.
quiet
hwm=$(hd_kib "$pid" VmHWM) # the windows reset it
window idle
idle_cpu=$CPU_PCT idle_reads=$READS idle_peak=$PEAK
window busy
busy_cpu=$CPU_PCT busy_reads=$READS busy_events=$EVENTS busy_peak=$PEAK
hd_helperd_alive || hd_die "helperd died while being measured"
# The busy figure holds only if helperd really read all the instances again
# in the window: one read per event, less the last, which may still be
# under way when the window ends (and no fewer than one).
min_reads=$((busy_events > 1 ? busy_events - 1 : 1))
[ "$busy_reads" -ge "$min_reads" ] ||
	hd_die "the busy window is not busy: helperd read the $USERS instances $busy_reads times after $busy_events events (at least $min_reads expected)"
[ "$(snapshot_users)" = "$USERS" ] || hd_die "passwd.db no longer lists $USERS users"
rss_med=$(hd_median <"$S/rss.busy")
rss_max=$(sort -n "$S/rss.busy" | tail -n 1)
idle_med=$(hd_median <"$S/rss.idle")
fake_rss=$(hd_kib "$FAKE_PID" VmRSS)

echo "# helperd-rss-10k: FAKE Incus server (bench/fake_incus.py; a real LXD cannot hold $USERS containers here)" \
	"answering GET /1.0/instances?recursion=1 with $USERS copies of a real helperd-made LXD 5.0.2 instance" \
	"($list_bytes bytes)"
echo "# helperd with 0 containers: VmRSS $(mib "$floor") MiB"
echo "# passwd.db listed $USERS users ${t_listed} s after helperd started; helperd follows the event stream: $follows"
echo "# busy (an instance-updated event every 2 s): VmRSS over ${WINDOW} s, every 0.5 s: median $(mib "$rss_med") MiB," \
	"max sampled $(mib "$rss_max") MiB, peak $(mib "$busy_peak") MiB (VmHWM reset at the window's start);" \
	"CPU ${busy_cpu}% of one core; it re-read all $USERS instances $busy_reads times after $busy_events events" \
	"(no more often than poll_seconds = 2)"
echo "# idle (no events) over ${WINDOW} s: VmRSS median $(mib "$idle_med") MiB, peak $(mib "$idle_peak") MiB;" \
	"CPU ${idle_cpu}% of one core; it re-read the instances $idle_reads times"
echo "# VmHWM $(mib "$hwm") MiB before the windows (the peak since start: the first read and publish)"
echo "# fake server's own VmRSS (context, not compared): $(mib "$fake_rss") MiB"
if command -v gdb >/dev/null; then
	# malloc_stats prints to helperd's stderr (its log); malloc_trim(0)
	# returns free pages inside the heap, which glibc's automatic trim,
	# at the top of the heap only, does not.
	# Right after a read, with the fake server stopped so that a next
	# read waits in connect/GET /1.0 and allocates nothing meanwhile.
	quiet_after_poll
	kill -STOP "$FAKE_PID"
	DEBUGINFOD_URLS='' timeout 60 gdb -nx -batch -p "$pid" -ex 'call (void)malloc_stats()' \
		-ex 'call (int)malloc_trim(0)' >/dev/null 2>&1 || true
	after=$(hd_kib "$pid" VmRSS)
	kill -CONT "$FAKE_PID"
	heap=$(awk '/Total \(incl. mmap\):/ { t = 1 } t && /system bytes/ { s = $NF } t && /in use bytes/ { u = $NF; t = 0 }
		END { if (s) printf "%.1f MiB in use of %.1f MiB held", u / 1048576, s / 1048576 }' "$HD_HELPERD_LOG")
	echo "# analysis (gdb, after the measurement): glibc heap ${heap:-unknown}; after malloc_trim(0)" \
		"VmRSS $(mib "$after") MiB"
else
	echo "# analysis skipped: install gdb to see glibc's in-use vs held heap"
fi
ours=$(mib "$rss_med")
peak=$(mib "$busy_peak")
ratio=$(awk -v o="$ours" -v g="$GOAL_MIB" 'BEGIN { printf "%.3f", o / g }')
met=$(awk -v x="$ratio" 'BEGIN { print (x <= 1) ? "met" : "MISSED" }')
echo "# goal: ours (the busy median) <= $GOAL_MIB MiB, ratio <= 1.0 ($met); the busy peak is" \
	"$(awk -v p="$peak" -v g="$GOAL_MIB" 'BEGIN { printf "%.3f", p / g }') of it"
echo "BENCH helperd-rss-10k ratio=$ratio ours=$ours ref=$GOAL_MIB unit=MiB peak=$peak"
