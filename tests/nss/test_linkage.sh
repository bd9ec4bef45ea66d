#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the NSS module and containarium-authorized-keys bring into the
# processes that load them (sshd, every program resolving a user): libc only,
# only the _nss_containarium_* entry points visible, nothing of common/.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/nsslib.sh"
for tool in readelf nm; do
	command -v "$tool" >/dev/null || skip_all "$tool not installed (binutils)"
done
nss_need_build "$NSS_MODULE" "$AUTHKEYS"

needed() { readelf -dW "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' '; }
dynamic_tag() { readelf -dW "$1" | grep -F "($2)"; }
# The dynamic loader's name (ld-linux-x86-64.so.2 here), from the keys
# command's program interpreter.
ldso=$(readelf -lW "$AUTHKEYS" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
ldso=${ldso##*/}
expect_match "the keys command names its dynamic loader" '^ld-' "$ldso"

# libc.so.6 and, at most, the dynamic loader: both are glibc and already in
# every dynamically linked process.  The module's TLS (per-thread
# enumeration state) resolves __tls_get_addr from the loader.
for f in "$NSS_MODULE" "$AUTHKEYS"; do
	n=$(needed "$f")
	expect_match "$(basename "$f") needs libc.so.6" '(^| )libc\.so\.6 ' "$n"
	extra=$(printf '%s\n' $n | grep -vxF -e libc.so.6 -e "$ldso")
	expect_eq "$(basename "$f") needs nothing but libc.so.6 and $ldso" "" "$extra"
	# Every symbol it imports is glibc's (weak ones are optional hooks).
	foreign=$(nm -D --undefined-only "$f" | awk '$1 != "w" && $2 !~ /@GLIBC_/')
	expect_eq "$(basename "$f") imports only GLIBC_* symbols" "" "$foreign"
	expect_eq "$(basename "$f") has no RPATH/RUNPATH" "" "$(dynamic_tag "$f" RPATH; dynamic_tag "$f" RUNPATH)"
	expect_eq "$(basename "$f") has no text relocations" "" "$(dynamic_tag "$f" TEXTREL)"
	expect_match "$(basename "$f") is linked -z now" 'NOW' "$(dynamic_tag "$f" FLAGS; dynamic_tag "$f" FLAGS_1)"
	expect_match "$(basename "$f") has a RELRO segment" 'GNU_RELRO' "$(readelf -lW "$f")"
done

expect_eq "module SONAME" "libnss_containarium.so.2" \
	"$(dynamic_tag "$NSS_MODULE" SONAME | sed 's/.*\[\(.*\)\]/\1/')"
# It registers pthread_atfork handlers: unloading it would leave them
# pointing at unmapped code, so it must never be unloaded.
expect_match "module is NODELETE (its atfork handlers outlive dlclose)" 'NODELETE' \
	"$(dynamic_tag "$NSS_MODULE" FLAGS_1)"

exported=$(nm -D --defined-only "$NSS_MODULE" | awk '{ print $3 }' | sort)
expect_eq "module exports exactly the 11 NSS entry points" \
	"_nss_containarium_endgrent
_nss_containarium_endpwent
_nss_containarium_getgrent_r
_nss_containarium_getgrgid_r
_nss_containarium_getgrnam_r
_nss_containarium_getpwent_r
_nss_containarium_getpwnam_r
_nss_containarium_getpwuid_r
_nss_containarium_initgroups_dyn
_nss_containarium_setgrent
_nss_containarium_setpwent" "$exported"
expect_eq "module exports only _nss_containarium_*" "" \
	"$(printf '%s\n' "$exported" | grep -v '^_nss_containarium_')"
map_globals=$(sed -n '/global:/,/local:/p' "$SRC/nss_containarium/exports.map" |
	grep -o '_nss_containarium_[a-z_]*' | sort)
expect_eq "exports.map lists exactly what the module exports" "$map_globals" "$exported"

# common/ is linked in statically and must stay private: another module or
# program with its own ctm_db_open must not be interposed on, nor us on it.
common_syms=$(nm --defined-only "$BUILD/common/libctmcommon.a" 2>/dev/null |
	awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort -u)
expect_match "common/ defines ctm_db_open (the probe below is meaningful)" '^ctm_db_open$' "$common_syms"
for f in "$NSS_MODULE" "$AUTHKEYS"; do
	dyn=$(nm -D "$f" | awk '{ print $NF }' | sed 's/@.*//')
	expect_eq "$(basename "$f"): ctm_db_open not in the dynamic symbol table" "" \
		"$(printf '%s\n' "$dyn" | grep -x ctm_db_open)"
	expect_eq "$(basename "$f"): no symbol of common/ in the dynamic symbol table" "" \
		"$(printf '%s\n' "$dyn" | grep -xF -f <(printf '%s\n' "$common_syms"))"
done
expect_eq "the keys command exports nothing" "" "$(nm -D --defined-only "$AUTHKEYS" |
	awk '$2 != "A" && $3 !~ /^(_IO_stdin_used|__data_start|data_start|_edata|_end|__bss_start)$/')"

summary
