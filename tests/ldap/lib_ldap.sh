# Throwaway OpenLDAP servers for the directory-store tests (FLEET.md 5.2).
# Source it after tests/lib.sh; call the functions after make_tree (or
# anything else that sets T and registers the tree's removal): everything
# is written under $T and everything started is stopped at exit.
#
#     . "$TOP_SRCDIR/tests/lib.sh"
#     . "$TOP_SRCDIR/tests/ldap/lib_ldap.sh"
#     install_traps
#     make_tree fleet
#     ldap_make_pki hostA hostB           # CA, server and client certificates
#     ldap_start main                     # slapd with etc/ldap/stepup.schema + ACLs
#     ldap_load_base main hostA hostB     # DIT, hosts, groups, canary, people
#     ldap_as_host main hostA ldapsearch -LLL -b "$LDAP_USERS" '(uid=alice)'
#     ldap_kill main; ldap_restart main   # same port, same database
#
# Functions (details above each):
#   ldap_make_pki [HOST...]       test CA, server certs, client certs in $T/pki
#   ldap_client_cert NAME SUBJECT a client certificate with any subject
#   ldap_start NAME [--ca F] [--cert F] [--key F] [--acl-file F]
#                                 a slapd.conf slapd on 127.0.0.1:PORT + ldapi
#   ldap_start_cnconfig NAME      a slapd.d (cn=config) slapd on ldapi only
#   ldap_start_debian NAME        a slapd.d made as Debian's package makes it, port + ldapi
#   ldap_stop NAME | ldap_kill NAME | ldap_pause NAME | ldap_resume NAME
#   ldap_restart NAME             start again: same port, config and database
#   ldap_running NAME             status 0 while its slapd is alive (and not a zombie)
#   ldap_load_base NAME HOST...   the base DIT of FLEET.md 4.2 (over ldapi, as rootdn)
#   ldap_group_member NAME add|delete GROUP DN
#                                 change a cn=GROUP,ou=groups,... membership
#   ldap_as_host NAME HOST CMD [ARG...]    ldap-utils CMD: StartTLS, SASL EXTERNAL, HOST's cert
#   ldap_as_admin NAME CMD [ARG...]        the same with the admin certificate
#   ldap_as_root NAME CMD [ARG...]         over ldapi, simple bind as the rootdn
#   ldap_as_person NAME UID CMD [ARG...]   StartTLS, simple bind as uid=UID,ou=people
#   ldap_as_anon NAME CMD [ARG...]         plain ldap://, anonymous
#   ldap_as_config NAME CMD [ARG...]       ldapi, SASL EXTERNAL as root (cn=config)
#   ldap_blackhole                a TCP port whose connect() hangs
#   ldap_host_dn HOST             prints cn=HOST,ou=hosts,ou=stepup,dc=example,dc=com
#   ldap_started_pids             pids this harness started that are still alive
#
# Variables (NAME is the instance name: letters, digits, _):
#   LDAP_SUFFIX dc=example,dc=com; LDAP_STEPUP_BASE ou=stepup,$LDAP_SUFFIX;
#   LDAP_USERS, LDAP_HOSTS, LDAP_GROUPS (ou=users|hosts|groups,$LDAP_STEPUP_BASE);
#   LDAP_PEOPLE ou=people,$LDAP_SUFFIX; LDAP_ROOTDN cn=root,$LDAP_SUFFIX;
#   LDAP_CANARY uid=stepup-canary,$LDAP_USERS; LDAP_ADMIN_DN cn=admin,$LDAP_HOSTS
#   LDAP_PKI $T/pki; LDAP_CA the test CA; LDAP_SERVER_CERT/_KEY (localhost,
#   127.0.0.1); LDAP_WRONGNAME_CERT/_KEY (wrong.example); LDAP_UNTRUSTED_CA and
#   LDAP_UNTRUSTED_CERT/_KEY (localhost, 127.0.0.1, from a CA nobody trusts);
#   client certificates $LDAP_PKI/clients/HOST.pem and .key (admin.pem/.key
#   for the admin), keys root 0600. All valid from yesterday for 10 years,
#   so a clock moved by libfaketime (at_time) still accepts them.
#   Per instance: LDAP_PORT_NAME, LDAP_URI_NAME (ldap://127.0.0.1:PORT),
#   LDAPI_URI_NAME, LDAP_PID_NAME (empty when stopped), LDAP_ROOTPW_NAME
#   (random; also in $T/NAME/rootpw without a newline, for -y),
#   LDAP_DIR_NAME ($T/NAME: slapd.conf, db/, ldapi, slapd.log).
#   LDAP_PEOPLE_PW: the password of uid=alice and uid=helpdesk (ou=people).
#   LDAP_BLACKHOLE_PORT, LDAP_BLACKHOLE_URI (ldap://127.0.0.1:PORT).
#   LDAP_CMD_TIMEOUT (default 20): the ldap_as_* commands are killed after it.
#   LDAP_SLAPD_DEBUG (default stats): slapd's -d level, logged to slapd.log.
#
# Facts this relies on (checked with Debian 12's OpenLDAP 2.5.13):
# * The URIs name 127.0.0.1, not localhost: libldap checks a server
#   certificate against the machine's own hostname when the URI says
#   "localhost" (tlsg_session_chkhost in libraries/libldap/tls_g.c), so
#   ldap://localhost fails with the localhost certificate.
# * slapd sees a client certificate's subject in RFC 4514 order, lowercased:
#   -subj "/O=stepup-test/OU=hosts/CN=hostA" is
#   cn=hosta,ou=hosts,o=stepup-test, and ldapwhoami says
#   dn:cn=hosta,ou=hosts,ou=stepup,dc=example,dc=com after authz-regexp.
# * The ldap-utils read /etc/ldap/ldap.conf, ~/.ldaprc, ./ldaprc, then the
#   LDAP* environment, last one wins: the helpers set every TLS option they
#   depend on in the environment.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the LDAP_* variables are for the tests that source this

