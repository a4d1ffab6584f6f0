// SPDX-License-Identifier: GPL-2.0

//! Virtqueues: the rings through which a driver lends buffers to a virtio device.
//!
//! C header: [`include/linux/virtio.h`](srctree/include/linux/virtio.h)
//!
//! The rings are the kernel's own (`drivers/virtio/virtio_ring.c`); this module makes their use
//! safe. The model, in short (Documentation/virtio.rst has the whole of it):
//!
//! - **One description, one `find_vqs`.** In `probe`, a driver describes each queue of its
//!   device to a [`Builder`]: its name, whether it has a callback, whether its buffers carry a
//!   context, how many scatterlist entries a buffer may have, and its token type. [`Builder::find`]
//!   creates them all with one `virtio_find_vqs()` call; [`Found::take`] then gives a typed
//!   [`Virtqueue<T>`] for each. Queues of one device can have different token types (receive
//!   pages, socket buffers, a control command).
//! - **Ownership decides locking.** Ring operations take `&mut Virtqueue<T>`: a queue owned by
//!   one context (a NAPI instance) needs no lock; a queue used from several contexts is put
//!   under the lock its driver chooses (`SpinLockIrq<Virtqueue<T>>` for a block hardware queue).
//!   The operations that the ring allows without serialisation (notifying the device,
//!   disabling callbacks, polling for used buffers) are on [`Notifier`], which can be cloned
//!   and used outside the lock. A batch of operations opens the queue once ([`Ring`]).
//! - **Late-bound callbacks.** A queue's used-buffer callback reaches the [`Callback`] that the
//!   driver sets with [`Virtqueue::set_callback`] once the state it needs exists (after the
//!   queues were created). Until then, callbacks of that queue are ignored.
//! - **Buffers are owned.** [`Virtqueue::add`] takes a buffer's owner (a `KBox<B>` or another
//!   [`Token`]); it comes back from [`Virtqueue::get_buf`] or is dropped when the queues are
//!   torn down, so safe code cannot free, move or reuse memory the device may still access.
//!   The used length, which the device writes, is checked against the buffer's writable size
//!   before the driver can use it ([`Used::into_parts`]).
//! - **Teardown belongs to the bus.** When the device is removed (after
//!   [`Driver::unbind`](super::Driver::unbind)) or its probe fails, the virtio adapter marks
//!   every queue dead, waits for an RCU grace period (every ring operation and callback runs
//!   inside an RCU read-side critical section, so none is running after it), resets the
//!   device, takes back every buffer the device still held and drops it (in process context,
//!   holding only the device's reset lock), deletes the queues, and drops the callbacks.
//!   Handles a driver keeps after that ([`Virtqueue`], [`Notifier`]) stay valid objects whose
//!   operations fail with `ENODEV`; dropping them never touches the device.
//! - **A device that fails is stopped, not trusted.** [`Notifier::fail_device`] does the first
//!   half of the teardown while the driver stays bound: a driver whose device stopped answering
//!   or asked to be reset gets every buffer back (and can end what was waiting on it) and
//!   refuses new work with `ENODEV` until it is unbound.

use super::{
    sg::{
        SgList,
        SgStorage, //
    },
    Device, //
};
use crate::bindings;
use core::{
    ffi::c_void,
    fmt,
    marker::PhantomData,
    ops::Deref,
    ptr, //
};
use kernel::{
    cpumask::Cpumask,
    device,
    prelude::*,
    str::CString,
    sync::{
        aref::ARef,
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        rcu,
        Arc, //
    },
    types::Opaque, //
};

/// A buffer that can be lent to a virtio device.
///
/// The buffer lives in a `KBox` while the device holds it, so the memory it describes does not
/// move. Only memory reachable from `self` (or `'static` memory) can be described, and it must
/// be in the kernel's linear mapping (`kmalloc`-ed or page memory, not stack or `vmalloc`).
pub trait Buffer: Send + Sized + 'static {
    /// Describes the memory the device may read, then the memory it may write.
    ///
    /// Called when the buffer is added, and again when the driver asks for the checked length
    /// of a returned buffer ([`Used::into_parts`]); it must describe the same memory each time.
    /// It may run in any context the queue is used in (a callback, a NAPI poll), so it must
    /// not sleep.
    fn describe<'a>(&'a mut self, sg: &mut SgList<'_, 'a>) -> Result;
}

/// An owner of memory that a ring can hold while the device uses it: the token of a buffer.
///
/// `KBox<B>` is the token of every [`Buffer`]. Other abstractions implement it for handles whose
/// memory they manage themselves, such as a block request and the pages it transfers
/// ([`InFlight`](super::request::InFlight)), so that no allocation is needed per transfer.
///
/// # Safety
///
/// - [`Token::into_raw`] returns a non-null pointer that [`Token::from_raw`] turns back into the
///   same owner, and no other code uses the owner in between.
/// - The memory [`Token::describe`] lends stays valid and in place until the token is turned
///   back with [`Token::from_raw`].
pub unsafe trait Token: Send + Sized + 'static {
    /// Gives up ownership, for the ring to hold.
    fn into_raw(self) -> *mut c_void;

    /// Takes ownership back.
    ///
    /// # Safety
    ///
    /// `raw` must come from [`Token::into_raw`] and not have been turned back yet.
    unsafe fn from_raw(raw: *mut c_void) -> Self;

    /// Describes the memory the device may read, then the memory it may write.
    ///
    /// # Safety
    ///
    /// `raw` must come from [`Token::into_raw`] and not have been turned back; nothing else
    /// uses the owner while the call runs, and `'a` ends before it is turned back.
    unsafe fn describe<'a>(raw: *mut c_void, sg: &mut SgList<'_, 'a>) -> Result;

    /// The number of bytes the device may write into the buffer, which bounds the used length
    /// it reports.
    ///
    /// # Safety
    ///
    /// As for [`Token::describe`].
    unsafe fn writable_len(raw: *mut c_void) -> Result<usize> {
        let mut sg = SgList::counting();
        // SAFETY: By the safety requirements `raw` is an outstanding token; `sg` is dropped
        // before this returns.
        unsafe { Self::describe(raw, &mut sg) }?;
        Ok(sg.writable_bytes())
    }
}

// SAFETY: The box is converted with `KBox::into_raw`/`KBox::from_raw`; its contents do not move
// while the ring holds the pointer, and `describe` only lends memory borrowed from them.
unsafe impl<B: Buffer> Token for KBox<B> {
    fn into_raw(self) -> *mut c_void {
        KBox::into_raw(self).cast()
    }

    unsafe fn from_raw(raw: *mut c_void) -> Self {
        // SAFETY: By the safety requirements `raw` comes from `KBox::into_raw` above.
        unsafe { KBox::from_raw(raw.cast::<B>()) }
    }

    unsafe fn describe<'a>(raw: *mut c_void, sg: &mut SgList<'_, 'a>) -> Result {
        // SAFETY: By the safety requirements the box is live and nothing else uses it for `'a`.
        unsafe { &mut *raw.cast::<B>() }.describe(sg)
    }
}

