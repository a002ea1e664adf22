#!/bin/bash
# stepupctl against a private tree (TAP). Every case runs the installed
# binary; TOTP codes come from oathtool, never from our own code.
#
# Env: STEPUPCTL (the installed stepupctl), TOP_BUILDDIR (the build tree).
set -u

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP stepupctl must run as root"
	exit 0
fi
if [ -z "${STEPUPCTL:-}" ] || [ ! -x "$STEPUPCTL" ]; then
	echo "1..0 # SKIP STEPUPCTL is not set to the installed stepupctl"
	exit 0
fi
for tool in oathtool sha256sum; do
	if ! command -v "$tool" >/dev/null; then
		echo "1..0 # SKIP $tool is not installed"
		exit 0
	fi
done

umask 022
mkdir -p "${TOP_BUILDDIR:-.}/tests/tmp" || exit 1
T=$(mktemp -d "${TOP_BUILDDIR:-.}/tests/tmp/stepupctl.XXXXXX") || exit 1
T=$(cd "$T" && pwd)
chmod 0755 "$T"
trap 'rm -rf "$T"' EXIT

USERS=$T/etc/stepup/users
STATE=$T/var/lib/stepup/state
GRACE=$T/run/stepup/grace
HOSTKEY=$T/etc/stepup/hostkey
CONF=$T/stepup.conf
cat >"$CONF" <<EOF
[global]
user_dir = $USERS
state_dir = $STATE
grace_dir = $GRACE
hostkey = $HOSTKEY
EOF
chmod 0644 "$CONF"

SECRET=JBSWY3DPEHPK3PXP # 10 bytes, the smallest accepted

# ---- TAP helpers --------------------------------------------------------------

n=0
echo "1..47"

# run ARGS...: stepupctl with our config; sets out, err, rc.
run() {
	out=$("$STEPUPCTL" -c "$CONF" "$@" 2>"$T/stderr" </dev/null)
	rc=$?
	err=$(cat "$T/stderr")
}

# run_stdin INPUT ARGS...: the same with INPUT on stdin.
run_stdin() {
	local input=$1
	shift
	out=$(printf '%s\n' "$input" | "$STEPUPCTL" -c "$CONF" "$@" 2>"$T/stderr")
	rc=$?
	err=$(cat "$T/stderr")
}

# check DESC CMD...: one test case, passing if CMD succeeds.
check() {
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		echo "#   rc=${rc:-} while checking: $*"
		printf '%s\n' "${out:-}" | sed 's/^/#   stdout: /'
		printf '%s\n' "${err:-}" | sed 's/^/#   stderr: /'
	fi
}

# rc_is N: the last run exited N; its stderr is one line if it failed.
rc_is() {
	[ "$rc" = "$1" ] || return 1
	[ "$1" = 0 ] || [ "$(printf '%s\n' "$err" | wc -l)" = 1 ]
}
err_has() { printf '%s\n' "$err" | grep -qF -- "$1"; }
out_has() { printf '%s\n' "$out" | grep -qF -- "$1"; }
uri() { printf '%s\n' "$out" | grep -m1 '^otpauth://'; }

# mode_owner PATH: "700 root" etc.
mode_owner() { stat -c '%a %U' "$1"; }

# put_record USER TEXT: write a record as configuration management would.
put_record() {
	printf '%s' "$2" >"$USERS/$1"
	chmod 0600 "$USERS/$1"
}

# ---- usage errors (no tree needed) -------------------------------------------

t_help() {
	out=$("$STEPUPCTL" --help 2>&1)
	rc=$?
	[ "$rc" = 0 ] && out_has "Usage: stepupctl [-c CONFIG] COMMAND" &&
		out_has "enroll USER totp" && out_has "check-config"
}
check "--help prints the usage and exits 0" t_help

t_unknown_command() {
	run frobnicate
	rc_is 2 && err_has "stepupctl: unknown command 'frobnicate'" &&
		err_has "(see stepupctl --help)"
}
check "an unknown command is a usage error (2)" t_unknown_command

