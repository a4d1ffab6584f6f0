// SPDX-License-Identifier: GPL-2.0

//! Virtio network device driver.
//!
//! Ethernet interfaces (`ethN`) of virtio-net devices, as the C `virtio_net` driver presents
//! them: the device's MAC address (or a random one), its MTU limit, its link status, one
//! receive and one transmit queue, each with its own NAPI context.
//!
//! Receive buffers are socket buffers sized for a full Ethernet frame after the virtio-net
//! header; the device writes into their tail room, and NAPI hands the frames to GRO.
//! Transmitted packets are lent to the device with their header in the buffer's control block;
//! the transmit NAPI context reclaims them (byte queue limits) and wakes the queue.
//!
//! Not yet: mergeable receive buffers, checksum and segmentation offloads, the control queue,
//! several queue pairs.

use kernel::{
    device::{
        Bound,
        Core, //
    },
    driver, new_mutex, new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex,
        SpinLockIrq, //
    },
};

#[path = "../../../rust/bindings/lib.rs"]
mod bindings;

// The abstractions, compiled into this module (see Documentation/design.rst); it uses only
// part of them.
#[path = "../../../rust/kernel"]
#[allow(dead_code, unreachable_pub, unused_imports)]
mod rust_kernel {
    pub(crate) mod block;
    pub(crate) mod net {
        pub(crate) mod napi;
        pub(crate) mod netdevice;
        pub(crate) mod skbuff;
    }
    pub(crate) mod virtio;
}
// `crate::net` in the abstractions' macros, as in the kernel crate.
use rust_kernel::net;
use rust_kernel::{
    net::{
        napi::{
            Napi,
            NapiLink,
            NapiOwned,
            NewDevice,
            Poll,
            PollContext, //
        },
        netdevice::{
            self,
            Counters,
            Stats64,
            TxQueue,
            TxResult, //
        },
        skbuff::{
            DropReason,
            SkBuff, //
        },
    },
    virtio::{
        self,
        net::{
            self as vnet,
            Header,
            RxBuffer,
            TxPacket, //
        },
    },
};

/// The length of an Ethernet header.
const ETH_HLEN: u32 = 14;
/// The length of a VLAN tag.
const VLAN_HLEN: u32 = 4;
/// The largest payload of a standard Ethernet frame, and the largest MTU of this driver until
/// it receives into larger buffers.
const ETH_DATA_LEN: u32 = 1500;
/// The smallest MTU (IPv4's).
const MIN_MTU: u32 = 68;
/// The room a transmitted packet may need in the ring: the header, the linear part and every
/// fragment (`MAX_SKB_FRAGS` is 17 by default).
const TX_ROOM: u32 = 2 + 17;
/// The scatter list entries of a transmitted packet.
const TX_ENTRIES: usize = 2 + 17;

/// Packet and byte counters of one direction, updated by one context at a time and read by
/// `get_stats64`.
struct QueueStats {
    packets: Atomic<u64>,
    bytes: Atomic<u64>,
    dropped: Atomic<u64>,
    errors: Atomic<u64>,
}

impl QueueStats {
    fn new() -> Self {
        Self {
            packets: Atomic::new(0),
            bytes: Atomic::new(0),
            dropped: Atomic::new(0),
            errors: Atomic::new(0),
        }
    }

    fn add(&self, counter: &Atomic<u64>, n: u64) {
        let _ = self;
        counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
    }

    fn counters(&self) -> Counters {
        Counters {
            packets: self.packets.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            errors: self.errors.load(Relaxed),
        }
    }
}

/// The receive queue and its NAPI context.
#[pin_data]
struct ReceiveQueue {
    #[pin]
    napi: Napi<ReceiveQueue>,
    vq: NapiOwned<virtio::Virtqueue<RxBuffer>>,
    notifier: virtio::Notifier,
    /// The size of the virtio-net header in each buffer.
    hdr_len: usize,
    little_endian: bool,
    stats: QueueStats,
}

crate::impl_has_napi! { impl HasNapi for ReceiveQueue { self.napi } }

