#!/bin/bash
# Install the Debian packages pam_stepup needs to build, test and demo.
# Idempotent: apt runs only when something is missing.
set -euo pipefail

BUILD_DEPS="build-essential autoconf automake libtool pkg-config libpam0g-dev
liboath-dev libcurl4-openssl-dev libldap-dev libssl-dev libqrencode-dev scdoc"
TEST_DEPS="libcmocka-dev libpam-wrapper libpamtest0-dev pamtester oathtool
libfaketime valgrind python3 zbar-tools python3-aiosmtpd openssl curl sudo
clang libclang-rt-14-dev openssh-server openssh-client man-db dpkg-dev debhelper
lintian libpam-google-authenticator strace slapd ldap-utils 389-ds-base"

missing=()
want="$BUILD_DEPS"
[ "${1:-}" = "--test" ] && want="$want $TEST_DEPS"
for pkg in $want; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "deps: run as root to install: ${missing[*]}" >&2; exit 1; }
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# slapd is for the tests' own throwaway servers: its package must not
	# start a system instance (nor may any other package start a daemon
	# here). A policy-rc.d of ours says no while apt runs, unless the
	# machine has one of its own.
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	[ -z "$policy" ] || rm -f "$policy"
fi
