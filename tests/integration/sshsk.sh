#!/bin/bash
# The method sshsk end to end through pamtester (docs/decisions.md,
# "Security keys over SSH"): a real ssh-agent run as a test user with
# sk_soft keys of both types (tests/helpers/sk_soft.c: no hardware),
# enrolled with stepupctl enroll USER sshkey; the module asks that agent
# for a signature, found through SSH_AUTH_SOCK in pamtester's environment.
# Accepted (grace written, counter kept), no touch, no PIN, a counter going
# backwards (refused, counted, logged), a key not in the agent and no
# agent at all (the prompt falls back to TOTP, whose oathtool code then
# works), and sockets the user points SSH_AUTH_SOCK at to do harm: another
# user's agent, a root-owned socket of another service, a regular file,
# garbage, silence (refused or fallback within sshsk_timeout, no crash).
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program pamtester oathtool valgrind ssh-agent ssh-add ssh-keygen useradd userdel setpriv realpath unshare
# Grace records bind to the session leader; CI runs where it is not
# visible (cases 6 and 7 failed there).
own_visible_session "$0" "$@"

SK=$TOP_BUILDDIR/tests/helpers/.libs/sk_soft.so
FAKE=$TOP_SRCDIR/tests/integration/sshsk_fake_agent.py
[ -f "$SK" ] || tap_bail "$SK is not built (make check builds tests/helpers/sk_soft.la)"
SK=$(realpath "$SK")
U=stepupsa$$ V=stepupsb$$ W=stepupsc$$
SERVICE=stepup-sshsk-$$
SERVICE_FILES=()

tap_plan 28
check_services_gone() {
	local f
	for f in "${SERVICE_FILES[@]}"; do rm -f "$f"; done
}
install_traps check_services_gone
remove_users() {
	local u _
	for u in "$U" "$V" "$W"; do
		for _ in $(seq 50); do
			userdel "$u" 2>/dev/null && break
			id "$u" >/dev/null 2>&1 || break
			sleep 0.1
		done
	done
}
add_cleanup remove_users
make_tree sshsk "methods = totp,sshsk" "grace = 120" "sshsk_timeout = 3" "lockout_attempts = 50"
make_sock_dir
write_conf "$T/pin.conf" "methods = totp,sshsk" "sshsk_require_pin = yes" "sshsk_timeout = 3" \
	"lockout_attempts = 50"
write_conf "$T/nosk.conf" "methods = totp" "lockout_attempts = 50"
write_conf "$T/vg.conf" "methods = totp,sshsk" "sshsk_timeout = 60" "lockout_attempts = 50"
for u in "$U" "$V" "$W"; do useradd -M -N -s /usr/sbin/nologin "$u" || tap_bail "useradd $u failed"; done

service() { # NAME CONF
	local f=/etc/pam.d/$SERVICE-$1
	SERVICE_FILES+=("$f")
	printf 'auth required %s config=%s\naccount required pam_permit.so\n' \
		"$STEPUP_MODULE" "$2" >"$f"
}
service main "$CONF"
service pin "$T/pin.conf"
service nosk "$T/nosk.conf"
service vg "$T/vg.conf"
log_receiver "$T/log"

# An agent for user NAME in $SOCKS/agent-NAME (0700, theirs), keys made there.
uid_of() { id -u "$1"; }
gid_of() { id -g "$1"; }
as() { local u=$1; shift; setpriv --reuid "$(uid_of "$u")" --regid "$(gid_of "$u")" --clear-groups -- "$@"; }
start_agent() { # USER
	local u=$1 d=$SOCKS/agent-$1 pid
	{ mkdir -m 0700 "$d" && chown "$u:$(gid_of "$u")" "$d"; } || tap_bail "cannot make $d"
	printf 'up=1\nuv=0\n' >"$d/mode" && chown "$u" "$d/mode"
	SK_SOFT_MODE=$d/mode as "$u" ssh-agent -a "$d/sock" -P "${SK%/*}/*" >"$d/env" 2>&1 ||
		tap_bail "ssh-agent failed: $(cat "$d/env")"
	pid=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$d/env")
	[ -n "$pid" ] || tap_bail "no agent pid in $(cat "$d/env")"
	add_cleanup "kill '$pid' 2>/dev/null"
}
keygen() { # USER TYPE NAME
	local d=$SOCKS/agent-$1
	as "$1" ssh-keygen -q -t "$2" -w "$SK" -f "$d/$3" -N '' -C "$1-$3" >"$d/keygen.out" 2>&1 ||
		tap_bail "ssh-keygen $2 failed: $(cat "$d/keygen.out")"
}
add_keys() { # USER NAME...
	local u=$1 d=$SOCKS/agent-$1 k
	shift
	for k in "$@"; do
		SSH_AUTH_SOCK=$d/sock as "$u" ssh-add -S "$SK" "$d/$k" >/dev/null 2>&1 ||
			tap_bail "ssh-add $k failed"
	done
}
set_mode() { local d=$SOCKS/agent-$1; shift; printf '%s\n' "$@" >"$d/mode"; }
fp() { ssh-keygen -lf "$1" | cut -d' ' -f2; }

