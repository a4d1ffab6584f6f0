// SPDX-License-Identifier: GPL-2.0

//! Unmapped scatter-gather lists for virtqueues.
//!
//! C header: [`include/linux/scatterlist.h`](srctree/include/linux/scatterlist.h)
//!
//! The virtio ring maps buffers for the device itself (through the DMA API when the device
//! needs it), so a driver only describes memory: which parts the device may read and which it
//! may write. [`SgList`] collects that description in storage that belongs to the virtqueue
//! (`SgStorage`, allocated once with the queue for as many entries as the queue was created
//! for), so that adding a buffer neither allocates nor builds a large array on the stack.
//!
//! Every entry of the storage is a terminated single-entry list for its whole life (the end
//! mark is set once, when the storage is allocated, and `sg_set_buf()`/`sg_set_page()` keep
//! it), so an entry is rewritten in place, without zeroing, each time it is used.

use crate::bindings;
use core::{
    marker::PhantomData,
    ops::Range,
    ptr, //
};
use kernel::{
    error::to_result,
    page::Page,
    prelude::*, //
};

/// The scatterlist entries and the list of lists that a virtqueue reuses for every buffer it
/// adds.
///
/// # Invariants
///
/// - `entries` holds `ptrs.len()` initialised entries, each marked as the end of its list.
/// - `ptrs` is only written while a [`SgList`] borrows the storage.
pub(crate) struct SgStorage {
    entries: KVec<bindings::scatterlist>,
    ptrs: KVec<*mut bindings::scatterlist>,
}

// SAFETY: The storage owns its entries; the pointers in `ptrs` are only meaningful while a list
// borrows the storage, which ties them to the borrow.
unsafe impl Send for SgStorage {}

// SAFETY: Shared references give no access to the entries.
unsafe impl Sync for SgStorage {}

impl SgStorage {
    /// Storage for buffers of up to `entries` entries.
    pub(crate) fn new(entries: usize) -> Result<Self> {
        let entries = entries.max(1);
        let mut list = KVec::with_capacity(entries, GFP_KERNEL)?;
        for _ in 0..entries {
            list.push(bindings::scatterlist::default(), GFP_KERNEL)?;
        }
        for entry in list.iter_mut() {
            // SAFETY: `entry` is a valid, exclusively borrowed entry.
            unsafe { bindings::sg_mark_end(entry) };
        }
        // INVARIANT: Every entry is initialised and marked as the end of its list.
        Ok(Self {
            entries: list,
            ptrs: KVec::from_elem(ptr::null_mut(), entries, GFP_KERNEL)?,
        })
    }

    /// The number of entries a buffer may have.
    pub(crate) fn capacity(&self) -> usize {
        self.ptrs.len()
    }

    /// A new, empty list in this storage.
    pub(crate) fn list<'a>(&mut self) -> SgList<'_, 'a> {
        // INVARIANT: The list borrows the storage's entries for as long as it exists.
        SgList {
            entries: self.entries.as_mut_ptr(),
            ptrs: self.ptrs.as_mut_ptr(),
            capacity: self.ptrs.len(),
            ..SgList::counting()
        }
    }
}

/// A description of a buffer for the device: device-readable entries, then device-writable
/// ones.
///
/// `'s` is the borrow of the queue's storage; `'a` ties every entry to memory that outlives the
/// list's use, which [`Virtqueue::add`](super::Virtqueue::add) extends to the whole time the
/// device holds the buffer.
///
/// # Invariants
///
/// - Unless the list only counts (`entries` is null), `entries` and `ptrs` point to the
///   `capacity` entries of an `SgStorage` borrowed for `'s`.
/// - `ptrs[..out + in_]` are terminated lists: an entry of the storage or a list given to
///   `push_list`, whose memory is valid for `'a`.
pub struct SgList<'s, 'a> {
    entries: *mut bindings::scatterlist,
    ptrs: *mut *mut bindings::scatterlist,
    capacity: usize,
    out: usize,
    in_: usize,
    writable_bytes: usize,
    // A list mapped elsewhere was added (see `push_list`).
    external: bool,
    // Addresses known to be in the linear mapping, which need no check (see `trust`).
    trusted: Range<usize>,
    _storage: PhantomData<&'s mut SgStorage>,
    _memory: PhantomData<&'a mut [u8]>,
}

