// SPDX-License-Identifier: GPL-2.0

// What every compile-fail case shares (`include!`d by each after its crate-root modules; not a
// case itself): the module, whose `init` calls the case's `check()` so that its generic items
// are instantiated.

module! {
    type: CompileFail,
    name: "rvirtio_compile_fail",
    authors: ["rvirtio developers"],
    description: "A misuse of the abstractions that must not compile",
    license: "GPL",
}

struct CompileFail;

impl kernel::Module for CompileFail {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        check()?;
        Ok(CompileFail)
    }
}