/// The room of a receive buffer: the header and a full frame with a VLAN tag.
fn rx_room(hdr_len: usize) -> u32 {
    // The header is 10 or 12 bytes.
    hdr_len as u32 + ETH_HLEN + VLAN_HLEN + ETH_DATA_LEN
}

impl ReceiveQueue {
    /// Turns the bytes the device wrote into a packet for the stack; on failure, the reason to
    /// drop it.
    fn receive(&self, skb: &mut SkBuff) -> Result<(), DropReason> {
        let len = skb.len() as usize;
        if len < self.hdr_len + ETH_HLEN as usize {
            return Err(DropReason::TooSmall);
        }
        let header =
            Header::from_bytes(skb.data(), self.hdr_len).map_err(|_| DropReason::DeviceHeader)?;
        skb.pull(self.hdr_len as u32)
            .map_err(|_| DropReason::DeviceHeader)?;
        header
            .apply_to(skb, self.little_endian)
            .map_err(|_| DropReason::DeviceHeader)?;
        if header.flags() & vnet::hdr::F_DATA_VALID != 0 {
            skb.set_checksum_unnecessary();
        }
        Ok(())
    }

    /// Fills the ring with buffers from `alloc`; returns whether the device must be notified.
    fn refill(
        &self,
        vq: &mut virtio::Virtqueue<RxBuffer>,
        mut alloc: impl FnMut(u32) -> Result<SkBuff>,
    ) -> bool {
        let Ok(mut ring) = vq.ring() else {
            return false;
        };
        let room = rx_room(self.hdr_len);
        let mut added = false;
        while ring.num_free() > 0 {
            let Ok(skb) = alloc(room) else {
                // Out of memory: the next poll tries again.
                break;
            };
            let buf = match RxBuffer::new(skb) {
                Ok(buf) => buf,
                Err(skb) => {
                    skb.drop_with_reason(DropReason::NotSpecified);
                    break;
                }
            };
            match ring.add(buf) {
                Ok(()) => added = true,
                Err((_, buf)) => {
                    // Not lent: never seen by the device.
                    drop(buf);
                    break;
                }
            }
        }
        added && ring.kick_prepare()
    }
}

impl Poll for ReceiveQueue {
    type Armed = Option<virtio::PollState>;

    fn poll<'a>(this: &'a Self, ctx: &mut PollContext<'a>) {
        let Some((vq, rx)) = ctx.owned(&this.vq) else {
            return;
        };
        let mut received = 0u64;
        let mut bytes = 0u64;
        let mut dropped = 0u64;
        if let Ok(mut ring) = vq.ring() {
            while !rx.is_exhausted() {
                let Some(used) = ring.get_buf() else {
                    break;
                };
                let (buf, len) = used.into_parts();
                let Ok(len) = len else {
                    // A length beyond the buffer: the device lies; the ring reported it.
                    dropped += 1;
                    rx.count();
                    drop(buf);
                    continue;
                };
                let mut skb = match buf.into_received(len) {
                    Ok(skb) => skb,
                    Err(_) => {
                        dropped += 1;
                        rx.count();
                        continue;
                    }
                };
                match this.receive(&mut skb) {
                    Ok(()) => {}
                    Err(reason) => {
                        dropped += 1;
                        rx.count();
                        skb.drop_with_reason(reason);
                        continue;
                    }
                }
                if rx.eth_type_trans(&mut skb).is_err() {
                    dropped += 1;
                    rx.count();
                    skb.drop_with_reason(DropReason::TooSmall);
                    continue;
                }
                received += 1;
                bytes += u64::from(skb.len());
                rx.gro_receive(skb);
            }
        }
        let notify = this.refill(vq, |len| rx.alloc_skb(len));
        if notify {
            this.notifier.notify();
        }
        this.stats.add(&this.stats.packets, received);
        this.stats.add(&this.stats.bytes, bytes);
        this.stats.add(&this.stats.dropped, dropped);
    }

    fn arm<'a>(this: &'a Self, ctx: &mut PollContext<'a>) -> Self::Armed {
        let (vq, _) = ctx.owned(&this.vq)?;
        Some(vq.enable_cb_prepare())
    }

    fn pending(this: &Self, armed: Self::Armed) -> bool {
        armed.is_some_and(|state| this.notifier.poll(state))
    }

    fn disarm(this: &Self) {
        this.notifier.disable_cb();
    }
}

