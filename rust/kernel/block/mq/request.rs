// SPDX-License-Identifier: GPL-2.0

//! This module provides a wrapper for the C `struct request` type.
//!
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h)

use super::Operations;
use crate::bindings;
use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    pin::Pin,
    ptr::{
        self,
        NonNull, //
    },
};
use kernel::{
    error::{
        to_result,
        Result, //
    },
    prelude::*,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        atomic::Relaxed,
        Refcount, //
    },
    types::Opaque, //
};

/// A wrapper around a blk-mq [`struct request`]. This represents an IO request.
///
/// # Implementation details
///
/// There are four states for a request that the Rust bindings care about:
///
/// 1. Request is owned by block layer (refcount 0).
/// 2. Request is owned by driver but with zero [`ARef`]s in existence
///    (refcount 1).
/// 3. Request is owned by driver with exactly one [`ARef`] in existence
///    (refcount 2).
/// 4. Request is owned by driver with more than one [`ARef`] in existence
///    (refcount > 2).
///
///
/// We need to track 1 and 2 to ensure we fail tag to request conversions for
/// requests that are not owned by the driver.
///
/// We need to track 3 and 4 to ensure that it is safe to end the request and hand
/// back ownership to the block layer.
///
/// Note that the driver can still obtain new `ARef` even if there is no `ARef`s in existence by
/// using `tag_to_rq`, hence the need to distinguish B and C.
///
/// In state 3 the single [`ARef`] is the only way to reach the request, so it
/// may also give mutable access to the driver's data ([`Request::data_mut`]) and
/// to the request's scatterlist ([`Request::map_sg`]).
///
/// The states are tracked through the private `refcount` field of
/// `RequestDataWrapper`. This structure lives in the private data area of the C
/// [`struct request`].
///
/// # Invariants
///
/// * `self.0` is a valid [`struct request`] created by the C portion of the
///   kernel.
/// * The private data area associated with this request must be an initialized
///   and valid `RequestDataWrapper<T>`.
/// * `self` is reference counted by atomic modification of
///   `self.wrapper_ref().refcount()`.
///
/// [`struct request`]: srctree/include/linux/blk-mq.h
///
#[repr(transparent)]
pub struct Request<T>(Opaque<bindings::request>, PhantomData<T>);

/// What a request asks the device to do (`enum req_op`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Read sectors (`REQ_OP_READ`).
    Read,
    /// Write sectors (`REQ_OP_WRITE`).
    Write,
    /// Flush the device's volatile write cache (`REQ_OP_FLUSH`).
    Flush,
    /// Discard sectors (`REQ_OP_DISCARD`).
    Discard,
    /// Securely erase sectors (`REQ_OP_SECURE_ERASE`).
    SecureErase,
    /// Write zeroes to sectors (`REQ_OP_WRITE_ZEROES`).
    WriteZeroes,
    /// A driver-private command that reads from the device (`REQ_OP_DRV_IN`).
    DriverIn,
    /// A driver-private command that writes to the device (`REQ_OP_DRV_OUT`).
    DriverOut,
    /// Any other operation (zone management), by its number.
    Other(u32),
}

impl Command {
    fn from_raw(op: u32) -> Self {
        match op {
            bindings::req_op_REQ_OP_READ => Self::Read,
            bindings::req_op_REQ_OP_WRITE => Self::Write,
            bindings::req_op_REQ_OP_FLUSH => Self::Flush,
            bindings::req_op_REQ_OP_DISCARD => Self::Discard,
            bindings::req_op_REQ_OP_SECURE_ERASE => Self::SecureErase,
            bindings::req_op_REQ_OP_WRITE_ZEROES => Self::WriteZeroes,
            bindings::req_op_REQ_OP_DRV_IN => Self::DriverIn,
            bindings::req_op_REQ_OP_DRV_OUT => Self::DriverOut,
            other => Self::Other(other),
        }
    }

    /// Whether the request transfers data through memory pages (its bios' vectors).
    pub fn has_data(self) -> bool {
        matches!(
            self,
            Self::Read | Self::Write | Self::DriverIn | Self::DriverOut
        )
    }

    /// Whether the device writes into the request's memory (the data moves to the host).
    pub fn is_read(self) -> bool {
        matches!(self, Self::Read | Self::DriverIn)
    }
}