/// The handler of a queue's used-buffer notifications.
pub trait Callback: Send + Sync + 'static {
    /// Called in interrupt context when the device has used buffers on `queue` (hard IRQ for
    /// virtio_pci and virtio_mmio; with interrupts disabled for transports that call back from
    /// a work item, such as VDUSE); must not sleep. A handler that hands the queue's
    /// processing to another context (NAPI) disables further callbacks here with
    /// [`Notifier::disable_cb`].
    fn callback(&self, queue: &Called<'_>);
}

/// A queue whose [`Callback`] is running: alive for the call, inside the RCU read-side
/// critical section that keeps it so, which the handler may use too ([`Called::rcu_guard`]).
pub struct Called<'a> {
    notifier: &'a Notifier,
    vq: *mut bindings::virtqueue,
    guard: &'a rcu::Guard,
}

impl Called<'_> {
    /// The queue's index among the device's queues.
    pub fn index(&self) -> usize {
        self.notifier.index()
    }

    /// Disables used-buffer callbacks (see [`Notifier::disable_cb`]).
    pub fn disable_cb(&self) {
        // SAFETY: `vq` is alive during the call (checked in this RCU read-side critical
        // section); `virtqueue_disable_cb()` "need not be serialized".
        unsafe { bindings::virtqueue_disable_cb(self.vq) }
    }

    /// The queue's notifier, to keep.
    pub fn notifier(&self) -> &Notifier {
        self.notifier
    }

    /// The RCU read-side critical section the callback runs in.
    pub fn rcu_guard(&self) -> &rcu::Guard {
        self.guard
    }
}

/// How the queues' interrupt vectors are spread over CPUs (`struct irq_affinity`).
///
/// With [`Affinity::spread`], the transport assigns the vectors of the queues after the first
/// `pre_vectors` ones (the configuration vector, and queues that are not per-CPU) to CPUs
/// evenly, so that a multiqueue driver can map queue `i` to the CPUs of its vector.
#[derive(Clone, Copy, Default)]
pub struct Affinity {
    spread: bool,
    pre_vectors: u32,
}

impl Affinity {
    /// No affinity: the transport's default.
    pub const fn none() -> Self {
        Self {
            spread: false,
            pre_vectors: 0,
        }
    }

    /// Spread the queues' vectors over the CPUs, leaving out the first `pre_vectors` vectors.
    pub const fn spread(pre_vectors: u32) -> Self {
        Self {
            spread: true,
            pre_vectors,
        }
    }
}

/// Checks the length the device says it wrote against the writable size of the buffer.
pub(crate) fn check_used_len(len: u32, writable: usize) -> Result<usize> {
    let len = usize::try_from(len).map_err(|_| EIO)?;
    if len > writable {
        Err(EIO)
    } else {
        Ok(len)
    }
}

/// The callback a driver bound to a queue, without its type.
struct HandlerVTable {
    call: unsafe fn(*const c_void, &Called<'_>),
    release: unsafe fn(*const c_void),
}

struct HandlerOf<H>(PhantomData<H>);

impl<H: Callback> HandlerOf<H> {
    const VTABLE: HandlerVTable = HandlerVTable {
        call: Self::call,
        release: Self::release,
    };

    /// # Safety
    ///
    /// `data` must come from `Arc::<H>::into_raw` and not have been released.
    unsafe fn call(data: *const c_void, queue: &Called<'_>) {
        // SAFETY: By the safety requirements `data` is a live `Arc<H>`'s pointer.
        unsafe { &*data.cast::<H>() }.callback(queue)
    }

    /// # Safety
    ///
    /// `data` must come from `Arc::<H>::into_raw` and not be used after this.
    unsafe fn release(data: *const c_void) {
        // SAFETY: By the safety requirements `data` gives back the reference `into_raw` kept.
        drop(unsafe { Arc::<H>::from_raw(data.cast::<H>()) });
    }
}

/// The state of one queue that its handles, its callback and the teardown share.
///
/// # Invariants
///
/// - While `alive` is `true`, `vq` is a valid `struct virtqueue` of `dev`. Teardown clears
///   `alive`, then waits for an RCU grace period before it touches the queue; `vq` is only
///   dereferenced inside an RCU read-side critical section that found `alive` set.
/// - `handler` is null or comes from `Arc::into_raw` of the type `handler_vtable` was made
///   for; it is set once, and released once (by teardown or by `drop`).
/// - `has_callback` and `has_context` are what the queue was created with (`virtqueue_info`).
struct Slot {
    vq: Atomic<*mut bindings::virtqueue>,
    alive: Atomic<bool>,
    // A reference, so that a handle kept after the device is gone can still name it.
    dev: ARef<Device>,
    index: usize,
    has_callback: bool,
    has_context: bool,
    handler: Atomic<*mut c_void>,
    handler_vtable: Atomic<*mut HandlerVTable>,
    bad_length_seen: Atomic<bool>,
    // Shared by the queues of the device.
    reset: Arc<ResetState>,
}

/// What the queues of one device share: the lock that keeps [`Notifier::fail_device`] and the
/// teardown apart, what they did, and the work item of [`Ring::fail_device_later`].
///
/// # Invariants
///
/// `work` is initialised with [`ResetState::work_callback`]. While it is queued it owns a
/// reference to `self` (from `Arc::into_raw`), which the callback, or the teardown when it
/// cancels the work, gives back. It is only queued from a ring session on a live queue, and
/// the teardown cancels it after the grace period that ends every such session, so it never
/// runs after the teardown.
#[repr(C)]
#[pin_data]
struct ResetState {
    // First field: the work callback casts the `work_struct` pointer back to `Self`.
    #[pin]
    work: Opaque<bindings::work_struct>,
    #[pin]
    state: kernel::sync::Mutex<ResetFlags>,
    dev: ARef<Device>,
}

// SAFETY: The work item is only used through the workqueue API, which serialises it; the
// flags are under the mutex; the device is reference counted and thread safe.
unsafe impl Send for ResetState {}

// SAFETY: As above.
unsafe impl Sync for ResetState {}

impl ResetState {
    /// See [`Notifier::fail_device`].
    fn fail(&self) -> bool {
        kernel::task::might_sleep();
        let mut flags = self.state.lock();
        if flags.failed || flags.torn_down {
            return false;
        }
        let vdev = self.dev.as_raw();
        // SAFETY: `self.dev` is a valid device (reference counted). The teardown sets
        // `torn_down` under this lock before it frees the set and clears `priv`, so a set
        // found here is valid while the lock is held; `priv` belongs to this abstraction while
        // a driver that uses it is bound, and the state is only reached from the queues of a
        // set that `find` put there.
        let set = unsafe { (*vdev).priv_ }.cast::<QueueSet>();
        if set.is_null() {
            return false;
        }
        // SAFETY: As above.
        let entries = unsafe { &(*set).entries };
        // SAFETY: The set's queues are valid (not torn down, see above), and this lock keeps
        // the teardown away until they are drained.
        unsafe { stop_and_drain(vdev, entries) };
        flags.failed = true;
        dev_err!(
            self.dev.as_ref(),
            "device failed: reset, its buffers taken back\n"
        );
        true
    }

