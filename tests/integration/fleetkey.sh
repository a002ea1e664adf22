#!/bin/bash
# stepupctl fleet-key init|rotate|retire|show against a private tree (TAP):
# init makes one key, root 0600, and never replaces a file; rotate puts a
# new key in front and keeps the older lines byte for byte, up to 16 keys;
# retire removes an older key only; show lists the key ids, current first;
# no command prints any key material, not even of a file it refuses; a
# refusal leaves the file as it was. The fleet_key path comes from -c.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program sha256sum

tap_plan 22
install_traps
make_tree fleetkey
FK=$T/etc/stepup/fleetkey
echo "fleet_key = $FK" >>"$CONF"

# fk ARGS...: stepupctl fleet-key ARGS with our config; sets rc, out, err.
fk() {
	"$STEPUPCTL" -c "$CONF" fleet-key "$@" </dev/null >"$T/fk.out" 2>"$T/fk.err"
	rc=$?
	out=$(cat "$T/fk.out")
	err=$(cat "$T/fk.err")
	{
		echo "--- stepupctl fleet-key $*: exit $rc"
		cat "$T/fk.out" "$T/fk.err"
	} | tap_log
	return "$rc"
}
out_has() { grep -qF -- "$1" "$T/fk.out"; }
err_has() { grep -qF -- "$1" "$T/fk.err"; }
# refused N: exit N, one line on stderr, nothing on stdout.
refused() { [ "$rc" = "$1" ] && [ "$(wc -l <"$T/fk.err")" = 1 ] && [ ! -s "$T/fk.out" ]; }
lines() { wc -l <"$FK"; }
line() { sed -n "${1}p" "$FK"; }
kid_of() { line "$1" | cut -d' ' -f1; }
sum() { sha256sum <"$FK"; }
# No 16 hex digits in a row of any key of the file in what was printed.
no_key_material() {
	local hex i
	for hex in $(cut -s -d' ' -f2 "$FK" 2>/dev/null) "$@"; do
		for ((i = 0; i + 16 <= ${#hex}; i += 8)); do
			grep -qF -- "${hex:i:16}" "$T/fk.out" "$T/fk.err" && return 1
		done
	done
	return 0
}
system_file_before=$([ -e /etc/stepup/fleetkey ] && sha256sum </etc/stepup/fleetkey)

# --- before there is a file ------------------------------------------------------

show_without_file() {
	fk show
	refused 1 && err_has "$FK does not exist; run 'stepupctl fleet-key init'"
}
tap_check "show without a file: refused, says to run fleet-key init" show_without_file

rotate_without_file() { fk rotate && return 1; refused 1 && [ ! -e "$FK" ]; }
tap_check "rotate without a file: refused, nothing made" rotate_without_file

# --- init ------------------------------------------------------------------------

init_makes_one_key() {
	fk init
	[ "$rc" = 0 ] && [ ! -s "$T/fk.err" ] && [ "$(lines)" = 1 ] &&
		grep -qxE '[0-9a-f]{8} [0-9a-f]{64}' "$FK" &&
		out_has "created $FK (key id $(kid_of 1), mode 0600)" && out_has "copy $FK"
}
tap_check "init: one line 'KID HEX', KID 8 hex digits, said with its id" init_makes_one_key
tap_check "init: the file is root's, mode 0600" [ "$(stat -c '%U %a' "$FK")" = "root 600" ]
tap_check "init prints no key material" no_key_material
FIRST=$(line 1)
K1=$(kid_of 1)

init_twice() {
	local before
	before=$(sum)
	fk init
	refused 1 && err_has "$FK already exists; a fleet key is never replaced" &&
		[ "$(sum)" = "$before" ] && no_key_material
}
tap_check "init again: refused, says the file exists, leaves it as it was" init_twice

# --- show and rotate ---------------------------------------------------------------

show_one() {
	fk show
	[ "$rc" = 0 ] && out_has "$FK: 1 key(s)" &&
		grep -qE "^  $K1 +current" "$T/fk.out" && no_key_material
}
tap_check "show: the one key id, marked current; no key material" show_one

rotate_keeps_old() {
	fk rotate
	[ "$rc" = 0 ] && [ "$(lines)" = 2 ] && [ "$(line 2)" = "$FIRST" ] &&
		[ "$(kid_of 1)" != "$K1" ] && grep -qxE '[0-9a-f]{8} [0-9a-f]{64}' <<<"$(line 1)" &&
		out_has "added key $(kid_of 1) to $FK as the current key" && out_has "copy $FK" &&
		out_has "fleet-key retire KID"
}
tap_check "rotate: a new key in front, the old line kept byte for byte, next steps said" \
	rotate_keeps_old
tap_check "rotate: the file is still root's, mode 0600" [ "$(stat -c '%U %a' "$FK")" = "root 600" ]
tap_check "rotate prints no key material" no_key_material
K2=$(kid_of 1)
SECOND=$(line 1)

show_two() {
	fk show
	[ "$rc" = 0 ] && out_has "$FK: 2 key(s)" &&
		[ "$(sed -n 2p "$T/fk.out" | awk '{print $1, $2}')" = "$K2 current:" ] &&
		[ "$(sed -n 3p "$T/fk.out" | awk '{print $1, $2}')" = "$K1 older:" ] && no_key_material
}
tap_check "show: the new key id first and current, then the older; no key material" show_two

# --- retire --------------------------------------------------------------------------

retire_current() {
	local before
	before=$(sum)
	fk retire "$K2"
	refused 1 && err_has "'$K2' is the current key" && [ "$(sum)" = "$before" ]
}
tap_check "retire the current key: refused, file unchanged" retire_current

retire_unknown() {
	local before
	before=$(sum)
	fk retire nosuchkey
	refused 1 && err_has "$FK holds no key with the id 'nosuchkey'" && [ "$(sum)" = "$before" ]
}
tap_check "retire a key id the file does not hold: refused, file unchanged" retire_unknown

# A key pasted where the id goes is a usage error and is not echoed.
retire_pasted_key() {
	local hex
	hex=$(line 1 | cut -d' ' -f2)
	fk retire "$hex"
	refused 2 && err_has "give the key id" && no_key_material
}
tap_check "retire with a key pasted as the id: usage error (2), not echoed" retire_pasted_key

retire_old() {
	fk retire "$K1"
	[ "$rc" = 0 ] && [ "$(lines)" = 1 ] && [ "$(line 1)" = "$SECOND" ] &&
		out_has "retired key $K1 from $FK" && no_key_material "${FIRST#* }" &&
		[ "$(stat -c '%U %a' "$FK")" = "root 600" ]
}
tap_check "retire the older key: only the current line left, root 0600" retire_old

# --- at most 16 keys --------------------------------------------------------------------

rotate_to_16() {
	local i
	for ((i = 2; i <= 16; i++)); do
		fk rotate || return 1
	done
	[ "$(lines)" = 16 ] && [ "$(line 16)" = "$SECOND" ] &&
		[ "$(cut -d' ' -f1 "$FK" | sort -u | wc -l)" = 16 ]
}
tap_check "rotate 15 times: 16 keys, all ids different, the first key last" rotate_to_16

rotate_17() {
	local before
	before=$(sum)
	fk rotate
	refused 1 && err_has "holds 16 keys, the most it may" && [ "$(sum)" = "$before" ] &&
		no_key_material
}
tap_check "a 17th key: refused, file unchanged, no key material" rotate_17

# --- files the module would refuse ---------------------------------------------------------

malformed() {
	local good
	good=$(line 1)
	printf '%s\n\n' "$good" >"$FK"
	fk show
	refused 1 && err_has "$FK:2: a blank line" && no_key_material || return 1
	printf '%s\n%s\n' "$good" "${good#* }" >"$FK" # a key without its id
	fk rotate
	refused 1 && err_has "$FK:2: does not start with a key id" && no_key_material "${good#* }" &&
		[ "$(lines)" = 2 ]
}
tap_check "a malformed file: show and rotate name file:line, no key material, nothing written" \
	malformed

unsafe_mode() {
	line 1 >"$T/one" && mv "$T/one" "$FK" && chmod 0644 "$FK"
	fk show
	refused 1 && err_has "refusing $FK: mode 0644" && no_key_material || return 1
	fk rotate
	refused 1 && [ "$(lines)" = 1 ] && [ "$(stat -c %a "$FK")" = 644 ]
}
tap_check "a file others can read: refused, not rewritten" unsafe_mode

# --- usage -------------------------------------------------------------------------------------

usage() {
	fk frobnicate && return 1
	refused 2 && err_has "fleet-key: expected 'init', 'rotate', 'retire KID' or 'show'" || return 1
	fk show extra
	refused 2 && err_has "fleet-key show: unexpected extra argument" || return 1
	fk retire
	refused 2 || return 1
	"$STEPUPCTL" -c "$CONF" fleet-key >"$T/fk.out" 2>"$T/fk.err"
	rc=$?
	refused 2 && err_has "fleet-key: missing argument"
}
tap_check "an unknown word, an extra or missing argument: usage errors (2)" usage

help_lists_it() {
	"$STEPUPCTL" --help >"$T/fk.out" 2>"$T/fk.err" && out_has "fleet-key init|rotate|retire KID|show"
}
tap_check "--help lists fleet-key" help_lists_it

tap_check "the system's /etc/stepup/fleetkey was not touched" \
	[ "$([ -e /etc/stepup/fleetkey ] && sha256sum </etc/stepup/fleetkey)" = "$system_file_before" ]
