#!/bin/bash
# stepupctl against a directory (store = ldap), on a throwaway slapd with
# the shipped schema and access rules (tests/ldap/lib_ldap.sh):
# * check-config reaches the directory, says whom it takes the host for,
#   reads the canary and proves the identity may write state; it fails,
#   naming the setting to fix, when the fleet key is missing, the CA is
#   wrong, the canary is hidden, the identity may not write, or the server
#   is down;
# * ldap import moves users from a host's files into the directory: the
#   secret, the email address, the replay barrier (a code used on the
#   files host is refused on the directory's hosts), not the tally, not
#   the recovery codes (it says so); --all; an entry that exists only with
#   --force, which keeps the later barrier;
# * import google-authenticator straight into the directory, for a user
#   with no entry and for one with an entry.
# Hosts A and B (each its config, host key, client certificate and PAM
# service), an admin that runs stepupctl with the admin certificate, and a
# host on files (the tree's own config).
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/ldap/lib_ldap.sh"
. "$TOP_SRCDIR/tests/ldap/lib_fleet.sh"
require_root
require_env
require_program pamtester oathtool slapd ldapsearch ldapmodify useradd userdel

ID=$$
HOSTS=(hostA hostB)
USERS=()
PAMD=/etc/pam.d
SVC=stepup-fleetctl-$ID

cleanup() {
	local h u
	for h in hosta hostb files; do rm -f "$PAMD/$SVC-$h"; done
	for u in "${USERS[@]}"; do userdel "$u" 2>/dev/null; done
	return 0
}

tap_plan 19
install_traps
add_cleanup cleanup
make_tree fleetctl "methods = totp, recovery" "tries = 1" "lockout_attempts = 0"
ldap_make_pki "${HOSTS[@]}"
ldap_start main
ldap_load_base main "${HOSTS[@]}"

# the files host: the PAM service $SVC-files on the tree's own config
fleet_service "$SVC-files" "$CONF"

# Each host on the directory (lib_fleet.sh); the admin binds with the
# admin certificate and has no PAM service.
for h in "${HOSTS[@]}"; do fleet_host "$h" "$SVC-${h,,}"; done
fleet_host admin ""
"$STEPUPCTL" -c "$T/admin/stepup.conf" fleet-key init >"$T/fleetkey.out" 2>&1 ||
	tap_bail "fleet-key init: $(cat "$T/fleetkey.out")"
ADMIN=("$STEPUPCTL" -c "$T/admin/stepup.conf")
FILES=("$STEPUPCTL" -c "$CONF")

# ctl ARGS...: stepupctl ARGS; $rc, $T/ctl.out (stdout), $T/ctl.err (stderr),
# both in the case's transcript.
ctl() {
	"$STEPUPCTL" "$@" </dev/null >"$T/ctl.out" 2>"$T/ctl.err"
	rc=$?
	{
		echo "--- stepupctl $*: exit $rc"
		cat "$T/ctl.out" "$T/ctl.err"
	} | tap_log
}
out_has() { grep -qF -- "$1" "$T/ctl.out"; }
err_has() { grep -qF -- "$1" "$T/ctl.err"; }

# on HOST EPOCH USER ANSWER: pamtester on HOST's service at EPOCH; output in
# $T/on.out (and the transcript), exit status pamtester's (lib_fleet.sh fleet_on).
on() { fleet_on "$2" "$SVC-${1,,}" "$3" "$4"; }
said() { grep -q -- "$1" "$T/on.out"; }
attr() { fleet_attr "$@"; }
new_user() { fleet_new_user "$@"; }
# variant NAME KEY VALUE: hostA's config with KEY = VALUE, as $T/hostA/NAME.conf
variant() {
	sed "s|^$2 = .*|$2 = $3|" "$T/hostA/stepup.conf" >"$T/hostA/$1.conf"
}

T0=$(mid_step "$(date +%s)")

# --- 1-2: check-config against a good directory ---------------------------------------
check_host() {
	local before
	before=$(attr stepup-canary stepupSerial)
	ctl -c "$T/hostA/stepup.conf" check-config
	[ "$rc" = 0 ] && out_has "$T/hostA/stepup.conf: OK" && out_has "server: $LDAP_URI_main" &&
		out_has "identity: dn:cn=hosta,ou=hosts,ou=stepup,dc=example,dc=com" &&
		out_has "canary: readable ($LDAP_CANARY)" &&
		out_has "write: written (the canary's stepupSerial $before -> $((before + 1)))" &&
		out_has "fleet key: $T/fleetkey: readable" && [ ! -s "$T/ctl.err" ] &&
		[ "$(attr stepup-canary stepupSerial)" = $((before + 1)) ]
}
tap_check "check-config as host A: the URI, identity cn=hosta,..., canary readable, its serial written N -> N+1, fleet key; exit 0" \
	check_host

