// SPDX-License-Identifier: GPL-2.0

//! This module provides the `TagSet` struct to wrap the C `struct blk_mq_tag_set`.
//!
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h)

use core::pin::Pin;

use super::{
    operations::OperationsVTable,
    request::RequestDataWrapper,
    Operations, //
};
use crate::bindings;
use core::{
    convert::TryInto,
    marker::PhantomData, //
};
use kernel::{
    device::Device,
    error::{
        self,
        Result, //
    },
    prelude::*,
    sync::aref::ARef,
    types::Opaque, //
};
use pin_init::{
    pin_data,
    pinned_drop,
    PinInit, //
};

/// A wrapper for the C `struct blk_mq_tag_set`.
///
/// `struct blk_mq_tag_set` contains a `struct list_head` and so must be pinned.
///
/// # Invariants
///
/// - `inner` is an initialized and valid `blk_mq_tag_set` struct.
/// - Its `driver_data` is null or the device held by `affinity`.
#[pin_data(PinnedDrop)]
pub struct TagSet<T: Operations> {
    #[pin]
    inner: Opaque<bindings::blk_mq_tag_set>,
    affinity: Option<ARef<Device>>,
    _p: PhantomData<T>,
}

impl<T: Operations> TagSet<T> {
    /// Try to create a new tag set
    pub fn new(
        nr_hw_queues: u32,
        num_tags: u32,
        num_maps: u32,
    ) -> impl PinInit<Self, error::Error> {
        Self::build(nr_hw_queues, num_tags, num_maps, None)
    }

    /// Creates a tag set whose hardware queues are mapped to CPUs as the interrupts of `dev`'s
    /// queues are (`blk_mq_map_hw_queues()`): queue `i` serves the CPUs of the device's
    /// interrupt vector `i`. For devices whose queue interrupts are spread over the CPUs.
    pub fn with_affinity(
        nr_hw_queues: u32,
        num_tags: u32,
        dev: &Device,
    ) -> impl PinInit<Self, error::Error> {
        Self::build(nr_hw_queues, num_tags, 1, Some(dev.into()))
    }

    fn build(
        nr_hw_queues: u32,
        num_tags: u32,
        num_maps: u32,
        affinity: Option<ARef<Device>>,
    ) -> impl PinInit<Self, error::Error> {
        let driver_data = affinity.as_ref().map_or(core::ptr::null_mut(), |d| {
            super::super::device_raw(d).cast()
        });
        // blk-mq places the private data of a request right after its `struct request`
        // (`blk_mq_rq_to_pdu()`), and requests are only as aligned as that structure: data
        // that needs more would be misaligned. Refused when the driver is compiled.
        const {
            assert!(
                core::mem::align_of::<RequestDataWrapper<T>>()
                    <= core::mem::align_of::<bindings::request>(),
                "the request data needs more alignment than `struct request` provides"
            )
        };
        let tag_set: bindings::blk_mq_tag_set = pin_init::zeroed();
        let tag_set: Result<_> = core::mem::size_of::<RequestDataWrapper<T>>()
            .try_into()
            .map(|cmd_size| {
                bindings::blk_mq_tag_set {
                    ops: OperationsVTable::<T>::build(),
                    nr_hw_queues,
                    timeout: 0, // 0 means default which is 30Hz in C
                    numa_node: bindings::NUMA_NO_NODE,
                    queue_depth: num_tags,
                    cmd_size,
                    flags: 0,
                    driver_data,
                    nr_maps: num_maps,
                    ..tag_set
                }
            })
            .map(Opaque::new)
            .map_err(|e| e.into());

        try_pin_init!(TagSet {
            inner <- tag_set.pin_chain(|tag_set| {
                // SAFETY: we do not move out of `tag_set`.
                let tag_set: &mut Opaque<_> = unsafe { Pin::get_unchecked_mut(tag_set) };
                // SAFETY: `tag_set` is a reference to an initialized `blk_mq_tag_set`.
                error::to_result( unsafe { bindings::blk_mq_alloc_tag_set(tag_set.get())})
            }),
            // INVARIANT: `driver_data` is this device or null.
            affinity,
            _p: PhantomData,
        })
    }

    /// Return the pointer to the wrapped `struct blk_mq_tag_set`
    pub(crate) fn raw_tag_set(&self) -> *mut bindings::blk_mq_tag_set {
        self.inner.get()
    }
}

// SAFETY: The C tag set may be used and freed from any thread; the block layer synchronises
// its use. The device reference is thread safe.
unsafe impl<T: Operations> Send for TagSet<T> {}

// SAFETY: Shared references only give the raw pointer to block layer functions, which
// synchronise themselves.
unsafe impl<T: Operations> Sync for TagSet<T> {}

#[pinned_drop]
impl<T: Operations> PinnedDrop for TagSet<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By type invariant `inner` is valid and has been properly
        // initialized during construction.
        unsafe { bindings::blk_mq_free_tag_set(self.inner.get()) };
    }
}
