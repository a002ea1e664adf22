#!/bin/bash
# The directory store on 389 Directory Server (Debian's 389-ds-base): the
# shipped 389-DS forms (etc/ldap/389ds/99stepup.ldif, acl-389ds.ldif) on a
# real ns-slapd, and the module and stepupctl against it.
# * the schema loads (dsconf schema reload) and publishes stepupUser;
#   subtree.ldif and the ACIs load as etc/ldap/README says;
# * the ACIs: a host in cn=stepup-hosts reads the canary and its secret and
#   writes state but not the secret; the helpdesk writes stepupLockedUntil
#   but reads neither secret; a person of the site and anonymous read
#   nothing under ou=users (389-DS adds every allow that matches, and the
#   suffix carries an anonymous-read ACI of its own: the denies are what
#   keep the subtree closed);
# * check-config, an admin's enrolment, a code accepted on one host and
#   refused as used on the other, through the module (simple binds over
#   ldapi: no TLS is needed there, and 389-DS's TLS set-up is its own).
# The instance is made with dscreate. Without systemd, lib389 starts
# ns-slapd itself only when it believes it runs in a container (a file
# /data/config/container.inf; its pid file and socket then live in
# /data/run): the test makes those, and removes what it made, the
# instance's directories and the server at exit. Skipped when 389-ds-base
# is not installed (scripts/deps.sh installs it for the suite).
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/ldap/lib_fleet.sh"
require_root
require_env
require_program pamtester oathtool ldapsearch ldapmodify ldapadd ldapwhoami useradd userdel

if ! command -v dscreate >/dev/null || ! command -v dsconf >/dev/null ||
	! command -v ns-slapd >/dev/null; then
	echo "1..0 # SKIP 389-ds-base is not installed (dscreate, dsconf, ns-slapd)"
	exit 0
fi

ID=$$
NAME=stepup$ID
SVC=stepup-389-$ID
WUSER=step389$ID
SUFFIX=dc=example,dc=com
BASE=ou=stepup,$SUFFIX
USERS=ou=users,$BASE
HOSTS=ou=hosts,$BASE
GRPS=ou=groups,$BASE
DM="cn=Directory Manager"
MADE=()   # what the test created outside its tree, removed at exit
DS_PID=

