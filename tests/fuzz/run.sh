#!/bin/bash
# Build the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with ASan+UBSan and
# run each for FUZZ_SECONDS (default 60) from its seed corpus.
#
#   tests/fuzz/run.sh [--long] [--keep] [BUILDDIR]
#
# BUILDDIR (or $FUZZ_BUILDDIR; default: the source tree) is a directory
# where ./configure has run: its build-config.h is included as the real
# build includes it. --long runs each harness 600 s (as FUZZ_SECONDS=600).
# --keep keeps the scratch directory (binaries, logs, grown corpora).
# Other knobs: FUZZ_ONLY="kv grace" runs some harnesses only; FUZZ_CC
# (default clang, else clang-14); FUZZ_CRASH_DIR, where a failing input is
# kept (default BUILDDIR/fuzz-crashes).
#
# The seeds under tests/fuzz/corpus/NAME/ are copied to a scratch directory
# under /tmp, so the tree is never changed, and the scratch directory is
# removed at the end. Needs no network. The grace and fleetkey harnesses
# need root (the safe-file rules refuse files that are not root's); without
# root they are skipped. Prints "fuzz: NAME: ok (N runs)" or "fuzz: NAME: FAILED" with
# the input and the end of the output, then "N passed, N failed"; exits
# non-zero if anything failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/fuzz"
seconds=${FUZZ_SECONDS:-60}
builddir=${FUZZ_BUILDDIR:-}
keep=0
for arg in "$@"; do
	case $arg in
	--long) seconds=600 ;;
	--keep) keep=1 ;;
	-h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fuzz: unknown option $arg" >&2; exit 2 ;;
	*) builddir=$arg ;;
	esac
done
builddir=$(cd "${builddir:-$top}" 2>/dev/null && pwd) ||
	{ echo "fuzz: no such build directory" >&2; exit 2; }
[ -f "$builddir/build-config.h" ] || {
	echo "fuzz: $builddir/build-config.h missing: run autoreconf -fi && ./configure first" >&2
	exit 2
}
case $seconds in '' | *[!0-9]*) echo "fuzz: FUZZ_SECONDS must be a number" >&2; exit 2 ;; esac

cc=${FUZZ_CC:-}
if [ -z "$cc" ]; then
	for c in clang clang-14; do command -v "$c" >/dev/null && { cc=$c; break; }; done
