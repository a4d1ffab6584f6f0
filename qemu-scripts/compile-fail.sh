#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# compile-fail.sh KDIR MO KTAP
#
# Builds each case of kunit-tests/compile-fail/ (every source but the crate
# root that includes it) alone against KDIR, into MO, and writes the KTAP
# suite rvirtio_compile_fail to KTAP: a case passes only if the build fails
# and every error the compiler reports matches its `// expect:` line (an
# extended regular expression), so a misuse that compiles, or a source that
# also fails for another reason, is a failure.

set -euo pipefail
. "$(dirname "$0")/lib.sh"
kdir=$1 mo=$2 ktap=$3
top=$RVIRTIO_TOP

mapfile -t cases < <(cd "$top/kunit-tests/compile-fail" && ls ./*.rs | grep -v "^\./rvirtio_compile_fail_main\.rs$" | sed 's|^\./||; s|\.rs$||' | sort)
{
	echo "RVIRTIO-KTAP-BEGIN rvirtio_compile_fail"
	echo "KTAP version 1"
	echo "1..${#cases[@]}"
} >"$ktap"
n=0
for c in "${cases[@]}"; do
	n=$((n + 1))
	src=$top/kunit-tests/compile-fail/$c.rs
	expect=$(sed -n 's|^// expect: ||p' "$src")
	log=$mo/$c.log
	mkdir -p "$mo"
	say "Compile-fail: $c (expects: $expect)"
	vars=("${KMAKE_VARS[@]}")
	[ "${RVIRTIO_USER_KDIR:-0}" = 1 ] && vars=()
	if make -C "$kdir" M="$top" MO="$mo" "${vars[@]}" RVIRTIO_COMPILE_FAIL="$c" modules \
		>"$log" 2>&1; then
		{
			echo "# $c compiled: the abstractions accept this misuse"
			echo "not ok $n $c"
		} >>"$ktap"
	elif [ -z "$expect" ] || ! grep -qE -- "$expect" "$log" ||
		grep -E '^error' "$log" | grep -v 'aborting due to' | grep -qvE -- "$expect"; then
		{
			echo "# $c failed to build, but not (only) with: $expect"
			grep -E '^error' "$log" | head -n 10 | sed 's/^/# /'
			echo "not ok $n $c"
		} >>"$ktap"
	else
		echo "ok $n $c" >>"$ktap"
	fi
done
echo "RVIRTIO-KTAP-END rvirtio_compile_fail" >>"$ktap"
