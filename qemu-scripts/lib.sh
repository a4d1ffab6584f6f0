# SPDX-License-Identifier: GPL-2.0
#
# Shared settings for the rvirtio scripts. Sourced, not run.

# Where everything that is not source lives: toolchain-independent caches of
# kernel sources and builds. Outside the repository so that `git clean` and a
# fresh clone keep it.
RVIRTIO_CACHE=${RVIRTIO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rvirtio}

# The kernel series the project targets.
KERNEL_SERIES=${KERNEL_SERIES:-7.3}

# Toolchain, as DESIGN.md measured it: Debian's rustc-web (which has its
# library source packaged), LLVM 19 and bindgen from crates.io.
RUSTC=${RUSTC:-/usr/bin/rustc}
LLVM=${LLVM:--19}
CARGO_BIN=${CARGO_BIN:-$RVIRTIO_CACHE/cargo/bin}
BINDGEN=${BINDGEN:-$CARGO_BIN/bindgen}
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}

RVIRTIO_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() {
	printf '\033[1m==> %s\033[0m\n' "$*" >&2
}

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# new_logs KIND [LINK]: makes build/logs/KIND-<time>/ (and points
# build/logs/LINK at it), prints its path.
new_logs() {
	local dir
	dir=$RVIRTIO_TOP/build/logs/$1-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$dir"
	[ -z "${2:-}" ] || ln -sfn "$dir" "$RVIRTIO_TOP/build/logs/$2"
	echo "$dir"
}

nproc_jobs() {
	nproc 2>/dev/null || echo 2
}

# The variables every kernel or module `make` gets, so that the kernel and the
# modules are built by one and the same toolchain (a module must be built by
# the rustc that built its kernel; rustup's rustc earlier on PATH must not be
# picked up, not even for the host-side proc macros).
KMAKE_VARS=(
	LLVM="$LLVM"
	RUSTC="$RUSTC"
	HOSTRUSTC="$RUSTC"
	RUSTDOC=/usr/bin/rustdoc
	RUSTFMT=/usr/bin/rustfmt
	CLIPPY_DRIVER=/usr/bin/clippy-driver
	BINDGEN="$BINDGEN"
)

# run_logged LOG DESCRIPTION COMMAND...
#
# Runs COMMAND with its output in LOG and prints a progress line every 20
# seconds (elapsed time and the latest line of the log) so that long steps
# are not silent. On failure prints the end of the log and returns the
# command's status.
run_logged() {
	local log=$1 desc=$2 pid rc start now last
	shift 2
	start=$(date +%s)
	say "$desc (log: $log)"
	"$@" >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		for _ in $(seq 20); do
			sleep 1
			kill -0 "$pid" 2>/dev/null || break
		done
		kill -0 "$pid" 2>/dev/null || break
		now=$(date +%s)
		last=$(tail -n 1 "$log" 2>/dev/null | cut -c1-90)
		printf '    [%dm%02ds] %s\n' $(((now - start) / 60)) $(((now - start) % 60)) "$last" >&2
	done
	rc=0
	wait "$pid" || rc=$?
	now=$(date +%s)
	if [ $rc -ne 0 ]; then
		printf 'error: %s failed after %ds; end of %s:\n' "$desc" $((now - start)) "$log" >&2
		tail -n 40 "$log" >&2
		return $rc
	fi
	printf '    done in %dm%02ds\n' $(((now - start) / 60)) $(((now - start) % 60)) >&2
}

# build_modules KDIR MO [make args...]
#
# Builds the project's modules against KDIR into MO with the project's
# toolchain (or, with RVIRTIO_USER_KDIR=1, with the caller's make variables).
build_modules() {
	local kdir=$1 mo=$2
	shift 2
	local vars=("${KMAKE_VARS[@]}")
	[ "${RVIRTIO_USER_KDIR:-0}" = 1 ] && vars=()
	mkdir -p "$mo"
	run_logged "$mo/build.log" "Building the rvirtio modules against $kdir into $mo" \
		make -C "$kdir" M="$RVIRTIO_TOP" MO="$mo" "${vars[@]}" "$@" modules
}