LDAP_SUFFIX=dc=example,dc=com
LDAP_STEPUP_BASE=ou=stepup,$LDAP_SUFFIX
LDAP_USERS=ou=users,$LDAP_STEPUP_BASE
LDAP_HOSTS=ou=hosts,$LDAP_STEPUP_BASE
LDAP_GROUPS=ou=groups,$LDAP_STEPUP_BASE
LDAP_PEOPLE=ou=people,$LDAP_SUFFIX
LDAP_ROOTDN=cn=root,$LDAP_SUFFIX
LDAP_CANARY=uid=stepup-canary,$LDAP_USERS
LDAP_ADMIN_DN=cn=admin,$LDAP_HOSTS
LDAP_CMD_TIMEOUT=${LDAP_CMD_TIMEOUT:-20}
LDAP_SLAPD_DEBUG=${LDAP_SLAPD_DEBUG:-stats}
LDAP_SCHEMA_DIR=${LDAP_SCHEMA_DIR:-/etc/ldap/schema}
LDAP_MODULE_DIR=${LDAP_MODULE_DIR:-/usr/lib/ldap}
LDAP_PEOPLE_PW=
_LDAP_PIDS=()     # every process started here, for ldap_started_pids
declare -A _LDAP_STARTED # pid -> its start time (field 22 of /proc/PID/stat)
_LDAP_CLEANUP=()  # instance names whose stop is registered already

ldap_host_dn() { echo "cn=$1,$LDAP_HOSTS"; }

# --- certificates ----------------------------------------------------------------
# ldap_make_pki [HOST...]: in $T/pki, made once (a later call adds the
# client certificates of new HOSTs only):
#   ca.pem/.key                  the test CA (EC P-256), O=stepup-test
#   localhost.pem/.key           server: SAN DNS:localhost, IP:127.0.0.1
#   wrongname.pem/.key           server: SAN DNS:wrong.example (for refusals)
#   untrusted-ca.pem, untrusted-localhost.pem/.key
#                                a second CA, trusted by nobody, and a server
#                                certificate from it for localhost/127.0.0.1
#   clients/HOST.pem/.key        CN=HOST,OU=hosts,O=stepup-test, clientAuth
#   clients/admin.pem/.key       CN=admin,OU=admins,O=stepup-test
# Signed with `openssl ca -startdate` (openssl 3.0's x509 has no
# -not_before): valid from yesterday for 10 years.
ldap_make_pki() {
	local h
	_ldap_need_tree ldap_make_pki
	LDAP_PKI=$T/pki
	LDAP_CA=$LDAP_PKI/ca.pem
	LDAP_SERVER_CERT=$LDAP_PKI/localhost.pem LDAP_SERVER_KEY=$LDAP_PKI/localhost.key
	LDAP_WRONGNAME_CERT=$LDAP_PKI/wrongname.pem LDAP_WRONGNAME_KEY=$LDAP_PKI/wrongname.key
	LDAP_UNTRUSTED_CA=$LDAP_PKI/untrusted-ca.pem
	LDAP_UNTRUSTED_CERT=$LDAP_PKI/untrusted-localhost.pem
	LDAP_UNTRUSTED_KEY=$LDAP_PKI/untrusted-localhost.key
	mkdir -p "$LDAP_PKI/clients" || tap_bail "cannot create $LDAP_PKI"
	chmod 0755 "$LDAP_PKI" "$LDAP_PKI/clients"
	if [ ! -f "$LDAP_CA" ]; then
		_ldap_ca ca "/O=stepup-test/CN=stepup-test CA"
		_ldap_cert ca localhost "/O=stepup-test/CN=localhost" server "DNS:localhost,IP:127.0.0.1"
		_ldap_cert ca wrongname "/O=stepup-test/CN=wrong.example" server "DNS:wrong.example"
		_ldap_ca untrusted-ca "/O=stepup-untrusted/CN=untrusted CA"
		_ldap_cert untrusted-ca untrusted-localhost "/O=stepup-untrusted/CN=localhost" \
			server "DNS:localhost,IP:127.0.0.1"
		_ldap_cert ca clients/admin "/O=stepup-test/OU=admins/CN=admin" client
	fi
	for h in "$@"; do
		_ldap_host_ok "$h"
		[ -f "$LDAP_PKI/clients/$h.pem" ] ||
			_ldap_cert ca "clients/$h" "/O=stepup-test/OU=hosts/CN=$h" client
	done
}

# ldap_client_cert NAME SUBJECT: a client certificate of the test CA with
# any subject (e.g. "/O=example/OU=hosts/CN=web1.example.com"), as
# $LDAP_PKI/clients/NAME.pem and .key. After ldap_make_pki.
ldap_client_cert() {
	[ -f "${LDAP_CA:-}" ] || tap_bail "ldap_client_cert: ldap_make_pki first"
	_ldap_cert ca "clients/$1" "$2" client
}

