#!/bin/bash
# User names are canonicalised through NSS (docs/decisions.md): a PAM_USER
# or a stepupctl argument that the user database resolves to another name
# uses that name's record.  The files backend never answers with another
# spelling, so this test uses tests/nss/nss_stepuptest.c, which resolves
# STEPUP-ALIAS to the account stepup-canon.
#
# How the NSS module is loaded without touching the host: the script runs
# itself again in a private mount namespace (unshare --mount --propagation
# private), and only there bind-mounts a copy of /etc/nsswitch.conf whose
# passwd line is "files stepuptest".  glibc loads the module with
# dlopen("libnss_stepuptest.so.2"), which searches LD_LIBRARY_PATH in
# programs that are not setuid (getent, stepupctl, pamtester), so the library
# stays in the private tree and LD_LIBRARY_PATH points there.  The service
# files go into a private copy of /etc/pam.d, bind-mounted the same way, so
# no file is ever created in the host's /etc/pam.d either.  The last case,
# run outside the namespace, checks that the host saw none of it.
#
# The module's log lines are read from a syslog receiver on /dev/log. That
# path is made in the namespace only: /dev is replaced there by a directory
# of the tree holding bind mounts of the few device nodes the programs use,
# so the receiver's socket is created in the tree, never in the host's /dev.
#
# The module also answers for STEPUP-NSSERR with an error (UNAVAIL, EIO, a
# directory down), and for stepup-huge (and its alias STEPUP-HUGE) with an
# entry larger than 4096 bytes: the first must be refused as unavailable,
# never taken as "not enrolled"; the second must be found.
# shellcheck disable=SC2119 # install_traps is called without an exit hook
set -u

. "$TOP_SRCDIR/tests/lib.sh"

ALIAS=STEPUP-ALIAS
CANON=stepup-canon
NSSERR=STEPUP-NSSERR
HUGE=stepup-huge
HUGE_ALIAS=STEPUP-HUGE
INNER_TESTS=11 # the cases run in the namespace; the outer script adds one

# ============================================================================
# Outside: preconditions, the namespace, and the check that the host is as it
# was.
# ============================================================================
if [ -z "${STEPUP_CANONICAL_NS:-}" ]; then
	require_root
	if ! command -v unshare >/dev/null 2>&1; then
		echo "1..0 # SKIP unshare is not installed"
		exit 0
	fi
	if ! unshare --mount --propagation private true 2>/dev/null; then
		echo "1..0 # SKIP cannot create a mount namespace (unshare --mount failed)"
		exit 0
	fi
	require_env
	require_program pamtester oathtool getent timeout sha256sum findmnt python3
	NSS_LIB=$TOP_BUILDDIR/tests/nss/.libs/libnss_stepuptest.so
	[ -f "$NSS_LIB" ] || tap_bail "no $NSS_LIB (make check builds it)"
	if getent passwd "$ALIAS" >/dev/null 2>&1 || getent passwd "$CANON" >/dev/null 2>&1; then
		tap_bail "the host already knows $ALIAS or $CANON; this test needs both unknown"
	fi

	# What this test could leave behind.  Only its own names in /etc/pam.d:
	# pamtester.sh may add and remove files there at the same time (make -j).
	host_state() {
		sha256sum /etc/nsswitch.conf
		ls -d /etc/pam.d/stepup-canonical-* 2>/dev/null
		findmnt -rn -o TARGET | grep -E '^(/etc/nsswitch\.conf|/etc/pam\.d|/run/nscd|/dev(/.*)?)$'
		ls -la /dev/log 2>/dev/null
		getent passwd "$ALIAS" "$CANON" "$HUGE" "$HUGE_ALIAS" # nothing, exit 2
		echo "getent: $?"
	}

	tap_plan $((INNER_TESTS + 1))
	install_traps
	mkdir -p "$TOP_BUILDDIR/tests/tmp" || tap_bail "cannot create $TOP_BUILDDIR/tests/tmp"
	OUT=$(mktemp "$TOP_BUILDDIR/tests/tmp/canonical-out.XXXXXX") || tap_bail "mktemp failed"
	add_cleanup rm -f "'$OUT'" "'$OUT.before'" "'$OUT.after'"
	host_state >"$OUT.before" 2>&1

	STEPUP_CANONICAL_NS=1 STEPUP_HOST_MNTNS=$(readlink /proc/self/ns/mnt) \
		NSS_LIB=$NSS_LIB unshare --mount --propagation private -- \
		bash "$0" | tee "$OUT"
	inner_rc=${PIPESTATUS[0]}
	# The inner cases' results, so that the plan and the counts add up.
	TAP_RUN=$(grep -c -E '^(ok|not ok) ' "$OUT")
	TAP_FAILED=$(grep -c '^not ok ' "$OUT")
	[ "$inner_rc" -eq 0 ] || tap_diag "the namespace part exited $inner_rc"

	# --- 8. the host is untouched -------------------------------------------------
	host_state >"$OUT.after" 2>&1
	if cmp -s "$OUT.before" "$OUT.after"; then
		tap_ok "host untouched: nsswitch.conf, /etc/pam.d, mounts, $ALIAS unknown"
	else
		tap_not_ok "host untouched: nsswitch.conf, /etc/pam.d, mounts, $ALIAS unknown"
		tap_diag "$(diff "$OUT.before" "$OUT.after")"
	fi
	exit "$inner_rc"
