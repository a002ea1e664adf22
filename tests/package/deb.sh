#!/bin/bash
# The Debian package, the way an administrator gets it: build libpam-stepup
# with dpkg-buildpackage from a copy of the tree, run lintian, install the
# .deb with apt-get, check what landed where (owners, modes, conffile,
# setuid gate, private directories, host key), enrol a user with the
# installed stepupctl, step up through pamtester against a pam.d service
# that names the installed module, reinstall (the host key and an admin's
# dpkg-statoverride survive), remove (state kept), purge (state gone).
#
#   bash tests/package/deb.sh WORKDIR      (as root; TAP on stdout)
#
# It installs and purges a package on this machine, so it refuses to run
# where pam_stepup is already in use: an installed libpam-stepup, or an
# /etc/stepup, /var/lib/stepup or /etc/security/stepup.conf that the purge
# would delete.
set -u

TOP_SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP_SRCDIR/tests/lib.sh"

WORK=${1:?usage: deb.sh WORKDIR}
PKG=libpam-stepup
PAMD=/etc/pam.d
SERVICE=stepup-pkgtest-$$
USER_NAME=stepuppkg$$
MODDIR=/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)/security
SECRET=$(printf '%-20.20s' "stepup-package-test" | base32 | tr -d '=\n')
SKIP_REASON=

require_root
tap_plan 20
install_traps

# --- guards: never touch a machine that uses pam_stepup ---------------------------
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "installed"; then
	SKIP_REASON="$PKG is already installed here"
elif [ -e /etc/stepup ] || [ -e /var/lib/stepup ] || [ -e /etc/security/stepup.conf ]; then
	SKIP_REASON="/etc/stepup, /var/lib/stepup or /etc/security/stepup.conf exists; purging would delete it"
elif [ ! -d "$TOP_SRCDIR/debian" ]; then
	SKIP_REASON="no debian/ directory (a release tarball)"
fi
if [ -n "$SKIP_REASON" ]; then
	for ((i = TAP_RUN; i < TAP_PLANNED; i++)); do
		tap_skip "package test $((i + 1))" "$SKIP_REASON"
	done
	exit 0
fi

# Everything below runs once; each step logs to $WORK/*.log.
rm -rf "$WORK" && mkdir -p "$WORK/src" || tap_bail "cannot create $WORK"

# Each case's transcript (tap_log) is shown under its line if it fails.
TAP_CASE_LOG=$WORK/tap-case.log

# run LOG COMMAND...: COMMAND's output into $WORK/LOG, its end into the
# case's transcript.
run() {
	local log=$WORK/$1 rc
	shift
	"$@" >"$log" 2>&1
	rc=$?
	{ echo "\$ $* -> exit $rc"; tail -n 25 "$log"; } | tap_log
	return "$rc"
}

# --- 1. build -----------------------------------------------------------------------
# A copy of the tracked files (and new, not ignored ones): the package must
# build from the sources, not from a tree someone configured.
copy_tree() {
	(cd "$TOP_SRCDIR" &&
		if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
			{ git ls-files -z; git ls-files -z --others --exclude-standard; } |
				tar --null -T - -cf -
		else
			tar --exclude=./_build -cf - .
		fi) | tar -xf - -C "$WORK/src"
}
build_package() {
	copy_tree &&
		(cd "$WORK/src" && apt-get build-dep -y -qq ./ >"$WORK/build-dep.log" 2>&1) &&
		(cd "$WORK/src" && dpkg-buildpackage -us -uc -b >"$WORK/build.log" 2>&1)
}
if build_package; then
	DEB=$(ls "$WORK"/${PKG}_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -1)
	tap_check "dpkg-buildpackage -us -uc -b builds $(basename "${DEB:-no .deb}")" \
		test -f "${DEB:-/nonexistent}"
