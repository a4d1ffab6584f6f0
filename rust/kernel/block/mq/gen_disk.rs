// SPDX-License-Identifier: GPL-2.0

//! Generic disk abstraction.
//!
//! C header: [`include/linux/blkdev.h`](srctree/include/linux/blkdev.h)
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h)

use super::{
    operations::Operations,
    RequestQueue,
    TagSet, //
};
use crate::bindings;
use core::{
    ffi::c_void,
    fmt,
    marker::PhantomData,
    ptr, //
};
use kernel::{
    device::Device,
    error::{
        self,
        from_err_ptr,
        Result, //
    },
    fmt::Write,
    prelude::*,
    static_lock_class,
    str::{
        CStr,
        NullTerminatedFormatter, //
    },
    sync::Arc,
    types::{
        ForeignOwnable,
        ScopeGuard, //
    },
};

type ForeignBorrowed<'a, T> = <T as ForeignOwnable>::Borrowed<'a>;

/// A disk's geometry for the `HDIO_GETGEO` ioctl (`struct hd_geometry`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Geometry {
    /// Heads.
    pub heads: u8,
    /// Sectors per track.
    pub sectors: u8,
    /// Cylinders.
    pub cylinders: u16,
}

/// What the disk's operations read after the driver may be gone: it lives in the disk's
/// `private_data` until the disk is freed (`free_disk`), as an open disk outlives its driver.
struct DiskPrivate {
    geometry: Option<Geometry>,
    /// Dropped when the disk is freed.
    _kept: Option<Kept>,
}

/// A value kept until the disk is released, without its type.
///
/// # Invariants
///
/// `data` comes from `KBox::into_raw` of the type `release` was made for, and is released once.
struct Kept {
    data: *mut c_void,
    release: unsafe fn(*mut c_void),
}

// SAFETY: Only made from `KBox<D>` with `D: Send`.
unsafe impl Send for Kept {}

impl Kept {
    fn new<D: Send + 'static>(value: KBox<D>) -> Self {
        /// # Safety
        ///
        /// `data` must come from `KBox::<D>::into_raw` and not be used after this.
        unsafe fn release<D>(data: *mut c_void) {
            // SAFETY: By the safety requirements `data` is a box of `D` given up once.
            drop(unsafe { KBox::from_raw(data.cast::<D>()) });
        }
        // INVARIANT: `data` is a box of `D`, `release::<D>` its release.
        Self {
            data: KBox::into_raw(value).cast(),
            release: release::<D>,
        }
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `data` and `release` belong together; dropped once.
        unsafe { (self.release)(self.data) };
    }
}

/// The limits of a queue (`struct queue_limits`), checked by the block layer when the disk is
/// created (`blk_validate_limits()`).
#[derive(Clone, Copy)]
pub struct Limits {
    raw: bindings::queue_limits,
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! limit_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $field:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.raw.$field = value;
                self
            }
        )*
    };
}

impl Limits {
    /// The block layer's defaults for every limit, with 512-byte logical blocks.
    pub fn new() -> Self {
        let mut raw: bindings::queue_limits = pin_init::zeroed();
        raw.logical_block_size = super::super::SECTOR_SIZE;
        Self { raw }
    }

    limit_setters! {
        /// The largest transfer the hardware accepts, in sectors.
        max_hw_sectors: u32 => max_hw_sectors;
        /// The most data segments a request may have.
        max_segments: u16 => max_segments;
        /// The largest data segment, in bytes.
        max_segment_size: u32 => max_segment_size;
        /// The smallest unit the device addresses, in bytes (a power of two, 512..=PAGE_SIZE).
        logical_block_size: u32 => logical_block_size;
        /// The smallest unit the device writes without read-modify-write, in bytes.
        physical_block_size: u32 => physical_block_size;
        /// The offset of the first aligned block, in bytes.
        alignment_offset: u32 => alignment_offset;
        /// The preferred minimum I/O size, in bytes.
        io_min: u32 => io_min;
        /// The optimal I/O size, in bytes.
        io_opt: u32 => io_opt;
        /// The largest discard the hardware accepts, in sectors (0: no discard).
        max_hw_discard_sectors: u32 => max_hw_discard_sectors;
        /// The most ranges of one discard request.
        max_discard_segments: u16 => max_discard_segments;
        /// The discard granularity, in bytes.
        discard_granularity: u32 => discard_granularity;
        /// The largest write-zeroes, in sectors (0: no write-zeroes).
        max_write_zeroes_sectors: u32 => max_write_zeroes_sectors;
        /// The largest secure erase, in sectors (0: no secure erase).
        max_secure_erase_sectors: u32 => max_secure_erase_sectors;
    }

