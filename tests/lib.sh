# Helpers for the shell integration tests.  Source it as
#     . "$TOP_SRCDIR/tests/lib.sh"
# It provides TAP output (tap_plan, tap_check, tap_ok, tap_not_ok, tap_skip,
# tap_diag, tap_bail, and a transcript per case: tap_log), a private
# root-owned tree with a config file
# (make_tree, write_conf, enroll), TOTP codes from oathtool (code_at), a
# frozen clock (at_time, mid_step) and cleanup actions that run on EXIT, INT
# and TERM (add_cleanup).
# shellcheck shell=bash

FAKETIME_LIB=${FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}
# Debian's python3 for the tests' small scripts, not whatever shim PATH
# finds first (a version manager's shim costs a shell script per call).
TEST_PYTHON=${TEST_PYTHON:-/usr/bin/python3}

# --- TAP ---------------------------------------------------------------------
# A test case is one check:
#
#     tap_check [--transcript FILE]... [--not-ok TEXT] DESCRIPTION COMMAND [ARG...]
#
# runs COMMAND and prints "ok N - DESCRIPTION" when it succeeds; otherwise
# "not ok N - DESCRIPTION" (or TEXT, e.g. the description with what was
# found: it is expanded before COMMAND runs) and, right under it, the case's
# transcript as TAP diagnostics ("#   line"): what tap_log recorded since the
# previous case (pt and pt_email record every pamtester run there) and each
# FILE. COMMAND is one command: a condition of several parts is a small
# function named for what it checks, defined just above, e.g.
#
#     expired_record_removed() { refused "$E" "$SVC" "$U" && [ ! -e "$REC" ]; }
#     tap_check "after grace: asked again, the expired record removed" expired_record_removed
#     tap_check "the record file is root's, 0600" [ "$(stat -c '%U %a' "$REC")" = "root 600" ]
#
# tap_ok and tap_not_ok are for the few cases that are not one condition.
TAP_PLANNED=0
TAP_RUN=0
TAP_FAILED=0
TAP_CASE_LOG=     # the current case's transcript file; make_tree sets it
TAP_CASE_FILES=() # files to show if the current case fails

tap_plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

tap_ok() {
	TAP_RUN=$((TAP_RUN + 1))
	echo "ok $TAP_RUN - $*"
	_tap_case_done
}

tap_not_ok() {
	TAP_RUN=$((TAP_RUN + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_RUN - $*"
	_tap_show_transcript
	_tap_case_done
}

tap_skip() { # DESCRIPTION REASON
	TAP_RUN=$((TAP_RUN + 1))
	echo "ok $TAP_RUN - $1 # SKIP $2"
	_tap_case_done
}

tap_check() {
	local not_ok=
	while :; do
		case ${1:-} in
		--transcript) TAP_CASE_FILES+=("$2"); shift 2 ;;
		--not-ok) not_ok=$2; shift 2 ;;
		*) break ;;
		esac
	done
	local desc=$1
	shift
	if "$@"; then
		tap_ok "$desc"
	else
		tap_not_ok "${not_ok:-$desc}"
	fi
}

# tap_log: stdin into the current case's transcript, shown under its
# "not ok" line if it fails. Before make_tree (no transcript file yet) it
# goes to the .log file as diagnostics at once.
tap_log() {
	if _tap_has_transcript; then
		cat >>"$TAP_CASE_LOG"
	else
		tap_diag_stream
	fi
}

_tap_show_transcript() {
	local f
	if [ -s "$TAP_CASE_LOG" ]; then
		_tap_indent <"$TAP_CASE_LOG"
	fi
	for f in "${TAP_CASE_FILES[@]}"; do
		echo "#   --- $f"
		if [ -f "$f" ]; then _tap_indent <"$f"; else echo "#   (missing)"; fi
	done
}

_tap_case_done() {
	# (The tree, and the file with it, may be gone: run_cleanups.)
	[ ! -f "$TAP_CASE_LOG" ] || : >"$TAP_CASE_LOG"
	TAP_CASE_FILES=()
}

_tap_indent() {
	local line
	while IFS= read -r line || [ -n "$line" ]; do
		printf '#   %s\n' "$line"
	done
}

# Diagnostics go to stderr, which the automake driver keeps in the .log
# file, but all of a test's stderr lands above its results there. So each
# line also goes into the current case's transcript, which a failed case
# prints right under its "not ok" line: what the case measured stays next
# to its verdict (scripts/test.sh shows that part from a CI log).
tap_diag() {
	local line
	printf '%s\n' "$@" | while IFS= read -r line; do
		printf '# %s\n' "$line" >&2
		_tap_case_note "$line"
	done
}