/// One range of a discard, secure erase or write-zeroes request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscardRange {
    /// The first sector.
    pub sector: u64,
    /// The number of sectors.
    pub sectors: u32,
}

/// The number of scatterlist entries kept in each request; requests with more segments get a
/// chained table allocated when they are mapped, as in C drivers (`sg_alloc_table_chained()`).
const INLINE_SG: usize = 2;

/// A request's data mapped to a scatterlist by [`Request::map_sg`].
struct SgMapping {
    table: bindings::sg_table,
    inline: [bindings::scatterlist; INLINE_SG],
    mapped: bool,
}

impl<T: Operations> Request<T> {
    /// Create an [`ARef<Request>`] from a [`struct request`] pointer.
    ///
    /// # Safety
    ///
    /// * The caller must own a refcount on `ptr` that is transferred to the
    ///   returned [`ARef`].
    /// * The type invariants for [`Request`] must hold for the pointee of `ptr`.
    ///
    /// [`struct request`]: srctree/include/linux/blk-mq.h
    pub(crate) unsafe fn aref_from_raw(ptr: *mut bindings::request) -> ARef<Self> {
        // INVARIANT: By the safety requirements of this function, invariants are upheld.
        // SAFETY: By the safety requirement of this function, we own a
        // reference count that we can pass to `ARef`.
        unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast())) }
    }

    /// The C `struct request`.
    pub(crate) fn as_raw(&self) -> *mut bindings::request {
        self.0.get()
    }

    /// Notify the block layer that a request is going to be processed now.
    ///
    /// The block layer uses this hook to do proper initializations such as
    /// starting the timeout timer. It is a requirement that block device
    /// drivers call this function when starting to process a request.
    ///
    /// # Safety
    ///
    /// The caller must have exclusive ownership of `self`, that is
    /// `self.wrapper_ref().refcount() == 2`.
    pub(crate) unsafe fn start_unchecked(this: &ARef<Self>) {
        // SAFETY: By type invariant, `self.0` is a valid `struct request` and
        // we have exclusive access.
        unsafe { bindings::blk_mq_start_request(this.0.get()) };
    }

    /// Whether `this` is the only [`ARef`] to the request (state 3 above).
    pub(crate) fn is_unique(this: &ARef<Self>) -> bool {
        this.wrapper_ref().refcount().as_atomic().load(Relaxed) == 2
    }

    /// Try to take exclusive ownership of `this` by dropping the refcount to 0.
    /// This fails if `this` is not the only [`ARef`] pointing to the underlying
    /// [`Request`].
    ///
    /// If the operation is successful, [`Ok`] is returned with a pointer to the
    /// C [`struct request`]. If the operation fails, `this` is returned in the
    /// [`Err`] variant.
    ///
    /// [`struct request`]: srctree/include/linux/blk-mq.h
    fn try_set_end(this: ARef<Self>) -> Result<*mut bindings::request, ARef<Self>> {
        // To hand back the ownership, we need the current refcount to be 2.
        // Since we can race with `TagSet::tag_to_rq`, this needs to atomically reduce
        // refcount to 0. `Refcount` does not provide a way to do this, so use the underlying
        // atomics directly.
        if let Err(_old) = this
            .wrapper_ref()
            .refcount()
            .as_atomic()
            .cmpxchg(2, 0, Relaxed)
        {
            return Err(this);
        }

        let request_ptr = this.0.get();
        core::mem::forget(this);

        // SAFETY: The request is exclusively ours (refcount 0, no `ARef`), so nothing else
        // uses its mapping.
        unsafe { Self::unmap_sg_raw(request_ptr) };

        Ok(request_ptr)
    }

    /// Notify the block layer that the request has been completed without errors.
    ///
    /// This function will return [`Err`] if `this` is not the only [`ARef`]
    /// referencing the request.
    pub fn end_ok(this: ARef<Self>) -> Result<(), ARef<Self>> {
        Self::end(this, Ok(()))
    }

    /// Notify the block layer that the request has been completed, with `status`: an error is
    /// reported to the submitter as the block status of the errno (`errno_to_blk_status()`;
    /// unknown errors become `BLK_STS_IOERR`).
    ///
    /// This function will return [`Err`] if `this` is not the only [`ARef`]
    /// referencing the request.
    pub fn end(this: ARef<Self>, status: Result) -> Result<(), ARef<Self>> {
        let request_ptr = Self::try_set_end(this)?;
        let status = match status {
            Ok(()) => bindings::RVIRTIO_CONST_BLK_STS_OK,
            // SAFETY: `errno_to_blk_status()` only maps numbers.
            Err(e) => unsafe { bindings::errno_to_blk_status(e.to_errno()) },
        };

        // SAFETY: By type invariant, `this.0` was a valid `struct request`. The
        // success of the call to `try_set_end` guarantees that there are no
        // `ARef`s pointing to this request. Therefore it is safe to hand it
        // back to the block layer.
        unsafe { bindings::blk_mq_end_request(request_ptr, status) };

        Ok(())
    }

    /// Complete the request by scheduling `Operations::complete` for
    /// execution.
    ///
    /// The function may be scheduled locally, via SoftIRQ or remotely via IPMI.
    /// See `blk_mq_complete_request_remote` in [`blk-mq.c`] for details.
    ///
    /// [`blk-mq.c`]: srctree/block/blk-mq.c
    pub fn complete(this: ARef<Self>) {
        let ptr = ARef::into_raw(this).cast::<bindings::request>().as_ptr();
        // SAFETY: By type invariant, `self.0` is a valid `struct request`
        if !unsafe { bindings::blk_mq_complete_request_remote(ptr) } {
            // SAFETY: We released a refcount above that we can reclaim here.
            let this = unsafe { Request::aref_from_raw(ptr) };
            T::complete(this);
        }
    }

    fn raw(&self) -> &bindings::request {
        // SAFETY: By the type invariant `self.0` is a valid request. The fields read through
        // this reference are only written by the block layer before the request reaches the
        // driver, or by the driver itself through `&mut`.
        unsafe { &*self.0.get() }
    }

    /// What the request asks for.
    pub fn command(&self) -> Command {
        Command::from_raw(self.raw().cmd_flags & bindings::RVIRTIO_CONST_REQ_OP_MASK)
    }

    /// The first sector the request reads or writes (`blk_rq_pos()`).
    pub fn sector(&self) -> u64 {
        self.raw().__sector
    }

    /// The number of bytes left to transfer (`blk_rq_bytes()`).
    pub fn bytes(&self) -> u32 {
        self.raw().__data_len
    }

    /// The number of sectors left to transfer (`blk_rq_sectors()`).
    pub fn sectors(&self) -> u32 {
        self.bytes() >> super::super::SECTOR_SHIFT
    }

    /// The I/O priority (`req_get_ioprio()`).
    pub fn ioprio(&self) -> u16 {
        // SAFETY: By the type invariant the request is valid.
        unsafe { bindings::req_get_ioprio(self.0.get()) }
    }

    /// Whether the data must be on stable storage when the request completes (`REQ_FUA`).
    pub fn is_fua(&self) -> bool {
        self.raw().cmd_flags & bindings::RVIRTIO_CONST_REQ_FUA != 0
    }

    /// Whether a write-zeroes request must not deallocate the blocks (`REQ_NOUNMAP`).
    pub fn is_nounmap(&self) -> bool {
        self.raw().cmd_flags & bindings::RVIRTIO_CONST_REQ_NOUNMAP != 0
    }

    /// The number of physical data segments (`blk_rq_nr_phys_segments()`): an upper bound of
    /// the entries [`Request::map_sg`] produces.
    pub fn nr_phys_segments(&self) -> u16 {
        // SAFETY: By the type invariant the request is valid.
        unsafe { bindings::blk_rq_nr_phys_segments(self.0.get()) }
    }

    /// The number of ranges of a discard, secure erase or write-zeroes request
    /// (`blk_rq_nr_discard_segments()`).
    pub fn nr_discard_segments(&self) -> u16 {
        // SAFETY: By the type invariant the request is valid.
        unsafe { bindings::blk_rq_nr_discard_segments(self.0.get()) }
    }

    /// Calls `f` for each range of a discard, secure erase or write-zeroes request, at most
    /// [`Request::nr_discard_segments`] times.
    ///
    /// A queue that allows a single discard segment merges ranges like reads and writes, so
    /// the request is then one range; otherwise each bio is a range.
    pub fn for_each_discard_range(&self, mut f: impl FnMut(DiscardRange)) {
        let rq = self.raw();
        // SAFETY: The queue of a request the driver holds is valid.
        let single = unsafe { bindings::queue_max_discard_segments(rq.q) } == 1;
        if single {
            f(DiscardRange {
                sector: self.sector(),
                sectors: self.sectors(),
            });
            return;
        }
        let mut left = self.nr_discard_segments();
        let mut bio = rq.bio;
        while !bio.is_null() && left > 0 {
            // SAFETY: The bios of a request the driver holds are valid until it ends.
            let b = unsafe { &*bio };
            f(DiscardRange {
                sector: b.bi_iter.bi_sector,
                sectors: b.bi_iter.bi_size >> super::super::SECTOR_SHIFT,
            });
            left -= 1;
            bio = b.bi_next;
        }
    }

    /// The request queue the request belongs to.
    pub fn queue(&self) -> &RequestQueue<T> {
        // SAFETY: The queue outlives its requests; `RequestQueue` is a transparent wrapper.
        unsafe { &*self.raw().q.cast::<RequestQueue<T>>() }
    }

    /// The driver's data of this request.
    pub fn data(&self) -> Pin<&T::RequestData> {
        // SAFETY: The data is initialised (type invariant) and pinned in the request's private
        // area, which does not move.
        unsafe { Pin::new_unchecked(&self.wrapper_ref().data) }
    }

    /// The driver's data of this request, mutably: only through the single [`ARef`] to it
    /// (fails with `EBUSY` if there are others).
    pub fn data_mut(this: &mut ARef<Self>) -> Result<Pin<&mut T::RequestData>> {
        if !Self::is_unique(this) {
            return Err(EBUSY);
        }
        // SAFETY: `this` is the only `ARef`, borrowed mutably, so no other reference to the
        // request's data exists while the result lives. The private area is valid and pinned.
        unsafe {
            let wrapper = Self::wrapper_ptr(ptr::from_ref::<Self>(this).cast_mut()).as_ptr();
            Ok(Pin::new_unchecked(&mut (*wrapper).data))
        }
    }

    /// The driver's data of the request at `rq`, mutably.
    ///
    /// # Safety
    ///
    /// `rq` must be a live request of driver `T` held through a single owner (an `ARef` turned
    /// into a raw pointer) that nothing else uses for `'a`.
    pub(crate) unsafe fn data_mut_raw<'a>(
        rq: *mut bindings::request,
    ) -> Pin<&'a mut T::RequestData> {
        // SAFETY: By the safety requirements the private area is valid, pinned and ours.
        unsafe { Pin::new_unchecked(&mut (*Self::wrapper_ptr(rq.cast()).as_ptr()).data) }
    }

    /// The addresses of the request's private area (the driver's data and the abstraction's
    /// own), which blk-mq allocates in the kernel's linear mapping (from pages it gets with
    /// `alloc_pages_node()` without `__GFP_HIGHMEM` and addresses with `page_address()`).
    ///
    /// # Safety
    ///
    /// `rq` must be a live request of driver `T`.
    pub(crate) unsafe fn private_area(rq: *mut bindings::request) -> core::ops::Range<usize> {
        // SAFETY: By the safety requirements `rq` is a live request of driver `T`.
        let start = unsafe { Self::wrapper_ptr(rq.cast()) }.as_ptr() as usize;
        start..start + core::mem::size_of::<RequestDataWrapper<T>>()
    }

    /// Maps the request's data (its bios' pages, or the kernel buffer of a driver-private
    /// request) to a scatterlist and returns the number of entries (`blk_rq_map_sg()`).
    ///
    /// The mapping belongs to the request: it is released when the request ends, or mapped
    /// again when the request is queued again. Requests without data map to zero entries.
    /// Fails with `EBUSY` if `this` is not the only [`ARef`], `ENOMEM` if a table for more
    /// than the inline entries cannot be allocated (without sleeping).
    pub fn map_sg(this: &mut ARef<Self>) -> Result<u32> {
        if !Self::is_unique(this) {
            return Err(EBUSY);
        }
        let rq = this.0.get();
        // SAFETY: As in `data_mut`, `this` gives exclusive access to the mapping.
        unsafe { Self::unmap_sg_raw(rq) };
        let segments = this.nr_phys_segments();
        if segments == 0 || !this.command().has_data() {
            return Ok(0);
        }
        // SAFETY: As in `data_mut`, `this` gives exclusive access to the mapping.
        let m = unsafe { &mut *this.wrapper_ref().sg.get() };
        // The inline entries are the first chunk; the table starts there.
        m.table.sgl = m.inline.as_mut_ptr();
        // SAFETY: `m.table` and `m.inline` are valid for writes; `INLINE_SG` entries are
        // inline. The table is freed by `unmap_sg_raw`.
        to_result(unsafe {
            bindings::sg_alloc_table_chained(
                &mut m.table,
                i32::from(segments),
                m.inline.as_mut_ptr(),
                INLINE_SG as u32,
            )
        })?;
        m.mapped = true;
        let mut last = ptr::null_mut();
        // SAFETY: The table has room for `nr_phys_segments()` entries, which bounds what
        // `__blk_rq_map_sg()` writes; the request is valid and ours.
        let n = unsafe { bindings::__blk_rq_map_sg(rq, m.table.sgl, &mut last) };
        let n = u32::try_from(n).map_err(|_| EIO)?;
        m.table.nents = n;
        Ok(n)
    }

    /// The scatterlist of the request's data, if [`Request::map_sg`] mapped any, with its size.
    ///
    /// The list is valid while the request is held and not mapped again.
    pub(crate) fn mapped_sg(&self) -> Option<(*mut bindings::scatterlist, usize)> {
        // SAFETY: The mapping is only changed through the single `ARef` (`map_sg`) or after the
        // request ended; a shared reference reads a consistent state.
        let m = unsafe { &*self.wrapper_ref().sg.get() };
        if m.mapped && m.table.nents > 0 {
            Some((m.table.sgl, self.bytes() as usize))
        } else {
            None
        }
    }

    /// Releases the request's scatterlist, if mapped.
    ///
    /// # Safety
    ///
    /// `rq` must be a request of this driver whose mapping nothing else uses.
    pub(crate) unsafe fn unmap_sg_raw(rq: *mut bindings::request) {
        // SAFETY: By the safety requirements the private area is a valid wrapper, used by us
        // only.
        let m = unsafe { &mut *(*Self::wrapper_ptr(rq.cast()).as_ptr()).sg.get() };
        if m.mapped {
            // SAFETY: The table was allocated by `sg_alloc_table_chained()` with the same
            // inline count.
            unsafe { bindings::sg_free_table_chained(&mut m.table, INLINE_SG as u32) };
            m.mapped = false;
        }
    }

    /// Return a pointer to the [`RequestDataWrapper`] stored in the private area
    /// of the request structure.
    ///
    /// # Safety
    ///
    /// - `this` must point to a valid allocation of size at least size of
    ///   [`Self`] plus size of [`RequestDataWrapper`].
    pub(crate) unsafe fn wrapper_ptr(this: *mut Self) -> NonNull<RequestDataWrapper<T>> {
        let request_ptr = this.cast::<bindings::request>();
        // The private data follows the request, as `blk_mq_rq_to_pdu()` computes it; done here
        // rather than through the helper, as it is on every request's path.
        // SAFETY: By safety requirements for this function, `this` is a
        // valid allocation that extends past the request.
        let wrapper_ptr = unsafe { request_ptr.add(1) }.cast::<RequestDataWrapper<T>>();
        // SAFETY: By C API contract, `wrapper_ptr` points to a valid allocation
        // and is not null.
        unsafe { NonNull::new_unchecked(wrapper_ptr) }
    }

    /// Return a reference to the [`RequestDataWrapper`] stored in the private
    /// area of the request structure.
    pub(crate) fn wrapper_ref(&self) -> &RequestDataWrapper<T> {
        // SAFETY: By type invariant, `self.0` is a valid allocation. Further,
        // the private data associated with this request is initialized and
        // valid. The existence of `&self` guarantees that the private data is
        // valid as a shared reference.
        unsafe { Self::wrapper_ptr(core::ptr::from_ref(self).cast_mut()).as_ref() }
    }
}