    fn feature(mut self, feature: bindings::blk_features_t, on: bool) -> Self {
        if on {
            self.raw.features |= feature;
        } else {
            self.raw.features &= !feature;
        }
        self
    }

    /// Whether the device is rotational (a spinning disk; the block layer then favours
    /// sequential access).
    pub fn rotational(self, on: bool) -> Self {
        self.feature(bindings::RVIRTIO_CONST_BLK_FEAT_ROTATIONAL, on)
    }

    /// Whether the device has a volatile write cache, which flush requests write back.
    pub fn write_cache(self, on: bool) -> Self {
        self.feature(bindings::RVIRTIO_CONST_BLK_FEAT_WRITE_CACHE, on)
    }

    /// Whether the device supports forced unit access writes (`REQ_FUA`).
    pub fn fua(self, on: bool) -> Self {
        self.feature(bindings::RVIRTIO_CONST_BLK_FEAT_FUA, on)
    }

    /// The logical block size.
    pub fn get_logical_block_size(&self) -> u32 {
        self.raw.logical_block_size
    }
}

/// The function that writes an attribute's contents, given the disk's request queue and data.
pub type ShowFn<T> = fn(
    &RequestQueue<T>,
    ForeignBorrowed<'_, <T as Operations>::QueueData>,
    &mut SysfsWriter<'_>,
) -> Result;

/// The function that takes what was written to a writable attribute.
pub type StoreFn<T> =
    fn(&RequestQueue<T>, ForeignBorrowed<'_, <T as Operations>::QueueData>, &[u8]) -> Result;

/// A sysfs attribute of a disk of driver `T` (a file in `/sys/block/<disk>/`).
pub struct Attribute<T: Operations> {
    name: &'static CStr,
    show: ShowFn<T>,
    store: Option<StoreFn<T>>,
}

impl<T: Operations> Attribute<T> {
    /// A read-only attribute named `name` whose contents `show` writes.
    pub const fn new(name: &'static CStr, show: ShowFn<T>) -> Self {
        Self {
            name,
            show,
            store: None,
        }
    }

    /// An attribute that root may also write (mode 0644); `store` gets the bytes written.
    pub const fn new_rw(name: &'static CStr, show: ShowFn<T>, store: StoreFn<T>) -> Self {
        Self {
            name,
            show,
            store: Some(store),
        }
    }
}

/// The page a sysfs attribute's contents are written to; longer output is cut.
pub struct SysfsWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl fmt::Write for SysfsWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

impl SysfsWriter<'_> {
    /// Appends raw bytes.
    pub fn write_bytes(&mut self, s: &[u8]) {
        let room = self.buf.len() - self.pos;
        let n = s.len().min(room);
        self.buf[self.pos..self.pos + n].copy_from_slice(&s[..n]);
        self.pos += n;
    }
}

/// The C form of a disk's attributes: the attributes, the NULL-terminated array of their
/// pointers, the group and the NULL-terminated array of groups, in one allocation that does
/// not move while the disk exists.
#[repr(C)]
struct AttributeSlot<T: Operations> {
    attr: bindings::device_attribute,
    show: ShowFn<T>,
    store: Option<StoreFn<T>>,
}

struct AttributeGroup<T: Operations> {
    slots: KVec<AttributeSlot<T>>,
    ptrs: KVec<*mut bindings::attribute>,
    group: bindings::attribute_group,
    groups: [*const bindings::attribute_group; 2],
}

