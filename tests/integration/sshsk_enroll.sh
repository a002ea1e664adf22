#!/bin/bash
# stepupctl enroll USER sshkey with files a user could hand root: key
# lines too large for a record, no agent and no PAM involved (key lines
# made here from a fixed P-256 point, each key told apart by its
# application string, which is part of the blob).
# shellcheck shell=bash
. "$TOP_SRCDIR/tests/lib.sh"
require_root
require_env

U=nobody
tap_plan 2
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
