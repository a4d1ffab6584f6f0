# SPDX-License-Identifier: GPL-2.0
#
# KTAP output for the guest's shell tests, in the shape KUnit's debugfs
# results have, between markers that the host's report.py cuts on:
#
#   RVIRTIO-KTAP-BEGIN <suite>
#   KTAP version 1
#   # Subtest: <suite>
#   ok 1 <test>
#   not ok 2 <test>
#   # <diagnostic>
#   ok 3 <test> # SKIP <reason>
#   1..3
#   RVIRTIO-KTAP-END <suite>

ktap_begin() {
	KTAP_SUITE=$1
	KTAP_N=0
	KTAP_FAILED=0
	echo "RVIRTIO-KTAP-BEGIN $KTAP_SUITE"
	echo "KTAP version 1"
	echo "# Subtest: $KTAP_SUITE"
}

# ktap_ok NAME
ktap_ok() {
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N $1"
}

# ktap_fail NAME [DIAGNOSTIC...]: the diagnostics come first, as KUnit
# prints them (KTAP relates them to the result that follows), with every
# line marked, so that a tool's output is never read as a kernel message.
ktap_fail() {
	local name=$1
	shift
	KTAP_N=$((KTAP_N + 1))
	KTAP_FAILED=$((KTAP_FAILED + 1))
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/# /'
	done
	echo "not ok $KTAP_N $name"
}

# ktap_skip NAME REASON
ktap_skip() {
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N $1 # SKIP $2"
}

# ktap_check NAME COMMAND...: ok if COMMAND succeeds; its output is kept as
# diagnostics when it fails.
ktap_check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ktap_ok "$name"
	else
		ktap_fail "$name" "command failed: $*" "$(echo "$out" | tail -n 5)"
	fi
}

# ktap_retry COUNT COMMAND...: runs COMMAND every 0.5 s until it succeeds,
# at most COUNT times.
ktap_retry() {
	local n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		n=$((n - 1))
		sleep 0.5
	done
	return 1
}

ktap_end() {
	echo "1..$KTAP_N"
	echo "RVIRTIO-KTAP-END $KTAP_SUITE"
}

# virtio_dev ID: the name of the virtio device of type ID (0x0004 for an
# RNG) on the virtio bus, e.g. virtio2.
virtio_dev() {
	for d in /sys/bus/virtio/devices/*; do
		[ "$(cat "$d/device")" = "$1" ] && basename "$d"
	done
}

# A kmemleak scan after all tests: anything unreferenced is a leak.
ktap_kmemleak() {
	local f=/sys/kernel/debug/kmemleak out
	ktap_begin kmemleak
	if [ ! -e $f ]; then
		ktap_skip scan "kernel has no CONFIG_DEBUG_KMEMLEAK"
	else
		# Two scans: an object is reported once it stays unreferenced
		# across a scan.
		out=
		if ! { echo scan >$f && sleep 1 && echo scan >$f; } 2>/dev/null; then
			ktap_fail scan "kmemleak cannot scan (disabled after an error?)"
		elif out=$(cat $f) && [ -z "$out" ]; then
			ktap_ok scan
		else
			ktap_fail scan "kmemleak reported unreferenced objects:"
			echo "$out"
		fi
	fi
	ktap_end
}
