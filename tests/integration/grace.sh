#!/bin/bash
# Grace records and policy through a real PAM stack (pamtester): honoured in
# the session that earned them and only there, never forged, copied,
# stretched or carried to another boot; grace=0, service sections, module
# arguments, exempt groups, stepupctl grace list|revoke; grace per service
# unless grace_from says otherwise.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program pamtester oathtool python3 setsid unshare useradd groupadd
own_visible_session "$0" "$@"

SERVICE=stepup-grace-$$
SERVICE_FILES=()
USERS=()
GROUP=stepupg$$

cleanup_accounts() {
	local u
	for u in "${USERS[@]}"; do userdel "$u" 2>/dev/null; done
	groupdel "$GROUP" 2>/dev/null
	rm -f -- "${SERVICE_FILES[@]}"
}

tap_plan 22
install_traps
add_cleanup cleanup_accounts
make_tree grace "grace = 120" "methods = totp" \
	"[service $SERVICE-svc]" "grace = 30"

# service NAME ARGS...: /etc/pam.d/$SERVICE-NAME with the module and ARGS
service() {
	local name=$SERVICE-$1 f
	shift
	f=/etc/pam.d/$name
	printf 'auth required %s config=%s %s\naccount required pam_permit.so\n' \
		"$STEPUP_MODULE" "$CONF" "$*" >"$f"
	SERVICE_FILES+=("$f")
	SVC=$name
}

new_user() { # NAME: a throwaway account, enrolled with its own secret
	useradd -M -N -s /usr/sbin/nologin "$1" || tap_bail "useradd $1 failed"
	USERS+=("$1")
	enroll "$1" "$(secret_for "$1")" || tap_bail "enroll $1 failed"
}

GRACE=$T/run/stepup/grace
record_of() { ls "$GRACE/$1":* 2>/dev/null | head -1; }
asked() { grep -qF "Verification code" "$T/pt.out"; }

# resign FILE KEY=VALUE|-service...: change fields and sign again with the
# host key (the service last among the MAC's parts, grace.h); -service
# drops it, as in a record written before grace was per service
resign() {
	python3 - "$T/etc/stepup/hostkey" "$@" <<'PY'
import hmac, hashlib, sys
key = open(sys.argv[1], "rb").read()
path = sys.argv[2]
lines = open(path).read().splitlines()
rec = dict(l.split("=", 1) for l in lines[1:])
for kv in sys.argv[3:]:
    if kv == "-service":
        rec.pop("service", None)
        continue
    k, v = kv.split("=", 1)
    rec[k] = v
svc = ("service",) if "service" in rec else ()
parts = [b"grace"] + [rec[k].encode() for k in
        ("user", "uid", "binding", "rhost", "boot_id", "method", "issued", "expires") + svc]
rec["hmac"] = hmac.new(key, b"".join(len(p).to_bytes(4, "big") + p for p in parts),
                       hashlib.sha256).hexdigest()
with open(path, "w") as f:
    f.write("version=1\n" + "".join("%s=%s\n" % (k, rec[k]) for k in
            ("user", "uid", "binding") + svc + ("rhost", "boot_id", "method", "issued",
             "expires", "hmac")))
PY
}

service main
MAIN=$SVC
T0=$(mid_step "$(date +%s)")
A=stepupga$$ B=stepupgb$$
new_user "$A"
new_user "$B"
SA=$(secret_for "$A") SB=$(secret_for "$B")

# 1-2: a success is remembered for grace seconds, then asked again
pt "$T0" "$MAIN" "$A" "$(code_at "$T0" "$SA")"
REC=$(record_of "$A")
within_grace_no_prompt() {
	pt $((T0 + 10)) "$MAIN" "$A" && ! asked && [ -n "$REC" ] &&
		[ "$(stat -c '%a %U' "$REC")" = "600 root" ]
}
tap_check "within grace (10 s later, same session): no prompt" within_grace_no_prompt
after_grace_asked_again() { refused $((T0 + 121)) "$MAIN" "$A" && asked && [ ! -e "$REC" ]; }
tap_check "after grace (121 s): asked again, the expired record removed" \
	after_grace_asked_again

# 3: another session (setsid) does not get this session's grace
pt $((T0 + 30)) "$MAIN" "$A" "$(code_at $((T0 + 30)) "$SA")"
if at_time $((T0 + 40)) setsid -w pamtester "$MAIN" "$A" authenticate \
	</dev/null >"$T/pt.out" 2>&1; then
	tap_not_ok "another session (setsid) is asked"
elif asked; then
	tap_ok "another session (setsid) is asked"
else
	tap_not_ok "another session (setsid) is asked (no prompt seen)"
fi

