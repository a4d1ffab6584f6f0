// SPDX-License-Identifier: GPL-2.0

//! A test driver for the virtio abstractions on a real device: configuration changes, queues of
//! several kinds, teardown.
//!
//! It binds to a virtio-net device (QEMU's `set_link` changes its link status, which the
//! device reports as a configuration change) and logs every configuration change with the
//! status it reads. Its `config_changed` sleeps: if it were called in atomic context, the debug
//! kernel would report it.
//!
//! Its three queues are of three kinds, as a network driver's: a receive queue whose buffers
//! carry a context and whose callback is bound once its state exists, a transmit queue it polls
//! with `enable_cb_prepare` + `poll`, and a control queue without callback that it busy-polls.
//! It sends a control command (promiscuous mode) and an ARP request for QEMU's user-network
//! gateway, whose reply comes back through the receive callback.
//!
//! Its `validate` clears a feature both sides offer (`VIRTIO_NET_F_MAC`), which must then not
//! be negotiated.
//!
//! It also fills the receive ring (the add that does not fit must come back with `ENOSPC`) and
//! never takes the buffers back, so that removal must return them all: the buffers count their
//! drops. Its data outlives the queues (the driver data is dropped after removal tore them
//! down): its drop checks that the queue handle it still holds refuses every operation, and
//! (under KASAN) that using it touches no freed memory.

use kernel::{
    cpumask::CpumaskVar,
    device::Core,
    new_spinlock_irq,
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    sync::{
        Arc,
        SpinLockIrq, //
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
    pub(crate) mod net {
        pub(crate) mod page_pool;
        pub(crate) mod skbuff;
    }
    pub(crate) mod virtio;
}
use rust_kernel::virtio::{
    self,
    net, //
};

/// A receive buffer: the virtio-net header and a full Ethernet frame.
struct RxBuf {
    data: [u8; NET_HDR_LEN + 1514],
}

impl virtio::Buffer for RxBuf {
    fn describe<'a>(&'a mut self, sg: &mut virtio::SgList<'_, 'a>) -> Result {
        sg.writable(&mut self.data)
    }
}

/// The virtio-net header of a virtio 1.0 device without mergeable buffers
/// (`struct virtio_net_hdr_v1`), all zero: no offloads.
const NET_HDR_LEN: usize = 12;

/// A transmitted frame: the header, then an ARP request for QEMU's user-network gateway
/// (10.0.2.2), from a locally administered MAC address.
struct TxBuf {
    data: [u8; NET_HDR_LEN + 42],
}

impl TxBuf {
    fn arp_request() -> Self {
        let mut data = [0u8; NET_HDR_LEN + 42];
        let frame: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination: broadcast
            0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source
            0x08, 0x06, // ARP
            0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // Ethernet/IPv4 request
            0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10, 0, 2, 15, // sender
            0, 0, 0, 0, 0, 0, 10, 0, 2, 2, // target
        ];
        data[NET_HDR_LEN..].copy_from_slice(&frame);
        Self { data }
    }
}

impl virtio::Buffer for TxBuf {
    fn describe<'a>(&'a mut self, sg: &mut virtio::SgList<'_, 'a>) -> Result {
        sg.readable(&self.data)
    }
}

/// A control command (class, command, one byte of data) and the acknowledgement.
struct CtrlCmd {
    out: [u8; 3],
    ack: [u8; 1],
}

impl virtio::Buffer for CtrlCmd {
    fn describe<'a>(&'a mut self, sg: &mut virtio::SgList<'_, 'a>) -> Result {
        sg.readable(&self.out)?;
        sg.writable(&mut self.ack)
    }
}

/// Receive buffers lent to the device, and how many of them were dropped since.
static LENT: Atomic<u32> = Atomic::new(0);
static DROPPED: Atomic<u32> = Atomic::new(0);

/// Set at unbind: the buffers dropped from then on are the ones the teardown takes back.
static TEARING_DOWN: Atomic<bool> = Atomic::new(false);

impl Drop for RxBuf {
    fn drop(&mut self) {
        if TEARING_DOWN.load(Relaxed) {
            // The teardown drops buffers in process context, with no lock held and interrupts
            // enabled: the debug kernel reports it otherwise (DEBUG_ATOMIC_SLEEP).
            kernel::task::might_sleep();
        }
        let dropped = DROPPED.fetch_add(1, Relaxed) + 1;
        if dropped == LENT.load(Relaxed) {
            pr_info!("all {dropped} receive buffers returned and dropped\n");
        }
    }
}

