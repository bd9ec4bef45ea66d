#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# pam_containarium's session phase against a fake helperd (fake_helperd.py:
# the real one cannot hang, send garbage or fill its backlog on demand).
# Checks the exact request, the session id shared by open and close, every
# time budget (measured), fail=open and fail=closed with the user's message,
# the wake budget, and that users who are not ours cause no connection.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/pamlib.sh"
pam_need_wrapper
pam_need_build "$PAM_MODULE" "$MKSNAPSHOT"
command -v python3 >/dev/null || skip_all "python3 not installed"
pam_scratch

db=$T_TMP/db/passwd.db
check "containarium-mksnapshot builds the test snapshot" pam_publish "$T_TMP/db"
mkdir -p "$T_TMP/s"
# Slack over a budget for scheduling, pam_start and the snapshot lookup; the
# budgets are small so that a missing bound shows as a clear overrun.
SLACK_MS=600

# fake_start MODE ARGS...: a fresh fake helperd; sets SOCK and REC (its
# record dir) and FAKE_PID.
fake_n=0
fake_start() {
	fake_n=$((fake_n + 1))
	SOCK=$T_TMP/s/$fake_n.sock
	REC=$T_TMP/s/$fake_n
	mkdir -p "$REC"
	python3 "$PAM_TESTDIR/fake_helperd.py" "$SOCK" "$REC" "$@" 2>"$REC/stderr" &
	FAKE_PID=$!
	PAM_PIDS+=("$FAKE_PID")
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$REC/ready" ] && return 0
		sleep 0.05
	done
	fail "fake helperd ($*) starts"
	return 1
}
fake_stop() {
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
}
connections() { [ -f "$REC/connections" ] && wc -l <"$REC/connections" || echo 0; }
# within DESCRIPTION MIN MAX: the last run took MIN <= elapsed < MAX ms.
within() {
	local e
	e=$(pam_elapsed)
	if [ -n "$e" ] && [ "$e" -ge "$2" ] && [ "$e" -lt "$3" ]; then ok "$1 (${e} ms)"; else
		fail "$1"
		printf '#   elapsed %s ms, wanted [%s, %s)\n' "$e" "$2" "$3"
		pam_show
	fi
}
user_msg() { printf 'error: Containarium could not confirm your session (%s); try again or contact your administrator' "$1"; }

OK_BODY='{"recorded":true,"container":"running","ipv4":"10.0.3.15"}'
# svc NAME ARGS...: a session service for the current fake's socket.
svc() {
	local name=$1
	shift
	pam_service "$name" session "passwd_db=$db" "socket=$SOCK" "$@"
}

# --- the request, exactly ------------------------------------------------------
fake_start respond 200 0 "$OK_BODY"
svc plain
pam_run plain ctmalice rhost=203.0.113.9 tty=ssh open=PAM_SUCCESS close=PAM_SUCCESS
expect_pam "open and close for our user: PAM_SUCCESS each, the module decides" \
	"open: PAM_SUCCESS
close: PAM_SUCCESS"
expect_eq "one connection per event" 2 "$(connections)"
pid=$(printf '%s\n' "$PAM_OUT" | sed -n 's/^pid: //p')
req1=$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.1")
req2=$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.2")
expect_eq "open request: request line, headers and JSON body exactly" \
	"POST /v1/sessions HTTP/1.1
Host: helperd
Content-Type: application/json
Content-Length: matches body
Connection: close
body {\"event\": \"open\", \"user\": \"ctmalice\", \"rhost\": \"203.0.113.9\", \"service\": \"plain\", \"tty\": \"ssh\", \"pid\": $pid, \"session_id\": \"<hex32>\", \"wake\": true}" \
	"$(printf '%s\n' "$req1" | grep -v '^session_id ')"
expect_eq "close request: same shape, event close, never a wake" \
	"POST /v1/sessions HTTP/1.1
Host: helperd
Content-Type: application/json
Content-Length: matches body
Connection: close
body {\"event\": \"close\", \"user\": \"ctmalice\", \"rhost\": \"203.0.113.9\", \"service\": \"plain\", \"tty\": \"ssh\", \"pid\": $pid, \"session_id\": \"<hex32>\", \"wake\": false}" \
	"$(printf '%s\n' "$req2" | grep -v '^session_id ')"
sid1=$(printf '%s\n' "$req1" | sed -n 's/^session_id //p')
sid2=$(printf '%s\n' "$req2" | sed -n 's/^session_id //p')
expect_match "open carries a 128-bit hex session id" '^[0-9a-f]{32}$' "$sid1"
expect_eq "close carries the session id of the open (kept in the PAM handle)" "$sid1" "$sid2"
pam_run plain ctmalice open=PAM_SUCCESS close=PAM_SUCCESS
sid3=$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.3" | sed -n 's/^session_id //p')
sid4=$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.4" | sed -n 's/^session_id //p')
check "another session gets another id ($sid3)" test -n "$sid3" -a "$sid3" != "$sid1"
expect_eq "... shared by its own open and close" "$sid3" "$sid4"
expect_match "no rhost or tty set: sent as empty strings" '"rhost": "", "service": "plain", "tty": ""' \
	"$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.3")"
# A client's reverse-DNS name is outside input: it must stay valid JSON
# and keep no control characters (helperd drops fields that have them).
pam_run plain ctmalice "rhost=evil\"\\host"$'\x01\n'"é.example" open=PAM_SUCCESS
expect_match "quotes, backslashes, control bytes and UTF-8 in rhost: escaped, valid JSON" \
	'"rhost": "evil\\"\\\\host\?\?\\u00c3\\u00a9\.example"' \
	"$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.5")"
