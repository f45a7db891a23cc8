// SPDX-License-Identifier: GPL-2.0
/*
 * The pin floor for make bench: see mempin_floor.h.  Root only (0600).
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mempin_floor.h"

#define FLOOR_CHUNK_PAGES	512UL	/* as mempin's GUP chunk */
#define FLOOR_MAX_PAGES		(1UL << 26)

static long floor_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mempin_floor_arg __user *uarg = (void __user *)arg;
	unsigned long first, npages, done = 0;
	struct mempin_floor_arg a;
	struct page **pages;
	long ret = 0;

	if (cmd != MEMPIN_FLOOR_PIN_UNPIN)
		return -ENOTTY;
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (!a.len || a.addr + a.len < a.addr || a.addr + a.len > TASK_SIZE)
		return -EINVAL;
	first = a.addr & PAGE_MASK;
	npages = (PAGE_ALIGN(a.addr + a.len) - first) >> PAGE_SHIFT;
	if (npages > FLOOR_MAX_PAGES)
		return -ENOMEM;
	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	while (done < npages) {
		int nr = min(npages - done, FLOOR_CHUNK_PAGES);
		int got = pin_user_pages_fast(first + (done << PAGE_SHIFT), nr,
					      FOLL_WRITE | FOLL_LONGTERM,
					      pages + done);

		if (got <= 0) {
			ret = got ? got : -EFAULT;
			break;
		}
		done += got;
		cond_resched();
	}
	unpin_user_pages(pages, done);
	kvfree(pages);
	if (!ret) {
		a.pages = npages;
		if (copy_to_user(uarg, &a, sizeof(a)))
			ret = -EFAULT;
	}
	return ret;
}

static const struct file_operations floor_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = floor_ioctl,
};

static struct miscdevice floor_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mempin-floor",
	.fops = &floor_fops,
	.mode = 0600,
};

module_misc_device(floor_misc);

MODULE_DESCRIPTION("Bench-only: pin_user_pages_fast + unpin_user_pages, the floor for mempin");
MODULE_LICENSE("GPL");
