#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Self-test of tests/run: a copy of it in a scratch tree with fake suites
# (shell tests built on the real testlib.sh, fake unit programs) must add up
# passes, failures and skips, break on a unit test that was not built, and
# fail a run that skipped anything when CI=true; with --lanes, run lanes
# side by side, keep each suite's output whole and add up the same totals.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/testlib.sh"
mk_scratch

# fake_tree DIR: a source tree with tests/run, testlib.sh and two unit
# sources, and a build dir (DIR/build) with their programs.
fake_tree() {
	local d=$1
	mkdir -p "$d/tests/lib" "$d/tests/unit" "$d/build/tests/unit"
	cp "$SRC/tests/run" "$d/tests/run"
	cp "$SRC/tests/lib/testlib.sh" "$d/tests/lib/"
	for u in test_a test_b; do
		: >"$d/tests/unit/$u.c"
		printf '#!/bin/sh\necho "Running suite"\necho "3 passed, 0 failed"\n' >"$d/build/tests/unit/$u"
		chmod +x "$d/build/tests/unit/$u"
	done
}

# suite DIR NAME BODY: tests/NAME/test_NAME.sh sourcing testlib.sh, then BODY.
suite() {
	mkdir -p "$1/tests/$2"
	# shellcheck disable=SC2016 # the suite expands it
	printf '. "$(dirname "$0")/../lib/testlib.sh"\n%s\n' "$3" >"$1/tests/$2/test_$2.sh"
}

# run DIR [GROUPS...]: tests/run of the tree; OUT, RC, LAST (its last line).
# run_lanes DIR LANE...: the same with --lanes.
run() {
	local d=$1
	shift
	OUT=$(cd "$d" && env -u CI "${RUN_ENV[@]}" tests/run ${RUN_LANES:+--lanes} build "$@" 2>&1)
	RC=$?
	LAST=$(printf '%s\n' "$OUT" | tail -n 1)
}
run_lanes() { RUN_LANES=1 run "$@"; }
RUN_LANES=
RUN_ENV=()

t=$T_TMP/one
fake_tree "$t"
suite "$t" good 'ok one; ok two; summary'
suite "$t" skipper 'ok before; skip_all "frobnicator missing (tests/install-deps)"'
suite "$t" partial 'ok a; skip "needs a tape drive" "no /dev/st0"; summary'
run "$t" unit shell
expect_eq "totals count passes and skips (2 unit x 3, 2 + 1 + 1 shell; 2 skipped)" \
	"10 passed, 0 failed, 2 skipped" "$LAST"
expect_eq "a run with skips but no failure succeeds outside CI" 0 "$RC"
expect_match "the skipping suite says why" '^ok 2 # SKIP test_skipper: frobnicator missing' "$OUT"
expect_eq "a suite's output is TAP: its plan comes last, before the summary line" \
	"ok 1 - one|ok 2 - two|1..2|2 passed, 0 failed" "$(printf '%s\n' "$OUT" | grep -A3 -x 'ok 1 - one' | head -n 4 | paste -sd '|')"
expect_eq "a skip is a TAP test line, counted in the plan" \
	"ok 1 - a|ok 2 # SKIP test_partial: needs a tape drive: no /dev/st0|1..2|1 passed, 0 failed, 1 skipped" \
	"$(printf '%s\n' "$OUT" | grep -A3 -x 'ok 1 - a' | head -n 4 | paste -sd '|')"

RUN_ENV=(CI=true)
run "$t" unit shell
expect_eq "under CI=true the totals are the same" "10 passed, 0 failed, 2 skipped" "$LAST"
check "under CI=true a skip fails the run" test "$RC" -ne 0
expect_match "under CI=true a broken line names the skipping suite and why" \
	'^# broken: skipper/test_skipper\.sh skipped 1 under CI=true: frobnicator missing' "$OUT"
expect_match "... and the partly skipping one" \
	'^# broken: partial/test_partial\.sh skipped 1 under CI=true: needs a tape drive: no /dev/st0' "$OUT"
rm "$t/tests/skipper/test_skipper.sh" "$t/tests/partial/test_partial.sh"
run "$t" unit shell
expect_eq "under CI=true a run without skips succeeds" "0 8 passed, 0 failed, 0 skipped" "$RC $LAST"
RUN_ENV=()

rm "$t/build/tests/unit/test_b"
run "$t" unit
expect_eq "a unit test that was not built is a failure" "3 passed, 1 failed, 0 skipped" "$LAST"
check "... which fails the run" test "$RC" -ne 0
expect_match "... and is named" "^# broken: unit/test_b \\(not built: (.*/)?build/tests/unit/test_b" "$OUT"

suite "$t" bad 'ok x; fail y; summary'
suite "$t" silent 'echo nothing to see'
suite "$t" liar 'ok x; summary; exit 3'
fake_tree "$t"
run "$t" shell
expect_eq "failures, a missing summary and a non-zero exit with 0 failed all count" \
	"4 passed, 3 failed, 0 skipped" "$LAST"
expect_match "a suite without a summary line is broken" '^# broken: silent/test_silent\.sh \(exit 0, no summary line\)' "$OUT"
expect_match "a suite exiting non-zero with nothing failed is broken" '^# broken: liar/test_liar\.sh \(exit 3\)' "$OUT"
check "the run fails" test "$RC" -ne 0
# shellcheck disable=SC2016 # bash -c expands it
check "the total line is alone on the last line" \
	bash -c 'printf "%s\n" "$1" | grep -cxE "[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" | grep -qx 1' _ "$OUT"
