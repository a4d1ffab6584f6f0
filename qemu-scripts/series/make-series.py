#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn rvirtio into a patch series for the Linux tree it builds against.

    make-series.py --top TOP --tree TREE --out OUTDIR [--results FILE]

TREE is a git work tree of the kernel source at its version tag (made by
base-tree.sh). Each patch of SERIES below is applied to it as one commit, in
order; `git format-patch` then writes OUTDIR/0000-cover-letter.patch and one
file per commit, with a base-commit trailer.

What the script changes in the project's files, and nothing else (see
Documentation/design.rst, "One source, two builds"):

  * Files move to their places in the kernel tree (MOVES).
  * Drivers and samples: the `#[path]` module roots (`mod bindings`,
    `mod rust_kernel { ... }`) and their comments are removed;
    `rust_kernel::` becomes `kernel::`, and the abstractions' exported macros
    are reached as `kernel::name!` instead of `crate::name!`.
  * Abstractions: `kernel::` becomes `crate::` outside comments, as the
    kernel crate's files say it, and the imports are joined (rustfmt
    formats the file again); the constants that the extra bindings generate as
    `RVIRTIO_CONST_X` are the kernel's `RUST_CONST_HELPER_X`, which bindgen
    names `X`; the in-file KUnit suites, built with `--cfg rvirtio_kunit` out
    of tree, are behind CONFIG_RUST_VIRTIO_KUNIT_TEST and named
    `rust_kernel_*` as the kernel crate's own suites; the documentation's
    examples marked `ignore` (nothing runs them out of tree) become doctests.
  * C helpers: a topic file the kernel already has receives the project's
    functions (and the headers they need); a new one is added and listed in
    rust/helpers/helpers.c.
  * rust/bindings/bindings_helper.h: the project's `#include` lines that the
    kernel's file lacks join it, and its constants are added there under the
    kernel's prefix.
  * What an in-tree driver has besides its code (Kconfig entries, Makefile
    lines, `pub mod` lines, MAINTAINERS entries) is written here, with the
    patch that needs it.