/// The transmit queue and its NAPI context, which reclaims sent packets.
#[pin_data]
struct SendQueue {
    #[pin]
    napi: Napi<SendQueue>,
    #[pin]
    vq: SpinLockIrq<virtio::Virtqueue<TxPacket>>,
    notifier: virtio::Notifier,
    /// The index of the interface's transmit queue.
    index: u32,
    hdr_len: usize,
    little_endian: bool,
    stats: QueueStats,
}

crate::impl_has_napi! { impl HasNapi for SendQueue { self.napi } }

impl SendQueue {
    /// Takes back the packets the device sent; returns their number and size.
    fn reclaim(&self, vq: &mut virtio::Virtqueue<TxPacket>) -> (u32, u32) {
        let (mut packets, mut bytes) = (0u32, 0u32);
        let Ok(mut ring) = vq.ring() else {
            return (0, 0);
        };
        while let Some(used) = ring.get_buf() {
            let packet = used.into_token();
            packets += 1;
            bytes = bytes.wrapping_add(packet.len());
            packet.into_skb().consume();
        }
        self.stats.add(&self.stats.packets, u64::from(packets));
        self.stats.add(&self.stats.bytes, u64::from(bytes));
        (packets, bytes)
    }

    fn xmit(&self, txq: &TxQueue, skb: SkBuff) {
        let header = match Header::from_skb(&skb, self.little_endian, false) {
            Ok(header) => header,
            Err(_) => {
                self.stats.add(&self.stats.dropped, 1);
                skb.drop_with_reason(DropReason::NotSpecified);
                return;
            }
        };
        let packet = match TxPacket::new(skb, &header, self.hdr_len) {
            Ok(packet) => packet,
            Err((_, skb)) => {
                self.stats.add(&self.stats.dropped, 1);
                skb.drop_with_reason(DropReason::NotSpecified);
                return;
            }
        };
        let len = packet.len();
        let mut vq = self.vq.lock();
        let (done, done_bytes) = self.reclaim(&mut vq);
        if done > 0 {
            txq.completed(done, done_bytes);
        }
        let Ok(mut ring) = vq.ring() else {
            drop(vq);
            self.stats.add(&self.stats.dropped, 1);
            packet
                .into_skb()
                .drop_with_reason(DropReason::DeviceNotReady);
            return;
        };
        match ring.add(packet) {
            Ok(()) => txq.sent(len),
            Err((e, packet)) => {
                self.stats.add(&self.stats.dropped, 1);
                let reason = if e == ENOSPC {
                    DropReason::FullRing
                } else {
                    DropReason::NotSpecified
                };
                packet.into_skb().drop_with_reason(reason);
            }
        }
        if ring.num_free() < TX_ROOM {
            // Room for a packet of the most fragments, or stop until the device sends some.
            txq.stop();
            if !ring.enable_cb_delayed() {
                // Many were sent meanwhile: the NAPI context reclaims them and wakes the queue.
                self.napi.schedule();
            }
        }
        let notify = ring.kick_prepare();
        drop(ring);
        drop(vq);
        if notify {
            self.notifier.notify();
        }
    }
}

impl Poll for SendQueue {
    type Armed = Option<virtio::PollState>;

    fn poll<'a>(this: &'a Self, ctx: &mut PollContext<'a>) {
        let rx = ctx.receiver();
        let Some(txq) = rx.tx_queue(this.index) else {
            return;
        };
        let mut vq = this.vq.lock();
        let (packets, bytes) = this.reclaim(&mut vq);
        if packets > 0 {
            txq.completed(packets, bytes);
        }
        if txq.is_stopped() && vq.num_free() >= TX_ROOM {
            txq.wake();
        }
    }

    fn arm<'a>(this: &'a Self, _ctx: &mut PollContext<'a>) -> Self::Armed {
        this.vq
            .lock()
            .ring()
            .ok()
            .map(|mut ring| ring.enable_cb_prepare())
    }

    fn pending(this: &Self, armed: Self::Armed) -> bool {
        armed.is_some_and(|state| this.notifier.poll(state))
    }

    fn disarm(this: &Self) {
        this.notifier.disable_cb();
    }
}

