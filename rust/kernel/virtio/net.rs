// SPDX-License-Identifier: GPL-2.0

//! The virtio network device protocol.
//!
//! C headers: [`include/uapi/linux/virtio_net.h`](srctree/include/uapi/linux/virtio_net.h),
//! [`include/linux/virtio_net.h`](srctree/include/linux/virtio_net.h)
//!
//! The configuration layout of virtio-net devices, their feature bits and control commands,
//! and the header that comes with every packet, converted to and from a socket buffer's
//! checksum and segmentation state.

use super::{
    super::net::{
        page_pool::PoolBuf,
        skbuff::SkBuff, //
    },
    SgList, //
};
use crate::bindings;
use core::{
    ffi::c_void,
    ptr::NonNull, //
};
use kernel::prelude::*;

/// The configuration layout of network devices (`struct virtio_net_config`).
pub type Config = bindings::virtio_net_config;

// SAFETY: `struct virtio_net_config` is the configuration layout of network devices; its fields
// are integers and an array of bytes (the MAC address).
unsafe impl super::DeviceConfig for Config {
    const DEVICE_ID: u32 = super::ids::NET;
}

/// The fields of the configuration space (`struct virtio_net_config`).
pub mod config {
    use super::Config;
    use crate::virtio::ConfigField;

    /// The device's MAC address.
    pub const MAC: ConfigField<Config, [u8; 6]> = crate::virtio_config_field!(Config, mac);
    /// The link status (`VIRTIO_NET_S_LINK_UP`, `VIRTIO_NET_S_ANNOUNCE`).
    pub const STATUS: ConfigField<Config, u16> = crate::virtio_config_field!(Config, status);
    /// The most receive/transmit queue pairs.
    pub const MAX_VIRTQUEUE_PAIRS: ConfigField<Config, u16> =
        crate::virtio_config_field!(Config, max_virtqueue_pairs);
    /// The largest MTU the driver should use.
    pub const MTU: ConfigField<Config, u16> = crate::virtio_config_field!(Config, mtu);
}

/// Feature bits of network devices.
pub mod features {
    use crate::bindings;

    /// The device computes the checksums of transmitted packets that ask for it
    /// (`NEEDS_CSUM`).
    pub const CSUM: u32 = bindings::VIRTIO_NET_F_CSUM;
    /// The driver accepts received TCP over IPv4 segments larger than the MTU (needs
    /// [`GUEST_CSUM`]).
    pub const GUEST_TSO4: u32 = bindings::VIRTIO_NET_F_GUEST_TSO4;
    /// The driver accepts received TCP over IPv6 segments larger than the MTU (needs
    /// [`GUEST_CSUM`]).
    pub const GUEST_TSO6: u32 = bindings::VIRTIO_NET_F_GUEST_TSO6;
    /// The driver accepts received TCP segments with ECN (needs [`GUEST_TSO4`] or
    /// [`GUEST_TSO6`]).
    pub const GUEST_ECN: u32 = bindings::VIRTIO_NET_F_GUEST_ECN;
    /// The driver accepts received UDP datagrams larger than the MTU, to be fragmented
    /// (needs [`GUEST_CSUM`]).
    pub const GUEST_UFO: u32 = bindings::VIRTIO_NET_F_GUEST_UFO;
    /// The device segments transmitted TCP over IPv4 (needs [`CSUM`]).
    pub const HOST_TSO4: u32 = bindings::VIRTIO_NET_F_HOST_TSO4;
    /// The device segments transmitted TCP over IPv6 (needs [`CSUM`]).
    pub const HOST_TSO6: u32 = bindings::VIRTIO_NET_F_HOST_TSO6;
    /// The device segments transmitted TCP with ECN (needs [`HOST_TSO4`] or [`HOST_TSO6`]).
    pub const HOST_ECN: u32 = bindings::VIRTIO_NET_F_HOST_ECN;
    /// The device has a MAC address in its configuration.
    pub const MAC: u32 = bindings::VIRTIO_NET_F_MAC;
    /// The device reports its link status in its configuration.
    pub const STATUS: u32 = bindings::VIRTIO_NET_F_STATUS;
    /// The driver accepts received packets with a partial checksum (and the device may report
    /// checked ones).
    pub const GUEST_CSUM: u32 = bindings::VIRTIO_NET_F_GUEST_CSUM;
    /// The device accepts receive buffers that hold part of a packet, which spans as many as
    /// the header's `num_buffers` says.
    pub const MRG_RXBUF: u32 = bindings::VIRTIO_NET_F_MRG_RXBUF;
    /// The device reports the largest MTU it supports in its configuration.
    pub const MTU: u32 = bindings::VIRTIO_NET_F_MTU;
    /// The device has a control queue.
    pub const CTRL_VQ: u32 = bindings::VIRTIO_NET_F_CTRL_VQ;
    /// The control queue accepts receive mode commands (promiscuous, all-multicast).
    pub const CTRL_RX: u32 = bindings::VIRTIO_NET_F_CTRL_RX;
    /// The control queue accepts a new MAC address.
    pub const CTRL_MAC_ADDR: u32 = bindings::VIRTIO_NET_F_CTRL_MAC_ADDR;
    /// The control queue switches the receive offloads (`GUEST_*`) on and off.
    pub const CTRL_GUEST_OFFLOADS: u32 = bindings::VIRTIO_NET_F_CTRL_GUEST_OFFLOADS;
}

