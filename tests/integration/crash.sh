#!/bin/bash
# Crash safety: writers of one user's state and record (the store's write
# paths, tests/helpers/state_writer) are SIGKILLed at random moments, 100
# times. After every kill: the state and the record still parse (the module
# and stepupctl read them), the counter is at least the last value a writer
# reported committed (nothing acknowledged is lost), and no file the module
# would read is a leftover temporary (those are dot files, never read).
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
WRITER=$TOP_BUILDDIR/tests/helpers/state_writer
[ -x "$WRITER" ] || tap_bail "no $WRITER (make check builds it)"

ROUNDS=${CRASH_ROUNDS:-100}
shopt -s nullglob
tap_plan 4
install_traps
make_tree crash "lockout_attempts = 0"
U=crashuser
enroll "$U" "$(secret_for "$U")" || tap_bail "enroll failed"
STATE=$T/var/lib/stepup/state/$U
RECORD=$T/etc/stepup/users/$U
PIDS=()
kill_writers() { local p; for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; PIDS=(); }
add_cleanup kill_writers

# n in a kv file (0 if absent)
n_of() { state_text "$1" | sed -n 's/^n=\([0-9]*\)$/\1/p' | head -1; }
parses() { # FILE: version=1 first, then key=value lines only
	awk 'NR == 1 { if ($0 != "version=1") exit 1; next }
	     !/^[A-Za-z0-9_.-]+=/ { exit 1 }' "$1"
}

bad_parse=0 lost=0 status_fail=0 leftovers=0 max_seen=0 kills=0
for r in $(seq 1 "$ROUNDS"); do
	: >"$T/w1.out"; : >"$T/w2.out"
	"$WRITER" "$CONF" "$U" >"$T/w1.out" 2>"$T/w1.err" & PIDS=($!)
	"$WRITER" "$CONF" "$U" >"$T/w2.out" 2>"$T/w2.err" & PIDS+=($!)
	# 1 to 40 ms: somewhere in the middle of a write, fsync or rename
	sleep "0.0$(printf '%02d' $((RANDOM % 40 + 1)))"
	kill_writers
	kills=$((kills + 2))
	reported=$(cat "$T/w1.out" "$T/w2.out" | sort -n | tail -1)
	reported=${reported:-0}
	# a writer killed before its first commit leaves no state yet: fine,
	# as long as none reported a commit
	if [ -e "$STATE" ] || [ "$reported" != 0 ]; then
		state_text "$STATE" >"$T/state.txt" && parses "$T/state.txt" || { bad_parse=$((bad_parse + 1)); tap_diag "round $r: state does not parse"; }
	fi
	parses "$RECORD" || { bad_parse=$((bad_parse + 1)); tap_diag "round $r: record does not parse"; }
	n=$(n_of "$STATE"); n=${n:-0}
	if [ "$n" -lt "$reported" ]; then
		lost=$((lost + 1))
		tap_diag "round $r: state n=$n but a writer reported $reported committed"
	fi
	[ "$n" -gt "$max_seen" ] && max_seen=$n
	"$STEPUPCTL" -c "$CONF" status "$U" >/dev/null 2>"$T/status.err" ||
		{ status_fail=$((status_fail + 1)); tap_diag "round $r: status: $(cat "$T/status.err")"; }
	# anything but the user's own files and dot files is a leftover the
	# store would trip on (a record named like a user that is not one)
	for dir in "$T/var/lib/stepup/state" "$T/etc/stepup/users"; do
		for f in "$dir"/*; do
			[ "$(basename "$f")" = "$U" ] || { leftovers=$((leftovers + 1)); tap_diag "round $r: leftover $f"; }
		done
	done
done
tap_diag "$ROUNDS rounds, $kills writers killed, state counter reached $max_seen"

tap_check --not-ok "after $kills SIGKILLs mid-write, the state and the record always parse ($bad_parse failures)" \
	"after $kills SIGKILLs mid-write, the state and the record always parse" \
	[ "$bad_parse" = 0 ]
no_committed_update_was_lost() { [ "$lost" = 0 ] && [ "$max_seen" -gt 0 ]; }
tap_check --not-ok "no committed update was lost ($lost rounds lost one; counter reached $max_seen)" \
	"no committed update was lost (state counter >= last reported commit, every round)" \
	no_committed_update_was_lost
tap_check --not-ok "stepupctl status reads the user cleanly after every kill ($status_fail failures)" \
	"stepupctl status reads the user cleanly after every kill" \
	[ "$status_fail" = 0 ]
# The temporaries a killed writer leaves are dot files, which no reader
# takes for a record; the next writer replaces them.
SVC=stepup-crash-$$
printf 'auth required %s config=%s\n' "$STEPUP_MODULE" "$CONF" >"/etc/pam.d/$SVC"
add_cleanup rm -f "/etc/pam.d/$SVC"
NOW=$(mid_step "$(date +%s)")
only_dot_files_left_code_accepted() { [ "$leftovers" = 0 ] && pt "$NOW" "$SVC" "$U" "$(code_at "$NOW" "$(secret_for "$U")")"; }
tap_check "no leftover but dot files; the module then accepts the user's code" \
	only_dot_files_left_code_accepted
