#!/bin/bash
# The method sshsk with the directory store (store = ldap), on a throwaway
# slapd with the shipped schema and access rules (tests/ldap/lib_ldap.sh):
# the keys enrolled by the admin travel in stepupRecordExtra, the counter
# kept by a host in stepupStateExtra, and a counter going backwards is
# refused on another host of the fleet (the counter is the fleet's, not a
# host's). A real ssh-agent as a test user holds an sk_soft key. Then
# `stepupctl ldap import` moves a key enrolled in a host's files into the
# directory with its counter, so a clone used on that host is refused on
# every host.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/ldap/lib_ldap.sh"
. "$TOP_SRCDIR/tests/ldap/lib_fleet.sh"
require_root
require_env
require_program pamtester oathtool slapd ldapsearch ldapmodify useradd userdel \
	ssh-agent ssh-add ssh-keygen setpriv

ID=$$
HOSTS=(hostA hostB)
USERS=()
SVC=stepup-sshskldap-$ID
SK=$TOP_BUILDDIR/tests/helpers/.libs/sk_soft.so
[ -f "$SK" ] || tap_bail "$SK is not built (make check builds tests/helpers/sk_soft.la)"
SK=$(realpath "$SK")

cleanup() {
	local h u _
	for h in hosta hostb files; do rm -f "/etc/pam.d/$SVC-$h"; done
	for u in "${USERS[@]}"; do
		for _ in $(seq 50); do userdel "$u" 2>/dev/null && break; sleep 0.1; done
	done
	return 0
}

tap_plan 10
install_traps
add_cleanup cleanup
# $CONF: a host still on its files (store = files), for ldap import
make_tree sshskldap "methods = totp, sshsk" "tries = 1" "lockout_attempts = 0" "sshsk_timeout = 10"
make_sock_dir
ldap_make_pki "${HOSTS[@]}"
ldap_start main
ldap_load_base main "${HOSTS[@]}"
for h in "${HOSTS[@]}"; do
	fleet_host "$h" "$SVC-${h,,}" "sshsk_timeout = 10"
	sed -i 's/^methods = totp, recovery$/methods = totp, sshsk/' "$T/$h/stepup.conf"
done
fleet_host admin ""
"$STEPUPCTL" -c "$T/admin/stepup.conf" fleet-key init >"$T/fleetkey.out" 2>&1 ||
	tap_bail "fleet-key init: $(cat "$T/fleetkey.out")"
ADMIN=("$STEPUPCTL" -c "$T/admin/stepup.conf")

U=stepupsl$ID
fleet_new_user "$U"
gid=$(id -g "$U")
D=$SOCKS/agent
as_u() { setpriv --reuid "$U" --regid "$gid" --clear-groups -- "$@"; }
{ mkdir -m 0700 "$D" && chown "$U:$gid" "$D" && printf 'up=1\n' >"$D/mode" && chown "$U" "$D/mode"; } ||
	tap_bail "cannot make $D"
SK_SOFT_MODE=$D/mode as_u ssh-agent -a "$D/sock" -P "${SK%/*}/*" >"$D/env" 2>&1 || tap_bail "ssh-agent failed"
add_cleanup "kill $(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$D/env") 2>/dev/null"
as_u ssh-keygen -q -t ecdsa-sk -w "$SK" -f "$D/key" -N '' -C "$U-key" >"$D/out" 2>&1 ||
	tap_bail "ssh-keygen failed: $(cat "$D/out")"
SSH_AUTH_SOCK=$D/sock as_u ssh-add -S "$SK" "$D/key" >"$D/out" 2>&1 || tap_bail "ssh-add failed"
S=$(secret_for "$U")

ctl() {
	"${ADMIN[@]}" "$@" </dev/null >"$T/ctl.out" 2>&1
	local rc=$?
	{ echo "--- stepupctl $*: exit $rc"; cat "$T/ctl.out"; } | tap_log
	return $rc
}
T0=$(mid_step "$(date +%s)")
# on HOST USER [ANSWER]: pamtester on HOST's service with the agent, each
# call a step later (lib_fleet.sh fleet_on)
on() {
	T0=$((T0 + 30))
	fleet_on --env SSH_AUTH_SOCK="$D/sock" "$T0" "$SVC-${1,,}" "$2" "${3:-}"
}
said() { grep -qF -- "$1" "$T/on.out"; }
fp=$(ssh-keygen -lf "$D/key.pub" | cut -d' ' -f2)

enrolled() {
	ctl enroll "$U" totp --secret "$S" && ctl enroll "$U" sshkey "$D/key.pub" &&
		ctl status "$U" && grep -qF "security key: $fp" "$T/ctl.out" &&
		fleet_attr "$U" stepupRecordExtra | grep -q '^sshsk_key_[0-9a-f]\{16\}=sk-ecdsa'
}
tap_check "enroll USER sshkey into the directory: the key in stepupRecordExtra, status lists it" enrolled
on_a() {
	on hostA "$U" && said "Security key accepted." &&
		fleet_attr "$U" stepupStateExtra | grep -q '^sshsk_counter_[0-9a-f]\{16\}=[1-9]'
}
tap_check "host A: the key accepted, its counter kept in stepupStateExtra" on_a
on_b() { on hostB "$U" && said "Security key accepted."; }
tap_check "host B: the same key accepted (the counter went up)" on_b
printf 'up=1\ncounter=1\n' >"$D/mode"
backwards_on_b() {
	! on hostB "$U" && said "its signature counter went backwards"
}
tap_check "host B: a counter below the fleet's (a clone used elsewhere): refused" backwards_on_b
printf 'up=1\n' >"$D/mode"
remove_key() {
	ctl remove "$U" sshkey "$fp" && ! fleet_attr "$U" stepupRecordExtra | grep -q '^sshsk_key_' &&
		on hostA "$U" "$(code_at $((T0 + 30)) "$S")" && ! said "Touch"
}
tap_check "remove USER sshkey FINGERPRINT: gone from the directory; host A asks for the TOTP code" remove_key