/// Fills the ring: every add succeeds until the ring is full, and the one that does not fit
/// comes back with `ENOSPC`, unharmed. Each buffer carries its number as its context.
fn fill(ring: &mut virtio::Virtqueue<KBox<RxBuf>>) -> Result<u32> {
    let size = ring.size();
    let mut lent = 0;
    loop {
        let buf = KBox::new(
            RxBuf {
                data: [0x5a; NET_HDR_LEN + 1514],
            },
            GFP_KERNEL,
        )?;
        let ctx = usize::try_from(lent + 1).map_err(|_| EINVAL)?;
        match ring.add_ctx(buf, ctx) {
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
    if ring.num_free() == 0 {
        pr_info!("a full ring has no free descriptor\n");
    }
    Ok(lent)
}

/// The receive side: the queue, under the lock its callback and the driver share.
#[pin_data]
struct Rx {
    #[pin]
    vq: SpinLockIrq<virtio::Virtqueue<KBox<RxBuf>>>,
    received: Atomic<u32>,
}

impl virtio::Callback for Rx {
    fn callback(&self, _queue: &virtio::Called<'_>) {
        let mut vq = self.vq.lock();
        // Unbinding: what the device still holds is left to the teardown.
        if TEARING_DOWN.load(Relaxed) {
            return;
        }
        while let Some(used) = vq.get_buf() {
            let ctx = used.ctx();
            let (buf, len) = used.into_parts();
            if self.received.fetch_add(1, Relaxed) == 0 {
                match len {
                    Ok(len) if ctx != 0 && len > NET_HDR_LEN => pr_info!(
                        "receive callback: buffer {ctx} came back with a {}-byte frame\n",
                        len - NET_HDR_LEN
                    ),
                    _ => pr_err!("receive callback: bad buffer {ctx} or length {len:?}\n"),
                }
            }
            drop(buf);
        }
    }
}

/// Sends a command on the control queue and busy-polls for the answer, as C's
/// `virtnet_send_command_reply()` does (the queue has no callback).
fn control(ctrl: &mut virtio::Virtqueue<KBox<CtrlCmd>>, class: u8, cmd: u8, on: u8) -> Result {
    let command = KBox::new(
        CtrlCmd {
            out: [class, cmd, on],
            ack: [0xff],
        },
        GFP_KERNEL,
    )?;
    ctrl.add(command).map_err(|(e, _)| e)?;
    if !ctrl.kick() {
        return Err(EIO);
    }
    for _ in 0..1000 {
        if let Some(used) = ctrl.get_buf() {
            let (command, len) = used.into_parts();
            return match (len, command.ack[0]) {
                (Ok(1), net::ctrl::OK) => Ok(()),
                _ => Err(EIO),
            };
        }
        if ctrl.is_broken() {
            return Err(EIO);
        }
        fsleep(Delta::from_micros(100));
    }
    Err(ETIMEDOUT)
}

/// Transmits an ARP request, then waits for the device to use it the way NAPI does: callbacks
/// re-enabled with `enable_cb_prepare`, then `poll` until the used buffer shows.
fn transmit(tx: &mut virtio::Virtqueue<KBox<TxBuf>>) -> Result {
    tx.disable_cb();
    let state = tx.enable_cb_prepare();
    tx.add(KBox::new(TxBuf::arp_request(), GFP_KERNEL)?)
        .map_err(|(e, _)| e)?;
    if !tx.kick() {
        return Err(EIO);
    }
    for _ in 0..1000 {
        if tx.poll(state) {
            let used = tx.get_buf().ok_or(EIO)?;
            let (_frame, len) = used.into_parts();
            // The device writes nothing into a transmitted frame.
            return if len == Ok(0) { Ok(()) } else { Err(EIO) };
        }
        fsleep(Delta::from_millis(1));
    }
    Err(ETIMEDOUT)
}

fn setup(dev: &virtio::Device<Core<'_>>) -> Result<Arc<Rx>> {
    if dev.has_feature(net::features::MAC) {
        dev_err!(dev.as_ref(), "feature cleared in validate was negotiated\n");
        return Err(EINVAL);
    }
    if !dev.has_feature(net::features::STATUS) || !dev.has_feature(net::features::CTRL_RX) {
        dev_err!(dev.as_ref(), "device lacks link status or control queue\n");
        return Err(ENODEV);
    }
    dev_info!(
        dev.as_ref(),
        "bound, link status feature negotiated, MAC feature cleared\n"
    );

    // The transport sets up the configuration interrupt with the queues.
    let mut queues = virtio::Builder::new(dev)?;
    let rx = queues.add(virtio::QueueSpec::new(format_args!("input.0"))?.with_context())?;
    let tx = queues.add(virtio::QueueSpec::new(format_args!("output.0"))?.max_entries(2))?;
    let ctrl = queues.add(virtio::QueueSpec::new(format_args!("control"))?.polled())?;
    // Spread, as a multiqueue driver would (the configuration vector apart).
    let mut found = queues.find(virtio::Affinity::spread(1))?;
    let mut rx = found.take(rx)?;
    let mut tx = found.take(tx)?;
    let mut ctrl = found.take(ctrl)?;

    match tx.add_ctx(KBox::new(TxBuf::arp_request(), GFP_KERNEL)?, 1) {
        Err((e, _)) if e == EINVAL => {
            pr_info!("a context is refused on a queue created without one\n")
        }
        _ => pr_err!("a queue without context took a buffer with one\n"),
    }

    DROPPED.store(0, Relaxed);
    fill(&mut rx)?;
    let mut cpus = CpumaskVar::new_zero(GFP_KERNEL)?;
    cpus.setall();
    rx.set_affinity(dev, Some(&cpus))?;
    pr_info!("the receive queue's interrupt may go to any CPU\n");

    // The receive callback is bound once its state exists; until then its notifications are
    // ignored.
    let rx = Arc::pin_init(
        try_pin_init!(Rx {
            vq <- new_spinlock_irq!(rx),
            received: Atomic::new(0),
        }),
        GFP_KERNEL,
    )?;
    rx.vq.lock().set_callback(rx.clone())?;

    // Commands and frames need a ready device.
    found.ready();
    match control(&mut ctrl, net::ctrl::RX, net::ctrl::RX_PROMISC, 1) {
        Ok(()) => pr_info!("control command acknowledged by the device\n"),
        Err(e) => pr_err!("control command failed: {e:?}\n"),
    }
    match transmit(&mut tx) {
        Ok(()) => pr_info!("transmitted frame returned by the device, seen by poll\n"),
        Err(e) => pr_err!("transmitting failed: {e:?}\n"),
    }
    Ok(rx)
}

#[pin_data(PinnedDrop)]
struct CfgTest {
    changes: Atomic<u32>,
    rx: Arc<Rx>,
}

#[pinned_drop]
impl PinnedDrop for CfgTest {
    fn drop(self: Pin<&mut Self>) {
        // The queues were torn down before the driver data is dropped: what is dropped from
        // here on is this function's.
        TEARING_DOWN.store(false, Relaxed);
        let mut rx = self.rx.vq.lock();
        let buf = KBox::new(
            RxBuf {
                data: [0; NET_HDR_LEN + 1514],
            },
            GFP_ATOMIC,
        );
        let refused = match buf {
            Ok(buf) => match rx.add_ctx(buf, 1) {
                Err((e, buf)) => {
                    // Never lent; every lent buffer was counted already.
                    drop(buf);
                    e == ENODEV
                }
                Ok(()) => false,
            },
            Err(_) => false,
        };
        if refused && !rx.notify() && rx.is_broken() && rx.get_buf().is_none() && rx.size() == 0 {
            pr_info!("after teardown the queue refuses every operation\n");
        } else {
            pr_err!("a queue handle reached the device after teardown\n");
        }
    }
}

crate::virtio_device_table!(NET_IDS, [virtio::DeviceId::new(virtio::ids::NET)]);

impl virtio::Driver for CfgTest {
    type Data<'bound> = Self;
    const ID_TABLE: virtio::IdTable = &NET_IDS;
    const FEATURES: &'static [u32] = &[
        net::features::MAC,
        net::features::STATUS,
        net::features::CTRL_VQ,
        net::features::CTRL_RX,
    ];

    fn validate(features: &mut virtio::Negotiation<'_>) -> Result {
        // Offered by both sides, then refused here: it must not be negotiated.
        if features.has(net::features::MAC) {
            features.clear(net::features::MAC)?;
        }
        // A transport feature is not the driver's to clear (without ACCESS_PLATFORM the ring
        // would bypass the DMA API), nor is a bit beyond the feature space.
        if features.clear(virtio::features::ACCESS_PLATFORM) == Err(EINVAL)
            && features.clear(virtio::features::VERSION_1) == Err(EINVAL)
            && features.clear(virtio::features::MAX) == Err(EINVAL)
        {
            pr_info!("transport features cannot be cleared by the driver\n");
        }
        Ok(())
    }

    fn probe<'bound>(dev: &'bound virtio::Device<Core<'_>>) -> impl PinInit<Self, Error> + 'bound {
        TEARING_DOWN.store(false, Relaxed);
        try_pin_init!(CfgTest {
            changes: Atomic::new(0),
            rx: setup(dev)?,
        })
    }

    fn scan<'bound>(dev: &'bound virtio::Device<Core<'_>>, _this: Pin<&Self>) {
        // The device is ready: queues (and with them a second `ready()`) are refused.
        let refused = virtio::Builder::new(dev).and_then(|b| b.find(virtio::Affinity::none()));
        match refused {
            Err(e) if e == EBUSY => pr_info!("no queues can be created once the device is ready\n"),
            _ => pr_err!("queues were created on a ready device\n"),
        }
    }

    fn unbind<'bound>(_dev: &'bound virtio::Device<Core<'_>>, this: Pin<&Self>) {
        // Under the callback's lock: no callback drops a buffer after this.
        let _rx = this.rx.vq.lock();
        TEARING_DOWN.store(true, Relaxed);
    }

    fn config_changed<'bound>(
        dev: &'bound virtio::Device<kernel::device::Bound>,
        this: Pin<&Self>,
    ) {
        // Sleeping is only allowed in process context.
        fsleep(Delta::from_millis(1));
        let status = dev.read_config(|config| config.read(virtio::net::config::STATUS));
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
