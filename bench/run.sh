#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the benchmarks (bench/README.md).
#
#   bench/run.sh BUILD [NAME...]          run the benchmarks (default: all)
#   bench/run.sh BUILD --exec CFG CMD...  run CMD in configuration CFG, for
#                                         analysis (strace -c, perf stat ...)
#
# Needs root.  Everything runs in a private mount namespace where
#   - a read-only overlay on the multiarch lib dir adds libnss_containarium.so.2
#     and the do-nothing libnss_ctmfloor.so.2 (bench/nss_floor.c),
#   - a read-only overlay on /etc adds empty mount points for libnss-cache's
#     /etc/passwd.cache{,.ixname,.ixuid},
# and, inside it, one nested namespace per configuration (CFG), held open by
# a sleeping process, binds that configuration's files:
#   ours           nsswitch "passwd: containarium"
#   files          nsswitch "passwd: files"
#   cache          nsswitch "passwd: cache" + passwd.cache and its indexes
#   cache-noindex  the same without the indexes (empty files)
#   floor          nsswitch "passwd: ctmfloor"
# and all of them a 30-line /etc/passwd.  CONTAINARIUM_PASSWD_DB points our
# module at the scratch passwd.db.  Nothing outside the namespaces changes.
#
# Each benchmark ends with the line
#   BENCH <name> ratio=<ours/ref> ours=<v> ref=<v> unit=<u>
# preceded by "# goal: ratio <= G (met|MISSED)".  Exits non-zero only when a
# measurement failed (wrong answer, broken setup), never for a missed goal.
#
# Environment: BENCH_USERS (100000), BENCH_ROUNDS in-process rounds per side
# (10), BENCH_SECONDS per round (0.5), BENCH_RUNS process spawns per side (1500),
# BENCH_LDCACHE=1 to add a private ld.so.cache listing the modules (as an
# installed system has; without it ld.so searches the lib dirs for them).
set -euo pipefail

SELF=$(readlink -f "$0")
SRC=$(cd "$(dirname "$SELF")/.." && pwd)
USERS=${BENCH_USERS:-100000}
ROUNDS=${BENCH_ROUNDS:-10}
SECS=${BENCH_SECONDS:-0.5}
RUNS=${BENCH_RUNS:-1500}
CONFIGS=(ours files cache cache-noindex floor)

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --hold SCRATCH CFG FIFO: (in a fresh namespace) bind CFG's files, report
# on FIFO, then sleep so the namespace stays for nsenter and setns.
if [ "${1:-}" = --hold ]; then
	S=$2 cfg=$3
	# Always answer, or the reader of the FIFO would wait forever.
	trap 'echo failed >"$4"' EXIT
	mount --bind "$S/nsswitch.$cfg" /etc/nsswitch.conf
	mount --bind "$S/passwd.small" /etc/passwd
	case $cfg in
	cache | cache-noindex)
		mount --bind "$S/passwd.cache" /etc/passwd.cache
		if [ "$cfg" = cache ]; then
			mount --bind "$S/passwd.cache.ixname" /etc/passwd.cache.ixname
			mount --bind "$S/passwd.cache.ixuid" /etc/passwd.cache.ixuid
		fi ;;
	esac
	trap - EXIT
	echo ready >"$4"
	exec sleep 86400
fi

