#!/bin/bash
# The directory test harness (tests/ldap/lib_ldap.sh) and the schema and
# access rules of etc/ldap, with ldap-utils alone (no pam_stepup): slapd
# runs with etc/ldap/stepup.schema; host and admin certificates bind by SASL
# EXTERNAL as their DNs; what hosts, admins, the helpdesk, a user, anonymous
# and a host outside cn=stepup-hosts may read and write (FLEET.md 4.7); the
# conditional Modify (delete serial N, add N+1) succeeds once; the cn=config
# and 389-DS forms of the schema and rules say the same as the slapd.conf
# forms; TLS with the wrong CA or name is refused; pause, kill, restart and
# the black hole behave as the outage tests need; nothing is left running.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/ldap/lib_ldap.sh"
require_root
# Only these two: the harness needs neither the module nor stepupctl.
for v in TOP_SRCDIR TOP_BUILDDIR; do
	[ -n "${!v:-}" ] || tap_bail "$v is not set; run through 'make check' or export it"
done
require_program slapd slaptest ldapsearch ldapmodify ldapadd ldapdelete ldapwhoami openssl timeout

ETC=$TOP_SRCDIR/etc/ldap

# A tree like make_tree's, without `stepupctl init` (no module needed).
harness_tree() {
	mkdir -p "$TOP_BUILDDIR/tests/tmp" || tap_bail "cannot create $TOP_BUILDDIR/tests/tmp"
	chmod 0755 "$TOP_BUILDDIR/tests/tmp"
	T=$(mktemp -d "$TOP_BUILDDIR/tests/tmp/$1.XXXXXX") || tap_bail "mktemp failed"
	chmod 0755 "$T"
	add_cleanup _remove_tree "'$T'"
	TAP_CASE_LOG=$T/tap-case.log
	: >"$TAP_CASE_LOG"
}

# Runs from the EXIT trap, after the cleanups: the last TAP line.
harness_left_nothing() {
	local left
	left=$(ldap_started_pids)
	if [ -n "$left" ]; then
		tap_not_ok "every process the harness started is gone at exit: left $left"
		kill -KILL $left 2>/dev/null
	elif [ "$TAP_FAILED" -eq 0 ] && [ -e "$T" ]; then
		tap_not_ok "every process the harness started is gone at exit, and the tree: $T is left"
	else
		tap_ok "every process the harness started (${#_LDAP_PIDS[@]}) is gone at exit, and the tree with its files"
	fi
}

# run COMMAND...: runs it, OUT its output (stdout and stderr), RC its exit
# status; both go to the case's transcript.
OUT=
RC=
run() {
	OUT=$("$@" 2>&1)
	RC=$?
	{
		echo "\$ $* -> exit $RC"
		printf '%s\n' "$OUT"
	} | tap_log
	return 0
}
# Milliseconds since START (an $EPOCHREALTIME).
ms_since() {
	local now=${EPOCHREALTIME/./}
	echo $(((now - ${1/./}) / 1000))
}
entries() { printf '%s\n' "$OUT" | grep -c '^dn: '; }
has() { printf '%s\n' "$OUT" | grep -qF -- "$1"; }

tap_plan 31
install_traps harness_left_nothing
harness_tree ldap_harness
ldap_make_pki hostA hostB rogue
ldap_start main
ldap_load_base main hostA hostB
ALICE=uid=alice,$LDAP_USERS

# --- the schema -------------------------------------------------------------------
# stepup_defs COMMAND...: the stepup definitions a server publishes in
# cn=Subschema (COMMAND: an ldap_as_* prefix), one per line, sorted.
stepup_defs() {
	"$@" ldapsearch -LLL -o ldif-wrap=no -b cn=Subschema -s base '(objectClass=subschema)' \
		attributeTypes objectClasses | grep -E "^(attributeTypes|objectClasses): \( [0-9.]+ NAME 'stepup" |
		sed 's/  */ /g' | sort
}
ATTRS_IN_FILE=$(grep -c '^attributetype ' "$ETC/stepup.schema")
schema_loaded() {
	stepup_defs ldap_as_anon main >"$T/main.defs"
	tap_log <"$T/main.defs"
	[ "$(grep -c '^attributeTypes:' "$T/main.defs")" -eq "$ATTRS_IN_FILE" ] && [ "$ATTRS_IN_FILE" -eq 23 ] &&
		grep -q "^objectClasses: .* NAME 'stepupUser' SUP top STRUCTURAL MUST ( uid \\$ stepupSerial ) MAY (" "$T/main.defs"
}
tap_check "slapd runs with etc/ldap/stepup.schema: 23 attribute types and stepupUser (MUST uid, stepupSerial)" \
	schema_loaded