t_missing_user() {
	run enroll && rc_is 2 && err_has "missing argument" || return 1
	run enroll alice && rc_is 2 || return 1
	run remove && rc_is 2 || return 1
	run status alice bob && rc_is 2 &&
		err_has "status: unexpected extra argument (2 given, at most 1)" && ! err_has bob
}
check "a missing or extra argument is a usage error (2)" t_missing_user

t_bad_options() {
	run enroll alice totp --digits 7 && rc_is 2 && err_has "--digits must be 6 or 8" || return 1
	run enroll alice totp --period 10 && rc_is 2 || return 1
	run enroll alice totp --issuer 'a:b' && rc_is 2 || return 1
	run enroll alice totp --secret && rc_is 2 && err_has "'--secret' needs a value" || return 1
	run enroll alice totp --bogus && rc_is 2 && err_has "unknown option '--bogus'" || return 1
	run enroll alice sms && rc_is 2 && err_has "unknown method" && ! err_has sms || return 1
	run status --force && rc_is 2 || return 1
	run remove alice sms && rc_is 2
}
check "bad option values and unknown options are usage errors (2)" t_bad_options

# A secret typed in the wrong place is neither echoed nor left in argv.
t_secret_not_echoed() {
	run enroll alice totp "$SECRET" && rc_is 2 &&
		err_has "enroll: totp takes nothing after the method name" || return 1
	! err_has "$SECRET" || return 1
	run enroll alice totp "$SECRET" x && rc_is 2 &&
		err_has "enroll: unexpected extra argument (4 given, at most 3)" || return 1
	! err_has "$SECRET" || return 1
	run enroll alice "$SECRET" x && rc_is 2 && err_has "unknown method" || return 1
	! err_has "$SECRET" || return 1
	run enroll alice "$SECRET" && rc_is 2 && err_has "unknown method" || return 1
	! err_has "$SECRET" || return 1
	run remove alice "$SECRET" && rc_is 2 && ! err_has "$SECRET" || return 1
	run enroll alice totp --digits "$SECRET" && rc_is 2 && ! err_has "$SECRET" || return 1
	run enroll alice totp --period "$SECRET" && rc_is 2 && ! err_has "$SECRET" || return 1
	run init "$SECRET" && rc_is 2 && err_has "init: unexpected extra argument (1 given, at most 0)" &&
		! err_has "$SECRET"
}
check "an argument that may be a secret is never echoed" t_secret_not_echoed

t_not_root() {
	if ! command -v setpriv >/dev/null; then
		return 0 # cannot drop privileges here; nothing to show
	fi
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$STEPUPCTL" -c "$CONF" status 2>"$T/stderr")
	rc=$?
	err=$(cat "$T/stderr")
	rc_is 1 && [ "$err" = "stepupctl: must be run as root" ]
}
check "a non-root caller is refused (1)" t_not_root

# ---- config ------------------------------------------------------------------

t_check_config_ok() {
	run check-config
	rc_is 0 && [ "$out" = "$CONF: OK" ]
}
check "check-config on a good file prints 'FILE: OK'" t_check_config_ok

t_check_config_all_enforced() {
	local conf=$T/allkeys.conf
	{ cat "$CONF"; printf 'lockout_time = 60\nlockout_attempts = 4\nmethods = totp, email, recovery\n'; } >"$conf"
	chmod 0644 "$conf"
	out=$("$STEPUPCTL" -c "$conf" check-config 2>"$T/stderr")
	rc=$?
	err=$(cat "$T/stderr")
	[ "$rc" = 0 ] && [ "$out" = "$conf: OK" ] && [ -z "$err" ]
}
check "check-config: lockout keys and the recovery method are enforced: no warning" t_check_config_all_enforced

