// SPDX-License-Identifier: GPL-2.0

//! The network device: a peer at the other end of the guest's link.
//!
//! QEMU's `virtio-net-pci` on a `vhost-user` netdev gives the guest a NIC whose receive and
//! transmit queues this process serves (QEMU keeps the configuration space and the control
//! queue). Behind the NIC there is one host, [`PEER_IP`] at [`PEER_MAC`]: it answers ARP
//! requests for its address and ICMP echo requests sent to it, and drops everything else.
//! The replies are what the guest receives; `--lie` makes some of them break a promise of
//! the virtio specification, from the `--after`-th reply on, `--count` times (then the
//! device is correct again, so that a test sees the driver recover).
//!
//!   rvdev net --socket PATH [--lie LIE] [--after N] [--count K]

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use vhost::vhost_user::message::{VhostUserProtocolFeatures, VhostUserVirtioFeatures};
use vhost_user_backend::{VhostUserBackendMut, VringRwLock, VringT};
use virtio_bindings::virtio_config::VIRTIO_F_VERSION_1;
use virtio_bindings::virtio_net::VIRTIO_NET_F_MRG_RXBUF;
use virtio_queue::{DescriptorChain, QueueOwnedT};
use vm_memory::{GuestAddressSpace, GuestMemoryAtomic, GuestMemoryLoadGuard, GuestMemoryMmap};
use vmm_sys_util::epoll::EventSet;

/// The peer's addresses.
pub const PEER_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x77, 0x00, 0x01];
pub const PEER_IP: [u8; 4] = [10, 0, 99, 1];

const QUEUE_SIZE: usize = 256;
/// `struct virtio_net_hdr_mrg_rxbuf`: the header of every frame (VERSION_1).
const HDR_LEN: usize = 12;
const RX: usize = 0;
const TX: usize = 1;

type Memory = GuestMemoryAtomic<GuestMemoryMmap>;
type Chain = DescriptorChain<GuestMemoryLoadGuard<GuestMemoryMmap>>;

/// The ways the device can lie about a frame it gives the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lie {
    /// None: a correct device.
    None,
    /// The used length does not even cover the header.
    LenShort,
    /// The used length is beyond the buffer.
    LenBeyond,
    /// The header says the frame is in 0 buffers.
    NumBuffersZero,
    /// The header says the frame goes on in 3 more buffers, which the device never fills.
    NumBuffersMany,
    /// The header asks for segmentation (TCPv4) that the driver did not negotiate.
    GsoNotNegotiated,
    /// The header asks for a checksum to be completed from an offset beyond the frame.
    CsumBeyond,
    /// The used entry names a descriptor beyond the ring.
    IdOutOfRange,
    /// A frame the guest sent comes back from the transmit queue under an id beyond the ring:
    /// a completion for a buffer never sent. Counted in frames sent, not given.
    TxIdOutOfRange,
}

impl Lie {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "len-short" => Self::LenShort,
            "len-beyond" => Self::LenBeyond,
            "num-buffers-zero" => Self::NumBuffersZero,
            "num-buffers-many" => Self::NumBuffersMany,
            "gso-not-negotiated" => Self::GsoNotNegotiated,
            "csum-beyond" => Self::CsumBeyond,
            "id-out-of-range" => Self::IdOutOfRange,
            "tx-id-out-of-range" => Self::TxIdOutOfRange,
            _ => return None,
        })
    }

    pub const NAMES: &'static str = "none len-short len-beyond num-buffers-zero \
        num-buffers-many gso-not-negotiated csum-beyond id-out-of-range tx-id-out-of-range";
}

pub struct Net {
    mem: Option<Memory>,
    lie: Lie,
    after: u64,
    count: u64,
    /// Frames given to the guest so far.
    frames: u64,
    /// Frames the guest sent so far.
    sent: u64,
    /// Replies waiting for a receive buffer.
    pending: VecDeque<Vec<u8>>,
}

