#!/bin/bash
# Real sudo and real su through pam_stepup. sudo uses a test PAM service of
# its own (sudoers' pam_service option), so /etc/pam.d/sudo is never
# touched; su's service name is fixed, so /etc/pam.d/su is replaced for the
# test and put back (checked at the end). Throwaway users, group and the
# sudoers drop-in are removed on every exit path.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program sudo su visudo setpriv oathtool useradd groupadd
own_visible_session "$0" "$@"

ID=$$
U=stepupsu$ID A=stepupsa$ID B=stepupsb$ID G=stepupsg$ID
SUDOERS=/etc/sudoers.d/stepup-test-$ID
SUDO_SVC=stepup-sudo-$ID
created_users=()

cleanup() {
	local u
	rm -f "$SUDOERS" "/etc/pam.d/$SUDO_SVC"
	# userdel, and the sudo timestamp record a successful sudo may leave
	for u in "${created_users[@]}"; do
		userdel "$u" 2>/dev/null
		rm -f "/run/sudo/ts/$u"
	done
	groupdel "$G" 2>/dev/null
}

tap_plan 12
# sudo_plugin.sh rewrites /etc/sudo.conf for its run (a plugin whose test
# rules may ask for every command): not while this test runs sudo.
exec {SUDO_CONF_LOCK}>>/run/pam-test-sudo-conf.lock
flock -w 600 "$SUDO_CONF_LOCK" || tap_bail "the sudo.conf lock is held too long"
install_traps
add_cleanup cleanup
make_tree sudo "grace = 300" "methods = totp, sshsk" "sshsk_timeout = 10"
make_sock_dir

groupadd "$G" || tap_bail "groupadd failed"
for u in "$U" "$A" "$B"; do
	useradd -M -g "$G" -s /bin/sh "$u" || tap_bail "useradd $u failed"
	created_users+=("$u")
done
SU_SECRET=$(secret_for "$U") SA=$(secret_for "$A") SB=$(secret_for "$B")
enroll "$U" "$SU_SECRET" && enroll "$A" "$SA" && enroll "$B" "$SB" || tap_bail "enroll failed"

printf 'auth required %s config=%s\naccount required pam_permit.so\nsession required pam_permit.so\n' \
	"$STEPUP_MODULE" "$CONF" >"/etc/pam.d/$SUDO_SVC"
cat >"$T/sudoers" <<EOF
Defaults:$U timestamp_timeout=0
Defaults:$U pam_service=$SUDO_SVC
Defaults:$U !lecture
Defaults:$U env_keep += "SSH_AUTH_SOCK"
$U ALL=(ALL) ALL
Defaults:$B timestamp_timeout=0
Defaults:$B pam_service=$SUDO_SVC
Defaults:$B !lecture
$B ALL=(ALL) ALL
EOF
visudo -cqf "$T/sudoers" || tap_bail "the sudoers drop-in does not parse"
install -m 0440 "$T/sudoers" "$SUDOERS"

# as_user USER INPUT CMD...: run CMD as USER with INPUT on stdin; output in $T/out
as_user() {
	local user=$1 input=$2
	shift 2
	printf '%s\n' "$input" | timeout -k 5 60 setpriv --reuid="$user" --regid="$G" \
		--init-groups "$@" >"$T/out" 2>&1
	local rc=$?
	{ echo "\$ (as $user) $*   # stdin: ${input:-<empty>}"; cat "$T/out"; echo "exit $rc"; } |
		tee -a "$T/transcript" | tap_log
	return $rc
}
asked() { grep -qF "Verification code" "$T/out"; }
# code_now SECRET: the TOTP code of this moment. Taken as the argument of
# the call that types it, so that it is read just before that call, not
# before the calls ahead of it (each may take long on a loaded machine).
code_now() { code_at "$(date +%s)" "$1"; }

sudo_first_call_asks_code() { as_user "$U" "$(code_now "$SU_SECRET")" sudo -S true && asked; }
tap_check "sudo: the first call asks for the code and succeeds" sudo_first_call_asks_code
sudo_second_call_same_session() { as_user "$U" "" sudo -S true && ! asked; }
tap_check "sudo: a second call in the same session, within grace, does not ask" \
	sudo_second_call_same_session