    extern "C" fn work_callback(work: *mut bindings::work_struct) {
        // SAFETY: `work` is the first field of a `#[repr(C)]` `ResetState` in an `Arc`, and
        // the queued work owned a reference to it (type invariants), given back here.
        let this = unsafe { Arc::from_raw(work.cast::<ResetState>().cast_const()) };
        this.fail();
    }
}

#[derive(Default)]
struct ResetFlags {
    /// The device was reset and its queues drained by [`Notifier::fail_device`].
    failed: bool,
    /// The queues were torn down: the queue set is gone.
    torn_down: bool,
}

// SAFETY: The pointers are only dereferenced as the type invariants allow; the handler is
// `Send + Sync` (`Callback`).
unsafe impl Send for Slot {}

// SAFETY: Shared access only reads atomics and the C queue, which serialises its own state for
// the operations reachable through `&Slot` (see `Notifier`).
unsafe impl Sync for Slot {}

impl Slot {
    /// Takes the handler out, for the caller to release.
    fn take_handler(&self) -> Option<(*mut c_void, *mut HandlerVTable)> {
        let data = self.handler.xchg(ptr::null_mut(), Acquire);
        if data.is_null() {
            None
        } else {
            Some((data, self.handler_vtable.load(Relaxed)))
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // A handler set after teardown took the others (the device was being removed).
        if let Some((data, vtable)) = self.take_handler() {
            // SAFETY: By the type invariant `data` and `vtable` belong together, and the
            // handler is released once.
            unsafe { ((*vtable).release)(data) };
        }
    }
}

/// The part of a virtqueue that needs no serialisation with the ring operations: notifying
/// the device, disabling callbacks, polling for used buffers.
///
/// Every [`Virtqueue`] dereferences to its `Notifier`; [`Virtqueue::notifier`] gives one that
/// can be kept apart (outside the lock that guards the queue, say), and a [`Callback`] is
/// called with it.
#[derive(Clone)]
#[repr(transparent)]
pub struct Notifier(Arc<Slot>);

impl Notifier {
    /// The queue, if it is alive; it stays so while `_guard` is held (see the type invariants
    /// of `Slot`).
    #[inline]
    fn live(&self, _guard: &rcu::Guard) -> Option<*mut bindings::virtqueue> {
        // ORDERING: `Acquire` pairs with the `Release` that published `vq` with `alive`.
        // Teardown clears `alive` and then waits for a grace period, which orders it with
        // the caller's read-side section either way.
        if self.0.alive.load(Acquire) {
            Some(self.0.vq.load(Relaxed))
        } else {
            None
        }
    }

    /// Runs `f` with the queue if it is alive, inside an RCU read-side critical section that
    /// keeps it so; `dead` otherwise.
    #[inline]
    fn with<R>(&self, dead: R, f: impl FnOnce(*mut bindings::virtqueue) -> R) -> R {
        let guard = rcu::read_lock();
        self.live(&guard).map_or(dead, f)
    }

    /// The queue's index among the device's queues.
    pub fn index(&self) -> usize {
        self.0.index
    }

    /// Notifies the device of added buffers, after [`Virtqueue::kick_prepare`] returned `true`.
    /// Returns `false` if the queue is broken or gone.
    pub fn notify(&self) -> bool {
        // SAFETY: `vq` is alive (`with`); `virtqueue_notify()` "does not need to be serialized".
        self.with(false, |vq| unsafe { bindings::virtqueue_notify(vq) })
    }

    /// Disables used-buffer callbacks. A hint: a callback may still arrive.
    pub fn disable_cb(&self) {
        // SAFETY: `vq` is alive (`with`); `virtqueue_disable_cb()` "need not be serialized".
        self.with((), |vq| unsafe { bindings::virtqueue_disable_cb(vq) })
    }

    /// Whether buffers were used since `state` was taken with
    /// [`Virtqueue::enable_cb_prepare`]. `false` for a broken or removed queue.
    pub fn poll(&self, state: PollState) -> bool {
        // SAFETY: `vq` is alive (`with`); `virtqueue_poll()` "does not need to be serialized".
        self.with(false, |vq| unsafe { bindings::virtqueue_poll(vq, state.0) })
    }

    /// Whether the queue is broken (the device misbehaved or was removed) or torn down.
    pub fn is_broken(&self) -> bool {
        // SAFETY: `vq` is alive (`with`); the flag is read with `READ_ONCE()`.
        self.with(true, |vq| unsafe { bindings::virtqueue_is_broken(vq) })
    }

    /// Fails the device: every queue of the device is marked dead (ring operations fail with
    /// `ENODEV` from now on, callbacks are ignored), the device is reset, and every buffer it
    /// held is taken back and dropped, here, as at teardown. The device stays bound; its
    /// driver unbinds as usual, and a probe during which this happened fails.
    ///
    /// For a device that stopped answering (a request timed out) or asked to be reset
    /// (`DEVICE_NEEDS_RESET`); the virtio core cannot bring the queues back. Logs that the
    /// device failed. Returns `false` if the device was failed already or is being removed.
    ///
    /// Sleeps (it waits for an RCU grace period and for the device to reset): call it from
    /// process context, outside any ring session, lock or callback of the device's queues; the
    /// buffers' owners are dropped on this thread.
    pub fn fail_device(&self) -> bool {
        self.0.reset.fail()
    }

    /// Calls the queue's handler, if one is set and the queue is alive.
    fn call_handler(&self) {
        let guard = rcu::read_lock();
        // Teardown waits for this section before it releases the handler.
        let Some(vq) = self.live(&guard) else {
            return;
        };
        // ORDERING: `Acquire` pairs with the `Release` in `set_callback`, which wrote the
        // vtable first.
        let data = self.0.handler.load(Acquire);
        if data.is_null() {
            return;
        }
        let vtable = self.0.handler_vtable.load(Relaxed);
        let called = Called {
            notifier: self,
            vq,
            guard: &guard,
        };
        // SAFETY: By the type invariant of `Slot` `data` and `vtable` belong together; the
        // handler is only released after a grace period that follows clearing `alive`.
        unsafe { ((*vtable).call)(data, &called) };
    }
}

/// The state [`Virtqueue::enable_cb_prepare`] returns, for [`Notifier::poll`].
#[derive(Clone, Copy)]
pub struct PollState(u32);

/// A buffer the device has used, as [`Virtqueue::get_buf`] returns it.
pub struct Used<'q, T: Token> {
    token: T,
    len: u32,
    ctx: usize,
    slot: &'q Slot,
}

impl<T: Token> Used<'_, T> {
    /// The buffer, without the length the device reported.
    pub fn into_token(self) -> T {
        self.token
    }

    /// The context the buffer was added with ([`Virtqueue::add_ctx`]); 0 if none.
    pub fn ctx(&self) -> usize {
        self.ctx
    }

    /// The number of bytes the device says it wrote, as it said it: not checked against the
    /// buffer (see [`Used::into_parts`] for a length to use as one). For a driver that knows
    /// how much the device had to write, to refuse a buffer the device did not fill.
    pub fn reported_len(&self) -> u32 {
        self.len
    }

