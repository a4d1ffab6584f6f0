// SPDX-License-Identifier: GPL-2.0

//! Abstractions for the virtio bus.
//!
//! C headers: [`include/linux/virtio.h`](srctree/include/linux/virtio.h),
//! [`include/linux/virtio_config.h`](srctree/include/linux/virtio_config.h).
//!
//! A virtio driver implements [`Driver`]: its device ID table, the feature bits it understands
//! ([`Driver::FEATURES`], the C `feature_table`), an optional [`Driver::validate`] step that
//! may clear features before they are finalised, and `probe`, which usually creates the
//! device's virtqueues (with a [`Builder`]) and registers the device with its subsystem.
//! [`module_virtio_driver!`](crate::module_virtio_driver) declares the module.
//!
//! The lifetime of a bound device, as this module drives it:
//!
//! 1. The virtio core negotiates features (driver table, device offer, [`Driver::validate`]).
//! 2. [`Driver::probe`] runs; its data is stored as the device's driver data.
//!    A driver that must use its queues during probe makes the device ready itself, once, with
//!    [`Found::ready`], after its queues exist.
//! 3. Then the virtio core sets `DRIVER_OK` (unless the driver did), calls [`Driver::scan`] and
//!    enables configuration change notifications: a notification can never reach a driver
//!    whose data does not exist yet. Virtqueue callbacks do not go through the driver data at
//!    all; they go to the [`Callback`] the driver set on each queue once its state existed.
//! 4. A configuration change is delivered to [`Driver::config_changed`] in process context,
//!    from a work item (the virtio core reports it in atomic context).
//! 5. On removal: configuration work is cancelled, [`Driver::unbind`] runs (the driver stops
//!    new I/O and unregisters from its subsystem), then the queues are torn down: no ring
//!    operation or callback runs any more, the device is reset, every buffer the device still
//!    holds is returned to its owner and dropped, and the virtqueues are deleted, in that
//!    order. Finally the driver data is dropped. A probe that fails is unwound the same way.

use crate::bindings;
use core::{
    marker::{
        PhantomData,
        PhantomPinned, //
    },
    ptr::{
        addr_of_mut,
        NonNull, //
    },
};
use kernel::{
    device,
    device_id::RawDeviceId,
    driver,
    error::{
        from_result,
        to_result, //
    },
    prelude::*,
    str::CStr,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
    types::Opaque,
    ThisModule, //
};

pub mod blk;
pub mod net;
#[cfg(CONFIG_BLOCK)]
pub mod request;
pub mod sg;
pub mod virtqueue;

pub use self::sg::SgList;
pub use self::virtqueue::{
    Affinity,
    Buffer,
    Builder,
    Callback,
    Called,
    Found,
    Notifier,
    Pending,
    PollState,
    QueueSpec,
    Ring,
    Token,
    Used,
    Virtqueue, //
};

/// Feature bits that every virtio device may offer, from the virtio specification.
pub mod features {
    /// The device complies with version 1 of the virtio specification.
    pub const VERSION_1: u32 = crate::bindings::VIRTIO_F_VERSION_1;
    /// The device needs the platform's DMA API (an IOMMU) for memory access.
    pub const ACCESS_PLATFORM: u32 = crate::bindings::VIRTIO_F_ACCESS_PLATFORM;
    /// The ring supports indirect descriptors (a request takes one descriptor).
    pub const RING_INDIRECT_DESC: u32 = crate::bindings::RVIRTIO_CONST_VIRTIO_RING_F_INDIRECT_DESC;
    /// The number of feature bits the kernel tracks.
    pub const MAX: u32 = crate::bindings::VIRTIO_FEATURES_BITS;
    /// The first feature bit reserved for the transport.
    pub const TRANSPORT_START: u32 = crate::bindings::VIRTIO_TRANSPORT_F_START;
    /// The end (exclusive) of the feature bits reserved for the transport.
    pub const TRANSPORT_END: u32 = crate::bindings::VIRTIO_TRANSPORT_F_END;
}

/// Virtio device types (`uapi/linux/virtio_ids.h`).
pub mod ids {
    /// A network card.
    pub const NET: u32 = crate::bindings::VIRTIO_ID_NET;
    /// A block device.
    pub const BLOCK: u32 = crate::bindings::VIRTIO_ID_BLOCK;
    /// An entropy source.
    pub const RNG: u32 = crate::bindings::VIRTIO_ID_RNG;
}

/// A virtio device ID, as in a driver's ID table (`struct virtio_device_id`).
///
/// Virtio IDs carry no driver data, so a driver has no per-ID information.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct DeviceId(bindings::virtio_device_id);

impl DeviceId {
    /// Matches devices of type `device` from any vendor.
    ///
    /// Equivalent to C's `{ VIRTIO_ID_..., VIRTIO_DEV_ANY_ID }`.
    pub const fn new(device: u32) -> Self {
        Self(bindings::virtio_device_id {
            device,
            vendor: bindings::VIRTIO_DEV_ANY_ID,
        })
    }

