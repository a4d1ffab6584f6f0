// SPDX-License-Identifier: GPL-2.0

//! A test driver for the configuration-change path of the virtio abstractions.
//!
//! It binds to a virtio-net device (QEMU's `set_link` changes its link status, which the
//! device reports as a configuration change) and logs every configuration change with the
//! status it reads. Its `config_changed` sleeps: if it were called in atomic context, the debug
//! kernel would report it.
//!
//! Its `validate` clears a feature both sides offer (`VIRTIO_NET_F_MAC`), which must then not
//! be negotiated.
//!
//! It also fills the receive ring (the add that does not fit must come back with `ENOSPC`) and
//! never takes the buffers back, so that removal must return them all: the buffers count their
//! drops.

use kernel::{
    device::Core,
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    time::{
        delay::fsleep,
        Delta, //
    },
};

#[path = "../rust/bindings/lib.rs"]
mod bindings;

// The abstractions, compiled into this module (see Documentation/design.rst); it uses only
// part of them.
#[path = "../rust/kernel"]
#[allow(dead_code, unreachable_pub, unused_imports)]
mod rust_kernel {
    pub(crate) mod block;
    pub(crate) mod virtio;
}
use rust_kernel::virtio;

/// `VIRTIO_NET_F_MAC` and `VIRTIO_NET_F_STATUS` (virtio specification, 5.1.3).
const NET_F_MAC: u32 = 5;
const NET_F_STATUS: u32 = 16;
/// Offset of `status` in `struct virtio_net_config` (after the 6-byte MAC).
const NET_CONFIG_STATUS: usize = 6;

/// A receive buffer: the virtio-net header and a full Ethernet frame.
struct RxBuf {
    data: [u8; 12 + 1514],
}

impl virtio::Buffer for RxBuf {
    fn describe<'a>(&'a mut self, sg: &mut virtio::SgList<'a>) -> Result {
        sg.writable(&mut self.data)
    }
}

/// Receive buffers lent to the device, and how many of them were dropped since.
static LENT: Atomic<u32> = Atomic::new(0);
static DROPPED: Atomic<u32> = Atomic::new(0);

impl Drop for RxBuf {
    fn drop(&mut self) {
        let dropped = DROPPED.fetch_add(1, Relaxed) + 1;
        if dropped == LENT.load(Relaxed) {
            pr_info!("all {dropped} receive buffers returned and dropped\n");
        }
    }
}

/// Fills the ring: every add succeeds until the ring is full, and the one that does not fit
/// comes back with `ENOSPC`, unharmed.
fn fill(queue: &virtio::Queue<KBox<RxBuf>>) -> Result<u32> {
    let mut ring = queue.lock();
    let size = ring.size();
    let mut lent = 0;
    loop {
        let buf = KBox::new(
            RxBuf {
                data: [0x5a; 12 + 1514],
            },
            GFP_ATOMIC,
        )?;
        match ring.add(buf, GFP_ATOMIC) {
            Ok(()) => lent += 1,
            Err((e, buf)) => {
                if e != ENOSPC || buf.data.iter().any(|&b| b != 0x5a) {
                    pr_err!("full ring: unexpected error {e:?} or buffer changed\n");
                    return Err(EINVAL);
                }
                // Not lent: its drop must not count.
                drop(buf);
                DROPPED.store(0, Relaxed);
                break;
            }
        }
        LENT.store(lent, Relaxed);
    }
    pr_info!("ring of {size} filled with {lent} buffers; the next was given back with ENOSPC\n");
    Ok(lent)
}

struct Ignore;

impl virtio::Handler<KBox<RxBuf>> for Ignore {
    fn callback(&self, _queue: &virtio::Queue<KBox<RxBuf>>) {}
}

const QUEUES: [virtio::VqInfo; 1] = [virtio::VqInfo::new(c"input.0")];

#[pin_data]
struct CfgTest {
    changes: Atomic<u32>,
    #[pin]
    vqs: virtio::Virtqueues<KBox<RxBuf>, Ignore>,
}

crate::virtio_device_table!(NET_IDS, [virtio::DeviceId::new(virtio::ids::NET)]);

impl virtio::Driver for CfgTest {
    type Data<'bound> = Self;
    const ID_TABLE: virtio::IdTable = &NET_IDS;
    const FEATURES: &'static [u32] = &[NET_F_MAC, NET_F_STATUS];

    fn validate(features: &mut virtio::Negotiation<'_>) -> Result {
        // Offered by both sides, then refused here: it must not be negotiated.
        if features.has(NET_F_MAC) {
            features.clear(NET_F_MAC);
        }
        Ok(())
    }

    fn probe<'bound>(dev: &'bound virtio::Device<Core<'_>>) -> impl PinInit<Self, Error> + 'bound {
        let status = if dev.has_feature(NET_F_MAC) {
            dev_err!(dev.as_ref(), "feature cleared in validate was negotiated\n");
            Err(EINVAL)
        } else if dev.has_feature(NET_F_STATUS) {
            dev_info!(
                dev.as_ref(),
                "bound, link status feature negotiated, MAC feature cleared\n"
            );
            Ok(Ignore)
        } else {
            dev_err!(dev.as_ref(), "device does not report link status\n");
            Err(ENODEV)
        };
        // The transport sets up the configuration interrupt with the queues.
        try_pin_init!(CfgTest {
            changes: Atomic::new(0),
            // Spread, as a multiqueue driver would (the configuration vector apart).
            vqs <- virtio::Virtqueues::with_affinity(
                dev,
                &QUEUES,
                status,
                virtio::Affinity::spread(1),
            ),
        })
        .pin_chain(|this| {
            let queue = this.vqs.queue(0).ok_or(ENODEV)?;
            DROPPED.store(0, Relaxed);
            fill(queue)?;
            Ok(())
        })
    }

    fn config_changed<'bound>(
        dev: &'bound virtio::Device<kernel::device::Bound>,
        this: Pin<&Self>,
    ) {
        // Sleeping is only allowed in process context.
        fsleep(Delta::from_millis(1));
        let status = dev.read_config(|config| config.read_u16(NET_CONFIG_STATUS));
        let n = this.changes.fetch_add(1, Relaxed) + 1;
        match status {
            Ok(status) => dev_info!(dev.as_ref(), "config change {n}: status {status:#x}\n"),
            Err(e) => dev_err!(
                dev.as_ref(),
                "config change {n}: reading status failed: {e:?}\n"
            ),
        }
    }
}

crate::module_virtio_driver! {
    type: CfgTest,
    name: "rvirtio_cfgtest",
    authors: ["rvirtio developers"],
    description: "Test driver for virtio configuration changes",
    license: "GPL",
}
