// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-tree counterpart of the kernel's rust/helpers/helpers.c: C wrappers
 * for the static inline functions and macros that the rvirtio abstractions
 * call. In the kernel tree, each file included here joins rust/helpers/ and
 * is listed in rust/helpers/helpers.c instead.
 *
 * Each module compiles this file once, through a one-line C file of its own
 * (Kbuild does not share an object between modules). The helpers are not
 * exported, so the copies cannot clash.
 *
 * Sorted alphabetically.
 */

#include <linux/compiler_types.h>

/*
 * In tree, __rust_helper is __always_inline so that helpers can be inlined
 * into Rust code (CONFIG_RUST_INLINE_HELPERS). A module links them as
 * ordinary functions.
 */
#define __rust_helper

#include "blk.c"
#include "idr.c"
#include "netdevice.c"
#include "page_pool.c"
#include "scatterlist.c"
#include "skbuff.c"
#include "virtio.c"