"$STEPUPCTL" -c "$CONF" grace revoke "$U" | tap_log
sudo_after_stepupctl_grace() { ! as_user "$U" "" sudo -S true && asked; }
tap_check "sudo: after stepupctl grace revoke it asks again" sudo_after_stepupctl_grace
sudo_wrong_code_refused() { ! as_user "$U" "000000" sudo -S true && asked; }
tap_check "sudo: a wrong code is refused, sudo exits non-zero" sudo_wrong_code_refused

# su with identity=ruser: the caller's code, not the target's
take_su_stack 'auth required %s config=%s identity=ruser grace=0\naccount required pam_permit.so\nsession required pam_permit.so\n' \
	"$STEPUP_MODULE" "$CONF"
su_accepts_callers_code() { as_user "$A" "$(code_now "$SA")" su "$B" -c true && asked; }
tap_check "su B by A with identity=ruser: A's code is accepted" su_accepts_callers_code
su_refuses_targets_code() { ! as_user "$A" "$(code_now "$SB")" su "$B" -c true && asked; }
tap_check "su B by A with identity=ruser: B's code is refused" su_refuses_targets_code

# identity=ruser in a program that leaves PAM_RUSER empty (pamtester here,
# run with the real uid A and the effective uid 0, like a setuid program):
# the real uid's user steps up. (Regression: the looked-up name was
# overwritten by the next lookup, and root stepped up instead of A.)
RUSER_SVC=stepup-ruser-$ID
printf 'auth required %s config=%s identity=ruser missing=allow grace=0\n' \
	"$STEPUP_MODULE" "$CONF" >"/etc/pam.d/$RUSER_SVC"
as_caller() { # USER ANSWER: pamtester with ruid USER, euid 0 (no faketime:
	# ld.so ignores LD_PRELOAD when ruid and euid differ)
	printf '%s\n' "$2" | timeout -k 5 60 python3 -c '
import os, pwd, sys
os.setresuid(pwd.getpwnam(sys.argv[1]).pw_uid, 0, 0)
os.execvp("pamtester", ["pamtester", sys.argv[2], sys.argv[3], "authenticate"])
' "$1" "$RUSER_SVC" "$A" >"$T/out" 2>&1
	local rc=$?
	{ echo "\$ (ruid $1, euid 0) pamtester $RUSER_SVC $A   # stdin: ${2:-<empty>}"
	  cat "$T/out"; echo "exit $rc"; } | tap_log
	return "$rc"
}
# B as the caller: B's codes were only refused so far, never used up
identity_ruser_without_pam_ruser() {
	! as_caller "$B" "" && asked && ! as_caller "$B" "$(code_now "$SA")" &&
		as_caller "$B" "$(code_now "$SB")"
}
tap_check "identity=ruser without PAM_RUSER: the real uid's user is asked and only their code works" \
	identity_ruser_without_pam_ruser
rm -f "/etc/pam.d/$RUSER_SVC"