t_example_config() {
	local src=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/etc/stepup.conf
	# A root-owned copy: the checkout may belong to someone else.
	cp "$src" "$T/example.conf" && chmod 0644 "$T/example.conf" || return 1
	out=$("$STEPUPCTL" -c "$T/example.conf" check-config 2>"$T/stderr")
	rc=$?
	err=$(cat "$T/stderr")
	[ "$rc" = 0 ] && [ "$out" = "$T/example.conf: OK" ] && [ -z "$err" ]
}
check "etc/stepup.conf passes check-config without a warning" t_example_config

t_check_config_bad() {
	local bad=$T/bad.conf
	printf '[global]\ngrace = 60\nfrobs = 3\n' >"$bad"
	chmod 0644 "$bad"
	out=$("$STEPUPCTL" -c "$bad" check-config 2>"$T/stderr")
	rc=$?
	err=$(cat "$T/stderr")
	[ "$rc" = 1 ] && err_has "stepupctl: $bad:3:" && err_has "frobs" || return 1
	out=$("$STEPUPCTL" -c "$bad" status 2>"$T/stderr")
	rc=$?
	err=$(cat "$T/stderr")
	[ "$rc" = 1 ] && err_has "$bad:3:"
}
check "a bad key fails every command (1), naming FILE:LINE" t_check_config_bad

t_config_missing() {
	out=$("$STEPUPCTL" -c "$T/nonexistent.conf" status 2>"$T/stderr")
	rc=$?
	err=$(cat "$T/stderr")
	rc_is 1 && err_has "$T/nonexistent.conf does not exist"
}
check "-c naming a missing file is refused (1)" t_config_missing

# ---- init --------------------------------------------------------------------

t_enroll_before_init() {
	run enroll alice totp --secret "$SECRET"
	rc_is 1 && err_has "stepupctl init"
}
check "enroll before init is refused and says to run init" t_enroll_before_init

t_init() {
	run init
	rc_is 0 && out_has "created $USERS" && out_has "created $HOSTKEY"
}
check "init exits 0 and reports what it created" t_init

t_init_dirs() {
	local d
	for d in "$T/etc/stepup" "$USERS" "$STATE" "$GRACE"; do
		[ "$(mode_owner "$d")" = "700 root" ] || { out="$d: $(mode_owner "$d")"; return 1; }
	done
	[ "$(mode_owner "$T/var/lib/stepup")" = "755 root" ]
}
check "init creates the directories 0700 (parents 0755)" t_init_dirs

t_init_hostkey() {
	[ "$(mode_owner "$HOSTKEY")" = "600 root" ] &&
		[ "$(stat -c %s "$HOSTKEY")" = 32 ] && [ -f "$HOSTKEY" ] && [ ! -L "$HOSTKEY" ]
}
check "init creates a 32-byte host key, root 0600" t_init_hostkey

t_init_twice() {
	local before after
	before=$(sha256sum <"$HOSTKEY")
	run init
	after=$(sha256sum <"$HOSTKEY")
	rc_is 0 && [ "$before" = "$after" ] && out_has "kept $HOSTKEY"
}
check "init run twice keeps the same host key" t_init_twice

t_init_short_key() {
	local saved=$T/hostkey.saved
	cp -p "$HOSTKEY" "$saved"
	head -c 16 "$saved" >"$HOSTKEY"
	run init
	mv "$saved" "$HOSTKEY"
	rc_is 1 && err_has "holds 16 bytes, not 32"
}
check "init refuses a host key that is not 32 bytes" t_init_short_key

# ---- enroll ------------------------------------------------------------------

t_enroll_secret() {
	run enroll alice totp --secret "$SECRET" --issuer Example
	rc_is 0 && [ "$(uri)" = "otpauth://totp/Example:alice?secret=$SECRET&issuer=Example&algorithm=SHA1&digits=6&period=30" ] &&
		out_has "sudo -v"
}
check "enroll --secret prints the exact otpauth URI" t_enroll_secret

