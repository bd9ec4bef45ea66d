# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the shell tests (tests/*/test_*.sh).  Source it:
#   . "$(dirname "$0")/../lib/testlib.sh"
# Each test script calls ok/fail (or skip) per check and ends with `summary`.
# The output is TAP ("ok N - ...", "not ok N - ...", a skip as
# "ok N # SKIP ...", the plan "1..N" at the end, as TAP allows), followed by
# the plain "N passed, N failed" line tests/run adds up ("N passed, N
# failed, N skipped" when something was skipped).  A test that cannot run
# at all calls skip_all WHY; tests/run counts it as skipped, and under
# CI=true a skip fails the run.
#
# Environment: BUILD (the build directory, default build), SRC (repo root).

set -u
SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
T_PASS=0
T_FAIL=0
T_SKIP=0
T_NAME=$(basename "$0" .sh)

ok() { T_PASS=$((T_PASS + 1)); printf 'ok %d - %s\n' $((T_PASS + T_FAIL + T_SKIP)) "$*"; }
# fail returns 1, and so does every expect_* and check that failed, so that
# `expect_eq ... || printf DIAGNOSTICS` prints them when it should.
fail() { T_FAIL=$((T_FAIL + 1)); printf 'not ok %d - %s\n' $((T_PASS + T_FAIL + T_SKIP)) "$*"; return 1; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		fail "$1"; printf '#   expected: %s\n#   actual:   %s\n' "$2" "$3"; return 1; fi
}
# expect_match DESCRIPTION REGEX TEXT (grep -E)
expect_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"; else
		fail "$1"; printf '#   no line matches: %s\n#   in: %s\n' "$2" "$3" | head -20; return 1; fi
}
# skip_all WHY: the rest of the test cannot run here; ends it (the checks
# already made still count).
skip_all() {
	T_SKIP=$((T_SKIP + 1))
	printf 'ok %d # SKIP %s: %s\n' $((T_PASS + T_FAIL + T_SKIP)) "$T_NAME" "$*"
	summary
	exit
}
# skip DESCRIPTION WHY: one check that cannot run here (counted as skipped).
skip() { T_SKIP=$((T_SKIP + 1)); printf 'ok %d # SKIP %s: %s\n' $((T_PASS + T_FAIL + T_SKIP)) "$T_NAME" "$1: $2"; }
summary() {
	printf '1..%d\n' $((T_PASS + T_FAIL + T_SKIP))
	if [ "$T_SKIP" -gt 0 ]; then
		printf '%d passed, %d failed, %d skipped\n' "$T_PASS" "$T_FAIL" "$T_SKIP"
	else
		printf '%d passed, %d failed\n' "$T_PASS" "$T_FAIL"
	fi
	[ "$T_FAIL" -eq 0 ]
}

# need_built FILE...: each file exists, or the test fails here.  A missing
# build is a failure, not a skip: a skip would hide a broken build.
need_built() {
	local f
	for f; do
		[ -f "$f" ] && continue
		fail "built: $f (run make BUILD=${BUILD#"$SRC"/} first)"
		summary
		exit 1
	done
}

need_root() { [ "$(id -u)" -eq 0 ] || skip_all "needs root (namespaces)"; }

# free_port: a TCP port nothing listens on at 127.0.0.1, picked by the
# kernel.  Never a fixed port: the same suite may run on both backends at
# once (tests/run --lanes), in the same network namespace.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A private scratch directory, removed on exit.
mk_scratch() {
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctm-$T_NAME.XXXXXX")
	chmod 755 "$T_TMP"
	trap 'rm -rf "$T_TMP"' EXIT
}

# The multiarch library directory glibc loads NSS modules from.
libdir() { dirname "$(gcc -print-file-name=libc.so.6 2>/dev/null | xargs readlink -f)"; }
