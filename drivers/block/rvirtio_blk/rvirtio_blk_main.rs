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
    driver, new_mutex,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        ArcBorrow,
        Mutex, //
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
            TagSet, //
        },
    },
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

/// The most ranges of a discard request the block layer handles (`MAX_DISCARD_SEGMENTS`).
const MAX_DISCARD_SEGMENTS: u32 = 256;

/// The most request queues a device is given (one per CPU up to this; each needs a name).
const MAX_QUEUES: usize = 16;

static QUEUE_NAMES: [virtio::VqInfo; MAX_QUEUES] = [
    virtio::VqInfo::new(c"req.0"),
    virtio::VqInfo::new(c"req.1"),
    virtio::VqInfo::new(c"req.2"),
    virtio::VqInfo::new(c"req.3"),
    virtio::VqInfo::new(c"req.4"),
    virtio::VqInfo::new(c"req.5"),
    virtio::VqInfo::new(c"req.6"),
    virtio::VqInfo::new(c"req.7"),
    virtio::VqInfo::new(c"req.8"),
    virtio::VqInfo::new(c"req.9"),
    virtio::VqInfo::new(c"req.10"),
    virtio::VqInfo::new(c"req.11"),
    virtio::VqInfo::new(c"req.12"),
    virtio::VqInfo::new(c"req.13"),
    virtio::VqInfo::new(c"req.14"),
    virtio::VqInfo::new(c"req.15"),
];

/// The block major number, registered at module load (shown as `virtblk` in `/proc/devices`).
static MAJOR: Atomic<u32> = Atomic::new(0);

/// Disk indices in use (`vda` is 0): a bitmap, so that names and minors are reused.
static INDEXES: [Atomic<u64>; 16] = [const { Atomic::new(0) }; 16];

/// A disk index, released when dropped.
struct DiskIndex(usize);

impl DiskIndex {
    fn alloc() -> Result<Self> {
        for (word, bits) in INDEXES.iter().enumerate() {
            let mut cur = bits.load(Relaxed);
            while cur != u64::MAX {
                let bit = cur.trailing_ones() as usize;
                match bits.cmpxchg(cur, cur | (1 << bit), Relaxed) {
                    Ok(_) => return Ok(Self(word * 64 + bit)),
                    Err(now) => cur = now,
                }
            }
        }
        Err(ENOSPC)
    }
}

impl Drop for DiskIndex {
    fn drop(&mut self) {
        if let Some(bits) = INDEXES.get(self.0 / 64) {
            let mut cur = bits.load(Relaxed);
            while let Err(now) = bits.cmpxchg(cur, cur & !(1u64 << (self.0 % 64)), Relaxed) {
                cur = now;
            }
        }
    }
}

/// The driver's data in each request: what the device reads before the data, and the status
/// it writes after.
#[pin_data]
struct VirtblkReq {
    header: OutHeader,
    ranges: KVec<Range>,
    status: [u8; 1],
}

impl RequestBuffer for VirtblkReq {
    fn describe<'a>(&'a mut self, data: RequestData<'a>, sg: &mut SgList<'a>) -> Result {
        sg.readable(self.header.as_bytes())?;
        if !self.ranges.is_empty() {
            sg.readable(Range::slice_as_bytes(&self.ranges))?;
        }
        sg.request_data(data)?;
        sg.writable(&mut self.status)
    }
}

/// The queues' notification handler.
struct Done;

impl virtio::Handler<InFlight<BlkOps>> for Done {
    fn callback(&self, queue: &virtio::Queue<InFlight<BlkOps>>) {
        let mut ring = queue.lock();
        let mut last: Option<ARef<Request<BlkOps>>> = None;
        loop {
            ring.disable_cb();
            while let Some((token, _len)) = ring.get_buf() {
                if let Some(done) = last.replace(token.into_request()) {
                    Request::complete(done);
                }
            }
            if ring.enable_cb() {
                break;
            }
        }
        if let Some(done) = last {
            // The queue may be stopped waiting for room in the ring: there is now.
            done.queue().start_stopped_hw_queues(true);
            Request::complete(done);
        }
    }
}

