// SPDX-License-Identifier: GPL-2.0

//! Network devices (`struct net_device`).
//!
//! A driver allocates an Ethernet device with its private data ([`Builder::new`]), sets it up
//! (address, MTU limits, features), and registers it ([`Builder::register`]); the
//! [`Registration`] it gets back unregisters and frees the device when dropped, so it belongs
//! in the bus device's driver data, whose life ends at unbind.
//!
//! The stack calls the driver through [`Operations`], with the device and its private data.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h)

use super::{
    ethtool::{
        Channels,
        DrvInfo,
        EthtoolVTable,
        LinkSettings,
        RingParam, //
    },
    napi::NewDevice,
    skbuff::SkBuff, //
};
use crate::bindings;
use core::{
    marker::PhantomData,
    pin::Pin,
    ptr::NonNull, //
};
use kernel::{
    device,
    error::{
        from_result,
        to_result, //
    },
    prelude::*,
    str::CStr,
    types::Opaque, //
};

/// The length of an Ethernet address.
pub const ETH_ALEN: usize = 6;

/// Device features (`NETIF_F_*`), for [`Builder::set_features`].
pub mod features {
    use crate::bindings;

    /// The device can reach memory above 4 GiB.
    pub const HIGHDMA: u64 = bindings::RVIRTIO_CONST_NETIF_F_HIGHDMA;
    /// The device checks the checksums of received packets.
    pub const RXCSUM: u64 = bindings::RVIRTIO_CONST_NETIF_F_RXCSUM;
    /// The device sends packets held in several fragments (scatter-gather).
    pub const SG: u64 = bindings::RVIRTIO_CONST_NETIF_F_SG;
    /// The device computes any checksum described by `csum_start` and `csum_offset`.
    pub const HW_CSUM: u64 = bindings::RVIRTIO_CONST_NETIF_F_HW_CSUM;
    /// The device segments TCP over IPv4 (TSO).
    pub const TSO: u64 = bindings::RVIRTIO_CONST_NETIF_F_TSO;
    /// The device segments TCP over IPv6.
    pub const TSO6: u64 = bindings::RVIRTIO_CONST_NETIF_F_TSO6;
    /// The device segments TCP with ECN (the CWR flag on the first segment only).
    pub const TSO_ECN: u64 = bindings::RVIRTIO_CONST_NETIF_F_TSO_ECN;
    /// Segmentation requests from untrusted sources are checked by the stack, not the device.
    pub const GSO_ROBUST: u64 = bindings::RVIRTIO_CONST_NETIF_F_GSO_ROBUST;
    /// The device coalesces received segments (hardware GRO, LRO that the stack can undo).
    pub const GRO_HW: u64 = bindings::RVIRTIO_CONST_NETIF_F_GRO_HW;
}

/// What [`Operations::start_xmit`] did with a packet.
pub enum TxResult {
    /// The packet was taken: lent to the device or dropped (`NETDEV_TX_OK`).
    Ok,
    /// The queue is full: the packet comes back to the stack, which tries again later
    /// (`NETDEV_TX_BUSY`). The driver should have stopped the queue before this happens.
    Busy(SkBuff),
}

/// Interface statistics (`struct rtnl_link_stats64`), filled in by
/// [`Operations::get_stats64`]; counters the driver does not keep stay 0.
#[repr(transparent)]
pub struct Stats64(bindings::rtnl_link_stats64);

impl Stats64 {
    /// Sets the packet and byte counters of both directions and the drop counters.
    pub fn set(&mut self, rx: Counters, tx: Counters) {
        self.0.rx_packets = rx.packets;
        self.0.rx_bytes = rx.bytes;
        self.0.rx_dropped = rx.dropped;
        self.0.rx_errors = rx.errors;
        self.0.tx_packets = tx.packets;
        self.0.tx_bytes = tx.bytes;
        self.0.tx_dropped = tx.dropped;
        self.0.tx_errors = tx.errors;
    }
}

/// The counters of one direction, for [`Stats64::set`].
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Packets received or sent.
    pub packets: u64,
    /// Bytes received or sent.
    pub bytes: u64,
    /// Packets dropped.
    pub dropped: u64,
    /// Packets with errors.
    pub errors: u64,
}

/// The receive filter the stack asks for, for [`Operations::set_rx_mode`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxMode {
    /// Every frame is to be received (`IFF_PROMISC`: `ip link set promisc on`, a bridge, or
    /// unicast addresses beyond the device's own on a device that cannot filter them).
    pub promisc: bool,
    /// Every multicast frame is to be received (`IFF_ALLMULTI`).
    pub allmulti: bool,
    /// The number of unicast addresses besides the device's own.
    pub unicast: u32,
    /// The number of multicast addresses subscribed to.
    pub multicast: u32,
}