check_admin() {
	ctl -c "$T/admin/stepup.conf" check-config
	[ "$rc" = 0 ] && out_has "identity: dn:cn=admin,ou=hosts,ou=stepup,dc=example,dc=com" &&
		out_has "canary: readable" && out_has "write: written"
}
tap_check "check-config as the admin: identity cn=admin,..., state written; exit 0" check_admin

# --- 3-7: check-config failing, naming what to fix ------------------------------------
no_fleet_key() {
	variant nokey fleet_key "$T/no-such-fleetkey"
	ctl -c "$T/hostA/nokey.conf" check-config
	[ "$rc" = 1 ] && out_has "canary: readable" && out_has "write: written" &&
		out_has "fleet key: $T/no-such-fleetkey: NOT readable" &&
		err_has "fleet_key = $T/no-such-fleetkey cannot be used" && err_has "fleet-key init"
}
tap_check "no fleet key file: the directory checks still run, then exit 1 naming fleet_key" no_fleet_key

wrong_ca() {
	variant wrongca ldap_ca_file "$LDAP_UNTRUSTED_CA"
	ctl -c "$T/hostA/wrongca.conf" check-config
	[ "$rc" = 1 ] && out_has "server: not reached" && err_has "TLS with the directory failed" &&
		err_has "check ldap_ca_file" && ! out_has "canary:"
}
tap_check "a CA that did not sign the server's certificate: exit 1, TLS failed, check ldap_ca_file" wrong_ca

# The TLS files pass the module's file checks before libldap opens them:
# a client key others can read is refused, and nothing is sent.
open_key() {
	install -m 0640 "$LDAP_PKI/clients/hostA.key" "$T/hostA/open.key" || return 1
	variant openkey ldap_key "$T/hostA/open.key"
	ctl -c "$T/hostA/openkey.conf" check-config
	[ "$rc" = 1 ] && out_has "server: not reached" && err_has "refusing $T/hostA/open.key: mode 0640" &&
		err_has "the directory was not tried" && ! out_has "canary:"
}
tap_check "a client key readable by its group: exit 1, refused by name (mode 0640), the directory not tried" open_key

hidden_canary() {
	local ok=0
	ldap_group_member main delete stepup-hosts "$(ldap_host_dn hostA)" >/dev/null ||
		{ tap_diag "cannot take hostA out of stepup-hosts"; return 1; }
	ctl -c "$T/hostA/stepup.conf" check-config
	[ "$rc" = 1 ] && out_has "identity: dn:cn=hosta" && out_has "canary: NOT readable" &&
		out_has "write: not tried" && err_has "ldap_base" && err_has "cn=stepup-hosts" || ok=1
	ldap_group_member main add stepup-hosts "$(ldap_host_dn hostA)" >/dev/null
	return $ok
}
tap_check "the canary hidden from the host (not in stepup-hosts): exit 1, canary NOT readable, ldap_base and the rules named" \
	hidden_canary

# A directory whose rules let hosts read state but not write it.
sed 's|\(group.exact="cn=stepup-hosts,ou=groups,@STEPUP_BASE@"\) write|\1 read|' \
	"$TOP_SRCDIR/etc/ldap/acl-openldap.conf" >"$T/acl-readonly.conf"
ldap_start readonly --acl-file "$T/acl-readonly.conf"
ldap_load_base readonly "${HOSTS[@]}"
write_refused() {
	variant readonly ldap_uri "$LDAP_URI_readonly"
	ctl -c "$T/hostA/readonly.conf" check-config
	[ "$rc" = 1 ] && out_has "canary: readable" &&
		out_has "write: refused (no write access: a host identity is expected to write state, an admin too)" &&
		err_has "cn=stepup-hosts" && [ "$(ldap_as_root readonly ldapsearch -LLL -b "$LDAP_CANARY" \
			-s base stepupSerial | sed -n 's/^stepupSerial: //p')" = 0 ]
}
tap_check "an identity that may read but not write state: exit 1, write refused (no write access), serial unchanged" \
	write_refused
ldap_stop readonly

server_down() {
	local ok=0
	ldap_stop main
	ctl -c "$T/hostA/stepup.conf" check-config
	[ "$rc" = 1 ] && out_has "server: not reached" && err_has "did not answer" &&
		err_has "check ldap_uri" || ok=1
	ldap_restart main
	return $ok
}
tap_check "slapd stopped: exit 1, the directory did not answer, check ldap_uri" server_down

