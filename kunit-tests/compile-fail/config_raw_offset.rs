// SPDX-License-Identifier: GPL-2.0

// Must not compile: reading the configuration space at an offset of one's choosing, around the
// checked fields (virtio_pci would BUG() beyond the device's configuration).
//
// expect: E0576

fn check() -> Result {
    Ok(())
}

#[allow(dead_code)]
fn raw_offset(dev: &virtio::Device<kernel::device::Bound>) -> u32 {
    <u32 as virtio::ConfigValue>::read(dev, 4096)
}
