// SPDX-License-Identifier: GPL-2.0

// Must not compile: a configuration field that is not aligned to its width.
//
// expect: unaligned configuration field

fn check() -> Result {
    Ok(())
}

/// A `u64` at offset 4: inside the structure, but not aligned.
#[allow(dead_code)]
const UNALIGNED: virtio::ConfigField<virtio::blk::Config, u64> =
    virtio::ConfigField::new::<4, _>(|c: &virtio::blk::Config| c.capacity);
