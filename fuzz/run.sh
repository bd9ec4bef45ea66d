#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run the fuzz targets built in FUZZDIR (make fuzz / make fuzz-regress).
#
#   fuzz/run.sh fuzz FUZZDIR [SECONDS]   fuzz each target SECONDS (20) seconds,
#                                        starting from a fresh copy of its seed
#                                        corpus in FUZZDIR/work/TARGET
#   fuzz/run.sh regress FUZZDIR          run each target once over every seed
#
# Prints one line per target and then "N passed, N failed"; exits 1 when a
# target crashed, leaked, timed out or broke a property.  Crashing inputs go
# to FUZZDIR/artifacts/, full output to FUZZDIR/logs/TARGET.MODE.log.
# FUZZ_TARGETS (space-separated) limits the run to some targets; by default
# every fuzz/fuzz_*.c.
set -u
mode=${1:?usage: fuzz/run.sh fuzz|regress FUZZDIR [SECONDS]}
dir=${2:?usage: fuzz/run.sh fuzz|regress FUZZDIR [SECONDS]}
secs=${3:-20}
src=$(cd "$(dirname "$0")" && pwd)
# Every fuzz/fuzz_*.c is a target: one the Makefile does not build fails
# as "not built" instead of being left out unnoticed.
targets=${FUZZ_TARGETS:-$(for f in "$src"/fuzz_*.c; do basename "$f" .c; done)}
case $mode in fuzz|regress) ;; *) echo "fuzz/run.sh: unknown mode $mode" >&2; exit 2 ;; esac

mkdir -p "$dir/logs" "$dir/artifacts"
passed=0 failed=0
for t in $targets; do
	bin=$dir/$t log=$dir/logs/$t.$mode.log
	if [ ! -x "$bin" ]; then
		echo "FAIL $t: $bin is not built (make fuzz-build)"
		failed=$((failed + 1))
		continue
	fi
	# An empty or missing seed corpus would fuzz from nothing, or regress
	# over nothing, and pass.
	if [ -z "$(ls -A "$src/corpus/$t" 2>/dev/null)" ]; then
		echo "FAIL $t: no seed corpus in $src/corpus/$t"
		failed=$((failed + 1))
		continue
	fi
	set -- -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$dir/artifacts/$t-"
	if [ "$mode" = fuzz ]; then
		work=$dir/work/$t
		rm -rf "$work"
		mkdir -p "$work"
		cp "$src/corpus/$t"/* "$work"/
		[ -f "$src/dict/$t.dict" ] && set -- "$@" -dict="$src/dict/$t.dict"
		"$bin" "$@" -max_total_time="$secs" -print_final_stats=1 "$work" >"$log" 2>&1
	else
		"$bin" "$@" "$src/corpus/$t"/* >"$log" 2>&1
	fi
	rc=$?
	# A target that exits 0 must also say it ran inputs (libFuzzer's final
	# stats; one "Executed" line per seed), or nothing was tested.
	if [ "$mode" = fuzz ]; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	else
		runs=$(grep -c '^Executed ' "$log")
	fi
	if [ "$rc" -eq 0 ] && [ "${runs:-0}" -eq 0 ]; then
		echo "FAIL $t: exit 0 but no input was run (log: $log)"
		failed=$((failed + 1))
	elif [ "$rc" -eq 0 ]; then
		if [ "$mode" = fuzz ]; then
			cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
			echo "ok   $t: $runs runs in $secs s, ${cov:-cov: ?}, corpus $(find "$work" -type f | wc -l) inputs"
		else
			echo "ok   $t: $runs seed inputs"
		fi
		passed=$((passed + 1))
	else
		# fuzz mode writes the crashing input as an artifact; regress mode
		# names the seed it was running.
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		[ -n "$art" ] || art=$(sed -n 's/^Running: //p' "$log" | tail -n 1)
		why=$(grep -m 1 -E 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error|property violated|SUMMARY' "$log")
		echo "FAIL $t: exit $rc: ${why:-see log}"
		echo "     input: ${art:-none written}; log: $log"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
