// SPDX-License-Identifier: GPL-2.0

// Must not compile: reading another device type's configuration field.
//
// expect: E0308

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
