// SPDX-License-Identifier: GPL-2.0

//! The virtio block device protocol.
//!
//! C header: [`include/uapi/linux/virtio_blk.h`](srctree/include/uapi/linux/virtio_blk.h)
//!
//! Feature bits, configuration layout, request types and status values of virtio-blk devices,
//! and the byte layout of the structures a driver lends to the device.

use crate::bindings;

/// Feature bits of block devices.
pub mod features {
    use crate::bindings;

    /// The device reports the largest segment size (`size_max`).
    pub const SIZE_MAX: u32 = bindings::VIRTIO_BLK_F_SIZE_MAX;
    /// The device reports the most segments of a request (`seg_max`).
    pub const SEG_MAX: u32 = bindings::VIRTIO_BLK_F_SEG_MAX;
    /// The device reports a disk geometry.
    pub const GEOMETRY: u32 = bindings::VIRTIO_BLK_F_GEOMETRY;
    /// The device is read-only.
    pub const RO: u32 = bindings::VIRTIO_BLK_F_RO;
    /// The device reports its block size (`blk_size`).
    pub const BLK_SIZE: u32 = bindings::VIRTIO_BLK_F_BLK_SIZE;
    /// The device has a volatile write cache and accepts flush requests.
    pub const FLUSH: u32 = bindings::VIRTIO_BLK_F_FLUSH;
    /// The device reports its topology (physical block size, alignment, I/O sizes).
    pub const TOPOLOGY: u32 = bindings::VIRTIO_BLK_F_TOPOLOGY;
    /// The write cache mode can be read and changed (`wce`).
    pub const CONFIG_WCE: u32 = bindings::VIRTIO_BLK_F_CONFIG_WCE;
    /// The device has several request queues (`num_queues`).
    pub const MQ: u32 = bindings::VIRTIO_BLK_F_MQ;
    /// The device accepts discard requests.
    pub const DISCARD: u32 = bindings::VIRTIO_BLK_F_DISCARD;
    /// The device accepts write-zeroes requests.
    pub const WRITE_ZEROES: u32 = bindings::VIRTIO_BLK_F_WRITE_ZEROES;
}

/// The configuration layout of block devices (`struct virtio_blk_config`).
pub type Config = bindings::virtio_blk_config;

// SAFETY: `struct virtio_blk_config` is the configuration layout of block devices, of integer
// fields only.
unsafe impl super::DeviceConfig for Config {
    const DEVICE_ID: u32 = super::ids::BLOCK;
}

/// The fields of the configuration space (`struct virtio_blk_config`).
pub mod config {
    use super::Config;
    use crate::virtio::ConfigField;

    /// The capacity in 512-byte sectors.
    pub const CAPACITY: ConfigField<Config, u64> = crate::virtio_config_field!(Config, capacity);
    /// The largest segment size.
    pub const SIZE_MAX: ConfigField<Config, u32> = crate::virtio_config_field!(Config, size_max);
    /// The most segments of a request.
    pub const SEG_MAX: ConfigField<Config, u32> = crate::virtio_config_field!(Config, seg_max);
    /// Cylinders of the geometry.
    pub const CYLINDERS: ConfigField<Config, u16> =
        crate::virtio_config_field!(Config, geometry.cylinders);
    /// Heads of the geometry.
    pub const HEADS: ConfigField<Config, u8> = crate::virtio_config_field!(Config, geometry.heads);
    /// Sectors per track of the geometry.
    pub const SECTORS: ConfigField<Config, u8> =
        crate::virtio_config_field!(Config, geometry.sectors);
    /// The block size.
    pub const BLK_SIZE: ConfigField<Config, u32> = crate::virtio_config_field!(Config, blk_size);
    /// log2 of logical blocks per physical block.
    pub const PHYSICAL_BLOCK_EXP: ConfigField<Config, u8> =
        crate::virtio_config_field!(Config, physical_block_exp);
    /// Offset of the first aligned logical block.
    pub const ALIGNMENT_OFFSET: ConfigField<Config, u8> =
        crate::virtio_config_field!(Config, alignment_offset);
    /// Suggested minimum I/O size in blocks.
    pub const MIN_IO_SIZE: ConfigField<Config, u16> =
        crate::virtio_config_field!(Config, min_io_size);
    /// Optimal I/O size in blocks.
    pub const OPT_IO_SIZE: ConfigField<Config, u32> =
        crate::virtio_config_field!(Config, opt_io_size);
    /// Write cache mode: 0 write through, 1 write back.
    pub const WCE: ConfigField<Config, u8> = crate::virtio_config_field!(Config, wce);
    /// The number of request queues.
    pub const NUM_QUEUES: ConfigField<Config, u16> =
        crate::virtio_config_field!(Config, num_queues);
    /// The largest discard in sectors.
    pub const MAX_DISCARD_SECTORS: ConfigField<Config, u32> =
        crate::virtio_config_field!(Config, max_discard_sectors);
    /// The most ranges of a discard.
    pub const MAX_DISCARD_SEG: ConfigField<Config, u32> =
        crate::virtio_config_field!(Config, max_discard_seg);
    /// Discard alignment in sectors.
    pub const DISCARD_SECTOR_ALIGNMENT: ConfigField<Config, u32> =
        crate::virtio_config_field!(Config, discard_sector_alignment);
    /// The largest write-zeroes in sectors.
    pub const MAX_WRITE_ZEROES_SECTORS: ConfigField<Config, u32> =
        crate::virtio_config_field!(Config, max_write_zeroes_sectors);
}

