// SPDX-License-Identifier: GPL-2.0

//! NAPI: polled receive (and transmit completion) for network devices.
//!
//! A [`Napi`] context lives inside the device's private data, in a structure of the driver
//! (typically a receive queue) that implements [`Poll`] and names the context with
//! [`impl_has_napi!`]. It is added to the device when the private data is initialised
//! ([`Napi::new`]), enabled and disabled around open and stop, and deleted when the data is
//! dropped.
//!
//! The interrupt handler only disables the device's notifications and calls
//! [`Napi::schedule`]. The networking core then calls [`Poll::poll`] in softirq context, with
//! a budget, and the abstraction keeps the rest of the contract: it never reports more work
//! than the budget, completes NAPI only when the budget was not used up, and re-arms the
//! device's notifications before completing and checks for work that arrived meanwhile
//! ([`Poll::arm`], [`Poll::pending`]), rescheduling if there is some, so that no packet is
//! left behind without an interrupt.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use super::skbuff::SkBuff;
use crate::bindings;
use core::{
    cell::UnsafeCell,
    marker::{
        PhantomData,
        PhantomPinned, //
    },
    mem::size_of,
    ops::Range,
    pin::Pin,
    ptr::{
        self,
        NonNull, //
    },
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Release, //
        },
        rcu::{
            self,
            synchronize_rcu, //
        },
        Arc,
        Mutex, //
    },
    types::Opaque, //
};

/// Room for a `struct napi_struct`, whose size and alignment come from C (the type is opaque
/// to the kernel crate's bindings). Its alignment is checked below; it must not exceed the
/// private area's (`NETDEV_ALIGN`), where contexts usually live.
#[repr(C, align(8))]
struct NapiStorage([u8; bindings::RVIRTIO_CONST_NAPI_STRUCT_SIZE]);

const _: () = assert!(
    bindings::RVIRTIO_CONST_NAPI_STRUCT_ALIGN <= core::mem::align_of::<NapiStorage>(),
    "struct napi_struct is aligned beyond its storage"
);

/// A structure that embeds a [`Napi`] context at a fixed offset.
///
/// # Safety
///
/// `OFFSET` must be the offset of a field of type `Napi<Self>` in `Self`. Use
/// [`impl_has_napi!`].
pub unsafe trait HasNapi: Sized {
    /// The offset of the `Napi<Self>` field.
    const OFFSET: usize;
}

/// Implements [`HasNapi`] for a structure and one of its `Napi<Self>` fields.
///
/// ```ignore
/// use kernel::net::napi::{Napi, Poll, PollContext};
///
/// #[pin_data]
/// struct RxQueue {
///     #[pin]
///     napi: Napi<RxQueue>,
/// }
///
/// kernel::impl_has_napi! { impl HasNapi for RxQueue { self.napi } }
///
/// impl Poll for RxQueue {
///     type Armed = ();
///
///     fn poll<'a>(_this: &'a Self, _ctx: &mut PollContext<'a>) {}
///     fn arm<'a>(_this: &'a Self, _ctx: &mut PollContext<'a>) {}
///     fn pending(_this: &Self, _armed: ()) -> bool {
///         false
///     }
///     fn disarm(_this: &Self) {}
/// }
/// ```
#[macro_export]
macro_rules! impl_has_napi {
    (impl HasNapi for $type:ty { self.$field:ident }) => {
        // SAFETY: The offset is that of the field, which the type check below shows to be a
        // `Napi<Self>`.
        unsafe impl $crate::net::napi::HasNapi for $type {
            const OFFSET: usize = {
                #[allow(dead_code)]
                fn check(v: &$type) -> &$crate::net::napi::Napi<$type> {
                    &v.$field
                }
                ::core::mem::offset_of!($type, $field)
            };
        }
    };
}
pub use impl_has_napi;