    /// The buffer, with the number of bytes the device wrote into it: `EIO` if the device
    /// reported more than the buffer's writable size (logged once per queue).
    pub fn into_parts(self) -> (T, Result<usize>) {
        let raw = self.token.into_raw();
        // SAFETY: `raw` is an outstanding token that nothing else uses; it is turned back
        // below.
        let writable = unsafe { T::writable_len(raw) };
        // SAFETY: `raw` comes from `into_raw` above and is turned back once.
        let token = unsafe { T::from_raw(raw) };
        let len = writable.and_then(|w| check_used_len(self.len, w));
        if len.is_err() && !self.slot.bad_length_seen.xchg(true, Relaxed) {
            dev_warn!(
                self.slot.dev.as_ref(),
                "queue {}: device reported a used length beyond the buffer; length ignored \
                 (reported once)\n",
                self.slot.index
            );
        }
        (token, len)
    }
}

/// A [`Virtqueue`] opened for a batch of ring operations ([`Virtqueue::ring`]): the queue is
/// alive, and stays so, for as long as the session lasts.
///
/// # Invariants
///
/// `vq` is the live virtqueue of `slot`, whose tokens come from `T::into_raw`; `_guard` keeps
/// it alive (the teardown waits for a grace period after marking it dead), and the `&mut`
/// borrow of the `Virtqueue` the session came from makes it the only user of the serialised
/// operations.
pub struct Ring<'a, T: Token> {
    vq: *mut bindings::virtqueue,
    sg: &'a mut SgStorage,
    slot: &'a Slot,
    _guard: rcu::Guard,
    _tokens: PhantomData<fn(T) -> T>,
}

impl<'a, T: Token> Ring<'a, T> {
    fn add_raw(&mut self, token: T, ctx: usize) -> Result<(), (Error, T)> {
        let raw = token.into_raw();
        let mut sg = self.sg.list();
        // SAFETY: `raw` is an outstanding token that nothing else uses; the list is used up
        // below, before the token is turned back here, by `get_buf` or by the teardown.
        let ret = unsafe { T::describe(raw, &mut sg) }.and_then(|()| {
            // SAFETY: By the type invariant `vq` is alive and this session is its only user; it
            // was created with a context if `ctx` is not 0 (checked by `add_ctx`); the token
            // keeps the memory valid until it comes back (`Token`). GFP_ATOMIC: this runs in
            // an RCU read-side critical section.
            unsafe { sg.add_to(self.vq, raw, ctx as *mut c_void, bindings::GFP_ATOMIC) }
        });
        match ret {
            Ok(()) => Ok(()),
            // SAFETY: The ring did not take the buffer, so `raw` is still exclusively ours.
            Err(e) => Err((e, unsafe { T::from_raw(raw) })),
        }
    }

    /// Lends `token`'s buffer to the device.
    ///
    /// On failure the token is given back with the error: `ENOSPC` if the ring is full, `EIO`
    /// if the queue is broken, `E2BIG` if the buffer has more entries than the queue was created
    /// for, `EINVAL` if it describes memory that cannot be lent.
    pub fn add(&mut self, token: T) -> Result<(), (Error, T)> {
        self.add_raw(token, 0)
    }

    /// Lends a device-writable buffer with a context (`virtqueue_add_inbuf_ctx()`), which
    /// [`Used::ctx`] gives back with it. The queue must have been created with
    /// [`QueueSpec::with_context`], and `ctx` must not be 0 (`EINVAL` otherwise).
    pub fn add_ctx(&mut self, token: T, ctx: usize) -> Result<(), (Error, T)> {
        if !self.slot.has_context || ctx == 0 {
            return Err((EINVAL, token));
        }
        self.add_raw(token, ctx)
    }

    /// Takes a buffer the device has used.
    pub fn get_buf(&mut self) -> Option<Used<'a, T>> {
        let mut len = 0u32;
        let mut ctx: *mut c_void = ptr::null_mut();
        // SAFETY: By the type invariant `vq` is alive and this session is its only user.
        let token = unsafe {
            if self.slot.has_context {
                bindings::virtqueue_get_buf_ctx(self.vq, &mut len, &mut ctx)
            } else {
                bindings::virtqueue_get_buf(self.vq, &mut len)
            }
        };
        if token.is_null() {
            return None;
        }
        Some(Used {
            // SAFETY: By the type invariant every token comes from `T::into_raw`, and the ring
            // returns each once (from its own state, after checking the used ID).
            token: unsafe { T::from_raw(token) },
            len,
            ctx: ctx as usize,
            slot: self.slot,
        })
    }

    /// Prepares to notify the device of added buffers; returns whether [`Notifier::notify`]
    /// is needed.
    pub fn kick_prepare(&mut self) -> bool {
        // SAFETY: By the type invariant `vq` is alive and this session is its only user.
        unsafe { bindings::virtqueue_kick_prepare(self.vq) }
    }

    /// Notifies the device of added buffers (after [`Ring::kick_prepare`] returned `true`).
    pub fn notify(&self) -> bool {
        // SAFETY: By the type invariant `vq` is alive.
        unsafe { bindings::virtqueue_notify(self.vq) }
    }

    /// Disables used-buffer callbacks (a hint: a callback may still arrive).
    pub fn disable_cb(&mut self) {
        // SAFETY: By the type invariant `vq` is alive.
        unsafe { bindings::virtqueue_disable_cb(self.vq) }
    }

    /// Re-enables callbacks. Returns `false` if used buffers arrived meanwhile: the caller must
    /// then process them (and try again), as no callback will announce them.
    pub fn enable_cb(&mut self) -> bool {
        // SAFETY: By the type invariant `vq` is alive and this session is its only user.
        unsafe { bindings::virtqueue_enable_cb(self.vq) }
    }

    /// Re-enables callbacks and returns the ring's state, which [`Notifier::poll`] compares
    /// with the used buffers later (the NAPI completion pattern).
    pub fn enable_cb_prepare(&mut self) -> PollState {
        // SAFETY: By the type invariant `vq` is alive and this session is its only user.
        PollState(unsafe { bindings::virtqueue_enable_cb_prepare(self.vq) })
    }

    /// Re-enables callbacks, asking the device to delay them until most pending buffers are
    /// used. Returns `false` if many buffers are pending already.
    pub fn enable_cb_delayed(&mut self) -> bool {
        // SAFETY: By the type invariant `vq` is alive and this session is its only user.
        unsafe { bindings::virtqueue_enable_cb_delayed(self.vq) }
    }

    /// Whether the ring is broken: the virtio core found the device's use of it inconsistent
    /// (an id it never made available, say) and stopped using it.
    pub fn is_broken(&self) -> bool {
        // SAFETY: `vq` is alive (type invariants); the flag is read with `READ_ONCE()`.
        unsafe { bindings::virtqueue_is_broken(self.vq) }
    }

    /// Fails the device (see [`Notifier::fail_device`]) from process context, soon: for a
    /// driver that finds its ring broken where it cannot sleep (a callback, a NAPI poll).
    pub fn fail_device_later(&self) {
        let reset = self.slot.reset.clone();
        let work = reset.work.get();
        let raw = Arc::into_raw(reset);
        // SAFETY: `work` is initialised (type invariants of `ResetState`), and the state lives
        // while the queued work owns `raw`; `system_dfl_wq` exists from early boot on. This
        // session is on a live queue, so the teardown (which cancels the work after its grace
        // period) has not passed that point.
        let queued = unsafe {
            bindings::queue_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as kernel::ffi::c_int,
                bindings::system_dfl_wq,
                work,
            )
        };
        if !queued {
            // Already queued, with its own reference.
            // SAFETY: `raw` comes from `Arc::into_raw` above and was not handed over.
            drop(unsafe { Arc::from_raw(raw) });
        }
    }

    /// The number of free descriptors.
    pub fn num_free(&self) -> u32 {
        // SAFETY: By the type invariant `vq` is alive; the field only changes in ring
        // operations, of which this session is the only user.
        unsafe { (*self.vq).num_free }
    }

    /// The number of descriptors of the ring.
    pub fn size(&self) -> u32 {
        // SAFETY: By the type invariant `vq` is alive; the size does not change.
        unsafe { bindings::virtqueue_get_vring_size(self.vq) }
    }
}