/// Request types (`VIRTIO_BLK_T_*`).
pub mod request_type {
    use crate::bindings;

    /// Read.
    pub const IN: u32 = bindings::VIRTIO_BLK_T_IN;
    /// Write.
    pub const OUT: u32 = bindings::VIRTIO_BLK_T_OUT;
    /// Flush the write cache.
    pub const FLUSH: u32 = bindings::VIRTIO_BLK_T_FLUSH;
    /// Read the device ID string.
    pub const GET_ID: u32 = bindings::VIRTIO_BLK_T_GET_ID;
    /// Discard ranges.
    pub const DISCARD: u32 = bindings::VIRTIO_BLK_T_DISCARD;
    /// Write zeroes to ranges.
    pub const WRITE_ZEROES: u32 = bindings::VIRTIO_BLK_T_WRITE_ZEROES;
}

/// Request status values (`VIRTIO_BLK_S_*`).
pub mod status {
    use crate::bindings;

    /// Success.
    pub const OK: u8 = bindings::VIRTIO_BLK_S_OK as u8;
    /// Device or driver error.
    pub const IOERR: u8 = bindings::VIRTIO_BLK_S_IOERR as u8;
    /// Request unsupported by the device.
    pub const UNSUPP: u8 = bindings::VIRTIO_BLK_S_UNSUPP as u8;
}

/// The length of the ID string a `GET_ID` request returns.
pub const ID_BYTES: usize = bindings::VIRTIO_BLK_ID_BYTES as usize;

/// Flag of a write-zeroes range: the device may deallocate the blocks.
pub const WRITE_ZEROES_FLAG_UNMAP: u32 = bindings::VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

/// The header of every request (`struct virtio_blk_outhdr`), in the device's byte order.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct OutHeader {
    bytes: [u8; 16],
}

const _: () = assert!(core::mem::size_of::<bindings::virtio_blk_outhdr>() == 16);

impl OutHeader {
    /// A header for a request of `type_` at `sector`; `little_endian` is the device's byte
    /// order ([`Device::is_little_endian`](super::Device::is_little_endian)).
    pub fn new(little_endian: bool, type_: u32, ioprio: u32, sector: u64) -> Self {
        let mut bytes = [0u8; 16];
        let (t, p, s) = if little_endian {
            (
                type_.to_le_bytes(),
                ioprio.to_le_bytes(),
                sector.to_le_bytes(),
            )
        } else {
            (
                type_.to_ne_bytes(),
                ioprio.to_ne_bytes(),
                sector.to_ne_bytes(),
            )
        };
        bytes[0..4].copy_from_slice(&t);
        bytes[4..8].copy_from_slice(&p);
        bytes[8..16].copy_from_slice(&s);
        Self { bytes }
    }

