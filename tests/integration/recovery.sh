#!/bin/bash
# Recovery codes through stepupctl and a real PAM stack (pamtester): printed
# once, stored only as salted HMACs, accepted once at any prompt when the
# rule accepts recovery, the remaining count said and shown by status, a
# new set voids the old, and the rule and `remove` are obeyed.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program pamtester oathtool

SERVICE=stepup-recovery-$$
SERVICE_FILES=()
cleanup_services() { rm -f -- "${SERVICE_FILES[@]}"; }

tap_plan 11
install_traps
add_cleanup cleanup_services
make_tree recovery "methods = totp, recovery" "lockout_attempts = 0" \
	"[service $SERVICE-totponly]" "methods = totp"
for name in main totponly; do
	f=/etc/pam.d/$SERVICE-$name
	printf 'auth required %s config=%s\naccount required pam_permit.so\n' \
		"$STEPUP_MODULE" "$CONF" >"$f"
	SERVICE_FILES+=("$f")
done
MAIN=$SERVICE-main
T0=$(mid_step "$(date +%s)")
U=rec$$
SU=$(secret_for "$U")
enroll "$U" "$SU" || tap_bail "enroll failed"
said() { grep -qF -- "$1" "$T/pt.out"; }
codes() { grep -oE '[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}' "$1"; }
status_of() { "$STEPUPCTL" -c "$CONF" status "$U" 2>&1; }

# 1: ten codes, printed once, none of them stored in clear
"$STEPUPCTL" -c "$CONF" recovery "$U" >"$T/codes.out" 2>"$T/codes.err"
rc=$?
mapfile -t C < <(codes "$T/codes.out")
rec=$T/etc/stepup/users/$U
clear=0
for c in "${C[@]}"; do
	grep -qiF -e "$c" -e "${c//-/}" "$rec" && clear=1
done
stepupctl_recovery_prints_10() {
	[ "$rc" = 0 ] && [ "${#C[@]}" = 10 ] && [ "$(printf '%s\n' "${C[@]}" | sort -u | wc -l)" = 10 ] &&
		[ "$clear" = 0 ] && [ "$(stat -c '%a %U' "$rec")" = "600 root" ] &&
		[ "$(grep -c '^recovery_[0-9]*=[0-9a-f]\{32\}:[0-9a-f]\{64\}$' "$rec")" = 10 ]
}
tap_check "stepupctl recovery prints 10 distinct codes; the record holds only salt:HMAC pairs" \
	stepupctl_recovery_prints_10

# 2: a code is accepted at the prompt and the remaining count is said
recovery_code_accepted_9_left() {
	pt "$T0" "$MAIN" "$U" "${C[0]}" && said "Recovery code accepted. 9 recovery codes left." &&
		[[ $(status_of) == *"recovery codes: 9 of 10 left"* ]]
}
tap_check "a recovery code is accepted; 9 left, said to the user and shown by status" \
	recovery_code_accepted_9_left

# 3: it works once
same_recovery_code_refused() { refused $((T0 + 5)) "$MAIN" "$U" "${C[0]}" && said "already been used"; }
tap_check "the same recovery code is refused the second time" same_recovery_code_refused

# 4: typed loosely (upper case, no dashes, blanks)
loose=$(printf '%s' "${C[1]}" | tr -d '-' | tr 'a-z' 'A-Z' | sed 's/\(....\)/\1 /g')
code_typed_upper_case_blanks() { pt $((T0 + 10)) "$MAIN" "$U" "$loose" && said "8 recovery codes left"; }
tap_check "a code typed in upper case with blanks instead of dashes is accepted" \
	code_typed_upper_case_blanks

# 5: a rule without recovery refuses a recovery code
service_whose_methods_leave() {
	refused $((T0 + 15)) "$SERVICE-totponly" "$U" "${C[2]}" &&
		[[ $(status_of) == *"8 of 10 left"* ]]
}
tap_check "a service whose methods leave recovery out refuses a recovery code (and uses none)" \
	service_whose_methods_leave