impl<T: Operations> AttributeGroup<T> {
    fn new(attrs: &[Attribute<T>]) -> Result<Pin<KBox<Self>>> {
        let mut slots = KVec::with_capacity(attrs.len(), GFP_KERNEL)?;
        for a in attrs {
            let mut attr: bindings::device_attribute = pin_init::zeroed();
            attr.attr.name = a.name.as_char_ptr();
            attr.attr.mode = if a.store.is_some() { 0o644 } else { 0o444 };
            // Dynamically allocated attributes need a static lockdep key (`sysfs_attr_init()`).
            #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
            {
                attr.attr.key = static_lock_class!().as_ptr();
            }
            attr.__bindgen_anon_1.show = Some(Self::show_callback);
            if a.store.is_some() {
                attr.__bindgen_anon_2.store = Some(Self::store_callback);
            }
            slots.push(
                AttributeSlot {
                    attr,
                    show: a.show,
                    store: a.store,
                },
                GFP_KERNEL,
            )?;
        }
        let mut ptrs = KVec::with_capacity(attrs.len() + 1, GFP_KERNEL)?;
        let mut this = KBox::new(
            Self {
                slots,
                ptrs: KVec::new(),
                group: pin_init::zeroed(),
                groups: [ptr::null(); 2],
            },
            GFP_KERNEL,
        )?;
        for slot in this.slots.iter_mut() {
            ptrs.push(&raw mut slot.attr.attr, GFP_KERNEL)?;
        }
        ptrs.push(ptr::null_mut(), GFP_KERNEL)?;
        this.ptrs = ptrs;
        this.group.__bindgen_anon_2.attrs = this.ptrs.as_mut_ptr();
        this.groups[0] = &raw const this.group;
        Ok(KBox::into_pin(this))
    }

    /// # Safety
    ///
    /// Called by sysfs for an attribute of a slot of a live disk of driver `T`, with `buf` a
    /// page.
    unsafe extern "C" fn show_callback(
        dev: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *mut kernel::ffi::c_char,
    ) -> isize {
        // CAST: `attr` is the first field of a `#[repr(C)]` `AttributeSlot<T>`.
        // SAFETY: The slot lives as long as the disk's sysfs files.
        let slot = unsafe { &*attr.cast::<AttributeSlot<T>>() };
        // SAFETY: `dev` is the device of a disk (the attribute's group is only added to the
        // disks of `GenDisk<T>`), whose queue data is valid until the disk is deleted, which
        // removes this file first.
        let (queue, queue_data) = unsafe {
            let queue = (*bindings::dev_to_disk(dev)).queue;
            (
                &*queue.cast::<RequestQueue<T>>(),
                T::QueueData::borrow((*queue).queuedata),
            )
        };
        // SAFETY: sysfs passes a buffer of `PAGE_SIZE` bytes, ours while the call runs.
        let page =
            unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), bindings::PAGE_SIZE) };
        let mut w = SysfsWriter { buf: page, pos: 0 };
        match (slot.show)(queue, queue_data, &mut w) {
            Ok(()) => w.pos as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// As for `show_callback`, with `buf` holding `count` bytes.
    unsafe extern "C" fn store_callback(
        dev: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *const kernel::ffi::c_char,
        count: usize,
    ) -> isize {
        // CAST: `attr` is the first field of a `#[repr(C)]` `AttributeSlot<T>`.
        // SAFETY: As in `show_callback`.
        let slot = unsafe { &*attr.cast::<AttributeSlot<T>>() };
        let Some(store) = slot.store else {
            return EACCES.to_errno() as isize;
        };
        // SAFETY: As in `show_callback`.
        let (queue, queue_data) = unsafe {
            let queue = (*bindings::dev_to_disk(dev)).queue;
            (
                &*queue.cast::<RequestQueue<T>>(),
                T::QueueData::borrow((*queue).queuedata),
            )
        };
        // SAFETY: sysfs passes `count` bytes, valid while the call runs.
        let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
        match store(queue, queue_data, input) {
            Ok(()) => count as isize,
            Err(e) => e.to_errno() as isize,
        }
    }
}

/// A builder for [`GenDisk`].
///
/// Use this struct to configure and add new [`GenDisk`] to the VFS.
pub struct GenDiskBuilder<T: Operations> {
    limits: Limits,
    capacity_sectors: u64,
    read_only: bool,
    major: u32,
    first_minor: u32,
    minors: u32,
    attributes: &'static [Attribute<T>],
    geometry: Option<Geometry>,
    kept: Option<Kept>,
}

impl<T: Operations> Default for GenDiskBuilder<T> {
    fn default() -> Self {
        Self {
            limits: Limits::new()
                .logical_block_size(bindings::PAGE_SIZE as u32)
                .physical_block_size(bindings::PAGE_SIZE as u32),
            capacity_sectors: 0,
            read_only: false,
            major: 0,
            first_minor: 0,
            minors: 0,
            attributes: &[],
            geometry: None,
            kept: None,
        }
    }
}

impl<T: Operations> GenDiskBuilder<T> {
    /// Create a new instance.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the rotational media attribute for the device to be built.
    pub fn rotational(mut self, rotational: bool) -> Self {
        self.limits = self.limits.rotational(rotational);
        self
    }