# --outer BUILD SCRATCH ARGS...: in the outer private namespace.
if [ "${1:-}" = --outer ]; then
	B=$2 S=$3
	shift 3
	LIBDIR=$(cat "$S/libdir")
	mount -t overlay ctm-bench-lib -o "lowerdir=$S/lib:$LIBDIR" "$LIBDIR"
	mount -t overlay ctm-bench-etc -o "lowerdir=$S/etc:/etc" /etc
	if [ "${BENCH_LDCACHE:-0}" = 1 ]; then
		# As after `make install` + ldconfig: the modules are in the
		# cache, so ld.so opens them without searching the lib dirs.
		ldconfig -X -C "$S/ld.so.cache"
		mount --bind "$S/ld.so.cache" /etc/ld.so.cache
		echo "# BENCH_LDCACHE=1: private ld.so.cache that lists the modules"
	fi
	export CONTAINARIUM_PASSWD_DB=$S/passwd.db

	declare -A NS
	HOLDERS=()
	trap '[ ${#HOLDERS[@]} -eq 0 ] || kill "${HOLDERS[@]}" 2>/dev/null || true' EXIT
	for cfg in "${CONFIGS[@]}"; do
		mkfifo "$S/ready.$cfg"
		unshare --mount -- "$SELF" --hold "$S" "$cfg" "$S/ready.$cfg" &
		HOLDERS+=($!)
		NS[$cfg]=/proc/$!/ns/mnt
		read -r state <"$S/ready.$cfg" || true
		[ "$state" = ready ] || die "the namespace for $cfg did not come up"
	done
	in_cfg() { local c=$1; shift; nsenter --mount="${NS[$c]}" -- "$@"; }

	if [ "${1:-}" = --exec ]; then
		[ -n "${NS[${2:-}]:-}" ] || die "--exec: no configuration ${2:-} (${CONFIGS[*]})"
		cfg=$2
		shift 2
		in_cfg "$cfg" "$@" && exit 0 || exit $?
	fi

	LOOKUP=$B/bench/nss_lookup
	SPAWN=$B/bench/spawn_bench
	GETENT=$(command -v getent)

	field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
	median() {
		printf '%s\n' "$@" | sort -g |
			awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
	}
	# report NAME GOAL UNIT OURS REF
	report() {
		local ratio verdict
		ratio=$(awk -v o="$4" -v r="$5" 'BEGIN { printf "%.3f", o / r }')
		verdict=$(awk -v x="$ratio" -v g="$2" 'BEGIN { print (x <= g) ? "met" : "MISSED" }')
		printf '# goal: ratio <= %s (%s)\n' "$2" "$verdict"
		printf 'BENCH %s ratio=%s ours=%.1f ref=%.1f unit=%s\n' "$1" "$ratio" "$4" "$5" "$3"
	}
	# expect DESCRIPTION WANT CFG CMD...: a check that the setup is what we think.
	expect() {
		local d=$1 want=$2 c=$3 got
		shift 3
		got=$(in_cfg "$c" "$@" 2>&1) || true
		[ "$got" = "$want" ] || die "setup check failed: $d: expected [$want], got [$got]"
		printf '# check: %s\n' "$d"
	}
	# lookup_rounds CFG_A LIST_A CFG_B LIST_B ARGS...: alternate the two
	# sides ROUNDS times (same seeds); prints the rounds and sets MED_A and MED_B to
	# the medians (ns per call).
	lookup_rounds() {
		local ca=$1 la=$2 cb=$3 lb=$4 r v va='' vb=''
		shift 4
		for ((r = 1; r <= ROUNDS; r++)); do
			v=$(in_cfg "$ca" "$LOOKUP" --seconds "$SECS" --seed "$r" --list "$la" "$@") ||
				die "$ca: lookups failed"
			va+="$(field ns_per_call <<<"$v") "
			v=$(in_cfg "$cb" "$LOOKUP" --seconds "$SECS" --seed "$r" --list "$lb" "$@") ||
				die "$cb: lookups failed"
			vb+="$(field ns_per_call <<<"$v") "
		done
		printf '# rounds ours (ns/call): %s\n# rounds ref  (ns/call): %s\n' "$va" "$vb"
		# shellcheck disable=SC2086
		MED_A=$(median $va) MED_B=$(median $vb)
	}
	# spawn_sides OUT_VAR spawn_bench-args...: one interleaved spawn_bench
	# run; prints its lines as comments, sets OUT_VAR[i] to side i's median.
	spawn_sides() {
		local -n out=$1
		local v line
		shift
		# A clean environment, as sshd gives AuthorizedKeysCommand: no
		# LANG, so no locale files are loaded by either side.
		v=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CONTAINARIUM_PASSWD_DB="$S/passwd.db" \
			"$SPAWN" --runs "$RUNS" "$@") || die "spawn_bench failed"
		out=()
		while read -r line; do
			printf '# %s\n' "$line"
			out+=("$(field median_us <<<"$line")")
		done <<<"$v"
	}

	last=$(tail -n 1 "$S/users.list")
	last_name=${last% *} last_uid=${last#* }

	bench_nss_getpwnam() {
		echo "=== nss-getpwnam-100k"
		echo "# getpwnam_r then getpwuid_r of a random user, 1 thread, ${SECS}s x $ROUNDS rounds; wall ns per call"
		echo "# ours: passwd: containarium, $USERS users in passwd.db"
		echo "# ref:  passwd: files, 30-line /etc/passwd (random users of those 30)"
		lookup_rounds ours "$S/users.list" files "$S/small.list"
		report nss-getpwnam-100k 1.0 ns/call "$MED_A" "$MED_B"
	}

	bench_nss_vs_cache() {
		echo "=== nss-vs-cache-100k"
		echo "# getpwnam_r then getpwuid_r of a random user, 1 thread, ${SECS}s x $ROUNDS rounds; wall ns per call"
		echo "# ours: passwd: containarium, $USERS users in passwd.db"
		echo "# ref:  passwd: cache (libnss-cache), the same users in /etc/passwd.cache + .ixname + .ixuid"
		# libnss-cache falls back to a linear scan when an index is missing,
		# empty or older than passwd.cache: make sure it does not.
		local with without
		with=$(in_cfg cache "$LOOKUP" --seconds 0.3 --user "$last_name:$last_uid" | field ns_per_call)
		without=$(in_cfg cache-noindex "$LOOKUP" --seconds 0.3 --user "$last_name:$last_uid" | field ns_per_call)
		{ [ -n "$with" ] && [ -n "$without" ]; } || die "libnss-cache: lookups of $last_name failed"
		printf '# check: libnss-cache answers %s (last line) in %.0f ns/call with indexes, %.0f without\n' \
			"$last_name" "$with" "$without"
		awk -v w="$with" -v wo="$without" 'BEGIN { exit !(wo > 20 * w) }' ||
			die "libnss-cache does not seem to answer from its indexes"
		lookup_rounds ours "$S/users.list" cache "$S/users.list"
		report nss-vs-cache-100k 0.2 ns/call "$MED_A" "$MED_B"
	}

	bench_nss_threads() {
		echo "=== nss-threads-100k"
		echo "# 2 threads at once, each getpwnam_r then getpwuid_r of random users, ${SECS}s x $ROUNDS rounds;"
		echo "# wall ns per call counting both threads' calls"
		echo "# ours: containarium, $USERS users; ref: libnss-cache with indexes, the same users"
		lookup_rounds ours "$S/users.list" cache "$S/users.list" --threads 2
		report nss-threads-100k 0.1 ns/call "$MED_A" "$MED_B"
	}

	bench_nss_getent() {
		echo "=== nss-getent-100k"
		echo "# whole process: getent passwd NAME (random user); $RUNS runs per side, interleaved; median µs"
		echo "# side 0 ours:  passwd: containarium, $USERS users"
		echo "# side 1 ref:   passwd: files, 30-line /etc/passwd"
		echo "# side 2 floor: passwd: ctmfloor, a module that opens nothing (the least any dlopen'ed module costs)"
		local m
		spawn_sides m \
			--ns "${NS[ours]}" --list "$S/users.list" --expect '{}:*:' -- "$GETENT" passwd '{}' \; \
			--ns "${NS[files]}" --list "$S/small.list" --expect '{}:x:' -- "$GETENT" passwd '{}' \; \
			--ns "${NS[floor]}" --list "$S/users.list" --expect '{}:*:' -- "$GETENT" passwd '{}'
		awk -v f="${m[2]}" -v r="${m[1]}" -v o="${m[0]}" \
			'BEGIN { printf "# floor/ref = %.3f, ours/floor = %.3f\n", f / r, o / f }'
		report nss-getent-100k 1.05 us/process "${m[0]}" "${m[1]}"
	}

	bench_authkeys() {
		echo "=== authkeys-100k"
		echo "# whole process; $RUNS runs per side, interleaved; median µs"
		echo "# side 0 ours: containarium-authorized-keys USER (random of $USERS users, one key each in keys.db)"
		echo "# side 1 ref:  cat of a one-key authorized_keys file"
		local m
		spawn_sides m \
			--ns "${NS[files]}" --list "$S/users.list" --expect '{}@bench' -- \
			"$B/authorized_keys/containarium-authorized-keys" --keys-db "$S/keys.db" '{}' \; \
			--ns "${NS[files]}" --expect 'permitopen="10.0.0.1:22" ssh-ed25519 ' -- /bin/cat "$S/onekey"
		report authkeys-100k 1.05 us/process "${m[0]}" "${m[1]}"
	}

	entry="$last_name:*:$last_uid:70000::/home/$last_name:/usr/sbin/nologin"
	expect "ours answers from passwd.db" "$entry" ours "$GETENT" passwd "$last_name"
	expect "ours does not fall through to files" "" ours "$GETENT" passwd root
	expect "files answers from the 30-line passwd" 30 files grep -c '' /etc/passwd
	expect "files does not know our users" "" files "$GETENT" passwd dev000000
	expect "libnss-cache answers from passwd.cache" "$entry" cache "$GETENT" passwd "$last_uid"
	expect "libnss-cache does not fall through to files" "" cache "$GETENT" passwd root
	expect "the floor module answers" "$last_name:*:200000:70000::/nonexistent:/usr/sbin/nologin" \
		floor "$GETENT" passwd "$last_name"

	for name in "$@"; do
		case $name in
		nss-getpwnam-100k) bench_nss_getpwnam ;;
		nss-vs-cache-100k) bench_nss_vs_cache ;;
		nss-threads-100k) bench_nss_threads ;;
		nss-getent-100k) bench_nss_getent ;;
		authkeys-100k) bench_authkeys ;;
		*) die "unknown benchmark $name" ;;
		esac
	done
	exit 0