# 4: B's record copied over A's file name is not A's grace
pt $((T0 + 60)) "$MAIN" "$B" "$(code_at $((T0 + 60)) "$SB")"
REC=$(record_of "$A") RB=$(record_of "$B")
cp -p "$RB" "$REC"
another_users_record_refused() { refused $((T0 + 65)) "$MAIN" "$A" && asked; }
tap_check "another user's record copied in place is refused" another_users_record_refused

# 5-8: tampering
pt $((T0 + 90)) "$MAIN" "$A" "$(code_at $((T0 + 90)) "$SA")"
REC=$(record_of "$A")
cp -p "$REC" "$T/good.rec"
sed -i 's/^expires=\(.*\)./expires=\19/' "$REC"
record_one_changed_byte_refused() { refused $((T0 + 95)) "$MAIN" "$A" && asked; }
tap_check "a record with one changed byte is refused" record_one_changed_byte_refused
cp -p "$T/good.rec" "$REC"
head -c 32 /dev/urandom >"$T/otherkey"
python3 - "$REC" <<'PY'
import sys
p = sys.argv[1]
t = open(p).read().replace("hmac=", "hmac=0" * 0 + "hmac=", 1)
lines = t.splitlines()
lines[-1] = "hmac=" + ("0123456789abcdef" * 4)
open(p, "w").write("\n".join(lines) + "\n")
PY
record_bad_hmac_refused() { refused $((T0 + 95)) "$MAIN" "$A" && asked; }
tap_check "a record with a bad HMAC is refused" record_bad_hmac_refused
cp -p "$T/good.rec" "$REC"
resign "$REC" boot_id=00000000-0000-0000-0000-000000000000
record_another_boot_re_signed() { refused $((T0 + 95)) "$MAIN" "$A" && asked; }
tap_check "a record of another boot (re-signed with the right key) is refused" \
	record_another_boot_re_signed
cp -p "$T/good.rec" "$REC"
resign "$REC" method=email
record_earned_email_refused_totp() { refused $((T0 + 95)) "$MAIN" "$A" && asked; }
tap_check "a record earned by email is refused by a totp-only rule" record_earned_email_refused_totp

# 9: the unchanged record still works (the cases above failed for their change)
cp -p "$T/good.rec" "$REC"
untouched_record_honoured() { pt $((T0 + 95)) "$MAIN" "$A" && ! asked; }
tap_check "the untouched record is honoured" untouched_record_honoured

# 10: grace=0 always asks and writes nothing
service zero grace=0
rm -f "$GRACE/$B":*
pt $((T0 + 120)) "$SVC" "$B" "$(code_at $((T0 + 120)) "$SB")"
grace_0_asks_always_no_record() { refused $((T0 + 125)) "$SVC" "$B" && asked && [ -z "$(record_of "$B")" ]; }
tap_check "grace=0: asked every time, no record written" grace_0_asks_always_no_record

# 11: [service] grace = 30 overrides [global] 120; the argument grace=200 overrides both
service svc
pt $((T0 + 150)) "$SVC" "$B" "$(code_at $((T0 + 150)) "$SB")"
ok=1
pt $((T0 + 170)) "$SVC" "$B" && ! asked || ok=0
refused $((T0 + 181)) "$SVC" "$B" || ok=0
service svc grace=200
pt $((T0 + 210)) "$SVC" "$B" "$(code_at $((T0 + 210)) "$SB")" || ok=0
pt $((T0 + 390)) "$SVC" "$B" && ! asked || ok=0
tap_check "[service] grace overrides [global]; the module argument overrides both" [ $ok = 1 ]

# 12: exempt group members are never asked
groupadd "$GROUP" || tap_bail "groupadd failed"
C=stepupgc$$
useradd -M -N -G "$GROUP" -s /usr/sbin/nologin "$C" || tap_bail "useradd $C failed"
USERS+=("$C")
write_conf "$T/exempt.conf" "exempt_groups = $GROUP"
printf 'auth required %s config=%s\n' "$STEPUP_MODULE" "$T/exempt.conf" >"/etc/pam.d/$SERVICE-exempt"
SERVICE_FILES+=("/etc/pam.d/$SERVICE-exempt")
member_exempt_group_not_asked() {
	pt $((T0 + 400)) "$SERVICE-exempt" "$C" && ! asked &&
		refused $((T0 + 400)) "$SERVICE-exempt" "$A"
}
tap_check "a member of an exempt group is not asked (others are)" member_exempt_group_not_asked

# 13: stepupctl grace list and revoke
pt $((T0 + 420)) "$MAIN" "$A" "$(code_at $((T0 + 420)) "$SA")"
list=$(at_time $((T0 + 425)) "$STEPUPCTL" -c "$CONF" grace list "$A" 2>&1)
revoke=$("$STEPUPCTL" -c "$CONF" grace revoke "$A" 2>&1)
printf '%s\n' "$list" "$revoke" | tap_diag_stream
grace_list_shows_record_valid() {
	[[ $list == *"$A  totp  valid"* ]] && [[ $revoke == "revoked 1 grace record(s) of $A" ]] &&
		refused $((T0 + 430)) "$MAIN" "$A" && asked
}
tap_check "grace list shows the record valid; revoke removes it; then asked again" \
	grace_list_shows_record_valid

