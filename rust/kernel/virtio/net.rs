// SPDX-License-Identifier: GPL-2.0

//! The virtio network device protocol.
//!
//! C header: [`include/uapi/linux/virtio_net.h`](srctree/include/uapi/linux/virtio_net.h)
//!
//! The configuration layout of virtio-net devices.

use crate::bindings;

/// The configuration layout of network devices (`struct virtio_net_config`).
pub type Config = bindings::virtio_net_config;

// SAFETY: `struct virtio_net_config` is the configuration layout of network devices; its fields
// are integers and an array of bytes (the MAC address).
unsafe impl super::DeviceConfig for Config {
    const DEVICE_ID: u32 = super::ids::NET;
}

/// The fields of the configuration space (`struct virtio_net_config`).
pub mod config {
    use super::Config;
    use crate::virtio::ConfigField;

    /// The link status (`VIRTIO_NET_S_LINK_UP`, `VIRTIO_NET_S_ANNOUNCE`).
    pub const STATUS: ConfigField<Config, u16> = crate::virtio_config_field!(Config, status);
    /// The most receive/transmit queue pairs.
    pub const MAX_VIRTQUEUE_PAIRS: ConfigField<Config, u16> =
        crate::virtio_config_field!(Config, max_virtqueue_pairs);
    /// The largest MTU the driver should use.
    pub const MTU: ConfigField<Config, u16> = crate::virtio_config_field!(Config, mtu);
}

/// Feature bits of network devices.
pub mod features {
    use crate::bindings;

    /// The device has a MAC address in its configuration.
    pub const MAC: u32 = bindings::VIRTIO_NET_F_MAC;
    /// The device reports its link status in its configuration.
    pub const STATUS: u32 = bindings::VIRTIO_NET_F_STATUS;
    /// The device has a control queue.
    pub const CTRL_VQ: u32 = bindings::VIRTIO_NET_F_CTRL_VQ;
    /// The control queue accepts receive mode commands (promiscuous, all-multicast).
    pub const CTRL_RX: u32 = bindings::VIRTIO_NET_F_CTRL_RX;
}

/// Control queue commands and their acknowledgement (`VIRTIO_NET_CTRL_*`, `VIRTIO_NET_OK`).
pub mod ctrl {
    use crate::bindings;

    /// The class of receive mode commands.
    pub const RX: u8 = bindings::VIRTIO_NET_CTRL_RX as u8;
    /// Turns promiscuous mode on (1) or off (0).
    pub const RX_PROMISC: u8 = bindings::VIRTIO_NET_CTRL_RX_PROMISC as u8;
    /// The device carried the command out.
    pub const OK: u8 = bindings::VIRTIO_NET_OK as u8;
}

#[cfg(rvirtio_kunit)]
use kernel::prelude::kunit_tests;

#[cfg(rvirtio_kunit)]
#[kunit_tests(rvirtio_net_protocol)]
mod tests {
    /// Fails if a configuration field is read at an offset other than the one the virtio
    /// specification gives (section 5.1.4): the driver would misread the link status.
    #[test]
    fn config_offsets_match_the_specification() {
        use super::config;
        assert_eq!(config::STATUS.offset(), 6);
        assert_eq!(config::MAX_VIRTQUEUE_PAIRS.offset(), 8);
        assert_eq!(config::MTU.offset(), 10);
    }
}
