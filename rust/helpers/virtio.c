// SPDX-License-Identifier: GPL-2.0

#include <linux/virtio.h>
#include <linux/virtio_config.h>

__rust_helper bool rust_helper_virtio_has_feature(const struct virtio_device *vdev,
						  unsigned int fbit)
{
	return virtio_has_feature(vdev, fbit);
}

__rust_helper bool rust_helper___virtio_test_bit(const struct virtio_device *vdev,
						 unsigned int fbit)
{
	return __virtio_test_bit(vdev, fbit);
}

__rust_helper void rust_helper___virtio_clear_bit(struct virtio_device *vdev,
						  unsigned int fbit)
{
	__virtio_clear_bit(vdev, fbit);
}

__rust_helper bool rust_helper_virtio_is_little_endian(struct virtio_device *vdev)
{
	return virtio_is_little_endian(vdev);
}

__rust_helper u16 rust_helper_virtio16_to_cpu(struct virtio_device *vdev,
					      __virtio16 val)
{
	return virtio16_to_cpu(vdev, val);
}

__rust_helper void rust_helper_virtio_device_ready(struct virtio_device *vdev)
{
	virtio_device_ready(vdev);
}

__rust_helper int rust_helper_virtio_find_vqs(struct virtio_device *vdev,
					      unsigned int nvqs,
					      struct virtqueue *vqs[],
					      struct virtqueue_info vqs_info[],
					      struct irq_affinity *desc)
{
	return virtio_find_vqs(vdev, nvqs, vqs, vqs_info, desc);
}

/* There is no C wrapper for this transport operation; name it like one. */
__rust_helper void rust_helper_virtio_del_vqs(struct virtio_device *vdev)
{
	vdev->config->del_vqs(vdev);
}

__rust_helper u32 rust_helper_virtio_config_generation(struct virtio_device *vdev)
{
	return vdev->config->generation ? vdev->config->generation(vdev) : 0;
}

__rust_helper u8 rust_helper_virtio_cread8(struct virtio_device *vdev,
					   unsigned int offset)
{
	return virtio_cread8(vdev, offset);
}

__rust_helper u16 rust_helper_virtio_cread16(struct virtio_device *vdev,
					     unsigned int offset)
{
	return virtio_cread16(vdev, offset);
}

__rust_helper u32 rust_helper_virtio_cread32(struct virtio_device *vdev,
					     unsigned int offset)
{
	return virtio_cread32(vdev, offset);
}

__rust_helper u64 rust_helper_virtio_cread64(struct virtio_device *vdev,
					     unsigned int offset)
{
	return virtio_cread64(vdev, offset);
}

__rust_helper void rust_helper_virtio_cwrite8(struct virtio_device *vdev,
					      unsigned int offset, u8 val)
{
	virtio_cwrite8(vdev, offset, val);
}

__rust_helper void rust_helper_virtio_cwrite16(struct virtio_device *vdev,
					       unsigned int offset, u16 val)
{
	virtio_cwrite16(vdev, offset, val);
}

__rust_helper void rust_helper_virtio_cwrite32(struct virtio_device *vdev,
					       unsigned int offset, u32 val)
{
	virtio_cwrite32(vdev, offset, val);
}

__rust_helper int rust_helper_virtqueue_set_affinity(struct virtqueue *vq,
						     const struct cpumask *cpu_mask)
{
	return virtqueue_set_affinity(vq, cpu_mask);
}

__rust_helper void rust_helper_virtio_cwrite64(struct virtio_device *vdev,
					       unsigned int offset, u64 val)
{
	virtio_cwrite64(vdev, offset, val);
}

/* There is no C wrapper for this transport operation; name it like one. */
__rust_helper u8 rust_helper_virtio_get_status(struct virtio_device *vdev)
{
	return vdev->config->get_status(vdev);
}

__rust_helper const char *rust_helper_virtio_bus_name(struct virtio_device *vdev)
{
	return virtio_bus_name(vdev);
}