pam_run plain ctmalice "rhost=$(printf 'h%.0s' {1..400})" open=PAM_SUCCESS
expect_match "a 400-byte rhost is cut to helperd's 255" "\"rhost\": \"h{255}\", " \
	"$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.6")"
pam_service close-only session "passwd_db=$db" "socket=$SOCK"
pam_run close-only ctmalice close=PAM_SUCCESS
expect_match "a close without an open in this handle still carries a fresh id" \
	'^session_id [0-9a-f]{32}$' "$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.7")"
svc nowake wake=no
pam_run nowake ctmalice open=PAM_SUCCESS
expect_match "wake=no: the open says \"wake\": false" '"wake": false\}$' \
	"$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.8")"
pam_run plain ctmzoe open=PAM_SUCCESS
expect_match "a suspended user (account phase skipped): the open never asks for a wake" \
	'"user": "ctmzoe", .*"wake": false\}$' "$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.9")"
pam_run plain ctmpat open=PAM_SUCCESS
expect_match "a provisioning user: no wake either" \
	'"user": "ctmpat", .*"wake": false\}$' "$(python3 "$PAM_TESTDIR/parse_request.py" "$REC/req.10")"
fake_stop

# --- not ours: no IPC at all ---------------------------------------------------
# (The driver prints the conversation as it happens, the codes at the end.)
both_ignored="info: pam_next reached: open
info: pam_next reached: close
open: PAM_SUCCESS
close: PAM_SUCCESS"
fake_start respond 200 0 "$OK_BODY"
svc plain
for u in ctmnobody root; do
	pam_run plain "$u" open=PAM_SUCCESS close=PAM_SUCCESS
	expect_pam "$u (not ours): open and close are PAM_IGNORE (the next module decides)" \
		"$both_ignored"
done
pam_service missing-db session "passwd_db=$T_TMP/db/none.db" "socket=$SOCK"
pam_run missing-db ctmalice open=PAM_SUCCESS close=PAM_SUCCESS
expect_pam "missing snapshot: PAM_IGNORE for open and close" "$both_ignored"
expect_log "missing snapshot: a syslog warning" '^SYSLOG\(4\): cannot tell whether ctmalice is a Containarium user: .*does not exist; ignoring$'
expect_eq "users not ours and an unreadable snapshot: the server saw no connection" 0 "$(connections)"
fake_stop

# --- answers: 2xx is success, anything else follows fail= -------------------------
fake_start respond 200 0 '{"recorded":true,"container":"started","ipv4":"10.0.3.15"}'
svc plain
pam_run plain ctmalice open=PAM_SUCCESS
expect_pam "200 with a started container: PAM_SUCCESS" "open: PAM_SUCCESS"
expect_log "a woken container is logged" '^SYSLOG\(6\): session open for ctmalice: helperd started the container \(10\.0\.3\.15\) in [0-9]+ ms$'
fake_stop
fake_start respond 202 0 '{}'
svc closed fail=closed
pam_run closed ctmalice open=PAM_SUCCESS
expect_pam "any 2xx (202, empty body) is success, even with fail=closed" "open: PAM_SUCCESS"
fake_stop

err503='{"error":{"code":"start_failed","message":"container ctmalice-container did not start","status":503}}'
fake_start respond 503 0 "$err503"
svc open-503
svc closed-503 fail=closed
pam_run open-503 ctmalice open=PAM_SUCCESS
expect_pam "503, fail=open (default): PAM_SUCCESS, nothing said to the user" "open: PAM_SUCCESS"
expect_log "503, fail=open: warning with status, helperd's message and code" \
	'^SYSLOG\(4\): session open for ctmalice: helperd answered 503: container ctmalice-container did not start \(error code start_failed\); fail=open: allowing the session$'
