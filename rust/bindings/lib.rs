// SPDX-License-Identifier: GPL-2.0

//! Bindings for the out-of-tree build.
//!
//! The kernel's own bindings (`kernel::bindings`), extended with the items
//! that bindgen generates at build time from `rust/bindings/bindings_helper.h`
//! and `rust/helpers/helpers.c`. Abstractions reach both as
//! `crate::bindings::...`; in the kernel tree `crate` is `kernel` and the same
//! paths resolve to the kernel's bindings, which then include these headers.
//!
//! The extra bindings are generated with `--no-recursive-allowlist`: a type
//! that the virtio headers only refer to (`struct device`, `spinlock_t`,
//! ...) is not generated again but resolves to the kernel crate's type, so
//! kernel APIs accept fields such as `virtio_device.dev` without casts.
//!
//! Like the kernel's `bindings` crate, this module may not be used by
//! drivers: if a driver needs a C API, wrap it in an abstraction first.

#![allow(
    clippy::all,
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]

#[allow(unused_imports)]
pub use kernel::bindings::*;

#[allow(clippy::undocumented_unsafe_blocks)]
#[allow(clippy::ptr_as_ptr)]
#[allow(clippy::cast_lossless)]
#[allow(clippy::ref_as_ptr)]
mod extra {
    // The generated items shadow the kernel's where both exist (the integer typedefs, which
    // are the same aliases).
    use kernel::bindings::*;
    use kernel::ffi;
    use pin_init::MaybeZeroable;

    include!(concat!(
        env!("RVIRTIO_OBJTREE"),
        "/rust/bindings/bindings_generated.rs"
    ));

    pub mod helpers {
        use super::*;

        include!(concat!(
            env!("RVIRTIO_OBJTREE"),
            "/rust/bindings/bindings_helpers_generated.rs"
        ));
    }
}

pub use extra::helpers::*;
pub use extra::*;