/// The operations of a network device driver (`struct net_device_ops`).
///
/// Every callback gets the device; its private data is [`Device::data`]. `open`, `stop`,
/// `set_rx_mode`, `set_mac_address` and `set_features` run in process context under the RTNL
/// lock, and may sleep; `start_xmit` in softirq context (or with softirqs disabled) under the
/// transmit queue's lock.
#[vtable]
pub trait Operations: Sized + 'static {
    /// The driver's private data, stored in the device (`netdev_priv()`).
    type Data: Send + Sync;

    /// What [`Builder::new`] passes to [`Operations::new_data`].
    type Init;

    /// Initialises the private data of a new device; NAPI contexts are added to `dev` here
    /// ([`Napi::new`]).
    ///
    /// [`Napi::new`]: super::napi::Napi::new
    fn new_data<'a>(dev: &'a NewDevice, init: Self::Init) -> impl PinInit<Self::Data, Error> + 'a;

    /// The interface goes up (`ndo_open`).
    fn open(dev: &Device<Self>) -> Result;

    /// The interface goes down (`ndo_stop`).
    fn stop(dev: &Device<Self>) -> Result;

    /// Transmits `skb` on transmit queue `queue` (`ndo_start_xmit`), whose lock the stack
    /// holds: the queue's [`TxQueueData`] is the driver's through `queue`.
    fn start_xmit(dev: &Device<Self>, queue: &TxLock<'_>, skb: SkBuff) -> TxResult;

    /// Fills in the interface's statistics (`ndo_get_stats64`).
    fn get_stats64(_dev: &Device<Self>, _stats: &mut Stats64) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The receive filter changed (`ndo_set_rx_mode_async`): called while the interface is up,
    /// from the stack's work in process context (the RTNL lock held), so the device may be
    /// told and its answer awaited. An error makes the stack try again later.
    fn set_rx_mode(_dev: &Device<Self>, _mode: &RxMode) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The interface's MAC address is to become `addr` (`ndo_set_mac_address`): tells the
    /// device. `addr` is a valid unicast address and, unless the builder allowed changes while
    /// up ([`Builder::set_live_address_change`]), the interface is down. On success the
    /// interface takes the address; on error it keeps the old one.
    fn set_mac_address(_dev: &Device<Self>, _addr: &[u8; ETH_ALEN]) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The interface's features are to become `features` (`ndo_set_features`, after
    /// `ethtool -K`): tells the device of those it must act on ([`Device::features`] are the
    /// current ones). On success the stack takes `features`; on error it keeps the current
    /// ones. Process context, RTNL lock held.
    fn set_features(_dev: &Device<Self>, _features: u64) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// A transmit queue has been stopped for too long (`ndo_tx_timeout`).
    fn tx_timeout(_dev: &Device<Self>, _queue: u32) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The driver's name and version and the device's bus address (ethtool's `get_drvinfo`,
    /// `ethtool -i`).
    fn get_drvinfo(_dev: &Device<Self>, _info: &mut DrvInfo) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The names of the driver's statistics (`ethtool -S`), at most `ETH_GSTRING_LEN - 1`
    /// bytes each (longer ones are cut).
    const ETHTOOL_STATS: &'static [&'static CStr] = &[];

    /// The values of the statistics named by [`Operations::ETHTOOL_STATS`], in their order
    /// (ethtool's `get_ethtool_stats`); `values` has one per name, zeroed.
    fn get_ethtool_stats(_dev: &Device<Self>, _values: &mut [u64]) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The link's speed, duplex and port (ethtool's `get_link_ksettings`, `ethtool IFACE`).
    fn get_link_ksettings(_dev: &Device<Self>) -> LinkSettings {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The ring sizes (ethtool's `get_ringparam`, `ethtool -g`).
    fn get_ringparam(_dev: &Device<Self>) -> RingParam {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The queue counts (ethtool's `get_channels`, `ethtool -l`).
    fn get_channels(_dev: &Device<Self>) -> Channels {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// A network device of driver `T`.
///
/// # Invariants
///
/// The device was allocated by [`Builder::new`] for driver `T`: its private area holds an
/// initialised `T::Data`, which lives as long as the device can be reached through `&self`.
#[repr(transparent)]
pub struct Device<T: Operations>(Opaque<bindings::net_device>, PhantomData<T>);

impl<T: Operations> Device<T> {
    /// # Safety
    ///
    /// `ptr` must be a device of driver `T` (type invariant) that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper; by the safety requirements the device is
        // valid for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// The C `struct net_device`.
    pub fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// The driver's private data.
    pub fn data(&self) -> Pin<&T::Data> {
        // SAFETY: By the type invariant the private area holds an initialised `T::Data`,
        // which never moves (it is inside the device's allocation).
        unsafe { Pin::new_unchecked(&*bindings::netdev_priv(self.as_raw()).cast::<T::Data>()) }
    }

    /// The interface's features (`NETIF_F_*` bits) that are on.
    pub fn features(&self) -> u64 {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netdev_features(self.as_raw()) }
    }

    /// Tells the stack that the link is up (`netif_carrier_on()`).
    pub fn carrier_on(&self) {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netif_carrier_on(self.as_raw()) }
    }

    /// Tells the stack that the link is down (`netif_carrier_off()`).
    pub fn carrier_off(&self) {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netif_carrier_off(self.as_raw()) }
    }

    /// Whether the link is up.
    pub fn carrier_ok(&self) -> bool {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netif_carrier_ok(self.as_raw()) }
    }

    /// Whether the interface is up (`netif_running()`).
    pub fn is_running(&self) -> bool {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netif_running(self.as_raw()) }
    }

    /// The current MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netdev_mtu(self.as_raw()) }
    }

    /// The device's Ethernet address.
    pub fn address(&self) -> [u8; ETH_ALEN] {
        let mut addr = [0u8; ETH_ALEN];
        // SAFETY: By the type invariant the device is valid; `dev_addr` of an Ethernet device
        // holds at least `ETH_ALEN` bytes.
        let p = unsafe { bindings::netdev_dev_addr(self.as_raw()) };
        // SAFETY: As above.
        addr.copy_from_slice(unsafe { core::slice::from_raw_parts(p, ETH_ALEN) });
        addr
    }

    /// The number of transmit queues in use.
    pub fn num_tx_queues(&self) -> u32 {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netdev_num_tx_queues(self.as_raw()) }
    }

    /// Transmit queue `index`, if it exists.
    pub fn tx_queue(&self, index: u32) -> Option<&TxQueue> {
        if index >= self.num_tx_queues() {
            return None;
        }
        // SAFETY: The device is valid and has the queue; the queues live as long as the device.
        Some(unsafe { TxQueue::from_raw(bindings::netdev_get_tx_queue(self.as_raw(), index)) })
    }

    /// Starts every transmit queue (`netif_tx_start_all_queues()`).
    pub fn start_all_queues(&self) {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netif_tx_start_all_queues(self.as_raw()) }
    }

    /// Stops every transmit queue and waits for transmissions in progress
    /// (`netif_tx_disable()`). Takes each queue's lock, so it must not be called from
    /// [`Operations::start_xmit`].
    pub fn disable_tx(&self) {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netif_tx_disable(self.as_raw()) }
    }
}