# resolve_kdir FLAVOUR
#
# The kernel build to use: $KDIR if the user gave one, otherwise the cached
# build of FLAVOUR (built now if missing).
resolve_kdir() {
	if [ -n "${KDIR:-}" ]; then
		RVIRTIO_USER_KDIR=1
		[ -f "$KDIR/.config" ] && [ -f "$KDIR/rust/libkernel.rmeta" ] ||
			die "KDIR=$KDIR is not a Rust-enabled kernel build (no .config or rust/libkernel.rmeta)"
		(cd "$KDIR" && pwd)
	else
		"$RVIRTIO_TOP/qemu-scripts/build-kernel.sh" "$1"
	fi
}

# rvdev_patched_crates CARGO: the crates qemu-scripts/vdev patches, as
# published (fetched --locked through qemu-scripts/vdev/upstream/), unpacked
# into build/tools/vdev-patched/NAME-VERSION with
# qemu-scripts/vdev/patches/NAME-VERSION.patch applied; redone when a patch
# changes.
rvdev_patched_crates() {
	local cargo=$1 out=$RVIRTIO_TOP/build/tools/vdev-patched p name crate sum
	"$cargo" fetch --quiet --locked \
		--manifest-path "$RVIRTIO_TOP/qemu-scripts/vdev/upstream/Cargo.toml" >&2 ||
		die "fetching the crates of qemu-scripts/vdev/upstream failed"
	mkdir -p "$out"
	for p in "$RVIRTIO_TOP"/qemu-scripts/vdev/patches/*.patch; do
		name=$(basename "$p" .patch)
		sum=$(sha256sum <"$p")
		[ "$(cat "$out/$name/.rvirtio-patch" 2>/dev/null)" != "$sum" ] || continue
		crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$name.crate" 2>/dev/null |
			head -n 1)
		[ -n "$crate" ] || die "$name.crate not in cargo's cache after the fetch"
		rm -rf "${out:?}/$name"
		tar -xzf "$crate" -C "$out" || die "unpacking $crate failed"
		patch -s -d "$out/$name" -p1 <"$p" || die "$p does not apply"
		echo "$sum" >"$out/$name/.rvirtio-patch"
	done
}

# rvdev_binary: builds (cargo, --locked, release) the vhost-user devices of
# the tests, qemu-scripts/vdev/, into build/tools, and prints its path.
rvdev_binary() {
	local dir=$RVIRTIO_TOP/build/tools cargo
	cargo=$(command -v cargo || true)
	[ -n "$cargo" ] || [ ! -x "$HOME/.cargo/bin/cargo" ] || cargo=$HOME/.cargo/bin/cargo
	[ -n "$cargo" ] || die "cargo not found: run qemu-scripts/setup.sh"
	rvdev_patched_crates "$cargo"
	"$cargo" build --quiet --locked --release \
		--manifest-path "$RVIRTIO_TOP/qemu-scripts/vdev/Cargo.toml" \
		--target-dir "$dir/vdev-target" >&2 ||
		die "building qemu-scripts/vdev failed"
	echo "$dir/vdev-target/release/rvdev"
}

# rvnet_binary: builds (when its source is newer) the static network test
# tool, qemu-scripts/rvnet.c, for the guest and the host peer alike, and
# prints its path.
rvnet_binary() {
	local src=$RVIRTIO_TOP/qemu-scripts/rvnet.c dir=$RVIRTIO_TOP/build/tools
	local bin=$dir/rvnet
	if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
		mkdir -p "$dir"
		"${CC:-gcc}" -O2 -Wall -Wextra -Werror -static -pthread -o "$bin.tmp.$$" "$src" >&2 ||
			die "building $src failed (gcc and libc6-dev: qemu-scripts/setup.sh)"
		mv "$bin.tmp.$$" "$bin"
	fi
	echo "$bin"
}
