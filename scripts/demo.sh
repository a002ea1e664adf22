#!/bin/bash
# pam_stepup demo: build, install into a private tree, enrol a demo user
# with a known secret and an email address, and step up through a real PAM
# stack (pamtester): with codes from oathtool, and with a code sent by
# email through a local TLS SMTP server (python3-aiosmtpd, STARTTLS and
# AUTH, self-signed certificate). Leaves nothing behind: the private tree,
# the mail server, the pam.d service and the demo user go on exit.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
service=stepup-demo
user=stepup-demo
secret=JBSWY3DPEHPK3PXP   # the well-known demo secret; never use it for real

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it installs packages and a pam.d service)" >&2; exit 1; }
bash "$top/scripts/deps.sh" --test

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$'; printf ' %q' "$@"; printf '\n'; "$@"; }

demo=$(mktemp -d /tmp/stepup-demo.XXXXXX)
chmod 0755 "$demo"
smtp_pid=
cleanup() {
	[ -n "$smtp_pid" ] && kill "$smtp_pid" 2>/dev/null && wait "$smtp_pid" 2>/dev/null
	rm -f "/etc/pam.d/$service" "/etc/pam.d/$service-grace"
	userdel "$user" 2>/dev/null || true
	rm -rf "$demo"
}
trap cleanup EXIT

say "Build and install into a private tree ($demo/root)"
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1
mkdir -p "$demo/build" && cd "$demo/build"
"$top/configure" --prefix=/usr --sbindir=/usr/sbin --with-pammoddir=/usr/lib/security >/dev/null
make -s -j"$(nproc)" >/dev/null
make -s install DESTDIR="$demo/root" >/dev/null 2>&1
module="$demo/root/usr/lib/security/pam_stepup.so"
stepupctl="$demo/root/usr/sbin/stepupctl"
ls -l "$module" "$stepupctl"

say "A private configuration (the real one is /etc/security/stepup.conf)"
say "A local mail server for the email codes: STARTTLS required, AUTH, own certificate"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout "$demo/smtp-key.pem" -out "$demo/smtp-cert.pem" 2>/dev/null
mkdir -p "$demo/mail"
/usr/bin/python3 "$top/tests/integration/smtp_server.py" --port 0 \
	--port-file "$demo/smtp-port" --maildir "$demo/mail" \
	--cert "$demo/smtp-cert.pem" --key "$demo/smtp-key.pem" \
	--mode starttls --user stepup --password demo-password &
smtp_pid=$!
for _ in $(seq 100); do [ -s "$demo/smtp-port" ] && break; sleep 0.1; done
port=$(cat "$demo/smtp-port")
echo "listening on 127.0.0.1:$port, mail kept in $demo/mail"
install -m 0600 /dev/null "$demo/smtp-credentials"
echo "stepup:demo-password" >"$demo/smtp-credentials"

say "A private configuration (the real one is /etc/security/stepup.conf)"
conf="$demo/stepup.conf"
cat >"$conf" <<CONF
[global]
methods = totp, email, recovery
tries = 1
# asked every time, to show each case; step 6 turns grace on
grace = 0
lockout_attempts = 3
smtp_url = smtp://127.0.0.1:$port
smtp_from = stepup@demo.example
smtp_credentials = $demo/smtp-credentials
smtp_ca_file = $demo/smtp-cert.pem
smtp_timeout = 5
user_dir = $demo/etc/stepup/users
state_dir = $demo/var/lib/stepup/state
grace_dir = $demo/run/stepup/grace
hostkey = $demo/etc/stepup/hostkey
CONF
cat "$conf"
run "$stepupctl" -c "$conf" check-config
run "$stepupctl" -c "$conf" init

say "Enrol the demo user (secret $secret; an authenticator app scans the QR code)"
useradd --system --no-create-home --shell /usr/sbin/nologin "$user" 2>/dev/null || true
run "$stepupctl" -c "$conf" enroll "$user" totp --secret "$secret" --issuer "pam_stepup demo"
run "$stepupctl" -c "$conf" enroll "$user" email demo-user@demo.example
run "$stepupctl" -c "$conf" test-email "$user"
run "$stepupctl" -c "$conf" status "$user"

