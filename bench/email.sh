#!/bin/bash
# bench/email.sh: how long a successful email send takes through pam_stepup,
# beside the bare SMTP transaction to the same server in the same run.
# Run as root from a built tree (make tests/root.stamp):
#
#     bash bench/email.sh [-n N]
#
#   -n N               sends per row (default 50)
#   --stepupctl PATH   stepupctl (default $STEPUPCTL or tests/root/...)
#   --keep             keep the private tree (printed at exit)
#
# Rows (p50 and p99 of wall time per send, nearest rank):
#   curl          curl --ssl-reqd --mail-from --mail-rcpt -u -T: one process,
#                 STARTTLS, AUTH, one message: the bare transaction
#   stepupctl     stepupctl test-email USER: one process that reads the
#                 config, the user's record and the credentials file,
#                 composes the RFC 5322 message and sends it with libcurl
#                 with the same TLS and AUTH
#   stepupctl-nosend  stepupctl status USER: the same process start, config
#                 and record reads without the send, to show how much of the
#                 difference is process start rather than the send
# The server is tests/integration/smtp_server.py (python3-aiosmtpd) on
# 127.0.0.1 with STARTTLS required and AUTH, a certificate made here.
# Never run by `make check`.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
N=50 KEEP=0
STEPUPCTL=${STEPUPCTL:-$TOP/tests/root/usr/local/sbin/stepupctl}

die() { echo "email.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	--stepupctl) STEPUPCTL=$2; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) die "unknown option $1" ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$STEPUPCTL" ] || die "no stepupctl at $STEPUPCTL (make tests/root.stamp)"
command -v curl >/dev/null || die "curl is not installed"
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || die "python3-aiosmtpd is not installed"

W=$(mktemp -d /tmp/stepup-email-bench.XXXXXX)
chmod 0755 "$W"
SMTP_PID=
cleanup() {
	[ -n "$SMTP_PID" ] && kill "$SMTP_PID" 2>/dev/null && wait "$SMTP_PID" 2>/dev/null
	if [ "$KEEP" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1 \
	-keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
mkdir -p "$W/mail"
/usr/bin/python3 "$TOP/tests/integration/smtp_server.py" --port 0 \
	--port-file "$W/port" --maildir "$W/mail" --cert "$W/cert.pem" \
	--key "$W/key.pem" --mode starttls --user bench --password bench-pw &
SMTP_PID=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.1; done
[ -s "$W/port" ] || die "the SMTP server did not start"
PORT=$(cat "$W/port")

install -m 0600 /dev/null "$W/credentials"
echo "bench:bench-pw" >"$W/credentials"
cat >"$W/stepup.conf" <<CONF
[global]
methods = email
smtp_url = smtp://127.0.0.1:$PORT
smtp_from = stepup@bench.example
smtp_credentials = $W/credentials
smtp_ca_file = $W/cert.pem
user_dir = $W/etc/stepup/users
state_dir = $W/var/lib/stepup/state
grace_dir = $W/run/stepup/grace
hostkey = $W/etc/stepup/hostkey
CONF
"$STEPUPCTL" -c "$W/stepup.conf" init >/dev/null
"$STEPUPCTL" -c "$W/stepup.conf" enroll bench email bench@bench.example >/dev/null 2>&1

printf 'From: stepup@bench.example\r\nTo: bench@bench.example\r\nSubject: bench\r\n\r\nbench\r\n' >"$W/msg.txt"

# time_row NAME COMMAND...: N runs, one wall time (µs) per line in $W/NAME
time_row() {
	local name=$1 i t0 t1
	shift
	: >"$W/$name"
	"$@" >/dev/null 2>&1 || die "$name failed: $*"   # warm-up, and a check
	for ((i = 0; i < N; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || die "$name failed on run $i"
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >>"$W/$name"
	done
}

pct() { # FILE P: nearest-rank percentile
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int((p * NR + 99) / 100); if (i < 1) i = 1; print v[i] }'
}

time_row curl curl -s --ssl-reqd --cacert "$W/cert.pem" -u bench:bench-pw \
	--mail-from stepup@bench.example --mail-rcpt bench@bench.example \
	-T "$W/msg.txt" "smtp://127.0.0.1:$PORT"
time_row stepupctl "$STEPUPCTL" -c "$W/stepup.conf" test-email bench
time_row stepupctl-nosend "$STEPUPCTL" -c "$W/stepup.conf" status bench

c50=$(pct "$W/curl" 50) s50=$(pct "$W/stepupctl" 50) n50=$(pct "$W/stepupctl-nosend" 50)
echo
echo "email send on loopback, n=$N per row, $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| row | p50 (ms) | p99 (ms) |"
echo "| --- | ---: | ---: |"
for row in curl stepupctl stepupctl-nosend; do
	awk -v r="$row" -v a="$(pct "$W/$row" 50)" -v b="$(pct "$W/$row" 99)" \
		'BEGIN { printf "| %s | %.2f | %.2f |\n", r, a / 1000, b / 1000 }'
done
echo
awk -v s="$s50" -v c="$c50" -v n="$n50" 'BEGIN {
	printf "stepupctl test-email - curl (p50): %+.2f ms (target: under +5 ms)\n", (s - c) / 1000
	printf "of which process start, config and record (stepupctl status p50): %.2f ms\n", n / 1000
}'
echo "messages delivered: $(ls "$W/mail" | grep -c '\.eml$')"
