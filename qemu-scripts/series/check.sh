#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make series-check`: the upstream series (`make series`), proved on the
# Linux tree it is made for.
#
#  1. the patches apply with `git am` to a fresh copy of the tree
#     (base-tree.sh: the cached source as a git repository, tagged);
#  2. scripts/checkpatch.pl --strict finds nothing in any patch;
#  3. every prefix of the series builds: the kernel crate, the C helpers and
#     the objects of the files the patch touches (not vmlinux: that is the
#     bound on the cost, one kernel crate build per patch), with no warning
#     in a file the series has touched so far;
#  4. the whole series builds in tree with CLIPPY=1: the drivers, the sample
#     and rnull as modules, the abstractions' KUnit suites and the kernel
#     crate's doctests built in (CONFIG_RUST_VIRTIO_KUNIT_TEST,
#     CONFIG_RUST_KERNEL_DOCTESTS), no warning in a file the series touches;
#     the C it adds again with W=1 (in 7.3, W=1 adds C warnings only); `make
#     rustdoc` without a warning;
#  5. that kernel and its modules boot in QEMU on the harness of `make
#     check`: the built-in KUnit suites (their results from debugfs) and the
#     guest suites of the virtio-rng sample, of the block driver (data) and
#     of the network driver (binding, link, traffic and offloads).
#
# The in-tree build is incremental: the first run copies the cached debug
# build (its object tree, with the paths in its command files rewritten to
# the series tree) and enables the options; later runs reuse that copy.
#
# Prints `N passed, N failed` last, from report.py, like `make check`.
# Logs: build/logs/series-<time>/ (build/logs/series-latest).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
start=$(date +%s)
top=$RVIRTIO_TOP

"$top/qemu-scripts/setup.sh"
kdir=$(resolve_kdir debug)
logs=$(new_logs series series-latest)

say "Series: make series"
series=$("$top/qemu-scripts/series/series.sh")
base=$("$top/qemu-scripts/series/base-tree.sh")
tag=$(git -C "$base" describe --tags --exact-match)
mapfile -t patches < <(ls "$series"/0*.patch | grep -v '/0000-cover-letter.patch$')

ktap=$logs/series.ktap
n=0
printf '%s\n' "RVIRTIO-KTAP-BEGIN rvirtio_series" "KTAP version 1" >"$ktap"
result() { # STATUS NAME [DIAGNOSTIC FILE]
	n=$((n + 1))
	echo "$1 $n $2" >>"$ktap"
	[ -z "${3:-}" ] || sed -n '1,40s/^/# /p' "$3" >>"$ktap"
}
finish() {
	printf '%s\n' "1..$n" "RVIRTIO-KTAP-END rvirtio_series" >>"$ktap"
}

# --- 1. git am -------------------------------------------------------------------
tree=$RVIRTIO_CACHE/series/tree
say "Series: git am ${#patches[@]} patches onto $tag"
rm -rf "$tree"
cp -al "$base" "$tree"
rm -f "$tree/.git/rvirtio-complete"
git -C "$tree" update-index -q --refresh
if git -C "$tree" -c user.name=rvirtio -c user.email=rvirtio@localhost am -q "${patches[@]}" \
	>"$logs/git-am.log" 2>&1; then
	result ok git_am_applies_to_"${tag//./_}"
else
	result "not ok" git_am_applies_to_"${tag//./_}" "$logs/git-am.log"
	finish
	exec "$top/qemu-scripts/report.py" --host-ktap "$ktap" --json "$logs/results.json"
fi
mapfile -t commits < <(git -C "$tree" rev-list --reverse "$tag..HEAD")

# --- 2. checkpatch ------------------------------------------------------------------
say "Series: checkpatch.pl --strict"
for p in "${patches[@]}"; do
	name=$(basename "$p" .patch)
	if perl "$tree/scripts/checkpatch.pl" --strict --no-tree --terse --show-types "$p" \
		>"$logs/checkpatch-$name.log" 2>&1 &&
		! grep -qE ': (ERROR|WARNING|CHECK):' "$logs/checkpatch-$name.log"; then
		result ok "checkpatch_${name:0:4}"
	else
		result "not ok" "checkpatch_${name:0:4}" "$logs/checkpatch-$name.log"
	fi
done

# --- The object tree ------------------------------------------------------------------
obj=$RVIRTIO_CACHE/series/obj-$(basename "$kdir")
options=(-e CONFIGFS_FS -m BLK_DEV_RUST_NULL -e SAMPLES -e SAMPLES_RUST
	-m SAMPLE_RUST_VIRTIO_RNG -m VIRTIO_BLK_RUST -m VIRTIO_NET_RUST
	-e RUST_KUNIT_TESTS -e RUST_VIRTIO_KUNIT_TEST -e RUST_KERNEL_DOCTESTS)