fi

# ============================================================================
# Inside the private mount namespace.
# ============================================================================
# Never bind-mount over the host's /etc: refuse unless the namespace is new.
if [ "$(readlink /proc/self/ns/mnt)" = "${STEPUP_HOST_MNTNS:-}" ]; then
	echo "Bail out! not in a private mount namespace"
	exit 1
fi
TAP_PLANNED=$INNER_TESTS # the outer script printed the plan
install_traps
make_tree canonical
write_conf "$T/stepup-allow.conf" "missing = allow"
USERS=$T/etc/stepup/users
STATE=$T/var/lib/stepup/state

# The NSS module, found through LD_LIBRARY_PATH by every program run below.
mkdir -m 0755 "$T/nss" || tap_bail "mkdir $T/nss failed"
cp "$NSS_LIB" "$T/nss/libnss_stepuptest.so.2" || tap_bail "cannot copy $NSS_LIB"
export LD_LIBRARY_PATH=$T/nss

# nsswitch.conf with "passwd: files stepuptest", over the real one.
if grep -q '^passwd:' /etc/nsswitch.conf; then
	sed 's/^passwd:.*/passwd:         files stepuptest/' /etc/nsswitch.conf >"$T/nsswitch.conf"
else
	{ cat /etc/nsswitch.conf; echo "passwd:         files stepuptest"; } >"$T/nsswitch.conf"
fi
chmod 0644 "$T/nsswitch.conf"
add_cleanup umount /etc/nsswitch.conf
mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf || tap_bail "cannot bind-mount nsswitch.conf"
# A running nscd would answer with the host's configuration.
if [ -d /run/nscd ]; then
	add_cleanup umount /run/nscd
	mount -t tmpfs -o mode=0755 tmpfs /run/nscd || tap_bail "cannot hide /run/nscd"
fi

# The service files, in a private copy of /etc/pam.d.
SERVICE=stepup-canonical-$$
cp -a /etc/pam.d "$T/pam.d" || tap_bail "cannot copy /etc/pam.d"
render_service stepup "$T/pam.d/$SERVICE" "config=$CONF"
render_service stepup "$T/pam.d/$SERVICE-allow" "config=$T/stepup-allow.conf"
add_cleanup umount /etc/pam.d
mount --bind "$T/pam.d" /etc/pam.d || tap_bail "cannot bind-mount /etc/pam.d"

# /dev with a syslog receiver at /dev/log, in here only (see the top). Bind
# mounts of single nodes, not of directories: removing the tree can never
# reach into the host's /dev.
LOG=$T/syslog.txt
: >"$LOG"
mkdir -m 0755 "$T/dev" || tap_bail "mkdir $T/dev failed"
for node in null zero full random urandom tty; do
	[ -e "/dev/$node" ] || continue
	: >"$T/dev/$node"
	mount --bind "/dev/$node" "$T/dev/$node" || tap_bail "cannot bind /dev/$node"
	add_cleanup umount "'$T/dev/$node'"
done
for link in fd stdin stdout stderr; do
	cp -P "/dev/$link" "$T/dev/$link" 2>/dev/null
done
mount --rbind "$T/dev" /dev || tap_bail "cannot bind-mount $T/dev over /dev"
add_cleanup umount -R /dev
python3 -u -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log"); os.chmod("/dev/log", 0o666)
with open(sys.argv[1], "a") as out:
    while True:
        out.write(s.recv(65536).decode(errors="replace").rstrip("\0\n") + "\n"); out.flush()
' "$LOG" &
RECEIVER=$!
add_cleanup kill "$RECEIVER"
for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
[ -S /dev/log ] || tap_bail "the syslog receiver did not start"
logged() { sleep 0.2; grep -qE -- "$1" "$LOG"; }

