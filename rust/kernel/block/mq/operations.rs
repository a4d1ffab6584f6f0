// SPDX-License-Identifier: GPL-2.0

//! This module provides an interface for blk-mq drivers to implement.
//!
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h)

use super::{
    request::RequestDataWrapper,
    Request, //
};
use crate::bindings;
use core::marker::PhantomData;
use kernel::{
    error::{
        from_result,
        Result, //
    },
    prelude::*,
    sync::aref::ARef,
    types::{
        ForeignOwnable,
        Opaque, //
    },
};

type ForeignBorrowed<'a, T> = <T as ForeignOwnable>::Borrowed<'a>;

/// A hardware queue (`struct blk_mq_hw_ctx`), as seen while a request is queued on it.
#[repr(transparent)]
pub struct HwQueue(Opaque<bindings::blk_mq_hw_ctx>);

impl HwQueue {
    /// # Safety
    ///
    /// `ptr` must be a valid hardware context for the lifetime `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::blk_mq_hw_ctx) -> &'a Self {
        // SAFETY: By the safety requirements `ptr` is valid; `Self` is transparent.
        unsafe { &*ptr.cast() }
    }

    /// The index of the queue among the disk's hardware queues (`hctx->queue_num`), which
    /// maps it to the device's queue.
    pub fn index(&self) -> u32 {
        // SAFETY: The context is valid (type invariant of the reference); the field is set
        // when the context is created.
        unsafe { (*self.0.get()).queue_num }
    }

    /// Stops the queue (`blk_mq_stop_hw_queue()`): no request is queued on it until it is
    /// restarted with [`RequestQueue::start_stopped_hw_queues`]. For a device that is full.
    ///
    /// [`RequestQueue::start_stopped_hw_queues`]: super::RequestQueue::start_stopped_hw_queues
    pub fn stop(&self) {
        // SAFETY: The context is valid.
        unsafe { bindings::blk_mq_stop_hw_queue(self.0.get()) };
    }
}