    /// Matches devices of type `device` from `vendor` only.
    pub const fn with_vendor(device: u32, vendor: u32) -> Self {
        Self(bindings::virtio_device_id { device, vendor })
    }

    /// The device type this ID matches.
    pub const fn device(&self) -> u32 {
        self.0.device
    }
}

// SAFETY: `DeviceId` is a `#[repr(transparent)]` wrapper of `struct virtio_device_id` and adds no
// invariants, so it may be transmuted to `RawType`.
unsafe impl RawDeviceId for DeviceId {
    type RawType = bindings::virtio_device_id;
}

/// The ID table of a virtio driver.
pub type IdTable = &'static dyn kernel::device_id::IdTable<DeviceId, ()>;

/// Creates a virtio ID table and its module alias (`virtio:d<device>v<vendor>`) for modpost, so
/// that udev and `modprobe` load the driver for matching devices.
///
/// # Examples
///
/// ```ignore
/// use kernel::virtio;
///
/// kernel::virtio_device_table!(RNG_IDS, [virtio::DeviceId::new(virtio::ids::RNG)]);
/// ```
#[macro_export]
macro_rules! virtio_device_table {
    ($table_name:ident, [$($id:expr),* $(,)?]) => {
        ::kernel::module_device_table!(
            "virtio",
            $crate::virtio::DeviceId,
            $table_name,
            @none,
            [$($id),*]
        );
    };
}

/// A virtio device (`struct virtio_device`).
///
/// `Ctx` is the device context of the kernel's driver model: [`device::Core`] in bus
/// callbacks, [`device::Bound`] while a driver is bound, [`device::Normal`] otherwise.
///
/// # Invariants
///
/// `self.0` is a valid `struct virtio_device` created by the C side of the kernel, and the
/// guarantees of `Ctx` hold for as long as the reference exists.
#[repr(transparent)]
pub struct Device<Ctx: device::DeviceContext = device::Normal>(
    Opaque<bindings::virtio_device>,
    PhantomData<Ctx>,
);

impl<Ctx: device::DeviceContext> Device<Ctx> {
    pub(crate) fn as_raw(&self) -> *mut bindings::virtio_device {
        self.0.get()
    }

    /// The device type (one of [`ids`]).
    pub fn device_id(&self) -> u32 {
        // SAFETY: By the type invariant `self.as_raw()` is valid; `id` is set before the device
        // is registered and never changes.
        unsafe { (*self.as_raw()).id.device }
    }

    /// The vendor ID.
    pub fn vendor_id(&self) -> u32 {
        // SAFETY: As in `device_id`.
        unsafe { (*self.as_raw()).id.vendor }
    }

    /// Whether feature `bit` was negotiated.
    ///
    /// Unlike C's `virtio_has_feature()`, asking about a bit the driver did not offer is not a
    /// bug: such a bit is simply never negotiated, and `false` is returned.
    pub fn has_feature(&self, bit: u32) -> bool {
        // `__virtio_test_bit()` bugs on bits beyond the kernel's feature space.
        if bit >= features::MAX {
            return false;
        }
        // SAFETY: By the type invariant `self.as_raw()` is valid, and `bit` is in range.
        unsafe { bindings::__virtio_test_bit(self.as_raw(), bit) }
    }
}

impl Device<device::Bound> {
    /// Whether the device's configuration and structures are little endian (always for
    /// virtio 1.0 devices; the guest's byte order for legacy ones).
    pub fn is_little_endian(&self) -> bool {
        // SAFETY: The device is bound, its features are negotiated.
        unsafe { bindings::virtio_is_little_endian(self.as_raw()) }
    }

    /// The transport's name of the device (`virtio_bus_name()`): the PCI address for
    /// virtio_pci, "virtio" for a transport that has none.
    pub fn bus_name(&self) -> &CStr {
        // SAFETY: The device is bound, so its transport's `config` operations are valid; the
        // name belongs to the transport's device (or is static), which outlives the bound
        // device borrowed here, and is NUL-terminated.
        unsafe { CStr::from_char_ptr(bindings::virtio_bus_name(self.as_raw())) }
    }

    /// Whether the device asks to be reset (`DEVICE_NEEDS_RESET` in its status): it hit an
    /// error it cannot recover from, and uses none of its queues until it is reset. Devices
    /// announce it with a configuration change.
    pub fn needs_reset(&self) -> bool {
        // SAFETY: The device is bound, so its transport's `config` operations are valid.
        let status = unsafe { bindings::virtio_get_status(self.as_raw()) };
        u32::from(status) & bindings::VIRTIO_CONFIG_S_NEEDS_RESET != 0
    }

