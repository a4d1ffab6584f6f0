// SPDX-License-Identifier: GPL-2.0

//! Socket buffers (`struct sk_buff`), owned by a driver.
//!
//! A driver gets a socket buffer from the stack (to transmit) or allocates one (to receive
//! into), and must then let it go in one of a few ways, each of which says what happened to
//! the packet, as the networking stack's drop monitor and tracepoints expect:
//!
//! - [`SkBuff::consume`]: the packet did its job (it was sent, or its data was copied);
//! - [`SkBuff::drop_with_reason`]: the packet is lost, for the given [`DropReason`];
//! - handed to the stack or to a device by the abstraction that takes it by value.
//!
//! An [`SkBuff`] that is dropped without one of these is freed as a drop with
//! `SKB_DROP_REASON_NOT_SPECIFIED`, as C's `kfree_skb()` does: nothing leaks, but the drop
//! shows as unexplained. Drivers should never rely on it.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)

use super::page_pool::PoolBuf;
use crate::bindings;
use core::ptr::NonNull;
use kernel::{
    alloc::Flags,
    prelude::*, //
};

/// The C value of allocation flags.
///
/// `Flags::as_raw()` is private to the kernel crate; outside it, the value is rebuilt from the
/// named flags that make up `flags` (every `Flags` is built from them). `EINVAL` if a bit is
/// left that none of them explains. In the kernel tree this is `flags.as_raw()`.
pub(crate) fn raw_gfp(flags: Flags) -> Result<u32> {
    use kernel::alloc::flags::*;
    let known = [
        (GFP_ATOMIC, bindings::GFP_ATOMIC),
        (GFP_KERNEL, bindings::GFP_KERNEL),
        (GFP_KERNEL_ACCOUNT, bindings::GFP_KERNEL_ACCOUNT),
        (GFP_NOWAIT, bindings::GFP_NOWAIT),
        (__GFP_ZERO, bindings::__GFP_ZERO),
        (__GFP_HIGHMEM, bindings::__GFP_HIGHMEM),
        (__GFP_NOWARN, bindings::__GFP_NOWARN),
    ];
    let none = GFP_KERNEL & !GFP_KERNEL;
    let mut covered = none;
    let mut raw = 0;
    for (flag, value) in known {
        if flags & flag == flag {
            covered = covered | flag;
            raw |= value;
        }
    }
    if flags & !covered == none {
        Ok(raw)
    } else {
        Err(EINVAL)
    }
}

/// Kinds of segmentation offload ([`Gso::kinds`], `SKB_GSO_*`).
pub mod gso {
    use crate::bindings;

    // The C enum's values are bits of an `unsigned int` field; they fit in `u32`.

    /// TCP over IPv4.
    pub const TCPV4: u32 = bindings::SKB_GSO_TCPV4 as u32;
    /// TCP over IPv6.
    pub const TCPV6: u32 = bindings::SKB_GSO_TCPV6 as u32;
    /// TCP with ECN.
    pub const TCP_ECN: u32 = bindings::SKB_GSO_TCP_ECN as u32;
    /// UDP, segmented by payload (`SKB_GSO_UDP_L4`).
    pub const UDP_L4: u32 = bindings::SKB_GSO_UDP_L4 as u32;
    /// Headers from an untrusted source, to be checked before segmentation.
    pub const DODGY: u32 = bindings::SKB_GSO_DODGY as u32;
    /// GRE tunnel.
    pub const GRE: u32 = bindings::SKB_GSO_GRE as u32;
}

