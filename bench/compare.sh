#!/bin/bash
# bench/compare.sh: pam_stepup against pam_permit (the floor), Debian's
# pam_oath and pam_google_authenticator, in one run on one machine, with one
# enrolled user and with many, plus a leak check of pam_stepup. Run as root
# from a built tree (make tests/root.stamp); never run by `make check`:
#
#     bash bench/compare.sh [options]
#
#   -n N               timed calls per row (default 1000)
#   -w N               untimed warm-up calls per row and round (default 20)
#   --rounds R         the timed calls of every row are made in R rounds
#                      over all rows (default 5), so that a slow spell of
#                      the disk or the machine is shared by every row
#   --heavy-n N        timed calls of the pam_oath rows with many users, whose
#                      calls (and untimed restores) rewrite a multi-MB file
#                      (default 300; never more than -n)
#   --users N          users in the "many" trees (default 100000)
#   --user NAME        the measured user (default root): an account NSS
#                      knows, as a real user is; the other users are named
#                      u000001.. and need no account (only pam_stepup looks
#                      the measured user up, once per call). A name NSS does
#                      not know costs pam_stepup a failed lookup per call
#                      (with nss_systemd: ~40 path walks under /run/userdb)
#   --callgrind-n N    calls per row under callgrind (default 50)
#   --callgrind-heavy-n N   ... for the pam_oath rows with many users
#                      (default 5)
#   --no-callgrind     no instruction counts
#   --strace-n N       calls per row under strace for the syscall table
#                      (default 20)
#   --no-strace        no syscall table
#   --leak-n N         pam_stepup wrong-code calls in the leak check
#                      (default 100000)
#   --leak-right-n N   pam_stepup right-code calls in the leak check
#                      (default 100000; its tree is on a private tmpfs, so
#                      the restores and the module's fsyncs cost nothing)
#   --no-leak          no leak check
#   --asan-module PATH the ASan+UBSan build of pam_stepup.so for the leak
#                      check (default: _build/asan/.libs/pam_stepup.so if it
#                      is newer than the sources, else one is built from
#                      this tree's files in the scratch directory, ~1 min)
#   --syslog MODE      discard (default): a throwaway python3 receiver at
#                      /dev/log that drops every line, inside a private
#                      mount namespace (the host's /dev/log, if any, is not
#                      touched and receives nothing); host: /dev/log as the
#                      host has it
#   --tmpdir DIR       where the scratch directory goes (default $TMPDIR or
#                      /tmp); the fsyncs of every module hit its filesystem
#   --module PATH      pam_stepup.so (default $STEPUP_MODULE or tests/root/...)
#   --stepupctl PATH   stepupctl     (default $STEPUPCTL or tests/root/...)
#   --keep             keep the scratch directory (printed at exit)
#
# Needs: gcc, pkg-config, libpam0g-dev, liboath-dev, python3, unshare, and
# apt-get install -y libpam-oath oathtool libpam-google-authenticator;
# valgrind and strace for those columns. Everything it creates lives in one
# mktemp directory that is removed on exit, error or interrupt; it runs in
# a private mount namespace (for /dev/log and the leak check's tmpfs), so
# nothing it mounts is seen outside or outlives it. PAM service files live
# in a private confdir (pam_start_confdir), never /etc/pam.d.
set -euo pipefail

ORIG_ARGS="$*"
ORIG_ARGV=("$@")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
N=1000 WARMUP=20 HEAVY_N=300 USERS=100000 CG_N=50 CG_HEAVY_N=5 CALLGRIND=1
ST_N=20 STRACE=1 LEAK=1 LEAK_N=100000 LEAK_RIGHT_N=100000 ASAN_MODULE=''
SYSLOG=discard KEEP=0 MUSER=root ROUNDS=5
TMPBASE=${TMPDIR:-/tmp}
MODULE=${STEPUP_MODULE:-$TOP/tests/root/lib/x86_64-linux-gnu/security/pam_stepup.so}
STEPUPCTL=${STEPUPCTL:-$TOP/tests/root/usr/local/sbin/stepupctl}
# 20 bytes, base32 and hex; fixed so runs are comparable
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
SECRET_HEX=3132333435363738393031323334353637383930

die() { echo "compare.sh: $*" >&2; exit 1; }
note() { echo "compare.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	-w) WARMUP=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--heavy-n) HEAVY_N=$2; shift ;;
	--users) USERS=$2; shift ;;
	--user) MUSER=$2; shift ;;
	--callgrind-n) CG_N=$2; shift ;;
	--callgrind-heavy-n) CG_HEAVY_N=$2; shift ;;
	--no-callgrind) CALLGRIND=0 ;;
	--strace-n) ST_N=$2; shift ;;
	--no-strace) STRACE=0 ;;
	--leak-n) LEAK_N=$2; shift ;;
	--leak-right-n) LEAK_RIGHT_N=$2; shift ;;
	--no-leak) LEAK=0 ;;
	--asan-module) ASAN_MODULE=$2; shift ;;
	--syslog) SYSLOG=$2; shift ;;
	--tmpdir) TMPBASE=$2; shift ;;
	--module) MODULE=$2; shift ;;
	--stepupctl) STEPUPCTL=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage ;;
	*) echo "compare.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done
