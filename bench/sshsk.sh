#!/bin/bash
# The time of a step-up with a security key (method sshsk: the user's
# ssh-agent, a software key, tests/helpers/sk_soft.c), beside a TOTP
# step-up, in the same run: N pamtester calls of each, each a whole
# pam_authenticate through the system's libpam (process start, config,
# store, and for sshsk: the fork that connects as the user, the agent's
# list and signature, the verification and the state write). Prints p50,
# p90 and max in ms. Not part of make check; not an assertion.
#
#   STEPUP_MODULE=... STEPUPCTL=... TOP_SRCDIR=... TOP_BUILDDIR=... bash bench/sshsk.sh [N]
#
# A hardware key adds the time the user takes to touch it; this measures
# everything else.
# shellcheck shell=bash
N=${1:-30}
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program pamtester oathtool ssh-agent ssh-add ssh-keygen useradd userdel setpriv

SK=$(realpath "$TOP_BUILDDIR/tests/helpers/.libs/sk_soft.so") || tap_bail "sk_soft is not built"
U=stepupbk$$
SVC=stepup-bench-sshsk-$$
install_traps
add_cleanup "rm -f /etc/pam.d/$SVC"
add_cleanup "for _ in \$(seq 50); do userdel $U 2>/dev/null && break; sleep 0.1; done"
make_tree bench-sshsk "methods = totp,sshsk" "lockout_attempts = 0"
useradd -M -N -s /usr/sbin/nologin "$U" || tap_bail "useradd failed"
gid=$(id -g "$U")
D=$T/agent
mkdir -m 0700 "$D" && chown "$U:$gid" "$D"
printf 'up=1\n' >"$D/mode" && chown "$U" "$D/mode"
as_u() { setpriv --reuid "$U" --regid "$gid" --clear-groups -- "$@"; }
SK_SOFT_MODE=$D/mode as_u ssh-agent -a "$D/sock" -P "${SK%/*}/*" >"$D/env" 2>&1 || tap_bail "ssh-agent failed"
add_cleanup "kill $(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$D/env") 2>/dev/null"
as_u ssh-keygen -q -t ed25519-sk -w "$SK" -f "$D/key" -N '' -C bench >/dev/null 2>&1 &&
	SSH_AUTH_SOCK=$D/sock as_u ssh-add -S "$SK" "$D/key" >/dev/null 2>&1 || tap_bail "key setup failed"
S=$(secret_for "$U")
enroll "$U" "$S" || tap_bail "enroll failed"
printf 'auth required %s config=%s\n' "$STEPUP_MODULE" "$CONF" >"/etc/pam.d/$SVC"

T0=$(mid_step "$(date +%s)")
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
stats() { # LABEL FILE
	sort -n "$2" | awk -v l="$1" '{a[NR]=$1} END {printf "| %-28s | %4d | %6d | %6d | %6d |\n", l, NR, a[int((NR+1)/2)], a[int(NR*0.9+0.5)], a[NR]}'
}
: >"$T/totp.ms"
: >"$T/sshsk.ms"
# TOTP first (the user has no key enrolled yet), then the key; the clock
# (libfaketime, both alike) moves on a step per call.
for ((i = 0; i < N; i++)); do
	e=$((T0 + 30 * i))
	c=$(code_at "$e" "$S")
	start=$(date +%s%N)
	at_time "$e" env -u SSH_AUTH_SOCK pamtester "$SVC" "$U" authenticate <<<"$c" >/dev/null 2>&1 ||
		tap_bail "TOTP step-up $i failed"
	ms "$start" >>"$T/totp.ms"
done
"$STEPUPCTL" -c "$CONF" enroll "$U" sshkey "$D/key.pub" >/dev/null || tap_bail "enroll sshkey failed"
for ((i = 0; i < N; i++)); do
	e=$((T0 + 30 * (N + i)))
	start=$(date +%s%N)
	at_time "$e" env SSH_AUTH_SOCK="$D/sock" pamtester "$SVC" "$U" authenticate </dev/null >"$T/out" 2>&1 ||
		tap_bail "security-key step-up $i failed: $(cat "$T/out")"
	ms "$start" >>"$T/sshsk.ms"
done
echo "| step-up (pamtester, whole call) | n | p50 ms | p90 ms | max ms |"
echo "|---|---|---|---|---|"
stats "TOTP code (oathtool)" "$T/totp.ms"
stats "security key (sk_soft, agent)" "$T/sshsk.ms"
