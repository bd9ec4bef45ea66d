#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The host installer (host_setup/containarium-host-setup) on copies of
# Debian's stock files and of files other modules edited (sss, systemd,
# ldap, oslogin, edge cases): what install writes, that a second run
# changes no byte, that `sshd -T` gives jump users our policy and everyone
# else theirs, that glibc then finds jump users, that uninstall gives back
# the exact bytes, and that a failing `sshd -t` or bad input changes nothing.
# With --host-ca: the host's keys signed (ssh-keygen -s) for the principals
# given, HostCertificate in the drop-in before the Match block, re-signed
# only when the CA, the principals or a key changed, remembered by later
# installs, refused with a sentence for a readable CA or bad principals, put
# back with everything else when sshd -t fails, and gone after uninstall.
#
# Runs in a private mount namespace over a copy of /etc and a scratch
# /usr/local (where `make install` puts containarium): the host's files are
# never touched.  Needs root.
#
#   BUILD=build bash tests/host_setup/test_host_setup.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/testlib.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac

if [ "${1:-}" != --inside ]; then
	need_root
	for tool in /usr/sbin/sshd unshare useradd getent; do
		command -v "$tool" >/dev/null || skip_all "$tool is not installed"
	done
	unshare --mount --fork true 2>/dev/null || skip_all "cannot create namespaces here"
	for f in nss_containarium/libnss_containarium.so.2 authorized_keys/containarium-authorized-keys \
		pam_containarium/pam_containarium.so mksnapshot/containarium-mksnapshot tests/host_setup/libnss_ctmstub.so.2; do
		[ -f "$BUILD/$f" ] || { fail "$BUILD/$f is built (run make BUILD=$BUILD tests)"; summary; exit 1; }
	done
	exec unshare --mount --propagation private --fork env BUILD="$BUILD" SRC="$SRC" \
		bash "$HERE/$(basename "$0")" --inside
fi

# ---- inside the mount namespace ----------------------------------------------
set -u
T=$(mktemp -d /var/tmp/ctm-hostsetup.XXXXXX)
chmod 0755 "$T"
trap 'cd /; umount -l /etc /usr/local /var/lib/containarium /var/lib /run 2>/dev/null; rm -rf "$T"' EXIT
FX=$SRC/tests/host_setup/fixtures
TOOL=$SRC/host_setup/containarium-host-setup
MKSNAP=$BUILD/mksnapshot/containarium-mksnapshot

# A private /etc (a copy of the host's) and /usr/local (containarium
# installed there by `make install`, as an admin would).
cp -a /etc "$T/etc"
mount --bind "$T/etc" /etc
# A private /run: the installer makes /run/sshd there for sshd -t.
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p "$T/inst"
make -s -C "$SRC" BUILD="$BUILD" DESTDIR="$T/inst" PREFIX=/usr/local install >"$T/install.log" 2>&1 ||
	{ fail "make install into a scratch root"; sed 's/^/#   /' "$T/install.log"; summary; exit 1; }
mkdir -p "$T/inst/usr/local"
mount --bind "$T/inst/usr/local" /usr/local
mkdir -m 0755 "$T/state"
# When the host has no /var/lib/containarium, a read-only overlay on /var/lib
# adds the mount point without creating it on the host.
if [ ! -d /var/lib/containarium ]; then
	mkdir -m 0755 "$T/varlib" "$T/varlib/containarium"
	mount -t overlay ctm-test-varlib -o "lowerdir=$T/varlib:/var/lib" /var/lib
fi
mount --bind "$T/state" /var/lib/containarium
INSTALLED=/usr/local/sbin/containarium-host-setup
check "make install puts containarium-host-setup in \$PREFIX/sbin" test -x "$INSTALLED"

# A registry with one jump user, alice (for sshd -T and getent).
KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@test"
printf '{"users":[{"name":"alice","uid":70001,"gecos":"Containarium user alice","state":"active","ipv4":"10.213.77.50","keys":["%s"]}]}\n' "$KEY" \
	>"$T/reg.json"
"$MKSNAP" "$T/reg.json" >"$T/mksnap.log" 2>&1 ||
	{ fail "test registry snapshot"; sed 's/^/#   /' "$T/mksnap.log"; }

