// SPDX-License-Identifier: GPL-2.0

//! Hardware random number generators.
//!
//! C header: [`include/linux/hw_random.h`](srctree/include/linux/hw_random.h)
//!
//! A driver implements [`Operations`] and keeps a [`Registration`] for as long as the generator
//! should be available; `/dev/hwrng` and the kernel's entropy pool then read from it.

use crate::bindings;
use core::marker::PhantomPinned;
use kernel::{
    error::{
        from_result,
        to_result, //
    },
    prelude::*,
    str::CStr,
    types::Opaque, //
};

/// The operations of a hardware random number generator.
#[vtable]
pub trait Operations: Send + Sync + Sized {
    /// Fills the start of `buf` with random bytes and returns how many.
    ///
    /// If no data is available, returns `Ok(0)` when `wait` is false and otherwise sleeps
    /// until there is some; a pending signal ends the wait with an error.
    fn read(&self, buf: &mut [u8], wait: bool) -> Result<usize>;
}

/// A registered hardware random number generator (`struct hwrng`).
///
/// # Invariants
///
/// `rng` is registered with the hw_random core from the end of initialisation until drop, and
/// its `read` callback finds `data` through the `#[repr(C)]` layout.
#[repr(C)]
#[pin_data(PinnedDrop)]
pub struct Registration<T: Operations> {
    // First field: `read_callback` casts the `struct hwrng` pointer back to `Self`.
    #[pin]
    rng: Opaque<bindings::hwrng>,
    #[pin]
    data: T,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: The C side synchronises its use of `rng`; `T` is `Send`.
unsafe impl<T: Operations> Send for Registration<T> {}

// SAFETY: `&Registration` only gives access to `&T`, and `T` is `Sync`.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// Registers a generator named `name` reading from `data`.
    ///
    /// `quality` is the entropy per 1024 bits of output (0: the core's default).
    pub fn new(name: &'static CStr, quality: u16, data: T) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // `data` is initialised first: the generator may be read as soon as it is
            // registered.
            data,
            // SAFETY: `slot` is valid for writes and is registered only once fully set up;
            // `name` is `'static`.
            rng <- Opaque::try_ffi_init(|slot: *mut bindings::hwrng| unsafe {
                slot.write(bindings::hwrng::default());
                (*slot).name = name.as_char_ptr();
                (*slot).read = Some(Self::read_callback);
                (*slot).quality = quality;
                to_result(bindings::hwrng_register(slot))
            }),
            _pin: PhantomPinned,
        })
    }

    /// The generator's data.
    pub fn data(&self) -> &T {
        &self.data
    }

    extern "C" fn read_callback(
        rng: *mut bindings::hwrng,
        data: *mut c_void,
        max: usize,
        wait: bool,
    ) -> c_int {
        // CAST: `rng` is the first field of the `#[repr(C)]` `Self`.
        // SAFETY: The core only calls `read` on a registered generator, which is inside a live
        // `Registration` (type invariant).
        let this = unsafe { &*rng.cast::<Self>() };
        // SAFETY: The core passes a buffer valid for writing `max` bytes that nothing else
        // accesses during the call.
        let buf = unsafe { core::slice::from_raw_parts_mut(data.cast::<u8>(), max) };
        from_result(|| {
            let n = this.data.read(buf, wait)?;
            c_int::try_from(n.min(max)).map_err(|_| EINVAL)
        })
    }
}

#[pinned_drop]
impl<T: Operations> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `rng` is registered (type invariant). `hwrng_unregister()` waits until no
        // reader uses it any more, so `data` outlives every call.
        unsafe { bindings::hwrng_unregister(self.rng.get()) };
    }
}
