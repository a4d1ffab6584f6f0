# SPDX-License-Identifier: GPL-2.0
#
# Inserts every KUnit module of the project (its suites run during insmod and
# print KTAP on the console, between this script's markers), then removes
# the modules again.
. /lib/rvirtio/ktap.sh

ktap_begin rvirtio_kunit_modules
for ko in /lib/modules/rvirtio/kunit/*.ko; do
	[ -e "$ko" ] || continue
	name=$(basename "$ko" .ko)
	# Not the suites' own output: they nest inside a block of their own.
	echo "RVIRTIO-KTAP-BEGIN kunit_$name"
	insmod "$ko"
	rc=$?
	echo "RVIRTIO-KTAP-END kunit_$name"
	if [ $rc -eq 0 ]; then
		ktap_ok "insmod_$name"
		ktap_check "rmmod_$name" rmmod "$name"
	else
		ktap_fail "insmod_$name" "insmod failed with status $rc"
	fi
done
ktap_end
