// SPDX-License-Identifier: GPL-2.0
/* This module's copy of the rvirtio C helpers. */
#include "../../../rust/helpers/helpers.c"