# _ldap_ca NAME SUBJECT: a self-signed CA $LDAP_PKI/NAME.pem/.key with its
# openssl-ca database in $LDAP_PKI/NAME.db/.
_ldap_ca() {
	local name=$1 subj=$2 db=$LDAP_PKI/$1.db
	mkdir -p "$db" && : >"$db/index.txt" && echo 1000 >"$db/serial" ||
		tap_bail "cannot create $db"
	# -preserveDN everywhere: the policy would otherwise reorder the
	# subject, and slapd's authz-regexp sees the order of the certificate.
	cat >"$db/ca.cnf" <<EOF
[ca]
default_ca = test_ca
[test_ca]
dir = $db
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[policy_any]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[req]
distinguished_name = req_dn
[req_dn]
EOF
	_ldap_key "$LDAP_PKI/$name.key"
	printf '%s\n' '[ext]' 'basicConstraints = critical,CA:true' \
		'keyUsage = critical,keyCertSign,cRLSign' 'subjectKeyIdentifier = hash' >"$db/ca.ext"
	_ldap_openssl req -new -config "$db/ca.cnf" -key "$LDAP_PKI/$name.key" -subj "$subj" \
		-out "$db/ca.csr"
	_ldap_openssl ca -batch -notext -preserveDN -config "$db/ca.cnf" -selfsign \
		-keyfile "$LDAP_PKI/$name.key" -in "$db/ca.csr" -extfile "$db/ca.ext" -extensions ext \
		-startdate "$(_ldap_date '1 day ago')" -enddate "$(_ldap_date '10 years')" \
		-out "$LDAP_PKI/$name.pem"
	chmod 0644 "$LDAP_PKI/$name.pem"
}

# _ldap_cert CA NAME SUBJECT server|client [SAN]: $LDAP_PKI/NAME.pem/.key
# signed by $LDAP_PKI/CA.pem.
_ldap_cert() {
	local ca=$1 name=$2 subj=$3 kind=$4 san=${5:-} db=$LDAP_PKI/$1.db ext
	ext=$db/${name//\//_}.ext
	{
		echo '[ext]'
		echo 'basicConstraints = critical,CA:false'
		echo 'keyUsage = critical,digitalSignature'
		echo 'authorityKeyIdentifier = keyid'
		if [ "$kind" = server ]; then
			echo 'extendedKeyUsage = serverAuth'
			echo "subjectAltName = $san"
		else
			echo 'extendedKeyUsage = clientAuth'
		fi
	} >"$ext"
	_ldap_key "$LDAP_PKI/$name.key"
	_ldap_openssl req -new -config "$db/ca.cnf" -key "$LDAP_PKI/$name.key" -subj "$subj" \
		-out "$ext.csr"
	_ldap_openssl ca -batch -notext -preserveDN -config "$db/ca.cnf" \
		-cert "$LDAP_PKI/$ca.pem" -keyfile "$LDAP_PKI/$ca.key" -in "$ext.csr" \
		-extfile "$ext" -extensions ext \
		-startdate "$(_ldap_date '1 day ago')" -enddate "$(_ldap_date '10 years')" \
		-out "$LDAP_PKI/$name.pem"
	chmod 0644 "$LDAP_PKI/$name.pem"
}

# An EC P-256 key, root's, 0600 from the start (umask: never readable by
# others, not even for a moment).
_ldap_key() {
	(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1") \
		>>"$LDAP_PKI/openssl.log" 2>&1 || tap_bail "openssl genpkey $1 failed: $(tail -5 "$LDAP_PKI/openssl.log")"
}

_ldap_openssl() {
	echo "--- openssl $*" >>"$LDAP_PKI/openssl.log"
	openssl "$@" >>"$LDAP_PKI/openssl.log" 2>&1 ||
		tap_bail "openssl $1 failed: $(tail -5 "$LDAP_PKI/openssl.log")"
}

# openssl ca's time format, UTC (e.g. 20250101120000Z).
_ldap_date() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

# --- starting and stopping ---------------------------------------------------------
# ldap_start NAME [--ca FILE] [--cert FILE] [--key FILE] [--acl-file FILE]:
# a slapd configured by $T/NAME/slapd.conf: the Debian schemas core, cosine,
# inetorgperson, nis and the project's etc/ldap/stepup.schema; back_mdb
# for dc=example,dc=com in $T/NAME/db; TLS with the given files (default:
# the test CA and the localhost certificate), client certificates asked for
# but optional (TLSVerifyClient try); certificate subjects mapped to host
# DNs by authz-regexp; then the rules of --acl-file (default
# etc/ldap/acl-openldap.conf, @STEPUP_BASE@ replaced) followed by Debian's
# default rules, which they must win over. Listens on ldap://127.0.0.1:PORT
# (a free port) and on ldapi in $T/NAME. Returns once it answers (10 s at
# most); stopped at exit. Not in a subshell: $(ldap_start ...) would lose
# the variables and the child.
ldap_start() {
	local name=$1 ca=${LDAP_CA:-} cert=${LDAP_SERVER_CERT:-} key=${LDAP_SERVER_KEY:-}
	local acl=$TOP_SRCDIR/etc/ldap/acl-openldap.conf dir f
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--ca) ca=$2 ;;
		--cert) cert=$2 ;;
		--key) key=$2 ;;
		--acl-file) acl=$2 ;;
		*) tap_bail "ldap_start: unknown option $1" ;;
		esac
		shift 2 || tap_bail "ldap_start: $1 needs a value"
	done
	_ldap_new_instance "$name"
	dir=$T/$name
	for f in "$ca" "$cert" "$key" "$acl"; do
		[ -n "$f" ] && [ -f "$f" ] || tap_bail "ldap_start $name: no file '$f' (ldap_make_pki first?)"
	done
	printf -v "LDAP_ROOTPW_$name" '%s' "$(openssl rand -hex 16)"
	(umask 077 && printf '%s' "$(_ldap_var ROOTPW "$name")" >"$dir/rootpw")
	_ldap_write_conf "$name" "$ca" "$cert" "$key" "$acl"
	# A free port can be taken by someone else before slapd binds it: try
	# another one (a configuration error fails three times, quickly).
	for _ in 1 2 3; do
		printf -v "LDAP_PORT_$name" '%s' "$(free_port)"
		printf -v "LDAP_URI_$name" '%s' "ldap://127.0.0.1:$(_ldap_var PORT "$name")"
		_ldap_spawn "$name" && return 0
	done
	tap_bail "slapd '$name' did not start: $(_ldap_log_tail "$name")"
}

