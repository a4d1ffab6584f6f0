// SPDX-License-Identifier: GPL-2.0

//! The crate root of every compile-fail case: a module that compiles the abstractions and
//! includes one case (`RVIRTIO_CF_CASE`, set by Kbuild from `RVIRTIO_COMPILE_FAIL`), whose
//! `check()` its `init` calls so that the case's generic items are instantiated. The cases are
//! the other sources of this directory; `qemu-scripts/compile-fail.sh` builds each.

use kernel::prelude::*;

#[path = "../../rust/bindings/lib.rs"]
mod bindings;

#[path = "../../rust/kernel"]
#[allow(dead_code, unreachable_pub, unused_imports)]
mod rust_kernel {
    pub(crate) mod block;
    pub(crate) mod net {
        pub(crate) mod ethtool;
        pub(crate) mod napi;
        pub(crate) mod netdevice;
        pub(crate) mod page_pool;
        pub(crate) mod skbuff;
    }
    pub(crate) mod virtio;
}
#[allow(unused_imports)]
use rust_kernel::{
    block,
    net,
    virtio, //
};

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

include!(env!("RVIRTIO_CF_CASE"));