// SAFETY: The device is reference-counted by the networking core and its operations are
// thread-safe; `T::Data` is `Send + Sync`.
unsafe impl<T: Operations> Sync for Device<T> {}
// SAFETY: As above.
unsafe impl<T: Operations> Send for Device<T> {}

/// A transmit queue of a network device (`struct netdev_queue`).
#[repr(transparent)]
pub struct TxQueue(Opaque<bindings::netdev_queue>);

impl TxQueue {
    /// # Safety
    ///
    /// `ptr` must be a transmit queue valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::netdev_queue) -> &'a Self {
        // SAFETY: Transparent wrapper; valid by the safety requirements.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::netdev_queue {
        self.0.get()
    }

    /// Stops the queue: the stack sends nothing more on it until it is woken
    /// (`netif_tx_stop_queue()`).
    pub fn stop(&self) {
        // SAFETY: The queue is valid.
        unsafe { bindings::netif_tx_stop_queue(self.as_raw()) }
    }

    /// Whether the queue is stopped.
    pub fn is_stopped(&self) -> bool {
        // SAFETY: The queue is valid.
        unsafe { bindings::netif_tx_queue_stopped(self.as_raw()) }
    }

    /// Restarts a stopped queue and lets the stack send again (`netif_tx_wake_queue()`).
    pub fn wake(&self) {
        // SAFETY: The queue is valid.
        unsafe { bindings::netif_tx_wake_queue(self.as_raw()) }
    }

    /// Byte queue limits: `packets` packets of `bytes` bytes were sent
    /// (`netdev_tx_completed_queue()`); may wake the queue.
    pub fn completed(&self, packets: u32, bytes: u32) {
        // SAFETY: The queue is valid.
        unsafe { bindings::netdev_tx_completed_queue(self.as_raw(), packets, bytes) }
    }

    /// Byte queue limits: forgets what was in flight (`netdev_tx_reset_queue()`), when the
    /// buffers in the ring were reclaimed without completion.
    pub fn reset(&self) {
        // SAFETY: The queue is valid.
        unsafe { bindings::netdev_tx_reset_queue(self.as_raw()) }
    }
}

impl TxQueue {
    /// Byte queue limits: `bytes` were given to the device (`__netdev_tx_sent_queue()`);
    /// returns whether to notify the device now. `more`: the stack has more packets for this
    /// queue right away ([`TxLock::xmit_more`]), so the notification may wait for the last
    /// one, unless the queue just stopped.
    pub fn sent_more(&self, bytes: u32, more: bool) -> bool {
        // SAFETY: The queue is valid.
        unsafe { bindings::__netdev_tx_sent_queue(self.as_raw(), bytes, more) }
    }
}