T0=$(mid_step 1700000000)

# --- 1. the NSS module answers, in here only -------------------------------------
got=$(getent passwd "$ALIAS")
tap_diag "getent passwd $ALIAS: $got"
getent_passwd_namespace() {
	[ "$got" = "$CANON:x:64999:64999:pam_stepup test account:/nonexistent:/usr/sbin/nologin" ] &&
		[ "$(getent passwd 64999 | cut -d: -f1)" = "$CANON" ] &&
		! getent passwd stepup-ghost >/dev/null
}
tap_check "getent passwd $ALIAS is $CANON in the namespace" getent_passwd_namespace

# --- 2. enroll ALIAS writes CANON's record ---------------------------------------------
S=$(secret_for "$CANON")
enroll "$ALIAS" "$S"
rc=$?
if [ "$rc" -eq 0 ] && [ -f "$USERS/$CANON" ] && [ ! -e "$USERS/$ALIAS" ] &&
	grep -qx "totp_secret=$S" "$USERS/$CANON" &&
	grep -qF "'$ALIAS' is '$CANON'" "$T/enroll.$ALIAS.out" &&
	! grep -q "no user" "$T/enroll.$ALIAS.out"; then
	tap_ok "stepupctl enroll $ALIAS writes the record of $CANON, with a note"
else
	tap_not_ok "stepupctl enroll $ALIAS writes the record of $CANON, with a note"
	tap_diag "stepupctl enroll exited $rc" "$(ls -l "$USERS")"
	tap_diag_stream <"$T/enroll.$ALIAS.out"
fi

# --- 3. pamtester as ALIAS uses CANON's record and state ---------------------------------
if [ -e "$STATE/$CANON" ]; then
	tap_not_ok "pamtester $ALIAS, right code: state of $CANON existed before"
elif pt "$T0" "$SERVICE" "$ALIAS" "$(code_at "$T0" "$S")" &&
	[ -f "$STATE/$CANON" ] && [ ! -e "$STATE/$ALIAS" ]; then
	tap_ok "pamtester $ALIAS, right code: accepted, state written for $CANON"
else
	tap_not_ok "pamtester $ALIAS, right code: accepted, state written for $CANON"
	tap_diag "$(ls -lA "$STATE")"
fi

# --- 4. control: missing=allow lets a name with no record through ------------------------
missing_allow_user_no_record() { pt "$T0" "$SERVICE-allow" stepup-ghost "" && ! grep -q "Verification code" "$T/pt.out"; }
tap_check "missing=allow: a user with no record is allowed without a prompt" \
	missing_allow_user_no_record