# 14: where no session can be seen (a PID namespace entered from outside,
# getsid() = 0) there is nothing to bind to: success is not remembered.
PIDNS=(unshare --pid --fork --mount-proc)
no_visible_session_not_remembered() {
	at_time $((T0 + 480)) "${PIDNS[@]}" pamtester "$MAIN" "$A" authenticate \
		<<<"$(code_at $((T0 + 480)) "$SA")" >"$T/pt.out" 2>&1 &&
		[ -z "$(record_of "$A")" ] &&
		! at_time $((T0 + 485)) "${PIDNS[@]}" pamtester "$MAIN" "$A" authenticate \
			</dev/null >"$T/pt.out" 2>&1 && asked
}
tap_check "no visible session (PID namespace): success accepted, not remembered, asked again" \
	no_visible_session_not_remembered

# 15: one root daemon serving many remote clients is one session: grace
# earned by a client from one host is not honoured for a client from another
printf '%s\n' "$(code_at $((T0 + 540)) "$SA")" >"$T/pt.in"
at_time $((T0 + 540)) pamtester -I rhost=client-a.example "$MAIN" "$A" authenticate \
	<"$T/pt.in" >"$T/pt.out" 2>&1
first=$?
at_time $((T0 + 545)) pamtester -I rhost=client-a.example "$MAIN" "$A" authenticate \
	</dev/null >"$T/pt.out" 2>&1
same=$?
same_asked=$(asked && echo yes || echo no)
at_time $((T0 + 546)) pamtester -I rhost=client-b.example "$MAIN" "$A" authenticate \
	</dev/null >"$T/pt.out" 2>&1
other=$?
grace_earned_from_rhost_client() { [ "$first" = 0 ] && [ "$same" = 0 ] && [ "$same_asked" = no ] && [ "$other" != 0 ] && asked; }
tap_check --not-ok "grace earned from rhost client-a holds for client-a, not for client-b ($first/$same/$same_asked/$other)" \
	"grace earned from rhost client-a holds for client-a, not for client-b" \
	grace_earned_from_rhost_client

# 16: no record is written into a grace_dir others can read (its names say
# who holds grace in which session)
"$STEPUPCTL" -c "$CONF" grace revoke "$A" >/dev/null 2>&1
chmod 0755 "$GRACE"
pt $((T0 + 600)) "$MAIN" "$A" "$(code_at $((T0 + 600)) "$SA")"
ok_open=$?
written=$(record_of "$A")
chmod 0700 "$GRACE"
grace_dir_readable_no_record() { [ "$ok_open" = 0 ] && [ -z "$written" ]; }
tap_check "grace_dir readable by others: the step-up succeeds, but no record is written" \
	grace_dir_readable_no_record

# --- grace is per service (grace_from) ---------------------------------------------
# Service A earns grace; B has the default (no grace_from), C names A, D
# says *. No lockout: wrong answers below must not lock E out.
write_conf "$T/from.conf" "grace = 120" "methods = totp" "lockout_attempts = 0" \
	"[service $SERVICE-fc]" "grace_from = $SERVICE-fa" \
	"[service $SERVICE-fd]" "grace_from = *"
from_service() { # NAME: /etc/pam.d/$SERVICE-NAME under from.conf
	local f=/etc/pam.d/$SERVICE-$1
	printf 'auth required %s config=%s\naccount required pam_permit.so\n' \
		"$STEPUP_MODULE" "$T/from.conf" >"$f"
	SERVICE_FILES+=("$f")
}
for x in fa fb fc fd; do from_service $x; done
FA=$SERVICE-fa FB=$SERVICE-fb FC=$SERVICE-fc FD=$SERVICE-fd
E=stepupge$$
new_user "$E"
SE=$(secret_for "$E")
T1=$(mid_step $((T0 + 700)))
rec_of() { ls "$GRACE/$1":*":service=$2" 2>/dev/null | head -1; } # USER SERVICE
ctl_list() { at_time "$1" "$STEPUPCTL" -c "$T/from.conf" grace list "$E" 2>&1; }

# 17: earned in A; B (no grace_from) asks, and a wrong answer fails; A
# itself still lets E through
pt "$T1" "$FA" "$E" "$(code_at "$T1" "$SE")"
earned=$?
RA=$(rec_of "$E" "$FA")
ok=1
{ [ "$earned" = 0 ] && [ -n "$RA" ]; } || ok=0
refused $((T1 + 5)) "$FB" "$E" "$(wrong_code "$(code_at $((T1 + 5)) "$SE")")" && asked || ok=0
[ -z "$(rec_of "$E" "$FB")" ] || ok=0
pt $((T1 + 6)) "$FA" "$E" && ! asked || ok=0
tap_check "grace earned in service A is not honoured by B by default: B asks, a wrong code fails; A passes" \
	[ $ok = 1 ]

