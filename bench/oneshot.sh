#!/bin/bash
# bench/oneshot.sh: the one-shot cost of a grace-path step-up, as sudo pays
# it: a new process each time (pamtester: pam_start, which loads the
# module, pam_authenticate on the grace path, pam_end, which unloads it),
# beside pam_permit in the same run, calls interleaved. Never run by
# `make check`. As root, from a built tree (make tests/root.stamp):
#
#     bash bench/oneshot.sh [-n N] [--module PATH] [--stepupctl PATH]
#
# Prints p50 and p90 in microseconds of a whole pamtester run for each, and
# the difference of the p50s (what pam_stepup adds to a process that
# authenticates). Needs pamtester and oathtool. Its files live in one
# mktemp directory and two /etc/pam.d services, removed on exit.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
N=500
MODULE=${STEPUP_MODULE:-$TOP/tests/root/lib/x86_64-linux-gnu/security/pam_stepup.so}
STEPUPCTL=${STEPUPCTL:-$TOP/tests/root/usr/local/sbin/stepupctl}
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	--module) MODULE=$2; shift ;;
	--stepupctl) STEPUPCTL=$2; shift ;;
	*) echo "usage: $0 [-n N] [--module PATH] [--stepupctl PATH]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "oneshot.sh: run as root" >&2; exit 1; }
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
W=$(mktemp -d /tmp/stepup-oneshot.XXXXXX)
chmod 0755 "$W"
SVC=stepup-oneshot-$$ PERMIT=permit-oneshot-$$
cleanup() { rm -rf -- "$W"; rm -f "/etc/pam.d/$SVC" "/etc/pam.d/$PERMIT"; }
trap cleanup EXIT
cat >"$W/stepup.conf" <<CONF
[global]
user_dir = $W/users
state_dir = $W/state
grace_dir = $W/grace
hostkey = $W/hostkey
grace = 3600
fail_delay = 0
methods = totp
CONF
chmod 0644 "$W/stepup.conf"
"$STEPUPCTL" -c "$W/stepup.conf" init >/dev/null
"$STEPUPCTL" -c "$W/stepup.conf" enroll root totp --secret "$SECRET" >/dev/null
echo "auth required $MODULE config=$W/stepup.conf" >"/etc/pam.d/$SVC"
echo "auth required pam_permit.so" >"/etc/pam.d/$PERMIT"
# earn the grace record in this session
oathtool --totp -b "$SECRET" | pamtester "$SVC" root authenticate >/dev/null 2>&1 ||
	{ echo "oneshot.sh: the first step-up failed" >&2; exit 1; }
pamtester "$SVC" root authenticate </dev/null >/dev/null 2>&1 ||
	{ echo "oneshot.sh: no grace after the first step-up (no session to bind to?)" >&2; exit 1; }
one() { # SERVICE: microseconds of one pamtester run
	local t0 t1
	t0=$(date +%s%N)
	pamtester "$1" root authenticate </dev/null >/dev/null 2>&1 || { echo "oneshot.sh: $1 failed" >&2; exit 1; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
for _ in $(seq "$N"); do
	one "$SVC" >>"$W/stepup.us"
	one "$PERMIT" >>"$W/permit.us"
done
pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100); if (i<1) i=1; print a[i]}'; }
s50=$(pct "$W/stepup.us" 50) p50=$(pct "$W/permit.us" 50)
echo "| process | p50 µs | p90 µs |"
echo "| --- | ---: | ---: |"
echo "| pamtester, pam_permit | $p50 | $(pct "$W/permit.us" 90) |"
echo "| pamtester, pam_stepup grace path | $s50 | $(pct "$W/stepup.us" 90) |"
echo "pam_stepup adds $((s50 - p50)) µs (p50) to a process that authenticates; n=$N each, load $(cut -d' ' -f1-3 /proc/loadavg)"
