// SPDX-License-Identifier: GPL-2.0

// Must not compile: keeping the queues' `Found` beyond probe, to make the device ready later.
//
// expect: lifetime may not live long enough|borrowed data escapes|does not live long enough

fn check() -> Result {
    Ok(())
}

/// Somewhere a later callback (`config_changed`, a work item) could find it.
#[allow(dead_code)]
fn keep(found: virtio::Found<'static, 'static>) {
    drop(found);
}

#[allow(dead_code)]
fn ready_later(dev: &virtio::Device<kernel::device::Core<'_>>) -> Result {
    let builder = virtio::Builder::new(dev)?;
    keep(builder.find(virtio::Affinity::none())?);
    Ok(())
}
