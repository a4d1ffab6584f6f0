// SPDX-License-Identifier: GPL-2.0

//! Must not compile: a configuration field outside the device's configuration structure.
//!
//! expect: configuration field outside the structure

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

/// 4 KiB into the 60-odd bytes of `struct virtio_blk_config`.
#[allow(dead_code)]
const BEYOND: virtio::ConfigField<virtio::blk::Config, u32> =
    virtio::ConfigField::new::<4096, _>(|c: &virtio::blk::Config| c.seg_max);
