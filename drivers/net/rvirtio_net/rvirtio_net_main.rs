// SPDX-License-Identifier: GPL-2.0

//! Virtio network device driver.
//!
//! Ethernet interfaces (`ethN`) of virtio-net devices, as the C `virtio_net` driver presents
//! them: the device's MAC address (or a random one), its MTU limit, its link status, one
//! receive and one transmit queue, each with its own NAPI context, and the device's checksum
//! and segmentation offloads.
//!
//! Receive buffers are fragments of pages from a page pool, sized as C sizes them: with
//! mergeable buffers (`VIRTIO_NET_F_MRG_RXBUF`) by the average packet length, between a
//! standard frame and a page, and a packet spans as many as its header says, so that segments
//! coalesced by the device (`GUEST_TSO4/6`) arrive whole. NAPI builds a socket buffer around
//! them (a short packet copied whole and its buffer recycled at once; of a longer one the
//! Ethernet header, the rest as fragments, chained on the frag list beyond a socket buffer's
//! fragments) and hands it to GRO; the stack gives the pages back to the pool. Transmitted
//! packets, large TCP segments included (`HOST_TSO4/6`), are lent to the device with their
//! header in their head room (in the control block if there is none), under the transmit
//! queue's lock; the transmit NAPI context reclaims them (byte queue limits) and wakes the
//! queue.
//!
//! The control queue, when the device has one, carries the receive mode (promiscuous,
//! all-multicast), which the stack sets in process context, MAC address changes and the
//! switching of the device's coalescing (`rx-gro-hw`); each command waits for the device's
//! answer, for a bounded time.
//!
//! Not yet: the multicast filter table, VLAN filtering, several queue pairs.

use kernel::{
    device::{
        Bound,
        Core, //
    },
    driver, new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
    time::{
        delay::fsleep,
        Delta, //
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
        pub(crate) mod ethtool;
        pub(crate) mod napi;
        pub(crate) mod netdevice;
        pub(crate) mod page_pool;
        pub(crate) mod skbuff;
    }
    pub(crate) mod virtio;
}
// `crate::net` in the abstractions' macros, as in the kernel crate.
use rust_kernel::net;
use rust_kernel::{
    net::{
        ethtool::{
            Channels,
            DrvInfo,
            LinkSettings,
            Port,
            RingParam, //
        },
        napi::{
            Napi,
            NapiLink,
            NapiOwned,
            NewDevice,
            Poll,
            PollContext,
            Receiver, //
        },
        netdevice::{
            self,
            Counters,
            RxMode,
            Stats64,
            TxLock,
            TxQueueData,
            TxResult, //
        },
        page_pool::{
            self,
            PagePool,
            PoolBuf, //
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
            ctrl,
            Command,
            Header,
            TxPacket, //
        },
    },
};

/// The length of an Ethernet header.
const ETH_HLEN: u32 = 14;
/// The largest payload of a standard Ethernet frame: the default MTU.
const ETH_DATA_LEN: u32 = 1500;
/// The smallest MTU (IPv4's).
const MIN_MTU: u32 = 68;
/// The largest MTU (C's `MAX_MTU`).
const MAX_MTU: u32 = 65535;
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

/// What the receive NAPI context owns: the ring, the pool its buffers come from, and the
/// average packet length that sizes new buffers.
struct RxRing {
    vq: virtio::Virtqueue<PoolBuf>,
    pool: PagePool,
    /// The average length of received packets (C's `mrg_avg_pkt_len`: an exponentially
    /// weighted moving average, weight 1/64).
    avg_len: u32,
}

/// Adds a packet's length to an average of lengths, as C's `ewma_pkt_len_add()` (weight 1/64).
fn ewma_add(avg: &mut u32, len: usize) {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    *avg = if *avg == 0 {
        len
    } else {
        // At most 64 times a `u32`: no overflow in `u64`, and the result fits a `u32`.
        ((u64::from(*avg) * 63 + u64::from(len)) >> 6) as u32
    };
}

/// The receive queue and its NAPI context.
#[pin_data]
struct ReceiveQueue {
    #[pin]
    napi: Napi<ReceiveQueue>,
    ring: NapiOwned<RxRing>,
    notifier: virtio::Notifier,
    /// The size of the virtio-net header at the start of each packet.
    hdr_len: usize,
    little_endian: bool,
    /// Packets may span several buffers (`VIRTIO_NET_F_MRG_RXBUF`).
    mergeable: bool,
    /// The smallest buffer for the payload (C's `min_buf_len`).
    min_buf_len: usize,
    stats: QueueStats,
}

crate::impl_has_napi! { impl HasNapi for ReceiveQueue { self.napi } }

/// How much of a received packet is copied into the socket buffer's head, the rest staying in
/// the page as a fragment (C's `GOOD_COPY_LEN`).
const GOOD_COPY_LEN: usize = 128;

