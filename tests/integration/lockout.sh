#!/bin/bash
# Lockout through a real PAM stack (pamtester, libfaketime): failures of any
# method are counted; lockout_attempts of them within lockout_time lock the
# user out without a prompt until lockout_time after the last; stepupctl
# status shows it and unlock ends it; a success clears the tally; a lock
# revokes the user's grace records; lockout_attempts = 0 never locks.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program pamtester oathtool setsid useradd
own_visible_session "$0" "$@"

SERVICE=stepup-lockout-$$
SERVICE_FILES=()
USERS=()

cleanup_accounts() {
	local u
	for u in "${USERS[@]}"; do userdel "$u" 2>/dev/null; done
	rm -f -- "${SERVICE_FILES[@]}"
}

tap_plan 11
install_traps
add_cleanup cleanup_accounts
make_tree lockout "methods = totp, recovery" "lockout_attempts = 3" "lockout_time = 600" \
	"[service $SERVICE-grace]" "grace = 300"
# lockout_* are [global] only (one tally per user): "never lock" is a
# config of its own over the same tree
NOLOCK_CONF=$T/nolock.conf
write_conf "$NOLOCK_CONF" "methods = totp" "lockout_attempts = 0"

service() { # NAME [CONFIG]: /etc/pam.d/$SERVICE-NAME with the module
	local f=/etc/pam.d/$SERVICE-$1
	printf 'auth required %s config=%s\naccount required pam_permit.so\n' \
		"$STEPUP_MODULE" "${2:-$CONF}" >"$f"
	SERVICE_FILES+=("$f")
}
service main
service nolock "$NOLOCK_CONF"
service grace
MAIN=$SERVICE-main

T0=$(mid_step "$(date +%s)")
asked() { grep -qF "Verification code" "$T/pt.out"; }
said() { grep -qF -- "$1" "$T/pt.out"; }
status_of() { "$STEPUPCTL" -c "$CONF" status "$1" 2>&1; }