# put_variant NAME: the variant's files (debian12's where it has none) in
# /etc, no drop-in, no keys user.
put_variant() {
	local v=$1 f
	for f in nsswitch.conf pam.d-sshd sshd_config; do
		src=$FX/$v/$f
		[ -f "$src" ] || src=$FX/debian12/$f
		case $f in
		nsswitch.conf) cp "$src" /etc/nsswitch.conf ;;
		pam.d-sshd) cp "$src" /etc/pam.d/sshd ;;
		sshd_config) cp "$src" /etc/ssh/sshd_config ;;
		esac
	done
	rm -f /etc/ssh/sshd_config.d/*.conf
	rm -rf /etc/ssh/containarium
	chmod 0644 /etc/nsswitch.conf /etc/pam.d/sshd /etc/ssh/sshd_config
	rm -rf /var/lib/containarium/host-setup
	if grep -q '^containarium-keys:' /etc/passwd; then userdel containarium-keys; fi
	if grep -q '^containarium-keys:' /etc/group; then groupdel containarium-keys; fi
}

# sums: one line per file the installer may touch.
sums() {
	sha256sum /etc/nsswitch.conf /etc/pam.d/sshd /etc/ssh/sshd_config /etc/passwd /etc/group /etc/shadow \
		/etc/gshadow /etc/ssh/containarium/* 2>/dev/null
	ls -A /etc/ssh/sshd_config.d/
}

# line KEY FILE: the nsswitch.conf line for KEY.
nssline() { grep -E "^[[:space:]]*$1[[:space:]]*:" "${2:-/etc/nsswitch.conf}"; }

# sshd_t_for USER KEYWORD: sshd's effective setting for a connection by USER.
sshd_for() {
	/usr/sbin/sshd -T -C "user=$1,host=client.test,addr=127.0.0.1" 2>&1 | grep -i "^$2 " | head -n 1
}

# ---- the script itself ------------------------------------------------------
if command -v shellcheck >/dev/null; then
	out=$(shellcheck "$TOOL" 2>&1)
	expect_eq "shellcheck finds nothing in containarium-host-setup" "" "$out"
fi

# ---- the stock files are Debian's -------------------------------------------
if [ -f /usr/share/libc-bin/nsswitch.conf ]; then
	check "debian12/nsswitch.conf is libc-bin's template" cmp -s "$FX/debian12/nsswitch.conf" /usr/share/libc-bin/nsswitch.conf
fi
if [ -f /usr/share/openssh/sshd_config ]; then
	check "debian12/sshd_config is openssh-server's" cmp -s "$FX/debian12/sshd_config" /usr/share/openssh/sshd_config
fi
want=$(dpkg-query -W -f='${Conffiles}\n' openssh-server 2>/dev/null | awk '$1 == "/etc/pam.d/sshd" { print $2 }')
if [ -n "$want" ]; then
	expect_eq "debian12/pam.d-sshd has the md5sum dpkg records for /etc/pam.d/sshd" "$want" \
		"$(md5sum <"$FX/debian12/pam.d-sshd" | cut -d' ' -f1)"
fi

# ---- each variant: install, again, the effect, uninstall ----------------------
declare -A WANT_PASSWD=(
	[debian12]='passwd:         files containarium'
	[systemd]='passwd:         files containarium systemd'
	[sss]='passwd:         files containarium systemd sss'
	[ldap]='passwd:         files containarium ldap'
	[oslogin]='passwd:         files containarium cache_oslogin oslogin'
	[merge]=$'passwd:\tcompat containarium\tsystemd # local first'
)
declare -A WANT_GROUP=(
	[debian12]='group:          files containarium'
	[systemd]='group:          files containarium systemd'
	[sss]='group:          files containarium systemd sss'
	[ldap]='group:          files containarium ldap'
	[oslogin]='group:          files containarium cache_oslogin oslogin'
	[merge]='group:          files [SUCCESS=merge] systemd containarium'
)
for v in debian12 systemd sss ldap oslogin merge; do
	echo "# variant $v"
	put_variant "$v"
	cp /etc/nsswitch.conf "$T/nss.orig"
	cp /etc/pam.d/sshd "$T/pam.orig"
	before=$(sums)
	if out=$("$TOOL" install --no-reload 2>&1); then ok "$v: install succeeds"; else
		fail "$v: install succeeds"; printf '%s\n' "$out" | sed 's/^/#   /'; continue; fi
	expect_match "$v: install reports sshd -t ok" "sshd -t: ok" "$out"
	expect_eq "$v: passwd line" "${WANT_PASSWD[$v]}" "$(nssline passwd)"
	expect_eq "$v: group line" "${WANT_GROUP[$v]}" "$(nssline group)"
	expect_eq "$v: nothing else in nsswitch.conf changed" "" \
		"$(diff <(grep -Ev '^[[:space:]]*(passwd|group):' "$T/nss.orig") \
			<(grep -Ev '^[[:space:]]*(passwd|group):' /etc/nsswitch.conf))"
	# pam.d/sshd: exactly four lines added, the account line right after
	# the account stack and the session line right after common-session.
	added=$(diff "$T/pam.orig" /etc/pam.d/sshd | grep -c '^>')
	removed=$(diff "$T/pam.orig" /etc/pam.d/sshd | grep -c '^<')
	expect_eq "$v: pam.d/sshd: 4 lines added, none removed" "4 0" "$added $removed"
	expect_eq "$v: pam.d/sshd: account line after @include common-account" \
		"account [success=ok ignore=ignore module_unknown=ignore default=bad] /usr/local/lib/$(gcc -print-multiarch)/security/pam_containarium.so" \
		"$(grep -A2 '^@include common-account' /etc/pam.d/sshd | grep pam_containarium)"
	expect_eq "$v: pam.d/sshd: session line after @include common-session" \
		"session [success=ok ignore=ignore module_unknown=ignore default=bad] /usr/local/lib/$(gcc -print-multiarch)/security/pam_containarium.so" \
		"$(grep -A2 '^@include common-session' /etc/pam.d/sshd | grep pam_containarium)"
	check "$v: drop-in /etc/ssh/sshd_config.d/containarium.conf, mode 0644, root" \
		test "$(stat -c '%a %U' /etc/ssh/sshd_config.d/containarium.conf 2>/dev/null)" = "644 root"
	check "$v: keys user containarium-keys (system, nologin)" \
		bash -c 'getent passwd containarium-keys | grep -q ":/nonexistent:/usr/sbin/nologin$"'
	check "$v: sshd -t passes" /usr/sbin/sshd -t
	after=$(sums)
	out2=$("$TOOL" install --no-reload 2>&1)
	expect_eq "$v: a second install changes no byte" "$after" "$(sums)"
	expect_match "$v: the second install says unchanged" "nsswitch.conf: unchanged" "$out2"

	# The effect, through sshd's own evaluation and glibc.
	expect_eq "$v: alice resolves through nsswitch.conf" \
		"alice:*:70001:70000:Containarium user alice:/:/usr/sbin/nologin" \
		"$(getent passwd alice)"
	expect_eq "$v: sshd -T for alice: our keys command" \
		"authorizedkeyscommand /usr/local/libexec/containarium-authorized-keys %u" \
		"$(sshd_for alice authorizedkeyscommand)"
	expect_eq "$v: sshd -T for alice: no TTY" "permittty no" "$(sshd_for alice permittty)"
	expect_eq "$v: sshd -T for alice: local forwarding only" "allowtcpforwarding local" \
		"$(sshd_for alice allowtcpforwarding)"
	expect_eq "$v: sshd -T for alice: ForceCommand nologin" "forcecommand /usr/sbin/nologin" \
		"$(sshd_for alice forcecommand)"
	if [ "$v" = oslogin ]; then
		expect_eq "$v: sshd -T for root: OS Login's keys command is untouched" \
			"authorizedkeyscommand /usr/bin/google_authorized_keys" "$(sshd_for root authorizedkeyscommand)"
	else
		expect_eq "$v: sshd -T for root: no keys command (as before)" "authorizedkeyscommand none" \
			"$(sshd_for root authorizedkeyscommand)"
	fi
	expect_eq "$v: sshd -T for root: TTY as before" "permittty yes" "$(sshd_for root permittty)"
	check "$v: status says installed" bash -c '"$0" status >/dev/null' "$TOOL"

	out=$("$TOOL" uninstall --no-reload 2>&1) || { fail "$v: uninstall succeeds"; printf '%s\n' "$out" | sed 's/^/#   /'; }
	expect_eq "$v: uninstall gives back every byte (nsswitch, pam.d, sshd_config, passwd, group, drop-ins)" \
		"$before" "$(sums)"
	check "$v: status says not installed" bash -c '! "$0" status >/dev/null' "$TOOL"
	check "$v: alice no longer resolves" bash -c '! getent passwd alice >/dev/null'
done

# ---- a merge chain stays whole -------------------------------------------------
# glibc ends a merge ("files [SUCCESS=merge] systemd") at the first source
# that answers NOTFOUND, as containarium does for every group not its own:
# placed inside the chain it would cut off what the sources after it add.
# ctmstub stands in for libnss_systemd: it answers ctmstaff with a member of
# its own; files has ctmstaff with another.
MA=$(gcc -print-multiarch)
install -m 0644 "$BUILD/tests/host_setup/libnss_ctmstub.so.2" "/usr/local/lib/$MA/"
ldconfig
put_variant debian12
sed -i 's/^group:.*/group:          files [SUCCESS=merge] ctmstub/' /etc/nsswitch.conf
echo 'ctmstaff:x:4321:fromfiles' >>/etc/group
before=$(sums)
expect_eq "merge: before install, files and the stand-in merge" "ctmstaff:x:4321:fromfiles,fromstub" \
	"$(getent group ctmstaff)"
