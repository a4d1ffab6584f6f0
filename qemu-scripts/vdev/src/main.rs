// SPDX-License-Identifier: GPL-2.0

//! rvdev: a virtio-blk device served over vhost-user, for rvirtio's tests.
//!
//! QEMU (`vhost-user-blk-pci`) gives the guest a virtio-blk device whose queue this process
//! serves, from a disk held in memory. By default the device is correct; `--lie` makes it
//! break one promise of the virtio specification, from its `--after`-th request on, so that
//! the guest driver's handling of a device that cannot be trusted can be tested.
//!
//!   rvdev blk --socket PATH [--size BYTES] [--lie LIE] [--after N]
//!
//! The disk starts with the host pattern of `qemu-scripts/blk-pattern.py` (eight 64-byte
//! records per sector naming the seed, the sector and the offset), so that what the guest
//! reads can be checked.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use vhost::vhost_user::message::{VhostUserProtocolFeatures, VhostUserVirtioFeatures};
use vhost_user_backend::{VhostUserBackendMut, VhostUserDaemon, VringRwLock, VringT};
use virtio_bindings::virtio_blk::{
    VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX,
    VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP,
    VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT,
};
use virtio_bindings::virtio_config::VIRTIO_F_VERSION_1;
use virtio_bindings::virtio_ring::{VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC};
use virtio_queue::{DescriptorChain, QueueOwnedT};
use vm_memory::{GuestAddressSpace, GuestMemoryAtomic, GuestMemoryLoadGuard, GuestMemoryMmap};
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
    /// A read fills only the first half of the data and reports success.
    PartialRead,
    /// Requests are taken and never completed.
    NeverComplete,
}

impl Lie {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "status-garbage" => Self::StatusGarbage,
            "used-len-zero" => Self::UsedLenZero,
            "partial-read" => Self::PartialRead,
            "never-complete" => Self::NeverComplete,
            _ => return None,
        })
    }
}

struct Blk {
    disk: Vec<u8>,
    mem: Option<Memory>,
    event_idx: bool,
    lie: Lie,
    after: u64,
    requests: u64,
}

impl Blk {
    fn new(size: u64, lie: Lie, after: u64) -> Self {
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
        c
    }

    /// Serves one request; returns the used length to report, or `None` to keep it.
    fn request(&mut self, chain: Chain, lie: Lie) -> io::Result<Option<u32>> {
        let mem = chain.memory();
        let mut reader = chain.clone().reader(mem).map_err(io::Error::other)?;
        let mut writer = chain.clone().writer(mem).map_err(io::Error::other)?;
        let mut hdr = [0u8; 16];
        reader.read_exact(&mut hdr)?;
        let kind = u32::from_le_bytes(hdr[0..4].try_into().unwrap());
        let sector = u64::from_le_bytes(hdr[8..16].try_into().unwrap());
        if lie == Lie::NeverComplete {
            return Ok(None);
        }
        // The status byte is the last writable byte.
        let data_in = writer.available_bytes().saturating_sub(1);
        let range = |len: usize| {
            let start = sector.checked_mul(SECTOR)? as usize;
            let end = start.checked_add(len)?;
            (end <= self.disk.len()).then_some(start..end)
        };
        let status = match kind {
            VIRTIO_BLK_T_IN => match range(data_in) {
                Some(r) => {
                    let filled = if lie == Lie::PartialRead {
                        data_in / 2
                    } else {
                        data_in
                    };
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
        let used = (data_in + 1) as u32;
        Ok(Some(if lie == Lie::UsedLenZero { 0 } else { used }))
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
            let lie = if self.requests > self.after {
                self.lie
            } else {
                Lie::None
            };
            match self.request(chain, lie) {
                Ok(Some(len)) => {
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
    eprintln!("usage: rvdev blk --socket PATH [--size BYTES] [--lie LIE] [--after N]");
    eprintln!("lies: none status-garbage used-len-zero partial-read never-complete");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("blk") {
        return usage();
    }
    let (mut socket, mut size, mut lie, mut after) = (None, 64u64 << 20, Lie::None, 0u64);
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
    let backend = Arc::new(RwLock::new(Blk::new(size, lie, after)));
    let mem = GuestMemoryAtomic::new(GuestMemoryMmap::new());
    let mut daemon = match VhostUserDaemon::new("rvdev-blk".into(), backend, mem) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("rvdev: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("rvdev: blk on {socket}, {size} bytes, lie {lie:?} after {after} requests");
    match daemon.serve(&socket) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvdev: {e}");
            ExitCode::FAILURE
        }
    }
}
