// SPDX-License-Identifier: GPL-2.0
/* 5.12+: the kernel's own test for a copy-on-write mapping, in <linux/mm.h>. */
#include <linux/mm.h>
#include <linux/module.h>

bool probe(vm_flags_t flags);
bool probe(vm_flags_t flags)
{
	return is_cow_mapping(flags);
}
MODULE_LICENSE("GPL");