out=$("$TOOL" install --no-reload 2>&1) || { fail "merge: install succeeds"; printf '%s\n' "$out" | sed 's/^/#   /'; }
expect_eq "merge: containarium goes after the chain" "group:          files [SUCCESS=merge] ctmstub containarium" \
	"$(nssline group)"
expect_eq "merge: after install, the merged group is whole" "ctmstaff:x:4321:fromfiles,fromstub" \
	"$(getent group ctmstaff)"
expect_match "merge: the jump users' group still resolves (through containarium)" '^containarium-users:\*?x?:70000:' \
	"$(getent group 70000)"
expect_eq "merge: alice resolves" "alice:*:70001:70000:Containarium user alice:/:/usr/sbin/nologin" \
	"$(getent passwd alice)"
# The control: the place the installer used to choose loses the stand-in's member.
sed -i 's/^group:.*/group:          files [SUCCESS=merge] containarium ctmstub/' /etc/nsswitch.conf
expect_eq "merge: control: containarium inside the chain cuts the merge" "ctmstaff:x:4321:fromfiles" \
	"$(getent group ctmstaff)"
sed -i 's/^group:.*/group:          files [SUCCESS=merge] ctmstub containarium/' /etc/nsswitch.conf
"$TOOL" uninstall --no-reload >/dev/null 2>&1
expect_eq "merge: uninstall gives back every byte" "$before" "$(sums)"
sed -i '/^ctmstaff:/d' /etc/group
rm -f "/usr/local/lib/$MA/libnss_ctmstub.so.2"

