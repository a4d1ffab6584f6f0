// SPDX-License-Identifier: GPL-2.0

//! rvdev: virtio devices served over vhost-user, for rvirtio's tests (a block device here,
//! a network peer in `net.rs`).
//!
//! QEMU (`vhost-user-blk-pci`) gives the guest a virtio-blk device whose queue this process
//! serves, from a disk held in memory. By default the device is correct; `--lie` makes it
//! break one promise of the virtio specification, from its `--after`-th request on, so that
//! the guest driver's handling of a device that cannot be trusted can be tested.
//!
//!   rvdev blk --socket PATH [--size BYTES] [--lie LIE] [--after N] [--from-sector S]
//!             [--config FIELD=VALUE]... [--seed N] [--rate PERCENT]
//!
//! A lie applies to the requests after the first N, and only to reads and writes that start
//! at sector S or beyond when `--from-sector` is given (so that a test decides when it
//! starts: the driver's own reads while it probes start at sector 0). `--lie random` mixes the
//! lies a driver can see in a request's completion, for `--rate` percent of the requests
//! (default 10), from a generator seeded with `--seed`. `--config` makes the
//! configuration space lie instead (`capacity`, `size_max`, `seg_max`, `blk_size`,
//! `physical_block_exp`, `alignment_offset`, `min_io_size`, `opt_io_size`,
//! `max_discard_sectors`, `max_discard_seg`, `discard_sector_alignment`,
//! `max_write_zeroes_sectors`); setting a topology, discard or write-zeroes field offers that
//! feature.
//!
//! The disk starts with the host pattern of `qemu-scripts/blk-pattern.py` (eight 64-byte
//! records per sector naming the seed, the sector and the offset), so that what the guest
//! reads can be checked.

mod net;

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use std::sync::atomic::Ordering;
use vhost::vhost_user::message::{VhostUserProtocolFeatures, VhostUserVirtioFeatures};
use vhost_user_backend::{VhostUserBackendMut, VhostUserDaemon, VringRwLock, VringT};
use virtio_bindings::virtio_blk::{
    VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_SEG_MAX,
    VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_BLK_ID_BYTES,
    VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_DISCARD,
    VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT,
    VIRTIO_BLK_T_WRITE_ZEROES,
};
use virtio_bindings::virtio_config::VIRTIO_F_VERSION_1;
use virtio_bindings::virtio_ring::{VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC};
use virtio_queue::{DescriptorChain, QueueOwnedT, QueueT};
use vm_memory::{
    Address, Bytes, GuestAddress, GuestAddressSpace, GuestMemoryAtomic, GuestMemoryLoadGuard,
    GuestMemoryMmap,
};
use vmm_sys_util::epoll::EventSet;

const SECTOR: u64 = 512;
const QUEUE_SIZE: usize = 256;
/// The largest segment and the most segments of a request the device announces.
const SIZE_MAX: u32 = 1 << 20;
const SEG_MAX: u32 = 126;
const SERIAL: &[u8] = b"rvdev-blk";
/// The seed of `blk-pattern.py`'s host pattern.
const PATTERN_SEED: &str = "72766230";

type Memory = GuestMemoryAtomic<GuestMemoryMmap>;
type Chain = DescriptorChain<GuestMemoryLoadGuard<GuestMemoryMmap>>;

/// The ways the device can lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lie {
    /// None: a correct device.
    None,
    /// Every request ends with a status byte that is no status.
    StatusGarbage,
    /// The used length is 0.
    UsedLenZero,
    /// A read fills only the first half of the data, reports success and a used length that
    /// says so.
    PartialRead,
    /// As `PartialRead`, but the used length claims the whole buffer was written.
    PartialReadFullLen,
    /// Requests are taken and never completed.
    NeverComplete,
    /// The process exits (a backend that crashed), leaving the requests it held.
    Dies,
    /// The used length is `u32::MAX`.
    UsedLenMax,
    /// The used length is one byte beyond what the driver lent.
    UsedLenBeyond,
    /// The used entry names a descriptor beyond the ring.
    UsedIdOutOfRange,
    /// The request is returned twice.
    UsedIdRepeated,
    /// The used index moves by two for one entry (the second is whatever the slot held).
    UsedIdxJump,
    /// Each request, with the probability `--rate` (percent), gets one of the lies a driver
    /// can see in its completion (`RANDOM_LIES`), picked by a generator seeded with `--seed`.
    Random,
}

