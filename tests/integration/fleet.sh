#!/bin/bash
# A fleet on one enrolment (store = ldap): a throwaway slapd on loopback
# with the shipped schema and access rules (tests/ldap/lib_ldap.sh), four
# simulated hosts A-D (each its own config, host key, grace directory,
# client certificate and PAM service; each call in its own UTS namespace
# for its host name) and an admin host that enrols through stepupctl.
# The cases of docs/design.md "The directory store" (FLEET.md 5.4):
# one enrolment everywhere, single use across hosts, races, a fleet-wide
# tally and lock, recovery codes once, TLS and environment hardening,
# outages failing closed within the budget, failover, grace through an
# outage, the canary, malformed data, SIGPIPE.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/ldap/lib_ldap.sh"
. "$TOP_SRCDIR/tests/ldap/lib_fleet.sh"
require_root
require_env
require_program pamtester oathtool slapd ldapsearch ldapmodify unshare useradd setsid python3
own_visible_session "$0" "$@"

ID=$$
U=fleet$ID
HOSTS=(hostA hostB hostC hostD)
ROUNDS=${FLEET_ROUNDS:-50}
BUDGET=3 # ldap_timeout of the hosts, seconds
USERS=()

cleanup() {
	local h u
	for h in "${HOSTS[@]}" admin; do rm -f "/etc/pam.d/stepup-fleet-$ID-${h,,}"; done
	for u in "${USERS[@]}"; do userdel "$u" 2>/dev/null; done
}

tap_plan 39
install_traps
add_cleanup cleanup
make_tree fleet
ldap_make_pki "${HOSTS[@]}"
ldap_start main
ldap_load_base main "${HOSTS[@]}"

# Each host: its config on the directory, host key, grace directory and
# PAM service stepup-fleet-ID-host (lib_fleet.sh); the admin binds as the
# admin.
FLEET_BUDGET=$BUDGET
for h in "${HOSTS[@]}" admin; do fleet_host "$h" "stepup-fleet-$ID-${h,,}"; done
"$STEPUPCTL" -c "$T/admin/stepup.conf" fleet-key init >"$T/fleetkey.out" 2>&1 ||
	tap_bail "fleet-key init: $(cat "$T/fleetkey.out")"
ADMIN=("$STEPUPCTL" -c "$T/admin/stepup.conf")

# on HOST EPOCH USER ANSWER: one pamtester call on HOST at EPOCH, in a UTS
# namespace named HOST; output in $T/on.out, exit status pamtester's
# (lib_fleet.sh fleet_on).
on() { fleet_on --uts "$1" "$2" "stepup-fleet-$ID-${1,,}" "$3" "$4"; }
said() { grep -q -- "$1" "$T/on.out"; }
show_on() { { echo "--- last call:"; cat "$T/on.out"; } | tap_diag_stream; }
attr() { fleet_attr "$@"; }
new_user() { fleet_new_user "$@"; }

new_user "$U"
SK=$(secret_for "$U")
T0=$(mid_step "$(date +%s)")

# --- 1-2: one enrolment, every host; a code once in the fleet -------------------------
"${ADMIN[@]}" enroll "$U" totp --secret "$SK" >"$T/enroll.out" 2>&1 ||
	tap_bail "enrol through the directory: $(cat "$T/enroll.out")"
one_enrolment_every_host() {
	local i=0 h
	for h in hostA hostB hostC; do
		i=$((i + 1))
		on "$h" $((T0 + 30 * i)) "$U" "$(code_at $((T0 + 30 * i)) "$SK")" || { show_on; return 1; }
	done
}
tap_check "one enrolment through stepupctl: hosts A, B and C each accept a fresh code" \
	one_enrolment_every_host

E=$((T0 + 150))
code_once_in_fleet() {
	local c
	c=$(code_at "$E" "$SK")
	on hostA "$E" "$U" "$c" || { show_on; return 1; }
	! on hostB "$E" "$U" "$c" && said "already been used" || { show_on; return 1; }
	! on hostC "$E" "$U" "$c" && said "already been used" || { show_on; return 1; }
	# an earlier step's code, never used, is behind the barrier everywhere
	! on hostD "$E" "$U" "$(code_at $((E - 30)) "$SK")" || { show_on; return 1; }
}
tap_check "a code accepted on A is refused on B and C (already used), an earlier step's on D" \
	code_once_in_fleet

