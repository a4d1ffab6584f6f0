// SPDX-License-Identifier: GPL-2.0

#include <linux/mm.h>
#include <linux/scatterlist.h>

__rust_helper void rust_helper_sg_set_page(struct scatterlist *sg,
					   struct page *page, unsigned int len,
					   unsigned int offset)
{
	sg_set_page(sg, page, len, offset);
}

__rust_helper void rust_helper_sg_mark_end(struct scatterlist *sg)
{
	sg_mark_end(sg);
}

__rust_helper bool rust_helper_virt_addr_valid(const void *addr)
{
	return virt_addr_valid(addr);
}

__rust_helper void rust_helper_sg_set_buf(struct scatterlist *sg,
					  const void *buf, unsigned int buflen)
{
	sg_set_buf(sg, buf, buflen);
}

__rust_helper void rust_helper_sg_unmark_end(struct scatterlist *sg)
{
	sg_unmark_end(sg);
}

__rust_helper void *rust_helper_sg_virt(struct scatterlist *sg)
{
	return sg_virt(sg);
}
