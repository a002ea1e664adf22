#!/bin/bash
# The installed module through the system's libpam and pamtester, with
# temporary service files in /etc/pam.d that are removed on every exit path.
# Codes come from oathtool; the clock is frozen with libfaketime around each
# pamtester run, except under valgrind, which uses the real clock.
set -u

. "$TOP_SRCDIR/tests/lib.sh"

require_root
require_env
require_program pamtester oathtool valgrind timeout mkfifo

PAMD=/etc/pam.d
SERVICE=stepup-test-$$
SERVICE_FILES=()
ROUNDS=${STEPUP_RACE_ROUNDS:-20}

# install_service SUFFIX MODULE-ARGS...: /etc/pam.d/stepup-test-PID[-SUFFIX].
# The cleanup is registered before the file exists.
install_service() {
	local name=$SERVICE${1:+-$1}
	shift
	SERVICE_FILES+=("$PAMD/$name")
	add_cleanup rm -f "'$PAMD/$name'"
	render_service stepup "$PAMD/$name" "$@"
}

# Runs from the EXIT trap, after the cleanups: the last TAP line.
check_services_gone() {
	local f left=()
	for f in "${SERVICE_FILES[@]}" "$PAMD/$SERVICE-term" "$PAMD/$SERVICE-fail"; do
		[ -e "$f" ] && left+=("$f")
	done
	if [ ${#left[@]} -eq 0 ]; then
		tap_ok "service files removed on exit (${#SERVICE_FILES[@]} files)"
	else
		tap_not_ok "service files removed on exit: left ${left[*]}"
		rm -f -- "${left[@]}"
	fi
}

tap_plan 12
install_traps check_services_gone
make_tree pamtester
write_conf "$T/stepup-w0.conf" "totp_window = 0"
install_service "" "config=$CONF"
install_service w0 "config=$T/stepup-w0.conf"
install_service deny "config=$CONF missing=deny"
install_service allow "config=$CONF missing=allow"
install_service delay "config=$CONF fail_delay=1"

T0=$(mid_step 1700000000)

# --- 1. the right code ---------------------------------------------------------------
S=$(secret_for alice)
enroll alice "$S" || tap_bail "stepupctl enroll failed: $(cat "$T/enroll.alice.out")"
right_code_accepted() {
	pt "$T0" "$SERVICE" alice "$(code_at "$T0" "$S")" &&
		grep -q "Step-up authentication required for $SERVICE\." "$T/pt.out"
}
tap_check "right code accepted" right_code_accepted

# --- 2. a wrong code -----------------------------------------------------------------
S=$(secret_for bob)
enroll bob "$S"
wrong=$(code_at "$T0" "$S")
wrong=$(printf '%06d' $(((10#$wrong + 500000) % 1000000)))
for e in $((T0 - 30)) $((T0 + 30)); do
	[ "$wrong" = "$(code_at "$e" "$S")" ] && wrong=$(printf '%06d' $(((10#$wrong + 1) % 1000000)))
done
wrong_code_refused() {
	refused "$T0" "$SERVICE" bob "$wrong" "$wrong" "$wrong" &&
		grep -q "Invalid verification code\." "$T/pt.out"
}
tap_check "wrong code refused" wrong_code_refused

# --- 2b. a failed step-up is followed by fail_delay ----------------------------------
# libpam sleeps after a failure for the delay the module asked for, randomised
# by it; 1 s asked must cost well over 0.4 s. (A lower bound on a security
# property, not a speed target.)
S=$(secret_for dave)
enroll dave "$S"
start=$(date +%s%N)
refused "$T0" "$SERVICE-delay" dave "$wrong" "$wrong" "$wrong"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
tap_check --not-ok "fail_delay=1: a failed step-up took only ${elapsed_ms} ms" \
	"fail_delay=1: a failed step-up took ${elapsed_ms} ms" \
	[ "$elapsed_ms" -ge 400 ]

# --- 3. the same code twice ------------------------------------------------------------
S=$(secret_for carol)
enroll carol "$S"
code=$(code_at "$T0" "$S")
if ! pt "$T0" "$SERVICE" carol "$code"; then
	tap_not_ok "same code twice: first use not accepted"
elif refused "$T0" "$SERVICE" carol "$code" "$code" "$code" &&
	grep -q "That code has already been used\. Wait for the next one\." "$T/pt.out"; then
	tap_ok "same code twice: accepted once, then refused"
else
	tap_not_ok "same code twice: second use not refused"
fi

# --- 4, 5. the window ------------------------------------------------------------------
S=$(secret_for dave)
enroll dave "$S"
tap_check "totp_window 1 accepts the previous step" \
	pt "$T0" "$SERVICE" dave "$(code_at $((T0 - 30)) "$S")"

S=$(secret_for erin)
enroll erin "$S"
prev=$(code_at $((T0 - 30)) "$S")
if ! refused "$T0" "$SERVICE-w0" erin "$prev" "$prev" "$prev"; then
	tap_not_ok "totp_window 0 refuses the previous step"
elif ! pt "$T0" "$SERVICE-w0" erin "$(code_at "$T0" "$S")"; then
	tap_not_ok "totp_window 0 refuses the previous step (but the current one failed too)"
else
	tap_ok "totp_window 0 refuses the previous step, accepts the current one"
fi

# --- 6, 7. not enrolled ------------------------------------------------------------------
not_enrolled_missing_deny() {
	refused "$T0" "$SERVICE-deny" ghost "123456" &&
		grep -q "is not enrolled" "$T/pt.out" &&
		grep -q "stepupctl enroll ghost totp" "$T/pt.out" &&
		! grep -q "Verification code" "$T/pt.out"
}
tap_check "not enrolled, missing=deny: refused without a prompt" not_enrolled_missing_deny
not_enrolled_missing_allow() { pt "$T0" "$SERVICE-allow" ghost "" && ! grep -q "Verification code" "$T/pt.out"; }
tap_check "not enrolled, missing=allow: allowed without a prompt" not_enrolled_missing_allow

# --- 8. two concurrent attempts with the same fresh code ----------------------------------
# Both pamtester processes start, load everything and wait at the prompt on a
# FIFO; then both get the code at (nearly) the same moment.  Each round moves
# the frozen clock on by one step, so every round's code is fresh.
race_round() { # EPOCH CODE: sets RC1 RC2
	local epoch=$1 code=$2 p1 p2
	rm -f "$T/race1" "$T/race2"
	mkfifo -m 0600 "$T/race1" "$T/race2"
	at_time "$epoch" pamtester "$SERVICE" frank authenticate <"$T/race1" >"$T/race1.out" 2>&1 &
	p1=$!
	at_time "$epoch" pamtester "$SERVICE" frank authenticate <"$T/race2" >"$T/race2.out" 2>&1 &
	p2=$!
	exec 3>"$T/race1" 4>"$T/race2"
	sleep 0.2
	printf '%s\n' "$code" >&3
	printf '%s\n' "$code" >&4
	exec 3>&- 4>&-
	wait "$p1"
	RC1=$?
	wait "$p2"
	RC2=$?
}

S=$(secret_for frank)
enroll frank "$S"
both=0 none=0 odd=0
for ((r = 0; r < ROUNDS; r++)); do
	e=$((T0 + 3600 + 30 * r))
	race_round "$e" "$(code_at "$e" "$S")"
	if [ "$RC1" -gt 1 ] || [ "$RC2" -gt 1 ]; then
		odd=$((odd + 1))
	elif [ "$RC1" -eq 0 ] && [ "$RC2" -eq 0 ]; then
		both=$((both + 1))
	elif [ "$RC1" -ne 0 ] && [ "$RC2" -ne 0 ]; then
		none=$((none + 1))
	else
		continue
	fi
	tap_diag "race round $r at @$e: exits $RC1 $RC2" \
		"$(cat "$T/race1.out")" "---" "$(cat "$T/race2.out")"
done
bad=$((both + none + odd))
desc="concurrent attempts: $ROUNDS rounds, $bad failed ($both with two successes, $none with none, $odd crashed or hung)"
if [ "$bad" -eq 0 ]; then tap_ok "$desc"; else tap_not_ok "$desc"; fi

# --- 9. valgrind, real clock ----------------------------------------------------------------
S=$(secret_for vic)
enroll vic "$S"
now=$(date +%s)
if [ $((30 - now % 30)) -le 3 ]; then
	sleep $((30 - now % 30 + 1))
fi
code=$(oathtool --totp -b "$S")
timeout -k 5 300 valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite \
	pamtester "$SERVICE" vic authenticate <<<"$code" >"$T/valgrind.out" 2>&1
rc=$?
tap_diag "--- valgrind pamtester $SERVICE vic: exit $rc"
tap_diag_stream <"$T/valgrind.out"
case $rc in
0) tap_ok "valgrind: right code accepted, no errors, no definite leaks" ;;
99) tap_not_ok "valgrind: errors or definite leaks (see log)" ;;
*) tap_not_ok "valgrind: pamtester exited $rc" ;;
esac

# --- 10. the trap removes a service file when the script dies ----------------------------------
# A child shell with the same traps installs a file, then is killed by TERM;
# another one fails with an error exit.
# shellcheck disable=SC2016 # expanded by the child shell
child='. "$TOP_SRCDIR/tests/lib.sh"; install_traps; f=$1
add_cleanup rm -f "$f"; echo "auth required pam_deny.so" >"$f"; '
bash -c "$child"' kill -TERM $$; sleep 10' child "$PAMD/$SERVICE-term" >/dev/null 2>&1
rc_term=$?
bash -c "$child"' false || exit 3' child "$PAMD/$SERVICE-fail" >/dev/null 2>&1
rc_fail=$?
cleanup_trap_removes_service() {
	[ ! -e "$PAMD/$SERVICE-term" ] && [ ! -e "$PAMD/$SERVICE-fail" ] &&
		[ "$rc_term" -eq 143 ] && [ "$rc_fail" -eq 3 ]
}
tap_check --not-ok "cleanup trap removes a service file on TERM ($rc_term) and on a failing exit ($rc_fail)" \
	"cleanup trap removes a service file on TERM and on a failing exit" \
	cleanup_trap_removes_service

# 11: check_services_gone, from the EXIT trap.