/// The largest Ethernet frame of the standard MTU, with a VLAN tag (C's `GOOD_PACKET_LEN`).
const GOOD_PACKET_LEN: usize = 1518;

/// The longest packet accepted: the largest IP packet in a VLAN-tagged Ethernet frame. A
/// device that merges more into one packet is not believed.
const MAX_PACKET_LEN: usize = 65535 + 14 + 4;

/// Who is to blame for a dropped packet: the device (a bad header or length, counted as an
/// error) or the driver (no memory, too many fragments). A socket buffer already built is
/// dropped with its reason where the error is found.
#[derive(Clone, Copy)]
enum RxError {
    Device,
    Local,
}

impl ReceiveQueue {
    /// The smallest payload buffer, as C's `mergeable_min_buf_len()`: enough that a packet of
    /// `max_mtu` fits in the ring, and at least a standard frame.
    fn min_buf_len(hdr_len: usize, max_mtu: u32, ring_size: u32) -> usize {
        let packet = hdr_len + 14 + 4 + max_mtu as usize;
        let per_buffer = packet.div_ceil((ring_size as usize).max(1));
        per_buffer
            .max(hdr_len)
            .saturating_sub(hdr_len)
            .max(GOOD_PACKET_LEN)
    }

    /// The size of new buffers: with mergeable buffers the average packet within
    /// [`ReceiveQueue::min_buf_len`] and a page, as C's `get_mergeable_buf_len()`; without, a
    /// standard frame (every packet must fit one buffer).
    fn buf_len(&self, avg_len: u32) -> usize {
        let payload = if self.mergeable {
            (avg_len as usize).clamp(self.min_buf_len, page_pool::PAGE_SIZE - self.hdr_len)
        } else {
            GOOD_PACKET_LEN
        };
        (self.hdr_len + payload)
            .next_multiple_of(page_pool::BUF_ALIGN)
            .min(page_pool::PAGE_SIZE)
    }

    /// Takes the `n` buffers that carry the rest of a packet being dropped, back to the pool.
    fn drain(ring: &mut virtio::Ring<'_, PoolBuf>, pool: &mut PagePool, n: u16) {
        for _ in 0..n {
            let Some(used) = ring.get_buf() else {
                break;
            };
            pool.recycle(used.into_token());
        }
    }

    /// Builds the packet that starts in `first`, taking the buffers that carry its rest from
    /// `ring`, and applies its header; returns it with its length, header excluded.
    fn receive(
        &self,
        ring: &mut virtio::Ring<'_, PoolBuf>,
        pool: &mut PagePool,
        rx: &mut Receiver<'_>,
        first: virtio::Used<'_, PoolBuf>,
    ) -> Result<(SkBuff, usize), RxError> {
        let (buf, len) = first.into_parts();
        // A length beyond the buffer was already reported by the ring.
        let Ok(len) = len else {
            pool.recycle(buf);
            return Err(RxError::Device);
        };
        if len < self.hdr_len + ETH_HLEN as usize {
            pool.recycle(buf);
            return Err(RxError::Device);
        }
        let mut bytes = [0u8; Header::LEN];
        let header = buf
            .copy_to(0, &mut bytes[..self.hdr_len])
            .and_then(|()| Header::from_bytes(&bytes, self.hdr_len));
        let Ok(header) = header else {
            pool.recycle(buf);
            return Err(RxError::Device);
        };
        let buffers = if self.mergeable {
            header.num_buffers(self.little_endian)
        } else {
            1
        };
        if buffers == 0 {
            pool.recycle(buf);
            return Err(RxError::Device);
        }
        let rest = buffers - 1;

        // A short packet is copied whole into the buffer's head and its page goes straight
        // back to the pool; of a longer one only the Ethernet header, the rest of the page
        // becoming a fragment (as C's `page_to_skb()`).
        let data_len = len - self.hdr_len;
        let mut skb = match rx.alloc_skb(GOOD_COPY_LEN as u32) {
            Ok(skb) => skb,
            Err(_) => {
                pool.recycle(buf);
                Self::drain(ring, pool, rest);
                return Err(RxError::Local);
            }
        };
        let copy = if data_len <= skb.tailroom() as usize {
            data_len
        } else {
            ETH_HLEN as usize
        };
        let head = skb
            .put(copy as u32)
            .and_then(|head| buf.copy_to(self.hdr_len, head));
        if head.is_err() {
            pool.recycle(buf);
            Self::drain(ring, pool, rest);
            skb.drop_with_reason(DropReason::NotSpecified);
            return Err(RxError::Local);
        }
        if data_len > copy {
            let offset = (self.hdr_len + copy) as u32;
            if let Err(buf) = skb.add_pool_frag(buf, offset, (data_len - copy) as u32) {
                pool.recycle(buf);
                Self::drain(ring, pool, rest);
                skb.drop_with_reason(DropReason::NotSpecified);
                return Err(RxError::Local);
            }
        } else {
            pool.recycle(buf);
        }

        let mut total = data_len;
        for left in (0..rest).rev() {
            let Some(used) = ring.get_buf() else {
                // The header announced more buffers than the device used.
                skb.drop_with_reason(DropReason::DeviceHeader);
                return Err(RxError::Device);
            };
            let (buf, len) = used.into_parts();
            let len = match len {
                Ok(len) if total + len <= MAX_PACKET_LEN => len,
                _ => {
                    pool.recycle(buf);
                    Self::drain(ring, pool, left);
                    skb.drop_with_reason(DropReason::DeviceHeader);
                    return Err(RxError::Device);
                }
            };
            if len == 0 {
                pool.recycle(buf);
                continue;
            }
            total += len;
            if let Err(buf) = skb.append_pool_frag(buf, 0, len as u32) {
                // No memory for a further socket buffer.
                pool.recycle(buf);
                Self::drain(ring, pool, left);
                skb.drop_with_reason(DropReason::NoMemory);
                return Err(RxError::Local);
            }
        }

        if header.apply_to(&mut skb, self.little_endian).is_err() {
            skb.drop_with_reason(DropReason::DeviceHeader);
            return Err(RxError::Device);
        }
        if header.flags() & vnet::hdr::F_DATA_VALID != 0 {
            skb.set_checksum_unnecessary();
        }
        if rx.eth_type_trans(&mut skb).is_err() {
            skb.drop_with_reason(DropReason::TooSmall);
            return Err(RxError::Device);
        }
        Ok((skb, total))
    }