case $SYSLOG in discard | host) ;; *) die "--syslog: discard or host" ;; esac
for v in N WARMUP ROUNDS HEAVY_N USERS CG_N CG_HEAVY_N ST_N LEAK_N LEAK_RIGHT_N; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v: not a number: ${!v}"
done
for v in N ROUNDS HEAVY_N CG_N CG_HEAVY_N ST_N; do
	[ "${!v}" -ge 1 ] || die "$v: must be at least 1"
done
if [ "$USERS" -lt 2 ] || [ "$USERS" -gt 999999 ]; then die "--users: 2..999999"; fi
if ! [[ $MUSER =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || [[ $MUSER =~ ^u[0-9]{6}$ ]]; then
	die "--user: a plain user name, not of the form u000001"
fi
[ "$HEAVY_N" -le "$N" ] || HEAVY_N=$N

[ "$(id -u)" = 0 ] || die "run as root: pam_stepup refuses to run otherwise"

# Everything below runs in a private mount namespace: the receiver bound
# over /dev/log and the leak check's tmpfs are seen by this run only, and
# vanish with it. unshare without --fork execs in place: same pid, so
# signals and the traps below work as usual.
if [ -z "${COMPARE_IN_NS:-}" ]; then
	command -v unshare >/dev/null || die "needs unshare (util-linux)"
	unshare --mount --propagation private true 2>/dev/null ||
		die "cannot make a private mount namespace (unshare --mount)"
	COMPARE_IN_NS=1 exec unshare --mount --propagation private -- bash "$0" "${ORIG_ARGV[@]}"
fi

MODULE=$(realpath -e "$MODULE") || die "no module; run 'make tests/root.stamp' or pass --module"
STEPUPCTL=$(realpath -e "$STEPUPCTL") || die "no stepupctl; run 'make tests/root.stamp' or pass --stepupctl"
SECDIR=''
for d in /lib/*/security /usr/lib/*/security /lib/security /usr/lib/security; do
	if [ -f "$d/pam_unix.so" ] && [ -f "$d/pam_permit.so" ]; then SECDIR=$d; break; fi
done
[ -n "$SECDIR" ] || die "no PAM module directory (pam_unix.so) found"
PERMIT=$SECDIR/pam_permit.so OATH=$SECDIR/pam_oath.so GA=$SECDIR/pam_google_authenticator.so
[ -f "$OATH" ] || die "no $OATH: apt-get install -y libpam-oath oathtool"
[ -f "$GA" ] || die "no $GA: apt-get install -y libpam-google-authenticator"
for p in gcc pkg-config python3; do
	command -v $p >/dev/null || die "$p is not installed"
done
if [ "$CALLGRIND" = 1 ] && ! command -v valgrind >/dev/null; then
	note "no valgrind: no instruction counts"
	CALLGRIND=0
fi
if [ "$STRACE" = 1 ] && ! command -v strace >/dev/null; then
	note "no strace: no syscall table"
	STRACE=0
fi

# --- cleanup -------------------------------------------------------------------
W='' RECEIVER_PID=''
cleanup() {
	local rc=$?
	if [ -n "$RECEIVER_PID" ]; then
		kill "$RECEIVER_PID" 2>/dev/null || true
		wait "$RECEIVER_PID" 2>/dev/null || true
	fi
	if [ -n "$W" ]; then
		# mounts are private to this namespace; take them off before rm
		umount -l "$W/shm" 2>/dev/null || true
		umount -l "$W/olddev" 2>/dev/null || true
		if [ "$KEEP" = 1 ]; then echo "kept $W" >&2; else rm -rf -- "$W"; fi
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# safe_chain DIR: see bench/lib.sh
. "$HERE/lib.sh"

START=$SECONDS
W=$(mktemp -d "$TMPBASE/stepup-compare.XXXXXX")
chmod 0755 "$W"
bad=$(safe_chain "$W") || die "$bad is not a safe parent for the trees; use --tmpdir"

# --- syslog: a throwaway receiver --------------------------------------------------
# start_receiver PATH: see bench/lib.sh
# A /dev of our own: a tmpfs over /dev in this namespace that holds the
# host's entries, bound one by one from a recursive bind of the real /dev
# (devices, /dev/pts, /dev/shm keep working), plus our log socket.
private_dev_with_log() { # SOCKET
	local e name
	mkdir "$W/olddev"
	mount --rbind /dev "$W/olddev"
	mount -t tmpfs -o mode=0755,size=1m stepup-compare-dev /dev
	shopt -s dotglob nullglob
	for e in "$W"/olddev/*; do
		name=/dev/${e##*/}
		if [ -L "$e" ]; then
			cp -P "$e" "$name"
		elif [ -d "$e" ]; then
			mkdir "$name" && mount --rbind "$e" "$name"
		else
			: >"$name" && mount --bind "$e" "$name"
		fi
	done
	shopt -u dotglob nullglob
	: >/dev/log
	mount --bind "$1" /dev/log
}
if [ -e /dev/log ] || [ -L /dev/log ]; then
	HOST_LOG="/dev/log exists"
else
	HOST_LOG="no /dev/log"
fi
if [ "$SYSLOG" = discard ]; then
	start_receiver "$W/log.sock"
	if [ -e /dev/log ]; then
		mount --bind "$W/log.sock" /dev/log
		SYSLOG_CASE="discard: throwaway receiver bound over /dev/log in a private mount namespace (host: $HOST_LOG, untouched)"
	else
		private_dev_with_log "$W/log.sock"
		SYSLOG_CASE="discard: throwaway receiver at /dev/log on a private /dev (tmpfs) in a private mount namespace (host: $HOST_LOG, untouched)"
	fi
else
	SYSLOG_CASE="host: $HOST_LOG"
fi

# --- build the driver ------------------------------------------------------------
# shellcheck disable=SC2046
gcc -std=c11 -O2 -Wall -Wextra -o "$W/pam_bench" "$HERE/pam_bench.c" \
	$(pkg-config --cflags --libs pam liboath)

# --- the trees ----------------------------------------------------------------------
# the measured user is MUSER in every tree; in the many-user trees the
# others are u000001 .. u(USERS-1), and in pam_oath's usersfile MUSER's
# line is the MIDDLE-th
MIDDLE=$(((USERS + 1) / 2))
mkdir -m 0755 "$W/pam.d"
echo "auth required $PERMIT" >"$W/pam.d/permit"

write_conf() { # DIR
	cat >"$1/stepup.conf" <<-EOF
		# written by bench/compare.sh
		[global]
		user_dir = $1/etc/stepup/users
		state_dir = $1/var/lib/stepup/state
		grace_dir = $1/run/stepup/grace
		hostkey = $1/etc/stepup/hostkey
		methods = totp
		# the priming step uses the previous step's code
		totp_window = 1
		# every call is a full step-up, with no delay after a failure
		grace = 0
		fail_delay = 0
	EOF
	chmod 0644 "$1/stepup.conf"
}
stepup_tree() { # DIR: config, host key, the measured user enrolled
	local t=$1
	mkdir -m 0755 "$t"
	write_conf "$t"
	"$STEPUPCTL" -c "$t/stepup.conf" init >"$t/init.log" 2>&1 ||
		die "stepupctl init: $(cat "$t/init.log")"
	"$STEPUPCTL" -c "$t/stepup.conf" enroll "$MUSER" totp --secret "$SECRET" \
		>"$t/enroll.log" 2>&1 || die "stepupctl enroll: $(cat "$t/enroll.log")"
}

# many_files DIR TEMPLATE COUNT MODE: COUNT files u000001.. in DIR, each a
# copy of TEMPLATE, root-owned with MODE.
many_files() {
	python3 - "$@" <<-'EOF'
		import os, sys
		d, template, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4], 8)
		data = open(template, 'rb').read()
		for i in range(1, count + 1):
		    name = 'u%06d' % i
		    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
		    os.write(fd, data)
		    os.close(fd)
	EOF
}