impl<'s, 'a> SgList<'s, 'a> {
    /// A list that only counts what is described, to learn a buffer's writable size when it
    /// comes back, without checking and mapping its memory again.
    pub(crate) fn counting() -> Self {
        // INVARIANT: A counting list has no storage.
        Self {
            entries: ptr::null_mut(),
            ptrs: ptr::null_mut(),
            capacity: usize::MAX,
            out: 0,
            in_: 0,
            writable_bytes: 0,
            external: false,
            trusted: 0..0,
            _storage: PhantomData,
            _memory: PhantomData,
        }
    }

    /// The number of device-readable entries.
    pub fn readable_entries(&self) -> usize {
        self.out
    }

    /// The number of device-writable entries.
    pub fn writable_entries(&self) -> usize {
        self.in_
    }

    /// The total size of the device-writable entries.
    pub fn writable_bytes(&self) -> usize {
        self.writable_bytes
    }

    /// The number of entries the list can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    #[inline]
    fn counts_only(&self) -> bool {
        self.entries.is_null()
    }

    /// Marks `range` as memory in the linear mapping (a block request's private data, which
    /// blk-mq allocates from pages), so that entries inside it are not checked again.
    ///
    /// # Safety
    ///
    /// Every address in `range` must be in the kernel's linear mapping.
    pub(crate) unsafe fn trust(&mut self, range: Range<usize>) {
        self.trusted = range;
    }

    /// Reserves the next entry, checking the order and the size; returns its index.
    #[inline]
    fn next_entry(&mut self, writable: bool, len: usize) -> Result<(usize, u32)> {
        if !writable && self.in_ != 0 {
            // The device expects every readable entry before the writable ones.
            return Err(EINVAL);
        }
        let len32 = u32::try_from(len).map_err(|_| EINVAL)?;
        if len32 == 0 {
            return Err(EINVAL);
        }
        let i = self.out + self.in_;
        if i >= self.capacity {
            return Err(E2BIG);
        }
        if writable {
            self.writable_bytes = self.writable_bytes.checked_add(len).ok_or(EINVAL)?;
            self.in_ += 1;
        } else {
            self.out += 1;
        }
        Ok((i, len32))
    }

    /// The storage entry `i`, recorded as the `i`-th list.
    ///
    /// # Safety
    ///
    /// The list must have storage and `i < self.capacity`.
    #[inline]
    unsafe fn entry(&mut self, i: usize) -> *mut bindings::scatterlist {
        // SAFETY: By the safety requirements and the type invariant `i` is inside both arrays.
        unsafe {
            let entry = self.entries.add(i);
            *self.ptrs.add(i) = entry;
            entry
        }
    }

    #[inline]
    fn push_buf(&mut self, addr: *const u8, len: usize, writable: bool) -> Result {
        let start = addr as usize;
        let trusted = self.trusted.start <= start
            && start
                .checked_add(len)
                .is_some_and(|end| end <= self.trusted.end);
        if !trusted && !self.counts_only() {
            // The ring finds the pages of a buffer from its virtual address, which only works
            // for the linear mapping: not for stack, vmalloc or module memory.
            // SAFETY: `virt_addr_valid()` only computes with the address.
            let first_ok = unsafe { bindings::virt_addr_valid(addr.cast()) };
            // SAFETY: As above.
            let last_ok = unsafe {
                bindings::virt_addr_valid(addr.wrapping_add(len.saturating_sub(1)).cast())
            };
            if !first_ok || !last_ok {
                return Err(EINVAL);
            }
        }
        let (i, len32) = self.next_entry(writable, len)?;
        if self.counts_only() {
            return Ok(());
        }
        // SAFETY: The list has storage and `next_entry` checked `i` against its capacity.
        let entry = unsafe { self.entry(i) };
        // SAFETY: `entry` is an initialised entry of the storage, marked as an end, which
        // `sg_set_buf()` keeps; `addr` is valid for `len` bytes for `'a` and in the linear
        // mapping (checked above, or trusted).
        unsafe { bindings::sg_set_buf(entry, addr.cast(), len32) };
        Ok(())
    }

    /// Adds `len` bytes at `addr` as one entry, which the device may write if `writable`.
    ///
    /// # Safety
    ///
    /// The memory must stay valid, and unused by anyone but the device, for `'a`.
    pub(crate) unsafe fn push_raw(
        &mut self,
        addr: *const u8,
        len: usize,
        writable: bool,
    ) -> Result {
        self.push_buf(addr, len, writable)
    }