/// A transmit queue whose lock (`_xmit_lock`) is held for as long as this value lives: the
/// stack's, around [`Operations::start_xmit`], or a [`TxGuard`]'s. It gives access to the
/// queue's [`TxQueueData`], one borrow at a time.
///
/// # Invariants
///
/// The lock of `queue` is held by this CPU while this value exists; `busy` is set while a
/// [`TxData`] borrowed through this value exists.
pub struct TxLock<'a> {
    queue: &'a TxQueue,
    busy: core::cell::Cell<bool>,
    // The lock belongs to this CPU's context.
    _not_send: PhantomData<*mut ()>,
}

impl<'a> TxLock<'a> {
    /// # Safety
    ///
    /// The lock of `queue` must be held while the value exists (and not be released by anyone
    /// else meanwhile).
    pub(crate) unsafe fn new(queue: &'a TxQueue) -> Self {
        // INVARIANT: By the safety requirements; nothing is borrowed yet.
        Self {
            queue,
            busy: core::cell::Cell::new(false),
            _not_send: PhantomData,
        }
    }

    /// Whether the stack has more packets for this queue right away (`netdev_xmit_more()`),
    /// in [`Operations::start_xmit`]: the device may be notified once, after the last.
    pub fn xmit_more(&self) -> bool {
        // SAFETY: Reads a per-CPU flag of the transmit in progress; no preconditions.
        unsafe { bindings::netdev_xmit_more() }
    }
}

impl core::ops::Deref for TxLock<'_> {
    type Target = TxQueue;

    fn deref(&self) -> &TxQueue {
        self.queue
    }
}

/// A transmit queue's lock, taken by [`TxQueueData::lock`] or in a NAPI poll
/// ([`TxQueueData::lock_in_poll`]), released when this is dropped.
///
/// # Invariants
///
/// `lock.queue`'s lock was taken by this value (with softirqs disabled by the lock if `bh`).
pub struct TxGuard<'a> {
    lock: TxLock<'a>,
    bh: bool,
}

impl<'a> TxGuard<'a> {
    /// # Safety
    ///
    /// The caller must have taken the lock of `queue` (with `__netif_tx_lock_bh()` if `bh`,
    /// else `__netif_tx_lock()`), for this value to release.
    pub(crate) unsafe fn new(queue: &'a TxQueue, bh: bool) -> Self {
        // INVARIANT: By the safety requirements.
        Self {
            // SAFETY: The lock is held until this value, which owns the `TxLock`, is dropped.
            lock: unsafe { TxLock::new(queue) },
            bh,
        }
    }
}

impl<'a> core::ops::Deref for TxGuard<'a> {
    type Target = TxLock<'a>;

    fn deref(&self) -> &TxLock<'a> {
        &self.lock
    }
}

impl Drop for TxGuard<'_> {
    fn drop(&mut self) {
        let raw = self.lock.queue.as_raw();
        // SAFETY: This value took the lock (type invariant) in the same way.
        unsafe {
            if self.bh {
                bindings::__netif_tx_unlock_bh(raw);
            } else {
                bindings::__netif_tx_unlock(raw);
            }
        }
    }
}

/// Driver data of one transmit queue, protected by the queue's own lock, as C drivers protect
/// their transmit rings: [`Operations::start_xmit`] reaches it through the lock the stack holds,
/// a NAPI poll takes the lock ([`TxQueueData::lock_in_poll`]), and process context takes it
/// with [`TxQueueData::lock`]. It lives in the device's private data.
///
/// # Invariants
///
/// `queue` is transmit queue `index` of the device in whose private data this value is
/// (pinned); `value` is only reached with that queue's lock held, through a [`TxData`].
pub struct TxQueueData<U> {
    queue: NonNull<bindings::netdev_queue>,
    value: core::cell::UnsafeCell<U>,
    _pin: core::marker::PhantomPinned,
}

impl<U> TxQueueData<U> {
    /// `value`, for transmit queue `index` of `dev`, to be initialised in place in `dev`'s
    /// private data: `EINVAL` elsewhere or if the device has no such queue.
    pub fn new(dev: &NewDevice, index: u32, value: U) -> impl PinInit<Self, Error> {
        let ptr = dev.ptr.as_ptr();
        let range = dev.data.clone();
        // SAFETY: On success every field of `slot` is initialised; on failure nothing is, and
        // `value` is dropped.
        unsafe {
            pin_init::pin_init_from_closure(move |slot: *mut Self| {
                let start = slot as usize;
                let inside = start >= range.start
                    && start
                        .checked_add(core::mem::size_of::<Self>())
                        .is_some_and(|end| end <= range.end);
                // SAFETY: The device being built is valid.
                if !inside || index >= bindings::netdev_num_tx_queues(ptr) {
                    return Err(EINVAL);
                }
                // SAFETY: The device has queue `index` (checked above).
                let queue =
                    NonNull::new(bindings::netdev_get_tx_queue(ptr, index)).ok_or(EINVAL)?;
                // INVARIANT: The queue of the device in whose private data `slot` is (checked
                // above), where it stays: the value is pinned.
                slot.write(Self {
                    queue,
                    value: core::cell::UnsafeCell::new(value),
                    _pin: core::marker::PhantomPinned,
                });
                Ok(())
            })
        }
    }