if [ ! -f "$obj/.rvirtio-complete" ]; then
	say "Series: copying the debug build to $obj"
	rm -rf "$obj" "$obj.tmp"
	cp -a "$kdir" "$obj.tmp"
	src=$(readlink -f "$kdir/source")
	# Command files name the source and the object tree by absolute path
	# (tools/ builds too): a path that differs rebuilds everything.
	grep -rlI --include='*.cmd' --include='*.d' --include=Makefile -e "$src" -e "$kdir" "$obj.tmp" |
		xargs -r sed -i "s#$src#$tree#g; s#$kdir#$obj#g"
	mv "$obj.tmp" "$obj"
	touch "$obj/.rvirtio-complete"
fi
# LOCALVERSION set (empty): no "+" for a tree that is not at its tag.
kmake() {
	make -C "$tree" O="$obj" "${KMAKE_VARS[@]}" LOCALVERSION= CLIPPY=1 -j"$(nproc_jobs)" "$@"
}
# The options again before each configuration: one that a prefix of the
# series does not define yet is dropped from .config by olddefconfig.
configure() {
	"$tree/scripts/config" --file "$obj/.config" "${options[@]}"
	kmake olddefconfig
}

# --- 3. Every prefix builds --------------------------------------------------------
for i in "${!commits[@]}"; do
	c=${commits[$i]}
	[ "$c" = "${commits[-1]}" ] && break
	num=$(printf '%04d' $((i + 1)))
	git -C "$tree" checkout -q "$c"
	# A Rust file outside rust/ may be a module of another file's crate:
	# its directory is built (objects and modules' parts, as configured).
	targets=(rust/kernel.o rust/helpers/helpers.o)
	while IFS= read -r f; do
		case "$f" in
		rust/*) ;;
		*.rs | *.c | */Makefile | */Kconfig) targets+=("$(dirname "$f")/") ;;
		esac
	done < <(git -C "$tree" diff-tree --no-commit-id --name-only -r "$c" | sort -u)
	mapfile -t targets < <(printf '%s\n' "${targets[@]}" | awk '!seen[$0]++')
	say "Series: patch $num builds (${targets[*]})"
	# Without warnings in the files the series has touched so far (an item
	# that only a later patch uses is dead code here).
	git -C "$tree" diff --name-only "$tag..$c" >"$logs/touched-$num.txt"
	if configure >"$logs/bisect-$num.log" 2>&1 &&
		kmake "${targets[@]}" >>"$logs/bisect-$num.log" 2>&1 &&
		"$top/qemu-scripts/series/warnings.py" --touched "$logs/touched-$num.txt" \
			"$logs/bisect-$num.log" >"$logs/bisect-$num.err" && [ ! -s "$logs/bisect-$num.err" ]; then
		result ok "prefix_${num}_builds"
	else
		grep -E '^(error|warning)|error:' -A8 "$logs/bisect-$num.log" >>"$logs/bisect-$num.err" || true
		result "not ok" "prefix_${num}_builds" "$logs/bisect-$num.err"
	fi
done
git -C "$tree" checkout -q "${commits[-1]}"

# --- 4. The whole series, in tree -----------------------------------------------------
say "Series: in-tree build (CLIPPY=1; modules, KUnit, doctests)"
build_ok=0
if configure >"$logs/build.log" 2>&1 && kmake bzImage modules >>"$logs/build.log" 2>&1; then
	build_ok=1
	result ok in_tree_build
else
	grep -E '^(error|warning)|error:' -A8 "$logs/build.log" >"$logs/build.err" || true
	result "not ok" in_tree_build "$logs/build.err"
fi
config_ok=1
for o in CONFIG_BLK_DEV_RUST_NULL=m CONFIG_SAMPLE_RUST_VIRTIO_RNG=m CONFIG_VIRTIO_BLK_RUST=m \
	CONFIG_VIRTIO_NET_RUST=m CONFIG_RUST_VIRTIO_KUNIT_TEST=y CONFIG_RUST_KERNEL_DOCTESTS=y; do
	grep -qx "$o" "$obj/.config" || { echo "$o missing from .config" >>"$logs/config.err"; config_ok=0; }
done
if [ $config_ok = 1 ]; then result ok options_enabled; else result "not ok" options_enabled "$logs/config.err"; fi

# Warnings in the files the series touches (the kernel's own are listed, not
# counted: rustc newer than the one 7.3 was released with finds some).
git -C "$tree" diff --name-only "$tag..HEAD" >"$logs/touched.txt"
warnings() { # LOG OUT
	"$top/qemu-scripts/series/warnings.py" --touched "$logs/touched.txt" "$1" >"$2"
}
warnings "$logs/build.log" "$logs/build-warnings.log"
if [ $build_ok = 1 ] && [ ! -s "$logs/build-warnings.log" ]; then
	result ok no_build_warnings_in_series_files
else
	result "not ok" no_build_warnings_in_series_files "$logs/build-warnings.log"
fi