    /// Adds the data of a socket buffer (its linear part and its page fragments) as entries
    /// the device may read (`skb_to_sgvec_nomark()`), the first starting `before` bytes
    /// before the data (a header written in the head room). `EINVAL` if it has a list of
    /// further buffers (whose entries could not be bounded), `E2BIG` if it has more fragments
    /// than the list has room for.
    ///
    /// # Safety
    ///
    /// `skb` must be a valid socket buffer whose data, and the `before` bytes of head room
    /// before it, stay valid, and unchanged, for `'a`.
    pub(crate) unsafe fn push_skb(&mut self, skb: *mut bindings::sk_buff, before: usize) -> Result {
        if self.in_ != 0 {
            // The device expects every readable entry before the writable ones.
            return Err(EINVAL);
        }
        // SAFETY: The buffer is valid (safety requirements).
        let (frags, has_list, len, headlen, data) = unsafe {
            (
                usize::from(bindings::skb_nr_frags(skb)),
                bindings::skb_has_frag_list(skb),
                (*skb).len,
                bindings::skb_headlen(skb),
                (*skb).data,
            )
        };
        if has_list || len == 0 {
            return Err(EINVAL);
        }
        let first = self.out + self.in_;
        // The linear part takes at most one entry, each fragment one.
        let most = frags + 1;
        if first
            .checked_add(most)
            .is_none_or(|end| end > self.capacity)
        {
            return Err(E2BIG);
        }
        if self.counts_only() {
            // Readable entries do not count towards the writable size.
            return Ok(());
        }
        // What `skb_to_sgvec_nomark()` takes from `offset`: all of the data, or the fragments
        // once the linear part is an entry of its own.
        let mut offset = 0;
        if before > 0 {
            let head = (headlen as usize).checked_add(before).ok_or(EINVAL)?;
            let head32 = u32::try_from(head).map_err(|_| EINVAL)?;
            // SAFETY: The list has storage and room for `most` entries from `first` (checked
            // above).
            let entry = unsafe { self.entry(first) };
            // SAFETY: The head room before the data and the linear part are one range of the
            // buffer's head, valid for `'a` (safety requirements); a socket buffer's head is
            // in the linear mapping (`skb_to_sgvec()` relies on it too). `sg_set_buf()` keeps
            // the entry's end mark.
            unsafe { bindings::sg_set_buf(entry, data.wrapping_sub(before).cast(), head32) };
            self.out += 1;
            if headlen == len {
                return Ok(());
            }
            offset = headlen;
        }
        let first = self.out + self.in_;
        // What is left of the `frags + 1` entries checked above.
        let most = if offset == 0 { frags + 1 } else { frags };
        if most == 0 {
            // Data beyond the linear part but no fragment to hold it.
            return Err(EINVAL);
        }
        let rest = i32::try_from(len - offset).map_err(|_| EINVAL)?;
        let offset = i32::try_from(offset).map_err(|_| EINVAL)?;
        // The function fills consecutive entries of one list and refuses (`EMSGSIZE`) to go
        // past an end mark.
        let fill = |list| {
            // SAFETY: `list` has `most` entries, which bounds what the function writes for a
            // buffer without a fragment list (the linear part one entry unless `offset` skips
            // it, each fragment one); the entries are initialised, and `sg_set_page()` keeps
            // their marks.
            unsafe { bindings::skb_to_sgvec_nomark(skb, list, offset, rest) }
        };
        // SAFETY: The storage has `most` entries from `first` (checked above: the entry taken
        // by the linear part is one of the `frags + 1`).
        let n = unsafe { self.as_one_list(first, most, fill) };
        let n = usize::try_from(n).map_err(|_| EINVAL)?;
        if n == 0 || n > most {
            return Err(EINVAL);
        }
        for i in first..first + n {
            // SAFETY: `i` is below the capacity (checked above).
            unsafe { self.entry(i) };
        }
        self.out += n;
        Ok(())
    }

    /// Runs `f` on entries `first..first + n` made one list (terminated at the last), then
    /// makes them single terminated entries again (the storage's invariant), for the C
    /// functions that take or fill a list rather than single entries.
    ///
    /// # Safety
    ///
    /// `first + n` must not exceed the storage's capacity, and `n` must not be 0.
    unsafe fn as_one_list<R>(
        &mut self,
        first: usize,
        n: usize,
        f: impl FnOnce(*mut bindings::scatterlist) -> R,
    ) -> R {
        for i in first..first + n - 1 {
            // SAFETY: `i` is below the capacity (safety requirements).
            unsafe { bindings::sg_unmark_end(self.entries.add(i)) };
        }
        // SAFETY: `first` is below the capacity (safety requirements).
        let ret = f(unsafe { self.entries.add(first) });
        for i in first..first + n - 1 {
            // SAFETY: As above.
            unsafe { bindings::sg_mark_end(self.entries.add(i)) };
        }
        ret
    }

