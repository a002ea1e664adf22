# bench/lib.sh: shell helpers shared by bench/run.sh and bench/compare.sh
# (sourced, not run).
# shellcheck shell=bash

# The module trusts files only below root-owned directories that others
# cannot write (sticky ones such as /tmp excepted).
safe_chain() { # DIR
	local d owner mode
	d=$(realpath "$1")
	while :; do
		read -r owner mode < <(stat -c '%u %a' "$d")
		if [ "$owner" != 0 ] || { [ $((8#$mode & 8#022)) -ne 0 ] && [ $((8#$mode & 8#1000)) -eq 0 ]; }; then
			echo "$d (uid $owner, mode $mode)"
			return 1
		fi
		[ "$d" = / ] && return 0
		d=$(dirname "$d")
	done
}
