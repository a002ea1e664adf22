# Helpers for the shell integration tests.  Source it as
#     . "$TOP_SRCDIR/tests/lib.sh"
# It provides TAP output (tap_plan, tap_ok, tap_not_ok, tap_check, tap_skip,
# tap_diag, tap_bail), a private root-owned tree with a config file
# (make_tree, write_conf, enroll), TOTP codes from oathtool (code_at), a
# frozen clock (at_time, mid_step) and cleanup actions that run on EXIT, INT
# and TERM (add_cleanup).
# shellcheck shell=bash

FAKETIME_LIB=${FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}

# --- TAP ---------------------------------------------------------------------
TAP_PLANNED=0
TAP_RUN=0
TAP_FAILED=0

tap_plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

tap_ok() {
	TAP_RUN=$((TAP_RUN + 1))
	echo "ok $TAP_RUN - $*"
}

tap_not_ok() {
	TAP_RUN=$((TAP_RUN + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_RUN - $*"
}

tap_skip() { # DESCRIPTION REASON
	TAP_RUN=$((TAP_RUN + 1))
	echo "ok $TAP_RUN - $1 # SKIP $2"
}

# Diagnostics go to stderr, which the automake driver keeps in the .log file.
tap_diag() {
	local line
	printf '%s\n' "$@" | while IFS= read -r line; do
		printf '# %s\n' "$line" >&2
	done
}

tap_bail() {
	echo "Bail out! $*"
	exit 1
}

# tap_check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
tap_check() {
	local desc=$1
	shift
	if "$@"; then
		tap_ok "$desc"
	else
		tap_not_ok "$desc"
	fi
}

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP needs root"
		exit 0
	fi
}

# The variables `make check` exports (AM_TESTS_ENVIRONMENT).
require_env() {
	local v
	for v in STEPUP_MODULE STEPUPCTL TOP_SRCDIR TOP_BUILDDIR; do
		if [ -z "${!v:-}" ]; then
			tap_bail "$v is not set; run through 'make check' or export it"
		fi
	done
	[ -f "$STEPUP_MODULE" ] || tap_bail "no module at $STEPUP_MODULE (make tests/root.stamp)"
	[ -x "$STEPUPCTL" ] || tap_bail "no stepupctl at $STEPUPCTL (make tests/root.stamp)"
}

require_program() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || tap_bail "$p is not installed"
	done
}

# --- cleanup -------------------------------------------------------------------
# Actions run once, newest first, when the script exits or is interrupted.
CLEANUPS=()
CLEANED_UP=0

add_cleanup() {
	CLEANUPS+=("$*")
}

run_cleanups() {
	local i
	[ "$CLEANED_UP" = 1 ] && return 0
	CLEANED_UP=1
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUPS[$i]}" || true
	done
}

# Install the traps.  An optional function runs after the cleanups on every
# exit path (the pamtester test uses it to check that the cleanups worked).
on_exit_also=
install_traps() {
	on_exit_also=${1:-}
	trap '_lib_exit' EXIT
	trap '_lib_signal 130' INT
	trap '_lib_signal 143' TERM
}

_lib_exit() {
	local rc=$?
	run_cleanups
	if [ -n "$on_exit_also" ]; then
		"$on_exit_also"
		on_exit_also=
	fi
	# Failed cases are reported by their "not ok" lines; a non-zero status
	# would add an ERROR to each failing script, so it is kept for what TAP
	# cannot say: a plan not run to the end, a signal.
	if [ "$TAP_RUN" -ne "$TAP_PLANNED" ]; then
		tap_diag "planned $TAP_PLANNED tests, ran $TAP_RUN"
		[ "$rc" -eq 0 ] && rc=1
	fi
	[ "$TAP_FAILED" -gt 0 ] && tap_diag "$TAP_FAILED of $TAP_RUN tests failed"
	exit "$rc"
}

_lib_signal() {
	trap - INT TERM
	exit "$1" # runs the EXIT trap
}

# --- the private tree ----------------------------------------------------------
# make_tree NAME [EXTRA CONFIG LINE...]: creates T (root-owned, 0755) under
# $TOP_BUILDDIR/tests/tmp, writes $T/stepup.conf and runs `stepupctl init`.
# Sets T and CONF.  T is removed at exit unless a test failed or
# STEPUP_KEEP_TMP=1.
make_tree() {
	local name=$1
	shift
	mkdir -p "$TOP_BUILDDIR/tests/tmp" || tap_bail "cannot create $TOP_BUILDDIR/tests/tmp"
	chmod 0755 "$TOP_BUILDDIR/tests/tmp"
	T=$(mktemp -d "$TOP_BUILDDIR/tests/tmp/$name.XXXXXX") || tap_bail "mktemp failed"
	chmod 0755 "$T"
	check_dir_chain "$T"
	add_cleanup _remove_tree "'$T'"
	CONF=$T/stepup.conf
	write_conf "$CONF" "$@"
	"$STEPUPCTL" -c "$CONF" init >"$T/init.out" 2>&1 ||
		tap_bail "stepupctl init failed: $(cat "$T/init.out")"
}

