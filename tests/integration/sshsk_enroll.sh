#!/bin/bash
# stepupctl enroll USER sshkey with files a user could hand root: key
# lines too large for a record; a symbolic link to a secret file, a FIFO,
# bytes a terminal takes for controls (nothing of them echoed, nothing
# waited for). No agent and no PAM involved (key lines
# made here from a fixed P-256 point, each key told apart by its
# application string, which is part of the blob).
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env

U=nobody
tap_plan 7
make_tree sshsk_enroll "methods = totp,sshsk"
enroll "$U" "$(secret_for "$U")" || tap_bail "enroll $U totp failed"
RECORD=$T/etc/stepup/users/$U

ctl() { "$STEPUPCTL" -c "$CONF" "$@" >"$T/ctl.out" 2>&1; local r=$?; { echo "\$ stepupctl $* (exit $r)"; cat "$T/ctl.out"; } | tap_log; return $r; }

# keylines N APPLEN COMMENTLEN: N ecdsa-sk key lines.
keylines() {
	"$TEST_PYTHON" - "$@" <<'PY'
import base64, struct, sys
n, applen, clen = map(int, sys.argv[1:4])
point = base64.b64decode(
    "AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBNjUA9VKEjkl6G59"
    "Gyk6DIVMQOxTvO1cU7CBPyhKOybX3XOF1+Di73VXk2RBO62hhDrNUryhmvV/7Z6JwXeYYsQAAAAEc3NoOg==")[54:54 + 65]
def s(b): return struct.pack(">I", len(b)) + b
t = b"sk-ecdsa-sha2-nistp256@openssh.com"
for i in range(n):
    app = (b"ssh:%04d" % i).ljust(applen, b"x")
    blob = s(t) + s(b"nistp256") + s(point) + s(app)
    print(t.decode(), base64.b64encode(blob).decode(), ("c%d" % i).ljust(clen, "y") if clen else "")
PY
}

# 16 keys with 1000-byte applications made a record of about 24 KB, more
# than a record may be (SU_RECORD_MAX_SIZE): read back, it failed every
# step-up of the user, and status and remove too.
too_long_application() {
	keylines 16 1000 0 >"$T/long.pub" || return 1
	cp "$RECORD" "$T/record.before"
	! ctl enroll "$U" sshkey "$T/long.pub" && grep -q "nothing enrolled" "$T/ctl.out" &&
		cmp -s "$RECORD" "$T/record.before" && ctl status "$U" &&
		keylines 1 256 0 >"$T/ok.pub" && ctl enroll "$U" sshkey "$T/ok.pub" &&
		ctl remove "$U" sshkey "$(ssh-keygen -lf "$T/ok.pub" | cut -d' ' -f2)"
}
tap_check "keys with applications over 256 bytes: refused, the record unchanged" too_long_application

# The record as a whole: with other entries of the record large, keys
# that fit one by one would still make it too large to read back.
record_too_large() {
	keylines 16 256 256 >"$T/big.pub" || return 1
	# An entry of 4000 bytes added to the record by hand (it is kept as
	# is) brings it near the limit; 16 keys of 256-byte applications and
	# comments (about 13 KB) then pass it.
	"$TEST_PYTHON" - "$RECORD" <<'PY' || return 1
import sys
p = sys.argv[1]
lines = open(p).read().splitlines()
open(p, "w").write("\n".join(lines + ["label=" + "L" * 4000]) + "\n")
PY
	cp "$RECORD" "$T/record.before"
	ctl status "$U" || return 1
	! ctl enroll "$U" sshkey "$T/big.pub" && grep -q "would be larger than 16384 bytes" "$T/ctl.out" &&
		cmp -s "$RECORD" "$T/record.before" && ctl status "$U"
}
tap_check "keys that would make the record too large to read back: refused, the record unchanged" record_too_large

# no_high FILE: no byte 0x7f or above, no control but newline and tab.
no_high() { ! LC_ALL=C grep -q '[^[:print:]	]' "$1"; }

