// SPDX-License-Identifier: GPL-2.0

//! Must not compile: taking a queue as another token type than the one it was described with.
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

struct Small([u8; 8]);
struct Large([u8; 4096]);

impl virtio::Buffer for Small {
    fn describe<'a>(&'a mut self, sg: &mut virtio::SgList<'_, 'a>) -> Result {
        sg.writable(&mut self.0)
    }
}

impl virtio::Buffer for Large {
    fn describe<'a>(&'a mut self, sg: &mut virtio::SgList<'_, 'a>) -> Result {
        sg.writable(&mut self.0)
    }
}

#[allow(dead_code)]
fn wrong_token(dev: &virtio::Device<kernel::device::Core<'_>>) -> Result {
    let mut builder = virtio::Builder::new(dev)?;
    let small = builder.add::<KBox<Small>>(virtio::QueueSpec::new(format_args!("q"))?)?;
    let mut found = builder.find(virtio::Affinity::none())?;
    let _large: virtio::Virtqueue<KBox<Large>> = found.take(small)?;
    Ok(())
}