/// A wrapper around data stored in the private area of the C [`struct request`].
///
/// [`struct request`]: srctree/include/linux/blk-mq.h
#[pin_data]
pub(crate) struct RequestDataWrapper<T: Operations> {
    /// The Rust request refcount has the following states:
    ///
    /// - 0: The request is owned by C block layer.
    /// - 1: The request is owned by Rust abstractions but there are no [`ARef`] references to it.
    /// - 2+: There are [`ARef`] references to the request.
    refcount: Refcount,
    /// The scatterlist of the request's data; changed only by the holder of the single `ARef`.
    sg: UnsafeCell<SgMapping>,
    /// The driver's data.
    #[pin]
    data: T::RequestData,
}

impl<T: Operations> RequestDataWrapper<T> {
    /// Initialises the wrapper of a new request.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            refcount: Refcount::new(0),
            sg: UnsafeCell::new(SgMapping {
                table: pin_init::zeroed(),
                inline: pin_init::zeroed(),
                mapped: false,
            }),
            data <- T::new_request_data(),
        }? Error)
    }

    /// Return a reference to the refcount of the request that is embedding
    /// `self`.
    pub(crate) fn refcount(&self) -> &Refcount {
        &self.refcount
    }

    /// Return a pointer to the refcount of the request that is embedding the
    /// pointee of `this`.
    ///
    /// # Safety
    ///
    /// - `this` must point to a live allocation of at least the size of `Self`.
    pub(crate) unsafe fn refcount_ptr(this: *mut Self) -> *mut Refcount {
        // SAFETY: Because of the safety requirements of this function, the
        // field projection is safe.
        unsafe { &raw mut (*this).refcount }
    }
}

