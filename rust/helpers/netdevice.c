// SPDX-License-Identifier: GPL-2.0

#include <linux/etherdevice.h>
#include <linux/netdevice.h>

__rust_helper void *rust_helper_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

__rust_helper void rust_helper_netdev_set_parent(struct net_device *dev, struct device *parent)
{
	SET_NETDEV_DEV(dev, parent);
}

__rust_helper void rust_helper_netdev_set_ops(struct net_device *dev,
					      const struct net_device_ops *ops)
{
	dev->netdev_ops = ops;
}

__rust_helper void rust_helper_netdev_set_ethtool_ops(struct net_device *dev,
						      const struct ethtool_ops *ops)
{
	dev->ethtool_ops = ops;
}

__rust_helper void rust_helper_netdev_set_mtu_limits(struct net_device *dev, unsigned int min,
						     unsigned int max)
{
	dev->min_mtu = min;
	dev->max_mtu = max;
}

__rust_helper void rust_helper_netdev_set_mtu(struct net_device *dev, unsigned int mtu)
{
	WRITE_ONCE(dev->mtu, mtu);
}

__rust_helper unsigned int rust_helper_netdev_mtu(const struct net_device *dev)
{
	return READ_ONCE(dev->mtu);
}

__rust_helper void rust_helper_netdev_set_features(struct net_device *dev,
						   netdev_features_t hw_features,
						   netdev_features_t features)
{
	dev->hw_features = hw_features;
	dev->features = features;
	dev->vlan_features = features;
}

__rust_helper netdev_features_t rust_helper_netdev_features(const struct net_device *dev)
{
	return READ_ONCE(dev->features);
}

__rust_helper const unsigned char *rust_helper_netdev_dev_addr(const struct net_device *dev)
{
	return dev->dev_addr;
}

__rust_helper const char *rust_helper_netdev_name(const struct net_device *dev)
{
	return dev->name;
}

__rust_helper void rust_helper_eth_hw_addr_set(struct net_device *dev, const u8 *addr)
{
	eth_hw_addr_set(dev, addr);
}

__rust_helper void rust_helper_eth_hw_addr_random(struct net_device *dev)
{
	eth_hw_addr_random(dev);
}

__rust_helper bool rust_helper_netif_running(const struct net_device *dev)
{
	return netif_running(dev);
}

__rust_helper bool rust_helper_netif_carrier_ok(const struct net_device *dev)
{
	return netif_carrier_ok(dev);
}

__rust_helper struct netdev_queue *rust_helper_netdev_get_tx_queue(const struct net_device *dev,
								   unsigned int index)
{
	return netdev_get_tx_queue(dev, index);
}

__rust_helper unsigned int rust_helper_netdev_num_tx_queues(const struct net_device *dev)
{
	return dev->real_num_tx_queues;
}

__rust_helper void rust_helper_netif_tx_stop_queue(struct netdev_queue *queue)
{
	netif_tx_stop_queue(queue);
}

__rust_helper bool rust_helper_netif_tx_queue_stopped(const struct netdev_queue *queue)
{
	return netif_tx_queue_stopped(queue);
}

__rust_helper void rust_helper_netif_tx_start_all_queues(struct net_device *dev)
{
	netif_tx_start_all_queues(dev);
}

__rust_helper void rust_helper_netif_tx_disable(struct net_device *dev)
{
	netif_tx_disable(dev);
}

__rust_helper void rust_helper_netdev_tx_completed_queue(struct netdev_queue *queue,
							 unsigned int pkts, unsigned int bytes)
{
	netdev_tx_completed_queue(queue, pkts, bytes);
}

__rust_helper void rust_helper_netdev_tx_reset_queue(struct netdev_queue *queue)
{
	netdev_tx_reset_queue(queue);
}

__rust_helper void rust_helper_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
					      int (*poll)(struct napi_struct *, int))
{
	netif_napi_add(dev, napi, poll);
}

__rust_helper void rust_helper_netif_napi_del(struct napi_struct *napi)
{
	netif_napi_del(napi);
}

__rust_helper bool rust_helper_napi_schedule(struct napi_struct *napi)
{
	return napi_schedule(napi);
}

__rust_helper struct net_device *rust_helper_napi_dev(const struct napi_struct *napi)
{
	return napi->dev;
}

__rust_helper void rust_helper_napi_schedule_bh(struct napi_struct *napi)
{
	local_bh_disable();
	napi_schedule(napi);
	local_bh_enable();
}

__rust_helper gro_result_t rust_helper_napi_gro_receive(struct napi_struct *napi,
							struct sk_buff *skb)
{
	return napi_gro_receive(napi, skb);
}

__rust_helper u16 rust_helper_skb_get_queue_mapping(const struct sk_buff *skb)
{
	return skb_get_queue_mapping(skb);
}

__rust_helper unsigned int rust_helper_netdev_flags(const struct net_device *dev)
{
	return READ_ONCE(dev->flags);
}

__rust_helper unsigned int
rust_helper_netdev_hw_addr_list_count(const struct netdev_hw_addr_list *list)
{
	return netdev_hw_addr_list_count(list);
}

__rust_helper void rust_helper_netdev_set_live_addr_change(struct net_device *dev)
{
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE;
}

__rust_helper void rust_helper_netdev_clear_tx_skb_sharing(struct net_device *dev)
{
	dev->priv_flags &= ~IFF_TX_SKB_SHARING;
}

__rust_helper void rust_helper___netif_tx_lock(struct netdev_queue *txq)
{
	__netif_tx_lock(txq, smp_processor_id());
}

__rust_helper void rust_helper___netif_tx_unlock(struct netdev_queue *txq)
{
	__netif_tx_unlock(txq);
}

__rust_helper void rust_helper___netif_tx_lock_bh(struct netdev_queue *txq)
{
	__netif_tx_lock_bh(txq);
}

__rust_helper void rust_helper___netif_tx_unlock_bh(struct netdev_queue *txq)
{
	__netif_tx_unlock_bh(txq);
}

__rust_helper bool rust_helper___netdev_tx_sent_queue(struct netdev_queue *queue,
						      unsigned int bytes, bool xmit_more)
{
	return __netdev_tx_sent_queue(queue, bytes, xmit_more);
}

__rust_helper bool rust_helper_netdev_xmit_more(void)
{
	return netdev_xmit_more();
}

__rust_helper void rust_helper_netdev_set_needed_headroom(struct net_device *dev,
							  unsigned short len)
{
	dev->needed_headroom = len;
}