# Whether the case in progress has a transcript yet (make_tree made it).
_tap_has_transcript() {
	[ -n "$TAP_CASE_LOG" ] && [ -d "${TAP_CASE_LOG%/*}" ]
}

_tap_case_note() {
	if _tap_has_transcript; then
		printf '%s\n' "$1" >>"$TAP_CASE_LOG"
	fi
}

# Bailing out shows what the case in progress recorded.
tap_bail() {
	_tap_show_transcript
	echo "Bail out! $*"
	exit 1
}

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP needs root"
		exit 0
	fi
}

# own_visible_session SCRIPT ARGS...: grace records bind to the session
# leader, which cannot be seen from inside a PID namespace entered from
# outside (docker exec, nsenter: getsid() is 0 there, as on CI machines).
# Then run SCRIPT again as the leader of a session of its own, once.
own_visible_session() {
	local stat sid
	stat=$(</proc/$$/stat) || return 0
	stat=${stat##*) }
	read -r _ _ _ sid _ <<<"$stat"
	if [ "$sid" != 0 ] && [ -e "/proc/$sid" ]; then
		return 0
	fi
	[ -z "${STEPUP_OWN_SESSION:-}" ] || tap_bail "no visible session leader even after setsid"
	require_program setsid
	STEPUP_OWN_SESSION=1 exec setsid -w /bin/bash "$@"
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
	TAP_CASE_LOG=$T/tap-case.log
	: >"$TAP_CASE_LOG"
	write_conf "$CONF" "$@"
	"$STEPUPCTL" -c "$CONF" init >"$T/init.out" 2>&1 ||
		tap_bail "stepupctl init failed: $(cat "$T/init.out")"
}

# make_sock_dir: sets SOCKS, a root-owned 0755 directory under /tmp for the
# test's Unix sockets (agents, fake agents), removed at exit like $T.  A
# socket's path must fit sun_path (107 bytes), and $T under a deep build tree
# leaves too few: in `make distcheck` from a long checkout path a fake agent
# could not bind its socket there.
make_sock_dir() {
	SOCKS=$(mktemp -d /tmp/stepup.XXXXXX) || tap_bail "mktemp -d /tmp/stepup.XXXXXX failed"
	chmod 0755 "$SOCKS"
	check_dir_chain "$SOCKS"
	add_cleanup _remove_tree "'$SOCKS'"
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
# delay itself has a test of its own.  grace = 0 unless an extra line sets
# grace.
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
		# No grace records unless a test asks for them (a "grace = N"
		# line): most tests need every call to prompt.
		case " $* " in
		*" grace ="* | *" grace="*) ;;
		*) echo "grace = 0" ;;
		esac
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

# state_text FILE: the state a state file holds now, as kv text: the body
# of its newest intact slot (src/statefile.c: two slots, each a header
# "stepup-state 2 seq=N len=N sha256=HEX" and the text), or the whole file
# when it is of the older plain kv format. Exit 1 when neither slot is
# intact.
state_text() {
	"$TEST_PYTHON" - "$1" <<'PY'
import hashlib, re, sys
data = open(sys.argv[1], "rb").read()
magic = b"stepup-state 2 seq="
if not data.startswith(magic):
    sys.stdout.buffer.write(data)
    sys.exit(0)
slot, best = 8192, None
head = re.compile(rb"stepup-state 2 seq=(\d{20}) len=(\d{5}) sha256=([0-9a-f]{64})\n")
for i in range(len(data) // slot):
    s = data[i * slot:(i + 1) * slot]
    m = head.match(s)
    if not m:
        continue
    n, at = int(m.group(2)), m.end()
    body = s[at:at + n]
    if hashlib.sha256(s[:m.start(3) - 8] + s[at:]).hexdigest().encode() != m.group(3):
        continue
    if best is None or int(m.group(1)) > best[0]:
        best = (int(m.group(1)), body)
if best is None:
    sys.exit(1)
sys.stdout.buffer.write(best[1])
PY
}

# log_receiver LOGFILE: a throwaway syslog receiver, one line per datagram
# into LOGFILE, on a socket of the test's own ($T/log.sock). IN_NS is a
# command prefix that runs a program in a private mount namespace where
# /dev/log is that socket: bound over the host's /dev/log, or, on a host
# without one, inside a /dev of the namespace's own (the host's device
# nodes bound into a directory of the tree, /dev/log a link to the
# socket). Nothing is created or mounted outside the namespace, so tests
# running at once do not meet. Stopped at exit.
log_receiver() {
	local log=$1 sock=$T/log.sock
	: >"$log"
	"$TEST_PYTHON" -u -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(65536).decode(errors="replace").rstrip("\0\n") + "\n"); out.flush()
' "$sock" "$log" &
	add_cleanup kill "$!"
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	[ -S "$sock" ] || tap_bail "the syslog receiver did not start"
	cat >"$T/in_ns.sh" <<'SH'
# run inside a private mount namespace: /dev/log is the test's socket
sock=$1 dev=$2
shift 2
if [ -e /dev/log ]; then
	mount --bind "$sock" /dev/log || exit 125
else
	mkdir -p "$dev" || exit 125
	for n in null zero full random urandom tty ptmx; do
		[ -e "/dev/$n" ] || continue
		[ -e "$dev/$n" ] || : >"$dev/$n"
		mount --bind "/dev/$n" "$dev/$n" || exit 125
	done
	for l in fd stdin stdout stderr; do [ -e "$dev/$l" ] || cp -P "/dev/$l" "$dev/$l" 2>/dev/null; done
	mkdir -p "$dev/pts" "$dev/shm" && mount --bind /dev/pts "$dev/pts" && mount --bind /dev/shm "$dev/shm" || exit 125
	ln -sf "$sock" "$dev/log"
	mount --bind "$dev" /dev || exit 125
fi
exec "$@"
SH
	IN_NS=(unshare --mount --propagation private -- sh "$T/in_ns.sh" "$sock" "$T/nsdev")
}

