#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Memcheck over the NSS module as glibc really drives it (getent, id and a
# long-lived process inside the namespace of nsslib.sh), and over
# containarium-authorized-keys: no invalid access, no uninitialised use, no
# definite leak, on the success paths and the error paths.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/nsslib.sh"
need_root
command -v valgrind >/dev/null || skip_all "valgrind not installed (tests/install-deps installs it)"
nss_need_build "$NSS_MODULE" "$MKSNAPSHOT" "$AUTHKEYS"
nss_scratch

# Valgrind 3.19 (Debian 12) gives up on clang 14's default DWARF 5 debug info.
# That is a tool limit, not an error in our code: skip, saying how to build.
valgrind --log-file="$T_TMP/probe.log" "$AUTHKEYS" --help >/dev/null 2>&1
if grep -q "debuginfo reader: Possibly corrupted debuginfo" "$T_TMP/probe.log"; then
	skip_all "this valgrind cannot read the build's debug info (clang DWARF 5?); build with CFLAGS='-O2 -g -gdwarf-4'"
fi

db=$T_TMP/db/passwd.db
keys=$T_TMP/db/keys.db
check "containarium-mksnapshot builds the test snapshot" nss_publish "$T_TMP/db"
VG_LOG=$T_TMP/valgrind.log
VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--log-file="$VG_LOG")

# vg_check DESCRIPTION EXIT_CODE STDOUT COMMAND...: COMMAND runs "${VG[@]}" PROGRAM.
# Asserts the exit code (99 would be valgrind's: errors found), the exact
# stdout (so the module really answered) and valgrind's "0 errors" summary.
vg_check() {
	local desc=$1 want_rc=$2 want_out=$3 out rc summary
	shift 3
	rm -f "$VG_LOG"
	out=$("$@" 2>"$T_TMP/stderr"); rc=$?
	summary=$(grep -o 'ERROR SUMMARY: .*' "$VG_LOG" 2>/dev/null)
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ] &&
		[ "$summary" = "ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)" ]; then
		ok "valgrind: $desc"
	else
		fail "valgrind: $desc"
		printf '#   expected: exit %s, stdout: %s\n#   actual:   exit %s, stdout: %s\n' \
			"$want_rc" "$want_out" "$rc" "$out"
		grep -v '^==[0-9]*== *$' "$VG_LOG" 2>/dev/null | sed 's/^/#   /' | head -60
		sed 's/^/#   stderr: /' "$T_TMP/stderr" | head -5
	fi
}

files_pw=$(ns_run env "$db" getent -s files passwd)
files_gr=$(ns_run env "$db" getent -s files group)
id_alice="uid=70010(alice) gid=70000(containarium-users) groups=70000(containarium-users)"

# --- glibc's NSS through the module ------------------------------------------
vg_check "getent passwd alice" 0 "$NSS_PW_ALICE" ns_run env "$db" "${VG[@]}" getent passwd alice
vg_check "getent passwd 70011" 0 "$NSS_PW_BOB" ns_run env "$db" "${VG[@]}" getent passwd 70011
vg_check "getent passwd (enumeration)" 0 \
	"$files_pw"$'\n'"$NSS_PW_ALICE"$'\n'"$NSS_PW_BOB"$'\n'"$NSS_PW_ZOE" \
	ns_run env "$db" "${VG[@]}" getent passwd
vg_check "getent group containarium-users" 0 "$NSS_GR" \
	ns_run env "$db" "${VG[@]}" getent group containarium-users
vg_check "getent group 70000" 0 "$NSS_GR" ns_run env "$db" "${VG[@]}" getent group 70000
vg_check "getent group (enumeration)" 0 "$files_gr"$'\n'"$NSS_GR" ns_run env "$db" "${VG[@]}" getent group
vg_check "getent initgroups alice" 0 "$(printf '%-21s 70000' alice)" \
	ns_run env "$db" "${VG[@]}" getent initgroups alice
vg_check "id alice" 0 "$id_alice" ns_run env "$db" "${VG[@]}" id alice
vg_check "id alice, default path" 0 "$id_alice" ns_run default "$db" "${VG[@]}" id alice
vg_check "getent passwd nosuchuser" 2 "" ns_run env "$db" "${VG[@]}" getent passwd nosuchuser
vg_check "getent group 70001" 2 "" ns_run env "$db" "${VG[@]}" getent group 70001