# --- 8-13: ldap import from a host's files --------------------------------------------
U1=fc1$ID
new_user "$U1"
S1=$(secret_for "$U1")
"${FILES[@]}" enroll "$U1" totp --secret "$S1" >/dev/null 2>&1 || tap_bail "enrol $U1 on files"
"${FILES[@]}" enroll "$U1" email "$U1@example.com" >/dev/null 2>&1 || tap_bail "enrol $U1 email"
"${FILES[@]}" recovery "$U1" --count 2 >/dev/null 2>&1 || tap_bail "recovery $U1 on files"
E1=$((T0 + 60))
on files "$E1" "$U1" "$(code_at "$E1" "$S1")" || tap_bail "the files host refused $U1's code"
on files $((E1 + 30)) "$U1" 000000 # a failure on the files host: not carried over

import_one() {
	ctl -c "$T/admin/stepup.conf" ldap import "$U1" --from "$CONF"
	[ "$rc" = 0 ] && out_has "imported $U1 into the directory from the files of $CONF" &&
		out_has "TOTP: carried over (6 digits, 30 s steps)" && out_has "email: carried over" &&
		out_has "replay barrier: codes up to the step starting" &&
		out_has "recovery codes: NOT carried over" && out_has "stepupctl recovery $U1" &&
		[ "$(attr "$U1" stepupTotpLastTime)" = $((E1 / 30 * 30)) ] &&
		[ "$(attr "$U1" stepupEmailAddress)" = "$U1@example.com" ] &&
		[ -z "$(attr "$U1" stepupFailCount)" ] && [ -z "$(attr "$U1" stepupRecoveryCode)" ] &&
		attr "$U1" stepupTotpSecret | grep -q '^v1:'
}
tap_check "ldap import USER: secret (sealed), email and barrier carried, tally and recovery codes not (said, with the command)" \
	import_one

barrier_fleet_wide() {
	! on hostB "$E1" "$U1" "$(code_at "$E1" "$S1")" && said "already been used" &&
		on hostB $((E1 + 30)) "$U1" "$(code_at $((E1 + 30)) "$S1")"
}
tap_check "on a directory host, the code used on the files host is refused, the next one accepted" \
	barrier_fleet_wide

existing_refused() {
	local serial
	serial=$(attr "$U1" stepupSerial)
	ctl -c "$T/admin/stepup.conf" ldap import "$U1" --from "$CONF"
	[ "$rc" = 1 ] && err_has "$U1 already has an entry in the directory" && err_has "--force" &&
		err_has "and each security key's higher counter" &&
		[ ! -s "$T/ctl.out" ] && [ "$(attr "$U1" stepupSerial)" = "$serial" ]
}
tap_check "ldap import of a user with an entry: refused without --force, the entry untouched" \
	existing_refused

force_keeps_later_barrier() {
	ctl -c "$T/admin/stepup.conf" ldap import "$U1" --from "$CONF" --force
	[ "$rc" = 0 ] && out_has "the directory's, the later one" && out_has "replaced (--force)" &&
		[ "$(attr "$U1" stepupTotpLastTime)" = $(((E1 + 30) / 30 * 30)) ] &&
		! on hostA $((E1 + 30)) "$U1" "$(code_at $((E1 + 30)) "$S1")" &&
		on hostA $((E1 + 60)) "$U1" "$(code_at $((E1 + 60)) "$S1")"
}
tap_check "--force replaces the record and keeps the directory's later barrier" force_keeps_later_barrier

# --all from a second host's files: two users
mkdir -p "$T/files2"
write_conf "$T/files2/stepup.conf" "methods = totp"
sed -i "s|^user_dir = .*|user_dir = $T/files2/users|; s|^state_dir = .*|state_dir = $T/files2/state|;
	s|^hostkey = .*|hostkey = $T/files2/hostkey|; s|^grace_dir = .*|grace_dir = $T/files2/grace|" \
	"$T/files2/stepup.conf"
"$STEPUPCTL" -c "$T/files2/stepup.conf" init >/dev/null 2>&1 || tap_bail "init files2"
U2=fc2$ID U3=fc3$ID EMPTY=fc0$ID
for u in "$U2" "$U3" "$EMPTY"; do
	[ "$u" = "$EMPTY" ] || new_user "$u"
	"$STEPUPCTL" -c "$T/files2/stepup.conf" enroll "$u" totp --secret "$(secret_for "$u")" \
		>/dev/null 2>&1 || tap_bail "enrol $u on files2"
