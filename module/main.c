// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/mempin: each open() is a pin container bound to the opener's address
 * space; ioctls pin and unpin ranges of it.  This file decodes and checks
 * ioctl arguments and dispatches; the pin path is in pin.c.
 *
 * Nothing here prints: every failure a user can cause is an errno.
 */
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/mempin.h>

#include "compat.h"
#include "internal.h"
#include "trace.h"

static int mempin_open(struct inode *inode, struct file *file)
{
	struct mempin_ctx *ctx;
	struct mempin_cg *cg;
	int ret = -ENOMEM;

	if (!current->mm)
		return -EPERM;
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	ctx->scratch = (struct page **)__get_free_page(GFP_KERNEL_ACCOUNT);
	if (!ctx->scratch)
		goto out_free;
	mutex_init(&ctx->lock);
	ctx->handles = RB_ROOT;
	ctx->ranges = RB_ROOT_CACHED;
	/* Its cgroup, for fdinfo until the first pin names one. */
	cg = mempin_cg_current(NULL);
	if (IS_ERR(cg)) {
		ret = PTR_ERR(cg);
		goto out_free;
	}
	RCU_INIT_POINTER(ctx->cg, cg);
	ret = mempin_mm_bind(ctx);
	if (ret)
		goto out_cg;
	/* Keeps the mm_struct (for pinned_vm), not the address space. */
	mmgrab(current->mm);
	ctx->mm = current->mm;
	/* The opener's user is charged, whatever credentials come later. */
	ctx->cred = get_current_cred();
	/*
	 * Decided once, as io_uring does at ring creation.  Not
	 * ns_capable_noaudit(): it sets PF_SUPERPRIV in current->flags, which
	 * the tick's accounting reads unlocked (a data race KCSAN reports);
	 * file_ns_capable() reads f_cred and writes nothing.  An LSM's denial
	 * is audited, at most once per open.
	 */
	ctx->cap_ipc_lock = file_ns_capable(file, &init_user_ns, CAP_IPC_LOCK);
	ctx->owner = get_pid(task_tgid(current));
	ctx->id = atomic64_inc_return(&mempin_totals.containers_opened);
	file->private_data = ctx;
	mempin_container_add(ctx);
	return stream_open(inode, file);

out_cg:
	mempin_cg_put(rcu_access_pointer(ctx->cg));
out_free:
	free_page((unsigned long)ctx->scratch);
	kfree(ctx);
	return ret;
}

/* Runs at the last fput(), maybe in another process: never current->mm. */
static int mempin_release(struct inode *inode, struct file *file)
{
	struct mempin_ctx *ctx = file->private_data;

	mempin_mm_unbind(ctx);
	if (!ctx->mm_gone)
		mempin_release_all(ctx);
	mempin_container_del();
	put_pid(ctx->owner);
	/* fdinfo cannot run now: the file is going. */
	mempin_cg_put(rcu_access_pointer(ctx->cg));
	put_cred(ctx->cred);
	mmdrop(ctx->mm);
	free_page((unsigned long)ctx->scratch);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
	return 0;
}

/*
 * [addr, addr + len) must be a non-empty range of user addresses.  @addr is
 * untagged first (arm64 TBI, x86 LAM), as the kernel's own syscalls do.
 */
static int mempin_check_range(u64 *addr, u64 len)
{
	*addr = untagged_addr(*addr);
	if (!len || *addr + len < *addr)
		return -EINVAL;
	if (*addr + len > TASK_SIZE)
		return -EFAULT;
	return 0;
}