    /// The largest buffer the transport can map for the device (`virtio_max_dma_size()`).
    pub fn max_dma_size(&self) -> usize {
        // SAFETY: The device is bound.
        unsafe { bindings::virtio_max_dma_size(self.as_raw()) }
    }

    /// The device-specific configuration, whose layout is `C`, for single accesses such as
    /// writes; consistent multi-field reads use [`Device::read_config`]. Fails with `ENODEV`
    /// if `C` is not the configuration of this device's type.
    pub fn config<C: DeviceConfig>(&self) -> Result<ConfigSpace<'_, C>> {
        if self.device_id() != C::DEVICE_ID {
            return Err(ENODEV);
        }
        Ok(ConfigSpace {
            dev: self,
            _layout: PhantomData,
        })
    }

    /// Reads the device-specific configuration, whose layout is `C`, with `f`, repeating the
    /// read until the device's configuration generation did not change during it, so that a
    /// multi-field read is consistent. Fails with `ENODEV` if `C` is not the configuration of
    /// this device's type.
    ///
    /// The accessors of [`ConfigSpace`] convert from the device's byte order.
    pub fn read_config<C: DeviceConfig, R>(
        &self,
        mut f: impl FnMut(&ConfigSpace<'_, C>) -> R,
    ) -> Result<R> {
        let config = self.config::<C>()?;
        loop {
            let before = config.generation();
            let result = f(&config);
            if config.generation() == before {
                return Ok(result);
            }
        }
    }
}

/// The bound device, from where none is at hand (a sysfs attribute of the driver's disk, say).
///
/// Created in probe; [`BoundDevice::with`] runs a function with the device while it is bound
/// and fails with `ENODEV` once it is not. The function may sleep (configuration accessors
/// do), so the revocation is the kernel's sleepable RCU ([`Srcu`]) rather than the RCU that
/// [`Revocable`] and [`Devres::try_access`] use: the [`Devres`] that marks the device unbound
/// when it is unbound waits for an SRCU grace period, so no function still runs with it.
/// Dropping the handle may sleep, as dropping a [`Devres`] does.
///
/// [`Devres`]: kernel::devres::Devres
/// [`Devres::try_access`]: kernel::devres::Devres::try_access
/// [`Revocable`]: kernel::revocable::Revocable
/// [`Srcu`]: kernel::sync::Srcu
pub struct BoundDevice {
    state: Arc<BoundState>,
    _unbind: kernel::devres::Devres<Unbinder>,
}

/// # Invariants
///
/// While `bound` is `true` and an SRCU read lock of `srcu` taken after it was read `true` is
/// held, `dev` is bound: the [`Unbinder`] clears `bound` and waits for `srcu` before the
/// driver core unbinds the device.
#[pin_data]
struct BoundState {
    dev: ARef<Device>,
    bound: Atomic<bool>,
    #[pin]
    srcu: kernel::sync::Srcu,
}

/// Marks the device unbound when the devres machinery drops it (at unbind).
struct Unbinder(Arc<BoundState>);

impl Drop for Unbinder {
    fn drop(&mut self) {
        // ORDERING: The grace period below orders this with every read-side section.
        self.0.bound.store(false, Relaxed);
        // Every `BoundDevice::with` that saw the device bound is done after this.
        self.0.srcu.synchronize();
    }
}

impl Device<device::Bound> {
    /// A handle that reaches the device as bound for as long as it is.
    pub fn bound_handle(&self) -> Result<BoundDevice> {
        let dev: ARef<Device> = (&**self).into();
        let state = Arc::pin_init(
            try_pin_init!(BoundState {
                dev,
                bound: Atomic::new(true),
                srcu <- kernel::sync::Srcu::new(
                    c"virtio_bound_device",
                    kernel::static_lock_class!()
                ),
            }? Error),
            GFP_KERNEL,
        )?;
        let unbind =
            kernel::devres::Devres::new(self.as_ref(), Ok::<_, Error>(Unbinder(state.clone())))?;
        Ok(BoundDevice {
            state,
            _unbind: unbind,
        })
    }
}

impl BoundDevice {
    /// Runs `f` with the device if it is still bound (`ENODEV` otherwise). `f` may sleep, but
    /// must not wait for the device to be unbound: unbinding waits for it.
    pub fn with<R>(&self, f: impl FnOnce(&Device<device::Bound>) -> R) -> Result<R> {
        let _guard = self.state.srcu.read_lock();
        // ORDERING: `Relaxed`: the SRCU grace period the `Unbinder` waits for after clearing
        // `bound` orders this read-side section with the unbind.
        if !self.state.bound.load(Relaxed) {
            return Err(ENODEV);
        }
        // SAFETY: `bound` was read `true` under the SRCU read lock, so the device is bound and
        // stays so while the lock is held (type invariant of `BoundState`).
        let dev = unsafe {
            &*core::ptr::from_ref::<Device>(&self.state.dev).cast::<Device<device::Bound>>()
        };
        Ok(f(dev))
    }
}

