// SPDX-License-Identifier: GPL-2.0
/* fs-dax mappings cannot be long-term pinned; the helper naming them. */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>

bool probe(struct vm_area_struct *vma);
bool probe(struct vm_area_struct *vma)
{
	return vma_is_fsdax(vma);
}
MODULE_LICENSE("GPL");