    /// Adds a scatterlist mapped elsewhere (such as a block request's data) as one entry.
    ///
    /// # Safety
    ///
    /// `list` must be an initialised, terminated scatterlist of `bytes` bytes whose entries
    /// and memory stay valid and unused by anyone else for `'a`.
    #[inline]
    pub(crate) unsafe fn push_list(
        &mut self,
        list: *mut bindings::scatterlist,
        bytes: usize,
        writable: bool,
    ) -> Result {
        let (i, _) = self.next_entry(writable, bytes)?;
        if !self.counts_only() {
            // SAFETY: The list has storage and `next_entry` checked `i` against its capacity.
            unsafe { *self.ptrs.add(i) = list };
            self.external = true;
        }
        Ok(())
    }

    /// Adds memory the device may read.
    #[inline]
    pub fn readable(&mut self, buf: &'a [u8]) -> Result {
        self.push_buf(buf.as_ptr(), buf.len(), false)
    }

    /// Adds memory the device may write.
    #[inline]
    pub fn writable(&mut self, buf: &'a mut [u8]) -> Result {
        self.push_buf(buf.as_mut_ptr(), buf.len(), true)
    }

    fn push_page(
        &mut self,
        page: *mut bindings::page,
        offset: usize,
        len: usize,
        writable: bool,
    ) -> Result {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > kernel::page::PAGE_SIZE {
            return Err(EINVAL);
        }
        let offset32 = u32::try_from(offset).map_err(|_| EINVAL)?;
        let (i, len32) = self.next_entry(writable, len)?;
        if self.counts_only() {
            return Ok(());
        }
        // SAFETY: The list has storage and `next_entry` checked `i` against its capacity.
        let entry = unsafe { self.entry(i) };
        // SAFETY: `entry` is an initialised entry of the storage, marked as an end, which
        // `sg_set_page()` keeps; `page` is valid for `'a` and the range is inside it.
        unsafe { bindings::sg_set_page(entry, page, len32, offset32) };
        Ok(())
    }

    /// Adds `len` bytes at `offset` of a page the device may write.
    ///
    /// # Safety
    ///
    /// The page must stay valid, and unused by anyone but the device, for `'a`.
    pub(crate) unsafe fn push_page_raw(
        &mut self,
        page: *mut bindings::page,
        offset: usize,
        len: usize,
        writable: bool,
    ) -> Result {
        self.push_page(page, offset, len, writable)
    }

    /// Adds `len` bytes at `offset` of a page the device may read.
    pub fn readable_page(&mut self, page: &'a Page, offset: usize, len: usize) -> Result {
        self.push_page(page.as_ptr(), offset, len, false)
    }

    /// Adds `len` bytes at `offset` of a page the device may write.
    pub fn writable_page(&mut self, page: &'a mut Page, offset: usize, len: usize) -> Result {
        self.push_page(page.as_ptr(), offset, len, true)
    }