/// A device-specific configuration structure (`struct virtio_blk_config`, ...), the layout its
/// device type's configuration space has.
///
/// # Safety
///
/// `Self` must be the configuration layout of devices of type [`DeviceConfig::DEVICE_ID`], as
/// the virtio specification defines it, and contain only integer fields.
pub unsafe trait DeviceConfig {
    /// The device type (one of [`ids`]) whose configuration this is.
    const DEVICE_ID: u32;
}

mod private {
    use super::*;

    /// The accessors of [`ConfigValue`](super::ConfigValue). They take any offset, so they are
    /// not reachable from outside this module: only [`ConfigSpace`](super::ConfigSpace) calls
    /// them, with the offset of a checked [`ConfigField`](super::ConfigField).
    pub trait Sealed: Sized {
        fn read(dev: &Device<device::Bound>, offset: u32) -> Self;
        fn write(dev: &Device<device::Bound>, offset: u32, value: Self);
    }
}

/// The types of configuration fields: accessed with the `virtio_cread*()`/`virtio_cwrite*()`
/// of their width, which convert from the device's byte order.
pub trait ConfigValue: Copy + private::Sealed {}

macro_rules! config_value {
    ($($ty:ty, $cread:ident, $cwrite:ident;)*) => {
        $(
            impl ConfigValue for $ty {}

            impl private::Sealed for $ty {
                fn read(dev: &Device<device::Bound>, offset: u32) -> Self {
                    // SAFETY: The device is bound, so its transport's `config` operations are
                    // valid. `offset` comes from a `ConfigField` of the device's configuration
                    // layout (checked by `Device::read_config`): the field is inside the
                    // structure and aligned to its width, which is this accessor's.
                    unsafe { bindings::$cread(dev.as_raw(), offset) }
                }

                fn write(dev: &Device<device::Bound>, offset: u32, value: Self) {
                    // SAFETY: As in `read`.
                    unsafe { bindings::$cwrite(dev.as_raw(), offset, value) }
                }
            }
        )*
    };
}

config_value! {
    u8, virtio_cread8, virtio_cwrite8;
    u16, virtio_cread16, virtio_cwrite16;
    u32, virtio_cread32, virtio_cwrite32;
    u64, virtio_cread64, virtio_cwrite64;
}

/// Byte arrays (a MAC address) are accessed a byte at a time, as C's `virtio_cread_bytes()`.
impl<const N: usize> ConfigValue for [u8; N] {}

impl<const N: usize> private::Sealed for [u8; N] {
    fn read(dev: &Device<device::Bound>, offset: u32) -> Self {
        let mut bytes = [0u8; N];
        for (i, byte) in (0u32..).zip(bytes.iter_mut()) {
            *byte = u8::read(dev, offset + i);
        }
        bytes
    }

    fn write(dev: &Device<device::Bound>, offset: u32, value: Self) {
        for (i, byte) in (0u32..).zip(value) {
            u8::write(dev, offset + i, byte);
        }
    }
}

/// A field of type `T` of the configuration structure `C`, made by
/// [`virtio_config_field!`](crate::virtio_config_field): its offset is checked at compile time
/// to be inside `C` and aligned to the field's width.
pub struct ConfigField<C, T> {
    offset: u32,
    _field: PhantomData<fn(&C) -> T>,
}

impl<C, T> Clone for ConfigField<C, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C, T> Copy for ConfigField<C, T> {}

impl<C: DeviceConfig, T: ConfigValue> ConfigField<C, T> {
    /// Use [`virtio_config_field!`]: `OFFSET` must be the offset of the field `field` reads.
    #[doc(hidden)]
    pub const fn new<const OFFSET: usize, F: FnOnce(&C) -> T>(field: F) -> Self {
        const {
            assert!(
                OFFSET + core::mem::size_of::<T>() <= core::mem::size_of::<C>(),
                "configuration field outside the structure"
            );
            assert!(
                OFFSET % core::mem::align_of::<T>() == 0,
                "unaligned configuration field"
            );
            assert!(OFFSET <= u32::MAX as usize);
        }
        // `field` only names the field's type.
        core::mem::forget(field);
        Self {
            // CAST: Checked above to fit.
            offset: OFFSET as u32,
            _field: PhantomData,
        }
    }
}

impl<C, T> ConfigField<C, T> {
    /// The field's offset in the configuration space.
    pub const fn offset(self) -> u32 {
        self.offset
    }
}