echo "setting up: pam_stepup, pam_oath, google-authenticator with 1 and $USERS users ..." >&2
T0=$SECONDS
# pam_stepup: the measured user enrolled with stepupctl; in the many tree
# everyone else's record is a copy of it (a record does not name its user)
stepup_tree "$W/stepup-1"
stepup_tree "$W/stepup-many"
many_files "$W/stepup-many/etc/stepup/users" "$W/stepup-many/etc/stepup/users/$MUSER" \
	$((USERS - 1)) 0600
for t in 1 many; do
	echo "auth required $MODULE config=$W/stepup-$t/stepup.conf tries=1" >"$W/pam.d/stepup-$t"
done

# pam_oath: one usersfile line per user; the others as pam_oath leaves a
# line after a use (tab-separated, counter, last code, time), the measured
# user's as an administrator writes it (priming then records a use)
oath_line() { # USER
	printf 'HOTP/T30\t%s\t-\t%s\n' "$1" "$SECRET_HEX"
}
mkdir -m 0700 "$W/oath-1" "$W/oath-many"
oath_line "$MUSER" >"$W/oath-1/users.oath"
python3 - "$W/oath-many/users.oath" "$USERS" "$MUSER" "$MIDDLE" "$SECRET_HEX" <<-'EOF'
	import sys
	path, count, muser, middle, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
	with open(path, 'w') as f:
	    for i in range(1, count):
	        if i == middle:
	            f.write('HOTP/T30\t%s\t-\t%s\n' % (muser, key))
	        f.write('HOTP/T30\tu%06d\t-\t%s\t0\t123456\t2024-01-01T00:00:00L\n' % (i, key))
