#!/bin/bash
# bench/oneshot.sh: the one-shot cost of a grace-path step-up, as sudo pays
# it: a new process each time (pamtester: pam_start, which loads the
# module, pam_authenticate on the grace path, pam_end, which unloads it),
# beside pam_permit in the same run, calls interleaved. Never run by
# `make check`. As root, from a built tree (make tests/root.stamp):
#
#     bash bench/oneshot.sh [-n N] [--module PATH] [--also LABEL=PATH]...
#                           [--stepupctl PATH]
#
# Prints p50 and p90 in microseconds of a whole pamtester run for each, and
# the difference of the p50s (what pam_stepup adds to a process that
# authenticates). --also adds another build of the module (an older
# commit, say) to the same run, each its own PAM service, all interleaved,
# so that two builds are compared under the same load. Needs pamtester and oathtool. Its files live in one
# mktemp directory and two /etc/pam.d services, removed on exit.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
N=500
MODULE=${STEPUP_MODULE:-$TOP/tests/root/lib/x86_64-linux-gnu/security/pam_stepup.so}
ALSO=()
STEPUPCTL=${STEPUPCTL:-$TOP/tests/root/usr/local/sbin/stepupctl}
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	--module) MODULE=$2; shift ;;
	--also) ALSO+=("$2"); shift ;;
	--stepupctl) STEPUPCTL=$2; shift ;;
	*) echo "usage: $0 [-n N] [--module PATH] [--also LABEL=PATH]... [--stepupctl PATH]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "oneshot.sh: run as root" >&2; exit 1; }
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
W=$(mktemp -d /tmp/stepup-oneshot.XXXXXX)
chmod 0755 "$W"
PERMIT=permit-oneshot-$$
LABELS=("pam_stepup grace path") PATHS=("$MODULE")
for a in "${ALSO[@]}"; do LABELS+=("pam_stepup grace path, ${a%%=*}"); PATHS+=("${a#*=}"); done
cleanup() {
	rm -rf -- "$W"
	rm -f "/etc/pam.d/$PERMIT"
	for i in "${!PATHS[@]}"; do rm -f "/etc/pam.d/stepup-oneshot-$$-$i"; done
}
trap cleanup EXIT
echo "auth required pam_permit.so" >"/etc/pam.d/$PERMIT"
# Each build: its own tree and service, enrolled, and a grace record earned
# in this session; the state is per tree, so each first code is fresh.
for i in "${!PATHS[@]}"; do
	D=$W/$i
	mkdir -m 0755 "$D"
	cat >"$D/stepup.conf" <<CONF
[global]
user_dir = $D/users
state_dir = $D/state
grace_dir = $D/grace
hostkey = $D/hostkey
grace = 3600
fail_delay = 0
methods = totp
CONF
	chmod 0644 "$D/stepup.conf"
	"$STEPUPCTL" -c "$D/stepup.conf" init >/dev/null
	"$STEPUPCTL" -c "$D/stepup.conf" enroll root totp --secret "$SECRET" >/dev/null
	SVC=stepup-oneshot-$$-$i
	echo "auth required ${PATHS[$i]} config=$D/stepup.conf" >"/etc/pam.d/$SVC"
	oathtool --totp -b "$SECRET" | pamtester "$SVC" root authenticate >/dev/null 2>&1 ||
		{ echo "oneshot.sh: the first step-up through ${PATHS[$i]} failed" >&2; exit 1; }
	pamtester "$SVC" root authenticate </dev/null >/dev/null 2>&1 ||
		{ echo "oneshot.sh: no grace after the first step-up (no session to bind to?)" >&2; exit 1; }
done
one() { # SERVICE: microseconds of one pamtester run
	local t0 t1
	t0=$(date +%s%N)
	pamtester "$1" root authenticate </dev/null >/dev/null 2>&1 || { echo "oneshot.sh: $1 failed" >&2; exit 1; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
for _ in $(seq "$N"); do
	for i in "${!PATHS[@]}"; do one "stepup-oneshot-$$-$i" >>"$W/stepup$i.us"; done
	one "$PERMIT" >>"$W/permit.us"
done
pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100); if (i<1) i=1; print a[i]}'; }
p50=$(pct "$W/permit.us" 50)
echo "| process | p50 µs | p90 µs | p50 above pam_permit |"
echo "| --- | ---: | ---: | ---: |"
echo "| pamtester, pam_permit | $p50 | $(pct "$W/permit.us" 90) | |"
for i in "${!PATHS[@]}"; do
	s50=$(pct "$W/stepup$i.us" 50)
	echo "| pamtester, ${LABELS[$i]} | $s50 | $(pct "$W/stepup$i.us" 90) | $((s50 - p50)) |"
done
echo "n=$N each, interleaved; load $(cut -d' ' -f1-3 /proc/loadavg)"