/// A blk-mq request queue (`struct request_queue`) of a disk of driver `T`.
#[repr(transparent)]
pub struct RequestQueue<T>(Opaque<bindings::request_queue>, PhantomData<T>);

impl<T: Operations> RequestQueue<T> {
    /// Restarts the hardware queues stopped with [`HwQueue::stop`]
    /// (`blk_mq_start_stopped_hw_queues()`), from a work item if `run_async`.
    ///
    /// [`HwQueue::stop`]: super::HwQueue::stop
    pub fn start_stopped_hw_queues(&self, run_async: bool) {
        // SAFETY: The queue is valid (it is borrowed from a request or a disk).
        unsafe { bindings::blk_mq_start_stopped_hw_queues(self.0.get(), run_async) };
    }

    /// Tells the block layer whether the device has a volatile write cache (and so needs
    /// flush requests): an atomic update of the queue's limits, with the queue frozen
    /// (`queue_limits_commit_update_frozen()`). Sleeps.
    pub fn set_write_cache(&self, on: bool) -> Result {
        let q = self.0.get();
        // SAFETY: The queue is valid; this takes its limits lock, released by the commit.
        let mut lim = unsafe { bindings::queue_limits_start_update(q) };
        let flag = bindings::RVIRTIO_CONST_BLK_FEAT_WRITE_CACHE;
        if on {
            lim.features |= flag;
        } else {
            lim.features &= !flag;
        }
        // SAFETY: The limits lock is held (taken above); `lim` is a valid copy of the limits.
        to_result(unsafe { bindings::queue_limits_commit_update_frozen(q, &mut lim) })
    }
}

