#!/bin/bash
# The whole test suite, as CI runs it: install dependencies, build with
# -Werror, run `make check` (unit, pam_wrapper, pamtester and CLI tests),
# run the unit and pam_wrapper tests again under ASan+UBSan, run
# `make distcheck`, fuzz every parser of a file or an answer for a minute
# each (libFuzzer, ASan+UBSan), build, lint, install and purge the Debian
# package (tests/package/deb.sh), and end with one line
# "N passed, N failed, N skipped".
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
out="$top/_build"
passed=0 failed=0 skipped=0

bash "$top/scripts/deps.sh" --test || exit 1
[ "$(id -u)" = 0 ] || echo "test: not root: the integration tests will be skipped" >&2

# Add the automake summary of one suite to the totals.
count_suite() { # NAME LOGFILE
	local log=$2 pass fail skip
	if [ ! -f "$log" ]; then
		echo "test: $1: no test-suite.log (the build failed)"; failed=$((failed + 1)); return
	fi
	pass=$(awk '/^# PASS:/{p+=$3} /^# XFAIL:/{p+=$3} END{print p+0}' "$log")
	fail=$(awk '/^# FAIL:/{f+=$3} /^# XPASS:/{f+=$3} /^# ERROR:/{f+=$3} END{print f+0}' "$log")
	skip=$(awk '/^# SKIP:/{s+=$3} END{print s+0}' "$log")
	echo "test: $1: $pass passed, $fail failed, $skip skipped"
	passed=$((passed + pass)); failed=$((failed + fail)); skipped=$((skipped + skip))
}

# The failed tests' names, then each failed case with its transcript:
# what the case recorded and measured (tap_log, tap_diag), which
# tests/lib.sh prints right under its "not ok" line; automake copies a
# failed test's .log into test-suite.log and puts its own PASS/FAIL line
# under each result, which is skipped here. So a CI failure can be read
# without the machine. Collected in $failures and printed again at the
# very end, just above the summary line, where a shortened CI log still
# shows them.
failures="$out/failures.txt"
mkdir -p "$out" && : >"$failures"
show_failures() { # SUITE-NAME LOGFILE
	{
		grep -h -E '^(FAIL|ERROR|XPASS)' "$2" 2>/dev/null | sed "s|^|$1: |"
		awk '/^not ok /{show=1; k=0; print; next}
		     /^Bail out!/{print; next}
		     show && /^(PASS|FAIL|XFAIL|XPASS|SKIP|ERROR): /{next}
		     show && /^#/ && k < 60 {print; k++; next}
		     {show=0}' "$2" 2>/dev/null | head -n 200
	} | tee -a "$failures"
}

# A step that counts as one test of its own (a build, distcheck).
step() { # NAME STATUS
	if [ "$2" = 0 ]; then
		echo "test: $1: ok"; passed=$((passed + 1))
	else
		echo "test: $1: FAILED"; failed=$((failed + 1))
	fi
}

configure_in() { # DIR CONFIGURE-ARGS...
	local dir=$1; shift
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" &&
		"$top/configure" --enable-werror "$@" >configure.out 2>&1 ||
		{ cat "$dir/configure.out" >&2; return 1; }
}

cd "$top" && autoreconf -fi >/dev/null 2>&1 || { echo "test: autoreconf failed"; exit 1; }

# 1. Normal build, the whole suite.
(configure_in "$out/main" && make -s -j"$jobs" >/dev/null)
step "build (-Werror)" $?
(cd "$out/main" && make -s -j"$jobs" check >/dev/null 2>&1)
show_failures "make check" "$out/main/test-suite.log"
count_suite "make check" "$out/main/test-suite.log"

