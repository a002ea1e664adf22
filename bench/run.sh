#!/bin/bash
# bench/run.sh: latency of pam_authenticate through pam_stepup, against
# pam_permit as the floor. Run as root from a built tree (make tests/root.stamp):
#
#     bash bench/run.sh [options]
#
#   -n N               timed calls per path (default 2000)
#   -w N               untimed warm-up calls per path and round (default 20)
#   --rounds R         the timed calls of every path are made in R rounds
#                      (default 10), the paths taking turns within a round,
#                      so that a slow spell of the machine falls on every
#                      path alike; percentiles are over all of a path's calls
#   --callgrind-n N    calls per path under callgrind (default 200)
#   --no-callgrind     skip the instruction counts
#   --strace-n N       calls of the right-code path under strace (default 200)
#   --no-strace        skip the syscall breakdown
#   --cold-n N         processes per path for the one-call-per-process rows
#                      (default 200; 0 skips them): what each sudo pays,
#                      module load and first-call set-up included
#   --syslog MODE      what pam_syslog talks to (default host):
#                        host     whatever /dev/log is on this host, as it is
#                        discard  a throwaway python3 receiver that drops every
#                                 line; created at /dev/log if there is none
#                                 (removed at exit), otherwise bind-mounted over
#                                 /dev/log in a private mount namespace so the
#                                 host's receiver sees nothing
#                        none     no receiver: each send fails at once (the
#                                 floor); /dev/log covered by a plain file in a
#                                 private mount namespace if it exists
#   --tmpdir DIR       where the private tree goes (default $TMPDIR or /tmp);
#                      its filesystem is what the state fsyncs hit
#   --no-tmpfs         skip the extra right-code row with a second tree on
#                      /dev/shm (tmpfs: fsync returns at once, so the
#                      difference between the two rows is the disk)
#   --module PATH      pam_stepup.so  (default $STEPUP_MODULE or tests/root/...)
#   --stepupctl PATH   stepupctl      (default $STEPUPCTL or tests/root/...)
#   --permit PATH      pam_permit.so  (default: beside pam_unix.so)
#   --keep             keep the private tree (printed at exit)
#
# Everything it creates lives in one mktemp directory that is removed on
# exit, interrupt or error. It is never run by `make check`.
set -euo pipefail

ORIG_ARGS="$*"
ORIG_ARGV=("$@")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
N=2000 WARMUP=20 ROUNDS=10 CG_N=200 ST_N=200 COLD_N=200 CALLGRIND=1 STRACE=1 TMPFS=1 SYSLOG=host KEEP=0
TMPBASE=${TMPDIR:-/tmp}
MODULE=${STEPUP_MODULE:-$TOP/tests/root/lib/x86_64-linux-gnu/security/pam_stepup.so}
STEPUPCTL=${STEPUPCTL:-$TOP/tests/root/usr/local/sbin/stepupctl}
PERMIT=${PAM_PERMIT:-}
USER_NAME=bench
GRACE_USER=root # grace records bind a uid: an account NSS knows
# 20 bytes (160 bits), base32; fixed so runs are comparable
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ

die() { echo "run.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	-w) WARMUP=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--callgrind-n) CG_N=$2; shift ;;
	--no-callgrind) CALLGRIND=0 ;;
	--strace-n) ST_N=$2; shift ;;
	--no-strace) STRACE=0 ;;
	--cold-n) COLD_N=$2; shift ;;
	--syslog) SYSLOG=$2; shift ;;
	--tmpdir) TMPBASE=$2; shift ;;
	--no-tmpfs) TMPFS=0 ;;
	--module) MODULE=$2; shift ;;
	--stepupctl) STEPUPCTL=$2; shift ;;
	--permit) PERMIT=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage ;;
	*) echo "run.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done
case $SYSLOG in host | discard | none) ;; *) die "--syslog: host, discard or none" ;; esac

[ "$(id -u)" = 0 ] || die "run as root: the module refuses to run otherwise"
# The grace row binds to this shell's session: its audit session id if it
# has one, else the session leader, which cannot be seen from inside a PID
# namespace entered from outside (docker exec): then run again under setsid.
if [ "$(cat /proc/self/sessionid)" != 4294967295 ]; then
	OWN_BINDING="this login's audit session"
