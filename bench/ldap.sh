#!/bin/bash
# bench/ldap.sh: pam_authenticate through the directory store (store = ldap)
# beside the files store, in one run, against a throwaway slapd on
# loopback; plus the grace path of each, pam_permit as the floor, and the
# directory operations each right-code call makes. Run as root from a built
# tree (make tests/root.stamp):
#
#     bash bench/ldap.sh [options]
#
#   -n N               timed calls per path (default 1000)
#   -w N               untimed warm-up calls per path and round (default 10)
#   --rounds R         the timed calls of every path are made in R rounds
#                      (default 5), the paths taking turns within a round,
#                      so that a slow spell of the machine falls on every
#                      path alike; percentiles are over all of a path's calls
#   --user NAME        the user of the right-code rows (default bench, as
#                      bench/run.sh; not root, the grace rows' user)
#   --strace-n N       calls per strace run (default 50): the proof that the
#                      grace path with store = ldap makes no connection, and
#                      the files each right-code call opens
#   --no-strace        skip both
#   --syslog MODE      host (default): whatever /dev/log is; discard: a
#                      throwaway receiver bind-mounted over /dev/log in a
#                      private mount namespace (created at /dev/log, and
#                      removed at exit, when there is none)
#   --tmpdir DIR       where the private tree goes (default $TMPDIR or /tmp);
#                      the state files, grace records and slapd's database
#                      all live there, so their fsyncs hit one filesystem
#   --module PATH      pam_stepup.so (default $STEPUP_MODULE, else tests/root/
#                      of this tree or of its build directory _b or _build)
#   --stepupctl PATH   stepupctl (default $STEPUPCTL, else found the same way)
#   --permit PATH      pam_permit.so (default: beside pam_unix.so)
#   --keep             keep the private tree (printed at exit); slapd is
#                      stopped all the same
#
# Right-code calls need a fresh code each: pam_bench --clock freezes the
# wall clock the module sees and moves it one 30 s step per call, so no
# step is used twice and nothing is put back between calls (the last step
# used is in the directory). Every PAM call with store = ldap opens its own
# connection: TCP, StartTLS, SASL EXTERNAL bind with a client certificate,
# then the operations, then unbind.
#
# Everything lives in one mktemp directory (slapd's configuration, database
# and log included) and the slapd started here is stopped, on exit,
# interrupt or error. The PAM services are files in a private confdir
# (pam_start_confdir): nothing is written to /etc/pam.d. It is never run by
# `make check`.
set -euo pipefail

ORIG_ARGS="$*"
ORIG_ARGV=("$@")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
N=1000 WARMUP=10 ROUNDS=5 ST_N=50 STRACE=1 SYSLOG=host KEEP=0
TMPBASE=${TMPDIR:-/tmp}
USER_NAME=bench
GRACE_USER=root # grace records bind a uid: an account NSS knows
HOST=benchhost  # the host's client certificate CN, a member of cn=stepup-hosts
# 20 bytes (160 bits), base32; the same as bench/run.sh's
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
PERIOD=30
TARGET_P50_US=5000 # the target: the ldap right-code p50 under 5 ms

die() { echo "ldap.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }

find_built() { # RELATIVE PATH under tests/root: the first that exists
	local d
	for d in "$TOP" "$TOP/_b" "$TOP/_build"; do
		[ -e "$d/tests/root/$1" ] && { echo "$d/tests/root/$1"; return 0; }
	done
	echo "$TOP/tests/root/$1"
}
MODULE=${STEPUP_MODULE:-}
STEPUPCTL=${STEPUPCTL:-}
PERMIT=${PAM_PERMIT:-}

while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	-w) WARMUP=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--user) USER_NAME=$2; shift ;;
	--strace-n) ST_N=$2; shift ;;
	--no-strace) STRACE=0 ;;
	--syslog) SYSLOG=$2; shift ;;
	--tmpdir) TMPBASE=$2; shift ;;
	--module) MODULE=$2; shift ;;
	--stepupctl) STEPUPCTL=$2; shift ;;
	--permit) PERMIT=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage ;;
	*) echo "ldap.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done