    fn queue(&self) -> &TxQueue {
        // SAFETY: The queue belongs to the device whose private data holds `self` (type
        // invariant), so it lives at least as long.
        unsafe { TxQueue::from_raw(self.queue.as_ptr()) }
    }

    /// The data, through `lock`; `None` if `lock` is another queue's, or the data is borrowed
    /// through it already.
    pub fn get<'b>(&'b self, lock: &'b TxLock<'_>) -> Option<TxData<'b, U>> {
        if !core::ptr::eq(lock.queue.as_raw(), self.queue.as_ptr()) || lock.busy.get() {
            return None;
        }
        lock.busy.set(true);
        // INVARIANT: `busy` is set until the `TxData` is dropped.
        Some(TxData {
            // SAFETY: `lock` holds this queue's lock (checked above) for at least `'b`, which
            // no other CPU can then hold, and no other `TxData` of this CPU borrows through
            // it (`busy`); another `TxLock` of the same queue on this CPU would have needed the
            // lock a second time, which a spinlock does not give.
            value: unsafe { &mut *self.value.get() },
            busy: &lock.busy,
        })
    }

    /// Takes the queue's lock (`__netif_tx_lock()`) from a NAPI poll, which `rx` shows this
    /// to be.
    pub fn lock_in_poll(&self, _rx: &super::napi::Receiver<'_>) -> TxGuard<'_> {
        let queue = self.queue();
        // SAFETY: The queue is valid; a poll runs with softirqs disabled, as the lock wants,
        // and never inside `ndo_start_xmit`, so this CPU does not hold the lock already.
        unsafe { bindings::__netif_tx_lock(queue.as_raw()) };
        // SAFETY: Taken just above, with `__netif_tx_lock()`.
        unsafe { TxGuard::new(queue, false) }
    }

    /// Takes the queue's lock, with softirqs disabled (`__netif_tx_lock_bh()`), in process
    /// context: not from [`Operations::start_xmit`] or a NAPI poll of this queue, which would
    /// wait for the lock they hold.
    pub fn lock(&self) -> TxGuard<'_> {
        let queue = self.queue();
        // SAFETY: The queue is valid; the guard releases the lock.
        unsafe { bindings::__netif_tx_lock_bh(queue.as_raw()) };
        // SAFETY: Taken just above, with `__netif_tx_lock_bh()`.
        unsafe { TxGuard::new(queue, true) }
    }
}

// SAFETY: The value is only reached under the queue's lock, by one CPU at a time, so it may be
// shared between threads if it may move between them.
unsafe impl<U: Send> Sync for TxQueueData<U> {}
// SAFETY: As above; the queue pointer is only used to take its lock.
unsafe impl<U: Send> Send for TxQueueData<U> {}

/// A transmit queue's [`TxQueueData`], borrowed under the queue's lock.
///
/// # Invariants
///
/// `busy` is the flag of the [`TxLock`] this was borrowed through, set while this exists.
pub struct TxData<'b, U> {
    value: &'b mut U,
    busy: &'b core::cell::Cell<bool>,
}

impl<U> core::ops::Deref for TxData<'_, U> {
    type Target = U;

    fn deref(&self) -> &U {
        self.value
    }
}

impl<U> core::ops::DerefMut for TxData<'_, U> {
    fn deref_mut(&mut self) -> &mut U {
        self.value
    }
}

impl<U> Drop for TxData<'_, U> {
    fn drop(&mut self) {
        self.busy.set(false);
    }
}

/// An allocated, not yet registered, Ethernet device of driver `T`.
///
/// # Invariants
///
/// `dev` was allocated by `alloc_etherdev_mqs()` with room for `T::Data`, which is initialised,
/// and is not registered; this value owns it.
pub struct Builder<T: Operations> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<T>,
}

