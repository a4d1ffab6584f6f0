// SPDX-License-Identifier: GPL-2.0

#include <linux/blk-mq.h>
#include <linux/blkdev.h>

__rust_helper struct gendisk *rust_helper_dev_to_disk(struct device *dev)
{
	return dev_to_disk(dev);
}

__rust_helper sector_t rust_helper_get_capacity(struct gendisk *disk)
{
	return get_capacity(disk);
}

__rust_helper unsigned short rust_helper_blk_rq_nr_phys_segments(struct request *rq)
{
	return blk_rq_nr_phys_segments(rq);
}

__rust_helper unsigned short rust_helper_blk_rq_nr_discard_segments(struct request *rq)
{
	return blk_rq_nr_discard_segments(rq);
}

__rust_helper unsigned short rust_helper_queue_max_discard_segments(const struct request_queue *q)
{
	return queue_max_discard_segments(q);
}

__rust_helper int rust_helper_blk_validate_block_size(unsigned long bsize)
{
	return blk_validate_block_size(bsize);
}

__rust_helper enum mq_rq_state rust_helper_blk_mq_rq_state(struct request *rq)
{
	return blk_mq_rq_state(rq);
}

__rust_helper unsigned short rust_helper_req_get_ioprio(struct request *req)
{
	return req_get_ioprio(req);
}

/*
 * Fills the geometry of a getgeo() call: struct hd_geometry (linux/hdreg.h)
 * is not among the headers the bindings are generated from.
 */
#include <linux/hdreg.h>

__rust_helper void rust_helper_hd_geometry_set(struct hd_geometry *geo,
					       unsigned char heads,
					       unsigned char sectors,
					       unsigned short cylinders)
{
	geo->heads = heads;
	geo->sectors = sectors;
	geo->cylinders = cylinders;
}

__rust_helper struct queue_limits
rust_helper_queue_limits_start_update(struct request_queue *q)
{
	return queue_limits_start_update(q);
}