/// The lies `Lie::Random` mixes: each shows in the request's own completion, none breaks the
/// ring, so that every read either fails or returns the device's data.
const RANDOM_LIES: [Lie; 5] = [
    Lie::StatusGarbage,
    Lie::UsedLenZero,
    Lie::PartialRead,
    Lie::UsedLenMax,
    Lie::UsedLenBeyond,
];

impl Lie {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "status-garbage" => Self::StatusGarbage,
            "used-len-zero" => Self::UsedLenZero,
            "partial-read" => Self::PartialRead,
            "partial-read-full-len" => Self::PartialReadFullLen,
            "never-complete" => Self::NeverComplete,
            "dies" => Self::Dies,
            "used-len-max" => Self::UsedLenMax,
            "used-len-beyond" => Self::UsedLenBeyond,
            "used-id-out-of-range" => Self::UsedIdOutOfRange,
            "used-id-repeated" => Self::UsedIdRepeated,
            "used-idx-jump" => Self::UsedIdxJump,
            "random" => Self::Random,
            _ => return None,
        })
    }
}

/// The fields `--config` can set: name, offset in `struct virtio_blk_config`, width in bytes,
/// and the feature the field belongs to (0: always offered).
const CONFIG_FIELDS: &[(&str, usize, usize, u32)] = &[
    ("capacity", 0, 8, 0),
    ("size_max", 8, 4, 0),
    ("seg_max", 12, 4, 0),
    ("blk_size", 20, 4, 0),
    ("physical_block_exp", 24, 1, VIRTIO_BLK_F_TOPOLOGY),
    ("alignment_offset", 25, 1, VIRTIO_BLK_F_TOPOLOGY),
    ("min_io_size", 26, 2, VIRTIO_BLK_F_TOPOLOGY),
    ("opt_io_size", 28, 4, VIRTIO_BLK_F_TOPOLOGY),
    ("max_discard_sectors", 36, 4, VIRTIO_BLK_F_DISCARD),
    ("max_discard_seg", 40, 4, VIRTIO_BLK_F_DISCARD),
    ("discard_sector_alignment", 44, 4, VIRTIO_BLK_F_DISCARD),
    ("max_write_zeroes_sectors", 48, 4, VIRTIO_BLK_F_WRITE_ZEROES),
];

struct Blk {
    disk: Vec<u8>,
    /// `--config` overrides: offset, width, value.
    overrides: Vec<(usize, usize, u64)>,
    extra_features: u64,
    from_sector: u64,
    /// `Lie::Random`'s generator state (xorshift64) and rate in percent.
    rng: u64,
    rate: u64,
    mem: Option<Memory>,
    event_idx: bool,
    lie: Lie,
    after: u64,
    requests: u64,
}

impl Blk {
    fn new(size: u64, lie: Lie, after: u64, from_sector: u64) -> Self {
        let mut disk = Vec::with_capacity(size as usize);
        for n in 0..size / SECTOR {
            for offset in (0..SECTOR).step_by(64) {
                let record = format!(
                    "rvirtio-blk seed {PATTERN_SEED} sector {n:010} byte {offset:03} ..........\n"
                );
                disk.extend_from_slice(record.as_bytes());
            }
        }
        Self {
            disk,
            overrides: Vec::new(),
            extra_features: 0,
            from_sector,
            rng: 0x9e37_79b9_7f4a_7c15,
            rate: 0,
            mem: None,
            event_idx: false,
            lie,
            after,
            requests: 0,
        }
    }