case $SYSLOG in host | discard) ;; *) die "--syslog: host or discard" ;; esac
if ! [[ $N =~ ^[1-9][0-9]*$ && $WARMUP =~ ^[0-9]+$ && $ROUNDS =~ ^[1-9][0-9]*$ &&
	$ST_N =~ ^[1-9][0-9]*$ ]]; then
	die "-n, -w, --rounds, --strace-n: numbers"
fi
[ "$N" -ge "$ROUNDS" ] || die "-n must be at least --rounds"
[ "$USER_NAME" != "$GRACE_USER" ] || die "--user: not $GRACE_USER (the grace rows' user)"
[[ $USER_NAME =~ ^[a-z_][a-z0-9_-]*$ ]] || die "--user: a plain user name"

[ "$(id -u)" = 0 ] || die "run as root: the module refuses to run otherwise"
# The grace rows bind to this shell's session: its audit session id if it
# has one, else the session leader, which cannot be seen from inside a PID
# namespace entered from outside (docker exec): then run again under setsid.
if [ "$(cat /proc/self/sessionid)" = 4294967295 ]; then
	stat=$(</proc/$$/stat)
	read -r _ _ _ sid _ <<<"${stat##*) }"
	if [ "$sid" = 0 ] && [ -z "${BENCH_SETSID:-}" ]; then
		# Not exec: a session of its own is out of reach of the terminal's
		# ^C, so this shell stays and passes INT and TERM on (as TERM:
		# the child then cleans up). A background job of a script is no
		# process group leader: setsid runs the child in place ($! is it).
		BENCH_SETSID=1 setsid bash "$0" "${ORIG_ARGV[@]}" &
		child=$!
		trap 'kill -TERM "$child" 2>/dev/null' INT TERM
		rc=0
		wait "$child" || rc=$?
		while kill -0 "$child" 2>/dev/null; do wait "$child" || rc=$?; done
		exit "$rc"
	fi
fi
MODULE=$(realpath -e "${MODULE:-$(find_built lib/x86_64-linux-gnu/security/pam_stepup.so)}") ||
	die "no module; run 'make tests/root.stamp' or pass --module"
STEPUPCTL=$(realpath -e "${STEPUPCTL:-$(find_built usr/local/sbin/stepupctl)}") ||
	die "no stepupctl; run 'make tests/root.stamp' or pass --stepupctl"
if [ -z "$PERMIT" ]; then
	for d in /lib/*/security /usr/lib/*/security /lib/security /usr/lib/security; do
		if [ -f "$d/pam_unix.so" ] && [ -f "$d/pam_permit.so" ]; then
			PERMIT=$d/pam_permit.so
			break
		fi
	done
fi
[ -f "$PERMIT" ] || die "pam_permit.so not found beside pam_unix.so; pass --permit"
for p in gcc pkg-config python3 openssl slapd ldapsearch ldapadd; do
	command -v $p >/dev/null || die "$p is not installed"
done
if [ "$STRACE" = 1 ] && ! command -v strace >/dev/null; then
	echo "ldap.sh: no strace: no syscall evidence" >&2
	STRACE=0
fi

# --- the harness: tests/ldap/lib_ldap.sh on top of tests/lib.sh ----------------
# lib_ldap.sh wants TOP_SRCDIR, T (the tree), add_cleanup, free_port,
# tap_bail and tap_diag from tests/lib.sh. Sourcing it defines functions
# only; its TAP reporting is replaced by plain messages here.
TOP_SRCDIR=$TOP
# shellcheck source=SCRIPTDIR/../tests/lib.sh
. "$TOP/tests/lib.sh"
# shellcheck source=SCRIPTDIR/../tests/ldap/lib_ldap.sh
. "$TOP/tests/ldap/lib_ldap.sh"
tap_bail() { die "$*"; }
tap_diag() { printf 'ldap.sh: %s\n' "$@" >&2; }
# safe_chain, syslog_discard, syslog_cleanup, percentiles
# shellcheck source=SCRIPTDIR/lib.sh
. "$HERE/lib.sh"

