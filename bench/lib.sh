# bench/lib.sh: shell helpers shared by the bench scripts
# (sourced, not run).
# shellcheck shell=bash

# The module trusts files only below root-owned directories that others
# cannot write (sticky ones such as /tmp excepted).
safe_chain() { # DIR
	local d owner mode
	d=$(realpath "$1")
	while :; do
		read -r owner mode < <(stat -c '%u %a' "$d")
		if [ "$owner" != 0 ] || { [ $((8#$mode & 8#022)) -ne 0 ] && [ $((8#$mode & 8#1000)) -eq 0 ]; }; then
			echo "$d (uid $owner, mode $mode)"
			return 1
		fi
		[ "$d" = / ] && return 0
		d=$(dirname "$d")
	done
}

# top_functions FILE CALLS ROWS: the ROWS functions of a callgrind output
# with the most self cost, per call (CALLS calls collected), as a table.
top_functions() {
	callgrind_annotate --inclusive=no "$1" 2>/dev/null | awk -v n="$2" -v rows="$3" '
		BEGIN { printf "%9s %6s  %s  %s\n", "Ir/call", "share", "function", "object" }
		/PROGRAM TOTALS/ || !/^ *[0-9,]+ \( *[0-9.]+%\) / { next }
		++seen <= rows {
			ir = $1; gsub(/,/, "", ir); share = $0; sub(/^[^(]*\( */, "", share); sub(/\).*/, "", share)
			fn = $0; sub(/^[^)]*\) +/, "", fn); obj = ""
			if (match(fn, / \[.*\]$/)) { obj = substr(fn, RSTART + 2, RLENGTH - 3); fn = substr(fn, 1, RSTART - 1) }
			sub(/^[^:]*:/, "", fn); sub(/.*\//, "", obj)
			printf "%9d %6s  %s  %s\n", ir / n, share, fn, obj
		}'
}

# start_receiver PATH: a throwaway syslog receiver, a datagram socket at
# PATH that drops everything; its pid in RECEIVER_PID (the caller kills it).
# Calls the caller's die if it does not come up.
start_receiver() { # PATH: a datagram socket that drops everything
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
while True: s.recv(65536)' "$1" &
	RECEIVER_PID=$!
	for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	die "the throwaway receiver did not start"
}

# private_devlog SOURCE: IN_NS, the prefix that runs a command in a private
# mount namespace with SOURCE bind-mounted over /dev/log (the host's
# receiver untouched). Calls the caller's die without unshare --mount.
private_devlog() {
	unshare --mount --propagation private true 2>/dev/null ||
		die "a private /dev/log needs unshare --mount (a private mount namespace)"
	# shellcheck disable=SC2016 # expanded by the inner sh
	IN_NS=(unshare --mount --propagation private -- sh -c 'mount --bind "$0" /dev/log && exec "$@"' "$1")
}

# syslog_discard DIR: pam_syslog's lines go to a throwaway receiver that
# drops them: DIR/log.sock bind-mounted over /dev/log (private_devlog) when
# the host has one, else a receiver created at /dev/log itself
# (CREATED_DEVLOG_INODE: syslog_cleanup removes it). DISCARD_CASE says
# which, for the report.
syslog_discard() {
	if [ -e /dev/log ]; then
		start_receiver "$1/log.sock"
		private_devlog "$1/log.sock"
		DISCARD_CASE="throwaway receiver bind-mounted over /dev/log in a private mount namespace"
	else
		start_receiver /dev/log
		CREATED_DEVLOG_INODE=$(stat -c %i /dev/log)
		DISCARD_CASE="throwaway receiver at /dev/log, removed at exit"
	fi
}

# syslog_cleanup: stops the receiver of syslog_discard and removes the
# /dev/log it created (only if it is still that socket).
syslog_cleanup() {
	if [ -n "${RECEIVER_PID:-}" ]; then
		kill "$RECEIVER_PID" 2>/dev/null || true
		wait "$RECEIVER_PID" 2>/dev/null || true
	fi
	if [ -n "${CREATED_DEVLOG_INODE:-}" ] &&
		[ "$(stat -c %i /dev/log 2>/dev/null)" = "$CREATED_DEVLOG_INODE" ]; then
		rm -f /dev/log
	fi
}

# percentiles FILE: "p50 p99 mean" in µs over every sample of FILE (one
# time in ns per line, as pam_bench --samples writes them); nearest rank
percentiles() {
	sort -n "$1" | awk '{ v[NR] = $1; sum += $1 }
		function at(p, r) { r = int((NR * p + 99) / 100); return v[r > 0 ? r : 1] / 1e3 }
		END { printf "%.1f %.1f %.1f\n", at(50), at(99), sum / NR / 1e3 }'
}