# --- certificates -----------------------------------------------------------------
# subject FILE: the certificate's subject, RFC 4514 order.
subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
pki_as_specified() {
	local f now start end bad=0 n=0
	for f in "$LDAP_PKI"/*.pem "$LDAP_PKI"/clients/*.pem; do n=$((n + 1)); done
	[ "$n" -eq 9 ] || bad=1 # ca, localhost, wrongname, untrusted-ca and -localhost; admin, hostA, hostB, rogue
	for f in "$LDAP_PKI"/*.key "$LDAP_PKI"/clients/*.key; do
		[ "$(stat -c '%U %a' "$f")" = "root 600" ] || { echo "$f: $(stat -c '%U %a' "$f")" | tap_log; bad=1; }
	done
	now=$(date +%s)
	# notBefore and notAfter of each, as epochs (one date(1) for all)
	for f in "$LDAP_PKI"/*.pem "$LDAP_PKI"/clients/*.pem; do
		openssl x509 -in "$f" -noout -startdate -enddate | cut -d= -f2
	done | date -f - +%s >"$T/pki.dates"
	while read -r start && read -r end; do
		# from about a day ago, for about 10 years
		if [ $((now - start)) -lt 80000 ] || [ $((now - start)) -gt 90000 ] ||
			[ $((end - now)) -lt $((3650 * 86400)) ]; then
			echo "a certificate valid $start..$end" | tap_log
			bad=1
		fi
	done <"$T/pki.dates"
	[ "$(wc -l <"$T/pki.dates")" -eq $((2 * n)) ] || bad=1
	{
		subject "$LDAP_PKI/clients/hostA.pem"
		subject "$LDAP_PKI/clients/admin.pem"
		openssl x509 -in "$LDAP_SERVER_CERT" -noout -ext subjectAltName
		openssl x509 -in "$LDAP_WRONGNAME_CERT" -noout -ext subjectAltName
		openssl x509 -in "$LDAP_SERVER_CERT" -noout -text | grep -F 'ASN1 OID'
	} >"$T/pki.txt"
	tap_log <"$T/pki.txt"
	[ "$bad" = 0 ] && [ "$(subject "$LDAP_PKI/clients/hostA.pem")" = "CN=hostA,OU=hosts,O=stepup-test" ] &&
		[ "$(subject "$LDAP_PKI/clients/admin.pem")" = "CN=admin,OU=admins,O=stepup-test" ] &&
		grep -qx '    DNS:localhost, IP Address:127.0.0.1' "$T/pki.txt" &&
		grep -qx '    DNS:wrong.example' "$T/pki.txt" && grep -q prime256v1 "$T/pki.txt"
}
tap_check "certificates: EC P-256, keys root 0600, valid from yesterday for 10 years, subjects and SANs as asked" \
	pki_as_specified

# GnuTLS checks the dates against the client's clock, which at_time moves.
# libfaketime leaves /dev/shm/faketime_shm_PID and its semaphores behind,
# so this is at_time's clock inside a mount namespace with a /dev/shm of
# its own (libfaketime loaded only after the mount).
whoami_at() { # EPOCH
	unshare --mount --propagation private -- sh -c \
		'mount -t tmpfs -o mode=1777 stepup-shm /dev/shm && exec "$@"' sh \
		timeout -k 5 30 env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_FMT=%s FAKETIME="$1" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 LDAPTLS_CACERT="$LDAP_CA" LDAPTLS_REQCERT=demand \
		ldapwhoami -x -ZZ -H "$LDAP_URI_main"
}
faked_clock() {
	local now
	now=$(date +%s)
	run whoami_at $((now - 12 * 3600))
	[ "$RC" -eq 0 ] || return 1
	run whoami_at $((now - 2 * 86400))
	[ "$RC" -ne 0 ] && has "ldap_start_tls: Connect error"
}
if [ -f "$FAKETIME_LIB" ]; then
	tap_check "a client clock 12 h behind (libfaketime) accepts the server certificate; 2 days behind refuses it" \
		faked_clock
else
	tap_skip "a client clock 12 h behind accepts the server certificate" "no $FAKETIME_LIB"
fi

# --- identities -------------------------------------------------------------------
# slapd lowercases the mapped DN (cn=hosta): compare without case.
whoami_is() { # EXPECTED DN, then the ldap_as_* words
	local want=$1
	shift
	run "$@" ldapwhoami
	[ "$RC" -eq 0 ] && [ "${OUT,,}" = "dn:${want,,}" ]
}
tap_check "hostA's certificate binds by SASL EXTERNAL as cn=hostA,$LDAP_HOSTS" \
	whoami_is "cn=hostA,$LDAP_HOSTS" ldap_as_host main hostA
tap_check "the admin certificate binds as $LDAP_ADMIN_DN" \
	whoami_is "$LDAP_ADMIN_DN" ldap_as_admin main

# --- admins write users, hosts read secrets and write state ----------------------------
admin_adds_user() {
	printf '%s\n' "dn: $ALICE" "objectClass: stepupUser" "uid: alice" "stepupSerial: 0" \
		"stepupTotpSecret: v1:k1:c2VjcmV0LW9uZQ==" "stepupTotpDigits: 6" "stepupTotpPeriod: 30" \
		"stepupRecoverySet: s1" "stepupRecoveryFormat: f1" \
		"stepupRecoveryCode: 1:salt1:mac1" "stepupRecoveryCode: 2:salt2:mac2" >"$T/alice.ldif"
	run ldap_as_admin main ldapadd -f "$T/alice.ldif"
	[ "$RC" -eq 0 ] || return 1
	run ldap_as_root main ldapsearch -LLL -b "$ALICE" -s base stepupTotpDigits
	has "stepupTotpDigits: 6"
}
tap_check "an admin adds a user entry with its record (stepupSerial 0)" admin_adds_user

host_reads_secrets() {
	run ldap_as_host main hostA ldapsearch -LLL -b "$ALICE" -s base stepupTotpSecret stepupRecoveryCode
	[ "$RC" -eq 0 ] && has "stepupTotpSecret: v1:k1:c2VjcmV0LW9uZQ==" &&
		[ "$(printf '%s\n' "$OUT" | grep -c '^stepupRecoveryCode: ')" -eq 2 ]
}
tap_check "a host reads stepupTotpSecret and both stepupRecoveryCode values" host_reads_secrets

# modify_alice WHO... -- CHANGE...: ldapmodify of alice's entry as WHO (an
# ldap_as_* prefix) with the LDIF lines CHANGE... (no pipeline: RC and OUT
# must reach the caller).
modify_alice() {
	local who=()
	while [ "$1" != -- ]; do
		who+=("$1")
		shift
	done
	shift
	printf '%s\n' "dn: $ALICE" "changetype: modify" "$@" >"$T/modify.ldif"
	tap_log <"$T/modify.ldif"
	run "${who[@]}" ldapmodify -f "$T/modify.ldif"
}
serial() {
	ldap_as_root main ldapsearch -LLL -b "$ALICE" -s base stepupSerial | sed -n 's/^stepupSerial: //p'
}
# cas N WHO... [-- CHANGE...]: the conditional Modify, serial N to N+1,
# with the changes.
cas() {
	local n=$1 who=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		who+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	modify_alice "${who[@]}" -- "delete: stepupSerial" "stepupSerial: $n" "-" \
		"add: stepupSerial" "stepupSerial: $((n + 1))" "-" "$@"
}

host_writes_state() {
	local n
	n=$(serial)
	cas "$n" ldap_as_host main hostA -- "replace: stepupFailCount" "stepupFailCount: 1" "-"
	[ "$RC" -eq 0 ] || return 1
	run ldap_as_root main ldapsearch -LLL -b "$ALICE" -s base stepupFailCount stepupSerial
	has "stepupFailCount: 1" && has "stepupSerial: $((n + 1))"
}
tap_check "a host writes stepupFailCount with the conditional Modify" host_writes_state

host_cannot_write_secret() {
	modify_alice ldap_as_host main hostA -- "replace: stepupTotpSecret" \
		"stepupTotpSecret: v1:k1:bWFsbG9yeQ==" "-"
	[ "$RC" -eq 50 ] || return 1
	run ldap_as_root main ldapsearch -LLL -b "$ALICE" -s base stepupTotpSecret
	has "stepupTotpSecret: v1:k1:c2VjcmV0LW9uZQ=="
}
tap_check "a host cannot write stepupTotpSecret (insufficient access, 50; unchanged)" host_cannot_write_secret

admin_writes_secret() {
	local n
	n=$(serial)
	cas "$n" ldap_as_admin main -- "replace: stepupTotpSecret" "stepupTotpSecret: v1:k2:c2VjcmV0LXR3bw==" "-"
	[ "$RC" -eq 0 ] || return 1
	run ldap_as_host main hostB ldapsearch -LLL -b "$ALICE" -s base stepupTotpSecret
	has "stepupTotpSecret: v1:k2:c2VjcmV0LXR3bw=="
}
tap_check "an admin writes stepupTotpSecret, and another host reads the new one" admin_writes_secret

host_cannot_add_or_delete() {
	printf '%s\n' "dn: uid=mallory,$LDAP_USERS" "objectClass: stepupUser" "uid: mallory" \
		"stepupSerial: 0" >"$T/mallory.ldif"
	run ldap_as_host main hostA ldapadd -f "$T/mallory.ldif"
	[ "$RC" -eq 50 ] || return 1
	run ldap_as_host main hostA ldapdelete "$ALICE"
	[ "$RC" -eq 50 ]
}
tap_check "a host can neither add nor delete user entries (50)" host_cannot_add_or_delete

# --- nobody else sees anything -----------------------------------------------------------
# sees_nothing WHO...: a subtree search of ou=users and a base search of
# alice's entry there return no entry (0, or 32 when the base is hidden).
sees_nothing() {
	run "$@" ldapsearch -LLL -b "$LDAP_USERS" '(objectClass=*)' '*' stepupTotpSecret
	{ [ "$RC" -eq 0 ] || [ "$RC" -eq 32 ]; } && [ "$(entries)" -eq 0 ] || return 1
	run "$@" ldapsearch -LLL -b "$ALICE" -s base '(objectClass=*)' stepupTotpSecret stepupFailCount
	{ [ "$RC" -eq 0 ] || [ "$RC" -eq 32 ]; } && [ "$(entries)" -eq 0 ]
}
# ... while the same identity reads ou=people: the bind and the server work.
reads_people() {
	run "$@" ldapsearch -LLL -b "uid=alice,$LDAP_PEOPLE" -s base uid
	[ "$RC" -eq 0 ] && [ "$(entries)" -eq 1 ]
}
alice_sees_nothing() {
	whoami_is "uid=alice,$LDAP_PEOPLE" ldap_as_person main alice &&
		reads_people ldap_as_person main alice && sees_nothing ldap_as_person main alice
}
tap_check "alice (simple bind) reads nothing under ou=users, not even her own entry, but reads ou=people" \
	alice_sees_nothing
anonymous_sees_nothing() {
	reads_people ldap_as_anon main && sees_nothing ldap_as_anon main
}
tap_check "anonymous reads nothing under ou=users, but reads ou=people" anonymous_sees_nothing
rogue_sees_nothing() {
	whoami_is "cn=rogue,$LDAP_HOSTS" ldap_as_host main rogue && sees_nothing ldap_as_host main rogue
}
tap_check "a host certificate of the CA but not in cn=stepup-hosts reads nothing (no stepupTotpSecret)" \
	rogue_sees_nothing

# Removing a host from cn=stepup-hosts revokes it at once; adding it back
# restores it.
group_revokes() {
	local dn
	dn=$(ldap_host_dn hostB)
	run ldap_group_member main delete stepup-hosts "$dn"
	[ "$RC" -eq 0 ] && sees_nothing ldap_as_host main hostB || return 1
	run ldap_group_member main add stepup-hosts "$dn"
	[ "$RC" -eq 0 ] || return 1
	run ldap_as_host main hostB ldapsearch -LLL -b "$ALICE" -s base stepupTotpSecret
	has "stepupTotpSecret: "
}
tap_check "ldap_group_member: hostB out of cn=stepup-hosts reads nothing at once; back in, it reads again" \
	group_revokes

helpdesk_unlocks_only() {
	local n
	whoami_is "uid=helpdesk,$LDAP_PEOPLE" ldap_as_person main helpdesk || return 1
	n=$(serial)
	cas "$n" ldap_as_person main helpdesk -- "replace: stepupLockedUntil" "stepupLockedUntil: 1700000600" "-"
	[ "$RC" -eq 0 ] || return 1
	run ldap_as_person main helpdesk ldapsearch -LLL -b "$ALICE" -s base '*' stepupTotpSecret stepupRecoveryCode
	[ "$RC" -eq 0 ] && has "stepupLockedUntil: 1700000600" && has "stepupTotpDigits: 6" &&
		! has stepupTotpSecret && ! has stepupRecoveryCode || return 1
	n=$(serial)
	cas "$n" ldap_as_person main helpdesk -- "replace: stepupTotpDigits" "stepupTotpDigits: 8" "-"
	[ "$RC" -eq 50 ]
}
tap_check "the helpdesk writes stepupLockedUntil, reads the rest but neither secret, writes no record" \
	helpdesk_unlocks_only

# --- the conditional Modify ------------------------------------------------------------
cas_succeeds_once() {
	local n
	n=$(serial)
	[ -n "$n" ] || return 1
	cas "$n" ldap_as_host main hostA
	[ "$RC" -eq 0 ] || return 1
	cas "$n" ldap_as_host main hostB
	[ "$RC" -eq 16 ] && has "No such attribute" && [ "$(serial)" -eq $((n + 1)) ]
}
tap_check "delete stepupSerial N, add N+1: succeeds once; the same Modify again fails (16, no such attribute)" \
	cas_succeeds_once

serial_single_valued() {
	local n
	n=$(serial)
	modify_alice ldap_as_host main hostA -- "add: stepupSerial" "stepupSerial: $((n + 7))" "-"
	[ "$RC" -eq 19 ] && [ "$(serial)" -eq "$n" ]
}
tap_check "stepupSerial is single-valued: adding a value without deleting fails (19)" serial_single_valued

# --- the other forms of the schema and rules ----------------------------------------------
slaptest_converts() {
	mkdir -p "$T/converted" && chmod 0700 "$T/converted"
	run slaptest -f "$T/main/slapd.conf" -F "$T/converted"
	[ "$RC" -eq 0 ] || return 1
	run slaptest -u -F "$T/converted"
	[ "$RC" -eq 0 ] && compgen -G "$T/converted/cn=config/cn=schema/cn={*}stepup.ldif" >/dev/null
}
tap_check "slaptest converts the slapd.conf (schema, rules) to a slapd.d that loads" slaptest_converts

ldap_start_cnconfig cnconfig
ldif_loads() {
	run ldap_as_config cnconfig ldapadd -f "$ETC/stepup.ldif"
	[ "$RC" -eq 0 ]
}
tap_check "etc/ldap/stepup.ldif loads into a cn=config slapd (ldapadd -Y EXTERNAL over ldapi)" ldif_loads

ldif_schema_same() {
	stepup_defs ldap_as_config cnconfig >"$T/cnconfig.defs"
	tap_log <"$T/cnconfig.defs"
	[ -s "$T/main.defs" ] && cmp -s "$T/main.defs" "$T/cnconfig.defs"
}
tap_check "the cn=config slapd publishes exactly the schema of stepup.schema" ldif_schema_same

# 99stepup.ldif as slapd would print it: unfolded, comments dropped, blanks
# squeezed, X-ORIGIN removed (slapd has no X-ORIGIN for our types).
ds389_same() {
	sed '/^#/d' "$ETC/389ds/99stepup.ldif" | sed -e ':a' -e '$!N;s/\n //;ta' -e 'P;D' |
		grep -E '^(attributeTypes|objectClasses): ' | sed -e 's/  */ /g' \
		-e "s/ X-ORIGIN 'pam_stepup' )\$/ )/" | sort >"$T/389.defs"
	tap_log <"$T/389.defs"
	[ "$(grep -c "X-ORIGIN 'pam_stepup'" "$ETC/389ds/99stepup.ldif")" -eq 24 ] &&
		grep -q '^dn: cn=schema$' "$ETC/389ds/99stepup.ldif" && cmp -s "$T/main.defs" "$T/389.defs"
}
tap_check "389ds/99stepup.ldif defines the same 24 types and classes (OIDs expanded), each X-ORIGIN 'pam_stepup'" \
	ds389_same