/// Implement this trait to interface blk-mq as block devices.
///
/// To implement a block device driver, implement this trait as described in the
/// [module level documentation]. The kernel will use the implementation of the
/// functions defined in this trait to interface a block device driver. Note:
/// There is no need for an exit_request() implementation, because the `drop`
/// implementation of the [`Request`] type will be invoked by automatically by
/// the C/Rust glue logic.
///
/// [module level documentation]: kernel::block::mq
#[vtable]
pub trait Operations: Sized + 'static {
    /// Data associated with the `struct request_queue` that is allocated for
    /// the `GenDisk` associated with this `Operations` implementation.
    type QueueData: ForeignOwnable + Sync;

    /// The driver's data in each request (the request's private data area).
    type RequestData: Send + Sync;

    /// Creates the driver's data of a request, once per request when the tag set allocates
    /// its requests (`init_request`); it is dropped when they are freed.
    fn new_request_data() -> impl PinInit<Self::RequestData, Error>;

    /// Called by the kernel to queue a request with the driver. If `is_last` is
    /// `false`, the driver is allowed to defer committing the request.
    ///
    /// A request the driver does not take comes back with the error, as the only reference to
    /// it: the block layer then ends it with the error's block status, except for `ENOMEM`
    /// (`BLK_STS_RESOURCE`) and `EBUSY` (`BLK_STS_DEV_RESOURCE`), after which it keeps the
    /// request and queues it again later (after a while for `ENOMEM`, when the driver restarts
    /// a queue or completes a request for `EBUSY`). A request that was handed on (to a device)
    /// or ended cannot come back, so it cannot be ended twice.
    fn queue_rq(
        hw_queue: &HwQueue,
        queue_data: ForeignBorrowed<'_, Self::QueueData>,
        rq: ARef<Request<Self>>,
        is_last: bool,
    ) -> Result<(), (Error, ARef<Request<Self>>)>;

    /// Called by the kernel to indicate that queued requests should be submitted.
    fn commit_rqs(hw_queue: &HwQueue, queue_data: ForeignBorrowed<'_, Self::QueueData>);

    /// Called by the kernel when the request is completed.
    fn complete(rq: ARef<Request<Self>>);

    /// Called by the kernel to poll the device for completed requests. Only
    /// used for poll queues.
    fn poll() -> bool {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Called when a request the driver took has not ended within the queue's timeout
    /// (`/sys/block/<disk>/queue/io_timeout`, 30 seconds by default), in
    /// process context (the block layer's timeout work); it may sleep.
    ///
    /// The driver finds out why: an interrupt that was lost (the request may have ended while
    /// the handler ran), or a device that stopped answering, which it resets so that every
    /// request it held ends. [`TimeoutAction::ResetTimer`] gives the request another period;
    /// [`TimeoutAction::Done`] says that it ended or will end without one.
    ///
    /// The request itself is not lent to the handler (the device may still be writing to its
    /// data): [`TimedOut`] only says what it asked for. Without this method the block layer
    /// restarts the timer of a request that timed out, forever.
    fn timeout(
        hw_queue: &HwQueue,
        queue_data: ForeignBorrowed<'_, Self::QueueData>,
        rq: &TimedOut<'_, Self>,
    ) -> TimeoutAction {
        let _ = (hw_queue, queue_data, rq);
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// What a driver's [`Operations::timeout`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutAction {
    /// The request ended, or the driver will end it without another timeout period
    /// (`BLK_EH_DONE`).
    Done,
    /// The request is given another timeout period (`BLK_EH_RESET_TIMER`).
    ResetTimer,
}

/// A request that timed out, as [`Operations::timeout`] sees it: what it asks for, but not
/// its driver data, which the device may still be writing.
pub struct TimedOut<'a, T: Operations>(&'a Request<T>);

impl<T: Operations> TimedOut<'_, T> {
    /// What the request asks for.
    pub fn command(&self) -> super::Command {
        self.0.command()
    }

    /// The first sector the request reads or writes.
    pub fn sector(&self) -> u64 {
        self.0.sector()
    }

    /// The number of sectors left to transfer.
    pub fn sectors(&self) -> u32 {
        self.0.sectors()
    }

    /// The request queue the request belongs to.
    pub fn queue(&self) -> &super::RequestQueue<T> {
        self.0.queue()
    }

    /// Whether the request ended (or is being completed) since it timed out: a handler that
    /// found it among the buffers its device had used and completed it.
    pub fn has_ended(&self) -> bool {
        // SAFETY: The request is valid (held by the timeout work); its state is read with
        // `READ_ONCE()`.
        let state = unsafe { bindings::blk_mq_rq_state(self.0.as_raw()) };
        state != bindings::mq_rq_state_MQ_RQ_IN_FLIGHT
    }
}

/// A vtable for blk-mq to interact with a block device driver.
///
/// A `bindings::blk_mq_ops` vtable is constructed from pointers to the `extern
/// "C"` functions of this struct, exposed through the `OperationsVTable::VTABLE`.
///
/// For general documentation of these methods, see the kernel source
/// documentation related to `struct blk_mq_operations` in
/// [`include/linux/blk-mq.h`].
///
/// [`include/linux/blk-mq.h`]: srctree/include/linux/blk-mq.h
pub(crate) struct OperationsVTable<T: Operations>(PhantomData<T>);