# _ldap_new_instance NAME: checks NAME, makes $T/NAME, sets LDAP_DIR_NAME
# and LDAPI_URI_NAME, registers the stop at exit.
_ldap_new_instance() {
	local name=$1 dir sock
	_ldap_need_tree "ldap_start $name"
	[[ $name =~ ^[A-Za-z0-9_]+$ ]] || tap_bail "ldap: bad instance name '$name'"
	dir=$T/$name
	[ ! -e "$dir" ] || tap_bail "ldap: $dir exists (ldap_restart $name restarts it)"
	mkdir -p "$dir/db" && chmod 0700 "$dir" || tap_bail "cannot create $dir"
	sock=$dir/ldapi
	# sun_path holds 108 bytes with its NUL
	[ "${#sock}" -le 107 ] || tap_bail "ldap: $sock is too long for a Unix socket (shorter build dir?)"
	printf -v "LDAP_DIR_$name" '%s' "$dir"
	printf -v "LDAPI_URI_$name" '%s' "ldapi://$(_ldap_urlencode "$sock")"
	printf -v "LDAP_PORT_$name" '%s' ''
	printf -v "LDAP_URI_$name" '%s' ''
	printf -v "LDAP_PID_$name" '%s' ''
	if [[ " ${_LDAP_CLEANUP[*]} " != *" $name "* ]]; then
		_LDAP_CLEANUP+=("$name")
		add_cleanup ldap_stop "$name"
	fi
}

_ldap_write_conf() {
	local name=$1 ca=$2 cert=$3 key=$4 acl=$5 dir=$T/$1
	{
		echo "# written by tests/ldap/lib_ldap.sh for the instance '$name'"
		echo "include \"$LDAP_SCHEMA_DIR/core.schema\""
		echo "include \"$LDAP_SCHEMA_DIR/cosine.schema\""
		echo "include \"$LDAP_SCHEMA_DIR/inetorgperson.schema\""
		echo "include \"$LDAP_SCHEMA_DIR/nis.schema\""
		echo "include \"$TOP_SRCDIR/etc/ldap/stepup.schema\""
		echo "modulepath \"$LDAP_MODULE_DIR\""
		echo "moduleload back_mdb"
		# Both default to /run/slapd, the system instance's.
		echo "pidfile \"$dir/slapd.pid\""
		echo "argsfile \"$dir/slapd.args\""
		# Nothing to syslog: the -d output goes to $dir/slapd.log.
		echo "loglevel 0"
		echo "TLSCACertificateFile \"$ca\""
		echo "TLSCertificateFile \"$cert\""
		echo "TLSCertificateKeyFile \"$key\""
		echo "TLSVerifyClient try"
		# The subject as slapd normalises it (RFC 4514 order, lowercase).
		echo "authz-regexp \"^cn=([^,]+),ou=hosts,o=stepup-test\$\" \"cn=\$1,$LDAP_HOSTS\""
		echo "authz-regexp \"^cn=admin,ou=admins,o=stepup-test\$\" \"$LDAP_ADMIN_DN\""
		echo "database mdb"
		echo "suffix \"$LDAP_SUFFIX\""
		echo "rootdn \"$LDAP_ROOTDN\""
		echo "rootpw \"$(_ldap_var ROOTPW "$name")\""
		echo "directory \"$dir/db\""
		echo "maxsize 67108864"
		echo
		echo "# --- $acl, @STEPUP_BASE@ = $LDAP_STEPUP_BASE"
		sed "s|@STEPUP_BASE@|$LDAP_STEPUP_BASE|g" "$acl"
		echo
		echo "# --- the site's rules after ours: Debian's default slapd.d rules"
		echo "access to attrs=userPassword by self write by anonymous auth by * none"
		echo "access to attrs=shadowLastChange by self write by * read"
		echo "access to * by * read"
	} >"$dir/slapd.conf"
	chmod 0600 "$dir/slapd.conf"
}

