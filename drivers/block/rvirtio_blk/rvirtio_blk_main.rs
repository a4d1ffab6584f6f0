// SPDX-License-Identifier: GPL-2.0

//! Virtio block device driver.
//!
//! Disks of virtio-blk devices (`/dev/vdX`, major `virtblk`), as the C `virtio_blk` driver
//! presents them: read, write, flush, discard and write-zeroes requests; one request queue per
//! CPU when the device has several (`num_request_queues` caps them); the device's block sizes,
//! topology and limits; its ID in `/sys/block/vdX/serial`; its geometry for `HDIO_GETGEO`;
//! online resize when the device's capacity changes.
//!
//! Each request is lent to the device without allocation: the request is the virtqueue's
//! token, its driver data holds the header the device reads and the status it writes, and its
//! pages are mapped by the block layer. A full ring stops the hardware queue; completions
//! restart it.

use kernel::{
    cpu,
    device::{
        Bound,
        Core, //
    },
    driver, new_mutex, new_spinlock_irq,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        ArcBorrow,
        Mutex,
        SetOnce,
        SpinLockIrq, //
    },
};

#[path = "../../../rust/bindings/lib.rs"]
mod bindings;

// The abstractions, compiled into this module (see Documentation/design.rst); it uses only
// part of them.
#[path = "../../../rust/kernel"]
#[allow(dead_code, unreachable_pub, unused_imports)]
mod rust_kernel {
    pub(crate) mod block;
    pub(crate) mod ida;
    pub(crate) mod net {
        pub(crate) mod page_pool;
        pub(crate) mod skbuff;
    }
    pub(crate) mod virtio;
}
use rust_kernel::{
    block::{
        self,
        mq::{
            self,
            gen_disk::{
                Attribute,
                GenDisk,
                GenDiskBuilder,
                Geometry,
                Limits,
                SysfsWriter, //
            },
            Command,
            HwQueue,
            Request,
            RequestQueue,
            TagSet,
            TimedOut,
            TimeoutAction, //
        },
    },
    ida::Ida,
    virtio::{
        self,
        blk::{
            self as vblk,
            config,
            features as f,
            request_type,
            status,
            OutHeader,
            Range, //
        },
        request::{
            InFlight,
            RequestBuffer,
            RequestData, //
        },
        SgList, //
    },
};

module! {
    type: BlkModule,
    name: "rvirtio_blk",
    authors: ["rvirtio developers"],
    description: "Virtio block driver",
    license: "GPL",
    params: {
        num_request_queues: u32 {
            default: 0,
            description: "Limit the number of request queues to use for blk device. \
                          0 for no limit. Values > nr_cpu_ids truncated to nr_cpu_ids.",
        },
        queue_depth: u32 {
            default: 0,
            description: "Queue depth of each hardware queue. 0 to fill the ring.",
        },
    },
}

/// Partitions per disk: minors are `index << PART_BITS` and up, as in C.
const PART_BITS: u32 = 4;

/// The most segments a request may have whatever the device says (C's
/// `VIRTIO_BLK_MAX_SG_ELEMS - 2`: the header and the status take two descriptors).
const MAX_SG_ELEMS: u32 = 32768 - 2;

/// The smallest segment size limit the block layer accepts (`BLK_MIN_SEGMENT_SIZE`).
const MIN_SEGMENT_SIZE: u32 = 4096;

/// The most ranges of a discard request the block layer handles (`MAX_DISCARD_SEGMENTS`).
const MAX_DISCARD_SEGMENTS: u32 = 256;

/// The block major number, registered at module load (shown as `virtblk` in `/proc/devices`).
static MAJOR: Atomic<u32> = Atomic::new(0);

/// Disk indices (`vda` is 0), so that names and minors are reused; populated at module load.
static DISK_INDEXES: SetOnce<Ida> = SetOnce::new();

/// The most disks: as many as the minor numbers allow (C's `minor_to_index(1 << MINORBITS)`).
const MAX_DISKS: u32 = 1 << (20 - PART_BITS);