    /// Fills the ring with buffers of `size` bytes from the pool, and notifies the device.
    /// Returns whether the ring holds any buffer now: one the pool could not fill at all
    /// would never make the device interrupt again.
    fn refill(ring: &mut virtio::Ring<'_, PoolBuf>, pool: &mut PagePool, size: usize) -> bool {
        let mut added = false;
        while ring.num_free() > 0 {
            let Ok(buf) = pool.alloc(size, GFP_ATOMIC) else {
                // Out of memory: the next poll tries again.
                break;
            };
            match ring.add(buf) {
                Ok(()) => added = true,
                // Not lent: never seen by the device.
                Err((_, buf)) => {
                    pool.recycle(buf);
                    break;
                }
            }
        }
        if added && ring.kick_prepare() {
            ring.notify();
        }
        ring.num_free() < ring.size()
    }

    /// Fills the ring (see [`ReceiveQueue::refill`]) with buffers sized for the average packet.
    fn fill(&self, state: &mut RxRing) {
        let size = self.buf_len(state.avg_len);
        let RxRing { vq, pool, .. } = state;
        if let Ok(mut ring) = vq.ring() {
            // In process context: an empty ring is filled again when the interface opens.
            let _ = Self::refill(&mut ring, pool, size);
        }
    }
}

impl Poll for ReceiveQueue {
    type Armed = Option<virtio::PollState>;

    fn poll<'a>(this: &'a Self, ctx: &mut PollContext<'a>) {
        let Some((state, rx)) = ctx.owned(&this.ring) else {
            return;
        };
        let (mut received, mut bytes, mut dropped, mut errors) = (0u64, 0u64, 0u64, 0u64);
        let RxRing { vq, pool, avg_len } = state;
        if let Ok(mut ring) = vq.ring() {
            while !rx.is_exhausted() {
                let Some(used) = ring.get_buf() else {
                    break;
                };
                match this.receive(&mut ring, pool, rx, used) {
                    Ok((skb, len)) => {
                        received += 1;
                        // The frame as the device gave it, Ethernet header included (as C
                        // counts it), not what is left after `eth_type_trans()`.
                        bytes += len as u64;
                        ewma_add(avg_len, len);
                        rx.gro_receive(skb);
                    }
                    Err(e) => {
                        rx.count();
                        dropped += 1;
                        errors += u64::from(matches!(e, RxError::Device));
                    }
                }
            }
            if ring.is_broken() {
                // The device returned a buffer it was never given: it is reset.
                ring.fail_device_later();
            } else if !Self::refill(&mut ring, pool, this.buf_len(*avg_len)) {
                // Out of memory with no buffer left for the device: no interrupt will come,
                // so poll again (C schedules its refill work instead).
                rx.poll_again();
            }
        }
        this.stats.add(&this.stats.packets, received);
        this.stats.add(&this.stats.bytes, bytes);
        this.stats.add(&this.stats.dropped, dropped);
        this.stats.add(&this.stats.errors, errors);
    }

    fn arm<'a>(this: &'a Self, ctx: &mut PollContext<'a>) -> Self::Armed {
        let (state, _) = ctx.owned(&this.ring)?;
        Some(state.vq.enable_cb_prepare())
    }

    fn pending(this: &Self, armed: Self::Armed) -> bool {
        armed.is_some_and(|state| this.notifier.poll(state))
    }

    fn disarm(this: &Self) {
        this.notifier.disable_cb();
    }
}

