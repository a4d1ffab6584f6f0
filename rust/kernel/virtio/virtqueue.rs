// SPDX-License-Identifier: GPL-2.0

//! Virtqueues: the rings through which a driver lends buffers to a virtio device.
//!
//! C header: [`include/linux/virtio.h`](srctree/include/linux/virtio.h)
//!
//! The rings are the kernel's own (`drivers/virtio/virtio_ring.c`); this module makes their use
//! safe:
//!
//! - A buffer handed to the device is owned by the queue until the device returns it: [`add`]
//!   takes its owner (a `KBox<B>`, or another [`Token`]) and [`get_buf`] gives it back, so safe code cannot free, move or reuse
//!   memory the device may still read or write. What a buffer lends to the device (which
//!   parts the device reads, which it writes) is described by [`Buffer::describe`].
//! - The token stored with a buffer is the buffer itself; the C ring returns tokens from its own
//!   shadow state (never from memory the device can write) after checking the used ID. The used
//!   length, which the device does write, is checked here against the writable size of the
//!   buffer before the driver sees it.
//! - Operations on a ring are serialised by an interrupt-safe spinlock ([`Queue::lock`]), as
//!   callbacks run in hard-interrupt context. Notifying the device ([`Queue::notify`]) needs no
//!   lock, so a driver can prepare the kick under the lock and notify after releasing it.
//! - The queues are torn down in the order the virtio specification requires: reset the device
//!   (it stops using buffers), return every buffer it still holds to its owner (the buffers are
//!   dropped), delete the queues. This happens when the device is removed, or when
//!   [`Virtqueues`] is dropped, whichever comes first; afterwards every queue operation fails
//!   with `ENODEV` instead of touching freed rings.
//!
//! [`add`]: Ring::add
//! [`get_buf`]: Ring::get_buf

use super::{
    sg::SgList,
    Device, //
};
use crate::bindings;
use core::{
    ffi::c_void,
    marker::{
        PhantomData,
        PhantomPinned, //
    },
    ptr::{
        self,
        addr_of_mut, //
    },
};
use kernel::{
    alloc::Flags,
    device, new_spinlock_irq,
    prelude::*,
    str::CStr,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        rcu,
        SpinLockIrq,
        SpinLockIrqGuard, //
    },
};

/// A buffer that can be lent to a virtio device.
///
/// The buffer lives in a `KBox` while the device holds it, so the memory it describes does not
/// move. Only memory reachable from `self` (or `'static` memory) can be described, and it must
/// be in the kernel's linear mapping (`kmalloc`-ed or page memory, not stack or `vmalloc`).
pub trait Buffer: Send + Sized + 'static {
    /// Describes the memory the device may read, then the memory it may write.
    ///
    /// Called when the buffer is added, and again when it comes back, to check the length the
    /// device reports against the writable size; it must describe the same memory each time.
    /// It runs under the queue's lock with interrupts disabled, so it must not sleep.
    fn describe<'a>(&'a mut self, sg: &mut SgList<'a>) -> Result;
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
    unsafe fn describe<'a>(raw: *mut c_void, sg: &mut SgList<'a>) -> Result;

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

    unsafe fn describe<'a>(raw: *mut c_void, sg: &mut SgList<'a>) -> Result {
        // SAFETY: By the safety requirements the box is live and nothing else uses it for `'a`.
        unsafe { &mut *raw.cast::<B>() }.describe(sg)
    }
}

/// The driver's handler of used-buffer notifications for a set of queues.
pub trait Handler<B: Token>: Send + Sync {
    /// Called in hard-interrupt context when the device has used buffers on `queue`; must not
    /// sleep.
    fn callback(&self, queue: &Queue<B>);
}

/// How to create one virtqueue (`struct virtqueue_info`).
#[derive(Clone, Copy)]
pub struct VqInfo {
    name: &'static CStr,
    callback: bool,
}

impl VqInfo {
    /// A queue named `name` whose used-buffer notifications reach the [`Handler`].
    pub const fn new(name: &'static CStr) -> Self {
        Self {
            name,
            callback: true,
        }
    }

