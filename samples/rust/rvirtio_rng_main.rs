// SPDX-License-Identifier: GPL-2.0

//! A virtio entropy device driver (virtio-rng), as a sample of the virtio abstractions.
//!
//! One buffer is lent to the device at a time; the device fills it and returns it, and reads
//! of the hw_random device (`/dev/hwrng`) consume it, then lend it again.

use kernel::{
    device::Core,
    new_condvar, new_mutex, new_spinlock_irq,
    prelude::*,
    sync::{
        Arc,
        CondVar,
        Mutex,
        SpinLockIrq, //
    },
};

#[path = "../../rust/bindings/lib.rs"]
mod bindings;

#[path = "../../rust/kernel"]
// The abstractions, compiled into this module (see Documentation/design.rst); it uses only
// part of them.
#[allow(dead_code, unreachable_pub, unused_imports)]
mod rust_kernel {
    pub(crate) mod block;
    pub(crate) mod hw_random;
    pub(crate) mod net {
        pub(crate) mod page_pool;
        pub(crate) mod skbuff;
    }
    pub(crate) mod virtio;
}
use rust_kernel::{
    hw_random,
    virtio, //
};

const BUF_SIZE: usize = 64;

struct RngBuf {
    data: [u8; BUF_SIZE],
}

impl virtio::Buffer for RngBuf {
    fn describe<'a>(&'a mut self, sg: &mut virtio::SgList<'_, 'a>) -> Result {
        sg.writable(&mut self.data)
    }
}

#[derive(Default)]
struct State {
    /// The filled buffer, the number of valid bytes and how many were consumed.
    ready: Option<(KBox<RngBuf>, usize, usize)>,
    /// The buffer when neither the device nor a reader has it.
    idle: Option<KBox<RngBuf>>,
    removed: bool,
}

#[pin_data]
struct Shared {
    #[pin]
    state: SpinLockIrq<State>,
    #[pin]
    have_data: CondVar,
    #[pin]
    vq: SpinLockIrq<virtio::Virtqueue<KBox<RngBuf>>>,
}

impl virtio::Callback for Shared {
    fn callback(&self, _queue: &virtio::Called<'_>) {
        let (buf, len) = {
            let mut vq = self.vq.lock();
            let Some(used) = vq.get_buf() else {
                return;
            };
            used.into_parts()
        };
        let mut state = self.state.lock();
        match len {
            Ok(len) if len > 0 => state.ready = Some((buf, len, 0)),
            _ => state.idle = Some(buf),
        }
        drop(state);
        self.have_data.notify_all();
    }
}

struct Reader {
    shared: Arc<Shared>,
}

impl Reader {
    /// Lends `buf` to the device; on failure keeps it for a later attempt.
    fn request(&self, state: &mut State, buf: KBox<RngBuf>) -> Result {
        let mut vq = self.shared.vq.lock();
        if let Err((e, buf)) = vq.add(buf) {
            state.idle = Some(buf);
            return Err(e);
        }
        if !vq.kick() {
            return Err(EIO);
        }
        Ok(())
    }
}

#[vtable]
impl hw_random::Operations for Reader {
    fn read(&self, out: &mut [u8], wait: bool) -> Result<usize> {
        let shared = &self.shared;
        let mut state = shared.state.lock();
        loop {
            if state.removed {
                return Err(ENODEV);
            }
            if let Some((buf, len, used)) = state.ready.take() {
                let avail = buf.data.get(used..len).unwrap_or(&[]);
                let n = avail.len().min(out.len());
                out[..n].copy_from_slice(&avail[..n]);
                if used + n < len {
                    state.ready = Some((buf, len, used + n));
                } else {
                    self.request(&mut state, buf)?;
                }
                return Ok(n);
            }
            if let Some(buf) = state.idle.take() {
                self.request(&mut state, buf)?;
            }
            if !wait {
                return Ok(0);
            }
            if shared.have_data.wait_interruptible(&mut state) {
                return Err(ERESTARTSYS);
            }
        }
    }
}

#[pin_data]
struct RvirtioRng {
    shared: Arc<Shared>,
    /// Registered once the device is ready (`scan`), unregistered at unbind.
    #[pin]
    hwrng: Mutex<Option<Pin<KBox<hw_random::Registration<Reader>>>>>,
}

crate::virtio_device_table!(RNG_IDS, [virtio::DeviceId::new(virtio::ids::RNG)]);

fn setup(dev: &virtio::Device<Core<'_>>) -> Result<Arc<Shared>> {
    let mut queues = virtio::Builder::new(dev)?;
    let input = queues.add(virtio::QueueSpec::new(format_args!("input"))?)?;
    let mut found = queues.find(virtio::Affinity::none())?;
    let vq = found.take(input)?;
    let buf = KBox::new(
        RngBuf {
            data: [0; BUF_SIZE],
        },
        GFP_KERNEL,
    )?;
    let shared = Arc::pin_init(
        try_pin_init!(Shared {
            state <- new_spinlock_irq!(State {
                idle: Some(buf),
                ..State::default()
            }),
            have_data <- new_condvar!(),
            vq <- new_spinlock_irq!(vq),
        }),
        GFP_KERNEL,
    )?;
    shared.vq.lock().set_callback(shared.clone())?;
    Ok(shared)
}

impl virtio::Driver for RvirtioRng {
    type Data<'bound> = Self;
    const ID_TABLE: virtio::IdTable = &RNG_IDS;

    fn probe<'bound>(dev: &'bound virtio::Device<Core<'_>>) -> impl PinInit<Self, Error> + 'bound {
        try_pin_init!(Self {
            shared: setup(dev)?,
            hwrng <- new_mutex!(None),
        })
    }

    fn scan<'bound>(dev: &'bound virtio::Device<Core<'_>>, this: Pin<&Self>) {
        // As C: the generator is registered once the device is ready, since registering it may
        // read from it right away.
        let reader = Reader {
            shared: this.shared.clone(),
        };
        match KBox::pin_init(
            hw_random::Registration::new(c"rvirtio_rng", 0, reader),
            GFP_KERNEL,
        ) {
            Ok(reg) => *this.hwrng.lock() = Some(reg),
            Err(e) => dev_err!(dev.as_ref(), "registering the generator failed: {e:?}\n"),
        }
    }

    fn unbind<'bound>(_dev: &'bound virtio::Device<Core<'_>>, this: Pin<&Self>) {
        // Readers waiting for data return; no new read starts using the device.
        let shared = &this.shared;
        shared.state.lock().removed = true;
        shared.have_data.notify_all();
        let registration = this.hwrng.lock().take();
        drop(registration);
    }
}

crate::module_virtio_driver! {
    type: RvirtioRng,
    name: "rvirtio_rng",
    authors: ["rvirtio developers"],
    description: "Virtio entropy device driver (Rust sample)",
    license: "GPL",
}