fi
[ -n "$cc" ] || { echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
pkgs="pam liboath libcrypto libssl libcurl"
pkg_cflags=$(pkg-config --cflags $pkgs) || { echo "fuzz: pkg-config: $pkgs" >&2; exit 2; }
pkg_libs=$(pkg-config --libs pam liboath libcrypto) || exit 2

# Harness NAME: tests/fuzz/fuzz_NAME.c, corpus/NAME/, optional NAME.dict;
# every fuzz_*.c here is one, so adding a harness is adding its file. Its
# inputs are at most 8192 bytes unless its source has a line
# "/* run.sh: max_len N */".
harnesses=
for src in "$here"/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=${src##*/fuzz_}
	harnesses="$harnesses ${name%.c}"
done
harnesses=${harnesses# }
[ -n "$harnesses" ] || { echo "fuzz: no harness (fuzz_*.c) in $here" >&2; exit 2; }
max_len_of() { # NAME
	local n
	n=$(sed -n 's|^/\* run\.sh: max_len \([0-9][0-9]*\) \*/$|\1|p' "$here/fuzz_$1.c" | head -n 1)
	echo "${n:-8192}"
}
# What the harnesses need of the library (Makefile.am's libstepup sources,
# less those of the PAM flow and the store).
# Every library source (src/*.c), not a hand-kept list: a new file needs
# no edit here. Not the programs (their main), nor qr.c (libqrencode).
lib_sources=$(cd "$top/src" && for f in *.c; do echo "${f%.c}"; done | grep -vxE 'stepupctl|stepup-gate|qr')

scratch=$(mktemp -d /tmp/stepup-fuzz.XXXXXX) || exit 2
cleanup() {
	if [ "$keep" = 1 ]; then
		echo "fuzz: kept $scratch"
	else
		rm -rf "$scratch"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cflags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-fno-omit-frame-pointer -std=gnu11 -include "$builddir/build-config.h"
	-I"$top/src" -I"$here" $pkg_cflags)
passed=0 failed=0 skipped=0

# --- build ---------------------------------------------------------------
mkdir -p "$scratch/obj" "$scratch/bin"
build_failed() { # WHAT LOG
	echo "fuzz: build $1: FAILED"
	tail -n 30 "$2"
}
objs=()
for s in $lib_sources; do
	src="$top/src/$s.c"
	objs+=("$scratch/obj/$s.o")
	"$cc" "${cflags[@]}" -c "$src" -o "$scratch/obj/$s.o" >"$scratch/obj/$s.log" 2>&1 &
done
build_ok=1
wait
for s in $lib_sources; do
	[ -f "$scratch/obj/$s.o" ] || { build_failed "$s.c" "$scratch/obj/$s.log"; build_ok=0; }
done
if [ "$build_ok" = 0 ]; then
	echo "0 passed, 1 failed"
	exit 1
fi

# --- run -----------------------------------------------------------------
only=${FUZZ_ONLY:-$harnesses}
for name in $harnesses; do
	case " $only " in *" $name "*) ;; *) continue ;; esac
	bin="$scratch/bin/fuzz_$name"
	log="$scratch/$name.log"
	if ! "$cc" "${cflags[@]}" "$here/fuzz_$name.c" "${objs[@]}" $pkg_libs -ldl \
		-o "$bin" >"$log" 2>&1; then
		build_failed "fuzz_$name" "$log"
		failed=$((failed + 1))
		continue
	fi
	if { [ "$name" = grace ] || [ "$name" = fleetkey ]; } && [ "$(id -u)" != 0 ]; then
		echo "fuzz: $name: skipped (needs root: its files must be root's)"
		skipped=$((skipped + 1))
		continue
	fi
	corpus="$scratch/corpus/$name"
	art="$scratch/artifacts/$name"
	mkdir -p "$corpus" "$art"
	[ -d "$here/corpus/$name" ] && cp -R "$here/corpus/$name/." "$corpus/"
	opts=(-max_total_time="$seconds" -max_len="$(max_len_of "$name")" -timeout=30
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/")
	[ -f "$here/$name.dict" ] && opts+=(-dict="$here/$name.dict")
	FUZZ_TMP="$scratch" ASAN_OPTIONS=detect_leaks=1:${ASAN_OPTIONS:-} \
		UBSAN_OPTIONS=print_stacktrace=1:${UBSAN_OPTIONS:-} \
		"$bin" "${opts[@]}" "$corpus" >>"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$log" | tail -n 1)
	if [ "$rc" = 0 ] && [ -n "$runs" ]; then
		echo "fuzz: $name: ok ($runs runs)"
		passed=$((passed + 1))
		continue
	fi
	# Keep the failing input where the scratch directory's removal leaves it.
	input=none
	for f in "$art"/*; do
		[ -f "$f" ] || continue
		keepdir=${FUZZ_CRASH_DIR:-$builddir/fuzz-crashes}
		mkdir -p "$keepdir" && cp "$f" "$keepdir/$name-$(basename "$f")" &&
			input="$keepdir/$name-$(basename "$f")"
	done
	echo "fuzz: $name: FAILED (exit $rc; input: $input)"
	tail -n 30 "$log"
	if [ "$input" != none ] && [ "$keep" = 1 ]; then
		echo "fuzz: reproduce: FUZZ_TMP=/tmp $bin $input"
	elif [ "$input" != none ]; then
		echo "fuzz: reproduce: FUZZ_ONLY=$name FUZZ_SECONDS=1 $0 --keep, then run the kept fuzz_$name on $input"
	fi
	failed=$((failed + 1))
done

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" = 0 ]