The blk-mq extensions change files that the kernel already has (the kernel
crate's block module, rnull), one extension per patch. The project only has
their final state, so the states in between are patches under
patches/block/, in in-tree form, each applied to the tree the previous one
left (with rnull converted where the API changes); patches/ also holds the
part of a later patch that touches those files. After the last patch, each
of these files must be exactly the project's file as rewritten above: if the
project changed one since, `make series` stops and writes the difference to
OUTDIR/stale-patches.diff. To put a change into the patch it belongs to,
edit the commits in TREE (`git rebase -i TAG`), then

    make-series.py --top TOP --tree TREE --base TAG --save-patches

writes each commit's part back to its file under patches/.
"""

import argparse
import difflib
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Project file -> place in the kernel tree.
MOVES = {
    "drivers/block/rvirtio_blk/rvirtio_blk_main.rs": "drivers/block/rvirtio_blk.rs",
    "drivers/net/rvirtio_net/rvirtio_net_main.rs": "drivers/net/rvirtio_net.rs",
    "samples/rust/rvirtio_rng_main.rs": "samples/rust/rvirtio_rng.rs",
}

# Macros the abstractions export (`#[macro_export]`): a driver reaches them at
# its own crate root out of tree, at the kernel crate's in tree.
EXPORTED_MACROS = ("module_virtio_driver", "virtio_device_table", "virtio_config_field",
                   "impl_has_napi")


def die(msg):
    sys.exit(f"make-series: {msg}")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    """Writes a new file: the trees share their files' inodes with the
    cached source (cp -al), so a file is replaced, never written into."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# --- Rewrites ---------------------------------------------------------------

def rewrite_abstraction(text):
    """A file of rust/kernel/ as the kernel crate compiles it."""
    # Out of tree the abstractions reach the kernel crate as `kernel::`; in
    # it, its files say `crate::`. Not in comments: the documentation's
    # examples are doctests, other crates.
    text = "\n".join(l if l.lstrip().startswith("//") else
                     re.sub(r"(?<![\w:$])kernel::", "crate::", l)
                     for l in text.split("\n"))
    text = merge_uses(text, "crate")
    # `Device::as_raw()` is private to the kernel crate: out of tree the block
    # module has its own copy of it, `device_raw()`.
    text = re.sub(r"super::super::device_raw\((\w+)\)", r"\1.as_raw()", text)
    text = text.replace("super::super::device_raw", "Device::as_raw")
    text = re.sub(r"/// The C `struct device` of `dev`\.\n.*?\n}\n\n", "", text, flags=re.S)
    text = text.replace("bindings::RVIRTIO_CONST_", "bindings::")
    text = text.replace("#[cfg(rvirtio_kunit)]", "#[cfg(CONFIG_RUST_VIRTIO_KUNIT_TEST)]")
    text = re.sub(r"kunit_tests\(rvirtio_", "kunit_tests(rust_kernel_", text)
    # A `module!` invocation cannot be a doctest (the kernel's own
    # `module_*_driver!` examples are `ignore` too).
    text = re.sub(r"/// ```ignore\n(?!/// kernel::module_virtio_driver!)", "/// ```\n", text)
    text = text.replace("//! ```ignore\n", "//! ```rust\n")
    return text


def drop_path_modules(lines):
    """Remove `#[path = ...]` module declarations, with the comment lines and
    attributes before them and the braces of an inline module body."""
    out = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("#[path = "):
            while out and (out[-1].startswith("//") or out[-1].startswith("#[")):
                out.pop()
            i += 1
            while lines[i].startswith("#[") or lines[i].startswith("//"):
                i += 1
            if lines[i].rstrip().endswith("{"):
                depth = 0
                while True:
                    depth += lines[i].count("{") - lines[i].count("}")
                    i += 1
                    if depth == 0:
                        break
            else:
                i += 1
            while i < len(lines) and lines[i].strip() == "" and out and out[-1].strip() == "":
                i += 1
            continue
        # `use rust_kernel::net;`: a module brought to the crate root for the
        # macros (`crate::net`); the kernel crate has it at its root.
        if re.match(r"use rust_kernel::[a-z_]+;$", lines[i]):
            while out and out[-1].startswith("//"):
                out.pop()
            i += 1
            continue
        out.append(lines[i])
        i += 1
    return out


def merge_uses(text, root):
    """Joins the top-level `use <root>::{...};` blocks and single-line
    `use <root>::path;` statements (not those under an attribute) into the
    first block: the kernel crate's items and, once renamed, the
    abstractions' are one import. rustfmt sorts the result."""
    lines = text.split("\n")
    blocks = []
    i = 0
    while i < len(lines):
        attributed = i > 0 and lines[i - 1].startswith("#[")
        if lines[i] == f"use {root}::{{" and not attributed:
            j = i
            while lines[j] != "};":
                j += 1
            blocks.append((i, j, lines[i + 1:j]))
            i = j
        elif re.fullmatch(rf"use {root}::[\w:]+;", lines[i]) and not attributed:
            path = lines[i][len(f"use {root}::"):-1]
            blocks.append((i, i, [f"    {path},"]))
        i += 1
    if not any(a != b for a, b, _ in blocks) or len(blocks) < 2:
        return text
    items = []
    for _, _, body in blocks:
        if items and not items[-1].rstrip().endswith(","):
            items[-1] = items[-1].replace(" //", "").rstrip() + ","
        items += body
    first = next(k for k, (a, b, _) in enumerate(blocks) if a != b)
    blocks = [(a, b) for a, b, _ in blocks]
    head = blocks.pop(first)
    for a, b in reversed(blocks):
        if a < head[0]:
            continue
        end = b + 1
        if end < len(lines) and lines[end] == "" and a > 0 and lines[a - 1] == "":
            end += 1
        del lines[a:end]
    a, b = head
    lines[a + 1:b] = items
    for a, b in reversed([x for x in blocks if x[0] < head[0]]):
        del lines[a:b + 1]
    return "\n".join(lines)


def drop_fn(text, name):
    """Removes the function `name` (one in the file), with its documentation
    and attributes."""
    lines = text.split("\n")
    found = [i for i, l in enumerate(lines)
             if re.match(rf"\s*(pub(\(crate\))? )?(const )?(unsafe )?fn {name}\b", l)]
    if len(found) != 1:
        die(f"{len(found)} functions named {name}")
    first = last = found[0]
    indent = lines[first][:len(lines[first]) - len(lines[first].lstrip())]
    while first > 0 and lines[first - 1].strip().startswith(("///", "#[")):
        first -= 1
    while lines[last] != indent + "}":
        last += 1
    if last + 1 < len(lines) and lines[last + 1].strip() == "":
        last += 1
    del lines[first:last + 1]
    return "\n".join(lines)


def rustfmt(text, config):
    r = subprocess.run([os.environ.get("RUSTFMT", "rustfmt"), "--edition", "2021",
                        "--config-path", config, "--emit", "stdout"], input=text,
                       capture_output=True, text=True)
    if r.returncode:
        die(f"rustfmt failed: {r.stderr}")
    return r.stdout


def rewrite_driver(text):
    """A driver or sample as an in-tree module of the kernel crate's users."""
    lines = drop_path_modules(text.split("\n"))
    text = "\n".join(lines)
    text = text.replace("rust_kernel::", "kernel::")
    text = merge_uses(text, "kernel")
    for m in EXPORTED_MACROS:
        text = text.replace(f"crate::{m}!", f"kernel::{m}!")
    if "rust_kernel" in text or "#[path" in text:
        die("a driver still refers to the out-of-tree module roots")
    return text


def split_c_helper(text):
    """(include lines, body) of a rust/helpers/ file, without its SPDX line."""
    lines = text.split("\n")
    if lines[0].startswith("// SPDX"):
        lines = lines[1:]
    includes = []
    while lines and (lines[0].startswith("#include") or lines[0].strip() == ""):
        if lines[0].startswith("#include"):
            includes.append(lines[0])
        lines = lines[1:]
    return includes, "\n".join(lines)


def insert_sorted(lines, new, first, last):
    """Insert `new` into lines[first:last] after the greatest line below it."""
    pos = first
    for j in range(first, last):
        if lines[j] < new:
            pos = j + 1
    lines.insert(pos, new)


# --- Operations on the tree --------------------------------------------------

class Tree:
    def __init__(self, top, tree):
        self.top, self.tree = top, tree
        # Patch file -> the files it changes, in the order applied.
        self.applied = {}
        # The name of the series patch being made.
        self.current = None

    def src(self, rel):
        return read(os.path.join(self.top, rel))

    def path(self, rel):
        return os.path.join(self.tree, rel)

    def get(self, rel):
        return read(self.path(rel))

    def put(self, rel, text):
        write(self.path(rel), text)

    def exists(self, rel):
        return os.path.exists(self.path(rel))

    # Rust files.
    def rendered(self, rel, drop=()):
        """rust/kernel/<rel> as in tree, without the lines matching `drop`
        (module declarations whose files a later patch adds) and without the
        functions that a later patch adds (ADDED_LATER)."""
        text = rewrite_abstraction(self.src(rel))
        if rel == "rust/kernel/block/mq/operations.rs":
            # The kernel's file names the `vtable` attribute by its crate, which
            # out of tree is only reached through the prelude.
            text = text.replace("#[vtable]\npub trait", "#[macros::vtable]\npub trait")
        for pat in drop:
            text = "\n".join(l for l in text.split("\n") if not re.fullmatch(pat, l))
        for name in self.later(rel):
            text = drop_fn(text, name)
        return rustfmt(text, self.path(".rustfmt.toml"))

    def later(self, rel):
        """The functions of `rel` that a patch after the current one adds."""
        names = [name for name, _ in SERIES]
        now = names.index(self.current) if self.current in names else len(names)
        return [f for patch, fns in ADDED_LATER.get(rel, {}).items()
                if names.index(patch) > now for f in fns]

    def abstraction(self, rel, drop=()):
        self.put(rel, self.rendered(rel, drop))

    def driver(self, rel):
        text = rustfmt(rewrite_driver(self.src(rel)), self.path(".rustfmt.toml"))
        self.put(MOVES[rel], text)

    def after(self, rel, anchor, new):
        """Insert `new` (lines) after the line equal to `anchor`."""
        lines = self.get(rel).split("\n")
        if anchor not in lines:
            die(f"{rel}: no line {anchor!r}")
        i = lines.index(anchor) + 1
        lines[i:i] = new.split("\n")
        self.put(rel, "\n".join(lines))

    def before(self, rel, anchor, new):
        lines = self.get(rel).split("\n")
        if anchor not in lines:
            die(f"{rel}: no line {anchor!r}")
        i = lines.index(anchor)
        lines[i:i] = new.split("\n")
        self.put(rel, "\n".join(lines))

    def after_block(self, rel, header, new):
        """Insert `new` after the paragraph (up to a blank line) that starts
        with the line `header`."""
        lines = self.get(rel).split("\n")
        if header not in lines:
            die(f"{rel}: no line {header!r}")
        i = lines.index(header)
        while lines[i].strip() != "":
            i += 1
        lines[i + 1:i + 1] = new.split("\n") + [""]
        self.put(rel, "\n".join(lines))

    # C helpers.
    def helper(self, name):
        rel = f"rust/helpers/{name}"
        ours = self.src(rel)
        if not self.exists(rel):
            self.put(rel, ours)
            lines = self.get("rust/helpers/helpers.c").split("\n")
            inc = [i for i, l in enumerate(lines) if l.startswith('#include "')]
            insert_sorted(lines, f'#include "{name}"', inc[0], inc[-1] + 1)
            self.put("rust/helpers/helpers.c", "\n".join(lines))
            return
        includes, body = split_c_helper(ours)
        lines = self.get(rel).rstrip("\n").split("\n")
        have = [i for i, l in enumerate(lines) if l.startswith("#include")]
        for inc in includes:
            if inc not in lines:
                insert_sorted(lines, inc, have[0], have[-1] + 1)
                have.append(have[-1] + 1)
        self.put(rel, "\n".join(lines) + "\n\n" + body.strip("\n") + "\n")

    # Bindings.
    def bindings(self, includes, consts):
        rel = "rust/bindings/bindings_helper.h"
        lines = self.get(rel).split("\n")
        # The sorted list of the kernel's own headers.
        first = lines.index("#include <kunit/test.h>")
        last = lines.index("#include <trace/events/rust_sample.h>")
        for inc in includes:
            if inc not in lines:
                insert_sorted(lines, inc, first, last + 1)
                last += 1
        ours = {}
        for l in self.src(rel).split("\n"):
            m = re.match(r"const (.+) RVIRTIO_CONST_(\w+) = (.+);$", l)
            if m:
                ours[m.group(2)] = f"const {m.group(1)} RUST_CONST_HELPER_{m.group(2)} = {m.group(3)};"
        # After the kernel's blk-mq constant and those the series added since.
        anchor = next(i for i, l in enumerate(lines) if "RUST_CONST_HELPER_BLK_FEAT_ROTATIONAL" in l)
        while any(f" RUST_CONST_HELPER_{n} " in lines[anchor + 1] for n in ours):
            anchor += 1
        new = []
        for name in consts:
            if name not in ours:
                die(f"no constant {name} in the project's bindings_helper.h")
            if f"RUST_CONST_HELPER_{name} " not in "\n".join(lines):
                new.append(ours[name])
        lines[anchor + 1:anchor + 1] = new
        self.put(rel, "\n".join(lines))
        rel = "rust/bindgen_parameters"
        lines = self.get(rel).split("\n")
        anchor = max(i for i, l in enumerate(lines) if l.startswith("--blocklist-item "))
        lines[anchor + 1:anchor + 1] = [f"--blocklist-item {n}" for n in consts if n in MACRO_CONSTS]
        self.put(rel, "\n".join(lines))

    def project_includes(self):
        """The project's bindings_helper.h include lines."""
        return [l for l in self.src("rust/bindings/bindings_helper.h").split("\n")
                if l.startswith("#include")]

    def patch(self, name):
        run(["git", "apply", "--index", os.path.join(HERE, "patches", name)], cwd=self.tree)
        self.applied[name] = patch_files(name)

    def maintainers(self, section, entry):
        """Add the MAINTAINERS section `section` (its first line) with the
        lines of `entry`, where alphabetical order puts it; or, if it exists,
        add the F: lines of `entry` it lacks."""
        lines = self.get("MAINTAINERS").split("\n")
        if section in lines:
            i = lines.index(section)
            j = i
            while lines[j].strip() != "":
                j += 1
            for l in entry.split("\n"):
                if l.startswith("F:") and l not in lines[i:j]:
                    insert_sorted(lines, l, i + 1, j)
                    j += 1
            self.put("MAINTAINERS", "\n".join(lines))
            return
        # After the entry that sorts last below it (the file is not in
        # perfect order, so not before the first entry above it).
        titles = [i for i in range(1, len(lines) - 1)
                  if lines[i] and lines[i][0].isupper() and lines[i - 1] == ""
                  and re.match(r"[A-Z]:\t", lines[i + 1])]
        prev = max((i for i in titles if lines[i] < section), key=lambda i: lines[i])
        pos = prev
        while lines[pos].strip() != "":
            pos += 1
        lines[pos + 1:pos + 1] = [section] + entry.split("\n") + [""]
        self.put("MAINTAINERS", "\n".join(lines))


def patch_files(name):
    """The files that patches/<name> changes."""
    return re.findall(r"^diff --git a/(\S+) ", read(os.path.join(HERE, "patches", name)), re.M)


def run(cmd, cwd=None, **kw):
    r = subprocess.run(cmd, cwd=cwd, **kw)
    if r.returncode:
        die(f"{' '.join(cmd)} failed ({r.returncode})")
    return r


# --- The series ----------------------------------------------------------------

def maintainer_lines(ident, lists, files):
    return "\n".join([f"M:\t{ident}"] + [f"L:\t{l}" for l in lists] + ["S:\tMaintained"] +
                     [f"F:\t{f}" for f in files])


RUST_LIST = "rust-for-linux@vger.kernel.org"
VIRT_LIST = "virtualization@lists.linux.dev"
NET_LIST = "netdev@vger.kernel.org"
BLOCK_LIST = "linux-block@vger.kernel.org"


def p_helpers(t, ident):
    for name in ("blk.c", "idr.c", "netdevice.c", "page_pool.c", "scatterlist.c",
                 "skbuff.c", "virtio.c"):
        t.helper(name)
    t.maintainers("RUST [VIRTIO]", maintainer_lines(ident, [VIRT_LIST, RUST_LIST],
                                                    ["rust/helpers/virtio.c"]))
    t.maintainers("RUST [NETDEVICE]", maintainer_lines(
        ident, [NET_LIST, RUST_LIST],
        ["rust/helpers/netdevice.c", "rust/helpers/page_pool.c", "rust/helpers/skbuff.c"]))
    t.maintainers("RUST [IDA]", maintainer_lines(ident, [RUST_LIST], ["rust/helpers/idr.c"]))


VIRTIO_CONSTS = ["VIRTIO_RING_F_INDIRECT_DESC"]
# Macros that are plain numbers, which bindgen turns into `u32` constants of
# the same name: the typed constant replaces them, as for VM_* in
# rust/bindgen_parameters.
MACRO_CONSTS = ["VIRTIO_RING_F_INDIRECT_DESC", "BLK_STS_OK", "MAX_SKB_FRAGS"]
NET_CONSTS = ["MAX_SKB_FRAGS", "NETIF_F_HIGHDMA", "NETIF_F_RXCSUM", "NETIF_F_SG",
              "NETIF_F_HW_CSUM", "NETIF_F_TSO", "NETIF_F_TSO6", "NETIF_F_TSO_ECN",
              "NETIF_F_GSO_ROBUST", "NETIF_F_GRO_HW", "NAPI_STRUCT_SIZE", "NAPI_STRUCT_ALIGN"]


def p_bindings(t, ident):
    # The constants come with the abstraction that uses them.
    t.bindings(t.project_includes(), [])


# The blk-mq extensions, in order: (name, patches/block/<name>.patch, the
# constants they add to bindings_helper.h).
BLOCK = [
    ("block-request", "01-request-accessors", ["REQ_OP_MASK", "REQ_FUA", "REQ_NOUNMAP",
                                               "BLK_STS_OK"]),
    ("block-request-data", "02-request-data", []),
    ("block-queue-rq", "03-queue-rq", ["BLK_STS_RESOURCE", "BLK_STS_DEV_RESOURCE"]),
    ("block-timeout", "04-timeout", []),
    ("block-limits", "05-limits", ["BLK_FEAT_WRITE_CACHE", "BLK_FEAT_FUA"]),
    ("block-disk", "06-disk", []),
    ("block-affinity", "07-affinity", []),
]


def p_block(consts):
    def apply(t, ident):
        t.bindings([], consts)
    return apply


def p_ida(t, ident):
    t.abstraction("rust/kernel/ida.rs")
    t.after("rust/kernel/lib.rs", "pub mod id_pool;", "pub mod ida;")
    t.maintainers("RUST [IDA]", maintainer_lines(ident, [RUST_LIST], ["rust/kernel/ida.rs"]))


def p_hw_random(t, ident):
    t.abstraction("rust/kernel/hw_random.rs")
    t.after("rust/kernel/lib.rs", "pub mod gpu;",
            '#[cfg(CONFIG_HW_RANDOM = "y")]\npub mod hw_random;')
    t.maintainers("RUST [HW_RANDOM]", maintainer_lines(ident, [RUST_LIST],
                                                       ["rust/kernel/hw_random.rs"]))


NET_MODS = ("ethtool", "napi", "netdevice", "page_pool", "skbuff")


def p_net(t, ident):
    t.bindings([], NET_CONSTS)
    for m in NET_MODS:
        t.abstraction(f"rust/kernel/net/{m}.rs")
    # Page pools need CONFIG_PAGE_POOL (which needs CONFIG_NET); socket
    # buffers use them, and the rest uses both.
    t.after("rust/kernel/net/mod.rs", "pub mod netlink;",
            "\n".join(f"#[cfg(CONFIG_PAGE_POOL)]\npub mod {m};" for m in NET_MODS))
    t.maintainers("RUST [NETDEVICE]", maintainer_lines(
        ident, [NET_LIST, RUST_LIST], [f"rust/kernel/net/{m}.rs" for m in NET_MODS]))


def p_virtio(t, ident):
    t.bindings([], VIRTIO_CONSTS)
    t.abstraction("rust/kernel/virtio.rs",
                  drop=[r"pub mod blk;", r"pub mod net;", r"#\[cfg\(CONFIG_BLOCK\)\]",
                        r"pub mod request;"])
    t.abstraction("rust/kernel/virtio/sg.rs")
    t.abstraction("rust/kernel/virtio/virtqueue.rs")
    t.after("rust/kernel/lib.rs", "pub mod uaccess;", '#[cfg(CONFIG_VIRTIO = "y")]\npub mod virtio;')
    t.maintainers("RUST [VIRTIO]", maintainer_lines(
        ident, [VIRT_LIST, RUST_LIST],
        ["rust/kernel/virtio.rs", "rust/kernel/virtio/sg.rs", "rust/kernel/virtio/virtqueue.rs"]))


def p_virtio_request(t, ident):
    t.abstraction("rust/kernel/virtio/request.rs")
    t.abstraction("rust/kernel/virtio/blk.rs")
    t.before("rust/kernel/virtio.rs", "pub mod sg;", "pub mod blk;\n#[cfg(CONFIG_BLOCK)]\npub mod request;")
    t.maintainers("RUST [VIRTIO]", maintainer_lines(
        ident, [], ["rust/kernel/virtio/blk.rs", "rust/kernel/virtio/request.rs"]))


def p_virtio_net(t, ident):
    t.abstraction("rust/kernel/virtio/net.rs")
    t.after("rust/kernel/virtio.rs", "pub mod blk;", "#[cfg(CONFIG_PAGE_POOL)]\npub mod net;")
    t.maintainers("RUST [VIRTIO]", maintainer_lines(ident, [], ["rust/kernel/virtio/net.rs"]))


def p_rng_sample(t, ident):
    t.driver("samples/rust/rvirtio_rng_main.rs")
    t.after_block("samples/rust/Kconfig", "config SAMPLE_RUST_MINIMAL", """config SAMPLE_RUST_VIRTIO_RNG
	tristate "Virtio entropy source"
	depends on VIRTIO=y && HW_RANDOM=y
	help
	  This option builds a Rust driver for virtio entropy devices
	  (virtio-rng): it registers each device as a hardware random
	  number generator, as the C virtio-rng driver does. It shows the
	  virtio bus and virtqueue abstractions at their simplest.

	  To compile this as a module, choose M here:
	  the module will be called rvirtio_rng.

	  If unsure, say N.""")
    t.after("samples/rust/Makefile", "obj-$(CONFIG_SAMPLE_RUST_MINIMAL)		+= rust_minimal.o",
            "obj-$(CONFIG_SAMPLE_RUST_VIRTIO_RNG)		+= rvirtio_rng.o")
    t.maintainers("RUST [VIRTIO]", maintainer_lines(ident, [], ["samples/rust/rvirtio_rng.rs"]))


def in_tree_driver(t, ident, rel, kconfig_after, kconfig, makefile_after, section, lists):
    """A driver of the project as a module of its subsystem's directory:
    its file, its Kconfig entry after `kconfig_after` (the C driver's), its
    Makefile line after the C driver's, its MAINTAINERS section."""
    dest = MOVES[rel]
    directory, name = os.path.split(dest)
    symbol = re.match(r"config (\w+)", kconfig).group(1)
    obj = name.replace(".rs", ".o")
    t.driver(rel)
    t.after_block(f"{directory}/Kconfig", kconfig_after, kconfig)
    anchor = next(l for l in t.get(f"{directory}/Makefile").split("\n")
                  if l.startswith(makefile_after))
    sep = anchor[len(makefile_after):anchor.index("+=")]
    t.after(f"{directory}/Makefile", anchor, f"obj-$(CONFIG_{symbol}){sep}+= {obj}")
    t.maintainers(section, maintainer_lines(ident, lists + [RUST_LIST], [dest]))


def p_blk_driver(t, ident):
    in_tree_driver(t, ident, "drivers/block/rvirtio_blk/rvirtio_blk_main.rs",
                   "config VIRTIO_BLK", """config VIRTIO_BLK_RUST
	tristate "Virtio block driver in Rust"
	depends on RUST && VIRTIO=y
	help
	  A virtio block driver written in Rust, a replacement for
	  VIRTIO_BLK: it serves the same devices and presents the same
	  disks (/dev/vdX, the same queue limits, serial and geometry).
	  Load one of the two drivers, not both.

	  To compile this driver as a module, choose M here: the
	  module will be called rvirtio_blk.

	  If unsure, say N.""", "obj-$(CONFIG_VIRTIO_BLK)", "VIRTIO BLOCK DRIVER [RUST]",
                   [VIRT_LIST, BLOCK_LIST])


def p_net_driver(t, ident):
    in_tree_driver(t, ident, "drivers/net/rvirtio_net/rvirtio_net_main.rs",
                   "config VIRTIO_NET", """config VIRTIO_NET_RUST
	tristate "Virtio network driver in Rust"
	depends on RUST && VIRTIO=y
	select PAGE_POOL
	help
	  A virtio network driver written in Rust, for the devices that
	  VIRTIO_NET serves: receive and transmit queues with NAPI,
	  checksum and segmentation offloads and the control queue, one
	  queue pair. Load one of the two drivers, not both.

	  To compile this driver as a module, choose M here: the
	  module will be called rvirtio_net.

	  If unsure, say N.""", "obj-$(CONFIG_VIRTIO_NET)", "VIRTIO NET DRIVER [RUST]",
                   [VIRT_LIST, NET_LIST])


def p_kunit(t, ident):
    t.after_block("rust/kernel/Kconfig.test", "config RUST_KVEC_KUNIT_TEST", """config RUST_VIRTIO_KUNIT_TEST
	bool "KUnit tests for the Rust virtio, block and network abstractions" if !KUNIT_ALL_TESTS
	depends on VIRTIO=y
	default KUNIT_ALL_TESTS
	help
	  This option enables the KUnit tests of the Rust abstractions the
	  virtio drivers use: virtio feature negotiation, configuration
	  fields and scatterlists, the virtio-blk and virtio-net protocol
	  layouts, blk-mq requests, socket buffers, page pools, ethtool and
	  IDA. These are only for development and testing, not for regular
	  kernel use cases.

	  If unsure, say N.""")


# (name, function). The commit messages are messages/<name>.txt: the subject
# line, a blank line, the body.
SERIES = [
    ("bindings", p_bindings),
    ("helpers", p_helpers),
    *[(name, p_block(consts)) for name, _, consts in BLOCK],
    ("ida", p_ida),
    ("hw-random", p_hw_random),
    ("net", p_net),
    ("virtio", p_virtio),
    ("virtio-blk", p_virtio_request),
    ("virtio-net", p_virtio_net),
    ("rng-sample", p_rng_sample),
    ("blk-driver", p_blk_driver),
    ("net-driver", p_net_driver),
    ("kunit", p_kunit),
]


# Crate-private functions that only a later patch uses, which that patch adds
# (an earlier one would have dead code): file -> {series patch: [functions]}.
ADDED_LATER = {
    "rust/kernel/net/page_pool.rs": {"virtio-net": ["from_raw"]},
    "rust/kernel/virtio/sg.rs": {"virtio-blk": ["trust", "push_list"],
                                 "virtio-net": ["push_raw", "push_skb", "push_page_raw"]},
}


# Series patch -> the patch under patches/ it applies first (files of the
# kernel tree that the project extends).
KERNEL_PATCHES = {
    **{name: f"block/{patch}.patch" for name, patch, _ in BLOCK},
    # What the request tokens read of a request's private area.
    "virtio-blk": "virtio-blk-request.patch",
}


def check_stale(t, out, base):
    """Dies if a file that patches/ change is not, after the last of them,
    the project's file as rewritten."""
    diffs = []
    for rel in dict.fromkeys(f for files in t.applied.values() for f in files):
        if not os.path.exists(os.path.join(t.top, rel)):
            continue
        have, want = t.get(rel), t.rendered(rel)
        if have != want:
            diffs += difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                          f"a/{rel}", f"b/{rel}")
    if diffs:
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "stale-patches.diff")
        write(path, "".join(diffs))
        die(f"the patches under {os.path.join(HERE, 'patches')} do not end at the project's "
            f"files; the difference is {path}. Add it to the commit of the change it belongs "
            f"to in {t.tree} (git rebase -i {base}), then write the patches back with\n  "
            f"{sys.argv[0]} --top {t.top} --tree {t.tree} --base {base} --save-patches")


