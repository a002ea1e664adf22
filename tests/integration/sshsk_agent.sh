#!/bin/bash
# Security keys over SSH (DESIGN.md, method sshsk), the foundation: a real
# ssh-agent, run as a test user, holding an ecdsa-sk and an ed25519-sk key
# made by ssh-keygen with the software security key tests/helpers/sk_soft
# (no hardware), and tests/helpers/sshsk_probe, which uses the project's
# agent client (src/sshagent.c) and key checks (src/sshsk.c) as the method
# will: connect as the user, list, sign a fresh challenge, verify. The
# key's answers are set per signature in sk_soft's mode file (touch, no
# touch, PIN verified, counter going backwards, refusal). Then hostile
# agents (tests/integration/sshsk_fake_agent.py): garbage, a stall, a huge
# length, too many identities, a short answer, a signature by another
# key, and sockets of another user: each is "no key", in time, no crash.
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env
require_program ssh-agent ssh-add ssh-keygen useradd userdel setpriv realpath

PROBE=$TOP_BUILDDIR/tests/helpers/sshsk_probe
SK=$TOP_BUILDDIR/tests/helpers/.libs/sk_soft.so
FAKE=$TOP_SRCDIR/tests/integration/sshsk_fake_agent.py
[ -x "$PROBE" ] || tap_bail "$PROBE is not built (make check builds it)"
[ -f "$SK" ] || tap_bail "$SK is not built (make check builds tests/helpers/sk_soft.la)"
SK=$(realpath "$SK")
U=stepupsk$$

tap_plan 29
install_traps
# The last cleanup: once the user's agents (killed by the cleanups before
# it) are gone, userdel succeeds.
remove_user() {
	local _
	for _ in $(seq 50); do
		userdel "$U" 2>/dev/null && return 0
		sleep 0.1
	done
	tap_diag "could not remove the test user $U"
}
add_cleanup remove_user
make_tree sshsk
make_sock_dir
useradd -M -N -s /usr/sbin/nologin "$U" || tap_bail "useradd $U failed"
uid=$(id -u "$U") gid=$(id -g "$U")
A=$SOCKS/agent
{ mkdir -m 0700 "$A" && chown "$U:$gid" "$A"; } || tap_bail "cannot make $A"
MODE=$A/mode
SOCK=$A/agent.sock

as_user() { setpriv --reuid "$uid" --regid "$gid" --clear-groups -- "$@"; }
set_mode() { printf '%s\n' "$@" >"$MODE" && chown "$U" "$MODE"; }

# The probe as the user; its output in $A/probe.out, its status in rc.
rc=
probe() {
	"$PROBE" --as "$uid:$gid" "$@" >"$A/probe.out" 2>&1
	rc=$?
	{ echo "\$ sshsk_probe $*  (exit $rc)"; cat "$A/probe.out"; } | tap_log
}
result() { sed -n 's/^result=\([a-z-]*\).*/\1/p' "$A/probe.out"; }
elapsed() { sed -n 's/.* elapsed_ms=\([0-9]*\).*/\1/p' "$A/probe.out"; }
counter() { sed -n 's/.* counter=\([0-9]*\)$/\1/p' "$A/probe.out"; }
# probe_says RESULT STATUS PROBE-ARGS...
probe_says() {
	local want=$1 want_rc=$2
	shift 2
	probe "$@"
	[ "$rc" = "$want_rc" ] && [ "$(result)" = "$want" ]
}

set_mode up=1 uv=0
SK_SOFT_MODE=$MODE as_user ssh-agent -a "$SOCK" -P "${SK%/*}/*" >"$A/agent.env" 2>&1 ||
	tap_bail "ssh-agent failed: $(cat "$A/agent.env")"
agent_pid=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$A/agent.env")
[ -n "$agent_pid" ] || tap_bail "no agent pid in $(cat "$A/agent.env")"
add_cleanup "kill '$agent_pid' 2>/dev/null"

keygen() { # TYPE FILE KEY-TYPE
	as_user ssh-keygen -q -t "$1" -w "$SK" -f "$2" -N '' -C "$U-$1" >"$A/keygen.out" 2>&1
	local r=$?
	tap_log <"$A/keygen.out"
	[ "$r" = 0 ] && [ "$(cut -d' ' -f1 "$2.pub")" = "$3" ]
}
tap_check "ssh-keygen -t ecdsa-sk makes a key with sk_soft" keygen ecdsa-sk "$A/ecdsa" sk-ecdsa-sha2-nistp256@openssh.com
tap_check "ssh-keygen -t ed25519-sk makes a key with sk_soft" keygen ed25519-sk "$A/ed25519" sk-ssh-ed25519@openssh.com
keygen ecdsa-sk "$A/ecdsa2" sk-ecdsa-sha2-nistp256@openssh.com || tap_bail "ssh-keygen (a second key) failed"
keygen ed25519-sk "$A/absent" sk-ssh-ed25519@openssh.com || tap_bail "ssh-keygen (a key never added) failed"