else
	OWN_BINDING="no audit session (tty/sid binding)"
	stat=$(</proc/$$/stat)
	read -r _ _ _ sid _ <<<"${stat##*) }"
	if [ "$sid" = 0 ] && [ -z "${BENCH_SETSID:-}" ]; then
		BENCH_SETSID=1 exec setsid -w bash "$0" "${ORIG_ARGV[@]}"
	fi
fi
MODULE=$(realpath -e "$MODULE") || die "no module; run 'make tests/root.stamp' or pass --module"
STEPUPCTL=$(realpath -e "$STEPUPCTL") || die "no stepupctl; run 'make tests/root.stamp' or pass --stepupctl"
if [ -z "$PERMIT" ]; then
	for d in /lib/*/security /usr/lib/*/security /lib/security /usr/lib/security; do
		if [ -f "$d/pam_unix.so" ] && [ -f "$d/pam_permit.so" ]; then
			PERMIT=$d/pam_permit.so
			break
		fi
	done
fi
[ -f "$PERMIT" ] || die "pam_permit.so not found beside pam_unix.so; pass --permit"
for p in gcc pkg-config python3; do
	command -v $p >/dev/null || die "$p is not installed"
done
command -v valgrind >/dev/null || CALLGRIND=0
command -v strace >/dev/null || STRACE=0