# olcAccess values, one per line, blanks squeezed; "group/groupOfNames/member"
# (what slaptest writes) is "group" with its defaults spelled out.
olc_access() { sed -n 's/^olcAccess: //p' | sed -e 's/  */ /g' -e 's|by group/groupOfNames/member\.|by group.|g'; }
acl_ldif_same() {
	local debian
	debian=$(printf '%s\n' "to attrs=userPassword by self write by anonymous auth by * none" \
		"to attrs=shadowLastChange by self write by * read" "to * by * read")
	mkdir -p "$T/cnconfig/db"
	{
		printf '%s\n' "dn: olcDatabase=mdb,cn=config" "objectClass: olcDatabaseConfig" \
			"objectClass: olcMdbConfig" "olcDatabase: mdb" "olcSuffix: $LDAP_SUFFIX" \
			"olcDbDirectory: $T/cnconfig/db"
		printf '%s\n' "$debian" | awk '{ printf "olcAccess: {%d}%s\n", NR - 1, $0 }'
	} >"$T/mdb.ldif"
	run ldap_as_config cnconfig ldapadd -f "$T/mdb.ldif"
	[ "$RC" -eq 0 ] || return 1
	sed "s|@STEPUP_BASE@|$LDAP_STEPUP_BASE|g" "$ETC/acl-openldap.ldif" >"$T/acl.ldif"
	run ldap_as_config cnconfig ldapmodify -f "$T/acl.ldif"
	[ "$RC" -eq 0 ] || return 1
	ldap_as_config cnconfig ldapsearch -LLL -o ldif-wrap=no -b 'olcDatabase={1}mdb,cn=config' -s base \
		olcAccess | olc_access >"$T/acl.loaded"
	sed -e ':a' -e '$!N;s/\n //;ta' -e 'P;D' "$T/converted/cn=config/olcDatabase={1}mdb.ldif" |
		olc_access | head -3 >"$T/acl.converted"
	{ echo "--- loaded"; cat "$T/acl.loaded"; echo "--- converted"; cat "$T/acl.converted"; } | tap_log
	[ "$(wc -l <"$T/acl.loaded")" -eq 6 ] && [ -s "$T/acl.converted" ] &&
		[ "$(head -3 "$T/acl.loaded")" = "$(cat "$T/acl.converted")" ] &&
		[ "$(tail -3 "$T/acl.loaded" | sed 's/^{[0-9]*}//')" = "$debian" ]
}
tap_check "acl-openldap.ldif puts the rules of acl-openldap.conf at {0}-{2}, ahead of a database's own" \
	acl_ldif_same