pam_run closed-503 ctmalice open=PAM_SESSION_ERR
expect_pam "503, fail=closed: PAM_SESSION_ERR and the message to the user" \
	"$(user_msg 'helperd answered 503: container ctmalice-container did not start')
open: PAM_SESSION_ERR"
expect_log "503, fail=closed: logged as an error" \
	'^SYSLOG\(3\): session open for ctmalice: helperd answered 503: .*; fail=closed: refusing the session$'
pam_service close-503 session "passwd_db=$db" "socket=$SOCK" fail=closed
pam_run close-503 ctmalice close=PAM_SUCCESS
expect_pam "close answered 503 with fail=closed: still PAM_SUCCESS (logout is never refused)" "close: PAM_SUCCESS"
expect_log "close answered 503: logged" '^SYSLOG\(4\): session close for ctmalice: helperd answered 503: .*is not recorded$'
fake_stop

fake_start respond 403 0 'not json at all'
svc closed fail=closed
pam_run closed ctmalice open=PAM_SESSION_ERR
expect_pam "403 with a non-JSON body, fail=closed: the status alone" \
	"$(user_msg 'helperd answered 403')
open: PAM_SESSION_ERR"
fake_stop

fake_start garbage
svc closed fail=closed
svc open-garbage
pam_run closed ctmalice open=PAM_SESSION_ERR
expect_pam "garbage answer, fail=closed: PAM_SESSION_ERR, says malformed" \
	"$(user_msg 'helperd sent a malformed answer')
open: PAM_SESSION_ERR"
within "garbage answer: refused at once, without waiting for the budget" 0 $SLACK_MS
pam_run open-garbage ctmalice open=PAM_SUCCESS
expect_log "garbage answer, fail=open: PAM_SUCCESS with a warning" \
	'^SYSLOG\(4\): session open for ctmalice: helperd sent a malformed answer \([0-9]+ bytes received\); fail=open: allowing the session$'
fake_stop

# helperd not running at all.
SOCK=$T_TMP/s/nobody-listens.sock
svc open-none
svc closed-none fail=closed
pam_run open-none ctmalice open=PAM_SUCCESS close=PAM_SUCCESS
expect_pam "no helperd, fail=open: open and close PAM_SUCCESS" "open: PAM_SUCCESS
close: PAM_SUCCESS"
expect_log "no helperd: the warning names the reason and errno" \
	'^SYSLOG\(4\): session open for ctmalice: helperd is not reachable \(connect: No such file or directory\); fail=open: allowing the session$'
pam_run closed-none ctmalice open=PAM_SESSION_ERR
expect_pam "no helperd, fail=closed: PAM_SESSION_ERR and the message" \
	"$(user_msg 'helperd is not reachable')
open: PAM_SESSION_ERR"

# --- time budgets -------------------------------------------------------------------
fake_start hang
svc hang-open timeout_ms=300 wake=no
svc hang-closed timeout_ms=300 wake=no fail=closed
pam_run hang-open ctmalice open=PAM_SUCCESS
expect_pam "server never answers, fail=open: PAM_SUCCESS" "open: PAM_SUCCESS"
within "... after timeout_ms=300" 300 $((300 + SLACK_MS))
expect_log "... with a warning naming the budget" \
	'^SYSLOG\(4\): session open for ctmalice: no answer from helperd within 300 ms \(timed out at answer\); fail=open: allowing the session$'
pam_run hang-closed ctmalice open=PAM_SESSION_ERR
expect_pam "server never answers, fail=closed: PAM_SESSION_ERR and the message" \
	"$(user_msg 'no answer from helperd within 300 ms')
open: PAM_SESSION_ERR"
within "... after timeout_ms=300" 300 $((300 + SLACK_MS))
svc hang-wake timeout_ms=200 wake_timeout_ms=900 fail=closed
pam_run hang-wake ctmalice open=PAM_SESSION_ERR
expect_pam "wake=yes, server never answers: refused after the wake budget" \
	"$(user_msg 'no answer from helperd within 900 ms')
open: PAM_SESSION_ERR"
within "... after wake_timeout_ms=900, not timeout_ms=200" 900 $((900 + SLACK_MS))
pam_service hang-close session "passwd_db=$db" "socket=$SOCK" timeout_ms=250 wake_timeout_ms=5000 fail=closed
pam_run hang-close ctmalice close=PAM_SUCCESS
expect_pam "close to a server that never answers: PAM_SUCCESS" "close: PAM_SUCCESS"
within "... after timeout_ms=250 (never the wake budget)" 250 $((250 + SLACK_MS))
expect_log "... logged" '^SYSLOG\(4\): session close for ctmalice: no answer from helperd within 250 ms'
fake_stop