/// Names a field of a device's configuration structure, for [`ConfigSpace::read`] and
/// [`ConfigSpace::write`], like the `structname, member` pair of C's `virtio_cread()`.
///
/// A field outside the structure, or not aligned to its width, does not compile.
///
/// # Examples
///
/// ```ignore
/// use kernel::{device, prelude::*, virtio};
///
/// const CAPACITY: virtio::ConfigField<virtio::blk::Config, u64> =
///     kernel::virtio_config_field!(virtio::blk::Config, capacity);
///
/// fn sectors(dev: &virtio::Device<device::Bound>) -> Result<u64> {
///     dev.read_config(|cfg| cfg.read(CAPACITY))
/// }
/// ```
#[macro_export]
macro_rules! virtio_config_field {
    ($config:ty, $($field:ident).+) => {
        $crate::virtio::ConfigField::<$config, _>::new::<
            { ::core::mem::offset_of!($config, $($field).+) },
            _,
        >(|c: &$config| c.$($field).+)
    };
}

/// Access to the device-specific configuration space of a bound device, whose layout is `C`.
pub struct ConfigSpace<'a, C> {
    dev: &'a Device<device::Bound>,
    _layout: PhantomData<fn(&C)>,
}

impl<C: DeviceConfig> ConfigSpace<'_, C> {
    /// Reads `field`.
    pub fn read<T: ConfigValue>(&self, field: ConfigField<C, T>) -> T {
        <T as private::Sealed>::read(self.dev, field.offset)
    }

    /// Writes `value` to `field`.
    pub fn write<T: ConfigValue>(&self, field: ConfigField<C, T>, value: T) {
        <T as private::Sealed>::write(self.dev, field.offset, value)
    }

    fn generation(&self) -> u32 {
        // SAFETY: The device is bound, so its transport's `config` operations are valid.
        unsafe { bindings::virtio_config_generation(self.dev.as_raw()) }
    }
}

// SAFETY: `Device` is a transparent wrapper of `struct virtio_device`, whose type does not depend
// on the context parameter.
kernel::impl_device_context_deref!(unsafe { Device });
kernel::impl_device_context_into_aref!(Device);

// SAFETY: Instances of `Device` are always reference-counted through the embedded
// `struct device`.
unsafe impl AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: By the type invariant `self.as_raw()` is valid, so is its `dev` field.
        unsafe { bindings::get_device(addr_of_mut!((*self.as_raw()).dev)) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The safety requirements guarantee that the refcount is non-zero.
        unsafe {
            bindings::put_device(addr_of_mut!(
                (*obj.cast::<bindings::virtio_device>().as_ptr()).dev
            ))
        }
    }
}

impl<Ctx: device::DeviceContext> AsRef<device::Device<Ctx>> for Device<Ctx> {
    fn as_ref(&self) -> &device::Device<Ctx> {
        // SAFETY: By the type invariant `self.as_raw()` is valid, so is its embedded
        // `struct device`, for as long as `self` lives and with the same context guarantees.
        unsafe { device::Device::from_raw(addr_of_mut!((*self.as_raw()).dev)) }
    }
}

// SAFETY: A `Device` may be used from any thread; the C side synchronises its own state.
unsafe impl Send for Device {}

// SAFETY: `Device` can be shared among threads because all methods of `Device` (i.e.
// `Device<Normal>`) are thread safe.
unsafe impl Sync for Device {}

/// The features of a device while they are being negotiated, for [`Driver::validate`].
pub struct Negotiation<'a> {
    dev: &'a Device<device::Core<'a>>,
}

impl Negotiation<'_> {
    /// Whether `bit` is among the features offered by both sides so far.
    pub fn has(&self, bit: u32) -> bool {
        self.dev.has_feature(bit)
    }

    /// Drops the device-specific feature `bit` from the features that will be negotiated.
    ///
    /// Transport features (bits [`features::TRANSPORT_START`] to [`features::TRANSPORT_END`],
    /// such as [`features::ACCESS_PLATFORM`]) belong to the virtio core and the transport, not to
    /// the driver: clearing `ACCESS_PLATFORM` would make the ring bypass the DMA API (and an
    /// IOMMU) for a device that needs it. They, and bits beyond the feature space, are refused
    /// with `EINVAL`.
    pub fn clear(&mut self, bit: u32) -> Result {
        if bit >= features::MAX
            || (features::TRANSPORT_START..features::TRANSPORT_END).contains(&bit)
        {
            return Err(EINVAL);
        }
        // SAFETY: `validate` runs before the features are finalised, which is when C drivers
        // call `__virtio_clear_bit()`; `bit` is in range.
        unsafe { bindings::__virtio_clear_bit(self.dev.as_raw(), bit) };
        Ok(())
    }
}

/// A virtio driver.
///
/// # Examples
///
/// ```ignore
/// use kernel::{device, prelude::*, virtio};
///
/// struct MyDriver;
///
/// kernel::virtio_device_table!(IDS, [virtio::DeviceId::new(virtio::ids::RNG)]);
///
/// impl virtio::Driver for MyDriver {
///     type Data<'bound> = Self;
///     const ID_TABLE: virtio::IdTable = &IDS;
///
///     fn probe<'bound>(
///         _dev: &'bound virtio::Device<device::Core<'_>>,
///     ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
///         Err(ENODEV)
///     }
/// }
/// ```
pub trait Driver {
    /// The driver's data for a bound device.
    type Data<'bound>: Send + Sync + 'bound;

