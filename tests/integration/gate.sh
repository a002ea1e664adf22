#!/bin/bash
# stepup-gate end to end: a real sshd (OpenSSH, on a free loopback port, its
# own host key and config) runs the setuid gate as its ForceCommand, and the
# real ssh client connects with a key the test made.  Right, wrong and no
# codes; exempt commands, and plain ones no pattern names (asked); what a
# "session" is for grace over SSH (a new connection, and channels
# multiplexed over one connection); the environment and identity the
# command gets; LD_PRELOAD sent by the client; a copy of the gate that is
# not setuid.
#
# The gate's service name and config path are fixed: /etc/pam.d/stepup-gate
# and /etc/security/stepup.conf are written for the test and put back (or
# removed) on every exit path, as are the throwaway user and groups, the
# setuid copy of the gate and sshd itself (checked by the last case).
# TOTP codes come from oathtool on the real clock (sshd and the gate are
# processes of their own: no libfaketime); one case uses a TOTP code, the
# other step-ups use recovery codes, so the test never waits for a new step.
# shellcheck shell=bash disable=SC2016,SC2119
# (SC2016: remote commands are in single quotes on purpose; SC2119: lib.sh)
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program ssh ssh-keygen oathtool useradd userdel groupadd groupdel \
	usermod setpriv gcc findmnt python3 timeout pgrep
[ -x /usr/sbin/sshd ] || tap_bail "/usr/sbin/sshd is not installed (apt-get install openssh-server)"

GATE_BUILT=$(dirname "$STEPUPCTL")/stepup-gate
[ -x "$GATE_BUILT" ] || tap_bail "no stepup-gate at $GATE_BUILT (make tests/root.stamp)"

ID=$$
U=stepupgt$ID          # the user
G1=stepupgp$ID         # their primary group
G2=stepupgs$ID         # a supplementary group
PAM_FILE=/etc/pam.d/stepup-gate
GATE_CONF=/etc/security/stepup.conf
EVIL_MARK=/tmp/stepup-gate-evil-$ID
BACKUP=
PAM_HAD=unknown CONF_HAD=unknown
GDIR=
KDIR=
SSHD_PID=
MASTER_PID=
MADE_RUN_SSHD=0
USER_MADE=0 G1_MADE=0 G2_MADE=0

# back_up FILE NAME: a copy of FILE as $BACKUP/NAME; prints yes, or no when
# there is no FILE. put_back FILE NAME yes|no|unknown: the other way round
# (no: FILE is removed; unknown: never backed up, left alone).
back_up() {
	if [ -e "$1" ]; then
		cp -a "$1" "$BACKUP/$2" && echo yes
	else
		echo no
	fi
}
put_back() {
	case $3 in
	yes) cp -a "$BACKUP/$2" "$1" ;;
	no) rm -f "$1" ;;
	esac
}