/// What the driver does in its NAPI context.
pub trait Poll: HasNapi + Sync + 'static {
    /// The device's state after [`Poll::arm`], compared by [`Poll::pending`].
    type Armed;

    /// Handles received packets (at most the budget, each given to the stack with
    /// [`Receiver::gro_receive`] or counted with [`Receiver::count`]) and any other
    /// completions. Runs in softirq context; must not sleep.
    fn poll<'a>(this: &'a Self, ctx: &mut PollContext<'a>);

    /// Re-enables the device's notifications, before NAPI completes.
    fn arm<'a>(this: &'a Self, ctx: &mut PollContext<'a>) -> Self::Armed;

    /// Whether work arrived since [`Poll::arm`] (no notification will announce it).
    fn pending(this: &Self, armed: Self::Armed) -> bool;

    /// Disables the notifications again: NAPI did not complete (it is scheduled again, or
    /// busy-polled), so [`Poll::poll`] runs again without them.
    fn disarm(this: &Self);
}

/// A NAPI context (`struct napi_struct`) of a network device, embedded in `T`.
///
/// It is created unused ([`Napi::new`]) and added to the device being built through the
/// structure that holds it ([`Napi::add`]), so that the poll function, which finds the structure
/// from the context, is only ever called for a context inside a `T`.
///
/// # Invariants
///
/// - Once `state.added` (and `added`) is set, `raw` is a context added to a network device with
///   `T`'s poll function, inside a `T` at `T::OFFSET`, in the device's private data; it is
///   deleted when this is dropped, before the device is freed.
/// - `state.enabled` says whether the context is enabled.
#[pin_data(PinnedDrop)]
pub struct Napi<T: Poll> {
    #[pin]
    raw: Opaque<NapiStorage>,
    #[pin]
    state: Mutex<State>,
    added: Atomic<bool>,
    link: Arc<NapiLink>,
    #[pin]
    _pin: PhantomPinned,
    _p: PhantomData<fn(&T)>,
}

#[derive(Clone, Copy)]
struct State {
    added: bool,
    enabled: bool,
}

/// An allocated, not yet registered, network device, to which NAPI contexts are added while
/// its private data is initialised ([`Operations::new_data`]). Only lent by reference, for
/// the initialisation.
///
/// [`Operations::new_data`]: super::netdevice::Operations::new_data
pub struct NewDevice {
    pub(crate) ptr: NonNull<bindings::net_device>,
    /// The device's private data.
    pub(crate) data: Range<usize>,
}

