#!/bin/bash
# Runs tests/pam/test_pam_wrapper (cmocka + libpamtest) against the installed
# module through a real libpam, redirected by libpam_wrapper to service files
# generated into a private tree, with the clock frozen by libfaketime.
# The C program prints the TAP; this script prepares and tidies up.
set -u

. "$TOP_SRCDIR/tests/lib.sh"

require_root
require_env
require_program oathtool

PROG=$TOP_BUILDDIR/tests/pam/test_pam_wrapper
PAM_WRAPPER_LIB=${PAM_WRAPPER_LIB:-$(pkg-config --libs pam_wrapper 2>/dev/null)}
PAM_WRAPPER_LIB=${PAM_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libpam_wrapper.so}
PAM_WRAPPER_LIB=${PAM_WRAPPER_LIB%% *}

[ -x "$PROG" ] || tap_bail "$PROG is not built (make check builds it)"
[ -f "$PAM_WRAPPER_LIB" ] || tap_bail "libpam_wrapper not found (apt-get install libpam-wrapper)"
[ -f "$FAKETIME_LIB" ] || tap_bail "libfaketime not found (apt-get install libfaketime)"

install_traps ""
make_tree pam_wrapper

# Config variants beside the main one; all share the tree.
write_conf "$T/stepup-w0.conf" "totp_window = 0"
write_conf "$T/badkey.conf" "tries = 3" "no_such_key = 1"
STEPUP_BADKEY_LINE=$(grep -n '^no_such_key' "$T/badkey.conf" | cut -d: -f1)
write_conf "$T/unsafe.conf"
chmod 0666 "$T/unsafe.conf"

mkdir -m 0755 "$T/services" "$T/logs"
svc() { # NAME ARGS...
	local name=$1
	shift
	render_service stepup "$T/services/$name" "$@"
}
svc stepup "config=$T/stepup.conf"
svc stepup-w0 "config=$T/stepup-w0.conf"
svc stepup-deny "config=$T/stepup.conf missing=deny"
svc stepup-allow "config=$T/stepup.conf missing=allow"
svc stepup-tries1 "config=$T/stepup.conf tries=1"
svc stepup-totp "config=$T/stepup.conf methods=totp debug"
svc stepup-badarg "config=$T/stepup.conf no_such_argument=1"
svc stepup-badkey "config=$T/badkey.conf"
svc stepup-noconf "config=$T/does-not-exist.conf"
svc stepup-unsafe "config=$T/unsafe.conf"
# libpam falls back to "other" and complains when it is missing.
echo "auth required pam_deny.so" >"$T/services/other"

# The clock: frozen by libfaketime 10 s into a 30 s step, so "the previous
# step" and "two steps ago" are exact.  Under ASan, LeakSanitizer aborts at
# exit when libfaketime is loaded ("The futex facility returned an
# unexpected error code"), so a sanitizer build runs on the real clock
# instead, started early in a step; the program checks at the end that the
# step did not change during the run.  STEPUP_CLOCK=real forces that.
sanitized=0
if ldd "$PROG" 2>/dev/null | grep -q -E 'lib(asan|ubsan|tsan|lsan)'; then
	sanitized=1
fi
CLOCK=${STEPUP_CLOCK:-$([ "$sanitized" = 1 ] && echo real || echo frozen)}
faketime_env=()
if [ "$CLOCK" = frozen ]; then
	NOW=$(mid_step 1700000000)
	faketime_env=(FAKETIME_FMT=%s FAKETIME="$NOW" FAKETIME_DONT_FAKE_MONOTONIC=1)
	preload=$PAM_WRAPPER_LIB:$FAKETIME_LIB
else
	s=$(($(date +%s) % 30))
	if [ "$s" -gt 15 ]; then
		tap_diag "real clock: waiting $((31 - s)) s for the start of a step"
		sleep $((31 - s))
	fi
	NOW=$(date +%s)
	preload=$PAM_WRAPPER_LIB
fi

export STEPUP_T=$T STEPUP_NOW=$NOW STEPUP_CLOCK=$CLOCK STEPUP_BADKEY_LINE STEPUPCTL
export CMOCKA_MESSAGE_OUTPUT=${CMOCKA_MESSAGE_OUTPUT:-TAP}

# pam_wrapper prints what the module sends to pam_syslog on stderr when its
# debug level is at least 2 (LOG_ERR/WARNING at 0/1, NOTICE/INFO/DEBUG at 2);
# the C program captures stderr around each PAM call to check the log lines.
# pam_wrapper dlopen()s libpam with RTLD_DEEPBIND, which sanitizer runtimes
# do not survive; turn that off when the program is built with one.
# (pam_wrapper 1.1.4 reads the switch as UID_WRAPPER_DISABLE_DEEPBIND, the
# documented name is PAM_WRAPPER_DISABLE_DEEPBIND: set both.)
deepbind=()
if [ "$sanitized" = 1 ]; then
	deepbind=(PAM_WRAPPER_DISABLE_DEEPBIND=1 UID_WRAPPER_DISABLE_DEEPBIND=1)
fi
env LD_PRELOAD="$preload" \
	PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/services" \
	PAM_WRAPPER_DEBUGLEVEL=2 "${deepbind[@]}" "${faketime_env[@]}" \
	"$PROG" | tee "$T/tap.out"
rc=${PIPESTATUS[0]}
# The C program prints the plan and the results; lib.sh's count stays empty.
# cmocka exits with the number of failed tests, which the "not ok" lines
# already report.  Any other status (a signal, a sanitizer's exit code) is
# passed on, so the driver reports it as an ERROR.
failed=$(grep -c '^not ok' "$T/tap.out")
if [ "$rc" -ne 0 ]; then
	STEPUP_KEEP_TMP=1 # keeps $T for inspection
	tap_diag "test_pam_wrapper exited with $rc ($failed failed); each PAM call's log is in $T/logs"
	# A crash inside a PAM call reports into that call's captured log.
	last=$(find "$T/logs" -type f 2>/dev/null | sort | tail -n 1)
	[ -n "$last" ] && tap_diag "last call's log, $last:" "$(tail -n 40 "$last")"
fi
[ "$rc" -eq "$failed" ] && exit 0
exit "$rc"
