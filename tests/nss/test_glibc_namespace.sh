#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# libnss_containarium.so.2 through the real glibc path: getent, id and perl
# resolve users with nsswitch.conf saying `files containarium`, inside a
# private mount+pid+net namespace (see nsslib.sh, ns_enter.sh).  The host's
# /etc/nsswitch.conf and lib dir are checked unchanged afterwards.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/nsslib.sh"
need_root
nss_need_build "$NSS_MODULE" "$MKSNAPSHOT"
nss_scratch

# Host state, to compare after every namespace has gone.
host_nsswitch=$(sha256sum </etc/nsswitch.conf)
host_libdir=$(ls -la --time-style=full-iso "$NS_LIBDIR" | sha256sum)
host_varlib=$([ -e /var/lib/containarium ] && echo present || echo absent)

db=$T_TMP/db/passwd.db
check "containarium-mksnapshot builds the test snapshot" nss_publish "$T_TMP/db"
expect_eq "the snapshot is root's, mode 0644" "root 644" "$(stat -c '%U %a' "$db")"

files_pw=$(ns_run env "$db" getent -s files passwd)
files_gr=$(ns_run env "$db" getent -s files group)
root_pw=$(grep '^root:' /etc/passwd)
expect_match "files users are listed in the namespace" '^root:x:0:0:' "$files_pw"

# --- lookups with CONTAINARIUM_PASSWD_DB ------------------------------------
expect_ns "getent passwd alice" 0 "$NSS_PW_ALICE" env "$db" getent passwd alice
expect_ns "getent passwd 70011 (by uid)" 0 "$NSS_PW_BOB" env "$db" getent passwd 70011
expect_ns "getent passwd zoe (suspended users still resolve)" 0 "$NSS_PW_ZOE" env "$db" getent passwd zoe
expect_ns "getent group containarium-users" 0 "$NSS_GR" env "$db" getent group containarium-users
expect_ns "getent group 70000 (by gid)" 0 "$NSS_GR" env "$db" getent group 70000
expect_ns "id alice: uid, gid and groups" 0 \
	"uid=70010(alice) gid=70000(containarium-users) groups=70000(containarium-users)" env "$db" id alice
expect_ns "id -Gn bob" 0 "containarium-users" env "$db" id -Gn bob
expect_ns "getent passwd enumerates files users, then ours in name order" 0 \
	"$files_pw"$'\n'"$NSS_PW_ALICE"$'\n'"$NSS_PW_BOB"$'\n'"$NSS_PW_ZOE" env "$db" getent passwd
expect_ns "getent group enumerates files groups, then ours once" 0 \
	"$files_gr"$'\n'"$NSS_GR" env "$db" getent group
# getent initgroups calls getgrouplist(user, -1): the gid comes from our
# initgroups_dyn alone, not from the passwd entry.
expect_ns "getent initgroups alice (initgroups_dyn)" 0 "$(printf '%-21s 70000' alice)" \
	env "$db" getent initgroups alice
# alice also in a files group (an /etc/group bind-mounted in the namespace
# only): initgroups_dyn adds our gid after it, once.
{ cat /etc/group; echo 'ctmtestdevs:x:4343:alice'; } >"$T_TMP/group-with-alice"
expect_ns "getent initgroups alice, also in a files group" 0 "$(printf '%-21s 4343 70000' alice)" \
	env "$db" bash -c 'mount --bind "$1" /etc/group && exec getent initgroups alice' _ "$T_TMP/group-with-alice"
expect_ns "id alice, also in a files group" 0 \
	"uid=70010(alice) gid=70000(containarium-users) groups=70000(containarium-users),4343(ctmtestdevs)" \
	env "$db" bash -c 'mount --bind "$1" /etc/group && exec id alice' _ "$T_TMP/group-with-alice"
expect_ns "getent passwd root still answers from files" 0 "$root_pw" env "$db" getent passwd root

# --- names and ids that are not ours -----------------------------------------
expect_ns "unknown user: exit 2, no output" 2 "" env "$db" getent passwd nosuchuser
expect_ns "unknown uid inside the range: exit 2, no output" 2 "" env "$db" getent passwd 70012
expect_ns "unknown group: exit 2, no output" 2 "" env "$db" getent group nosuchgroup
expect_ns "unknown gid: exit 2, no output" 2 "" env "$db" getent group 70001
expect_ns "id of an unknown user fails" 1 "" env "$db" id nosuchuser

# --- missing snapshot: our users vanish, nothing else does -------------------
missing=$T_TMP/nonexistent/passwd.db
expect_ns "missing snapshot: alice unknown" 2 "" env "$missing" getent passwd alice
expect_ns "missing snapshot: uid 70010 unknown" 2 "" env "$missing" getent passwd 70010
expect_ns "missing snapshot: group unknown" 2 "" env "$missing" getent group containarium-users
expect_ns "missing snapshot: getent passwd root works" 0 "$root_pw" env "$missing" getent passwd root
expect_ns "missing snapshot: enumeration lists the files users only" 0 "$files_pw" \
	env "$missing" getent passwd