    /// A queue named `name` without notifications (the driver polls it).
    pub const fn without_callback(name: &'static CStr) -> Self {
        Self {
            name,
            callback: false,
        }
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

/// The state of one ring under its lock.
///
/// # Invariants
///
/// `vq` is either null (the queues were torn down) or a valid `struct virtqueue` whose every
/// outstanding token is a pointer from `B::into_raw`.
pub struct Ring<B: Token> {
    vq: *mut bindings::virtqueue,
    dev: *mut bindings::virtio_device,
    // Owns `B`s; a function pointer keeps the ring `Unpin` (it is moved under its lock).
    _buffers: PhantomData<fn(B) -> B>,
}

// SAFETY: The ring is only used under its lock; the buffers it owns are `Send`.
unsafe impl<B: Token> Send for Ring<B> {}

impl<B: Token> Ring<B> {
    fn live(&self) -> Result<*mut bindings::virtqueue> {
        if self.vq.is_null() {
            Err(ENODEV)
        } else {
            Ok(self.vq)
        }
    }

    /// Lends `buf` to the device.
    ///
    /// On failure the buffer is given back with the error: `ENOSPC` if the ring is full, `EIO`
    /// if the queue is broken, `ENODEV` after teardown, `EINVAL` if the buffer describes
    /// memory that cannot be lent.
    pub fn add(&mut self, buf: B, gfp: Flags) -> Result<(), (Error, B)> {
        let vq = match self.live() {
            Ok(vq) => vq,
            Err(e) => return Err((e, buf)),
        };
        let raw = buf.into_raw();

        let mut sg = SgList::new();
        // SAFETY: `raw` is an outstanding token that nothing else uses; `sg` is used up below,
        // before the token is turned back here or by `get_buf`.
        let ret = match unsafe { B::describe(raw, &mut sg) } {
            Ok(()) => sg.add_to(vq, raw, gfp),
            Err(e) => Err(e),
        };
        match ret {
            Ok(()) => Ok(()),
            // SAFETY: The ring did not take the buffer, so `raw` is still exclusively ours.
            Err(e) => Err((e, unsafe { B::from_raw(raw) })),
        }
    }

    /// Takes a buffer the device has used, with the number of bytes it wrote.
    ///
    /// The length is `Err(EIO)` if the device claimed to write more than the buffer's
    /// writable size; the buffer is returned either way.
    pub fn get_buf(&mut self) -> Option<(B, Result<usize>)> {
        let vq = self.live().ok()?;
        let mut len = 0u32;
        // SAFETY: By the type invariant `vq` is valid, and the lock serialises ring operations.
        let token = unsafe { bindings::virtqueue_get_buf(vq, &mut len) };
        if token.is_null() {
            return None;
        }
        // SAFETY: By the type invariant every token comes from `B::into_raw` in `add`, and the
        // ring returns each once; the device is done with it.
        let writable = unsafe { B::writable_len(token) };
        let len = writable.and_then(|w| check_used_len(len, w));
        // SAFETY: As above; the token is turned back once.
        let buf = unsafe { B::from_raw(token) };
        if len.is_err() {
            // SAFETY: `dev` is valid while the queue is.
            let dev = unsafe {
                device::Device::<device::Normal>::from_raw(addr_of_mut!((*self.dev).dev))
            };
            dev_err!(
                dev,
                "device reported a used length beyond the buffer; length ignored\n"
            );
        }
        Some((buf, len))
    }

    /// Prepares to notify the device of added buffers; returns whether [`Queue::notify`] is
    /// needed. A broken or torn down queue needs none.
    pub fn kick_prepare(&mut self) -> bool {
        match self.live() {
            // SAFETY: `vq` is valid and the lock serialises ring operations.
            Ok(vq) => unsafe { bindings::virtqueue_kick_prepare(vq) },
            Err(_) => false,
        }
    }

    /// Disables used-buffer callbacks (a hint to the device; callbacks may still arrive).
    pub fn disable_cb(&mut self) {
        if let Ok(vq) = self.live() {
            // SAFETY: `vq` is valid and the lock serialises ring operations.
            unsafe { bindings::virtqueue_disable_cb(vq) };
        }
    }

    /// Re-enables callbacks. Returns `false` if used buffers arrived meanwhile: the caller must
    /// then process them (and try again), as no callback will announce them.
    pub fn enable_cb(&mut self) -> bool {
        match self.live() {
            // SAFETY: `vq` is valid and the lock serialises ring operations.
            Ok(vq) => unsafe { bindings::virtqueue_enable_cb(vq) },
            Err(_) => true,
        }
    }

    /// Whether the queue is broken (the device misbehaved or was removed) or torn down.
    pub fn is_broken(&self) -> bool {
        match self.live() {
            // SAFETY: `vq` is valid.
            Ok(vq) => unsafe { bindings::virtqueue_is_broken(vq) },
            Err(_) => true,
        }
    }

    /// The number of descriptors in the ring.
    pub fn size(&self) -> u32 {
        match self.live() {
            // SAFETY: `vq` is valid.
            Ok(vq) => unsafe { bindings::virtqueue_get_vring_size(vq) },
            Err(_) => 0,
        }
    }

    /// Returns every buffer the device did not return, dropping them.
    ///
    /// # Safety
    ///
    /// The device must be reset (it no longer accesses the buffers).
    unsafe fn drain(&mut self) -> usize {
        let mut n = 0;
        if let Ok(vq) = self.live() {
            loop {
                // SAFETY: `vq` is valid, the device is reset (safety requirement), and the
                // lock serialises ring operations.
                let token = unsafe { bindings::virtqueue_detach_unused_buf(vq) };
                if token.is_null() {
                    break;
                }
                // SAFETY: As in `get_buf`, the token comes from `B::into_raw` in `add`.
                drop(unsafe { B::from_raw(token) });
                n += 1;
            }
        }
        n
    }
}

/// One virtqueue of a [`Virtqueues`] set.
///
/// # Invariants
///
/// `vq` is the same pointer as the ring's, and is null once the queues were torn down. It is
/// only dereferenced under the lock or inside an RCU read-side critical section, and teardown
/// clears it and waits for an RCU grace period before deleting the queue.
#[pin_data]
pub struct Queue<B: Token> {
    vq: Atomic<*mut bindings::virtqueue>,
    index: usize,
    #[pin]
    ring: SpinLockIrq<Ring<B>>,
}

impl<B: Token> Queue<B> {
    /// Locks the ring for adding or taking buffers. Interrupts are disabled while it is held.
    pub fn lock(&self) -> SpinLockIrqGuard<'_, Ring<B>> {
        self.ring.lock()
    }

    /// The queue's index in its set.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Notifies the device of added buffers, after [`Ring::kick_prepare`] returned `true`.
    /// Needs no lock. Returns `false` if the queue is broken or gone.
    pub fn notify(&self) -> bool {
        let _guard = rcu::read_lock();
        // ORDERING: `Relaxed` suffices: teardown clears the pointer and then waits for an RCU
        // grace period, which orders this read-side section against the deletion.
        let vq = self.vq.load(Relaxed);
        if vq.is_null() {
            return false;
        }
        // SAFETY: By the type invariant `vq` stays valid until an RCU grace period after it was
        // cleared, and we are in a read-side critical section.
        unsafe { bindings::virtqueue_notify(vq) }
    }

    /// Prepares and sends a notification under the lock, for callers without a batch.
    pub fn kick(&self) -> bool {
        let needed = self.lock().kick_prepare();
        !needed || self.notify()
    }
}

/// A header at the start of every [`Virtqueues`], reached through `virtio_device.priv` without
/// knowing the buffer and handler types.
#[repr(C)]
struct Header {
    teardown: unsafe fn(*const Header),
}

/// The virtqueues of a device, with the handler of their notifications.
///
/// Created in [`Driver::probe`](super::Driver::probe) and usually kept in the driver data. See
/// the [module documentation](self) for buffer ownership and teardown.
///
/// # Invariants
///
/// - `dev.priv` points to `header` from before the queues are created until after they are
///   deleted, and the structure does not move meanwhile.
/// - `queues[i]` is the queue with index `i`.
#[repr(C)]
#[pin_data(PinnedDrop)]
pub struct Virtqueues<B: Token, H: Handler<B>> {
    header: Header,
    dev: ARef<Device>,
    queues: KVec<Pin<KBox<Queue<B>>>>,
    torn_down: Atomic<bool>,
    #[pin]
    handler: H,
    #[pin]
    _pin: PhantomPinned,
}

impl<B: Token, H: Handler<B>> Virtqueues<B, H> {
    /// Creates the device's virtqueues (`virtio_find_vqs()`), in the order of `infos`, with
    /// `handler` receiving their notifications.
    pub fn new<'a>(
        dev: &'a Device<device::Core<'_>>,
        infos: &'a [VqInfo],
        handler: impl PinInit<H, Error> + 'a,
    ) -> impl PinInit<Self, Error> + 'a
    where
        H: 'a,
    {
        Self::with_affinity(dev, infos, handler, Affinity::none())
    }