/// Why a packet is dropped (`enum skb_drop_reason`), for [`SkBuff::drop_with_reason`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// No more specific reason (`SKB_DROP_REASON_NOT_SPECIFIED`).
    NotSpecified,
    /// Memory ran out (`SKB_DROP_REASON_NOMEM`).
    NoMemory,
    /// The device's header or metadata for the packet is invalid (`SKB_DROP_REASON_DEV_HDR`).
    DeviceHeader,
    /// The device is not ready: down, or being removed (`SKB_DROP_REASON_DEV_READY`).
    DeviceNotReady,
    /// The device's ring is full (`SKB_DROP_REASON_FULL_RING`).
    FullRing,
    /// The packet is shorter than its headers (`SKB_DROP_REASON_PKT_TOO_SMALL`).
    TooSmall,
    /// The packet is longer than the device or the MTU allows (`SKB_DROP_REASON_PKT_TOO_BIG`).
    TooBig,
    /// A queue was purged (`SKB_DROP_REASON_QUEUE_PURGE`): a device going away with packets
    /// still queued.
    QueuePurge,
}

impl DropReason {
    fn to_raw(self) -> bindings::skb_drop_reason {
        match self {
            Self::NotSpecified => bindings::skb_drop_reason_SKB_DROP_REASON_NOT_SPECIFIED,
            Self::NoMemory => bindings::skb_drop_reason_SKB_DROP_REASON_NOMEM,
            Self::DeviceHeader => bindings::skb_drop_reason_SKB_DROP_REASON_DEV_HDR,
            Self::DeviceNotReady => bindings::skb_drop_reason_SKB_DROP_REASON_DEV_READY,
            Self::FullRing => bindings::skb_drop_reason_SKB_DROP_REASON_FULL_RING,
            Self::TooSmall => bindings::skb_drop_reason_SKB_DROP_REASON_PKT_TOO_SMALL,
            Self::TooBig => bindings::skb_drop_reason_SKB_DROP_REASON_PKT_TOO_BIG,
            Self::QueuePurge => bindings::skb_drop_reason_SKB_DROP_REASON_QUEUE_PURGE,
        }
    }
}

/// What the stack or the device knows of a packet's checksum (`skb->ip_summed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// Nothing is known: the stack checks it (`CHECKSUM_NONE`).
    None,
    /// The device checked it (`CHECKSUM_UNNECESSARY`).
    Unnecessary,
    /// The device computed the checksum of the whole packet (`CHECKSUM_COMPLETE`).
    Complete,
    /// The checksum is still to be computed, from `start` (from the start of the data) and
    /// stored at `start + offset` (`CHECKSUM_PARTIAL`).
    Partial {
        /// Where the checksummed part starts, from the start of the data.
        start: u32,
        /// Where the checksum goes, from `start`.
        offset: u16,
    },
}

/// Segmentation offload of a packet (`skb_shinfo(skb)->gso_size` and `gso_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gso {
    /// The size of each segment's payload (0: the packet is not segmented).
    pub size: u16,
    /// The kinds of segmentation (`SKB_GSO_*` bits).
    pub kinds: u32,
}

/// The most page fragments a socket buffer holds (`MAX_SKB_FRAGS`).
pub const MAX_FRAGS: u32 = bindings::RVIRTIO_CONST_MAX_SKB_FRAGS;

/// A socket buffer that the driver owns.
///
/// # Invariants
///
/// `ptr` points to a valid `struct sk_buff` of which this value owns the only reference that
/// the driver holds (it frees it, or hands it on, exactly once).
#[must_use = "a socket buffer must be consumed, dropped with a reason, or handed on"]
pub struct SkBuff {
    ptr: NonNull<bindings::sk_buff>,
}

// SAFETY: The socket buffer is owned; the functions that free it work in any context (they
// defer the free when interrupts are off), so it may move to another thread.
unsafe impl Send for SkBuff {}

// SAFETY: Shared references only read the buffer's fields and data.
unsafe impl Sync for SkBuff {}

impl SkBuff {
    /// Allocates a socket buffer with room for `size` bytes of data, all of it tail room
    /// (`alloc_skb()`).
    pub fn alloc(size: u32, flags: Flags) -> Result<Self> {
        let gfp = raw_gfp(flags)?;
        // SAFETY: `alloc_skb()` has no preconditions; it returns NULL on failure.
        let ptr = unsafe { bindings::alloc_skb(size, gfp) };
        // INVARIANT: A new socket buffer belongs to whoever allocated it.
        NonNull::new(ptr).map(|ptr| Self { ptr }).ok_or(ENOMEM)
    }

