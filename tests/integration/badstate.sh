#!/bin/bash
# Bad state files: truncated, empty, binary, oversized, wrongly owned, too
# open. The module refuses clearly and fails closed (the right code does
# not get through), `stepupctl status` names the file and the problem, and
# nothing is overwritten: the state and the record are byte for byte what
# they were.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program pamtester oathtool sha256sum

SVC=stepup-badstate-$$
tap_plan 7
install_traps
make_tree badstate "tries = 1"
printf 'auth required %s config=%s\n' "$STEPUP_MODULE" "$CONF" >"/etc/pam.d/$SVC"
add_cleanup rm -f "/etc/pam.d/$SVC"
T0=$(mid_step "$(date +%s)")
U=bads$$
SU=$(secret_for "$U")
enroll "$U" "$SU" || tap_bail "enroll failed"
STATE=$T/var/lib/stepup/state/$U
RECORD=$T/etc/stepup/users/$U
# a real state first: one success
pt "$T0" "$SVC" "$U" "$(code_at "$T0" "$SU")" || tap_bail "the first step-up failed"
GOOD=$T/good.state
cp -p "$STATE" "$GOOD"
step=1

# case NAME REASON-IN-STATUS MAKE-COMMAND...: break the state with the
# command, then check refusal, status and that nothing changed.
case_bad() {
	local name=$1 reason=$2 before_state before_record st rc e
	shift 2
	cp -p "$GOOD" "$STATE"
	"$@"
	before_state=$(sha256sum <"$STATE")
	before_record=$(sha256sum <"$RECORD")
	e=$((T0 + 30 * step))
	step=$((step + 1))
	refused "$e" "$SVC" "$U" "$(code_at "$e" "$SU")"
	rc=$?
	st=$("$STEPUPCTL" -c "$CONF" status "$U" 2>&1)
	local st_rc=$?
	tap_diag "status: exit $st_rc: $st"
	state_refused_status_names_file() {
		[ "$rc" = 0 ] && grep -qF "unavailable" "$T/pt.out" &&
			[ "$st_rc" = 1 ] && [[ $st == *"$STATE"* ]] && [[ $st == *"$reason"* ]] &&
			[ "$(sha256sum <"$STATE")" = "$before_state" ] &&
			[ "$(sha256sum <"$RECORD")" = "$before_record" ]
	}
	tap_check "$name state: refused, status names the file and '$reason', nothing overwritten" \
		state_refused_status_names_file
}

truncate_state() { head -c 20 "$GOOD" >"$STATE"; }
empty_state() { : >"$STATE"; }
binary_state() { head -c 300 /dev/urandom >"$STATE"; printf '\0\1\2' >>"$STATE"; }
big_state() { { cat "$GOOD"; for _ in $(seq 1 400); do echo "pad$RANDOM=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; done; } >"$STATE"; }
owned_state() { chown 65534 "$STATE"; }
open_state() { chmod 0644 "$STATE"; }
symlink_state() { rm -f "$STATE"; ln -s "$GOOD" "$STATE"; }

case_bad truncated "truncated" truncate_state
case_bad empty "empty file" empty_state
case_bad binary "binary data" binary_state
case_bad oversized "larger than" big_state
case_bad "wrongly owned" "not owned by root" owned_state
case_bad "group/world-readable" "mode 0644" open_state
case_bad symlinked "symbolic link" symlink_state
