// SPDX-License-Identifier: GPL-2.0

//! Types for working with the block layer.

pub mod mq;

use crate::bindings;
use core::fmt;
use kernel::{
    error::to_result,
    prelude::*,
    str::CStr, //
};

/// Bit mask for masking out [`SECTOR_SIZE`].
pub const SECTOR_MASK: u32 = bindings::SECTOR_MASK;

/// Sectors are size `1 << SECTOR_SHIFT`.
pub const SECTOR_SHIFT: u32 = bindings::SECTOR_SHIFT;

/// Size of a sector.
pub const SECTOR_SIZE: u32 = bindings::SECTOR_SIZE;

/// The difference between the size of a page and the size of a sector,
/// expressed as a power of two.
pub const PAGE_SECTORS_SHIFT: u32 = bindings::PAGE_SECTORS_SHIFT;

/// The C `struct device` of `dev`.
///
/// `Device::as_raw()` is private to the kernel crate in 7.3; in the kernel tree this is
/// `dev.as_raw()`.
pub(crate) fn device_raw(dev: &kernel::device::Device) -> *mut bindings::device {
    // CAST: `Device` is a transparent wrapper of `Opaque<struct device>`, itself transparent.
    core::ptr::from_ref(dev)
        .cast::<bindings::device>()
        .cast_mut()
}

/// A size as the kernel prints disk capacities (`string_get_size()`): three significant
/// digits and a unit, decimal (`67.1 MB`) or binary (`64.0 MiB`).
pub struct Size {
    buf: [u8; 16],
}

impl Size {
    /// `blocks` blocks of `block_size` bytes, in decimal or binary units.
    pub fn new(blocks: u64, block_size: u64, binary: bool) -> Self {
        let mut buf = [0u8; 16];
        let units = if binary {
            bindings::string_size_units_STRING_UNITS_2
        } else {
            bindings::string_size_units_STRING_UNITS_10
        };
        // SAFETY: `buf` is valid for its length; the function NUL-terminates within it.
        unsafe {
            bindings::string_get_size(
                blocks,
                block_size,
                units,
                buf.as_mut_ptr().cast(),
                buf.len() as i32,
            )
        };
        Self { buf }
    }
}

impl Size {
    fn as_str(&self) -> &str {
        let len = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.buf.len());
        core::str::from_utf8(&self.buf[..len]).unwrap_or("?")
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// The kernel's printing macros format through their own `Display`.
impl kernel::fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A block device major number, registered with `register_blkdev()` (shown in `/proc/devices`)
/// and released when dropped.
///
/// # Invariants
///
/// `major` is registered under `name` until `self` is dropped.
pub struct Major {
    major: u32,
    name: &'static CStr,
}

impl Major {
    /// Registers a dynamically allocated major number named `name`.
    pub fn register(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a valid string that lives forever; no probe callback is passed.
        let ret = unsafe { bindings::__register_blkdev(0, name.as_char_ptr(), None) };
        to_result(ret)?;
        let major = u32::try_from(ret).map_err(|_| EINVAL)?;
        // INVARIANT: Registered above.
        Ok(Self { major, name })
    }

    /// The major number.
    pub fn number(&self) -> u32 {
        self.major
    }
}

impl Drop for Major {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the major is registered under `name`.
        unsafe { bindings::unregister_blkdev(self.major, self.name.as_char_ptr()) };
    }
}

/// The letters that follow a disk name's prefix for disk `index`: `a` to `z`, then `aa` to `zz`,
/// `aaa`... (`sda`, `vdaa`), as `sd_format_disk_name()` and `virtblk_name_format()` write them.
pub struct DiskLetters(pub usize);

impl fmt::Display for DiskLetters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bijective base 26: enough letters for any `usize`.
        let mut letters = [0u8; 14];
        let mut n = self.0;
        let mut i = letters.len();
        loop {
            i -= 1;
            letters[i] = b'a' + (n % 26) as u8;
            n /= 26;
            if n == 0 {
                break;
            }
            n -= 1;
        }
        // The slice holds ASCII letters only.
        f.write_str(core::str::from_utf8(&letters[i..]).map_err(|_| fmt::Error)?)
    }
}

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_block)]
mod tests {
    use super::*;
    use core::fmt::Write;

    struct Name {
        buf: [u8; 16],
        len: usize,
    }

    impl Write for Name {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            self.buf
                .get_mut(self.len..end)
                .ok_or(fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    fn letters(index: usize) -> Name {
        let mut name = Name {
            buf: [0; 16],
            len: 0,
        };
        assert!(name
            .write_fmt(core::format_args!("{}", DiskLetters(index)))
            .is_ok());
        name
    }

    /// Fails if disk names do not follow the C drivers' sequence, so that a disk would not be
    /// `/dev/vdX` with the X users and udev rules expect.
    #[test]
    fn disk_letters_follow_c() -> Result {
        for (index, want) in [
            (0, "a"),
            (25, "z"),
            (26, "aa"),
            (27, "ab"),
            (701, "zz"),
            (702, "aaa"),
            (18277, "zzz"),
            (18278, "aaaa"),
        ] {
            let name = letters(index);
            assert_eq!(&name.buf[..name.len], want.as_bytes());
        }
        assert!(letters(usize::MAX).len <= 14);
        Ok(())
    }
}