impl Net {
    pub fn new(lie: Lie, after: u64, count: u64) -> Self {
        Self {
            mem: None,
            lie,
            after,
            count,
            frames: 0,
            sent: 0,
            pending: VecDeque::new(),
        }
    }

    /// Whether the `n`th frame (from 1) is lied about.
    fn told(&self, n: u64) -> bool {
        n > self.after && n - self.after <= self.count
    }

    /// Takes the frames the guest sent; queues the peer's replies.
    fn transmit(&mut self, vring: &VringRwLock) -> io::Result<bool> {
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
            let mut reader = chain
                .clone()
                .reader(chain.memory())
                .map_err(io::Error::other)?;
            let mut bytes = Vec::with_capacity(reader.available_bytes());
            reader.read_to_end(&mut bytes)?;
            if let Some(reply) = bytes.get(HDR_LEN..).and_then(reply_to) {
                self.pending.push_back(reply);
            }
            self.sent += 1;
            if self.lie == Lie::TxIdOutOfRange && self.told(self.sent) {
                self.used_out_of_range(vring, 0)?;
            } else {
                vring.add_used(head, 0).map_err(io::Error::other)?;
            }
            used = true;
        }
        Ok(used)
    }

    /// Gives the pending replies to the guest, as long as it has buffers.
    fn receive(&mut self, vring: &VringRwLock) -> io::Result<bool> {
        let Some(mem) = self.mem.as_ref().map(|m| m.memory()) else {
            return Ok(false);
        };
        let mut used = false;
        while !self.pending.is_empty() {
            let chain = vring
                .get_mut()
                .get_queue_mut()
                .iter(mem.clone())
                .map_err(io::Error::other)?
                .next();
            let Some(chain) = chain else {
                break;
            };
            let frame = self.pending.pop_front().unwrap_or_default();
            self.frames += 1;
            let lie = if self.lie != Lie::TxIdOutOfRange && self.told(self.frames) {
                self.lie
            } else {
                Lie::None
            };
            let head = chain.head_index();
            let mut writer = chain
                .clone()
                .writer(chain.memory())
                .map_err(io::Error::other)?;
            let room = writer.available_bytes();
            let mut hdr = [0u8; HDR_LEN];
            // num_buffers
            let buffers: u16 = match lie {
                Lie::NumBuffersZero => 0,
                Lie::NumBuffersMany => 4,
                _ => 1,
            };
            hdr[10..12].copy_from_slice(&buffers.to_le_bytes());
            match lie {
                Lie::GsoNotNegotiated => {
                    // VIRTIO_NET_HDR_GSO_TCPV4, 536-byte segments.
                    hdr[1] = 1;
                    hdr[4..6].copy_from_slice(&536u16.to_le_bytes());
                }
                Lie::CsumBeyond => {
                    // VIRTIO_NET_HDR_F_NEEDS_CSUM, from 4000 bytes in.
                    hdr[0] = 1;
                    hdr[6..8].copy_from_slice(&4000u16.to_le_bytes());
                    hdr[8..10].copy_from_slice(&16u16.to_le_bytes());
                }
                _ => {}
            }
            let len = HDR_LEN + frame.len();
            if len > room {
                // A buffer too small for the frame: dropped, as a NIC would.
                vring.add_used(head, 0).map_err(io::Error::other)?;
                used = true;
                continue;
            }
            writer.write_all(&hdr)?;
            writer.write_all(&frame)?;
            let len = match lie {
                Lie::LenShort => 4,
                Lie::LenBeyond => (room + 64) as u32,
                _ => len as u32,
            };
            if lie == Lie::IdOutOfRange {
                self.used_out_of_range(vring, len)?;
            } else {
                vring.add_used(head, len).map_err(io::Error::other)?;
            }
            used = true;
        }
        Ok(used)
    }

    /// Writes a used entry whose id is beyond the ring.
    fn used_out_of_range(&self, vring: &VringRwLock, len: u32) -> io::Result<()> {
        let Some(mem) = self.mem.as_ref().map(|m| m.memory()) else {
            return Ok(());
        };
        super::write_used(vring, &mem, &[(QUEUE_SIZE as u32 + 7, len)], 1)
    }
}