impl<T: Operations> RequestQueue<T> {
    /// Sends a driver-private request that reads `buf.len()` bytes from the device into `buf`
    /// (`REQ_OP_DRV_IN`) and waits for it to complete. `prepare` sets up the driver's data of
    /// the request (its command) before it is queued; the driver's `queue_rq` sees it as
    /// [`Command::DriverIn`].
    pub fn execute_driver_in(
        &self,
        buf: &mut [u8],
        prepare: impl FnOnce(Pin<&mut T::RequestData>),
    ) -> Result {
        let len = u32::try_from(buf.len()).map_err(|_| EINVAL)?;
        // SAFETY: The queue is valid.
        let rq = kernel::error::from_err_ptr(unsafe {
            bindings::blk_mq_alloc_request(self.0.get(), bindings::req_op_REQ_OP_DRV_IN, 0)
        })?;
        // SAFETY: The request was just allocated for us; nothing else uses it until it is
        // executed.
        prepare(unsafe { Request::<T>::data_mut_raw(rq) });
        // SAFETY: `buf` is valid for `len` bytes until the request is freed below (the call
        // waits for completion); the block layer copies it if it cannot map it.
        let ret = to_result(unsafe {
            bindings::blk_rq_map_kern(rq, buf.as_mut_ptr().cast(), len, bindings::GFP_KERNEL)
        });
        let ret = ret.and_then(|()| {
            // SAFETY: `rq` is ours and mapped; the call waits until it completes.
            let status = unsafe { bindings::blk_execute_rq(rq, false) };
            // SAFETY: `blk_status_to_errno()` only maps numbers.
            to_result(unsafe { bindings::blk_status_to_errno(status) })
        });
        // SAFETY: The request completed (or was never queued) and is ours to free.
        unsafe { bindings::blk_mq_free_request(rq) };
        ret
    }
}

