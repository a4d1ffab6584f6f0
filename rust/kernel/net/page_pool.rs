// SPDX-License-Identifier: GPL-2.0

//! Page pools (`struct page_pool`): receive buffers carved from pages that come back to the
//! pool, not to the page allocator, when the stack is done with them.
//!
//! A [`PagePool`] belongs to one receive queue and is used from one context at a time (the
//! queue's NAPI poll, or the code that owns the queue while NAPI is disabled): it lives in the
//! queue's [`NapiOwned`] data, and allocation and direct recycling take `&mut self`. It gives
//! out [`PoolBuf`]s, each a fragment of a pool page with one reference to it; a buffer is
//! lent to a device, then copied from and recycled ([`PagePool::recycle`]), attached to a
//! socket buffer ([`SkBuff::add_pool_frag`], which marks the buffer for recycling), or
//! dropped, which returns it to the pool from any context.
//!
//! The pool is created for allocation only: it neither maps pages for DMA (the virtqueue maps
//! what it lends) nor knows the NAPI context (so the stack's returns go through the pool's
//! ring rather than its lockless cache).
//!
//! [`NapiOwned`]: super::napi::NapiOwned
//! [`SkBuff::add_pool_frag`]: super::skbuff::SkBuff::add_pool_frag
//!
//! C header: [`include/net/page_pool/helpers.h`](srctree/include/net/page_pool/helpers.h)

use crate::bindings;
use core::ptr::NonNull;
use kernel::{alloc::Flags, prelude::*};

/// The unit of buffer sizes and the alignment of buffers: a [`PoolBuf`] keeps its size in the
/// low bits of its address.
pub const BUF_ALIGN: usize = 64;

/// The size of a pool page (order 0).
pub const PAGE_SIZE: usize = kernel::page::PAGE_SIZE;

const _: () = assert!(
    PAGE_SIZE / BUF_ALIGN <= BUF_ALIGN,
    "sizes must fit the low bits"
);

/// A page pool.
///
/// # Invariants
///
/// `pool` was created by `page_pool_create()` with pages of order 0 and no DMA mapping, and is
/// destroyed when this is dropped.
pub struct PagePool {
    pool: NonNull<bindings::page_pool>,
}

// SAFETY: The pool may be used from any thread, by one at a time (`&mut self`); the C code
// makes the returns from other contexts safe.
unsafe impl Send for PagePool {}

impl PagePool {
    /// A pool that keeps up to `size` pages ready (usually the ring's size), on the memory
    /// node `nid` (`None`: any).
    pub fn new(size: u32, nid: Option<i32>) -> Result<Self> {
        let mut params = bindings::page_pool_params::default();
        // SAFETY: `struct page_pool_params` begins with its `fast` group
        // (`struct_group_tagged()`: a union of the members and a `struct
        // page_pool_params_fast` of the same members), so the cast pointer is valid, aligned and
        // exclusive for as long as `params` is borrowed; the members are plain data (integers
        // and pointers), zeroed by `default()`. The C code reads them as `params->order` and so
        // on.
        let fast = unsafe {
            &mut *core::ptr::from_mut(&mut params)
                .cast::<bindings::page_pool_params__bindgen_ty_1_page_pool_params_fast>()
        };
        fast.order = 0;
        fast.pool_size = size;
        fast.nid = nid.unwrap_or(bindings::NUMA_NO_NODE);
        // SAFETY: `params` is valid for the call; no flags: allocation only.
        let pool = unsafe { bindings::page_pool_create(&params) };
        let pool = kernel::error::from_err_ptr(pool)?;
        // INVARIANT: Created just above with order 0 and no flags.
        NonNull::new(pool).map(|pool| Self { pool }).ok_or(ENOMEM)
    }