impl<T: Poll> Napi<T> {
    /// A NAPI context, not yet added to a device (see [`Napi::add`]).
    pub fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            raw: Opaque::uninit(),
            state <- new_mutex!(State {
                added: false,
                enabled: false,
            }),
            added: Atomic::new(false),
            link: Arc::new(
                NapiLink {
                    napi: Atomic::new(ptr::null_mut()),
                },
                GFP_KERNEL,
            )?,
            _pin: PhantomPinned,
            _p: PhantomData,
        }? Error)
    }

    /// Adds the context of `container` to `dev` (`netif_napi_add()`), disabled. Called once the
    /// container is initialised in the device's private data, e.g. with
    /// [`PinInit::pin_chain`]. `EINVAL` if the container is not in `dev`'s private data (the
    /// context must not outlive the device), `EBUSY` if it was added already.
    pub fn add(container: Pin<&T>, dev: &NewDevice) -> Result {
        let start = ptr::from_ref(container.get_ref()) as usize;
        let end = start.checked_add(size_of::<T>()).ok_or(EINVAL)?;
        if start < dev.data.start || end > dev.data.end {
            return Err(EINVAL);
        }
        // SAFETY: By the safety requirements of `HasNapi`, a `Napi<T>` field is at `T::OFFSET`
        // in every `T`.
        let this = unsafe {
            &*ptr::from_ref(container.get_ref())
                .cast::<u8>()
                .add(T::OFFSET)
                .cast::<Self>()
        };
        let mut state = this.state.lock();
        if state.added {
            return Err(EBUSY);
        }
        // SAFETY: `raw` is pinned and unused; `netif_napi_add()` initialises it and links it
        // into the device. The context is inside a `T` at `T::OFFSET` and in the device's
        // private data (checked above), which is dropped, and the context with it, before the
        // device is freed.
        unsafe {
            bindings::netif_napi_add(dev.ptr.as_ptr(), this.as_raw(), Some(Self::poll_callback))
        };
        // INVARIANT: Added just above.
        state.added = true;
        this.added.store(true, Release);
        Ok(())
    }

    fn as_raw(&self) -> *mut bindings::napi_struct {
        self.raw.get().cast()
    }

    /// Enables the context (`napi_enable()`), if it is added and not enabled, and schedules a
    /// first poll (with softirqs disabled, as from an interrupt). Sleeps (open). `EINVAL` if it
    /// was never added.
    pub fn enable(&self) -> Result {
        let mut state = self.state.lock();
        if !state.added {
            return Err(EINVAL);
        }
        if !state.enabled {
            // SAFETY: The context was added (type invariant) and is disabled.
            unsafe { bindings::napi_enable(self.as_raw()) };
            state.enabled = true;
            // The first poll arms the device's notifications.
            // SAFETY: The context was added and is enabled.
            unsafe { bindings::napi_schedule_bh(self.as_raw()) };
        }
        Ok(())
    }

    /// Disables the context, waiting for a poll in progress (`napi_disable()`), if it is
    /// enabled. Sleeps (stop).
    pub fn disable(&self) {
        let mut state = self.state.lock();
        if state.enabled {
            // SAFETY: The context was added and is enabled; disabling it twice would wait
            // forever, which `state.enabled` prevents.
            unsafe { bindings::napi_disable(self.as_raw()) };
            state.enabled = false;
        }
    }

    /// Schedules the context's poll (`napi_schedule()`), from an interrupt or with softirqs
    /// disabled (a transmit). Does nothing if it is not added, is disabled, or is already
    /// scheduled.
    pub fn schedule(&self) {
        if self.added.load(Acquire) {
            // SAFETY: The context was added (type invariant) and is deleted only in `drop`,
            // which cannot run while `self` is borrowed; a disabled context ignores this.
            unsafe { bindings::napi_schedule(self.as_raw()) };
        }
    }

    /// A handle that schedules this context from anywhere, such as a virtqueue's callback,
    /// and does nothing once the context is gone (or before it is added).
    pub fn link(&self) -> Arc<NapiLink> {
        if self.added.load(Acquire) {
            // The context is pinned and added: published for the handles.
            self.link.napi.store(self.as_raw(), Release);
        }
        self.link.clone()
    }

    /// Runs `f` with `data`, which only the poll uses otherwise, while the context is disabled
    /// (after it was added, before it is first enabled or between a disable and the next
    /// enable). `EBUSY` if it is enabled; `EINVAL` if it was never added (only an added context
    /// is known to be its structure's) or `data` is not in the structure that holds it.
    pub fn with_disabled<U, R>(
        &self,
        data: &NapiOwned<U>,
        f: impl FnOnce(&mut U) -> R,
    ) -> Result<R> {
        let state = self.state.lock();
        if !state.added {
            return Err(EINVAL);
        }
        if state.enabled {
            return Err(EBUSY);
        }
        // The container of this context: `T::OFFSET` bytes before it.
        let napi = ptr::from_ref(self) as usize;
        let start = napi.checked_sub(T::OFFSET).ok_or(EINVAL)?;
        if !data.is_within(start, size_of::<T>()) {
            return Err(EINVAL);
        }
        // SAFETY: The context was added, so it is the one at `T::OFFSET` in its container (type
        // invariant), and it is disabled and cannot be enabled while `state` is locked, so no
        // poll runs; `data` belongs to that container (checked above), which only its poll and
        // this function access.
        let r = f(unsafe { &mut *data.value.get() });
        drop(state);
        Ok(r)
    }

    /// # Safety
    ///
    /// `napi` must be the context of a `Napi<T>` inside a `T` (it was added by `add` with this
    /// function), called by the networking core.
    unsafe extern "C" fn poll_callback(
        napi: *mut bindings::napi_struct,
        budget: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        // SAFETY: By the safety requirements `napi` is the `raw` field of a `Napi<T>` (at the
        // field's offset, `repr(Rust)` guarantees no other), which is at `T::OFFSET` in a live
        // `T` (`add` added it from one).
        let this = unsafe {
            let napi_field = napi
                .cast::<u8>()
                .sub(core::mem::offset_of!(Self, raw))
                .cast::<Self>();
            &*napi_field.cast::<u8>().sub(T::OFFSET).cast::<T>()
        };
        let budget = u32::try_from(budget).unwrap_or(0);
        let start = ptr::from_ref(this) as usize;
        let mut ctx = PollContext {
            rx: Receiver {
                napi,
                budget,
                done: 0,
                _p: PhantomData,
            },
            owner: start..start + size_of::<T>(),
        };
        T::poll(this, &mut ctx);
        let done = ctx.rx.done.min(budget);
        if done < budget {
            let armed = T::arm(this, &mut ctx);
            // `done < budget`, which came from a `c_int`.
            let work = done as kernel::ffi::c_int;
            // SAFETY: This is the context's poll, which may complete it.
            if unsafe { bindings::napi_complete_done(napi, work) } {
                if T::pending(this, armed) {
                    // SAFETY: The context is valid; scheduling from its poll is allowed.
                    unsafe { bindings::napi_schedule(napi) };
                }
            } else {
                T::disarm(this);
            }
        }
        // `done <= budget`, which came from a `c_int`.
        done as kernel::ffi::c_int
    }
}