impl<T: Operations> Builder<T> {
    /// Allocates an Ethernet device with `tx_queues` transmit and `rx_queues` receive queues,
    /// whose private data [`Operations::new_data`] initialises from `init`, as a child of
    /// `parent` (`alloc_etherdev_mqs()`).
    pub fn new(
        parent: &device::Device<device::Bound>,
        tx_queues: u32,
        rx_queues: u32,
        init: T::Init,
    ) -> Result<Self> {
        if tx_queues == 0 || rx_queues == 0 {
            return Err(EINVAL);
        }
        let size = i32::try_from(core::mem::size_of::<T::Data>()).map_err(|_| EINVAL)?;
        const {
            // The private area is aligned to `NETDEV_ALIGN` (32 bytes).
            assert!(
                core::mem::align_of::<T::Data>() <= 32,
                "network device private data aligned beyond NETDEV_ALIGN"
            )
        };
        // SAFETY: No preconditions; returns NULL on failure.
        let dev = NonNull::new(unsafe { bindings::alloc_etherdev_mqs(size, tx_queues, rx_queues) })
            .ok_or(ENOMEM)?;
        let raw = dev.as_ptr();
        // SAFETY: `raw` is a new device whose private area has room for `T::Data`, aligned as
        // checked above.
        let priv_ = unsafe { bindings::netdev_priv(raw) }.cast::<T::Data>();
        let start = priv_ as usize;
        let new = NewDevice {
            ptr: dev,
            data: start..start + core::mem::size_of::<T::Data>(),
        };
        let data = T::new_data(&new, init);
        // SAFETY: `priv_` is valid for writes of `T::Data` and does not move.
        if let Err(e) = unsafe { data.__init(priv_) } {
            // SAFETY: The device was never registered and nothing else refers to it.
            unsafe { bindings::free_netdev(raw) };
            return Err(e);
        }
        // `device::Device` is a transparent wrapper of `struct device` (its `as_raw()` is private
        // to the kernel crate).
        let parent_raw = core::ptr::from_ref(parent)
            .cast::<bindings::device>()
            .cast_mut();
        // SAFETY: Both are valid; the parent outlives the registration (which ends at unbind).
        unsafe { bindings::netdev_set_parent(raw, parent_raw) };
        // SAFETY: The device is valid; the tables are static.
        unsafe {
            bindings::netdev_set_ops(raw, &OperationsVTable::<T>::OPS);
            bindings::netdev_set_ethtool_ops(raw, &EthtoolVTable::<T>::OPS);
            // A buffer given to `start_xmit` is the driver's alone (`SkBuff`): no generator
            // may send the same one again while the device holds it (pktgen's `clone_skb`).
            bindings::netdev_clear_tx_skb_sharing(raw);
        }
        // INVARIANT: Allocated for `T`, data initialised, not registered.
        Ok(Self {
            dev,
            _p: PhantomData,
        })
    }

    /// The device being built.
    pub fn device(&self) -> &Device<T> {
        // SAFETY: By the type invariant the device is of driver `T` and lives as long as
        // `self`.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }

    /// Sets the Ethernet address (`eth_hw_addr_set()`).
    pub fn set_address(&mut self, addr: &[u8; ETH_ALEN]) {
        // SAFETY: The device is valid and not registered yet: nothing else reads the address.
        unsafe { bindings::eth_hw_addr_set(self.dev.as_ptr(), addr.as_ptr()) }
    }

    /// Sets a random, locally administered Ethernet address (`eth_hw_addr_random()`).
    pub fn set_random_address(&mut self) {
        // SAFETY: As in `set_address`.
        unsafe { bindings::eth_hw_addr_random(self.dev.as_ptr()) }
    }

    /// Sets the range of MTUs the device accepts and the current MTU. `EINVAL` unless
    /// `min <= mtu <= max`.
    pub fn set_mtu(&mut self, min: u32, max: u32, mtu: u32) -> Result {
        if !(min <= mtu && mtu <= max) {
            return Err(EINVAL);
        }
        // SAFETY: The device is valid and not registered.
        unsafe {
            bindings::netdev_set_mtu_limits(self.dev.as_ptr(), min, max);
            bindings::netdev_set_mtu(self.dev.as_ptr(), mtu);
        }
        Ok(())
    }

    /// Sets the features the user may toggle (`hw_features`) and those on (`features`,
    /// `NETIF_F_*` bits); VLAN devices above this one inherit the features that are on
    /// (`vlan_features`).
    pub fn set_features(&mut self, hw_features: u64, features: u64) {
        // SAFETY: The device is valid and not registered.
        unsafe { bindings::netdev_set_features(self.dev.as_ptr(), hw_features, features) }
    }

    /// Asks the stack to leave `len` bytes of head room in the packets it sends
    /// (`needed_headroom`), for a header the driver writes before the data.
    pub fn set_needed_headroom(&mut self, len: u16) {
        // SAFETY: The device is valid and not registered.
        unsafe { bindings::netdev_set_needed_headroom(self.dev.as_ptr(), len) }
    }

    /// Lets the MAC address change while the interface is up (`IFF_LIVE_ADDR_CHANGE`): the
    /// driver's [`Operations::set_mac_address`] can tell the device at any time.
    pub fn set_live_address_change(&mut self) {
        // SAFETY: The device is valid and not registered.
        unsafe { bindings::netdev_set_live_addr_change(self.dev.as_ptr()) }
    }

    /// Registers the device with the stack (`register_netdev()`): it gets its name and can be
    /// opened from now on. Sleeps; takes the RTNL lock.
    pub fn register(self) -> Result<Registration<T>> {
        let dev = self.dev;
        // The builder's drop would free the device; the registration owns it from here.
        core::mem::forget(self);
        // SAFETY: The device is valid, set up and not registered.
        if let Err(e) = to_result(unsafe { bindings::register_netdev(dev.as_ptr()) }) {
            // SAFETY: Not registered; the data is initialised (type invariant of the builder).
            unsafe { free_with_data::<T>(dev.as_ptr()) };
            return Err(e);
        }
        // INVARIANT: Registered by the call above, data initialised.
        Ok(Registration {
            dev,
            _p: PhantomData,
        })
    }
}

impl<T: Operations> Drop for Builder<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the device is not registered and its data initialised.
        unsafe { free_with_data::<T>(self.dev.as_ptr()) }
    }
}