/// The header before every packet in the device's buffers
/// (`struct virtio_net_hdr_mrg_rxbuf`): checksum and segmentation offload, and, on receive with
/// mergeable buffers, the number of buffers the packet spans.
///
/// Its 16-bit fields are in the device's byte order: little-endian for a device that
/// negotiated `VIRTIO_F_VERSION_1`, the guest's own for a legacy device; every method that reads
/// or writes them takes `little_endian`.
#[repr(transparent)]
#[derive(Clone, Copy, Default)]
pub struct Header(bindings::virtio_net_hdr_mrg_rxbuf);

impl Header {
    /// The size of the header with the number of buffers: what a device that negotiated
    /// `VIRTIO_F_VERSION_1` or `VIRTIO_NET_F_MRG_RXBUF` uses.
    pub const LEN: usize = core::mem::size_of::<bindings::virtio_net_hdr_mrg_rxbuf>();
    /// The size of the header of a legacy device without mergeable buffers.
    pub const LEGACY_LEN: usize = core::mem::size_of::<bindings::virtio_net_hdr>();

    fn u16_to_cpu(little_endian: bool, v: u16) -> u16 {
        if little_endian {
            u16::from_le(v)
        } else {
            v
        }
    }

    fn cpu_to_u16(little_endian: bool, v: u16) -> u16 {
        if little_endian {
            v.to_le()
        } else {
            v
        }
    }

    /// The header that describes `skb`'s checksum and segmentation state for transmission
    /// (`virtio_net_hdr_from_skb()`): `EINVAL` if the packet's segmentation is of a kind the
    /// header cannot express. `data_valid` says whether a checked checksum may be reported
    /// (`VIRTIO_NET_HDR_F_DATA_VALID`, only towards a guest).
    pub fn from_skb(skb: &SkBuff, little_endian: bool, data_valid: bool) -> Result<Self> {
        let mut hdr = Self::default();
        // SAFETY: `skb` is a valid socket buffer and `hdr.0.hdr` a valid header to fill.
        kernel::error::to_result(unsafe {
            bindings::virtio_net_hdr_from_skb(
                skb.as_raw(),
                &mut hdr.0.hdr,
                little_endian,
                data_valid,
                0,
            )
        })?;
        Ok(hdr)
    }