#[pinned_drop]
impl<T: Poll> PinnedDrop for Napi<T> {
    fn drop(self: Pin<&mut Self>) {
        if !self.added.load(Acquire) {
            return;
        }
        // No handle schedules the context from now on.
        self.link.napi.store(ptr::null_mut(), Release);
        synchronize_rcu();
        self.disable();
        // SAFETY: The context was added (type invariant) and is disabled; the device is not
        // freed yet (type invariant); the context is not used after this.
        unsafe { bindings::netif_napi_del(self.as_raw()) };
    }
}

// SAFETY: The NAPI core serialises polls; `schedule` may be called from any thread.
unsafe impl<T: Poll> Send for Napi<T> {}
// SAFETY: As above; `enable` and `disable` are serialised by the mutex.
unsafe impl<T: Poll> Sync for Napi<T> {}

/// A handle that schedules a [`Napi`] context from any context ([`Napi::link`]); it does
/// nothing once the context is gone.
///
/// # Invariants
///
/// `napi` is null or points to an added context, which clears it and waits for an RCU grace
/// period before it goes away.
pub struct NapiLink {
    napi: Atomic<*mut bindings::napi_struct>,
}

impl NapiLink {
    /// Schedules the context's poll (`napi_schedule()`); nothing if it is disabled, already
    /// scheduled, or gone.
    pub fn schedule(&self) {
        self.schedule_in(&rcu::read_lock());
    }

    /// As [`NapiLink::schedule`], inside an RCU read-side critical section the caller holds
    /// (such as a virtqueue callback's).
    pub fn schedule_in(&self, _guard: &rcu::Guard) {
        let napi = self.napi.load(Acquire);
        if !napi.is_null() {
            // SAFETY: By the type invariant the context is alive until a grace period after
            // it cleared `napi`, and this runs in an RCU read-side critical section (`_guard`)
            // that began before the load.
            unsafe { bindings::napi_schedule(napi) };
        }
    }
}

/// Data that a NAPI context's poll uses without a lock: the poll has it through
/// [`PollContext::owned`], anyone else only while the context is disabled
/// ([`Napi::with_disabled`]). It must be in the same structure as the context.
pub struct NapiOwned<U> {
    value: UnsafeCell<U>,
}

impl<U> NapiOwned<U> {
    /// Wraps `value`.
    pub fn new(value: U) -> Self {
        Self {
            value: UnsafeCell::new(value),
        }
    }

    fn is_within(&self, start: usize, size: usize) -> bool {
        let addr = ptr::from_ref(self) as usize;
        addr >= start
            && addr
                .checked_add(size_of::<Self>())
                .is_some_and(|end| end <= start.saturating_add(size))
    }
}

// SAFETY: The value is only reached by one context at a time (the poll, or the holder of the
// disabled context's lock), so it may be shared between threads if it may move between them.
unsafe impl<U: Send> Sync for NapiOwned<U> {}

/// What a [`Poll::poll`] call may do: it exists only during the poll, in NAPI context.
pub struct PollContext<'a> {
    rx: Receiver<'a>,
    // The structure that holds the polled context.
    owner: Range<usize>,
}

