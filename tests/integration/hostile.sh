#!/bin/bash
# A hostile caller: the rules at the top of src/statefile.c, each tried the
# way a user with a normal account would, against the real module through
# pamtester, real sudo -S and real su.
#
#  - a file size limit (1, 40, 100, 4096 bytes) with SIGXFSZ ignored: every
#    wrong code is still counted, the lock holds, the right code is then
#    refused (rule 2), through pamtester, sudo and su;
#  - a right and a wrong code write the state the same way: one pwrite of
#    one slot, one fdatasync, no fsync, no rename (strace; rule 2);
#  - 200 attempts SIGKILLed at random instants: every refusal the caller saw
#    was counted, every success it saw was recorded, the state always
#    parses (rule 3);
#  - RLIMIT_NOFILE 3 and 10, and tight RLIMIT_AS: fails closed, and what was
#    judged was counted (rules 1 and 4);
#  - a lock holder the user stopped: the module's log line and stepupctl
#    unlock name it (pid, command, stopped, for how long) and say how to end
#    it; once it is killed, unlock works.
# Users, the sudoers drop-in, services and /etc/pam.d/su are restored on
# every exit path.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program pamtester oathtool prlimit sudo su setpriv useradd groupadd visudo strace python3 unshare
own_visible_session "$0" "$@"
WRITER=$TOP_BUILDDIR/tests/helpers/state_writer
[ -x "$WRITER" ] || tap_bail "no $WRITER (make check builds it)"

ID=$$
SVC=stepup-hostile-$ID
SUDO_SVC=stepup-hsudo-$ID
SUDOERS=/etc/sudoers.d/stepup-hostile-$ID
G=stepuphg$ID
USERS=()
LIMITS=(1 40 100 4096)

cleanup() {
	local u
	rm -f "$SUDOERS" "/etc/pam.d/$SVC" "/etc/pam.d/$SUDO_SVC" "/etc/pam.d/$SVC-count"
	for u in "${USERS[@]}"; do userdel "$u" 2>/dev/null; done
	groupdel "$G" 2>/dev/null
}

tap_plan 20
# sudo_plugin.sh rewrites /etc/sudo.conf for its run (a plugin whose test
# rules may ask for every command): not while this test runs sudo.
exec {SUDO_CONF_LOCK}>>/run/pam-test-sudo-conf.lock
flock -w 600 "$SUDO_CONF_LOCK" || tap_bail "the sudo.conf lock is held too long"
install_traps
add_cleanup cleanup
make_tree hostile "methods = totp" "lockout_attempts = 3" "lockout_time = 600" "tries = 1"
# Attempts that never lock, so that every counted failure can be seen.
COUNT_CONF=$T/count.conf
write_conf "$COUNT_CONF" "methods = totp, recovery" "lockout_attempts = 0" "tries = 1"
STATE=$T/var/lib/stepup/state
LOG=$T/syslog.txt
log_receiver "$LOG"

stack() { printf 'auth required %s config=%s\naccount required pam_permit.so\nsession required pam_permit.so\n' "$STEPUP_MODULE" "$1"; }
stack "$CONF" >"/etc/pam.d/$SVC"
stack "$CONF" >"/etc/pam.d/$SUDO_SVC"
stack "$COUNT_CONF" >"/etc/pam.d/$SVC-count"
groupadd "$G" || tap_bail "groupadd failed"