    /// The configuration space (`struct virtio_blk_config`, little-endian).
    fn config(&self) -> Vec<u8> {
        let mut c = vec![0u8; 60];
        c[0..8].copy_from_slice(&(self.disk.len() as u64 / SECTOR).to_le_bytes());
        c[8..12].copy_from_slice(&SIZE_MAX.to_le_bytes());
        c[12..16].copy_from_slice(&SEG_MAX.to_le_bytes());
        c[20..24].copy_from_slice(&(SECTOR as u32).to_le_bytes());
        c[34..36].copy_from_slice(&1u16.to_le_bytes());
        // A device that offers discard or write-zeroes takes one range per request unless
        // told otherwise.
        c[40..44].copy_from_slice(&1u32.to_le_bytes());
        c[52..56].copy_from_slice(&1u32.to_le_bytes());
        for &(offset, width, value) in &self.overrides {
            c[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
        }
        c
    }

    /// Applies `--config FIELD=VALUE`.
    fn set_config(&mut self, arg: &str) -> Option<()> {
        let (name, value) = arg.split_once('=')?;
        let value: u64 = value.parse().ok()?;
        let &(_, offset, width, feature) = CONFIG_FIELDS.iter().find(|f| f.0 == name)?;
        if width < 8 && value >> (width * 8) != 0 {
            return None;
        }
        self.overrides.push((offset, width, value));
        if feature != 0 {
            self.extra_features |= 1 << feature;
        }
        Some(())
    }

    /// Serves one request; returns the used length to report and the lie told (if any), or
    /// `None` to keep the request.
    fn request(&mut self, chain: Chain, lie: Lie) -> io::Result<Option<(u32, Lie)>> {
        let mem = chain.memory();
        let mut reader = chain.clone().reader(mem).map_err(io::Error::other)?;
        let mut writer = chain.clone().writer(mem).map_err(io::Error::other)?;
        let mut hdr = [0u8; 16];
        reader.read_exact(&mut hdr)?;
        let kind = u32::from_le_bytes(hdr[0..4].try_into().unwrap());
        let sector = u64::from_le_bytes(hdr[8..16].try_into().unwrap());
        let data = kind == VIRTIO_BLK_T_IN || kind == VIRTIO_BLK_T_OUT;
        let lie = if data && sector >= self.from_sector {
            lie
        } else if self.from_sector > 0 {
            Lie::None
        } else {
            lie
        };
        match lie {
            Lie::NeverComplete => return Ok(None),
            Lie::Dies => {
                eprintln!("rvdev: exiting with a request in flight (lie dies)");
                std::process::exit(3);
            }
            _ => {}
        }
        // The status byte is the last writable byte.
        let data_in = writer.available_bytes().saturating_sub(1);
        // The used length, if not the whole of what the driver lent.
        let mut honest_len = None;
        let range = |len: usize| {
            let start = sector.checked_mul(SECTOR)? as usize;
            let end = start.checked_add(len)?;
            (end <= self.disk.len()).then_some(start..end)
        };
        let status = match kind {
            VIRTIO_BLK_T_IN => match range(data_in) {
                Some(r) => {
                    let filled = if matches!(lie, Lie::PartialRead | Lie::PartialReadFullLen) {
                        data_in / 2
                    } else {
                        data_in
                    };
                    if lie == Lie::PartialRead {
                        honest_len = Some(filled as u32);
                    }
                    writer.write_all(&self.disk[r.start..r.start + filled])?;
                    if filled < data_in {
                        // Skip what is left unwritten: the status stays at its place.
                        let mut rest = writer
                            .split_at(data_in - filled)
                            .map_err(io::Error::other)?;
                        std::mem::swap(&mut writer, &mut rest);
                    }
                    VIRTIO_BLK_S_OK
                }
                None => {
                    writer = writer.split_at(data_in).map_err(io::Error::other)?;
                    VIRTIO_BLK_S_IOERR
                }
            },
            VIRTIO_BLK_T_OUT => {
                let len = reader.available_bytes();
                match range(len) {
                    Some(r) => {
                        reader.read_exact(&mut self.disk[r])?;
                        VIRTIO_BLK_S_OK
                    }
                    None => VIRTIO_BLK_S_IOERR,
                }
            }
            VIRTIO_BLK_T_FLUSH => VIRTIO_BLK_S_OK,
            VIRTIO_BLK_T_DISCARD | VIRTIO_BLK_T_WRITE_ZEROES => {
                // Ranges of 16 bytes: sector, number of sectors, flags.
                let mut ok = true;
                while reader.available_bytes() >= 16 {
                    let mut r = [0u8; 16];
                    reader.read_exact(&mut r)?;
                    let start = u64::from_le_bytes(r[0..8].try_into().unwrap());
                    let n = u32::from_le_bytes(r[8..12].try_into().unwrap());
                    let bytes = u64::from(n) * SECTOR;
                    match start
                        .checked_mul(SECTOR)
                        .and_then(|b| Some(b as usize..b.checked_add(bytes)? as usize))
                        .filter(|r| r.end <= self.disk.len())
                    {
                        // Discarded sectors read as zeroes here, as written zeroes do.
                        Some(r) => self.disk[r].fill(0),
                        None => ok = false,
                    }
                }
                if ok {
                    VIRTIO_BLK_S_OK
                } else {
                    VIRTIO_BLK_S_IOERR
                }
            }
            VIRTIO_BLK_T_GET_ID => {
                let mut id = [0u8; VIRTIO_BLK_ID_BYTES as usize];
                id[..SERIAL.len()].copy_from_slice(SERIAL);
                let n = data_in.min(id.len());
                writer.write_all(&id[..n])?;
                if n < data_in {
                    writer = writer.split_at(data_in - n).map_err(io::Error::other)?;
                }
                VIRTIO_BLK_S_OK
            }
            _ => {
                writer = writer.split_at(data_in).map_err(io::Error::other)?;
                VIRTIO_BLK_S_UNSUPP
            }
        };
        let status = if lie == Lie::StatusGarbage {
            0x5a
        } else {
            status as u8
        };
        writer.write_all(&[status])?;
        let used = honest_len.unwrap_or((data_in + 1) as u32);
        let len = match lie {
            Lie::UsedLenZero => 0,
            Lie::UsedLenMax => u32::MAX,
            Lie::UsedLenBeyond => used + 1,
            _ => used,
        };
        Ok(Some((len, lie)))
    }

    fn process(&mut self, vring: &VringRwLock) -> io::Result<bool> {
        let Some(mem) = self.mem.as_ref().map(|m| m.memory()) else {
            return Ok(false);
        };
        let chains: Vec<Chain> = vring
            .get_mut()
            .get_queue_mut()
            .iter(mem)
            .map_err(io::Error::other)?
            .collect();
        let mut used = false;
        for chain in chains {
            let head = chain.head_index();
            self.requests += 1;
            let lie = if self.requests <= self.after {
                Lie::None
            } else if self.lie == Lie::Random {
                self.random_lie()
            } else {
                self.lie
            };
            match self.request(chain, lie) {
                Ok(Some((len, told))) if Self::ring_lie(told) => {
                    self.lie_in_used_ring(vring, head, len)?;
                    used = true;
                }
                Ok(Some((len, _))) => {
                    vring.add_used(head, len).map_err(io::Error::other)?;
                    used = true;
                }
                Ok(None) => {}
                Err(e) => {
                    eprintln!("rvdev: request {}: {e}", self.requests);
                    vring.add_used(head, 0).map_err(io::Error::other)?;
                    used = true;
                }
            }
        }
        Ok(used)
    }
}

impl Blk {
    /// The next request's lie under `Lie::Random`.
    fn random_lie(&mut self) -> Lie {
        let mut next = || {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            self.rng
        };
        if next() % 100 >= self.rate {
            return Lie::None;
        }
        RANDOM_LIES[(next() % RANDOM_LIES.len() as u64) as usize]
    }

