#!/bin/bash
# The manual pages against the code (TAP). What is documented is read from
# the CODE's own tables, not from a list kept here, so a key, argument,
# command or option added to the code without a line in its page fails:
#
#   stepup.conf(5)  every row of src/config.c's keys[] (a "*KEY* = ..." term
#                   with the table's default, range, [global]-only and
#                   module-argument flags, and its words), the [gate] key,
#                   the [sudo] keys and the section names; no term for a
#                   key the code lacks.
#   pam_stepup(8)   every module argument (pam_stepup.c's own, and the
#                   KEY_ARG rows of keys[]) as an OPTIONS term, and no other;
#                   every PAM_* code the flow returns; every log reason.
#   stepupctl(8)    every command of src/stepupctl.c's commands[], every long
#                   option of its option tables, every short option of its
#                   getopt strings, its methods and exit statuses; no command
#                   or option the code lacks.
#   stepup-gate(8)  the variables src/stepup-gate.c keeps and sets, its PATH,
#                   service, PAM items, signals and limits.
#
# And each page: scdoc builds it without a message, no source line would be
# eaten by roff (a leading "." or "'", a backslash scdoc drops), and
# `man --warnings -l` renders the built page without a warning (skipped
# without man). An extraction that finds nothing fails: a moved table must
# not make the test pass by checking nothing.
#
# Env: TOP_SRCDIR (sources), TOP_BUILDDIR (the built pages in docs/), SCDOC.
set -u

here=$(cd "$(dirname "$0")" && pwd)
SRC=${TOP_SRCDIR:-$here/..}
BUILD=${TOP_BUILDDIR:-$SRC}
SCDOC=${SCDOC:-scdoc}
PAGES="pam_stepup.8 stepup.conf.5 stepupctl.8 stepup-gate.8"

n=0
failed=0
out=()
ok() { n=$((n + 1)); out+=("ok $n - $*"); }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); out+=("not ok $n - $*"); }
skip() { n=$((n + 1)); out+=("ok $n - $1 # SKIP $2"); }
diag() { printf '# %s\n' "$@" >&2; }
check() { # DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
finish() {
	echo "1..$n"
	printf '%s\n' "${out[@]}"
	exit 0
}

T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT

scd() { echo "$SRC/docs/$1.scd"; }
roff() { echo "$BUILD/docs/$1"; }

# The .scd lines of section NAME ("# NAME" up to the next "# ").
section() { # PAGE NAME
	awk -v want="# $2" '/^# /{on = ($0 == want); next} on' "$(scd "$1")"
}

# The built page as text: font changes and roff escapes of scdoc removed.
plain() { # PAGE
	sed -e 's/\\f[BIRP]//g' -e 's/\\&//g' -e 's/\\-/-/g' -e 's/\\\\/\\/g' "$(roff "$1")"
}

# Has the built page this word (fixed string, whole word)?
in_page() { # PAGE WORD
	plain "$1" | grep -qwF -- "$2"
}

# Is there a term line "*WORD*..." (WORD bold at the start of a line, tabs
# allowed) in these .scd lines on stdin?
has_term() { # WORD  < lines
	awk -v w="*$1*" '{sub(/^\t+/, "")} index($0, w) == 1 {f = 1} END {exit !f}'
}

# One key's description in stepup.conf(5): its term line and the indented
# lines after it, joined, without "*", blanks squeezed, ", " as ",".
key_block() { # KEY
	awk -v w="*$1* =" '
		index($0, w) == 1 {on = 1; text = $0; next}
		on && ($0 == "" || /^\t/) {text = text " " $0; next}
		on {exit}
		END {print text}' "$(scd stepup.conf.5)" |
		tr -d '*' | tr -s ' \t' '  ' | sed 's/, /,/g'
}

# Does TEXT contain WORD not followed by a letter, digit or "/"?
has_phrase() { # TEXT PHRASE
	awk -v t="$1" -v p="$2" 'BEGIN {
		while ((i = index(t, p)) > 0) {
			c = substr(t, i + length(p), 1)
			if (c !~ /[A-Za-z0-9_\/]/) exit 0
			t = substr(t, i + 1)
		}
		exit 1
	}'
}