# ldap_start_cnconfig NAME: a slapd run from a slapd.d directory (cn=config,
# as Debian installs it) with the core, cosine, nis and inetorgperson
# schemas, back_mdb loadable and no database yet; root manages cn=config
# over ldapi with SASL EXTERNAL (ldap_as_config). ldapi only: no port, no
# TLS. For loading the cn=config forms of etc/ldap.
ldap_start_cnconfig() {
	local name=$1 dir
	_ldap_new_instance "$name"
	dir=$T/$name
	{
		echo "# seed of $dir/slapd.d, written by tests/ldap/lib_ldap.sh"
		echo "include \"$LDAP_SCHEMA_DIR/core.schema\""
		echo "include \"$LDAP_SCHEMA_DIR/cosine.schema\""
		echo "include \"$LDAP_SCHEMA_DIR/nis.schema\""
		echo "include \"$LDAP_SCHEMA_DIR/inetorgperson.schema\""
		echo "modulepath \"$LDAP_MODULE_DIR\""
		echo "moduleload back_mdb"
		echo "pidfile \"$dir/slapd.pid\""
		echo "argsfile \"$dir/slapd.args\""
		echo "loglevel 0"
		echo "database config"
		echo "access to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * break"
	} >"$dir/seed.conf"
	mkdir -p "$dir/slapd.d" && chmod 0700 "$dir/slapd.d"
	slaptest -f "$dir/seed.conf" -F "$dir/slapd.d" >"$dir/slaptest.out" 2>&1 ||
		tap_bail "slaptest could not make $dir/slapd.d: $(cat "$dir/slaptest.out")"
	_ldap_spawn "$name" || tap_bail "slapd '$name' did not start: $(_ldap_log_tail "$name")"
}

# ldap_start_debian NAME: slapd configured the way Debian's slapd package
# configures a new server (its postinst): the slapd.d made by slapadd from
# /usr/share/slapd/slapd.init.ldif (@SUFFIX@ dc=example,dc=com, @PASSWORD@
# a hashed random password; only the pid, args and database paths moved
# into $T/NAME), then the suffix entry. No TLS, no stepup schema, no
# rules: what the README's fleet path adds to it is for the test to do.
# Listens on ldap://127.0.0.1:PORT and ldapi; the admin, cn=admin,SUFFIX,
# has its password in $T/NAME/adminpw (for -y).
ldap_start_debian() {
	local name=$1 dir init=${LDAP_DEBIAN_INIT:-/usr/share/slapd/slapd.init.ldif} hash
	_ldap_new_instance "$name"
	dir=$T/$name
	[ -r "$init" ] || tap_bail "ldap_start_debian: no $init (the slapd package)"
	(umask 077 && openssl rand -hex 16 | tr -d '\n' >"$dir/adminpw")
	hash=$(slappasswd -T "$dir/adminpw") || tap_bail "slappasswd failed"
	sed -e "s|@SUFFIX@|$LDAP_SUFFIX|g" -e "s|@PASSWORD@|$hash|g" \
		-e "s|/var/run/slapd/|$dir/|g" -e "s|^olcDbDirectory: .*|olcDbDirectory: $dir/db|" \
		"$init" >"$dir/init.ldif"
	mkdir -p "$dir/slapd.d" && chmod 0700 "$dir/slapd.d"
	slapadd -F "$dir/slapd.d" -b cn=config -l "$dir/init.ldif" >"$dir/slapadd.out" 2>&1 ||
		tap_bail "slapadd of Debian's cn=config failed: $(cat "$dir/slapadd.out")"
	printf 'dn: %s\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: example\ndc: example\n' \
		"$LDAP_SUFFIX" >"$dir/suffix.ldif"
	slapadd -F "$dir/slapd.d" -b "$LDAP_SUFFIX" -l "$dir/suffix.ldif" >>"$dir/slapadd.out" 2>&1 ||
		tap_bail "slapadd of $LDAP_SUFFIX failed: $(cat "$dir/slapadd.out")"
	for _ in 1 2 3; do
		printf -v "LDAP_PORT_$name" '%s' "$(free_port)"
		printf -v "LDAP_URI_$name" '%s' "ldap://127.0.0.1:$(_ldap_var PORT "$name")"
		_ldap_spawn "$name" && return 0
	done
	tap_bail "slapd '$name' did not start: $(_ldap_log_tail "$name")"
}

# _ldap_spawn NAME: runs slapd for NAME in the foreground of a background
# job (-d: no daemon, so $! is slapd itself) and waits until it answers.
# Status 1 if it died or did not answer within 10 s (then it is killed).
_ldap_spawn() {
	local name=$1 dir=$T/$1 urls pid i cfg
	urls=$(_ldap_var URI "$name")
	urls="${urls:+$urls/ }$(_ldap_var I_URI "$name")"
	if [ -d "$dir/slapd.d" ]; then cfg=(-F "$dir/slapd.d"); else cfg=(-f "$dir/slapd.conf"); fi
	echo "--- $(date -u +%FT%TZ) slapd ${cfg[*]} -h '$urls'" >>"$dir/slapd.log"
	# -s 0: nothing to syslog before the configuration (loglevel 0) is read
	slapd "${cfg[@]}" -h "$urls" -d "$LDAP_SLAPD_DEBUG" -s 0 </dev/null >>"$dir/slapd.log" 2>&1 &
	pid=$!
	# Not a job of this shell: no "Killed" notice from bash on ldap_kill.
	disown "$pid"
	_ldap_track "$pid"
	printf -v "LDAP_PID_$name" '%s' "$pid"
	for ((i = 0; i < 200; i++)); do
		ldap_running "$name" || break
		if ldapsearch -x -H "$(_ldap_probe_uri "$name")" -o nettimeout=1 -s base -b "" \
			-LLL 1.1 >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	ldap_kill "$name"
	return 1
}