    /// The bytes the device reads.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// One range of a discard or write-zeroes request (`struct virtio_blk_discard_write_zeroes`),
/// always little endian.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Range {
    bytes: [u8; 16],
}

const _: () = assert!(core::mem::size_of::<bindings::virtio_blk_discard_write_zeroes>() == 16);

impl Range {
    /// `sectors` sectors from `sector`, with `flags` (such as [`WRITE_ZEROES_FLAG_UNMAP`]).
    pub fn new(sector: u64, sectors: u32, flags: u32) -> Self {
        let mut bytes = [0u8; 16];
        bytes[0..8].copy_from_slice(&sector.to_le_bytes());
        bytes[8..12].copy_from_slice(&sectors.to_le_bytes());
        bytes[12..16].copy_from_slice(&flags.to_le_bytes());
        Self { bytes }
    }

    /// The bytes of a list of ranges.
    pub fn slice_as_bytes(ranges: &[Range]) -> &[u8] {
        // SAFETY: `Range` is `repr(C)` around a byte array: any range is valid bytes, with no
        // padding.
        unsafe {
            core::slice::from_raw_parts(
                ranges.as_ptr().cast::<u8>(),
                core::mem::size_of_val(ranges),
            )
        }
    }
}

#[cfg(rvirtio_kunit)]
use kernel::prelude::kunit_tests;

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_blk_protocol)]
mod tests {
    use super::*;

    /// Fails if a configuration field is read at an offset other than the one the virtio
    /// specification gives (section 5.2.4): the driver would misread the device's limits.
    #[test]
    fn config_offsets_match_the_specification() {
        assert_eq!(config::CAPACITY.offset(), 0);
        assert_eq!(config::SIZE_MAX.offset(), 8);
        assert_eq!(config::SEG_MAX.offset(), 12);
        assert_eq!(config::CYLINDERS.offset(), 16);
        assert_eq!(config::HEADS.offset(), 18);
        assert_eq!(config::SECTORS.offset(), 19);
        assert_eq!(config::BLK_SIZE.offset(), 20);
        assert_eq!(config::PHYSICAL_BLOCK_EXP.offset(), 24);
        assert_eq!(config::ALIGNMENT_OFFSET.offset(), 25);
        assert_eq!(config::MIN_IO_SIZE.offset(), 26);
        assert_eq!(config::OPT_IO_SIZE.offset(), 28);
        assert_eq!(config::WCE.offset(), 32);
        assert_eq!(config::NUM_QUEUES.offset(), 34);
        assert_eq!(config::MAX_DISCARD_SECTORS.offset(), 36);
        assert_eq!(config::MAX_DISCARD_SEG.offset(), 40);
        assert_eq!(config::DISCARD_SECTOR_ALIGNMENT.offset(), 44);
        assert_eq!(config::MAX_WRITE_ZEROES_SECTORS.offset(), 48);
    }

    /// Fails if the request header is not laid out as the device reads it: type, ioprio and
    /// sector, little endian for virtio 1.0 devices.
    #[test]
    fn header_layout() {
        let h = OutHeader::new(true, request_type::OUT, 0x0102, 0x1122_3344_5566_7788);
        assert_eq!(
            h.as_bytes(),
            &[1, 0, 0, 0, 2, 1, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]
        );
        let legacy = OutHeader::new(false, request_type::IN, 0, 1);
        assert_eq!(&legacy.as_bytes()[8..16], &1u64.to_ne_bytes());
    }

    /// Fails if discard and write-zeroes ranges are not laid out as the device reads them.
    #[test]
    fn range_layout() {
        let r = [
            Range::new(0x10, 8, WRITE_ZEROES_FLAG_UNMAP),
            Range::new(0x1_0000_0000, 1, 0),
        ];
        let b = Range::slice_as_bytes(&r);
        assert_eq!(b.len(), 32);
        assert_eq!(
            &b[0..16],
            &[0x10, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(&b[16..24], &[0, 0, 0, 0, 1, 0, 0, 0]);
    }
}