/// Schedules a queue's NAPI context when the device used buffers.
struct QueueIrq {
    napi: Arc<NapiLink>,
}

impl virtio::Callback for QueueIrq {
    fn callback(&self, queue: &virtio::Notifier) {
        queue.disable_cb();
        self.napi.schedule();
    }
}

/// The interface's private data.
#[pin_data]
struct NetPriv {
    #[pin]
    rq: ReceiveQueue,
    #[pin]
    sq: SendQueue,
}

/// The queues, from probe to the private data.
struct Queues {
    rx: virtio::Virtqueue<RxBuffer>,
    tx: virtio::Virtqueue<TxPacket>,
    hdr_len: usize,
    little_endian: bool,
}

struct NetOps;

#[vtable]
impl netdevice::Operations for NetOps {
    type Data = NetPriv;
    type Init = Queues;

    fn new_data<'a>(dev: &'a NewDevice, init: Queues) -> impl PinInit<NetPriv, Error> + 'a {
        let Queues {
            rx,
            tx,
            hdr_len,
            little_endian,
        } = init;
        let rx_notifier = rx.notifier();
        let tx_notifier = tx.notifier();
        try_pin_init!(NetPriv {
            rq <- try_pin_init!(ReceiveQueue {
                napi <- Napi::new(),
                vq: NapiOwned::new(rx),
                notifier: rx_notifier,
                hdr_len,
                little_endian,
                stats: QueueStats::new(),
            }? Error)
            .pin_chain(|rq| Napi::add(rq.into_ref(), dev)),
            sq <- try_pin_init!(SendQueue {
                napi <- Napi::new(),
                vq <- new_spinlock_irq!(tx),
                notifier: tx_notifier,
                index: 0,
                hdr_len,
                little_endian,
                stats: QueueStats::new(),
            }? Error)
            .pin_chain(|sq| Napi::add(sq.into_ref(), dev)),
        }? Error)
    }

    fn open(dev: &netdevice::Device<Self>) -> Result {
        let data = dev.data();
        let rq = &data.rq;
        let notify = rq
            .napi
            .with_disabled(&rq.vq, |vq| rq.refill(vq, |len| dev.alloc_rx_skb(len)))?;
        if notify {
            rq.notifier.notify();
        }
        rq.napi.enable()?;
        data.sq.napi.enable()?;
        dev.start_all_queues();
        Ok(())
    }

    fn stop(dev: &netdevice::Device<Self>) -> Result {
        let data = dev.data();
        dev.disable_tx();
        data.rq.napi.disable();
        data.sq.napi.disable();
        Ok(())
    }

    fn start_xmit(dev: &netdevice::Device<Self>, txq: &TxQueue, skb: SkBuff) -> TxResult {
        dev.data().sq.xmit(txq, skb);
        TxResult::Ok
    }

    fn get_stats64(dev: &netdevice::Device<Self>, stats: &mut Stats64) {
        let data = dev.data();
        stats.set(data.rq.stats.counters(), data.sq.stats.counters());
    }
}

/// Reads the link status into the interface's carrier, if the device reports it.
fn update_carrier(vdev: &virtio::Device<Bound>, dev: &netdevice::Device<NetOps>) {
    if !vdev.has_feature(vnet::features::STATUS) {
        dev.carrier_on();
        return;
    }
    match vdev.read_config(|cfg| cfg.read(vnet::config::STATUS)) {
        Ok(status) if status & vnet::status::LINK_UP != 0 => dev.carrier_on(),
        Ok(_) => dev.carrier_off(),
        Err(e) => dev_err!(vdev.as_ref(), "reading the link status failed: {e:?}\n"),
    }
}