    /// Like [`Virtqueues::new`], with the queues' interrupt affinity (multiqueue drivers).
    ///
    /// A device has at most one set of virtqueues: creating a second fails with `EBUSY`.
    pub fn with_affinity<'a>(
        dev: &'a Device<device::Core<'_>>,
        infos: &'a [VqInfo],
        handler: impl PinInit<H, Error> + 'a,
        affinity: Affinity,
    ) -> impl PinInit<Self, Error> + 'a
    where
        H: 'a,
    {
        let vdev = dev.as_raw();
        let dev: ARef<Device> = (&**dev).into();

        // SAFETY: On success every field of `*slot` is initialised; on failure everything
        // initialised so far is dropped and `slot` is left as it was.
        unsafe {
            pin_init::pin_init_from_closure::<Self, Error>(move |slot: *mut Self| {
                // `priv` leads removal to the queues: it can only lead to one set.
                if !(*vdev).priv_.is_null() {
                    return Err(EBUSY);
                }
                let nvqs = u32::try_from(infos.len()).map_err(|_| EINVAL)?;
                let mut c_infos = KVec::with_capacity(infos.len(), GFP_KERNEL)?;
                for info in infos {
                    c_infos.push(
                        bindings::virtqueue_info {
                            name: info.name.as_char_ptr(),
                            callback: if info.callback {
                                Some(Self::callback)
                            } else {
                                None
                            },
                            ctx: false,
                        },
                        GFP_KERNEL,
                    )?;
                }
                let mut vqs =
                    KVec::<*mut bindings::virtqueue>::with_capacity(infos.len(), GFP_KERNEL)?;
                vqs.resize(infos.len(), ptr::null_mut(), GFP_KERNEL)?;

                // The queues' locks are allocated before the queues, so that nothing can fail
                // between creating and publishing them.
                let mut queues = KVec::with_capacity(infos.len(), GFP_KERNEL)?;
                for index in 0..infos.len() {
                    let queue: Result<Pin<KBox<Queue<B>>>> = KBox::pin_init(
                        try_pin_init!(Queue {
                            vq: Atomic::new(ptr::null_mut()),
                            index,
                            ring <- new_spinlock_irq!(Ring {
                                vq: ptr::null_mut(),
                                dev: vdev,
                                _buffers: PhantomData,
                            }),
                        }? Error),
                        GFP_KERNEL,
                    );
                    queues.push(queue?, GFP_KERNEL)?;
                }

                // SAFETY: `slot` is valid for writes; `handler` is initialised in place.
                handler.__init(addr_of_mut!((*slot).handler))?;
                addr_of_mut!((*slot).header).write(Header {
                    teardown: Self::teardown_raw,
                });
                addr_of_mut!((*slot).dev).write(dev);
                addr_of_mut!((*slot).torn_down).write(Atomic::new(false));
                addr_of_mut!((*slot).queues).write(queues);

                // INVARIANT: `priv` points to the pinned `slot` before callbacks can fire.
                (*vdev).priv_ = slot.cast();

                let mut desc = bindings::irq_affinity {
                    pre_vectors: affinity.pre_vectors,
                    ..Default::default()
                };
                let desc_ptr = if affinity.spread {
                    addr_of_mut!(desc)
                } else {
                    ptr::null_mut()
                };

                // SAFETY: `vdev` is valid during probe; the arrays hold `nvqs` entries; `desc`
                // lives until the call returns.
                let ret = bindings::virtio_find_vqs(
                    vdev,
                    nvqs,
                    vqs.as_mut_ptr(),
                    c_infos.as_mut_ptr(),
                    desc_ptr,
                );
                if ret != 0 {
                    (*vdev).priv_ = ptr::null_mut();
                    ptr::drop_in_place(addr_of_mut!((*slot).queues));
                    ptr::drop_in_place(addr_of_mut!((*slot).dev));
                    ptr::drop_in_place(addr_of_mut!((*slot).handler));
                    return Err(Error::from_errno(ret));
                }

                for (queue, &vq) in (*slot).queues.iter().zip(vqs.iter()) {
                    queue.ring.lock().vq = vq;
                    // ORDERING: `Relaxed`: the queue is published to other threads later, by
                    // the driver, through synchronising operations.
                    queue.vq.store(vq, Relaxed);
                }
                Ok(())
            })
        }
    }

    /// The handler of the queues' notifications.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The queue with index `index`, if there is one.
    pub fn queue(&self, index: usize) -> Option<&Queue<B>> {
        self.queues.get(index).map(|q| &**q)
    }

    /// The number of queues.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// Whether the set has no queues.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    extern "C" fn callback(vq: *mut bindings::virtqueue) {
        // SAFETY: The ring calls back with a valid queue of a device whose `priv` points to the
        // `Virtqueues` that created it (type invariant), valid until the queues are deleted.
        let this = unsafe { &*(*(*vq).vdev).priv_.cast::<Self>() };
        // SAFETY: `vq` is valid.
        let index = usize::try_from(unsafe { (*vq).index }).unwrap_or(usize::MAX);
        if let Some(queue) = this.queue(index) {
            this.handler.callback(queue);
        }
    }

    /// # Safety
    ///
    /// `header` must be the header of a live `Self`.
    unsafe fn teardown_raw(header: *const Header) {
        // CAST: `header` is the first field of the `#[repr(C)]` `Self`.
        // SAFETY: By the safety requirements `header` is in a live `Self`.
        unsafe { &*header.cast::<Self>() }.teardown();
    }

    /// Resets the device, drops every buffer it still holds and deletes the queues, once.
    fn teardown(&self) {
        // ORDERING: `Relaxed`: only the exchange's atomicity matters (one caller tears down);
        // removal and drop are themselves ordered by the driver core.
        if self.torn_down.xchg(true, Relaxed) {
            return;
        }
        let vdev = self.dev.as_raw();

        // SAFETY: `vdev` is valid (we hold a reference). The reset also waits for running
        // callbacks (`virtio_synchronize_cbs()`), and the device uses no buffer after it.
        unsafe { bindings::virtio_reset_device(vdev) };

        for queue in self.queues.iter() {
            // ORDERING: `synchronize_rcu()` below publishes the store to later readers and
            // waits for earlier ones.
            queue.vq.store(ptr::null_mut(), Relaxed);
            let mut ring = queue.lock();
            // SAFETY: The device is reset.
            unsafe { ring.drain() };
            // INVARIANT: The ring is cleared before the queue is deleted below.
            ring.vq = ptr::null_mut();
        }
        // `notify` callers that read the pointer before it was cleared are done after this.
        rcu::synchronize_rcu();

        // SAFETY: `vdev` is valid, its queues were created by `virtio_find_vqs()` and are no
        // longer used by anyone.
        unsafe {
            bindings::virtio_del_vqs(vdev);
            (*vdev).priv_ = ptr::null_mut();
        }
    }
}