/// The transmit queue and its NAPI context, which reclaims sent packets.
///
/// As in C, the ring is protected by the interface's transmit queue lock, which the stack holds
/// around `start_xmit` and the NAPI poll takes; the device interrupts (`enable_cb_delayed`)
/// only once most of what was sent is done, and the poll frees the packets in a batch.
#[pin_data]
struct SendQueue {
    #[pin]
    napi: Napi<SendQueue>,
    #[pin]
    vq: TxQueueData<virtio::Virtqueue<TxPacket>>,
    notifier: virtio::Notifier,
    hdr_len: usize,
    little_endian: bool,
    /// The device takes the header and the data in one descriptor (`VIRTIO_F_VERSION_1`).
    any_layout: bool,
    stats: QueueStats,
}

crate::impl_has_napi! { impl HasNapi for SendQueue { self.napi } }

impl SendQueue {
    /// Takes back the packets the device sent, each freed by `consume`; returns their number
    /// and size.
    fn reclaim(
        &self,
        ring: &mut virtio::Ring<'_, TxPacket>,
        consume: impl Fn(SkBuff),
    ) -> (u32, u32) {
        let (mut packets, mut bytes) = (0u32, 0u32);
        while let Some(used) = ring.get_buf() {
            let packet = used.into_token();
            packets += 1;
            bytes = bytes.wrapping_add(packet.len());
            consume(packet.into_skb());
        }
        self.stats.add(&self.stats.packets, u64::from(packets));
        self.stats.add(&self.stats.bytes, u64::from(bytes));
        (packets, bytes)
    }

    fn drop_packet(&self, skb: SkBuff, reason: DropReason) {
        self.stats.add(&self.stats.dropped, 1);
        skb.drop_with_reason(reason);
    }

    fn xmit(&self, txq: &TxLock<'_>, skb: SkBuff) {
        let Some(mut vq) = self.vq.get(txq) else {
            // Not this queue's lock: cannot happen with one queue.
            self.drop_packet(skb, DropReason::NotSpecified);
            return;
        };
        let header = match Header::from_skb(&skb, self.little_endian, false) {
            Ok(header) => header,
            Err(_) => return self.drop_packet(skb, DropReason::NotSpecified),
        };
        let packet = match TxPacket::new(skb, &header, self.hdr_len, self.any_layout) {
            Ok(packet) => packet,
            Err((_, skb)) => return self.drop_packet(skb, DropReason::NotSpecified),
        };
        let len = packet.len();
        let more = txq.xmit_more();
        let Ok(mut ring) = vq.ring() else {
            return self.drop_packet(packet.into_skb(), DropReason::DeviceNotReady);
        };
        // No interrupt while packets are added; re-enabled below, delayed.
        ring.disable_cb();
        let added = match ring.add(packet) {
            Ok(()) => true,
            Err((e, packet)) => {
                let reason = if e == ENOSPC {
                    DropReason::FullRing
                } else {
                    DropReason::NotSpecified
                };
                self.drop_packet(packet.into_skb(), reason);
                false
            }
        };
        if ring.num_free() < TX_ROOM {
            // Room for a packet of the most fragments, or stop until the device sends some.
            txq.stop();
        }
        // The device is told once the stack has no more packets right away (or the queue
        // stopped, or byte queue limits say so).
        let kick = if added {
            txq.sent_more(len, more)
        } else {
            !more || txq.is_stopped()
        };
        if kick {
            if ring.kick_prepare() {
                ring.notify();
            }
            if !ring.enable_cb_delayed() {
                // Most were sent already: the NAPI context reclaims them (and wakes the queue).
                self.napi.schedule();
            }
        }
    }
}

impl Poll for SendQueue {
    type Armed = Option<virtio::PollState>;

    fn poll<'a>(this: &'a Self, ctx: &mut PollContext<'a>) {
        let rx = ctx.receiver();
        let txq = this.vq.lock_in_poll(rx);
        let Some(mut vq) = this.vq.get(&txq) else {
            return;
        };
        let Ok(mut ring) = vq.ring() else {
            return;
        };
        ring.disable_cb();
        let (packets, bytes) = this.reclaim(&mut ring, |skb| rx.consume(skb));
        if packets > 0 {
            txq.completed(packets, bytes);
        }
        if ring.is_broken() {
            // The device returned what it was never given: it is reset, and the packets it
            // held are freed without completion, so byte queue limits forget them. Sending
            // drops packets from now on rather than wait for room.
            ring.fail_device_later();
            txq.reset();
            txq.wake();
        } else if txq.is_stopped() && ring.num_free() >= TX_ROOM {
            txq.wake();
        }
    }

    fn arm<'a>(this: &'a Self, ctx: &mut PollContext<'a>) -> Self::Armed {
        let txq = this.vq.lock_in_poll(ctx.receiver());
        let mut vq = this.vq.get(&txq)?;
        let mut ring = vq.ring().ok()?;
        Some(ring.enable_cb_prepare())
    }

    fn pending(this: &Self, armed: Self::Armed) -> bool {
        armed.is_some_and(|state| this.notifier.poll(state))
    }

    fn disarm(this: &Self) {
        this.notifier.disable_cb();
    }
}