# --- cleanup -------------------------------------------------------------------
W='' RECEIVER_PID='' CREATED_DEVLOG_INODE=''
cleanup() {
	# slapd first (ldap_stop, registered by ldap_start), then the rest
	run_cleanups
	if [ -n "$(ldap_started_pids)" ]; then
		echo "ldap.sh: still running after cleanup: $(ldap_started_pids | tr '\n' ' ')" >&2
	fi
	syslog_cleanup
	if [ -n "$W" ]; then
		if [ "$KEEP" = 1 ]; then echo "kept $W" >&2; else rm -rf -- "$W"; fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

START=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
W=$(mktemp -d "$TMPBASE/stepup-ldapbench.XXXXXX")
chmod 0755 "$W"
bad=$(safe_chain "$W") || die "$bad is not a safe parent for the tree; use --tmpdir"
T=$W

# --- build -----------------------------------------------------------------------
# -rdynamic: the module must see pam_bench's time() (--clock)
# shellcheck disable=SC2046
gcc -std=c11 -O2 -Wall -Wextra -rdynamic -o "$W/pam_bench" "$HERE/pam_bench.c" \
	$(pkg-config --cflags --libs pam liboath)

# --- the directory ------------------------------------------------------------------
echo "setting up: certificates, slapd, base entries ..." >&2
ldap_make_pki "$HOST"
ldap_start main
ldap_load_base main "$HOST"
# shellcheck disable=SC2154 # set by ldap_start (printf -v)
SLAPD_LOG=$LDAP_DIR_main/slapd.log

# --- the trees: files, a host on the directory, the admin host ---------------------
# conf DIR [LINE...]: DIR/stepup.conf with everything under DIR, then LINEs
conf() {
	local d=$1 line
	shift
	mkdir -m 0755 "$d"
	{
		echo "# written by bench/ldap.sh"
		echo "[global]"
		echo "user_dir = $d/etc/stepup/users"
		echo "state_dir = $d/var/lib/stepup/state"
		echo "grace_dir = $d/run/stepup/grace"
		echo "hostkey = $d/etc/stepup/hostkey"
		echo "methods = totp"
		echo "totp_window = 1"
		echo "tries = 3"
		echo "# no delay after a failure; every call a full step-up unless the"
		echo "# service says grace=; wrong codes never lock anyone out"
		echo "fail_delay = 0"
		echo "grace = 0"
		echo "lockout_attempts = 0"
		for line in "$@"; do echo "$line"; done
	} >"$d/stepup.conf"
	chmod 0644 "$d/stepup.conf"
	"$STEPUPCTL" -c "$d/stepup.conf" init >"$d/init.log" 2>&1 ||
		die "stepupctl init ($d): $(cat "$d/init.log")"
}
ldap_lines() { # CERT-NAME: the store = ldap lines binding with that certificate
	echo "store = ldap"
	# shellcheck disable=SC2154 # set by ldap_start (printf -v)
	echo "ldap_uri = $LDAP_URI_main"
	echo "ldap_base = $LDAP_USERS"
	echo "ldap_ca_file = $LDAP_CA"
	echo "ldap_cert = $LDAP_PKI/clients/$1.pem"
	echo "ldap_key = $LDAP_PKI/clients/$1.key"
	echo "fleet_key = $W/fleetkey"
}
mapfile -t HOST_LINES < <(ldap_lines "$HOST")
mapfile -t ADMIN_LINES < <(ldap_lines admin)
conf "$W/files"
conf "$W/ldap" "${HOST_LINES[@]}"
conf "$W/admin" "${ADMIN_LINES[@]}"
"$STEPUPCTL" -c "$W/admin/stepup.conf" fleet-key init >"$W/fleetkey.log" 2>&1 ||
	die "stepupctl fleet-key init: $(cat "$W/fleetkey.log")"
for u in "$USER_NAME" "$GRACE_USER"; do
	"$STEPUPCTL" -c "$W/files/stepup.conf" enroll "$u" totp --secret "$SECRET" \
		>>"$W/enroll.log" 2>&1 || die "stepupctl enroll $u (files): $(cat "$W/enroll.log")"
	"$STEPUPCTL" -c "$W/admin/stepup.conf" enroll "$u" totp --secret "$SECRET" \
		>>"$W/enroll.log" 2>&1 || die "stepupctl enroll $u (directory): $(cat "$W/enroll.log")"
done
mkdir -m 0755 "$W/pam.d"
echo "auth required $PERMIT" >"$W/pam.d/bench-permit"
for s in files ldap; do
	echo "auth required $MODULE config=$W/$s/stepup.conf" >"$W/pam.d/bench-$s"
	# grace records on: after one success, every call is the grace path
	echo "auth required $MODULE config=$W/$s/stepup.conf grace=300" >"$W/pam.d/bench-$s-grace"
done
chmod 0644 "$W"/pam.d/*

# --- syslog ----------------------------------------------------------------------
IN_NS=()
if [ "$SYSLOG" = discard ]; then
	syslog_discard "$W"
	SYSLOG_CASE="discard: $DISCARD_CASE"
elif [ -e /dev/log ]; then
	SYSLOG_CASE="host: /dev/log as it is"
else
	SYSLOG_CASE="host: no /dev/log (every pam_syslog send fails fast)"
fi

# --- rows --------------------------------------------------------------------------
LABELS=(
	"pam_permit"
	"files, right code"
	"ldap, right code"
	"files, grace record"
	"ldap, grace record"
)
ARGS=(
	"-u $USER_NAME -s bench-permit -c any"
	"-u $USER_NAME -s bench-files -c right --secret $SECRET"
	"-u $USER_NAME -s bench-ldap -c right --secret $SECRET"
	"-u $GRACE_USER -s bench-files-grace -c any --answer not-a-code --expect success"
	"-u $GRACE_USER -s bench-ldap-grace -c any --answer not-a-code --expect success"
)
FILES_RIGHT=1 LDAP_RIGHT=2 LDAP_GRACE=4
declare -A CLOCKED=([1]=1 [2]=1) # rows that move the clock a step per call

# The right-code rows' clock: 10 s into a step, 2 steps ahead of now, and
# never back (each run starts where the last ended: next_clock).
CLOCK=$(($(date +%s) / PERIOD * PERIOD + 2 * PERIOD + 10))
field() { # LINE KEY
	sed -n "s/.*\\<$2=\\([^ ]*\\).*/\\1/p" <<<"$1"
}
bench() { # INDEX [extra pam_bench args]: one pam_bench run of a row; its
	# result line in OUT (not in a subshell: CLOCK moves on)
	local i=$1
	shift
	if [ -n "${CLOCKED[$i]:-}" ]; then set -- --clock "$CLOCK" "$@"; fi
	# shellcheck disable=SC2086
	OUT=$("${IN_NS[@]}" "$W/pam_bench" -d "$W/pam.d" ${ARGS[$i]} "$@") ||
		die "pam_bench failed: ${LABELS[$i]}"
	if [ -n "${CLOCKED[$i]:-}" ]; then CLOCK=$(field "$OUT" next_clock); fi
}