    /// Whether `lie` is told through the used ring's entries, which `add_used` would refuse.
    fn ring_lie(lie: Lie) -> bool {
        matches!(
            lie,
            Lie::UsedIdOutOfRange | Lie::UsedIdRepeated | Lie::UsedIdxJump
        )
    }

    /// Returns request `head` through the used ring as the lie says.
    fn lie_in_used_ring(&self, vring: &VringRwLock, head: u16, len: u32) -> io::Result<()> {
        let Some(mem) = self.mem.as_ref().map(|m| m.memory()) else {
            return Ok(());
        };
        let head = u32::from(head);
        match self.lie {
            Lie::UsedIdOutOfRange => write_used(vring, &mem, &[(QUEUE_SIZE as u32 + 7, len)], 1),
            Lie::UsedIdRepeated => write_used(vring, &mem, &[(head, len), (head, len)], 1),
            _ => write_used(vring, &mem, &[(head, len)], 2),
        }?;
        vring.signal_used_queue()
    }
}

/// Writes `entries` (id, length) into the used ring of `vring` itself, moving the used index
/// by `step` for each: `add_used()` refuses ids beyond the ring, and moves the index by one.
fn write_used(
    vring: &VringRwLock,
    mem: &GuestMemoryMmap,
    entries: &[(u32, u32)],
    step: u16,
) -> io::Result<()> {
    let mut guard = vring.get_mut();
    let queue = guard.get_queue_mut();
    let ring = GuestAddress(queue.used_ring());
    let size = queue.size();
    let mut next = queue.next_used();
    let bad = |e: vm_memory::GuestMemoryError| io::Error::other(format!("used ring: {e}"));
    for &(id, len) in entries {
        let slot = ring.unchecked_add(4 + u64::from(next % size) * 8);
        mem.write_obj(id.to_le(), slot).map_err(bad)?;
        mem.write_obj(len.to_le(), slot.unchecked_add(4))
            .map_err(bad)?;
        next = next.wrapping_add(step);
    }
    queue.set_next_used(next);
    mem.store(next.to_le(), ring.unchecked_add(2), Ordering::Release)
        .map_err(bad)
}

impl VhostUserBackendMut for Blk {
    type Bitmap = ();
    type Vring = VringRwLock;

