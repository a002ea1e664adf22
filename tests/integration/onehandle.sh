#!/bin/bash
# Many calls on one PAM handle in one process (tests/helpers/pam_loop), as a
# long-lived caller makes them. Nothing is cached between calls, and a
# cache keyed on file versions, should one come back, would trust only
# versions some seconds old: every change made between calls, to files
# that old, must count at once: a record changed in place, the host key
# replaced and put back, a revoke, the config changed in place or
# replaced, a new audit session.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program python3 useradd setsid
own_visible_session "$0" "$@"

LOOP=$TOP_BUILDDIR/tests/helpers/pam_loop
[ -x "$LOOP" ] || tap_bail "$LOOP is not built (make check builds it)"
U=stepup1h$$
SETTLE=3 # files this old are what a version-keyed cache would trust

tap_plan 8
install_traps
add_cleanup "userdel '$U' 2>/dev/null"
make_tree onehandle "grace = 300" "methods = totp, recovery" "lockout_attempts = 0"
useradd -M -N -s /usr/sbin/nologin "$U" || tap_bail "useradd $U failed"
enroll "$U" "$(secret_for "$U")" || tap_bail "enroll $U failed"
"$STEPUPCTL" -c "$CONF" recovery "$U" >"$T/codes.out" 2>&1 || tap_bail "stepupctl recovery failed"
mapfile -t C < <(grep -oE '[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}' "$T/codes.out")
[ "${#C[@]}" = 10 ] || tap_bail "expected 10 recovery codes"
mkdir -m 0755 "$T/pam.d"
printf 'auth required %s config=%s tries=1\n' "$STEPUP_MODULE" "$CONF" >"$T/pam.d/onehandle"
chmod 0644 "$T/pam.d/onehandle"

coproc LOOPPROC { exec "$LOOP" "$T/pam.d" onehandle "$U" 2>"$T/loop.err"; }
add_cleanup "kill $LOOPPROC_PID 2>/dev/null"
# call COMMAND: one command to the process, its answer in R
call() {
	echo "$*" >&"${LOOPPROC[1]}" || tap_bail "pam_loop is gone: $(cat "$T/loop.err")"
	IFS= read -r -t 30 R <&"${LOOPPROC[0]}" || tap_bail "pam_loop did not answer: $(cat "$T/loop.err")"
	tap_diag "$* -> $R"
}
# expect WHAT COMMAND: the answer must be WHAT
expect() {
	local want=$1
	shift
	call "$@"
	[ "$R" = "$want" ]
}
GRANTED="rc=0 prompts=0"      # let through on grace, not asked
ASKED_REFUSED="rc=7 prompts=1" # asked, wrong answer refused
EARNED="rc=0 prompts=1"       # asked, a code accepted: a grace record written

RECORD_GLOB="$T/run/stepup/grace/$U:*"
record() { compgen -G "$RECORD_GLOB" | head -1; }
# edit_in_place FILE OLD NEW: same length, same inode (only ctime moves)
edit_in_place() {
	python3 - "$@" <<'PY'
import sys
path, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
assert len(old) == len(new)
with open(path, "r+b") as f:
    data = f.read()
    assert data.count(old) == 1, "%r not found once in %s" % (old, path)
    f.seek(0)
    f.write(data.replace(old, new))
PY
}

# 1: the record just written is read and verified on every call
step_up_then_calls_same_handle() { expect "$EARNED" auth "${C[0]}" && expect "$GRANTED" auth && expect "$GRANTED" auth; }
tap_check "a step-up, then calls on the same handle pass on grace (record just written)" \
	step_up_then_calls_same_handle

# 2: a byte changed in place, once the process holds the verified record
sleep "$SETTLE"
settled_record_changed_place() {
	expect "$GRANTED" auth && expect "$GRANTED" auth &&
		issued=$(sed -n 's/^issued=//p' "$(record)") &&
		edit_in_place "$(record)" "issued=$issued" "issued=$((issued - 1))" &&
		expect "$ASKED_REFUSED" auth 000000
}
tap_check "a settled record changed in place (same size, same inode) is refused at once" \
	settled_record_changed_place

# 3: the host key replaced, then put back
HK=$T/etc/stepup/hostkey
new_host_key_ends_grace_once_old() {
	expect "$EARNED" auth "${C[1]}" && sleep "$SETTLE" && expect "$GRANTED" auth &&
		cp -p "$HK" "$T/hostkey.orig" && head -c 32 /dev/urandom >"$T/hostkey.new" &&
		chmod 0600 "$T/hostkey.new" && mv "$T/hostkey.new" "$HK" &&
		expect "$ASKED_REFUSED" auth 000000 &&
		mv "$T/hostkey.orig" "$HK" && expect "$GRANTED" auth
}
tap_check "a new host key ends the grace at once; the old key put back restores it" \
	new_host_key_ends_grace_once_old

# 4: revoke
sleep "$SETTLE"
stepupctl_grace_revoke_ends() {
	expect "$GRANTED" auth && expect "$GRANTED" auth &&
		"$STEPUPCTL" -c "$CONF" grace revoke "$U" >"$T/revoke.out" 2>&1 &&
		expect "$ASKED_REFUSED" auth 000000
}
tap_check "stepupctl grace revoke ends a grace the process had verified" stepupctl_grace_revoke_ends

# 5: the rule's methods changed in the config, in place
config_changed_place_grace() {
	expect "$EARNED" auth "${C[2]}" && sleep "$SETTLE" && expect "$GRANTED" auth &&
		expect "$GRANTED" auth &&
		edit_in_place "$CONF" "methods = totp, recovery" "methods = totp          " &&
		expect "$ASKED_REFUSED" auth 000000 &&
		edit_in_place "$CONF" "methods = totp          " "methods = totp, recovery" &&
		expect "$GRANTED" auth
}
tap_check "config changed in place: a grace earned by recovery stops counting under a totp-only rule, and counts again" \
	config_changed_place_grace

# 6: the config replaced with a shorter grace: the record has outlived it
sleep "$SETTLE"
shorter_grace_expires_cached_record() {
	expect "$GRANTED" auth && sed -i 's/^grace = 300$/grace = 2/' "$CONF" &&
		expect "$ASKED_REFUSED" auth 000000 && [ -z "$(record)" ]
}
tap_check "config replaced with grace = 2: the cached record is expired under it, refused and removed" \
	shorter_grace_expires_cached_record

# 7: a config made unsafe is refused, even with its parsed form in memory
sed -i 's/^grace = 2$/grace = 300/' "$CONF"
config_made_world_writable() {
	expect "$EARNED" auth "${C[3]}" && sleep "$SETTLE" && expect "$GRANTED" auth &&
		chmod 0666 "$CONF" && call auth 000000 && [ "$R" = "rc=3 prompts=0" ] &&
		chmod 0644 "$CONF" && expect "$GRANTED" auth
}
tap_check "a config made world-writable is refused at the next call (service error); fixed, the grace holds" \
	config_made_world_writable

# 8: the process moves to a new audit session
sleep "$SETTLE"
expect "$GRANTED" auth
call new-audit-session
if [ "$R" != ok ]; then
	tap_skip "a new audit session in the same process is another session" "cannot write /proc/self/loginuid: $R"
elif expect "$ASKED_REFUSED" auth 000000; then
	tap_ok "a new audit session in the same process is another session: asked"
else
	tap_not_ok "a new audit session in the same process is another session: asked"
fi