/// How long a control command may take: QEMU answers during the notification itself, a
/// device that takes longer than this is not answering.
const CONTROL_TIMEOUT_MS: u32 = 2000;

/// The control queue (`VIRTIO_NET_F_CTRL_VQ`), if the device has one: one command at a time,
/// in process context.
#[pin_data]
struct Control {
    #[pin]
    vq: Mutex<Option<virtio::Virtqueue<KBox<Command>>>>,
    /// Receive mode commands (`VIRTIO_NET_F_CTRL_RX`).
    rx: bool,
    /// MAC address commands (`VIRTIO_NET_F_CTRL_MAC_ADDR`).
    mac: bool,
    /// Receive offload commands, and the offloads they can switch.
    offloads: Option<u64>,
    /// The device's byte order.
    little_endian: bool,
    #[pin]
    mode: Mutex<RxFilter>,
}

impl Control {
    /// Sends a command and waits (sleeping) for the device's answer: `EIO` if it refused,
    /// `ETIMEDOUT` if it did not answer in time (the command stays with the device until it
    /// does, or until the queue is torn down).
    fn send(&self, class: u8, code: u8, data: &[u8]) -> Result {
        let command = Command::new(class, code, data, GFP_KERNEL)?;
        // The command is told apart from late answers to earlier ones by its address.
        let id: *const Command = &*command;
        let mut guard = self.vq.lock();
        let Some(vq) = &mut *guard else {
            return Err(EOPNOTSUPP);
        };
        // Late answers to commands given up on.
        Self::answer(vq, id);
        vq.add(command).map_err(|(e, _)| e)?;
        if vq.ring()?.kick_prepare() {
            vq.notify();
        }
        let mut waited = 0;
        loop {
            if let Some(ok) = Self::answer(vq, id) {
                return if ok { Ok(()) } else { Err(EIO) };
            }
            if waited >= CONTROL_TIMEOUT_MS {
                return Err(ETIMEDOUT);
            }
            fsleep(Delta::from_millis(1));
            waited += 1;
        }
    }

    /// Takes back the commands the device answered; returns the answer to `id` if it is among
    /// them.
    fn answer(vq: &mut virtio::Virtqueue<KBox<Command>>, id: *const Command) -> Option<bool> {
        let mut ring = vq.ring().ok()?;
        let mut found = None;
        while let Some(used) = ring.get_buf() {
            let command = used.into_token();
            if core::ptr::eq(&*command, id) {
                found = Some(command.is_ok());
            }
        }
        found
    }

    /// Sets the device's receive mode; only what changed is sent.
    fn set_rx_mode(&self, promisc: bool, allmulti: bool) -> Result {
        let mut guard = self.mode.lock();
        let mode = &mut *guard;
        for (on, known, code) in [
            (promisc, &mut mode.promisc, ctrl::RX_PROMISC),
            (allmulti, &mut mode.allmulti, ctrl::RX_ALLMULTI),
        ] {
            if *known != Some(on) {
                // Unknown until the device acknowledges it.
                *known = None;
                self.send(ctrl::RX, code, &[u8::from(on)])?;
                *known = Some(on);
            }
        }
        Ok(())
    }
}

impl Control {
    /// Switches the device's coalescing of received segments on or off: the negotiated receive
    /// offloads, with or without the segmentation ones.
    fn set_coalescing(&self, on: bool) -> Result {
        let capable = self.offloads.ok_or(EOPNOTSUPP)?;
        let mask = if on {
            capable
        } else {
            capable & !GRO_HW_OFFLOADS
        };
        let bytes = if self.little_endian {
            mask.to_le_bytes()
        } else {
            mask.to_be_bytes()
        };
        self.send(ctrl::GUEST_OFFLOADS, ctrl::GUEST_OFFLOADS_SET, &bytes)
    }
}

/// The receive offloads that coalesce segments (C's `GUEST_OFFLOAD_GRO_HW_MASK`), as bits of
/// a `GUEST_OFFLOADS_SET` mask.
const GRO_HW_OFFLOADS: u64 = (1 << vnet::features::GUEST_TSO4)
    | (1 << vnet::features::GUEST_TSO6)
    | (1 << vnet::features::GUEST_ECN)
    | (1 << vnet::features::GUEST_UFO);

/// The negotiated receive offloads, as a `GUEST_OFFLOADS_SET` mask.
fn guest_offloads(vdev: &virtio::Device<Core<'_>>) -> u64 {
    [
        vnet::features::GUEST_CSUM,
        vnet::features::GUEST_TSO4,
        vnet::features::GUEST_TSO6,
        vnet::features::GUEST_ECN,
        vnet::features::GUEST_UFO,
    ]
    .into_iter()
    .filter(|&bit| vdev.has_feature(bit))
    .fold(0, |mask, bit| mask | (1 << bit))
}