    /// A buffer of at least `size` bytes (a multiple of [`BUF_ALIGN`], at most a page): the
    /// pool may give the rest of a page that would not hold another buffer (C's
    /// `page_pool_alloc()`).
    pub fn alloc(&mut self, size: usize, flags: Flags) -> Result<PoolBuf> {
        if size == 0 || size > PAGE_SIZE || size % BUF_ALIGN != 0 {
            return Err(EINVAL);
        }
        let gfp = super::skbuff::raw_gfp(flags)? & !bindings::__GFP_HIGHMEM;
        let (mut offset, mut len) = (0u32, size as u32);
        // SAFETY: The pool is valid; `&mut self` makes this the only allocation in progress,
        // as the pool's lockless cache requires. Not highmem: the page has an address.
        let page =
            unsafe { bindings::page_pool_alloc(self.pool.as_ptr(), &mut offset, &mut len, gfp) };
        let page = NonNull::new(page).ok_or(ENOMEM)?;
        // SAFETY: A page of the pool, not highmem.
        let addr = unsafe { bindings::page_address(page.as_ptr()) }.cast::<u8>();
        let (offset, len) = (offset as usize, len as usize);
        if addr.is_null()
            || offset % BUF_ALIGN != 0
            || len % BUF_ALIGN != 0
            || len == 0
            || offset + len > PAGE_SIZE
        {
            // Not what this type can describe (cannot happen with sizes in units of
            // `BUF_ALIGN`): given back.
            // SAFETY: The fragment's reference is ours; the pool is valid.
            unsafe {
                bindings::page_pool_put_page(self.pool.as_ptr(), page.as_ptr(), u32::MAX, true)
            };
            return Err(EINVAL);
        }
        let tagged = addr.wrapping_add(offset).wrapping_add(len / BUF_ALIGN - 1);
        // INVARIANT: One reference to the fragment at `addr + offset`, of `len` bytes, both
        // multiples of `BUF_ALIGN`, in a page of this pool.
        Ok(PoolBuf {
            // `addr` is not null, and adding less than a page keeps it in the linear map.
            tagged: NonNull::new(tagged).ok_or(EINVAL)?,
        })
    }

    /// Gives `buf` back to the pool's cache for the next allocation (the pool's context:
    /// `&mut self`), if it is this pool's; another pool's buffer is dropped.
    pub fn recycle(&mut self, buf: PoolBuf) {
        let page = buf.page();
        // SAFETY: The buffer holds a reference to a pool page (type invariant).
        if unsafe { bindings::page_pool_of(page) } != self.pool.as_ptr() {
            drop(buf);
            return;
        }
        let _ = buf.into_raw();
        // SAFETY: The reference is ours (given up by `into_raw`) and the page this pool's;
        // `&mut self` makes this the pool's only user, which direct recycling requires.
        unsafe { bindings::page_pool_put_page(self.pool.as_ptr(), page, u32::MAX, true) };
    }
}

impl Drop for PagePool {
    fn drop(&mut self) {
        // SAFETY: The pool is valid and no longer used through `self`; pages still out (in
        // buffers or socket buffers) keep the C pool alive until they come back.
        unsafe { bindings::page_pool_destroy(self.pool.as_ptr()) };
    }
}

/// A receive buffer: a fragment of a pool page, with one reference to the page.
///
/// Dropping it returns the reference through the pool's ring, which may be done in any context
/// but hard interrupt context (`page_pool_put_page()` asserts that): buffers are dropped by NAPI
/// polls and process context, not by a virtqueue's callback.
///
/// # Invariants
///
/// `tagged` is the fragment's address plus its size in units of [`BUF_ALIGN`] less one; the
/// address and size are multiples of [`BUF_ALIGN`], the fragment lies within one order-0 page
/// of a page pool, in the linear map, and this value owns one of the page's pool references.
pub struct PoolBuf {
    tagged: NonNull<u8>,
}

// SAFETY: The buffer is owned; dropping it returns the page through the pool's ring, which is
// safe from any context.
unsafe impl Send for PoolBuf {}

impl PoolBuf {
    /// The address of the buffer.
    pub(crate) fn addr(&self) -> *mut u8 {
        let tag = self.tagged.as_ptr() as usize % BUF_ALIGN;
        self.tagged.as_ptr().wrapping_sub(tag)
    }

    /// The size of the buffer.
    pub fn len(&self) -> usize {
        (self.tagged.as_ptr() as usize % BUF_ALIGN + 1) * BUF_ALIGN
    }

    /// Whether the buffer is empty (never).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The buffer's page.
    pub(crate) fn page(&self) -> *mut bindings::page {
        // SAFETY: The address is in the linear map (type invariant).
        unsafe { bindings::virt_to_page(self.addr().cast()) }
    }