t_record_file() {
	local f=$USERS/alice
	[ "$(mode_owner "$f")" = "600 root" ] && [ "$(head -n1 "$f")" = "version=1" ] &&
		grep -qx "totp_secret=$SECRET" "$f" && grep -qx "totp_digits=6" "$f" &&
		grep -qx "totp_period=30" "$f"
}
check "the record is root 0600 with totp_secret, digits, period" t_record_file

t_enroll_twice() {
	run enroll alice totp --secret "$SECRET"
	rc_is 1 && err_has "alice already has TOTP enrolled; run 'stepupctl remove alice totp' first, or add --force"
}
check "enroll twice without --force is refused (1)" t_enroll_twice

t_enroll_force() {
	printf 'version=1\ntotp_last_time=1699999980\nfailures=2\n' >"$STATE/alice"
	chmod 0600 "$STATE/alice"
	run enroll alice totp --force --secret "jbsw y3dp-ehpk 3pxp" --issuer Example
	rc_is 0 && grep -qx "totp_secret=$SECRET" "$USERS/alice" &&
		grep -qx 'totp_last_time=1699999980' "$STATE/alice" && grep -qx 'failures=2' "$STATE/alice"
	local r=$?
	rm -f "$STATE/alice"
	return $r
}
check "enroll --force replaces it (secret canonical, state kept)" t_enroll_force

t_enroll_force_period() {
	run enroll henry totp --period 60 --secret "$SECRET" && rc_is 0 || return 1
	printf 'version=1\ntotp_last_time=1699999980\n' >"$STATE/henry"
	chmod 0600 "$STATE/henry"
	cp -p "$STATE/henry" "$T/henry.state"
	# A time, not a step: valid for any period, so the state is left alone.
	run enroll henry totp --force --period 30 --secret "$SECRET"
	rc_is 0 && grep -qx 'totp_period=30' "$USERS/henry" &&
		cmp -s "$STATE/henry" "$T/henry.state" || return 1
	run remove henry
	rc_is 0
}
check "enroll --force with a new period leaves the state as it was" t_enroll_force_period

t_enroll_random() {
	local secret code
	run enroll bob totp
	rc_is 0 || return 1
	secret=$(uri | sed -n 's/.*[?&]secret=\([A-Z2-7]*\)&.*/\1/p')
	[ "${#secret}" = 32 ] || return 1 # 20 bytes of base32
	code=$(oathtool --totp -b "$secret") || return 1
	[[ $code =~ ^[0-9]{6}$ ]] && grep -qx "totp_digits=6" "$USERS/bob" &&
		grep -qx "totp_period=30" "$USERS/bob" && grep -qx "totp_secret=$secret" "$USERS/bob"
}
check "enroll without --secret makes a 160-bit secret oathtool accepts" t_enroll_random

t_enroll_params() {
	run enroll dave totp --digits 8 --period 60 --secret "$SECRET" --issuer Example
	rc_is 0 && uri | grep -q '&digits=8&period=60$' &&
		grep -qx "totp_digits=8" "$USERS/dave" && grep -qx "totp_period=60" "$USERS/dave"
}
check "enroll --digits 8 --period 60 is recorded and in the URI" t_enroll_params

t_enroll_stdin() {
	run_stdin "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" enroll carol totp --secret - --issuer 'My Org'
	rc_is 0 && grep -qx "totp_secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" "$USERS/carol"
}
check "enroll --secret - reads the secret from stdin" t_enroll_stdin

t_uri_encoding() {
	[ "$(uri)" = "otpauth://totp/My%20Org:carol?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=My%20Org&algorithm=SHA1&digits=6&period=30" ]
}
check "the URI percent-encodes an issuer with a space" t_uri_encoding

t_bad_secret() {
	run enroll erin totp --secret 'NOT*BASE32' && rc_is 2 || return 1
	run enroll erin totp --secret MZXW6 && rc_is 2 && err_has "10 to 64" || return 1
	run_stdin "" enroll erin totp --secret - && rc_is 2 || return 1
	[ ! -e "$USERS/erin" ]
}
check "a secret that is not base32 of 10..64 bytes is a usage error" t_bad_secret

