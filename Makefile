# SPDX-License-Identifier: GPL-2.0
#
# rvirtio: virtio drivers in Rust, built out of tree.
#
#   make                 build the modules against the cached lean kernel
#                        (built first if missing) into build/lean/
#   make KDIR=<dir>      build them against your own Rust-enabled 7.3 build,
#                        into build/custom/; pass the toolchain that built it,
#                        e.g. `make KDIR=... LLVM=1`
#   make run             boot QEMU (lean kernel; FLAVOUR=debug for the debug one)
#                        with a virtio disk, NIC and RNG, insert the
#                        modules, show what they did (INTERACTIVE=1: a shell)
#   make check           every test, on the debug kernel; ends with
#                        "N passed, N failed"
#   make bench           the Rust and the C virtio-blk driver under the same fio
#                        jobs (lean kernel); BENCH_ROUNDS=, BENCH_RUNTIME=
#   make profile         instructions per block request and network frame of
#                        each driver, by function (QEMU plugin); PROFILE_IOS=
#   make series          the upstream patch series for Linux 7.3, in build/series/
#   make series-check    proves it: git am, checkpatch --strict, every prefix
#                        builds, in-tree build (clippy, rustdoc, doctests),
#                        the in-tree modules boot and pass their guest suites
#   make setup           install the packages and tools (Debian 12)
#   make kernel          build both kernel flavours into the cache
#   make modules_install, make clean, make rust-analyzer
#
# See README.md and Documentation/.

FLAVOUR ?= lean
TOP := $(CURDIR)

ifeq ($(KDIR),)
KDIR_CMD := $(TOP)/qemu-scripts/build-kernel.sh $(FLAVOUR)
TOOLCHAIN = $(shell $(TOP)/qemu-scripts/toolchain-vars.sh)
MO ?= $(TOP)/build/$(FLAVOUR)
else
KDIR_CMD := echo $(abspath $(KDIR))
TOOLCHAIN :=
MO ?= $(TOP)/build/custom
endif

# Sub-makes must not see this Makefile's own variables as Kbuild's.
unexport FLAVOUR KDIR_CMD TOOLCHAIN

KBUILD_MAKE = kdir=$$($(KDIR_CMD)) && mkdir -p $(MO) && \
	$(MAKE) -C $$kdir M=$(TOP) MO=$(MO) $(TOOLCHAIN)

.PHONY: all modules modules_install clean rust-analyzer run check bench profile setup kernel \
	series series-check

all: modules

modules:
	+$(KBUILD_MAKE) modules

modules_install:
	+$(KBUILD_MAKE) modules_install

rust-analyzer:
	+$(KBUILD_MAKE) rust-analyzer
	$(TOP)/qemu-scripts/rust-analyzer.py $(MO)/rust-project.json $(TOP) $(MO)
	ln -sf $(MO)/rust-project.json $(TOP)/rust-project.json

clean:
	rm -rf $(TOP)/build $(TOP)/rust-project.json

setup:
	$(TOP)/qemu-scripts/setup.sh

kernel:
	$(TOP)/qemu-scripts/build-kernel.sh debug
	$(TOP)/qemu-scripts/build-kernel.sh lean

run:
	FLAVOUR=$(FLAVOUR) $(TOP)/qemu-scripts/run.sh

check:
	$(TOP)/qemu-scripts/check.sh

bench:
	$(TOP)/qemu-scripts/bench.sh

profile:
	$(TOP)/qemu-scripts/profile.sh

series:
	$(TOP)/qemu-scripts/series/series.sh

series-check:
	$(TOP)/qemu-scripts/series/check.sh