    fn num_queues(&self) -> usize {
        1
    }

    fn max_queue_size(&self) -> usize {
        QUEUE_SIZE
    }

    fn features(&self) -> u64 {
        (1 << VIRTIO_F_VERSION_1)
            | (1 << VIRTIO_RING_F_EVENT_IDX)
            | (1 << VIRTIO_RING_F_INDIRECT_DESC)
            | (1 << VIRTIO_BLK_F_SIZE_MAX)
            | (1 << VIRTIO_BLK_F_SEG_MAX)
            | (1 << VIRTIO_BLK_F_BLK_SIZE)
            | (1 << VIRTIO_BLK_F_FLUSH)
            | self.extra_features
            | VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits()
    }

    fn protocol_features(&self) -> VhostUserProtocolFeatures {
        VhostUserProtocolFeatures::CONFIG
    }

    fn set_event_idx(&mut self, enabled: bool) {
        self.event_idx = enabled;
    }

    fn get_config(&self, offset: u32, size: u32) -> Vec<u8> {
        let config = self.config();
        let (offset, size) = (offset as usize, size as usize);
        let mut out = vec![0u8; size];
        if offset < config.len() {
            let n = size.min(config.len() - offset);
            out[..n].copy_from_slice(&config[offset..offset + n]);
        }
        out
    }

    fn update_memory(&mut self, mem: Memory) -> io::Result<()> {
        self.mem = Some(mem);
        Ok(())
    }