else
	tail -n 40 "$WORK/build-dep.log" "$WORK/build.log" 2>/dev/null | tap_diag_stream
	tap_bail "the package did not build (logs in $WORK)"
fi

# --- 2. lintian ---------------------------------------------------------------------
# Every tag is shown; errors fail. The warnings that remain, and why, are in
# docs/packaging.md.
lintian --pedantic --fail-on error "$WORK"/pam-stepup_*.changes >"$WORK/lintian.log" 2>&1
lintian_rc=$?
{ echo "\$ lintian --pedantic --fail-on error pam-stepup_*.changes -> exit $lintian_rc"; cat "$WORK/lintian.log"; } | tap_diag_stream
lintian_reports_no_errors() { [ "$lintian_rc" = 0 ] && ! grep -q '^E:' "$WORK/lintian.log"; }
tap_check --not-ok "lintian reports no errors" \
	"lintian reports no errors ($(grep -c '^W:' "$WORK/lintian.log") warnings)" \
	lintian_reports_no_errors

# --- 3. install ---------------------------------------------------------------------
pamd_sum() { (cd "$PAMD" && find . -type f ! -name "$SERVICE" -print0 | sort -z | xargs -0 md5sum); }
pamd_before=$(pamd_sum)
add_cleanup "dpkg-query -W $PKG >/dev/null 2>&1 && apt-get purge -y -qq $PKG >/dev/null 2>&1"
tap_check "apt-get install ./$(basename "$DEB")" \
	run install.log env DEBIAN_FRONTEND=noninteractive apt-get install -y "$DEB"

# owner_mode PATH WANT: "user group octal-mode" of PATH is WANT.
owner_mode() {
	local got
	got=$(stat -c '%U %G %a' "$1" 2>/dev/null) || got="(missing)"
	[ "$got" = "$2" ] || { tap_diag "$1: $got, want $2"; return 1; }
}
files_in_place() {
	owner_mode "$MODDIR/pam_stepup.so" "root root 644" &&
		owner_mode /usr/sbin/stepupctl "root root 755" &&
		owner_mode /usr/sbin/stepup-gate "root root 4755" &&
		owner_mode "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/pam_stepup/stepup_sudo.so" \
			"root root 644" &&
		owner_mode /etc/security/stepup.conf "root root 644" &&
		owner_mode /usr/lib/tmpfiles.d/$PKG.conf "root root 644" &&
		[ ! -e "$MODDIR/pam_stepup.la" ]
}
tap_check "module in $MODDIR (0644), stepupctl 0755, stepup-gate setuid root 4755, sudo plugin 0644, no .la" \
	files_in_place

private_dirs() {
	owner_mode /etc/stepup "root root 700" &&
		owner_mode /etc/stepup/users "root root 700" &&
		owner_mode /etc/stepup/hostkey "root root 600" &&
		[ "$(stat -c %s /etc/stepup/hostkey)" = 32 ] &&
		owner_mode /var/lib/stepup/state "root root 700" &&
		owner_mode /run/stepup/grace "root root 700"
}
tap_check "postinst made /etc/stepup, users, state and grace dirs 0700 and a 32-byte host key 0600" \
	private_dirs

conffile_listed() {
	dpkg-query -W -f='${Conffiles}\n' "$PKG" | grep -q '^ /etc/security/stepup.conf '
}
tap_check "/etc/security/stepup.conf is a conffile" conffile_listed