// SAFETY: Exclusive access is thread-safe for `Request`. `Request` has no `&mut
// self` methods and `&self` methods that mutate `self` are internally
// synchronized.
unsafe impl<T: Operations> Send for Request<T> {}

// SAFETY: Shared access is thread-safe for `Request`. `&self` methods that
// mutate `self` are internally synchronized`
unsafe impl<T: Operations> Sync for Request<T> {}

// SAFETY: The block layer synchronises its queue operations; the methods only call them.
unsafe impl<T: Operations> Sync for RequestQueue<T> {}

// SAFETY: All instances of `Request<T>` are reference counted. This
// implementation of `AlwaysRefCounted` ensure that increments to the ref count
// keeps the object alive in memory at least until a matching reference count
// decrement is executed.
unsafe impl<T: Operations> AlwaysRefCounted for Request<T> {
    fn inc_ref(&self) {
        self.wrapper_ref().refcount().inc();
    }

    unsafe fn dec_ref(obj: core::ptr::NonNull<Self>) {
        // SAFETY: The type invariants of `ARef` guarantee that `obj` is valid
        // for read.
        let wrapper_ptr = unsafe { Self::wrapper_ptr(obj.as_ptr()).as_ptr() };
        // SAFETY: The type invariant of `Request` guarantees that the private
        // data area is initialized and valid.
        let refcount = unsafe { &*RequestDataWrapper::refcount_ptr(wrapper_ptr) };

        #[cfg_attr(not(CONFIG_DEBUG_MISC), allow(unused_variables))]
        let is_zero = refcount.dec_and_test();

        #[cfg(CONFIG_DEBUG_MISC)]
        if is_zero {
            panic!("Request reached refcount zero in Rust abstractions");
        }
    }
}

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_block_request)]
mod tests {
    use super::*;

