#!/bin/bash
# Email codes end to end: the installed module through the system's libpam
# and pamtester, real SMTP servers on 127.0.0.1 (tests/integration/
# smtp_server.py: STARTTLS with a self-signed certificate and AUTH, and the
# odd ones: silent, plain text, implicit TLS, a certificate for another
# name), and the code read from the delivered message.  Temporary service
# files in /etc/pam.d, the servers and the FIFO are removed on every exit
# path; the last TAP line checks that.
#
# SMTP_PORT_NAME and SMTP_DIR_NAME are set by start_smtp (printf -v):
# shellcheck disable=SC2154
set -u

. "$TOP_SRCDIR/tests/lib.sh"

require_root
require_env
require_program pamtester oathtool openssl timeout mkfifo hostname
require_aiosmtpd

PAMD=/etc/pam.d
SERVICE=stepup-email-$$
SERVICE_FILES=()
HOST=$(hostname)

# install_service NAME MODULE-ARGS...: /etc/pam.d/stepup-email-PID-NAME.
install_service() {
	local name=$SERVICE-$1
	shift
	SERVICE_FILES+=("$PAMD/$name")
	add_cleanup rm -f "'$PAMD/$name'"
	render_service stepup "$PAMD/$name" "$@"
}

# Runs from the EXIT trap, after the cleanups: the last TAP line.
check_cleanup() {
	local f left=() alive
	for f in "${SERVICE_FILES[@]}"; do
		[ -e "$f" ] && left+=("$f")
	done
	alive=$(smtp_servers_running | tr '\n' ' ')
	[ -e "$T/pt.fifo" ] && left+=("$T/pt.fifo")
	if [ ${#left[@]} -eq 0 ] && [ -z "$alive" ]; then
		tap_ok "cleanup: ${#SERVICE_FILES[@]} service files removed, ${#SMTP_PIDS[@]} SMTP servers stopped"
	else
		tap_not_ok "cleanup: left ${left[*]:-no files}; servers still running: ${alive:-none}"
		rm -f -- "${left[@]}"
		for f in $alive; do kill -KILL "$f" 2>/dev/null; done
	fi
}

# The settings every service starts from; email_service overrides them.
declare -A BASE
BASE_KEYS=(methods smtp_url smtp_from smtp_credentials smtp_ca_file smtp_tls
	smtp_timeout)

# email_service NAME [KEY=VALUE]...: $T/NAME.conf (BASE with the changes;
# KEY= drops a key) and the service stepup-email-PID-NAME using it.  Sets
# SVC to the service name.
email_service() {
	local name=$1 kv k lines=() order=("${BASE_KEYS[@]}")
	local -A v=()
	shift
	for k in "${BASE_KEYS[@]}"; do v[$k]=${BASE[$k]}; done
	for kv in "$@"; do
		k=${kv%%=*}
		[ -v "v[$k]" ] || order+=("$k")
		v[$k]=${kv#*=}
	done
	for k in "${order[@]}"; do
		[ -n "${v[$k]}" ] && lines+=("$k = ${v[$k]}")
	done
	write_conf "$T/$name.conf" "${lines[@]}"
	# grace=0: every call below must prompt, whatever grace records do.
	install_service "$name" "config=$T/$name.conf grace=0"
	SVC=$SERVICE-$name
}

# enroll_email USER ADDRESS
enroll_email() {
	"$STEPUPCTL" -c "$CONF" enroll "$1" email "$2" >"$T/enroll-email.$1.out" 2>&1 ||
		tap_bail "stepupctl enroll $1 email $2 failed: $(cat "$T/enroll-email.$1.out")"
}

# enroll_both USER: TOTP (secret in S) and USER@example.com.
enroll_both() {
	S=$(secret_for "$1")
	enroll "$1" "$S" || tap_bail "stepupctl enroll $1 totp failed: $(cat "$T/enroll.$1.out")"
	enroll_email "$1" "$1@example.com"
}

has() { grep -qF -- "$1" "$T/pt.out"; }

# addr_is VALUE ADDRESS: a header value that is ADDRESS, bare or in <>.
addr_is() { [[ $1 == "$2" || $1 == *"<$2>" ]]; }
has_re() { grep -qE -- "$1" "$T/pt.out"; }

# elapsed START: seconds since START (date +%s.%N), to 0.01 s.
elapsed() {
	awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }'
}
less_than() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

tap_plan 28
install_traps check_cleanup
make_tree email

# --- the servers -----------------------------------------------------------------
make_cert main IP:127.0.0.1,DNS:localhost
make_cert wrong DNS:wrong.example
printf 'stepup:s3cret-pw\n' >"$T/smtp-credentials"
printf 'stepup:not-the-password\n' >"$T/smtp-credentials-wrong"
chmod 0600 "$T/smtp-credentials" "$T/smtp-credentials-wrong"
AUTH=(--user stepup --password s3cret-pw)

start_smtp main --mode starttls --cert "$T/main.pem" --key "$T/main.key" "${AUTH[@]}" \
	--reject-rcpt bounce@example.com || tap_bail "the SMTP server did not start"
start_smtp smtps --mode smtps --cert "$T/main.pem" --key "$T/main.key" "${AUTH[@]}" ||
	tap_bail "the SMTPS server did not start"
start_smtp plain --mode plain || tap_bail "the plain SMTP server did not start"
start_smtp silent --mode silent || tap_bail "the silent server did not start"
start_smtp noquit --mode starttls --cert "$T/main.pem" --key "$T/main.key" "${AUTH[@]}" \
	--stall-quit || tap_bail "the SMTP server that never answers QUIT did not start"
start_smtp wrongcert --mode starttls --cert "$T/wrong.pem" --key "$T/wrong.key" "${AUTH[@]}" ||
	tap_bail "the SMTP server with the wrong certificate did not start"
CLOSED=$(free_port)
MAIL=$SMTP_DIR_main

BASE=(
	[methods]="totp, email"
	[smtp_url]="smtp://127.0.0.1:$SMTP_PORT_main"
	[smtp_from]="stepup@example.com"
	[smtp_credentials]="$T/smtp-credentials"
	[smtp_ca_file]="$T/main.pem"
	[smtp_tls]="required"
	[smtp_timeout]="10"
)
# $CONF (for stepupctl) is the main service's config.
email_service main
MAIN=$SVC
cp "$T/main.conf" "$CONF"

# Frozen clocks start at the real time: the certificates are valid from now.
T0=$(mid_step "$(date +%s)")

# --- 1-3. TOTP and email: Enter, read the mail, type the code ------------------------
enroll_both alice
# Not tap_check: the failure text shows the code this call received.
if pt_email "$T0" "$MAIN" alice "$MAIL" "" @mail @code &&
	has "Step-up authentication required for $MAIN." &&
	has "Verification code (press Enter to get a code by email to a***@example.com): " &&
	has "A code was sent to a***@example.com. It expires in 5 minutes." &&
	has "Verification code: " && [[ $PT_CODE =~ ^[0-9]{8}$ ]]; then
	tap_ok "TOTP+email user: Enter sends a mail, its code is accepted"
else
	tap_not_ok "TOTP+email user: Enter sends a mail, its code is accepted (code '$PT_CODE')"
fi
MAIL1=$PT_MAIL CODE1=$PT_CODE

bad=()
if [ -z "$MAIL1" ]; then
	bad+=("no message")
else
	date=$(mail_header "$MAIL1" Date) && date -d "$date" +%s >/dev/null 2>&1 ||
		bad+=("Date '${date:-}'")
	mid=$(mail_header "$MAIL1" Message-ID)
	[[ ${mid:-} =~ ^\<[^@\<\>\ ]+@[^@\<\>\ ]+\>$ ]] || bad+=("Message-ID '${mid:-}'")
	from=$(mail_header "$MAIL1" From)
	addr_is "${from:-}" stepup@example.com || bad+=("From '${from:-}'")
	to=$(mail_header "$MAIL1" To)
	addr_is "${to:-}" alice@example.com || bad+=("To '${to:-}'")
	subject=$(mail_header "$MAIL1" Subject)
	[ "${subject:-}" = "Verification code for $MAIN on $HOST" ] || bad+=("Subject '${subject:-}'")
	grep -qF "MAIL FROM:<stepup@example.com> RCPT TO:<alice@example.com>" "$MAIL/log" ||
		bad+=("envelope: $(tail -1 "$MAIL/log")")
fi
if [ ${#bad[@]} -eq 0 ]; then
	tap_ok "the code mail has Date, Message-ID, From, To, Subject and the envelope right"
else
	tap_not_ok "the code mail's headers: ${bad[*]}"
	[ -n "$MAIL1" ] && tap_diag_stream <"$MAIL1"
fi

bad=()
if [ -z "$MAIL1" ]; then
	bad+=("no message")
else
	text=$(mail_text "$MAIL1")
	for phrase in "$CODE1" "$HOST" "$MAIN" "If this was not you, tell your administrator"; do
		[[ $text == *"$phrase"* ]] || bad+=("no '$phrase'")
	done
fi
if [ ${#bad[@]} -eq 0 ]; then
	tap_ok "the code mail's body names the code, the host, the service, and whom to tell"
else
	tap_not_ok "the code mail's body: ${bad[*]}"
	[ -n "$MAIL1" ] && tap_diag_stream <"$MAIL1"
fi

# --- 4. email only: the mail goes out at once ----------------------------------------------
enroll_email bella bella@example.com
email_only_user_mail_sent_before() {
	pt_email "$T0" "$MAIN" bella "$MAIL" @mail @code &&
		has "A code was sent to b***@example.com." &&
		! has "press Enter" && addr_is "$(mail_header "$PT_MAIL" To)" bella@example.com
}
tap_check "email-only user: the mail is sent before the prompt, its code accepted" \
	email_only_user_mail_sent_before

# --- the invoking user's environment (sudo and su keep it) steers nothing ---------
# libcurl honours ALL_PROXY/smtp_proxy and SSLKEYLOGFILE from the environment
# it finds; under sudo that is the user's. A proxy would reroute the mail;
# a key log would let the user decrypt the session (the code, the SMTP
# password) from a root-written file of their choosing.
enroll_email bert bert@example.com
# Not tap_check: the failure text shows the key log this call left.
if SSLKEYLOGFILE=$T/keys.log ALL_PROXY=socks5://127.0.0.1:$CLOSED \
	smtp_proxy=socks5://127.0.0.1:$CLOSED pt_email "$T0" "$MAIN" bert "$MAIL" @mail @code &&
	[ ! -e "$T/keys.log" ]; then
	tap_ok "SSLKEYLOGFILE and proxy variables in the environment are ignored"
else
	tap_not_ok "SSLKEYLOGFILE and proxy variables in the environment are ignored ($(ls -l "$T/keys.log" 2>&1))"
fi

# --- someone else runs the call (a setuid su/sudo started by another user) -------
# The email-only user's mail is not sent on the caller's say-so alone: the
# caller is offered "press Enter" and must ask, so they cannot void the
# user's pending code or spend their quota just by starting calls.
enroll_email olga olga@example.com
n=$(mail_count "$MAIL")
timeout -k 5 30 setpriv --ruid=65534 pamtester "$MAIN" olga authenticate \
	</dev/null >"$T/pt.out" 2>&1
rc=$?
tap_diag_stream <"$T/pt.out"
another_caller_real_uid_nobody() {
	[ $rc -ne 0 ] && has "press Enter to get a code by email to o***@example.com" &&
		[ "$(mail_count "$MAIL")" -eq "$n" ]
}
tap_check --not-ok "another caller (real uid nobody): exit $rc, $(($(mail_count "$MAIL") - n)) mails" \
	"another caller (real uid nobody) is offered email, nothing is sent unasked" \
	another_caller_real_uid_nobody

# --- 5. a wrong code -------------------------------------------------------------------------
enroll_email chris chris@example.com
wrong_emailed_code_refused() {
	refused_email "$T0" "$MAIN" chris "$MAIL" @mail @wrong @wrong @wrong &&
		[ -n "$PT_CODE" ] && has "Invalid verification code."
}
tap_check "a wrong emailed code is refused" wrong_emailed_code_refused

# --- 6. the code of case 1 again, in a new call -----------------------------------------------
if [ -z "$CODE1" ]; then
	tap_not_ok "an emailed code is accepted once only (no code from case 1)"
elif refused $((T0 + 60)) "$MAIN" alice "$CODE1" "$CODE1" "$CODE1" &&
	has "That code has already been used."; then
	tap_ok "an emailed code is accepted once only"
else
	tap_not_ok "an emailed code is accepted once only"
fi

# --- 7. expired ----------------------------------------------------------------------------------
enroll_both dora
pt_email "$T0" "$MAIN" dora "$MAIL" "" @mail @wrong @wrong @wrong
rc=$? code=$PT_CODE
if [ $rc -ne 1 ] || [ -z "$code" ]; then
	tap_not_ok "an emailed code past email_code_ttl is refused (first call: exit $rc, code '$code')"
elif refused $((T0 + 400)) "$MAIN" dora "$code" "$code" "$code" && has "expired"; then
	tap_ok "an emailed code past email_code_ttl is refused as expired"
else
	tap_not_ok "an emailed code past email_code_ttl is refused as expired"
fi

# --- 8. email_min_interval -------------------------------------------------------------------------
enroll_both emil
if ! pt_email "$T0" "$MAIN" emil "$MAIL" "" @mail @code; then
	tap_not_ok "a second request within email_min_interval is refused (first request failed)"
else
	n=$(mail_count "$MAIL")
	pt $((T0 + 5)) "$MAIN" emil "" ""
	rc=$?
	second_request_within_min_interval() { [ $rc -eq 1 ] && has "in 25 seconds" && [ "$(mail_count "$MAIL")" -eq "$n" ]; }
	tap_check --not-ok "a second request within email_min_interval: exit $rc, $(($(mail_count "$MAIL") - n)) mails" \
		"a second request within email_min_interval is refused: 'in 25 seconds', no mail" \
		second_request_within_min_interval
fi

# --- 9. email_max_per_hour --------------------------------------------------------------------------
email_service hourly email_min_interval=0 email_max_per_hour=2
enroll_email fay fay@example.com
if pt_email "$T0" "$SVC" fay "$MAIL" && pt_email $((T0 + 1)) "$SVC" fay "$MAIL"; then
	n=$(mail_count "$MAIL")
	third_request_over_hourly_limit() {
		refused $((T0 + 2)) "$SVC" fay "" && has "Too many" &&
			[ "$(mail_count "$MAIL")" -eq "$n" ]
	}
	tap_check "email_max_per_hour = 2: the third request is refused, no mail" \
		third_request_over_hourly_limit
else
	tap_not_ok "email_max_per_hour = 2: the first two requests did not succeed"
fi

# --- 10, 11. nothing listens on the port --------------------------------------------------------------
email_service closed "smtp_url=smtp://127.0.0.1:$CLOSED"
CLOSED_SVC=$SVC
enroll_both gus
start=$(date +%s.%N)
now=$(date +%s)
pt_email now "$CLOSED_SVC" gus "$MAIL" "" "$(code_at "$now" "$S")"
rc=$? took=$(elapsed "$start")
closed_port_told_then_totp_accepted() {
	[ $rc -eq 0 ] && less_than "$took" 5 &&
		has "Could not send the code by email:" && has "could not be reached" &&
		has "Use your authenticator app instead."
}
tap_check --not-ok "closed port: exit $rc after ${took} s; wanted 0 in < 5 s with the reason" \
	"closed port: told at once (${took} s), then the TOTP code is accepted" \
	closed_port_told_then_totp_accepted

enroll_email hal hal@example.com
start=$(date +%s.%N)
pt_email now "$CLOSED_SVC" hal "$MAIL" @mail @code
rc=$? took=$(elapsed "$start")
closed_port_email_only_user() {
	[ $rc -eq 1 ] && less_than "$took" 5 && has "could not be reached" &&
		! has "authenticator app"
}
tap_check --not-ok "closed port, email-only user: exit $rc after ${took} s; wanted 1 in < 5 s with the reason" \
	"closed port, email-only user: refused at once (${took} s)" \
	closed_port_email_only_user

# The failed send was taken back: no code pending that never arrived, no
# wait imposed by email_min_interval; the next call sends at once.
after_failed_send_next_call() {
	pt_email now "$MAIN" hal "$MAIL" @mail @code && ! has "a moment ago" &&
		has "A code was sent to h***@example.com."
}
tap_check "after a failed send, the next call sends a new code at once" after_failed_send_next_call

# --- 12. a server that never answers ---------------------------------------------------------------------
email_service silent "smtp_url=smtp://127.0.0.1:$SMTP_PORT_silent" smtp_timeout=2
enroll_email ida ida@example.com
start=$(date +%s.%N)
pt_email now "$SVC" ida "$MAIL" @mail @code
rc=$? took=$(elapsed "$start")
silent_server_smtp_timeout_2() { [ $rc -eq 1 ] && less_than "$took" 6 && has "did not answer in time"; }
tap_check --not-ok "silent server, smtp_timeout = 2: exit $rc after ${took} s (wanted 1 in < 6 s)" \
	"silent server, smtp_timeout = 2: refused after ${took} s" \
	silent_server_smtp_timeout_2

# A server that accepts the message and then never answers QUIT: libcurl
# would wait 120 s for it when the handle is cleaned up.
email_service noquit "smtp_url=smtp://127.0.0.1:$SMTP_PORT_noquit" smtp_timeout=2
enroll_email quinn quinn@example.com
start=$(date +%s.%N)
pt_email now "$SVC" quinn "$SMTP_DIR_noquit" @mail @code
rc=$? took=$(elapsed "$start")
server_that_never_answers_quit() { [ $rc -eq 0 ] && less_than "$took" 8; }
tap_check --not-ok "a server that never answers QUIT: exit $rc after ${took} s; wanted 0 in < 8 s" \
	"a server that never answers QUIT costs at most smtp_timeout (${took} s)" \
	server_that_never_answers_quit

# --- 13. a certificate for another name --------------------------------------------------------------------
email_service wrongcert "smtp_url=smtp://127.0.0.1:$SMTP_PORT_wrongcert" \
	"smtp_ca_file=$T/wrong.pem"
enroll_email jon jon@example.com
certificate_wrong_example() {
	refused_email "$T0" "$SVC" jon "$MAIL" @mail @code &&
		has "certificate could not be verified" &&
		[ "$(mail_count "$SMTP_DIR_wrongcert")" -eq 0 ]
}
tap_check "a certificate for wrong.example is refused" certificate_wrong_example

# --- 14. a wrong password ------------------------------------------------------------------------------------
email_service wrongpw "smtp_credentials=$T/smtp-credentials-wrong"
enroll_email kim kim@example.com
n=$(mail_count "$MAIL")
wrong_smtp_password_reported() {
	refused_email "$T0" "$SVC" kim "$MAIL" @mail @code && has "refused our login" &&
		[ "$(mail_count "$MAIL")" -eq "$n" ]
}
tap_check "a wrong SMTP password is reported" wrong_smtp_password_reported

# --- 15, 16. a server without TLS ------------------------------------------------------------------------------
email_service plainreq "smtp_url=smtp://127.0.0.1:$SMTP_PORT_plain" \
	"smtp_credentials=$T/no-credentials"
enroll_email lea lea@example.com
smtp_tls_required_server_without() {
	refused_email "$T0" "$SVC" lea "$SMTP_DIR_plain" @mail @code &&
		has "secure connection" && [ "$(mail_count "$SMTP_DIR_plain")" -eq 0 ]
}
tap_check "smtp_tls = required: a server without STARTTLS is refused, nothing sent" \
	smtp_tls_required_server_without

email_service plainok "smtp_url=smtp://127.0.0.1:$SMTP_PORT_plain" \
	"smtp_credentials=$T/no-credentials" smtp_tls=none smtp_ca_file=
enroll_email max max@example.com
tap_check "smtp_tls = none: the same server delivers, the code is accepted" \
	pt_email "$T0" "$SVC" max "$SMTP_DIR_plain" @mail @code

# Plain text is for a relay on this machine only: 192.0.2.1 (TEST-NET-1)
# is refused before any connection is tried.
email_service plainfar "smtp_url=smtp://192.0.2.1:25" \
	"smtp_credentials=$T/no-credentials" smtp_tls=none smtp_ca_file= smtp_timeout=30
enroll_email mia mia@example.com
start=$(date +%s.%N)
smtp_tls_none_remote_host_refused() {
	refused_email "$T0" "$SVC" mia "$MAIL" @mail @code && has "secure connection" &&
		less_than "$(elapsed "$start")" 5
}
tap_check "smtp_tls = none to a host that is not this machine is refused at once" \
	smtp_tls_none_remote_host_refused

# --- 17. implicit TLS ---------------------------------------------------------------------------------------------
email_service smtps "smtp_url=smtps://127.0.0.1:$SMTP_PORT_smtps"
enroll_email nora nora@example.com
tap_check "smtps:// (implicit TLS): delivered, the code is accepted" \
	pt_email "$T0" "$SVC" nora "$SMTP_DIR_smtps" @mail @code

# --- 18. the recipient is refused ------------------------------------------------------------------------------------
enroll_email oscar bounce@example.com
n=$(mail_count "$MAIL")
refused_recipient_reported() {
	refused_email "$T0" "$MAIN" oscar "$MAIL" @mail @code && has "refused the address" &&
		[ "$(mail_count "$MAIL")" -eq "$n" ]
}
tap_check "a refused recipient is reported" refused_recipient_reported

# --- 19. check-config: a CR in smtp_from ------------------------------------------------------------------------------
write_conf "$T/cr.conf" "methods = totp, email" "smtp_url = smtp://127.0.0.1:$SMTP_PORT_main" \
	"$(printf 'smtp_from = stepup@example.com\rBcc: victim@example.com')"
line=$(grep -n '^smtp_from' "$T/cr.conf" | cut -d: -f1)
"$STEPUPCTL" -c "$T/cr.conf" check-config >"$T/cr.out" 2>&1
rc=$?
tap_diag "--- stepupctl check-config (CR in smtp_from, line $line): exit $rc"
tap_diag_stream <"$T/cr.out"
check_config_refuses_cr_smtp() { [ $rc -eq 1 ] && grep -qF "$T/cr.conf:$line" "$T/cr.out" && grep -q "smtp_from" "$T/cr.out"; }
tap_check "check-config refuses a CR in smtp_from, naming file, line and key" \
	check_config_refuses_cr_smtp

# --- 20, 21. stepupctl test-email --------------------------------------------------------------------------------------
enroll_email tess tess@example.com
n=$(mail_count "$MAIL")
timeout -k 5 60 "$STEPUPCTL" -c "$CONF" test-email tess >"$T/te.out" 2>"$T/te.err"
rc=$?
tap_diag "--- stepupctl test-email tess: exit $rc" "$(cat "$T/te.out" "$T/te.err")"
last=$(mail_last "$MAIL")
test_email_delivered_test() {
	[ $rc -eq 0 ] && grep -q 250 "$T/te.out" && [ "$(mail_count "$MAIL")" -eq $((n + 1)) ] &&
		[ "$(mail_header "$last" Subject)" = "pam_stepup test message from $HOST" ] &&
		addr_is "$(mail_header "$last" To)" tess@example.com
}
tap_check "test-email: delivered with the test subject, the server's reply printed" \
	test_email_delivered_test

start=$(date +%s.%N)
timeout -k 5 60 "$STEPUPCTL" -c "$T/closed.conf" test-email tess >"$T/te.out" 2>"$T/te.err"
rc=$? took=$(elapsed "$start")
tap_diag "--- stepupctl test-email tess (closed port): exit $rc after $took s" \
	"$(cat "$T/te.out" "$T/te.err")"
test_email_closed_port_exit_1() { [ $rc -eq 1 ] && grep -qiE "could not be reached|connect" "$T/te.err"; }
tap_check "test-email to a closed port: exit 1 with the reason" test_email_closed_port_exit_1

# --- 22. enroll refuses bad addresses ------------------------------------------------------------------------------------
enroll_email uma uma@example.com
"$STEPUPCTL" -c "$CONF" status uma >"$T/uma.before" 2>&1
"$STEPUPCTL" -c "$CONF" status vera >"$T/vera.before" 2>&1
long=$(printf 'a%.0s' $(seq 1 288))@example.com
bad=()
for addr in "u@ma@example.com" "uma @example.com" "uma.example.com" "$long"; do
	for u in uma vera; do
		"$STEPUPCTL" -c "$CONF" enroll "$u" email "$addr" >"$T/bad.out" 2>&1
		rc=$?
		if [ $rc -ne 1 ] && [ $rc -ne 2 ]; then
			bad+=("$u '${addr:0:20}': exit $rc")
		elif ! [ -s "$T/bad.out" ]; then
			bad+=("$u '${addr:0:20}': no message")
		fi
		tap_diag "enroll $u email '${addr:0:40}' (${#addr} chars): exit $rc: $(head -1 "$T/bad.out")"
	done
done
"$STEPUPCTL" -c "$CONF" status uma >"$T/uma.after" 2>&1
"$STEPUPCTL" -c "$CONF" status vera >"$T/vera.after" 2>&1
cmp -s "$T/uma.before" "$T/uma.after" || bad+=("uma's status changed")
cmp -s "$T/vera.before" "$T/vera.after" || bad+=("vera's status changed")
grep -qF uma@example.com "$T/uma.after" || bad+=("uma's address is not shown")
tap_check --not-ok "enroll email bad addresses: ${bad[*]}" \
	"enroll email refuses two '@', a space, no '@', 300 characters; records unchanged" \
	[ ${#bad[@]} -eq 0 ]

# 23: check_cleanup, from the EXIT trap.