# --- 5. missing=allow: ALIAS is enrolled (as CANON), so a wrong code is refused ------------
wrong=$(code_at "$T0" "$S")
wrong=$(printf '%06d' $(((10#$wrong + 500000) % 1000000)))
for e in $((T0 - 30)) $((T0 + 30)); do
	[ "$wrong" = "$(code_at "$e" "$S")" ] && wrong=$(printf '%06d' $(((10#$wrong + 1) % 1000000)))
done
missing_allow_wrong_code() {
	refused "$T0" "$SERVICE-allow" "$ALIAS" "$wrong" "$wrong" "$wrong" &&
		grep -q "Verification code" "$T/pt.out" &&
		grep -q "Invalid verification code\." "$T/pt.out"
}
tap_check "missing=allow: $ALIAS with a wrong code is prompted and refused" missing_allow_wrong_code

# --- 6. status ALIAS shows CANON's enrolment --------------------------------------------
"$STEPUPCTL" -c "$CONF" status "$ALIAS" >"$T/status.out" 2>"$T/status.err"
rc=$?
"$STEPUPCTL" -c "$CONF" status "$CANON" >"$T/status-canon.out" 2>/dev/null
tap_diag_stream <"$T/status.out"
tap_diag_stream <"$T/status.err"
stepupctl_status_shows_enrolment() {
	[ "$rc" -eq 0 ] && grep -qx "user: $CANON" "$T/status.out" &&
		grep -qx "methods: totp" "$T/status.out" &&
		grep -q "^totp last code: " "$T/status.out" &&
		! grep -qx "totp last code: never" "$T/status.out" &&
		cmp -s "$T/status.out" "$T/status-canon.out" &&
		grep -qF "'$ALIAS' is '$CANON'" "$T/status.err"
}
tap_check "stepupctl status $ALIAS shows the enrolment of $CANON, last code included" \
	stepupctl_status_shows_enrolment

# --- 7. remove ALIAS removes CANON's record and state -----------------------------------
# Enrolled under the canonical name here, so the case does not lean on case 2.
enroll "$CANON" "$S" --force || tap_diag_stream <"$T/enroll.$CANON.out"
[ -f "$USERS/$CANON" ] || tap_diag "no record for $CANON before remove"
"$STEPUPCTL" -c "$CONF" remove "$ALIAS" >"$T/remove.out" 2>&1
rc=$?
tap_diag_stream <"$T/remove.out"
if [ "$rc" -eq 0 ] && [ ! -e "$USERS/$CANON" ] && [ ! -e "$STATE/$CANON" ] &&
	grep -qF "removed $CANON" "$T/remove.out"; then
	tap_ok "stepupctl remove $ALIAS removes the record and state of $CANON"
else
	tap_not_ok "stepupctl remove $ALIAS removes the record and state of $CANON"
	tap_diag "$(ls -lA "$USERS" "$STATE")"
fi

# --- 8. missing=allow: a name NSS cannot answer for is unavailable, not unknown ---------
# Without the distinction it would be "not enrolled" and allowed: it may be
# an enrolled user's alias while the directory is down.
if pt "$T0" "$SERVICE-allow" "$NSSERR" ""; then
	tap_not_ok "missing=allow: $NSSERR (NSS error) is refused as unavailable"
elif grep -q "Authentication service cannot retrieve authentication info" "$T/pt.out" &&
	! grep -q "Verification code" "$T/pt.out" &&
	logged "cannot look up user '$NSSERR' in the user database: Input/output error" &&
	logged "user=$NSSERR service=$SERVICE-allow .*result=error reason=userdb-unavailable"; then
	tap_ok "missing=allow: $NSSERR (NSS error) is refused as unavailable"
else
	tap_not_ok "missing=allow: $NSSERR (NSS error) is refused as unavailable"
	tap_diag_stream <"$LOG"
fi

# --- 9. stepupctl refuses a name NSS cannot answer for --------------------------------
ok=1
for cmd in "enroll $NSSERR totp --secret $S" "status $NSSERR" "remove $NSSERR"; do
	# shellcheck disable=SC2086 # the words of cmd
	"$STEPUPCTL" -c "$CONF" $cmd >"$T/nsserr.out" 2>&1
	rc=$?
	tap_diag_stream <"$T/nsserr.out"
	if [ "$rc" -ne 1 ] ||
		! grep -qF "cannot look up user '$NSSERR' in the user database: Input/output error" \
			"$T/nsserr.out"; then
		ok=0
		tap_diag "stepupctl $cmd exited $rc"
	fi
done
stepupctl_enroll_status_remove() { [ "$ok" = 1 ] && [ ! -e "$USERS/$NSSERR" ]; }
tap_check "stepupctl enroll, status, remove $NSSERR: refused with the NSS error, no record" \
	stepupctl_enroll_status_remove

# --- 10. an entry larger than 4096 bytes is found: enroll writes its record -------------
SH=$(secret_for "$HUGE")
if [ "$(getent passwd "$HUGE" | wc -c)" -gt 65536 ] && enroll "$HUGE" "$SH" &&
	[ -f "$USERS/$HUGE" ] && ! grep -q "no user" "$T/enroll.$HUGE.out"; then
	tap_ok "stepupctl enroll $HUGE (a 64 KiB entry) writes its record, as a known user"
else
	tap_not_ok "stepupctl enroll $HUGE (a 64 KiB entry) writes its record, as a known user"
	tap_diag_stream <"$T/enroll.$HUGE.out"
fi

# --- 11. missing=allow: the 64 KiB entry's alias finds its record, so it is prompted -----
# Given up on ERANGE, STEPUP-HUGE would be used as given: not enrolled, allowed.
right=$(code_at "$T0" "$SH")
if pt "$T0" "$SERVICE-allow" "$HUGE_ALIAS" "$right" && [ -f "$STATE/$HUGE" ] &&
	refused "$T0" "$SERVICE-allow" "$HUGE_ALIAS" "$(wrong_code "$right")" &&
	grep -q "Verification code" "$T/pt.out"; then
	tap_ok "missing=allow: $HUGE_ALIAS (a 64 KiB entry) is $HUGE: right code accepted, wrong one refused"
else
	tap_not_ok "missing=allow: $HUGE_ALIAS (a 64 KiB entry) is $HUGE: right code accepted, wrong one refused"
	tap_diag_stream <"$LOG"
fi
