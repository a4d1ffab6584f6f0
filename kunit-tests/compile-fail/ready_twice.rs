// SPDX-License-Identifier: GPL-2.0

// Must not compile: making a device ready twice (the second `virtio_device_ready()` would WARN).
//
// expect: E0382

fn check() -> Result {
    Ok(())
}

#[allow(dead_code)]
fn ready_twice(dev: &virtio::Device<kernel::device::Core<'_>>) -> Result {
    let builder = virtio::Builder::new(dev)?;
    let found = builder.find(virtio::Affinity::none())?;
    found.ready();
    found.ready();
    Ok(())
}