say "Series: W=1 on the C helpers"
# `make W=1` would change the flags of every C object and of bindgen (a
# rebuild of everything); instead the helpers' own compile command, as the
# build ran it, again with the warnings W=1 adds in 7.3
# (scripts/Makefile.warn), and kernel-doc on the helper files the series
# adds or changes (Makefile.build does that with W=1).
w1_flags="-Wmissing-format-attribute -Wmissing-include-dirs -Wunused-const-variable -Wundef -DKBUILD_EXTRA_WARN1"
cmd=$(sed -n 's/^savedcmd_rust\/helpers\/helpers.o := //p' "$obj/rust/helpers/.helpers.o.cmd" |
	sed 's/ ; .*//; s/-Wp,-MMD,[^ ]*//; s/ -o [^ ]*/ -fsyntax-only/')
mapfile -t helper_files < <(grep '^rust/helpers/.*\.c$' "$logs/touched.txt")
if [ $build_ok = 1 ] && [ -n "$cmd" ] &&
	(cd "$obj" && eval "$cmd $w1_flags") >"$logs/w1.log" 2>&1 &&
	(cd "$tree" && PYTHONDONTWRITEBYTECODE=1 scripts/kernel-doc -none "${helper_files[@]}") \
		>>"$logs/w1.log" 2>&1 &&
	! grep -qE 'warning|error' "$logs/w1.log"; then
	result ok helpers_w1
else
	{ echo "$cmd $w1_flags"; cat "$logs/w1.log"; } >"$logs/w1.err"
	result "not ok" helpers_w1 "$logs/w1.err"
fi

say "Series: make rustdoc"
if kmake rustdoc >"$logs/rustdoc.log" 2>&1 && ! grep -q '^warning' "$logs/rustdoc.log"; then
	result ok rustdoc_without_warnings
else
	grep -E '^(warning|error)' -A6 "$logs/rustdoc.log" >"$logs/rustdoc.err" || true
	result "not ok" rustdoc_without_warnings "$logs/rustdoc.err"
fi
# The trees share their files with the cached source (cp -al): nothing may
# have been written into them.
if git -C "$base" status --porcelain --untracked-files=no >"$logs/base-status.log" 2>&1 &&
	[ ! -s "$logs/base-status.log" ]; then
	result ok cached_source_untouched
else
	result "not ok" cached_source_untouched "$logs/base-status.log"
fi
finish

# --- 5. Boot --------------------------------------------------------------------------
vm_rc=0
if [ $build_ok = 1 ]; then
	mo=$logs/modules
	for ko in samples/rust/rvirtio_rng.ko drivers/block/rvirtio_blk.ko drivers/net/rvirtio_net.ko; do
		mkdir -p "$mo/$(dirname "$ko")"
		cp "$obj/$ko" "$mo/$ko"
	done
	truncate -s 64M "$logs/blk-data.img"
	"$top/qemu-scripts/blk-pattern.py" write "$logs/blk-data.img"
	RVIRTIO_GUEST_TESTS="10 21 30 50 60 62" RVIRTIO_FIO=$("$top/qemu-scripts/fio.sh") \
		"$top/qemu-scripts/initramfs.sh" "$obj" "$mo" "$logs/initramfs.cpio"
	say "Series: booting the in-tree kernel and modules"
	"$top/qemu-scripts/run-vm.sh" --mode check --quiet \
		--kernel "$obj/arch/x86/boot/bzImage" --initrd "$logs/initramfs.cpio" \
		--log "$logs/console.log" --timeout "${RVIRTIO_VM_TIMEOUT:-1200}" || vm_rc=$?
	: >"$logs/blk-host.ktap"
	"$top/qemu-scripts/blk-pattern.py" verify-guest "$logs/blk-data.img" "$logs/blk-host.ktap" || true
	rm -f "$logs/initramfs.cpio" "$logs/disk.img" "$logs"/blk-*.img
else
	: >"$logs/console.log"
	vm_rc=1
fi

# The built-in suites the series adds (named rust_kernel_* in tree), the
# kernel crate's doctests, and the guest suites.
expect=(rvirtio_series rvirtio_boot rvirtio_rng rvirtio_blk_data rvirtio_blk_host rvirtio_net
	rvirtio_net_traffic kmemleak rust_doctests_kernel)
mapfile -t -O ${#expect[@]} expect < <(
	grep -rhoE '#\[kunit_tests\(rvirtio_[a-z0-9_]+\)\]' "$top/rust/kernel" |
		sed -E 's/.*\(rvirtio_([a-z0-9_]+)\).*/rust_kernel_\1/' | sort -u
)

rc=0
"$top/qemu-scripts/report.py" --log "$logs/console.log" --host-ktap "$ktap" \
	--host-ktap "$logs/blk-host.ktap" --vm-status "$vm_rc" --json "$logs/results.json" \
	$(printf -- '--expect %s ' "${expect[@]}") >"$logs/report.txt" || rc=$?
echo "Series: $series; logs: $logs; took $(($(date +%s) - start))s"
cat "$logs/report.txt"
exit $rc