# 6: TOTP still works beside recovery codes
tap_check "the TOTP code is accepted beside recovery codes" \
	pt $((T0 + 30)) "$MAIN" "$U" "$(code_at $((T0 + 30)) "$SU")"

# 7: new codes void the old ones
"$STEPUPCTL" -c "$CONF" recovery "$U" --count 2 >"$T/codes2.out" 2>&1
mapfile -t N < <(codes "$T/codes2.out")
recovery_count_2_makes_two_new() {
	[ "${#N[@]}" = 2 ] && refused $((T0 + 40)) "$MAIN" "$U" "${C[3]}" &&
		[[ $(status_of) == *"recovery codes: 2 of 2 left"* ]]
}
tap_check "recovery --count 2 makes two new codes; an old unused code is refused" \
	recovery_count_2_makes_two_new

# 8: the last code says so
pt $((T0 + 50)) "$MAIN" "$U" "${N[0]}"
using_last_code_tells_user_ask() {
	pt $((T0 + 55)) "$MAIN" "$U" "${N[1]}" && said "That was your last one" &&
		[[ $(status_of) == *"recovery codes: 0 of 2 left"* ]]
}
tap_check "using the last code tells the user to ask for new ones; status shows 0 left" \
	using_last_code_tells_user_ask

# 9: remove USER recovery
"$STEPUPCTL" -c "$CONF" recovery "$U" --count 1 >"$T/codes3.out" 2>&1
mapfile -t R < <(codes "$T/codes3.out")
rm_out=$("$STEPUPCTL" -c "$CONF" remove "$U" recovery 2>&1)
remove_user_recovery_deletes() {
	[ "$rm_out" = "removed recovery from $U" ] && ! grep -q '^recovery_' "$rec" &&
		refused $((T0 + 60)) "$MAIN" "$U" "${R[0]}"
}
tap_check "remove USER recovery deletes the codes; one of them is then refused" \
	remove_user_recovery_deletes

# 10: usage errors
ok=1
for args in "recovery $U --count 0" "recovery $U --count 51" "recovery $U --count x" \
	"enroll $U recovery" "recovery"; do
	# shellcheck disable=SC2086
	"$STEPUPCTL" -c "$CONF" $args >/dev/null 2>"$T/usage.err"
	rc=$?
	tap_diag "stepupctl $args: exit $rc: $(cat "$T/usage.err")"
	[ "$rc" = 2 ] || ok=0
done
grep -qF "stepupctl recovery USER" "$T/usage.err" || true
tap_check "bad --count values, 'enroll USER recovery' and a missing user are usage errors (exit 2)" \
	[ "$ok" = 1 ]

# 11: new codes made while a prompt waits: the answer is judged against the
# record as it is when it is used (regression: a stale prompt accepted a
# code of the voided set and revived the used codes of the new one)
"$STEPUPCTL" -c "$CONF" recovery "$U" --count 2 >"$T/old.out" 2>&1
mapfile -t OLD < <(codes "$T/old.out")
mkfifo "$T/answers"
at_time $((T0 + 70)) pamtester "$MAIN" "$U" authenticate <"$T/answers" >"$T/pt.out" 2>&1 &
pid=$!
exec 7>"$T/answers"
for _ in $(seq 50); do grep -qF "Verification code" "$T/pt.out" && break; sleep 0.1; done
"$STEPUPCTL" -c "$CONF" recovery "$U" --count 2 >"$T/new.out" 2>&1
mapfile -t NEW < <(codes "$T/new.out")
printf '%s\n' "${OLD[0]}" >&7
exec 7>&-
wait "$pid"
stale=$?
cat "$T/pt.out" | tap_diag_stream
code_set_voided_while_prompt() {
	[ "$stale" != 0 ] && pt $((T0 + 80)) "$MAIN" "$U" "${NEW[0]}" &&
		refused $((T0 + 85)) "$MAIN" "$U" "${NEW[0]}" &&
		[[ $(status_of) == *"recovery codes: 1 of 2 left"* ]]
}
tap_check "a code of a set voided while the prompt waited is refused; the new set stays single-use" \
	code_set_voided_while_prompt
