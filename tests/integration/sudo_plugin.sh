#!/bin/bash
# The sudo approval plugin (stepup_sudo.so) with real sudo. sudo reads only
# /etc/sudo.conf, so it is rewritten for the test (the original plus one
# Plugin line naming the plugin of the build's install tree, with a test
# config and a test PAM service as plugin options) and put back byte for
# byte at exit (removed if there was none), under the lock that sudo.sh
# takes too. A sudoers drop-in (checked by visudo), the test user, group
# and PAM services are removed on every exit path; the last case checks.
# Also the sudoers route (Defaults!CMND pam_service=...) without the
# plugin, and sudo under valgrind with the plugin loaded.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program sudo visudo setpriv oathtool useradd groupadd mkfifo flock pamtester setsid
require_aiosmtpd
own_visible_session "$0" "$@"

ID=$$
U=stepupsp$ID G=stepupsg$ID
SUDOERS=/etc/sudoers.d/stepup-plugin-test-$ID
OWN_SVC=stepup-own-$ID      # sudo's own authentication: pam_permit
STEP_SVC=stepup-sp-$ID      # the plugin's step-up stack
ROUTE_SVC=stepup-route-$ID  # the sudoers route's stack
ENV_SVC=stepup-env-$ID      # pam_env planting STEPUP_* before the module
PLUGIN=$(find "$TOP_BUILDDIR/tests/root" -name stepup_sudo.so -print -quit)
[ -n "$PLUGIN" ] && [ -f "$PLUGIN" ] || { echo "1..0 # SKIP stepup_sudo.so not built (no sudo_plugin.h)"; exit 0; }
SUDO_CONF=/etc/sudo.conf
created_user=

give_back_sudo_conf() {
	if [ -n "${SUDO_CONF_BACKUP:-}" ]; then
		if [ -f "$SUDO_CONF_BACKUP/sudo.conf" ]; then
			cp -a "$SUDO_CONF_BACKUP/sudo.conf" "$SUDO_CONF"
		else
			rm -f "$SUDO_CONF"
		fi
		rm -rf "$SUDO_CONF_BACKUP"
		SUDO_CONF_BACKUP=
	fi
}
cleanup() {
	rm -f "$SUDOERS" "/etc/pam.d/$OWN_SVC" "/etc/pam.d/$STEP_SVC" "/etc/pam.d/$ROUTE_SVC" \
		"/etc/pam.d/$ENV_SVC"
	[ -n "$created_user" ] && userdel "$U" 2>/dev/null
	groupdel "$G" 2>/dev/null
	# sudo -v left the user's timestamp record behind
	rm -f "/run/sudo/ts/$U"
}

tap_plan 28
install_traps
add_cleanup cleanup
make_tree sudo_plugin "grace = 300" "methods = totp, email"
log_receiver "$T/syslog"

# --- /etc/sudo.conf: backed up (and its absence remembered), under the lock
exec {SUDO_CONF_LOCK}>>/run/pam-test-sudo-conf.lock
flock -w 600 "$SUDO_CONF_LOCK" || tap_bail "the sudo.conf lock is held too long"
SUDO_CONF_BACKUP=$(mktemp -d /tmp/stepup-sudo-conf.XXXXXX) || tap_bail "mktemp failed"
if [ -e "$SUDO_CONF" ]; then
	cp -a "$SUDO_CONF" "$SUDO_CONF_BACKUP/sudo.conf" || tap_bail "cannot back up $SUDO_CONF"
	SUDO_CONF_SUM=$(sha256sum <"$SUDO_CONF")
else
	SUDO_CONF_SUM=absent