cleanup() {
	local p
	rm -f "/etc/pam.d/$SVC-web1" "/etc/pam.d/$SVC-admin"
	userdel "$WUSER" 2>/dev/null
	if [ -n "$DS_PID" ] && [ "$(cat "/proc/$DS_PID/comm" 2>/dev/null)" = ns-slapd ]; then
		kill -TERM "$DS_PID" 2>/dev/null
		for _ in $(seq 1 100); do
			[ -d "/proc/$DS_PID" ] || break
			sleep 0.1
		done
		kill -KILL "$DS_PID" 2>/dev/null
	fi
	rm -rf "/etc/dirsrv/slapd-$NAME" "/var/lib/dirsrv/slapd-$NAME" "/var/log/dirsrv/slapd-$NAME" \
		"/run/lock/dirsrv/slapd-$NAME"
	# newest first: a file before the directories it is in
	for ((p = ${#MADE[@]} - 1; p >= 0; p--)); do
		rm -rf "${MADE[p]}"
	done
	return 0
}

tap_plan 9
install_traps
add_cleanup cleanup
make_tree fleet389

# make_path PATH: mkdir -p, remembering each directory it created.
make_path() {
	local d=$1 new=()
	while [ ! -e "$d" ]; do
		new=("$d" "${new[@]}")
		d=$(dirname "$d")
	done
	for d in "${new[@]}"; do
		mkdir "$d" || tap_bail "mkdir $d"
		MADE+=("$d")
	done
}

# --- the instance ---------------------------------------------------------------------
[ ! -e "/etc/dirsrv/slapd-$NAME" ] || tap_bail "/etc/dirsrv/slapd-$NAME exists"
make_path /data/config
make_path /data/run
chown dirsrv:dirsrv /data/run 2>/dev/null
if [ ! -e /data/config/container.inf ]; then
	: >/data/config/container.inf
	MADE+=(/data/config/container.inf)
fi
mkdir -p "$T/ds" && chown dirsrv:dirsrv "$T/ds" || tap_bail "mkdir $T/ds"
SOCK=$T/ds/ldapi
[ "${#SOCK}" -le 107 ] || tap_bail "$SOCK is too long for a Unix socket"
LDAPI=ldapi://$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$SOCK")
DMPW=$(openssl rand -hex 12)
(umask 077 && printf '%s' "$DMPW" >"$T/dmpw")
PORT=$(free_port)
cat >"$T/ds.inf" <<EOF
[general]
full_machine_name = localhost
start = True
[slapd]
instance_name = $NAME
port = $PORT
ldapi = $SOCK
root_password = $DMPW
self_sign_cert = False
[backend-userroot]
suffix = $SUFFIX
create_suffix_entry = True
EOF
chmod 0600 "$T/ds.inf"
timeout 300 dscreate from-file "$T/ds.inf" >"$T/dscreate.out" 2>&1 ||
	tap_bail "dscreate failed: $(tail -5 "$T/dscreate.out")"
DS_PID=$(pgrep -f "^/usr/sbin/ns-slapd -D /etc/dirsrv/slapd-$NAME( |$)" | head -n 1)
[ -n "$DS_PID" ] || tap_bail "no ns-slapd for slapd-$NAME after dscreate"

as_dm() { # CMD ARGS...
	local cmd=$1
	shift
	timeout 30 "$cmd" -x -H "$LDAPI" -D "$DM" -y "$T/dmpw" "$@"
}
as_dn() { # DN PASSWORD-FILE CMD ARGS...
	local dn=$1 pw=$2 cmd=$3
	shift 3
	timeout 30 "$cmd" -x -H "$LDAPI" -D "$dn" -y "$pw" "$@"
}
as_anon() { # CMD ARGS...
	local cmd=$1
	shift
	timeout 30 "$cmd" -x -H "$LDAPI" "$@"
}

# --- 1-2: schema, subtree, ACIs as the README says --------------------------------------
schema_loads() {
	cp "$TOP_SRCDIR/etc/ldap/389ds/99stepup.ldif" "/etc/dirsrv/slapd-$NAME/schema/" &&
		timeout 60 dsconf -D "$DM" -w "$DMPW" "$LDAPI" schema reload --wait >"$T/reload.out" 2>&1 ||
		{ tap_log <"$T/reload.out"; return 1; }
	as_dm ldapsearch -LLL -o ldif-wrap=no -b cn=schema -s base objectClasses 2>/dev/null |
		grep -q "NAME 'stepupUser'"
}
tap_check "99stepup.ldif in the instance's schema directory, dsconf schema reload: stepupUser is published" \
	schema_loads

# Hosts bind by password here (ldapi); cn=admin is the subtree's member of
# cn=stepup-admins; cn=helpdesk1 is the helpdesk; uid=alice,ou=people a
# person of the site.
for who in web1 admin helpdesk1 alice; do
	(umask 077 && openssl rand -hex 12 | tr -d '\n' >"$T/$who.pw")
done
load_subtree() {
	sed "s|dc=example,dc=com|$SUFFIX|g" "$TOP_SRCDIR/etc/ldap/subtree.ldif" |
		as_dm ldapadd >"$T/load.out" 2>&1 &&
		sed "s|@STEPUP_BASE@|$BASE|g" "$TOP_SRCDIR/etc/ldap/acl-389ds.ldif" |
		as_dm ldapmodify >>"$T/load.out" 2>&1 &&
		as_dm ldapadd >>"$T/load.out" 2>&1 <<EOF
dn: cn=web1,$HOSTS
objectClass: device
objectClass: simpleSecurityObject
cn: web1
userPassword: $(cat "$T/web1.pw")

dn: cn=helpdesk1,$HOSTS
objectClass: device
objectClass: simpleSecurityObject
cn: helpdesk1
userPassword: $(cat "$T/helpdesk1.pw")

dn: cn=admin,$HOSTS
changetype: modify
add: objectClass
objectClass: simpleSecurityObject
-
add: userPassword
userPassword: $(cat "$T/admin.pw")

dn: cn=stepup-hosts,$GRPS
changetype: modify
add: member
member: cn=web1,$HOSTS

dn: cn=stepup-helpdesk,$GRPS
changetype: modify
delete: member
member: cn=admin,$HOSTS
-
add: member
member: cn=helpdesk1,$HOSTS

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,$SUFFIX
objectClass: inetOrgPerson
uid: alice
cn: alice
sn: alice
userPassword: $(cat "$T/alice.pw")
EOF
	local rc=$?
	tap_log <"$T/load.out"
	return $rc
}
tap_check "subtree.ldif, acl-389ds.ldif (sed | ldapmodify as etc/ldap/README says), hosts, helpdesk, a person: loaded" \
	load_subtree

# --- 3-4: what the ACIs allow -------------------------------------------------------------
CANARY=uid=stepup-canary,$USERS
host_reads_and_writes_state() {
	local serial out
	out=$(as_dn "cn=web1,$HOSTS" "$T/web1.pw" ldapsearch -LLL -b "$CANARY" -s base \
		stepupTotpSecret stepupSerial 2>&1)
	printf '%s\n' "--- web1 reads the canary" "$out" | tap_log
	grep -qx 'stepupTotpSecret: canary' <<<"$out" || return 1
	serial=$(sed -n 's/^stepupSerial: //p' <<<"$out")
	printf 'dn: %s\nchangetype: modify\ndelete: stepupSerial\nstepupSerial: %s\n-\nadd: stepupSerial\nstepupSerial: %s\n' \
		"$CANARY" "$serial" $((serial + 1)) | as_dn "cn=web1,$HOSTS" "$T/web1.pw" ldapmodify >"$T/m.out" 2>&1 ||
		{ tap_log <"$T/m.out"; return 1; }
	# the secret is not the host's to write
	printf 'dn: %s\nchangetype: modify\nreplace: stepupTotpSecret\nstepupTotpSecret: x\n' "$CANARY" |
		as_dn "cn=web1,$HOSTS" "$T/web1.pw" ldapmodify >"$T/m.out" 2>&1
	[ $? = 50 ] || { tap_log <"$T/m.out"; return 1; }
}
tap_check "a host in cn=stepup-hosts reads the canary's secret, writes its serial (conditional), may not write the secret (50)" \
	host_reads_and_writes_state

nobody_else_reads() {
	local out rc=0
	out=$(as_anon ldapsearch -LLL -b "$USERS" '(objectClass=*)' 2>&1)
	printf '%s\n' "--- anonymous" "$out" | tap_log
	! grep -q '^dn:' <<<"$out" || rc=1
	out=$(as_dn "uid=alice,ou=people,$SUFFIX" "$T/alice.pw" ldapsearch -LLL -b "$USERS" '(objectClass=*)' 2>&1)
	printf '%s\n' "--- alice" "$out" | tap_log
	! grep -q '^dn:' <<<"$out" || rc=1
	out=$(as_dn "cn=helpdesk1,$HOSTS" "$T/helpdesk1.pw" ldapsearch -LLL -b "$CANARY" -s base '*' 2>&1)
	printf '%s\n' "--- helpdesk" "$out" | tap_log
	grep -q '^stepupSerial:' <<<"$out" && ! grep -qi 'stepupTotpSecret' <<<"$out" || rc=1
	printf 'dn: %s\nchangetype: modify\nreplace: stepupLockedUntil\nstepupLockedUntil: 0\n' "$CANARY" |
		as_dn "cn=helpdesk1,$HOSTS" "$T/helpdesk1.pw" ldapmodify >"$T/m.out" 2>&1 || { tap_log <"$T/m.out"; rc=1; }
	return $rc
}
tap_check "anonymous and a person read nothing of ou=users; the helpdesk reads state but no secret and writes stepupLockedUntil" \
	nobody_else_reads

# --- 5-9: the module and stepupctl on 389-DS -------------------------------------------------
host_conf() { # NAME BIND-DN: its config, host key and PAM service (lib_fleet.sh fleet_conf)
	local h=$1 dir=$T/$1
	mkdir -p "$dir" && install -m 0600 "$T/$h.pw" "$dir/ldap.pw" || tap_bail "$h's files"
	fleet_conf "$dir" "$SVC-$h" "store = ldap" "ldap_uri = $LDAPI" "ldap_base = $USERS" \
		"ldap_bind_dn = $2" "ldap_password_file = $dir/ldap.pw" "fleet_key = $T/fleetkey" \
		"ldap_timeout = 5" "methods = totp" "tries = 1" "lockout_attempts = 0"
}
host_conf web1 "cn=web1,$HOSTS"
host_conf admin "cn=admin,$HOSTS"
"$STEPUPCTL" -c "$T/admin/stepup.conf" fleet-key init >"$T/fk.out" 2>&1 ||
	tap_bail "fleet-key init: $(cat "$T/fk.out")"
useradd -M -s /bin/sh "$WUSER" || tap_bail "useradd $WUSER"

check_config() {
	"$STEPUPCTL" -c "$T/web1/stepup.conf" check-config >"$T/cc.out" 2>&1
	local rc=$?
	tap_log <"$T/cc.out"
	[ $rc = 0 ] && grep -qiE "identity: dn: ?cn=web1,$HOSTS" "$T/cc.out" &&
		grep -q 'canary: readable' "$T/cc.out" && grep -q 'write: written' "$T/cc.out"
}
tap_check "stepupctl check-config on web1 (simple bind over ldapi): identity cn=web1,..., canary readable, state written; exit 0" \
	check_config

SECRET=$(python3 -c 'import base64, os; print(base64.b32encode(os.urandom(20)).decode())')
enrol() {
	"$STEPUPCTL" -c "$T/admin/stepup.conf" enroll "$WUSER" totp --secret "$SECRET" >"$T/en.out" 2>&1 ||
		{ tap_log <"$T/en.out"; return 1; }
	as_dm ldapsearch -LLL -o ldif-wrap=no -b "uid=$WUSER,$USERS" -s base stepupTotpSecret >"$T/entry.out" 2>&1
	grep -q '^stepupTotpSecret: v1:' "$T/entry.out" && ! grep -q "$SECRET" "$T/entry.out"
}
tap_check "the admin (cn=stepup-admins) enrols a user; the entry holds the secret sealed" enrol

T0=$(mid_step "$(date +%s)")
# on HOST CODE [EPOCH]: pamtester for the user on HOST's service at EPOCH
# (default T0); output in $T/on.out (lib_fleet.sh fleet_on).
on() { fleet_on "${3:-$T0}" "$SVC-$1" "$WUSER" "$2"; }
CODE=$(code_at "$T0" "$SECRET")
tap_check "web1 accepts the user's code through PAM" on web1 "$CODE"
refused_elsewhere() { ! on admin "$CODE" && grep -q 'already' "$T/on.out"; }
tap_check "the same code on the admin host: refused as already used" refused_elsewhere
web1_cannot_enrol() {
	local other rc
	other=$(python3 -c 'import base64, os; print(base64.b32encode(os.urandom(20)).decode())')
	"$STEPUPCTL" -c "$T/web1/stepup.conf" enroll "$WUSER" totp --force --secret "$other" \
		>"$T/en2.out" 2>&1
	rc=$?
	as_dm ldapsearch -LLL -o ldif-wrap=no -b "uid=$WUSER,$USERS" -s base stepupTotpSecret >"$T/entry2.out" 2>&1
	{
		echo "--- stepupctl enroll as web1: exit $rc"
		cat "$T/en2.out"
		echo "--- the entry before and after"
		cat "$T/entry.out" "$T/entry2.out"
	} | tap_log
	[ $rc != 0 ] && cmp -s "$T/entry.out" "$T/entry2.out"
}
tap_check "a host's identity cannot enrol another secret (the write of the record refused; the entry unchanged)" web1_cannot_enrol