    /// Applies the header of a received packet to `skb`, which holds the packet (without the
    /// header): its checksum state and segmentation (`virtio_net_hdr_to_skb()`).
    ///
    /// Fails with `EINVAL` if the header is invalid for the packet (a checksum range outside
    /// the data, an unknown segmentation kind, a segment size of 0, headers that do not
    /// match the packet), or if `skb`'s data is shared with a clone. The device is not
    /// trusted: the packet should then be dropped ([`DropReason::DeviceHeader`]).
    ///
    /// [`DropReason::DeviceHeader`]: super::super::net::skbuff::DropReason::DeviceHeader
    pub fn apply_to(&self, skb: &mut SkBuff, little_endian: bool) -> Result {
        if skb.is_cloned() {
            return Err(EINVAL);
        }
        // SAFETY: `skb` is a valid socket buffer that the caller owns (borrowed mutably) and
        // whose data and shared info are not shared; the function reads the header and the
        // packet's data and sets the buffer's offload state.
        kernel::error::to_result(unsafe {
            bindings::virtio_net_hdr_to_skb(skb.as_raw(), &self.0.hdr, little_endian)
        })
    }

    /// The flags (`VIRTIO_NET_HDR_F_*`).
    pub fn flags(&self) -> u8 {
        self.0.hdr.flags
    }

    /// The segmentation kind (`VIRTIO_NET_HDR_GSO_*`).
    pub fn gso_type(&self) -> u8 {
        self.0.hdr.gso_type
    }

    /// The size of each segment's payload.
    pub fn gso_size(&self, little_endian: bool) -> u16 {
        Self::u16_to_cpu(little_endian, self.0.hdr.gso_size)
    }

    /// The length of the headers (a hint for how much of the packet to keep linear).
    pub fn hdr_len(&self, little_endian: bool) -> u16 {
        Self::u16_to_cpu(little_endian, self.0.hdr.hdr_len)
    }

    /// Where the checksummed part starts, from the start of the packet.
    pub fn csum_start(&self, little_endian: bool) -> u16 {
        Self::u16_to_cpu(little_endian, self.0.hdr.csum_start)
    }

    /// Where the checksum goes, from `csum_start`.
    pub fn csum_offset(&self, little_endian: bool) -> u16 {
        Self::u16_to_cpu(little_endian, self.0.hdr.csum_offset)
    }

    /// The number of buffers a received packet spans (mergeable buffers).
    pub fn num_buffers(&self, little_endian: bool) -> u16 {
        Self::u16_to_cpu(little_endian, self.0.num_buffers)
    }

    /// Sets the number of buffers.
    pub fn set_num_buffers(&mut self, little_endian: bool, n: u16) {
        self.0.num_buffers = Self::cpu_to_u16(little_endian, n);
    }

    /// A header read from the first `len` bytes of a received buffer ([`Header::LEN`] or
    /// [`Header::LEGACY_LEN`]; the rest stays zero). `EINVAL` if `bytes` is shorter.
    pub fn from_bytes(bytes: &[u8], len: usize) -> Result<Self> {
        if len > Self::LEN || bytes.len() < len {
            return Err(EINVAL);
        }
        let mut hdr = Self::default();
        hdr.as_bytes_mut()[..len].copy_from_slice(&bytes[..len]);
        Ok(hdr)
    }

    /// The header's bytes ([`Header::LEN`] of them).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: The header is plain data of `LEN` bytes without padding (the C struct is
        // packed by construction: 8- and 16-bit fields in order).
        unsafe { core::slice::from_raw_parts(core::ptr::from_ref(&self.0).cast(), Self::LEN) }
    }

    fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: As in `as_bytes`; any bytes are a valid header.
        unsafe {
            core::slice::from_raw_parts_mut(core::ptr::from_mut(&mut self.0).cast(), Self::LEN)
        }
    }
}