# --- TLS --------------------------------------------------------------------------------
# refused_tls NAME: StartTLS to NAME fails at the TLS handshake (the client
# trusts the test CA only, LDAPTLS_REQCERT=demand), while NAME answers
# without TLS and main answers with it.
refused_tls() {
	run ldap_as_anon "$1" ldapwhoami
	[ "$RC" -eq 0 ] || return 1
	run ldap_as_anon main ldapwhoami -ZZ
	[ "$RC" -eq 0 ] || return 1
	run ldap_as_anon "$1" ldapwhoami -ZZ
	[ "$RC" -ne 0 ] && has "ldap_start_tls: Connect error"
}
ldap_start untrusted --ca "$LDAP_UNTRUSTED_CA" --cert "$LDAP_UNTRUSTED_CERT" --key "$LDAP_UNTRUSTED_KEY"
tap_check "a server certificate from another CA is refused (LDAPTLS_REQCERT=demand)" refused_tls untrusted
ldap_start wrongname --cert "$LDAP_WRONGNAME_CERT" --key "$LDAP_WRONGNAME_KEY"
tap_check "a server certificate for another name (wrong.example) is refused" refused_tls wrongname

# --- outages ----------------------------------------------------------------------------
# The pause: connections are accepted by the kernel, nothing answers.
pause_hangs_resume_answers() {
	local start took
	ldap_pause main
	start=$EPOCHREALTIME
	LDAP_CMD_TIMEOUT=2 run ldap_as_anon main ldapwhoami
	took=$(ms_since "$start")
	ldap_resume main
	tap_log <<<"paused: exit $RC after $took ms"
	[ "$RC" -eq 124 ] || return 1
	run ldap_as_anon main ldapwhoami
	[ "$RC" -eq 0 ]
}
tap_check "ldap_pause: a request hangs (killed after 2 s); ldap_resume: it answers" pause_hangs_resume_answers

