#!/bin/bash
# The log lines of lockouts, unlocks, recovery use and enrolment changes, as
# a syslog daemon receives them: a throwaway receiver on /dev/log (bound
# over the host's in a private mount namespace, or made at /dev/log when
# the host has none, and removed after). No code or secret in any line.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program pamtester oathtool python3 unshare

SVC=stepup-audit-$$
tap_plan 4
install_traps
make_tree audit "methods = totp, recovery" "lockout_attempts = 2" "lockout_time = 600"
printf 'auth required %s config=%s\n' "$STEPUP_MODULE" "$CONF" >"/etc/pam.d/$SVC"
add_cleanup rm -f "/etc/pam.d/$SVC"
LOG=$T/syslog.txt
log_receiver "$LOG"
ctl() { "${IN_NS[@]}" "$STEPUPCTL" -c "$CONF" "$@"; }
ptns() { # EPOCH USER ANSWER
	printf '%s\n' "$3" >"$T/pt.in"
	"${IN_NS[@]}" env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_FMT=%s FAKETIME="$1" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 pamtester "$SVC" "$2" authenticate \
		<"$T/pt.in" >"$T/pt.out" 2>&1
}
logged() { sleep 0.2; grep -qE -- "$1" "$LOG"; }

T0=$(mid_step "$(date +%s)")
U=audit$$
SU=$(secret_for "$U")
ctl enroll "$U" totp --secret "$SU" >/dev/null 2>&1
ctl recovery "$U" --count 2 >"$T/codes.out" 2>&1
mapfile -t C < <(grep -oE '[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}' "$T/codes.out")

# 1: a recovery code's use: method=recovery, result=success, how many are left
ptns "$T0" "$U" "${C[0]}"
tap_check "recovery use is logged: method=recovery result=success recovery_left=1" \
	logged "user=$U service=$SVC .*method=recovery result=success reason=code-accepted recovery_left=1"

# 2: the lockout and a refusal while locked
bad=$(printf '%06d' $(((10#$(code_at $((T0 + 30)) "$SU") + 500000) % 1000000)))
ptns $((T0 + 30)) "$U" "$bad"
ptns $((T0 + 31)) "$U" "$bad"
ptns $((T0 + 32)) "$U" "$(code_at $((T0 + 32)) "$SU")"
lockout_logged_end_reason() {
	logged "user=$U .*result=deny reason=lockout locked_until=$((T0 + 31 + 600))" &&
		logged "user=$U .*result=deny reason=locked-out locked_until="
}
tap_check "the lockout is logged with its end (reason=lockout locked_until=...), and each refusal while locked" \
	lockout_logged_end_reason

# 3: the administrator's actions
ctl unlock "$U" >/dev/null 2>&1
ctl grace revoke "$U" >/dev/null 2>&1
ctl remove "$U" recovery >/dev/null 2>&1
ok=1
for want in "action=enroll user=$U by=[^ ]+ result=success method=totp" \
	"action=recovery user=$U by=[^ ]+ result=success count=2" \
	"action=unlock user=$U by=[^ ]+ result=success failures=2" \
	"action=grace-revoke user=$U by=[^ ]+ result=success" \
	"action=remove user=$U by=[^ ]+ result=success method=recovery"; do
	logged "stepupctl\[[0-9]+\]: $want" || { ok=0; tap_diag "missing: $want"; }
done
tap_check "stepupctl logs enroll, recovery, unlock, grace revoke and remove as action=... user=... by=... result=..." \
	[ "$ok" = 1 ]

# 4: nothing secret in the log
tap_diag "$(wc -l <"$LOG") lines logged"
leak=0
for s in "$SU" "${C[0]}" "${C[1]}" "${C[0]//-/}" "$bad" "$(code_at $((T0 + 32)) "$SU")"; do
	grep -qiF -- "$s" "$LOG" && { leak=1; tap_diag "found in the log: a code or the secret"; }
done
no_code_recovery_code_or_secret() { [ "$leak" = 0 ] && [ -s "$LOG" ]; }
tap_check "no code, recovery code or secret appears in any line" no_code_recovery_code_or_secret
