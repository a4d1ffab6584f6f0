// SPDX-License-Identifier: GPL-2.0

// Must not compile: per-request driver data that needs more alignment than `struct request` gives.
//
// expect: the request data needs more alignment

use block::mq::{
    HwQueue,
    Request,
    TagSet, //
};
use kernel::sync::aref::ARef;

fn check() -> Result {
    let _tags = KBox::pin_init(TagSet::<Ops>::new(1, 64, 1), GFP_KERNEL)?;
    Ok(())
}

/// A cache line, aligned as one.
#[repr(align(64))]
struct CacheLine([u8; 64]);

struct Ops;

#[vtable]
impl block::mq::Operations for Ops {
    type QueueData = ();
    type RequestData = CacheLine;

    fn new_request_data() -> impl PinInit<CacheLine, Error> {
        Ok::<_, Error>(CacheLine([0; 64]))
    }

    fn queue_rq(
        _hw_queue: &HwQueue,
        _queue_data: (),
        rq: ARef<Request<Self>>,
        _is_last: bool,
    ) -> Result<(), (Error, ARef<Request<Self>>)> {
        Err((EIO, rq))
    }

    fn commit_rqs(_hw_queue: &HwQueue, _queue_data: ()) {}

    fn complete(rq: ARef<Request<Self>>) {
        let _ = Request::end_ok(rq);
    }
}