    /// The devices the driver binds to.
    const ID_TABLE: IdTable;

    /// The device-specific feature bits the driver understands (C's `feature_table`).
    /// Transport features (such as [`features::VERSION_1`]) are negotiated by the core.
    const FEATURES: &'static [u32] = &[];

    /// Called after the features are negotiated and before they are finalised; may clear
    /// features the device offers but that the driver cannot use with this device, or fail to
    /// refuse the device.
    fn validate(features: &mut Negotiation<'_>) -> Result {
        let _ = features;
        Ok(())
    }

    /// Binds the driver to a device.
    ///
    /// The device is made ready (`DRIVER_OK`) by the virtio core after `probe` returns and its
    /// data has been stored, unless the driver did so with [`Found::ready`]. If `probe` fails,
    /// the queues it created are torn down as at removal.
    fn probe<'bound>(
        dev: &'bound Device<device::Core<'_>>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound;

    /// Called once after a successful `probe`, when the device is ready: a driver registers
    /// here what must only be used once the device is ready (C's `scan`, such as a hardware
    /// RNG whose first read uses the device).
    fn scan<'bound>(dev: &'bound Device<device::Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        let _ = (dev, this);
    }

    /// Called when the device goes away or the driver is unbound, before the device is reset
    /// and its queues are deleted: the driver stops submitting buffers and unregisters from
    /// its subsystem here. Buffers the device still holds are returned and dropped afterwards.
    fn unbind<'bound>(dev: &'bound Device<device::Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        let _ = (dev, this);
    }

    /// Called in process context after the device reported a configuration change.
    fn config_changed<'bound>(dev: &'bound Device<device::Bound>, this: Pin<&Self::Data<'bound>>) {
        let _ = (dev, this);
    }
}

/// What the driver data of a bound device is stored as: the driver's data and the work item
/// that delivers configuration changes.
///
/// The work item is a plain `work_struct` rather than a [`kernel::workqueue::Work`]: in 7.3 a
/// `Work` is queued by handing over an owning pointer (`Arc`, `Pin<KBox>`) and cannot be
/// cancelled synchronously, while this one lives in driver data that the driver core owns and
/// must be cancelled, waiting for a running instance, before unbind and before the data is
/// dropped (`cancel_work_sync()`).
///
/// # Invariants
///
/// `config_work` is initialised with `Adapter::config_work_callback()` and is never queued
/// after `DriverData::cancel_config_work()` has returned during removal.
#[repr(C)]
#[pin_data(PinnedDrop)]
pub struct DriverData<D> {
    // First field: the work callback casts the `work_struct` pointer back to `Self`.
    #[pin]
    config_work: Opaque<bindings::work_struct>,
    vdev: *mut bindings::virtio_device,
    #[pin]
    data: D,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: `vdev` is only used to reach the device, which is thread safe; `D` is `Send`.
unsafe impl<D: Send> Send for DriverData<D> {}

// SAFETY: Shared access only reads `vdev` and `data`, which is `Sync`.
unsafe impl<D: Sync> Sync for DriverData<D> {}

impl<D> DriverData<D> {
    fn data(self: Pin<&Self>) -> Pin<&D> {
        // SAFETY: `data` is structurally pinned.
        unsafe { self.map_unchecked(|s| &s.data) }
    }

    fn cancel_config_work(&self) {
        // SAFETY: `config_work` was initialised in `Adapter::probe_callback`.
        unsafe { bindings::cancel_work_sync(self.config_work.get()) };
    }
}

#[pinned_drop]
impl<D> PinnedDrop for DriverData<D> {
    fn drop(self: Pin<&mut Self>) {
        // The work refers to `self`: it must not run any more.
        self.cancel_config_work();
    }
}

/// The adapter between the C virtio bus and a Rust [`Driver`].
pub struct Adapter<T: Driver>(PhantomData<T>);

// SAFETY:
// - `bindings::virtio_driver` is a C type declared as `repr(C)`.
// - `DriverData<T::Data>` is what `probe_callback` stores as the device's driver data.
// - `struct virtio_driver` embeds a `struct device_driver` at `DEVICE_DRIVER_OFFSET`.
unsafe impl<T: Driver + 'static> driver::DriverLayout for Adapter<T> {
    type DriverType = bindings::virtio_driver;
    type DriverData<'bound> = DriverData<T::Data<'bound>>;
    const DEVICE_DRIVER_OFFSET: usize = core::mem::offset_of!(Self::DriverType, driver);
}