start_agent "$U"
start_agent "$V"
start_agent "$W"
keygen "$U" ecdsa-sk ecdsa
keygen "$U" ed25519-sk ed25519
keygen "$W" ed25519-sk absent
keygen "$W" ecdsa-sk held
add_keys "$W" held
keygen "$U" ecdsa-sk spare
ssh-keygen -q -t ed25519 -f "$T/plain" -N '' -C plain || tap_bail "ssh-keygen ed25519 failed"
add_keys "$U" ecdsa ed25519
keygen "$V" ecdsa-sk vkey
add_keys "$V" vkey
DU=$SOCKS/agent-$U DV=$SOCKS/agent-$V
SU=$(secret_for "$U") SV=$(secret_for "$V") SW=$(secret_for "$W")
enroll "$U" "$SU" || tap_bail "enroll $U failed"
enroll "$V" "$SV" || tap_bail "enroll $V failed"
enroll "$W" "$SW" || tap_bail "enroll $W failed"

ctl() { "$STEPUPCTL" -c "$CONF" "$@" >"$T/ctl.out" 2>&1; local r=$?; { echo "\$ stepupctl $* (exit $r)"; cat "$T/ctl.out"; } | tap_log; return $r; }

# --- stepupctl ------------------------------------------------------------------
enrol_both() {
	cat "$DU/ecdsa.pub" "$DU/ed25519.pub" >"$T/both.pub"
	ctl enroll "$U" sshkey "$T/both.pub" && ctl status "$U" &&
		grep -qF "security key: $(fp "$DU/ecdsa.pub") sk-ecdsa-sha2-nistp256@openssh.com $U-ecdsa" "$T/ctl.out" &&
		grep -qF "security key: $(fp "$DU/ed25519.pub") sk-ssh-ed25519@openssh.com $U-ed25519" "$T/ctl.out"
}
tap_check "enroll USER sshkey FILE: both key types; status lists them by fingerprint and comment" enrol_both
refuse_plain() {
	cat "$DU/spare.pub" "$T/plain.pub" >"$T/mixed.pub"
	! ctl enroll "$U" sshkey "$T/mixed.pub" &&
		grep -q "line 2: not a security-key public key" "$T/ctl.out" &&
		ctl status "$U" && ! grep -qF "$(fp "$DU/spare.pub")" "$T/ctl.out"
}
tap_check "a file with an ssh-ed25519 key: refused naming line 2, nothing enrolled" refuse_plain
private_key() {
	! ctl enroll "$U" sshkey "$DU/spare" && grep -q "is a private key; give its public key" "$T/ctl.out" &&
		! grep -q "BEGIN" "$T/ctl.out"
}
tap_check "the private key file given for its .pub: refused as such, none of it echoed" private_key
stdin_enrol() {
	"$STEPUPCTL" -c "$CONF" enroll "$U" sshkey - <"$DU/spare.pub" >"$T/ctl.out" 2>&1 &&
		ctl status "$U" && grep -qF "$(fp "$DU/spare.pub")" "$T/ctl.out"
}
tap_check "enroll USER sshkey - reads the key lines from stdin" stdin_enrol
remove_one() {
	ctl remove "$U" sshkey "$(fp "$DU/spare.pub")" && ctl status "$U" &&
		! grep -qF "$(fp "$DU/spare.pub")" "$T/ctl.out" &&
		grep -qF "$(fp "$DU/ecdsa.pub")" "$T/ctl.out" &&
		! ctl remove "$U" sshkey "SHA256:nosuchkey" && grep -q "has no security key" "$T/ctl.out"
}
tap_check "remove USER sshkey FINGERPRINT removes that key only; an unknown one is refused" remove_one
ctl enroll "$V" sshkey "$DV/vkey.pub" || tap_bail "enroll $V sshkey failed"
ctl enroll "$W" sshkey "$SOCKS/agent-$W/absent.pub" || tap_bail "enroll $W sshkey failed"