new_user() { # NAME: an account known to NSS, enrolled with its own secret
	useradd -M -g "$G" -s /bin/sh "$1" || tap_bail "useradd $1 failed"
	USERS+=("$1")
	enroll "$1" "$(secret_for "$1")" || tap_bail "enroll $1 failed"
}
wrong_at() { printf '%06d' $(((10#$(code_at "$1" "$(secret_for "$2")") + 500000) % 1000000)); }
status_of() { "$STEPUPCTL" -c "$CONF" status "$1" 2>&1; }
value_of() { # USER KEY: the key's value in the user's current state
	state_text "$STATE/$1" 2>/dev/null | sed -n "s/^$2=//p"
}

# The file size limits are set by the caller (prlimit, which a user may
# run) and survive exec into a setuid program, with SIGXFSZ ignored. Two
# kinds each: a soft limit under an unlimited hard one (the module raises
# the soft limit: every answer is judged and counted), and both limits
# (lifted where the module has CAP_SYS_RESOURCE, as sudo and su have on a
# host; a container's bounding set may lack it, and then every answer is
# refused as unavailable before it is judged). Either way the right code
# after five wrong ones is refused. Output goes through a pipe, which no
# file size limit cuts.
#
# run_limited HOW LIMIT USER ANSWER: one call; output in $T/out.
run_limited() {
	local how=$1 limit=$2 user=$3 answer=$4 rc
	case $how in
	pamtester)
		printf '%s\n' "$answer" | at_time "$T0" bash -c 'trap "" XFSZ; exec prlimit --fsize="$0" "$@"' \
			"$limit" pamtester "$SVC" "$user" authenticate 2>&1 | cat >"$T/out"
		rc=${PIPESTATUS[1]} ;;
	sudo | su)
		local cmd=(sudo -S true)
		[ "$how" = su ] && cmd=(su "$TARGET" -c true)
		printf '%s\n' "$answer" | timeout -k 5 60 setpriv --reuid="$user" --regid="$G" --init-groups \
			bash -c 'trap "" XFSZ; exec prlimit --fsize="$0" "$@"' "$limit" "${cmd[@]}" 2>&1 | cat >"$T/out"
		rc=${PIPESTATUS[1]} ;;
	esac
	return "$rc"
}
# fsize_case HOW LIMIT: both kinds of limit, a fresh user each
fsize_case() {
	local how=$1 limit=$2 kind u now rc st failures ok=0
	for kind in soft both; do
		case $how in pamtester) u=hpt ;; sudo) u=hsd ;; su) u=hsu ;; esac
		u=$u$kind$limit$ID
		new_user "$u"
		for _ in 1 2 3 4 5; do
			now=$T0; [ "$how" = pamtester ] || now=$(date +%s)
			run_limited "$how" "$([ $kind = soft ] && echo "$limit:unlimited" || echo "$limit")" "$u" "$(wrong_at "$now" "$u")"
		done
		now=$T0; [ "$how" = pamtester ] || now=$(date +%s)
		run_limited "$how" "$([ $kind = soft ] && echo "$limit:unlimited" || echo "$limit")" "$u" \
			"$(code_at "$now" "$(secret_for "$u")")"
		rc=$?
		st=$(status_of "$u")
		failures=$(value_of "$u" fail_count)
		{ echo "$how, fsize=$limit ($kind): the right code after 5 wrong ones: exit $rc"; cat "$T/out"; echo "$st"; } | tap_log
		[ "$rc" != 0 ] || ok=1
		if [[ $st == *"locked out until"* ]]; then
			# judged and counted: exactly lockout_attempts, then the lock
			[ "$failures" = 3 ] || ok=1
		else
			# never judged: nothing counted (sudo does not show the
			# module's "unavailable"; pamtester does)
			[ $kind = both ] && [ "${failures:-0}" = 0 ] || ok=1
			[ "$how" != pamtester ] || grep -q "unavailable" "$T/out" || ok=1
		fi
	done
	return $ok
}

# --- 1-4: pamtester -------------------------------------------------------------
T0=$(mid_step "$(date +%s)")
for limit in "${LIMITS[@]}"; do
	tap_check "pamtester, RLIMIT_FSIZE=$limit, SIGXFSZ ignored: every wrong code counted (locked after 3) or none judged; the right code refused" \
		fsize_case pamtester "$limit"
done