# ---- uninstall where nothing was installed ----------------------------------------
put_variant sss
before=$(sums)
out=$("$TOOL" uninstall --no-reload 2>&1)
expect_eq "nothing installed: uninstall succeeds" 0 "$?"
check "nothing installed: uninstall does not say 'edited since install'" \
	bash -c '! grep -q "edited since install" <<<"$0"' "$out"
expect_match "nothing installed: it says nsswitch.conf has nothing of ours" \
	'/etc/nsswitch.conf: no install recorded and nothing of containarium.s in it; left alone' "$out"
expect_match "nothing installed: and pam.d/sshd neither" \
	'/etc/pam.d/sshd: no install recorded and nothing of containarium.s in it; left alone' "$out"
expect_eq "nothing installed: no byte changed" "$before" "$(sums)"
# A lost state directory: our lines are still ours.
"$TOOL" install --no-reload >/dev/null 2>&1
rm -rf /var/lib/containarium/host-setup
out=$("$TOOL" uninstall --no-reload 2>&1)
expect_match "state lost: uninstall removes only containarium's lines" \
	'/etc/nsswitch.conf: no install recorded, but it names containarium; removed only those lines' "$out"
expect_eq "state lost: nsswitch.conf and pam.d/sshd as before install" \
	"$(grep -E '/etc/(nsswitch.conf|pam.d/sshd)$' <<<"$before")" \
	"$(sums | grep -E '/etc/(nsswitch.conf|pam.d/sshd)$')"
rm -f /etc/ssh/sshd_config.d/containarium.conf