impl<T: Operations> OperationsVTable<T> {
    /// This function is called by the C kernel. A pointer to this function is
    /// installed in the `blk_mq_ops` vtable for the driver.
    ///
    /// # Safety
    ///
    /// - The caller of this function must ensure that the pointee of `bd` is
    ///   valid for reads for the duration of this function.
    /// - This function must be called for an initialized and live `hctx`. That
    ///   is, `Self::init_hctx_callback` was called and
    ///   `Self::exit_hctx_callback()` was not yet called.
    /// - `(*bd).rq` must point to an initialized and live `bindings:request`.
    ///   That is, `Self::init_request_callback` was called but
    ///   `Self::exit_request_callback` was not yet called for the request.
    /// - `(*bd).rq` must be owned by the driver. That is, the block layer must
    ///   promise to not access the request until the driver calls
    ///   `bindings::blk_mq_end_request` for the request.
    unsafe extern "C" fn queue_rq_callback(
        hctx: *mut bindings::blk_mq_hw_ctx,
        bd: *const bindings::blk_mq_queue_data,
    ) -> bindings::blk_status_t {
        // SAFETY: `bd.rq` is valid as required by the safety requirement for
        // this function.
        let request = unsafe { &*(*bd).rq.cast::<Request<T>>() };

        // One refcount for the ARef, one for being in flight
        request.wrapper_ref().refcount().set(2);

        // SAFETY: A request queued again after `ENOMEM`/`EBUSY` may still hold the mapping of
        // its previous attempt; the request is exclusively ours here.
        unsafe { Request::<T>::unmap_sg_raw((*bd).rq) };

        // SAFETY:
        //  - We own a refcount that we took above. We pass that to `ARef`.
        //  - By the safety requirements of this function, `request` is a valid
        //    `struct request` and the private data is properly initialized.
        //  - `rq` will be alive until `blk_mq_end_request` is called and is
        //    reference counted by `ARef` until then.
        let rq = unsafe { Request::aref_from_raw((*bd).rq) };

        // SAFETY: `hctx` is valid as required by this function.
        let queue_data = unsafe { (*(*hctx).queue).queuedata };

        // SAFETY: `queue.queuedata` was created by `GenDiskBuilder::build` with
        // a call to `ForeignOwnable::into_foreign` to create `queuedata`.
        // `ForeignOwnable::from_foreign` is only called when the tagset is
        // dropped, which happens after we are dropped.
        let queue_data = unsafe { T::QueueData::borrow(queue_data) };

        // SAFETY: We have exclusive access and we just set the refcount above.
        unsafe { Request::start_unchecked(&rq) };

        let ret = T::queue_rq(
            // SAFETY: `hctx` is valid for the duration of this call.
            unsafe { HwQueue::from_raw(hctx) },
            queue_data,
            rq,
            // SAFETY: `bd` is valid as required by the safety requirement for
            // this function.
            unsafe { (*bd).last },
        );

        let e = match ret {
            Ok(()) => return bindings::RVIRTIO_CONST_BLK_STS_OK,
            Err((e, back)) => {
                // The block layer may only end or requeue the request if it is this request
                // and nobody else holds it; any other reference could end it again. Otherwise
                // it stays with its holders, as if it had been queued.
                // SAFETY: `bd` is valid (safety requirements).
                let same = back.as_raw() == unsafe { (*bd).rq };
                if !same || !Request::is_unique(&back) {
                    return bindings::RVIRTIO_CONST_BLK_STS_OK;
                }
                // The request goes back to the block layer with the status below.
                drop(back);
                e
            }
        };
        if e == ENOMEM {
            bindings::RVIRTIO_CONST_BLK_STS_RESOURCE
        } else if e == EBUSY {
            bindings::RVIRTIO_CONST_BLK_STS_DEV_RESOURCE
        } else {
            // SAFETY: `errno_to_blk_status()` only maps numbers.
            unsafe { bindings::errno_to_blk_status(e.to_errno()) }
        }
    }

    /// This function is called by the C kernel. A pointer to this function is
    /// installed in the `blk_mq_ops` vtable for the driver.
    ///
    /// # Safety
    ///
    /// This function may only be called by blk-mq C infrastructure. The caller
    /// must ensure that `hctx` is valid.
    unsafe extern "C" fn commit_rqs_callback(hctx: *mut bindings::blk_mq_hw_ctx) {
        // SAFETY: `hctx` is valid as required by this function.
        let queue_data = unsafe { (*(*hctx).queue).queuedata };

        // SAFETY: `queue.queuedata` was created by `GenDisk::try_new()` with a
        // call to `ForeignOwnable::into_foreign()` to create `queuedata`.
        // `ForeignOwnable::from_foreign()` is only called when the tagset is
        // dropped, which happens after we are dropped.
        let queue_data = unsafe { T::QueueData::borrow(queue_data) };
        // SAFETY: `hctx` is valid for the duration of this call.
        T::commit_rqs(unsafe { HwQueue::from_raw(hctx) }, queue_data)
    }