EOF
chmod 0600 "$W"/oath-*/users.oath
for t in 1 many; do
	echo "auth required $OATH usersfile=$W/oath-$t/users.oath window=1 digits=6" >"$W/pam.d/oath-$t"
done

# google-authenticator: one secret file per user, root-owned 0400 as the
# google-authenticator tool writes them; user=root so no home is needed
mkdir -m 0700 "$W/ga-1" "$W/ga-many"
printf '%s\n" RATE_LIMIT 3 30\n" WINDOW_SIZE 3\n" DISALLOW_REUSE\n" TOTP_AUTH\n' "$SECRET" \
	>"$W/ga-1/$MUSER"
chmod 0400 "$W/ga-1/$MUSER"
cp -p "$W/ga-1/$MUSER" "$W/ga-many/$MUSER"
many_files "$W/ga-many" "$W/ga-1/$MUSER" $((USERS - 1)) 0400
for t in 1 many; do
	# shellcheck disable=SC2016 # ${USER} is pam_google_authenticator's
	echo "auth required $GA secret=$W/ga-$t/\${USER} user=root" >"$W/pam.d/ga-$t"
done
chmod 0644 "$W"/pam.d/*
SETUP_S=$((SECONDS - T0))

STATE_1=$W/stepup-1/var/lib/stepup/state/$MUSER
STATE_MANY=$W/stepup-many/var/lib/stepup/state/$MUSER

# --- rows -----------------------------------------------------------------------------
# label | module | users | pam_bench arguments | heavy (fewer calls)
LABELS=() MODS=() USERS_COL=() ARGS=() HEAVY=() KEYS=()
row() { # KEY LABEL MODULE USERS HEAVY ARGS
	KEYS+=("$1") LABELS+=("$2") MODS+=("$3") USERS_COL+=("$4") HEAVY+=("$5") ARGS+=("$6")
}
B="-d $W/pam.d --secret $SECRET"
row permit "floor" pam_permit - 0 "-d $W/pam.d -s permit -c any"
for t in 1 many; do
	u=$([ $t = 1 ] && echo 1 || echo "$USERS")
	st=$([ $t = 1 ] && echo "$STATE_1" || echo "$STATE_MANY")
	row "su-right-$t" "right code (first use)" pam_stepup "$u" 0 "$B -s stepup-$t -c right --state-file $st"
	row "su-wrong-$t" "wrong code (tries=1)" pam_stepup "$u" 0 "$B -s stepup-$t -c wrong --state-file $st"
done
for t in 1 many; do
	u=$([ $t = 1 ] && echo 1 || echo "$USERS")
	h=$([ $t = 1 ] && echo 0 || echo 1)
	row "oath-right-$t" "success (first use)" pam_oath "$u" "$h" "$B -s oath-$t -c right --state-file $W/oath-$t/users.oath"
	row "oath-wrong-$t" "wrong code" pam_oath "$u" "$h" "$B -s oath-$t -c wrong --state-file $W/oath-$t/users.oath"
done
for t in 1 many; do
	u=$([ $t = 1 ] && echo 1 || echo "$USERS")
	row "ga-right-$t" "success (first use)" pam_google_authenticator "$u" 0 "$B -s ga-$t -c right --state-file $W/ga-$t/$MUSER"
	row "ga-wrong-$t" "failure (wrong code)" pam_google_authenticator "$u" 0 "$B -s ga-$t -c wrong --state-file $W/ga-$t/$MUSER"
done
# last in each tree: the locked state stays behind
for t in 1 many; do
	u=$([ $t = 1 ] && echo 1 || echo "$USERS")
	st=$([ $t = 1 ] && echo "$STATE_1" || echo "$STATE_MANY")
	row "su-locked-$t" "locked-out user" pam_stepup "$u" 0 "$B -s stepup-$t -c wrong --state-file $st"
done

idx() { # KEY: row index
	local i
	for i in "${!KEYS[@]}"; do [ "${KEYS[$i]}" = "$1" ] && { echo "$i"; return; }; done
	die "no row $1"
}
field() { # LINE KEY
	sed -n "s/.*\\<$2=\\([^ ]*\\).*/\\1/p" <<<"$1"
}
pb() { # INDEX [extra pam_bench args]
	local i=$1
	shift
	# shellcheck disable=SC2086
	"$W/pam_bench" -u "$MUSER" ${ARGS[$i]} "$@"
}

# Priming: one untimed success with the previous step's code, so each
# success row replaces a record of an earlier use (the steady state) and
# every timed code is later than it.
for k in su-right-1 su-right-many oath-right-1 oath-right-many ga-right-1 ga-right-many; do
	pb "$(idx "$k")" -n 1 -w 0 --prime >/dev/null || die "priming $k failed"