# The user's ~/id_sk.pub a symbolic link to a file only root reads: not
# followed, and not a byte of the file printed (it printed a shadow line).
symlink_to_secret() {
	local d=$T/home
	mkdir -p "$d" && printf 'SECRETTOKEN:$y$j9T$abc:19000::::::\n' >"$T/secret" &&
		chmod 0600 "$T/secret" && ln -sf "$T/secret" "$d/id_sk.pub" || return 1
	! ctl enroll "$U" sshkey "$d/id_sk.pub" && grep -q "symbolic link" "$T/ctl.out" &&
		! grep -q SECRETTOKEN "$T/ctl.out" &&
		cp "$T/secret" "$d/copy.pub" && ! ctl enroll "$U" sshkey "$d/copy.pub" &&
		grep -q "copy.pub line 1: not a security-key public key (sk-ecdsa-sha2-nistp256@openssh.com or sk-ssh-ed25519@openssh.com" "$T/ctl.out" &&
		! grep -q SECRETTOKEN "$T/ctl.out"
}
tap_check "a symbolic link to a secret file: refused, nothing of it printed; its content in a file: not echoed" symlink_to_secret

# A FIFO (or any file that is not regular): refused at once, not waited on.
fifo_refused() {
	mkfifo "$T/fifo.pub" || return 1
	! timeout 5 "$STEPUPCTL" -c "$CONF" enroll "$U" sshkey "$T/fifo.pub" >"$T/ctl.out" 2>&1 &&
		grep -q "not a regular file" "$T/ctl.out"
}
tap_check "a FIFO: refused at once" fifo_refused

# Bytes of 0x7f and above (0x9b is a terminal's CSI) in the line and in
# the file's name: none of them printed.
high_bytes() {
	local f
	f=$T/$(printf 'k\x9bey').pub
	printf '\x9b[2Jsk-x\x9b\x7f AAAA c\n' >"$f" || return 1
	! ctl enroll "$U" sshkey "$f" && grep -q "line 1: not a security-key public key" "$T/ctl.out" &&
		no_high "$T/ctl.out" &&
		printf 'sk-ssh-ed25519@openssh.com AAAA caf\xc3\xa9\n' >"$f" &&
		! ctl enroll "$U" sshkey "$f" && no_high "$T/ctl.out"
}
tap_check "bytes 0x7f and above in the file and its name: none printed" high_bytes

# A copy root made in a directory others may write in (as root's scp to
# /tmp makes): refused, naming the directory (another user could have put
# a hard link there); the same key on standard input is enrolled.
root_copy_in_open_dir() {
	local d=$T/open fp
	mkdir -m 1777 "$d" && keylines 1 12 0 >"$d/alice.pub" || return 1
	fp=$(ssh-keygen -lf "$d/alice.pub" | cut -d' ' -f2)
	! ctl enroll "$U" sshkey "$d/alice.pub" &&
		grep -qF "refusing $d/alice.pub: owned by root" "$T/ctl.out" &&
		grep -qF "$d: directory mode 1777" "$T/ctl.out" &&
		ctl status "$U" && ! grep -qF "$fp" "$T/ctl.out" &&
		"$STEPUPCTL" -c "$CONF" enroll "$U" sshkey - <"$d/alice.pub" >"$T/ctl.out" 2>&1 &&
		ctl status "$U" && grep -qF "$fp" "$T/ctl.out"
}
tap_check "a root-owned key file in a directory others may write: refused naming it; the same key on stdin: enrolled" \
	root_copy_in_open_dir

# A key file of a third user, as alice could leave a /tmp/bob.pub of her
# own holding her key: refused, naming its owner; the user's own file is
# enrolled.
third_users_file() {
	local d=$T/third fp
	mkdir -m 0755 "$d" && keylines 1 14 0 >"$d/key.pub" && chown daemon "$d/key.pub" || return 1
	fp=$(ssh-keygen -lf "$d/key.pub" | cut -d' ' -f2)
	! ctl enroll "$U" sshkey "$d/key.pub" &&
		grep -qF "refusing $d/key.pub: owned by uid $(id -u daemon), not by $U or root" "$T/ctl.out" &&
		ctl status "$U" && ! grep -qF "$fp" "$T/ctl.out" &&
		chown "$U" "$d/key.pub" && ctl enroll "$U" sshkey "$d/key.pub" &&
		ctl status "$U" && grep -qF "$fp" "$T/ctl.out"
}
tap_check "a key file owned by a third user: refused naming its owner; the user's own file: enrolled" \
	third_users_file