// SAFETY:
// - `into_raw`/`from_raw` convert the owned buffer to and from its tagged address.
// - `describe` lends the whole buffer, which is owned and stays allocated while the ring holds
//   it: nothing else reaches it meanwhile.
unsafe impl super::Token for PoolBuf {
    fn into_raw(self) -> *mut c_void {
        PoolBuf::into_raw(self).as_ptr().cast()
    }

    unsafe fn from_raw(raw: *mut c_void) -> Self {
        // SAFETY: By the safety requirements `raw` comes from `into_raw` and is ours again.
        unsafe { PoolBuf::from_raw(NonNull::new_unchecked(raw.cast())) }
    }

    unsafe fn describe<'a>(raw: *mut c_void, sg: &mut SgList<'_, 'a>) -> Result {
        // SAFETY: By the safety requirements `raw` is an outstanding token: borrowed here
        // without being taken back.
        let buf = core::mem::ManuallyDrop::new(unsafe { <Self as super::Token>::from_raw(raw) });
        // SAFETY: The buffer is owned by the token the ring holds until after `'a`.
        unsafe { sg.push_page_raw(buf.page(), buf.offset(), buf.len(), true) }
    }
}

/// A packet to transmit: the header, then the buffer's data. It is the token of a transmit
/// queue.
///
/// The header is written in the buffer's head room, just before the data, when the device
/// takes header and data in one descriptor and the room is the buffer's own (C's `can_push`):
/// the packet is then one descriptor for the header and the linear part, plus one per
/// fragment, and needs no indirect table. Otherwise it is kept in the buffer's control block
/// and lent as a descriptor of its own.
///
/// # Invariants
///
/// The buffer's control block holds the header's length at `TxPacket::HDR_LEN_AT` and, at
/// `TxPacket::IN_HEAD_ROOM_AT`, 1 if the header is in the `hdr_len` bytes of head room
/// before the data, which are the buffer's own, or 0 if it is at the start of the control
/// block.
pub struct TxPacket {
    skb: SkBuff,
}

impl TxPacket {
    /// Where the control block holds the header's length, after the longest header.
    const HDR_LEN_AT: usize = Header::LEN;
    /// Where the control block says where the header is.
    const IN_HEAD_ROOM_AT: usize = Header::LEN + 1;

    /// The control block of `skb`: 48 bytes that belong to the layer holding the buffer.
    ///
    /// # Safety
    ///
    /// `skb` must be a valid socket buffer that the caller holds.
    unsafe fn cb(skb: *mut bindings::sk_buff) -> *mut u8 {
        // SAFETY: By the safety requirements the buffer is valid.
        unsafe { (&raw mut (*skb).cb).cast::<u8>() }
    }

    /// Prepares `skb` to be sent after `header`, of which the first `hdr_len` bytes
    /// ([`Header::LEN`] or [`Header::LEGACY_LEN`]) go to the device. `any_layout`: the device
    /// takes the header and the data in the same descriptor (`VIRTIO_F_ANY_LAYOUT`, implied by
    /// `VIRTIO_F_VERSION_1`). Gives the buffer back with `EINVAL` for another length or a
    /// buffer without data.
    pub fn new(
        mut skb: SkBuff,
        header: &Header,
        hdr_len: usize,
        any_layout: bool,
    ) -> core::result::Result<Self, (Error, SkBuff)> {
        if (hdr_len != Header::LEN && hdr_len != Header::LEGACY_LEN) || skb.is_empty() {
            return Err((EINVAL, skb));
        }
        let bytes = &header.as_bytes()[..hdr_len];
        // `hdr_len` is at most `Header::LEN`, which fits in a byte.
        let len_byte = hdr_len as u8;
        let mut in_head_room = false;
        if any_layout {
            if let Some(room) = skb.headroom_mut(u32::from(len_byte)) {
                // The header's 16-bit fields must be aligned, as they would be in the control
                // block.
                if room.as_ptr() as usize % core::mem::align_of::<u16>() == 0 {
                    room.copy_from_slice(bytes);
                    in_head_room = true;
                }
            }
        }
        // SAFETY: The buffer is valid and owned: the driver, which holds it, may use its
        // 48-byte control block, which has room for the header, its length and where it is.
        unsafe {
            let cb = Self::cb(skb.as_raw());
            if !in_head_room {
                core::ptr::copy_nonoverlapping(bytes.as_ptr(), cb, hdr_len);
            }
            *cb.add(Self::HDR_LEN_AT) = len_byte;
            *cb.add(Self::IN_HEAD_ROOM_AT) = u8::from(in_head_room);
        }
        // INVARIANT: The header, its length and its place were just written; head room is
        // used only if `headroom_mut` found it the buffer's own.
        Ok(Self { skb })
    }