# 18-19: grace_from = A lets C through on A's grace; grace_from = * lets D
# through; neither writes a record of its own
grace_from_a_honours_a() { pt $((T1 + 10)) "$FC" "$E" && ! asked && [ -z "$(rec_of "$E" "$FC")" ]; }
tap_check "a service whose section says grace_from = A honours A's grace: no prompt" \
	grace_from_a_honours_a
grace_from_honours_grace_any() { pt $((T1 + 11)) "$FD" "$E" && ! asked && [ -z "$(rec_of "$E" "$FD")" ]; }
tap_check "grace_from = * honours the grace of any service: no prompt" grace_from_honours_grace_any

# 20: one record per service: a step-up in B keeps A's; both pass, list
# shows both services, revoke removes both
pt $((T1 + 40)) "$FB" "$E" "$(code_at $((T1 + 40)) "$SE")"
ok=1
[ -n "$(rec_of "$E" "$FB")" ] && [ -n "$(rec_of "$E" "$FA")" ] || ok=0
pt $((T1 + 45)) "$FA" "$E" && ! asked || ok=0
pt $((T1 + 46)) "$FB" "$E" && ! asked || ok=0
list=$(ctl_list $((T1 + 47)))
printf '%s\n' "$list" | tap_diag_stream
[[ $list == *"$E  totp  valid  until "*"  service=$FA  "* ]] || ok=0
[[ $list == *"$E  totp  valid  until "*"  service=$FB  "* ]] || ok=0
cp -p "$(rec_of "$E" "$FA")" "$T/fa.rec"
cp -p "$(rec_of "$E" "$FB")" "$T/fb.rec"
revoke=$("$STEPUPCTL" -c "$T/from.conf" grace revoke "$E" 2>&1)
[ "$revoke" = "revoked 2 grace record(s) of $E" ] || ok=0
[ -z "$(ls "$GRACE" | grep "^$E:")" ] || ok=0
tap_check --not-ok "one record per service: steps up in A and B keep both; list shows each service; revoke removes all ($revoke)" \
	"one record per service: steps up in A and B keep both; list shows each service; revoke removes all" \
	[ $ok = 1 ]

# 21: the service is under the HMAC: A's record under B's name is A's
# grace (refused by B); its service field edited to B: bad HMAC, refused;
# the same edit signed with the host key: honoured (the MAC was the reason)
B_FILE=$GRACE/$E:$(sed -n 's/^binding=//p' "$T/fa.rec"):service=$FB
ok=1
cp -p "$T/fa.rec" "$B_FILE"
refused $((T1 + 50)) "$FB" "$E" && asked || ok=0
cp -p "$T/fa.rec" "$B_FILE"
sed -i "s/^service=.*/service=$FB/" "$B_FILE"
refused $((T1 + 51)) "$FB" "$E" && asked || ok=0
cp -p "$T/fa.rec" "$B_FILE"
resign "$B_FILE" "service=$FB"
pt $((T1 + 52)) "$FB" "$E" && ! asked || ok=0
rm -f "$B_FILE"
tap_check "the record's service is covered by its HMAC: A's record as B's is refused, edited to B refused, re-signed honoured" \
	[ $ok = 1 ]

# 22: a record from before grace was per service (USER:BINDING, no service
# field, signed as then) is never honoured, not even under *; grace list
# shows it invalid and revoke removes it
OLD=$GRACE/$E:$(sed -n 's/^binding=//p' "$T/fa.rec")
cp -p "$T/fa.rec" "$OLD"
resign "$OLD" -service
ok=1
refused $((T1 + 60)) "$FA" "$E" && asked || ok=0
refused $((T1 + 61)) "$FD" "$E" && asked || ok=0
[ -e "$OLD" ] || ok=0
list=$(ctl_list $((T1 + 62)))
printf '%s\n' "$list" | tap_diag_stream
[[ $list == *"$E  totp  invalid  until "*"  service=-  "*"a field is missing"* ]] || ok=0
revoke=$("$STEPUPCTL" -c "$T/from.conf" grace revoke "$E" 2>&1)
[ "$revoke" = "revoked 1 grace record(s) of $E" ] && [ ! -e "$OLD" ] || ok=0
tap_check --not-ok "an old record without a service is not honoured (not even under *); listed invalid; revoked ($revoke)" \
	"an old record without a service is not honoured (not even under *); listed invalid; revoked" \
	[ $ok = 1 ]
