// SPDX-License-Identifier: GPL-2.0

//! KUnit suites for the rvirtio abstractions.
//!
//! The suites run when this module is inserted (`CONFIG_KUNIT=y` is needed:
//! with `=m` they are compiled out). Each test states the defect it would
//! catch.

use kernel::prelude::*;

#[path = "../rust/bindings/lib.rs"]
mod bindings;

// The abstractions under test, compiled into this module with their in-file KUnit suites
// (`--cfg rvirtio_kunit`, see Kbuild).
#[path = "../rust/kernel"]
#[allow(dead_code, unreachable_pub, unused_imports)]
mod rust_kernel {
    pub(crate) mod block;
    pub(crate) mod hw_random;
    pub(crate) mod ida;
    pub(crate) mod net {
        pub(crate) mod ethtool;
        pub(crate) mod napi;
        pub(crate) mod netdevice;
        pub(crate) mod page_pool;
        pub(crate) mod skbuff;
    }
    pub(crate) mod virtio;
}
#[allow(unused_imports)]
use rust_kernel::virtio;

module! {
    type: RvirtioKunit,
    name: "rvirtio_kunit",
    authors: ["rvirtio developers"],
    description: "KUnit suites for the rvirtio abstractions",
    license: "GPL",
}

struct RvirtioKunit;

impl kernel::Module for RvirtioKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(RvirtioKunit)
    }
}

/// The extra bindings and C helpers of the out-of-tree build: generated types
/// must match the C layout of this very build and reuse the kernel crate's
/// types, and a value must cross the C helper boundary unchanged.
#[kunit_tests(rvirtio_bindings)]
mod bindings_tests {
    use super::bindings;
    use core::mem::{offset_of, size_of};
    use kernel::prelude::*;

    unsafe extern "C" {
        fn rvirtio_kunit_c_layout(what: kernel::ffi::c_uint) -> usize;
    }

    fn c_layout(what: u32) -> usize {
        // SAFETY: `rvirtio_kunit_c_layout` only returns constants.
        unsafe { rvirtio_kunit_c_layout(what) }
    }

    /// A zeroed `struct virtio_device` on the heap, enough for the helpers
    /// that only read `features`; it is never registered.
    fn fake_device() -> Result<KBox<bindings::virtio_device>> {
        Ok(KBox::new(bindings::virtio_device::default(), GFP_KERNEL)?)
    }

    /// Fails if bindgen saw a different `struct virtio_device` than the C
    /// compiler (wrong flags, wrong config): every field access from Rust
    /// would then hit the wrong bytes.
    #[test]
    fn virtio_device_layout_matches_c() {
        assert_eq!(size_of::<bindings::virtio_device>(), c_layout(0));
        assert_eq!(offset_of!(bindings::virtio_device, dev), c_layout(1));
        assert_eq!(
            offset_of!(bindings::virtio_device, __bindgen_anon_1),
            c_layout(2)
        );
        assert_eq!(offset_of!(bindings::virtio_device, priv_), c_layout(3));
        assert_eq!(size_of::<bindings::virtio_device_id>(), c_layout(4));
        assert_eq!(size_of::<bindings::virtqueue>(), c_layout(5));
    }

    /// Fails to compile, rather than at run time, if `virtio_device.dev` is a
    /// duplicate of `struct device` instead of the kernel crate's binding:
    /// kernel APIs would then need casts.
    #[test]
    fn virtio_device_embeds_the_kernels_struct_device() -> Result {
        let mut vdev = fake_device()?;
        let dev: *mut kernel::bindings::device = &raw mut vdev.dev;
        let base: *mut bindings::virtio_device = &raw mut *vdev;
        assert_eq!(dev.addr() - base.addr(), c_layout(1));
        Ok(())
    }

    /// Fails if a feature bit written from Rust is not the bit the C inline
    /// `virtio_has_feature()` tests (wrong word, wrong bit order, or a helper
    /// that does not reach C).
    #[test]
    fn has_feature_helper_reads_rust_written_bits() -> Result {
        let mut vdev = fake_device()?;
        let version_1 = bindings::VIRTIO_F_VERSION_1;
        let access_platform = bindings::VIRTIO_F_ACCESS_PLATFORM;

        // SAFETY: `vdev` is a valid, exclusively owned `virtio_device`.
        assert!(!unsafe { bindings::virtio_has_feature(&*vdev, version_1) });

        // SAFETY: `features` and `features_array` are members of one C union
        // of plain integers; the array is the full view of its bits.
        unsafe { vdev.__bindgen_anon_1.features_array.as_mut()[0] |= 1u64 << version_1 };

        // SAFETY: As above.
        assert!(unsafe { bindings::virtio_has_feature(&*vdev, version_1) });
        // SAFETY: As above.
        assert!(!unsafe { bindings::virtio_has_feature(&*vdev, access_platform) });
        // SAFETY: As above.
        assert!(unsafe { bindings::virtio_is_little_endian(&mut *vdev) });
        Ok(())
    }

    /// Fails if a 16-bit value is byte-swapped or truncated on its way
    /// through a helper (the config-space accessors rely on this path).
    #[test]
    fn virtio16_helper_round_trips_value() -> Result {
        let mut vdev = fake_device()?;
        // SAFETY: `features` and `features_array` are members of one C union
        // of plain integers; the array is the full view of its bits.
        unsafe {
            vdev.__bindgen_anon_1.features_array.as_mut()[0] |= 1u64 << bindings::VIRTIO_F_VERSION_1
        };
        let wire = 0xbeefu16.to_le();
        // SAFETY: `vdev` is a valid, exclusively owned `virtio_device`.
        let cpu = unsafe { bindings::virtio16_to_cpu(&mut *vdev, wire) };
        assert_eq!(cpu, 0xbeef);
        Ok(())
    }

    /// Fails if the uapi constants did not come from the header (bindgen
    /// allowlist too narrow) or disagree with the virtio specification.
    #[test]
    fn device_ids_match_the_specification() {
        assert_eq!(bindings::VIRTIO_ID_NET, 1);
        assert_eq!(bindings::VIRTIO_ID_BLOCK, 2);
        assert_eq!(bindings::VIRTIO_ID_RNG, 4);
        assert_eq!(bindings::VIRTIO_F_VERSION_1, 32);
    }
}
