// SPDX-License-Identifier: GPL-2.0

//! ethtool operations of network devices (`struct ethtool_ops`).
//!
//! The table is built from a driver's [`Operations`]: `get_link` and `get_ts_info` are the
//! core's generic ones (`ethtool_op_get_link()`, `ethtool_op_get_ts_info()`), as in most
//! drivers; `get_drvinfo`, `get_link_ksettings`, `get_ringparam`, `get_channels` and the
//! statistics (`ethtool -S`: the names are the driver's constant
//! [`Operations::ETHTOOL_STATS`], so their number cannot change between the core's calls)
//! come from the driver if it implements them. Without a `get_drvinfo`, the ethtool core
//! reports the driver's name and the name of the parent device (`ethtool -i`).
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)

use super::netdevice::{
    Device,
    Operations, //
};
use crate::bindings;
use core::marker::PhantomData;
use kernel::{
    prelude::*,
    str::CStr, //
};

/// Driver information (`struct ethtool_drvinfo`, `ethtool -i`), filled in by
/// [`Operations::get_drvinfo`]. Strings longer than their field are cut.
#[repr(transparent)]
pub struct DrvInfo(bindings::ethtool_drvinfo);

impl DrvInfo {
    fn copy(dst: &mut [kernel::ffi::c_char], src: &[u8]) {
        let n = src.len().min(dst.len().saturating_sub(1));
        for (d, &s) in dst.iter_mut().zip(&src[..n]) {
            *d = s as kernel::ffi::c_char;
        }
        if let Some(end) = dst.get_mut(n) {
            *end = 0;
        }
    }

    /// Sets the driver's name.
    pub fn set_driver(&mut self, name: &CStr) {
        Self::copy(&mut self.0.driver, name.to_bytes());
    }

    /// Sets the driver's version.
    pub fn set_version(&mut self, version: &CStr) {
        Self::copy(&mut self.0.version, version.to_bytes());
    }

    /// Sets the device's bus address.
    pub fn set_bus_info(&mut self, bus_info: &[u8]) {
        Self::copy(&mut self.0.bus_info, bus_info);
    }
}

/// Ring sizes of a device (`ethtool -g`): the largest each queue supports and the current ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingParam {
    /// The largest receive ring.
    pub rx_max: u32,
    /// The largest transmit ring.
    pub tx_max: u32,
    /// The current receive ring.
    pub rx: u32,
    /// The current transmit ring.
    pub tx: u32,
}

/// Queue counts of a device (`ethtool -l`), as combined receive/transmit channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Channels {
    /// The most channels the device supports.
    pub max_combined: u32,
    /// The channels in use.
    pub combined: u32,
}

/// The physical port of a device (`PORT_*`), for [`LinkSettings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// Twisted pair (`PORT_TP`).
    TwistedPair,
    /// Anything else, a virtual device's included (`PORT_OTHER`).
    Other,
}

/// Link settings (`ethtool IFACE`), for [`Operations::get_link_ksettings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkSettings {
    /// The speed in Mbit/s, if known.
    pub speed: Option<u32>,
    /// Full duplex (`true`) or half, if known.
    pub full_duplex: Option<bool>,
    /// The port.
    pub port: Port,
}

pub(crate) struct EthtoolVTable<T: Operations>(PhantomData<T>);

impl<T: Operations> EthtoolVTable<T> {
    /// # Safety
    ///
    /// `dev` must be a registered device of driver `T` and `ring` valid for writes (the
    /// ethtool core calls the table only so).
    unsafe extern "C" fn get_ringparam_callback(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kernel_ring: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: By the safety requirements `dev` is a device of `T`, valid during the call.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        let r = T::get_ringparam(dev);
        // SAFETY: By the safety requirements `ring` is valid for writes.
        let ring = unsafe { &mut *ring };
        ring.rx_max_pending = r.rx_max;
        ring.tx_max_pending = r.tx_max;
        ring.rx_pending = r.rx;
        ring.tx_pending = r.tx;
    }

    /// # Safety
    ///
    /// As for `get_ringparam_callback`, for `info`.
    unsafe extern "C" fn get_drvinfo_callback(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: As in `get_ringparam_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        // SAFETY: By the safety requirements `info` is valid for writes, and 4-byte aligned as
        // its type (the core keeps it on its stack); `DrvInfo` is a transparent wrapper.
        let info = unsafe { &mut *info.cast::<DrvInfo>() };
        T::get_drvinfo(dev, info);
    }

    /// # Safety
    ///
    /// As for `get_ringparam_callback`, for `channels`.
    unsafe extern "C" fn get_channels_callback(
        dev: *mut bindings::net_device,
        channels: *mut bindings::ethtool_channels,
    ) {
        // SAFETY: As in `get_ringparam_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        let c = T::get_channels(dev);
        // SAFETY: By the safety requirements `channels` is valid for writes.
        let channels = unsafe { &mut *channels };
        channels.max_combined = c.max_combined;
        channels.combined_count = c.combined;
    }