# The module trusts a file only if every directory above it is root-owned
# and not writable by group or others (unless sticky, like /tmp).  Say so
# plainly instead of letting every test fail with "refusing".
check_dir_chain() {
	local d owner mode
	d=$(realpath "$1")
	while :; do
		read -r owner mode < <(stat -c '%u %a' "$d")
		if [ "$owner" != 0 ] || { [ $((8#$mode & 8#022)) -ne 0 ] && [ $((8#$mode & 8#1000)) -eq 0 ]; }; then
			tap_bail "$d (owner uid $owner, mode $mode) is not a safe parent for the test tree: it must be root-owned and not group/world-writable (build as root with umask 022)"
		fi
		[ "$d" = / ] && break
		d=$(dirname "$d")
	done
}

_remove_tree() {
	if [ "$TAP_FAILED" -eq 0 ] && [ "${STEPUP_KEEP_TMP:-0}" != 1 ]; then
		rm -rf -- "$1"
	else
		tap_diag "kept $1 for inspection"
	fi
}

# write_conf PATH [EXTRA LINE...]: a [global] section pointing at $T, then
# the extra lines (e.g. "totp_window = 0").  Root-owned, 0644.  No delay
# after failures (fail_delay = 0), so that failing cases stay fast; the
# delay itself has a test of its own.
write_conf() {
	local path=$1 line
	shift
	{
		echo "# written by tests/lib.sh"
		echo "[global]"
		echo "user_dir = $T/etc/stepup/users"
		echo "state_dir = $T/var/lib/stepup/state"
		echo "grace_dir = $T/run/stepup/grace"
		echo "hostkey = $T/etc/stepup/hostkey"
		echo "fail_delay = 0"
		for line in "$@"; do
			echo "$line"
		done
	} >"$path"
	chmod 0644 "$path"
}

# enroll USER SECRET [stepupctl options, e.g. --digits 8]
enroll() {
	local user=$1 secret=$2
	shift 2
	"$STEPUPCTL" -c "$CONF" enroll "$user" totp --secret "$secret" "$@" >"$T/enroll.$user.out" 2>&1
}

# A base32 secret of 20 bytes made from a name, so every user has their own.
secret_for() {
	printf '%-20.20s' "stepup-test-$1" | base32 | tr -d '=\n'
}

# --- time and codes --------------------------------------------------------------
# code_at EPOCH SECRET [oathtool options, e.g. -d 8]: the TOTP code at EPOCH.
code_at() {
	local epoch=$1 secret=$2
	shift 2
	oathtool --totp "$@" -b "$secret" -N "@$epoch"
}

# mid_step EPOCH: the first moment at or after EPOCH with EPOCH % 30 == 10,
# so that a frozen clock is 10 s into a 30 s step.
mid_step() {
	local e=$1
	echo $((e - e % 30 + 10 + (e % 30 > 10 ? 30 : 0)))
}

# at_time EPOCH COMMAND...: run COMMAND with the clock frozen at EPOCH,
# killed after STEP_TIMEOUT seconds (default 60; exit status 124 then).
# timeout(1) itself runs on the real clock.
at_time() {
	local epoch=$1
	shift
	timeout -k 5 "${STEP_TIMEOUT:-60}" \
		env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_FMT=%s FAKETIME="$epoch" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 "$@"
}

# --- services --------------------------------------------------------------------
# render_service TEMPLATE OUT [ARG...]: tests/services/TEMPLATE.in with
# @MODULE@, @T@ and @ARGS@ replaced.
render_service() {
	local template=$TOP_SRCDIR/tests/services/$1.in out=$2
	shift 2
	[ -f "$template" ] || tap_bail "missing template $template"
	sed -e "s|@MODULE@|$STEPUP_MODULE|g" -e "s|@T@|$T|g" -e "s|@ARGS@|$*|g" \
		"$template" >"$out"
	chmod 0644 "$out"
}

# TAP diagnostics: each line of stdin as "#   line" on stderr.
tap_diag_stream() {
	local line
	while IFS= read -r line; do
		printf '#   %s\n' "$line" >&2
	done
}

# pt EPOCH SERVICE USER ANSWER...: pamtester authenticate with the clock
# frozen at EPOCH, one answer per line on stdin.  Output in $T/pt.out.
pt() {
	local epoch=$1 svc=$2 user=$3 rc
	shift 3
	printf '%s\n' "$@" >"$T/pt.in"
	at_time "$epoch" pamtester "$svc" "$user" authenticate \
		<"$T/pt.in" >"$T/pt.out" 2>&1
	rc=$?
	{
		echo "--- pamtester $svc $user at @$epoch: exit $rc"
		cat "$T/pt.out"
	} | tap_diag_stream
	return "$rc"
}

# Exit 1 is pamtester's "authentication failed"; anything else (a crash, a
# timeout) is a failure of the test even where a refusal is wanted.
refused() {
	pt "$@"
	[ $? -eq 1 ]
}