def save_patches(top, tree, base):
    """Writes the part of each commit of TREE that patches/ hold back to its file."""
    commits = subprocess.run(["git", "rev-list", "--reverse", f"{base}..HEAD"], cwd=tree,
                             check=True, capture_output=True, text=True).stdout.split()
    if len(commits) != len(SERIES):
        die(f"{tree} has {len(commits)} commits on {base}, the series {len(SERIES)}")
    for (name, _), commit in zip(SERIES, commits):
        if name not in KERNEL_PATCHES:
            continue
        patch = KERNEL_PATCHES[name]
        diff = subprocess.run(["git", "diff", "--no-color", f"{commit}~", commit, "--"] +
                              patch_files(patch), cwd=tree, check=True, capture_output=True,
                              text=True).stdout
        write(os.path.join(HERE, "patches", patch), diff)
        print(f"patches/{patch}")


def check_summary(report):
    """The last line of a `make check` report ("N passed, N failed")."""
    if report and os.path.exists(report):
        lines = [l for l in read(report).split("\n") if l.strip()]
        if lines and re.match(r"\d+ passed, \d+ failed", lines[-1]):
            return lines[-1]
    return "(no `make check` report in this tree: run `make check` first)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", required=True)
    ap.add_argument("--tree", required=True)
    ap.add_argument("--out")
    ap.add_argument("--base", required=True, help="the tree's version tag")
    ap.add_argument("--report", help="report.txt of the last `make check`, for the cover letter")
    ap.add_argument("--save-patches", action="store_true",
                    help="write TREE's commits back to patches/ instead")
    args = ap.parse_args()
    if args.save_patches:
        save_patches(args.top, args.tree, args.base)
        return
    if not args.out:
        die("--out is required")
    args.out = os.path.abspath(args.out)

    ident = subprocess.run(["git", "var", "GIT_AUTHOR_IDENT"], cwd=args.top, check=True,
                           capture_output=True, text=True).stdout
    ident = re.sub(r" \d+ [+-]\d+$", "", ident.strip())
    t = Tree(args.top, args.tree)
    run(["git", "checkout", "-q", "-f", args.base], cwd=args.tree)
    run(["git", "clean", "-q", "-f", "-d", "-x"], cwd=args.tree)
    for name, fn in SERIES:
        t.current = name
        if name in KERNEL_PATCHES:
            t.patch(KERNEL_PATCHES[name])
        fn(t, ident)
        for rel, added in ADDED_LATER.items():
            if name in added:
                t.abstraction(rel)
        msg = read(os.path.join(HERE, "messages", f"{name}.txt"))
        # Debian's tree ignores everything at its top level (.gitignore).
        run(["git", "add", "-A", "-f"], cwd=args.tree)
        run(["git", "commit", "-q", "-s", "--no-verify", "-F", "-"], cwd=args.tree,
            input=msg, text=True)
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith(".patch") or f.endswith(".diff"):
            os.unlink(os.path.join(args.out, f))
    check_stale(t, args.out, args.base)
    run(["git", "format-patch", "-q", "--cover-letter", f"--base={args.base}",
         "--subject-prefix=PATCH", "-o", args.out, f"{args.base}..HEAD"], cwd=args.tree)
    cover = os.path.join(args.out, "0000-cover-letter.patch")
    text = read(cover)
    body = read(os.path.join(HERE, "messages", "cover.txt"))
    body = body.replace("@CHECK@", check_summary(args.report))
    subject, _, rest = body.partition("\n\n")
    text = text.replace("*** SUBJECT HERE ***", subject.strip())
    text = text.replace("*** BLURB HERE ***", rest.strip())
    write(cover, text)
    print(args.out)


if __name__ == "__main__":
    main()
