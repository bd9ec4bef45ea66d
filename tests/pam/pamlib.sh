# shellcheck shell=bash disable=SC2034  # sourced; its constants are used by the tests
# SPDX-License-Identifier: Apache-2.0
# Shared by the PAM shell tests; source it after tests/lib/testlib.sh.
#
# pam_scratch        scratch dir, test helpers built into it (the libpamtest
#                    driver and pam_next.so); removed, with any background
#                    process we started, on exit
# pam_publish DIR    a passwd.db with the test users (containarium-mksnapshot)
# pam_service NAME TYPE ARGS...
#                    a pam_wrapper service file: pam_containarium.so with ARGS
#                    for TYPE (account or session), then pam_next.so
# pam_run SERVICE USER [rhost=H] [tty=T] OP=EXPECTED...
#                    one PAM transaction under pam_wrapper (pamtest_driver.c);
#                    sets PAM_RC, PAM_OUT (the driver's stdout) and PAM_LOG
#                    (what the modules sent to syslog, one "SYSLOG(PRIO): TEXT"
#                    line each)

PAM_MODULE=$BUILD/pam_containarium/pam_containarium.so
MKSNAPSHOT=$BUILD/mksnapshot/containarium-mksnapshot
PAM_TESTDIR=$SRC/tests/pam
PAM_WRAPPER_LIB=libpam_wrapper.so
PAM_PIDS=()

# Users of every PAM test: one per state.  Names unlikely to exist on a host.
pam_users_json() {
	cat <<-'EOF'
	{"users":[
	 {"name":"ctmalice","uid":70010,"gecos":"Alice Liddell","ipv4":"10.0.3.15"},
	 {"name":"ctmzoe","uid":70030,"ipv4":"10.0.3.30","state":"suspended"},
	 {"name":"ctmpat","uid":70031,"ipv4":"10.0.3.31","state":"provisioning"}
	]}
	EOF
}
PAM_MSG_SUSPENDED='Your Containarium account is suspended. Contact your administrator.'
PAM_MSG_PROVISIONING='Your Containarium container is still being set up. Try again in a minute.'

# A missing build is a failure, not a skip: a skip would hide a broken build.
pam_need_build() {
	local f
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			fail "built: $f (run make BUILD=${BUILD#"$SRC"/} first)"
			summary
			exit 1
		fi
	done
}

pam_need_wrapper() {
	local d
	d=$(dirname "$(gcc -print-file-name=libc.so.6 | xargs readlink -f)")
	[ -e "$d/$PAM_WRAPPER_LIB" ] || skip_all "pam_wrapper not installed (libpam-wrapper)"
	[ -e /usr/include/libpamtest.h ] || skip_all "libpamtest not installed (libpamtest0-dev)"
}

pam_cleanup() {
	local p
	for p in ${PAM_PIDS[@]+"${PAM_PIDS[@]}"}; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "${T_TMP:-}" ] && rm -rf "$T_TMP"
}

# pam_cc OUTPUT SOURCE [FLAGS...]: a test helper, with the project's warnings.
pam_cc() {
	local out=$1 src=$2
	shift 2
	"${CC:-cc}" -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
		-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wcast-align -O2 -g -gdwarf-4 \
		-D_FORTIFY_SOURCE=2 -o "$out" "$src" "$@"
}

pam_scratch() {
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctm-$T_NAME.XXXXXX")
	chmod 755 "$T_TMP"
	trap pam_cleanup EXIT
	trap 'exit 130' INT TERM # so that the EXIT trap runs
	mkdir -p "$T_TMP/svc" "$T_TMP/db"
	if ! pam_cc "$T_TMP/pamtest_driver" "$PAM_TESTDIR/pamtest_driver.c" -lpamtest -lpam ||
		! pam_cc "$T_TMP/pam_next.so" "$PAM_TESTDIR/pam_next.c" -shared -fPIC -lpam; then
		fail "the test helpers compile (pamtest_driver.c, pam_next.c)"
		summary
		exit 1
	fi
}

pam_publish() {
	local dir=$1 json=${2:-$(pam_users_json)}
	mkdir -p "$dir"
	printf '%s\n' "$json" | "$MKSNAPSHOT" --passwd-db "$dir/passwd.db" --keys-db "$dir/keys.db" -
}