fi
add_cleanup give_back_sudo_conf
plugin_on() {
	{ [ -f "$SUDO_CONF_BACKUP/sudo.conf" ] && cat "$SUDO_CONF_BACKUP/sudo.conf"
	  echo "Plugin stepup_approval $PLUGIN config=$CONF service=$STEP_SVC"; } >"$SUDO_CONF.tmp$ID" &&
		chmod 0644 "$SUDO_CONF.tmp$ID" && mv "$SUDO_CONF.tmp$ID" "$SUDO_CONF"
}
plugin_off() {
	if [ -f "$SUDO_CONF_BACKUP/sudo.conf" ]; then cp -a "$SUDO_CONF_BACKUP/sudo.conf" "$SUDO_CONF"
	else rm -f "$SUDO_CONF"; fi
}

# --- the user, the commands, the services, sudoers
groupadd "$G" || tap_bail "groupadd failed"
useradd -M -g "$G" -s /bin/sh "$U" || tap_bail "useradd $U failed"
created_user=1
S=$(secret_for "$U")
enroll "$U" "$S" || tap_bail "enroll failed"
mkdir -p "$T/bin" "$T/ran"
chmod 0755 "$T/bin"
chmod 0777 "$T/ran"
for c in ops-a ops-b ops-c ops-d ops-n ops-r; do
	printf '#!/bin/sh\n: >"%s/ran/%s.$1"\n' "$T" "$c" >"$T/bin/$c"
	chmod 0755 "$T/bin/$c"
done
ran() { [ -e "$T/ran/$1" ]; }

printf 'auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_permit.so\n' \
	>"/etc/pam.d/$OWN_SVC"
printf 'auth required %s config=%s sudo_plugin\naccount required pam_permit.so\n' \
	"$STEPUP_MODULE" "$CONF" >"/etc/pam.d/$STEP_SVC"
printf 'auth required %s config=%s\naccount required pam_permit.so\nsession required pam_permit.so\n' \
	"$STEPUP_MODULE" "$CONF" >"/etc/pam.d/$ROUTE_SVC"
cat >"$T/sudoers" <<EOF
Cmnd_Alias STEPUP_ROUTED_$ID = $T/bin/ops-r
Defaults:$U pam_service=$OWN_SVC
Defaults:$U timestamp_type=global
Defaults:$U !lecture
Defaults:$U !use_pty
Defaults!STEPUP_ROUTED_$ID pam_service=$ROUTE_SVC, timestamp_timeout=0
$U ALL=(ALL) ALL
EOF
visudo -cqf "$T/sudoers" || tap_bail "the sudoers drop-in does not parse"
install -m 0440 "$T/sudoers" "$SUDOERS"

# The [sudo] rules: ops-a and ops-b each their own rule, ops-c and ops-d
# one group; /bin/true, ops-n and ops-r match none (ops-r is the sudoers
# route's).
RULES=(
	"[sudo]"
	"stepup_command = $T/bin/ops-a *"
	"stepup_command = $T/bin/ops-b *"
	"stepup_command = group=ops $T/bin/ops-c *"
	"stepup_command = group=ops $T/bin/ops-d *"
	"exempt_command = $T/bin/ops-a exempt"
)
start_smtp main --mode plain || tap_bail "the SMTP server did not start"
MAILCONF=("smtp_url = smtp://127.0.0.1:$SMTP_PORT_main" "smtp_from = stepup@example.com"
	"smtp_tls = none" "smtp_timeout = 10" "email_min_interval = 0" "email_max_per_hour = 300")
write_conf "$CONF" "grace = 300" "methods = totp, email" "${MAILCONF[@]}" "${RULES[@]}"
"$STEPUPCTL" -c "$CONF" enroll "$U" email "$U@example.com" >"$T/enroll-email.out" 2>&1 ||
	tap_bail "enroll email failed: $(cat "$T/enroll-email.out")"
plugin_on || tap_bail "cannot write $SUDO_CONF"