    /// The socket buffer, back from the device.
    pub fn into_skb(self) -> SkBuff {
        self.skb
    }

    /// The number of bytes of the packet (without the header).
    pub fn len(&self) -> u32 {
        self.skb.len()
    }

    /// Whether the packet is empty (never: [`TxPacket::new`] refuses empty buffers).
    pub fn is_empty(&self) -> bool {
        self.skb.is_empty()
    }
}

// SAFETY:
// - `into_raw`/`from_raw` convert the owned socket buffer to and from its pointer.
// - `describe` lends the header (in the buffer's control block or its own head room) and the
//   buffer's data, which the ring holds with the buffer: they stay in place and unchanged
//   until it gives it back.
unsafe impl super::Token for TxPacket {
    fn into_raw(self) -> *mut c_void {
        self.skb.into_raw().as_ptr().cast()
    }

    unsafe fn from_raw(raw: *mut c_void) -> Self {
        Self {
            // SAFETY: By the safety requirements `raw` comes from `into_raw`, which gave up the
            // buffer's reference.
            skb: unsafe { SkBuff::from_raw(NonNull::new_unchecked(raw.cast())) },
        }
    }

    unsafe fn describe<'a>(raw: *mut c_void, sg: &mut SgList<'_, 'a>) -> Result {
        let skb = raw.cast::<bindings::sk_buff>();
        // SAFETY: `raw` is an outstanding buffer held by the ring (safety requirements).
        let cb = unsafe { Self::cb(skb) };
        // SAFETY: The control block holds the header's length and place (type invariant).
        let (hdr_len, in_head_room) = unsafe {
            (
                usize::from(*cb.add(Self::HDR_LEN_AT)),
                *cb.add(Self::IN_HEAD_ROOM_AT) != 0,
            )
        };
        if in_head_room {
            // SAFETY: The header is in the `hdr_len` bytes of the buffer's own head room
            // before the data (type invariant), held by the ring with the data for `'a`.
            return unsafe { sg.push_skb(skb, hdr_len) };
        }
        // SAFETY: The header is in the buffer's control block, held by the ring for `'a`.
        unsafe { sg.push_raw(cb, hdr_len, false) }?;
        // SAFETY: As above, for the buffer's data.
        unsafe { sg.push_skb(skb, 0) }
    }
}

/// Values of [`Header::flags`] and [`Header::gso_type`].
pub mod hdr {
    use crate::bindings;

    /// The checksum is still to be computed (`VIRTIO_NET_HDR_F_NEEDS_CSUM`).
    pub const F_NEEDS_CSUM: u8 = bindings::VIRTIO_NET_HDR_F_NEEDS_CSUM as u8;
    /// The device checked the checksum (`VIRTIO_NET_HDR_F_DATA_VALID`).
    pub const F_DATA_VALID: u8 = bindings::VIRTIO_NET_HDR_F_DATA_VALID as u8;
    /// Not segmented.
    pub const GSO_NONE: u8 = bindings::VIRTIO_NET_HDR_GSO_NONE as u8;
    /// TCP over IPv4 segmentation.
    pub const GSO_TCPV4: u8 = bindings::VIRTIO_NET_HDR_GSO_TCPV4 as u8;
    /// TCP over IPv6 segmentation.
    pub const GSO_TCPV6: u8 = bindings::VIRTIO_NET_HDR_GSO_TCPV6 as u8;
}