# --- 3: racing hosts --------------------------------------------------------------------
# race EPOCH USER ANSWER: 16 calls at once, 4 on each host; prints the
# number of successes.
race() {
	local e=$1 user=$2 answer=$3 i h n=0 ok=0 pids=()
	printf '%s\n' "$answer" >"$T/race.in"
	for i in 1 2 3 4; do
		for h in "${HOSTS[@]}"; do
			n=$((n + 1))
			fleet_pamtester --uts "$h" "$e" "stepup-fleet-$ID-${h,,}" "$user" \
				<"$T/race.in" >"$T/race.$n.out" 2>&1 &
			pids+=($!)
		done
	done
	for i in "${pids[@]}"; do wait "$i" && ok=$((ok + 1)); done
	[ "$ok" = 1 ] || cat "$T"/race.*.out | sort | uniq -c | tap_diag_stream
	echo "$ok"
}
racing_hosts() {
	local r e n bad=0
	for r in $(seq 1 "$ROUNDS"); do
		e=$((T0 + 300 + 30 * r))
		n=$(race "$e" "$U" "$(code_at "$e" "$SK")")
		[ "$n" = 1 ] || { tap_diag "round $r: $n successes"; bad=$((bad + 1)); }
	done
	[ "$bad" = 0 ]
}
tap_check "16 callers over 4 hosts, one code, $ROUNDS rounds: exactly one success each round" \
	racing_hosts

# --- 4: every failure counted once -------------------------------------------------------
TALLY=tally$ID
new_user "$TALLY"
"${ADMIN[@]}" enroll "$TALLY" totp --secret "$(secret_for "$TALLY")" >/dev/null 2>&1 ||
	tap_bail "enrol $TALLY"
tally_exact() {
	local r e
	for r in 1 2 3 4 5; do
		e=$((T0 + 30 * r))
		race "$e" "$TALLY" 000000 >/dev/null
	done
	[ "$(attr "$TALLY" stepupFailCount)" = 80 ] ||
		{ tap_diag "stepupFailCount is $(attr "$TALLY" stepupFailCount)"; return 1; }
}
tap_check "80 wrong codes, 16 at a time over 4 hosts: stepupFailCount is exactly 80" tally_exact

# --- 5: a lock built on three hosts holds on the fourth ---------------------------------
LOCK=lock$ID
new_user "$LOCK"
SL=$(secret_for "$LOCK")
"${ADMIN[@]}" enroll "$LOCK" totp --secret "$SL" >/dev/null 2>&1 || tap_bail "enrol $LOCK"
for h in "${HOSTS[@]}"; do
	sed -i 's/^lockout_attempts = 0$/lockout_attempts = 5/' "$T/$h/stepup.conf"
done
lock_across_hosts() {
	local e=$((T0 + 60))
	on hostA "$e" "$LOCK" 000000; on hostA "$e" "$LOCK" 000000
	on hostB "$e" "$LOCK" 000000; on hostB "$e" "$LOCK" 000000
	on hostC "$e" "$LOCK" 000000
	! on hostD "$e" "$LOCK" "$(code_at "$e" "$SL")" && said "locked until" || { show_on; return 1; }
	"${ADMIN[@]}" unlock "$LOCK" >"$T/unlock.out" 2>&1 || { tap_diag "$(cat "$T/unlock.out")"; return 1; }
	grep -q "5 failure" "$T/unlock.out" || { tap_diag "$(cat "$T/unlock.out")"; return 1; }
	on hostD $((e + 30)) "$LOCK" "$(code_at $((e + 30)) "$SL")" || { show_on; return 1; }
}
tap_check "2 wrong on A, 2 on B, 1 on C lock the user on D; stepupctl unlock on the admin host frees D" \
	lock_across_hosts
for h in "${HOSTS[@]}"; do
	sed -i 's/^lockout_attempts = 5$/lockout_attempts = 0/' "$T/$h/stepup.conf"
done

# --- 6: a recovery code once in the fleet ------------------------------------------------
recovery_once() {
	local codes r e n bad=0
	"${ADMIN[@]}" recovery "$U" --count 10 >"$T/codes.out" 2>&1 || { tap_diag "$(cat "$T/codes.out")"; return 1; }
	mapfile -t codes < <(grep -oE '[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}' "$T/codes.out")
	[ "${#codes[@]}" = 10 ] || return 1
	for r in $(seq 0 9); do
		e=$((T0 + 30 * r))
		n=$(race "$e" "$U" "${codes[$r]}")
		[ "$n" = 1 ] || { tap_diag "code $r: $n successes"; bad=$((bad + 1)); }
	done
	[ "$bad" = 0 ] && [ "$(attr "$U" stepupRecoveryUsed | tr ',' '\n' | grep -c .)" = 10 ]
}
tap_check "each of 10 recovery codes raced by 16 callers over 4 hosts is accepted exactly once" \
	recovery_once

# --- 7: no secret in the directory in the clear -------------------------------------------
secret_sealed() {
	local v
	v=$(ldap_as_root main ldapsearch -LLL -o ldif-wrap=no -b "uid=$U,$LDAP_USERS" -s base \
		'(objectClass=*)' stepupTotpSecret)
	echo "$v" | grep -q "stepupTotpSecret:: \|stepupTotpSecret: v1:" &&
		! echo "$v" | grep -qi "$SK" && ! echo "$v" | base64 -d 2>/dev/null | grep -qi "$SK"
}
tap_check "the TOTP secret in the directory is sealed (v1:KID:...), not the base32 seed" secret_sealed