// SAFETY: `unregister` is only called after a successful `register` of the same driver.
unsafe impl<T: Driver + 'static> driver::RegistrationOps for Adapter<T> {
    unsafe fn register(
        vdrv: &Opaque<Self::DriverType>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        let nfeatures = u32::try_from(T::FEATURES.len()).map_err(|_| EINVAL)?;
        if T::FEATURES.iter().any(|&f| f >= features::MAX) {
            return Err(EINVAL);
        }

        // SAFETY: `vdrv` is valid and not yet registered, so its fields may be written.
        unsafe {
            let drv = vdrv.get();
            (*drv).driver.name = name.as_char_ptr();
            (*drv).driver.owner = module.as_ptr();
            (*drv).id_table = T::ID_TABLE.as_ptr();
            (*drv).feature_table = T::FEATURES.as_ptr();
            (*drv).feature_table_size = nfeatures;
            (*drv).validate = Some(Self::validate_callback);
            (*drv).probe = Some(Self::probe_callback);
            (*drv).remove = Some(Self::remove_callback);
            (*drv).scan = Some(Self::scan_callback);
            (*drv).config_changed = Some(Self::config_changed_callback);
        }

        // SAFETY: `vdrv` is a valid, fully set up `struct virtio_driver`.
        to_result(unsafe { bindings::__register_virtio_driver(vdrv.get(), module.as_ptr()) })
    }

    unsafe fn unregister(vdrv: &Opaque<Self::DriverType>) {
        // SAFETY: By the safety requirements `vdrv` was registered.
        unsafe { bindings::unregister_virtio_driver(vdrv.get()) }
    }
}