# --- 5-8: real sudo -S ----------------------------------------------------------------
{
	for limit in "${LIMITS[@]}"; do
		for kind in soft both; do
			echo "Defaults:hsd$kind$limit$ID timestamp_timeout=0, passwd_tries=1, !lecture, pam_service=$SUDO_SVC"
			echo "hsd$kind$limit$ID ALL=(ALL) ALL"
		done
	done
} >"$T/sudoers"
visudo -cqf "$T/sudoers" || tap_bail "the sudoers drop-in does not parse"
install -m 0440 "$T/sudoers" "$SUDOERS"
for limit in "${LIMITS[@]}"; do
	tap_check "sudo -S, RLIMIT_FSIZE=$limit, SIGXFSZ ignored: every wrong code counted (locked after 3) or none judged; the right code refused" \
		fsize_case sudo "$limit"
done

# --- 9-12: real su, identity=ruser ------------------------------------------------------
take_su_stack 'auth required %s config=%s identity=ruser\naccount required pam_permit.so\nsession required pam_permit.so\n' \
	"$STEPUP_MODULE" "$CONF"
TARGET=hsut$ID
new_user "$TARGET"
for limit in "${LIMITS[@]}"; do
	tap_check "su, RLIMIT_FSIZE=$limit, SIGXFSZ ignored: every wrong code counted (locked after 3) or none judged; the right code refused" \
		fsize_case su "$limit"
done
give_back_su_stack

# --- 13: the write has one shape whatever the outcome -----------------------------------
# The syscalls that touch the disk, with their sizes and offsets, from the
# same state: a right code, then (the state put back) a wrong one.
U=hshape$ID
new_user "$U"
at_time "$T0" pamtester "$SVC-count" "$U" authenticate <<<"$(wrong_at "$T0" "$U")" >/dev/null 2>&1
cp -p "$STATE/$U" "$T/shape.state"
traced() { # EPOCH ANSWER OUT: the disk syscalls of one call
	printf '%s\n' "$2" >"$T/pt.in"
	strace -f -qq -e trace=pwrite64,write,fdatasync,fsync,rename,renameat,renameat2 \
		-o "$T/strace.raw" env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_FMT=%s FAKETIME="$1" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 pamtester "$SVC-count" "$U" authenticate <"$T/pt.in" >/dev/null 2>&1
	# the file syscalls (not the terminal's writes), fds and buffers left out
	sed -E -n 's/^[0-9]+ +//; /^(pwrite64|fdatasync|fsync|rename)/{s/\(([0-9]+), "[^"]*"(\.\.\.)?,/(FD, BUF,/; s/\([0-9]+\)/(FD)/; p}' \
		"$T/strace.raw" >"$3"
}
E=$((T0 + 60))
traced "$E" "$(code_at "$E" "$(secret_for "$U")")" "$T/right.sys"
right_rc=$(grep -c . "$T/right.sys")
cp -p "$T/shape.state" "$STATE/$U"
traced "$E" "$(wrong_at "$E" "$U")" "$T/wrong.sys"
{ echo "right code:"; cat "$T/right.sys"; echo "wrong code:"; cat "$T/wrong.sys"; } | tap_diag_stream
right_wrong_code_write_same_one() {
	[ "$right_rc" = 2 ] && cmp -s "$T/right.sys" "$T/wrong.sys" &&
		grep -qE '^pwrite64\(FD, BUF, 8192, (0|8192)\) += 8192$' "$T/right.sys" &&
		grep -qx 'fdatasync(FD) *= 0' "$T/right.sys"
}
tap_check "a right and a wrong code write the same: one pwrite of 8192 bytes at the same offset, one fdatasync, no fsync or rename" \
	right_wrong_code_write_same_one