# The module decides (success=done, or die with its code); PAM_IGNORE goes
# on to pam_next.so, which says so and succeeds.
pam_service() {
	local name=$1 type=$2
	shift 2
	printf '%s [success=done ignore=ignore default=die] %s %s\n%s required %s\n' \
		"$type" "$PAM_MODULE" "$*" "$type" "$T_TMP/pam_next.so" >"$T_TMP/svc/$name"
}

# PAM_RUN_PREFIX: words put before the driver (valgrind, setpriv, strace).
# PAM_RUN_PRELOAD: extra libraries to preload after pam_wrapper.
# Only the driver gets pam_wrapper (set by the last env): pam_wrapper makes a
# directory in /tmp in every process it is active in and removes it at exit,
# so a wrapper that execs (setpriv, env, valgrind's launcher) would leave
# one behind.
PAM_RUN_PREFIX=()
PAM_RUN_PRELOAD=
pam_run() {
	local svc=$1
	shift
	PAM_OUT=$(timeout -k 5 120 ${PAM_RUN_PREFIX[@]+"${PAM_RUN_PREFIX[@]}"} \
		env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T_TMP/svc" PAM_WRAPPER_DEBUGLEVEL=2 \
		LD_PRELOAD="$PAM_WRAPPER_LIB${PAM_RUN_PRELOAD:+ $PAM_RUN_PRELOAD}" \
		"$T_TMP/pamtest_driver" "$svc" "$@" 2>"$T_TMP/stderr")
	PAM_RC=$?
	PAM_LOG=$(grep -o 'SYSLOG([0-9]*): .*' "$T_TMP/stderr" | grep -v '_pam_init_handlers: no default config')
	pam_wrapper_leftovers "$(printf '%s\n' "$PAM_OUT" | sed -n 's/^pid: //p')"
}

# Under valgrind pam_wrapper initialises twice in the driver and removes
# only the second of its /tmp/pam.X directories at exit.  Remove the ones
# that driver process (now gone) made: they name its pid.
pam_wrapper_leftovers() {
	local pid=$1 d
	[ -n "$pid" ] || return 0
	for d in /tmp/pam.?; do
		[ -f "$d/pid" ] && [ "$(cat "$d/pid" 2>/dev/null)" = "$pid" ] && rm -rf "$d"
	done
	return 0
}

# pam_show: the last run, for a failure's diagnostics.
pam_show() {
	printf '#   exit %s\n' "$PAM_RC"
	printf '%s\n' "$PAM_OUT" | sed 's/^/#   out: /'
	printf '%s\n' "$PAM_LOG" | sed 's/^/#   log: /'
	grep -v 'PWRAP_' "$T_TMP/stderr" | head -10 | sed 's/^/#   stderr: /'
}

# expect_pam DESCRIPTION EXPECTED_LINES: the driver's lines (elapsed and pid
# removed) are exactly EXPECTED_LINES.
expect_pam() {
	local got
	got=$(printf '%s\n' "$PAM_OUT" | grep -v -e '^elapsed_ms: ' -e '^pid: ')
	if [ "$got" = "$2" ]; then ok "$1"; else
		fail "$1"
		printf '%s\n' "$2" | sed 's/^/#   expected: /'
		pam_show
	fi
}

# expect_log DESCRIPTION REGEX: some syslog line of the last run matches.
expect_log() {
	if printf '%s\n' "$PAM_LOG" | grep -Eq -- "$2"; then ok "$1"; else
		fail "$1"
		printf '#   no syslog line matches: %s\n' "$2"
		pam_show
	fi
}

# expect_no_log DESCRIPTION REGEX: no syslog line of the last run matches.
expect_no_log() {
	if printf '%s\n' "$PAM_LOG" | grep -Eq -- "$2"; then
		fail "$1"
		printf '#   a syslog line matches: %s\n' "$2"
		pam_show
	else ok "$1"; fi
}

pam_elapsed() { printf '%s\n' "$PAM_OUT" | sed -n 's/^elapsed_ms: //p'; }