added() {
	SSH_AUTH_SOCK=$SOCK as_user ssh-add -S "$SK" "$A/ecdsa" "$A/ed25519" "$A/ecdsa2" 2>&1 | tap_log
	SSH_AUTH_SOCK=$SOCK as_user ssh-add -L >"$A/listed" 2>&1
	tap_log <"$A/listed"
	grep -qF "$(cut -d' ' -f2 "$A/ecdsa.pub")" "$A/listed" &&
		grep -qF "$(cut -d' ' -f2 "$A/ed25519.pub")" "$A/listed"
}
tap_check "ssh-add -S loads both keys into the agent (ssh-add -L)" added

fingerprints_match() {
	probe list "$SOCK" || return 1
	local f
	for f in ecdsa ed25519; do
		fp=$(ssh-keygen -lf "$A/$f.pub" | cut -d' ' -f2)
		grep -qx "sk $fp ssh:" "$A/probe.out" || return 1
	done
	grep -qx "count=3" "$A/probe.out"
}
tap_check "the agent's identities parse, fingerprints as ssh-keygen -lf prints them" fingerprints_match

tap_check "ecdsa-sk, touched: verified" probe_says valid 0 sign "$SOCK" "$A/ecdsa.pub"
first=$(counter)
tap_check "ed25519-sk, touched: verified" probe_says valid 0 sign "$SOCK" "$A/ed25519.pub"
counts_up() { probe sign "$SOCK" "$A/ecdsa.pub" && [ -n "$first" ] && [ "$(counter)" -gt "$first" ]; }
tap_check "the counter goes up with each signature" counts_up
tap_check "the counter kept is passed: a higher one is fine" \
	probe_says valid 0 --kept "$(counter)" sign "$SOCK" "$A/ed25519.pub"

set_mode up=0
tap_check "ecdsa-sk, not touched (no user-presence flag): refused" \
	probe_says no-presence 1 sign "$SOCK" "$A/ecdsa.pub"
tap_check "ed25519-sk, not touched: refused" probe_says no-presence 1 sign "$SOCK" "$A/ed25519.pub"

set_mode up=1 uv=0
tap_check "PIN required, not verified (no UV flag): refused" \
	probe_says no-verification 1 --uv sign "$SOCK" "$A/ecdsa.pub"
set_mode up=1 uv=1
tap_check "PIN required and verified (ecdsa-sk): verified" \
	probe_says valid 0 --uv sign "$SOCK" "$A/ecdsa.pub"
tap_check "PIN required and verified (ed25519-sk): verified" \
	probe_says valid 0 --uv sign "$SOCK" "$A/ed25519.pub"

set_mode up=1 counter=3
tap_check "a counter going backwards (3 after 1000) is reported" \
	probe_says counter-backwards 3 --kept 1000 sign "$SOCK" "$A/ecdsa.pub"
tap_check "a counter equal to the one kept is reported too" \
	probe_says counter-backwards 3 --kept 3 sign "$SOCK" "$A/ed25519.pub"
set_mode up=1 counter=0
tap_check "a key that keeps no counter (0, none kept) is told apart" \
	probe_says valid-no-counter 0 sign "$SOCK" "$A/ed25519.pub"

set_mode refuse=1
tap_check "the key refuses (no touch in time): the agent's failure, no key" \
	probe_says agent-refused 1 sign "$SOCK" "$A/ecdsa.pub"
set_mode up=1
tap_check "a key the agent does not hold: no key, nothing signed" \
	probe_says no-key 1 sign "$SOCK" "$A/absent.pub"

# --- sockets the user may not use ------------------------------------------
# The agent's socket opened to all: connecting as another user (nobody)
# reaches it, and the peer check refuses it.
others_socket_refused() {
	chmod 0711 "$A" && chmod 0666 "$SOCK" || return 1
	"$PROBE" --as 65534:65534 list "$SOCK" >"$A/probe.out" 2>&1
	rc=$?
	chmod 0700 "$A"
	chmod 0600 "$SOCK"
	tap_log <"$A/probe.out"
	[ "$rc" = 2 ] && grep -q "another user's (uid $uid)" "$A/probe.out"
}
tap_check "a socket whose agent is another user's is refused (SO_PEERCRED)" others_socket_refused