# Every exit path: the ssh master and sshd first (their sessions are the
# user's processes), then the account, then the files under /etc.
cleanup() {
	local i
	if [ -n "$MASTER_PID" ]; then
		timeout 10 ssh -F /dev/null -S "$T/ctl" -O exit "$U@127.0.0.1" >/dev/null 2>&1
		kill "$MASTER_PID" 2>/dev/null
		MASTER_PID=
	fi
	if [ -n "$SSHD_PID" ]; then
		kill -TERM "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	fi
	if [ "$USER_MADE" = 1 ]; then
		# The connections' sessions end on their own once the clients have gone.
		for ((i = 0; i < 50; i++)); do
			pgrep -u "$U" >/dev/null 2>&1 || break
			sleep 0.1
		done
		userdel -r "$U" 2>/dev/null || userdel -r -f "$U" 2>/dev/null
	fi
	[ "$G2_MADE" = 1 ] && groupdel "$G2" 2>/dev/null
	[ "$G1_MADE" = 1 ] && groupdel "$G1" 2>/dev/null
	if [ -n "$BACKUP" ]; then
		put_back "$PAM_FILE" pam "$PAM_HAD"
		put_back "$GATE_CONF" conf "$CONF_HAD"
		rm -rf "$BACKUP"
	fi
	[ -n "$GDIR" ] && rm -rf "$GDIR"
	[ -n "$KDIR" ] && rm -rf "$KDIR"
	rm -f "$EVIL_MARK".*
	[ "$MADE_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
	return 0
}

tap_plan 16
install_traps
make_tree gate "grace = 300" "methods = totp, recovery, sshsk" "lockout_attempts = 0" "sshsk_timeout = 10"
make_sock_dir
add_cleanup cleanup

# --- /etc: the gate's PAM service and its fixed config -------------------------
BACKUP=$(mktemp -d /tmp/stepup-gate-backup.XXXXXX) || tap_bail "mktemp failed"
PAM_HAD=$(back_up "$PAM_FILE" pam) || tap_bail "cannot back up $PAM_FILE"
PAM_SUM=$(sha256sum "$PAM_FILE" 2>/dev/null)
CONF_HAD=$(back_up "$GATE_CONF" conf) || tap_bail "cannot back up $GATE_CONF"
CONF_SUM=$(sha256sum "$GATE_CONF" 2>/dev/null)

# The session line only keeps the stack self-contained (no fallback to
# /etc/pam.d/other) should the gate ever open a session.
printf 'auth required %s config=%s\naccount required pam_permit.so\nsession required pam_permit.so\n' \
	"$STEPUP_MODULE" "$CONF" >"$PAM_FILE"
chown root:root "$PAM_FILE" && chmod 0644 "$PAM_FILE"
{
	cat "$CONF"
	echo
	echo "[gate]"
	echo "exempt_command = git-upload-pack *"
	echo "exempt_command = echo exempt*"
} >"$GATE_CONF"
chown root:root "$GATE_CONF" && chmod 0644 "$GATE_CONF"

# --- the user ---------------------------------------------------------------------
groupadd "$G1" || tap_bail "groupadd $G1 failed"
G1_MADE=1
groupadd "$G2" || tap_bail "groupadd $G2 failed"
G2_MADE=1
useradd -m -g "$G1" -G "$G2" -s /bin/bash "$U" || tap_bail "useradd $U failed"
USER_MADE=1
# Not locked ("!"), no password either: sshd refuses locked accounts when
# it does not use PAM (the fallback below).
usermod -p '*' "$U" || tap_bail "usermod -p failed"
UID_U=$(id -u "$U") GID1=$(getent group "$G1" | cut -d: -f3) GID2=$(getent group "$G2" | cut -d: -f3)
HOME_U=$(getent passwd "$U" | cut -d: -f6)
SECRET=$(secret_for "$U")
enroll "$U" "$SECRET" || tap_bail "enroll failed: $(cat "$T/enroll.$U.out")"
"$STEPUPCTL" -c "$CONF" recovery "$U" >"$T/recovery.out" 2>&1 ||
	tap_bail "stepupctl recovery failed: $(cat "$T/recovery.out")"
mapfile -t RECOVERY < <(awk '$1 ~ /^[0-9]+\.$/ && $2 ~ /^[a-z0-9]+-[a-z0-9]+-[a-z0-9]+$/ { print $2 }' "$T/recovery.out")
[ "${#RECOVERY[@]}" -ge 6 ] || tap_bail "no recovery codes in: $(cat "$T/recovery.out")"
next_recovery() { # sets CODE to an unused recovery code
	CODE=${RECOVERY[0]}
	RECOVERY=("${RECOVERY[@]:1}")
}

# --- the gate, setuid root where setuid works --------------------------------------
# Not in the build tree: the user must reach it, and the mount must honour
# the setuid bit.
for base in /usr/local/lib /var/tmp; do
	opts=$(findmnt -no OPTIONS --target "$base" 2>/dev/null) || continue
	case ",$opts," in *,nosuid,*) continue ;; esac
	GDIR=$(mktemp -d "$base/stepup-gate-test.XXXXXX") || continue
	break