# --- the step-up ------------------------------------------------------------------
# skpt SOCKET|- SERVICE USER [INPUT...]: pamtester with SSH_AUTH_SOCK (none
# for -), the clock frozen at T0, the log into $T/log. Each call moves T0 on
# by a step, so the code of the next step (code USER-SECRET) is fresh.
T0=$(mid_step "$(date +%s)")
skpt() {
	local sock=$1 svc=$SERVICE-$2 user=$3 rc start
	shift 3
	T0=$((T0 + 30))
	printf '%s\n' "$@" >"$T/pt.in"
	start=$(date +%s%N)
	if [ "$sock" = - ]; then
		at_time "$T0" env -u SSH_AUTH_SOCK "${IN_NS[@]}" pamtester "$svc" "$user" authenticate \
			<"$T/pt.in" >"$T/pt.out" 2>&1
	else
		at_time "$T0" env SSH_AUTH_SOCK="$sock" "${IN_NS[@]}" pamtester "$svc" "$user" authenticate \
			<"$T/pt.in" >"$T/pt.out" 2>&1
	fi
	rc=$?
	ELAPSED=$((($(date +%s%N) - start) / 1000000))
	{ echo "--- SSH_AUTH_SOCK=$sock pamtester $svc $user: exit $rc, ${ELAPSED} ms"; cat "$T/pt.out"; } | tap_log
	return $rc
}
said() { grep -qF -- "$1" "$T/pt.out"; }
state_of() { state_text "$T/var/lib/stepup/state/$1"; }
fails() { state_of "$1" | sed -n 's/^fail_count=//p'; }
logged() { grep -qF -- "$1" "$T/log"; }
code() { code_at $((T0 + 30)) "$1"; }
ungrace() { rm -f "$T/run/stepup/grace/$1":*; }

accepted() {
	skpt "$DU/sock" main "$U" && said "Touch your security key to continue" &&
		said "Security key accepted." && ! said "Verification code" &&
		ls "$T/run/stepup/grace/$U":* >/dev/null 2>&1 &&
		state_of "$U" | grep -q '^sshsk_counter_[0-9a-f]\{16\}=[1-9]'
}
tap_check "step-up with the agent: accepted without a prompt, grace written, counter kept" accepted
grace_used() { set_mode "$U" refuse=1; skpt "$DU/sock" main "$U" && ! said "Touch"; }
tap_check "the grace record of a security-key step-up lets the next call through" grace_used
ungrace "$U"

set_mode "$U" up=0
no_touch() {
	! skpt "$DU/sock" main "$U" &&
		said "Security key refused: it was not touched" && said "Verification code" &&
		[ "$(fails "$U")" = 1 ] && logged "sshsk: $U: key"
}
tap_check "a signature without user presence: refused and counted, the prompt follows" no_touch
no_touch_then_totp() { skpt "$DU/sock" main "$U" "$(code "$SU")" && said "Security key refused"; }
tap_check "... and the TOTP code from oathtool is accepted after it" no_touch_then_totp
ungrace "$U"

set_mode "$U" up=1 uv=0
no_pin() { ! skpt "$DU/sock" pin "$U" && said "a PIN is required" && [ "$(fails "$U")" = 1 ]; }
tap_check "sshsk_require_pin = yes, no user verification: refused, counted" no_pin
set_mode "$U" up=1 uv=1
with_pin() { skpt "$DU/sock" pin "$U" && said "Security key accepted." && [ "$(fails "$U")" = "" ]; }
tap_check "sshsk_require_pin = yes, the PIN verified: accepted (the tally cleared)" with_pin
ungrace "$U"

set_mode "$U" up=1 uv=0 counter=2
backwards() {
	! skpt "$DU/sock" main "$U" && said "its signature counter went backwards" &&
		[ "$(fails "$U")" = 1 ] && logged "possible cloned security key"
}
tap_check "a counter going backwards: refused, counted, logged as a possible clone" backwards
set_mode "$U" up=1 uv=0