# --- 14: the work up to the write is the same whatever the outcome -------------------------
# Every file syscall from the answer read to the flush, for a right and a
# wrong recovery code (the record is read again whether or not a code
# matched) and a right and a wrong TOTP code, from the same state.
"$STEPUPCTL" -c "$COUNT_CONF" recovery "$U" --count 3 >"$T/codes.out" 2>&1
mapfile -t RC < <(grep -oE '[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}' "$T/codes.out")
cp -p "$STATE/$U" "$T/shape.state"
file_calls() { # EPOCH ANSWER OUT
	printf '%s\n' "$2" >"$T/pt.in"
	strace -f -qq -e trace=read,openat,pread64,pwrite64,fdatasync,fsync,flock,fstat,newfstatat,close \
		-o "$T/strace.raw" env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_FMT=%s FAKETIME="$1" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 pamtester "$SVC-count" "$U" authenticate <"$T/pt.in" >/dev/null 2>&1
	"$TEST_PYTHON" - "$T/strace.raw" >"$3" <<'PY'
import re, sys
on = False
for line in open(sys.argv[1]):
    line = re.sub(r"^\d+ +", "", line.strip())
    if re.match(r"read\(0,", line):
        on = True
        continue
    if not on:
        continue
    name = line.split("(", 1)[0]
    path = re.search(r'"(/[^"]*)"', line)
    size = re.search(r", (\d+)(, \d+)?\) += -?\d+", line)
    print(name, path.group(1) if path and name in ("openat", "newfstatat") else "",
          size.group(1) if size and name in ("pread64", "pwrite64") else "")
    if name == "fdatasync":
        break
PY
}
E=$((T0 + 90))
file_calls "$E" "${RC[0]}" "$T/rright.sys"
cp -p "$T/shape.state" "$STATE/$U"
# Wrong but of the right shape: every character moved one place along
# Crockford's alphabet (src/recovery.c), which has no i, l, o or u. (A
# plain shift of 0-9a-z made a code with one of those half the time: not
# a recovery code at all, so no method read the record, and the files
# differed for a reason that says nothing about the judgement.)
file_calls "$E" "$(echo "${RC[0]}" | tr '0123456789abcdefghjkmnpqrstvwxyz' '123456789abcdefghjkmnpqrstvwxyz0')" "$T/rwrong.sys"
cp -p "$T/shape.state" "$STATE/$U"
file_calls "$E" "$(code_at "$E" "$(secret_for "$U")")" "$T/tright.sys"
cp -p "$T/shape.state" "$STATE/$U"
file_calls "$E" "$(wrong_at "$E" "$U")" "$T/twrong.sys"
{
	for f in rright rwrong tright twrong; do echo "$f:"; cat "$T/$f.sys"; done
} | tap_diag_stream
if [ -s "$T/rright.sys" ] && grep -q '^fdatasync' "$T/rright.sys" &&
	cmp -s "$T/rright.sys" "$T/rwrong.sys" && cmp -s "$T/tright.sys" "$T/twrong.sys"; then
	tap_ok "from the answer to the flush, a right and a wrong recovery code (and TOTP code) make the same file syscalls (the record is read either way)"
else
	tap_not_ok "from the answer to the flush, a right and a wrong recovery code (and TOTP code) make the same file syscalls (the record is read either way)"
fi

