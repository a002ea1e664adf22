#!/bin/bash
# bench/sudo.sh: what the sudo approval plugin adds to a command that no
# [sudo] rule names: a whole `sudo true` process run by root (no password,
# so only sudo and the plugin are timed), with /etc/sudo.conf loading the
# plugin and without it, the two interleaved in the same run. Never run by
# `make check`. As root, from a built tree (make tests/root.stamp):
#
#     bash bench/sudo.sh [-n N] [--plugin PATH]
#
# Prints p50 and p90 in microseconds for each and the difference of the
# p50s. /etc/sudo.conf is backed up first and put back byte for byte on
# exit (removed if there was none); the config lives in one mktemp
# directory, removed on exit. Not a timed assertion: a measurement.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
N=200
PLUGIN=${STEPUP_SUDO_PLUGIN:-$TOP/tests/root/usr/local/lib/pam_stepup/stepup_sudo.so}
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	--plugin) PLUGIN=$2; shift ;;
	*) echo "usage: $0 [-n N] [--plugin PATH]" >&2; exit 2 ;;
	esac
	shift
done
die() { echo "bench/sudo.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
[ -f "$PLUGIN" ] || die "no plugin at $PLUGIN (make tests/root.stamp)"
PLUGIN=$(realpath "$PLUGIN")

D=$(mktemp -d /run/stepup-bench-sudo.XXXXXX)
HAD_CONF=0
[ -e /etc/sudo.conf ] && { cp -a /etc/sudo.conf "$D/sudo.conf.orig"; HAD_CONF=1; }
restore() {
	if [ "$HAD_CONF" = 1 ]; then cp -a "$D/sudo.conf.orig" /etc/sudo.conf; else rm -f /etc/sudo.conf; fi
	rm -rf "$D"
}
trap restore EXIT
trap 'exit 130' INT TERM

# Two rules that do not name /usr/bin/true: the plugin reads the config,
# compiles and matches them, and approves.
cat >"$D/stepup.conf" <<EOF
[sudo]
stepup_command = /usr/bin/systemctl *
stepup_command = group=pkg /usr/bin/apt *
EOF
chmod 0644 "$D/stepup.conf"
{ [ "$HAD_CONF" = 1 ] && cat "$D/sudo.conf.orig"
  echo "Plugin stepup_approval $PLUGIN config=$D/stepup.conf"; } >"$D/sudo.conf.plugin"
if [ "$HAD_CONF" = 1 ]; then cp "$D/sudo.conf.orig" "$D/sudo.conf.plain"; else : >"$D/sudo.conf.plain"; fi
chmod 0644 "$D/sudo.conf.plugin" "$D/sudo.conf.plain"

one() { # LABEL: one timed sudo true, in µs, appended to $D/LABEL
	cp "$D/sudo.conf.$1" /etc/sudo.conf
	local a b
	a=$(date +%s%N)
	sudo /usr/bin/true
	b=$(date +%s%N)
	echo $(((b - a) / 1000)) >>"$D/$1"
}
# warm-up, then interleaved
for _ in 1 2 3 4 5; do one plain; one plugin; done
: >"$D/plain"; : >"$D/plugin"
for ((i = 0; i < N; i++)); do one plain; one plugin; done

pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; print v[i] }'; }
P50A=$(pct "$D/plain" 50) P90A=$(pct "$D/plain" 90)
P50B=$(pct "$D/plugin" 50) P90B=$(pct "$D/plugin" 90)
printf 'sudo /usr/bin/true, %d runs each, interleaved (µs, whole process)\n' "$N"
printf '%-28s p50 %7d  p90 %7d\n' "without the plugin" "$P50A" "$P90A"
printf '%-28s p50 %7d  p90 %7d\n' "with stepup_sudo.so" "$P50B" "$P90B"
printf 'the plugin adds (p50): %d µs\n' $((P50B - P50A))