/// Link status bits of [`config::STATUS`].
pub mod status {
    use crate::bindings;

    /// The link is up.
    pub const LINK_UP: u16 = bindings::VIRTIO_NET_S_LINK_UP as u16;
}

/// Control queue commands and their acknowledgment (`VIRTIO_NET_CTRL_*`, `VIRTIO_NET_OK`).
pub mod ctrl {
    use crate::bindings;

    /// The class of receive mode commands ([`features::CTRL_RX`](super::features::CTRL_RX)).
    pub const RX: u8 = bindings::VIRTIO_NET_CTRL_RX as u8;
    /// Turns promiscuous mode on (1) or off (0).
    pub const RX_PROMISC: u8 = bindings::VIRTIO_NET_CTRL_RX_PROMISC as u8;
    /// Turns the reception of every multicast frame on (1) or off (0).
    pub const RX_ALLMULTI: u8 = bindings::VIRTIO_NET_CTRL_RX_ALLMULTI as u8;
    /// The class of MAC address commands.
    pub const MAC: u8 = bindings::VIRTIO_NET_CTRL_MAC as u8;
    /// Sets the device's MAC address ([`features::CTRL_MAC_ADDR`](super::features::CTRL_MAC_ADDR)):
    /// the six bytes of the address.
    pub const MAC_ADDR_SET: u8 = bindings::VIRTIO_NET_CTRL_MAC_ADDR_SET as u8;
    /// The class of receive offload commands
    /// ([`features::CTRL_GUEST_OFFLOADS`](super::features::CTRL_GUEST_OFFLOADS)).
    pub const GUEST_OFFLOADS: u8 = bindings::VIRTIO_NET_CTRL_GUEST_OFFLOADS as u8;
    /// Sets the receive offloads: a 64-bit mask, in the device's byte order, of the `GUEST_*`
    /// feature bits to use, among those negotiated.
    pub const GUEST_OFFLOADS_SET: u8 = bindings::VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET as u8;
    /// The device carried the command out.
    pub const OK: u8 = bindings::VIRTIO_NET_OK as u8;
    /// The device did not carry the command out.
    pub const ERR: u8 = bindings::VIRTIO_NET_ERR as u8;
}

/// A command for the control queue ([`features::CTRL_VQ`]): its class and code and the data
/// the device reads, then the acknowledgment the device writes. `KBox<Command>` is its token.
pub struct Command {
    header: [u8; 2],
    data: [u8; Command::MAX_DATA],
    len: usize,
    ack: [u8; 1],
}

impl Command {
    /// The most data a command carries (a MAC address, a 64-bit offload mask).
    pub const MAX_DATA: usize = 8;

    /// A command of `class` and `code` ([`ctrl`]) with `data`; `EINVAL` if the data is longer
    /// than [`Command::MAX_DATA`].
    pub fn new(
        class: u8,
        code: u8,
        data: &[u8],
        flags: kernel::alloc::Flags,
    ) -> Result<KBox<Self>> {
        let mut bytes = [0u8; Self::MAX_DATA];
        bytes
            .get_mut(..data.len())
            .ok_or(EINVAL)?
            .copy_from_slice(data);
        Ok(KBox::new(
            Self {
                header: [class, code],
                data: bytes,
                len: data.len(),
                // Until the device writes it: a command it never answered did not succeed.
                ack: [ctrl::ERR],
            },
            flags,
        )?)
    }

    /// The class and the code of the command.
    pub fn kind(&self) -> (u8, u8) {
        (self.header[0], self.header[1])
    }

    /// Whether the device acknowledged the command ([`ctrl::OK`]); meaningful once the device
    /// gave it back.
    pub fn is_ok(&self) -> bool {
        self.ack[0] == ctrl::OK
    }
}

