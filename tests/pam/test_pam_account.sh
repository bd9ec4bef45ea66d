#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# pam_containarium's account phase through libpam (libpamtest + pam_wrapper;
# no root needed): our active user passes, our suspended and provisioning
# users are refused with a message the ssh client shows, everyone else and
# every snapshot we cannot trust is PAM_IGNORE (the next module decides),
# with a syslog warning when the snapshot is at fault.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/pamlib.sh"
pam_need_wrapper
pam_need_build "$PAM_MODULE" "$MKSNAPSHOT"
pam_scratch

db=$T_TMP/db/passwd.db
check "containarium-mksnapshot builds the test snapshot" pam_publish "$T_TMP/db"
pam_service acct account "passwd_db=$db"
ignored='pam_next reached: account'

# --- our users ---------------------------------------------------------------
pam_run acct ctmalice account=PAM_SUCCESS
expect_pam "active user: PAM_SUCCESS, nothing said, next module not consulted" "account: PAM_SUCCESS"
expect_eq "active user: nothing logged" "" "$PAM_LOG"

pam_run acct ctmzoe account=PAM_PERM_DENIED
expect_pam "suspended user: PAM_PERM_DENIED with the message in the conversation" \
	"error: $PAM_MSG_SUSPENDED
account: PAM_PERM_DENIED"
expect_log "suspended user: syslog names the user, uid and reason" \
	'^SYSLOG\(5\): denying ctmzoe \(uid 70030\): the account is suspended$'

pam_run acct ctmpat account=PAM_PERM_DENIED
expect_pam "provisioning user: PAM_PERM_DENIED with the not-ready message" \
	"error: $PAM_MSG_PROVISIONING
account: PAM_PERM_DENIED"
expect_log "provisioning user: syslog says why" \
	'^SYSLOG\(5\): denying ctmpat \(uid 70031\): the container is still being provisioned$'

# --- everyone else -----------------------------------------------------------
for u in ctmnobody root daemon; do
	pam_run acct "$u" account=PAM_SUCCESS
	expect_pam "$u (not ours): PAM_IGNORE, the next module decides, nothing said to the user" \
		"info: $ignored
account: PAM_SUCCESS"
	expect_eq "$u (not ours): nothing logged" "" "$PAM_LOG"
done

