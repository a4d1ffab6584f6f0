// SPDX-License-Identifier: GPL-2.0

//! Must not compile: reading another device type's configuration field.
//!
//! expect: E0308

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

/// The link status of a network device, read from a block device's configuration.
#[allow(dead_code)]
fn wrong_device(dev: &virtio::Device<kernel::device::Bound>) -> Result<u16> {
    dev.read_config(|cfg: &virtio::ConfigSpace<'_, virtio::blk::Config>| {
        cfg.read(virtio::net::config::STATUS)
    })
}