t_bad_user() {
	run enroll ../x totp && rc_is 1 && err_has "'../x' is not a valid user name" || return 1
	run status ../x && rc_is 1 || return 1
	run remove .hidden && rc_is 1
}
check "a bad user name is refused (1)" t_bad_user

t_unknown_account() {
	run enroll ldap_only_user_x totp --secret "$SECRET"
	rc_is 0 && err_has "warning: no user 'ldap_only_user_x'" && [ -f "$USERS/ldap_only_user_x" ]
}
check "enroll warns about a name unknown to passwd but enrols it" t_unknown_account

t_keeps_other_keys() {
	put_record frank "version=1
email_address=frank@example.com
x_future_key=kept
"
	run enroll frank totp --secret "$SECRET"
	rc_is 0 && grep -qx 'email_address=frank@example.com' "$USERS/frank" &&
		grep -qx 'x_future_key=kept' "$USERS/frank" && grep -qx "totp_secret=$SECRET" "$USERS/frank"
}
check "enroll keeps the record's other keys" t_keeps_other_keys

t_qr_on_tty() {
	local lines widths
	if ! command -v script >/dev/null; then
		return 0
	fi
	out=$(script -qec "'$STEPUPCTL' -c '$CONF' enroll gina totp --secret $SECRET --issuer Example" /dev/null 2>&1)
	rc=$?
	lines=$(printf '%s\n' "$out" | grep -c '█')
	# Every row of the code has the same number of characters.
	widths=$(printf '%s\n' "$out" | tr -d '\r' | grep '[█▀▄]' |
		LC_ALL=C.UTF-8 bash -c 'while IFS= read -r l; do echo "${#l}"; done' | sort -u | wc -l)
	[ "$rc" = 0 ] && [ "$lines" -ge 10 ] && [ "$widths" = 1 ] && out_has "or QR code" ||
		return 1
	qr_decodes "$out" "otpauth://totp/Example:gina?secret=$SECRET&issuer=Example&algorithm=SHA1&digits=6&period=30"
}

# qr_decodes TEXT URI: the half-block drawing in TEXT scans as URI (when
# zbarimg and python3 are here to scan it; light modules are white).
qr_decodes() {
	command -v zbarimg >/dev/null && command -v python3 >/dev/null || return 0
	printf '%s\n' "$1" | python3 -c '
import sys
cells = {"\u2588": (1, 1), "\u2580": (1, 0), "\u2584": (0, 1), " ": (0, 0)}
rows = []
for line in sys.stdin.read().split("\n"):
    line = line.rstrip("\r")
    if not line or not set(line) <= set(cells) or set(line) == {" "}:
        continue
    rows.append([cells[c][0] for c in line])
    rows.append([cells[c][1] for c in line])
scale = 4
print("P1\n%d %d" % (len(rows[0]) * scale, len(rows) * scale))
for r in rows:
    pixels = " ".join("0" if light else "1" for light in r for _ in range(scale))
    for _ in range(scale):
        print(pixels)
' >"$T/qr.pbm" || return 1
	[ "$(zbarimg -q --raw "$T/qr.pbm" 2>/dev/null)" = "$2" ]
}
check "on a terminal enroll draws a QR code of even width" t_qr_on_tty

# ---- status ------------------------------------------------------------------

t_status_all() {
	run status
	rc_is 0 && printf '%s\n' "$out" | grep -qx 'alice  totp (6 digits, 30 s)' &&
		printf '%s\n' "$out" | grep -q '^bob  totp (6 digits, 30 s)$' &&
		printf '%s\n' "$out" | grep -q '^dave  totp (8 digits, 60 s)$'
}
check "status lists every enrolled user with digits and period" t_status_all

