# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages, built once per state of the tree (source it):
#   ctm_debs_build           prints the directory holding the five .debs of
#                            this tree's state, building them when no build of
#                            that state is cached ($CTM_TEST_CACHE/debs-build)
#   ctm_debs_deps STATUS DIR copies into DIR the .debs a Debian 12 system with
#                            dpkg status file STATUS lacks to install those
#                            packages, fetched through apt on this host once
#                            into $CTM_TEST_CACHE/pkg-debs (then offline)
#   ctm_debs_build_deps STATUS DIR   the same for building them: build-essential
#                            and debian/control's Build-Depends
# On failure CTM_DEBS_ERR says why (with the log's last lines).
# shellcheck disable=SC2034 # read by the caller
CTM_DEBS_ERR=
CTM_DEBS_PACKAGES="containarium containarium-helperd containarium-host libnss-containarium libpam-containarium"
CTM_DEBS_CACHE=${CTM_TEST_CACHE:-/var/cache/containarium-test}

# The state is that of the files the build reads: not the shell tests, not
# the .md files, not the Terraform deployment (terraform/, tests/terraform/:
# it installs these packages, the build never reads it).
# The tree's files as git sees them (tracked and new, not ignored), or all
# but build/ outside a checkout.
ctm_debs_tree_files() {
	if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$SRC" ls-files -co --exclude-standard | while read -r f; do [ -f "$SRC/$f" ] && printf '%s\n' "$f"; done
	else
		(cd "$SRC" && find . -path ./build -prune -o -type f -print | sed 's|^\./||')
	fi
}

ctm_debs_build() {
	local state dir tmp log
	state=$(cd "$SRC" && ctm_debs_tree_files | grep -Ev '^tests/.*\.sh$|\.md$|^terraform/|^tests/terraform/' | LC_ALL=C sort | tr '\n' '\0' | xargs -0 sha256sum | sha256sum | cut -c1-16)
	dir=$CTM_DEBS_CACHE/debs-build/$state
	mkdir -p "$CTM_DEBS_CACHE/debs-build"
	# One build at a time; a second test of the same state waits and reuses it.
	exec 8>>"$CTM_DEBS_CACHE/debs-build/lock"
	flock -x 8
	if [ ! -e "$dir/done" ]; then
		tmp=$(mktemp -d "$CTM_DEBS_CACHE/debs-build/tmp.XXXXXX")
		mkdir "$tmp/containarium"
		ctm_debs_tree_files | rsync -a --files-from=- "$SRC"/ "$tmp/containarium/"
		log=$tmp/build.log
		if ! (cd "$tmp/containarium" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -b -us -uc) \
			>"$log" 2>&1; then
			CTM_DEBS_ERR="dpkg-buildpackage failed: $(tail -n 20 "$log")"
			rm -rf "$tmp"
			exec 8>&-
			return 1
		fi
		rm -rf "$dir"
		mkdir -p "$dir"
		mv "$tmp"/*.deb "$log" "$dir/"
		rm -rf "$tmp"
		: >"$dir/done"
		# Keep the newest few states only.
		find "$CTM_DEBS_CACHE/debs-build" -mindepth 1 -maxdepth 1 -type d ! -name 'tmp.*' -printf '%T@ %p\n' |
			sort -rn | tail -n +6 | cut -d' ' -f2- | xargs -r rm -rf
	fi
	exec 8>&-
	printf '%s\n' "$dir"
}

ctm_debs_deps() {
	ctm_debs_fetch "$1" "$2" install "$3"/*.deb
}

ctm_debs_build_deps() {
	ctm_debs_fetch "$1" "$2" build-dep "$SRC"
}

# ctm_debs_fetch STATUS DEST APT-ARGS...: the .debs `apt-get APT-ARGS`
# would install on a system with dpkg status STATUS (ours left out) into DEST.
ctm_debs_fetch() {
	local status=$1 dest=$2 p f deps out
	shift 2
	mkdir -p "$CTM_DEBS_CACHE/pkg-debs/partial" "$dest"
	local aptopts=(-q -o Debug::NoLocking=1 -o APT::Sandbox::User=root -o Dir::State::status="$status"
		-o Dir::Cache::archives="$CTM_DEBS_CACHE/pkg-debs")
	if ! out=$(apt-get "${aptopts[@]}" -y --download-only --no-install-recommends "$@" 2>&1); then
		CTM_DEBS_ERR="apt-get --download-only $1 failed: $(tail -n 15 <<<"$out")"
		return 1
	fi
	deps=$(apt-get "${aptopts[@]}" -s --no-install-recommends "$@" 2>/dev/null |
		sed -n 's/^Inst \([^ ]*\) .*/\1/p')
	for p in $deps; do
		case " $CTM_DEBS_PACKAGES " in *" $p "*) continue ;; esac
		f=$(find "$CTM_DEBS_CACHE/pkg-debs" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -n 1)
		if [ -z "$f" ]; then
			CTM_DEBS_ERR="dependency $p is not in $CTM_DEBS_CACHE/pkg-debs"
			return 1
		fi
		cp "$f" "$dest/"
	done
}