/// The peer's answer to `frame` (Ethernet), if it has one: an ARP reply to a request for its
/// address, an echo reply to an ICMP echo request to it.
fn reply_to(frame: &[u8]) -> Option<Vec<u8>> {
    if frame.len() < 14 {
        return None;
    }
    let (eth, payload) = frame.split_at(14);
    let src_mac = &eth[6..12];
    match u16::from_be_bytes([eth[12], eth[13]]) {
        0x0806 => {
            // Ethernet/IPv4 ARP request for the peer's address.
            let arp = payload.get(..28)?;
            if arp[0..8] != [0, 1, 8, 0, 6, 4, 0, 1] || arp[24..28] != PEER_IP {
                return None;
            }
            let mut out = Vec::with_capacity(42);
            out.extend_from_slice(src_mac);
            out.extend_from_slice(&PEER_MAC);
            out.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2]);
            out.extend_from_slice(&PEER_MAC);
            out.extend_from_slice(&PEER_IP);
            out.extend_from_slice(&arp[8..18]);
            Some(out)
        }
        0x0800 => {
            let ihl = usize::from(payload.first()? & 0xf) * 4;
            let total = usize::from(u16::from_be_bytes([*payload.get(2)?, *payload.get(3)?]));
            if ihl < 20 || total < ihl + 8 || payload.len() < total {
                return None;
            }
            // ICMP echo request to the peer.
            if payload[9] != 1 || payload[16..20] != PEER_IP || payload[ihl] != 8 {
                return None;
            }
            let mut out = Vec::with_capacity(14 + total);
            out.extend_from_slice(src_mac);
            out.extend_from_slice(&PEER_MAC);
            out.extend_from_slice(&[0x08, 0x00]);
            let mut ip = payload[..total].to_vec();
            // Swapping the addresses keeps the IP header's checksum.
            ip.copy_within(12..16, 16);
            ip[12..16].copy_from_slice(&PEER_IP);
            // Echo reply: the type drops by 8 in the checksummed word.
            ip[ihl] = 0;
            let sum = u16::from_be_bytes([ip[ihl + 2], ip[ihl + 3]]);
            let sum = u32::from(sum) + 0x0800;
            let sum = ((sum & 0xffff) + (sum >> 16)) as u16;
            ip[ihl + 2..ihl + 4].copy_from_slice(&sum.to_be_bytes());
            out.extend_from_slice(&ip);
            Some(out)
        }
        _ => None,
    }
}

impl VhostUserBackendMut for Net {
    type Bitmap = ();
    type Vring = VringRwLock;

    fn num_queues(&self) -> usize {
        2
    }

    fn max_queue_size(&self) -> usize {
        QUEUE_SIZE
    }

    fn features(&self) -> u64 {
        (1 << VIRTIO_F_VERSION_1)
            | (1 << VIRTIO_NET_F_MRG_RXBUF)
            | VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits()
    }

    fn protocol_features(&self) -> VhostUserProtocolFeatures {
        VhostUserProtocolFeatures::MQ
    }

    fn set_event_idx(&mut self, _enabled: bool) {}

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
        if evset != EventSet::IN {
            return Err(io::Error::other("unexpected event"));
        }
        match usize::from(device_event) {
            TX => {
                if self.transmit(&vrings[TX])? {
                    vrings[TX].signal_used_queue()?;
                }
            }
            RX => {}
            _ => return Err(io::Error::other("unexpected queue")),
        }
        // Replies go out on any kick: new receive buffers, or frames to answer.
        if self.receive(&vrings[RX])? {
            vrings[RX].signal_used_queue()?;
        }
        Ok(())
    }
}
