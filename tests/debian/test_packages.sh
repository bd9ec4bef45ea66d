#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages, built and installed as an admin would:
#   - `dpkg-buildpackage -b -us -uc` in a copy of the tree builds the five
#     packages; lintian finds no error in them;
#   - each package holds exactly the files it should (nothing under
#     /usr/local), helperd.conf is a conffile naming every key helperd
#     knows, and every program's --version prints debian/changelog's version;
#   - in a Debian 12 tree (the debootstrap root of tests/lxd/build-image),
#     `apt-get install ./*.deb` adds "containarium" to nsswitch.conf's passwd
#     and group lines keeping every other source, puts pam_containarium in
#     /etc/pam.d/sshd and the drop-in in sshd_config.d (sshd -t passes), makes
#     the system users, and glibc in the tree then resolves a jump user;
#   - an upgrade keeps the admin's host-setup options; remove + install
#     configures again; `dpkg --purge` gives nsswitch.conf, /etc/pam.d/sshd
#     and sshd_config.d back their exact bytes.
# The packages' own dependencies come from Debian's mirror through apt on
# this host, once, into $CTM_TEST_CACHE/pkg-debs.  The tree runs in a
# private mount namespace; the host's files are never touched.  Needs root.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/testlib.sh
. "$HERE/../lib/testlib.sh"
# shellcheck source=tests/lib/debs.sh
. "$HERE/../lib/debs.sh"
CACHE=${CTM_TEST_CACHE:-/var/cache/containarium-test}
PACKAGES="containarium containarium-helperd containarium-host libnss-containarium libpam-containarium"
# The inner half (--inside) goes on counting from the outer half's results.
T_PASS=${CTM_PASS0:-0}
T_FAIL=${CTM_FAIL0:-0}