/// The driver's data in each request: what the device reads before the data, and the status
/// it writes after.
#[pin_data]
struct VirtblkReq {
    header: OutHeader,
    ranges: KVec<Range>,
    status: [u8; 1],
}

impl RequestBuffer for VirtblkReq {
    fn describe<'a>(&'a mut self, data: RequestData<'a>, sg: &mut SgList<'_, 'a>) -> Result {
        sg.readable(self.header.as_bytes())?;
        if !self.ranges.is_empty() {
            sg.readable(Range::slice_as_bytes(&self.ranges))?;
        }
        sg.request_data(data)?;
        sg.writable(&mut self.status)
    }
}

/// The scatterlist entries of a request: header, discard ranges, data, status.
const REQUEST_ENTRIES: usize = 4;

/// One request queue of the device, shared by the hardware queue that submits to it and the
/// interrupt that completes it.
#[pin_data]
struct ReqQueue {
    #[pin]
    vq: SpinLockIrq<virtio::Virtqueue<InFlight<BlkOps>>>,
    /// Notifies the device outside the lock.
    notifier: virtio::Notifier,
}

/// What the disk's queues share: the device's request queues.
struct Shared {
    queues: KVec<Pin<KBox<ReqQueue>>>,
    little_endian: bool,
    /// Whether a used length that does not cover the data fails the request (virtio 1.0
    /// devices; see `fill_checked`).
    check_used_len: bool,
    /// A short used length was logged.
    short_len_seen: Atomic<bool>,
    /// The device while it is bound (for `cache_type`).
    device: virtio::BoundDevice,
}

impl Shared {
    fn queue(&self, hw_queue: &HwQueue) -> Result<&ReqQueue> {
        let index = usize::try_from(hw_queue.index()).map_err(|_| EIO)?;
        self.queues.get(index).map(|q| &**q).ok_or(EIO)
    }
}

impl Shared {
    /// Completes the requests the device returned on `queue`.
    fn reap(&self, queue: &ReqQueue) {
        let mut vq = queue.vq.lock();
        let Ok(mut ring) = vq.ring() else {
            return;
        };
        let mut last: Option<ARef<Request<BlkOps>>> = None;
        loop {
            ring.disable_cb();
            while let Some(used) = ring.get_buf() {
                let len = used.reported_len();
                let mut rq = used.into_token().into_request();
                if self.check_used_len {
                    self.fill_checked(&mut rq, len);
                }
                if let Some(done) = last.replace(rq) {
                    Request::complete(done);
                }
            }
            if ring.enable_cb() {
                break;
            }
        }
        drop(ring);
        drop(vq);
        if let Some(done) = last {
            // The queue may be stopped waiting for room in the ring: there is now.
            done.queue().start_stopped_hw_queues(true);
            Request::complete(done);
        }
    }

    /// Fails a request whose used length does not cover the data the device had to write (a
    /// read's), or goes beyond what it was lent. The virtio specification (2.7.8) lets the
    /// driver rely on the first `len` bytes only, so data the device did not say it wrote is
    /// not reported as read. The status byte is not required to be counted (devices differ;
    /// its value, preset to an error, decides). Legacy devices set the length wrongly often
    /// enough that the specification advises ignoring it; C's virtio_blk ignores it for every
    /// device.
    fn fill_checked(&self, rq: &mut ARef<Request<BlkOps>>, len: u32) {
        let data = if rq.command().is_read() {
            rq.bytes()
        } else {
            0
        };
        if len >= data && len - data <= 1 {
            return;
        }
        if let Ok(mut d) = Request::data_mut(rq) {
            d.status = [status::IOERR];
        }
        if !self.short_len_seen.xchg(true, Relaxed) {
            let _ = self.device.with(|dev| {
                dev_warn!(
                    dev.as_ref(),
                    "device reported {len} bytes written for {data} bytes of data; request \
                     failed (reported once)\n"
                )
            });
        }
    }