    /// Fails if an operation is taken for another (a write for a read, a discard for a
    /// write), or if the direction of its data is wrong: the device would be told to write
    /// where it must read.
    #[test]
    fn commands_and_directions() {
        let cases = [
            (bindings::req_op_REQ_OP_READ, Command::Read, true, true),
            (bindings::req_op_REQ_OP_WRITE, Command::Write, true, false),
            (bindings::req_op_REQ_OP_FLUSH, Command::Flush, false, false),
            (
                bindings::req_op_REQ_OP_DISCARD,
                Command::Discard,
                false,
                false,
            ),
            (
                bindings::req_op_REQ_OP_SECURE_ERASE,
                Command::SecureErase,
                false,
                false,
            ),
            (
                bindings::req_op_REQ_OP_WRITE_ZEROES,
                Command::WriteZeroes,
                false,
                false,
            ),
            (
                bindings::req_op_REQ_OP_DRV_IN,
                Command::DriverIn,
                true,
                true,
            ),
            (
                bindings::req_op_REQ_OP_DRV_OUT,
                Command::DriverOut,
                true,
                false,
            ),
        ];
        for (op, cmd, has_data, is_read) in cases {
            assert_eq!(Command::from_raw(op), cmd);
            assert_eq!(cmd.has_data(), has_data);
            assert_eq!(cmd.is_read(), is_read);
        }
        let zone = bindings::req_op_REQ_OP_ZONE_RESET;
        assert_eq!(Command::from_raw(zone), Command::Other(zone));
        assert!(!Command::Other(zone).has_data());
    }
}