say "A PAM service that requires a step-up (/etc/pam.d/$service)"
cat >"/etc/pam.d/$service" <<PAM
auth    required  $module config=$conf
account required  pam_permit.so
PAM
cat "/etc/pam.d/$service"

pamtest() { # CODE: type CODE at the prompt; print the prompts and the result
	printf '$ pamtester %s %s authenticate   # typing %s\n' "$service" "$user" "$1"
	# Unbuffered, so the module's messages and prompts show in order.
	stdbuf -o0 -e0 pamtester "$service" "$user" authenticate <<<"$1" 2>&1 || true
}

say "1. The right code from the app (oathtool stands in for it): accepted"
code=$(oathtool --totp -b "$secret")
pamtest "$code"

say "2. The same code again: refused, a code is never accepted twice"
pamtest "$code"

say "3. A wrong code: refused"
pamtest 000000

say "4. Email: press Enter at the prompt, read the mail, type the code from it"
# pamtester reads its answers from a pipe that stays open while we wait
# for the mail to arrive.
mails_before=$(ls "$demo/mail" | grep -c '\.eml$' || true)
mkfifo "$demo/answers"
printf '$ pamtester %s %s authenticate   # pressing Enter, then typing the emailed code\n' "$service" "$user"
stdbuf -o0 -e0 pamtester "$service" "$user" authenticate <"$demo/answers" 2>&1 &
pt_pid=$!
exec 7>"$demo/answers"
printf '\n' >&7
mail=
for _ in $(seq 100); do
	mail=$(ls "$demo/mail"/*.eml 2>/dev/null | sed -n "$((mails_before + 1))p")
	[ -n "$mail" ] && break
	sleep 0.1
done
[ -n "$mail" ] || { echo "demo: no mail arrived" >&2; exit 1; }
email_code=$(sed -n '/Your verification code is:/{n;n;p;q}' "$mail" | tr -dc 0-9)
printf '%s\n' "$email_code" >&7
exec 7>&-
wait "$pt_pid" || true
echo
echo "--- the message as delivered ($mail) ---"
tr -d '\r' <"$mail"
echo "---"

say "5. Recovery codes for a lost phone: printed once, each accepted once"
"$stepupctl" -c "$conf" recovery "$user" --count 3 | tee "$demo/codes.txt"
mapfile -t codes < <(grep -oE '[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}' "$demo/codes.txt")
pamtest "${codes[0]}"
pamtest "${codes[0]}"

say "6. Grace: with grace=120 a success is remembered in this login session"
cat >"/etc/pam.d/$service-grace" <<PAM
auth    required  $module config=$conf grace=120
account required  pam_permit.so
PAM
# One session of its own (setsid), so that this works even where the
# shell's own session leader cannot be seen (docker exec).
setsid -w bash -c '
	printf "\$ pamtester %s %s authenticate   # typing %s\n" "$1" "$2" "$3"
	stdbuf -o0 -e0 pamtester "$1" "$2" authenticate <<<"$3" 2>&1
	printf "\$ pamtester %s %s authenticate   # typing nothing: not asked\n" "$1" "$2"
	stdbuf -o0 -e0 pamtester "$1" "$2" authenticate </dev/null 2>&1
' demo "$service-grace" "$user" "${codes[1]}" || true
run "$stepupctl" -c "$conf" grace list "$user"
rm -f "/etc/pam.d/$service-grace"

say "7. Lockout: three wrong codes lock the user out until a set time"
pamtest 111111
pamtest 222222
pamtest 333333
pamtest "${codes[2]}"
run "$stepupctl" -c "$conf" status "$user"
run "$stepupctl" -c "$conf" unlock "$user"

say "State after the demo (no secret in it; root-only file)"
ls -l "$demo/var/lib/stepup/state/$user"
cat "$demo/var/lib/stepup/state/$user"
echo
echo "Demo finished; the private tree, /etc/pam.d/$service and the user $user are removed."