    /// Takes ownership of a socket buffer.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid socket buffer whose reference the caller owns and gives up.
    pub unsafe fn from_raw(ptr: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: By the safety requirements.
        Self { ptr }
    }

    /// Gives up ownership of the socket buffer; the caller must free it or hand it on.
    pub fn into_raw(self) -> NonNull<bindings::sk_buff> {
        let ptr = self.ptr;
        core::mem::forget(self);
        ptr
    }

    /// The C `struct sk_buff`.
    pub fn as_raw(&self) -> *mut bindings::sk_buff {
        self.ptr.as_ptr()
    }

    fn raw(&self) -> &bindings::sk_buff {
        // SAFETY: By the type invariant the buffer is valid; it is owned, so nothing else
        // writes the fields read through this reference.
        unsafe { self.ptr.as_ref() }
    }

    /// The length of the packet: the linear part and the fragments (`skb->len`).
    pub fn len(&self) -> u32 {
        self.raw().len
    }

    /// Whether the packet has no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The length of the linear part (`skb_headlen()`).
    pub fn headlen(&self) -> u32 {
        // SAFETY: By the type invariant the buffer is valid.
        unsafe { bindings::skb_headlen(self.as_raw()) }
    }

    /// The room before the data (`skb_headroom()`).
    pub fn headroom(&self) -> u32 {
        // SAFETY: By the type invariant the buffer is valid.
        unsafe { bindings::skb_headroom(self.as_raw()) }
    }

    /// The room after the linear data (`skb_tailroom()`); 0 once the buffer has fragments.
    pub fn tailroom(&self) -> u32 {
        // SAFETY: By the type invariant the buffer is valid.
        let room = unsafe { bindings::skb_tailroom(self.as_raw()) };
        u32::try_from(room).unwrap_or(0)
    }

    /// Whether the data is shared with a clone of this buffer (`skb_cloned()`): then it must
    /// not be written.
    pub fn is_cloned(&self) -> bool {
        // SAFETY: By the type invariant the buffer is valid.
        unsafe { bindings::skb_cloned(self.as_raw()) != 0 }
    }

    /// The `len` bytes of head room just before the data, to write a header there that a
    /// device reads with the data, leaving the data where it is. `None` if the head room is
    /// smaller or shared with a clone (`skb_header_cloned()`), the rule of `skb_cow_head()`.
    pub fn headroom_mut(&mut self, len: u32) -> Option<&mut [u8]> {
        // SAFETY: By the type invariant the buffer is valid.
        let cloned = unsafe { bindings::skb_header_cloned(self.as_raw()) != 0 };
        if cloned || len > self.headroom() {
            return None;
        }
        // `len` is at most the head room, so the start is in the buffer's head.
        let start = self.raw().data.wrapping_sub(len as usize);
        // SAFETY: The `len` bytes before `skb->data` are head room inside the buffer's head,
        // which no clone uses (checked above): the holder of the buffer may write there, as
        // `skb_push()` after `skb_cow_head()` does; it lives as long as `self` is borrowed.
        Some(unsafe { core::slice::from_raw_parts_mut(start, len as usize) })
    }

    /// Moves the start of an empty buffer's data by `len` bytes, making head room
    /// (`skb_reserve()`). Fails with `EINVAL` if the buffer has data or not that much room.
    pub fn reserve(&mut self, len: u32) -> Result {
        if !self.is_empty() || len > self.tailroom() {
            return Err(EINVAL);
        }
        let len = i32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: The buffer is valid, owned and empty, with `len` bytes of tail room.
        unsafe { bindings::skb_reserve(self.as_raw(), len) };
        Ok(())
    }