done

# The primed state of pam_stepup's user, put back before its right and
# wrong rows (the locked-out rows replace it); pam_oath's and
# google-authenticator's files need nothing: pam_bench leaves them as it
# found them (the primed state).
cp -p "$STATE_1" "$W/primed-state-1"
cp -p "$STATE_MANY" "$W/primed-state-many"
LOCKED_UNTIL=$(($(date +%s) + 10 * 365 * 86400))
put_durably() { # SRC DST: DST becomes a copy of SRC (root 0600): temp file, fsync, rename, fsync of the directory
	python3 - "$1" "$2" <<-'EOF'
		import os, sys
		src, dst = sys.argv[1], sys.argv[2]
		data = open(src, 'rb').read()
		tmp = dst + '.compare-tmp'
		fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
		os.fchown(fd, 0, 0); os.fchmod(fd, 0o600); os.write(fd, data); os.fsync(fd); os.close(fd)
		os.rename(tmp, dst)
		dfd = os.open(os.path.dirname(dst), os.O_RDONLY | os.O_DIRECTORY); os.fsync(dfd); os.close(dfd)
	EOF
}
# The locked-out user's state, as lockout writes it.
printf 'version=1\nlocked_until=%s\n' "$LOCKED_UNTIL" >"$W/locked-state"
prepare() { # KEY: the measured user's pam_stepup state as the row needs it
	case $1 in
	su-right-1 | su-wrong-1) put_durably "$W/primed-state-1" "$STATE_1" ;;
	su-right-many | su-wrong-many) put_durably "$W/primed-state-many" "$STATE_MANY" ;;
	su-locked-1) put_durably "$W/locked-state" "$STATE_1" ;;
	su-locked-many) put_durably "$W/locked-state" "$STATE_MANY" ;;
	esac
}
calls_of() { # INDEX: timed calls of a row in all
	if [ "${HEAVY[$1]}" = 1 ]; then echo "$HEAVY_N"; else echo "$N"; fi
}
# Timing, in rounds: every row gets calls/ROUNDS calls per round (its own
# process, warm-up included), so that a slow spell of the disk or of other
# load on the machine falls on every row alike rather than on one.
declare -a P50 P99 HEAPG CALLS IR STR
for i in "${!KEYS[@]}"; do
	: >"$W/samples.${KEYS[$i]}"
	HEAPG[i]=0 CALLS[i]=0
done
for r in $(seq "$ROUNDS"); do
	echo "timing: round $r of $ROUNDS ..." >&2
	for i in "${!KEYS[@]}"; do
		k=${KEYS[$i]}
		total=$(calls_of "$i")
		n=$(((total * r) / ROUNDS - (total * (r - 1)) / ROUNDS))
		[ "$n" -ge 1 ] || continue
		prepare "$k"
		res=$(pb "$i" -n "$n" -w "$WARMUP" --samples "$W/samples.$k") ||
			die "timing run failed: ${MODS[$i]}, ${LABELS[$i]}, users: ${USERS_COL[$i]}"
		HEAPG[i]=$((HEAPG[i] + $(field "$res" heap_end_b) - $(field "$res" heap_start_b)))
		CALLS[i]=$((CALLS[i] + n))
	done
done
for i in "${!KEYS[@]}"; do
	read -r "P50[i]" "P99[i]" _ < <(percentiles "$W/samples.${KEYS[$i]}")
done