# lock_su_stack: su's PAM service name is fixed, so a test that replaces
# /etc/pam.d/su takes this lock first and holds it until it has put the
# file back (exit releases it): two such tests running at once (make -j)
# would otherwise back up each other's replacement. The lock is on the
# file itself (the tests rewrite it in place, never by rename), so no lock
# file is left behind.
lock_su_stack() {
	exec {SU_STACK_LOCK}</etc/pam.d/su || tap_bail "cannot open /etc/pam.d/su"
	flock -w 600 "$SU_STACK_LOCK" || tap_bail "the su stack lock is held too long"
}

# take_su_stack FORMAT [ARG...]: /etc/pam.d/su becomes printf FORMAT ARG...
# for this test, under lock_su_stack; the original is kept outside the
# test tree (an earlier cleanup removes the tree) and put back by
# give_back_su_stack, which runs at exit too. SU_SUM is the original's checksum, for a test that checks
# its cleanup.
SU_BACKUP=
take_su_stack() {
	lock_su_stack
	SU_BACKUP=$(mktemp -d /tmp/stepup-su-backup.XXXXXX) || tap_bail "mktemp failed"
	cp -a /etc/pam.d/su "$SU_BACKUP/su" || tap_bail "cannot back up /etc/pam.d/su"
	SU_SUM=$(sha256sum </etc/pam.d/su)
	add_cleanup give_back_su_stack
	# shellcheck disable=SC2059 # the format is the caller's
	printf "$@" >/etc/pam.d/su
}
give_back_su_stack() {
	if [ -n "$SU_BACKUP" ] && [ -f "$SU_BACKUP/su" ]; then
		cp -a "$SU_BACKUP/su" /etc/pam.d/su && rm -rf "$SU_BACKUP" && SU_BACKUP=
	fi
	if [ -n "${SU_STACK_LOCK:-}" ]; then flock -u "$SU_STACK_LOCK"; fi
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
# TEST_PRELOAD (e.g. the sanitizer runtime, for a module built with ASan
# inside a program that is not) follows libfaketime in LD_PRELOAD: the
# other way round, libasan's start-up calls into libfaketime before it is
# set up, and the process hangs.
at_time() {
	local epoch=$1
	shift
	timeout -k 5 "${STEP_TIMEOUT:-60}" \
		env LD_PRELOAD="$FAKETIME_LIB${TEST_PRELOAD:+:$TEST_PRELOAD}" FAKETIME_FMT=%s FAKETIME="$epoch" \
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
	while IFS= read -r line || [ -n "$line" ]; do
		printf '#   %s\n' "$line" >&2
		_tap_case_note "  $line"
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
	} | tap_log
	return "$rc"
}

# Exit 1 is pamtester's "authentication failed"; anything else (a crash, a
# timeout) is a failure of the test even where a refusal is wanted.
refused() {
	pt "$@"
	[ $? -eq 1 ]
}

