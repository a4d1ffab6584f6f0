#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Completes the kernel's rust-project.json for the rvirtio crates.

The kernel's scripts/generate_rust_analyzer.py only treats a file as a crate
root when the Kbuild file next to it names it; rvirtio lists its crate roots
in the top-level Kbuild (`rvirtio-rust-objs`). This adds them, with the
environment their `include!`s of generated bindings need.

    rust-analyzer.py RUST_PROJECT_JSON SRC_TOP MO
"""

import json
import pathlib
import re
import sys


def main():
    project_path, top, mo = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    project = json.loads(pathlib.Path(project_path).read_text())
    crates = project["crates"]

    kbuild = (top / "Kbuild").read_text().replace("\\\n", " ")
    m = re.search(r"^rvirtio-rust-objs\s*:?=(.*)$", kbuild, re.M)
    roots = m.group(1).split() if m else []

    by_name = {c.get("display_name"): i for i, c in enumerate(crates)}
    deps = [
        {"crate": by_name[n], "name": n}
        for n in ("core", "kernel", "pin_init", "zerocopy", "zerocopy_derive")
        if n in by_name
    ]
    cfg = next((c["cfg"] for c in crates if c.get("display_name") == "kernel"), [])
    known = {c["root_module"] for c in crates}
    for obj in roots:
        root = str((top / obj).with_suffix(".rs"))
        if root in known:
            continue
        crates.append(
            {
                "display_name": pathlib.Path(root).stem,
                "root_module": root,
                "is_workspace_member": True,
                "deps": deps,
                "cfg": cfg,
                "edition": "2021",
                "env": {"RUST_MODFILE": "This is only for rust-analyzer", "RVIRTIO_OBJTREE": mo},
            }
        )
    pathlib.Path(project_path).write_text(json.dumps(project, indent=4, sort_keys=False))


if __name__ == "__main__":
    main()
