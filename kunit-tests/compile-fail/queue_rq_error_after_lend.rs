// SPDX-License-Identifier: GPL-2.0

// Must not compile: lending a request to the device and then handing it back to the block layer with an error.
//
// expect: E0382

fn check() -> Result {
    Ok(())
}

use block::mq::{
    HwQueue,
    Request, //
};
use kernel::sync::aref::ARef;
use virtio::request::{
    InFlight,
    RequestBuffer,
    RequestData, //
};

struct Status([u8; 1]);

impl RequestBuffer for Status {
    fn describe<'a>(
        &'a mut self,
        data: RequestData<'a>,
        sg: &mut virtio::SgList<'_, 'a>,
    ) -> Result {
        sg.request_data(data)?;
        sg.writable(&mut self.0)
    }
}

struct Ops;

#[vtable]
impl block::mq::Operations for Ops {
    type QueueData = KBox<virtio::Virtqueue<InFlight<Ops>>>;
    type RequestData = Status;

    fn new_request_data() -> impl PinInit<Status, Error> {
        Ok::<_, Error>(Status([0]))
    }

    fn queue_rq(
        _hw_queue: &HwQueue,
        vq: &virtio::Virtqueue<InFlight<Ops>>,
        rq: ARef<Request<Self>>,
        _is_last: bool,
    ) -> Result<(), (Error, ARef<Request<Self>>)> {
        let _ = vq;
        let token = InFlight::new(rq).map_err(|rq| (EIO, rq))?;
        drop(token);
        // The request is the device's now (or ended): it cannot come back.
        Err((EIO, rq))
    }

    fn commit_rqs(_hw_queue: &HwQueue, _vq: &virtio::Virtqueue<InFlight<Ops>>) {}

    fn complete(rq: ARef<Request<Self>>) {
        let _ = Request::end_ok(rq);
    }
}
