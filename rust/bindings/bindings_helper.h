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
#include <uapi/linux/virtio_net.h>

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/page_pool/types.h>

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <uapi/linux/virtio_blk.h>

/*
 * Macros whose value bindgen cannot evaluate (they contain casts); the
 * kernel's bindings_helper.h uses the same pattern for its RUST_CONST_HELPER_
 * constants. Only these, the headers above and rust/helpers/ are generated.
 */
const blk_features_t RVIRTIO_CONST_BLK_FEAT_WRITE_CACHE = BLK_FEAT_WRITE_CACHE;
const blk_features_t RVIRTIO_CONST_BLK_FEAT_FUA = BLK_FEAT_FUA;
const blk_features_t RVIRTIO_CONST_BLK_FEAT_ROTATIONAL = BLK_FEAT_ROTATIONAL;
const blk_opf_t RVIRTIO_CONST_REQ_OP_MASK = REQ_OP_MASK;
const blk_opf_t RVIRTIO_CONST_REQ_FUA = REQ_FUA;
const blk_opf_t RVIRTIO_CONST_REQ_NOUNMAP = REQ_NOUNMAP;
const blk_status_t RVIRTIO_CONST_BLK_STS_OK = BLK_STS_OK;
const blk_status_t RVIRTIO_CONST_BLK_STS_IOERR = BLK_STS_IOERR;
const blk_status_t RVIRTIO_CONST_BLK_STS_NOTSUPP = BLK_STS_NOTSUPP;
const blk_status_t RVIRTIO_CONST_BLK_STS_RESOURCE = BLK_STS_RESOURCE;
const blk_status_t RVIRTIO_CONST_BLK_STS_DEV_RESOURCE = BLK_STS_DEV_RESOURCE;
const blk_mq_req_flags_t RVIRTIO_CONST_BLK_MQ_REQ_NOWAIT = BLK_MQ_REQ_NOWAIT;
#include <uapi/linux/virtio_ring.h>
const unsigned int RVIRTIO_CONST_VIRTIO_RING_F_INDIRECT_DESC = VIRTIO_RING_F_INDIRECT_DESC;

#include <linux/etherdevice.h>
#include <uapi/linux/if_link.h>
const unsigned int RVIRTIO_CONST_MAX_SKB_FRAGS = MAX_SKB_FRAGS;
const netdev_features_t RVIRTIO_CONST_NETIF_F_HIGHDMA = NETIF_F_HIGHDMA;
const netdev_features_t RVIRTIO_CONST_NETIF_F_RXCSUM = NETIF_F_RXCSUM;
const netdev_features_t RVIRTIO_CONST_NETIF_F_SG = NETIF_F_SG;
const netdev_features_t RVIRTIO_CONST_NETIF_F_HW_CSUM = NETIF_F_HW_CSUM;
const netdev_features_t RVIRTIO_CONST_NETIF_F_TSO = NETIF_F_TSO;
const netdev_features_t RVIRTIO_CONST_NETIF_F_TSO6 = NETIF_F_TSO6;
const netdev_features_t RVIRTIO_CONST_NETIF_F_TSO_ECN = NETIF_F_TSO_ECN;
const netdev_features_t RVIRTIO_CONST_NETIF_F_GSO_ROBUST = NETIF_F_GSO_ROBUST;
const netdev_features_t RVIRTIO_CONST_NETIF_F_GRO_HW = NETIF_F_GRO_HW;
const size_t RVIRTIO_CONST_NAPI_STRUCT_SIZE = sizeof(struct napi_struct);
const size_t RVIRTIO_CONST_NAPI_STRUCT_ALIGN = __alignof__(struct napi_struct);