# --- email -----------------------------------------------------------------------
# A real SMTP server on 127.0.0.1 (tests/integration/smtp_server.py, aiosmtpd
# from Debian's python3-aiosmtpd, hence always /usr/bin/python3), the
# messages it stores, and pamtester driven through a FIFO so that a code can
# be typed once its mail has arrived.
SMTP_PYTHON=${SMTP_PYTHON:-/usr/bin/python3}
MAIL_TIMEOUT=${MAIL_TIMEOUT:-15}

require_aiosmtpd() {
	"$SMTP_PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
		tap_bail "$SMTP_PYTHON cannot import aiosmtpd (apt-get install python3-aiosmtpd)"
}

# make_cert NAME SAN: a self-signed certificate $T/NAME.pem with its key
# $T/NAME.key, valid for 2 days from now, e.g.
#     make_cert good IP:127.0.0.1
#     make_cert wrong DNS:wrong.example
make_cert() {
	local name=$1 san=$2
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 2 -subj "/CN=stepup-test-$name" -addext "subjectAltName=$san" \
		-keyout "$T/$name.key" -out "$T/$name.pem" >"$T/$name.openssl.out" 2>&1 ||
		tap_bail "openssl could not make a certificate: $(cat "$T/$name.openssl.out")"
	chmod 0600 "$T/$name.key"
	chmod 0644 "$T/$name.pem"
}