/// Drops the private data of `dev` and frees the device.
///
/// # Safety
///
/// `dev` must be an unregistered device of driver `T` with initialised data, which nothing
/// uses any more.
unsafe fn free_with_data<T: Operations>(dev: *mut bindings::net_device) {
    // SAFETY: By the safety requirements the data is initialised and unused.
    unsafe { core::ptr::drop_in_place(bindings::netdev_priv(dev).cast::<T::Data>()) };
    // SAFETY: The device is unregistered and unused.
    unsafe { bindings::free_netdev(dev) };
}

/// A registered network device of driver `T`; dropping it unregisters the device (stopping it
/// first if it is up) and frees it with its private data. Sleeps.
///
/// # Invariants
///
/// `dev` is a registered device of driver `T` with initialised data, owned by this value.
pub struct Registration<T: Operations> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<T>,
}

impl<T: Operations> Registration<T> {
    /// The registered device.
    pub fn device(&self) -> &Device<T> {
        // SAFETY: By the type invariant the device is of driver `T`, valid while `self` is.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the device is registered; after this no callback of
        // the stack runs any more (`unregister_netdev()` stops the device and waits).
        unsafe { bindings::unregister_netdev(self.dev.as_ptr()) };
        // SAFETY: Unregistered above; the data is initialised and nothing uses it.
        unsafe { free_with_data::<T>(self.dev.as_ptr()) };
    }
}

// SAFETY: The registration only unregisters the device, which may happen from any thread.
unsafe impl<T: Operations> Send for Registration<T> {}
// SAFETY: Shared access only gives `&Device<T>`, which is `Sync`.
unsafe impl<T: Operations> Sync for Registration<T> {}

struct OperationsVTable<T: Operations>(PhantomData<T>);

impl<T: Operations> OperationsVTable<T> {
    /// # Safety
    ///
    /// `dev` must be a registered device of driver `T` (the stack calls the table of the
    /// device only for it).
    unsafe extern "C" fn open_callback(dev: *mut bindings::net_device) -> kernel::ffi::c_int {
        // SAFETY: By the safety requirements `dev` is a device of `T`, valid during the call.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        from_result(|| T::open(dev).map(|()| 0))
    }

    /// # Safety
    ///
    /// As for `open_callback`.
    unsafe extern "C" fn stop_callback(dev: *mut bindings::net_device) -> kernel::ffi::c_int {
        // SAFETY: As in `open_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        from_result(|| T::stop(dev).map(|()| 0))
    }

    /// # Safety
    ///
    /// As for `open_callback`; `skb` is a socket buffer the stack gives to the driver.
    unsafe extern "C" fn start_xmit_callback(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: As in `open_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        // SAFETY: The stack gives the buffer to the driver: its reference is ours now.
        let skb = unsafe { SkBuff::from_raw(NonNull::new_unchecked(skb)) };
        // SAFETY: The buffer is valid.
        let index = u32::from(unsafe { bindings::skb_get_queue_mapping(skb.as_raw()) });
        let Some(queue) = dev.tx_queue(index) else {
            // The stack picks a queue the device has; if not, the packet cannot be sent.
            skb.drop_with_reason(super::skbuff::DropReason::NotSpecified);
            return bindings::netdev_tx_NETDEV_TX_OK;
        };
        // SAFETY: The stack calls `ndo_start_xmit` with the queue's lock held (the device is
        // not `lltx`: `Builder` never makes it so), until this returns.
        let queue = unsafe { TxLock::new(queue) };
        match T::start_xmit(dev, &queue, skb) {
            TxResult::Ok => bindings::netdev_tx_NETDEV_TX_OK,
            TxResult::Busy(skb) => {
                // Back to the stack, which still holds it as far as it knows.
                let _ = skb.into_raw();
                bindings::netdev_tx_NETDEV_TX_BUSY
            }
        }
    }

    /// # Safety
    ///
    /// As for `open_callback`; `stats` is valid for writes.
    unsafe extern "C" fn get_stats64_callback(
        dev: *mut bindings::net_device,
        stats: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: As in `open_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        // The statistics may be unaligned (rtnetlink puts them in a message, 4-byte aligned):
        // they are copied in and out rather than referenced.
        // SAFETY: The stack passes statistics to fill in, valid for reads and writes during the
        // call.
        let mut copy = Stats64(unsafe { stats.read_unaligned() });
        T::get_stats64(dev, &mut copy);
        // SAFETY: As above.
        unsafe { stats.write_unaligned(copy.0) };
    }