# wrong USER SECRET EPOCH SERVICE: one call, one wrong code
wrong() {
	local bad
	bad=$(printf '%06d' $(((10#$(code_at "$3" "$2") + 500000) % 1000000)))
	refused "$3" "$4" "$1" "$bad"
}

new_user() { # NAME: enrolled with its own secret, known to NSS
	useradd -M -N -s /usr/sbin/nologin "$1" || tap_bail "useradd $1 failed"
	USERS+=("$1")
	enroll "$1" "$(secret_for "$1")" || tap_bail "enroll $1 failed"
}

A=stepupla$$ B=stepuplb$$ C=stepuplc$$ D=stepupld$$
for u in "$A" "$B" "$C" "$D"; do new_user "$u"; done
SA=$(secret_for "$A") SB=$(secret_for "$B") SC=$(secret_for "$C") SD=$(secret_for "$D")

# 1: the third failure locks, and says until when
wrong "$A" "$SA" "$T0" "$MAIN"
wrong "$A" "$SA" $((T0 + 5)) "$MAIN"
three_wrong_codes_within_lockout() {
	wrong "$A" "$SA" $((T0 + 10)) "$MAIN" && said "is locked until" &&
		said "stepupctl unlock $A"
}
tap_check "three wrong codes within lockout_time: the third says the user is locked and until when" \
	three_wrong_codes_within_lockout

# 2: locked: the right code is refused without a prompt
locked_refused_without_prompt() {
	refused $((T0 + 40)) "$MAIN" "$A" "$(code_at $((T0 + 40)) "$SA")" && ! asked &&
		said "is locked until"
}
tap_check "locked: refused without a prompt, even with the right code ready" \
	locked_refused_without_prompt

# 3: status shows it
st=$(status_of "$A")
printf '%s\n' "$st" | tap_diag_stream
stepupctl_status_shows_failures() { [[ $st == *"failures since the last success: 3"* ]] && [[ $st == *"locked out until: "* ]]; }
tap_check "stepupctl status shows the failures and the end of the lock" \
	stepupctl_status_shows_failures

# 4: unlock lets the right code through, and the tally is gone
un=$("$STEPUPCTL" -c "$CONF" unlock "$A" 2>&1)
tap_diag "$un"
stepupctl_unlock_ends_lock() {
	[[ $un == "$A: unlocked"*"3 failure(s) cleared" ]] &&
		pt $((T0 + 70)) "$MAIN" "$A" "$(code_at $((T0 + 70)) "$SA")" &&
		[[ $(status_of "$A") == *"locked out: no"* ]]
}
tap_check "stepupctl unlock ends the lock: the right code is accepted" \
	stepupctl_unlock_ends_lock

# 5: when lockout_time has passed, the right code goes through
wrong "$B" "$SB" "$T0" "$MAIN"
wrong "$B" "$SB" $((T0 + 1)) "$MAIN"
wrong "$B" "$SB" $((T0 + 2)) "$MAIN"
still_locked_599_s_after_last() {
	refused $((T0 + 599)) "$MAIN" "$B" "$(code_at $((T0 + 599)) "$SB")" && ! asked &&
		pt $((T0 + 603)) "$MAIN" "$B" "$(code_at $((T0 + 603)) "$SB")"
}
tap_check "still locked at 599 s after the last failure; at 601 s the right code is accepted" \
	still_locked_599_s_after_last

# 6: a success clears the tally
wrong "$C" "$SC" "$T0" "$MAIN"
wrong "$C" "$SC" $((T0 + 1)) "$MAIN"
pt $((T0 + 30)) "$MAIN" "$C" "$(code_at $((T0 + 30)) "$SC")"
wrong "$C" "$SC" $((T0 + 61)) "$MAIN"
wrong "$C" "$SC" $((T0 + 62)) "$MAIN"
tap_check "a success clears the tally: 2 wrong, right, 2 wrong, right: never locked" \
	pt $((T0 + 90)) "$MAIN" "$C" "$(code_at $((T0 + 90)) "$SC")"

# 7: lockout_attempts = 0 never locks
for i in $(seq 0 7); do wrong "$D" "$SD" $((T0 + i)) "$SERVICE-nolock"; done
tap_check "lockout_attempts = 0: eight wrong codes, then the right one is accepted" \
	pt $((T0 + 30)) "$SERVICE-nolock" "$D" "$(code_at $((T0 + 30)) "$SD")"

# 8: a lock revokes the user's grace records. D earns grace in this
# session; three failures from other sessions lock D; this session is then
# asked nothing and refused.
pt $((T0 + 120)) "$SERVICE-grace" "$D" "$(code_at $((T0 + 120)) "$SD")"
rec_before=$(ls "$T/run/stepup/grace/" 2>/dev/null | grep -c "^$D:")
for i in 0 1 2; do
	bad=$(printf '%06d' $(((10#$(code_at $((T0 + 130)) "$SD") + 500000) % 1000000)))
	printf '%s\n' "$bad" >"$T/pt.in"
	at_time $((T0 + 130 + i)) setsid -w pamtester "$MAIN" "$D" authenticate \
		<"$T/pt.in" >"$T/pt.out" 2>&1
done
rec_after=$(ls "$T/run/stepup/grace/" 2>/dev/null | grep -c "^$D:")
lockout_revokes_grace() {
	[ "$rec_before" = 1 ] && [ "$rec_after" = 0 ] &&
		refused $((T0 + 140)) "$SERVICE-grace" "$D" && said "is locked until"
}
tap_check --not-ok "a lockout revokes the user's grace records: the session that had grace is refused (records $rec_before -> $rec_after)" \
	"a lockout revokes the user's grace records: the session that had grace is refused" \
	lockout_revokes_grace

# 9: a wrong recovery code counts like any other failure
"$STEPUPCTL" -c "$CONF" unlock "$D" >/dev/null 2>&1
"$STEPUPCTL" -c "$CONF" recovery "$D" --count 2 >"$T/rec.out" 2>&1
refused $((T0 + 200)) "$MAIN" "$D" "zzzz-zzzz-zzzz"
refused $((T0 + 201)) "$MAIN" "$D" "yyyy-yyyy-yyyy"
wrong_recovery_codes_count_too() {
	refused $((T0 + 202)) "$MAIN" "$D" "xxxx-xxxx-xxxx" && said "is locked until" &&
		[[ $(status_of "$D") == *"failures since the last success: 3"* ]]
}
tap_check "wrong recovery codes count too: three lock the user" wrong_recovery_codes_count_too

# 10: lockout_* cannot be set per service (a service's own rule would reset
# or shorten the one tally every service shares)
write_conf "$T/persvc.conf" "[service x]" "lockout_attempts = 0"
out=$("$STEPUPCTL" -c "$T/persvc.conf" check-config 2>&1)
per_service_lockout_is_config_error() { [[ $out == *"persvc.conf:"*"lockout_attempts"*"[global]"* ]]; }
tap_check --not-ok "lockout_attempts in a [service] section is a config error naming file, line and key: $out" \
	"lockout_attempts in a [service] section is a config error naming file, line and key" \
	per_service_lockout_is_config_error

# 11: a failure is counted before it is said: pamtester's output goes into
# a pipe with room for the prompt but not for "Invalid verification code",
# so it blocks there; it is then SIGKILLed (as a caller can kill su). The
# failure must already be in the state. (Regression: it was said first and
# counted after, so killed attempts went uncounted.)
E=stepuple$$
new_user "$E"
SE=$(secret_for "$E")
bad=$(printf '%06d' $(((10#$(code_at $((T0 + 700)) "$SE") + 500000) % 1000000)))
counted=$(python3 - "$FAKETIME_LIB" $((T0 + 700)) "$MAIN" "$E" "$bad" "$T/var/lib/stepup/state/$E" <<'PY'
import fcntl, os, signal, subprocess, sys, time
lib, epoch, svc, user, answer, state = sys.argv[1:]
r, w = os.pipe()
size = fcntl.fcntl(w, 1032)           # F_GETPIPE_SZ
os.set_blocking(w, False)
# pamtester writes prompts and errors to stderr at once; its info lines
# go to a buffered stdout and are never written before the kill
room = len("Verification code: ") + 4
os.write(w, b"x" * (size - room))
os.set_blocking(w, True)
env = dict(os.environ, LD_PRELOAD=lib, FAKETIME_FMT="%s", FAKETIME=epoch,
           FAKETIME_DONT_FAKE_MONOTONIC="1")
p = subprocess.Popen(["pamtester", svc, user, "authenticate"], stdin=subprocess.PIPE,
                     stdout=w, stderr=w, env=env)
p.stdin.write((answer + "\n").encode()); p.stdin.close()
time.sleep(2)
blocked = p.poll() is None
p.send_signal(signal.SIGKILL); p.wait()
os.close(w)
os.set_blocking(r, False)
data = b""
try:
    while True:
        chunk = os.read(r, 65536)
        if not chunk: break
        data += chunk
except BlockingIOError:
    pass
sys.stderr.write("written: %r\n" % data.lstrip(b"x"))
count = "0"
if os.path.exists(state):
    for line in open(state):
        if line.startswith("fail_count="):
            count = line.strip().split("=", 1)[1]
print("%s %s" % ("blocked" if blocked else "finished", count))
PY
)
tap_diag "pamtester: $counted"
tap_check --not-ok "a wrong code is counted before the refusal is written: killing the blocked caller loses nothing ($counted)" \
	"a wrong code is counted before the refusal is written: killing the blocked caller loses nothing" \
	[ "$counted" = "blocked 1" ]
