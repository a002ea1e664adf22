#!/bin/bash
# Concurrency through a real PAM stack: 16 pamtester processes at once,
# over and over.
#  - the same valid TOTP code, 50 rounds: exactly one success per round;
#  - wrong codes: the failure tally grows by exactly the number of
#    attempts (no lost update);
#  - one recovery code raced by 16 attempts, 10 rounds: exactly one success.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program pamtester oathtool

PAR=${CONCURRENCY:-16}
ROUNDS=${CONCURRENCY_ROUNDS:-50}
SVC=stepup-conc-$$
tap_plan 3
install_traps
make_tree concurrency "methods = totp, recovery" "tries = 1" "lockout_attempts = 0"
printf 'auth required %s config=%s\n' "$STEPUP_MODULE" "$CONF" >"/etc/pam.d/$SVC"
add_cleanup rm -f "/etc/pam.d/$SVC"
T0=$(mid_step "$(date +%s)")

# race EPOCH USER ANSWER: PAR pamtesters at once; prints how many succeeded
race() {
	local epoch=$1 user=$2 answer=$3 i ok=0 pids=()
	printf '%s\n' "$answer" >"$T/race.in"
	for i in $(seq 1 "$PAR"); do
		at_time "$epoch" pamtester "$SVC" "$user" authenticate <"$T/race.in" \
			>"$T/race.$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" && ok=$((ok + 1))
	done
	# what each attempt was told, for the log when a round goes wrong
	[ "$ok" = 1 ] || cat "$T"/race.*.out | sort | uniq -c | tap_diag_stream
	echo "$ok"
}

# 1: one code, 16 at once, 50 rounds (a new time step each round)
U=concu$$
SU=$(secret_for "$U")
enroll "$U" "$SU" || tap_bail "enroll failed"
bad_rounds=0
for r in $(seq 0 $((ROUNDS - 1))); do
	e=$((T0 + 30 * r))
	n=$(race "$e" "$U" "$(code_at "$e" "$SU")")
	if [ "$n" != 1 ]; then
		bad_rounds=$((bad_rounds + 1))
		tap_diag "round $r: $n successes"
	fi
done
tap_check --not-ok "$PAR concurrent step-ups with one valid TOTP code, $ROUNDS rounds: $bad_rounds rounds without exactly one success" \
	"$PAR concurrent step-ups with one valid TOTP code, $ROUNDS rounds: exactly one success each" \
	[ "$bad_rounds" = 0 ]

# 2: wrong codes at once: every failure counted
W=concw$$
SW=$(secret_for "$W")
enroll "$W" "$SW" || tap_bail "enroll failed"
WR=5
for r in $(seq 0 $((WR - 1))); do
	e=$((T0 + 30 * r))
	bad=$(printf '%06d' $(((10#$(code_at "$e" "$SW") + 500000) % 1000000)))
	race "$e" "$W" "$bad" >/dev/null
done
tally=$(state_text "$T/var/lib/stepup/state/$W" | sed -n 's/^fail_count=//p')
tap_diag "fail_count after $((WR * PAR)) concurrent wrong codes: $tally"
tap_check --not-ok "$((WR * PAR)) wrong codes in rounds of $PAR at once: the tally is ${tally:-missing}" \
	"$((WR * PAR)) wrong codes in rounds of $PAR at once: the tally is exactly $((WR * PAR))" \
	[ "$tally" = $((WR * PAR)) ]

# 3: one recovery code raced by 16 attempts, for each of 10 codes
R=concr$$
enroll "$R" "$(secret_for "$R")" || tap_bail "enroll failed"
"$STEPUPCTL" -c "$CONF" recovery "$R" >"$T/codes.out" 2>&1 || tap_bail "recovery failed"
mapfile -t CODES < <(grep -oE '[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}' "$T/codes.out")
bad_rounds=0
for i in "${!CODES[@]}"; do
	n=$(race $((T0 + i)) "$R" "${CODES[$i]}")
	if [ "$n" != 1 ]; then
		bad_rounds=$((bad_rounds + 1))
		tap_diag "recovery code $((i + 1)): $n successes"
	fi
done
each_10_recovery_codes_raced() {
	[ "${#CODES[@]}" = 10 ] && [ "$bad_rounds" = 0 ] &&
		[[ $("$STEPUPCTL" -c "$CONF" status "$R") == *"recovery codes: 0 of 10 left"* ]]
}
tap_check --not-ok "each of 10 recovery codes raced by $PAR attempts: $bad_rounds rounds without exactly one success" \
	"each of 10 recovery codes raced by $PAR attempts: exactly one success each, none left" \
	each_10_recovery_codes_raced