# A root-only socket reached through the user's own symlink: connecting as
# the user, never as root, it is not reached.
R=$T/rootonly
mkdir -m 0700 "$R"
start_fake() { # MODE SOCKET AS-USER(0/1) [ARGS]
	local mode=$1 sock=$2 user=$3 out
	shift 3
	# Its own output file: the second swap agent must not find the first
	# one's "ready".
	out=$(mktemp "$A/fake.$mode.XXXXXX") || tap_bail "mktemp failed"
	# setpriv execs python: $! is the agent itself, for the cleanup.
	if [ "$user" = 1 ]; then
		setpriv --reuid "$uid" --regid "$gid" --clear-groups -- \
			"$TEST_PYTHON" "$FAKE" "$mode" "$sock" "$@" >"$out" 2>&1 &
	else
		"$TEST_PYTHON" "$FAKE" "$mode" "$sock" "$@" >"$out" 2>&1 &
	fi
	add_cleanup "kill $! 2>/dev/null"
	for _ in $(seq 50); do grep -q ready "$out" && return 0; sleep 0.1; done
	tap_bail "the fake agent ($mode) did not start: $(cat "$out")"
}
start_fake stall "$R/sock" 0
ln -s "$R/sock" "$A/link" && chown -h "$U" "$A/link"
symlink_refused() {
	probe list "$A/link"
	[ "$rc" = 2 ] && grep -q "cannot connect to the agent socket as the user" "$A/probe.out"
}
tap_check "a symlink to a root-only socket is not followed into it" symlink_refused

not_a_socket() {
	local p
	: >"$A/file" && chown "$U" "$A/file" || return 1
	for p in "$A/file" "$A" relative.sock "/$(printf 'x%.0s' $(seq 200))" "$A/missing"; do
		probe --timeout 2000 list "$p"
		[ "$rc" = 2 ] || return 1
	done
}
tap_check "a path that is a file, a directory, relative, too long or missing: no key" not_a_socket

# --- hostile agents (the user's own) -------------------------------------------
hostile() { # MODE WHAT-THE-REASON-SAYS
	probe --timeout 3000 list "$A/$1.sock"
	[ "$rc" = 2 ] && [ "$(elapsed)" -lt 3000 ] && grep -q -- "$2" "$A/probe.out"
}
for m in garbage stall huge many short; do start_fake "$m" "$A/$m.sock" 1; done
tap_check "an agent answering garbage: no key, at once" hostile garbage "why="
stall_bounded() {
	probe --timeout 2000 list "$A/stall.sock"
	local ms
	ms=$(elapsed)
	[ "$rc" = 2 ] && [ "$ms" -ge 1900 ] && [ "$ms" -lt 3500 ] &&
		grep -q "did not answer in time" "$A/probe.out"
}
tap_check "an agent that never answers: given up at the timeout (2 s)" stall_bounded
tap_check "an agent announcing a 4 GiB answer: refused from the length" hostile huge "answer of 4294967295 bytes"
tap_check "an agent claiming 100000 identities: refused" hostile many "100000 identities"
tap_check "an agent that hangs up mid-answer: no key" hostile short "closed the connection"

# Proxies that have the real agent sign with another key than the one
# asked for: a signature by another key of the same type fails the
# signature check; one of another type is refused by its type.
start_fake swap "$A/swap.sock" 1 "$SOCK" "$A/ecdsa.pub" "$A/ecdsa2.pub"
other_key() { probe_says invalid 1 sign "$A/swap.sock" "$A/ecdsa.pub" && grep -q "does not verify" "$A/probe.out"; }
tap_check "a signature by another ecdsa-sk key than the one asked for: not verified" other_key
start_fake swap "$A/swap2.sock" 1 "$SOCK" "$A/ed25519.pub" "$A/ecdsa.pub"
other_type() { probe_says invalid 1 sign "$A/swap2.sock" "$A/ed25519.pub" && grep -q "not a signature of type" "$A/probe.out"; }
tap_check "a signature of another type than the key's: not verified" other_type

no_core() { ! ls "$A"/core* >/dev/null 2>&1 && kill -0 "$agent_pid"; }
tap_check "no crash anywhere; the real agent still runs" no_core
