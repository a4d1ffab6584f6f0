#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prints the make variables that select the project's toolchain, for the
# top-level Makefile (the same ones build-kernel.sh builds the kernel with).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
echo "${KMAKE_VARS[@]}"