# The URI that proves an instance answers: its port, else its ldapi.
_ldap_probe_uri() {
	local uri
	uri=$(_ldap_var URI "$1")
	echo "${uri:-$(_ldap_var I_URI "$1")}"
}

# ldap_running NAME: its slapd is alive. A dead child is a zombie until
# bash reaps it, and kill -0 succeeds on a zombie: look at its state.
ldap_running() {
	local pid
	pid=$(_ldap_var PID "$1")
	[ -n "$pid" ] && _ldap_alive "$pid"
}

# _ldap_alive PID: PID is a process started here, still running. bash
# reaps the (disowned) children itself, after which the number can be
# another process's: the start time recorded by _ldap_track must match.
_ldap_alive() {
	local pid=$1 stat fields
	stat=$(_ldap_stat "$pid") || return 1
	read -ra fields <<<"$stat"
	[ "${fields[0]}" != Z ] && [ -n "${_LDAP_STARTED[$pid]:-}" ] &&
		[ "${fields[19]}" = "${_LDAP_STARTED[$pid]}" ]
}

# _ldap_stat PID: the fields of /proc/PID/stat after "(comm) ", from the
# state (field 3) on; status 1 if there is no such process.
_ldap_stat() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	echo "${stat##*) }"
}

# _ldap_track PID: remember a process started here, with its start time.
_ldap_track() {
	local stat fields
	_LDAP_PIDS+=("$1")
	stat=$(_ldap_stat "$1") || return 0
	read -ra fields <<<"$stat"
	_LDAP_STARTED[$1]=${fields[19]}
}

# ldap_stop NAME: SIGTERM (slapd syncs and exits; a paused one is
# continued first), SIGKILL after 10 s; reaped. Nothing if not running.
ldap_stop() {
	local name=$1 pid
	pid=$(_ldap_var PID "$name")
	[ -n "$pid" ] || return 0
	_ldap_end "$pid" TERM
	printf -v "LDAP_PID_$name" '%s' ''
}

# ldap_kill NAME: SIGKILL, as a crash or a power cut would (mdb keeps every
# committed write).
ldap_kill() {
	local name=$1 pid
	pid=$(_ldap_var PID "$name")
	[ -n "$pid" ] || return 0
	_ldap_end "$pid" KILL
	printf -v "LDAP_PID_$name" '%s' ''
}

# _ldap_end PID SIGNAL: send it, wait up to 10 s for the end, then SIGKILL.
_ldap_end() {
	local pid=$1 sig=$2 i
	_ldap_alive "$pid" || return 0
	kill -"$sig" "$pid" 2>/dev/null
	kill -CONT "$pid" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		_ldap_alive "$pid" || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		_ldap_alive "$pid" || return 0
		sleep 0.05
	done
	tap_diag "process $pid survived SIGKILL"
	return 1
}

# ldap_pause NAME / ldap_resume NAME: SIGSTOP / SIGCONT. While paused the
# kernel still completes TCP handshakes (the listen backlog), but nothing
# answers: the "hung server" of the timeout tests.
ldap_pause() { ldap_running "$1" && kill -STOP "$(_ldap_var PID "$1")"; }
ldap_resume() { ldap_running "$1" && kill -CONT "$(_ldap_var PID "$1")"; }

# ldap_restart NAME: stops it if running, then starts it again with the
# same configuration, port and database.
ldap_restart() {
	local name=$1
	[ -d "$T/$name" ] || tap_bail "ldap_restart: no instance '$name'"
	ldap_stop "$name"
	_ldap_spawn "$name" ||
		tap_bail "slapd '$name' did not restart: $(_ldap_log_tail "$name")"
}

# ldap_started_pids: the pids started here that are still alive (empty
# once everything is stopped).
ldap_started_pids() {
	local pid
	for pid in "${_LDAP_PIDS[@]}"; do
		_ldap_alive "$pid" && echo "$pid"
	done
	return 0
}