/// A virtqueue whose buffers are owned by tokens of type `T`.
///
/// Ring operations take `&mut self`: whoever holds the `Virtqueue` (or the lock around it) is
/// the only one using the ring. It dereferences to its [`Notifier`] for the operations that
/// need no serialisation.
///
/// # Invariants
///
/// Every token in the ring comes from `T::into_raw`.
pub struct Virtqueue<T: Token> {
    notifier: Notifier,
    sg: SgStorage,
    // Owns `T`s; a function pointer keeps the queue `Send`/`Sync` independently of `T`'s
    // auto traits, which `T: Send` covers.
    _tokens: PhantomData<fn(T) -> T>,
}

impl<T: Token> Deref for Virtqueue<T> {
    type Target = Notifier;

    fn deref(&self) -> &Notifier {
        &self.notifier
    }
}

impl<T: Token> Virtqueue<T> {
    /// A handle for the operations that need no serialisation, to keep outside a lock.
    pub fn notifier(&self) -> Notifier {
        self.notifier.clone()
    }

    /// The number of scatterlist entries a buffer may have on this queue.
    pub fn max_entries(&self) -> usize {
        self.sg.capacity()
    }

    /// Opens the ring for a batch of operations: one RCU read-side critical section and one
    /// check that the queue is alive for all of them, rather than one per operation. Fails with
    /// `ENODEV` after teardown.
    ///
    /// The session cannot sleep (it is an RCU read-side critical section); keep it short.
    #[inline]
    pub fn ring(&mut self) -> Result<Ring<'_, T>> {
        let guard = rcu::read_lock();
        let vq = self.notifier.live(&guard).ok_or(ENODEV)?;
        // INVARIANT: `vq` is alive, and stays so while `guard` is held; `&mut self` makes this
        // session the only user of the ring operations.
        Ok(Ring {
            vq,
            sg: &mut self.sg,
            slot: &self.notifier.0,
            _guard: guard,
            _tokens: PhantomData,
        })
    }

    /// Lends `token`'s buffer to the device (see [`Ring::add`]).
    pub fn add(&mut self, token: T) -> Result<(), (Error, T)> {
        match self.ring() {
            Ok(mut ring) => ring.add(token),
            Err(e) => Err((e, token)),
        }
    }

    /// Lends a device-writable buffer with a context (see [`Ring::add_ctx`]).
    pub fn add_ctx(&mut self, token: T, ctx: usize) -> Result<(), (Error, T)> {
        match self.ring() {
            Ok(mut ring) => ring.add_ctx(token, ctx),
            Err(e) => Err((e, token)),
        }
    }

    /// Takes a buffer the device has used (see [`Ring::get_buf`]).
    pub fn get_buf(&mut self) -> Option<Used<'_, T>> {
        self.ring().ok()?.get_buf()
    }

    /// Prepares to notify the device of added buffers (see [`Ring::kick_prepare`]).
    pub fn kick_prepare(&mut self) -> bool {
        self.ring().is_ok_and(|mut ring| ring.kick_prepare())
    }

    /// Prepares and sends a notification. Returns `false` if the queue is broken or gone.
    pub fn kick(&mut self) -> bool {
        !self.kick_prepare() || self.notify()
    }

    /// Re-enables callbacks (see [`Ring::enable_cb`]).
    pub fn enable_cb(&mut self) -> bool {
        self.ring().map_or(true, |mut ring| ring.enable_cb())
    }

    /// Re-enables callbacks and returns the ring's state (see [`Ring::enable_cb_prepare`]).
    pub fn enable_cb_prepare(&mut self) -> PollState {
        self.ring()
            .map_or(PollState(0), |mut ring| ring.enable_cb_prepare())
    }

    /// Re-enables callbacks with a delay (see [`Ring::enable_cb_delayed`]).
    pub fn enable_cb_delayed(&mut self) -> bool {
        self.ring()
            .map_or(true, |mut ring| ring.enable_cb_delayed())
    }

    /// The number of free descriptors (0 after teardown).
    pub fn num_free(&self) -> u32 {
        // SAFETY: `vq` is alive; the field only changes in ring operations, which need
        // `&mut self`.
        self.notifier.with(0, |vq| unsafe { (*vq).num_free })
    }

    /// The number of descriptors in the ring (0 after teardown).
    pub fn size(&self) -> u32 {
        // SAFETY: `vq` is alive; the size does not change.
        self.notifier
            .with(0, |vq| unsafe { bindings::virtqueue_get_vring_size(vq) })
    }

    /// The largest number of descriptors the device supports for this queue (0 after
    /// teardown).
    pub fn max_size(&self) -> u32 {
        // SAFETY: `vq` is alive; `num_max` is set when the queue is created and does not change.
        self.notifier.with(0, |vq| unsafe { (*vq).num_max })
    }

    /// Sets the CPUs the queue's interrupt goes to (`None`: no preference), if the transport
    /// supports it.
    ///
    /// The transport's operation sleeps (virtio_pci looks up the interrupt under a mutex), so it
    /// cannot run in the RCU read-side critical section that keeps the other operations off a
    /// queue being torn down. It takes the device in a bus callback instead (`probe`, `scan`,
    /// `unbind`): the device lock is held there, and the teardown runs under the same lock, so
    /// it cannot run meanwhile. Fails with `EINVAL` for another device, `ENODEV` after
    /// teardown.
    pub fn set_affinity(
        &mut self,
        dev: &Device<device::Core<'_>>,
        cpus: Option<&Cpumask>,
    ) -> Result {
        let slot = &self.notifier.0;
        if dev.as_raw() != slot.dev.as_raw() {
            return Err(EINVAL);
        }
        // ORDERING: The teardown, which clears `alive`, runs under the device lock, which the
        // caller holds (it has the device in its `Core` context).
        if !slot.alive.load(Acquire) {
            return Err(ENODEV);
        }
        let mask = cpus.map_or(ptr::null(), |m| m.as_raw().cast_const());
        // SAFETY: `vq` is alive and cannot be torn down while the device lock is held (see
        // above); `&mut self` serialises the ring operations; `mask` is null or valid for the
        // call (the transport copies it). Process context: the transport may sleep.
        kernel::error::to_result(unsafe {
            bindings::virtqueue_set_affinity(slot.vq.load(Relaxed), mask)
        })
    }

    /// Sets the handler of the queue's used-buffer notifications, once. Until it is set,
    /// notifications of this queue are ignored.
    ///
    /// Fails with `EINVAL` if the queue was created without a callback, `EBUSY` if a handler is
    /// set already, `ENODEV` after teardown.
    pub fn set_callback<H: Callback>(&mut self, handler: Arc<H>) -> Result {
        let slot = &self.notifier.0;
        if !slot.has_callback {
            return Err(EINVAL);
        }
        let _guard = rcu::read_lock();
        // ORDERING: Teardown clears `alive`, waits for a grace period and then takes the
        // handler: a handler stored in a section that still saw the queue alive is taken.
        if !slot.alive.load(Acquire) {
            return Err(ENODEV);
        }
        if !slot.handler.load(Relaxed).is_null() {
            return Err(EBUSY);
        }
        let vtable: &'static HandlerVTable = &HandlerOf::<H>::VTABLE;
        slot.handler_vtable
            .store(ptr::from_ref(vtable).cast_mut(), Relaxed);
        // ORDERING: `Release` publishes the vtable with the handler (see `call_handler`).
        // INVARIANT: `&mut self` makes this the only writer; the vtable matches the data.
        slot.handler
            .store(Arc::into_raw(handler).cast_mut().cast(), Release);
        Ok(())
    }
}