    /// Resets a device that cannot be trusted any more: every request it held ends with an
    /// I/O error, and the requests that follow fail at once (the queues refuse them).
    fn fail(&self, queue: &RequestQueue<BlkOps>, why: core::fmt::Arguments<'_>) {
        let Some(q) = self.queues.first() else {
            return;
        };
        if q.notifier.fail_device() {
            let _ = self
                .device
                .with(|dev| dev_err!(dev.as_ref(), "{why}: device reset, its requests failed\n"));
        }
        // Requests waiting for room in a full ring would wait for ever: let them fail.
        queue.start_stopped_hw_queues(true);
    }
}

impl virtio::Callback for Shared {
    fn callback(&self, queue: &virtio::Called<'_>) {
        if let Some(q) = self.queues.get(queue.index()) {
            self.reap(q);
        }
    }
}

struct BlkOps;

fn header_for(rq: &Request<BlkOps>, little_endian: bool) -> Result<OutHeader> {
    let (type_, sector) = match rq.command() {
        Command::Read => (request_type::IN, rq.sector()),
        Command::Write => (request_type::OUT, rq.sector()),
        Command::Flush => (request_type::FLUSH, 0),
        Command::Discard => (request_type::DISCARD, 0),
        Command::WriteZeroes => (request_type::WRITE_ZEROES, 0),
        _ => return Err(EOPNOTSUPP),
    };
    Ok(OutHeader::new(
        little_endian,
        type_,
        u32::from(rq.ioprio()),
        sector,
    ))
}

/// The ranges of a discard or write-zeroes request; `None` for other requests, which have
/// none (and so cost no allocation).
fn ranges_for(rq: &Request<BlkOps>) -> Result<Option<KVec<Range>>> {
    let flags = match rq.command() {
        Command::WriteZeroes if !rq.is_nounmap() => vblk::WRITE_ZEROES_FLAG_UNMAP,
        Command::Discard | Command::WriteZeroes => 0,
        _ => return Ok(None),
    };
    let mut ranges = KVec::with_capacity(usize::from(rq.nr_discard_segments()), GFP_ATOMIC)?;
    let mut res = Ok(());
    rq.for_each_discard_range(|r| {
        if res.is_ok() {
            res = ranges.push(Range::new(r.sector, r.sectors, flags), GFP_ATOMIC);
        }
    });
    res?;
    Ok(Some(ranges))
}

/// Fills in what the device reads before the data and maps the data.
fn prepare(rq: &mut ARef<Request<BlkOps>>, little_endian: bool) -> Result {
    // A driver-private request (the ID) comes with its header prepared.
    let header = match rq.command() {
        Command::DriverIn => None,
        _ => Some(header_for(rq, little_endian)?),
    };
    let ranges = ranges_for(rq)?;
    {
        let mut data = Request::data_mut(rq)?;
        if let Some(header) = header {
            data.header = header;
        }
        match ranges {
            Some(ranges) => data.ranges = ranges,
            // Keeps the allocation of an earlier discard of this request, if any: replacing
            // the vector would free it (or call the allocator for nothing) on every read.
            None => data.ranges.clear(),
        }
        // Read as an error unless the device writes it.
        data.status = [status::IOERR];
    }
    Request::map_sg(rq)?;
    Ok(())
}

#[vtable]
impl mq::Operations for BlkOps {
    type QueueData = Arc<Shared>;
    type RequestData = VirtblkReq;

    fn new_request_data() -> impl PinInit<VirtblkReq, Error> {
        try_pin_init!(VirtblkReq {
            header: OutHeader::default(),
            ranges: KVec::new(),
            status: [status::IOERR],
        }? Error)
    }

