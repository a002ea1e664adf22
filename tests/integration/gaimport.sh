#!/bin/bash
# stepupctl import google-authenticator, with files written by the real
# google-authenticator tool (libpam-google-authenticator), then step-ups
# through the installed module and a real PAM stack (pamtester): the
# user's secret keeps working, the scratch codes work once each as
# recovery codes, nothing is stored or printed in clear but what enroll
# stores, and every refusal (HOTP, symlink, another user's file, a root-owned
# file through the user's directory symlink, malformed line, already
# enrolled) writes nothing. DISALLOW_REUSE is carried over only up to
# totp_window + 1 steps ahead. Codes come from oathtool.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program pamtester oathtool google-authenticator useradd userdel runuser

SERVICE=stepup-gaimport-$$
PAMD=/etc/pam.d
USERS=()

cleanup_accounts() {
	local u
	for u in "${USERS[@]}"; do userdel "$u" 2>/dev/null; done
	return 0
}

# From the EXIT trap, after the cleanups: the last TAP line.
check_cleaned_up() {
	local u left=()
	[ -e "$PAMD/$SERVICE" ] && left+=("$PAMD/$SERVICE")
	for u in "${USERS[@]}"; do getent passwd "$u" >/dev/null && left+=("user $u"); done
	if [ ${#left[@]} -eq 0 ]; then
		tap_ok "service file and test users removed on exit"
	else
		tap_not_ok "left behind: ${left[*]}"
		rm -f -- "$PAMD/$SERVICE"
	fi
}

tap_plan 27
install_traps check_cleaned_up
add_cleanup cleanup_accounts
make_tree gaimport "methods = totp, recovery" "lockout_attempts = 0"
add_cleanup rm -f "'$PAMD/$SERVICE'"
printf 'auth required %s config=%s\naccount required pam_permit.so\n' \
	"$STEPUP_MODULE" "$CONF" >"$PAMD/$SERVICE"
chmod 0644 "$PAMD/$SERVICE"

T0=$(mid_step "$(date +%s)")
USERDIR=$T/etc/stepup/users
STATEDIR=$T/var/lib/stepup/state
said() { grep -qF -- "$1" "$T/pt.out"; }
out_has() { grep -qF -- "$1" "$T/import.out"; }
err_has() { grep -qF -- "$1" "$T/import.err"; }
status_of() { "$STEPUPCTL" -c "$CONF" status "$1" 2>&1; }

# import USER FILE: sets rc; stdout in $T/import.out, stderr in $T/import.err
import() {
	"$STEPUPCTL" -c "$CONF" import google-authenticator "$1" "$2" \
		</dev/null >"$T/import.out" 2>"$T/import.err"
	rc=$?
	{
		echo "--- stepupctl import google-authenticator $1 $2: exit $rc"
		cat "$T/import.out" "$T/import.err"
	} | tap_log
}

# refused_import: exit 1, one line on stderr, nothing on stdout.
refused_import() {
	[ "$rc" = 1 ] && [ "$(wc -l <"$T/import.err")" = 1 ] && [ ! -s "$T/import.out" ]
}

# ga FILE OPTIONS...: a file from the real tool, as root, non-interactive.
ga() {
	local f=$1
	shift
	google-authenticator -f -Q NONE -q -s "$f" "$@" </dev/null >"$T/ga.out" 2>&1 ||
		tap_bail "google-authenticator $* failed: $(cat "$T/ga.out")"
}

secret_of() { head -n 1 "$1"; }
codes_of() { grep -E '^[0-9]{8}$' "$1"; }

# none_in FILE...: no scratch code of $GA_FILE and not its secret in them.
none_in() {
	local c
	for c in $(codes_of "$GA_FILE") "$(secret_of "$GA_FILE")"; do
		grep -qF -- "$c" "$@" && return 1
	done
	return 0
}

# --- a user's own file, written by the tool as that user -----------------------
U=gai$$
useradd -M -N -s /usr/sbin/nologin -d "$T/home/$U" "$U" || tap_bail "useradd $U failed"
USERS+=("$U")
mkdir -p "$T/home/$U"
chown "$U" "$T/home/$U"
chmod 0700 "$T/home/$U"
GA_FILE=$T/home/$U/.google_authenticator
runuser -u "$U" -- google-authenticator -t -d -f -r 3 -R 30 -w 3 -e 5 -Q NONE -q \
	-s "$GA_FILE" </dev/null >"$T/ga.out" 2>&1 ||
	tap_bail "google-authenticator as $U failed: $(cat "$T/ga.out")"
SECRET=$(secret_of "$GA_FILE")
mapfile -t C < <(codes_of "$GA_FILE")
tap_diag "the tool wrote $(stat -c '%U %a' "$GA_FILE"), ${#C[@]} scratch codes, options:" \
	"$(grep '^"' "$GA_FILE")"

# 1
import "$U" "$GA_FILE"
users_own_0400_file_imported() {
	[ "$rc" = 0 ] && [ "${#C[@]}" = 5 ] && [ "$(stat -c '%U %a' "$GA_FILE")" = "$U 400" ] &&
		out_has "imported $U from $GA_FILE:" &&
		out_has "secret: carried over (TOTP, 6 digits, 30 s steps)" &&
		out_has "scratch codes: 5 carried over as single-use recovery codes" &&
		out_has "WINDOW_SIZE 3: not carried over: pam_stepup accepts codes totp_window = 1 step(s)" &&
		out_has "RATE_LIMIT 3 30: not carried over: pam_stepup locks a user out after lockout_attempts = 0" &&
		out_has "DISALLOW_REUSE: no used steps listed; pam_stepup never accepts a code twice" &&
		out_has "$GA_FILE still holds the secret and the scratch codes: remove it once pam_google_authenticator is no longer used for $U"
}
tap_check "a file the tool wrote as the user (0400, the user's) is imported; WINDOW_SIZE, RATE_LIMIT, DISALLOW_REUSE reported" \
	users_own_0400_file_imported

# 2
tap_check "the report shows neither the secret nor a scratch code" \
	none_in "$T/import.out" "$T/import.err"

# 3: the TOTP keys exactly as enroll stores the same secret
REC=$USERDIR/$U
enroll "cmp$$" "$SECRET" || tap_bail "enroll cmp$$ failed"
record_has_totp_keys_as_enroll_writes() {
	[ "$(grep '^totp_' "$REC")" = "$(grep '^totp_' "$USERDIR/cmp$$")" ] &&
		[ "$(stat -c '%a %U' "$REC")" = "600 root" ]
}
tap_check "the record's TOTP keys are what 'enroll --secret' writes for the same secret" \
	record_has_totp_keys_as_enroll_writes

# 4
clear=0
for c in "${C[@]}"; do grep -rqF -- "$c" "$REC" "$STATEDIR" && clear=1; done
no_scratch_code_clear_record_or() {
	[ "$clear" = 0 ] && grep -qx 'recovery_format=digits8' "$REC" &&
		[ "$(grep -c '^recovery_[0-9]*=[0-9a-f]\{32\}:[0-9a-f]\{64\}$' "$REC")" = 5 ] &&
		[[ $(status_of "$U") == *"recovery codes: 5 of 5 left (8-digit scratch codes imported from google-authenticator)"* ]]
}
tap_check "no scratch code in clear in record or state: five salt:HMAC pairs; status shows the imported set" \
	no_scratch_code_clear_record_or

# --- step-ups through the real module ----------------------------------------
# 5
tap_check "a code from oathtool for the imported secret is accepted" \
	pt "$T0" "$SERVICE" "$U" "$(code_at "$T0" "$SECRET")"

# 6
same_code_again_refused() { refused $((T0 + 5)) "$SERVICE" "$U" "$(code_at "$T0" "$SECRET")" && said "already been used"; }
tap_check "the same code again is refused" same_code_again_refused

# 7
scratch_code_from_file_accepted() { pt $((T0 + 10)) "$SERVICE" "$U" "${C[0]}" && said "Recovery code accepted. 4 recovery codes left."; }
tap_check "a scratch code from the file is accepted as a recovery code" \
	scratch_code_from_file_accepted

# 8
same_scratch_code_refused() { refused $((T0 + 15)) "$SERVICE" "$U" "${C[0]}" && said "That code has already been used."; }
tap_check "the same scratch code is refused the second time" same_scratch_code_refused

# 9: wrong codes of both shapes
wrong=$(printf '%06d' $(((10#$(code_at $((T0 + 60)) "$SECRET") + 500000) % 1000000)))
for e in $((T0 + 30)) $((T0 + 60)) $((T0 + 90)); do
	[ "$wrong" = "$(code_at "$e" "$SECRET")" ] && wrong=$(printf '%06d' $(((10#$wrong + 1) % 1000000)))
done
wrong8=99999999
for c in "${C[@]}"; do [ "$c" = "$wrong8" ] && wrong8=99999998; done
wrong_totp_code_wrong_8_digit() {
	refused $((T0 + 60)) "$SERVICE" "$U" "$wrong" && said "Invalid verification code." &&
		refused $((T0 + 65)) "$SERVICE" "$U" "$wrong8" && said "Invalid verification code." &&
		[[ $(status_of "$U") == *"recovery codes: 4 of 5 left"* ]]
}
tap_check "a wrong TOTP code and a wrong 8-digit code are refused" wrong_totp_code_wrong_8_digit

# 10
sum=$(sha256sum "$REC")
import "$U" "$GA_FILE"
user_already_enrolled_totp() {
	refused_import && err_has "stepupctl: $U already has TOTP enrolled; run 'stepupctl remove $U totp' first" &&
		[ "$(sha256sum "$REC")" = "$sum" ]
}
tap_check "a user already enrolled for TOTP is refused, the record untouched" \
	user_already_enrolled_totp

# --- refusals that write nothing --------------------------------------------------
# 11
H=hot$$
ga "$T/hotp" -c -w 3 -u -e 3
import "$H" "$T/hotp"
hotp_file_refused() {
	refused_import && grep -q '^" HOTP_COUNTER 1$' "$T/hotp" &&
		err_has "stepupctl: $T/hotp: HOTP (counter-based) files cannot be imported; pam_stepup supports TOTP only: enrol the user afresh with 'stepupctl enroll $H totp'" &&
		[ ! -e "$USERDIR/$H" ] && [ ! -e "$STATEDIR/$H" ]
}
tap_check "an HOTP file from the tool (-c) is refused; no record" hotp_file_refused

# 12
V=gav$$
ln -s "$GA_FILE" "$T/home/link"
import "$V" "$T/home/link"
symlinked_file_refused_no_record() { refused_import && err_has "refusing $T/home/link: is a symbolic link" && [ ! -e "$USERDIR/$V" ]; }
tap_check "a symlinked FILE is refused; no record" symlinked_file_refused_no_record

# 13: V is nobody NSS knows; the file is $U's
import "$V" "$GA_FILE"
another_users_file_refused() {
	refused_import && err_has "refusing $GA_FILE: owned by uid $(id -u "$U"), not by $V or root" &&
		[ ! -e "$USERDIR/$V" ]
}
tap_check "another user's file is refused; no record" another_users_file_refused

# 14: a bad line is named by number, its content never shown
cp "$GA_FILE" "$T/bad"
echo "private words 31415926" >>"$T/bad"
lines=$(wc -l <"$T/bad")
import "$V" "$T/bad"
malformed_line_refused_file_line() {
	refused_import && err_has "stepupctl: $T/bad:$lines: not an option" &&
		! err_has "private" && ! err_has 31415926 && none_in "$T/import.err" &&
		[ ! -e "$USERDIR/$V" ]
}
tap_check "a malformed line is refused by file and line number, not shown; no record" \
	malformed_line_refused_file_line

# 15
ga "$T/step10" -t -D -u -w 3 -S 10 -e 1
import "$V" "$T/step10"
step_size_pam_stepup_cannot_keep() {
	refused_import && err_has "STEP_SIZE 10 is shorter than pam_stepup's 15 s" &&
		[ ! -e "$USERDIR/$V" ]
}
tap_check "a STEP_SIZE pam_stepup cannot keep (10 s) is refused; no record" \
	step_size_pam_stepup_cannot_keep

# 16: neither TOTP_AUTH nor HOTP_COUNTER
grep -v '^" TOTP_AUTH$' "$T/step10" | sed '/^" STEP_SIZE/d' >"$T/nomode"
import "$V" "$T/nomode"
file_neither_totp_auth_nor_hotp() {
	refused_import && err_has "$T/nomode: neither TOTP_AUTH nor HOTP_COUNTER" &&
		err_has "enrol the user afresh with 'stepupctl enroll $V totp'" && [ ! -e "$USERDIR/$V" ]
}
tap_check "a file with neither TOTP_AUTH nor HOTP_COUNTER is refused; no record" \
	file_neither_totp_auth_nor_hotp

# 17: scratch codes over recovery codes the user already has
R=rec$$
"$STEPUPCTL" -c "$CONF" recovery "$R" --count 2 >"$T/rcodes.out" 2>&1 || tap_bail "recovery $R failed"
sum=$(sha256sum "$USERDIR/$R")
ga "$T/withcodes" -t -d -u -w 3 -e 2
import "$R" "$T/withcodes"
scratch_codes_over_existing() {
	refused_import && err_has "stepupctl: $R already has recovery codes; run 'stepupctl remove $R recovery' first" &&
		[ "$(sha256sum "$USERDIR/$R")" = "$sum" ]
}
tap_check "scratch codes over an existing recovery set are refused, the record untouched" \
	scratch_codes_over_existing

# --- options carried over ----------------------------------------------------------
# 18
S60=s60$$
ga "$T/step60" -t -D -u -w 3 -S 60 -e 0
import "$S60" "$T/step60"
step_size_60_carried_over() {
	[ "$rc" = 0 ] && out_has "STEP_SIZE 60: carried over" && out_has "scratch codes: none in the file" &&
		out_has "DISALLOW_REUSE absent: google-authenticator let a code be used twice; pam_stepup never does" &&
		grep -qx 'totp_period=60' "$USERDIR/$S60" && ! grep -q '^recovery_' "$USERDIR/$S60" &&
		pt "$T0" "$SERVICE" "$S60" "$(code_at "$T0" "$(secret_of "$T/step60")" -s 60)"
}
tap_check "STEP_SIZE 60 is carried over: a 60 s code from oathtool is accepted" \
	step_size_60_carried_over

# 19: DISALLOW_REUSE listing the current step, as google-authenticator's
# module leaves it after a login: that code stays used here
D=reu$$
ga "$T/reuse" -t -d -r 3 -R 30 -w 3 -e 2
sed -i "s/^\" DISALLOW_REUSE\$/\" DISALLOW_REUSE $((T0 / 30 - 1)) $((T0 / 30))/" "$T/reuse"
DS=$(secret_of "$T/reuse")
import "$D" "$T/reuse"
disallow_reuse_current_step() {
	[ "$rc" = 0 ] && out_has "DISALLOW_REUSE: carried over: codes up to the step starting" &&
		grep -qx "totp_last_time=$((T0 / 30 * 30))" "$STATEDIR/$D" &&
		refused "$T0" "$SERVICE" "$D" "$(code_at "$T0" "$DS")" && said "already been used" &&
		pt $((T0 + 30)) "$SERVICE" "$D" "$(code_at $((T0 + 30)) "$DS")"
}
tap_check "DISALLOW_REUSE's current step is carried over: that code is refused, the next accepted" \
	disallow_reuse_current_step

# 20: an option a later google-authenticator may write
N=unk$$
ga "$T/unknown" -t -d -w 3 -u -e 1
printf '" FUTURE_OPTION 1\n" %s\n' "$(secret_of "$T/unknown")" >>"$T/unknown"
import "$N" "$T/unknown"
unknown_options_reported_not() {
	[ "$rc" = 0 ] && out_has "option FUTURE_OPTION: not carried over: unknown to this version" &&
		out_has "an option (name not shown: not in google-authenticator's form): not carried over" &&
		! grep -qF "$(secret_of "$T/unknown")" "$T/import.out"
}
tap_check "unknown options are reported as not carried over (a name not in option form is not shown)" \
	unknown_options_reported_not

# --- the imported set and the rest of stepupctl ------------------------------------
# 21: new codes void the imported ones
"$STEPUPCTL" -c "$CONF" recovery "$U" --count 2 >"$T/codes.out" 2>&1
recovery_user_replaces_imported() {
	refused $((T0 + 120)) "$SERVICE" "$U" "${C[1]}" && ! grep -q '^recovery_format=' "$REC" &&
		[[ $(status_of "$U") == *"recovery codes: 2 of 2 left"* ]] &&
		[[ $(status_of "$U") != *imported* ]]
}
tap_check "'recovery USER' replaces the imported set: an unused scratch code is then refused" \
	recovery_user_replaces_imported

# 22: usage
ok=1
for args in "import" "import google-authenticator $U" "import frobnitz $U $GA_FILE"; do
	# shellcheck disable=SC2086
	"$STEPUPCTL" -c "$CONF" $args >/dev/null 2>"$T/usage.err"
	r=$?
	tap_diag "stepupctl $args: exit $r: $(cat "$T/usage.err")"
	[ "$r" = 2 ] || ok=0
done
grep -qF "import: unknown file format (not shown); use google-authenticator" "$T/usage.err" || ok=0
"$STEPUPCTL" -c "$CONF" import google-authenticator ../x "$GA_FILE" >/dev/null 2>"$T/usage.err"
[ $? = 1 ] && grep -qF "'../x' is not a valid user name" "$T/usage.err" || ok=0
"$STEPUPCTL" -c "$CONF" import google-authenticator "$V" "$T/nothere" >/dev/null 2>"$T/usage.err"
[ $? = 1 ] && grep -qF "$T/nothere does not exist" "$T/usage.err" || ok=0
"$STEPUPCTL" --help | grep -qF "import google-authenticator USER FILE" || ok=0
"$STEPUPCTL" import --help | grep -qF "Usage: stepupctl [-c CONFIG] import google-authenticator USER FILE" || ok=0
tap_check "usage errors exit 2; a bad user name or a missing file exit 1; --help lists import" \
	[ "$ok" = 1 ]

# 23
status_lists_imported_users() {
	[[ $(status_of "$U") == *"methods: totp, recovery"* ]] &&
		"$STEPUPCTL" -c "$CONF" status >"$T/status.out" 2>&1 &&
		grep -q "^$D  totp (6 digits, 30 s).*recovery (2 of 2 left, imported 8-digit)" "$T/status.out"
}
tap_check "status lists imported users and their imported sets" status_lists_imported_users

# --- a root-owned file and the user's directories -----------------------------------
# 24: an administrator's copy, root's, in root's directory: imported by its
# own path, refused through a directory symlink the user owns (the user
# decides where that leads: /etc/shadow, another user's copy), nothing written
W=via$$
mkdir -m 0700 "$T/admin"
ga "$T/admin/ga" -t -d -u -w 3 -e 1
ln -s "$T/admin" "$T/home/$U/d"
chown -h "$U" "$T/home/$U/d"
import "$W" "$T/home/$U/d/ga"
if refused_import &&
	err_has "refusing $T/home/$U/d/ga: owned by root, so read only through directories of root's that others cannot write; $(realpath "$T/home/$U")/d: is a symbolic link" &&
	[ ! -e "$USERDIR/$W" ] && [ ! -e "$STATEDIR/$W" ]; then
	import "$W" "$T/admin/ga"
	root_file_via_user_symlink_refused() { [ "$rc" = 0 ] && out_has "imported $W from $T/admin/ga:"; }
	tap_check "a root-owned file through the user's directory symlink is refused, nothing written; by its own path it is imported" \
		root_file_via_user_symlink_refused
else
	tap_not_ok "a root-owned file through the user's directory symlink is refused, nothing written; by its own path it is imported"
fi

# --- DISALLOW_REUSE ahead of the clock (totp_window = 1) -------------------------
# reuse_ahead NAME STEPS: a TOTP file listing the step STEPS ahead of now as used
reuse_ahead() {
	ga "$T/$1" -t -d -r 3 -R 30 -w 3 -e 0
	sed -i "s/^\" DISALLOW_REUSE\$/\" DISALLOW_REUSE $(($(date +%s) / 30 + $2))/" "$T/$1"
}

# 25: far ahead (a crafted file would bar the user's codes until then):
# not carried over, the current code accepted
F=far$$
reuse_ahead far 10
import "$F" "$T/far"
disallow_reuse_10_steps_ahead() {
	[ "$rc" = 0 ] &&
		out_has "DISALLOW_REUSE: not carried over: its last step (" &&
		out_has ") is ahead of this clock by more than totp_window + 1 = 2 step(s); pam_stepup never accepts a code twice" &&
		! grep -qs '^totp_last_time=' "$STATEDIR/$F" &&
		pt "$T0" "$SERVICE" "$F" "$(code_at "$T0" "$(secret_of "$T/far")")"
}
tap_check "DISALLOW_REUSE 10 steps ahead is not carried over: the current code is accepted" \
	disallow_reuse_10_steps_ahead

# 26: the cap is totp_window + 1 steps: 2 ahead carried over, 3 not (not
# within 5 s of a step's end, so that the clock does not cross one between
# writing the file and reading it)
while (($(date +%s) % 30 >= 25)); do sleep 1; done
E2=ahd2$$ E3=ahd3$$
reuse_ahead ahead2 2
import "$E2" "$T/ahead2"
ok=0
if [ "$rc" = 0 ] && out_has "DISALLOW_REUSE: carried over: codes up to the step starting" &&
	grep -qx "totp_last_time=$(($(sed -n 's/^" DISALLOW_REUSE //p' "$T/ahead2") * 30))" "$STATEDIR/$E2"; then
	ok=1
fi
reuse_ahead ahead3 3
import "$E3" "$T/ahead3"
disallow_reuse_up_totp_window_1() {
	[ "$ok" = 1 ] && [ "$rc" = 0 ] &&
		out_has "DISALLOW_REUSE: not carried over: its last step (" &&
		! grep -qs '^totp_last_time=' "$STATEDIR/$E3"
}
tap_check "DISALLOW_REUSE up to totp_window + 1 steps ahead is carried over, one more is not" \
	disallow_reuse_up_totp_window_1

# 27: check_cleaned_up, from the EXIT trap.