    /// Adds the described buffer to `vq` with `token`, and with `ctx` if it is not null (then
    /// every entry must be device-writable and in the storage).
    ///
    /// # Safety
    ///
    /// `vq` must be a live virtqueue that no other operation uses meanwhile (except the ones
    /// the ring allows concurrently), created with a context if `ctx` is not null. The described
    /// memory must stay valid until the ring returns `token` (from `virtqueue_get_buf()` or
    /// `virtqueue_detach_unused_buf()`).
    pub(crate) unsafe fn add_to(
        &mut self,
        vq: *mut bindings::virtqueue,
        token: *mut c_void,
        ctx: *mut c_void,
        gfp: u32,
    ) -> Result {
        let n = self.out + self.in_;
        // A counting list has no entries filled in.
        if n == 0 || self.counts_only() {
            return Err(EINVAL);
        }
        let out = u32::try_from(self.out).map_err(|_| EINVAL)?;
        let in_ = u32::try_from(self.in_).map_err(|_| EINVAL)?;
        if ctx.is_null() {
            // SAFETY: By the type invariant `ptrs[..n]` are terminated lists of memory valid
            // until the token comes back (safety requirements); `vq` is live and not used
            // concurrently.
            return to_result(unsafe {
                bindings::virtqueue_add_sgs(vq, self.ptrs, out, in_, token, gfp)
            });
        }
        // Only `virtqueue_add_inbuf_ctx()` takes a context: one list of writable entries. The
        // storage's entries are made one list for the call, then single entries again.
        if out != 0 || self.external {
            return Err(EINVAL);
        }
        let add = |list| {
            // SAFETY: `list` is `entries[..n]`, one list terminated at `n - 1`, whose memory
            // is valid until the token comes back; `vq` is live, not used concurrently, created
            // with a context (safety requirements), so the ring does not use indirect
            // descriptors for it.
            unsafe { bindings::virtqueue_add_inbuf_ctx(vq, list, in_, token, ctx, gfp) }
        };
        // SAFETY: `n <= capacity` entries of the storage (type invariant), `n != 0`.
        let ret = unsafe { self.as_one_list(0, n, add) };
        to_result(ret)
    }
}

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_sg)]
mod tests {
    use super::super::super::net::{
        page_pool::PagePool,
        skbuff::SkBuff, //
    };
    use super::*;
    use kernel::alloc::VVec;

    /// Fails if a device-readable entry may follow a device-writable one: the device would
    /// read the status byte as payload and write over the request header.
    #[test]
    fn readable_after_writable_is_rejected() -> Result {
        let mut a = KVec::from_elem(0u8, 16, GFP_KERNEL)?;
        let b = KVec::from_elem(0u8, 16, GFP_KERNEL)?;
        let mut storage = SgStorage::new(4)?;
        let mut sg = storage.list();
        sg.writable(&mut a)?;
        assert_eq!(sg.readable(&b), Err(EINVAL));
        assert_eq!(sg.readable_entries(), 0);
        assert_eq!(sg.writable_entries(), 1);
        Ok(())
    }

    /// Fails if the counts the ring is given do not match the entries, or if the writable size
    /// (used to check the device's used length) counts readable bytes.
    #[test]
    fn counts_and_writable_size() -> Result {
        let head = KVec::from_elem(0u8, 16, GFP_KERNEL)?;
        let mut data = KVec::from_elem(0u8, 512, GFP_KERNEL)?;
        let mut status = KVec::from_elem(0u8, 1, GFP_KERNEL)?;
        let mut storage = SgStorage::new(4)?;
        let mut sg = storage.list();
        sg.readable(&head)?;
        sg.writable(&mut data)?;
        sg.writable(&mut status)?;
        assert_eq!(sg.readable_entries(), 1);
        assert_eq!(sg.writable_entries(), 2);
        assert_eq!(sg.writable_bytes(), 513);
        Ok(())
    }

    /// Fails if an empty entry is accepted (the ring rejects or mishandles zero-length
    /// descriptors) or if the list overflows its storage instead of failing.
    #[test]
    fn empty_entries_and_overflow_fail() -> Result {
        const N: usize = 19;
        let buf = KVec::from_elem(0u8, 8 * N, GFP_KERNEL)?;
        let mut storage = SgStorage::new(N)?;
        let mut sg = storage.list();
        assert_eq!(sg.readable(&buf[..0]), Err(EINVAL));
        for chunk in buf.chunks(8) {
            sg.readable(chunk)?;
        }
        assert_eq!(sg.readable(&buf[..8]), Err(E2BIG));
        assert_eq!(sg.readable_entries(), N);
        Ok(())
    }

    /// Fails if memory outside the linear mapping (vmalloc, module data) is accepted: the ring
    /// would compute wrong physical addresses from it and the device would access other
    /// memory.
    #[test]
    fn memory_outside_linear_map_is_rejected() -> Result {
        let v = VVec::from_elem(0u8, 64, GFP_KERNEL)?;
        let mut storage = SgStorage::new(4)?;
        let mut sg = storage.list();
        assert_eq!(sg.readable(&v), Err(EINVAL));
        // A module's statics are in vmalloc space. Built in, a static is in the kernel image,
        // which `virt_addr_valid()` accepts (and `sg_set_buf()` maps correctly).
        #[cfg(MODULE)]
        {
            static MODULE_DATA: [u8; 16] = [0; 16];
            assert_eq!(sg.readable(&MODULE_DATA), Err(EINVAL));
        }
        assert_eq!(sg.readable_entries(), 0);
        Ok(())
    }

