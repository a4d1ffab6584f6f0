// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of the binding checks in rvirtio_kunit: sizes and offsets as the
 * C compiler sees them, for the Rust side to compare with what bindgen
 * generated for the same build.
 */

#include <linux/stddef.h>
#include <linux/virtio.h>

size_t rvirtio_kunit_c_layout(unsigned int what);

size_t rvirtio_kunit_c_layout(unsigned int what)
{
	switch (what) {
	case 0:
		return sizeof(struct virtio_device);
	case 1:
		return offsetof(struct virtio_device, dev);
	case 2:
		return offsetof(struct virtio_device, features_array);
	case 3:
		return offsetof(struct virtio_device, priv);
	case 4:
		return sizeof(struct virtio_device_id);
	case 5:
		return sizeof(struct virtqueue);
	default:
		return SIZE_MAX;
	}
}
