#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs what building and testing rvirtio needs on Debian 12 (bookworm).
# Idempotent: a second run checks and returns in a few seconds.
#
#   qemu-scripts/setup.sh          install everything
#   qemu-scripts/setup.sh --check  only report what is missing (exit 1 if any)
#
# Kernel sources come from Debian's linux-source-$KERNEL_SERIES package, which
# lives in a newer suite than bookworm. That suite is added with a pin of
# priority 50 so nothing from it is ever installed or upgraded by apt; the
# source package is only downloaded (`apt-get download`) and unpacked into the
# cache by fetch-kernel.sh.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

APT_PACKAGES=(
	# Kernel build.
	make bc flex bison libelf-dev libssl-dev cpio dwarves kmod rsync
	python3 xz-utils zstd file
	clang-19 lld-19 llvm-19 libclang-19-dev
	# Rust with its library source (the kernel builds `core` itself).
	rustc-web rust-web-src rust-web-clippy rustfmt-web
	# VM and the userspace the tests run in it.
	qemu-system-x86 busybox-static e2fsprogs util-linux ethtool
	# Applying qemu-scripts/vdev/patches to the crates they patch.
	patch
	# The network tests' namespace, tap device and peer (netns.sh, rvnet.c).
	iproute2
	# A static fio built from Debian's source package (fio.sh).
	dpkg-dev gcc libc6-dev
)

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -ne 0 ]; then
	[ $check_only = 1 ] && die "missing packages: ${missing[*]}"
	say "Installing Debian packages: ${missing[*]}"
	[ "$(id -u)" = 0 ] || die "run as root, or install these packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	say "Debian packages: all present"
fi

# The suite that carries linux-source-$KERNEL_SERIES, pinned so that it is
# only ever used for `apt-get download`.
SRC_LIST=/etc/apt/sources.list.d/rvirtio-kernel-source.sources
SRC_PIN=/etc/apt/preferences.d/rvirtio-kernel-source
if [ ! -f "$SRC_LIST" ] || [ ! -f "$SRC_PIN" ]; then
	[ $check_only = 1 ] && die "kernel source suite not configured ($SRC_LIST)"
	say "Adding trixie-backports and sid as download-only sources (pin 50)"
	cat > "$SRC_LIST" <<'EOT'
# Added by rvirtio: used only to download linux-source-* with
# `apt-get download`. Pinned to priority 50 in
# /etc/apt/preferences.d/rvirtio-kernel-source: never installed from.
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie-backports sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
	cat > "$SRC_PIN" <<'EOT'
# Added by rvirtio: nothing from these suites is installed on this system.
Package: *
Pin: release n=trixie-backports
Pin-Priority: 50

Package: *
Pin: release n=sid
Pin-Priority: 50
EOT
	apt-get update -q
fi

# Debian's source packages of bookworm, for `apt-get source fio` (fio.sh).
FIO_SRC_LIST=/etc/apt/sources.list.d/rvirtio-fio-source.sources
if [ ! -f "$FIO_SRC_LIST" ]; then
	[ $check_only = 1 ] && die "deb-src for bookworm not configured ($FIO_SRC_LIST)"
	say "Adding bookworm's source packages (deb-src) for the fio build"
	cat >"$FIO_SRC_LIST" <<'EOT'
# Added by rvirtio (qemu-scripts/setup.sh): source packages of bookworm, for
# `apt-get source fio` (qemu-scripts/fio.sh builds a static fio from it).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
	apt-get update -q
fi

# bindgen from crates.io, into the cache, not into the user's ~/.cargo.
need_bindgen=1
if [ -x "$BINDGEN" ]; then
	v=$("$BINDGEN" --version | awk '{print $2}')
	[ "$(printf '%s\n0.71.1\n' "$v" | sort -V | head -1)" = 0.71.1 ] && need_bindgen=0
fi
if [ $need_bindgen = 1 ]; then
	[ $check_only = 1 ] && die "bindgen-cli missing ($BINDGEN)"
	say "Building bindgen-cli from crates.io into $CARGO_BIN (about a minute)"
	cargo=$(command -v cargo || true)
	[ -n "$cargo" ] || [ ! -x "$HOME/.cargo/bin/cargo" ] || cargo=$HOME/.cargo/bin/cargo
	if [ -z "$cargo" ]; then
		say "No cargo found: installing Debian's cargo-web"
		apt-get install -y -q --no-install-recommends cargo-web
		cargo=$(command -v cargo || echo /usr/bin/cargo)
	fi
	"$cargo" install --locked --root "$(dirname "$CARGO_BIN")" bindgen-cli
fi
say "bindgen: $("$BINDGEN" --version)"
say "rustc: $("$RUSTC" --version)"
say "clang: $(clang$LLVM --version | head -1)"