    fn queue_rq(
        hw_queue: &HwQueue,
        shared: ArcBorrow<'_, Shared>,
        mut rq: ARef<Request<Self>>,
        is_last: bool,
    ) -> Result<(), (Error, ARef<Request<Self>>)> {
        let queue = match shared.queue(hw_queue) {
            Ok(queue) => queue,
            Err(e) => return Err((e, rq)),
        };
        if let Err(e) = prepare(&mut rq, shared.little_endian) {
            return Err((e, rq));
        }
        let token = InFlight::new(rq).map_err(|rq| (EIO, rq))?;

        let mut vq = queue.vq.lock();
        let mut ring = match vq.ring() {
            Ok(ring) => ring,
            Err(e) => return Err((e, token.into_request())),
        };
        match ring.add(token) {
            Ok(()) => {
                let notify = is_last && ring.kick_prepare();
                drop(ring);
                drop(vq);
                if notify {
                    queue.notifier.notify();
                }
                Ok(())
            }
            Err((e, token)) => {
                // Not lent: the block layer keeps the request and queues it again.
                let rq = token.into_request();
                let notify = ring.kick_prepare();
                if e == ENOSPC {
                    // Restarted by the next completion, which takes the same lock.
                    hw_queue.stop();
                }
                drop(ring);
                drop(vq);
                if notify {
                    queue.notifier.notify();
                }
                Err((if e == ENOSPC { EBUSY } else { e }, rq))
            }
        }
    }

    fn commit_rqs(hw_queue: &HwQueue, shared: ArcBorrow<'_, Shared>) {
        if let Ok(queue) = shared.queue(hw_queue) {
            let notify = queue.vq.lock().kick_prepare();
            if notify {
                queue.notifier.notify();
            }
        }
    }

    /// A request the device did not return in time. C's virtio_blk has no handler and waits
    /// for ever; a device that lost a request, or stopped, is reset here instead.
    fn timeout(
        hw_queue: &HwQueue,
        shared: ArcBorrow<'_, Shared>,
        rq: &TimedOut<'_, Self>,
    ) -> TimeoutAction {
        // An interrupt may have been lost: the request may be among the buffers the device
        // returned.
        if let Ok(queue) = shared.queue(hw_queue) {
            shared.reap(queue);
        }
        if rq.has_ended() {
            return TimeoutAction::Done;
        }
        shared.fail(
            rq.queue(),
            format_args!(
                "{:?} request (sector {}, {} sectors) timed out",
                rq.command(),
                rq.sector(),
                rq.sectors()
            ),
        );
        // Ended by the reset, or by the teardown if the device is being removed.
        TimeoutAction::Done
    }

    fn complete(rq: ARef<Request<Self>>) {
        let result = match rq.data().status[0] {
            status::OK => Ok(()),
            status::UNSUPP => Err(EOPNOTSUPP),
            _ => Err(EIO),
        };
        // The request is unique here (it came back from the ring); if it were not, it would
        // be left to the block layer's timeout rather than ended twice.
        let _ = Request::end(rq, result);
    }
}

/// `/sys/block/vdX/serial`: the device's ID string (empty if the device has none).
fn serial_show(
    queue: &RequestQueue<BlkOps>,
    shared: ArcBorrow<'_, Shared>,
    out: &mut SysfsWriter<'_>,
) -> Result {
    let mut id = KVec::from_elem(0u8, vblk::ID_BYTES, GFP_KERNEL)?;
    let le = shared.little_endian;
    match queue.execute_driver_in(&mut id, |mut data| {
        data.header = OutHeader::new(le, request_type::GET_ID, 0, 0);
        data.ranges = KVec::new();
    }) {
        Ok(()) => {
            let len = id.iter().position(|&b| b == 0).unwrap_or(id.len());
            out.write_bytes(&id[..len]);
            Ok(())
        }
        // Unsupported: empty, as in C.
        Err(e) if e == EIO || e == EOPNOTSUPP => Ok(()),
        Err(e) => Err(e),
    }
}

/// The names of the cache modes, by the value of the `wce` configuration field.
const CACHE_TYPES: [&[u8]; 2] = [b"write through", b"write back"];

/// `/sys/block/vdX/cache_type`: `write back` or `write through`, as in C.
fn cache_type_show(
    _queue: &RequestQueue<BlkOps>,
    shared: ArcBorrow<'_, Shared>,
    out: &mut SysfsWriter<'_>,
) -> Result {
    let write_back = shared.device.with(write_cache)??;
    out.write_bytes(CACHE_TYPES[usize::from(write_back)]);
    out.write_bytes(b"\n");
    Ok(())
}