# ---- options ----------------------------------------------------------------
put_variant systemd
"$TOOL" install --no-reload --fail closed --wake no --socket /run/ctm/h.sock >/dev/null 2>&1
expect_match "--fail closed --wake no --socket reach the session line" \
	"pam_containarium.so fail=closed wake=no socket=/run/ctm/h.sock$" "$(grep '^session.*pam_containarium' /etc/pam.d/sshd)"
"$TOOL" install --no-reload >/dev/null 2>&1
expect_eq "a later install with the defaults rewrites the line, still one of each" "1 1" \
	"$(grep -c '^account.*pam_containarium' /etc/pam.d/sshd) $(grep -c '^session.*pam_containarium.so$' /etc/pam.d/sshd)"
"$TOOL" uninstall --no-reload >/dev/null 2>&1
expect_eq "uninstall after two installs with different options: stock bytes again" "" \
	"$(diff "$FX/debian12/pam.d-sshd" /etc/pam.d/sshd)"

# ---- an admin edits after install: uninstall keeps the edit ---------------------
put_variant sss
"$TOOL" install --no-reload >/dev/null 2>&1
printf 'aliases:        files\n' >>/etc/nsswitch.conf
sed -i 's/^session    required     pam_limits.so/session    required     pam_limits.so conf=\/etc\/security\/limits.conf/' /etc/pam.d/sshd
out=$("$TOOL" uninstall --no-reload 2>&1)
expect_match "edited since install: uninstall says it removes only our lines" "edited since install" "$out"
expect_eq "edited nsswitch.conf: our token gone, the admin's line kept" \
	"$(cat "$FX/sss/nsswitch.conf"; printf 'aliases:        files\n')" "$(cat /etc/nsswitch.conf)"
expect_eq "edited pam.d/sshd: our lines gone, the admin's edit kept" \
	"$(sed 's/^session    required     pam_limits.so/session    required     pam_limits.so conf=\/etc\/security\/limits.conf/' "$FX/debian12/pam.d-sshd")" \
	"$(cat /etc/pam.d/sshd)"

# Edited between two installs: uninstall keeps the edit, still exact otherwise.
put_variant systemd
"$TOOL" install --no-reload >/dev/null 2>&1
printf 'aliases:        files\n' >>/etc/nsswitch.conf
"$TOOL" install --no-reload >/dev/null 2>&1
"$TOOL" uninstall --no-reload >/dev/null 2>&1
expect_eq "edited between installs: uninstall gives the edited file without our token" \
	"$(cat "$FX/systemd/nsswitch.conf"; printf 'aliases:        files\n')" "$(cat /etc/nsswitch.conf)"

# ---- failures change nothing ----------------------------------------------------
put_variant systemd
printf 'PermitTTY perhaps\n' >/etc/ssh/sshd_config.d/50-broken.conf
before=$(sums)
out=$("$TOOL" install --no-reload 2>&1)
rc=$?
expect_eq "sshd -t fails (an admin's broken drop-in): install exits 1" 1 "$rc"
expect_match "... and says sshd -t refused and that every file is back" \
	"sshd -t refused the configuration.*every file is back as it was" "$out"
expect_match "... and shows sshd's own complaint" "sshd -t: .*50-broken.conf" "$out"
expect_eq "... and every byte is as before (no keys user, no drop-in)" "$before" "$(sums)"
rm -f /etc/ssh/sshd_config.d/50-broken.conf

put_variant debian12
sed -i '/^Include/d' /etc/ssh/sshd_config
before=$(sums)
out=$("$TOOL" install --no-reload 2>&1)
expect_match "sshd_config without the Include: refused with what to add" \
	'does not include sshd_config.d/\*.conf: add "Include /etc/ssh/sshd_config.d/\*.conf"' "$out"
expect_eq "... and nothing changed" "$before" "$(sums)"

put_variant debian12
before=$(sums)
out=$("$TOOL" install --no-reload --prefix /opt/nowhere 2>&1)
expect_match "containarium not installed under --prefix: names the missing file" \
	"/opt/nowhere/libexec/containarium-authorized-keys is missing: install containarium first" "$out"
expect_eq "... and nothing changed" "$before" "$(sums)"

chmod 0775 /usr/local/libexec
out=$("$TOOL" install --no-reload 2>&1)
expect_match "keys command under a group-writable directory: refused, says why" \
	"sshd will not run .*: /usr/local/libexec is writable by group or others \(mode 775\)" "$out"