fi

# Top level: build the data in a scratch directory, then run everything in
# a private namespace.
B=${1:?usage: bench/run.sh BUILD [NAME...] | BUILD --exec CFG CMD...}
shift
case $B in /*) ;; *) B=$SRC/$B ;; esac
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(nss-getpwnam-100k nss-vs-cache-100k nss-threads-100k nss-getent-100k authkeys-100k)
[ "$(id -u)" -eq 0 ] || die "needs root (private mount namespaces and overlay mounts)"
LIBDIR=$(dirname "$(readlink -f "$(gcc -print-file-name=libc.so.6)")")
[ -e "$LIBDIR/libnss_cache.so.2" ] || die "$LIBDIR/libnss_cache.so.2 missing: apt-get install libnss-cache"
for f in bench/gen_users bench/gen_cache_index bench/nss_lookup bench/spawn_bench \
	bench/libnss_ctmfloor.so.2 nss_containarium/libnss_containarium.so.2 \
	mksnapshot/containarium-mksnapshot authorized_keys/containarium-authorized-keys; do
	[ -e "$B/$f" ] || die "$B/$f missing: run make BUILD=... bench"
done

S=$(mktemp -d "${TMPDIR:-/tmp}/ctm-bench.XXXXXX")
trap 'rm -rf "$S"' EXIT
chmod 755 "$S"
echo "$LIBDIR" >"$S/libdir"
mkdir "$S/lib" "$S/etc"
cp "$B/nss_containarium/libnss_containarium.so.2" "$B/bench/libnss_ctmfloor.so.2" "$S/lib/"
: >"$S/etc/passwd.cache"
: >"$S/etc/passwd.cache.ixname"
: >"$S/etc/passwd.cache.ixuid"
printf 'passwd: %s\ngroup: files\n' containarium >"$S/nsswitch.ours"
printf 'passwd: %s\ngroup: files\n' files >"$S/nsswitch.files"
printf 'passwd: %s\ngroup: files\n' cache >"$S/nsswitch.cache"
printf 'passwd: %s\ngroup: files\n' cache >"$S/nsswitch.cache-noindex"
printf 'passwd: %s\ngroup: files\n' ctmfloor >"$S/nsswitch.floor"

echo "# generating $USERS users"
"$B/bench/gen_users" "$S" "$USERS"
"$B/mksnapshot/containarium-mksnapshot" --passwd-db "$S/passwd.db" --keys-db "$S/keys.db" \
	"$S/users.json" >/dev/null
"$B/bench/gen_cache_index" "$S/passwd.cache"
rm "$S/users.json"
echo "# $(uname -srm), $(nproc) CPUs, glibc $(getconf GNU_LIBC_VERSION | cut -d' ' -f2)," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"

unshare --mount --propagation private -- "$SELF" --outer "$B" "$S" "${args[@]}"