    /// Validates a block size as the block layer does (`blk_validate_block_size()`): a power
    /// of two from 512 to the largest block size the kernel supports (the page size, or 64 KiB
    /// with transparent huge pages).
    pub fn validate_block_size(size: u32) -> Result {
        let size = usize::try_from(size).map_err(|_| error::code::EINVAL)?;
        // SAFETY: `blk_validate_block_size()` only checks the number.
        error::to_result(unsafe { bindings::blk_validate_block_size(size) })
    }

    /// Set the logical block size of the device to be built.
    ///
    /// This method will check the block size with [`Self::validate_block_size`]. If it is
    /// not valid, an error is returned and the block size is not set.
    ///
    /// This is the smallest unit the storage device can address. It is
    /// typically 4096 bytes.
    pub fn logical_block_size(mut self, block_size: u32) -> Result<Self> {
        Self::validate_block_size(block_size)?;
        self.limits = self.limits.logical_block_size(block_size);
        Ok(self)
    }

    /// Set the physical block size of the device to be built.
    ///
    /// This method will check the block size with [`Self::validate_block_size`]. If it is
    /// not valid, an error is returned and the block size is not set.
    ///
    /// This is the smallest unit a physical storage device can write
    /// atomically. It is usually the same as the logical block size but may be
    /// bigger. One example is SATA drives with 4096 byte physical block size
    /// that expose a 512 byte logical block size to the operating system.
    pub fn physical_block_size(mut self, block_size: u32) -> Result<Self> {
        Self::validate_block_size(block_size)?;
        self.limits = self.limits.physical_block_size(block_size);
        Ok(self)
    }

    /// Sets every queue limit at once (replacing block sizes and rotational set before).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Set the capacity of the device to be built, in sectors (512 bytes).
    pub fn capacity_sectors(mut self, capacity: u64) -> Self {
        self.capacity_sectors = capacity;
        self
    }

    /// Makes the disk read-only (`set_disk_ro()`), for devices that refuse writes.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Uses the device numbers `major:first_minor` to `major:first_minor + minors - 1` for the
    /// disk and its partitions, instead of dynamically allocated ones.
    pub fn device_numbers(mut self, major: u32, first_minor: u32, minors: u32) -> Self {
        self.major = major;
        self.first_minor = first_minor;
        self.minors = minors;
        self
    }

    /// Adds read-only sysfs attributes to the disk's directory.
    pub fn attributes(mut self, attributes: &'static [Attribute<T>]) -> Self {
        self.attributes = attributes;
        self
    }

    /// Sets the geometry `HDIO_GETGEO` reports. Without one, it reports 64 heads and 32
    /// sectors per track with as many cylinders as the capacity gives, like SCSI disks.
    pub fn geometry(mut self, geometry: Option<Geometry>) -> Self {
        self.geometry = geometry;
        self
    }