    fn handle_event(
        &mut self,
        device_event: u16,
        evset: EventSet,
        vrings: &[VringRwLock],
        _thread_id: usize,
    ) -> io::Result<()> {
        if evset != EventSet::IN || device_event != 0 {
            return Err(io::Error::other("unexpected event"));
        }
        let vring = &vrings[0];
        loop {
            if self.event_idx {
                vring.disable_notification().map_err(io::Error::other)?;
            }
            if self.process(vring)? {
                let notify =
                    !self.event_idx || vring.needs_notification().map_err(io::Error::other)?;
                if notify {
                    vring.signal_used_queue()?;
                }
            }
            if !self.event_idx || !vring.enable_notification().map_err(io::Error::other)? {
                break;
            }
        }
        Ok(())
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: rvdev blk --socket PATH [--size BYTES] [--lie LIE] [--after N] \
         [--from-sector S] [--config FIELD=VALUE]... [--seed N] [--rate PERCENT]"
    );
    eprintln!("       rvdev net --socket PATH [--lie LIE] [--after N] [--count K]");
    eprintln!(
        "blk lies: none status-garbage used-len-zero partial-read partial-read-full-len \
         never-complete dies used-len-max used-len-beyond used-id-out-of-range \
         used-id-repeated used-idx-jump random"
    );
    eprintln!("net lies: {}", net::Lie::NAMES);
    let fields: Vec<&str> = CONFIG_FIELDS.iter().map(|f| f.0).collect();
    eprintln!("config fields: {}", fields.join(" "));
    ExitCode::from(2)
}

/// Serves `backend` on `socket` until QEMU disconnects.
fn serve<T>(name: &str, backend: T, socket: &str) -> ExitCode
where
    T: VhostUserBackendMut<Bitmap = (), Vring = VringRwLock> + Send + Sync + 'static,
{
    let backend = Arc::new(RwLock::new(backend));
    let mem = GuestMemoryAtomic::new(GuestMemoryMmap::new());
    let mut daemon = match VhostUserDaemon::new(name.into(), backend, mem) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("rvdev: {e}");
            return ExitCode::FAILURE;
        }
    };
    match daemon.serve(socket) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvdev: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `rvdev net`.
fn main_net(args: &[String]) -> ExitCode {
    let (mut socket, mut lie, mut after, mut count) = (None, net::Lie::None, 0u64, u64::MAX);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(v) = it.next() else {
            return usage();
        };
        match a.as_str() {
            "--socket" => socket = Some(v.clone()),
            "--lie" => match net::Lie::parse(v) {
                Some(l) => lie = l,
                None => return usage(),
            },
            "--after" => match v.parse() {
                Ok(n) => after = n,
                Err(_) => return usage(),
            },
            "--count" => match v.parse() {
                Ok(n) => count = n,
                Err(_) => return usage(),
            },
            _ => return usage(),
        }
    }
    let Some(socket) = socket else {
        return usage();
    };
    eprintln!("rvdev: net on {socket}, lie {lie:?} after {after} frames, {count} times");
    serve("rvdev-net", net::Net::new(lie, after, count), &socket)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("blk") => {}
        Some("net") => return main_net(&args[1..]),
        _ => return usage(),
    }
    let (mut socket, mut size, mut lie, mut after) = (None, 64u64 << 20, Lie::None, 0u64);
    let (mut from_sector, mut config) = (0u64, Vec::new());
    let (mut seed, mut rate) = (None, 10u64);
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        let Some(v) = it.next() else {
            return usage();
        };
        match a.as_str() {
            "--socket" => socket = Some(v.clone()),
            "--size" => match v.parse() {
                Ok(n) => size = n,
                Err(_) => return usage(),
            },
            "--lie" => match Lie::parse(v) {
                Some(l) => lie = l,
                None => return usage(),
            },
            "--after" => match v.parse() {
                Ok(n) => after = n,
                Err(_) => return usage(),
            },
            "--from-sector" => match v.parse() {
                Ok(n) => from_sector = n,
                Err(_) => return usage(),
            },
            "--config" => config.push(v.clone()),
            "--seed" => match v.parse::<u64>() {
                Ok(n) => seed = Some(n),
                Err(_) => return usage(),
            },
            "--rate" => match v.parse::<u64>() {
                Ok(n) if n <= 100 => rate = n,
                _ => return usage(),
            },
            _ => return usage(),
        }
    }
    let Some(socket) = socket else {
        return usage();
    };
    if size == 0 || size % SECTOR != 0 {
        eprintln!("rvdev: --size must be a positive multiple of {SECTOR}");
        return ExitCode::from(2);
    }
    let mut blk = Blk::new(size, lie, after, from_sector);
    blk.rate = rate;
    if let Some(seed) = seed {
        // xorshift needs a state other than 0.
        blk.rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    }
    for c in &config {
        if blk.set_config(c).is_none() {
            eprintln!("rvdev: bad --config {c}");
            return usage();
        }
    }
    eprintln!(
        "rvdev: blk on {socket}, {size} bytes, lie {lie:?} after {after} requests \
         from sector {from_sector}, config {config:?}"
    );
    serve("rvdev-blk", blk, &socket)
}