static int mempin_ioc_info(struct mempin_ctx *ctx, void *arg)
{
	struct mempin_info_arg *info = arg;

	if (info->flags)
		return -EOPNOTSUPP;
	info->abi_version = MEMPIN_ABI_VERSION;
	info->page_size = PAGE_SIZE;
	info->features = MEMPIN_FEATURE_READONLY | MEMPIN_FEATURE_BATCH |
			 MEMPIN_FEATURE_UNPIN_RANGE;
	if (MEMPIN_HAVE_READONLY_COW)
		info->features |= MEMPIN_FEATURE_READONLY_COW;
	if (mempin_cg_available())
		info->features |= MEMPIN_FEATURE_CGROUP_BUDGETS;
	info->max_pin_pages = min_t(unsigned long, MEMPIN_MAX_PIN_PAGES,
				    totalram_pages());
	info->max_overlap = MEMPIN_MAX_OVERLAP;
	info->cap_pages = mempin_cap_pages();
	return 0;
}

/*
 * One pin: shared by PIN and PIN_BATCH.  Returns the handle and page count
 * by value: once the lock is dropped, another thread may unpin (and free)
 * the new pin at any time.
 */
static int mempin_pin_one(struct mempin_ctx *ctx, u64 addr, u64 len,
			  u32 flags, u64 *handle, u64 *pages)
{
	struct mempin_region *reg;
	int ret;

	*handle = 0;
	*pages = 0;
	if (flags & ~MEMPIN_PIN_READONLY)
		ret = -EOPNOTSUPP;
	else
		ret = mempin_check_range(&addr, len);
	if (!ret && mutex_lock_killable(&ctx->lock))
		ret = -EINTR;
	if (!ret) {
		ret = mempin_pin_range(ctx, addr, len,
				       flags & MEMPIN_PIN_READONLY, &reg);
		if (!ret) {
			*handle = reg->handle;
			*pages = reg->npages;
		}
		mutex_unlock(&ctx->lock);
	}
	trace_pin(addr, len, flags, *pages, *handle, ret);
	return ret;
}

/* Unpins @reg, ctx->lock held; the tracepoint reports what went. */
static int mempin_unpin_traced(struct mempin_ctx *ctx,
			       struct mempin_region *reg)
{
	u64 handle = reg->handle, addr = reg->addr, len = reg->len;
	u64 pages = reg->npages;

	mempin_unpin(ctx, reg);
	trace_unpin(handle, addr, len, pages, 0);
	return 0;
}

/* Unpin by handle: shared by UNPIN and UNPIN_BATCH. */
static int mempin_unpin_handle(struct mempin_ctx *ctx, u64 handle)
{
	struct mempin_region *reg;
	int ret = -ENOENT;

	if (mutex_lock_killable(&ctx->lock))
		return -EINTR;
	reg = mempin_find_handle(ctx, handle);
	if (reg)
		ret = mempin_unpin_traced(ctx, reg);
	else
		trace_unpin(handle, 0, 0, 0, ret);
	mutex_unlock(&ctx->lock);
	return ret;
}

static int mempin_ioc_pin(struct mempin_ctx *ctx, void *arg)
{
	struct mempin_pin_arg *req = arg;

	return mempin_pin_one(ctx, req->addr, req->len, req->flags,
			      &req->handle, &req->pages);
}

/*
 * The caller never learnt the handle: the pin must not stay.  Another thread
 * may have unpinned it by range meanwhile.  Killed while waiting for the
 * lock, the pin stays, charged, until it is unpinned by range, the
 * container is closed, or its address space goes.
 */
static void mempin_undo_pin(struct mempin_ctx *ctx, void *arg)
{
	struct mempin_pin_arg *req = arg;

	mempin_unpin_handle(ctx, req->handle);
}

static int mempin_ioc_unpin(struct mempin_ctx *ctx, void *arg)
{
	struct mempin_unpin_arg *req = arg;
	struct mempin_region *reg;
	int ret;

	if (req->flags & ~MEMPIN_UNPIN_BY_RANGE)
		return -EOPNOTSUPP;
	if (!(req->flags & MEMPIN_UNPIN_BY_RANGE)) {
		if (req->addr || req->len)
			return -EINVAL;
		return mempin_unpin_handle(ctx, req->handle);
	}
	req->addr = untagged_addr(req->addr);
	if (req->handle || !req->len || req->addr + req->len < req->addr)
		return -EINVAL;
	if (mutex_lock_killable(&ctx->lock))
		return -EINTR;
	reg = mempin_find_range(ctx, req->addr, req->len);
	if (reg) {
		ret = mempin_unpin_traced(ctx, reg);
	} else {
		ret = -ENOENT;
		trace_unpin(0, req->addr, req->len, 0, ret);
	}
	mutex_unlock(&ctx->lock);
	return ret;
}