# The lxd group: the backend-dependent suites again, with CTM_BACKEND=lxd.
t=$T_TMP/two
fake_tree "$t"
for f in $(sed -n '/^BACKEND_SUITES="/,/"$/p' "$SRC/tests/run" | tr -d '"' | sed 's/^BACKEND_SUITES=//'); do
	# Each at its own path (two may share a directory: cli/test_cli.sh and
	# cli/test_cli_snapshot.sh).
	mkdir -p "$t/tests/${f%/*}"
	# shellcheck disable=SC2016 # the suite expands it
	printf '. "$(dirname "$0")/../lib/testlib.sh"\n%s\n' 'expect_eq "on lxd" lxd "${CTM_BACKEND:-}"; summary' >"$t/tests/$f"
done
n=$(find "$t/tests" -name 'test_*.sh' | wc -l)
run "$t" lxd
expect_eq "lxd group: every backend suite runs once, with CTM_BACKEND=lxd" "$n passed, 0 failed, 0 skipped" "$LAST"
rm "$t/tests/helperd/test_helperd_api.sh"
run "$t" lxd
expect_match "lxd group: a backend suite that is missing is broken" \
	'^# broken: lxd:helperd/test_helperd_api\.sh \(exit 127, no summary line\)' "$OUT"
# Lanes.  A host suite (tests/nss: HOST_DIRS) and a backend one (tests/cli),
# each printing a line, then waiting for the other's start before its
# second line: sequential lanes would make the first wait out its 20 s and
# fail.  Side by side, both see each other, and each one's lines stay
# together between its "===" line and its time line.
t=$T_TMP/lanes
fake_tree "$t"
# shellcheck disable=SC2016 # the suites expand it
both_ways='ok "$1 first"; : >"$MEET/$1"; for i in $(seq 200); do [ -e "$MEET/$2" ] && break; sleep 0.1; done
check "$1 met $2" test -e "$MEET/$2"; summary'
suite "$t" nss "set -- nss cli; $both_ways"
suite "$t" cli "set -- cli nss; $both_ways"
mkdir -p "$T_TMP/meet"
RUN_ENV=(MEET="$T_TMP/meet")
# One group alone: the other suite's mark is made for it.
touch "$T_TMP/meet/cli"
run "$t" host
expect_eq "host group: only the suites of HOST_DIRS" "2 passed, 0 failed, 0 skipped|nss/test_nss.sh" \
	"$LAST|$(printf '%s\n' "$OUT" | sed -n 's/^=== //p' | paste -sd,)"
rm -f "$T_TMP/meet"/*
touch "$T_TMP/meet/nss"
run "$t" backend
expect_eq "backend group: the others" "2 passed, 0 failed, 0 skipped|cli/test_cli.sh" \
	"$LAST|$(printf '%s\n' "$OUT" | sed -n 's/^=== //p' | paste -sd,)"
rm -f "$T_TMP/meet"/*
run_lanes "$t" unit,host backend
expect_eq "two lanes: every suite ran, side by side, one total" "10 passed, 0 failed, 0 skipped" "$LAST"
expect_eq "... and the run succeeds" 0 "$RC"
# shellcheck disable=SC2016 # awk's own
expect_eq "each suite's output is whole: its lines sit between its === line and its time line" \
	"cli/test_cli.sh:4 nss/test_nss.sh:4 unit/test_a:2 unit/test_b:2" \
	"$(printf '%s\n' "$OUT" | awk '/^=== / { n = substr($0, 5); c = 0; next }
		n != "" && $0 == "# " n ": " substr($0, length(n) + 5) { print n ":" c; n = ""; next }
		n != "" { c++ }' | sort | paste -sd' ')"
expect_eq "a time line per lane, before the total" 2 "$(printf '%s\n' "$OUT" | grep -cE '^# lane [12] \((unit,host|backend)\): [0-9]+ s$')"
rm -f "$T_TMP/meet"/*
suite "$t" pam 'ok x; skip_all "no pam here"'
suite "$t" e2e 'ok x; fail y; summary'
RUN_ENV=(MEET="$T_TMP/meet" CI=true)
run_lanes "$t" unit,host backend
expect_eq "lanes: failures and skips of both lanes add up" "12 passed, 1 failed, 1 skipped" "$LAST"
check "... and fail the run" test "$RC" -ne 0
expect_match "... a broken line from a lane is kept" '^# broken: pam/test_pam\.sh skipped 1 under CI=true: no pam here' "$OUT"
# A group in both lanes is shared: pam and nss (both of HOST_DIRS) each
# wait for the other, so both pass only when each lane took one.
rm -f "$T_TMP/meet"/* "$t/tests/e2e/test_e2e.sh" "$t/tests/cli/test_cli.sh"
suite "$t" pam "set -- pam nss; $both_ways"
suite "$t" nss "set -- nss pam; $both_ways"
RUN_ENV=(MEET="$T_TMP/meet")
run_lanes "$t" host unit,host
expect_eq "a group in both lanes: each suite runs once, the lanes share them" \
	"10 passed, 0 failed, 0 skipped|nss/test_nss.sh:1 pam/test_pam.sh:1 unit/test_a:1 unit/test_b:1" \
	"$LAST|$(printf '%s\n' "$OUT" | sed -n 's/^=== //p' | sort | uniq -c | awk '{ print $2 ":" $1 }' | paste -sd' ')"
RUN_ENV=()
run_lanes "$t" unit,host frob
expect_eq "an unknown group stops the run before anything runs" "2|" \
	"$RC|$(printf '%s\n' "$OUT" | grep -c '^===' | grep -v '^0$')"
summary