# --- data -------------------------------------------------------------------------
# ldap_load_base NAME HOST...: over ldapi as the rootdn:
#   dc=example,dc=com; ou=stepup with ou=users, ou=hosts, ou=groups;
#   ou=people (the site's own accounts)
#   cn=HOST,ou=hosts (objectClass device) for each HOST, and cn=admin
#   cn=stepup-hosts (member: the HOSTs), cn=stepup-admins (member: cn=admin),
#   cn=stepup-helpdesk (member: uid=helpdesk,ou=people)
#   uid=stepup-canary,ou=users (stepupUser, stepupSerial 0, a stepupTotpSecret:
#   the module counts the canary only when it can read its secret)
#   uid=alice and uid=helpdesk in ou=people (inetOrgPerson, password
#   $LDAP_PEOPLE_PW): a user of the site and a helpdesk member.
# At least one HOST (groupOfNames needs a member).
ldap_load_base() {
	local name=$1 h members=()
	shift
	[ $# -gt 0 ] || tap_bail "ldap_load_base: name at least one host"
	for h in "$@"; do
		_ldap_host_ok "$h"
		members+=("member=$(ldap_host_dn "$h")")
	done
	[ -n "$LDAP_PEOPLE_PW" ] || LDAP_PEOPLE_PW=$(openssl rand -hex 12)
	(umask 077 && printf '%s' "$LDAP_PEOPLE_PW" >"$T/$name/people-pw")
	{
		_ldap_entry "$LDAP_SUFFIX" objectClass=dcObject objectClass=organization dc=example o=example
		_ldap_entry "$LDAP_STEPUP_BASE" objectClass=organizationalUnit ou=stepup
		_ldap_entry "$LDAP_USERS" objectClass=organizationalUnit ou=users
		_ldap_entry "$LDAP_HOSTS" objectClass=organizationalUnit ou=hosts
		_ldap_entry "$LDAP_GROUPS" objectClass=organizationalUnit ou=groups
		_ldap_entry "$LDAP_PEOPLE" objectClass=organizationalUnit ou=people
		for h in "$@" admin; do
			_ldap_entry "$(ldap_host_dn "$h")" objectClass=device "cn=$h"
		done
		_ldap_entry "cn=stepup-hosts,$LDAP_GROUPS" objectClass=groupOfNames cn=stepup-hosts \
			"${members[@]}"
		_ldap_entry "cn=stepup-admins,$LDAP_GROUPS" objectClass=groupOfNames cn=stepup-admins \
			"member=$LDAP_ADMIN_DN"
		_ldap_entry "cn=stepup-helpdesk,$LDAP_GROUPS" objectClass=groupOfNames cn=stepup-helpdesk \
			"member=uid=helpdesk,$LDAP_PEOPLE"
		_ldap_entry "$LDAP_CANARY" objectClass=stepupUser uid=stepup-canary stepupSerial=0 \
			stepupTotpSecret=canary
		for h in alice helpdesk; do
			_ldap_entry "uid=$h,$LDAP_PEOPLE" objectClass=inetOrgPerson "uid=$h" "cn=$h" "sn=$h" \
				"userPassword=$LDAP_PEOPLE_PW"
		done
	} >"$T/$name/base.ldif"
	ldap_as_root "$name" ldapadd -f "$T/$name/base.ldif" >"$T/$name/base.out" 2>&1 ||
		tap_bail "ldap_load_base $name failed: $(tail -5 "$T/$name/base.out")"
}

# _ldap_entry DN ATTR=VALUE...: one LDIF entry (values without newlines;
# ATTR=VALUE splits at the first "=").
_ldap_entry() {
	local kv
	echo "dn: $1"
	shift
	for kv in "$@"; do
		echo "${kv%%=*}: ${kv#*=}"
	done
	echo
}

# ldap_group_member NAME add|delete GROUP DN: e.g.
#     ldap_group_member main delete stepup-hosts "$(ldap_host_dn hostB)"
ldap_group_member() {
	printf 'dn: cn=%s,%s\nchangetype: modify\n%s: member\nmember: %s\n' "$3" "$LDAP_GROUPS" "$2" "$4" |
		ldap_as_root "$1" ldapmodify
}

# --- clients ----------------------------------------------------------------------
# ldap_as_host NAME HOST CMD [ARG...]: an ldap-utils command (ldapsearch,
# ldapmodify, ldapadd, ldapdelete, ldapwhoami, ldapcompare) against NAME
# over StartTLS (-ZZ, the server certificate checked against the test CA),
# bound by SASL EXTERNAL with HOST's client certificate, e.g.
#     ldap_as_host main hostA ldapsearch -LLL -b "$LDAP_USERS" '(uid=alice)' stepupSerial
# Its exit status is the command's (124 if killed after LDAP_CMD_TIMEOUT).
ldap_as_host() {
	local name=$1 host=$2 cmd=$3
	shift 3
	_ldap_cert_cmd "$name" "$LDAP_PKI/clients/$host" "$cmd" "$@"
}

# ldap_as_admin NAME CMD [ARG...]: the same with the admin certificate
# (cn=admin,ou=hosts,...: a member of cn=stepup-admins).
ldap_as_admin() {
	local name=$1 cmd=$2
	shift 2
	_ldap_cert_cmd "$name" "$LDAP_PKI/clients/admin" "$cmd" "$@"
}

_ldap_cert_cmd() {
	local name=$1 base=$2 cmd=$3
	shift 3
	[ -f "$base.pem" ] || tap_bail "no client certificate $base.pem (ldap_make_pki HOST)"
	_ldap_run LDAPTLS_CERT="$base.pem" LDAPTLS_KEY="$base.key" -- \
		"$cmd" -H "$(_ldap_var URI "$name")" -ZZ -Y EXTERNAL -Q "$@"
}

# ldap_as_root NAME CMD [ARG...]: over ldapi, simple bind as the rootdn
# (no ACL applies to it).
ldap_as_root() {
	local name=$1 cmd=$2
	shift 2
	_ldap_run -- "$cmd" -H "$(_ldap_var I_URI "$name")" -x -D "$LDAP_ROOTDN" -y "$T/$name/rootpw" "$@"
}

# ldap_as_person NAME UID CMD [ARG...]: StartTLS, simple bind as
# uid=UID,ou=people,dc=example,dc=com with $LDAP_PEOPLE_PW (alice, helpdesk).
ldap_as_person() {
	local name=$1 uid=$2 cmd=$3
	shift 3
	_ldap_run -- "$cmd" -H "$(_ldap_var URI "$name")" -ZZ -x -D "uid=$uid,$LDAP_PEOPLE" \
		-y "$T/$name/people-pw" "$@"
}

# ldap_as_anon NAME CMD [ARG...]: plain ldap://, no bind.
ldap_as_anon() {
	local name=$1 cmd=$2
	shift 2
	_ldap_run -- "$cmd" -H "$(_ldap_var URI "$name")" -x "$@"
}

# ldap_as_config NAME CMD [ARG...]: over ldapi with SASL EXTERNAL, which
# slapd knows as gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth
# (root): manages cn=config of ldap_start_cnconfig instances.
ldap_as_config() {
	local name=$1 cmd=$2
	shift 2
	_ldap_run -- "$cmd" -H "$(_ldap_var I_URI "$name")" -Y EXTERNAL -Q "$@"
}

# _ldap_run [VAR=VALUE...] -- CMD [ARG...]: CMD with the tests' TLS
# settings in the environment (the environment wins over any ldap.conf or
# ldaprc), plus the VAR=VALUE given (a client certificate), killed after
# LDAP_CMD_TIMEOUT seconds.
_ldap_run() {
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	env -u LDAPTLS_CERT -u LDAPTLS_KEY -u LDAPURI -u LDAPBASE -u LDAPBINDDN \
		LDAPTLS_CACERT="${LDAP_CA:-/dev/null}" LDAPTLS_REQCERT=demand "${envs[@]}" \
		timeout -k 2 "$LDAP_CMD_TIMEOUT" "$@"
}

# --- a port that never answers ----------------------------------------------------
# ldap_blackhole: a listener on 127.0.0.1 with listen(0) whose accept queue
# is already full (its own connections, never accepted): the kernel drops
# further SYNs, so a connect() to LDAP_BLACKHOLE_PORT hangs until the
# client gives up, like a host behind a firewall that drops packets.
# Sets LDAP_BLACKHOLE_PORT, LDAP_BLACKHOLE_URI, LDAP_BLACKHOLE_PID; stopped
# at exit.
ldap_blackhole() {
	local pf=$T/blackhole.port pid i
	_ldap_need_tree ldap_blackhole
	rm -f "$pf"
	cat >"$T/blackhole.py" <<'PY'
import os, signal, socket, sys
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(0)
port = listener.getsockname()[1]
held = []
for _ in range(64):
    c = socket.socket()
    c.settimeout(0.3)
    try:
        c.connect(("127.0.0.1", port))
    except OSError:
        c.close()  # this one hung: the queue is full
        break
    held.append(c)
else:
    sys.exit("the accept queue never filled")
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % port)
os.rename(tmp, sys.argv[1])
signal.pause()
PY
	"$TEST_PYTHON" "$T/blackhole.py" "$pf" </dev/null >"$T/blackhole.out" 2>&1 &
	pid=$!
	disown "$pid"
	_ldap_track "$pid"
	add_cleanup _ldap_end "$pid" TERM
	for ((i = 0; i < 100; i++)); do
		[ -s "$pf" ] && break
		_ldap_alive "$pid" || break
		sleep 0.05
	done
	[ -s "$pf" ] || tap_bail "the black hole did not start: $(cat "$T/blackhole.out")"
	LDAP_BLACKHOLE_PORT=$(cat "$pf")
	LDAP_BLACKHOLE_URI=ldap://127.0.0.1:$LDAP_BLACKHOLE_PORT
	LDAP_BLACKHOLE_PID=$pid
}