t_status_user() {
	run status alice
	rc_is 0 && out_has "user: alice" && out_has "methods: totp" &&
		out_has "totp digits: 6" && out_has "totp period: 30 s" && out_has "totp last code: never"
}
check "status USER shows the methods and parameters" t_status_user

t_status_last_code() {
	# Shown as it is: no arithmetic with the period.
	printf 'version=1\ntotp_last_time=1700000000\n' >"$STATE/alice"
	chmod 0600 "$STATE/alice"
	run status alice
	rc_is 0 || return 1
	out_has "totp last code: $(TZ=${TZ:-} date -d @1700000000 '+%Y-%m-%d %H:%M:%S %Z')" || return 1
	run status
	printf '%s\n' "$out" | grep -q '^alice  totp (6 digits, 30 s), last code 20'
}
check "status shows when the last code was accepted" t_status_last_code

t_status_no_secret() {
	local all
	run status
	all=$out
	run status alice
	all="$all
$out"
	! printf '%s\n' "$all" | grep -qi -e "$SECRET" -e 'secret'
}
check "status never prints a secret" t_status_no_secret

t_status_symlink() {
	ln -s "$USERS/alice" "$USERS/mallory"
	run status mallory
	rc_is 1 && err_has "$USERS/mallory" || return 1
	run status
	[ "$rc" = 1 ] && err_has "$USERS/mallory" && out_has "alice  totp"
	rm -f "$USERS/mallory"
}
check "a record that is a symlink is refused, naming the path" t_status_symlink

t_status_wrong_owner() {
	put_record oscar "version=1
totp_secret=$SECRET
"
	chown nobody "$USERS/oscar"
	run status oscar
	rc_is 1 && err_has "$USERS/oscar" && err_has "not owned by root"
	local r=$?
	rm -f "$USERS/oscar"
	return $r
}
check "a record owned by nobody is refused, naming the path" t_status_wrong_owner

t_status_malformed() {
	put_record pat "version=1
totp_secret=$SECRET
totp_digits=7
"
	run status pat
	rc_is 1 && err_has "$USERS/pat"
	local r=$?
	rm -f "$USERS/pat"
	return $r
}
check "a record with a bad value is refused, naming the file" t_status_malformed

t_status_not_enrolled() {
	run status nobody_here
	rc_is 1 && [ "$err" = "stepupctl: nobody_here is not enrolled" ]
}
check "status of a user not enrolled is refused (1)" t_status_not_enrolled

# ---- remove ------------------------------------------------------------------

t_remove_totp() {
	run remove alice totp
	rc_is 0 && out_has "removed totp from alice" && out_has "alice has no method left" || return 1
	# The record stays, without a method; so does the state (last code).
	[ "$(cat "$USERS/alice")" = "version=1" ] && grep -qx 'totp_last_time=1700000000' "$STATE/alice" ||
		return 1
	run status alice
	rc_is 0 && out_has "methods: none" || return 1
	run status
	rc_is 0 && printf '%s\n' "$out" | grep -qx 'alice  no methods'
}
check "remove USER totp of the only method leaves no method, keeps the state" t_remove_totp

t_remove_totp_keeps_state() {
	run enroll irene totp --secret "$SECRET" && rc_is 0 || return 1
	printf 'version=1\ntotp_last_time=1700000010\nx_other=1\n' >"$STATE/irene"
	chmod 0600 "$STATE/irene"
	cp -p "$STATE/irene" "$T/irene.state"
	run remove irene totp
	rc_is 0 && ! grep -q '^totp_' "$USERS/irene" || return 1
	# The replay barrier: the same secret enrolled again must still find it.
	cmp -s "$STATE/irene" "$T/irene.state" || return 1
	run enroll irene totp --secret "$SECRET"
	rc_is 0 && grep -qx 'totp_last_time=1700000010' "$STATE/irene" || return 1
	run status irene
	out_has "totp last code: $(TZ=${TZ:-} date -d @1700000010 '+%Y-%m-%d %H:%M:%S %Z')"
}
check "remove USER totp keeps totp_last_time in the state" t_remove_totp_keeps_state