impl super::Buffer for Command {
    fn describe<'a>(&'a mut self, sg: &mut SgList<'_, 'a>) -> Result {
        sg.readable(&self.header)?;
        if self.len > 0 {
            sg.readable(&self.data[..self.len])?;
        }
        sg.writable(&mut self.ack)
    }
}

#[cfg(rvirtio_kunit)]
use kernel::prelude::kunit_tests;

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_net_protocol)]
mod tests {
    /// Fails if a control command is laid out other than as the specification says (section
    /// 5.1.6.5: the class and command, the data, then the one byte the device writes), if data
    /// longer than a command holds is accepted, or if a command reads as acknowledged before
    /// the device answered (a device that never answers would pass for one that agreed).
    #[test]
    fn control_command_layout() -> kernel::prelude::Result {
        use super::{
            super::{
                sg::SgStorage,
                Buffer, //
            },
            ctrl, Command,
        };
        use kernel::prelude::*;

        let mut command = Command::new(
            ctrl::MAC,
            ctrl::MAC_ADDR_SET,
            &[2, 0, 0, 0, 0, 1],
            GFP_KERNEL,
        )?;
        assert_eq!(command.kind(), (ctrl::MAC, ctrl::MAC_ADDR_SET));
        assert!(!command.is_ok());
        let mut storage = SgStorage::new(4)?;
        let mut sg = storage.list();
        command.describe(&mut sg)?;
        assert_eq!(sg.readable_entries(), 2);
        assert_eq!(sg.writable_entries(), 1);
        assert_eq!(sg.writable_bytes(), 1);
        assert_eq!(
            Command::new(
                ctrl::RX,
                ctrl::RX_PROMISC,
                &[0; Command::MAX_DATA + 1],
                GFP_KERNEL
            )
            .err(),
            Some(EINVAL)
        );
        Ok(())
    }

    /// Fails if a configuration field is read at an offset other than the one the virtio
    /// specification gives (section 5.1.4): the driver would misread the link status.
    #[test]
    fn config_offsets_match_the_specification() {
        use super::config;
        assert_eq!(config::MAC.offset(), 0);
        assert_eq!(config::STATUS.offset(), 6);
        assert_eq!(config::MAX_VIRTQUEUE_PAIRS.offset(), 8);
        assert_eq!(config::MTU.offset(), 10);
    }
}

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_net_header)]
mod header_tests {
    use super::super::super::net::skbuff::{
        gso,
        Checksum,
        Gso,
        SkBuff, //
    };
    use super::{
        hdr,
        Header, //
    };
    use kernel::prelude::*;

    /// A packet of `len` bytes: Ethernet, IPv4 and TCP headers (zeroed) and a payload.
    fn packet(len: u32) -> Result<SkBuff> {
        let mut skb = SkBuff::alloc(len, GFP_KERNEL)?;
        let data = skb.put(len)?;
        data.fill(0);
        // Ethertype IPv4, IP version 4 with a 20-byte header, protocol TCP.
        data[12] = 0x08;
        data[14] = 0x45;
        data[23] = 6;
        Ok(skb)
    }

    fn header(flags: u8, gso_type: u8, gso_size: u16, start: u16, offset: u16) -> Header {
        let mut bytes = [0u8; Header::LEN];
        bytes[0] = flags;
        bytes[1] = gso_type;
        bytes[4..6].copy_from_slice(&gso_size.to_le_bytes());
        bytes[6..8].copy_from_slice(&start.to_le_bytes());
        bytes[8..10].copy_from_slice(&offset.to_le_bytes());
        bytes[10..12].copy_from_slice(&1u16.to_le_bytes());
        Header::from_bytes(&bytes, Header::LEN).unwrap_or_default()
    }