/// The description of one virtqueue, for [`Builder::add`].
pub struct QueueSpec {
    name: CString,
    callback: bool,
    context: bool,
    entries: usize,
}

impl QueueSpec {
    /// The scatterlist entries a buffer may have unless [`QueueSpec::max_entries`] says.
    pub const DEFAULT_ENTRIES: usize = 8;

    /// A queue named `name` (shown in `/proc/interrupts`), whose used-buffer notifications reach
    /// the handler set with [`Virtqueue::set_callback`].
    pub fn new(name: fmt::Arguments<'_>) -> Result<Self> {
        Ok(Self {
            name: CString::try_from_fmt(name)?,
            callback: true,
            context: false,
            entries: Self::DEFAULT_ENTRIES,
        })
    }

    /// The queue has no callback: the driver polls it (a control queue).
    pub fn polled(mut self) -> Self {
        self.callback = false;
        self
    }

    /// Buffers carry a context ([`Virtqueue::add_ctx`]). The ring then uses no indirect
    /// descriptors for this queue.
    pub fn with_context(mut self) -> Self {
        self.context = true;
        self
    }

    /// Buffers may have up to `entries` scatterlist entries (the queue keeps that many for
    /// reuse, so adding a buffer builds no list on the stack).
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.entries = entries.max(1);
        self
    }
}

/// A queue described to a [`Builder`], to take with [`Found::take`] once the queues exist.
pub struct Pending<T: Token> {
    set: u64,
    index: usize,
    sg: SgStorage,
    _tokens: PhantomData<fn(T) -> T>,
}

/// Tells the queue sets of all builders apart, so that a [`Pending`] is only taken from the
/// set it was described for.
static NEXT_SET_ID: Atomic<u64> = Atomic::new(1);

/// One queue of a device's set.
struct Entry {
    notifier: Notifier,
    // Takes back and drops the buffers still in the queue, as the token type it was made for.
    drain: unsafe fn(*mut bindings::virtqueue),
    name: CString,
}

/// The virtqueues of a device, reached from `virtio_device.priv` by the callbacks and by the
/// teardown.
struct QueueSet {
    entries: KVec<Entry>,
}

/// Takes back every buffer the device did not return, and drops it.
///
/// # Safety
///
/// `vq` must be a valid virtqueue whose tokens all come from `T::into_raw`, that the device no
/// longer uses (it is reset) and that nothing else uses.
unsafe fn drain<T: Token>(vq: *mut bindings::virtqueue) {
    loop {
        // SAFETY: By the safety requirements `vq` is valid, reset and unused.
        let token = unsafe { bindings::virtqueue_detach_unused_buf(vq) };
        if token.is_null() {
            return;
        }
        // SAFETY: By the safety requirements the token comes from `T::into_raw`; the ring
        // returns it once.
        drop(unsafe { T::from_raw(token) });
    }
}

/// Describes the virtqueues of a device, then creates them all with one `virtio_find_vqs()`.
///
/// Created in [`Driver::probe`](super::Driver::probe).
///
/// # Examples
///
/// ```ignore
/// use kernel::{
///     device,
///     prelude::*,
///     virtio::{self, QueueSpec, SgList},
/// };
///
/// struct RxBuf([u8; 64]);
///
/// impl virtio::Buffer for RxBuf {
///     fn describe<'a>(&'a mut self, sg: &mut SgList<'_, 'a>) -> Result {
///         sg.writable(&mut self.0)
///     }
/// }
///
/// fn queues(dev: &virtio::Device<device::Core<'_>>) -> Result {
///     let mut b = virtio::Builder::new(dev)?;
///     let rx = b.add::<KBox<RxBuf>>(QueueSpec::new(format_args!("input.0"))?.with_context())?;
///     let ctrl = b.add::<KBox<RxBuf>>(QueueSpec::new(format_args!("control"))?.polled())?;
///     let mut found = b.find(virtio::Affinity::none())?;
///     let _rx = found.take(rx)?;
///     let _ctrl = found.take(ctrl)?;
///     Ok(())
/// }
/// ```
pub struct Builder<'a, 'c> {
    dev: &'a Device<device::Core<'c>>,
    set: KBox<QueueSet>,
    id: u64,
    reset: Arc<ResetState>,
}

impl<'a, 'c> Builder<'a, 'c> {
    /// Starts describing the queues of `dev`.
    pub fn new(dev: &'a Device<device::Core<'c>>) -> Result<Self> {
        Ok(Self {
            dev,
            set: KBox::new(
                QueueSet {
                    entries: KVec::new(),
                },
                GFP_KERNEL,
            )?,
            id: NEXT_SET_ID.fetch_add(1, Relaxed),
            reset: Arc::pin_init(
                pin_init!(ResetState {
                    // SAFETY: `slot` is valid for writing; the work is initialised before
                    // anything can queue it.
                    work <- Opaque::ffi_init(|slot| unsafe {
                        bindings::init_work_with_key(
                            slot,
                            Some(ResetState::work_callback),
                            false,
                            c"virtio_fail_work".as_char_ptr(),
                            kernel::static_lock_class!().as_ptr(),
                        )
                    }),
                    state <- kernel::new_mutex!(ResetFlags::default()),
                    dev: (&**dev).into(),
                }),
                GFP_KERNEL,
            )?,
        })
    }