# 2. ASan+UBSan: unit and pam_wrapper tests (the module is loaded into the
#    instrumented test program; pam_wrapper is preloaded beside the runtime).
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
(configure_in "$out/asan" CFLAGS="-O1 -g $san" LDFLAGS="$san" && make -s -j"$jobs" >/dev/null)
step "build (ASan+UBSan, -Werror)" $?
if [ -f "$out/asan/pam_stepup.la" ]; then
	(cd "$out/asan" && ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1 \
		make -s -j"$jobs" check TESTS="$(cd "$out/asan" && make -s print-sanitizer-tests)" >/dev/null 2>&1)
	show_failures "ASan" "$out/asan/test-suite.log"
	count_suite "make check (ASan+UBSan)" "$out/asan/test-suite.log"
	# The directory store's tests, with the instrumented module inside
	# pamtester (the runtime preloaded after libfaketime: tests/lib.sh
	# at_time) and the instrumented stepupctl and state_writer. Leak
	# checks off: libldap 2.5 keeps what a TLS context imports (docs/
	# decisions.md, "A fleet on one directory").
	(cd "$out/asan" && mv test-suite.log test-suite-unit.log &&
		TEST_PRELOAD="$(gcc -print-file-name=libasan.so)" FLEET_ROUNDS=10 \
		ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		make -s check TESTS="tests/integration/fleet.sh tests/integration/fleet_ctl.sh" \
		>/dev/null 2>&1)
	show_failures "directory store" "$out/asan/test-suite.log"
	count_suite "directory store (ASan+UBSan)" "$out/asan/test-suite.log"
fi

# 3. The release tarball builds and passes its own tests.
(cd "$out/main" && make -s distcheck >distcheck.out 2>&1)
distcheck_rc=$?
if [ "$distcheck_rc" != 0 ]; then
	# distcheck keeps its tree when it fails: the suite's own log names
	# the case; without one (a build or install step failed) its output's
	# end says why.
	dc_log=$(ls "$out"/main/pam_stepup-*/_build/sub/test-suite.log 2>/dev/null | head -1)
	if [ -n "$dc_log" ] && grep -qE '^(FAIL|ERROR|XPASS)' "$dc_log"; then
		show_failures "distcheck" "$dc_log"
	else
		tail -40 "$out/main/distcheck.out" | tee -a "$failures"
	fi
fi
step "make distcheck" "$distcheck_rc"

# 4. libFuzzer (ASan+UBSan) on every parser of a file or an answer, 60 s
#    each (FUZZ_SECONDS), from the seeds in tests/fuzz/corpus.
FUZZ_SECONDS=${FUZZ_SECONDS:-60} bash "$top/tests/fuzz/run.sh" "$out/main" >"$out/fuzz.out" 2>&1
fuzz_rc=$?
grep -E '^fuzz: ' "$out/fuzz.out"
fuzz_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/fuzz.out" | tail -1)
if [ -n "$fuzz_line" ]; then
	fp=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$fuzz_line")
	ff=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$fuzz_line")
	fs=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$fuzz_line")
	echo "test: fuzz: $fp passed, $ff failed, ${fs:-0} skipped"
	passed=$((passed + fp)); failed=$((failed + ff)); skipped=$((skipped + ${fs:-0}))
	[ "$fuzz_rc" = 0 ] || [ "$ff" != 0 ] || { echo "test: fuzz: exit $fuzz_rc"; failed=$((failed + 1)); }
else
	tail -30 "$out/fuzz.out"
	echo "test: fuzz: FAILED (no summary)"; failed=$((failed + 1))
fi

# 5. The Debian package: build it with dpkg-buildpackage, lintian, install it
#    with apt-get, enrol and step up with the installed files, purge.
if [ "$(id -u)" = 0 ]; then
	bash "$top/tests/package/deb.sh" "$out/deb" >"$out/deb.tap" 2>"$out/deb.log"
	deb_rc=$?
	grep -E '^(not )?ok ' "$out/deb.tap" | sed 's/^/test: package: /'
	dp=$(grep -cE '^ok ' "$out/deb.tap"); ds=$(grep -cE '^ok .*# SKIP' "$out/deb.tap")
	df=$(grep -cE '^not ok ' "$out/deb.tap")
	if grep -q '^Bail out!' "$out/deb.tap" || { [ "$deb_rc" != 0 ] && [ "$df" = 0 ]; }; then
		grep '^Bail out!' "$out/deb.tap"; tail -40 "$out/deb.log"; df=$((df + 1))
	fi
	echo "test: package: $((dp - ds)) passed, $df failed, $ds skipped"
	passed=$((passed + dp - ds)); failed=$((failed + df)); skipped=$((skipped + ds))
fi

if [ -s "$failures" ]; then
	echo "--- the failures again (each failed case with what it recorded):"
	head -n 150 "$failures"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