# --- 15: SIGKILL at random instants ---------------------------------------------------------
# Each attempt is killed at a random instant within a window that follows
# how long an attempt takes right now: it widens after a round the kill
# cut short and narrows after one that ended, so about half the attempts
# end and half are cut wherever they are, on a quiet machine or one
# loaded by the tests beside this one. (A fixed 0-240 ms window suits one
# speed: where an attempt takes a few ms, almost none was cut; where the
# tests beside it slow it past 240 ms, almost none ended.)
U=hkill$ID
new_user "$U"
SK=$(secret_for "$U")
revealed_fail=0 revealed_ok=0 uncounted=0 unrecorded=0 bad_state=0 cut=0
window_ms=200
before=$(value_of "$U" fail_count)
for r in $(seq 1 200); do
	e=$((T0 + 30 * r))
	if [ $((r % 10)) = 0 ]; then answer=$(code_at "$e" "$SK"); else answer=$(wrong_at "$e" "$U"); fi
	printf '%s\n' "$answer" >"$T/k.in"
	env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_FMT=%s FAKETIME="$e" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		pamtester "$SVC-count" "$U" authenticate <"$T/k.in" >"$T/k.out" 2>&1 &
	pid=$!
	delay=$((RANDOM % window_ms))
	sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# the state as it is now, read once: it must parse, and hold what
	# the caller saw (a refusal one more failure than before, a success
	# its step)
	: >"$T/k.state"
	if [ -e "$STATE/$U" ] && { ! state_text "$STATE/$U" >"$T/k.state" 2>/dev/null ||
		[ "$(head -1 "$T/k.state")" != version=1 ] ||
		! "$STEPUPCTL" -c "$COUNT_CONF" status "$U" >/dev/null 2>&1; }; then
		bad_state=$((bad_state + 1)); tap_diag "round $r: the state does not parse"
	fi
	after=$(sed -n 's/^fail_count=//p' "$T/k.state")
	ended=0
	if grep -q "Invalid verification code" "$T/k.out"; then
		ended=1 revealed_fail=$((revealed_fail + 1))
		[ "${after:-0}" = $((${before:-0} + 1)) ] ||
			{ uncounted=$((uncounted + 1)); tap_diag "round $r: a refusal seen, fail_count ${before:-0} -> ${after:-0}"; }
	fi
	if grep -q "successfully authenticated" "$T/k.out"; then
		ended=1 revealed_ok=$((revealed_ok + 1))
		last=$(sed -n 's/^totp_last_time=//p' "$T/k.state")
		[ "${last:-0}" -ge $((e - e % 30)) ] || { unrecorded=$((unrecorded + 1)); tap_diag "round $r: a success not recorded"; }
	fi
	if [ "$ended" = 1 ]; then
		window_ms=$((window_ms * 9 / 10 > 1 ? window_ms * 9 / 10 : 1))
	else
		cut=$((cut + 1)) window_ms=$((window_ms * 11 / 10 + 1 < 20000 ? window_ms * 11 / 10 + 1 : 20000))
	fi
	before=$after
done
tap_diag "200 attempts, $cut cut short by the kill; refusals seen $revealed_fail ($uncounted not counted), successes seen $revealed_ok ($unrecorded not recorded); last window $window_ms ms"
sigkilled_attempts_counted_and_recorded() {
	[ "$uncounted" = 0 ] && [ "$unrecorded" = 0 ] && [ "$bad_state" = 0 ] &&
		[ "$cut" -ge 20 ] && [ "$revealed_fail" -ge 5 ]
}
tap_check "200 attempts SIGKILLed at random instants: every refusal seen was counted, every success seen recorded, the state always parses" \
	sigkilled_attempts_counted_and_recorded

# --- 16-18: descriptor and memory limits ------------------------------------------------------
# judged_and_counted LIMIT-OPTION: a wrong code then a right one under the
# limit; whatever the module manages, a refusal it shows was counted and a
# success it reports was recorded.
judged_and_counted() {
	local opt=$1 u=$2 e=$3 before after ok=0
	before=$(value_of "$u" fail_count)
	printf '%s\n' "$(wrong_at "$e" "$u")" >"$T/pt.in"
	at_time "$e" prlimit "$opt" pamtester "$SVC-count" "$u" authenticate <"$T/pt.in" >"$T/l.out" 2>&1
	after=$(value_of "$u" fail_count)
	if grep -q "Invalid verification code" "$T/l.out" && [ "${after:-0}" -le "${before:-0}" ]; then
		tap_diag "$opt: a refusal shown but not counted ($before -> $after)"; ok=1
	fi
	printf '%s\n' "$(code_at "$e" "$(secret_for "$u")")" >"$T/pt.in"
	at_time "$e" prlimit "$opt" pamtester "$SVC-count" "$u" authenticate <"$T/pt.in" >>"$T/l.out" 2>&1
	if grep -q "successfully authenticated" "$T/l.out" && [ "$(value_of "$u" totp_last_time)" != $((e - e % 30)) ]; then
		tap_diag "$opt: a success not recorded"; ok=1
	fi
	tap_diag_stream <"$T/l.out"
	return $ok
}
U=hlimit$ID
new_user "$U"
for n in 3 10; do
	tap_check "RLIMIT_NOFILE=$n: fails closed; a refusal shown was counted, a success shown recorded" \
		judged_and_counted "--nofile=$n" "$U" $((T0 + 30 * (300 + n)))