    /// Describes the next queue (queues are numbered in the order they are added), whose
    /// buffers are owned by tokens of type `T`.
    pub fn add<T: Token>(&mut self, spec: QueueSpec) -> Result<Pending<T>> {
        let index = self.set.entries.len();
        let slot = Arc::new(
            // INVARIANT: Not alive until the queue exists; no handler.
            Slot {
                vq: Atomic::new(ptr::null_mut()),
                alive: Atomic::new(false),
                dev: (&**self.dev).into(),
                index,
                has_callback: spec.callback,
                has_context: spec.context,
                handler: Atomic::new(ptr::null_mut()),
                handler_vtable: Atomic::new(ptr::null_mut()),
                bad_length_seen: Atomic::new(false),
                reset: self.reset.clone(),
            },
            GFP_KERNEL,
        )?;
        let sg = SgStorage::new(spec.entries)?;
        self.set.entries.push(
            Entry {
                notifier: Notifier(slot),
                drain: drain::<T>,
                name: spec.name,
            },
            GFP_KERNEL,
        )?;
        Ok(Pending {
            set: self.id,
            index,
            sg,
            _tokens: PhantomData,
        })
    }

    /// Creates the queues (`virtio_find_vqs()`), with `affinity` for their interrupts.
    ///
    /// A device has at most one set of queues, created in `probe` before the device is ready:
    /// finding a second, or finding them once the device is ready (in `scan`, say), fails with
    /// `EBUSY`.
    pub fn find(self, affinity: Affinity) -> Result<Found<'a, 'c>> {
        let vdev = self.dev.as_raw();
        let n = self.set.entries.len();
        let nvqs = u32::try_from(n).map_err(|_| EINVAL)?;
        let mut infos = KVec::with_capacity(n, GFP_KERNEL)?;
        for e in self.set.entries.iter() {
            let slot = &e.notifier.0;
            infos.push(
                bindings::virtqueue_info {
                    name: e.name.as_char_ptr(),
                    callback: if slot.has_callback {
                        Some(vq_callback)
                    } else {
                        None
                    },
                    ctx: slot.has_context,
                },
                GFP_KERNEL,
            )?;
        }
        let mut vqs = KVec::from_elem(ptr::null_mut(), n, GFP_KERNEL)?;
        let taken = KVec::from_elem(false, n, GFP_KERNEL)?;
        let id = self.id;

        // SAFETY: `vdev` is valid in a bus callback, under the device lock.
        if !unsafe { (*vdev).priv_ }.is_null() {
            // `priv` leads removal to the queues: it can only lead to one set.
            return Err(EBUSY);
        }
        // Queues are set up before the device is ready, i.e. in `probe`: not in `scan` or
        // `unbind`, which also have the device in its `Core` context. This also makes sure
        // that `Found::ready()` only ever finds a device that is not ready yet.
        //
        // SAFETY: `vdev` is valid and bound to this driver, so its transport is set up.
        let status = u32::from(unsafe { bindings::virtio_get_status(vdev) });
        if status & bindings::VIRTIO_CONFIG_S_DRIVER_OK != 0 {
            return Err(EBUSY);
        }
        let set = KBox::into_raw(self.set);
        // Callbacks find the set from here: set before the queues can call back.
        //
        // SAFETY: `vdev` is valid and `priv` belongs to the bound driver, i.e. to this
        // abstraction.
        unsafe { (*vdev).priv_ = set.cast() };

        let mut desc = bindings::irq_affinity {
            pre_vectors: affinity.pre_vectors,
            ..Default::default()
        };
        let desc_ptr = if affinity.spread {
            &raw mut desc
        } else {
            ptr::null_mut()
        };
        // SAFETY: `vdev` is valid during probe; the arrays hold `nvqs` entries; the names live
        // in the set until after the queues are deleted; `desc` lives until the call returns.
        let ret = unsafe {
            bindings::virtio_find_vqs(vdev, nvqs, vqs.as_mut_ptr(), infos.as_mut_ptr(), desc_ptr)
        };
        if ret != 0 {
            // SAFETY: No queue exists; `set` comes from `KBox::into_raw` above.
            unsafe {
                (*vdev).priv_ = ptr::null_mut();
                drop(KBox::from_raw(set));
            }
            return Err(Error::from_errno(ret));
        }

        // SAFETY: `set` is valid until the teardown, which only runs after probe.
        let entries = unsafe { &(*set).entries };
        for (entry, &vq) in entries.iter().zip(vqs.iter()) {
            let slot = &entry.notifier.0;
            slot.vq.store(vq, Relaxed);
            // ORDERING: `Release` publishes `vq` to callbacks and operations.
            // INVARIANT: `vq` is a valid queue of `vdev` from now until teardown.
            slot.alive.store(true, Release);
        }
        Ok(Found {
            dev: self.dev,
            id,
            taken,
        })
    }
}

/// The queues of a device once they exist: [`Found::take`] gives each as a [`Virtqueue`], and
/// [`Found::ready`] makes the device ready.
pub struct Found<'a, 'c> {
    dev: &'a Device<device::Core<'c>>,
    id: u64,
    taken: KVec<bool>,
}

impl Found<'_, '_> {
    /// The queue `pending` describes. Fails with `EINVAL` if it was described for another
    /// device's queues.
    pub fn take<T: Token>(&mut self, pending: Pending<T>) -> Result<Virtqueue<T>> {
        if pending.set != self.id {
            return Err(EINVAL);
        }
        let taken = self.taken.get_mut(pending.index).ok_or(EINVAL)?;
        if *taken {
            return Err(EBUSY);
        }
        // SAFETY: The set is `priv` (set by `find`) and lives until the teardown, which only
        // runs after probe; `self` does not outlive probe (its `'c` is probe's).
        let set = unsafe { &*(*self.dev.as_raw()).priv_.cast::<QueueSet>() };
        let entry = set.entries.get(pending.index).ok_or(EINVAL)?;
        *taken = true;
        // INVARIANT: The queue was described for `T` (its drain function is `drain::<T>`),
        // nothing else adds to it, and it has a context exactly if it was created with one.
        Ok(Virtqueue {
            notifier: entry.notifier.clone(),
            sg: pending.sg,
            _tokens: PhantomData,
        })
    }

    /// Makes the device ready (`DRIVER_OK`) before probe returns, for drivers that use their
    /// queues during probe (a block driver whose new disk is read for partitions, a network
    /// driver that registers its interface). Notifications can arrive from then on.
    ///
    /// Otherwise the virtio core makes the device ready when probe returns. This consumes the
    /// queues' `Found`, which cannot leave probe: the device is made ready once, after its
    /// queues exist.
    pub fn ready(self) {
        // SAFETY: The device is being probed (`find` refuses a device that is ready, and `Found`
        // cannot outlive the bus callback it was made in), its features are finalised and its
        // queues exist; it is not ready yet: the virtio core sets `DRIVER_OK` after probe, and
        // this is the only other place that does, once (it consumes the only `Found`).
        unsafe { bindings::virtio_device_ready(self.dev.as_raw()) };
    }
}

extern "C" fn vq_callback(vq: *mut bindings::virtqueue) {
    // SAFETY: The ring calls back with a valid queue of a device whose `priv` is the queue set
    // (set by `Builder::find` before the queues exist, cleared after they are deleted).
    let (set, index) = unsafe { (&*(*(*vq).vdev).priv_.cast::<QueueSet>(), (*vq).index) };
    let entry = usize::try_from(index).ok().and_then(|i| set.entries.get(i));
    if let Some(entry) = entry {
        entry.notifier.call_handler();
    }
}