impl<'a> PollContext<'a> {
    /// The data of the polled context's structure that only its poll uses, with the
    /// [`Receiver`] to give packets to the stack; `None` if `data` is not in that structure.
    pub fn owned<'b, U>(
        &'b mut self,
        data: &'b NapiOwned<U>,
    ) -> Option<(&'b mut U, &'b mut Receiver<'a>)> {
        if !data.is_within(self.owner.start, self.owner.end - self.owner.start) {
            return None;
        }
        // SAFETY: Polls of one context do not overlap, the context is enabled (so no
        // `with_disabled` runs), and `data` is in the polled structure (checked above); the
        // borrow of `self` keeps a second `owned` from overlapping this one.
        Some((unsafe { &mut *data.value.get() }, &mut self.rx))
    }

    /// The [`Receiver`], for a poll that owns no data.
    pub fn receiver(&mut self) -> &mut Receiver<'a> {
        &mut self.rx
    }
}

/// Gives received packets to the stack from a NAPI poll, within its budget.
pub struct Receiver<'a> {
    napi: *mut bindings::napi_struct,
    budget: u32,
    done: u32,
    _p: PhantomData<&'a ()>,
}

impl Receiver<'_> {
    /// The number of packets the poll may handle.
    pub fn budget(&self) -> u32 {
        self.budget
    }

    /// The number of packets handled so far.
    pub fn done(&self) -> u32 {
        self.done
    }

    /// Whether the budget is used up.
    pub fn is_exhausted(&self) -> bool {
        self.done >= self.budget
    }

    /// Uses up the budget, so that the context stays scheduled and is polled again without
    /// the device's notifications: for a poll that could not make progress it must retry
    /// (receive buffers it could not allocate, with none left for the device to fill).
    pub fn poll_again(&mut self) {
        self.done = self.done.max(self.budget);
    }

    /// Counts a packet handled without being given to the stack (dropped).
    pub fn count(&mut self) {
        self.done = self.done.saturating_add(1);
    }

    /// Gives a received packet to the stack through GRO (`napi_gro_receive()`) and counts it.
    pub fn gro_receive(&mut self, skb: SkBuff) {
        self.count();
        // SAFETY: This runs in the context's poll; the buffer's reference passes to the stack.
        unsafe { bindings::napi_gro_receive(self.napi, skb.into_raw().as_ptr()) };
    }

    /// Allocates a receive buffer of `len` bytes from the NAPI cache (`napi_alloc_skb()`).
    pub fn alloc_skb(&self, len: u32) -> Result<SkBuff> {
        // SAFETY: This runs in the context's poll (softirq), where the NAPI cache may be used.
        let ptr = unsafe { bindings::napi_alloc_skb(self.napi, len) };
        // SAFETY: A new buffer belongs to its allocator.
        NonNull::new(ptr)
            .map(|p| unsafe { SkBuff::from_raw(p) })
            .ok_or(ENOMEM)
    }

    /// Sets a received packet's protocol from its Ethernet header and moves its data past the
    /// header (`eth_type_trans()`), for the context's device. `EINVAL` if the packet is
    /// shorter than the header.
    pub fn eth_type_trans(&self, skb: &mut SkBuff) -> Result {
        if skb.headlen() < 14 {
            return Err(EINVAL);
        }
        // SAFETY: The context is added to a device, which outlives it.
        let dev = unsafe { bindings::napi_dev(self.napi) };
        // SAFETY: The device and the buffer are valid; the buffer has an Ethernet header in
        // its linear part, which the function reads and pulls.
        let protocol = unsafe { bindings::eth_type_trans(skb.as_raw(), dev) };
        skb.set_protocol(u16::from_be(protocol));
        Ok(())
    }

    /// Frees a sent packet from the poll (`napi_consume_skb()`), into the CPU's cache of
    /// buffers for the next allocation (or as `dev_consume_skb_any()` in a netpoll, which polls
    /// with a budget of 0).
    pub fn consume(&self, skb: SkBuff) {
        // `budget` came from a `c_int`.
        let budget = self.budget as kernel::ffi::c_int;
        // SAFETY: This runs in the context's poll, with the budget the core passed to it, as
        // the function requires; the buffer's reference passes to it.
        unsafe { bindings::napi_consume_skb(skb.into_raw().as_ptr(), budget) }
    }
}