# One success through each grace service writes a grace record for this
# session, at the real time (the record must not be from the future); the
# grace rows then never prompt (their answer is not a code: a prompt fails
# the run). The grace user's state is its own: its steps are not the
# right-code rows'.
for s in files ldap; do
	"${IN_NS[@]}" "$W/pam_bench" -d "$W/pam.d" -u "$GRACE_USER" -s "bench-$s-grace" -c right \
		--secret "$SECRET" --clock "$(date +%s)" -n 1 -w 0 >/dev/null ||
		die "the first step-up through bench-$s-grace failed"
done

# slapd's connections from here on are the timed runs': the first is the
# next number after every connection made so far.
conn_max() {
	sed -n 's/.*\<conn=\([0-9]*\) fd=[0-9]* ACCEPT .*/\1/p' "$SLAPD_LOG" | sort -n | tail -1
}
FIRST_CONN=$(($(conn_max) + 1))
accepts() { grep -c ' ACCEPT from ' "$SLAPD_LOG" || true; }

declare -a P50 P99 MEAN CPU HEAP
LDAP_CALLS=0 GRACE_ACCEPTS=0
for i in "${!ARGS[@]}"; do : >"$W/samples.$i"; done
for r in $(seq "$ROUNDS"); do
	echo "timing: round $r of $ROUNDS (n=$N per path in all) ..." >&2
	n=$(((N * r) / ROUNDS - (N * (r - 1)) / ROUNDS))
	for i in "${!ARGS[@]}"; do
		before=$(accepts)
		bench "$i" -n "$n" -w "$WARMUP" --samples "$W/samples.$i"
		# per row: client CPU (µs, summed over calls) and heap growth (bytes)
		echo "$n $(field "$OUT" cpu_us) $(field "$OUT" heap_start_b) $(field "$OUT" heap_end_b)" >>"$W/usage.$i"
		if [ "$i" = "$LDAP_GRACE" ]; then
			GRACE_ACCEPTS=$((GRACE_ACCEPTS + $(accepts) - before))
		fi
		if [ "$i" = "$LDAP_RIGHT" ]; then LDAP_CALLS=$((LDAP_CALLS + n + WARMUP)); fi
	done