/// Whether the queues of `vdev` were failed with [`Notifier::fail_device`].
///
/// # Safety
///
/// `vdev` must be a valid device under its device lock (in a bus callback), whose `priv`, if
/// not null, is set by [`Builder::find`].
pub(crate) unsafe fn failed(vdev: *mut bindings::virtio_device) -> bool {
    // SAFETY: By the safety requirements `vdev` is valid, and the set in `priv` cannot be torn
    // down while the device lock is held.
    let set = unsafe { (*vdev).priv_ }.cast::<QueueSet>();
    if set.is_null() {
        return false;
    }
    // SAFETY: As above.
    let entries = unsafe { &(*set).entries };
    entries
        .first()
        .is_some_and(|e| e.notifier.0.reset.state.lock().failed)
}

/// Marks every queue of `vdev` dead, waits for an RCU grace period (no ring operation or
/// callback runs after it), resets the device and drops the buffers it held.
///
/// # Safety
///
/// `vdev` must be a valid device in process context whose queues are `entries`, valid (not
/// deleted), and that nothing else drains or resets meanwhile.
unsafe fn stop_and_drain(vdev: *mut bindings::virtio_device, entries: &KVec<Entry>) {
    for entry in entries.iter() {
        // ORDERING: The grace period below orders this with every read-side section.
        entry.notifier.0.alive.store(false, Relaxed);
    }
    // No ring operation, callback handler or `set_callback` is running after this, and none
    // will find a queue alive.
    rcu::synchronize_rcu();

    // SAFETY: `vdev` is valid. The device uses no buffer after the reset.
    unsafe { bindings::virtio_reset_device(vdev) };

    for entry in entries.iter() {
        let vq = entry.notifier.0.vq.load(Relaxed);
        // SAFETY: `vq` is a valid queue of `vdev` (safety requirements), made for the drain's
        // token type; the device is reset and nothing else uses the queue (it is dead).
        unsafe { (entry.drain)(vq) };
    }
}

/// Tears down the queues of a device, if it has any, and resets it (device removal, or a probe
/// that failed).
///
/// Every queue is marked dead and an RCU grace period passes, so that no ring operation or
/// callback is running; then the device is reset, the buffers it still holds are dropped
/// (in process context, holding only the device's reset lock), the queues are deleted, and
/// the callbacks released.
///
/// # Safety
///
/// `vdev` must be a valid device whose driver is being removed or failed to probe, in process
/// context; its `priv`, if not null, must be set by [`Builder::find`].
pub(crate) unsafe fn teardown(vdev: *mut bindings::virtio_device) {
    // SAFETY: By the safety requirements `vdev` is valid.
    let set = unsafe { (*vdev).priv_ }.cast::<QueueSet>();
    if set.is_null() {
        // SAFETY: `vdev` is valid.
        unsafe { bindings::virtio_reset_device(vdev) };
        return;
    }
    // SAFETY: A non-null `priv` is the set `Builder::find` leaked; it is freed below only.
    let entries = unsafe { &(*set).entries };
    // Keeps `fail_device` away: it finds the set torn down once this is released.
    let reset = entries.first().map(|e| e.notifier.0.reset.clone());
    let mut flags = reset.as_ref().map(|r| r.state.lock());

    // SAFETY: The queues are valid (the set is `priv`) and nothing else drains them: a
    // `fail_device` that did already left nothing, and none can start while the lock is held.
    unsafe { stop_and_drain(vdev, entries) };

    // SAFETY: `vdev` is valid, its queues were created by `virtio_find_vqs()` and are no
    // longer used by anyone; callbacks cannot run after they are deleted.
    unsafe {
        bindings::virtio_del_vqs(vdev);
        (*vdev).priv_ = ptr::null_mut();
    }

    if let Some(flags) = flags.as_mut() {
        flags.torn_down = true;
    }
    drop(flags);
    if let Some(reset) = reset.as_ref() {
        // No ring session runs any more (the grace period in `stop_and_drain`), so the work
        // cannot be queued again; one that runs now finds the set torn down.
        //
        // SAFETY: The work is initialised (type invariants of `ResetState`).
        if unsafe { bindings::cancel_work_sync(reset.work.get()) } {
            // SAFETY: The work was pending, owning a reference from `Arc::into_raw`, the
            // pointer `Arc::as_ptr` gives; it will not run.
            drop(unsafe { Arc::from_raw(Arc::as_ptr(reset)) });
        }
    }

    // SAFETY: `set` comes from `KBox::into_raw` in `Builder::find`; nothing refers to it
    // since `priv` was cleared and the queues deleted, and `fail_device` sees it torn down.
    let set = unsafe { KBox::from_raw(set) };
    for entry in set.entries.iter() {
        if let Some((data, vtable)) = entry.notifier.0.take_handler() {
            // SAFETY: By the type invariant of `Slot` `data` and `vtable` belong together;
            // the handler is taken out, so released once, and no callback runs.
            unsafe { ((*vtable).release)(data) };
        }
    }
}

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_virtqueue)]
mod tests {
    use super::*;

    /// Fails if a used length beyond the buffer's writable size reaches the driver, which
    /// would then read bytes the device never wrote, or past its buffer.
    #[test]
    fn used_length_is_checked() {
        assert_eq!(check_used_len(0, 64), Ok(0));
        assert_eq!(check_used_len(64, 64), Ok(64));
        assert_eq!(check_used_len(65, 64), Err(EIO));
        assert_eq!(check_used_len(u32::MAX, 0), Err(EIO));
    }

    struct TwoParts {
        head: [u8; 16],
        tail: [u8; 48],
    }

    impl Buffer for TwoParts {
        fn describe<'a>(&'a mut self, sg: &mut SgList<'_, 'a>) -> Result {
            sg.readable(&self.head)?;
            sg.writable(&mut self.tail)
        }
    }

    /// Fails if the size a returned token is checked against (counted without mapping the
    /// memory again) differs from what it describes, or if a list that was only counted could
    /// reach a ring.
    #[test]
    fn returned_token_is_counted_not_mapped() -> Result {
        let buf = KBox::new(
            TwoParts {
                head: [0; 16],
                tail: [0; 48],
            },
            GFP_KERNEL,
        )?;
        let raw = Token::into_raw(buf);
        // SAFETY: `raw` is an outstanding token, used by nothing else.
        let writable = unsafe { <KBox<TwoParts> as Token>::writable_len(raw) };
        // SAFETY: `raw` comes from `into_raw` and is turned back once.
        drop(unsafe { <KBox<TwoParts> as Token>::from_raw(raw) });
        assert_eq!(writable, Ok(48));

        let mut sg = SgList::counting();
        let data = [0u8; 4];
        sg.readable(&data)?;
        // SAFETY: A counting list is refused before the queue is used.
        let ret = unsafe { sg.add_to(ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), 0) };
        assert_eq!(ret, Err(EINVAL));
        Ok(())
    }
}