/// The receive mode the device acknowledged (`None`: not known, to be sent).
#[derive(Default)]
struct RxFilter {
    promisc: Option<bool>,
    allmulti: Option<bool>,
}

/// Schedules a queue's NAPI context when the device used buffers.
struct QueueIrq {
    napi: Arc<NapiLink>,
}

impl virtio::Callback for QueueIrq {
    fn callback(&self, queue: &virtio::Called<'_>) {
        queue.disable_cb();
        self.napi.schedule_in(queue.rcu_guard());
    }
}

/// The interface's private data.
#[pin_data]
struct NetPriv {
    #[pin]
    rq: ReceiveQueue,
    #[pin]
    sq: SendQueue,
    #[pin]
    ctrl: Control,
    /// The ring sizes, current and largest, for ethtool.
    rings: RingParam,
    /// The transport's name of the device (its PCI address), for ethtool.
    bus_info: KVec<u8>,
}

/// The queues, from probe to the private data.
struct Queues {
    rx: virtio::Virtqueue<PoolBuf>,
    /// The pool of the receive buffers.
    pool: PagePool,
    /// The smallest payload buffer.
    min_buf_len: usize,
    tx: virtio::Virtqueue<TxPacket>,
    /// The control queue and the commands it takes.
    ctrl: Option<ControlInit>,
    hdr_len: usize,
    little_endian: bool,
    mergeable: bool,
    any_layout: bool,
    bus_info: KVec<u8>,
}