    /// Extends the linear data by `len` bytes at its end and returns them (`skb_put()`).
    ///
    /// Fails with `EINVAL` if the buffer has fragments or its data is shared, `ENOSPC` if
    /// the tail room is too small (C would panic).
    pub fn put(&mut self, len: u32) -> Result<&mut [u8]> {
        if self.headlen() != self.len() || self.is_cloned() {
            return Err(EINVAL);
        }
        if len > self.tailroom() {
            return Err(ENOSPC);
        }
        // SAFETY: The buffer is valid and linear with `len` bytes of tail room, so
        // `skb_put()` does not panic; it returns the start of the new bytes.
        let start = unsafe { bindings::skb_put(self.as_raw(), len) };
        // SAFETY: The `len` bytes at `start` are in the buffer's data area, which this value
        // owns (not shared with a clone) and which lives as long as `self` is borrowed.
        Ok(unsafe { core::slice::from_raw_parts_mut(start.cast::<u8>(), len as usize) })
    }

    /// Appends `data` to the linear data (see [`SkBuff::put`]).
    pub fn put_data(&mut self, data: &[u8]) -> Result {
        let len = u32::try_from(data.len()).map_err(|_| ENOSPC)?;
        self.put(len)?.copy_from_slice(data);
        Ok(())
    }

    /// Extends the data by `len` bytes at its start and returns them (`skb_push()`).
    ///
    /// Fails with `EINVAL` if the data is shared, `ENOSPC` if the head room is too small (C
    /// would panic).
    pub fn push(&mut self, len: u32) -> Result<&mut [u8]> {
        if self.is_cloned() {
            return Err(EINVAL);
        }
        if len > self.headroom() {
            return Err(ENOSPC);
        }
        // SAFETY: The buffer is valid with `len` bytes of head room, so `skb_push()` does not
        // panic; it returns the new start of the data.
        let start = unsafe { bindings::skb_push(self.as_raw(), len) };
        // SAFETY: As in `put`: `len` bytes of the buffer's own, unshared data.
        Ok(unsafe { core::slice::from_raw_parts_mut(start.cast::<u8>(), len as usize) })
    }

