#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Memcheck over pam_containarium as libpam drives it (the libpamtest driver
# under pam_wrapper): no invalid access, no uninitialised use, no definite
# leak, on every path: each account decision, a bad snapshot, session open
# and close answered, refused, timed out and unreachable, and the session
# id kept between open and close (freed by pam_end).
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/pamlib.sh"
command -v valgrind >/dev/null || skip_all "valgrind not installed (tests/install-deps installs it)"
command -v python3 >/dev/null || skip_all "python3 not installed"
pam_need_wrapper
pam_need_build "$PAM_MODULE" "$MKSNAPSHOT"
pam_scratch

# Valgrind 3.19 (Debian 12) gives up on clang 14's default DWARF 5 debug info.
valgrind --log-file="$T_TMP/probe.log" "$T_TMP/pamtest_driver" >/dev/null 2>&1
if grep -q "debuginfo reader: Possibly corrupted debuginfo" "$T_TMP/probe.log"; then
	skip_all "this valgrind cannot read the build's debug info (clang DWARF 5?); build with CFLAGS='-O2 -g -gdwarf-4'"
fi

db=$T_TMP/db/passwd.db
check "containarium-mksnapshot builds the test snapshot" pam_publish "$T_TMP/db"
VG_LOG=$T_TMP/valgrind.log
# --trace-children: pam_run starts the driver through env(1), which valgrind
# then follows; the log holds the driver's report (valgrind reopens it at
# the exec).
PAM_RUN_PREFIX=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--trace-children=yes --log-file="$VG_LOG")

# vg_case DESCRIPTION EXPECTED_LINES SERVICE USER OPS...: the driver's
# output (codes and conversation) is exactly EXPECTED_LINES, so the module
# really took the path, and valgrind found nothing.
vg_case() {
	local desc=$1 want=$2 got summary
	shift 2
	rm -f "$VG_LOG"
	pam_run "$@"
	got=$(printf '%s\n' "$PAM_OUT" | grep -v -e '^elapsed_ms: ' -e '^pid: ')
	summary=$(grep -o 'ERROR SUMMARY: .*' "$VG_LOG" 2>/dev/null)
	if [ "$PAM_RC" = 0 ] && [ "$got" = "$want" ] &&
		[ "$summary" = "ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)" ] &&
		! grep -q 'definitely lost: [1-9]' "$VG_LOG"; then
		ok "valgrind: $desc"
	else
		fail "valgrind: $desc"
		printf '%s\n' "$want" | sed 's/^/#   expected: /'
		pam_show
		grep -v '^==[0-9]*== *$' "$VG_LOG" 2>/dev/null | sed 's/^/#   /' | head -60
	fi
}

# --- account -----------------------------------------------------------------
pam_service acct account "passwd_db=$db" debug
vg_case "account, active user" "account: PAM_SUCCESS" acct ctmalice account=PAM_SUCCESS
vg_case "account, suspended user (message through the conversation)" \
	"error: $PAM_MSG_SUSPENDED
account: PAM_PERM_DENIED" acct ctmzoe account=PAM_PERM_DENIED
vg_case "account, provisioning user" "error: $PAM_MSG_PROVISIONING
account: PAM_PERM_DENIED" acct ctmpat account=PAM_PERM_DENIED
vg_case "account, not ours" "info: pam_next reached: account
account: PAM_SUCCESS" acct ctmnobody account=PAM_SUCCESS
perl -e 'srand(3); print map { chr(int rand 256) } 1 .. 2048' >"$T_TMP/garbage.db"
chmod 0644 "$T_TMP/garbage.db"
pam_service acct-bad account "passwd_db=$T_TMP/garbage.db" bogus-argument
vg_case "account, corrupt snapshot and a bad argument" "info: pam_next reached: account
account: PAM_SUCCESS" acct-bad ctmzoe account=PAM_SUCCESS

# --- session ------------------------------------------------------------------
mkdir -p "$T_TMP/s"
# fake_start MODE ARGS...: fake_helperd.py (see test_pam_session.sh) on SOCK.
fake_n=0
fake_start() {
	fake_n=$((fake_n + 1))
	SOCK=$T_TMP/s/$fake_n.sock
	mkdir -p "$T_TMP/s/$fake_n"
	python3 "$PAM_TESTDIR/fake_helperd.py" "$SOCK" "$T_TMP/s/$fake_n" "$@" 2>/dev/null &
	PAM_PIDS+=("$!")
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$T_TMP/s/$fake_n/ready" ] && return 0
		sleep 0.05
	done
	fail "fake helperd ($1) starts"
}
user_msg() { printf 'error: Containarium could not confirm your session (%s); try again or contact your administrator' "$1"; }

fake_start respond 200 0 '{"recorded":true,"container":"started","ipv4":"10.0.3.15"}'
pam_service s-ok session "passwd_db=$db" "socket=$SOCK" debug
vg_case "session open and close, answered 200 (id kept, freed by pam_end)" "open: PAM_SUCCESS
close: PAM_SUCCESS" s-ok ctmalice rhost=203.0.113.9 tty=ssh open=PAM_SUCCESS close=PAM_SUCCESS
vg_case "session open twice in one handle (the first id is replaced and freed)" "open: PAM_SUCCESS
open: PAM_SUCCESS
close: PAM_SUCCESS" s-ok ctmalice open=PAM_SUCCESS open=PAM_SUCCESS close=PAM_SUCCESS
vg_case "session close without open" "close: PAM_SUCCESS" s-ok ctmalice close=PAM_SUCCESS
vg_case "session, not ours" "info: pam_next reached: open
info: pam_next reached: close
open: PAM_SUCCESS
close: PAM_SUCCESS" s-ok ctmnobody open=PAM_SUCCESS close=PAM_SUCCESS

fake_start respond 503 0 '{"error":{"code":"start_failed","message":"it did not start","status":503}}'
pam_service s-503 session "passwd_db=$db" "socket=$SOCK" fail=closed
vg_case "session open refused (503, fail=closed), message to the user" \
	"$(user_msg 'helperd answered 503: it did not start')
open: PAM_SESSION_ERR" s-503 ctmalice open=PAM_SESSION_ERR

fake_start hang
pam_service s-hang session "passwd_db=$db" "socket=$SOCK" timeout_ms=200 wake_timeout_ms=300
vg_case "session open and close time out (fail=open)" "open: PAM_SUCCESS
close: PAM_SUCCESS" s-hang ctmalice open=PAM_SUCCESS close=PAM_SUCCESS

fake_start garbage
pam_service s-garbage session "passwd_db=$db" "socket=$SOCK" fail=closed
vg_case "session open, garbage answer" "$(user_msg 'helperd sent a malformed answer')
open: PAM_SESSION_ERR" s-garbage ctmalice open=PAM_SESSION_ERR

pam_service s-none session "passwd_db=$db" "socket=$T_TMP/s/none.sock" fail=closed
vg_case "session open, helperd unreachable" "$(user_msg 'helperd is not reachable')
open: PAM_SESSION_ERR" s-none ctmalice open=PAM_SESSION_ERR

summary