fn setup(vdev: &virtio::Device<Core<'_>>) -> Result<netdevice::Registration<NetOps>> {
    let little_endian = vdev.is_little_endian();
    let hdr_len = if vdev.has_feature(virtio::features::VERSION_1) {
        Header::LEN
    } else {
        Header::LEGACY_LEN
    };

    let mut queues = virtio::Builder::new(vdev)?;
    let rx = queues.add(virtio::QueueSpec::new(format_args!("input.0"))?)?;
    let tx =
        queues.add(virtio::QueueSpec::new(format_args!("output.0"))?.max_entries(TX_ENTRIES))?;
    let mut found = queues.find(virtio::Affinity::none())?;
    let rx = found.take(rx)?;
    let tx = found.take(tx)?;

    let mtu_max = if vdev.has_feature(vnet::features::MTU) {
        let mtu = u32::from(vdev.read_config(|cfg| cfg.read(vnet::config::MTU))?);
        if mtu < MIN_MTU {
            dev_warn!(
                vdev.as_ref(),
                "device MTU {mtu} below the minimum {MIN_MTU}: ignored\n"
            );
            ETH_DATA_LEN
        } else {
            mtu.min(ETH_DATA_LEN)
        }
    } else {
        ETH_DATA_LEN
    };

    let mut builder = netdevice::Builder::<NetOps>::new(
        vdev.as_ref(),
        1,
        1,
        // Moved into the private data; their callbacks are bound below.
        Queues {
            rx,
            tx,
            hdr_len,
            little_endian,
        },
    )?;
    if vdev.has_feature(vnet::features::MAC) {
        let mac = vdev.read_config(|cfg| cfg.read(vnet::config::MAC))?;
        builder.set_address(&mac);
    } else {
        builder.set_random_address();
    }
    builder.set_mtu(MIN_MTU, mtu_max, mtu_max)?;

    let data = builder.device().data();
    let rx_irq = Arc::new(
        QueueIrq {
            napi: data.rq.napi.link(),
        },
        GFP_KERNEL,
    )?;
    let tx_irq = Arc::new(
        QueueIrq {
            napi: data.sq.napi.link(),
        },
        GFP_KERNEL,
    )?;
    data.rq
        .napi
        .with_disabled(&data.rq.vq, |vq| vq.set_callback(rx_irq))??;
    data.sq.vq.lock().set_callback(tx_irq)?;

    // Off until the link status says otherwise: the change of state once registered is what
    // sets the operational state (a new device's carrier is on, so turning it on would not).
    builder.device().carrier_off();

    // The device may use the queues from now on.
    found.ready();
    let registration = builder.register()?;
    update_carrier(vdev, registration.device());
    Ok(registration)
}

#[pin_data]
struct RvirtioNet {
    #[pin]
    netdev: Mutex<Option<netdevice::Registration<NetOps>>>,
}

crate::virtio_device_table!(NET_IDS, [virtio::DeviceId::new(virtio::ids::NET)]);

impl virtio::Driver for RvirtioNet {
    type Data<'bound> = Self;
    const ID_TABLE: virtio::IdTable = &NET_IDS;
    const FEATURES: &'static [u32] = &[
        vnet::features::MAC,
        vnet::features::STATUS,
        vnet::features::MTU,
    ];

    fn probe<'bound>(dev: &'bound virtio::Device<Core<'_>>) -> impl PinInit<Self, Error> + 'bound {
        try_pin_init!(RvirtioNet {
            netdev <- new_mutex!(Some(setup(dev)?)),
        })
    }

    fn unbind<'bound>(_dev: &'bound virtio::Device<Core<'_>>, this: Pin<&Self>) {
        // Unregistering stops the interface and waits for the stack's calls to end.
        drop(this.netdev.lock().take());
    }

    fn config_changed<'bound>(dev: &'bound virtio::Device<Bound>, this: Pin<&Self>) {
        if let Some(reg) = this.netdev.lock().as_ref() {
            update_carrier(dev, reg.device());
        }
    }
}

#[pin_data]
struct NetModule {
    #[pin]
    driver: driver::Registration<virtio::Adapter<RvirtioNet>>,
}

impl kernel::InPlaceModule for NetModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            driver <- driver::Registration::new(c"rvirtio_net", module),
        })
    }
}

module! {
    type: NetModule,
    name: "rvirtio_net",
    authors: ["rvirtio developers"],
    description: "Virtio network driver",
    license: "GPL",
}