/// Writing `write through` or `write back` switches the device's cache mode (devices that
/// offer CONFIG_WCE) and tells the block layer whether to send flushes.
fn cache_type_store(
    queue: &RequestQueue<BlkOps>,
    shared: ArcBorrow<'_, Shared>,
    input: &[u8],
) -> Result {
    // `sysfs_match_string()`: the name, with or without a trailing newline.
    let input = input.strip_suffix(b"\n").unwrap_or(input);
    let wce = CACHE_TYPES
        .iter()
        .position(|&name| name == input)
        .ok_or(EINVAL)?;
    let write_back = shared.device.with(|dev| -> Result<bool> {
        if !dev.has_feature(f::CONFIG_WCE) {
            return Err(EACCES);
        }
        dev.config()?.write(config::WCE, u8::from(wce == 1));
        write_cache(dev)
    })??;
    queue.set_write_cache(write_back)
}

static ATTRIBUTES_WCE: [Attribute<BlkOps>; 2] = [
    Attribute::<BlkOps>::new(c"serial", serial_show),
    Attribute::<BlkOps>::new_rw(c"cache_type", cache_type_show, cache_type_store),
];

static ATTRIBUTES: [Attribute<BlkOps>; 2] = [
    Attribute::<BlkOps>::new(c"serial", serial_show),
    Attribute::<BlkOps>::new(c"cache_type", cache_type_show),
];

/// A bound device's disk, deleted at unbind (before the queues are torn down, so that
/// requests in flight complete normally). Its index is kept until the disk is released.
struct Disk {
    gendisk: GenDisk<BlkOps>,
    shared: Arc<Shared>,
}

#[pin_data]
struct RvirtioBlk {
    #[pin]
    disk: Mutex<Option<Disk>>,
}

crate::virtio_device_table!(BLK_IDS, [virtio::DeviceId::new(virtio::ids::BLOCK)]);