    /// Keeps `value` until the disk is released (`free_disk`), which can be long after the
    /// driver deleted it, as an open disk outlives its driver: for what must stay reserved as
    /// long as the disk exists, such as the index its name and minor numbers come from.
    pub fn keep_until_release<D: Send + 'static>(mut self, value: KBox<D>) -> Self {
        self.kept = Some(Kept::new(value));
        self
    }

    /// Build a new `GenDisk` and add it to the VFS, as a child of `parent` if given.
    pub fn build(
        self,
        name: fmt::Arguments<'_>,
        tagset: Arc<TagSet<T>>,
        queue_data: T::QueueData,
        parent: Option<&Device>,
    ) -> Result<GenDisk<T>> {
        let attributes = if self.attributes.is_empty() {
            None
        } else {
            Some(AttributeGroup::new(self.attributes)?)
        };

        let private = KBox::new(
            DiskPrivate {
                geometry: self.geometry,
                _kept: self.kept,
            },
            GFP_KERNEL,
        )?;

        let data = queue_data.into_foreign();
        let recover_data = ScopeGuard::new(|| {
            // SAFETY: T::QueueData was created by the call to `into_foreign()` above
            drop(unsafe { T::QueueData::from_foreign(data) });
        });

        let mut lim = self.limits.raw;

        // SAFETY: `tagset.raw_tag_set()` points to a valid and initialized tag set
        let gendisk = from_err_ptr(unsafe {
            bindings::__blk_mq_alloc_disk(
                tagset.raw_tag_set(),
                &mut lim,
                data,
                static_lock_class!().as_ptr(),
            )
        })?;

        let private = KBox::into_raw(private);
        // SAFETY: `gendisk` is a valid pointer as we initialized it above. Once the disk is
        // added, `private_data` is freed by `free_disk`, when the disk is released.
        unsafe {
            (*gendisk).private_data = private.cast();
            (*gendisk).fops = GenDiskVTable::<T>::build();
        }

        let cleanup_failure = ScopeGuard::new_with_data((gendisk, data), move |(gendisk, data)| {
            // SAFETY: `gendisk` came from `__blk_mq_alloc_disk()` above and
            // has not been added to the VFS on this cleanup path.
            unsafe { bindings::put_disk(gendisk) };
            // SAFETY: `data` came from `into_foreign()` above and has not been
            // converted back on this cleanup path.
            drop(unsafe { T::QueueData::from_foreign(data) });
            // SAFETY: The disk was never added, so `free_disk` does not run: the private data
            // from `KBox::into_raw` above is ours to free.
            drop(unsafe { KBox::from_raw(private) });
        });

        // The failure guard now owns both pieces of cleanup; the early guard
        // must not run on this path anymore.
        recover_data.dismiss();

        // SAFETY: `gendisk` is valid and not yet added; the fields are ours to set.
        unsafe {
            (*gendisk).major = self.major as i32;
            (*gendisk).first_minor = self.first_minor as i32;
            (*gendisk).minors = self.minors as i32;
        }

        let mut writer = NullTerminatedFormatter::new(
            // SAFETY: `gendisk` points to a valid and initialized instance. We
            // have exclusive access, since the disk is not added to the VFS
            // yet.
            unsafe { &mut (*gendisk).disk_name },
        )
        .ok_or(EINVAL)?;
        writer.write_fmt(name)?;

        // SAFETY: `gendisk` points to a valid and initialized instance of
        // `struct gendisk`. `set_capacity` takes a lock to synchronize this
        // operation, so we will not race.
        unsafe { bindings::set_capacity(gendisk, self.capacity_sectors) };
        if self.read_only {
            // SAFETY: `gendisk` is valid.
            unsafe { bindings::set_disk_ro(gendisk, true) };
        }

        let groups = attributes
            .as_ref()
            .map_or(ptr::null(), |a| a.groups.as_ptr());
        let parent = parent.map_or(ptr::null_mut(), super::super::device_raw);

        // SAFETY: `gendisk` points to a valid and initialized instance of
        // `struct gendisk`. `parent`, if not null, is a bound device that outlives the disk
        // (the driver deletes the disk before unbinding); `groups` lives in the returned
        // `GenDisk`, which deletes the disk before freeing them.
        error::to_result(unsafe { bindings::device_add_disk(parent, gendisk, groups.cast_mut()) })?;

        cleanup_failure.dismiss();

        // INVARIANT: `gendisk` was initialized above.
        // INVARIANT: `gendisk` was added to the VFS via `device_add_disk` above.
        // INVARIANT: `gendisk.queue.queue_data` is set to `data` in the call to
        // `__blk_mq_alloc_disk` above.
        Ok(GenDisk {
            _tagset: tagset,
            gendisk,
            _attributes: attributes,
        })
    }
}

/// The block device operations (`struct block_device_operations`) of the disks of `T`.
struct GenDiskVTable<T: Operations>(PhantomData<T>);

impl<T: Operations> GenDiskVTable<T> {
    /// # Safety
    ///
    /// Called by the block layer for a disk of driver `T` that has not been freed.
    unsafe extern "C" fn getgeo_callback(
        disk: *mut bindings::gendisk,
        geo: *mut bindings::hd_geometry,
    ) -> kernel::ffi::c_int {
        // SAFETY: `private_data` is the `DiskPrivate` set by `build`, valid until `free_disk`.
        let (private, capacity) = unsafe {
            (
                &*(*disk).private_data.cast::<DiskPrivate>(),
                bindings::get_capacity(disk),
            )
        };
        let g = private.geometry.unwrap_or(Geometry {
            heads: 1 << 6,
            sectors: 1 << 5,
            cylinders: (capacity >> 11) as u16,
        });
        // SAFETY: `geo` is valid for writes.
        unsafe { bindings::hd_geometry_set(geo, g.heads, g.sectors, g.cylinders) };
        0
    }