done
# a record left without a method: not enrolled, nothing to move
"$STEPUPCTL" -c "$T/files2/stepup.conf" remove "$EMPTY" totp >/dev/null 2>&1 || tap_bail "remove $EMPTY totp"
import_all() {
	ctl -c "$T/admin/stepup.conf" ldap import --all --from "$T/files2/stepup.conf"
	[ "$rc" = 0 ] && out_has "imported $U2 into the directory" && out_has "imported $U3 into the directory" &&
		out_has "skipped $EMPTY: no TOTP, email or security key enrolled" &&
		out_has "2 of 3 user(s) imported, 1 with nothing to move" &&
		out_has "recovery codes: none on this host" &&
		[ "$(attr "$U2" uid)" = "$U2" ] && [ "$(attr "$U3" uid)" = "$U3" ] && [ -z "$(attr "$EMPTY" uid)" ] &&
		on hostB "$T0" "$U3" "$(code_at "$T0" "$(secret_for "$U3")")"
}
tap_check "ldap import --all: both enrolled users of the files get entries (one steps up on host B), a record without a method is skipped" \
	import_all

usage_checked() {
	ctl -c "$T/admin/stepup.conf" ldap import "$U2" --all --from "$CONF"
	[ "$rc" = 2 ] && err_has "give USER or --all, not both" || return 1
	ctl -c "$T/admin/stepup.conf" ldap import "$U2"
	[ "$rc" = 2 ] && err_has "--from FILESCONFIG is required" || return 1
	ctl -c "$CONF" ldap import "$U2" --from "$CONF"
	[ "$rc" = 1 ] && err_has "give -c the directory's config"
}
tap_check "ldap import: USER and --all together, no --from (usage), -c on files (refused)" usage_checked

# --- 14-16: import google-authenticator into the directory ------------------------------
# ga_file PATH SECRET: a TOTP file as google-authenticator writes it, root's
# 0400, with DISALLOW_REUSE naming the step before T0 and two scratch codes.
ga_file() {
	(umask 077 && printf '%s\n" RATE_LIMIT 3 30\n" DISALLOW_REUSE %s\n" TOTP_AUTH\n%s\n%s\n' \
		"$2" $((T0 / 30 - 1)) 41234567 51234567 >"$1")
	chmod 0400 "$1"
}
U4=fc4$ID
new_user "$U4"
S4=$(secret_for "$U4")
ga_file "$T/ga4" "$S4"
ga_new_user() {
	ctl -c "$T/admin/stepup.conf" import google-authenticator "$U4" "$T/ga4"
	[ "$rc" = 0 ] && out_has "imported $U4 from $T/ga4" &&
		out_has "scratch codes: 2 carried over" && out_has "DISALLOW_REUSE: carried over" &&
		! grep -q "MOD dn=\"uid=$U4," "$LDAP_DIR_main/slapd.log" &&
		[ "$(attr "$U4" stepupTotpLastTime)" = $(((T0 / 30 - 1) * 30)) ] &&
		attr "$U4" stepupTotpSecret | grep -q '^v1:' &&
		! on hostA $((T0 - 30)) "$U4" "$(code_at $((T0 - 30)) "$S4")" &&
		on hostA "$T0" "$U4" "$(code_at "$T0" "$S4")"
}
tap_check "import google-authenticator for a user with no entry: one Add (no Modify) with the barrier; a TOTP step-up on host A" \
	ga_new_user
ga_scratch_fleet_wide() {
	on hostB $((T0 + 5)) "$U4" 51234567 && said "Recovery code accepted" &&
		! on hostA $((T0 + 6)) "$U4" 51234567
}
tap_check "a scratch code imported into the directory works on host B, then nowhere" ga_scratch_fleet_wide

U5=fc5$ID
new_user "$U5"
S5=$(secret_for "$U5")
ga_file "$T/ga5" "$S5"
ga_existing_entry() {
	"${ADMIN[@]}" enroll "$U5" email "$U5@example.com" >/dev/null 2>&1 || return 1
	ctl -c "$T/admin/stepup.conf" import google-authenticator "$U5" "$T/ga5"
	[ "$rc" = 0 ] && [ "$(attr "$U5" stepupEmailAddress)" = "$U5@example.com" ] &&
		on hostB "$T0" "$U5" "$(code_at "$T0" "$S5")"
}
tap_check "import google-authenticator for a user whose entry exists (email only): added to it; a TOTP step-up on host B" \
	ga_existing_entry

# --- 17-18: nothing left behind ----------------------------------------------------------
ga_report_clean() { ! grep -qF -e "$S5" -e 41234567 -e 51234567 "$T/ctl.out" "$T/ctl.err"; }
tap_check "the import's output shows neither the secret nor a scratch code" ga_report_clean

run_cleanups
left=$(ldap_started_pids)
nothing_left() {
	local u
	[ -z "$left" ] && ! ls "$PAMD/$SVC"-* >/dev/null 2>&1 || return 1
	for u in "${USERS[@]}"; do ! getent passwd "$u" >/dev/null || return 1; done
}
tap_check --not-ok "cleanup: left behind: slapd '$left', services or users" \
	"cleanup: every slapd stopped, services and users removed" nothing_left