    /// This function is called by the C kernel. A pointer to this function is
    /// installed in the `blk_mq_ops` vtable for the driver.
    ///
    /// # Safety
    ///
    /// This function may only be called by blk-mq C infrastructure. `rq` must
    /// point to a valid request that has been marked as completed. The pointee
    /// of `rq` must be valid for write for the duration of this function.
    unsafe extern "C" fn complete_callback(rq: *mut bindings::request) {
        // SAFETY: This function can only be dispatched through
        // `Request::complete`. We leaked a refcount then which we pick back up
        // now.
        let aref = unsafe { Request::aref_from_raw(rq) };
        T::complete(aref);
    }

    /// Called by blk-mq for a request that timed out (`blk_mq_rq_timed_out()`).
    ///
    /// # Safety
    ///
    /// `rq` must be a started request of a queue of driver `T`, which the caller holds a
    /// reference to (`blk_mq_find_and_get_req()`) under a usage reference of its queue, as the
    /// timeout work does.
    unsafe extern "C" fn timeout_callback(
        rq: *mut bindings::request,
    ) -> bindings::blk_eh_timer_return {
        // SAFETY: `rq` is valid and held (safety requirements), so its hardware context and
        // queue are valid; the driver is only given what the block layer set before the
        // request was queued (`TimedOut`), never the driver data or the request's reference.
        let (hctx, queue_data, request) = unsafe {
            (
                (*rq).mq_hctx,
                (*(*rq).q).queuedata,
                &*rq.cast::<Request<T>>(),
            )
        };
        // SAFETY: `queuedata` comes from `into_foreign()` in `GenDiskBuilder::build` and is
        // only taken back after `del_gendisk()`, which cancels the timeout work
        // (`blk_sync_queue()`) that calls this.
        let queue_data = unsafe { T::QueueData::borrow(queue_data) };
        // SAFETY: The hardware context of a started request is valid while it is held.
        let hw_queue = unsafe { HwQueue::from_raw(hctx) };
        match T::timeout(hw_queue, queue_data, &TimedOut(request)) {
            TimeoutAction::Done => bindings::blk_eh_timer_return_BLK_EH_DONE,
            TimeoutAction::ResetTimer => bindings::blk_eh_timer_return_BLK_EH_RESET_TIMER,
        }
    }

    /// This function is called by the C kernel. A pointer to this function is
    /// installed in the `blk_mq_ops` vtable for the driver.
    ///
    /// # Safety
    ///
    /// This function may only be called by blk-mq C infrastructure.
    unsafe extern "C" fn poll_callback(
        _hctx: *mut bindings::blk_mq_hw_ctx,
        _iob: *mut bindings::io_comp_batch,
    ) -> kernel::ffi::c_int {
        T::poll().into()
    }

    /// This function is called by the C kernel. A pointer to this function is
    /// installed in the `blk_mq_ops` vtable for the driver.
    ///
    /// # Safety
    ///
    /// This function may only be called by blk-mq C infrastructure. This
    /// function may only be called once before `exit_hctx_callback` is called
    /// for the same context.
    unsafe extern "C" fn init_hctx_callback(
        _hctx: *mut bindings::blk_mq_hw_ctx,
        _tagset_data: *mut kernel::ffi::c_void,
        _hctx_idx: kernel::ffi::c_uint,
    ) -> kernel::ffi::c_int {
        from_result(|| Ok(0))
    }

    /// This function is called by the C kernel. A pointer to this function is
    /// installed in the `blk_mq_ops` vtable for the driver.
    ///
    /// # Safety
    ///
    /// This function may only be called by blk-mq C infrastructure.
    unsafe extern "C" fn exit_hctx_callback(
        _hctx: *mut bindings::blk_mq_hw_ctx,
        _hctx_idx: kernel::ffi::c_uint,
    ) {
    }