# --- extraction from the code ------------------------------------------------

# src/config.c keys[]: one row per key, "name|kind|lo|hi|flags|default|words"
# (not tabs: read would merge empty fields).
awk '
	/^static const char \*const [a-z_]+_words\[\] = \{/ {
		name = $0; sub(/^static const char \*const /, "", name); sub(/\[.*/, "", name)
		list = $0; sub(/^[^{]*\{/, "", list); sub(/NULL.*/, "", list)
		gsub(/[" ]/, "", list); sub(/,$/, "", list)
		words[name] = list
	}
	/^static const struct key keys\[\] = \{/ {in_table = 1; next}
	in_table && /^\};/ {in_table = 0}
	in_table && /^[ \t]*(STR|UINT|WORD)\(/ {
		line = $0
		sub(/^[ \t]*/, "", line)
		macro = substr(line, 1, index(line, "(") - 1)
		line = substr(line, index(line, "(") + 1)
		sub(/\),[ \t]*$/, "", line)
		def = ""
		if (match(line, /"[^"]*"[ \t]*$/)) {
			def = substr(line, RSTART + 1, RLENGTH - 2)
			sub(/"[^"]*"[ \t]*$/, "", line)
		}
		n = split(line, f, /[ \t]*,[ \t]*/)
		if (macro == "UINT") { # name, lo, hi, flags, def
			if (n != 5) { print "BAD|" $0; next }
			printf "%s|K_UINT|%s|%s|%s|%s|\n", f[1], f[2], f[3], f[4], f[5]
		} else if (macro == "WORD") { # name, words, setter, flags, "def"
			if (n != 5) { print "BAD|" $0; next }
			printf "%s|K_WORD|||%s|%s|%s\n", f[1], f[4], def, words[f[2]]
		} else { # STR(name, kind, flags, "def" | NULL)
			if (n < 3) { print "BAD|" $0; next }
			printf "%s|%s|||%s|%s|\n", f[1], f[2], f[3], def
		}
	}' "$SRC/src/config.c" >"$T/keys"

KEYS=$(cut -d'|' -f1 "$T/keys" | grep -v '^BAD$')
ARG_KEYS=$(awk -F'|' '$5 ~ /KEY_ARG/ {print $1}' "$T/keys")
# The [gate] section's own key (conf_gate_key) and [sudo]'s (conf_sudo_key).
section_keys() {
	sed -n "/^bool $1(/,/^}/p" "$SRC/src/config.c" | sed -n 's/.*strcmp(key, "\([a-z_]*\)").*/\1/p'
}
GATE_KEYS=$(section_keys conf_gate_key)
SUDO_KEYS=$(section_keys conf_sudo_key)
SECTIONS=$(sed -n 's/.*strcmp(inner, "\([a-z]*\)").*/\1/p; s/.*strncmp(inner, "\([a-z]*\)", [0-9]*).*/\1/p' \
	"$SRC/src/config.c")
# Module arguments the entry point and the argument parser take themselves.
OWN_ARGS=$(cat "$SRC/pam_stepup.c" "$SRC/src/config.c" |
	sed -n 's/.*strn\{0,1\}cmp(\(argv\[i\]\|arg\), "\([a-z_]*\)=\{0,1\}".*/\2/p' | sort -u)
ARGS=$(printf '%s\n' $OWN_ARGS $ARG_KEYS | sort -u)
# Every PAM_* the flow returns (return lines; comments and strings left out).
RETURNS=$(cat "$SRC/pam_stepup.c" "$SRC/src/stepup.c" | grep -v '^[[:space:]]*\(\*\|/\*\)' |
	grep 'return' | sed 's/"[^"]*"//g' | grep -o 'PAM_[A-Z_]*' | sort -u)
# Log reasons: hyphenated literals of the flow, the literal after a result,
# and what locked_out() is called with.
tr '\n' ' ' <"$SRC/src/stepup.c" >"$T/stepup.flat"
REASONS=$( {
	grep -o '"[a-z]\+\(-[a-z]\+\)\+"' "$SRC/src/stepup.c"
	grep -o '"\(success\|failure\|allow\|deny\|error\|sent\)",[[:space:]]*"[a-z-]*"' "$T/stepup.flat" |
		sed 's/.*,[[:space:]]*//'
	grep -o 'locked_out(s, "[a-z-]*")' "$T/stepup.flat" | sed 's/.*(s, //; s/)$//'
} | tr -d '"' | sort -u)
# stepupctl: commands[], methods[], option tables, getopt strings, exits.
table_names() { # ARRAY-DECLARATION-PREFIX FILE
	awk -v start="$1" 'index($0, start) == 1 {on = 1; next}
		on && /^\};/ {exit}
		on && /^[ \t]*\{ "/ {s = $0; sub(/^[ \t]*\{ "/, "", s); sub(/".*/, "", s); print s}' "$2"
}
COMMANDS=$(table_names 'static const ctl_command commands[] = {' "$SRC/src/stepupctl.c")
METHODS=$(table_names 'static const ctl_method methods[] = {' "$SRC/src/stepupctl.c")
LONGOPTS=$(grep -o '{ "[a-z-]*", \(no\|required\|optional\)_argument' "$SRC/src/stepupctl.c" |
	sed 's/{ "\([a-z-]*\)".*/\1/' | sort -u)
SHORTOPTS=$(grep -o 'getopt_long([^"]*"[^"]*"' "$SRC/src/stepupctl.c" | sed 's/.*"\([^"]*\)"$/\1/' |
	tr -d '+:' | fold -w1 | sort -u)
EXITS=$(grep -o 'CTL_[A-Z]* = [0-9][0-9]*' "$SRC/src/stepupctl/ctl.h" | sed 's/.* = //' | sort -u)
# stepup-gate: kept variables, set variables, PATH, service, items, signals.
GATE_SRC=$SRC/src/stepup-gate.c
GATE_KEEP=$( {
	awk '/names\[\] = \{/ {on = 1} on {print} on && /\};/ {exit}' "$GATE_SRC" | grep -o '"[A-Z_]*"'
	grep -o 'strncmp(entry, "[A-Z_]*"' "$GATE_SRC" | sed 's/.*, //'
} | tr -d '"' | sort -u)
GATE_SET=$(grep -o 'pair("[A-Z_]*"' "$GATE_SRC" | sed 's/pair("//; s/"//')
GATE_PATH=$(sed -n 's/^#define GATE_PATH "\(.*\)"/\1/p' "$GATE_SRC")
GATE_SERVICE=$(sed -n 's/^#define GATE_SERVICE "\(.*\)"/\1/p' "$GATE_SRC")
GATE_ITEMS=$( {
	grep -o 'pam_set_item(pamh, PAM_[A-Z_]*' "$GATE_SRC" | sed 's/.*, //'
	grep -q 'pam_start(GATE_SERVICE, a->name' "$GATE_SRC" && echo PAM_USER
} | sort -u)
GATE_SIGNALS=$(grep -o 'sigaddset(&quiet, SIG[A-Z]*' "$GATE_SRC" | sed 's/.*, //')
GATE_LIMITS=$(sed -n 's/^#define \(ANSWER_MAX\|ENV_MAX\|ENV_VALUE_MAX\) \([0-9]*\).*/\2/p' "$GATE_SRC")

nonempty() { # WHAT VALUE
	if [ -n "$(printf '%s' "$2" | tr -d '[:space:]')" ]; then
		ok "code: found $1 ($(echo $2 | wc -w))"
	else
		not_ok "code: found $1 (none: did the code move?)"
	fi
}
nonempty "config keys in src/config.c keys[]" "$KEYS"
if grep -q '^BAD' "$T/keys"; then
	not_ok "code: every row of keys[] parsed"
	diag "rows not understood:" "$(grep '^BAD' "$T/keys")"
else
	ok "code: every row of keys[] parsed"
fi
nonempty "module-argument keys (KEY_ARG)" "$ARG_KEYS"
nonempty "module arguments of pam_stepup.c" "$OWN_ARGS"
nonempty "the [gate] key" "$GATE_KEYS"
nonempty "the [sudo] keys" "$SUDO_KEYS"
nonempty "section names" "$SECTIONS"
nonempty "PAM return codes" "$RETURNS"
nonempty "log reasons" "$REASONS"
nonempty "stepupctl commands" "$COMMANDS"
nonempty "stepupctl methods" "$METHODS"
nonempty "stepupctl long options" "$LONGOPTS"
nonempty "stepupctl short options" "$SHORTOPTS"
nonempty "stepupctl exit statuses" "$EXITS"
nonempty "gate variables kept" "$GATE_KEEP"
nonempty "gate variables set" "$GATE_SET"
nonempty "gate PAM items" "$GATE_ITEMS"

# --- each page builds, is clean, renders ----------------------------------------

for page in $PAGES; do
	src=$(scd "$page")
	if [ ! -f "$src" ]; then
		not_ok "$page: source $src exists"
		continue
	fi
	if "$SCDOC" <"$src" >"$T/page" 2>"$T/err" && [ ! -s "$T/err" ] && [ -s "$T/page" ]; then
		ok "$page: scdoc builds it without a message"
	else
		not_ok "$page: scdoc builds it without a message"
		diag "$(cat "$T/err")"
	fi
	# Outside literal blocks, a line starting with "." or "'" (but for a
	# numbered list item) is eaten by scdoc or roff; anywhere, scdoc drops a
	# backslash before a letter or digit ("\x" must be written "\\x").
	awk -v f="$page" '
		/^[ \t]*```/ {lit = !lit; next}
		{ s = $0; sub(/^\t+/, "", s) }
		!lit && s ~ /^[.\x27]/ && s !~ /^\. / {print f ":" NR ": starts with . or \x27: " $0; bad = 1}
		$0 ~ /(^|[^\\])\\[A-Za-z0-9]/ {print f ":" NR ": backslash scdoc drops: " $0; bad = 1}
		END {exit bad}' "$src" >"$T/lint"
	if [ -s "$T/lint" ]; then
		not_ok "$page: no source line roff or scdoc would eat"
		diag "$(cat "$T/lint")"
	else
		ok "$page: no source line roff or scdoc would eat"
	fi
	if [ ! -s "$(roff "$page")" ]; then
		not_ok "$page: built by make in $BUILD/docs"
		continue
	fi
	ok "$page: built by make in $BUILD/docs"
	if ! command -v man >/dev/null; then
		skip "$page: man --warnings renders it cleanly" "man is not installed"
		continue
	fi
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat \
		man --warnings -l "$(roff "$page")" 2>&1 >/dev/null)
	if [ -z "$warnings" ]; then
		ok "$page: man --warnings renders it cleanly"
	else
		not_ok "$page: man --warnings renders it cleanly"
		diag "$warnings"
	fi
done

# Without the built pages the rest would only report the same absence.
for page in $PAGES; do
	[ -s "$(roff "$page")" ] && [ -f "$(scd "$page")" ] || finish
done

# --- stepup.conf(5) ------------------------------------------------------------

section stepup.conf.5 KEYS >"$T/conf_keys"
while IFS='|' read -r name kind lo hi flags def words; do
	[ "$name" = BAD ] && continue
	what="stepup.conf(5) documents key $name"
	problems=()
	has_term "$name" <"$T/conf_keys" || problems+=("no '*$name* = ...' term in KEYS")
	plain stepup.conf.5 | grep -qwF -- "$name" || problems+=("not in the built page")
	block=$(key_block "$name")
	defn=$(printf '%s' "$def" | sed 's/, /,/g')
	if [ -n "$defn" ]; then
		has_phrase "$block" "Default: $defn" || problems+=("no 'Default: $def'")
	else
		has_phrase "$block" "Default:" || problems+=("no 'Default:'")
	fi
	if [ "$kind" = K_UINT ]; then
		has_phrase "$block" "$lo to $hi" || problems+=("no range '$lo to $hi'")
	fi
	case $flags in
	*KEY_GLOBAL*) has_phrase "$block" "Only in [global]" || problems+=("not marked 'Only in [global]'") ;;
	*) has_phrase "$block" "Only in [global]" && problems+=("marked 'Only in [global]' but allowed per service") ;;
	esac
	case $flags in
	*KEY_ARG*) has_phrase "$block" "Also a module argument" || problems+=("not marked 'Also a module argument'") ;;
	*) has_phrase "$block" "Also a module argument" && problems+=("marked 'Also a module argument' but it is not one") ;;
	esac
	for w in ${words//,/ }; do
		grep -F "*$name* =" "$T/conf_keys" | grep -qF "*$w*" || problems+=("word '$w' not in its term line")
	done
	if [ ${#problems[@]} -eq 0 ]; then
		ok "$what"
	else
		not_ok "$what"
		diag "${problems[@]}"
	fi
done <"$T/keys"

for k in $GATE_KEYS; do
	check "stepup.conf(5) documents [gate] key $k" has_term "$k" <"$T/conf_keys"
	check "stepup-gate(8) mentions $k" in_page stepup-gate.8 "$k"
done
for k in $SUDO_KEYS; do
	check "stepup.conf(5) documents [sudo] key $k" has_term "$k" <"$T/conf_keys"
	check "pam_stepup(8) mentions $k" in_page pam_stepup.8 "$k"
done
for s in $SECTIONS; do
	check "stepup.conf(5) documents section [$s" grep -qF "[$s" "$(roff stepup.conf.5)"
done
# No term for a key the code does not have.
documented=$(sed -n 's/^\*\([a-z_]*\)\* =.*/\1/p' "$T/conf_keys")
extra=$(comm -23 <(printf '%s\n' $documented | sort -u) <(printf '%s\n' $KEYS $GATE_KEYS $SUDO_KEYS | sort -u))
if [ -z "$extra" ]; then
	ok "stepup.conf(5) documents no key the code lacks"
else
	not_ok "stepup.conf(5) documents no key the code lacks"
	diag "documented, not in src/config.c: $extra"
fi

# --- pam_stepup(8) --------------------------------------------------------------

section pam_stepup.8 OPTIONS >"$T/options"
# A term line "*NAME=..." or "*NAME*".
has_arg_term() { # NAME  < lines
	awk -v a="*$1=" -v b="*$1*" 'index($0, a) == 1 || index($0, b) == 1 {f = 1} END {exit !f}'
}
for a in $ARGS; do
	if has_arg_term "$a" <"$T/options"; then
		ok "pam_stepup(8) documents module argument $a"
	else
		not_ok "pam_stepup(8) documents module argument $a"
	fi
done
documented=$(sed -n 's/^\*\([a-z_]*\)[=*].*/\1/p' "$T/options")
extra=$(comm -23 <(printf '%s\n' $documented | sort -u) <(printf '%s\n' $ARGS | sort -u))
if [ -z "$extra" ]; then
	ok "pam_stepup(8) documents no module argument the code lacks"
else
	not_ok "pam_stepup(8) documents no module argument the code lacks"
	diag "documented, not accepted by the code: $extra"
fi
section pam_stepup.8 "RETURN VALUES" >"$T/returns"
for r in $RETURNS; do
	check "pam_stepup(8) documents return code $r" has_term "$r" <"$T/returns"
done
section pam_stepup.8 LOGGING >"$T/logging"
for r in $REASONS; do
	check "pam_stepup(8) documents log reason $r" grep -qF "*$r*" "$T/logging"
done

# --- stepupctl(8) ----------------------------------------------------------------

section stepupctl.8 COMMANDS >"$T/commands"
# A term line "*NAME*..." or "*NAME more words*...".
has_command_term() { # NAME  < lines
	awk -v a="*$1*" -v b="*$1 " 'index($0, a) == 1 || index($0, b) == 1 {f = 1} END {exit !f}'
}
for c in $COMMANDS; do
	check "stepupctl(8) documents command $c" has_command_term "$c" <"$T/commands"
done
documented=$(sed -n 's/^\*\([a-z-]*\)[* ].*/\1/p' "$T/commands" | sort -u)
extra=$(comm -23 <(printf '%s\n' $documented) <(printf '%s\n' $COMMANDS | sort -u))
if [ -z "$extra" ]; then
	ok "stepupctl(8) documents no command the code lacks"
else
	not_ok "stepupctl(8) documents no command the code lacks"
	diag "documented, not in commands[]: $extra"
fi
for o in $LONGOPTS; do
	check "stepupctl(8) documents option --$o" grep -qF -- "*--$o*" "$(scd stepupctl.8)"
done
documented=$(grep -o -- '\*--[a-z-]*\*' "$(scd stepupctl.8)" | tr -d '*' | sed 's/^--//' | sort -u)
extra=$(comm -23 <(printf '%s\n' $documented) <(printf '%s\n' $LONGOPTS))
if [ -z "$extra" ]; then
	ok "stepupctl(8) documents no option the code lacks"
else
	not_ok "stepupctl(8) documents no option the code lacks"
	diag "documented, not in any option table: $extra"
fi
section stepupctl.8 OPTIONS >"$T/ctl_options"
for o in $SHORTOPTS; do
	check "stepupctl(8) documents option -$o" has_term "-$o" <"$T/ctl_options"
done
for m in $METHODS; do
	check "stepupctl(8) documents method $m" grep -qF "*$m*" "$T/commands"
done
section stepupctl.8 "EXIT STATUS" >"$T/exits"
for e in $EXITS; do
	check "stepupctl(8) documents exit status $e" has_term "$e" <"$T/exits"
done

# --- the limit of [sudo] path rules, stated where rules are written -------------

squash() { tr -s ' \n\t' '   ' <"$1" | sed -e 's/[*`]//g'; }
LIMIT="Path rules bind only users whose sudoers restricts the commands they may run"
for f in README.md docs/stepup.conf.5.scd docs/decisions.md; do
	check "$f states that path rules bind only users with restricted sudoers" \
		grep -qF -- "$LIMIT" <(squash "$SRC/$f")
	check "$f recommends stepup_command = ALL for users allowed ALL" \
		grep -qF -- "stepup_command = ALL plus exact exempt" <(squash "$SRC/$f")
done

# --- stepup-gate(8) ----------------------------------------------------------------

for v in $GATE_KEEP $GATE_SET $GATE_ITEMS $GATE_SIGNALS; do
	check "stepup-gate(8) mentions $v" in_page stepup-gate.8 "$v"
done
check "stepup-gate(8) gives the PATH the command gets" \
	grep -qF -- "PATH=$GATE_PATH" <(plain stepup-gate.8)
check "stepup-gate(8) names its PAM service file" \
	grep -qF -- "/etc/pam.d/$GATE_SERVICE" <(plain stepup-gate.8)
for l in $GATE_LIMITS; do
	check "stepup-gate(8) gives the limit $l" in_page stepup-gate.8 "$l"
done
section stepup-gate.8 "EXIT STATUS" >"$T/gate_exits"
check "stepup-gate(8) documents exit status 1" has_term 1 <"$T/gate_exits"

finish