# as_user INPUT CMD...: CMD as U (in the test's log namespace) with INPUT
# on stdin; output in $T/out.
as_user() {
	local input=$1
	shift
	printf '%s\n' "$input" | timeout -k 5 60 "${IN_NS[@]}" setpriv --reuid="$U" --regid="$G" \
		--init-groups "$@" >"$T/out" 2>&1
	local rc=$?
	{ echo "\$ (as $U) $*   # stdin: ${input:-<empty>}"; cat -v "$T/out"; echo "exit $rc"; } |
		tee -a "$T/transcript" | tap_log
	return $rc
}
asked() { grep -qF "Verification code" "$T/out"; }
shown() { grep -qF -- "Step-up required to run as $1: $2" "$T/out"; }
code_now() { code_at "$(date +%s)" "$S"; }
# Each accepted TOTP code may be used once: wait for the next step.
next_step() { local now; now=$(date +%s); sleep $((30 - now % 30 + 1)); }

# 1
matching_asks_and_runs() {
	as_user "$(code_now)" sudo -S "$T/bin/ops-a" one && asked && ran ops-a.one &&
		shown root "$T/bin/ops-a one"
}
tap_check "a matching command asks, names the command, and runs with the right code" matching_asks_and_runs
# 2
wrong_code_runs_nothing() {
	local rc
	as_user "000000" sudo -S "$T/bin/ops-b" wrong
	rc=$?
	[ "$rc" -eq 1 ] && asked && ! ran ops-b.wrong
}
tap_check "a wrong code: exit 1, nothing run (the marker stays absent)" wrong_code_runs_nothing
# 3
non_matching_silent() {
	as_user "" sudo -S "$T/bin/ops-n" plain && ! asked && ! grep -q "Step-up" "$T/out" &&
		ran ops-n.plain && as_user "" sudo -S /bin/true && ! asked
}
tap_check "a command no rule names runs without a prompt" non_matching_silent
# 4
exempt_wins() { as_user "" sudo -S "$T/bin/ops-a" exempt && ! asked && ran ops-a.exempt; }
tap_check "an exempt_command wins over a stepup_command" exempt_wins
# 5
log_names_command() {
	grep -F "service=$STEP_SVC" "$T/syslog" | grep -F "result=success" |
		grep -qF "command=$T/bin/ops-a\\x20one"
}
tap_check "the log line carries command= (escaped)" log_names_command
# 6 grace: ops-a again in this session, within grace: no prompt
grace_same_rule() { as_user "" sudo -S "$T/bin/ops-a" again && ! asked && ran ops-a.again; }
tap_check "grace: the same rule in the same session does not ask again" grace_same_rule
# 7 another rule asks
next_step
grace_other_rule() {
	! as_user "" sudo -S "$T/bin/ops-b" other && asked && ! ran ops-b.other
}
tap_check "grace: a command under another rule asks again" grace_other_rule
# 8 a group: ops-c earns grace for ops-d
grace_group() {
	as_user "$(code_now)" sudo -S "$T/bin/ops-c" g1 && asked && ran ops-c.g1 &&
		as_user "" sudo -S "$T/bin/ops-d" g2 && ! asked && ran ops-d.g2
}
tap_check "grace: rules of one group share it" grace_group
# 8b grace_from = * does not let one rule's step-up cover another's
grace_from_ignored() {
	write_conf "$CONF" "grace = 300" "grace_from = *" "methods = totp, email" "${MAILCONF[@]}" \
		"${RULES[@]}"
	local rc
	as_user "" sudo -S "$T/bin/ops-b" fromstar
	rc=$?
	write_conf "$CONF" "grace = 300" "methods = totp, email" "${MAILCONF[@]}" "${RULES[@]}"
	[ "$rc" -eq 1 ] && asked && ! ran ops-b.fromstar
}
tap_check "grace_from = *: a step-up for rule A (and group ops) does not cover rule B" grace_from_ignored
# 9 a new session asks again
new_session_asks() { ! as_user "" setsid -w sudo -S "$T/bin/ops-a" newsess && asked && ! ran ops-a.newsess; }
tap_check "grace: a new session asks again" new_session_asks
# 10 with a fresh sudo timestamp
next_step
cache_on() {
	as_user "" sudo -S -v && as_user "" sudo -n /bin/true &&
		as_user "$(code_now)" sudo -S "$T/bin/ops-b" cached && asked && ran ops-b.cached &&
		as_user "" sudo -n /bin/true && ! asked
}
tap_check "with a valid sudo timestamp, a matching command still asks, others do not" cache_on
# 11
list_validate_kill() {
	as_user "" sudo -n -l && ! asked && grep -qF "(ALL) ALL" "$T/out" &&
		as_user "" sudo -n -v && ! asked && as_user "" sudo -k && ! asked &&
		! as_user "" sudo -n /bin/true
}
tap_check "sudo -l, -v and -k behave as before (no step-up)" list_validate_kill
# 12 escape sequences
escaped_shown() {
	local evil
	evil=$(printf 'x\033]0;pwned\007\033[31mRED\nline2')
	"$STEPUPCTL" -c "$CONF" grace revoke "$U" | tap_log
	! as_user "" sudo -S "$T/bin/ops-b" esc "$evil" && asked && ! grep -q $'\033' "$T/out" &&
		grep -qF "'x\\x1b]0;pwned\\x07\\x1b[31mRED\\x0aline2'" "$T/out" &&
		! grep -q $'\033' "$T/syslog" && grep -qF 'command=' "$T/syslog"
}
tap_check "a command with escape sequences is shown escaped, never raw" escaped_shown
# 13 one argument holding a blank is not two words
blank_argument() {
	write_conf "$CONF" "grace = 0" "methods = totp" "[sudo]" \
		"stepup_command = ALL" "exempt_command = $T/bin/ops-n restart nginx"
	as_user "" sudo -S "$T/bin/ops-n" restart nginx && ! asked && ran ops-n.restart &&
		! as_user "" sudo -S "$T/bin/ops-n" "restart nginx" && asked && ! ran "ops-n.restart nginx"
}
tap_check "an argument with a blank is one word: 'restart nginx' does not match restart nginx" blank_argument
# 14 the email code's message names the command
email_names_command() {
	local fifo=$T/in.fifo pid n code
	write_conf "$CONF" "grace = 0" "methods = totp, email" "${MAILCONF[@]}" "${RULES[@]}"
	n=$(mail_count "$SMTP_DIR_main")
	rm -f "$fifo" && mkfifo "$fifo" && chmod 0666 "$fifo"
	timeout -k 5 60 "${IN_NS[@]}" setpriv --reuid="$U" --regid="$G" --init-groups \
		sudo -S "$T/bin/ops-a" mailed <"$fifo" >"$T/out" 2>&1 &
	pid=$!
	exec {w}>"$fifo"
	echo "email" >&$w
	wait_mail "$SMTP_DIR_main" $((n + 1)) 20 || { exec {w}>&-; wait "$pid"; return 1; }
	code=$(mail_code "$(mail_last "$SMTP_DIR_main")")
	echo "$code" >&$w
	exec {w}>&-
	wait "$pid" || return 1
	cat -v "$T/out" | tap_log
	mail_body "$(mail_last "$SMTP_DIR_main")" | tap_log
	mail_text "$(mail_last "$SMTP_DIR_main")" | grep -qF "for the command (run as root): $T/bin/ops-a mailed" &&
		! mail_header "$(mail_last "$SMTP_DIR_main")" Subject | grep -qF ops-a &&
		ran ops-a.mailed
}
tap_check "the email code's message names the command (in the body, not a header)" email_names_command
# 15 a malformed rule: every command asks
malformed_asks_all() {
	write_conf "$CONF" "grace = 0" "methods = totp" "[sudo]" "stepup_command = $T/bin/ops-a *" \
		"stepup_command = group=BAD! $T/bin/ops-b *"
	! as_user "" sudo -S /bin/true && asked &&
		! "$STEPUPCTL" -c "$CONF" check-config >"$T/cc.out" 2>&1 &&
		grep -qF "$CONF:12: key 'stepup_command': bad group name" "$T/cc.out"
}
tap_check "a malformed [sudo] rule: every command asks, check-config names FILE:LINE: key" malformed_asks_all
# 16 a symbolic link to a command a rule names is that command
via_symlink() {
	write_conf "$CONF" "grace = 0" "methods = totp" "${RULES[@]}"
	ln -sf ops-a "$T/bin/alias-a"
	! as_user "" sudo -S "$T/bin/alias-a" vialink && asked && ! ran ops-a.vialink
}
tap_check "a command reached through a symbolic link matches the rule on its real path" via_symlink
# 16b sudoedit is matched on the files, not on the editor the user picks
sudoedit_files() {
	write_conf "$CONF" "grace = 0" "methods = totp" "${RULES[@]}" \
		"stepup_command = sudoedit $T/edit/guarded*"
	mkdir -p "$T/edit" && chmod 0755 "$T/edit" && : >"$T/edit/guarded" && : >"$T/edit/free" || return 1
	local rc
	as_user "000000" env SUDO_EDITOR=/bin/true sudoedit -S "$T/edit/guarded"
	rc=$?
	[ "$rc" -eq 1 ] && asked && shown root "sudoedit $T/edit/guarded" &&
		as_user "" env SUDO_EDITOR=/bin/true sudoedit -S "$T/edit/free" && ! asked
}
tap_check "sudoedit: a rule on the file asks whatever the editor (wrong code: exit 1); another file does not" sudoedit_files
# 16c a relative command path is resolved by sudo in its own cwd: the
# plugin cannot match it, so it asks (fail closed) even for a command no
# rule names
relative_path_asks() {
	write_conf "$CONF" "grace = 0" "methods = totp" "${RULES[@]}"
	local rc
	as_user "000000" sh -c "cd '$T/bin' && exec sudo -S ./ops-n relative"
	rc=$?
	[ "$rc" -eq 1 ] && asked && ! ran ops-n.relative &&
		grep -qF "a relative command path; a step-up is needed" "$T/syslog"
}
tap_check "a relative command path (sudo ./cmd) asks under scope all (wrong code: exit 1)" relative_path_asks
# 16d the step-up text never goes to the command's stdout (no terminal
# here: stderr); a refusal says so in one line on stderr
stdout_clean() {
	write_conf "$CONF" "grace = 0" "methods = totp" "${RULES[@]}"
	local rc
	printf '000000\n' | timeout -k 5 60 "${IN_NS[@]}" setsid -w setpriv --reuid="$U" --regid="$G" \
		--init-groups sudo -S "$T/bin/ops-b" redirected >"$T/stdout" 2>"$T/stderr"
	rc=$?
	{ echo "stdout:"; cat -v "$T/stdout"; echo "stderr:"; cat -v "$T/stderr"; echo "exit $rc"; } | tap_log
	[ "$rc" -eq 1 ] && [ ! -s "$T/stdout" ] && grep -qF "Step-up required" "$T/stderr" &&
		grep -qF "sudo: step-up refused: $T/bin/ops-b redirected (see the system log)" "$T/stderr" &&
		! ran ops-b.redirected
}
tap_check "sudo cmd >file: the step-up text is not in the file; a refusal prints one line on stderr" stdout_clean
# 17 an argument too long to match: fail closed
huge_argument() {
	local big
	big=$(head -c 70000 /dev/zero | tr '\0' a)
	! as_user "" sudo -S "$T/bin/ops-n" "$big" && asked && ! ran "ops-n.$big" &&
		shown root "$T/bin/ops-n"
}
tap_check "an argument too long to match asks (fail closed), showing the path" huge_argument
# 18 no config at all: every command asks (and cannot be answered)
missing_config() {
	mv "$CONF" "$CONF.away" || return 1
	as_user "" sudo -S "$T/bin/ops-n" noconf
	local rc=$?
	mv "$CONF.away" "$CONF"
	[ "$rc" -eq 1 ] && ! ran ops-n.noconf
}
tap_check "a missing config: the plugin fails closed (nothing runs)" missing_config
# 18a check-config without the default config says what the plugin does then
check_config_missing() {
	if [ -e /etc/security/stepup.conf ]; then
		echo "/etc/security/stepup.conf exists here: only the message's source is checked" | tap_log
		grep -qF "asks for a step-up for every command" "$TOP_SRCDIR/src/stepupctl/init.c"
		return
	fi
	"$STEPUPCTL" check-config >"$T/cc-default.out" 2>&1
	tap_log <"$T/cc-default.out"
	grep -qF "/etc/security/stepup.conf: not present; the built-in defaults apply, and the sudo approval plugin (if /etc/sudo.conf loads it) asks for a step-up for every command" "$T/cc-default.out"
}
tap_check "check-config without a config: says the sudo plugin then asks for every command" check_config_missing
# 18b SIGINT while the prompt waits: nothing runs
signal_at_prompt() {
	local fifo=$T/sig.fifo pid rc i
	write_conf "$CONF" "grace = 0" "methods = totp" "${RULES[@]}"
	rm -f "$fifo" && mkfifo "$fifo" && chmod 0666 "$fifo"
	setpriv --reuid="$U" --regid="$G" --init-groups \
		sudo -S "$T/bin/ops-a" signalled <"$fifo" >"$T/out" 2>&1 &
	pid=$!
	exec {w}>"$fifo"
	for ((i = 0; i < 100; i++)); do asked && break; sleep 0.1; done
	asked || { exec {w}>&-; wait "$pid"; return 1; }
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	exec {w}>&-
	{ cat -v "$T/out"; echo "exit $rc"; } | tap_log
	[ "$rc" -ne 0 ] && ! ran ops-a.signalled
}
tap_check "SIGINT while the step-up prompt waits: sudo fails, nothing runs" signal_at_prompt
# 19 the sudoers route, without the plugin
next_step
sudoers_route() {
	plugin_off
	write_conf "$CONF" "grace = 0" "methods = totp"
	as_user "$(code_now)" sudo -S "$T/bin/ops-r" routed && asked && ran ops-r.routed &&
		as_user "" sudo -S "$T/bin/ops-a" notrouted && ! asked && ran ops-a.notrouted &&
		! as_user "000000" sudo -S "$T/bin/ops-r" routedwrong && ! ran ops-r.routedwrong
}
tap_check "sudoers route (Defaults!CMND pam_service=..., no plugin): asks for the routed command only" sudoers_route
# 19b a stack without sudo_plugin never reads STEPUP_* from the PAM
# environment: pam_env plants them (its setcred, run before authenticate);
# the same lines with sudo_plugin show the planted command (the control)
next_step
env_ignored_without_flag() {
	local rc
	write_conf "$CONF" "grace = 300" "methods = totp" "${RULES[@]}"
	printf 'STEPUP_COMMAND DEFAULT=/usr/bin/planted\nSTEPUP_RUNAS DEFAULT=root\nSTEPUP_SCOPE DEFAULT=r-planted\n' \
		>"$T/env.conf"
	printf 'auth required pam_env.so conffile=%s readenv=0\nauth required %s config=%s %s\naccount required pam_permit.so\n' \
		"$T/env.conf" "$STEPUP_MODULE" "$CONF" sudo_plugin >"/etc/pam.d/$ENV_SVC"
	printf '000000\n' | timeout -k 5 60 "${IN_NS[@]}" pamtester "$ENV_SVC" "$U" setcred authenticate \
		>"$T/out" 2>&1
	{ echo "--- control, with sudo_plugin:"; cat -v "$T/out"; } | tap_log
	grep -qF "Step-up required to run as root: /usr/bin/planted" "$T/out" || return 1
	printf 'auth required pam_env.so conffile=%s readenv=0\nauth required %s config=%s\naccount required pam_permit.so\n' \
		"$T/env.conf" "$STEPUP_MODULE" "$CONF" >"/etc/pam.d/$ENV_SVC"
	code_now | timeout -k 5 60 "${IN_NS[@]}" pamtester "$ENV_SVC" "$U" setcred authenticate >"$T/out" 2>&1
	rc=$?
	{ echo "--- without sudo_plugin:"; cat -v "$T/out"; echo "exit $rc"; ls "$T/run/stepup/grace"; } | tap_log
	[ "$rc" -eq 0 ] && asked && ! grep -qF "Step-up required to run as" "$T/out" &&
		! grep -qF planted "$T/out" &&
		ls "$T/run/stepup/grace/$U":*":service=$ENV_SVC" >/dev/null 2>&1 &&
		! ls "$T/run/stepup/grace/$U":*":service=$ENV_SVC.r-planted" >/dev/null 2>&1
}
tap_check "without sudo_plugin, STEPUP_* planted in the PAM environment are ignored (no command shown, grace keyed by the plain service)" env_ignored_without_flag
# 20 valgrind: root runs sudo with the plugin loaded (a non-matching
# command, then a matching one with root's code in the test tree)
next_step
valgrind_clean() {
	command -v valgrind >/dev/null || return 1
	write_conf "$CONF" "grace = 0" "methods = totp" "${RULES[@]}"
	plugin_on
	enroll root "$(secret_for root)" || return 1
	# valgrind cannot run a setuid program: a copy without the bit, run by
	# root (sudo needs euid 0, which root has).
	mkdir -p "$T/vg" && install -m 0755 "$(command -v sudo)" "$T/vg/sudo" || return 1
	local rc
	timeout -k 5 300 valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--suppressions="$TOP_SRCDIR/tests/integration/sudo_plugin.supp" \
		"$T/vg/sudo" -S /bin/true </dev/null >"$T/vg1.out" 2>&1
	rc=$?
	tap_log <"$T/vg1.out"
	[ "$rc" -eq 0 ] || return 1
	code_at "$(date +%s)" "$(secret_for root)" | timeout -k 5 300 valgrind --error-exitcode=99 \
		--leak-check=full --errors-for-leak-kinds=definite \
		--suppressions="$TOP_SRCDIR/tests/integration/sudo_plugin.supp" \
		"$T/vg/sudo" -S "$T/bin/ops-a" vg >"$T/vg2.out" 2>&1
	rc=$?
	tap_log <"$T/vg2.out"
	[ "$rc" -eq 0 ] && ran ops-a.vg && grep -qF "Step-up required" "$T/vg2.out"
}
tap_check "under valgrind (plugin in setuid sudo): no error, no definite leak" valgrind_clean

run_cleanups
left=()
[ -e "$SUDOERS" ] && left+=("$SUDOERS")
for f in "$OWN_SVC" "$STEP_SVC" "$ROUTE_SVC" "$ENV_SVC"; do [ -e "/etc/pam.d/$f" ] && left+=("/etc/pam.d/$f"); done
getent passwd "$U" >/dev/null && left+=("user $U")
[ -e "/run/sudo/ts/$U" ] && left+=("/run/sudo/ts/$U")
if [ "$SUDO_CONF_SUM" = absent ]; then [ -e "$SUDO_CONF" ] && left+=("$SUDO_CONF (was absent)")
else [ "$(sha256sum <"$SUDO_CONF")" = "$SUDO_CONF_SUM" ] || left+=("$SUDO_CONF differs from the original"); fi
tap_check --not-ok "cleanup: left ${left[*]}" \
	"cleanup: user, its sudo timestamp, sudoers drop-in, services removed, /etc/sudo.conf restored byte for byte" \
	[ ${#left[@]} -eq 0 ]
