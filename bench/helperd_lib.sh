# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Shared by the helperd benchmarks (bench/helperd_*.sh): source it.
#
#   hd_helperd_start BUILD SCRATCH CONF TAG  start helperd; sets HD_HELPERD_PID
#   hd_helperd_stop                          SIGTERM it, wait for it
#   hd_api [CURL-ARGS...] PATH               one call to its API
#   hd_median                                median of the numbers on stdin
#
# helperd runs in its own UTS namespace with the host name hdbench-TAG: a
# helperd's reconcile removes unfinished containers its host name owns, so a
# benchmark helperd must never share a host name with another helperd on the
# same LXD (another developer's test run, for example).  Its log lines get
# a wall-clock prefix (the same clock as $EPOCHREALTIME), to line them up
# with a benchmark's own times when something looks odd.

hd_die() {
	printf 'helperd bench: %s\n' "$*" >&2
	exit 1
}

# hd_conf FILE KEY=VALUE...: a helperd.conf with these settings.
hd_conf() {
	local f=$1 kv
	shift
	: >"$f"
	for kv in "$@"; do
		printf '%s = %s\n' "${kv%%=*}" "${kv#*=}" >>"$f"
	done
}

# hd_helperd_start BUILD SCRATCH CONF TAG: starts helperd with CONF; its log
# is SCRATCH/helperd.log, each line prefixed by the time it was written.
# Returns when the API answers; sets HD_HELPERD_PID and HD_API_SOCKET.
hd_helperd_start() {
	local build=$1 scratch=$2 conf=$3 tag=$4 tries=100
	HD_API_SOCKET=$(awk -F' = ' '$1 == "listen_socket" { print $2 }' "$conf")
	HD_HELPERD_LOG=$scratch/helperd.log
	rm -f "$scratch/helperd.fifo"
	mkfifo "$scratch/helperd.fifo"
	# The time stamper ends by itself at EOF, when helperd exits.
	while IFS= read -r line; do
		printf '%s %s\n' "$EPOCHREALTIME" "$line"
	done <"$scratch/helperd.fifo" >"$HD_HELPERD_LOG" &
	# unshare without --fork execs sh, which execs helperd: $! is helperd.
	# shellcheck disable=SC2016 # sh expands them
	unshare --uts -- sh -c 'hostname "$1" && exec "$2" -c "$3"' _ "hdbench-$tag" \
		"$build/helperd/containarium-helperd" "$conf" 2>"$scratch/helperd.fifo" >&2 &
	HD_HELPERD_PID=$!
	while [ $((tries -= 1)) -ge 0 ]; do
		if hd_api -f /v1/system 2>/dev/null | jq -e '.backend.available' >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$HD_HELPERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$HD_HELPERD_LOG" >&2
	hd_die "helperd did not come up (log above)"
}

hd_helperd_stop() {
	[ -n "${HD_HELPERD_PID:-}" ] || return 0
	if kill -0 "$HD_HELPERD_PID" 2>/dev/null; then
		kill -TERM "$HD_HELPERD_PID"
		wait "$HD_HELPERD_PID" 2>/dev/null
	fi
	HD_HELPERD_PID=
}

hd_helperd_alive() { [ -n "${HD_HELPERD_PID:-}" ] && kill -0 "$HD_HELPERD_PID" 2>/dev/null; }

# hd_api [CURL-ARGS...] PATH
hd_api() {
	local path=${*: -1}
	curl -sS --max-time 30 --unix-socket "$HD_API_SOCKET" "${@:1:$#-1}" "http://helperd$path"
}

hd_median() {
	sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# hd_kib PID FIELD: a /proc/PID/status field (VmRSS, VmHWM, ...) in KiB.
hd_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# hd_cpu_ticks PID: user + system clock ticks used so far.
hd_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