#[pinned_drop]
impl<B: Token, H: Handler<B>> PinnedDrop for Virtqueues<B, H> {
    fn drop(self: Pin<&mut Self>) {
        self.teardown();
    }
}

/// Resets the device and tears down its queues, if it has any (device removal).
///
/// # Safety
///
/// `vdev` must be a valid device whose driver stopped using it; its `priv`, if not null, must
/// be set by [`Virtqueues::new`].
pub(crate) unsafe fn teardown(vdev: *mut bindings::virtio_device) {
    // SAFETY: By the safety requirements `vdev` is valid.
    let header = unsafe { (*vdev).priv_ }.cast::<Header>();
    if header.is_null() {
        // SAFETY: `vdev` is valid.
        unsafe { bindings::virtio_reset_device(vdev) };
    } else {
        // SAFETY: A non-null `priv` is the header of a live `Virtqueues` (its type invariant).
        unsafe { ((*header).teardown)(header) };
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
        fn describe<'a>(&'a mut self, sg: &mut SgList<'a>) -> Result {
            sg.readable(&self.head)?;
            sg.writable(&mut self.tail)
        }
    }

    /// Fails if the size a returned buffer is checked against is not what the buffer
    /// describes as writable.
    #[test]
    fn writable_len_of_a_buffer() -> Result {
        let mut buf = KBox::new(
            TwoParts {
                head: [0; 16],
                tail: [0; 48],
            },
            GFP_KERNEL,
        )?;
        assert_eq!(SgList::writable_len(&mut *buf), Ok(48));
        Ok(())
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
        assert_eq!(
            sg.add_to(ptr::null_mut(), ptr::null_mut(), GFP_ATOMIC),
            Err(EINVAL)
        );
        Ok(())
    }
}
