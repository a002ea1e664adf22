#!/bin/bash
# Nothing kept per module load. libpam loads the module at each pam_start
# and unloads it at each pam_end, so a process that starts a handle per
# client (tests/helpers/pam_cycles) would lose whatever the module keeps
# past its unload once per cycle: the one thing it keeps across calls, the
# HMAC template of the host key, is freed when it is unloaded. 3,000 start/authenticate/end cycles on the
# grace path, the cheapest and so the most repeated one, must grow the
# resident set by less than 128 KiB after a warm-up of 200 (a leak of 0.5
# KiB per cycle grows it by some 1.4 MiB).
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program useradd setsid
own_visible_session "$0" "$@"

CYCLES=$TOP_BUILDDIR/tests/helpers/pam_cycles
[ -x "$CYCLES" ] || tap_bail "$CYCLES is not built (make check builds it)"
U=stepupul$$
LIMIT_KB=128

tap_plan 1
install_traps
add_cleanup "userdel '$U' 2>/dev/null"
make_tree unload "grace = 300" "methods = totp, recovery" "lockout_attempts = 0"
useradd -M -N -s /usr/sbin/nologin "$U" || tap_bail "useradd $U failed"
enroll "$U" "$(secret_for "$U")" || tap_bail "enroll $U failed"
"$STEPUPCTL" -c "$CONF" recovery "$U" >"$T/codes.out" 2>&1 || tap_bail "stepupctl recovery failed"
code=$(grep -oE '[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}' "$T/codes.out" | head -1)
[ -n "$code" ] || tap_bail "no recovery code"
mkdir -m 0755 "$T/pam.d"
printf 'auth required %s config=%s tries=1\n' "$STEPUP_MODULE" "$CONF" >"$T/pam.d/unload"
chmod 0644 "$T/pam.d/unload"

# The first cycle is asked and earns grace with the recovery code; the
# others pass on grace (pam_cycles fails if one is asked or refused).
"$CYCLES" "$T/pam.d" unload "$U" 200 3000 "$code" >"$T/cycles.out" 2>&1
rc=$?
tap_diag_stream <"$T/cycles.out"
growth=$(sed -n 's/.* growth_kb=\(-\{0,1\}[0-9]*\)$/\1/p' "$T/cycles.out")
cycles_keep_memory_growth_low() { [ "$rc" -eq 0 ] && [ -n "$growth" ] && [ "$growth" -lt "$LIMIT_KB" ]; }
tap_check --not-ok "3,000 start/authenticate/end cycles on the grace path keep under $LIMIT_KB KiB (grew ${growth:-?} KiB)" \
	"3,000 start/authenticate/end cycles on the grace path keep under $LIMIT_KB KiB (grew $growth KiB)" \
	cycles_keep_memory_growth_low
