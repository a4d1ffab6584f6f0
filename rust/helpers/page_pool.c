// SPDX-License-Identifier: GPL-2.0

#include <linux/skbuff.h>
#include <net/page_pool/helpers.h>

__rust_helper struct page *rust_helper_page_pool_alloc(struct page_pool *pool,
						       unsigned int *offset,
						       unsigned int *size, gfp_t gfp)
{
	return page_pool_alloc(pool, offset, size, gfp);
}

__rust_helper void rust_helper_page_pool_put_page(struct page_pool *pool, struct page *page,
						  unsigned int dma_sync_size, bool allow_direct)
{
	page_pool_put_page(pool, page, dma_sync_size, allow_direct);
}

__rust_helper struct page_pool *rust_helper_page_pool_of(const struct page *page)
{
	return netmem_get_pp(page_to_netmem(page));
}

__rust_helper void rust_helper_skb_mark_for_recycle(struct sk_buff *skb)
{
	skb_mark_for_recycle(skb);
}

__rust_helper struct page *rust_helper_virt_to_page(const void *addr)
{
	return virt_to_page(addr);
}