# start_smtp NAME [smtp_server.py arguments: --mode, --cert, --user, ...]:
# starts a server on a free port and waits (10 s at most) until it listens.
# Sets SMTP_PORT_NAME (the port), SMTP_DIR_NAME (its maildir, $T/mail/NAME)
# and SMTP_PID_NAME; it is stopped at exit.  NAME: letters, digits, _.
start_smtp() {
	local name=$1 dir pf pid i port
	shift
	[[ $name =~ ^[A-Za-z0-9_]+$ ]] || tap_bail "start_smtp: bad name '$name'"
	dir=$T/mail/$name
	pf=$T/smtp-$name.port
	mkdir -p "$dir"
	rm -f "$pf"
	"$SMTP_PYTHON" "$TOP_SRCDIR/tests/integration/smtp_server.py" \
		--port 0 --port-file "$pf" --maildir "$dir" "$@" \
		</dev/null >"$T/smtp-$name.out" 2>"$T/smtp-$name.err" &
	pid=$!
	add_cleanup _stop_smtp "$pid"
	SMTP_PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		[ -s "$pf" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	port=$(cat "$pf" 2>/dev/null)
	if ! [[ $port =~ ^[0-9]+$ ]]; then
		tap_diag "SMTP server '$name' ($*) did not start:" \
			"$(cat "$T/smtp-$name.err" 2>/dev/null)"
		return 1
	fi
	printf -v "SMTP_PORT_$name" '%s' "$port"
	printf -v "SMTP_DIR_$name" '%s' "$dir"
	printf -v "SMTP_PID_$name" '%s' "$pid"
}
SMTP_PIDS=()

# TERM, then KILL after 5 s; reaps the process.
_stop_smtp() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# smtp_servers_running: the pids started by start_smtp that are still alive.
smtp_servers_running() {
	local pid
	for pid in "${SMTP_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && echo "$pid"
	done
	return 0
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on (bound, then
# closed again).
free_port() {
	"$SMTP_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# mail_count DIR: how many messages DIR holds.
mail_count() {
	local f n=0
	for f in "$1"/*.eml; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

# mail_last DIR: the newest message (the highest number).
mail_last() {
	local f last=
	for f in "$1"/*.eml; do
		[ -e "$f" ] && last=$f
	done
	[ -n "$last" ] && echo "$last"
}

# wait_mail DIR COUNT [TIMEOUT [PID]]: wait until DIR holds COUNT messages or
# more; gives up after TIMEOUT seconds (default MAIL_TIMEOUT), or as soon as
# process PID (the sender) has gone without the mail arriving.
wait_mail() {
	local dir=$1 count=$2 timeout=${3:-$MAIL_TIMEOUT} pid=${4:-} end
	end=$(($(date +%s%N) + timeout * 1000000000))
	while :; do
		[ "$(mail_count "$dir")" -ge "$count" ] && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			# One more look: the message may have landed just now.
			[ "$(mail_count "$dir")" -ge "$count" ]
			return
		fi
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# mail_body FILE: the body, CRs removed.
mail_body() {
	sed -e '1,/^\r\{0,1\}$/d' -e 's/\r$//' "$1"
}

# mail_text FILE: the body as one line, blanks squeezed (for phrases that
# may be wrapped).
mail_text() {
	mail_body "$1" | tr -s ' \t\n' '   '
}

# mail_code FILE: the code, from "Your verification code is:" followed (on
# that line or the next non-blank one) by the digits.
mail_code() {
	mail_body "$1" | awk '
		found && NF { print $1; exit }
		/Your verification code is:/ {
			sub(/.*Your verification code is:[ \t]*/, "")
			if (NF) { print $1; exit }
			found = 1
		}'
}

# mail_header FILE NAME: the first NAME: header's value, unfolded; status 1
# if there is none.
mail_header() {
	awk -v want="$2" '
		{ sub(/\r$/, "") }
		/^$/ { exit }
		/^[ \t]/ { if (state == 1) { sub(/^[ \t]+/, " "); val = val $0 }; next }
		state == 1 { state = 2 }
		state == 0 {
			i = index($0, ":")
			if (i > 1 && tolower(substr($0, 1, i - 1)) == tolower(want)) {
				val = substr($0, i + 1)
				sub(/^[ \t]+/, "", val)
				state = 1
			}
		}
		END { if (state) print val; else exit 1 }' "$1"
}

# pt_email EPOCH|now SERVICE USER MAILDIR [ANSWER...]: pamtester authenticate
# (clock frozen at EPOCH, or the real clock for "now"), its stdin a FIFO fed
# one answer at a time:
#   @mail    wait for the next message in MAILDIR (it sets PT_MAIL, the file,
#            and PT_CODE, its code); if none arrives, stdin is closed
#   @code    the code of the last message
#   @wrong   a code of the same length that is not it
#   other    typed as it is ("" is pressing Enter)
# Without answers: @mail @code (an email-only user).  Output in $T/pt.out,
# exit status pamtester's (124 if it had to be killed).
PT_MAIL=
PT_CODE=
PT_PID=
pt_email() {
	local epoch=$1 svc=$2 user=$3 dir=$4 fifo=$T/pt.fifo n a rc
	shift 4
	[ $# -eq 0 ] && set -- @mail @code
	if [ -z "${_PT_EMAIL_CLEANUP:-}" ]; then
		_PT_EMAIL_CLEANUP=1
		add_cleanup _pt_email_reap
	fi
	PT_MAIL='' PT_CODE=''
	rm -f "$fifo"
	mkfifo -m 0600 "$fifo" || tap_bail "mkfifo $fifo failed"
	n=$(mail_count "$dir")
	if [ "$epoch" = now ]; then
		timeout -k 5 "${STEP_TIMEOUT:-60}" pamtester "$svc" "$user" authenticate \
			<"$fifo" >"$T/pt.out" 2>&1 &
	else
		at_time "$epoch" pamtester "$svc" "$user" authenticate \
			<"$fifo" >"$T/pt.out" 2>&1 &
	fi
	PT_PID=$!
	exec 7>"$fifo" # returns once pamtester's side is open
	for a in "$@"; do
		case $a in
		@mail)
			n=$((n + 1))
			if ! wait_mail "$dir" "$n" "$MAIL_TIMEOUT" "$PT_PID"; then
				echo "[pt_email: no message $n in $dir]" >>"$T/pt.out.note"
				break
			fi
			PT_MAIL=$(mail_last "$dir")
			PT_CODE=$(mail_code "$PT_MAIL")
			continue
			;;
		@code) a=$PT_CODE ;;
		@wrong) a=$(wrong_code "$PT_CODE") ;;
		esac
		# In a subshell: if pamtester has gone, SIGPIPE ends only that.
		(printf '%s\n' "$a" >&7) 2>/dev/null || break
	done
	exec 7>&-
	wait "$PT_PID"
	rc=$?
	PT_PID=
	rm -f "$fifo"
	{
		echo "--- pamtester $svc $user at @$epoch via FIFO: exit $rc"
		cat "$T/pt.out"
		if [ -e "$T/pt.out.note" ]; then
			cat "$T/pt.out.note"
			rm -f "$T/pt.out.note"
		fi
	} | tap_log
	return "$rc"
}

_pt_email_reap() {
	exec 7>&-
	if [ -n "${PT_PID:-}" ]; then
		kill "$PT_PID" 2>/dev/null
		wait "$PT_PID" 2>/dev/null
	fi
	rm -f "$T/pt.fifo"
	return 0
}

# wrong_code CODE: same length, every digit different.
wrong_code() {
	echo "$1" | tr 0123456789 1234567890
}

# A refusal through pt_email (exit 1, not a crash or a timeout).
refused_email() {
	pt_email "$@"
	[ $? -eq 1 ]
}
