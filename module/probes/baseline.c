// SPDX-License-Identifier: GPL-2.0
/*
 * Compiles on every kernel.  If it fails, the probe command line itself is
 * broken (flags, quoting) and every other probe result is meaningless.
 */
#include <linux/module.h>

const char *probe(void);
const char *probe(void)
{
	return KBUILD_MODNAME;
}
MODULE_LICENSE("GPL");