    /// Fails if the fields are read at the wrong offsets or in the wrong byte order: a
    /// device's segment size or buffer count would be misread.
    #[test]
    fn fields_in_device_order() {
        let h = header(hdr::F_NEEDS_CSUM, hdr::GSO_TCPV4, 1448, 34, 16);
        assert_eq!(h.flags(), hdr::F_NEEDS_CSUM);
        assert_eq!(h.gso_type(), hdr::GSO_TCPV4);
        assert_eq!(h.gso_size(true), 1448);
        assert_eq!(h.csum_start(true), 34);
        assert_eq!(h.csum_offset(true), 16);
        assert_eq!(h.num_buffers(true), 1);
        assert_eq!(Header::LEN, 12);
        assert_eq!(Header::LEGACY_LEN, 10);
        assert!(Header::from_bytes(&[0; 9], Header::LEGACY_LEN).is_err());
        let legacy = Header::from_bytes(&[0xff; 12], Header::LEGACY_LEN);
        assert!(legacy.is_ok_and(|h| h.num_buffers(true) == 0));
    }

    /// Fails if a plain header changes the packet, or a valid checksum request is not
    /// applied where the device asked for it.
    #[test]
    fn valid_headers_apply() -> Result {
        let mut skb = packet(100)?;
        header(0, hdr::GSO_NONE, 0, 0, 0).apply_to(&mut skb, true)?;
        assert_eq!(skb.checksum(), Checksum::None);
        assert_eq!(skb.gso().size, 0);
        skb.consume();

        let mut skb = packet(100)?;
        header(hdr::F_NEEDS_CSUM, hdr::GSO_NONE, 0, 34, 16).apply_to(&mut skb, true)?;
        assert_eq!(
            skb.checksum(),
            Checksum::Partial {
                start: 34,
                offset: 16
            }
        );
        skb.consume();
        Ok(())
    }

    /// Fails if a header that lies (a checksum beyond the packet, an unknown segmentation
    /// kind, a segment size of 0) is accepted: the stack would read or write outside the
    /// packet, or loop on zero-sized segments.
    #[test]
    fn lying_headers_are_refused() -> Result {
        let cases = [
            header(hdr::F_NEEDS_CSUM, hdr::GSO_NONE, 0, 90, 16),
            header(hdr::F_NEEDS_CSUM, hdr::GSO_NONE, 0, 4, 16),
            header(0, 0x42, 1000, 0, 0),
            header(hdr::F_NEEDS_CSUM, hdr::GSO_TCPV4, 0, 34, 16),
        ];
        for h in cases {
            let mut skb = packet(100)?;
            assert_eq!(h.apply_to(&mut skb, true).err(), Some(EINVAL));
            skb.consume();
        }
        Ok(())
    }

    /// Fails if a segmented packet's header does not survive the way to the buffer and
    /// back: a large TCP receive would lose its segmentation, or a transmit its offload.
    #[test]
    fn segmentation_round_trip() -> Result {
        let mut skb = packet(1500)?;
        header(hdr::F_NEEDS_CSUM, hdr::GSO_TCPV4, 1000, 34, 16).apply_to(&mut skb, true)?;
        let gso = skb.gso();
        assert_eq!(gso.size, 1000);
        assert!(gso.kinds & gso::TCPV4 != 0);
        assert!(gso.kinds & gso::DODGY != 0);

        let h = Header::from_skb(&skb, true, false)?;
        assert_eq!(h.flags(), hdr::F_NEEDS_CSUM);
        assert_eq!(h.gso_type(), hdr::GSO_TCPV4);
        assert_eq!(h.gso_size(true), 1000);
        assert_eq!(h.csum_start(true), 34);
        assert_eq!(h.csum_offset(true), 16);
        assert_eq!(h.hdr_len(true), 1500);
        skb.consume();

        // A segmentation kind the header cannot express.
        let mut skb = packet(200)?;
        skb.set_gso(Gso {
            size: 100,
            kinds: gso::GRE,
        })?;
        assert_eq!(Header::from_skb(&skb, true, false).err(), Some(EINVAL));
        skb.consume();
        Ok(())
    }
}