done
as_ok=0
for mb in 8 16 24 32 48 64 96 128; do
	judged_and_counted "--as=$((mb * 1024 * 1024))" "$U" $((T0 + 30 * (400 + mb))) || as_ok=1
done
tap_check "RLIMIT_AS from 8 to 128 MiB: a refusal shown was counted, a success shown recorded" \
	[ "$as_ok" = 0 ]

# --- 19-20: a stopped lock holder names itself --------------------------------------------------
U=hstop$ID
new_user "$U"
# run through a symlink whose name (the process's command name, the
# caller's choice) carries a terminal escape: shown as '?', never raw
EVIL=$T/evil$(printf '\033')[2J
ln -s "$WRITER" "$EVIL"
"$EVIL" "$CONF" "$U" --hold >"$T/hold.out" 2>&1 &
HOLDER=$!
add_cleanup "kill -KILL $HOLDER 2>/dev/null"
for _ in $(seq 300); do [ "$(awk '{print $3}' "/proc/$HOLDER/stat" 2>/dev/null)" = T ] && break; sleep 0.1; done
printf '%s\n' "$(code_at "$T0" "$(secret_for "$U")")" >"$T/pt.in"
"${IN_NS[@]}" env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_FMT=%s FAKETIME="$T0" FAKETIME_DONT_FAKE_MONOTONIC=1 \
	pamtester "$SVC" "$U" authenticate <"$T/pt.in" >"$T/pt.out" 2>&1
rc=$?
sleep 0.2
tap_diag_stream <"$T/pt.out"
grep -F "$U" "$LOG" | tap_diag_stream
stopped_lock_holder_step_up() {
	[ "$rc" = 1 ] && grep -q "unavailable" "$T/pt.out" &&
		grep -qE "lock is held too long by process $HOLDER \(evil\?\[2J\), stopped, started [0-9]{1,2} s ago; .*kill -KILL $HOLDER" "$LOG" &&
		! grep -q "$(printf '\033')" "$LOG"
}
tap_check "a stopped lock holder: the step-up is refused, and the log names it (pid, command escaped, stopped, since when) and how to end it" \
	stopped_lock_holder_step_up
"$STEPUPCTL" -c "$CONF" unlock "$U" >"$T/unlock.out" 2>&1
rc=$?
tap_diag_stream <"$T/unlock.out"
kill -KILL "$HOLDER"
wait "$HOLDER" 2>/dev/null
"$STEPUPCTL" -c "$CONF" unlock "$U" >"$T/unlock2.out" 2>&1
rc2=$?
tap_diag_stream <"$T/unlock2.out"
stepupctl_unlock_names_stopped() {
	[ "$rc" != 0 ] && grep -qE "process $HOLDER \(evil\?\[2J\), stopped.*kill -KILL $HOLDER" "$T/unlock.out" &&
		! grep -q "$(printf '\033')" "$T/unlock.out" && [ "$rc2" = 0 ]
}
tap_check "stepupctl unlock names the stopped holder and says to kill it; once killed, unlock works" \
	stepupctl_unlock_names_stopped
[ "$(sha256sum </etc/pam.d/su)" = "$SU_SUM" ] || tap_diag "/etc/pam.d/su differs from the original"