/// What the disk's queues share: the device's virtqueues.
#[pin_data]
struct Shared {
    #[pin]
    vqs: virtio::Virtqueues<InFlight<BlkOps>, Done>,
    little_endian: bool,
    /// The device while it is bound (for `cache_type`).
    device: virtio::BoundDevice,
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

fn ranges_for(rq: &Request<BlkOps>) -> Result<KVec<Range>> {
    let flags = match rq.command() {
        Command::WriteZeroes if !rq.is_nounmap() => vblk::WRITE_ZEROES_FLAG_UNMAP,
        Command::Discard | Command::WriteZeroes => 0,
        _ => return Ok(KVec::new()),
    };
    let mut ranges = KVec::with_capacity(usize::from(rq.nr_discard_segments()), GFP_ATOMIC)?;
    let mut res = Ok(());
    rq.for_each_discard_range(|r| {
        if res.is_ok() {
            res = ranges.push(Range::new(r.sector, r.sectors, flags), GFP_ATOMIC);
        }
    });
    res?;
    Ok(ranges)
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
    ) -> Result {
        let queue = shared.vqs.queue(hw_queue.index() as usize).ok_or(EIO)?;
        // A driver-private request (the ID) comes with its header prepared.
        let header = match rq.command() {
            Command::DriverIn => None,
            _ => Some(header_for(&rq, shared.little_endian)?),
        };
        let ranges = ranges_for(&rq)?;
        {
            let mut data = Request::data_mut(&mut rq)?;
            if let Some(header) = header {
                data.header = header;
            }
            data.ranges = ranges;
            // Read as an error unless the device writes it.
            data.status = [status::IOERR];
        }
        Request::map_sg(&mut rq)?;
        let token = InFlight::new(rq).map_err(|_| EIO)?;

        let mut ring = queue.lock();
        match ring.add(token, GFP_ATOMIC) {
            Ok(()) => {
                let notify = is_last && ring.kick_prepare();
                drop(ring);
                if notify {
                    queue.notify();
                }
                Ok(())
            }
            Err((e, token)) => {
                // Not lent: the block layer keeps the request and queues it again.
                drop(token.into_request());
                let notify = ring.kick_prepare();
                if e == ENOSPC {
                    // Restarted by the next completion, which takes the same lock.
                    hw_queue.stop();
                }
                drop(ring);
                if notify {
                    queue.notify();
                }
                Err(if e == ENOSPC { EBUSY } else { e })
            }
        }
    }