/// The limits the device reports, checked, as C's `virtblk_read_limits()`.
fn read_limits(dev: &virtio::Device<Bound>) -> Result<Limits> {
    let d = dev.as_ref();
    let c = |field: virtio::ConfigField<vblk::Config, u32>| dev.read_config(|cfg| cfg.read(field));

    // At least one segment whatever the device says; at most what a ring can hold.
    let mut sg_elems = if dev.has_feature(f::SEG_MAX) {
        c(config::SEG_MAX)?
    } else {
        1
    };
    sg_elems = sg_elems.clamp(1, MAX_SG_ELEMS);

    let mut max_size = u32::try_from(dev.max_dma_size()).unwrap_or(u32::MAX);
    if dev.has_feature(f::SIZE_MAX) {
        let v = c(config::SIZE_MAX)?;
        // 0 leaves the block layer's default, as in C; a limit below the block layer's
        // minimum makes it refuse the limits with a warning (C passes it on).
        if v != 0 && v < MIN_SEGMENT_SIZE {
            dev_err!(
                d,
                "segment size limit {v} below the block layer's minimum\n"
            );
            return Err(EINVAL);
        }
        max_size = max_size.min(v);
    }

    let mut lbs = block::SECTOR_SIZE;
    if dev.has_feature(f::BLK_SIZE) {
        lbs = c(config::BLK_SIZE)?;
        if GenDiskBuilder::<BlkOps>::validate_block_size(lbs).is_err() {
            dev_err!(d, "invalid block size {lbs} reported by the device\n");
            return Err(EINVAL);
        }
    }

    let mut lim = Limits::new()
        // C marks virtio disks rotational; the same, so that the queues look the same.
        .rotational(true)
        .max_segments(u16::try_from(sg_elems).unwrap_or(u16::MAX))
        .max_hw_sectors(u32::MAX)
        .max_segment_size(max_size)
        .logical_block_size(lbs);

    if dev.has_feature(f::TOPOLOGY) {
        let (exp, align, min_io, opt_io) = dev.read_config(|cfg| {
            (
                cfg.read(config::PHYSICAL_BLOCK_EXP),
                cfg.read(config::ALIGNMENT_OFFSET),
                cfg.read(config::MIN_IO_SIZE),
                cfg.read(config::OPT_IO_SIZE),
            )
        })?;
        let scaled = |n: u32| lbs.checked_mul(n).ok_or(EINVAL);
        let bad = |what: &str| {
            dev_err!(d, "topology: {what} out of range\n");
            EINVAL
        };
        if exp != 0 {
            let pbs = 1u32
                .checked_shl(u32::from(exp))
                .and_then(|m| lbs.checked_mul(m))
                .ok_or_else(|| bad("physical block exponent"))?;
            lim = lim.physical_block_size(pbs);
        }
        if align != 0 {
            lim = lim.alignment_offset(scaled(u32::from(align)).map_err(|_| bad("alignment"))?);
        }
        if min_io != 0 {
            lim = lim.io_min(scaled(u32::from(min_io)).map_err(|_| bad("minimum I/O size"))?);
        }
        if opt_io != 0 {
            lim = lim.io_opt(scaled(opt_io).map_err(|_| bad("optimal I/O size"))?);
        }
    }

    if dev.has_feature(f::DISCARD) {
        let (granularity, max_sectors, max_segs) = dev.read_config(|cfg| {
            (
                cfg.read(config::DISCARD_SECTOR_ALIGNMENT),
                cfg.read(config::MAX_DISCARD_SECTORS),
                cfg.read(config::MAX_DISCARD_SEG),
            )
        })?;
        let max_segs = if max_segs == 0 { sg_elems } else { max_segs };
        let granularity = if granularity != 0 {
            granularity
                .checked_shl(block::SECTOR_SHIFT)
                .filter(|g| g >> block::SECTOR_SHIFT == granularity)
                .ok_or_else(|| {
                    dev_err!(d, "discard alignment {granularity} out of range\n");
                    EINVAL
                })?
        } else {
            lbs
        };
        lim = lim
            .max_hw_discard_sectors(if max_sectors != 0 {
                max_sectors
            } else {
                u32::MAX
            })
            .max_discard_segments(
                u16::try_from(max_segs.min(MAX_DISCARD_SEGMENTS)).unwrap_or(u16::MAX),
            )
            .discard_granularity(granularity);
    }

    if dev.has_feature(f::WRITE_ZEROES) {
        let v = c(config::MAX_WRITE_ZEROES_SECTORS)?;
        lim = lim.max_write_zeroes_sectors(if v != 0 { v } else { u32::MAX });
    }

    Ok(lim.write_cache(write_cache(dev)?))
}

/// Whether the device caches writes (flush requests are then sent), as C's
/// `virtblk_get_cache_mode()`.
fn write_cache(dev: &virtio::Device<Bound>) -> Result<bool> {
    if dev.has_feature(f::CONFIG_WCE) {
        Ok(dev.read_config(|cfg| cfg.read(config::WCE))? != 0)
    } else {
        Ok(dev.has_feature(f::FLUSH))
    }
}

/// The largest capacity a disk can have: its size in bytes must fit in `loff_t`, the size of
/// its block device inode.
const MAX_CAPACITY: u64 = i64::MAX as u64 >> block::SECTOR_SHIFT;

/// The device's capacity in 512-byte sectors, checked: one the block layer cannot represent
/// is refused (C takes it, and the disk's size in bytes wraps negative); one that is not a
/// whole number of logical blocks is rounded down, as the block layer cannot read a partial
/// block.
fn read_capacity(dev: &virtio::Device<Bound>, lbs: u32) -> Result<u64> {
    let sectors = dev.read_config(|cfg| cfg.read(config::CAPACITY))?;
    if sectors > MAX_CAPACITY {
        dev_err!(dev.as_ref(), "capacity of {sectors} sectors out of range\n");
        return Err(EINVAL);
    }
    let per_block = u64::from(lbs >> block::SECTOR_SHIFT).max(1);
    let whole = sectors - sectors % per_block;
    if whole != sectors {
        dev_warn!(
            dev.as_ref(),
            "capacity of {sectors} sectors is not a whole number of {lbs}-byte blocks; \
             using {whole}\n"
        );
    }
    Ok(whole)
}