# --- cleanup -------------------------------------------------------------------
W='' W2='' RECEIVER_PID='' CREATED_DEVLOG_INODE=''
cleanup() {
	syslog_cleanup
	for dir in "$W" "$W2"; do
		[ -n "$dir" ] || continue
		if [ "$KEEP" = 1 ]; then echo "kept $dir" >&2; else rm -rf -- "$dir"; fi
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# safe_chain DIR: see bench/lib.sh
. "$HERE/lib.sh"

START=$SECONDS
W=$(mktemp -d "$TMPBASE/stepup-bench.XXXXXX")
chmod 0755 "$W"
bad=$(safe_chain "$W") || die "$bad is not a safe parent for the tree; use --tmpdir"
if [ "$TMPFS" = 1 ]; then
	if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && safe_chain /dev/shm >/dev/null; then
		W2=$(mktemp -d /dev/shm/stepup-bench.XXXXXX)
		chmod 0755 "$W2"
	else
		echo "run.sh: /dev/shm is not a safe tmpfs; no tmpfs row" >&2
		TMPFS=0
	fi
fi

# --- build ---------------------------------------------------------------------
# shellcheck disable=SC2046
gcc -std=c11 -O2 -Wall -Wextra -o "$W/pam_bench" "$HERE/pam_bench.c" \
	$(pkg-config --cflags --libs pam liboath)

# --- the private tree, the user, the services ------------------------------------
make_tree() { # DIR: config, host key, user, PAM services under DIR
	local t=$1
	cat >"$t/stepup.conf" <<-EOF
		# written by bench/run.sh
		[global]
		user_dir = $t/etc/stepup/users
		state_dir = $t/var/lib/stepup/state
		grace_dir = $t/run/stepup/grace
		hostkey = $t/etc/stepup/hostkey
		methods = totp
		totp_window = 1
		tries = 3
		# no delay after a failure: the bench measures the module's work
		fail_delay = 0
		# every call is a full step-up: no grace records ...
		grace = 0
		# ... and wrong codes never lock the bench user out
		lockout_attempts = 0
	EOF
	chmod 0644 "$t/stepup.conf"
	"$STEPUPCTL" -c "$t/stepup.conf" init >"$t/init.log" 2>&1 ||
		die "stepupctl init: $(cat "$t/init.log")"
	"$STEPUPCTL" -c "$t/stepup.conf" enroll "$USER_NAME" totp --secret "$SECRET" \
		>"$t/enroll.log" 2>&1 || die "stepupctl enroll: $(cat "$t/enroll.log")"
	# the grace row's user: its own state, so priming it uses no code of
	# the right-code rows
	"$STEPUPCTL" -c "$t/stepup.conf" enroll "$GRACE_USER" totp --secret "$SECRET" \
		>>"$t/enroll.log" 2>&1 || die "stepupctl enroll: $(cat "$t/enroll.log")"
	mkdir -m 0755 "$t/pam.d"
	echo "auth required $PERMIT" >"$t/pam.d/bench-permit"
	echo "auth required $MODULE config=$t/stepup.conf" >"$t/pam.d/bench-stepup"
	echo "auth required $MODULE config=$t/stepup.conf tries=1" >"$t/pam.d/bench-stepup-tries1"
	# grace records on: after one success, every call is the grace path
	echo "auth required $MODULE config=$t/stepup.conf grace=300" >"$t/pam.d/bench-grace"
	chmod 0644 "$t"/pam.d/*
}
make_tree "$W"
if [ "$TMPFS" = 1 ]; then make_tree "$W2"; fi
STATE=var/lib/stepup/state/$USER_NAME

# --- syslog ----------------------------------------------------------------------
devlog_live() {
	python3 - <<-'EOF' 2>/dev/null
		import socket
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.connect('/dev/log')
	EOF
}
# syslog_discard, private_devlog (IN_NS: the prefix that runs a command
# with a private /dev/log): see bench/lib.sh
IN_NS=()
if [ -e /dev/log ]; then
	if devlog_live; then HOST_LOG="a live receiver at /dev/log"; else HOST_LOG="/dev/log exists but refuses connections"; fi
else
	HOST_LOG="no /dev/log"
fi
case $SYSLOG in
host)
	SYSLOG_CASE="host: $HOST_LOG"
	[ -e /dev/log ] || SYSLOG_CASE="$SYSLOG_CASE (every pam_syslog send fails fast)"
	;;
discard)
	syslog_discard "$W"
	SYSLOG_CASE="discard: $DISCARD_CASE (host: $HOST_LOG)"
	;;
none)
	if [ -e /dev/log ]; then
		: >"$W/not-a-socket"
		private_devlog "$W/not-a-socket"
		SYSLOG_CASE="none: /dev/log covered by a plain file in a private mount namespace, sends fail fast (host: $HOST_LOG, untouched)"
	else
		SYSLOG_CASE="none: no /dev/log, sends fail fast"
	fi
	;;
esac

# --- runs --------------------------------------------------------------------------
# path label | pam_bench arguments
LABELS=(
	"pam_permit"
	"pam_stepup, right code"
	"pam_stepup, wrong code (tries=3)"
	"pam_stepup, wrong code (tries=1)"
	"pam_stepup, grace record (no prompt), $OWN_BINDING"
	"pam_stepup, grace record (no prompt), new audit session"
)
ARGS=(
	"-d $W/pam.d -s bench-permit -c any"
	"-d $W/pam.d -s bench-stepup -c right --state-file $W/$STATE --secret $SECRET"
	"-d $W/pam.d -s bench-stepup -c wrong --secret $SECRET"
	"-d $W/pam.d -s bench-stepup-tries1 -c wrong --secret $SECRET"
	"-d $W/pam.d -s bench-grace -u $GRACE_USER -c any --answer not-a-code --expect success"
	"-d $W/pam.d -s bench-grace -u $GRACE_USER -c any --answer not-a-code --expect success"
)
RIGHT=1 # index of the right-code path
GRACE=4 # index of the grace path: any prompt would fail the run
AUDIT=5 # the grace path in an audit session of its own (see row_run)
if ! (echo 0 >/proc/self/loginuid) 2>/dev/null; then
	echo "run.sh: cannot write /proc/self/loginuid (no CAP_AUDIT_CONTROL, or loginuid is immutable): no audit-session rows" >&2
	unset 'LABELS[AUDIT]' 'ARGS[AUDIT]'
	AUDIT=-1
fi
if [ "$TMPFS" = 1 ]; then
	LABELS+=("pam_stepup, right code, state on tmpfs")
	ARGS+=("-d $W2/pam.d -s bench-stepup -c right --state-file $W2/$STATE --secret $SECRET")
fi

# prime_grace: one success through the grace service writes a grace record
# for this session; the grace rows then never prompt (their answer is not a
# code: a prompt fails the run).
prime_grace() {
	"${IN_NS[@]}" "$W/pam_bench" -u "$GRACE_USER" -d "$W/pam.d" -s bench-grace -c right \
		--state-file "$W/var/lib/stepup/state/$GRACE_USER" --secret "$SECRET" -n 1 -w 0 >/dev/null
}
# row_run INDEX COMMAND...: run a row's command. Logins through pam_loginuid
# (sshd, login) have an audit session id, and then the binding is audit=ID
# with no /proc/PID/stat read. Writing /proc/self/loginuid as root starts a
# new audit session that children inherit: the audit rows' commands run in
# a subshell that does so and primes its own record first. Every call reads
# the record and checks its HMAC: nothing is kept between calls.
row_run() {
	local i=$1
	shift
	if [ "$i" = "$AUDIT" ]; then
		(echo 0 >/proc/self/loginuid && prime_grace && "$@")
	else
		"$@"
	fi
}
bench() { # INDEX [extra pam_bench args]; prints pam_bench's result line
	local i=$1
	shift
	# shellcheck disable=SC2086
	row_run "$i" "${IN_NS[@]}" "$W/pam_bench" -u "$USER_NAME" ${ARGS[$i]} "$@"
}
field() { # LINE KEY
	sed -n "s/.*\\<$2=\\([^ ]*\\).*/\\1/p" <<<"$1"
}

# One untimed success with the previous step's code, so the state file
# exists and every timed right-code call replaces it (the steady state).
bench $RIGHT -n 1 -w 0 --prime >/dev/null
if [ "$TMPFS" = 1 ]; then bench $((${#ARGS[@]} - 1)) -n 1 -w 0 --prime >/dev/null; fi
prime_grace

declare -a P50 P99 MEAN IR
for i in "${!ARGS[@]}"; do : >"$W/samples.$i"; done
for r in $(seq "$ROUNDS"); do
	echo "timing: round $r of $ROUNDS (n=$N per path in all) ..." >&2
	n=$(((N * r) / ROUNDS - (N * (r - 1)) / ROUNDS))
	[ "$n" -ge 1 ] || continue
	for i in "${!ARGS[@]}"; do
		bench "$i" -n "$n" -w "$WARMUP" --samples "$W/samples.$i" >/dev/null ||
			die "timing run failed: ${LABELS[$i]}"
	done
done
for i in "${!ARGS[@]}"; do
	read -r "P50[i]" "P99[i]" "MEAN[i]" < <(percentiles "$W/samples.$i")
done

if [ "$CALLGRIND" = 1 ]; then
	for i in "${!ARGS[@]}"; do
		echo "callgrind: ${LABELS[$i]} (n=$CG_N) ..." >&2
		# shellcheck disable=SC2086
		row_run "$i" "${IN_NS[@]}" valgrind --tool=callgrind --collect-atstart=no \
			--callgrind-out-file="$W/callgrind.$i" "$W/pam_bench" -u "$USER_NAME" ${ARGS[$i]} \
			-n "$CG_N" -w 0 --callgrind >/dev/null 2>"$W/callgrind.$i.log" ||
			die "callgrind run failed: $(tail -5 "$W/callgrind.$i.log")"
		total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$W/callgrind.$i")
		IR[i]=$((total / CG_N))
	done
fi

# One process per call, as sudo and su run: pam_start (which loads the
# module and what it links), one pam_authenticate, pam_end, exit. The
# permit row is the floor (the driver's own start included in both).
cold() { # INDEX: mean µs per process over COLD_N processes
	local i=$1 t0 t1
	t0=$(date +%s%N)
	for _ in $(seq "$COLD_N"); do
		bench "$i" -n 1 -w 0 >/dev/null || die "cold run of ${LABELS[$i]} failed"
	done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / COLD_N / 1000))
}
declare -a COLD
if [ "$COLD_N" -gt 0 ]; then
	for i in 0 "$GRACE"; do
		echo "one call per process: ${LABELS[$i]} (n=$COLD_N) ..." >&2
		COLD[i]=$(cold "$i")
	done
fi

# --- report --------------------------------------------------------------------------
fs_of() { df -T "$1" | awk 'NR == 2 { print $2 " on " $1 " (" $7 ")" }'; }
echo
echo "## pam_stepup latency, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- host: $(uname -srm), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- state dir: $(fs_of "$W") — the right-code path fsyncs here"
echo "- syslog: $SYSLOG_CASE"
echo "- module: $MODULE"
echo "- n=$N timed calls per path in $ROUNDS rounds, the paths taking turns; each round one process and one pam handle per path after $WARMUP warm-up calls; instructions: callgrind, n=$CG_N"
echo
if [ "$CALLGRIND" = 1 ]; then
	echo "| path | p50 µs | p99 µs | mean µs | instructions/call |"
	echo "| --- | ---: | ---: | ---: | ---: |"
else
	echo "| path | p50 µs | p99 µs | mean µs |"
	echo "| --- | ---: | ---: | ---: |"
fi
for i in "${!ARGS[@]}"; do
	row="| ${LABELS[$i]} | ${P50[$i]} | ${P99[$i]} | ${MEAN[$i]} |"
	[ "$CALLGRIND" = 1 ] && row="$row ${IR[$i]} |"
	echo "$row"
done
echo
echo "Overhead above pam_permit (p50 / mean, µs):"
echo
base50=${P50[0]} basemean=${MEAN[0]}
for i in "${!ARGS[@]}"; do
	[ "$i" = 0 ] && continue
	awk -v l="${LABELS[$i]}" -v a="${P50[$i]}" -v b="$base50" \
		-v c="${MEAN[$i]}" -v d="$basemean" \
		'BEGIN { printf "- %s: +%.1f / +%.1f\n", l, a - b, c - d }'
done

if [ "$TMPFS" = 1 ]; then
	tmpfs=$((${#ARGS[@]} - 1))
	echo
	echo "Where the right-code overhead goes (p50 / mean, µs):"
	echo
	awk -v a="${P50[$RIGHT]}" -v b="${P50[$tmpfs]}" \
		-v c="${MEAN[$RIGHT]}" -v d="${MEAN[$tmpfs]}" \
		-v e="$base50" -v f="$basemean" -v fs="$(df -T "$W" | awk 'NR == 2 { print $2 }')" 'BEGIN {
		printf "- the filesystem under the state dir (%s with its fsyncs, minus tmpfs): %.1f / %.1f (%.0f%% / %.0f%%)\n",
			fs, a - b, c - d, 100 * (a - b) / (a - e), 100 * (c - d) / (c - f)
		printf "- everything else in the module (tmpfs row minus pam_permit): %.1f / %.1f\n", b - e, d - f
	}'
fi

# annotate ROW: where that row's instructions go, self cost per call, top 12
annotate() {
	echo
	echo "Where the instructions of the ${LABELS[$1]} path go (callgrind, self cost per call, top 12):"
	echo
	echo '```'
	top_functions "$W/callgrind.$1" "$CG_N" 12
	echo '```'
}
if [ "$CALLGRIND" = 1 ] && command -v callgrind_annotate >/dev/null; then
	annotate "$RIGHT"
	annotate "$GRACE"
	if [ "$AUDIT" -ge 0 ]; then annotate "$AUDIT"; fi
fi

# Every syscall of one grace-path call (the last of a few, after warm-up:
# the steady state), and what the calls of a longer run write: nothing.
if [ "$STRACE" = 1 ]; then
	echo "strace: ${LABELS[$GRACE]} (n=$ST_N) ..." >&2
	# shellcheck disable=SC2086
	"${IN_NS[@]}" strace -f -o "$W/strace.grace" "$W/pam_bench" -u "$USER_NAME" \
		${ARGS[$GRACE]} -n "$ST_N" -w 20 --mark >/dev/null
	echo
	echo "Every syscall of one call of the ${LABELS[$GRACE]} path"
	echo "(strace; the last timed call of $ST_N, after 20 warm-up calls; lines cut at 120"
	echo "characters). Lines marked 'libpam' are libpam's own (pam_permit makes them too):"
	echo
	echo '```'
	awk '
		{ sub(/^[0-9]+ +/, "") }
		/^write\(-1, "pam_bench:begin"/ { on = 1; n = 0; next }
		/^write\(-1, "pam_bench:end"/ { on = 0; last = n; for (i = 1; i <= n; i++) keep[i] = cur[i]; next }
		on { cur[++n] = $0 }
		END {
			for (i = 1; i <= last; i++) {
				line = substr(keep[i], 1, 120)
				if (keep[i] ~ /NETLINK|nlmsg|TCGETS|^poll|^fcntl/) line = line "   [libpam]"
				print line
			}
		}' "$W/strace.grace"
	echo '```'
	echo
	awk -v n="$ST_N" '
		{ sub(/^[0-9]+ +/, "") }
		/^write\(-1, "pam_bench:begin"/ { on = 1; next }
		/^write\(-1, "pam_bench:end"/ { on = 0; next }
		on && /^(fsync|fdatasync|rename|renameat2?|unlink|unlinkat|write|pwrite64|ftruncate)\(/ { w++ }
		on && /^openat\(/ && /O_WRONLY|O_RDWR|O_CREAT/ { w++ }
		on && /^(openat|read)\(/ { io[$0 ~ /^openat/ ? "opens" : "reads"]++ }
		END {
			printf "Over all %d timed calls: %d opens (%.1f per call), %d reads, %d writes, renames, unlinks or fsyncs.\n",
				n, io["opens"], io["opens"] / n, io["reads"], w
		}' "$W/strace.grace"
fi

if [ "$STRACE" = 1 ]; then
	echo "strace: ${LABELS[$RIGHT]} (n=$ST_N) ..." >&2
	# shellcheck disable=SC2086
	"${IN_NS[@]}" strace -f -T -o "$W/strace.out" "$W/pam_bench" -u "$USER_NAME" \
		${ARGS[$RIGHT]} -n "$ST_N" -w 0 --mark >"$W/strace.res"
	echo
	echo "Where the time of the right-code path goes: strace -f -T over $ST_N calls, syscalls"
	echo "inside the timed calls only. strace adds a fixed cost to every syscall; the"
	echo "'net' column takes off the fastest syscall seen (the tracer's floor). Mean"
	echo "call: ${MEAN[$RIGHT]} µs untraced, $(field "$(cat "$W/strace.res")" mean_us) µs traced."
	echo
	echo "| syscall | calls/auth | µs/auth traced | µs/auth net | share of net |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	awk -v n="$ST_N" '
		{ sub(/^[0-9]+ +/, "") }
		/^write\(-1, "pam_bench:begin"/ { on = 1; next }
		/^write\(-1, "pam_bench:end"/ { on = 0; next }
		on && match($0, /<[0-9.]+>$/) {
			name = $0; sub(/\(.*/, "", name)
			t = substr($0, RSTART + 1, RLENGTH - 2) * 1e6
			cnt[name]++; us[name] += t; calls++; total += t
			if (floor == "" || t < floor) floor = t
		}
		END {
			net_total = total - calls * floor
			for (s in us) {
				net = us[s] - cnt[s] * floor
				printf "%f\t| %s | %.1f | %.1f | %.1f | %.0f%% |\n", net, s, cnt[s] / n,
					us[s] / n, net / n, 100 * net / net_total
			}
			printf "-1\t| all (floor %.0f µs) | %.1f | %.1f | %.1f | 100%% |\n", floor,
				calls / n, total / n, net_total / n
		}' "$W/strace.out" | sort -t"$(printf '\t')" -k1,1 -g -r | cut -f2-
fi

if [ "$COLD_N" -gt 0 ]; then
	echo
	echo "One call per process (pam_start, one pam_authenticate, pam_end, exit; mean of $COLD_N processes):"
	echo
	echo "- ${LABELS[0]}: ${COLD[0]} µs"
	echo "- ${LABELS[$GRACE]}: ${COLD[$GRACE]} µs (+$((COLD[GRACE] - COLD[0])) µs)"
fi

echo
echo "took $((SECONDS - START)) s: bash bench/run.sh $ORIG_ARGS" | sed 's/ *$//'