    fn commit_rqs(hw_queue: &HwQueue, shared: ArcBorrow<'_, Shared>) {
        if let Some(queue) = shared.vqs.queue(hw_queue.index() as usize) {
            queue.kick();
        }
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
        dev.config().write_u8(config::WCE, wce as u8)?;
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
/// requests in flight complete normally).
struct Disk {
    gendisk: GenDisk<BlkOps>,
    _index: DiskIndex,
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
    let c = |f: &dyn Fn(&virtio::ConfigSpace<'_>) -> Result<u32>| dev.read_config(f);

    // At least one segment whatever the device says; at most what a ring can hold.
    let mut sg_elems = if dev.has_feature(f::SEG_MAX) {
        c(&|cfg| cfg.read_u32(config::SEG_MAX))?
    } else {
        1
    };
    sg_elems = sg_elems.clamp(1, MAX_SG_ELEMS);

    let mut max_size = u32::try_from(dev.max_dma_size()).unwrap_or(u32::MAX);
    if dev.has_feature(f::SIZE_MAX) {
        max_size = max_size.min(c(&|cfg| cfg.read_u32(config::SIZE_MAX))?);
    }

    let mut lbs = block::SECTOR_SIZE;
    if dev.has_feature(f::BLK_SIZE) {
        lbs = c(&|cfg| cfg.read_u32(config::BLK_SIZE))?;
        if GenDiskBuilder::<BlkOps>::validate_block_size(lbs).is_err() {
            dev_err!(d, "invalid block size {lbs} reported by the device\n");
            return Err(EINVAL);
        }
    }

    let mut lim = Limits::new()
        // C marks virtio disks rotational; the same, so that the queues look the same.
        .rotational(true)
        .max_segments(sg_elems as u16)
        .max_hw_sectors(u32::MAX)
        .max_segment_size(max_size)
        .logical_block_size(lbs);

    if dev.has_feature(f::TOPOLOGY) {
        let (exp, align, min_io, opt_io) = dev.read_config(|cfg| -> Result<_> {
            Ok((
                cfg.read_u8(config::PHYSICAL_BLOCK_EXP)?,
                cfg.read_u8(config::ALIGNMENT_OFFSET)?,
                cfg.read_u16(config::MIN_IO_SIZE)?,
                cfg.read_u32(config::OPT_IO_SIZE)?,
            ))
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
        let (granularity, max_sectors, max_segs) = dev.read_config(|cfg| -> Result<_> {
            Ok((
                cfg.read_u32(config::DISCARD_SECTOR_ALIGNMENT)?,
                cfg.read_u32(config::MAX_DISCARD_SECTORS)?,
                cfg.read_u32(config::MAX_DISCARD_SEG)?,
            ))
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
            .max_discard_segments(max_segs.min(MAX_DISCARD_SEGMENTS) as u16)
            .discard_granularity(granularity);
    }

    if dev.has_feature(f::WRITE_ZEROES) {
        let v = c(&|cfg| cfg.read_u32(config::MAX_WRITE_ZEROES_SECTORS))?;
        lim = lim.max_write_zeroes_sectors(if v != 0 { v } else { u32::MAX });
    }

    Ok(lim.write_cache(write_cache(dev)?))
}

/// Whether the device caches writes (flush requests are then sent), as C's
/// `virtblk_get_cache_mode()`.
fn write_cache(dev: &virtio::Device<Bound>) -> Result<bool> {
    if dev.has_feature(f::CONFIG_WCE) {
        Ok(dev.read_config(|cfg| cfg.read_u8(config::WCE))? != 0)
    } else {
        Ok(dev.has_feature(f::FLUSH))
    }
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
        let n = dev.read_config(|cfg| cfg.read_u16(config::NUM_QUEUES))?;
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
    num_vqs = num_vqs.min(cpu::nr_cpu_ids()).clamp(1, MAX_QUEUES as u32);
    let infos = &QUEUE_NAMES[..num_vqs as usize];
    dev_info!(d, "{num_vqs}/0/0 default/read/poll queues\n");

    let shared = Arc::pin_init(
        try_pin_init!(Shared {
            // Vectors spread over the CPUs, so that hardware queue `i` is served on the CPUs
            // of queue `i`'s interrupt.
            vqs <- virtio::Virtqueues::with_affinity(
                dev,
                infos,
                Ok::<_, Error>(Done),
                virtio::Affinity::spread(0),
            ),
            little_endian: bound.is_little_endian(),
            device: bound.bound_handle()?,
        }? Error),
        GFP_KERNEL,
    )?;

    let mut depth = module_parameters::queue_depth.value();
    if depth == 0 {
        depth = shared.vqs.queue(0).ok_or(ENODEV)?.lock().size();
        // Without indirect descriptors a request takes at least two descriptors.
        if !dev.has_feature(virtio::features::RING_INDIRECT_DESC) {
            depth /= 2;
        }
    }
    let depth = depth.max(1);

    let limits = read_limits(bound)?;
    let lbs = limits.get_logical_block_size();
    let capacity = dev.read_config(|cfg| cfg.read_u64(config::CAPACITY))?;
    let geometry = if dev.has_feature(f::GEOMETRY) {
        Some(dev.read_config(|cfg| -> Result<Geometry> {
            Ok(Geometry {
                cylinders: cfg.read_u16(config::CYLINDERS)?,
                heads: cfg.read_u8(config::HEADS)?,
                sectors: cfg.read_u8(config::SECTORS)?,
            })
        })?)
    } else {
        None
    };

    let tagset = Arc::pin_init(TagSet::with_affinity(num_vqs, depth, d), GFP_KERNEL)?;
    let index = DiskIndex::alloc()?;
    let first_minor = u32::try_from(index.0)
        .ok()
        .and_then(|i| i.checked_shl(PART_BITS))
        .ok_or(ENOSPC)?;

    // The disk is read for partitions as it is added: the device must be ready.
    bound.ready();

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
        .build(
            format_args!("vd{}", block::DiskLetters(index.0)),
            tagset,
            shared,
            Some(d),
        )?;
    log_capacity(bound, gendisk.name(), capacity, lbs, false);
    Ok(Disk {
        gendisk,
        _index: index,
    })
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
        let lbs = match read_limits(dev) {
            Ok(lim) => lim.get_logical_block_size(),
            Err(_) => block::SECTOR_SIZE,
        };
        match dev.read_config(|cfg| cfg.read_u64(config::CAPACITY)) {
            Ok(capacity) => {
                log_capacity(dev, disk.gendisk.name(), capacity, lbs, true);
                disk.gendisk.set_capacity_and_notify(capacity);
            }
            Err(e) => dev_err!(dev.as_ref(), "reading the capacity failed: {e:?}\n"),
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