# --- 6-10: ldap import of a key enrolled in a host's files ---------------------
fleet_service "$SVC-files" "$CONF"
FILES=("$STEPUPCTL" -c "$CONF")
"${FILES[@]}" enroll "$U" sshkey "$D/key.pub" >"$T/files.out" 2>&1 ||
	tap_bail "enroll $U sshkey on the files: $(cat "$T/files.out")"
printf 'up=1\ncounter=500\n' >"$D/mode"
on files "$U" || tap_bail "the files host refused $U's key: $(cat "$T/on.out")"
counter_in_directory() { fleet_attr "$U" stepupStateExtra | grep -qx "sshsk_counter_[0-9a-f]\{16\}=$1"; }
imported() {
	ctl ldap import "$U" --from "$CONF" --force &&
		grep -qF "security keys: 1 carried over, each with the higher of this host's" "$T/ctl.out" &&
		grep -qF "replaced (--force): its recovery codes and any security key not in these files are gone (the keys' counters stay)" "$T/ctl.out" &&
		fleet_attr "$U" stepupRecordExtra | grep -q '^sshsk_key_[0-9a-f]\{16\}=sk-ecdsa' &&
		counter_in_directory 500 && [ -z "$(fleet_attr "$U" stepupTotpSecret)" ]
}
tap_check "ldap import --force of a user with only a key in the files: the key in the directory, the files' counter (500) over the directory's" \
	imported
clone_refused_on_b() {
	printf 'up=1\ncounter=499\n' >"$D/mode"
	! on hostB "$U" && said "its signature counter went backwards" || return 1
	printf 'up=1\ncounter=501\n' >"$D/mode"
	on hostB "$U" && said "Security key accepted." && counter_in_directory 501 || return 1
	# importing again keeps the directory's counter, now the higher
	ctl ldap import "$U" --from "$CONF" --force && counter_in_directory 501
}
tap_check "host B: a counter below the imported one refused (a clone used on the files host), above accepted; import again keeps the directory's higher counter" \
	clone_refused_on_b
printf 'up=1\n' >"$D/mode"
REC=$T/etc/stepup/users/$U
cp -p "$REC" "$T/record.saved" || tap_bail "cannot copy $REC"
# serial_kept CMD...: CMD fails, and the entry's serial is what it was
serial_kept() {
	local serial
	serial=$(fleet_attr "$U" stepupSerial) && [ -n "$serial" ] || return 1
	! "$@" && ! grep -q "^imported" "$T/ctl.out" && [ "$(fleet_attr "$U" stepupSerial)" = "$serial" ]
}
bad_line_refused() {
	sed -i 's/^sshsk_key_[0-9a-f]\{16\}=/sshsk_key_0123456789abcdef=/' "$REC" || return 1
	serial_kept ctl ldap import "$U" --from "$CONF" --force &&
		grep -q "^stepupctl: $REC:[0-9]*: key 'sshsk_key_0123456789abcdef': the name is not the key's id" "$T/ctl.out"
}
tap_check "ldap import of a files record whose key line is not its key's: refused naming the file, line and key; the directory untouched" \
	bad_line_refused
cp -p "$T/record.saved" "$REC" || tap_bail "cannot restore $REC"

# A key removed from the files keeps its counter in their state; the
# import carries it, so the key enrolled again in the directory cannot go
# back to an older counter (a clone made while it was lost).
"${FILES[@]}" remove "$U" sshkey "$fp" >"$T/files.out" 2>&1 &&
	"${FILES[@]}" enroll "$U" totp --secret "$S" >>"$T/files.out" 2>&1 ||
	tap_bail "files: remove $U's key, enroll totp: $(cat "$T/files.out")"
ctl remove "$U" || tap_bail "remove $U from the directory failed"
removed_key_counter() {
	ctl ldap import "$U" --from "$CONF" && grep -qF "TOTP: carried over" "$T/ctl.out" &&
		! grep -qF "security keys:" "$T/ctl.out" && counter_in_directory 500 || return 1
	ctl enroll "$U" sshkey "$D/key.pub" || return 1
	printf 'up=1\ncounter=10\n' >"$D/mode"
	! on hostB "$U" && said "its signature counter went backwards"
}
tap_check "ldap import of a new entry carries the counter of a key removed from the files; the key enrolled again in the directory: an older counter refused on host B" \
	removed_key_counter
printf 'up=1\n' >"$D/mode"

malformed_counter_refused() {
	local name
	name=$(fleet_attr "$U" stepupStateExtra | sed -n 's/^\(sshsk_counter_[0-9a-f]\{16\}\)=.*/\1/p')
	[ -n "$name" ] || return 1
	printf 'dn: uid=%s,%s\nchangetype: modify\nreplace: stepupStateExtra\nstepupStateExtra: %s=4294967296\n' \
		"$U" "$LDAP_USERS" "$name" | ldap_as_root main ldapmodify >/dev/null 2>&1 || return 1
	serial_kept ctl ldap import "$U" --from "$CONF" --force &&
		grep -q "uid=$U,.*key '$name'" "$T/ctl.out"
}
tap_check "ldap import --force over a directory counter that is not a 32-bit number: refused naming the entry and the key; the entry untouched" \
	malformed_counter_refused
