// SPDX-License-Identifier: GPL-2.0

//! Unmapped scatter-gather lists for virtqueues.
//!
//! C header: [`include/linux/scatterlist.h`](srctree/include/linux/scatterlist.h)
//!
//! The virtio ring maps buffers for the device itself (through the DMA API when the device
//! needs it), so a driver only describes memory: which parts the device may read and which it
//! may write. [`SgList`] collects that description on the stack, without allocating, for up to
//! [`SgList::MAX_ENTRIES`] entries.

use crate::bindings;
use core::{
    marker::PhantomData,
    mem::MaybeUninit,
    ptr, //
};
use kernel::{
    alloc::Flags,
    page::Page,
    prelude::*, //
};

/// A description of a buffer for the device: device-readable entries, then device-writable
/// ones.
///
/// The lifetime `'a` ties every entry to memory that outlives the list's use, which
/// [`Ring::add`](super::Ring::add) extends to the whole time the device holds the buffer.
pub struct SgList<'a> {
    entries: [MaybeUninit<bindings::scatterlist>; SgList::MAX_ENTRIES],
    // A list mapped elsewhere (see `push_list`) in place of `entries[i]`, or null.
    lists: [*mut bindings::scatterlist; SgList::MAX_ENTRIES],
    out: usize,
    in_: usize,
    writable_bytes: usize,
    // Only counting (`SgList::counting`): entries are not filled in.
    count_only: bool,
    _memory: PhantomData<&'a mut [u8]>,
}

impl<'a> SgList<'a> {
    /// The number of entries a list can hold.
    pub const MAX_ENTRIES: usize = 8;

    pub(crate) fn new() -> Self {
        Self {
            entries: [const { MaybeUninit::uninit() }; SgList::MAX_ENTRIES],
            lists: [ptr::null_mut(); SgList::MAX_ENTRIES],
            out: 0,
            in_: 0,
            writable_bytes: 0,
            count_only: false,
            _memory: PhantomData,
        }
    }