# --- a snapshot we cannot trust: ignore, and say so in syslog -------------
mkdir -p "$T_TMP/bad"
perl -e 'srand(7); print map { chr(int rand 256) } 1 .. 4096' >"$T_TMP/bad/garbage"
cp "$db" "$T_TMP/bad/flipped"
off=$(grep -abo 'Alice Liddell' "$db" | head -n 1 | cut -d: -f1)
printf 'X' | dd of="$T_TMP/bad/flipped" bs=1 seek="$off" conv=notrunc status=none
head -c 100 "$db" >"$T_TMP/bad/truncated"
cp "$db" "$T_TMP/bad/unsafe"
chmod 0644 "$T_TMP/bad"/*
chmod 0666 "$T_TMP/bad/unsafe"
snapshot_case() { # NAME PATH USER REASON_REGEX
	pam_service "bad-$1" account "passwd_db=$2"
	pam_run "bad-$1" "$3" account=PAM_SUCCESS
	expect_pam "$1 snapshot, $3: PAM_IGNORE, nothing said to the user" "info: $ignored
account: PAM_SUCCESS"
	expect_log "$1 snapshot, $3: a syslog warning names the user, file and problem" \
		"^SYSLOG\(4\): cannot tell whether $3 is a Containarium user: $2: $4; ignoring$"
}
snapshot_case missing "$T_TMP/db/nonexistent.db" ctmzoe 'snapshot file does not exist'
snapshot_case garbage "$T_TMP/bad/garbage" ctmzoe 'snapshot file is corrupt.*'
snapshot_case truncated "$T_TMP/bad/truncated" ctmzoe 'snapshot file is corrupt.*'
snapshot_case "record-corrupt" "$T_TMP/bad/flipped" ctmalice 'snapshot file is corrupt.*'
snapshot_case unsafe "$T_TMP/bad/unsafe" ctmzoe 'snapshot file is not owned by root or is writable by others'
# The damage is in ctmalice's record only: other lookups still answer.
pam_service flipped-zoe account "passwd_db=$T_TMP/bad/flipped"
pam_run flipped-zoe ctmzoe account=PAM_PERM_DENIED
expect_pam "record-corrupt snapshot, an intact record (ctmzoe) still decides" \
	"error: $PAM_MSG_SUSPENDED
account: PAM_PERM_DENIED"

# --- a name another source owns is not ours ----------------------------------
# nss_wrapper stands in for files/LDAP/OS Login listed before us in
# nsswitch.conf: when the system resolves ctmzoe to another uid, sshd logged
# that user in, and our suspension must not touch them.
nssw_lib=$(dirname "$(gcc -print-file-name=libc.so.6 | xargs readlink -f)")/libnss_wrapper.so
if [ -e "$nssw_lib" ]; then
	printf 'ctmzoe:x:1500:1500:Local Zoe:/home/ctmzoe:/bin/bash\n' >"$T_TMP/nssw-passwd-other"
	printf 'ctmzoe:*:70030:70000::/:/usr/sbin/nologin\n' >"$T_TMP/nssw-passwd-ours"
	printf 'ctmzoe:x:1500:\n' >"$T_TMP/nssw-group"
	PAM_RUN_PRELOAD=libnss_wrapper.so
	export NSS_WRAPPER_GROUP=$T_TMP/nssw-group NSS_WRAPPER_PASSWD=$T_TMP/nssw-passwd-other
	pam_run acct ctmzoe account=PAM_SUCCESS
	expect_pam "ctmzoe resolved by another source to uid 1500: PAM_IGNORE, not denied" \
		"info: $ignored
account: PAM_SUCCESS"
	expect_log "name owned by another source: syslog names both uids" \
		'^SYSLOG\(4\): ctmzoe is in the Containarium snapshot as uid 70030, but the system resolves the name to uid 1500 from another source; ignoring$'
	NSS_WRAPPER_PASSWD=$T_TMP/nssw-passwd-ours
	pam_run acct ctmzoe account=PAM_PERM_DENIED
	expect_pam "ctmzoe resolved to our uid 70030: still denied" "error: $PAM_MSG_SUSPENDED
account: PAM_PERM_DENIED"
	unset NSS_WRAPPER_GROUP NSS_WRAPPER_PASSWD
	PAM_RUN_PRELOAD=
else
	fail "libnss_wrapper.so installed (libnss-wrapper) for the name-collision check"
fi

# --- arguments -----------------------------------------------------------------
pam_service args account "passwd_db=$db" bogus timeout_ms=abc fail=maybe socket=relative
pam_run args ctmzoe account=PAM_PERM_DENIED
expect_pam "bad arguments do not change the decision" "error: $PAM_MSG_SUSPENDED
account: PAM_PERM_DENIED"
expect_eq "each bad argument is logged once, saying what it needs" \
	'SYSLOG(3): ignoring argument "bogus": it is not an argument of this module
SYSLOG(3): ignoring argument "timeout_ms=abc": it needs a number of milliseconds from 1 to 600000
SYSLOG(3): ignoring argument "fail=maybe": it needs open or closed
SYSLOG(3): ignoring argument "socket=relative": it needs an absolute path shorter than 108 bytes' \
	"$(printf '%s\n' "$PAM_LOG" | grep 'ignoring argument')"
pam_service dbg account "passwd_db=$db" debug
pam_run dbg ctmalice account=PAM_SUCCESS
expect_log "debug: the decision is logged at LOG_DEBUG" '^SYSLOG\(7\): account ctmalice: Success$'

# --- without privileges ---------------------------------------------------------
# The account check needs no privilege: the snapshot is world-readable.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	PAM_RUN_PREFIX=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	pam_run acct ctmzoe account=PAM_PERM_DENIED
	expect_pam "as nobody: suspended user denied with the message" "error: $PAM_MSG_SUSPENDED
account: PAM_PERM_DENIED"
	pam_run acct ctmalice account=PAM_SUCCESS
	expect_pam "as nobody: active user allowed" "account: PAM_SUCCESS"
	PAM_RUN_PREFIX=()
fi

summary