/// The control queue and the commands it takes, from probe to the private data.
struct ControlInit {
    vq: virtio::Virtqueue<KBox<Command>>,
    rx: bool,
    mac: bool,
    /// The receive offloads it can switch (`VIRTIO_NET_F_CTRL_GUEST_OFFLOADS`), as a mask of
    /// the negotiated `GUEST_*` feature bits.
    offloads: Option<u64>,
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
            ctrl,
            hdr_len,
            little_endian,
            mergeable,
            any_layout,
            pool,
            min_buf_len,
            bus_info,
        } = init;
        let rx_notifier = rx.notifier();
        let tx_notifier = tx.notifier();
        let rings = RingParam {
            rx_max: rx.max_size(),
            tx_max: tx.max_size(),
            rx: rx.size(),
            tx: tx.size(),
        };
        try_pin_init!(NetPriv {
            rq <- try_pin_init!(ReceiveQueue {
                napi <- Napi::new(),
                ring: NapiOwned::new(RxRing {
                    vq: rx,
                    pool,
                    avg_len: 0,
                }),
                notifier: rx_notifier,
                hdr_len,
                little_endian,
                mergeable,
                min_buf_len,
                stats: QueueStats::new(),
            }? Error)
            .pin_chain(|rq| Napi::add(rq.into_ref(), dev)),
            sq <- try_pin_init!(SendQueue {
                napi <- Napi::new(),
                vq <- TxQueueData::new(dev, 0, tx),
                notifier: tx_notifier,
                hdr_len,
                little_endian,
                any_layout,
                stats: QueueStats::new(),
            }? Error)
            .pin_chain(|sq| Napi::add(sq.into_ref(), dev)),
            ctrl <- {
                let (rx, mac, offloads) = ctrl
                    .as_ref()
                    .map_or((false, false, None), |c| (c.rx, c.mac, c.offloads));
                try_pin_init!(Control {
                    vq <- new_mutex!(ctrl.map(|c| c.vq)),
                    rx,
                    mac,
                    offloads,
                    little_endian,
                    mode <- new_mutex!(RxFilter::default()),
                }? Error)
            },
            rings,
            bus_info,
        }? Error)
    }

    fn open(dev: &netdevice::Device<Self>) -> Result {
        let data = dev.data();
        let rq = &data.rq;
        rq.napi.with_disabled(&rq.ring, |state| rq.fill(state))?;
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

    fn start_xmit(dev: &netdevice::Device<Self>, txq: &TxLock<'_>, skb: SkBuff) -> TxResult {
        dev.data().sq.xmit(txq, skb);
        TxResult::Ok
    }

    fn set_rx_mode(dev: &netdevice::Device<Self>, mode: &RxMode) -> Result {
        let ctrl = &dev.data().ctrl;
        if !ctrl.rx {
            // The device stays as it starts: promiscuous.
            return Ok(());
        }
        // No multicast filter table (`VIRTIO_NET_CTRL_MAC_TABLE_SET`) yet: every multicast
        // frame is received while any multicast address is subscribed to.
        ctrl.set_rx_mode(mode.promisc, mode.allmulti || mode.multicast > 0)
    }

    fn set_mac_address(dev: &netdevice::Device<Self>, addr: &[u8; netdevice::ETH_ALEN]) -> Result {
        let ctrl = &dev.data().ctrl;
        if ctrl.mac {
            ctrl.send(ctrl::MAC, ctrl::MAC_ADDR_SET, addr)
        } else {
            // As virtio_net: the interface changes its address, the device keeps filtering for
            // its own (which promiscuous mode, its default, makes moot).
            Ok(())
        }
    }

    fn set_features(dev: &netdevice::Device<Self>, features: u64) -> Result {
        let changed = dev.features() ^ features;
        if changed & netdevice::features::GRO_HW != 0 {
            dev.data()
                .ctrl
                .set_coalescing(features & netdevice::features::GRO_HW != 0)?;
        }
        Ok(())
    }

    fn get_stats64(dev: &netdevice::Device<Self>, stats: &mut Stats64) {
        let data = dev.data();
        stats.set(data.rq.stats.counters(), data.sq.stats.counters());
    }

    fn get_drvinfo(dev: &netdevice::Device<Self>, info: &mut DrvInfo) {
        info.set_driver(c"rvirtio_net");
        // The version virtio_net reports.
        info.set_version(c"1.0.0");
        info.set_bus_info(&dev.data().bus_info);
    }

    const ETHTOOL_STATS: &'static [&'static CStr] = &[
        c"rx0_packets",
        c"rx0_bytes",
        c"rx0_drops",
        c"rx0_errors",
        c"tx0_packets",
        c"tx0_bytes",
        c"tx0_drops",
    ];

    fn get_ethtool_stats(dev: &netdevice::Device<Self>, values: &mut [u64]) {
        let data = dev.data();
        let (rx, tx) = (data.rq.stats.counters(), data.sq.stats.counters());
        let all = [
            rx.packets, rx.bytes, rx.dropped, rx.errors, tx.packets, tx.bytes, tx.dropped,
        ];
        for (value, counter) in values.iter_mut().zip(all) {
            *value = counter;
        }
    }

    fn get_link_ksettings(_dev: &netdevice::Device<Self>) -> LinkSettings {
        // As virtio_net for a device without `VIRTIO_NET_F_SPEED_DUPLEX` (QEMU reports unknown
        // speed and duplex there too).
        LinkSettings {
            speed: None,
            full_duplex: None,
            port: Port::Other,
        }
    }

    fn get_ringparam(dev: &netdevice::Device<Self>) -> RingParam {
        dev.data().rings
    }

    fn get_channels(_dev: &netdevice::Device<Self>) -> Channels {
        Channels {
            max_combined: 1,
            combined: 1,
        }
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

/// The interface's features, as virtio_net sets them: those the user may toggle and those on.
fn offloads(vdev: &virtio::Device<Core<'_>>) -> (u64, u64) {
    use netdevice::features::*;
    let mut hw_features = 0;
    // With GUEST_CSUM a partially checksummed packet is valid for the stack; without it the
    // device sends only full checksums, which it may have checked (the header says so):
    // either way the interface receives checksums.
    let mut features = HIGHDMA | RXCSUM;
    if vdev.has_feature(vnet::features::CSUM) {
        hw_features |= HW_CSUM | SG;
        for (bit, feature) in [
            (vnet::features::HOST_TSO4, TSO),
            (vnet::features::HOST_TSO6, TSO6),
            (vnet::features::HOST_ECN, TSO_ECN),
        ] {
            if vdev.has_feature(bit) {
                hw_features |= feature;
            }
        }
        // The device checks what it is asked to segment; all offloads on by default.
        features |= GSO_ROBUST | hw_features;
    }
    if vdev.has_feature(vnet::features::GUEST_TSO4) || vdev.has_feature(vnet::features::GUEST_TSO6)
    {
        features |= GRO_HW;
    }
    // The device can be told to stop coalescing only through the control queue; without it,
    // the feature is fixed.
    if vdev.has_feature(vnet::features::CTRL_GUEST_OFFLOADS)
        && guest_offloads(vdev) & GRO_HW_OFFLOADS != 0
    {
        hw_features |= GRO_HW;
    }
    (hw_features, features)
}

fn setup(vdev: &virtio::Device<Core<'_>>) -> Result<netdevice::Registration<NetOps>> {
    let little_endian = vdev.is_little_endian();
    let mergeable = vdev.has_feature(vnet::features::MRG_RXBUF);
    let any_layout = vdev.has_feature(virtio::features::VERSION_1);
    let hdr_len = if mergeable || any_layout {
        Header::LEN
    } else {
        Header::LEGACY_LEN
    };

    let mut queues = virtio::Builder::new(vdev)?;
    let rx = queues.add(virtio::QueueSpec::new(format_args!("input.0"))?)?;
    let tx =
        queues.add(virtio::QueueSpec::new(format_args!("output.0"))?.max_entries(TX_ENTRIES))?;
    // The control queue comes after every queue pair.
    let ctrl = if vdev.has_feature(vnet::features::CTRL_VQ) {
        Some(queues.add(virtio::QueueSpec::new(format_args!("control"))?.polled())?)
    } else {
        None
    };
    let mut found = queues.find(virtio::Affinity::none())?;
    let rx = found.take(rx)?;
    let tx = found.take(tx)?;
    let rx_size = rx.size();
    let pool = PagePool::new(rx_size, None)?;
    let ctrl = match ctrl {
        Some(ctrl) => Some(ControlInit {
            vq: found.take(ctrl)?,
            rx: vdev.has_feature(vnet::features::CTRL_RX),
            mac: vdev.has_feature(vnet::features::CTRL_MAC_ADDR),
            offloads: vdev
                .has_feature(vnet::features::CTRL_GUEST_OFFLOADS)
                .then(|| guest_offloads(vdev)),
        }),
        None => None,
    };

    // Without mergeable buffers a frame must fit in one page-sized buffer: the standard
    // Ethernet payload, as C's small buffers.
    let limit = if mergeable { MAX_MTU } else { ETH_DATA_LEN };
    let mtu_max = if vdev.has_feature(vnet::features::MTU) {
        let mtu = u32::from(vdev.read_config(|cfg| cfg.read(vnet::config::MTU))?);
        if mtu < MIN_MTU {
            dev_warn!(
                vdev.as_ref(),
                "device MTU {mtu} below the minimum {MIN_MTU}: ignored\n"
            );
            limit
        } else {
            mtu.min(limit)
        }
    } else {
        limit
    };
    let mtu = mtu_max.min(ETH_DATA_LEN);

    let mut builder = netdevice::Builder::<NetOps>::new(
        vdev.as_ref(),
        1,
        1,
        // Moved into the private data; their callbacks are bound below.
        Queues {
            rx,
            tx,
            ctrl,
            hdr_len,
            little_endian,
            mergeable,
            any_layout,
            pool,
            min_buf_len: ReceiveQueue::min_buf_len(hdr_len, mtu_max, rx_size),
            bus_info: {
                let name = vdev.bus_name().to_bytes();
                let mut v = KVec::with_capacity(name.len(), GFP_KERNEL)?;
                v.extend_from_slice(name, GFP_KERNEL)?;
                v
            },
        },
    )?;
    if vdev.has_feature(vnet::features::MAC) {
        let mac = vdev.read_config(|cfg| cfg.read(vnet::config::MAC))?;
        builder.set_address(&mac);
    } else {
        builder.set_random_address();
    }
    builder.set_mtu(MIN_MTU, mtu_max, mtu)?;
    if any_layout {
        // Room for the header before the data, so that most packets are one descriptor.
        builder.set_needed_headroom(hdr_len as u16);
    }
    let (hw_features, features) = offloads(vdev);
    builder.set_features(hw_features, features);
    // As virtio_net: the device is told of a new address whenever it comes.
    builder.set_live_address_change();

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
        .with_disabled(&data.rq.ring, |state| state.vq.set_callback(rx_irq))??;
    {
        let txq = data.sq.vq.lock();
        data.sq.vq.get(&txq).ok_or(EINVAL)?.set_callback(tx_irq)?;
    }

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
        vnet::features::MRG_RXBUF,
        vnet::features::CSUM,
        vnet::features::HOST_TSO4,
        vnet::features::HOST_TSO6,
        vnet::features::HOST_ECN,
        vnet::features::GUEST_CSUM,
        vnet::features::GUEST_TSO4,
        vnet::features::GUEST_TSO6,
        vnet::features::GUEST_ECN,
        vnet::features::GUEST_UFO,
        vnet::features::CTRL_VQ,
        vnet::features::CTRL_RX,
        vnet::features::CTRL_MAC_ADDR,
        vnet::features::CTRL_GUEST_OFFLOADS,
    ];

    fn validate(features: &mut virtio::Negotiation<'_>) -> Result {
        use vnet::features::*;
        // Segmentation builds on the checksum offload of the same direction (the
        // specification's dependencies): a device that offers one without the other gets
        // neither.
        if !features.has(CSUM) {
            for bit in [HOST_TSO4, HOST_TSO6, HOST_ECN] {
                features.clear(bit)?;
            }
        }
        if !features.has(HOST_TSO4) && !features.has(HOST_TSO6) {
            features.clear(HOST_ECN)?;
        }
        // Packets larger than the MTU need buffers that can be merged: without them every
        // packet must fit one page.
        if !features.has(GUEST_CSUM) || !features.has(MRG_RXBUF) {
            for bit in [GUEST_TSO4, GUEST_TSO6, GUEST_ECN, GUEST_UFO] {
                features.clear(bit)?;
            }
        }
        if !features.has(GUEST_TSO4) && !features.has(GUEST_TSO6) {
            features.clear(GUEST_ECN)?;
        }
        // Commands need the queue that carries them.
        if !features.has(CTRL_VQ) {
            features.clear(CTRL_RX)?;
            features.clear(CTRL_MAC_ADDR)?;
            features.clear(CTRL_GUEST_OFFLOADS)?;
        }
        Ok(())
    }

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
