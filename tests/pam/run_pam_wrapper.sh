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

# 10 s into a 30 s step, so "the previous step" and "two steps ago" are exact.
NOW=$(mid_step 1700000000)

export STEPUP_T=$T STEPUP_NOW=$NOW STEPUP_BADKEY_LINE STEPUPCTL
export CMOCKA_MESSAGE_OUTPUT=${CMOCKA_MESSAGE_OUTPUT:-TAP}

# pam_wrapper prints what the module sends to pam_syslog on stderr when its
# debug level is at least 2 (LOG_ERR/WARNING at 0/1, NOTICE/INFO/DEBUG at 2);
# the C program captures stderr around each PAM call to check the log lines.
# pam_wrapper dlopen()s libpam with RTLD_DEEPBIND, which sanitizer runtimes
# do not survive; turn that off when the program is built with one.
deepbind=
if ldd "$PROG" 2>/dev/null | grep -q -E 'lib(asan|ubsan|tsan)'; then
	deepbind=PAM_WRAPPER_DISABLE_DEEPBIND=1
fi
env LD_PRELOAD="$PAM_WRAPPER_LIB:$FAKETIME_LIB" \
	PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/services" \
	PAM_WRAPPER_DEBUGLEVEL=2 $deepbind \
	FAKETIME_FMT=%s FAKETIME="$NOW" FAKETIME_DONT_FAKE_MONOTONIC=1 \
	"$PROG"
rc=$?
# The C program prints the plan and the results; lib.sh's count stays empty.
# cmocka exits with the number of failed tests, which the "not ok" lines
# already report; only a death by signal is passed on.
if [ "$rc" -ne 0 ]; then
	STEPUP_KEEP_TMP=1 # keeps $T for inspection
	tap_diag "test_pam_wrapper exited with $rc; each PAM call's log is in $T/logs"
fi
[ "$rc" -gt 128 ] && exit "$rc"
exit 0