not_in_agent() {
	skpt "$SOCKS/agent-$W/sock" main "$W" "$(code "$SW")" &&
		said "No security key: none of your enrolled security keys is in your SSH agent; enter a verification code." &&
		! said "Touch" && [ "$(fails "$W")" = "" ]
}
tap_check "an enrolled key not in the agent: falls back to TOTP, nothing counted; the code works" not_in_agent
ungrace "$W"
no_agent() {
	skpt - main "$U" "$(code "$SU")" &&
		said "No security key: no SSH agent (SSH_AUTH_SOCK not set); enter a verification code."
}
tap_check "no agent: falls back with one line saying why; the TOTP code works" no_agent
ungrace "$U"
set_mode "$U" refuse=1
refused_touch() { skpt "$DU/sock" main "$U" "$(code "$SU")" && said "was not touched, or the agent refused" && [ "$(fails "$U")" = "" ]; }
tap_check "no touch (the agent's failure): fallback, not counted" refused_touch
ungrace "$U"
set_mode "$U" up=1
rule_without() { skpt "$DU/sock" nosk "$U" "$(code "$SU")" && ! said "Touch" && ! said "No security key"; }
tap_check "a rule without sshsk never asks the agent" rule_without
ungrace "$U"
only_key() { ! skpt - main "$V" && said "No security key: no SSH agent (SSH_AUTH_SOCK not set)" ; }
"$STEPUPCTL" -c "$CONF" remove "$V" totp >/dev/null 2>&1
tap_check "a user with only a security key and no agent: refused, no prompt" only_key