for i in "${!KEYS[@]}"; do
	k=${KEYS[$i]}
	desc="${MODS[$i]}, ${LABELS[$i]}, users: ${USERS_COL[$i]}"
	cgn=$CG_N
	if [ "${HEAVY[$i]}" = 1 ]; then cgn=$CG_HEAVY_N; fi
	if [ "$CALLGRIND" = 1 ]; then
		echo "callgrind: $desc (n=$cgn) ..." >&2
		prepare "$k"
		# shellcheck disable=SC2086
		valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$W/callgrind.$k" \
			"$W/pam_bench" -u "$MUSER" ${ARGS[$i]} -n "$cgn" -w 2 --callgrind \
			>/dev/null 2>"$W/callgrind.$k.log" ||
			die "callgrind run failed: $(tail -5 "$W/callgrind.$k.log")"
		total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$W/callgrind.$k")
		IR[i]=$((total / cgn))
	fi
	if [ "$STRACE" = 1 ]; then
		echo "strace: $desc (n=$ST_N) ..." >&2
		prepare "$k"
		# shellcheck disable=SC2086
		strace -f -T -o "$W/strace.$k" "$W/pam_bench" -u "$MUSER" ${ARGS[$i]} \
			-n "$ST_N" -w 2 --mark >"$W/strace.$k.res" || die "strace run failed: $desc"
		STR[i]=$(awk -v n="$ST_N" '
			{ sub(/^[0-9]+ +/, "") }
			/^write\(-1, "pam_bench:begin"/ { on = 1; next }
			/^write\(-1, "pam_bench:end"/ { on = 0; next }
			on && match($0, /<[0-9.]+>$/) {
				name = $0; sub(/\(.*/, "", name)
				t = substr($0, RSTART + 1, RLENGTH - 2) * 1e6
				all++
				if (name == "fsync" || name == "fdatasync") { fs++; fst += t }
				else if (name == "open" || name == "openat") op++
				else if (name == "read" || name == "pread64") rd++
				else if (name == "write" || name == "pwrite64" || name == "writev") wr++
				else if (name == "rename" || name == "renameat" || name == "renameat2") rn++
				else if (name == "flock" || name == "fcntl") lk++
				else if (name == "sendto" || name == "sendmsg" || name == "connect") sy++
			}
			END {
				printf "%.1f|%.1f|%.0f|%.1f|%.1f|%.1f|%.1f|%.1f|%.1f", all / n, fs / n,
					fst / n, op / n, rd / n, wr / n, rn / n, lk / n, sy / n
			}' "$W/strace.$k")
		rm -f "$W/strace.$k"
	fi
done

# --- leak check --------------------------------------------------------------------
LEAK_TXT=''
asan_build() { # prints the path of an ASan+UBSan pam_stepup.so
	local prebuilt=$TOP/_build/asan/.libs/pam_stepup.so src=$W/asan-src
	local san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	if [ -f "$prebuilt" ] &&
		[ -z "$(find "$TOP/src" "$TOP/pam_stepup.c" -name '*.[ch]' -newer "$prebuilt" -print -quit)" ]; then
		echo "$prebuilt"
		return
	fi
	echo "leak check: building an ASan+UBSan module from this tree's files ..." >&2
	mkdir "$src"
	(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
		tar --null -T - -cf -) | tar -xf - -C "$src"
	(cd "$src" && autoreconf -fi && ./configure CFLAGS="-O1 -g $san" LDFLAGS="$san" &&
		make -j"$(nproc)" pam_stepup.la) >"$W/asan-build.log" 2>&1 ||
		die "ASan build failed: $(tail -20 "$W/asan-build.log")"
	echo "$src/.libs/pam_stepup.so"
}
lsan_sum() { # LOG KIND: bytes of "KIND leak of N byte(s)" lines
	awk -v kind="$2" '$1 == kind && $2 == "leak" { b += $4 } END { print b + 0 }' "$1"
}
if [ "$LEAK" = 1 ]; then
	T0=$SECONDS
	if [ -n "$ASAN_MODULE" ]; then
		ASAN_MODULE=$(realpath -e "$ASAN_MODULE") || die "--asan-module: no such file"
		ASAN_FROM="$ASAN_MODULE (given)"
	else
		ASAN_MODULE=$(asan_build)
		if [ "$ASAN_MODULE" = "$TOP/_build/asan/.libs/pam_stepup.so" ]; then
			ASAN_FROM="$ASAN_MODULE (newer than every source)"
		else
			ASAN_FROM="built in the scratch directory from this tree's files (git ls-files), -O1 -g -fsanitize=address,undefined"
		fi
	fi
	san="-fsanitize=address,undefined -fno-omit-frame-pointer"
	# shellcheck disable=SC2046,SC2086
	gcc -std=c11 -O1 -g $san -o "$W/pam_bench_asan" "$HERE/pam_bench.c" \
		$(pkg-config --cflags --libs pam liboath)
	# LSan itself: a program that leaks 123 bytes must be reported
	printf '#include <stdlib.h>\nvoid *volatile p;\nint main(void) { p = malloc(123); p = 0; return 0; }\n' \
		>"$W/lsan-selftest.c"
	gcc -fsanitize=address -g -o "$W/lsan-selftest" "$W/lsan-selftest.c"
	ASAN_OPTIONS=detect_leaks=1 "$W/lsan-selftest" >"$W/lsan-selftest.log" 2>&1 || true
	if grep -q 'Direct leak of 123 byte' "$W/lsan-selftest.log"; then
		LSAN_OK="LSan self-test: a 123-byte leak is reported"
	else
		LSAN_OK="**LSan self-test failed: leaks are not reported here (ptrace restricted?); the numbers below mean nothing**"
	fi
	# the leak tree on a tmpfs private to this namespace: the right-code
	# calls' fsyncs (and the restores') are free, so 100k of them fit
	mkdir -m 0755 "$W/shm"
	mount -t tmpfs -o mode=0755 stepup-compare-leak "$W/shm"
	LW=$W/shm/t
	stepup_tree "$LW"
	echo "auth required $ASAN_MODULE config=$LW/stepup.conf tries=1" >"$W/pam.d/stepup-asan"
	chmod 0644 "$W/pam.d/stepup-asan"
	leak_run() { # MODE N LOG: pam_bench_asan, LSan at exit
		ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
			"$W/pam_bench_asan" -u "$MUSER" -d "$W/pam.d" -s stepup-asan --secret "$SECRET" \
			-c "$1" --state-file "$LW/var/lib/stepup/state/$MUSER" -n "$2" -w 0 \
			>"$3.out" 2>"$3" || true
	}
	ASAN_OPTIONS=detect_leaks=0 "$W/pam_bench_asan" -u "$MUSER" -d "$W/pam.d" -s stepup-asan \
		--secret "$SECRET" -c right --state-file "$LW/var/lib/stepup/state/$MUSER" \
		-n 1 -w 0 --prime >/dev/null 2>"$W/leak-prime.log" ||
		die "leak check: priming failed: $(tail -5 "$W/leak-prime.log")"
	for mode in wrong right; do
		n=$([ $mode = wrong ] && echo "$LEAK_N" || echo "$LEAK_RIGHT_N")
		[ "$n" -ge 1 ] || continue
		echo "leak check: $n $mode-code calls under ASan+LSan ..." >&2
		t0=$SECONDS
		leak_run "$mode" "$n" "$W/leak.$mode.log"
		secs=$((SECONDS - t0))
		res=$(cat "$W/leak.$mode.log.out")
		if [ -z "$res" ]; then
			verdict="run FAILED: $(grep -m1 -E 'ERROR|runtime error|pam_bench:' "$W/leak.$mode.log" || tail -1 "$W/leak.$mode.log")"
		else
			verdict="definitely lost $(lsan_sum "$W/leak.$mode.log" Direct) B, indirectly lost $(lsan_sum "$W/leak.$mode.log" Indirect) B"
			if grep -q 'ERROR: LeakSanitizer' "$W/leak.$mode.log"; then
				verdict="$verdict ($(grep -m1 '^SUMMARY' "$W/leak.$mode.log"))"
			fi
		fi
		LEAK_TXT+="- $mode code, $n calls in one handle: $verdict; ${secs} s"$'\n'
	done
	umount "$W/shm"
	LEAK_S=$((SECONDS - T0))
fi

# --- report ---------------------------------------------------------------------------
p50() { echo "${P50[$(idx "$1")]}"; }
ratio_line() { # TEXT NUM_KEY DEN_KEY OP TARGET
	awk -v t="$1" -v a="$(p50 "$2")" -v b="$(p50 "$3")" -v op="$4" -v target="$5" 'BEGIN {
		r = a / b
		ok = (op == "<=") ? (r <= target) : (r < target)
		printf "| %s | %.1f / %.1f | %.2f | %s %s | %s |\n", t, a, b, r, op, target, ok ? "met" : "**missed**"
	}'
}
fs_of() { df -T "$1" | awk 'NR == 2 { print $2 " on " $1 " (" $7 ")" }'; }
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }
commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git -C "$TOP" status --porcelain -- src pam_stepup.c 2>/dev/null | wc -l)
newest_src=$(find "$TOP/src" "$TOP/pam_stepup.c" -name '*.[ch]' -printf '%T@\n' 2>/dev/null | sort -n | tail -1)
if awk -v m="$(stat -c %Y "$MODULE")" -v s="${newest_src:-0}" 'BEGIN { exit !(m + 0 >= s + 0) }'; then
	fresh="built after the newest source file"
else
	fresh="**older than a source file: rebuild (make && make tests/root.stamp)**"
fi
if grep -q -a locked_until "$MODULE"; then
	lockout="knows lockout (the string locked_until is in it)"
else
	lockout="does **not** know lockout (no locked_until in it): the locked-out rows prompt and fail on the wrong code like the wrong-code rows"
fi

echo
echo "## pam_stepup vs pam_oath vs google-authenticator, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- host: $(uname -srm), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- files (state, usersfile, secret files): $(fs_of "$W") — every module's fsyncs hit it"
echo "- syslog: $SYSLOG_CASE"
echo "- pam_stepup: $MODULE, tree $TOP at $commit$([ "$dirty" -gt 0 ] && echo " with $dirty uncommitted change(s) in src/"), module $fresh; it $lockout"
echo "- pam_oath $(pkgver libpam-oath) ($OATH): usersfile, window=1, digits=6"
echo "- pam_google_authenticator $(pkgver libpam-google-authenticator) ($GA): secret=DIR/\${USER} user=root; RATE_LIMIT 3 30, WINDOW_SIZE 3, DISALLOW_REUSE, TOTP_AUTH"
echo "- measured user: $MUSER ($(getent passwd "$MUSER" >/dev/null && echo "an account NSS knows" || echo "**unknown to NSS: pam_stepup pays a failed lookup per call**")); the other $((USERS - 1)) users of the many-user trees are u000001..; in pam_oath's usersfile $MUSER is line $MIDDLE of $USERS"
echo "- n=$N timed calls per row ($HEAVY_N for pam_oath at $USERS users) in $ROUNDS rounds over all rows, each round one process and one PAM handle per row after $WARMUP warm-up calls; p50/p99 nearest rank over all of a row's calls; instructions: callgrind, n=$CG_N ($CG_HEAVY_N for pam_oath at $USERS users)"
echo
echo "| path | module | users | p50 µs | p99 µs | instr/call |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for i in "${!KEYS[@]}"; do
	echo "| ${LABELS[$i]} | ${MODS[$i]} | ${USERS_COL[$i]} | ${P50[$i]} | ${P99[$i]} | ${IR[$i]:--} |"
done
echo
echo "Ratios (p50 over p50, this run):"
echo
echo "| ratio | p50s µs | value | target | |"
echo "| --- | ---: | ---: | --- | --- |"
for t in 1 many; do
	u=$([ $t = 1 ] && echo "1 user" || echo "$USERS users")
	ratio_line "stepup right / pam_oath success, $u" "su-right-$t" "oath-right-$t" "<=" 1.0
	ratio_line "stepup wrong / pam_oath success, $u" "su-wrong-$t" "oath-right-$t" "<=" 1.0
	ratio_line "stepup wrong / google-auth failure, $u" "su-wrong-$t" "ga-wrong-$t" "<" 1.0
done
ratio_line "stepup right, $USERS / 1 user" su-right-many su-right-1 "<=" 1.10
ratio_line "stepup wrong, $USERS / 1 user" su-wrong-many su-wrong-1 "<=" 1.10
ratio_line "stepup locked-out, $USERS / 1 user" su-locked-many su-locked-1 "<=" 1.10
awk -v a="$(p50 oath-right-many)" -v b="$(p50 oath-right-1)" -v c="$(p50 oath-wrong-many)" \
	-v d="$(p50 oath-wrong-1)" -v e="$(p50 ga-right-many)" -v f="$(p50 ga-right-1)" \
	-v g="$(p50 ga-wrong-many)" -v h="$(p50 ga-wrong-1)" -v u="$USERS" 'BEGIN {
	printf "| pam_oath success, %s / 1 user | %.1f / %.1f | %.2f | (none) | |\n", u, a, b, a / b
	printf "| pam_oath wrong, %s / 1 user | %.1f / %.1f | %.2f | (none) | |\n", u, c, d, c / d
	printf "| google-auth success, %s / 1 user | %.1f / %.1f | %.2f | (none) | |\n", u, e, f, e / f
	printf "| google-auth failure, %s / 1 user | %.1f / %.1f | %.2f | (none) | |\n", u, g, h, g / h
}'

