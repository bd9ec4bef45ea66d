#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What pam_containarium.so brings into sshd: libc and libpam only, only the
# pam_sm_* entry points it implements visible, nothing of common/ or of its
# own helpers exported, hardened like the other modules.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/pamlib.sh"
for tool in readelf nm; do
	command -v "$tool" >/dev/null || skip_all "$tool not installed (binutils)"
done
pam_need_build "$PAM_MODULE"
mod=$PAM_MODULE

needed() { readelf -dW "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' '; }
dynamic_tag() { readelf -dW "$1" | grep -F "($2)"; }
# The dynamic loader's name, from a program's interpreter (ld-linux-x86-64.so.2 here).
ldso=$(readelf -lW "$(command -v readelf)" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
ldso=${ldso##*/}
expect_match "found the dynamic loader's name" '^ld-' "$ldso"

n=$(needed "$mod")
expect_match "needs libc.so.6" '(^| )libc\.so\.6 ' "$n"
expect_match "needs libpam.so.0" '(^| )libpam\.so\.0 ' "$n"
# shellcheck disable=SC2086 # one word per library
extra=$(printf '%s\n' $n | grep -vxF -e libc.so.6 -e libpam.so.0 -e "$ldso")
expect_eq "needs nothing but libc.so.6, libpam.so.0 and $ldso" "" "$extra"
foreign=$(nm -D --undefined-only "$mod" | awk '$1 != "w" && $2 !~ /@(GLIBC|LIBPAM(_EXTENSION)?)_/')
expect_eq "imports only GLIBC_* and LIBPAM_* symbols" "" "$foreign"
expect_eq "no RPATH/RUNPATH" "" "$(dynamic_tag "$mod" RPATH; dynamic_tag "$mod" RUNPATH)"
expect_eq "no text relocations" "" "$(dynamic_tag "$mod" TEXTREL)"
expect_match "linked -z now" 'NOW' "$(dynamic_tag "$mod" FLAGS; dynamic_tag "$mod" FLAGS_1)"
expect_match "has a RELRO segment" 'GNU_RELRO' "$(readelf -lW "$mod")"
expect_eq "no executable stack" "RW" \
	"$(readelf -lW "$mod" | awk '$1 == "GNU_STACK" { print $7 }')"
# Threads or their library would be a surprise inside sshd's monitor.
expect_eq "does not import pthread_create" "" "$(nm -D --undefined-only "$mod" | grep -w pthread_create)"

exported=$(nm -D --defined-only "$mod" | awk '{ print $3 }' | sort)
expect_eq "exports exactly the three entry points it implements" \
	"pam_sm_acct_mgmt
pam_sm_close_session
pam_sm_open_session" "$exported"
map_globals=$(sed -n '/global:/,/local:/p' "$SRC/pam_containarium/exports.map" |
	grep -o 'pam_sm_[a-z_]*' | sort)
expect_eq "exports.map lists exactly what the module exports" "$map_globals" "$exported"
expect_match "exports.map ends with local: *;" 'local: \*;' "$(cat "$SRC/pam_containarium/exports.map")"

# common/ and the module's own helpers are linked in and must stay private.
common_syms=$(nm --defined-only "$BUILD/common/libctmcommon.a" 2>/dev/null |
	awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort -u)
expect_match "common/ defines ctm_db_open (the probe below is meaningful)" '^ctm_db_open$' "$common_syms"
dyn=$(nm -D "$mod" | awk '{ print $NF }' | sed 's/@.*//')
expect_eq "no symbol of common/ in the dynamic symbol table" "" \
	"$(printf '%s\n' "$dyn" | grep -xF -f <(printf '%s\n' "$common_syms"))"
expect_eq "no pam_ctm_* helper in the dynamic symbol table" "" "$(printf '%s\n' "$dyn" | grep '^pam_ctm_')"

# It loads with every symbol bound at once, as libpam dlopens it.
if command -v python3 >/dev/null; then
	expect_eq "dlopen(RTLD_NOW) succeeds; dlsym finds pam_sm_acct_mgmt, not ctm_db_open" "True False" \
		"$(python3 -c 'import ctypes, os, sys
m = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW)
print(hasattr(m, "pam_sm_acct_mgmt"), hasattr(m, "ctm_db_open"))' "$mod" 2>&1)"
fi

summary
