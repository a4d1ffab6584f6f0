// SPDX-License-Identifier: GPL-2.0

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/virtio_net.h>

__rust_helper struct sk_buff *rust_helper_alloc_skb(unsigned int size, gfp_t gfp)
{
	return alloc_skb(size, gfp);
}

__rust_helper void rust_helper_dev_consume_skb_any(struct sk_buff *skb)
{
	dev_consume_skb_any(skb);
}

__rust_helper unsigned int rust_helper_skb_headroom(const struct sk_buff *skb)
{
	return skb_headroom(skb);
}

__rust_helper int rust_helper_skb_tailroom(const struct sk_buff *skb)
{
	return skb_tailroom(skb);
}

__rust_helper void rust_helper_skb_reserve(struct sk_buff *skb, int len)
{
	skb_reserve(skb, len);
}

__rust_helper unsigned int rust_helper_skb_headlen(const struct sk_buff *skb)
{
	return skb_headlen(skb);
}

__rust_helper int rust_helper_skb_cloned(const struct sk_buff *skb)
{
	return skb_cloned(skb);
}

__rust_helper __be16 rust_helper_skb_protocol(const struct sk_buff *skb)
{
	return skb->protocol;
}

__rust_helper void rust_helper_skb_set_protocol(struct sk_buff *skb, __be16 protocol)
{
	skb->protocol = protocol;
}

__rust_helper u8 rust_helper_skb_ip_summed(const struct sk_buff *skb)
{
	return skb->ip_summed;
}

__rust_helper void rust_helper_skb_set_ip_summed(struct sk_buff *skb, u8 ip_summed)
{
	skb->ip_summed = ip_summed;
}

__rust_helper int rust_helper_skb_checksum_start_offset(const struct sk_buff *skb)
{
	return skb_checksum_start_offset(skb);
}

__rust_helper u16 rust_helper_skb_csum_offset(const struct sk_buff *skb)
{
	return skb->csum_offset;
}

__rust_helper unsigned short rust_helper_skb_gso_size(const struct sk_buff *skb)
{
	return skb_shinfo(skb)->gso_size;
}

__rust_helper unsigned int rust_helper_skb_gso_type(const struct sk_buff *skb)
{
	return skb_shinfo(skb)->gso_type;
}

__rust_helper void rust_helper_skb_set_gso(struct sk_buff *skb, unsigned short size,
					   unsigned int type)
{
	skb_shinfo(skb)->gso_size = size;
	skb_shinfo(skb)->gso_type = type;
}

__rust_helper u8 rust_helper_skb_nr_frags(const struct sk_buff *skb)
{
	return skb_shinfo(skb)->nr_frags;
}

__rust_helper bool rust_helper_skb_has_frag_list(const struct sk_buff *skb)
{
	return skb_has_frag_list(skb);
}

__rust_helper void rust_helper_skb_add_rx_frag(struct sk_buff *skb, int i, struct page *page,
					       int off, int size, unsigned int truesize)
{
	skb_add_rx_frag(skb, i, page, off, size, truesize);
}

__rust_helper void *rust_helper_page_address(const struct page *page)
{
	return page_address(page);
}

__rust_helper void rust_helper_skb_reset_network_header(struct sk_buff *skb)
{
	skb_reset_network_header(skb);
}

__rust_helper int rust_helper_virtio_net_hdr_to_skb(struct sk_buff *skb,
						    const struct virtio_net_hdr *hdr,
						    bool little_endian)
{
	return virtio_net_hdr_to_skb(skb, hdr, little_endian);
}

__rust_helper int rust_helper_virtio_net_hdr_from_skb(const struct sk_buff *skb,
						      struct virtio_net_hdr *hdr,
						      bool little_endian,
						      bool has_data_valid,
						      int vlan_hlen)
{
	return virtio_net_hdr_from_skb(skb, hdr, little_endian, has_data_valid, vlan_hlen);
}

__rust_helper int rust_helper_skb_header_cloned(const struct sk_buff *skb)
{
	return skb_header_cloned(skb);
}

__rust_helper struct skb_shared_info *rust_helper_skb_shinfo(struct sk_buff *skb)
{
	return skb_shinfo(skb);
}

__rust_helper int rust_helper_skb_shared(const struct sk_buff *skb)
{
	return skb_shared(skb);
}