    /// A socket buffer of 64 zero bytes after `headroom` bytes of head room, with a fragment
    /// of each of `frags` bytes from `pool`.
    fn skb_with_fragments(pool: &mut PagePool, headroom: u32, frags: &[u32]) -> Result<SkBuff> {
        let mut skb = SkBuff::alloc(headroom + 64, GFP_KERNEL)?;
        let head = skb
            .reserve(headroom)
            .and_then(|()| skb.put(64).map(|head| head.fill(0)));
        if let Err(e) = head {
            skb.consume();
            return Err(e);
        }
        for &len in frags {
            let added = match pool.alloc(1024, GFP_KERNEL) {
                Ok(buf) => skb.add_pool_frag(buf, 0, len).is_ok(),
                Err(_) => false,
            };
            if !added {
                skb.consume();
                return Err(ENOMEM);
            }
        }
        Ok(skb)
    }

    /// Fails if a socket buffer with page fragments is refused, or described as anything but
    /// one entry for its linear part and one for each fragment, each terminated: the ring would
    /// drop every scatter-gather packet, or walk from one entry into the next.
    #[test]
    fn socket_buffer_with_fragments() -> Result {
        let mut pool = PagePool::new(4, None)?;
        let skb = skb_with_fragments(&mut pool, 0, &[1000, 300])?;
        let mut storage = SgStorage::new(4)?;
        let (pushed, entries) = {
            let mut sg = storage.list();
            // SAFETY: The buffer is valid, and unchanged while the list lives.
            let pushed = unsafe { sg.push_skb(skb.as_raw(), 0) };
            (pushed, sg.readable_entries())
        };
        skb.consume();
        pushed?;
        assert_eq!(entries, 3);
        let lengths = [64, 1000, 300, 0];
        for (entry, len) in storage.entries.iter_mut().zip(lengths) {
            assert_eq!(entry.length, len);
            // SAFETY: `entry` is an initialised entry.
            assert!(unsafe { bindings::sg_next(entry) }.is_null());
        }
        Ok(())
    }

    /// Fails if a header written in a socket buffer's head room is not lent with the linear
    /// part as one entry that starts at the header, or a fragment is lost or doubled: the
    /// device would read the packet without its header, or a fragment twice.
    #[test]
    fn socket_buffer_with_header_in_head_room() -> Result {
        const BEFORE: usize = 12;
        let mut pool = PagePool::new(4, None)?;
        for frags in [0usize, 2] {
            let skb = skb_with_fragments(&mut pool, 16, &[1000, 300][..frags])?;
            let data = skb.data().as_ptr();
            let mut storage = SgStorage::new(4)?;
            let (pushed, entries) = {
                let mut sg = storage.list();
                // SAFETY: The buffer is valid, with 16 bytes of head room, and unchanged
                // while the list lives.
                let pushed = unsafe { sg.push_skb(skb.as_raw(), BEFORE) };
                (pushed, sg.readable_entries())
            };
            skb.consume();
            pushed?;
            assert_eq!(entries, 1 + frags);
            let lengths = [64 + BEFORE as u32, 1000, 300];
            for (i, entry) in storage.entries.iter_mut().take(1 + frags).enumerate() {
                assert_eq!(entry.length, lengths[i]);
                // SAFETY: `entry` is an initialised entry.
                assert!(unsafe { bindings::sg_next(entry) }.is_null());
            }
            // SAFETY: The first entry was set from an address in the linear mapping.
            let start = unsafe { bindings::sg_virt(&mut storage.entries[0]) };
            assert_eq!(start.cast::<u8>().cast_const(), data.wrapping_sub(BEFORE));
        }
        Ok(())
    }

    /// Fails if reused storage keeps an entry from an earlier buffer as more than one entry, or
    /// loses an entry's end mark: the ring would then walk into the next entry.
    #[test]
    fn storage_entries_stay_terminated() -> Result {
        let a = KVec::from_elem(0u8, 32, GFP_KERNEL)?;
        let mut storage = SgStorage::new(3)?;
        for _ in 0..2 {
            let mut sg = storage.list();
            sg.readable(&a[..8])?;
            sg.readable(&a[8..16])?;
            sg.readable(&a[16..])?;
        }
        for entry in storage.entries.iter_mut() {
            // SAFETY: `entry` is an initialised entry.
            assert!(unsafe { bindings::sg_next(entry) }.is_null());
        }
        Ok(())
    }
}