# --- sockets the user chooses ----------------------------------------------------
# V's agent, opened to all: U's step-up connects as U and the peer is V.
others_agent() {
	chmod 0711 "$DV" && chmod 0666 "$DV/sock" || return 1
	skpt "$DV/sock" main "$U" "$(code "$SU")"
	local r=$?
	chmod 0700 "$DV"
	chmod 0600 "$DV/sock"
	[ $r = 0 ] && said "cannot reach your SSH agent" && ! said "Touch" && logged "another user's"
}
tap_check "SSH_AUTH_SOCK at another user's agent: refused (peer check), fallback" others_agent
ungrace "$U"
R=$SOCKS/rootsvc
mkdir -m 0755 "$R"
start_fake() { # MODE SOCKET USER|root [ARGS]
	local mode=$1 sock=$2 user=$3 out
	shift 3
	# Its own output file: a second agent of the same mode must not find the
	# first one's "ready".
	out=$(mktemp "$T/fake.$mode.XXXXXX") || tap_bail "mktemp failed"
	if [ "$user" = root ]; then
		"$TEST_PYTHON" "$FAKE" "$mode" "$sock" "$@" >"$out" 2>&1 &
	else
		setpriv --reuid "$(uid_of "$user")" --regid "$(gid_of "$user")" --clear-groups -- \
			"$TEST_PYTHON" "$FAKE" "$mode" "$sock" "$@" >"$out" 2>&1 &
	fi
	add_cleanup "kill $! 2>/dev/null"
	for _ in $(seq 50); do grep -q ready "$out" 2>/dev/null && return 0; sleep 0.1; done
	tap_bail "the fake agent ($mode) did not start: $(cat "$out")"
}
start_fake garbage "$R/garbage.sock" root
chmod 0666 "$R/garbage.sock"
root_service() {
	skpt "$R/garbage.sock" main "$U" "$(code "$SU")" && said "did not list its keys" &&
		! said "Touch" && [ "$(fails "$U")" = "" ]
}
tap_check "SSH_AUTH_SOCK at a root-owned socket of another service (answers garbage): fallback" root_service
ungrace "$U"
mkdir -m 0700 "$T/rootonly"
start_fake stall "$T/rootonly/sock" root
ln -s "$T/rootonly/sock" "$DU/link"
root_only() { skpt "$DU/link" main "$U" "$(code "$SU")" && said "cannot reach your SSH agent" && [ "$ELAPSED" -lt 3000 ]; }
tap_check "a symlink to a root-only socket: not reached (connect as the user), fallback" root_only
ungrace "$U"
: >"$DU/file"
regular_file() { skpt "$DU/file" main "$U" "$(code "$SU")" && said "cannot reach your SSH agent"; }
tap_check "SSH_AUTH_SOCK at a regular file: fallback" regular_file
ungrace "$U"
start_fake garbage "$DU/garbage.sock" "$U"
garbage() { skpt "$DU/garbage.sock" main "$U" "$(code "$SU")" && said "did not list its keys" && [ "$ELAPSED" -lt 3000 ]; }
tap_check "the user's socket answering garbage: fallback at once" garbage
ungrace "$U"
start_fake stall "$DU/stall.sock" "$U"
stall() { skpt "$DU/stall.sock" main "$U" "$(code "$SU")" && said "did not list its keys" && [ "$ELAPSED" -ge 2900 ] && [ "$ELAPSED" -lt 6000 ]; }
tap_check "the user's socket that never answers: fallback at sshsk_timeout (3 s)" stall
ungrace "$U"
ctl unlock "$U" >/dev/null
# Another user (V) as the caller (real uid V, effective uid 0, like su
# run by V with identity = user) names U's own agent: the child would
# reach it as U, and U's key would step U up for V.
as_caller() { # CALLER SOCKET SERVICE USER: pamtester with that real uid (no faketime)
	timeout -k 5 60 env SSH_AUTH_SOCK="$2" "${IN_NS[@]}" "$TEST_PYTHON" -c '
import os, pwd, sys
os.setresuid(pwd.getpwnam(sys.argv[1]).pw_uid, 0, 0)
os.execvp("pamtester", ["pamtester", sys.argv[2], sys.argv[3], "authenticate"])
' "$1" "$SERVICE-$3" "$4" </dev/null >"$T/pt.out" 2>&1
	local rc=$?
	{ echo "--- (ruid $1) SSH_AUTH_SOCK=$2 pamtester $3 $4: exit $rc"; cat "$T/pt.out"; } | tap_log
	return $rc
}
ctl unlock "$U" >/dev/null
ungrace "$U"
set_mode "$U" up=1 uv=0
not_callers() {
	local before after
	before=$(state_of "$U" | grep '^sshsk_counter_')
	! as_caller "$V" "$DU/sock" main "$U" && said "the SSH agent would be another user's" &&
		! said "Touch" && after=$(state_of "$U" | grep '^sshsk_counter_') && [ "$before" = "$after" ]
}
tap_check "another user as the caller naming the user's own agent: not asked, fallback" not_callers
ungrace "$U"
start_fake slowsign "$DU/slowsign.sock" "$U" "$DU/sock"
never_touched() {
	skpt "$DU/slowsign.sock" main "$U" "$(code "$SU")" && said "Touch your security key" &&
		said "No security key: no signature from your SSH agent in time; enter a verification code." &&
		[ "$ELAPSED" -ge 2900 ] && [ "$ELAPSED" -lt 6000 ] && [ "$(fails "$U")" = "" ]
}
tap_check "the key never touched (the agent lists, never signs): fallback at sshsk_timeout (3 s), not counted" never_touched
ungrace "$U"
add_keys "$U" spare
start_fake swap "$DU/swap.sock" "$U" "$DU/sock" "$DU/ecdsa.pub" "$DU/spare.pub"
swapped() {
	! skpt "$DU/swap.sock" main "$U" && said "the signature does not verify" &&
		[ "$(fails "$U")" = 1 ] && logged "does not verify"
}
tap_check "a signature by another key than the one asked for: refused, counted" swapped
ctl unlock "$U" >/dev/null
# valgrind, the real clock: an accepted key (the fork, the agent, the
# verification, the state write), then a refused one (no touch).
ctl unlock "$U" >/dev/null
set_mode "$U" up=1 uv=0
vg() { # LABEL
	timeout -k 5 300 env SSH_AUTH_SOCK="$DU/sock" valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite pamtester "$SERVICE-vg" "$U" authenticate \
		</dev/null >"$T/vg.$1.out" 2>&1
	local rc=$?
	{ echo "--- valgrind ($1): exit $rc"; cat "$T/vg.$1.out"; } | tap_log
	return $rc
}
valgrind_clean() {
	vg ok && grep -q "Security key accepted" "$T/vg.ok.out" || return 1
	set_mode "$U" up=0
	vg nouv
	local rc=$?
	set_mode "$U" up=1
	[ $rc = 1 ] && grep -q "it was not touched" "$T/vg.nouv.out"
}
tap_check "valgrind: a key accepted, and one refused: no errors, no definite leaks" valgrind_clean
no_core() { ! ls core* "$T"/core* >/dev/null 2>&1 && SSH_AUTH_SOCK=$DU/sock as "$U" ssh-add -l >/dev/null; }
tap_check "no crash anywhere; the user's agent still answers" no_core
