// SPDX-License-Identifier: GPL-2.0

//! ID allocator.
//!
//! C header: [`include/linux/idr.h`](srctree/include/linux/idr.h)
//!
//! An [`Ida`] hands out small integer IDs (disk indices, instance numbers); each allocated ID is
//! an [`IdaId`], which frees the ID when it is dropped, so an ID is in use exactly as long as
//! the object it names.

use crate::bindings;
use kernel::{
    prelude::*,
    types::Opaque, //
};

/// An ID allocator (`struct ida`).
///
/// Its IDs refer to it ([`IdaId`] borrows it), so it usually lives in a `static`, populated at
/// module initialisation (see [`SetOnce`](kernel::sync::SetOnce)), as C's `DEFINE_IDA()`.
///
/// # Invariants
///
/// `self.0` is an initialised `struct ida`.
pub struct Ida(Opaque<bindings::ida>);

// SAFETY: The IDA functions take the IDA's own lock; they may be called from any thread.
unsafe impl Send for Ida {}

// SAFETY: As above, concurrent calls are serialised by the IDA's lock.
unsafe impl Sync for Ida {}

impl Ida {
    /// A new, empty allocator.
    pub fn new() -> Self {
        let ida = Opaque::<bindings::ida>::uninit();
        // SAFETY: `ida.get()` is valid for writes. An empty IDA may move: its array has no
        // entries that point back to it, and its lock is not held.
        unsafe { bindings::ida_init(ida.get()) };
        // INVARIANT: Initialised above.
        Self(ida)
    }

    /// Allocates the lowest free ID in `0..=max`; `ENOSPC` if there is none. May sleep.
    pub fn alloc_max(&self, max: u32) -> Result<IdaId<'_>> {
        // SAFETY: By the type invariant `self.0` is an initialised IDA; this may sleep, as
        // `GFP_KERNEL` allows.
        let id = unsafe { bindings::ida_alloc_range(self.0.get(), 0, max, bindings::GFP_KERNEL) };
        let id = u32::try_from(id).map_err(|_| Error::from_errno(id))?;
        Ok(IdaId { ida: self, id })
    }
}

impl Default for Ida {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Ida {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `self.0` is an initialised IDA; no ID borrows it any more.
        unsafe { bindings::ida_destroy(self.0.get()) };
    }
}

/// An ID allocated from an [`Ida`], freed when dropped.
pub struct IdaId<'a> {
    ida: &'a Ida,
    id: u32,
}

impl IdaId<'_> {
    /// The ID.
    pub fn get(&self) -> u32 {
        self.id
    }
}

impl Drop for IdaId<'_> {
    fn drop(&mut self) {
        // SAFETY: `id` was allocated from this initialised IDA and is freed once.
        unsafe { bindings::ida_free(self.ida.0.get(), self.id) };
    }
}

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_ida)]
mod tests {
    use super::*;

    /// Fails if an ID is handed out twice, not reused once freed (disk names and minors would
    /// run out, or two disks share them), or beyond the maximum.
    #[test]
    fn ids_are_unique_reused_and_bounded() -> Result {
        let ida = Ida::new();
        let a = ida.alloc_max(1)?;
        let b = ida.alloc_max(1)?;
        assert_eq!((a.get(), b.get()), (0, 1));
        assert_eq!(ida.alloc_max(1).err(), Some(ENOSPC));
        drop(a);
        let c = ida.alloc_max(1)?;
        assert_eq!(c.get(), 0);
        drop((b, c));
        Ok(())
    }
}
