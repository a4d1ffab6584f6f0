// SPDX-License-Identifier: GPL-2.0

//! Block requests as virtqueue buffers.
//!
//! A block driver lends a request to its device without allocating: the request itself is the
//! ring's token ([`InFlight`]), the driver's per-request data ([`Operations::RequestData`])
//! holds the command header and status the device reads and writes, and the request's pages,
//! mapped by [`Request::map_sg`], are the data.
//!
//! A request the device still holds when the queues are torn down (device removal) is not
//! lost: dropping its [`InFlight`] ends it with an I/O error.

use super::{
    sg::SgList,
    virtqueue::Token, //
};
use crate::bindings;
use core::ffi::c_void;
use core::mem::ManuallyDrop;
use kernel::{
    prelude::*,
    sync::aref::ARef, //
};

// The block abstractions are siblings of `virtio` both in the kernel crate and in the
// project's modules.
use super::super::block::mq::{
    Operations,
    Request, //
};

/// The mapped data of a request, lent to [`RequestBuffer::describe`].
pub struct RequestData<'a> {
    list: Option<(*mut bindings::scatterlist, usize)>,
    device_writes: bool,
    _request: core::marker::PhantomData<&'a ()>,
}

impl<'a> SgList<'_, 'a> {
    /// Adds the request's data (mapped by [`Request::map_sg`]): device-writable for reads,
    /// device-readable for writes. A request without mapped data adds nothing.
    #[inline]
    pub fn request_data(&mut self, data: RequestData<'a>) -> Result {
        match data.list {
            None => Ok(()),
            // SAFETY: The list was mapped from the request that `data` borrows, which the ring
            // holds (with its pages) until the device returns it; nothing remaps it meanwhile.
            Some((list, bytes)) => unsafe { self.push_list(list, bytes, data.device_writes) },
        }
    }
}

/// The driver's data of a request that can be lent to a virtio device with the request.
pub trait RequestBuffer: Unpin + Send + Sync {
    /// Describes what the device reads (a header, then the data of writes) and then what it
    /// writes (the data of reads, then a status), adding `data` where it belongs with
    /// [`SgList::request_data`].
    ///
    /// Called when the request is added, and again if the driver asks for the length the
    /// device wrote when it comes back; it must describe the same memory each time. It must not
    /// sleep.
    fn describe<'a>(&'a mut self, data: RequestData<'a>, sg: &mut SgList<'_, 'a>) -> Result;
}

/// A request lent to a device: the token of a request in a virtqueue.
///
/// Dropping it ends the request with an I/O error; [`InFlight::into_request`] gives the
/// request back for completion.
pub struct InFlight<T: Operations>(ManuallyDrop<ARef<Request<T>>>)
where
    T::RequestData: RequestBuffer;

impl<T: Operations> InFlight<T>
where
    T::RequestData: RequestBuffer,
{
    /// Prepares `rq` to be lent: fails with `EBUSY` unless it is the only reference to the
    /// request (the device must be the only one to use it while it holds it).
    pub fn new(rq: ARef<Request<T>>) -> Result<Self, ARef<Request<T>>> {
        if Request::is_unique(&rq) {
            Ok(Self(ManuallyDrop::new(rq)))
        } else {
            Err(rq)
        }
    }

    /// The request, back from the device.
    pub fn into_request(self) -> ARef<Request<T>> {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is not used or dropped after the request is taken out.
        unsafe { ManuallyDrop::take(&mut this.0) }
    }
}

impl<T: Operations> Drop for InFlight<T>
where
    T::RequestData: RequestBuffer,
{
    fn drop(&mut self) {
        // SAFETY: `self.0` is not used after this.
        let rq = unsafe { ManuallyDrop::take(&mut self.0) };
        // The request is unique (checked by `new`), so ending it cannot fail; if it did, the
        // reference is dropped and the request is left to the block layer's timeout.
        let _ = Request::end(rq, Err(EIO));
    }
}

// SAFETY:
// - `into_raw`/`from_raw` convert the unique `ARef` to and from its request pointer.
// - The memory `describe` lends is the request's private data and mapped pages, which stay
//   in place while the request is held; the request is held by the token.
unsafe impl<T: Operations + 'static> Token for InFlight<T>
where
    T::RequestData: RequestBuffer,
{
    fn into_raw(self) -> *mut c_void {
        ARef::into_raw(self.into_request()).as_ptr().cast()
    }

    unsafe fn from_raw(raw: *mut c_void) -> Self {
        // SAFETY: By the safety requirements `raw` comes from `into_raw`, which gave up a
        // unique `ARef`.
        Self(ManuallyDrop::new(unsafe {
            Request::aref_from_raw(raw.cast::<bindings::request>())
        }))
    }

    unsafe fn describe<'a>(raw: *mut c_void, sg: &mut SgList<'_, 'a>) -> Result {
        let rq = raw.cast::<bindings::request>();
        // SAFETY: `rq` is a live request of driver `T` (safety requirements). Its private area,
        // where the driver's data lives, is in the linear mapping (`Request::private_area`), so
        // the header and status the driver lends from it need not be checked again.
        unsafe { sg.trust(Request::<T>::private_area(rq)) };
        // SAFETY: `raw` is a request held by the ring through its only `ARef`, that nothing
        // else uses while the call runs (safety requirements).
        let request = unsafe { &*rq.cast::<Request<T>>() };
        let data = RequestData {
            list: request.mapped_sg(),
            device_writes: request.command().is_read(),
            _request: core::marker::PhantomData,
        };
        // SAFETY: As above; the borrow ends with `'a`, before the token is turned back.
        let buffer = unsafe { Request::<T>::data_mut_raw(rq) };
        Pin::into_inner(buffer).describe(data, sg)
    }
}