    /// A list that only counts what is described, to learn a buffer's writable size when it
    /// comes back, without checking and mapping its memory again.
    pub(crate) fn counting() -> Self {
        Self {
            count_only: true,
            ..Self::new()
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

    fn next_entry(
        &mut self,
        writable: bool,
        len: usize,
    ) -> Result<(*mut bindings::scatterlist, u32)> {
        if !writable && self.in_ != 0 {
            // The device expects every readable entry before the writable ones.
            return Err(EINVAL);
        }
        let len32 = u32::try_from(len).map_err(|_| EINVAL)?;
        if len32 == 0 {
            return Err(EINVAL);
        }
        let i = self.out + self.in_;
        let entry = self.entries.get_mut(i).ok_or(E2BIG)?.as_mut_ptr();
        if writable {
            self.writable_bytes = self.writable_bytes.checked_add(len).ok_or(EINVAL)?;
            self.in_ += 1;
        } else {
            self.out += 1;
        }
        Ok((entry, len32))
    }

    fn push_buf(&mut self, addr: *const u8, len: usize, writable: bool) -> Result {
        if self.count_only {
            return self.next_entry(writable, len).map(|_| ());
        }
        // The ring finds the pages of a buffer from its virtual address, which only works for
        // the linear mapping: not for stack, vmalloc or module memory.
        // SAFETY: `virt_addr_valid()` only computes with the address.
        let first_ok = unsafe { bindings::virt_addr_valid(addr.cast()) };
        // SAFETY: As above; `len > 0` is checked by `next_entry` before this is used.
        let last_ok =
            unsafe { bindings::virt_addr_valid(addr.wrapping_add(len.saturating_sub(1)).cast()) };
        if !first_ok || !last_ok {
            return Err(EINVAL);
        }
        let (entry, len32) = self.next_entry(writable, len)?;
        // SAFETY: `entry` is a slot of `self.entries`; `addr` is valid for `len` bytes for `'a`.
        unsafe { bindings::sg_init_one(entry, addr.cast(), len32) };
        Ok(())
    }

    /// Adds a scatterlist mapped elsewhere (such as a block request's data) as one entry.
    ///
    /// # Safety
    ///
    /// `list` must be an initialised, terminated scatterlist of `bytes` bytes whose entries
    /// and memory stay valid and unused by anyone else for `'a`.
    pub(crate) unsafe fn push_list(
        &mut self,
        list: *mut bindings::scatterlist,
        bytes: usize,
        writable: bool,
    ) -> Result {
        let i = self.out + self.in_;
        let (_, _) = self.next_entry(writable, bytes)?;
        self.lists[i] = list;
        Ok(())
    }

    /// Adds memory the device may read.
    pub fn readable(&mut self, buf: &'a [u8]) -> Result {
        self.push_buf(buf.as_ptr(), buf.len(), false)
    }

    /// Adds memory the device may write.
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
        let (entry, len32) = self.next_entry(writable, len)?;
        if self.count_only {
            return Ok(());
        }
        // SAFETY: `entry` is a slot of `self.entries`; `page` is valid for `'a` and the range is
        // inside it.
        unsafe {
            bindings::sg_init_table(entry, 1);
            bindings::sg_set_page(entry, page, len32, offset32);
        }
        Ok(())
    }

    /// Adds `len` bytes at `offset` of a page the device may read.
    pub fn readable_page(&mut self, page: &'a Page, offset: usize, len: usize) -> Result {
        self.push_page(page.as_ptr(), offset, len, false)
    }

    /// Adds `len` bytes at `offset` of a page the device may write.
    pub fn writable_page(&mut self, page: &'a mut Page, offset: usize, len: usize) -> Result {
        self.push_page(page.as_ptr(), offset, len, true)
    }

    /// The writable size `buf` describes.
    pub(crate) fn writable_len<B: super::Buffer>(buf: &mut B) -> Result<usize> {
        let mut sg = SgList::new();
        buf.describe(&mut sg)?;
        Ok(sg.writable_bytes)
    }

    /// Adds the described buffer to `vq` with `token`.
    ///
    /// The caller guarantees that the described memory stays valid until the ring returns
    /// `token` (by `virtqueue_get_buf()` or `virtqueue_detach_unused_buf()`).
    pub(crate) fn add_to(
        &mut self,
        vq: *mut bindings::virtqueue,
        token: *mut c_void,
        gfp: Flags,
    ) -> Result {
        let n = self.out + self.in_;
        // A counting list has no entries filled in.
        if n == 0 || self.count_only {
            return Err(EINVAL);
        }
        let mut sgs = [ptr::null_mut::<bindings::scatterlist>(); SgList::MAX_ENTRIES];
        for (i, slot) in sgs.iter_mut().enumerate().take(n) {
            // PANIC: `i < n <= MAX_ENTRIES`.
            *slot = if self.lists[i].is_null() {
                self.entries[i].as_mut_ptr()
            } else {
                self.lists[i]
            };
        }
        let out = u32::try_from(self.out).map_err(|_| EINVAL)?;
        let in_ = u32::try_from(self.in_).map_err(|_| EINVAL)?;
        // SAFETY: `vq` is valid and locked by the caller; each `sgs[i]` is an initialised
        // single-entry list (`sg_init_one()`/`sg_init_table()` mark the end) or a terminated
        // list given to `push_list`; the memory stays valid until the token comes back
        // (caller's guarantee).
        to_result(unsafe {
            bindings::virtqueue_add_sgs(vq, sgs.as_mut_ptr(), out, in_, token, gfp_raw(gfp))
        })
    }
}

/// The C value of `flags`.
///
/// `Flags::as_raw()` is private to the kernel crate in 7.3, so out of tree the value is found
/// among the flags the kernel crate exposes; anything else becomes `GFP_ATOMIC`, which is valid
/// in every context. In the kernel tree this is `flags.as_raw()`.
pub(crate) fn gfp_raw(flags: Flags) -> u32 {
    use kernel::alloc::flags::*;
    let bases = [
        (GFP_KERNEL, bindings::GFP_KERNEL),
        (GFP_ATOMIC, bindings::GFP_ATOMIC),
        (GFP_NOWAIT, bindings::GFP_NOWAIT),
        (GFP_KERNEL_ACCOUNT, bindings::GFP_KERNEL_ACCOUNT),
    ];
    for (base, raw) in bases {
        for (extra, raw_extra) in [
            (None, 0),
            (Some(__GFP_NOWARN), bindings::__GFP_NOWARN),
            (Some(__GFP_ZERO), bindings::__GFP_ZERO),
        ] {
            let candidate = extra.map_or(base, |e| base | e);
            if flags == candidate {
                return raw | raw_extra;
            }
        }
    }
    bindings::GFP_ATOMIC
}

use kernel::error::to_result;

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_sg)]
mod tests {
    use super::*;
    use kernel::alloc::flags::*;
    use kernel::alloc::VVec;