    /// # Safety
    ///
    /// Called by the block layer once, when the disk is released.
    unsafe extern "C" fn free_disk_callback(disk: *mut bindings::gendisk) {
        // SAFETY: `private_data` is the `DiskPrivate` set by `build`; nothing uses it after.
        drop(unsafe { KBox::from_raw((*disk).private_data.cast::<DiskPrivate>()) });
    }

    const VTABLE: bindings::block_device_operations = bindings::block_device_operations {
        getgeo: Some(Self::getgeo_callback),
        free_disk: Some(Self::free_disk_callback),
        // The module cannot be unloaded while one of its disks is open.
        owner: kernel::module::this_module::<T::OwnerModule>().as_ptr(),
        ..pin_init::zeroed()
    };

    const fn build() -> &'static bindings::block_device_operations {
        &Self::VTABLE
    }
}

/// A generic block device.
///
/// # Invariants
///
///  - `gendisk` must always point to an initialized and valid `struct gendisk`.
///  - `gendisk` was added to the VFS through a call to
///    `bindings::device_add_disk`.
///  - `self.gendisk.queue.queuedata` is initialized by a call to `ForeignOwnable::into_foreign`.
pub struct GenDisk<T: Operations> {
    _tagset: Arc<TagSet<T>>,
    gendisk: *mut bindings::gendisk,
    _attributes: Option<Pin<KBox<AttributeGroup<T>>>>,
}

// SAFETY: `GenDisk` is an owned pointer to a `struct gendisk` and an `Arc` to a
// `TagSet`. It is safe to send this to other threads as long as these two are `Send`.
unsafe impl<T> Send for GenDisk<T>
where
    T: Operations,
    T::QueueData: Send,
    Arc<TagSet<T>>: Send,
{
}

// SAFETY: The methods taking `&self` call block layer functions that synchronise themselves.
unsafe impl<T> Sync for GenDisk<T>
where
    T: Operations,
    T::QueueData: Send,
    Arc<TagSet<T>>: Sync,
{
}

impl<T: Operations> GenDisk<T> {
    /// The disk's capacity, in sectors.
    pub fn capacity(&self) -> u64 {
        // SAFETY: By the type invariant `gendisk` is valid.
        unsafe { bindings::get_capacity(self.gendisk) }
    }

    /// Sets the capacity, in sectors, and tells userspace if it changed (a `RESIZE=1` uevent;
    /// `set_capacity_and_notify()`). Returns whether the event was sent.
    pub fn set_capacity_and_notify(&self, sectors: u64) -> bool {
        // SAFETY: By the type invariant `gendisk` is valid.
        unsafe { bindings::set_capacity_and_notify(self.gendisk, sectors) }
    }

    /// The disk's name (`vda`, `nullb0`, ...).
    pub fn name(&self) -> &CStr {
        // SAFETY: By the type invariant `gendisk` is valid; its name was written by
        // `GenDiskBuilder::build` (NUL-terminated) and does not change.
        unsafe { CStr::from_char_ptr((*self.gendisk).disk_name.as_ptr()) }
    }

    /// The disk's request queue.
    pub fn queue(&self) -> &RequestQueue<T> {
        // SAFETY: By the type invariant `gendisk` is valid; its queue lives as long as it
        // does. `RequestQueue` is a transparent wrapper.
        unsafe { &*(*self.gendisk).queue.cast() }
    }
}

impl<T: Operations> Drop for GenDisk<T> {
    fn drop(&mut self) {
        // SAFETY: By type invariant of `Self`, `self.gendisk` points to a valid
        // and initialized instance of `struct gendisk`, and, `queuedata` was
        // initialized with the result of a call to
        // `ForeignOwnable::into_foreign`.
        let queue_data = unsafe { (*(*self.gendisk).queue).queuedata };

        // SAFETY: By type invariant, `self.gendisk` points to a valid and
        // initialized instance of `struct gendisk`, and it was previously added
        // to the VFS.
        unsafe { bindings::del_gendisk(self.gendisk) };

        // SAFETY: By type invariant, `self.gendisk` was added to the VFS, so
        // `put_disk()` must follow `del_gendisk()` to drop the final gendisk
        // reference and trigger the remaining release path.
        unsafe { bindings::put_disk(self.gendisk) };

        // SAFETY: `queue.queuedata` was created by `GenDiskBuilder::build` with
        // a call to `ForeignOwnable::into_foreign` to create `queuedata`.
        // `ForeignOwnable::from_foreign` is only called here. The disk was deleted above,
        // so its sysfs files and operations no longer reach it.
        drop(unsafe { T::QueueData::from_foreign(queue_data) });
    }
}