/// Logs the capacity as C does: `[vda] 131072 512-byte logical blocks (67.1 MB/64.0 MiB)`.
fn log_capacity(dev: &virtio::Device<Bound>, name: &CStr, sectors: u64, lbs: u32, resize: bool) {
    let blocks = sectors.div_ceil(u64::from(lbs >> block::SECTOR_SHIFT).max(1));
    dev_notice!(
        dev.as_ref(),
        "[{}] {}{} {}-byte logical blocks ({}/{})\n",
        name.to_str().unwrap_or("?"),
        if resize { "new size: " } else { "" },
        blocks,
        lbs,
        block::Size::new(blocks, u64::from(lbs), false),
        block::Size::new(blocks, u64::from(lbs), true)
    );
}

fn setup(dev: &virtio::Device<Core<'_>>) -> Result<Disk> {
    let d = dev.as_ref();
    let bound: &virtio::Device<Bound> = dev;

    let mut num_vqs = if dev.has_feature(f::MQ) {
        let n = dev.read_config(|cfg| cfg.read(config::NUM_QUEUES))?;
        if n == 0 {
            dev_err!(d, "MQ advertised but zero queues reported\n");
            return Err(EINVAL);
        }
        u32::from(n)
    } else {
        1
    };
    let limit = module_parameters::num_request_queues.value();
    if limit != 0 {
        num_vqs = num_vqs.min(limit);
    }
    num_vqs = num_vqs.min(cpu::nr_cpu_ids()).max(1);
    dev_info!(d, "{num_vqs}/0/0 default/read/poll queues\n");

    let mut builder = virtio::Builder::new(dev)?;
    let mut pending = KVec::new();
    for i in 0..num_vqs {
        let spec = virtio::QueueSpec::new(format_args!("req.{i}"))?.max_entries(REQUEST_ENTRIES);
        pending.push(builder.add::<InFlight<BlkOps>>(spec)?, GFP_KERNEL)?;
    }
    // Vectors spread over the CPUs, so that hardware queue `i` is served on the CPUs of queue
    // `i`'s interrupt.
    let mut found = builder.find(virtio::Affinity::spread(0))?;
    let mut queues = KVec::with_capacity(pending.len(), GFP_KERNEL)?;
    for p in pending {
        let vq = found.take(p)?;
        let notifier = vq.notifier();
        let queue = KBox::pin_init(
            try_pin_init!(ReqQueue {
                vq <- new_spinlock_irq!(vq),
                notifier,
            }),
            GFP_KERNEL,
        )?;
        queues.push(queue, GFP_KERNEL)?;
    }
    let shared = Arc::new(
        Shared {
            queues,
            little_endian: bound.is_little_endian(),
            check_used_len: dev.has_feature(virtio::features::VERSION_1),
            short_len_seen: Atomic::new(false),
            device: bound.bound_handle()?,
        },
        GFP_KERNEL,
    )?;
    for queue in shared.queues.iter() {
        queue.vq.lock().set_callback(shared.clone())?;
    }

    let mut depth = module_parameters::queue_depth.value();
    if depth == 0 {
        depth = shared.queues.first().ok_or(ENODEV)?.vq.lock().size();
        // Without indirect descriptors a request takes at least two descriptors.
        if !dev.has_feature(virtio::features::RING_INDIRECT_DESC) {
            depth /= 2;
        }
    }
    let depth = depth.max(1);

    let limits = read_limits(bound)?;
    let lbs = limits.get_logical_block_size();
    let capacity = read_capacity(bound, lbs)?;
    let geometry = if dev.has_feature(f::GEOMETRY) {
        Some(dev.read_config(|cfg| Geometry {
            cylinders: cfg.read(config::CYLINDERS),
            heads: cfg.read(config::HEADS),
            sectors: cfg.read(config::SECTORS),
        })?)
    } else {
        None
    };

    let tagset = Arc::pin_init(TagSet::with_affinity(num_vqs, depth, d), GFP_KERNEL)?;
    let index = DISK_INDEXES
        .as_ref()
        .ok_or(ENODEV)?
        .alloc_max(MAX_DISKS - 1)?;
    let first_minor = index.get().checked_shl(PART_BITS).ok_or(ENOSPC)?;
    let name_index = usize::try_from(index.get()).map_err(|_| ENOSPC)?;

    // The disk is read for partitions as it is added: the device must be ready.
    found.ready();

    let gendisk = GenDiskBuilder::new()
        .limits(limits)
        .capacity_sectors(capacity)
        .read_only(dev.has_feature(f::RO))
        .device_numbers(MAJOR.load(Relaxed), first_minor, 1 << PART_BITS)
        .attributes(if dev.has_feature(f::CONFIG_WCE) {
            &ATTRIBUTES_WCE
        } else {
            &ATTRIBUTES
        })
        .geometry(geometry)
        // Released with the disk: an open disk outlives the device.
        .keep_until_release(KBox::new(index, GFP_KERNEL)?)
        .build(
            format_args!("vd{}", block::DiskLetters(name_index)),
            tagset,
            shared.clone(),
            Some(d),
        )?;
    log_capacity(bound, gendisk.name(), capacity, lbs, false);
    Ok(Disk { gendisk, shared })
}