    /// Removes `len` bytes from the start of the linear data (`skb_pull()`). Fails with
    /// `EINVAL` if the linear part is shorter.
    pub fn pull(&mut self, len: u32) -> Result {
        if len > self.headlen() {
            return Err(EINVAL);
        }
        // SAFETY: The buffer is valid and its linear part has `len` bytes.
        let data = unsafe { bindings::skb_pull(self.as_raw(), len) };
        if data.is_null() {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// The linear part of the data.
    pub fn data(&self) -> &[u8] {
        let len = self.headlen() as usize;
        if len == 0 {
            return &[];
        }
        // SAFETY: `skb->data` is valid for `skb_headlen()` bytes while the buffer is owned.
        unsafe { core::slice::from_raw_parts(self.raw().data, len) }
    }

    /// The linear part of the data, to change it; `None` if it is shared with a clone.
    pub fn data_mut(&mut self) -> Option<&mut [u8]> {
        if self.is_cloned() {
            return None;
        }
        let len = self.headlen() as usize;
        if len == 0 {
            return Some(&mut []);
        }
        // SAFETY: As in `data`, and the data is not shared (checked above) and borrowed
        // mutably through `self`.
        Some(unsafe { core::slice::from_raw_parts_mut(self.raw().data, len) })
    }

    /// The link-layer protocol (`skb->protocol`, an ethertype), in host byte order.
    pub fn protocol(&self) -> u16 {
        // SAFETY: By the type invariant the buffer is valid.
        u16::from_be(unsafe { bindings::skb_protocol(self.as_raw()) })
    }

    /// Sets the link-layer protocol (an ethertype, in host byte order).
    pub fn set_protocol(&mut self, protocol: u16) {
        // SAFETY: By the type invariant the buffer is valid and owned.
        unsafe { bindings::skb_set_protocol(self.as_raw(), protocol.to_be()) }
    }

    /// Marks the start of the data as the start of the network header
    /// (`skb_reset_network_header()`).
    pub fn reset_network_header(&mut self) {
        // SAFETY: By the type invariant the buffer is valid and owned.
        unsafe { bindings::skb_reset_network_header(self.as_raw()) }
    }

    /// What is known of the packet's checksum.
    pub fn checksum(&self) -> Checksum {
        let p = self.as_raw();
        // SAFETY: By the type invariant the buffer is valid.
        match u32::from(unsafe { bindings::skb_ip_summed(p) }) {
            bindings::CHECKSUM_UNNECESSARY => Checksum::Unnecessary,
            bindings::CHECKSUM_COMPLETE => Checksum::Complete,
            bindings::CHECKSUM_PARTIAL => Checksum::Partial {
                // SAFETY: As above.
                start: u32::try_from(unsafe { bindings::skb_checksum_start_offset(p) })
                    .unwrap_or(0),
                // SAFETY: As above.
                offset: unsafe { bindings::skb_csum_offset(p) },
            },
            _ => Checksum::None,
        }
    }

    /// Asks for the checksum to be computed from `start` bytes into the data and stored
    /// `offset` bytes after that (`CHECKSUM_PARTIAL`, `skb_partial_csum_set()`). Fails with
    /// `EINVAL` if the checksum field would not lie inside the linear data.
    pub fn set_partial_checksum(&mut self, start: u16, offset: u16) -> Result {
        // SAFETY: By the type invariant the buffer is valid and owned; the function checks
        // the range against the linear data.
        if unsafe { bindings::skb_partial_csum_set(self.as_raw(), start, offset) } {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    /// Marks the checksum as checked by the device (`CHECKSUM_UNNECESSARY`).
    pub fn set_checksum_unnecessary(&mut self) {
        // The field is 2 bits wide; the value fits.
        let value = bindings::CHECKSUM_UNNECESSARY as u8;
        // SAFETY: By the type invariant the buffer is valid and owned.
        unsafe { bindings::skb_set_ip_summed(self.as_raw(), value) }
    }

    /// The packet's segmentation offload.
    pub fn gso(&self) -> Gso {
        let p = self.as_raw();
        Gso {
            // SAFETY: By the type invariant the buffer and its shared info are valid.
            size: unsafe { bindings::skb_gso_size(p) },
            // SAFETY: As above.
            kinds: unsafe { bindings::skb_gso_type(p) },
        }
    }

    /// Sets the packet's segmentation offload. Fails with `EINVAL` if the buffer's data (and
    /// so its shared info) is shared with a clone.
    pub fn set_gso(&mut self, gso: Gso) -> Result {
        if self.is_cloned() {
            return Err(EINVAL);
        }
        // SAFETY: The buffer is valid and owned, and its shared info is not shared.
        unsafe { bindings::skb_set_gso(self.as_raw(), gso.size, gso.kinds) };
        Ok(())
    }

    /// The number of page fragments.
    pub fn nr_frags(&self) -> u32 {
        // SAFETY: By the type invariant the buffer is valid.
        u32::from(unsafe { bindings::skb_nr_frags(self.as_raw()) })
    }

    /// Attaches `len` bytes at `offset` of the pool buffer `buf` as the next fragment, which
    /// the buffer then owns, accounting all of `buf` to it (`skb_add_rx_frag()`), and marks the
    /// buffer so that its pool pages go back to their pool when it is freed
    /// (`skb_mark_for_recycle()`). Gives `buf` back if the range is not in it or empty, the
    /// buffer has [`MAX_FRAGS`] fragments, or its data is shared with a clone.
    pub fn add_pool_frag(
        &mut self,
        buf: PoolBuf,
        offset: u32,
        len: u32,
    ) -> core::result::Result<(), PoolBuf> {
        let fits = offset
            .checked_add(len)
            .is_some_and(|end| end as usize <= buf.len());
        let frags = self.nr_frags();
        if !fits || len == 0 || frags >= MAX_FRAGS || self.is_cloned() {
            return Err(buf);
        }
        // `frags < MAX_FRAGS` and the range is inside a page: all fit in `i32`.
        let (i, off, size, truesize) = (
            frags as i32,
            (buf.offset() + offset as usize) as i32,
            len as i32,
            buf.len() as u32,
        );
        let page = buf.page();
        let _ = buf.into_raw();
        // SAFETY: The buffer is valid and owned, with room for fragment `i`, which is the next
        // one, inside the pool buffer's part of the page; the pool reference passes to the
        // buffer, which gives it back to the pool when freed: it is marked for recycling
        // before anything can free it (a page that is not a pool's is still freed as usual).
        unsafe {
            bindings::skb_add_rx_frag(self.as_raw(), i, page, off, size, truesize);
            bindings::skb_mark_for_recycle(self.as_raw());
        }
        Ok(())
    }

    /// Attaches `len` bytes at `offset` of the pool buffer `buf` to a received packet that
    /// may span more buffers than a socket buffer has fragments: as [`SkBuff::add_pool_frag`]
    /// while there is room, then on further buffers chained on the frag list, whose data and
    /// size count in this one's (as `virtio_net` does). Gives `buf` back if the range is not in
    /// it or empty, the data is shared with a clone, or no buffer can be allocated.
    pub fn append_pool_frag(
        &mut self,
        buf: PoolBuf,
        offset: u32,
        len: u32,
    ) -> core::result::Result<(), PoolBuf> {
        let head = self.as_raw();
        // SAFETY: By the type invariant the buffer is valid.
        let chained = !unsafe { (*bindings::skb_shinfo(head)).frag_list }.is_null();
        if !chained && self.nr_frags() < MAX_FRAGS {
            return self.add_pool_frag(buf, offset, len);
        }
        let fits = offset
            .checked_add(len)
            .is_some_and(|end| end as usize <= buf.len());
        if !fits || len == 0 || self.is_cloned() {
            return Err(buf);
        }
        // SAFETY: The buffer is valid and owned (type invariant), and so is its frag list,
        // whose last buffer is checked to be its alone (not shared, data not cloned) before
        // it gets a fragment; linking a new buffer at the end and accounting the new data in
        // the head is what `virtio_net` does.
        unsafe {
            let shinfo = bindings::skb_shinfo(head);
            let mut tail = (*shinfo).frag_list;
            while !tail.is_null() && !(*tail).__bindgen_anon_1.__bindgen_anon_1.next.is_null() {
                tail = (*tail).__bindgen_anon_1.__bindgen_anon_1.next;
            }
            if !tail.is_null()
                && (bindings::skb_cloned(tail) != 0 || bindings::skb_shared(tail) != 0)
            {
                // Not a list of this packet's own buffers.
                return Err(buf);
            }
            if tail.is_null() || u32::from(bindings::skb_nr_frags(tail)) >= MAX_FRAGS {
                let next = bindings::alloc_skb(0, bindings::GFP_ATOMIC);
                if next.is_null() {
                    return Err(buf);
                }
                bindings::skb_mark_for_recycle(next);
                if tail.is_null() {
                    (*shinfo).frag_list = next;
                } else {
                    (*tail).__bindgen_anon_1.__bindgen_anon_1.next = next;
                }
                (*head).truesize += (*next).truesize;
                tail = next;
            }
            // The tail may be an older buffer: it must give pool pages back to their pool too.
            bindings::skb_mark_for_recycle(tail);
            let truesize = buf.len() as u32;
            let (i, off) = (
                i32::from(bindings::skb_nr_frags(tail)),
                (buf.offset() + offset as usize) as i32,
            );
            let page = buf.page();
            let _ = buf.into_raw();
            bindings::skb_add_rx_frag(tail, i, page, off, len as i32, truesize);
            (*head).data_len += len;
            (*head).len += len;
            (*head).truesize += truesize;
            bindings::skb_mark_for_recycle(head);
        }
        Ok(())
    }

    /// Frees the buffer as a packet that did its job (`dev_consume_skb_any()`: any context).
    pub fn consume(self) {
        let ptr = self.into_raw();
        // SAFETY: The buffer is valid and this was the owner's reference (type invariant),
        // given up by `into_raw`.
        unsafe { bindings::dev_consume_skb_any(ptr.as_ptr()) }
    }

    /// Frees the buffer as a lost packet, for `reason` (`dev_kfree_skb_any_reason()`: any
    /// context).
    pub fn drop_with_reason(self, reason: DropReason) {
        let ptr = self.into_raw();
        // SAFETY: As in `consume`.
        unsafe { bindings::dev_kfree_skb_any_reason(ptr.as_ptr(), reason.to_raw()) }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // A buffer that was not given one of the explicit exits: a drop without a reason, as
        // C's `kfree_skb()`.
        // SAFETY: By the type invariant the reference is ours, and it is not used again.
        unsafe {
            bindings::dev_kfree_skb_any_reason(self.ptr.as_ptr(), DropReason::NotSpecified.to_raw())
        }
    }
}

#[cfg(rvirtio_kunit)]
use kernel::prelude::kunit_tests;

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_skbuff)]
mod tests {
    use super::*;

    /// Fails if a put past the tail room, a push past the head room or a pull past the data
    /// is not refused: C's `skb_put()`/`skb_push()` would panic, `skb_pull()` corrupt `len`.
    #[test]
    fn room_is_checked() -> Result {
        let mut skb = SkBuff::alloc(128, GFP_KERNEL)?;
        skb.reserve(16)?;
        assert!(skb.headroom() >= 16);
        let tail = skb.tailroom();
        assert!(tail >= 112);
        assert_eq!(skb.put(tail + 1).err(), Some(ENOSPC));
        assert_eq!(skb.len(), 0);

        skb.put_data(&[1, 2, 3, 4])?;
        assert_eq!(skb.len(), 4);
        assert_eq!(skb.tailroom(), tail - 4);
        // Head room may only be made while the buffer is empty.
        assert_eq!(skb.reserve(1).err(), Some(EINVAL));

        let head = skb.headroom();
        assert_eq!(skb.push(head + 1).err(), Some(ENOSPC));
        skb.push(2)?.copy_from_slice(&[9, 8]);
        assert_eq!(skb.data(), &[9, 8, 1, 2, 3, 4]);

        assert_eq!(skb.pull(7).err(), Some(EINVAL));
        skb.pull(2)?;
        assert_eq!(skb.data(), &[1, 2, 3, 4]);
        skb.consume();
        Ok(())
    }

    /// Fails if the protocol is stored in the wrong byte order, or a checksum request
    /// outside the data is accepted.
    #[test]
    fn protocol_and_checksum() -> Result {
        let mut skb = SkBuff::alloc(64, GFP_KERNEL)?;
        skb.put(40)?.fill(0);
        skb.set_protocol(0x0800);
        assert_eq!(skb.protocol(), 0x0800);
        assert_eq!(skb.checksum(), Checksum::None);
        assert_eq!(skb.set_partial_checksum(30, 16).err(), Some(EINVAL));
        skb.set_partial_checksum(20, 16)?;
        assert_eq!(
            skb.checksum(),
            Checksum::Partial {
                start: 20,
                offset: 16
            }
        );
        skb.set_checksum_unnecessary();
        assert_eq!(skb.checksum(), Checksum::Unnecessary);
        skb.drop_with_reason(DropReason::DeviceHeader);
        Ok(())
    }

    /// Fails if a buffer that is simply dropped is not freed (kmemleak reports it after the
    /// suite) or is freed twice (KASAN).
    #[test]
    fn implicit_drop_frees_once() -> Result {
        let skb = SkBuff::alloc(256, GFP_KERNEL)?;
        assert_eq!(skb.len(), 0);
        drop(skb);
        Ok(())
    }
}