chmod 0755 /usr/local/libexec
expect_eq "... and nothing changed" "$before" "$(sums)"

for bad in "--fail maybe" "--wake sometimes" "--socket relative/path" "--bogus"; do
	# shellcheck disable=SC2086
	out=$("$TOOL" install --no-reload $bad 2>&1)
	rc=$?
	check "install $bad: refused (exit $rc) with a message" test "$rc" -ne 0 -a -n "$out"
done
expect_eq "... and nothing changed" "$before" "$(sums)"
out=$("$TOOL" frobnicate 2>&1)
expect_eq "unknown action: exit 2" 2 "$?"
expect_match "unknown action: named" 'unknown action "frobnicate"' "$out"

# ---- host certificates (--host-ca) ----------------------------------------------
put_variant debian12
mkdir -m 0700 "$T/ca"
ssh-keygen -q -t ed25519 -N '' -C test-host-ca -f "$T/ca/host_ca" </dev/null
ssh-keygen -q -t ed25519 -N '' -C test-host-ca-2 -f "$T/ca/host_ca2" </dev/null
ca_fp() { ssh-keygen -l -f "$1.pub" | awk '{ print $2 }'; }
# cert_says CERT: "CA PRINCIPAL,PRINCIPAL..." as ssh-keygen -L reads it.
cert_says() {
	ssh-keygen -L -f "$1" | awk '$1 == "Signing" { ca = $4 } $1 == "Principals:" { p = 1; next }
		p && /^[ \t]+[^:]+$/ { l = l (l == "" ? "" : ",") $1; next } p { p = 0 } END { print ca, l }'
}
PR=jump.example.test,203.0.113.10,m1
out=$("$TOOL" install --no-reload --host-ca "$T/ca/host_ca" --host-principals "$PR" 2>&1)
expect_eq "install --host-ca --host-principals: exit 0" 0 "$?" || printf '%s\n' "$out" | sed 's/^/#   /'
keys=$(/usr/sbin/sshd -T 2>/dev/null | awk '$1 == "hostkey" { print $2 }' | while read -r k; do [ -f "$k.pub" ] && echo "$k"; done)
n=0
for k in $keys; do
	c=/etc/ssh/containarium/${k##*/}-cert.pub
	n=$((n + 1))
	expect_eq "${k##*/}: signed by the host CA for $PR" "$(ca_fp "$T/ca/host_ca") $PR" "$(cert_says "$c")"
	expect_eq "${k##*/}: the certificate is of this key, a host certificate" \
		"$(ssh-keygen -l -f "$k.pub" | awk '{ print $2 }') host" \
		"$(ssh-keygen -L -f "$c" | awk '$1 == "Public" { k = $4 } $1 == "Type:" { t = $(NF - 1) } END { print k, t }')"
	expect_eq "${k##*/}: certificate mode 0644" 644 "$(stat -c %a "$c")"
done
check "every host key sshd loads has its certificate ($n)" test "$n" -gt 0
expect_eq "sshd -T: one hostcertificate per host key" "$n" "$(/usr/sbin/sshd -T | grep -c '^hostcertificate /etc/ssh/containarium/')"
expect_eq "the drop-in names them before the Match block" "$n" \
	"$(awk '/^Match/ { exit } /^HostCertificate \/etc\/ssh\/containarium\/ssh_host_.*_key-cert.pub$/ { n++ } END { print n + 0 }' /etc/ssh/sshd_config.d/containarium.conf)"
check "sshd -t passes" /usr/sbin/sshd -t
once=$(sums)
out=$("$TOOL" install --no-reload --host-ca "$T/ca/host_ca" --host-principals "$PR" 2>&1)
expect_eq "install --host-ca again: every byte the same (nothing signed again)" "$once" "$(sums)"
expect_match "... and it says the certificates are current" "containarium/ssh_host_.*-cert.pub: current" "$out"
"$TOOL" install --no-reload >/dev/null 2>&1
expect_eq "install without --host-ca keeps what the last install was given (same bytes)" "$once" "$(sums)"
expect_match "status: names the CA and the principals" "host certificates: CA $T/ca/host_ca, principals $PR" \
	"$("$TOOL" status 2>&1)"
first=$(echo $keys | cut -d' ' -f1)
"$TOOL" install --no-reload --host-principals jump.example.test,m1 >/dev/null 2>&1
expect_eq "other principals: signed again for them" "$(ca_fp "$T/ca/host_ca") jump.example.test,m1" \
	"$(cert_says "/etc/ssh/containarium/${first##*/}-cert.pub")"
before=$(sums)
chmod 0644 "$T/ca/host_ca2"
out=$("$TOOL" install --no-reload --host-ca "$T/ca/host_ca2" 2>&1)
rc=$?
expect_eq "a CA others may read: refused (exit 1)" 1 "$rc"
expect_match "... saying so and what to do" "may be read by others .*chmod 600" "$out"
expect_eq "... and nothing changed" "$before" "$(sums)"
chmod 0600 "$T/ca/host_ca2"
for bad in "--host-ca relative/ca" "--host-principals *.example.test" "--host-principals a,,b" \
	"--host-principals a\ b" "--host-ca $T/ca/none --host-principals x"; do
	# shellcheck disable=SC2086
	out=$(eval "\"\$TOOL\" install --no-reload $bad" 2>&1)
	rc=$?
	check "install $bad: refused (exit $rc) with a message" test "$rc" -ne 0 -a -n "$out"
done
expect_eq "... and nothing changed" "$before" "$(sums)"
"$TOOL" install --no-reload --host-ca "$T/ca/host_ca2" >/dev/null 2>&1
expect_eq "a new CA (a rotation): signed again by it, the principals kept" "$(ca_fp "$T/ca/host_ca2") jump.example.test,m1" \
	"$(cert_says "/etc/ssh/containarium/${first##*/}-cert.pub")"
printf 'PermitTTY perhaps\n' >/etc/ssh/sshd_config.d/50-broken.conf
before_broken=$(sums)
out=$("$TOOL" install --no-reload --host-ca "$T/ca/host_ca" 2>&1)
expect_eq "sshd -t fails while signing with another CA: install exits 1" 1 "$?"
expect_eq "... and the certificates are back as they were too" "$before_broken" "$(sums)"
rm -f /etc/ssh/sshd_config.d/50-broken.conf
expect_eq "... (signed by the CA before)" "$(ca_fp "$T/ca/host_ca2") jump.example.test,m1" \
	"$(cert_says "/etc/ssh/containarium/${first##*/}-cert.pub")"
out=$("$TOOL" install --no-reload --host-ca none 2>&1)
check "install --host-ca none: the certificates are gone" test ! -e /etc/ssh/containarium
expect_eq "... and the drop-in names none" 0 "$(grep -c HostCertificate /etc/ssh/sshd_config.d/containarium.conf)"
"$TOOL" install --no-reload >/dev/null 2>&1
check "... and a later install without --host-ca signs nothing" test ! -e /etc/ssh/containarium
"$TOOL" install --no-reload --host-ca "$T/ca/host_ca" --host-principals "$PR" >/dev/null 2>&1
"$TOOL" uninstall --no-reload >/dev/null 2>&1
check "uninstall removes the certificates" test ! -e /etc/ssh/containarium
put_variant debian12
expect_eq "uninstall after --host-ca: every other byte as before install" "$(sums)" "$(
	"$TOOL" install --no-reload --host-ca "$T/ca/host_ca" --host-principals "$PR" >/dev/null 2>&1
	"$TOOL" uninstall --no-reload >/dev/null 2>&1
	sums)"

# ---- the installed copy works the same (finds its template in share/) ------------
put_variant debian12
before=$(sums)
if out=$("$INSTALLED" install --no-reload 2>&1); then ok "the installed containarium-host-setup installs"; else
	fail "the installed containarium-host-setup installs"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
check "the installed copy wrote the same drop-in as the source tree's template" \
	bash -c 'diff <(sed -e "s|@JUMP_GROUP@|containarium-users|g" -e "s|@KEYS_COMMAND@|/usr/local/libexec/containarium-authorized-keys|g" -e "s|@KEYS_COMMAND_USER@|containarium-keys|g" -e "/^@HOST_CERTIFICATES@$/d" "$0") /etc/ssh/sshd_config.d/containarium.conf' \
	"$SRC/host_setup/sshd_dropin.conf.in"
"$INSTALLED" uninstall --no-reload >/dev/null 2>&1
expect_eq "the installed copy uninstalls to the same bytes" "$before" "$(sums)"

summary
