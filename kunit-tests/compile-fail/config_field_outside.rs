// SPDX-License-Identifier: GPL-2.0

// Must not compile: a configuration field outside the device's configuration structure.
//
// expect: configuration field outside the structure

fn check() -> Result {
    Ok(())
}

/// 4 KiB into the 60-odd bytes of `struct virtio_blk_config`.
#[allow(dead_code)]
const BEYOND: virtio::ConfigField<virtio::blk::Config, u32> =
    virtio::ConfigField::new::<4096, _>(|c: &virtio::blk::Config| c.seg_max);