fake_start partial
svc partial timeout_ms=300 wake=no fail=closed
pam_run partial ctmalice open=PAM_SESSION_ERR
expect_pam "a 200 cut short (body incomplete): not an answer; times out" \
	"$(user_msg 'no answer from helperd within 300 ms')
open: PAM_SESSION_ERR"
within "... after timeout_ms=300" 300 $((300 + SLACK_MS))
fake_stop

# Starting a stopped container takes seconds: with wake=yes the answer to
# an open may take up to wake_timeout_ms.
fake_start respond 200 800 '{"recorded":true,"container":"started","ipv4":"10.0.3.15"}'
svc slow-wake timeout_ms=300 wake_timeout_ms=3000 fail=closed
svc slow-nowake timeout_ms=300 wake_timeout_ms=3000 wake=no fail=closed
pam_run slow-wake ctmalice open=PAM_SUCCESS
expect_pam "answer after 800 ms, wake=yes: PAM_SUCCESS" "open: PAM_SUCCESS"
within "... waited for it (800 ms)" 800 $((800 + SLACK_MS))
pam_run slow-nowake ctmalice open=PAM_SESSION_ERR
expect_pam "the same answer, wake=no: too late for timeout_ms=300" \
	"$(user_msg 'no answer from helperd within 300 ms')
open: PAM_SESSION_ERR"
within "... after timeout_ms=300" 300 $((300 + SLACK_MS))
fake_stop

# A full listen backlog: connect fails with EAGAIN and nothing to poll.
fake_start backlog
filled=$(cat "$REC/ready")
check "the fake filled its backlog ($filled connections)" test "$filled" -ge 1
svc backlog timeout_ms=300 fail=closed
pam_run backlog ctmalice open=PAM_SESSION_ERR
expect_pam "listen backlog full: PAM_SESSION_ERR" \
	"$(user_msg 'no answer from helperd within 300 ms')
open: PAM_SESSION_ERR"
within "... after timeout_ms=300 of connect retries" 300 $((300 + SLACK_MS))
expect_log "... the log says where" 'timed out at connect\); fail=closed'
fake_stop

# --- a peer that closes at once: SIGPIPE must not kill the process ------------
fake_start close
svc peer-closes timeout_ms=1000 fail=closed
sigpipe_ok=0
for i in 1 2 3 4 5; do
	pam_run peer-closes ctmalice open=PAM_SESSION_ERR
	if [ "$PAM_RC" = 0 ] && printf '%s\n' "$PAM_OUT" | grep -qx 'open: PAM_SESSION_ERR'; then
		sigpipe_ok=$((sigpipe_ok + 1))
	else
		pam_show
	fi
done
expect_eq "server closing without reading: 5 of 5 runs end with PAM_SESSION_ERR, none killed" 5 "$sigpipe_ok"
fake_stop

# --- system calls: close-on-exec socket, MSG_NOSIGNAL, no threads -------------
if command -v strace >/dev/null; then
	fake_start respond 200 0 "$OK_BODY"
	svc plain
	# shellcheck disable=SC2054 # strace's comma-separated list, one word
	PAM_RUN_PREFIX=(strace -f -o "$T_TMP/strace" -e trace=socket,connect,sendto,sendmsg,clone,clone3,fork,vfork)
	pam_run plain ctmalice open=PAM_SUCCESS close=PAM_SUCCESS
	PAM_RUN_PREFIX=()
	expect_pam "under strace: PAM_SUCCESS" "open: PAM_SUCCESS
close: PAM_SUCCESS"
	tr=$(grep -v -e '+++' -e '---' "$T_TMP/strace" | sed 's/^[0-9]* *//')
	expect_eq "two connects to helperd's socket" 2 \
		"$(printf '%s\n' "$tr" | grep -cF "connect(3, {sa_family=AF_UNIX, sun_path=\"$SOCK\"}")"
	# glibc's nscd client (getpwnam_r) makes sockets too, with the same flags.
	socks=$(printf '%s\n' "$tr" | grep '^socket(')
	expect_eq "every socket made is SOCK_CLOEXEC (and non-blocking)" \
		"$(printf '%s\n' "$socks" | wc -l)" \
		"$(printf '%s\n' "$socks" | grep -c 'SOCK_CLOEXEC|SOCK_NONBLOCK')"
	expect_eq "every send has MSG_NOSIGNAL" "2 2" \
		"$(printf '%s\n' "$tr" | grep -c '^sendto(3, "POST ') $(printf '%s\n' "$tr" | grep '^sendto(3, "POST ' | grep -c 'MSG_NOSIGNAL')"
	expect_eq "no thread or process is created" "" "$(printf '%s\n' "$tr" | grep -E '^(clone|clone3|fork|vfork)\(')"
	fake_stop
else
	fail "strace installed (for the system call checks)"
fi

summary