static int mempin_ioc_stats(struct mempin_ctx *ctx, void *arg)
{
	struct mempin_stats_arg *st = arg;

	if (st->flags)
		return -EOPNOTSUPP;
	if (mutex_lock_killable(&ctx->lock))
		return -EINTR;
	st->pins = ctx->npins;
	st->pages = ctx->npages;
	st->charged_pages = ctx->npages;	/* each pin charges its own */
	mutex_unlock(&ctx->lock);
	return 0;
}

static int mempin_check_batch(struct mempin_batch_arg *b, size_t min_entry)
{
	b->done = 0;
	if (b->flags || b->reserved)
		return -EOPNOTSUPP;
	if (b->entry_size < min_entry || b->entry_size > PAGE_SIZE ||
	    b->count > MEMPIN_MAX_BATCH)
		return -EINVAL;
	return 0;
}

/*
 * Pins entries in order, each all or nothing, and stops at the first that
 * fails; b->done says how many took effect (written back even on error).
 */
static int mempin_ioc_pin_batch(struct mempin_ctx *ctx, void *arg)
{
	struct mempin_batch_arg *b = arg;
	u8 __user *entry = u64_to_user_ptr(b->entries);
	int ret = mempin_check_batch(b, sizeof(struct mempin_pin_entry));

	for (; !ret && b->done < b->count; b->done++, entry += b->entry_size) {
		struct mempin_pin_entry __user *ur = (void __user *)entry;
		struct mempin_pin_entry r;
		u64 handle, pages;

		ret = copy_struct_from_user(&r, sizeof(r), ur, b->entry_size);
		if (ret)
			break;
		if (r.reserved) {
			ret = -EOPNOTSUPP;
			break;
		}
		/* A handle we could not report would be lost: check first. */
		if (put_user(0, &ur->handle)) {
			ret = -EFAULT;
			break;
		}
		ret = mempin_pin_one(ctx, r.addr, r.len, r.flags, &handle,
				     &pages);
		if (ret)
			break;
		/* The entry was writable a moment ago; if no longer, undo. */
		if (put_user(handle, &ur->handle)) {
			mempin_unpin_handle(ctx, handle);
			ret = -EFAULT;
			break;
		}
		cond_resched();
	}
	return ret;
}

static int mempin_ioc_unpin_batch(struct mempin_ctx *ctx, void *arg)
{
	struct mempin_batch_arg *b = arg;
	u64 __user *handles = u64_to_user_ptr(b->entries);
	int ret = mempin_check_batch(b, sizeof(u64));

	if (!ret && b->entry_size != sizeof(u64))
		ret = -EINVAL;
	for (; !ret && b->done < b->count; b->done++) {
		u64 handle;

		if (get_user(handle, &handles[b->done])) {
			ret = -EFAULT;
			break;
		}
		ret = mempin_unpin_handle(ctx, handle);
		if (ret)
			break;
		cond_resched();
	}
	return ret;
}

union mempin_ioc_arg {
	struct mempin_info_arg info;
	struct mempin_pin_arg pin;
	struct mempin_unpin_arg unpin;
	struct mempin_stats_arg stats;
	struct mempin_batch_arg batch;
};

struct mempin_ioc {
	unsigned int cmd;
	size_t size;		/* first published size: the minimum */
	int (*handler)(struct mempin_ctx *ctx, void *arg);
	bool copy_out;		/* write the struct back (always, if batch) */
	bool batch;
	/* Undoes a success whose result could not be written back. */
	void (*undo)(struct mempin_ctx *ctx, void *arg);
};