impl virtio::Driver for RvirtioBlk {
    type Data<'bound> = Self;
    const ID_TABLE: virtio::IdTable = &BLK_IDS;
    const FEATURES: &'static [u32] = &[
        f::SEG_MAX,
        f::SIZE_MAX,
        f::GEOMETRY,
        f::RO,
        f::BLK_SIZE,
        f::FLUSH,
        f::TOPOLOGY,
        f::CONFIG_WCE,
        f::MQ,
        f::DISCARD,
        f::WRITE_ZEROES,
    ];

    fn probe<'bound>(dev: &'bound virtio::Device<Core<'_>>) -> impl PinInit<Self, Error> + 'bound {
        try_pin_init!(RvirtioBlk {
            disk <- new_mutex!(Some(setup(dev)?)),
        })
    }

    fn unbind<'bound>(_dev: &'bound virtio::Device<Core<'_>>, this: Pin<&Self>) {
        // Deleting the disk waits for the requests in flight to complete.
        drop(this.disk.lock().take());
    }

    fn config_changed<'bound>(dev: &'bound virtio::Device<Bound>, this: Pin<&Self>) {
        let guard = this.disk.lock();
        let Some(disk) = guard.as_ref() else {
            return;
        };
        if dev.needs_reset() {
            disk.shared
                .fail(disk.gendisk.queue(), format_args!("device needs a reset"));
            return;
        }
        let lbs = match read_limits(dev) {
            Ok(lim) => lim.get_logical_block_size(),
            Err(_) => block::SECTOR_SIZE,
        };
        // A capacity out of range was reported by `read_capacity`; the disk keeps its size.
        if let Ok(capacity) = read_capacity(dev, lbs) {
            log_capacity(dev, disk.gendisk.name(), capacity, lbs, true);
            disk.gendisk.set_capacity_and_notify(capacity);
        }
    }
}

#[pin_data]
struct BlkModule {
    #[pin]
    driver: driver::Registration<virtio::Adapter<RvirtioBlk>>,
    major: block::Major,
}

impl kernel::InPlaceModule for BlkModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // Once per load of the module.
        DISK_INDEXES.populate(Ida::new());
        try_pin_init!(Self {
            major: {
                let major = block::Major::register(c"virtblk")?;
                MAJOR.store(major.number(), Relaxed);
                major
            },
            driver <- driver::Registration::new(c"rvirtio_blk", module),
        })
    }
}
