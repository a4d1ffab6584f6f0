// SPDX-License-Identifier: GPL-2.0

// Must not compile: taking a queue as another token type than the one it was described with.
//
// expect: E0308

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