static const struct mempin_ioc mempin_iocs[] = {
	[_IOC_NR(MEMPIN_IOC_INFO)] = {
		MEMPIN_IOC_INFO, sizeof(struct mempin_info_arg),
		mempin_ioc_info, true, false },
	[_IOC_NR(MEMPIN_IOC_PIN)] = {
		MEMPIN_IOC_PIN, sizeof(struct mempin_pin_arg),
		mempin_ioc_pin, true, false, mempin_undo_pin },
	[_IOC_NR(MEMPIN_IOC_UNPIN)] = {
		MEMPIN_IOC_UNPIN, sizeof(struct mempin_unpin_arg),
		mempin_ioc_unpin, false, false },
	[_IOC_NR(MEMPIN_IOC_STATS)] = {
		MEMPIN_IOC_STATS, sizeof(struct mempin_stats_arg),
		mempin_ioc_stats, true, false },
	[_IOC_NR(MEMPIN_IOC_PIN_BATCH)] = {
		MEMPIN_IOC_PIN_BATCH, sizeof(struct mempin_batch_arg),
		mempin_ioc_pin_batch, true, true },
	[_IOC_NR(MEMPIN_IOC_UNPIN_BATCH)] = {
		MEMPIN_IOC_UNPIN_BATCH, sizeof(struct mempin_batch_arg),
		mempin_ioc_unpin_batch, true, true },
};

static long mempin_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct mempin_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct mempin_ioc *ioc;
	union mempin_ioc_arg karg;
	u32 usize;
	int ret;

	if (_IOC_TYPE(cmd) != MEMPIN_IOC_MAGIC ||
	    _IOC_NR(cmd) >= ARRAY_SIZE(mempin_iocs))
		return -ENOTTY;
	ioc = &mempin_iocs[array_index_nospec(_IOC_NR(cmd),
					      ARRAY_SIZE(mempin_iocs))];
	if (cmd != ioc->cmd)
		return -ENOTTY;
	/*
	 * A container works only for the address space that opened it; once
	 * that has gone (mm.c), for none: mm_users is 0, no task has it.
	 */
	if (current->mm != ctx->mm)
		return -EPERM;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < ioc->size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(&karg, ioc->size, uarg, usize);
	if (ret)
		return ret;

	ret = ioc->handler(ctx, &karg);
	if (ioc->copy_out && (!ret || ioc->batch) &&
	    copy_to_user(uarg, &karg, ioc->size)) {
		if (!ret && ioc->undo)
			ioc->undo(ctx, &karg);
		return -EFAULT;
	}
	return ret;
}

static const struct file_operations mempin_fops = {
	.owner = THIS_MODULE,
	.open = mempin_open,
	.release = mempin_release,
	.unlocked_ioctl = mempin_ioctl,
	.show_fdinfo = mempin_show_fdinfo,
	/* The structs are the same for 32-bit callers; only arg differs. */
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice mempin_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mempin",
	.fops = &mempin_fops,
	.groups = mempin_attr_groups,
};

/*
 * The cgroup/ directory comes after the device's uevent: mempinctl's
 * "cgroup apply", which udev starts, waits for it.  Without it, pins are
 * still charged up the hierarchy, but no budget can be set, and
 * MEMPIN_IOC_INFO says so.
 */
static int __init mempin_init(void)
{
	int ret = misc_register(&mempin_misc);

	if (ret)
		return ret;
	mempin_cg_init(&mempin_misc.this_device->kobj);
	return 0;
}

/* No container is left: the module's references keep it loaded. */
static void __exit mempin_exit(void)
{
	mempin_cg_exit();
	misc_deregister(&mempin_misc);
	mempin_mm_exit();
}

module_init(mempin_init);
module_exit(mempin_exit);

MODULE_DESCRIPTION("Long-term pinning of user memory, charged to RLIMIT_MEMLOCK");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