expect_ns "missing snapshot: id root works" 0 "uid=0(root) gid=0(root) groups=0(root)" \
	env "$missing" id root

# --- corrupt snapshots: unknown, never a crash (exit 2, not 134/139) ---------
bad=$T_TMP/bad
mkdir -p "$bad"
perl -e 'srand(42); print map { chr(int rand 256) } 1 .. 4096' >"$bad/garbage"
: >"$bad/empty"
head -c 100 "$db" >"$bad/short-header"
size=$(stat -c %s "$db")
head -c $((size - 4)) "$db" >"$bad/truncated"
{ head -c 8 "$db"; perl -e 'srand(7); print map { chr(int rand 256) } 1 .. 1000'; } >"$bad/magic-then-garbage"
# One byte of alice's gecos flipped: her record's CRC no longer matches.
cp "$db" "$bad/flipped"
off=$(grep -abo 'Alice Liddell' "$db" | head -n 1 | cut -d: -f1)
printf 'X' | dd of="$bad/flipped" bs=1 seek="$off" conv=notrunc status=none
chmod 0644 "$bad"/*
for f in garbage empty short-header truncated magic-then-garbage flipped; do
	expect_ns "corrupt ($f): alice unknown, no crash" 2 "" env "$bad/$f" getent passwd alice
	expect_ns "corrupt ($f): getent passwd root works" 0 "$root_pw" env "$bad/$f" getent passwd root
	expect_ns "corrupt ($f): enumeration lists the files users only" 0 "$files_pw" \
		env "$bad/$f" getent passwd
done
for f in garbage truncated; do
	expect_ns "corrupt ($f): group unknown" 2 "" env "$bad/$f" getent group containarium-users
	expect_ns "corrupt ($f): uid 70011 unknown" 2 "" env "$bad/$f" getent passwd 70011
done
# Lookups check only the record they read, so bob's intact record still answers.
expect_ns "corrupt (flipped): bob's intact record still resolves" 0 "$NSS_PW_BOB" \
	env "$bad/flipped" getent passwd bob

# --- snapshots someone else could have written are refused -------------------
unsafe=$T_TMP/unsafe
mkdir -p "$unsafe"
install -m 0664 "$db" "$unsafe/group-writable"
install -m 0646 "$db" "$unsafe/other-writable"
install -m 0644 -o nobody "$db" "$unsafe/owned-by-nobody"
install -m 0644 "$db" "$unsafe/control"
for f in group-writable other-writable owned-by-nobody; do
	expect_ns "refused ($f): alice unknown" 2 "" env "$unsafe/$f" getent passwd alice
	expect_ns "refused ($f): getent passwd root works" 0 "$root_pw" env "$unsafe/$f" getent passwd root
done
expect_ns "the same bytes, root-owned 0644, are accepted" 0 "$NSS_PW_ALICE" \
	env "$unsafe/control" getent passwd alice

# --- NOTFOUND and UNAVAIL told apart by glibc ------------------------------
# With `containarium [NOTFOUND=return] files`, root resolves only when the
# module reports UNAVAIL: a broken snapshot must never read as "no such user".
NSS_NSSWITCH=$T_TMP/nsswitch-notfound-return.conf
expect_ns "valid snapshot, root not ours: NOTFOUND (files not consulted)" 2 "" \
	env "$db" getent passwd root
expect_ns "valid snapshot, group root not ours: NOTFOUND" 2 "" env "$db" getent group root
expect_ns "valid snapshot, uid 0 not ours: NOTFOUND" 2 "" env "$db" getent passwd 0
expect_ns "missing snapshot: UNAVAIL (files answer root)" 0 "$root_pw" env "$missing" getent passwd root
expect_ns "missing snapshot: UNAVAIL for groups too" 0 "$(grep '^root:' /etc/group)" \
	env "$missing" getent group root
for f in "$bad/garbage" "$bad/truncated" "$unsafe/group-writable" "$unsafe/owned-by-nobody"; do
	expect_ns "${f#"$T_TMP"/}: UNAVAIL (files answer root)" 0 "$root_pw" env "$f" getent passwd root
done
# A files alice behind the module shows which answer alice's lookup got.
files_alice='alice:x:4242:4242:files alice:/:/bin/false'
{ cat /etc/passwd; echo "$files_alice"; } >"$T_TMP/passwd-with-alice"
# (Bind-mounted inside the namespace only.)
alice_behind_files=(bash -c 'mount --bind "$1" /etc/passwd && exec getent passwd alice' _ "$T_TMP/passwd-with-alice")
expect_ns "valid snapshot: alice answered by the module, before files" 0 "$NSS_PW_ALICE" \
	env "$db" "${alice_behind_files[@]}"
expect_ns "flipped record: alice's lookup is UNAVAIL (files answer), not NOTFOUND" 0 "$files_alice" \
	env "$bad/flipped" "${alice_behind_files[@]}"
expect_ns "missing snapshot: alice's lookup is UNAVAIL (files answer)" 0 "$files_alice" \
	env "$missing" "${alice_behind_files[@]}"
NSS_NSSWITCH=$T_TMP/nsswitch.conf

# --- buffer contract through glibc's getpwnam_r / getgrnam_r ----------------
# Smallest sizes: alice's four strings with NULs plus "*" (42); the group's
# member array (one NULL pointer), its name and "*" (8 + 19 + 2).
if nss_cc "$T_TMP/getent_buffers" "$NSS_TESTDIR/getent_buffers.c"; then
	NSS_NSSWITCH=$T_TMP/nsswitch-only.conf
	expect_ns "getpwnam_r: ERANGE and nothing written past the buffer below 42 bytes" 0 \
		"passwd alice: ERANGE below 42 bytes; $NSS_PW_ALICE" env "$db" "$T_TMP/getent_buffers" passwd alice
	expect_ns "getgrnam_r: ERANGE and nothing written past the buffer below 29 bytes" 0 \
		"group containarium-users: ERANGE below 29 bytes; $NSS_GR 0 members" \
		env "$db" "$T_TMP/getent_buffers" group containarium-users
	NSS_NSSWITCH=$T_TMP/nsswitch.conf
else
	fail "getent_buffers.c compiles"
fi

# --- the default path, /var/lib/containarium/passwd.db, no env var -----------
expect_ns "default path: getent passwd alice" 0 "$NSS_PW_ALICE" default "$db" getent passwd alice
expect_ns "default path: getent passwd 70011" 0 "$NSS_PW_BOB" default "$db" getent passwd 70011
expect_ns "default path: getent group containarium-users" 0 "$NSS_GR" \
	default "$db" getent group containarium-users
expect_ns "default path: getent group 70000" 0 "$NSS_GR" default "$db" getent group 70000
expect_ns "default path: id alice" 0 \
	"uid=70010(alice) gid=70000(containarium-users) groups=70000(containarium-users)" \
	default "$db" id alice
expect_ns "default path: enumeration" 0 \
	"$files_pw"$'\n'"$NSS_PW_ALICE"$'\n'"$NSS_PW_BOB"$'\n'"$NSS_PW_ZOE" default "$db" getent passwd
expect_ns "default path: getent initgroups alice" 0 "$(printf '%-21s 70000' alice)" \
	default "$db" getent initgroups alice
expect_ns "default path, no file: alice unknown" 2 "" default - getent passwd alice
expect_ns "default path, no file: getent passwd root works" 0 "$root_pw" default - getent passwd root
expect_ns "default path, group-writable file: refused" 2 "" \
	default "$unsafe/group-writable" getent passwd alice
expect_ns "a relative CONTAINARIUM_PASSWD_DB is ignored (default path used)" 0 "$NSS_PW_ALICE" \
	default "$db" env CONTAINARIUM_PASSWD_DB=db/passwd.db getent passwd alice
expect_ns "an absolute CONTAINARIUM_PASSWD_DB wins over the default path" 2 "" \
	default "$db" env CONTAINARIUM_PASSWD_DB="$missing" getent passwd alice

# --- a long-running process sees a republished snapshot ----------------------
# perl's getpwnam is glibc's; the C program is the same through another caller.
nss_live_scenario "one perl process saw the republished snapshot, then its removal" perl -e '
	$| = 1;
	my ($fifo, @names) = @ARGV;
	for my $stage (1 .. 3) {
		for my $n (@names) {
			my @p = getpwnam($n);
			print "$stage $n ", (@p ? "$p[2] $p[6]" : "-"), "\n";
		}
		last if $stage == 3;
		my $go;
		until (defined $go) { # EOF alone: the previous writer closing late
			open(my $f, "<", $fifo) or die "fifo: $!";
			$go = <$f>;
			close $f;
		}
	}' "$T_TMP/live/go" alice dave
if nss_cc "$T_TMP/lookup_stages" "$NSS_TESTDIR/lookup_stages.c"; then
	nss_live_scenario "one C process saw the republished snapshot, then its removal" \
		"$T_TMP/lookup_stages" "$T_TMP/live/go" 3 alice dave
else
	fail "lookup_stages.c compiles"
fi

# --- the host is untouched -----------------------------------------------------
expect_eq "host /etc/nsswitch.conf unchanged" "$host_nsswitch" "$(sha256sum </etc/nsswitch.conf)"
expect_eq "host lib dir listing unchanged" "$host_libdir" \
	"$(ls -la --time-style=full-iso "$NS_LIBDIR" | sha256sum)"
expect_eq "host /var/lib/containarium unchanged ($host_varlib)" "$host_varlib" \
	"$([ -e /var/lib/containarium ] && echo present || echo absent)"
expect_eq "no test mount left on the host" "" "$(grep -e ctm-nss-test -e "$T_TMP" /proc/self/mountinfo)"
out=$(getent passwd alice); rc=$?
expect_eq "host getent passwd alice finds nothing" "2:" "$rc:$out"

summary