    /// The buffer's offset in its page.
    pub(crate) fn offset(&self) -> usize {
        self.addr() as usize % PAGE_SIZE
    }

    /// Gives up the buffer; the caller owns its page reference.
    pub(crate) fn into_raw(self) -> NonNull<u8> {
        let tagged = self.tagged;
        core::mem::forget(self);
        tagged
    }

    /// Takes a buffer back.
    ///
    /// # Safety
    ///
    /// `tagged` must come from [`PoolBuf::into_raw`] and not have been taken back yet.
    pub(crate) unsafe fn from_raw(tagged: NonNull<u8>) -> Self {
        // INVARIANT: By the safety requirements.
        Self { tagged }
    }

    /// Copies `dst.len()` bytes from `offset` in the buffer. `EINVAL` if the range is not
    /// inside the buffer.
    pub fn copy_to(&self, offset: usize, dst: &mut [u8]) -> Result {
        let end = offset.checked_add(dst.len()).ok_or(EINVAL)?;
        if end > self.len() {
            return Err(EINVAL);
        }
        // SAFETY: The range is inside the buffer (checked above), which this value owns; `dst`
        // is a distinct, writable buffer. The bytes are whatever a device wrote there and are
        // only copied.
        unsafe {
            core::ptr::copy_nonoverlapping(self.addr().add(offset), dst.as_mut_ptr(), dst.len())
        };
        Ok(())
    }
}

impl Drop for PoolBuf {
    fn drop(&mut self) {
        let page = self.page();
        // SAFETY: The buffer holds a reference to a pool page (type invariant), which keeps
        // the pool alive; the return through the pool's ring works in any context.
        unsafe {
            bindings::page_pool_put_page(bindings::page_pool_of(page), page, u32::MAX, false)
        };
    }
}

#[cfg(rvirtio_kunit)]
use kernel::prelude::kunit_tests;

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_page_pool)]
mod tests {
    use super::super::skbuff::{
        SkBuff,
        MAX_FRAGS, //
    };
    use super::*;

    /// Fails if a buffer does not carry the size it was given (in the low bits of its
    /// address), is smaller than asked, or crosses its page: the device would be lent memory
    /// beyond the buffer.
    #[test]
    fn buffers_carry_their_size() -> Result {
        let mut pool = PagePool::new(16, None)?;
        for size in [64, 1536, 1536, 2048, 4096, 64] {
            let buf = pool.alloc(size, GFP_KERNEL)?;
            let (len, offset) = (buf.len(), buf.offset());
            let aligned = buf.addr() as usize % BUF_ALIGN == 0;
            pool.recycle(buf);
            assert!(aligned);
            assert!(len >= size && len % BUF_ALIGN == 0);
            assert!(offset + len <= PAGE_SIZE);
        }
        assert_eq!(pool.alloc(100, GFP_KERNEL).map(drop), Err(EINVAL));
        assert_eq!(
            pool.alloc(PAGE_SIZE + BUF_ALIGN, GFP_KERNEL).map(drop),
            Err(EINVAL)
        );
        Ok(())
    }

    /// Fails if a packet of more buffers than a socket buffer has fragments is refused, or its
    /// length is not the sum of its parts: a large packet received in small buffers would be
    /// dropped, or passed on with a wrong length.
    #[test]
    fn long_packet_chains_on_the_frag_list() -> Result {
        const BUFS: u32 = MAX_FRAGS + 3;
        let mut pool = PagePool::new(32, None)?;
        let mut skb = SkBuff::alloc(64, GFP_KERNEL)?;
        let mut result = skb.put(64).map(|head| head.fill(0));
        for _ in 0..BUFS {
            if result.is_err() {
                break;
            }
            result = match pool.alloc(1536, GFP_KERNEL) {
                Ok(buf) => skb.append_pool_frag(buf, 0, 1000).map_err(|_| EINVAL),
                Err(e) => Err(e),
            };
        }
        let (len, frags) = (skb.len(), skb.nr_frags());
        // SAFETY: The buffer is valid.
        let chained = !unsafe { (*bindings::skb_shinfo(skb.as_raw())).frag_list }.is_null();
        skb.consume();
        result?;
        assert_eq!(len, 64 + BUFS * 1000);
        assert_eq!(frags, MAX_FRAGS);
        assert!(chained);
        Ok(())
    }
}
