# Simulated hosts of one directory, for the directory-store tests
# (fleet.sh, fleet_ctl.sh, fleet_readme.sh, fleet_389ds.sh, sshsk_ldap.sh).
# Source after tests/lib.sh. fleet_conf, fleet_service, fleet_pamtester and
# fleet_on need nothing more; the others need lib_ldap.sh too and the
# instance "main" running, and the caller keeps USERS (an array, removed by
# its cleanup) and may set FLEET_BUDGET (ldap_timeout, default 3).
#
#   fleet_conf DIR SERVICE [LINE...]    DIR/stepup.conf (write_conf with the
#                                       LINEs), its host key and grace
#                                       directory in DIR, stepupctl init, and
#                                       the PAM service SERVICE ("" for none)
#   fleet_service SERVICE CONFIG        /etc/pam.d/SERVICE: the module on
#                                       CONFIG, then pam_permit
#   fleet_host NAME SERVICE [LINE...]   fleet_conf $T/NAME on the directory
#                                       with NAME's client certificate (LINE:
#                                       more "key = value" lines)
#   fleet_new_user NAME                 a local account, removed at exit
#   fleet_attr USER ATTRIBUTE           the attribute's value(s) in USER's entry
#   fleet_pamtester [OPTION...] EPOCH SERVICE USER
#                                       pamtester authenticate at EPOCH, as
#                                       one host of the fleet (OPTIONs below);
#                                       stdin and stdout are the caller's
#   fleet_on [OPTION...] EPOCH SERVICE USER [ANSWER...]
#                                       the same with one ANSWER a line on its
#                                       stdin; output in $T/on.out and the
#                                       case's transcript; pamtester's status
#   fleet_prompt_open EPOCH HOST SERVICE USER OUT
#                                       pamtester in HOST's UTS namespace at
#                                       EPOCH, its answer to come; returns once
#                                       it prompts (OUT: its output)
#   fleet_prompt_answer ANSWER          answers it and waits: its exit status
#
# The OPTIONs of fleet_pamtester and fleet_on:
#   --uts HOST       in a UTS namespace of its own named HOST (the host name
#                    the module sees)
#   --net            with --uts: in an empty network namespace as well
#   --env VAR=VALUE  in pamtester's environment (may be given again)
# shellcheck shell=bash

fleet_conf() {
	local dir=$1 svc=$2
	shift 2
	mkdir -p "$dir" || tap_bail "mkdir $dir"
	write_conf "$dir/stepup.conf" "$@"
	sed -i "s|^hostkey = .*|hostkey = $dir/hostkey|; s|^grace_dir = .*|grace_dir = $dir/grace|" \
		"$dir/stepup.conf"
	"$STEPUPCTL" -c "$dir/stepup.conf" init >"$dir/init.out" 2>&1 ||
		tap_bail "stepupctl init for ${dir##*/}: $(cat "$dir/init.out")"
	[ -z "$svc" ] || fleet_service "$svc" "$dir/stepup.conf"
}

fleet_service() {
	printf 'auth required %s config=%s\naccount required pam_permit.so\n' \
		"$STEPUP_MODULE" "$2" >"/etc/pam.d/$1"
}

fleet_host() {
	local h=$1 svc=$2
	shift 2
	# shellcheck disable=SC2154 # LDAP_URI_main is set by ldap_start main
	fleet_conf "$T/$h" "$svc" "store = ldap" "ldap_uri = $LDAP_URI_main" \
		"ldap_base = $LDAP_USERS" "ldap_ca_file = $LDAP_CA" \
		"ldap_cert = $LDAP_PKI/clients/$h.pem" "ldap_key = $LDAP_PKI/clients/$h.key" \
		"ldap_timeout = ${FLEET_BUDGET:-3}" "fleet_key = $T/fleetkey" \
		"methods = totp, recovery" "tries = 1" "lockout_attempts = 0" "$@"
}

fleet_new_user() {
	useradd -M -s /bin/sh "$1" || tap_bail "useradd $1"
	USERS+=("$1")
}

fleet_attr() {
	ldap_as_root main ldapsearch -LLL -o ldif-wrap=no -b "uid=$1,$LDAP_USERS" -s base \
		'(objectClass=*)' "$2" 2>/dev/null | sed -n "s/^$2: //p"
}

fleet_pamtester() {
	local host='' ns=(--uts) envs=() cmd
	while :; do
		case ${1:-} in
		--uts) host=$2; shift 2 ;;
		--net) ns+=(--net); shift ;;
		--env) envs+=("$2"); shift 2 ;;
		*) break ;;
		esac
	done
	[ "${#ns[@]}" = 1 ] || [ -n "$host" ] || tap_bail "fleet_pamtester: --net goes with --uts"
	cmd=(pamtester "$2" "$3" authenticate)
	[ "${#envs[@]}" = 0 ] || cmd=(env "${envs[@]}" "${cmd[@]}")
	# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
	[ -z "$host" ] || cmd=(unshare "${ns[@]}" sh -c 'hostname "$0"; exec "$@"' "$host" "${cmd[@]}")
	at_time "$1" "${cmd[@]}"
}

fleet_on() {
	local opts=() rc
	while :; do
		case ${1:-} in
		--uts | --env) opts+=("$1" "$2"); shift 2 ;;
		--net) opts+=("$1"); shift ;;
		*) break ;;
		esac
	done
	printf '%s\n' "${@:4}" | fleet_pamtester "${opts[@]}" "$1" "$2" "$3" >"$T/on.out" 2>&1
	rc=$?
	{
		echo "--- pamtester $2 $3 at @$1${opts[*]:+ (${opts[*]})}: exit $rc"
		cat "$T/on.out"
	} | tap_log
	return $rc
}

# The answer goes through a FIFO, so a test can act while the prompt waits
# (another host's answer, a re-enrolment, a restart).
fleet_prompt_open() {
	local e=$1 h=$2 svc=$3 user=$4
	_FLEET_PROMPT_OUT=$5
	rm -f "$T/prompt.fifo"
	mkfifo "$T/prompt.fifo" || tap_bail "mkfifo failed"
	fleet_pamtester --uts "$h" "$e" "$svc" "$user" <"$T/prompt.fifo" >"$_FLEET_PROMPT_OUT" 2>&1 &
	_FLEET_PROMPT_PID=$!
	exec {_FLEET_PROMPT_FD}>"$T/prompt.fifo"
	for _ in $(seq 1 100); do
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