done
for i in "${!ARGS[@]}"; do
	read -r "P50[i]" "P99[i]" "MEAN[i]" < <(percentiles "$W/samples.$i")
	read -r "CPU[i]" "HEAP[i]" < <(awk '{ n += $1; cpu += $1 * $2; heap += $4 - $3 }
		END { printf "%.0f %.0f\n", cpu / n, heap / n }' "$W/usage.$i")
done
# slapd logs a connection's last lines after the client has gone
for _ in $(seq 50); do
	[ "$(grep -c ' fd=[0-9]* closed' "$SLAPD_LOG")" -ge \
		"$(accepts)" ] && break
	sleep 0.1
done

# --- directory operations per call, from slapd's stats log --------------------------
# Per connection made during the timed runs (every one an ldap right-code
# call, warm-up included): its operations by kind, each operation's result
# and slapd's etime (seconds from the operation's arrival to its answer),
# into $W/ops; and, from the time stamps slapd puts on each line (hex
# seconds.nanoseconds), when each step of the connection happened, into
# $W/phases (one line per connection, µs).
awk -v first="$FIRST_CONN" -v ops="$W/ops" -v phases="$W/phases" '
	function hex(s,   i, v) {
		v = 0; s = tolower(s)
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	function at(c, what) { if (!((c, what) in t)) t[c, what] = now }
	{
		i = index($0, "conn=")
		if (i == 0) next
		now = -1
		if (i > 1 && split($1, ts, ".") == 2) {
			if (t0 == "") t0 = hex(ts[1])
			now = (hex(ts[1]) - t0) * 1e6 + hex(ts[2]) / 1e3
		}
		$0 = substr($0, i)
		c = substr($1, 6) + 0
		if (c < first) next
		if ($2 ~ /^fd=/) {
			if ($3 == "ACCEPT") { conns[c] = 1; at(c, "accept") }
			else if ($3 == "TLS" && $4 == "established") at(c, "tls")
			else if ($3 == "closed") at(c, "closed")
			next
		}
		if ($2 !~ /^op=/) next
		key = c " " $2
		if (!(key in kind)) {
			k = $3
			if (k == "EXT") k = ($4 == "oid=1.3.6.1.4.1.1466.20037") ? "StartTLS" : "EXT " $4
			kind[key] = k
			n[k]++
			per[c, k]++
			at(c, k)
		}
		if ($0 ~ / RESULT /) {
			err = 0; et = 0
			for (f = 3; f <= NF; f++) {
				if ($f ~ /^err=/) err = substr($f, 5)
				if ($f ~ /^etime=/) et = substr($f, 7)
				if ($f ~ /^nentries=/) ne[kind[key]] += substr($f, 10)
			}
			if (err != 0) bad[kind[key] " err=" err]++
			etime[kind[key]] += et; timed[kind[key]]++
			at(c, kind[key] " done")
		}
	}
	function span(c, a, b) {
		return ((c, a) in t) && ((c, b) in t) && t[c, a] >= 0 ? sprintf("%.0f", t[c, b] - t[c, a]) : "-"
	}
	END {
		for (c in conns) nc++
		printf "connections %d\n", nc > ops
		for (k in n) {
			mn = -1; mx = 0
			for (c in conns) { v = per[c, k] + 0; if (mn < 0 || v < mn) mn = v; if (v > mx) mx = v }
			printf "op\t%s\t%d\t%d\t%d\t%.1f\t%d\n", k, n[k], mn, mx,
				timed[k] ? 1e6 * etime[k] / timed[k] : 0, ne[k] > ops
		}
		for (b in bad) printf "bad\t%s\t%d\n", b, bad[b] > ops
		for (c in conns)
			print c, span(c, "accept", "StartTLS"), span(c, "StartTLS done", "tls"),
				span(c, "tls", "BIND"), span(c, "BIND", "BIND done"),
				span(c, "BIND done", "SRCH"), span(c, "SRCH", "SRCH done"),
				span(c, "SRCH done", "MOD"), span(c, "MOD", "MOD done"),
				span(c, "MOD done", "UNBIND"), span(c, "accept", "closed") > phases
	}' "$SLAPD_LOG"
touch "$W/phases"
CONNS=$(sed -n 's/^connections //p' "$W/ops")

# --- syscalls: the grace path makes no connection; what a right code opens ----------
# in_marks FILE: the lines of a strace log made inside the timed calls
# (pam_bench --mark writes "pam_bench:begin"/"end" to fd -1 around them)
in_marks() {
	awk '{ sub(/^[0-9]+ +/, "") }
		/^write\(-1, "pam_bench:begin"/ { on = 1; next }
		/^write\(-1, "pam_bench:end"/ { on = 0; next }
		on' "$1"
}
if [ "$STRACE" = 1 ]; then
	echo "strace: ${LABELS[$LDAP_GRACE]} (n=$ST_N) ..." >&2
	# shellcheck disable=SC2086
	"${IN_NS[@]}" strace -f -e trace=socket,connect,openat,write -o "$W/strace.grace" \
		"$W/pam_bench" -d "$W/pam.d" ${ARGS[$LDAP_GRACE]} -n "$ST_N" -w 0 --mark >/dev/null
	in_marks "$W/strace.grace" >"$W/strace.grace.in"
	G_TCP=$(grep -c '^connect(.*AF_INET' "$W/strace.grace.in" || true)
	G_SOCK=$(grep -c '^socket(AF_INET' "$W/strace.grace.in" || true)
	# the whole process, pam_start included: is libldap ever loaded?
	G_LDAPLIB=$(grep -c '^[0-9]* *openat(.*libldap' "$W/strace.grace" || true)
	for i in $FILES_RIGHT $LDAP_RIGHT; do
		echo "strace: ${LABELS[$i]} (n=$ST_N) ..." >&2
		# shellcheck disable=SC2086
		"${IN_NS[@]}" strace -f -e trace=openat,write,connect -o "$W/strace.$i" \
			"$W/pam_bench" -d "$W/pam.d" ${ARGS[$i]} --clock "$CLOCK" -n "$ST_N" -w 1 \
			--mark >"$W/strace.$i.res"
		CLOCK=$(field "$(cat "$W/strace.$i.res")" next_clock)
		in_marks "$W/strace.$i" >"$W/strace.$i.in"
	done
	# read()s that found nothing to read (EAGAIN), counted in the process
	# itself (strace would slow each one down and so count fewer)
	cat >"$W/readcount.c" <<-'C'
		#define _GNU_SOURCE
		#include <dlfcn.h>
		#include <errno.h>
		#include <stdio.h>
		#include <unistd.h>
		static long n_read, n_again;
		ssize_t read(int fd, void *buf, size_t len)
		{
			static ssize_t (*real)(int, void *, size_t);
			ssize_t r;

			if (real == NULL)
				real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
			r = real(fd, buf, len);
			n_read++;
			if (r < 0 && errno == EAGAIN)
				n_again++;
			return r;
		}
		__attribute__((destructor)) static void report(void)
		{
			fprintf(stderr, "readcount: reads=%ld eagain=%ld\n", n_read, n_again);
		}
	C
	gcc -O2 -shared -fPIC -o "$W/readcount.so" "$W/readcount.c"
	echo "read() count: ${LABELS[$LDAP_RIGHT]} (n=$ST_N) ..." >&2
	# shellcheck disable=SC2086
	"${IN_NS[@]}" env LD_PRELOAD="$W/readcount.so" "$W/pam_bench" -d "$W/pam.d" \
		${ARGS[$LDAP_RIGHT]} --clock "$CLOCK" -n "$ST_N" -w 0 >"$W/readcount.res" 2>"$W/readcount.err"
	CLOCK=$(field "$(cat "$W/readcount.res")" next_clock)
	EAGAIN=$(sed -n 's/^readcount: .*eagain=\([0-9]*\).*/\1/p' "$W/readcount.err")
	READS=$(sed -n 's/^readcount: reads=\([0-9]*\).*/\1/p' "$W/readcount.err")
fi

# --- report --------------------------------------------------------------------------
fs_of() { df -T "$1" | awk 'NR == 2 { print $2 " on " $1 " (" $7 ")" }'; }
echo
echo "## pam_stepup: files and directory stores, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- host: $(uname -srm), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "- directory: $(slapd -VV 2>&1 | sed -n 's/.*\(OpenLDAP: slapd [0-9.]*\).*/\1/p' | head -1) on 127.0.0.1, back_mdb; ldap:// + StartTLS, SASL EXTERNAL with a client certificate (EC P-256, the harness's test CA); the shipped schema and access rules; log level stats"
echo "- client: $(dpkg-query -W -f '${Package} ${Version}, ' libldap-2.5-0 libgnutls30 2>/dev/null | sed 's/, $//')"
echo "- tree (state files, grace records, slapd's database): $(fs_of "$W")"
echo "- syslog: $SYSLOG_CASE"
echo "- module: $MODULE ($(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?'))"
echo "- n=$N timed calls per path in $ROUNDS rounds, the paths taking turns; each round one process and one pam handle per path after $WARMUP warm-up calls; right-code rows: user $USER_NAME, the clock moved one step per call; grace rows: user $GRACE_USER"
echo
echo "| path | p50 µs | p99 µs | mean µs | n | CPU µs/call | heap B/call |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for i in "${!ARGS[@]}"; do
	echo "| ${LABELS[$i]} | ${P50[$i]} | ${P99[$i]} | ${MEAN[$i]} | $(wc -l <"$W/samples.$i") | ${CPU[$i]} | ${HEAP[$i]} |"
done
echo
echo "CPU: the calling process's user + system time per call (getrusage), not"
echo "slapd's; heap: what malloc holds more after the timed calls than before, per call."
echo
awk -v l="${P50[$LDAP_RIGHT]}" -v f="${P50[$FILES_RIGHT]}" -v lm="${MEAN[$LDAP_RIGHT]}" \
	-v fm="${MEAN[$FILES_RIGHT]}" -v t="$TARGET_P50_US" 'BEGIN {
	printf "- ldap right code minus files right code (p50 / mean): %+.1f / %+.1f µs (x%.2f at p50)\n", l - f, lm - fm, l / f
	printf "- target: ldap right code p50 under %.0f µs: %.1f µs, %s\n", t, l, l < t ? "met" : "missed"
}'
echo
echo "Directory operations of the ldap right-code calls (slapd's stats log, every"
echo "connection made during the timed runs; $LDAP_CALLS calls, warm-up included):"
echo
echo "- connections: $CONNS for $LDAP_CALLS calls (one per call: $([ "$CONNS" = "$LDAP_CALLS" ] && echo yes || echo NO))"
echo
echo "| operation | total | per call | min | max | slapd etime µs (mean) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
order() { # the op lines: connection set-up first, then the rest
	awk -F'\t' '$1 == "op" {
		r = $2 == "StartTLS" ? 1 : $2 == "BIND" ? 2 : $2 == "SRCH" ? 3 : $2 == "MOD" ? 4 : $2 == "UNBIND" ? 9 : 5
		print r "\t" $0 }' "$W/ops" | sort -n | cut -f2-
}
order | awk -F'\t' -v c="$CONNS" '{
	printf "| %s | %d | %.2f | %d | %d | %s |\n", $2, $3, c ? $3 / c : 0, $4, $5,
		$2 == "UNBIND" ? "" : sprintf("%.1f", $6)
}'
echo
awk -F'\t' -v c="$CONNS" '
	$1 == "op" && $2 != "StartTLS" && $2 != "BIND" && $2 != "UNBIND" { after += $3 }
	$1 == "op" && $2 == "SRCH" { srch = $3; ent = $7 }
	$1 == "op" && ($2 == "StartTLS" || $2 == "BIND") { setup += $3 }
	$1 == "bad" { bad = bad sprintf(" %s (x%d)", $2, $3) }
	END {
		if (c == 0) { print "- no connection seen: is slapd logging at stats level?"; exit }
		printf "- per call: %.2f operations to set the connection up (StartTLS, bind), %.2f after the bind (target: at most 2, one search and one modify): %s\n",
			setup / c, after / c, after / c <= 2 ? "met" : "missed"
		if (srch) printf "- entries per search: %.2f (the user and the canary)\n", ent / srch
		print "- results other than success:" (bad == "" ? " none" : bad)
	}' "$W/ops"
col_stats() { # COLUMN: "p50 mean" of a column of $W/phases ("-": missing)
	awk -v k="$1" '$k != "-" { print $k }' "$W/phases" | sort -n |
		awk '{ v[NR] = $1; sum += $1 }
			END { if (NR == 0) { print "- -"; exit }
				r = int((NR * 50 + 99) / 100); if (r < 1) r = 1; printf "%.0f %.0f\n", v[r], sum / NR }'
}
if [ -s "$W/phases" ]; then
	echo
	echo "Where an ldap right-code call's time goes, as slapd saw it: the time stamps of"
	echo "its log lines, per connection, µs. The steps between two operations are the"
	echo "client's work plus the network and slapd picking the next request up."
	echo
	echo "| step | who works | p50 | mean |"
	echo "| --- | --- | ---: | ---: |"
	STEPS=(
		"TCP accepted -> StartTLS request|client"
		"StartTLS answered -> TLS established|both: the handshake"
		"TLS established -> bind request|client"
		"bind, SASL EXTERNAL (request -> answer)|slapd"
		"bind answered -> search request|client"
		"search (request -> answer)|slapd"
		"search answered -> modify request|client: the entry read, the code judged"
		"modify (request -> answer)|slapd: the write"
		"modify answered -> unbind|client: the audit line, closing"
		"TCP accepted -> closed|the connection, all of it"
	)
	CONN_MEAN=-
	for k in "${!STEPS[@]}"; do
		read -r p50 mean < <(col_stats $((k + 2)))
		echo "| ${STEPS[$k]%%|*} | ${STEPS[$k]#*|} | $p50 | $mean |"
		if [ "$k" = 9 ]; then CONN_MEAN=$mean; fi
	done
	if [ "$CONN_MEAN" != - ]; then
		awk -v m="${MEAN[$LDAP_RIGHT]}" -v c="$CONN_MEAN" 'BEGIN {
			printf "| the call outside the connection (mean call minus mean connection) | client, before connecting: config, user lookup, the TLS files checked, the TLS context made (NEWCTX) | | %.0f |\n", m - c }'
	fi
