# Simulated hosts of one directory, for the directory-store tests
# (fleet.sh, fleet_ctl.sh). Source after tests/lib.sh and lib_ldap.sh, once
# the instance "main" runs; the caller keeps USERS (an array, removed by its
# cleanup) and may set FLEET_BUDGET (ldap_timeout, default 3).
#
#   fleet_host NAME SERVICE [LINE...]   $T/NAME/stepup.conf on the directory
#                                       (LINE: more "key = value" lines), its
#                                       host key and grace directory, and the
#                                       PAM service SERVICE ("" for none)
#   fleet_new_user NAME                 a local account, removed at exit
#   fleet_attr USER ATTRIBUTE           the attribute's value(s) in USER's entry
#   fleet_prompt_open EPOCH HOST SERVICE USER OUT
#                                       pamtester in HOST's UTS namespace at
#                                       EPOCH, its answer to come; returns once
#                                       it prompts (OUT: its output)
#   fleet_prompt_answer ANSWER          answers it and waits: its exit status
# shellcheck shell=bash

fleet_host() {
	local h=$1 svc=$2
	shift 2
	mkdir -p "$T/$h"
	write_conf "$T/$h/stepup.conf" "store = ldap" "ldap_uri = $LDAP_URI_main" \
		"ldap_base = $LDAP_USERS" "ldap_ca_file = $LDAP_CA" \
		"ldap_cert = $LDAP_PKI/clients/$h.pem" "ldap_key = $LDAP_PKI/clients/$h.key" \
		"ldap_timeout = ${FLEET_BUDGET:-3}" "fleet_key = $T/fleetkey" \
		"methods = totp, recovery" "tries = 1" "lockout_attempts = 0" "$@"
	sed -i "s|^hostkey = .*|hostkey = $T/$h/hostkey|; s|^grace_dir = .*|grace_dir = $T/$h/grace|" \
		"$T/$h/stepup.conf"
	"$STEPUPCTL" -c "$T/$h/stepup.conf" init >"$T/$h/init.out" 2>&1 ||
		tap_bail "stepupctl init for $h: $(cat "$T/$h/init.out")"
	[ -z "$svc" ] || printf 'auth required %s config=%s\naccount required pam_permit.so\n' \
		"$STEPUP_MODULE" "$T/$h/stepup.conf" >"/etc/pam.d/$svc"
}

fleet_new_user() {
	useradd -M -s /bin/sh "$1" || tap_bail "useradd $1"
	USERS+=("$1")
}

fleet_attr() {
	ldap_as_root main ldapsearch -LLL -o ldif-wrap=no -b "uid=$1,$LDAP_USERS" -s base \
		'(objectClass=*)' "$2" 2>/dev/null | sed -n "s/^$2: //p"
}

# The answer goes through a FIFO, so a test can act while the prompt waits
# (another host's answer, a re-enrolment, a restart).
fleet_prompt_open() {
	local e=$1 h=$2 svc=$3 user=$4 i
	_FLEET_PROMPT_OUT=$5
	rm -f "$T/prompt.fifo"
	mkfifo "$T/prompt.fifo" || tap_bail "mkfifo failed"
	at_time "$e" unshare --uts sh -c 'hostname "$1"; shift; exec "$@" <"$0"' "$T/prompt.fifo" \
		"$h" pamtester "$svc" "$user" authenticate >"$_FLEET_PROMPT_OUT" 2>&1 &
	_FLEET_PROMPT_PID=$!
	exec {_FLEET_PROMPT_FD}>"$T/prompt.fifo"
	for i in $(seq 1 100); do
		grep -q "Verification code" "$_FLEET_PROMPT_OUT" && return 0
		sleep 0.1
	done
	return 1
}

fleet_prompt_answer() {
	local rc
	printf '%s\n' "$1" >&"$_FLEET_PROMPT_FD"
	exec {_FLEET_PROMPT_FD}>&-
	wait "$_FLEET_PROMPT_PID"
	rc=$?
	rm -f "$T/prompt.fifo"
	return $rc
}