    /// This function is called by the C kernel. A pointer to this function is
    /// installed in the `blk_mq_ops` vtable for the driver.
    ///
    /// # Safety
    ///
    /// - This function may only be called by blk-mq C infrastructure.
    /// - `_set` must point to an initialized `TagSet<T>`.
    /// - `rq` must point to an initialized `bindings::request`.
    /// - The allocation pointed to by `rq` must be at the size of `Request`
    ///   plus the size of `RequestDataWrapper`.
    unsafe extern "C" fn init_request_callback(
        _set: *mut bindings::blk_mq_tag_set,
        rq: *mut bindings::request,
        _hctx_idx: kernel::ffi::c_uint,
        _numa_node: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: By the safety requirements of this function, `rq` points
            // to a valid allocation.
            let pdu = unsafe { Request::<T>::wrapper_ptr(rq.cast::<Request<T>>()) };

            // SAFETY: The private area is allocated, not initialised, and does not move until
            // `exit_request_callback` drops it; on failure nothing is left to drop.
            unsafe { RequestDataWrapper::<T>::new().__init(pdu.as_ptr()) }?;

            Ok(0)
        })
    }

    /// This function is called by the C kernel. A pointer to this function is
    /// installed in the `blk_mq_ops` vtable for the driver.
    ///
    /// # Safety
    ///
    /// - This function may only be called by blk-mq C infrastructure.
    /// - `_set` must point to an initialized `TagSet<T>`.
    /// - `rq` must point to an initialized and valid `Request`.
    unsafe extern "C" fn exit_request_callback(
        _set: *mut bindings::blk_mq_tag_set,
        rq: *mut bindings::request,
        _hctx_idx: kernel::ffi::c_uint,
    ) {
        // SAFETY: The request is no longer used by anyone; release a mapping left behind.
        unsafe { Request::<T>::unmap_sg_raw(rq) };

        // SAFETY: The tagset invariants guarantee that all requests are allocated with extra memory
        // for the request data.
        let pdu = unsafe { bindings::blk_mq_rq_to_pdu(rq) }.cast::<RequestDataWrapper<T>>();

        // SAFETY: `pdu` is valid for read and write and is properly initialised.
        unsafe { core::ptr::drop_in_place(pdu) };
    }

    /// This function is called by the C kernel. A pointer to this function is
    /// installed in the `blk_mq_ops` vtable for the driver.
    ///
    /// # Safety
    ///
    /// `set` must be a tag set created by `TagSet<T>`, whose `driver_data` is null or a device
    /// the tag set holds a reference to.
    unsafe extern "C" fn map_queues_callback(set: *mut bindings::blk_mq_tag_set) {
        // SAFETY: `set` is valid; the default map is the first one.
        unsafe {
            let map = &raw mut (*set).map[0];
            let dev = (*set).driver_data.cast::<bindings::device>();
            if dev.is_null() {
                bindings::blk_mq_map_queues(map);
            } else {
                bindings::blk_mq_map_hw_queues(map, dev, 0);
            }
        }
    }

    const VTABLE: bindings::blk_mq_ops = bindings::blk_mq_ops {
        queue_rq: Some(Self::queue_rq_callback),
        queue_rqs: None,
        commit_rqs: Some(Self::commit_rqs_callback),
        get_budget: None,
        put_budget: None,
        set_rq_budget_token: None,
        get_rq_budget_token: None,
        timeout: if T::HAS_TIMEOUT {
            Some(Self::timeout_callback)
        } else {
            None
        },
        poll: if T::HAS_POLL {
            Some(Self::poll_callback)
        } else {
            None
        },
        complete: Some(Self::complete_callback),
        init_hctx: Some(Self::init_hctx_callback),
        exit_hctx: Some(Self::exit_hctx_callback),
        init_request: Some(Self::init_request_callback),
        exit_request: Some(Self::exit_request_callback),
        cleanup_rq: None,
        busy: None,
        map_queues: Some(Self::map_queues_callback),
        #[cfg(CONFIG_BLK_DEBUG_FS)]
        show_rq: None,
    };

    pub(crate) const fn build() -> &'static bindings::blk_mq_ops {
        &Self::VTABLE
    }
}