fi
echo
echo "The grace path with store = ldap never touches the directory:"
echo
echo "- slapd accepted $GRACE_ACCEPTS connections while the ${LABELS[$LDAP_GRACE]} row ran ($N timed and $((ROUNDS * WARMUP)) warm-up calls)"
if [ "$STRACE" = 1 ]; then
	echo "- strace of $ST_N more calls: $G_SOCK AF_INET/AF_INET6 sockets, $G_TCP TCP connect()s; libldap opened $G_LDAPLIB times in the whole process"
	echo
	echo "Files each right-code call opens where the two stores differ (strace, $ST_N"
	echo "calls after 1 warm-up, per call):"
	echo
	echo "| file | ${LABELS[$FILES_RIGHT]} | ${LABELS[$LDAP_RIGHT]} |"
	echo "| --- | ---: | ---: |"
	awk -v n="$ST_N" -v w="$W/" '
		FNR == 1 { f++ }
		/^openat\(/ {
			p = $0; sub(/^openat\([^"]*"/, "", p); sub(/".*/, "", p)
			if (index(p, w) == 1) p = "$W/" substr(p, length(w) + 1)
			cnt[p, f]++; seen[p] = 1
		}
		/^connect\(.*AF_INET/ { cnt["(TCP connect)", f]++; seen["(TCP connect)"] = 1 }
		END {
			for (p in seen) {
				if (cnt[p, 1] == cnt[p, 2]) { same += cnt[p, 1]; continue }
				printf "| %s | %.1f | %.1f |\n", p, cnt[p, 1] / n, cnt[p, 2] / n
			}
			printf "| (every other open, the same in both: the user lookup, directory walks) | %.1f | %.1f |\n", same / n, same / n
		}' "$W/strace.$FILES_RIGHT.in" "$W/strace.$LDAP_RIGHT.in" | sort
	echo
	awk -v e="$EAGAIN" -v r="$READS" -v n="$ST_N" 'BEGIN {
		printf "- read() calls of an ldap right-code call: %.1f, of which %.1f found nothing to read (EAGAIN; counted by an LD_PRELOAD wrapper, %d calls)\n", r / n, e / n, n }'
fi
echo
echo "- load average at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
echo
echo "took $((SECONDS - START)) s: bash bench/ldap.sh $ORIG_ARGS" | sed 's/ *$//'
