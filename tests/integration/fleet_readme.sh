#!/bin/bash
# The README's fleet path ("A fleet: one enrolment for many hosts"), walked
# as an administrator would walk it: the commands are read out of README.md
# (the indented block after each "<!-- fleet-walk: NAME -->" marker) and
# run against a slapd set up the way Debian's slapd package sets up a new
# server (tests/ldap/lib_ldap.sh ldap_start_debian: its slapd.init.ldif,
# cn=config, ldap:/// and ldapi:///). The only changes made to the
# commands are the ones an administrator makes for their site: where the
# files are (the examples, the TLS files, /etc/stepup), the server's
# address, the admin's password from a file instead of a prompt, and the
# user's name. A README edit that breaks the path fails this test.
#
# Hosts: web1 (a host in cn=stepup-hosts) and the admin host (cn=admin,
# the subtree's member of cn=stepup-admins); each its own config, host
# key, client certificate and PAM service.
# shellcheck shell=bash
# shellcheck disable=SC2154 # LDAP*_debian are set by ldap_start_debian
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/ldap/lib_ldap.sh"
. "$TOP_SRCDIR/tests/ldap/lib_fleet.sh"
require_root
require_env
require_program pamtester oathtool slapd slapadd slappasswd ldapsearch ldapmodify ldapadd \
	ldapwhoami useradd userdel openssl

ID=$$
SVC=stepup-walk-$ID
WUSER=stepwalk$ID
README=$TOP_SRCDIR/README.md

cleanup() {
	rm -f "/etc/pam.d/$SVC-web1" "/etc/pam.d/$SVC-admin"
	userdel "$WUSER" 2>/dev/null
	return 0
}

tap_plan 11
install_traps
add_cleanup cleanup
make_tree fleetwalk
ldap_make_pki
ldap_client_cert web1 "/O=example/OU=hosts/CN=web1.example.com"
ldap_client_cert walkadmin "/O=example/OU=hosts/CN=admin"
ldap_start_debian debian
useradd -M -s /bin/sh "$WUSER" || tap_bail "useradd $WUSER"

# readme_block NAME: the indented code block after "<!-- fleet-walk: NAME -->"
# in README.md, its list indentation (7 spaces) removed.
readme_block() {
	awk -v marker="<!-- fleet-walk: $1 -->" '
		index($0, marker) { on = 1; next }
		!on { next }
		/^[[:space:]]*$/ { if (started) buf = buf "\n"; next }
		/^       / { started = 1; sub(/^       /, ""); buf = buf $0 "\n"; next }
		{ exit }
		END { sub(/\n+$/, "\n", buf); printf "%s", buf }
	' "$README"
}

# walk_script NAME: README's block NAME as a script, with the site's
# substitutions; bails if the README has no such block.
walk_script() {
	local block
	block=$(readme_block "$1")
	[ -n "$block" ] || tap_bail "README.md has no fleet-walk block '$1'"
	# shellcheck disable=SC2016 # $STEPUPCTL and $CTLCONF: the script's
	{
		echo "set -eu -o pipefail"
		printf '%s\n' "$block" | sed \
			-e "s|/usr/share/doc/libpam-stepup/examples/ldap|$T/examples|g" \
			-e "s|ldapi:///|$LDAPI_URI_debian|g" \
			-e "s| -W | -y $T/debian/adminpw |g" \
			-e 's|^stepupctl |"$STEPUPCTL" -c "$CTLCONF" |' \
			-e "s|\\balice\\b|$WUSER|g"
	} >"$T/walk-$1.sh"
}

# walk NAME CONFIG: runs README's block NAME (CONFIG for stepupctl) in the
# examples directory; $rc its status, $T/walk.out its output.
walk() {
	walk_script "$1"
	(cd "$T/examples" && CTLCONF=$2 bash "$T/walk-$1.sh") </dev/null >"$T/walk.out" 2>&1
	rc=$?
	{
		echo "--- README block $1: exit $rc"
		cat "$T/walk-$1.sh"
		echo "--- output"
		cat "$T/walk.out"
	} | tap_log
	return $rc
}
said() { grep -qF -- "$1" "$T/walk.out"; }