    /// # Safety
    ///
    /// As for `open_callback`.
    unsafe extern "C" fn tx_timeout_callback(
        dev: *mut bindings::net_device,
        txqueue: kernel::ffi::c_uint,
    ) {
        // SAFETY: As in `open_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        T::tx_timeout(dev, txqueue)
    }

    /// # Safety
    ///
    /// As for `open_callback`; `uc` and `mc` are valid address lists for the duration of the
    /// call.
    unsafe extern "C" fn set_rx_mode_callback(
        dev: *mut bindings::net_device,
        uc: *mut bindings::netdev_hw_addr_list,
        mc: *mut bindings::netdev_hw_addr_list,
    ) -> kernel::ffi::c_int {
        // SAFETY: As in `open_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        // SAFETY: The device is valid; the stack passes valid snapshots of its lists.
        let mode = unsafe {
            let flags = bindings::netdev_flags(dev.as_raw());
            RxMode {
                promisc: flags & bindings::net_device_flags_IFF_PROMISC != 0,
                allmulti: flags & bindings::net_device_flags_IFF_ALLMULTI != 0,
                unicast: bindings::netdev_hw_addr_list_count(uc),
                multicast: bindings::netdev_hw_addr_list_count(mc),
            }
        };
        match T::set_rx_mode(dev, &mode) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// As for `open_callback`; `addr` is a socket address whose data (after the 2-byte
    /// family, as in `struct sockaddr`) holds at least the device's address length of bytes:
    /// `netif_set_mac_address()` passes a `struct sockaddr_storage`.
    unsafe extern "C" fn set_mac_address_callback(
        dev: *mut bindings::net_device,
        addr: *mut c_void,
    ) -> kernel::ffi::c_int {
        // SAFETY: As in `open_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        // SAFETY: The device and the address are valid (safety requirements); the function
        // checks that the address is a valid unicast one and that the device may change it
        // now.
        let ret = unsafe { bindings::eth_prepare_mac_addr_change(dev.as_raw(), addr) };
        if ret != 0 {
            return ret;
        }
        // SAFETY: `addr` is a socket address laid out as `struct sockaddr` whose data holds
        // the `ETH_ALEN` bytes of an Ethernet address (safety requirements; the device's
        // address length, which `eth_prepare_mac_addr_change()` checked as an Ethernet
        // address); read without assuming alignment.
        let mac = unsafe {
            (&raw const (*addr.cast::<bindings::sockaddr>()).sa_data)
                .cast::<[u8; ETH_ALEN]>()
                .read_unaligned()
        };
        match T::set_mac_address(dev, &mac) {
            Ok(()) => {
                // SAFETY: As above; the stack holds the RTNL lock, which address changes
                // need.
                unsafe { bindings::eth_commit_mac_addr_change(dev.as_raw(), addr) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// As for `open_callback`.
    unsafe extern "C" fn set_features_callback(
        dev: *mut bindings::net_device,
        features: bindings::netdev_features_t,
    ) -> kernel::ffi::c_int {
        // SAFETY: As in `open_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        match T::set_features(dev, features) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    const OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_open: Some(Self::open_callback),
        ndo_stop: Some(Self::stop_callback),
        ndo_start_xmit: Some(Self::start_xmit_callback),
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64_callback)
        } else {
            None
        },
        ndo_tx_timeout: if T::HAS_TX_TIMEOUT {
            Some(Self::tx_timeout_callback)
        } else {
            None
        },
        ndo_set_rx_mode_async: if T::HAS_SET_RX_MODE {
            Some(Self::set_rx_mode_callback)
        } else {
            None
        },
        ndo_set_mac_address: if T::HAS_SET_MAC_ADDRESS {
            Some(Self::set_mac_address_callback)
        } else {
            None
        },
        ndo_set_features: if T::HAS_SET_FEATURES {
            Some(Self::set_features_callback)
        } else {
            None
        },
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        // SAFETY: A table of optional function pointers: all zeroes is "none".
        ..unsafe { core::mem::zeroed() }
    };
}
