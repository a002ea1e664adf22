#!/bin/bash
# pam_stepup demo: build, install into a private tree, enrol a demo user
# with a known secret, and step up through a real PAM stack (pamtester)
# with codes from oathtool. Leaves nothing behind: the private tree, the
# pam.d service and the demo user are removed on exit.
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
cleanup() {
	rm -f "/etc/pam.d/$service"
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
conf="$demo/stepup.conf"
cat >"$conf" <<CONF
[global]
methods = totp
tries = 1
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

say "State after the demo (no secret in it; root-only file)"
ls -l "$demo/var/lib/stepup/state/$user"
cat "$demo/var/lib/stepup/state/$user"
echo
echo "Demo finished; the private tree, /etc/pam.d/$service and the user $user are removed."