    /// # Safety
    ///
    /// As for `get_ringparam_callback`, for `cmd`.
    unsafe extern "C" fn get_link_ksettings_callback(
        dev: *mut bindings::net_device,
        cmd: *mut bindings::ethtool_link_ksettings,
    ) -> kernel::ffi::c_int {
        // SAFETY: As in `get_ringparam_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        let l = T::get_link_ksettings(dev);
        // SAFETY: By the safety requirements `cmd` is valid for writes.
        let base = unsafe { &mut (*cmd).base };
        // `SPEED_UNKNOWN` is -1 in a `u32`.
        base.speed = l.speed.unwrap_or(bindings::SPEED_UNKNOWN as u32);
        // The duplex and port constants fit in the `u8` fields.
        base.duplex = match l.full_duplex {
            Some(true) => bindings::DUPLEX_FULL,
            Some(false) => bindings::DUPLEX_HALF,
            None => bindings::DUPLEX_UNKNOWN,
        } as u8;
        base.port = match l.port {
            Port::TwistedPair => bindings::PORT_TP,
            Port::Other => bindings::PORT_OTHER,
        } as u8;
        0
    }

    /// # Safety
    ///
    /// `dev` must be a registered device of driver `T` (the ethtool core calls the table only
    /// so).
    unsafe extern "C" fn get_sset_count_callback(
        _dev: *mut bindings::net_device,
        sset: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        match u32::try_from(sset) {
            Ok(bindings::ethtool_stringset_ETH_SS_STATS) => {
                kernel::ffi::c_int::try_from(T::ETHTOOL_STATS.len()).unwrap_or(0)
            }
            _ => EOPNOTSUPP.to_errno(),
        }
    }

    /// # Safety
    ///
    /// As for `get_sset_count_callback`; for the statistics set, `data` must be valid for
    /// writes of `ETH_GSTRING_LEN` bytes per name that `get_sset_count` reported.
    unsafe extern "C" fn get_strings_callback(
        _dev: *mut bindings::net_device,
        sset: u32,
        data: *mut u8,
    ) {
        if sset != bindings::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        let len = bindings::ETH_GSTRING_LEN as usize;
        // SAFETY: By the safety requirements `data` has room for a string per name; the names
        // are a constant of the driver, so their number is the one reported.
        let out = unsafe { core::slice::from_raw_parts_mut(data, len * T::ETHTOOL_STATS.len()) };
        for (slot, name) in out.chunks_exact_mut(len).zip(T::ETHTOOL_STATS) {
            let name = name.to_bytes();
            let n = name.len().min(len - 1);
            slot[..n].copy_from_slice(&name[..n]);
            slot[n..].fill(0);
        }
    }

    /// # Safety
    ///
    /// As for `get_sset_count_callback`; `data` must be valid for writes of one `u64` per
    /// name that `get_sset_count` reported.
    unsafe extern "C" fn get_ethtool_stats_callback(
        dev: *mut bindings::net_device,
        _stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: As in `get_ringparam_callback`.
        let dev = unsafe { Device::<T>::from_raw(dev) };
        // SAFETY: By the safety requirements `data` holds a value per name (the core allocates
        // it, aligned, from the count); the names are a constant of the driver.
        let values = unsafe { core::slice::from_raw_parts_mut(data, T::ETHTOOL_STATS.len()) };
        values.fill(0);
        T::get_ethtool_stats(dev, values);
    }

    pub(crate) const OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        get_drvinfo: if T::HAS_GET_DRVINFO {
            Some(Self::get_drvinfo_callback)
        } else {
            None
        },
        get_link: Some(bindings::ethtool_op_get_link),
        get_link_ksettings: if T::HAS_GET_LINK_KSETTINGS {
            Some(Self::get_link_ksettings_callback)
        } else {
            None
        },
        get_sset_count: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_sset_count_callback)
        } else {
            None
        },
        get_strings: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_strings_callback)
        } else {
            None
        },
        get_ethtool_stats: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_ethtool_stats_callback)
        } else {
            None
        },
        get_ts_info: Some(bindings::ethtool_op_get_ts_info),
        get_ringparam: if T::HAS_GET_RINGPARAM {
            Some(Self::get_ringparam_callback)
        } else {
            None
        },
        get_channels: if T::HAS_GET_CHANNELS {
            Some(Self::get_channels_callback)
        } else {
            None
        },
        // SAFETY: A table of optional function pointers and flags: all zeroes is "none".
        ..unsafe { core::mem::zeroed() }
    };
}

#[cfg(rvirtio_kunit)]
use kernel::prelude::kunit_tests;

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_ethtool)]
mod tests {
    use super::*;

    fn field(f: &[kernel::ffi::c_char]) -> &[u8] {
        // SAFETY: `c_char` and `u8` have the same size and alignment.
        let bytes = unsafe { core::slice::from_raw_parts(f.as_ptr().cast::<u8>(), f.len()) };
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        &bytes[..end]
    }

    /// Fails if a string is copied without its terminating NUL or past its field: ethtool
    /// would print (or the kernel copy out) the bytes that follow.
    #[test]
    fn strings_are_cut_and_terminated() {
        let mut info = DrvInfo(bindings::ethtool_drvinfo::default());
        info.set_driver(c"rvirtio_net");
        info.set_version(c"1.0.0");
        let long = [b'x'; 40];
        info.set_bus_info(&long);
        assert_eq!(field(&info.0.driver), b"rvirtio_net");
        assert_eq!(field(&info.0.version), b"1.0.0");
        // 32 bytes: 31 of the string and the NUL.
        assert_eq!(info.0.bus_info.len(), 32);
        assert_eq!(field(&info.0.bus_info), &long[..31]);
        assert_eq!(info.0.bus_info[31], 0);
        info.set_bus_info(b"");
        assert_eq!(field(&info.0.bus_info), b"");
    }
}