# --- error paths -----------------------------------------------------------
mkdir -p "$T_TMP/bad"
perl -e 'srand(42); print map { chr(int rand 256) } 1 .. 4096' >"$T_TMP/bad/garbage"
size=$(stat -c %s "$db")
head -c $((size - 4)) "$db" >"$T_TMP/bad/truncated"
cp "$db" "$T_TMP/bad/flipped"
off=$(grep -abo 'Alice Liddell' "$db" | head -n 1 | cut -d: -f1)
printf 'X' | dd of="$T_TMP/bad/flipped" bs=1 seek="$off" conv=notrunc status=none
chmod 0644 "$T_TMP/bad"/*
vg_check "missing snapshot: getent passwd alice" 2 "" \
	ns_run env "$T_TMP/missing.db" "${VG[@]}" getent passwd alice
for f in garbage truncated flipped; do
	vg_check "corrupt ($f): getent passwd alice" 2 "" ns_run env "$T_TMP/bad/$f" "${VG[@]}" getent passwd alice
	vg_check "corrupt ($f): getent passwd (enumeration)" 0 "$files_pw" \
		ns_run env "$T_TMP/bad/$f" "${VG[@]}" getent passwd
done
vg_check "corrupt (garbage): id alice" 1 "" ns_run env "$T_TMP/bad/garbage" "${VG[@]}" id alice

# --- buffer contract and snapshot replacement in one process -------------
if nss_cc "$T_TMP/getent_buffers" "$NSS_TESTDIR/getent_buffers.c" &&
	nss_cc "$T_TMP/lookup_stages" "$NSS_TESTDIR/lookup_stages.c"; then
	NSS_NSSWITCH=$T_TMP/nsswitch-only.conf
	vg_check "getpwnam_r with every buffer size" 0 "passwd alice: ERANGE below 42 bytes; $NSS_PW_ALICE" \
		ns_run env "$db" "${VG[@]}" "$T_TMP/getent_buffers" passwd alice
	vg_check "getgrnam_r with every buffer size" 0 \
		"group containarium-users: ERANGE below 29 bytes; $NSS_GR 0 members" \
		ns_run env "$db" "${VG[@]}" "$T_TMP/getent_buffers" group containarium-users
	NSS_NSSWITCH=$T_TMP/nsswitch.conf
	rm -f "$VG_LOG"
	nss_live_scenario "valgrind: a process remaps a republished snapshot, then loses it" \
		"${VG[@]}" "$T_TMP/lookup_stages" "$T_TMP/live/go" 3 alice dave
	expect_eq "valgrind: no error while remapping" \
		"ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)" \
		"$(grep -o 'ERROR SUMMARY: .*' "$VG_LOG")"
else
	fail "getent_buffers.c and lookup_stages.c compile"
fi

# --- containarium-authorized-keys ------------------------------------------
prefix='restrict,port-forwarding,permitopen='
vg_check "authorized-keys alice" 0 "$prefix\"10.0.3.15:22\" $NSS_KEY_ALICE" \
	"${VG[@]}" "$AUTHKEYS" --keys-db "$keys" alice
vg_check "authorized-keys bob" 0 "$prefix\"10.0.3.16:22\" $NSS_KEY_BOB" \
	"${VG[@]}" "$AUTHKEYS" --keys-db "$keys" bob
vg_check "authorized-keys zoe (suspended): nothing" 0 "" "${VG[@]}" "$AUTHKEYS" --keys-db "$keys" zoe
vg_check "authorized-keys unknown user: nothing" 0 "" "${VG[@]}" "$AUTHKEYS" --keys-db "$keys" nosuchuser
vg_check "authorized-keys, missing keys.db: exit 1" 1 "" \
	"${VG[@]}" "$AUTHKEYS" --keys-db "$T_TMP/missing.db" alice
vg_check "authorized-keys, corrupt keys.db: exit 1" 1 "" \
	"${VG[@]}" "$AUTHKEYS" --keys-db "$T_TMP/bad/garbage" alice

summary