# shipped PATH: in the .deb, and on disk unless this machine's dpkg is told
# to leave such paths out (path-exclude, as slim container images do).
shipped() {
	dpkg-deb -c "$DEB" | awk '{print $6}' | grep -qx ".$1" ||
		{ tap_diag "$1 is not in $(basename "$DEB")"; return 1; }
	[ -s "$1" ] && return 0
	local glob
	while IFS= read -r glob; do
		# shellcheck disable=SC2053 # a glob, as dpkg matches it
		if [[ $1 == ${glob#path-exclude=} ]]; then
			tap_diag "$1: in the package, left out here by dpkg $glob"
			return 0
		fi
	done < <(grep -hs '^path-exclude=' /etc/dpkg/dpkg.cfg.d/*)
	tap_diag "$1 is not installed"
	return 1
}
man_pages() {
	local p
	for p in man8/pam_stepup.8 man5/stepup.conf.5 man8/stepupctl.8 man8/stepup-gate.8; do
		shipped "/usr/share/man/$p.gz" || return 1
	done
}
tap_check "man pages pam_stepup(8), stepup.conf(5), stepupctl(8), stepup-gate(8) installed" \
	man_pages

examples() {
	local f
	for f in pam.d/sudo pam.d/sudo-stepup pam.d/su pam.d/stepup-gate stepup.conf \
		ssh/sshd_config.d-stepup-gate.conf \
		ldap/stepup.ldif ldap/stepup.schema ldap/acl-openldap.ldif ldap/subtree.ldif \
		ldap/tls-openldap.ldif ldap/389ds/99stepup.ldif; do
		shipped "/usr/share/doc/$PKG/examples/$f" || return 1
	done
}
# The ldap files uncompressed: README.md loads them from there as they are.
tap_check "example pam.d, sshd, stepup.conf and ldap files (uncompressed) in /usr/share/doc/$PKG/examples" examples

# Every file that was in /etc/pam.d is unchanged and the package ships
# none (files other tests add meanwhile do not count).
pamd_unchanged() {
	local changed ours
	changed=$(cd "$PAMD" && md5sum --quiet -c <<<"$pamd_before" 2>&1) ||
		{ tap_diag "changed in $PAMD:" "$changed"; return 1; }
	ours=$(dpkg-deb -c "$DEB" | awk '{print $6}' | grep '^\./etc/pam\.d/')
	[ -z "$ours" ] || { tap_diag "the package ships $ours"; return 1; }
}
tap_check "installing changed no file in /etc/pam.d" pamd_unchanged

tap_check "installed stepupctl check-config accepts the shipped stepup.conf" \
	run check-config.log /usr/sbin/stepupctl check-config

# --- 4. enrol and step up with the installed module ---------------------------------
add_cleanup "userdel -r $USER_NAME >/dev/null 2>&1"
add_cleanup "rm -f '$PAMD/$SERVICE'"
useradd -m "$USER_NAME" || tap_bail "useradd failed"
# The module by name only: libpam finds it in its own directory, so this
# proves the package put it where the system's libpam looks.
printf 'auth required pam_stepup.so grace=0\naccount required pam_permit.so\n' >"$PAMD/$SERVICE"

enrol() {
	printf '%s\n' "$SECRET" | run enroll.log /usr/sbin/stepupctl enroll "$USER_NAME" totp --secret - &&
		owner_mode "/etc/stepup/users/$USER_NAME" "root root 600" &&
		grep -q "^otpauth://totp/" "$WORK/enroll.log"
}
tap_check "installed stepupctl enrols $USER_NAME (record root 0600)" enrol

# pamtester_code CODE: one pamtester run against the service.
pamtester_code() {
	printf '%s\n' "$@" | run pamtester.log pamtester "$SERVICE" "$USER_NAME" authenticate
}
# Codes are taken just after a step boundary so that the two runs of a
# replay see the same step.
wait_fresh_step() { local s; s=$(($(date +%s) % 30)); [ "$s" -lt 25 ] || sleep $((31 - s)); }
wait_fresh_step
CODE=$(oathtool --totp -b "$SECRET")
tap_check "pamtester: the oathtool code is accepted by the installed module" pamtester_code "$CODE"
replay_refused() { ! pamtester_code "$CODE" && grep -q "already been used" "$WORK/pamtester.log"; }
tap_check "pamtester: the same code again is refused (replay)" replay_refused
wrong_refused() {
	local wrong
	wrong=$(printf '%06d' $(((10#$CODE + 1) % 1000000)))
	! pamtester_code "$wrong"
}
tap_check "pamtester: a wrong code is refused" wrong_refused

# --- 5. reinstall and remove keep what they must -------------------------------------
key_before=$(md5sum </etc/stepup/hostkey)
gate_override() {
	dpkg-statoverride --update --add root root 0755 /usr/sbin/stepup-gate &&
		run reinstall.log env DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall "$DEB" &&
		owner_mode /usr/sbin/stepup-gate "root root 755" &&
		[ "$(md5sum </etc/stepup/hostkey)" = "$key_before" ] &&
		[ -f "/etc/stepup/users/$USER_NAME" ]
}
tap_check "reinstall keeps the host key, the enrolment and an admin's dpkg-statoverride of stepup-gate (0755)" \
	gate_override
dpkg-statoverride --remove /usr/sbin/stepup-gate >/dev/null 2>&1

# A stack that names a module which is gone refuses everyone: the prerm
# stops a removal while $SERVICE still names pam_stepup.so.
remove_refused() {
	! run remove-refused.log env DEBIAN_FRONTEND=noninteractive apt-get remove -y "$PKG" &&
		[ -e "$MODDIR/pam_stepup.so" ] && [ -x /usr/sbin/stepupctl ] &&
		dpkg-query -W -f='${Status}' "$PKG" | grep -q "ok installed" &&
		# apt runs dpkg on a pty: lines end in CR LF
		tr -d '\r' <"$WORK/remove-refused.log" | grep -q "still in use by $PAMD/$SERVICE\$" &&
		grep -q "refusing to remove" "$WORK/remove-refused.log"
}
tap_check "apt-get remove is refused while $SERVICE names pam_stepup.so; the package stays installed and working" \
	remove_refused

removed_keeps_state() {
	run remove.log env DEBIAN_FRONTEND=noninteractive STEPUP_FORCE_REMOVE=1 apt-get remove -y "$PKG" &&
		[ ! -e "$MODDIR/pam_stepup.so" ] && [ ! -e /usr/sbin/stepupctl ] &&
		[ -f /etc/stepup/hostkey ] && [ -f "/etc/stepup/users/$USER_NAME" ] &&
		[ -f /etc/security/stepup.conf ] &&
		grep -q "WARNING: removing anyway" "$WORK/remove.log"
}
tap_check "STEPUP_FORCE_REMOVE=1 apt-get remove: programs gone (with a warning); host key, enrolment and config kept" \
	removed_keeps_state

# --- 6. purge -------------------------------------------------------------------------
purge_clean() {
	local left=() p
	run purge.log env DEBIAN_FRONTEND=noninteractive apt-get purge -y "$PKG" || return 1
	for p in /etc/stepup /var/lib/stepup /run/stepup /etc/security/stepup.conf \
		/usr/lib/tmpfiles.d/$PKG.conf /usr/share/doc/$PKG "$MODDIR/pam_stepup.so" \
		/usr/sbin/stepup-gate; do
		[ -e "$p" ] && left+=("$p")
	done
	# Nothing of ours anywhere else: a conffile backup, a stray temporary.
	while IFS= read -r p; do left+=("$p"); done < <(find /etc/security /var/lib /run \
		-xdev -name '*stepup*' 2>/dev/null)
	[ ${#left[@]} -eq 0 ] || { tap_diag "left after purge: ${left[*]}"; return 1; }
	! dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q installed
}
tap_check "apt-get purge: /etc/stepup (secrets), /var/lib/stepup, /run/stepup and the conffile are gone" \
	purge_clean
tap_check "no dpkg-statoverride for stepup-gate is left" \
	bash -c '! dpkg-statoverride --list /usr/sbin/stepup-gate >/dev/null'
tap_check "the package never changed /etc/pam.d (besides this test's own service)" pamd_unchanged