    /// Fails if a device-readable entry may follow a device-writable one: the device would
    /// read the status byte as payload and write over the request header.
    #[test]
    fn readable_after_writable_is_rejected() -> Result {
        let mut a = KVec::from_elem(0u8, 16, GFP_KERNEL)?;
        let b = KVec::from_elem(0u8, 16, GFP_KERNEL)?;
        let mut sg = SgList::new();
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
        let mut sg = SgList::new();
        sg.readable(&head)?;
        sg.writable(&mut data)?;
        sg.writable(&mut status)?;
        assert_eq!(sg.readable_entries(), 1);
        assert_eq!(sg.writable_entries(), 2);
        assert_eq!(sg.writable_bytes(), 513);
        Ok(())
    }

    /// Fails if an empty entry is accepted (the ring rejects or mishandles zero-length
    /// descriptors) or if the list overflows its fixed storage instead of failing.
    #[test]
    fn empty_entries_and_overflow_fail() -> Result {
        let buf = KVec::from_elem(0u8, 8 * SgList::MAX_ENTRIES, GFP_KERNEL)?;
        let mut sg = SgList::new();
        assert_eq!(sg.readable(&buf[..0]), Err(EINVAL));
        for chunk in buf.chunks(8) {
            sg.readable(chunk)?;
        }
        assert_eq!(sg.readable(&buf[..8]), Err(E2BIG));
        assert_eq!(sg.readable_entries(), SgList::MAX_ENTRIES);
        Ok(())
    }

    /// Fails if memory outside the linear mapping (vmalloc, module data) is accepted: the ring
    /// would compute wrong physical addresses from it and the device would access other
    /// memory.
    #[test]
    fn memory_outside_linear_map_is_rejected() -> Result {
        let v = VVec::from_elem(0u8, 64, GFP_KERNEL)?;
        static MODULE_DATA: [u8; 16] = [0; 16];
        let mut sg = SgList::new();
        assert_eq!(sg.readable(&v), Err(EINVAL));
        assert_eq!(sg.readable(&MODULE_DATA), Err(EINVAL));
        assert_eq!(sg.readable_entries(), 0);
        Ok(())
    }

    /// Fails if allocation flags reach the ring as something else, e.g. a sleeping allocation
    /// from an atomic caller.
    #[test]
    fn gfp_flags_map_to_c_values() {
        assert_eq!(gfp_raw(GFP_KERNEL), bindings::GFP_KERNEL);
        assert_eq!(gfp_raw(GFP_ATOMIC), bindings::GFP_ATOMIC);
        assert_eq!(
            gfp_raw(GFP_NOWAIT | __GFP_NOWARN),
            bindings::GFP_NOWAIT | bindings::__GFP_NOWARN
        );
        // Anything unknown falls back to the one that is valid everywhere.
        assert_eq!(gfp_raw(GFP_KERNEL | __GFP_HIGHMEM), bindings::GFP_ATOMIC);
    }
}