if [ "$STRACE" = 1 ]; then
	echo
	echo "Syscalls per call inside the timed calls (strace -f -T, n=$ST_N per row; counts"
	echo "are exact, the fsync time is as traced). log = sendto/connect (syslog, audit)."
	echo
	echo "| path | module | users | syscalls | fsync | fsync µs | open | read | write | rename | flock/fcntl | log |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for i in "${!KEYS[@]}"; do
		s=${STR[$i]}
		echo "| ${LABELS[$i]} | ${MODS[$i]} | ${USERS_COL[$i]} | ${s//|/ | } |"
	done
fi

echo
echo "Heap held by malloc: growth from after the warm-up to after the last timed"
echo "call, before pam_end, summed over the rounds (mallinfo2; growth with the"
echo "number of calls is memory kept in the handle or leaked):"
echo
echo "| path | module | users | calls | heap growth B | B/call |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for i in "${!KEYS[@]}"; do
	awk -v l="${LABELS[$i]}" -v m="${MODS[$i]}" -v u="${USERS_COL[$i]}" -v n="${CALLS[$i]}" \
		-v g="${HEAPG[$i]}" 'BEGIN { printf "| %s | %s | %s | %d | %d | %.1f |\n", l, m, u, n, g, g / n }'
done

# annotate KEY: top self-cost functions per call
annotate() {
	local i
	i=$(idx "$1")
	echo
	echo "Where the instructions of ${MODS[$i]}, ${LABELS[$i]}, users: ${USERS_COL[$i]}, go (callgrind, self cost per call, top 10):"
	echo
	echo '```'
	top_functions "$W/callgrind.$1" "$2" 10
	echo '```'
}
if [ "$CALLGRIND" = 1 ] && command -v callgrind_annotate >/dev/null; then
	annotate su-right-1 "$CG_N"
	annotate su-wrong-1 "$CG_N"
	annotate oath-right-1 "$CG_N"
fi

if [ "$LEAK" = 1 ]; then
	echo
	echo "Leak check (LeakSanitizer, at exit after pam_end; ASan+UBSan module: $ASAN_FROM;"
	echo "tree on a private tmpfs; ${LEAK_S} s in all; $LSAN_OK):"
	echo
	printf '%s' "$LEAK_TXT"
fi

echo
echo "took $((SECONDS - START)) s (set-up of the trees ${SETUP_S} s): bash bench/compare.sh $ORIG_ARGS" | sed 's/ *$//'