impl<T: Driver + 'static> Adapter<T> {
    extern "C" fn validate_callback(vdev: *mut bindings::virtio_device) -> c_int {
        // SAFETY: The virtio core calls `validate` with a valid device, under the device lock,
        // during probe.
        let dev = unsafe { &*vdev.cast::<Device<device::Core<'_>>>() };
        from_result(|| {
            T::validate(&mut Negotiation { dev })?;
            Ok(0)
        })
    }

    extern "C" fn probe_callback(vdev: *mut bindings::virtio_device) -> c_int {
        // SAFETY: The virtio core calls `probe` with a valid device, under the device lock.
        //
        // INVARIANT: `vdev` is valid for the duration of `probe_callback()`.
        let dev = unsafe { &*vdev.cast::<Device<device::CoreInternal<'_>>>() };

        // `priv` belongs to the driver bound to the device, and no driver is bound while this
        // one probes. A driver bound before (the C `virtio_blk`, after a sysfs unbind) may
        // have left it pointing to memory it freed: the virtqueues would refuse to be created
        // (`EBUSY`) and `teardown()` would take it for theirs.
        //
        // SAFETY: `vdev` is valid and the device lock is held, so nothing else reads `priv`.
        unsafe { (*vdev).priv_ = core::ptr::null_mut() };

        let ret = from_result(|| {
            let data = try_pin_init!(DriverData::<T::Data<'_>> {
                // SAFETY: `slot` is valid for writing; the work item is initialised before
                // anything can queue it.
                config_work <- Opaque::ffi_init(|slot| unsafe {
                    bindings::init_work_with_key(
                        slot,
                        Some(Self::config_work_callback),
                        false,
                        c"virtio_config_work".as_char_ptr(),
                        kernel::static_lock_class!().as_ptr(),
                    )
                }),
                vdev,
                // A device that failed during probe (its queues were reset, see
                // `Notifier::fail_device`) is not made ready: the virtio core would otherwise
                // make a reset device ready.
                data <- T::probe(dev).pin_chain(|_| {
                    // SAFETY: `dev` is being probed, under the device lock; its `priv` is null
                    // or set by `Builder::find`.
                    if unsafe { virtqueue::failed(dev.as_raw()) } {
                        dev_err!(dev.as_ref(), "device failed during probe\n");
                        Err(EIO)
                    } else {
                        Ok(())
                    }
                }),
                _pin: PhantomPinned,
            });

            // The driver data exists before the virtio core makes the device ready and enables
            // configuration notifications, which it does after this callback returns.
            dev.as_ref().set_drvdata(data)?;
            Ok(0)
        });
        if ret != 0 {
            // Whatever part of the driver data was built is dropped; its queue handles do not
            // touch the device. The queues themselves are torn down here.
            //
            // SAFETY: `vdev` is valid, in process context; the probe failed, so nothing uses the
            // device; `priv` is null or set by `Builder::find`.
            unsafe { virtqueue::teardown(vdev) };
        }
        ret
    }

    extern "C" fn scan_callback(vdev: *mut bindings::virtio_device) {
        // SAFETY: The virtio core calls `scan` with a valid device under the device lock, right
        // after a successful `probe` (inside `virtio_dev_probe()`).
        let dev = unsafe { &*vdev.cast::<Device<device::CoreInternal<'_>>>() };

        // SAFETY: `probe` succeeded, so it stored a `DriverData<T::Data>`.
        let data = unsafe { dev.as_ref().drvdata_borrow::<DriverData<T::Data<'_>>>() };
        T::scan(dev, data.data());
    }

    extern "C" fn remove_callback(vdev: *mut bindings::virtio_device) {
        // SAFETY: The virtio core calls `remove` with a valid device, under the device lock.
        //
        // INVARIANT: `vdev` is valid for the duration of `remove_callback()`.
        let dev = unsafe { &*vdev.cast::<Device<device::CoreInternal<'_>>>() };

        // SAFETY: `remove` is only called after a successful `probe`, which stored a
        // `DriverData<T::Data>`.
        let data = unsafe { dev.as_ref().drvdata_borrow::<DriverData<T::Data<'_>>>() };

        // The virtio core disabled configuration notifications before calling `remove`, so
        // once cancelled the work cannot be queued again.
        data.cancel_config_work();

        T::unbind(dev, data.data());

        // The virtio core expects the device to be reset when `remove` returns.
        //
        // SAFETY: `vdev` is valid and being removed, in process context; `priv` is null or set
        // by `Builder::find`.
        unsafe { virtqueue::teardown(vdev) };
    }

    extern "C" fn config_changed_callback(vdev: *mut bindings::virtio_device) {
        // SAFETY: The virtio core only reports configuration changes to a driver between the
        // end of a successful `probe` and the start of `remove`: the device is valid and its
        // driver data is set.
        let dev = unsafe { &*vdev.cast::<Device<device::BoundInternal>>() };

        // SAFETY: As above, `probe` stored a `DriverData<T::Data>`.
        let data = unsafe { dev.as_ref().drvdata_borrow::<DriverData<T::Data<'_>>>() };

        // This runs in atomic context; the driver is called from the work item. If the work is
        // already queued, the pending run covers this change too. It goes to the unbound system
        // queue (`system_wq` is deprecated in 7.3).
        //
        // SAFETY: `config_work` is initialised and lives as long as the driver data;
        // `system_dfl_wq` exists from early boot on.
        unsafe {
            bindings::queue_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                bindings::system_dfl_wq,
                data.config_work.get(),
            )
        };
    }

    extern "C" fn config_work_callback(work: *mut bindings::work_struct) {
        // CAST: `config_work` is the first field of the `#[repr(C)]` `DriverData`.
        let data = work.cast::<DriverData<T::Data<'_>>>();

        // SAFETY: The work is cancelled before the driver data is dropped or unbound, so the
        // data, its device and the device's binding are valid while this runs.
        let (dev, data) = unsafe {
            (
                &*(*data).vdev.cast::<Device<device::Bound>>(),
                Pin::new_unchecked(&*data),
            )
        };
        T::config_changed(dev, data.data());
    }
}

/// Declares a kernel module that exposes a single virtio driver.
///
/// # Examples
///
/// ```ignore
/// kernel::module_virtio_driver! {
///     type: MyDriver,
///     name: "my_virtio",
///     authors: ["Author name"],
///     description: "Description",
///     license: "GPL v2",
/// }
/// ```
#[macro_export]
macro_rules! module_virtio_driver {
    ($($f:tt)*) => {
        ::kernel::module_driver!(<T>, $crate::virtio::Adapter<T>, { $($f)* });
    };
}

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_virtio)]
mod tests {
    use super::*;

    /// Fails if an ID from a driver's table would not match every vendor's device, so that
    /// the driver would not bind to (or autoload for) devices it supports.
    #[test]
    fn device_id_matches_any_vendor() {
        let id = DeviceId::new(ids::BLOCK);
        assert_eq!(id.device(), 2);
        assert_eq!(id.0.vendor, 0xffff_ffff);
        assert_eq!(DeviceId::with_vendor(ids::NET, 0x1af4).0.vendor, 0x1af4);
    }

    /// Fails if asking about a feature bit beyond the kernel's feature space reaches the C
    /// helper, which BUG()s on it; or if a set bit is not seen.
    #[test]
    fn has_feature_is_safe_for_any_bit() -> Result {
        let mut raw = KBox::new(bindings::virtio_device::default(), GFP_KERNEL)?;
        // SAFETY: `features` and `features_array` are members of one union of plain integers.
        unsafe { raw.__bindgen_anon_1.features_array[0] = 1 << features::VERSION_1 };
        // SAFETY: `raw` is a zeroed, exclusively owned `virtio_device`; `has_feature` only reads
        // its feature bits. `Device` is a transparent wrapper.
        let dev = unsafe { &*core::ptr::from_mut(&mut *raw).cast::<Device>() };
        assert!(dev.has_feature(features::VERSION_1));
        assert!(!dev.has_feature(0));
        assert!(!dev.has_feature(features::MAX));
        assert!(!dev.has_feature(u32::MAX));
        Ok(())
    }
}
