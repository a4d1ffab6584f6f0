/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers for the C API that the rvirtio abstractions use beyond what the
 * kernel's own rust/bindings/bindings_helper.h covers.
 *
 * In the kernel tree these includes join rust/bindings/bindings_helper.h.
 * Out of tree, Kbuild runs bindgen over this file with an allowlist of these
 * headers only, so every type they merely refer to (struct device, spinlock_t,
 * list_head, ...) is the kernel crate's own binding, not a duplicate.
 */

#include <linux/hw_random.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_features.h>
#include <uapi/linux/virtio_config.h>
#include <uapi/linux/virtio_ids.h>