# --- small helpers ------------------------------------------------------------------
# _ldap_log_tail NAME: what slapd said since its last start, without the
# syntax summary it prints after a bad access rule.
_ldap_log_tail() {
	awk '/^--- / { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$T/$1/slapd.log" |
		grep -v -e '^[[:space:]<]' -e '^dynacl:' -e '^$' | tail -n 12
}

# _ldap_var KIND NAME: the value of LDAP_KIND_NAME (I_URI: LDAPI_URI_NAME).
_ldap_var() {
	local v
	if [ "$1" = I_URI ]; then v=LDAPI_URI_$2; else v=LDAP_$1_$2; fi
	echo "${!v:-}"
}

_ldap_need_tree() {
	[ -n "${T:-}" ] && [ -d "$T" ] || tap_bail "$1: no test tree (make_tree first)"
}

# Host names become DNs, file names and regexp matches: keep them plain.
_ldap_host_ok() {
	[[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]] && [ "$1" != admin ] ||
		tap_bail "ldap: bad host name '$1' (letters, digits, . and -; not 'admin')"
}

# _ldap_urlencode STRING: every byte but [A-Za-z0-9._~-] as %XX (an ldapi
# URL carries the socket path as its host).
_ldap_urlencode() {
	local LC_ALL=C s=$1 out="" c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) printf -v c '%%%02X' "'$c"; out+=$c ;;
		esac
	done
	echo "$out"
}
