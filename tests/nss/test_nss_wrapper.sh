#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The NSS module driven by cwrap's nss_wrapper as an unprivileged user (nobody
# when started as root): no namespace, no nsswitch.conf, nothing installed.
# initgroups_dyn is called directly (initgroups_probe.c), because
# nss_wrapper's initgroups path does not reach the module.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/nsslib.sh"
nss_need_build "$NSS_MODULE" "$MKSNAPSHOT"
NSS_WRAPPER_SO=$(libdir)/libnss_wrapper.so
[ -e "$NSS_WRAPPER_SO" ] || skip_all "nss_wrapper not installed (Debian package libnss-wrapper)"
nss_scratch

if [ "$(id -u)" -eq 0 ]; then
	RUN_AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	expect_eq "the lookups run as nobody" "65534:65534:65534" \
		"$("${RUN_AS[@]}" sh -c 'echo "$(id -ru):$(id -rg):$(id -G)"')"
else
	RUN_AS=() # already unprivileged
fi

# Everything the unprivileged user needs, in a dir it owns.
home=$T_TMP/user
mkdir -p "$home"
install -m 0755 "$MKSNAPSHOT" "$T_TMP/containarium-mksnapshot"
[ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$home"
nss_users_json | "${RUN_AS[@]}" "$T_TMP/containarium-mksnapshot" \
	--passwd-db "$home/passwd.db" --keys-db "$home/keys.db" -
expect_eq "the unprivileged user published its own snapshot" "$("${RUN_AS[@]}" id -u) 644" \
	"$(stat -c '%u %a' "$home/passwd.db")"

# nss_wrapper's own "files" source: a small passwd and group of its own.
printf 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nroot:x:0:0:root:/root:/bin/bash\n' \
	>"$T_TMP/passwd"
printf 'nogroup:x:65534:\nroot:x:0:\n' >"$T_TMP/group"

# wrapped DB COMMAND...: COMMAND as the unprivileged user, NSS through
# nss_wrapper with our module behind its files.
wrapped() {
	local db=$1
	shift
	"${RUN_AS[@]}" env LD_PRELOAD="$NSS_WRAPPER_SO" \
		NSS_WRAPPER_PASSWD="$T_TMP/passwd" NSS_WRAPPER_GROUP="$T_TMP/group" \
		NSS_WRAPPER_MODULE_SO_PATH="$T_TMP/mod/libnss_containarium.so.2" \
		NSS_WRAPPER_MODULE_FN_PREFIX=containarium CONTAINARIUM_PASSWD_DB="$db" \
		timeout -k 5 30 "$@"
}
# expect_wrapped DESCRIPTION EXIT_CODE STDOUT DB COMMAND...
expect_wrapped() {
	local desc=$1 want_rc=$2 want_out=$3 out rc
	shift 3
	out=$(wrapped "$@" 2>"$T_TMP/stderr"); rc=$?
	expect_eq "$desc" "exit $want_rc: $want_out" "exit $rc: $out"
	[ "$rc:$out" = "$want_rc:$want_out" ] || sed 's/^/#   stderr: /' "$T_TMP/stderr" | head -5
}

db=$home/passwd.db
root_pw='root:x:0:0:root:/root:/bin/bash'
expect_wrapped "getent passwd alice" 0 "$NSS_PW_ALICE" "$db" getent passwd alice
expect_wrapped "getent passwd 70011 (by uid)" 0 "$NSS_PW_BOB" "$db" getent passwd 70011
expect_wrapped "getent group containarium-users" 0 "$NSS_GR" "$db" getent group containarium-users
expect_wrapped "getent group 70000 (by gid)" 0 "$NSS_GR" "$db" getent group 70000
expect_wrapped "getent passwd: wrapper files, then ours in name order" 0 \
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
$root_pw
$NSS_PW_ALICE
$NSS_PW_BOB
$NSS_PW_ZOE" "$db" getent passwd
expect_wrapped "getent group: wrapper files, then ours" 0 \
	"nogroup:x:65534:
root:x:0:
$NSS_GR" "$db" getent group
expect_wrapped "id -u bob / id -g bob" 0 "70011 70000" "$db" sh -c 'echo $(id -u bob) $(id -g bob)'
expect_wrapped "unknown user: exit 2, no output" 2 "" "$db" getent passwd nosuchuser
expect_wrapped "unknown uid: exit 2, no output" 2 "" "$db" getent passwd 70012
expect_wrapped "unknown gid: exit 2, no output" 2 "" "$db" getent group 70001
expect_wrapped "missing snapshot: alice unknown" 2 "" "$home/missing.db" getent passwd alice
expect_wrapped "missing snapshot: root still from files" 0 "$root_pw" "$home/missing.db" getent passwd root

# Ownership rules for an unprivileged reader: its own file or root's, never
# another user's.
install -m 0644 "$db" "$T_TMP/root-owned.db"
expect_wrapped "a root-owned 0644 snapshot is accepted" 0 "$NSS_PW_ALICE" \
	"$T_TMP/root-owned.db" getent passwd alice
if [ "$(id -u)" -eq 0 ]; then
	install -m 0644 -o daemon "$db" "$T_TMP/daemon-owned.db"
	expect_wrapped "a snapshot owned by another user (daemon) is refused" 2 "" \
		"$T_TMP/daemon-owned.db" getent passwd alice
fi
install -m 0644 "$db" "$home/group-writable.db"
chmod 0664 "$home/group-writable.db"
[ "$(id -u)" -eq 0 ] && chown nobody "$home/group-writable.db"
expect_wrapped "its own snapshot, group-writable, is refused" 2 "" "$home/group-writable.db" getent passwd alice

# --- initgroups_dyn, called directly --------------------------------------
if nss_cc "$T_TMP/initgroups_probe" "$NSS_TESTDIR/initgroups_probe.c" -ldl; then
	probe() { wrapped "$1" "$T_TMP/initgroups_probe" "$T_TMP/mod/libnss_containarium.so.2" "${@:2}"; }
	head -c 300 /dev/zero >"$home/corrupt.db"
	[ "$(id -u)" -eq 0 ] && chown nobody "$home/corrupt.db"
	expect_eq "initgroups alice: our gid appended, the list grown (size 1 -> 2)" \
		"SUCCESS start=2 size=2: 100 70000 errno=kept" "$(probe "$db" alice 100 -1 1 100)"
	expect_eq "initgroups alice: primary gid already ours, nothing added" \
		"SUCCESS start=1 size=4: 70000 errno=kept" "$(probe "$db" alice 70000 -1 4 70000)"
	expect_eq "initgroups alice: our gid already collected, not added twice" \
		"SUCCESS start=3 size=4: 100 70000 200 errno=kept" "$(probe "$db" alice 100 -1 4 100 70000 200)"
	expect_eq "initgroups alice: at the limit, stops quietly" \
		"SUCCESS start=1 size=1: 100 errno=kept" "$(probe "$db" alice 100 1 1 100)"
	expect_eq "initgroups alice: grown only up to the limit" \
		"SUCCESS start=3 size=3: 100 200 70000 errno=kept" "$(probe "$db" alice 100 3 2 100 200)"
	expect_eq "initgroups unknown user: NOTFOUND, list untouched" \
		"NOTFOUND start=1 size=4: 100 errno=kept" "$(probe "$db" nosuchuser 100 -1 4 100)"
	expect_eq "initgroups, missing snapshot: UNAVAIL/ENOENT" \
		"UNAVAIL errnop=ENOENT start=1 size=4: 100" "$(probe "$home/missing.db" alice 100 -1 4 100)"
	expect_eq "initgroups, corrupt snapshot: UNAVAIL/EIO" \
		"UNAVAIL errnop=EIO start=1 size=4: 100" "$(probe "$home/corrupt.db" alice 100 -1 4 100)"
	expect_eq "initgroups, group-writable snapshot: UNAVAIL/EPERM" \
		"UNAVAIL errnop=EPERM start=1 size=4: 100" "$(probe "$home/group-writable.db" alice 100 -1 4 100)"
else
	fail "initgroups_probe.c compiles"
fi

summary