if [ "${1:-}" != --inside ]; then
	need_root
	for tool in dpkg-buildpackage dh lintian apt-get chroot zstd tar unshare rsync; do
		command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
	done
	unshare --mount --fork true 2>/dev/null || skip_all "cannot create mount namespaces here"
	mk_scratch
	started=$SECONDS

	# ---- build from a copy (dpkg-buildpackage writes to the parent dir) ----
	mkdir "$T_TMP/src" "$T_TMP/src/containarium"
	if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$SRC" ls-files -co --exclude-standard | rsync -a --files-from=- "$SRC"/ "$T_TMP/src/containarium/"
	else
		rsync -a --exclude=/build/ "$SRC"/ "$T_TMP/src/containarium/"
	fi
	if (cd "$T_TMP/src/containarium" && DEB_BUILD_OPTIONS="parallel=$(nproc)" \
		dpkg-buildpackage -b -us -uc) >"$T_TMP/build.log" 2>&1; then
		ok "dpkg-buildpackage -b -us -uc builds the packages"
	else
		fail "dpkg-buildpackage -b -us -uc builds the packages"
		tail -n 30 "$T_TMP/build.log" | sed 's/^/#   /'
		summary
		exit 1
	fi
	D=$T_TMP/src
	VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
	UPSTREAM=${VERSION#*:}
	UPSTREAM=${UPSTREAM%-*}
	ARCH=$(dpkg --print-architecture)
	MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	for p in $PACKAGES; do
		check "$p is built" test -f "$D/${p}_${VERSION}_$ARCH.deb"
	done

	if command -v shellcheck >/dev/null; then
		out=$(cd "$SRC" && shellcheck -s sh debian/*.preinst debian/*.postinst debian/*.prerm debian/*.postrm 2>&1)
		expect_eq "shellcheck finds nothing in the maintainer scripts" "" "$out"
		out=$(cd "$SRC" && shellcheck -x tests/debian/test_packages.sh 2>&1)
		expect_eq "shellcheck finds nothing in this test" "" "$out"
	fi

	# ---- lintian -------------------------------------------------------------
	lintian --fail-on error --no-tag-display-limit "$D/containarium_${VERSION}_$ARCH.changes" \
		>"$T_TMP/lintian.log" 2>&1
	rc=$?
	expect_eq "lintian: no errors (exit status)" 0 "$rc"
	expect_eq "lintian: no E: tags" "" "$(grep '^E:' "$T_TMP/lintian.log")"
	grep '^[WI]:' "$T_TMP/lintian.log" | sed 's/^/#   lintian: /'

	# ---- what each package holds ---------------------------------------------
	# files PKG: the package's regular files and links, one path a line.
	files() { dpkg-deb -c "$D/${1}_${VERSION}_$ARCH.deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort; }
	doc() { printf '/usr/share/doc/%s/changelog.gz\n/usr/share/doc/%s/copyright\n' "$1" "$1"; }
	expect_files() {
		local p=$1; shift
		expect_eq "$p holds exactly its files" "$( { printf '%s\n' "$@"; doc "$p"; } | sort)" "$(files "$p")"
	}
	expect_files containarium /usr/bin/containarium /usr/share/man/man1/containarium.1.gz
	expect_files containarium-helperd /etc/containarium/helperd.conf /etc/logrotate.d/containarium-helperd \
		/lib/systemd/system/containarium-helperd.service /usr/sbin/containarium-helperd \
		/usr/sbin/containarium-mksnapshot /usr/lib/sysusers.d/containarium-helperd.conf \
		/usr/share/man/man5/helperd.conf.5.gz /usr/share/man/man8/containarium-helperd.8.gz \
		/usr/share/man/man8/containarium-mksnapshot.8.gz
	expect_files libnss-containarium "/usr/lib/$MA/libnss_containarium.so.2" \
		/usr/share/man/man8/libnss_containarium.8.gz
	expect_files libpam-containarium "/usr/lib/$MA/security/pam_containarium.so" \
		/usr/share/man/man8/pam_containarium.8.gz
	expect_files containarium-host /usr/libexec/containarium-authorized-keys \
		/usr/sbin/containarium-host-setup /usr/share/containarium/sshd_dropin.conf.in \
		/usr/lib/sysusers.d/containarium-host.conf \
		/usr/share/man/man8/containarium-authorized-keys.8.gz /usr/share/man/man8/containarium-host-setup.8.gz
	local_files=
	for p in $PACKAGES; do
		local_files+=$(files "$p" | grep '^/usr/local' | sed "s|^|$p: |")
	done
	expect_eq "no package has a file under /usr/local" "" "$local_files"
	for p in libnss-containarium libpam-containarium; do
		expect_eq "$p is Multi-Arch: same" same "$(dpkg-deb -f "$D/${p}_${VERSION}_$ARCH.deb" Multi-Arch)"
	done

	# ---- the unpacked programs -------------------------------------------------
	X=$T_TMP/x
	for p in $PACKAGES; do dpkg-deb -x "$D/${p}_${VERSION}_$ARCH.deb" "$X"; done
	for b in usr/bin/containarium usr/sbin/containarium-helperd usr/libexec/containarium-authorized-keys \
		usr/sbin/containarium-mksnapshot usr/sbin/containarium-host-setup; do
		expect_eq "$(basename "$b") --version prints debian/changelog's version" \
			"$(basename "$b") $UPSTREAM" "$("$X/$b" --version 2>&1)"
	done
	unit=$X/lib/systemd/system/containarium-helperd.service
	expect_match "the unit runs the packaged helperd" '^ExecStart=/usr/sbin/containarium-helperd( |$)' \
		"$(cat "$unit")"
	expect_eq "the unit names nothing under /usr/local" "" "$(grep /usr/local "$unit")"
	dpkg-deb -e "$D/containarium-helperd_${VERSION}_$ARCH.deb" "$T_TMP/helperd.ctl"
	expect_eq "helperd.conf and the audit log's logrotate file are conffiles" \
		"/etc/containarium/helperd.conf /etc/logrotate.d/containarium-helperd" \
		"$(sort "$T_TMP/helperd.ctl/conffiles" | paste -sd ' ')"
	expect_eq "the logrotate file names the default audit_log" "/var/log/containarium/audit.log {" \
		"$(grep '^/' "$X/etc/logrotate.d/containarium-helperd")"
	conf=$X/etc/containarium/helperd.conf
	# Every key helperd's parser knows (its table in config.c) is in the file.
	# (and the keys it parses before the table: strcmp(key, "remote")).
	known=$(sed -n 's/^\t[SU]("\([a-z_0-9]*\)".*/\1/p; s/^\t{ "\([a-z_0-9]*\)", .*/\1/p
		s/.*strcmp(key, "\([a-z_0-9]*\)") == 0.*/\1/p' "$SRC/helperd/config.c" | sort -u)
	shown=$(sed -n 's/^#\([a-z_0-9]*\) =.*/\1/p' "$conf" | sort -u)
	check "config.c's key table was read" test "$(printf '%s\n' "$known" | wc -l)" -gt 20
	expect_eq "helperd.conf shows every key helperd knows" "$known" "$shown"
	expect_eq "helperd.conf sets nothing (every setting commented out)" "" "$(grep -Ev '^(#|$)' "$conf")"
	sed 's/^#\([a-z_0-9]* =\)/\1/' "$conf" >"$T_TMP/helperd-uncommented.conf"
	out=$("$X/usr/sbin/containarium-helperd" -c "$T_TMP/helperd-uncommented.conf" --check-config 2>&1)
	expect_eq "helperd accepts every commented default" \
		"$T_TMP/helperd-uncommented.conf: configuration and id ranges are fine" "$out"

	# ---- the Debian 12 tree and the packages' dependencies ------------------------
	if ! tarball=$("$SRC/tests/lxd/build-image" 2>"$T_TMP/image.log"); then
		fail "the Debian 12 tree (tests/lxd/build-image)"
		sed 's/^/#   /' "$T_TMP/image.log"
		summary
		exit 1
	fi
	T=$(mktemp -d /var/tmp/ctm-debian-pkg.XXXXXX)
	chmod 0755 "$T"
	trap 'rm -rf "$T_TMP"; rm -rf --one-file-system "$T"' EXIT
	zstd -dcq "$tarball" | tar -x --numeric-owner --xattrs --xattrs-include='*' -C "$T" rootfs ||
		{ fail "unpack the Debian tree"; summary; exit 1; }
	mkdir "$T/rootfs/root/debs"
	for p in $PACKAGES; do cp "$D/${p}_${VERSION}_$ARCH.deb" "$T/rootfs/root/debs/"; done
	# apt on this host resolves against the tree's dpkg status and fetches
	# what the tree lacks (or finds it in the cache, offline).
	if ctm_debs_deps "$T/rootfs/var/lib/dpkg/status" "$T/rootfs/root/deps" "$T/rootfs/root/debs"; then
		ok "the packages' dependencies are at hand (Debian's mirror or $CACHE/pkg-debs)"
	else
		fail "the packages' dependencies are at hand (Debian's mirror or $CACHE/pkg-debs)"
		printf '%s\n' "$CTM_DEBS_ERR" | sed 's/^/#   /'
		summary
		exit 1
	fi
	unshare --mount --propagation private --fork env SRC="$SRC" BUILD="$BUILD" T="$T" MA="$MA" \
		CTM_PASS0="$T_PASS" CTM_FAIL0="$T_FAIL" bash "$HERE/$(basename "$0")" --inside
	rc=$?
	printf '# %d s\n' $((SECONDS - started))
	exit $rc
fi

# ---- inside the mount namespace: install, upgrade, remove, purge ----------------
T=${T:?set by the outer half of this script}
ROOT=$T/rootfs
trap 'cd /; umount -R "$ROOT/proc" "$ROOT/dev" 2>/dev/null' EXIT
mount --rbind /dev "$ROOT/dev"
mount -t proc proc "$ROOT/proc"
in_tree() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
# expect_ok DESCRIPTION SHELL-COMMAND: runs the command in the tree (its
# output in $out); ok when it succeeds, else its last lines are shown.
expect_ok() {
	local rc
	out=$(in_tree sh -c "$2" 2>&1)
	rc=$?
	expect_eq "$1" 0 "$rc"
	[ "$rc" -eq 0 ] || printf '%s\n' "$out" | tail -n 25 | sed 's/^/#   /'
}
# shellcheck disable=SC2016 # a dpkg-query format, not shell
status() { in_tree dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null; }
# A booted server has SSH host keys (the image makes them at first boot).
in_tree ssh-keygen -q -A >/dev/null

# The admin's nsswitch.conf has another source after files, with an action.
sed -i -e 's/^passwd:.*/passwd:         files systemd/' \
	-e 's/^group:.*/group:          files [NOTFOUND=continue] systemd   # local first/' "$ROOT/etc/nsswitch.conf"
# snapshot NAME: the bytes purge must give back.
snapshot() {
	mkdir "$T/$1"
	cp -p "$ROOT/etc/nsswitch.conf" "$ROOT/etc/pam.d/sshd" "$T/$1/"
	(cd "$ROOT/etc/ssh/sshd_config.d" && find . -printf '%p %m %U:%G\n' | sort &&
		find . -type f -exec sha256sum {} + | sort) >"$T/$1/sshd_config.d"
}
snapshot before
expect_eq "the tree has no containarium-users group (NSS answers it)" "" "$(grep '^containarium-users:' "$ROOT/etc/group")"

expect_ok "apt-get install ./*.deb succeeds" \
	'cd /root && apt-get install -y -q --no-install-recommends ./debs/*.deb ./deps/*.deb'
for p in $PACKAGES; do
	expect_eq "$p is installed" "ii " "$(status "$p")"
done
hs=$(grep -E '^(sshd|/etc/|user |containarium-host-setup)' <<<"$out")
expect_match "postinst ran the host installer: sshd -t passed" '^sshd -t: ok' "$hs"
expect_match "no sshd runs in the tree: not reloaded, and no failure" '^sshd: not running' "$hs"

field() { awk -v d="$1:" '$1 == d { $1 = ""; sub(/^ /, ""); print }' "$ROOT/etc/nsswitch.conf"; }
expect_eq "nsswitch.conf passwd: containarium after files, systemd kept" "files containarium systemd" "$(field passwd)"
expect_eq "nsswitch.conf group: after files and its action, the comment kept" \
	"files [NOTFOUND=continue] containarium systemd # local first" "$(field group)"
expect_eq "nsswitch.conf: no other line changed" \
	"$(grep -Ev '^(passwd|group):' "$T/before/nsswitch.conf")" "$(grep -Ev '^(passwd|group):' "$ROOT/etc/nsswitch.conf")"
pam=$(grep -v '^#' "$ROOT/etc/pam.d/sshd" | grep pam_containarium.so | awk '{print $1, $NF}')
expect_eq "pam.d/sshd: account and session lines with the packaged module" \
	"account /usr/lib/$MA/security/pam_containarium.so
session /usr/lib/$MA/security/pam_containarium.so" "$pam"
expect_match "the sshd drop-in runs the packaged keys command as containarium-keys" \
	'^[[:space:]]*AuthorizedKeysCommandUser containarium-keys' "$(cat "$ROOT/etc/ssh/sshd_config.d/containarium.conf")"
expect_match "the drop-in's AuthorizedKeysCommand is /usr/libexec's" \
	'AuthorizedKeysCommand /usr/libexec/containarium-authorized-keys' "$(cat "$ROOT/etc/ssh/sshd_config.d/containarium.conf")"
out=$(in_tree /usr/sbin/sshd -t 2>&1)
expect_eq "sshd -t passes in the tree" "" "$out"
expect_match "sysusers made containarium-keys (nologin, no home)" \
	'^containarium-keys:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' "$(grep '^containarium-keys:' "$ROOT/etc/passwd")"
expect_match "sysusers made the admin group" '^containarium-admin:x:[0-9]+:' "$(grep '^containarium-admin:' "$ROOT/etc/group")"
expect_eq "still no containarium-users in /etc/group" "" "$(grep '^containarium-users:' "$ROOT/etc/group")"
check "containarium-helperd.service is enabled" \
	test -L "$ROOT/etc/systemd/system/multi-user.target.wants/containarium-helperd.service"

# glibc in the tree finds the module through nsswitch.conf and ld.so.cache.
printf '{"users":[{"name":"alice","uid":70010,"state":"active","ipv4":"10.0.3.15","keys":[]}]}\n' |
	in_tree containarium-mksnapshot --keys-group containarium-keys - >/dev/null 2>&1
expect_match "getent passwd alice in the tree (the packaged NSS module)" \
	'^alice:\*:70010:70000:[^:]*:[^:]*:/usr/sbin/nologin$' "$(in_tree getent passwd alice)"
expect_match "getent group containarium-users in the tree" '^containarium-users:[^:]*:70000:' \
	"$(in_tree getent group containarium-users)"

# An upgrade (here: the same version again) keeps the admin's options.
in_tree containarium-host-setup install --fail closed >/dev/null 2>&1
expect_ok "dpkg -i over the installed package succeeds" 'dpkg -i /root/debs/containarium-host_*.deb'
expect_match "an upgrade keeps the admin's --fail closed" 'pam_containarium\.so.* fail=closed' \
	"$(grep -v '^#' "$ROOT/etc/pam.d/sshd")"
in_tree containarium-host-setup install >/dev/null 2>&1

# remove gives the bytes back at once; installing again configures again.
expect_ok "apt-get remove containarium-host succeeds" 'apt-get remove -y -q containarium-host'
expect_eq "remove: nsswitch.conf has its bytes back" "" "$(cmp "$T/before/nsswitch.conf" "$ROOT/etc/nsswitch.conf" 2>&1)"
expect_eq "remove: pam.d/sshd has its bytes back" "" "$(cmp "$T/before/sshd" "$ROOT/etc/pam.d/sshd" 2>&1)"
expect_ok "installing containarium-host again succeeds" \
	'cd /root && apt-get install -y -q --no-install-recommends ./debs/containarium-host_*.deb'
expect_eq "after remove + install, containarium is back on the passwd line" \
	"files containarium systemd" "$(field passwd)"

# purge: every edited file as it was before the first install.
expect_ok "dpkg --purge succeeds" "dpkg --purge $PACKAGES"
for p in $PACKAGES; do
	expect_eq "$p is gone" "" "$(status "$p" | grep -v '^un')"
done
snapshot after
expect_eq "purge: nsswitch.conf has its exact bytes back" "" "$(cmp "$T/before/nsswitch.conf" "$T/after/nsswitch.conf" 2>&1)"
expect_eq "purge: /etc/pam.d/sshd has its exact bytes back" "" "$(cmp "$T/before/sshd" "$T/after/sshd" 2>&1)"
expect_eq "purge: sshd_config.d as it was (names, modes, owners, bytes)" \
	"$(cat "$T/before/sshd_config.d")" "$(cat "$T/after/sshd_config.d")"
check "purge: no host-setup state left" test ! -e "$ROOT/var/lib/containarium/host-setup"
out=$(in_tree /usr/sbin/sshd -t 2>&1)
expect_eq "sshd -t passes after purge" "" "$out"
summary