# --- 8-10: TLS and the caller's environment ----------------------------------------------
# a host config pointing elsewhere, run once
variant() { # NAME KEY VALUE...: hostA's config with KEY = VALUE replaced
	local name=$1 k v
	shift
	cp "$T/hostA/stepup.conf" "$T/hostA/$name.conf"
	while [ $# -gt 0 ]; do
		k=$1 v=$2
		shift 2
		sed -i "s|^$k = .*|$k = $v|" "$T/hostA/$name.conf"
	done
	fleet_service "stepup-fleet-$ID-hosta" "$T/hostA/$name.conf"
}
restore_hostA() { fleet_service "stepup-fleet-$ID-hosta" "$T/hostA/stepup.conf"; }
E=$((T0 + 900))
# refused_within SECONDS: the last call failed, said "unavailable", and took
# less than SECONDS (measured by the caller into $T/took).
unavailable() { said "unavailable"; }

wrong_ca() {
	variant wrongca ldap_ca_file "$LDAP_UNTRUSTED_CA"
	! on hostA "$E" "$U" "$(code_at "$E" "$SK")" && unavailable || { show_on; return 1; }
}
tap_check "a directory certificate from another CA: refused, step-up unavailable" wrong_ca
restore_hostA

ldap_start wrongname --cert "$LDAP_WRONGNAME_CERT" --key "$LDAP_WRONGNAME_KEY"
ldap_load_base wrongname "${HOSTS[@]}"
wrong_name() {
	variant wrongname ldap_uri "$LDAP_URI_wrongname"
	! on hostA "$E" "$U" "$(code_at "$E" "$SK")" && unavailable || { show_on; return 1; }
}
tap_check "a directory certificate for another name: refused" wrong_name
restore_hostA

# A server with a certificate from a CA nobody trusts, which accepts the
# hosts' client certificates and holds the users: a client that skips
# the certificate check binds and reads there.
ldap_start evil --ca "$LDAP_CA" --cert "$LDAP_UNTRUSTED_CERT" --key "$LDAP_UNTRUSTED_KEY"
ldap_load_base evil "${HOSTS[@]}"
planted_environment() {
	local d=$T/cwd rc
	LDAPTLS_REQCERT=never LDAPTLS_CERT="$LDAP_PKI/clients/hostA.pem" \
		LDAPTLS_KEY="$LDAP_PKI/clients/hostA.key" \
		timeout 20 ldapwhoami -H "$LDAP_URI_evil" -ZZ -Y EXTERNAL -Q >"$T/evil.who" 2>&1 &&
		grep -qi "cn=hosta" "$T/evil.who" ||
		{ tap_diag "a permissive client could not use the evil server: $(cat "$T/evil.who")"; return 1; }
	variant planted ldap_uri "$LDAP_URI_evil"
	mkdir -p "$d"
	printf 'TLS_REQCERT never\nTLS_CACERT %s\nURI %s\n' "$LDAP_UNTRUSTED_CA" "$LDAP_URI_evil" >"$d/ldaprc"
	(cd "$d" && fleet_on --env LDAPTLS_REQCERT=never --env LDAPTLS_CACERT="$LDAP_UNTRUSTED_CA" \
		--env LDAPURI="$LDAP_URI_evil" "$E" "stepup-fleet-$ID-hosta" "$U" "$(code_at "$E" "$SK")")
	rc=$?
	[ "$rc" != 0 ] && unavailable || { show_on; return 1; }
}
tap_check "root's pamtester (euid = uid) with ./ldaprc and LDAPTLS_REQCERT=never pointing at an untrusted server: still refused" \
	planted_environment
restore_hostA

# --- 11-13: outages fail closed within the budget -----------------------------------------
# timed HOST: one call with a right code; $T/took is its seconds
NEXT_E=$((E + 30000))
timed() {
	local start end e=$NEXT_E
	NEXT_E=$((NEXT_E + 30)) # each call a later step: never behind the barrier
	start=$(date +%s%N)
	on "$1" "$e" "$U" "$(code_at "$e" "$SK")"
	local rc=$?
	end=$(date +%s%N)
	echo $(((end - start) / 1000000)) >"$T/took"
	return $rc
}
within_budget() {
	local ms
	ms=$(cat "$T/took")
	[ "$ms" -le $(((BUDGET + 1) * 1000)) ] || { tap_diag "took $ms ms (budget $BUDGET s + 1 s)"; return 1; }
}
killed() {
	ldap_kill main
	! timed hostA && unavailable && within_budget || { show_on; return 1; }
}
tap_check "slapd killed: refused (unavailable) within ldap_timeout + 1 s" killed
ldap_restart main

stopped() {
	ldap_pause main
	! timed hostB && unavailable && within_budget || { ldap_resume main; show_on; return 1; }
	ldap_resume main
	timed hostB || { show_on; return 1; }
}
tap_check "slapd stopped (SIGSTOP): refused within ldap_timeout + 1 s; continued, it works again" stopped

ldap_blackhole
blackhole() {
	variant blackhole ldap_uri "$LDAP_BLACKHOLE_URI"
	! timed hostA && unavailable && within_budget || { show_on; return 1; }
}
tap_check "a listener that never accepts: refused within ldap_timeout + 1 s" blackhole
restore_hostA

DEAD=$(free_port)
failover() {
	variant failover ldap_uri "ldap://127.0.0.1:$DEAD $LDAP_URI_main"
	timed hostA || { show_on; return 1; }
	variant bothdead ldap_uri "ldap://127.0.0.1:$DEAD $LDAP_BLACKHOLE_URI"
	! timed hostA && unavailable && within_budget || { show_on; return 1; }
}
tap_check "failover: the first URI dead, the second answers; both dead: refused within the budget" failover
restore_hostA

isolated() {
	local e=$NEXT_E rc
	NEXT_E=$((NEXT_E + 120))
	fleet_on --uts hostC --net "$e" "stepup-fleet-$ID-hostc" "$U" "$(code_at "$e" "$SK")"
	rc=$?
	[ "$rc" != 0 ] && unavailable || { show_on; return 1; }
	on hostA $((e + 30)) "$U" "$(code_at $((e + 30)) "$SK")" || { show_on; return 1; }
}
tap_check "one host cut off (its own empty network namespace) fails closed; the others work" isolated

# --- 14: grace through an outage ----------------------------------------------------------
grace_outage() {
	local e=$NEXT_E
	NEXT_E=$((NEXT_E + 120))
	sed -i 's/^grace = 0$/grace = 300/' "$T/hostA/stepup.conf"
	on hostA "$e" "$U" "$(code_at "$e" "$SK")" || { show_on; return 1; }
	ldap_stop main
	on hostA $((e + 5)) "$U" "" || { show_on; ldap_restart main; return 1; }
	! on hostB $((e + 5)) "$U" "$(code_at $((e + 30)) "$SK")" && unavailable || { show_on; ldap_restart main; return 1; }
	ldap_restart main
	sed -i 's/^grace = 300$/grace = 0/' "$T/hostA/stepup.conf"
}
tap_check "grace earned on A holds through an outage; B, with no grace, fails closed" grace_outage

# --- 15: the canary -----------------------------------------------------------------------
NOBODY=absent$ID
new_user "$NOBODY"
canary() {
	local e=$NEXT_E
	NEXT_E=$((NEXT_E + 120))
	for h in hostA; do sed -i 's/^missing = .*//; $a missing = allow' "$T/$h/stepup.conf"; done
	on hostA "$e" "$NOBODY" "" || { show_on; return 1; } # not enrolled, canary read: allowed
	ldap_group_member main delete stepup-hosts "$(ldap_host_dn hostA)" >/dev/null
	! on hostA "$e" "$NOBODY" "" && unavailable || { show_on; ldap_group_member main add stepup-hosts "$(ldap_host_dn hostA)" >/dev/null; return 1; }
	! on hostA "$e" "$U" "$(code_at "$e" "$SK")" || { show_on; ldap_group_member main add stepup-hosts "$(ldap_host_dn hostA)" >/dev/null; return 1; }
	ldap_group_member main add stepup-hosts "$(ldap_host_dn hostA)" >/dev/null
	sed -i 's/^missing = allow$//' "$T/hostA/stepup.conf"
}
tap_check "missing = allow: an absent user with the canary readable is let through; with the subtree hidden from the host, nobody is" \
	canary

# --- 16-18: malformed data is refused by name ----------------------------------------------
BAD=bad$ID
new_user "$BAD"
SB=$(secret_for "$BAD")
"${ADMIN[@]}" enroll "$BAD" totp --secret "$SB" >/dev/null 2>&1 || tap_bail "enrol $BAD"
BAD_DN=uid=$BAD,$LDAP_USERS
set_attr() { # ATTR VALUE
	printf 'dn: %s\nchangetype: modify\nreplace: %s\n%s: %s\n' "$BAD_DN" "$1" "$1" "$2" |
		ldap_as_root main ldapmodify >/dev/null 2>&1
}
malformed() { # ATTR VALUE: set it, a right code is refused, the log names ATTR
	local e=$((E + 6000 + 30 * RANDOM % 50)) good
	good=$(attr "$BAD" "$1")
	set_attr "$1" "$2" || return 1
	! on hostA "$e" "$BAD" "$(code_at "$e" "$SB")" && unavailable || { show_on; set_attr "$1" "$good"; return 1; }
	set_attr "$1" "$good"
}
tap_check "a malformed stepupFailTimes is refused and the step-up fails closed" malformed stepupFailTimes "1,x,3"
sealed_secret=$(attr "$BAD" stepupTotpSecret)
tap_check "a sealed secret with a changed byte is refused" malformed stepupTotpSecret \
	"$(echo "$sealed_secret" | sed 's/:\(.\)/:A/2; s/A\(.\)/B\1/3')"
tap_check "a sealed secret under an unknown key id is refused" malformed stepupTotpSecret \
	"$(echo "$sealed_secret" | sed 's/^v1:[a-z0-9]*:/v1:nosuchkid:/')"

# --- 19: SIGPIPE ---------------------------------------------------------------------------
sigpipe() {
	local e=$NEXT_E rc
	NEXT_E=$((NEXT_E + 120))
	fleet_prompt_open "$e" hostA "stepup-fleet-$ID-hosta" "$U" "$T/on.out"
	ldap_kill main
	fleet_prompt_answer "$(code_at "$e" "$SK")"
	rc=$?
	ldap_restart main
	[ "$rc" -lt 128 ] && [ "$rc" != 0 ] || { tap_diag "pamtester exit $rc"; show_on; return 1; }
}
tap_check "slapd killed between the read and the write: the host program fails, and no SIGPIPE kills it" sigpipe

# --- the conditional write itself ------------------------------------------------------------
WRITER=$TOP_BUILDDIR/tests/helpers/state_writer
CAS=cas$ID
new_user "$CAS"
"${ADMIN[@]}" enroll "$CAS" totp --secret "$(secret_for "$CAS")" >/dev/null 2>&1 || tap_bail "enrol $CAS"
cp "$T/hostA/stepup.conf" "$T/hostA/writer.conf"
sed -i 's/^ldap_timeout = .*/ldap_timeout = 60/; s/^ldap_retries = .*//; $a ldap_retries = 64' "$T/hostA/writer.conf"
# Every increment a writer was told was written is in the count, and no
# value was acknowledged twice (two writers both told "n=V" would be a lost
# update): the acknowledged values are exactly 1..n. One writer, no more,
# may give up, and only the way a host does, with more conflicts than
# ldap_retries allows (fail closed; on a heavily loaded machine a writer
# lost 64 races in a row); when none gives up, n is 1600. (Retries that
# can never win, a stale serial reused, would make them all give up.)
cas_exact() {
	local i pids=() gave_up=0 n acked
	for i in 1 2 3 4 5 6 7 8; do
		"$WRITER" "$T/hostA/writer.conf" "$CAS" --increments 200 >"$T/writer.$i.out" 2>&1 &
		pids+=($!)
	done
	for i in 1 2 3 4 5 6 7 8; do
		wait "${pids[i - 1]}" && continue
		gave_up=$((gave_up + 1))
		grep -v '^n=' "$T/writer.$i.out" | tap_diag_stream
		[ "$(grep -v '^n=\|^done ' "$T/writer.$i.out")" = \
			"state_writer: increment $(($(grep -c '^n=' "$T/writer.$i.out") + 1)): conflicts beyond ldap_retries" ] ||
			return 1
	done
	n=$(attr "$CAS" stepupStateExtra | sed -n 's/^n=//p')
	acked=$(sed -n 's/^n=//p' "$T"/writer.*.out | sort -n)
	[ "$gave_up" -le 1 ] && [ -n "$n" ] && [ "$acked" = "$(seq 1 "$n")" ] &&
		{ [ "$gave_up" != 0 ] || [ "$n" = 1600 ]; } ||
		{ tap_diag "$gave_up writer(s) gave up; directory n=${n:-none}; $(echo "$acked" | grep -c .) acknowledged, repeated: $(echo "$acked" | uniq -d | head -3 | tr '\n' ' ')"; return 1; }
}
tap_check "8 writers x 200 increments, every one a conditional Modify: the count is exactly the acknowledged increments, none twice, at most one writer giving up (1600 when none does)" \
	cas_exact

# slapd killed with SIGKILL while four writers increment: after a restart
# the counter is at least the highest value a writer was told was written.
DUR=dur$ID
new_user "$DUR"
"${ADMIN[@]}" enroll "$DUR" totp --secret "$(secret_for "$DUR")" >/dev/null 2>&1 || tap_bail "enrol $DUR"
durable() {
	local i pids=() acked n
	for i in 1 2 3 4; do
		"$WRITER" "$T/hostA/writer.conf" "$DUR" --increments 100000 >"$T/dur.$i.out" 2>&1 &
		pids+=($!)
	done
	sleep 2
	ldap_kill main
	for i in "${pids[@]}"; do wait "$i"; done
	ldap_restart main
	acked=$(cat "$T"/dur.*.out | sed -n 's/^n=//p' | sort -n | tail -1)
	n=$(attr "$DUR" stepupStateExtra | sed -n 's/^n=//p')
	[ -n "$acked" ] && [ "$acked" -gt 0 ] && [ -n "$n" ] && [ "$n" -ge "$acked" ] ||
		{ tap_diag "acknowledged up to ${acked:-none}, the directory holds ${n:-nothing}"; return 1; }
}
tap_check "slapd killed (SIGKILL) under four writers: after a restart the counter is at least the last value acknowledged" \
	durable

# A's prompt waits while B accepts the same code: A's commit, made against
# the entry it read before the prompt, conflicts; judged again from the
# entry as it now is, the code is a replay.
judged_again() {
	local e=$NEXT_E c rc
	NEXT_E=$((NEXT_E + 120))
	c=$(code_at "$e" "$SK")
	fleet_prompt_open "$e" hostA "stepup-fleet-$ID-hosta" "$U" "$T/a.out"
	on hostB "$e" "$U" "$c" || { fleet_prompt_answer ""; show_on; return 1; }
	fleet_prompt_answer "$c"
	rc=$?
	[ "$rc" != 0 ] && grep -q "already been used" "$T/a.out" ||
		{ tap_diag "A: exit $rc"; tap_diag_stream <"$T/a.out"; return 1; }
}
tap_check "a code B accepts while A's prompt waits is refused on A as used (A judges again after the conflict)" \
	judged_again

# --- what the review of the store found --------------------------------------------------------
# the record changes while the prompt waits: the answer is not judged
# against the old secret
REEN=reen$ID
new_user "$REEN"
SR1=$(secret_for "$REEN") SR2=$(secret_for "x$REEN")
"${ADMIN[@]}" enroll "$REEN" totp --secret "$SR1" >/dev/null 2>&1 || tap_bail "enrol $REEN"
re_enrolled_during_prompt() {
	local e=$NEXT_E
	NEXT_E=$((NEXT_E + 120))
	fleet_prompt_open "$e" hostA "stepup-fleet-$ID-hosta" "$REEN" "$T/r.out"
	"${ADMIN[@]}" enroll "$REEN" totp --secret "$SR2" --force >/dev/null 2>&1 ||
		{ fleet_prompt_answer ""; tap_diag "re-enrol failed"; return 1; }
	! fleet_prompt_answer "$(code_at "$e" "$SR1")" || { tap_diag_stream <"$T/r.out"; return 1; }
}
tap_check "re-enrolled while A's prompt waited: the old secret's code is not accepted" \
	re_enrolled_during_prompt

# the server restarts while the prompt waits: the answer is judged
restarted_during_prompt() {
	local e=$NEXT_E
	NEXT_E=$((NEXT_E + 120))
	fleet_prompt_open "$e" hostA "stepup-fleet-$ID-hosta" "$U" "$T/s.out"
	ldap_stop main
	ldap_restart main
	sleep 1.5 # longer than the connection may sit idle
	fleet_prompt_answer "$(code_at "$e" "$SK")" || { tap_diag_stream <"$T/s.out"; return 1; }
}
tap_check "slapd restarted while the prompt waited: the right code is still accepted" \
	restarted_during_prompt

# access rules that hide the secrets (the host is helpdesk, not a host):
# with missing = allow, nobody is let through for want of a secret
HID=hid$ID
new_user "$HID"
"${ADMIN[@]}" enroll "$HID" totp --secret "$(secret_for "$HID")" >/dev/null 2>&1 || tap_bail "enrol $HID"
secrets_hidden() {
	local e=$NEXT_E ok=0
	NEXT_E=$((NEXT_E + 60))
	echo "missing = allow" >>"$T/hostA/stepup.conf"
	ldap_group_member main delete stepup-hosts "$(ldap_host_dn hostA)" >/dev/null
	ldap_group_member main add stepup-helpdesk "$(ldap_host_dn hostA)" >/dev/null
	! on hostA "$e" "$HID" "" && unavailable || { show_on; ok=1; }
	ldap_group_member main delete stepup-helpdesk "$(ldap_host_dn hostA)" >/dev/null
	ldap_group_member main add stepup-hosts "$(ldap_host_dn hostA)" >/dev/null
	sed -i '/^missing = allow$/d' "$T/hostA/stepup.conf"
	return "$ok"
}
tap_check "a host that can read entries but not secrets (helpdesk rules), missing = allow: refused, never allowed" \
	secrets_hidden

EVIL=evil$ID
new_user "$EVIL"
SE=$(secret_for "$EVIL")
"${ADMIN[@]}" enroll "$EVIL" totp --secret "$SE" >/dev/null 2>&1 || tap_bail "enrol $EVIL"
EVIL_DN=uid=$EVIL,$LDAP_USERS
modify_evil() { printf 'dn: %s\nchangetype: modify\n%s\n' "$EVIL_DN" "$1" | ldap_as_root main ldapmodify >/dev/null 2>&1; }
extra_secret_refused() {
	local e=$NEXT_E ok=0 sealed
	NEXT_E=$((NEXT_E + 60))
	sealed=$(attr "$EVIL" stepupTotpSecret)
	modify_evil "$(printf 'delete: stepupTotpSecret\n-\nadd: stepupRecordExtra\nstepupRecordExtra: totp_secret=%s' \
		"$(secret_for mallory)")" || return 1
	! on hostA "$e" "$EVIL" "$(code_at "$e" "$(secret_for mallory)")" && unavailable || { show_on; ok=1; }
	modify_evil "$(printf 'delete: stepupRecordExtra\n-\nadd: stepupTotpSecret\nstepupTotpSecret: %s' "$sealed")"
	return "$ok"
}
tap_check "a plain totp_secret in stepupRecordExtra is refused (the seal cannot be passed by)" extra_secret_refused
extra_lock_refused() {
	local e=$NEXT_E ok=0
	NEXT_E=$((NEXT_E + 60))
	modify_evil "$(printf 'add: stepupStateExtra\nstepupStateExtra: locked_until=9999999999')" || return 1
	! on hostA "$e" "$EVIL" "$(code_at "$e" "$SE")" && unavailable || { show_on; ok=1; }
	modify_evil "$(printf 'delete: stepupStateExtra')"
	return "$ok"
}
tap_check "a key with an attribute of its own given as stepupStateExtra (locked_until) is refused" extra_lock_refused
second_uid_refused() {
	local e=$NEXT_E ok=0
	NEXT_E=$((NEXT_E + 60))
	echo "missing = allow" >>"$T/hostA/stepup.conf"
	modify_evil "$(printf 'add: uid\nuid: x%s' "$EVIL")" || ok=1
	! on hostA "$e" "$EVIL" "" && unavailable || { show_on; ok=1; }
	modify_evil "$(printf 'delete: uid\nuid: x%s' "$EVIL")"
	sed -i '/^missing = allow$/d' "$T/hostA/stepup.conf"
	return "$ok"
}
tap_check "an entry the search matched with a second uid value: refused, not taken as not enrolled (missing = allow)" \
	second_uid_refused
serial_range() {
	local e ok=0 good bad
	good=$(attr "$EVIL" stepupSerial)
	# 2^64 (beyond 64 bits) and 2^62 (the limit itself); a leading zero
	# never gets this far: the INTEGER syntax refuses it in the server.
	for bad in 18446744073709551616 4611686018427387904; do
		e=$NEXT_E
		NEXT_E=$((NEXT_E + 60))
		modify_evil "$(printf 'replace: stepupSerial\nstepupSerial: %s' "$bad")" || return 1
		! on hostA "$e" "$EVIL" "$(code_at "$e" "$SE")" && unavailable || { show_on; ok=1; }
	done
	modify_evil "$(printf 'replace: stepupSerial\nstepupSerial: %s' "$good")"
	return "$ok"
}
tap_check "a stepupSerial of 2^64 or of 2^62 (the limit) is refused" serial_range
mixed_uris_need_ca() {
	cp "$T/hostA/stepup.conf" "$T/hostA/mixed.conf"
	sed -i "s|^ldap_uri = .*|ldap_uri = ldapi://%2Fnonexistent $LDAP_URI_main|; /^ldap_ca_file = /d" \
		"$T/hostA/mixed.conf"
	! "$STEPUPCTL" -c "$T/hostA/mixed.conf" check-config >"$T/mixed.out" 2>&1 &&
		grep -q "ldap_ca_file" "$T/mixed.out" || { tap_diag "$(cat "$T/mixed.out")"; return 1; }
}
tap_check "ldap_uri with ldapi:// first and a network URI after it still needs ldap_ca_file" mixed_uris_need_ca

# --- email: a code is its issuing host's; the hourly limit is the fleet's --------------------
require_aiosmtpd
start_smtp fleetmail --mode plain || tap_bail "the SMTP server did not start"
MAILU=mail$ID
new_user "$MAILU"
# TOTP too, so that a call sends a mail only when asked (Enter), as a user
# with an app and an address would see it.
"${ADMIN[@]}" enroll "$MAILU" totp --secret "$(secret_for "$MAILU")" >/dev/null 2>&1 &&
	"${ADMIN[@]}" enroll "$MAILU" email "$MAILU@example.com" >"$T/enroll-mail.out" 2>&1 ||
	tap_bail "enrol $MAILU email: $(cat "$T/enroll-mail.out")"
for h in "${HOSTS[@]}"; do
	cat >>"$T/$h/stepup.conf" <<CONF
[service stepup-fleet-$ID-${h,,}]
methods = totp, email
email_min_interval = 0
email_max_per_hour = 3
CONF
	sed -i "/^\[global\]$/a smtp_url = smtp://127.0.0.1:$SMTP_PORT_fleetmail\nsmtp_from = stepup@example.com\nsmtp_tls = none\nsmtp_credentials = $T/no-credentials" \
		"$T/$h/stepup.conf"
done
# ask HOST EPOCH: on HOST, press Enter (a code is mailed), then a wrong
# answer; prints the mailed code (empty if none came).
ask() {
	local n
	n=$(mail_count "$SMTP_DIR_fleetmail")
	on "$1" "$2" "$MAILU" "$(printf '\n000000')"
	if ! wait_mail "$SMTP_DIR_fleetmail" $((n + 1)) 10; then
		tap_diag "no mail came ($n before)"
		return 0
	fi
	mail_code "$(ls -t "$SMTP_DIR_fleetmail"/*.eml | head -1)"
}
email_code_stays_home() {
	local e=$((T0 + 60)) code before
	code=$(ask hostA "$e")
	[ -n "$code" ] || { show_on; return 1; }
	before=$(attr "$MAILU" stepupEmailCodeAttempts)
	! on hostB $((e + 1)) "$MAILU" "$code" || { show_on; return 1; }
	[ -n "$before" ] && [ "$(attr "$MAILU" stepupEmailCodeAttempts)" = "$before" ] ||
		{ tap_diag "attempts $before -> $(attr "$MAILU" stepupEmailCodeAttempts): B spent A's code"; return 1; }
	on hostA $((e + 2)) "$MAILU" "$code" || { show_on; return 1; }
}
tap_check "an email code mailed by A is no code on B (not matched, not spent), and A accepts it" \
	email_code_stays_home
email_hourly_limit_fleet() {
	local e=$((T0 + 7200)) h n # over an hour after the send above
	for h in hostA hostB hostC; do
		e=$((e + 60))
		[ -n "$(ask "$h" "$e")" ] || { tap_diag "no mail from $h"; show_on; return 1; }
	done
	n=$(mail_count "$SMTP_DIR_fleetmail")
	on hostD $((e + 60)) "$MAILU" "$(printf '\n000000')"
	said "in the last hour" && [ "$(mail_count "$SMTP_DIR_fleetmail")" = "$n" ] || { show_on; return 1; }
}
tap_check "email_max_per_hour = 3 counts the fleet's sends: after A, B and C, D sends nothing" \
	email_hourly_limit_fleet

# --- 20-22: stepupctl against the directory -------------------------------------------------
ctl_status() {
	"${ADMIN[@]}" status "$U" >"$T/status.out" 2>&1 && grep -q "totp" "$T/status.out" ||
		{ tap_diag "$(cat "$T/status.out")"; return 1; }
}
tap_check "stepupctl status reads the user's entry" ctl_status
ctl_remove() {
	"${ADMIN[@]}" remove "$BAD" >"$T/remove.out" 2>&1 &&
		[ -z "$(attr "$BAD" uid)" ] || { tap_diag "$(cat "$T/remove.out")"; return 1; }
}
tap_check "stepupctl remove deletes the user's entry" ctl_remove
# More entries than slapd's size limit (500, its default) lets one search
# return: the listing goes by pages. slapd caps a paged search's total at
# the hard limit unless told otherwise (limits ... size.prtotal), which
# etc/ldap/README says to give the admins' identity; without paging, the
# one search would still stop at 500.
many_users_listed() {
	local i
	printf 'limits dn.exact="%s" size.prtotal=unlimited\n' "$LDAP_ADMIN_DN" >>"$LDAP_DIR_main/slapd.conf"
	ldap_stop main
	ldap_restart main
	for i in $(seq 1 520); do
		printf 'dn: uid=bulk%03d,%s\nobjectClass: stepupUser\nuid: bulk%03d\nstepupSerial: 1\n\n' \
			"$i" "$LDAP_USERS" "$i"
	done | ldap_as_root main ldapadd >/dev/null 2>&1 || { tap_diag "ldapadd failed"; return 1; }
	"${ADMIN[@]}" status >"$T/all.out" 2>&1
	[ "$(grep -c '^bulk[0-9]' "$T/all.out")" = 520 ] ||
		{ tap_diag "$(grep -c '^bulk[0-9]' "$T/all.out") bulk users listed"; tail -3 "$T/all.out" | tap_diag_stream; return 1; }
}
tap_check "stepupctl status lists all 520 users of a directory whose size limit is 500 (paged)" many_users_listed
host_cannot_enrol() {
	! "$STEPUPCTL" -c "$T/hostB/stepup.conf" enroll "$NOBODY" totp --secret "$SB" >"$T/hostenrol.out" 2>&1
}
tap_check "a host's identity cannot enrol (only the admins' may write records)" host_cannot_enrol

# --- 23: nothing left running ----------------------------------------------------------------
run_cleanups
left=$(ldap_started_pids)
tap_check --not-ok "cleanup: slapd left running: $left" "cleanup: every slapd stopped" [ -z "$left" ]
