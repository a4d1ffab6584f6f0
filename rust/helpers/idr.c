// SPDX-License-Identifier: GPL-2.0

#include <linux/idr.h>

__rust_helper void rust_helper_ida_init(struct ida *ida)
{
	ida_init(ida);
}