t_remove_totp_keeps() {
	run remove frank totp
	rc_is 0 && grep -qx 'email_address=frank@example.com' "$USERS/frank" &&
		! grep -q '^totp_' "$USERS/frank"
}
check "remove USER totp keeps the other keys" t_remove_totp_keeps

t_remove_user() {
	printf 'version=1\ntotp_last_time=1\n' >"$STATE/bob"
	chmod 0600 "$STATE/bob"
	run remove bob
	rc_is 0 && [ ! -e "$USERS/bob" ] && [ ! -e "$STATE/bob" ] || return 1
	run remove bob
	rc_is 1 && err_has "bob is not enrolled" || return 1
	run remove frank totp
	rc_is 1 && err_has "frank has no TOTP enrolled" || return 1
	# A record left with no method goes with 'remove USER', state and all.
	run remove alice
	rc_is 0 && [ ! -e "$USERS/alice" ] && [ ! -e "$STATE/alice" ]
}
check "remove USER removes record and state; twice is refused (1)" t_remove_user

# ---- email ---------------------------------------------------------------------

t_enroll_email() {
	run enroll erin email erin@example.com
	rc_is 0 && out_has "enrolled erin for email codes to erin@example.com" &&
		grep -qx 'email_address=erin@example.com' "$USERS/erin" &&
		[ "$(mode_owner "$USERS/erin")" = "600 root" ] || return 1
	# no smtp_url in this config: said once, as a warning
	err_has "warning: smtp_url and smtp_from are not both set" || return 1
	run enroll erin email other@example.com
	rc_is 1 && err_has "erin already has email enrolled" || return 1
	run enroll erin email other@example.com --force
	rc_is 0 && grep -qx 'email_address=other@example.com' "$USERS/erin" || return 1
	run enroll erin email erin@example.com --digits 8
	rc_is 2 && err_has "enroll: --digits is for totp only" || return 1
	run enroll erin email
	rc_is 2 && err_has "enroll: email takes one argument after the method name"
}
check "enroll USER email ADDRESS records the address; --force replaces it" t_enroll_email

t_enroll_email_bad() {
	local before a
	before=$(cat "$USERS/erin")
	for a in 'a@b@c' 'a b@c' 'nobody' '@example.com' 'a@' 'a@b..c' \
		'a@b,c@d' "$(printf 'a@b\rBcc: x@y')" "$(printf '%0300d@example.com' 0)"; do
		run enroll erin email "$a" --force
		rc_is 2 && err_has "enroll: not a usable email address" || return 1
	done
	[ "$(cat "$USERS/erin")" = "$before" ]
}
check "bad addresses are usage errors (2) and leave the record as it was" t_enroll_email_bad

t_status_email() {
	printf 'version=1\nemail_sent=%s,%s\n' $(( $(date +%s) - 7200 )) $(( $(date +%s) - 60 )) >"$STATE/erin"
	chmod 0600 "$STATE/erin"
	run status erin
	rc_is 0 && out_has "methods: email" && out_has "email address: other@example.com" &&
		out_has "email code: none pending" &&
		out_has "email codes sent in the last hour: 1" || return 1
	run status
	rc_is 0 && printf '%s\n' "$out" | grep -qx 'erin  email other@example.com'
}
check "status shows the address, a pending code and the sends of the last hour" t_status_email

t_remove_email() {
	run remove erin email
	rc_is 0 && ! grep -q '^email_' "$USERS/erin" && [ -e "$STATE/erin" ] || return 1
	run test-email erin
	rc_is 1 && err_has "erin has no email enrolled"
}
check "remove USER email drops the address, keeps the state" t_remove_email

[ "$n" = 47 ] || echo "# planned 47 cases, ran $n"
exit 0