# --- security keys (method sshsk): the user's own ssh-agent with an sk_soft
# key (no hardware), found through SSH_AUTH_SOCK in sudo's and su's
# environment, which is the caller's.
SK=$TOP_BUILDDIR/tests/helpers/.libs/sk_soft.so
agent_for() { # USER: an agent in $SOCKS/agent-USER with a key enrolled for USER
	local u=$1 d=$SOCKS/agent-$1 pid
	{ mkdir -m 0700 "$d" && chown "$u:$G" "$d" && printf 'up=1\n' >"$d/mode" &&
		chown "$u" "$d/mode"; } || return 1
	SK_SOFT_MODE=$d/mode setpriv --reuid="$u" --regid="$G" --clear-groups \
		ssh-agent -a "$d/sock" -P "${SK%/*}/*" >"$d/env" 2>&1 || return 1
	pid=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$d/env")
	[ -n "$pid" ] && add_cleanup "kill '$pid' 2>/dev/null"
	setpriv --reuid="$u" --regid="$G" --clear-groups ssh-keygen -q -t ecdsa-sk -w "$SK" \
		-f "$d/key" -N '' -C "$u-sk" >"$d/out" 2>&1 &&
		SSH_AUTH_SOCK=$d/sock setpriv --reuid="$u" --regid="$G" --clear-groups \
			ssh-add -S "$SK" "$d/key" >>"$d/out" 2>&1 &&
		"$STEPUPCTL" -c "$CONF" enroll "$u" sshkey "$d/key.pub" >>"$d/out" 2>&1
}
if [ -f "$SK" ] && command -v ssh-agent >/dev/null && command -v ssh-add >/dev/null; then
	SK=$(realpath "$SK")
	agent_for "$U" && agent_for "$A" && agent_for "$B" || tap_bail "the test agents failed: $(cat "$SOCKS"/agent-*/out)"
	"$STEPUPCTL" -c "$CONF" grace revoke "$U" >/dev/null 2>&1
	sudo_with_key() {
		SSH_AUTH_SOCK=$SOCKS/agent-$U/sock as_user "$U" "" sudo -S sh -c 'echo "sock=${SSH_AUTH_SOCK:-none}"' &&
			! asked && grep -qx "sock=$SOCKS/agent-$U/sock" "$T/out" &&
			state_text "$T/var/lib/stepup/state/$U" | grep -q '^sshsk_counter_[0-9a-f]*=[1-9]'
	}
	# sudo -S without a terminal shows no PAM_TEXT_INFO: the counter kept
	# in the state is what says the key signed.
	tap_check "sudo with the user's agent: the key signed (its counter kept), no code asked; env_keep hands the agent to the command" sudo_with_key
	"$STEPUPCTL" -c "$CONF" grace revoke "$U" >/dev/null 2>&1
	printf 'refuse=1\n' >"$SOCKS/agent-$U/mode"
	sudo_key_refused() {
		# The next step's code (totp_window 1): this step's may be used.
		SSH_AUTH_SOCK=$SOCKS/agent-$U/sock as_user "$U" "$(code_at $(($(date +%s) + 30)) "$SU_SECRET")" \
			sudo -S true && asked
	}
	tap_check "sudo, the key not touched: the prompt follows and the TOTP code works" sudo_key_refused
	su_with_callers_key() {
		SSH_AUTH_SOCK=$SOCKS/agent-$A/sock as_user "$A" "" su "$B" -c true && ! asked &&
			grep -qF "Security key accepted." "$T/out"
	}
	tap_check "su B by A with identity=ruser: A's key through A's agent, no code asked" su_with_callers_key
	# Without env_keep, sudo has already replaced its environment when it
	# authenticates: the module sees no agent, and the prompt follows.
	sudo_without_env_keep() {
		SSH_AUTH_SOCK=$SOCKS/agent-$B/sock as_user "$B" "$(code_at $(($(date +%s) + 30)) "$SB")" \
			sudo -S true && asked &&
			! state_text "$T/var/lib/stepup/state/$B" | grep -q '^sshsk_counter_'
	}
	tap_check "sudo without env_keep += SSH_AUTH_SOCK: no agent seen, the TOTP prompt follows" sudo_without_env_keep
else
	for c in "sudo with the user's agent" "sudo, the key not touched" "su B by A with a key" \
		"sudo without env_keep"; do
		tap_skip "$c" "sk_soft or ssh-agent missing"
	done
fi

run_cleanups
left=()
[ -e "$SUDOERS" ] && left+=("$SUDOERS")
[ -e "/etc/pam.d/$SUDO_SVC" ] && left+=("/etc/pam.d/$SUDO_SVC")
for u in "$U" "$A" "$B"; do getent passwd "$u" >/dev/null && left+=("user $u"); done
[ "$(sha256sum </etc/pam.d/su)" = "$SU_SUM" ] || left+=("/etc/pam.d/su differs from the original")
tap_check --not-ok "cleanup: left ${left[*]}" \
	"cleanup: users, sudoers drop-in and service removed, /etc/pam.d/su restored" \
	[ ${#left[@]} -eq 0 ]