done
[ -n "$GDIR" ] || tap_bail "no directory on a filesystem without nosuid (tried /usr/local/lib, /var/tmp)"
chown root:root "$GDIR" && chmod 0755 "$GDIR"
d=$GDIR
while [ "$d" != / ]; do
	d=$(dirname "$d")
	[ $((8#$(stat -c %a "$d") & 8#001)) -ne 0 ] || tap_bail "$d cannot be traversed by others"
done
GATE=$GDIR/stepup-gate
NOSUID_GATE=$GDIR/stepup-gate-nosuid
install -o root -g root -m 4755 "$GATE_BUILT" "$GATE" || tap_bail "cannot install $GATE"
install -o root -g root -m 0755 "$GATE_BUILT" "$NOSUID_GATE" || tap_bail "cannot install $NOSUID_GATE"
[ "$(stat -c '%a %u' "$GATE")" = "4755 0" ] || tap_bail "$GATE is not setuid root: $(stat -c '%a %U' "$GATE")"
tap_diag "gate copy: $GATE (mount: $(findmnt -no OPTIONS --target "$GDIR"))"

# --- keys and sshd --------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C stepup-gate-host -f "$T/host_key" >/dev/null ||
	tap_bail "ssh-keygen (host key) failed"
ssh-keygen -q -t ed25519 -N '' -C "stepup-gate-$U" -f "$T/client_key" >/dev/null ||
	tap_bail "ssh-keygen (client key) failed"
chmod 0600 "$T/host_key" "$T/client_key"
# sshd's StrictModes refuses an authorized_keys file below a directory
# others may write, sticky or not (/tmp, where the build tree may be): the
# keys go where every ancestor is root's and 0755.
KDIR=$(mktemp -d /etc/ssh/stepup-gate-test.XXXXXX) || tap_bail "mktemp under /etc/ssh failed"
chmod 0755 "$KDIR"
install -o root -g root -m 0644 "$T/client_key.pub" "$KDIR/$U"
if [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd && MADE_RUN_SSHD=1
fi
PORT=$(free_port) || tap_bail "no free port"

write_sshd_config() { # yes|no: UsePAM
	cat >"$T/sshd_config" <<EOF
# written by tests/integration/gate.sh
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/host_key
PidFile $T/sshd.pid
AuthorizedKeysFile $KDIR/%u
StrictModes yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitRootLogin no
AllowUsers $U
UsePAM $1
ForceCommand $GATE
AcceptEnv LANG LC_* LD_PRELOAD LD_LIBRARY_PATH EVIL_VAR
PermitUserEnvironment no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding yes
PermitTunnel no
PrintMotd no
PrintLastLog no
UseDNS no
LogLevel VERBOSE
EOF
	chmod 0644 "$T/sshd_config"
}

start_sshd() {
	local i
	/usr/sbin/sshd -t -f "$T/sshd_config" >"$T/sshd-t.out" 2>&1 ||
		tap_bail "sshd rejects its config: $(cat "$T/sshd-t.out")"
	/usr/sbin/sshd -D -e -f "$T/sshd_config" </dev/null >>"$T/sshd.log" 2>&1 &
	SSHD_PID=$!
	for ((i = 0; i < 100; i++)); do
		kill -0 "$SSHD_PID" 2>/dev/null || break
		if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	tap_bail "sshd did not start listening on 127.0.0.1:$PORT: $(tail -20 "$T/sshd.log")"
}

stop_sshd() {
	kill -TERM "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
}

SSH_OPTS=(-F /dev/null -i "$T/client_key" -p "$PORT"
	-o StrictHostKeyChecking=no -o "UserKnownHostsFile=$T/known_hosts"
	-o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none
	-o ConnectTimeout=10 -o LogLevel=ERROR -o RequestTTY=no
	-o ForwardAgent=no -o ForwardX11=no)

# ssh_run NAME INPUT COMMAND [ssh option...]: COMMAND through ssh as the
# user, INPUT on stdin as one line ("@null": stdin is /dev/null).  Output in
# $T/NAME.out and $T/NAME.err, the exit status in $T/NAME.rc and returned.
ssh_run() {
	local name=$1 input=$2 cmd=$3 rc
	shift 3
	if [ "$input" = @null ]; then
		timeout -k 5 60 ssh "${SSH_OPTS[@]}" "$@" "$U@127.0.0.1" "$cmd" \
			</dev/null >"$T/$name.out" 2>"$T/$name.err"
	else
		printf '%s\n' "$input" | timeout -k 5 60 ssh "${SSH_OPTS[@]}" "$@" "$U@127.0.0.1" "$cmd" \
			>"$T/$name.out" 2>"$T/$name.err"
	fi
	rc=$?
	echo "$rc" >"$T/$name.rc"
	printf '$ ssh %s %s@127.0.0.1 %q   # stdin: %s\n' "$*" "$U" "$cmd" "${input:-<empty line>}" \
		>"$T/$name.cmd"
	return "$rc"
}

# show NAME...: the runs' transcripts (and sshd's latest lines) as TAP
# diagnostics, for a failed case.
# transcript NAME...: each run's command, exit status, stdout and stderr
transcript() {
	local name
	for name in "$@"; do
		{
			cat "$T/$name.cmd" 2>/dev/null
			echo "exit status: $(cat "$T/$name.rc" 2>/dev/null)"
			echo "stdout:"
			sed 's/^/  /' "$T/$name.out" 2>/dev/null
			echo "stderr:"
			sed 's/^/  /' "$T/$name.err" 2>/dev/null
		} | tap_diag_stream
	done
}
# show NAME...: the transcripts and the end of sshd's log (a failed case)
show() {
	transcript "$@"
	{ echo "sshd log (last 15 lines):"; tail -15 "$T/sshd.log" | sed 's/^/  /'; } | tap_diag_stream
}

rc_of() { cat "$T/$1.rc"; }
asked() { grep -qF "Verification code" "$T/$1.err"; }
gate_lines() { grep -c '^stepup-gate: ' "$T/$1.err"; }
# verdict DESCRIPTION CONDITION-STATUS NAME...: ok, or not ok with the transcripts
verdict() {
	local desc=$1 status=$2
	shift 2
	if [ "$status" = 0 ]; then
		tap_ok "$desc"
	else
		tap_not_ok "$desc"
		show "$@"
	fi
}

# Start sshd with PAM (Debian's /etc/pam.d/sshd: pam_loginuid gives each
# connection an audit session where the kernel has audit); where sshd
# cannot open a PAM session (some containers), without it.
USEPAM=yes
write_sshd_config yes
start_sshd
ssh_run probe @null 'echo exempt-probe'
if [ "$(rc_of probe)" = 255 ]; then
	tap_diag "sshd with UsePAM yes did not let the user in; trying UsePAM no:"
	show probe
	stop_sshd
	USEPAM=no
	write_sshd_config no
	start_sshd
	ssh_run probe @null 'echo exempt-probe'
fi
if [ "$(rc_of probe)" = 255 ]; then
	show probe
	tap_bail "ssh cannot log in to the test sshd (UsePAM yes and no)"
fi
tap_diag "sshd on 127.0.0.1:$PORT, UsePAM $USEPAM"

# --- a: the right TOTP code --------------------------------------------------------
ssh_run a "$(code_at "$(date +%s)" "$SECRET")" \
	'echo hello; echo "sessionid=$(cat /proc/self/sessionid)"; exit 7'
[ "$(rc_of a)" = 7 ] && [ "$(head -1 "$T/a.out")" = hello ] && asked a
verdict "a: the right TOTP code: asked, the command runs as sent, its exit status (7) is ssh's" $? a
SID_A=$(sed -n 's/^sessionid=//p' "$T/a.out")

# --- b: a wrong code ------------------------------------------------------------------
rm -f "$HOME_U/marker-b"
ssh_run b "$(wrong_code "$(code_at "$(date +%s)" "$SECRET")")" 'touch ~/marker-b; echo hello'
[ "$(rc_of b)" = 1 ] && asked b && [ ! -e "$HOME_U/marker-b" ] && ! grep -q hello "$T/b.out" &&
	[ "$(gate_lines b)" = 1 ]
verdict "b: a wrong code: exit status 1, one 'stepup-gate:' line, the command did not run" $? b

# --- c: an exempt command -------------------------------------------------------------
ssh_run c @null 'echo exempt-ok'
[ "$(rc_of c)" = 0 ] && [ "$(cat "$T/c.out")" = exempt-ok ] && ! asked c && [ "$(gate_lines c)" = 0 ]
verdict "c: an exempt command (echo exempt*) runs without a prompt" $? c
# what a user sees, kept in the log whatever the outcome
transcript a b c

# c2: a command that matches an exempt pattern but is more than plain words
# to the shell (the pattern "echo exempt*" matches all of these) must step
# up: otherwise "exempt-x; anything" would run anything.
st=0
for cmd in 'echo exempt-x; echo BYPASS' 'echo exempt-x && echo BYPASS' \
	'echo exempt-x | sed s/x/BYPASS/' 'echo exempt-$(echo BYPASS)' \
	'echo exempt-`echo BYPASS`' $'echo exempt-x\necho BYPASS' 'echo exempt-x > ~/marker-c2'; do
	rm -f "$HOME_U/marker-c2"
	ssh_run c2 "$(wrong_code "$(code_at "$(date +%s)" "$SECRET")")" "$cmd"
	if ! { [ "$(rc_of c2)" = 1 ] && asked c2 && ! grep -q BYPASS "$T/c2.out" &&
		[ ! -e "$HOME_U/marker-c2" ]; }; then
		tap_diag "not stepped up: $cmd"
		show c2
		st=1
	fi
done
verdict "c2: an exempt pattern never lets shell syntax through (; && | \$( \` newline >): asked, refused, nothing run" $st

# c3, c4: a command of plain words that no exempt_command pattern names is
# asked for like any other: the patterns exempt what they name, nothing
# more. "echo exempt*" names echo with other words, not this command.
# (A gate that took "no pattern names it" for "exempt" ran every plain
# command without a step-up, and failed both.)
MARK_C3=$HOME_U/marker-c3
rm -f "$MARK_C3"
ssh_run c3 "$(wrong_code "$(code_at "$(date +%s)" "$SECRET")")" "touch $MARK_C3"
[ "$(rc_of c3)" = 1 ] && asked c3 && [ ! -e "$MARK_C3" ] && [ "$(gate_lines c3)" = 1 ]
verdict "c3: a plain command no exempt pattern names (touch FILE), a wrong code: asked, refused, it did not run" $? c3
next_recovery
ssh_run c4 "$CODE" "touch $MARK_C3"
[ "$(rc_of c4)" = 0 ] && asked c4 && [ -e "$MARK_C3" ]
verdict "c4: the same command, the right code (a recovery code: a's TOTP step is used): asked, it runs" $? c4

# --- d: grace over SSH ------------------------------------------------------------------
# A new connection is a new login session (a new audit session where
# pam_loginuid sets one, else a new session leader): the grace earned in a
# is not its.
ssh_run d1 "$(wrong_code "$(code_at "$(date +%s)" "$SECRET")")" 'echo hello-d; echo "sessionid=$(cat /proc/self/sessionid)"'
[ "$(rc_of d1)" = 1 ] && asked d1 && ! grep -q hello-d "$T/d1.out"
verdict "d: grace earned in one connection (sessionid ${SID_A:-?}) is not honoured in a new connection: asked again" $? a d1

# Channels multiplexed over one connection: they share the connection's
# audit session if it has one (grace honoured), else each channel is a
# session of its own (asked again).
timeout -k 5 30 ssh "${SSH_OPTS[@]}" -M -S "$T/ctl" -o ControlPersist=no -fN "$U@127.0.0.1" \
	>"$T/master.out" 2>&1
MASTER_PID=$(timeout 10 ssh -F /dev/null -S "$T/ctl" -O check "$U@127.0.0.1" 2>&1 | sed -n 's/.*(pid=\([0-9]*\)).*/\1/p')
if [ -z "$MASTER_PID" ]; then
	tap_not_ok "d: multiplexed channels (no ssh master: $(cat "$T/master.out"))"
else
	next_recovery
	ssh_run mux1 "$CODE" 'cat /proc/self/sessionid; echo; echo mux-one' -S "$T/ctl" -o ControlMaster=no
	ssh_run mux2 @null 'echo mux-two' -S "$T/ctl" -o ControlMaster=no
	SID=$(head -1 "$T/mux1.out")
	ok=1
	[ "$(rc_of mux1)" = 0 ] && grep -qx mux-one "$T/mux1.out" && asked mux1 || ok=0
	if [ "$SID" = 4294967295 ]; then
		branch="no audit session: each channel is its own session, the second channel is asked"
		[ "$(rc_of mux2)" = 1 ] && asked mux2 && ! grep -q mux-two "$T/mux2.out" || ok=0
	elif [[ $SID =~ ^[0-9]+$ ]]; then
		branch="audit session $SID shared by the channels: the second channel is not asked"
		[ "$(rc_of mux2)" = 0 ] && grep -qx mux-two "$T/mux2.out" && ! asked mux2 || ok=0
	else
		branch="sessionid unreadable: '$SID'"
		ok=0
	fi
	[ $ok = 1 ]
	verdict "d: multiplexed channels ($branch)" $? mux1 mux2
	timeout 10 ssh -F /dev/null -S "$T/ctl" -O exit "$U@127.0.0.1" >/dev/null 2>&1
	kill "$MASTER_PID" 2>/dev/null
	MASTER_PID=
fi

# --- e: the environment -------------------------------------------------------------
# The shell's own environment as the gate handed it (/proc/$$/environ: not
# what bash adds, PWD, SHLVL, _), with dangerous variables sent by the
# client and accepted by sshd.
next_recovery
ssh_run e "$CODE" 'tr "\0" "\n" </proc/$$/environ; exit 0' \
	-o "SetEnv=LD_PRELOAD=/nonexistent/evil.so LD_LIBRARY_PATH=/nonexistent/lib EVIL_VAR=1 LANG=C.UTF-8"
check_env() {
	local line name value bad=() seen=" "
	[ "$(rc_of e)" = 0 ] || { echo "exit status $(rc_of e)"; return 1; }
	[ -s "$T/e.out" ] || { echo "no environment printed"; return 1; }
	while IFS= read -r line; do
		name=${line%%=*} value=${line#*=}
		case $name in
		TERM | LANG | LC_* | TZ | SSH_CLIENT | SSH_CONNECTION | SSH_TTY | SSH_AUTH_SOCK | \
			SSH_ORIGINAL_COMMAND | HOME | USER | LOGNAME | SHELL | PATH) ;;
		*) bad+=("not allowed: $line") ;;
		esac
		[[ $seen == *" $name "* ]] && bad+=("twice: $name")
		seen+="$name "
		printf -v "ENV_$(echo "$name" | tr -c 'A-Za-z0-9_\n' _)" '%s' "$value"
	done <"$T/e.out"
	for name in LD_PRELOAD LD_LIBRARY_PATH EVIL_VAR; do
		[[ $seen == *" $name "* ]] && bad+=("present: $name")
	done
	[ "${ENV_LANG:-}" = C.UTF-8 ] || bad+=("LANG='${ENV_LANG:-}', not C.UTF-8")
	[ "${ENV_HOME:-}" = "$HOME_U" ] || bad+=("HOME='${ENV_HOME:-}'")
	[ "${ENV_USER:-}" = "$U" ] || bad+=("USER='${ENV_USER:-}'")
	[ "${ENV_LOGNAME:-}" = "$U" ] || bad+=("LOGNAME='${ENV_LOGNAME:-}'")
	[ "${ENV_SHELL:-}" = /bin/bash ] || bad+=("SHELL='${ENV_SHELL:-}'")
	[ "${ENV_PATH:-}" = /usr/local/bin:/usr/bin:/bin ] || bad+=("PATH='${ENV_PATH:-}'")
	[ "${#bad[@]}" = 0 ] && return 0
	printf '%s\n' "${bad[@]}"
	return 1
}
why=$(check_env)
st=$?
[ $st = 0 ] || tap_diag "environment: $why"
verdict "e: the command's environment is the allow-list only (LD_PRELOAD, LD_LIBRARY_PATH, EVIL_VAR dropped; LANG kept; HOME, USER, LOGNAME, SHELL, PATH from passwd)" $st e

# --- f: identity -------------------------------------------------------------------
next_recovery
ssh_run f "$CODE" 'id -u; id -g; id -G; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
check_identity() {
	local want_groups got
	want_groups=$(printf '%s\n' "$GID1" "$GID2" | sort -n -u | tr '\n' ' ')
	[ "$(rc_of f)" = 0 ] || { echo "exit status $(rc_of f)"; return 1; }
	[ "$(sed -n 1p "$T/f.out")" = "$UID_U" ] || { echo "id -u is not $UID_U"; return 1; }
	[ "$(sed -n 2p "$T/f.out")" = "$GID1" ] || { echo "id -g is not $GID1"; return 1; }
	got=$(sed -n 3p "$T/f.out" | tr ' ' '\n' | sort -n -u | tr '\n' ' ')
	[ "$got" = "$want_groups" ] || { echo "id -G is '$got', not '$want_groups'"; return 1; }
	[ "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "$T/f.out")" = "$UID_U $UID_U $UID_U $UID_U" ] ||
		{ echo "Uid line: real, effective, saved, fs not all $UID_U"; return 1; }
	[ "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "$T/f.out")" = "$GID1 $GID1 $GID1 $GID1" ] ||
		{ echo "Gid line: real, effective, saved, fs not all $GID1"; return 1; }
	got=$(awk '$1 == "Groups:" { for (i = 2; i <= NF; i++) print $i }' "$T/f.out" | sort -n -u | tr '\n' ' ')
	[ "$got" = "$want_groups" ] || { echo "Groups line is '$got', not '$want_groups'"; return 1; }
	return 0
}
why=$(check_identity)
st=$?
[ $st = 0 ] || tap_diag "identity: $why"
verdict "f: the command runs as uid $UID_U, gid $GID1, groups $GID1 $GID2 only (no root id, none saved)" $st f

# --- g: LD_PRELOAD sent by the client -----------------------------------------------------
# A library whose constructor leaves a file naming the process that loaded
# it.  sshd hands the variable (AcceptEnv) to the user's own shell, which
# runs the ForceCommand: that shell may load it (it is the user's own
# process, before the gate; this is noted, not counted).  Neither the
# setuid gate nor the command after it may.
cat >"$T/evil.c" <<EOF
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void)
{
	char cmd[512], path[256];
	ssize_t n;
	int fd = open("/proc/self/cmdline", O_RDONLY);
	FILE *f;

	n = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : 0;
	if (n < 0)
		n = 0;
	cmd[n] = '\0';
	for (ssize_t i = 0; i + 1 < n; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	snprintf(path, sizeof(path), "%s.%d", "$EVIL_MARK", (int)getpid());
	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "ruid=%d euid=%d cmdline=%s\n", (int)getuid(), (int)geteuid(), cmd);
		fclose(f);
	}
}
EOF
gcc -shared -fPIC -o "$GDIR/evil.so" "$T/evil.c" >"$T/gcc.out" 2>&1 && chmod 0755 "$GDIR/evil.so"
rm -f "$EVIL_MARK".*
# It works: loaded into an ordinary program, it leaves its file.
if LD_PRELOAD=$GDIR/evil.so /bin/true && compgen -G "$EVIL_MARK.*" >/dev/null; then
	rm -f "$EVIL_MARK".*
	ssh_run g @null 'echo exempt-g' -o "SetEnv=LD_PRELOAD=$GDIR/evil.so"
	pre_gate=0 other=()
	for f in "$EVIL_MARK".*; do
		[ -e "$f" ] || continue
		line=$(cat "$f")
		if [[ $line == "ruid=$UID_U euid=$UID_U cmdline="*" -c $GATE" ]]; then
			pre_gate=$((pre_gate + 1))
		else
			other+=("$line")
		fi
	done
	rm -f "$EVIL_MARK".*
	[ "$pre_gate" -gt 0 ] && tap_diag "g: the user's shell before the gate loaded the library (sshd passed LD_PRELOAD on)"
	[ "${#other[@]}" -gt 0 ] && tap_diag "g: loaded by:" "${other[@]}"
	[ "$(rc_of g)" = 0 ] && [ "$(cat "$T/g.out")" = exempt-g ] && [ "${#other[@]}" = 0 ]
	verdict "g: LD_PRELOAD from the client reaches neither the setuid gate nor the command (shell before the gate loaded it: $pre_gate time(s))" $? g
else
	tap_not_ok "g: LD_PRELOAD from the client (the test library does not work: $(cat "$T/gcc.out"))"
	rm -f "$EVIL_MARK".*
fi

# --- h: a copy that is not setuid ------------------------------------------------------------
rm -f "$HOME_U/marker-h"
next_recovery
printf '%s\n' "$CODE" | timeout -k 5 30 setpriv --reuid="$U" --regid="$G1" --init-groups \
	env -i PATH=/usr/bin:/bin "SSH_ORIGINAL_COMMAND=touch $HOME_U/marker-h; echo ran-h" \
	"$NOSUID_GATE" >"$T/h.out" 2>"$T/h.err"
echo $? >"$T/h.rc"
printf '$ (as %s) SSH_ORIGINAL_COMMAND=%q %s\n' "$U" "touch $HOME_U/marker-h; echo ran-h" \
	"$NOSUID_GATE" >"$T/h.cmd"
[ "$(rc_of h)" = 1 ] && [ "$(wc -l <"$T/h.err")" = 1 ] && grep -qiE '^stepup-gate: .*set-?uid' "$T/h.err" &&
	[ ! -e "$HOME_U/marker-h" ] && [ ! -s "$T/h.out" ]
verdict "h: a copy that is not setuid exits 1 with one 'stepup-gate:' line about setuid and runs nothing" $? h

# --- i: no /etc/pam.d/stepup-gate: libpam would run "other" (the Unix
# password on Debian); the gate refuses instead ---------------------------------------------
rm -f "$HOME_U/marker-i"
mv "$PAM_FILE" "$T/pam-file.aside"
ssh_run i "$(wrong_code "$(code_at "$(date +%s)" "$SECRET")")" 'touch ~/marker-i; echo ran-i'
mv "$T/pam-file.aside" "$PAM_FILE"
[ "$(rc_of i)" = 1 ] && ! asked i && grep -q "^stepup-gate: /etc/pam.d/stepup-gate is missing" "$T/i.err" &&
	[ ! -e "$HOME_U/marker-i" ] && ! grep -q ran-i "$T/i.out"
verdict "i: without /etc/pam.d/stepup-gate the gate refuses (no fallback to 'other') and runs nothing" $? i

# --- j: a security key through the forwarded agent (method sshsk) ---------------------
# The user's own ssh-agent with an sk_soft key (no hardware), forwarded by
# ssh -A: sshd's forwarding socket reaches the gate as SSH_AUTH_SOCK, which
# the gate hands to PAM (it clears its own environment), and the module
# connects to it as the user. Touched: no code asked. No touch: one line
# says why and the TOTP prompt follows.
SK=$TOP_BUILDDIR/tests/helpers/.libs/sk_soft.so
AD=$SOCKS/agent
as_u() { setpriv --reuid "$UID_U" --regid "$GID1" --clear-groups -- "$@"; }
if [ -f "$SK" ] && command -v ssh-agent >/dev/null && command -v ssh-add >/dev/null; then
	SK=$(realpath "$SK")
	{ mkdir -m 0700 "$AD" && chown "$U:$G1" "$AD" && printf 'up=1\n' >"$AD/mode" &&
		chown "$U" "$AD/mode"; } || tap_bail "cannot make $AD"
	SK_SOFT_MODE=$AD/mode as_u ssh-agent -a "$AD/sock" -P "${SK%/*}/*" >"$AD/env" 2>&1 ||
		tap_bail "ssh-agent failed: $(cat "$AD/env")"
	agent_pid=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$AD/env")
	[ -n "$agent_pid" ] && add_cleanup "kill '$agent_pid' 2>/dev/null"
	as_u ssh-keygen -q -t ed25519-sk -w "$SK" -f "$AD/key" -N '' -C "$U-sk" >"$AD/keygen.out" 2>&1 &&
		SSH_AUTH_SOCK=$AD/sock as_u ssh-add -S "$SK" "$AD/key" >"$AD/add.out" 2>&1 &&
		"$STEPUPCTL" -c "$CONF" enroll "$U" sshkey "$AD/key.pub" >"$AD/enroll.out" 2>&1 ||
		tap_bail "the security key could not be made, added or enrolled: $(cat "$AD"/*.out)"
	"$STEPUPCTL" -c "$CONF" grace revoke "$U" >/dev/null 2>&1
	SAVED_OPTS=("${SSH_OPTS[@]}")
	# ssh forwards only an agent it has (IdentityAgent=none unsets
	# SSH_AUTH_SOCK); IdentitiesOnly keeps the login to the file's key.
	SSH_OPTS=("${SSH_OPTS[@]/ForwardAgent=no/ForwardAgent=yes}")
	SSH_OPTS=("${SSH_OPTS[@]/IdentityAgent=none/IdentityAgent=$AD/sock}")
	ssh_run j @null 'echo hello-j'
	[ "$(rc_of j)" = 0 ] && grep -qx hello-j "$T/j.out" && ! asked j &&
		grep -qF "Touch your security key to continue" "$T/j.err" &&
		grep -qF "Security key accepted." "$T/j.err"
	verdict "j: ssh -A with a security key in the agent: touched through the gate, no code asked, the command runs" $? j
	"$STEPUPCTL" -c "$CONF" grace revoke "$U" >/dev/null 2>&1
	printf 'refuse=1\n' >"$AD/mode"
	next_recovery
	ssh_run j2 "$CODE" 'echo hello-j2'
	[ "$(rc_of j2)" = 0 ] && grep -qx hello-j2 "$T/j2.out" && asked j2 &&
		grep -qF "No security key: the security key was not touched, or the agent refused; enter a verification code." "$T/j2.err"
	verdict "j2: ssh -A, the key not touched: one line says why, a code is asked (a recovery code: this step's TOTP code is used) and works" $? j2
	SSH_OPTS=("${SAVED_OPTS[@]}")
else
	tap_skip "j: ssh -A with a security key" "sk_soft or ssh-agent missing"
	tap_skip "j2: ssh -A, the key not touched" "sk_soft or ssh-agent missing"
fi

# --- cleanup ----------------------------------------------------------------------------
sshd_was=$SSHD_PID
run_cleanups
left=()
getent passwd "$U" >/dev/null && left+=("user $U")
[ -e "$HOME_U" ] && left+=("$HOME_U")
getent group "$G1" >/dev/null && left+=("group $G1")
getent group "$G2" >/dev/null && left+=("group $G2")
[ "$(sha256sum "$PAM_FILE" 2>/dev/null)" = "$PAM_SUM" ] || left+=("$PAM_FILE not as before")
[ "$(sha256sum "$GATE_CONF" 2>/dev/null)" = "$CONF_SUM" ] || left+=("$GATE_CONF not as before")
[ -e "$GDIR" ] && left+=("$GDIR")
[ -e "$KDIR" ] && left+=("$KDIR")
compgen -G "$EVIL_MARK.*" >/dev/null && left+=("$EVIL_MARK.*")
[ -n "$sshd_was" ] && kill -0 "$sshd_was" 2>/dev/null && left+=("sshd $sshd_was")
tap_check --not-ok "cleanup: left ${left[*]}" \
	"cleanup: sshd stopped, user and groups removed, gate copies removed, $PAM_FILE and $GATE_CONF as before" \
	[ ${#left[@]} -eq 0 ]