kill_restart_keeps_data() {
	local port=$LDAP_PORT_main n
	n=$(serial)
	ldap_kill main
	run ldap_as_anon main ldapwhoami
	[ "$RC" -ne 0 ] && has "Can't contact LDAP server" || return 1
	ldap_restart main
	[ "$LDAP_PORT_main" = "$port" ] && [ -n "$n" ] && [ "$(serial)" = "$n" ] || return 1
	run ldap_as_host main hostA ldapsearch -LLL -b "$ALICE" -s base stepupFailCount
	has "stepupFailCount: 1"
}
tap_check "ldap_kill: refused; ldap_restart: the same port, the writes kept" kill_restart_keeps_data

stop_stops() {
	local pid=$LDAP_PID_wrongname
	ldap_stop wrongname
	! ldap_running wrongname && [ ! -e "/proc/$pid" ] && [ -z "$LDAP_PID_wrongname" ] || return 1
	run ldap_as_anon wrongname ldapwhoami
	[ "$RC" -ne 0 ] && has "Can't contact LDAP server"
}
tap_check "ldap_stop: the process is gone and its port refuses" stop_stops

ldap_blackhole
blackhole_hangs() {
	local start took
	start=$EPOCHREALTIME
	run timeout 3 ldapsearch -x -H "$LDAP_BLACKHOLE_URI" -s base -b "" -LLL 1.1
	took=$(ms_since "$start")
	tap_log <<<"took $took ms"
	[ "$RC" -eq 124 ] && [ "$took" -ge 2900 ]
}
tap_check "the black hole: a connect hangs until killed (timeout 3 s)" blackhole_hangs
blackhole_nettimeout() {
	local start took
	start=$EPOCHREALTIME
	run timeout 10 ldapsearch -x -H "$LDAP_BLACKHOLE_URI" -o nettimeout=1 -s base -b "" -LLL 1.1
	took=$(ms_since "$start")
	tap_log <<<"took $took ms"
	[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && has "Can't contact LDAP server" &&
		[ "$took" -ge 900 ] && [ "$took" -lt 3000 ]
}
tap_check "the black hole: libldap's network timeout (nettimeout=1) ends the connect after about 1 s" \
	blackhole_nettimeout
