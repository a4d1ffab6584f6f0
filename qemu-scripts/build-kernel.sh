#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds a kernel of one flavour into the cache and prints its build
# directory (the KDIR for out-of-tree modules).
#
#   qemu-scripts/build-kernel.sh debug|lean
#   qemu-scripts/build-kernel.sh --print-key debug|lean
#
# The build directory is keyed by everything that changes the result: the
# kernel source (version and path), the config fragments, the recipe version
# of this script, the make variables and the versions of rustc, clang and bindgen. A second call with nothing changed
# returns at once. A build is trusted only once it has a completion stamp,
# written after the build and the config check have both succeeded; builds of
# the same key are serialised with a lock, so concurrent or interrupted runs
# never leave a half-built tree that is later used.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

print_key=0
if [ "${1:-}" = "--print-key" ]; then
	print_key=1
	shift
fi
flavour=${1:-}
case "$flavour" in
debug | lean) ;;
*) die "usage: $0 [--print-key] debug|lean" ;;
esac

# Bump when a change to this script changes the kernel it builds.
RECIPE=1

configs=$RVIRTIO_TOP/qemu-scripts/configs
fragments=("$configs/base.config" "$configs/$flavour.config")

ksrc=$("$RVIRTIO_TOP/qemu-scripts/fetch-kernel.sh")
kver=$(make -s -C "$ksrc" kernelversion)

key=$(
	{
		echo "$ksrc $kver"
		echo "recipe $RECIPE"
		cat "${fragments[@]}"
		"$RUSTC" --version
		"clang$LLVM" --version | head -1
		"$BINDGEN" --version
		echo "${KMAKE_VARS[@]}"
	} | sha256sum | cut -c1-12
)
kdir=$RVIRTIO_CACHE/build/linux-$kver-$flavour-$key
if [ $print_key = 1 ]; then
	echo "$kdir"
	exit 0
fi

mkdir -p "$RVIRTIO_CACHE/build"
exec 9>"$kdir.lock"
if ! flock -n 9; then
	say "Waiting for another build of $(basename "$kdir")"
	flock 9
fi

if [ -f "$kdir/.rvirtio-complete" ]; then
	say "Kernel $kver ($flavour): cached in $kdir"
	echo "$kdir"
	exit 0
fi

# No stamp: whatever is there is from an interrupted build. make resumes it
# correctly, but start from a fresh configuration so a changed tree or
# toolchain cannot leave stale state in it.
mkdir -p "$kdir"
rm -f "$kdir/.config"
kmake() {
	make -C "$ksrc" O="$kdir" "${KMAKE_VARS[@]}" "$@"
}

say "Configuring Linux $kver ($flavour) in $kdir"
cat "${fragments[@]}" >"$kdir/rvirtio.config"
kmake -s KCONFIG_ALLCONFIG="$kdir/rvirtio.config" allnoconfig >&2
kmake -s olddefconfig >&2

# Every line of the fragments must have survived olddefconfig.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) want=$line ;;
	"# CONFIG_"*" is not set") want=$line ;;
	*) continue ;;
	esac
	sym=${want#\# }
	sym=${sym%%[= ]*}
	got=$(grep -E "^($sym=|# $sym is not set)" "$kdir/.config" || true)
	if [ "$want" = "# $sym is not set" ] && [ -z "$got" ]; then
		continue
	fi
	if [ "$got" != "$want" ]; then
		printf 'error: %s: wanted "%s", .config has "%s"\n' \
			"$flavour" "$want" "${got:-nothing (dependency not met)}" >&2
		bad=1
	fi
done < <(cat "${fragments[@]}")
[ $bad = 0 ] || die "required kernel options did not survive olddefconfig (see above)"
say "All $(grep -chE '^(CONFIG_|# CONFIG_)' "${fragments[@]}" | paste -sd+ | bc) required options present"

run_logged "$kdir/build.log" "Building Linux $kver ($flavour) on $(nproc_jobs) CPUs, about 15 minutes for debug, 9 for lean" \
	kmake -j"$(nproc_jobs)" bzImage modules
touch "$kdir/.rvirtio-complete"
say "Kernel $kver ($flavour) ready: $kdir"

# Keep the two newest complete builds of this flavour (about 0.5-1 GB each);
# skip any that another run is using or building.
ls -1dt "$RVIRTIO_CACHE"/build/linux-*-"$flavour"-*/.rvirtio-complete 2>/dev/null |
	tail -n +3 | while IFS= read -r stamp; do
		old=$(dirname "$stamp")
		(
			flock -n 8 || exit 0
			say "Removing an older $flavour build: $old"
			rm -rf "$old"
		) 8>"$old.lock"
		rm -f "$old.lock"
	done
echo "$kdir"
