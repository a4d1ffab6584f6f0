// SPDX-License-Identifier: GPL-2.0

//! Must not compile: a configuration field that is not aligned to its width.
//!
//! expect: unaligned configuration field

use kernel::prelude::*;

#[path = "../../rust/bindings/lib.rs"]
mod bindings;

#[path = "../../rust/kernel"]
#[allow(dead_code, unreachable_pub, unused_imports)]
mod rust_kernel {
    pub(crate) mod block;
    pub(crate) mod virtio;
}
#[allow(unused_imports)]
use rust_kernel::{
    block,
    virtio, //
};

include!("prelude.rs");

fn check() -> Result {
    Ok(())
}

/// A `u64` at offset 4: inside the structure, but not aligned.
#[allow(dead_code)]
const UNALIGNED: virtio::ConfigField<virtio::blk::Config, u64> =
    virtio::ConfigField::new::<4, _>(|c: &virtio::blk::Config| c.capacity);