# The examples directory as the package installs it, and the site's edit
# of tls-openldap.ldif (README step 2: "edit the paths first").
cp -r "$TOP_SRCDIR/etc/ldap" "$T/examples" || tap_bail "copy etc/ldap"
mkdir -p "$T/tls" && cp "$LDAP_CA" "$T/tls/ca.pem" && cp "$LDAP_SERVER_CERT" "$T/tls/server.pem" &&
	install -m 0600 "$LDAP_SERVER_KEY" "$T/tls/server.key" || tap_bail "TLS files"
sed -i "s|/etc/ldap/tls/|$T/tls/|g" "$T/examples/tls-openldap.ldif"

# host_conf NAME CERT: README step 3 for a host: its certificate, key and
# the CA where the README puts them (/etc/stepup/ is $T/NAME/ here), its
# stepup.conf from the README's block (the servers' names replaced: ldap2
# is a port nobody listens on, failover only), its host key, and a PAM
# service on it (lib_fleet.sh fleet_conf). The fleet key's path follows
# /etc/stepup/ too.
host_conf() {
	local h=$1 cert=$2 dir=$T/$1 lines=()
	mkdir -p "$dir" || tap_bail "mkdir $dir"
	cp "$LDAP_CA" "$dir/ldap-ca.pem" && cp "$LDAP_PKI/clients/$cert.pem" "$dir/ldap-host.crt" &&
		install -m 0600 "$LDAP_PKI/clients/$cert.key" "$dir/ldap-host.key" || tap_bail "$h's files"
	mapfile -t lines < <(readme_block config | grep -v '^\[global\]$' | sed \
		-e "s|ldap://ldap1.example.com|$LDAP_URI_debian|" \
		-e "s|ldap://ldap2.example.com|ldap://127.0.0.1:$(free_port)|" \
		-e "s|/etc/stepup/|$dir/|g")
	[ "${#lines[@]}" -ge 5 ] || tap_bail "README.md's fleet-walk config block is too short"
	fleet_conf "$dir" "$SVC-$h" "${lines[@]}" "fleet_key = $dir/fleetkey" \
		"methods = totp" "tries = 1" "lockout_attempts = 0" "ldap_timeout = 5"
}

T0=$(mid_step "$(date +%s)")

# on HOST CODE [EPOCH]: pamtester for the user on HOST's service at EPOCH
# (default T0); output in $T/on.out (lib_fleet.sh fleet_on).
on() { fleet_on "${3:-$T0}" "$SVC-$1" "$WUSER" "$2"; }

# --- 1: the server as Debian's package leaves it ---------------------------------------
debian_server() {
	ldapwhoami -H "$LDAPI_URI_debian" -x -D "cn=admin,$LDAP_SUFFIX" -y "$T/debian/adminpw" \
		>"$T/whoami.out" 2>&1 && grep -qx "dn:cn=admin,$LDAP_SUFFIX" "$T/whoami.out" &&
		ldapsearch -H "$LDAPI_URI_debian" -Y EXTERNAL -Q -LLL -b cn=config \
			'(olcSuffix=*)' dn 2>/dev/null | grep -qx 'dn: olcDatabase={1}mdb,cn=config'
}
tap_check "Debian's slapd (slapd.d from its slapd.init.ldif): the admin binds, the suffix is olcDatabase={1}mdb" \
	debian_server

# --- 2: step 1, the directory ------------------------------------------------------------
as_admin_dn() {
	ldapsearch -H "$LDAPI_URI_debian" -x -D "cn=admin,$LDAP_SUFFIX" -y "$T/debian/adminpw" \
		-LLL -o ldif-wrap=no "$@" 2>/dev/null
}
step_directory() {
	walk directory "$CONF" &&
		as_admin_dn -b "$LDAP_CANARY" -s base '(objectClass=stepupUser)' stepupSerial |
		grep -qx 'stepupSerial: 0' &&
		ldapsearch -H "$LDAPI_URI_debian" -Y EXTERNAL -Q -LLL -o ldif-wrap=no \
			-b 'olcDatabase={1}mdb,cn=config' -s base olcAccess | grep -q '^olcAccess: {0}to dn.subtree="ou=users,ou=stepup'
}
tap_check "README step 1 runs as written: schema, rules at {0}-{2} of Debian's database, subtree and canary" \
	step_directory

