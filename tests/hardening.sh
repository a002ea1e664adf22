#!/bin/bash
# The installed programs and module are built hardened, as configure asks
# (PIE_CFLAGS, PIE_LDFLAGS, HARDEN_LDFLAGS): stepupctl and the setuid
# stepup-gate are position-independent executables, and all of them (the sudo
# plugin too) have full
# RELRO (a GNU_RELRO segment, bound at load: BIND_NOW or FLAGS_1 NOW) and a
# stack that is not executable. Read with readelf from binutils.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_env
if ! command -v readelf >/dev/null 2>&1; then
	echo "1..0 # SKIP readelf is not installed (apt-get install binutils)"
	exit 0
fi

GATE=$(dirname "$STEPUPCTL")/stepup-gate
[ -x "$GATE" ] || tap_bail "no stepup-gate at $GATE (make tests/root.stamp)"
OUT=$(mktemp -d) || tap_bail "mktemp failed"

SUDO_PLUGIN=$(find "$TOP_BUILDDIR/tests/root" -name stepup_sudo.so -print -quit 2>/dev/null)
tap_plan 7
install_traps
add_cleanup rm -rf "'$OUT'"

# elf FILE: readelf's file header, dynamic section and program headers of
# FILE into $OUT/NAME.txt, the case's transcript.
elf() {
	ELF=$OUT/$(basename "$1").txt
	readelf -h -d -l -W "$1" >"$ELF" 2>&1
}
is_pie() { grep -q 'Type:.*DYN' "$ELF" && grep -q 'FLAGS_1).*PIE' "$ELF"; }
full_relro() {
	grep -q 'GNU_RELRO' "$ELF" &&
		grep -qE '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' "$ELF"
}
stack_not_executable() { grep -qE 'GNU_STACK.* RW +0x' "$ELF"; }
hardened_program() { elf "$1" && is_pie && full_relro && stack_not_executable; }
hardened_module() {
	elf "$1" && grep -q 'Type:.*DYN' "$ELF" && ! grep -q 'FLAGS_1).*PIE' "$ELF" &&
		full_relro && stack_not_executable
}

tap_check --transcript "$OUT/stepup-gate.txt" \
	"stepup-gate (setuid) is a PIE with full RELRO and no executable stack" \
	hardened_program "$GATE"
tap_check --transcript "$OUT/stepupctl.txt" \
	"stepupctl is a PIE with full RELRO and no executable stack" \
	hardened_program "$STEPUPCTL"
tap_check --transcript "$OUT/pam_stepup.so.txt" \
	"pam_stepup.so is a shared object with full RELRO and no executable stack" \
	hardened_module "$STEPUP_MODULE"
# PIC code: a shared object with text relocations (code not built with
# -fPIC) has TEXTREL in its dynamic section.
no_textrel() { ! grep -q 'TEXTREL' "$OUT/pam_stepup.so.txt"; }
tap_check "pam_stepup.so has no text relocations (built with -fPIC)" no_textrel
# The programs' own objects are PIE code: no text relocations either.
programs_no_textrel() { ! grep -q 'TEXTREL' "$OUT/stepup-gate.txt" "$OUT/stepupctl.txt"; }
tap_check "stepup-gate and stepupctl have no text relocations" programs_no_textrel
# The sudo approval plugin runs inside setuid sudo: the module's hardening.
if [ -n "$SUDO_PLUGIN" ]; then
	plugin_hardened() { hardened_module "$SUDO_PLUGIN" && ! grep -q 'TEXTREL' "$ELF"; }
	tap_check --transcript "$OUT/stepup_sudo.so.txt" \
		"stepup_sudo.so is a shared object with full RELRO, no executable stack, no text relocations" \
		plugin_hardened
	# Loaded into every sudo: only the config parser and the rules are
	# linked (libstepupconf.la), so neither libcrypto nor liboath loads.
	plugin_lean() {
		grep -F '(NEEDED)' "$OUT/stepup_sudo.so.txt" | tap_log
		! grep -F '(NEEDED)' "$OUT/stepup_sudo.so.txt" | grep -qE 'libcrypto|liboath|libssl|libcurl|libldap'
	}
	tap_check "stepup_sudo.so needs neither libcrypto nor liboath (libstepupconf.la only)" plugin_lean
else
	tap_skip "stepup_sudo.so hardening" "not built (no sudo_plugin.h)"
	tap_skip "stepup_sudo.so libraries" "not built (no sudo_plugin.h)"
fi