# --- 3: step 2, TLS and the hosts --------------------------------------------------------
step_hosts() {
	walk hosts "$CONF" &&
		ldap_as_host debian web1 ldapwhoami >"$T/whoami.out" 2>&1 &&
		grep -qx "dn:cn=web1.example.com,$LDAP_HOSTS" "$T/whoami.out" &&
		as_admin_dn -b "cn=stepup-hosts,$LDAP_GROUPS" -s base member |
		grep -qx "member: cn=web1.example.com,$LDAP_HOSTS"
}
tap_check "README step 2 runs as written: StartTLS on, web1's certificate binds as cn=web1.example.com,ou=hosts,..., a member of cn=stepup-hosts" \
	step_hosts

# --- 4-5: steps 3 and 4 on the admin host and web1 -------------------------------------------
host_conf admin walkadmin
host_conf web1 web1
step_fleetkey() {
	walk fleetkey "$T/admin/stepup.conf" &&
		[ "$(stat -c '%u %a' "$T/admin/fleetkey")" = "0 600" ] &&
		install -m 0600 "$T/admin/fleetkey" "$T/web1/fleetkey"
}
tap_check "README step 4: stepupctl fleet-key init on the admin host (root 0600), copied to web1" step_fleetkey

step_check() {
	walk check "$T/web1/stepup.conf" && said "server: $LDAP_URI_debian" &&
		said "identity: dn:cn=web1.example.com,$LDAP_HOSTS" && said "canary: readable" &&
		said "write: written"
}
tap_check "README step 4: stepupctl check-config on web1: the server, identity cn=web1.example.com,..., canary readable, state written; exit 0" \
	step_check

# --- 6: step 5, the first enrolment ---------------------------------------------------------
SECRET=
step_enrol() {
	walk enrol "$T/admin/stepup.conf" || return 1
	SECRET=$(grep -o 'secret=[A-Z2-7]*' "$T/walk.out" | head -n 1 | cut -d= -f2)
	[ -n "$SECRET" ] || return 1
	# Sealed in the directory: neither the secret nor its bytes in clear.
	as_admin_dn -b "uid=$WUSER,$LDAP_USERS" -s base stepupTotpSecret >"$T/entry.out"
	grep -q '^stepupTotpSecret' "$T/entry.out" && ! grep -q "$SECRET" "$T/entry.out"
}
tap_check "README step 5: stepupctl enroll alice totp on the admin host; the directory holds the secret sealed" \
	step_enrol

# --- 7-8: a code, once, for the whole fleet -------------------------------------------------
CODE=$(code_at "$T0" "${SECRET:-AAAAAAAA}")
tap_check "web1 accepts the user's code through PAM" on web1 "$CODE"
refused_elsewhere() { ! on admin "$CODE" && grep -q 'already' "$T/on.out"; }
tap_check "the same code on the admin host: refused as already used" refused_elsewhere
tap_check "a code of the next step is accepted on the admin host" \
	on admin "$(code_at $((T0 + 30)) "${SECRET:-AAAAAAAA}")" $((T0 + 30))

# --- 9: Debian's default rules ("to * by * read") do not open the subtree ----------------------
anon_sees_nothing() {
	local out
	out=$(LDAPTLS_CACERT=$LDAP_CA LDAPTLS_REQCERT=demand ldapsearch -H "$LDAP_URI_debian" -ZZ -x \
		-LLL -b "$LDAP_USERS" '(objectClass=*)' 2>&1)
	printf '%s\n' "--- anonymous search of $LDAP_USERS" "$out" | tap_log
	! grep -q '^dn:' <<<"$out"
}
tap_check "anonymous, under Debian's own 'to * by * read': nothing of ou=users is visible" anon_sees_nothing

# --- 10: what the README names is shipped -------------------------------------------------------
examples_named() {
	local f
	for f in stepup.ldif acl-openldap.ldif subtree.ldif tls-openldap.ldif; do
		grep -qF "$f" "$README" && [ -f "$TOP_SRCDIR/etc/ldap/$f" ] || return 1
	done
}
tap_check "every example file the README's path names is in etc/ldap (the package's examples/ldap)" \
	examples_named
