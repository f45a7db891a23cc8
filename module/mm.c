// SPDX-License-Identifier: GPL-2.0
/*
 * Pins die with their address space.
 *
 * A container's fd can outlive the address space it was opened in: fork,
 * exec without close-on-exec, SCM_RIGHTS, a clone() sharing the fd table.
 * Its pins must not: a charge left on an address space that has gone limits
 * nobody (in charge_mode "process" a new one starts at zero), and memory
 * no process can reach any more would stay pinned.  So every address space
 * with containers has one mmu notifier (shared, mmu_notifier_get/put),
 * whose release runs in exit_mmap(), for exit and for exec's old address
 * space alike, before its pages are freed.  It unpins and uncharges every
 * pin of the containers bound there; what is left of them answers EPERM
 * (main.c) until the last fd goes.
 */
#include <linux/err.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "internal.h"

#ifndef CONFIG_MMU_NOTIFIER
#error "mempin needs CONFIG_MMU_NOTIFIER: pins must die with their address space"
#endif

struct mempin_mm {
	struct mmu_notifier mn;
	struct mutex lock;		/* ctxs; taken before any ctx->lock */
	struct list_head ctxs;		/* containers bound to mn.mm */
};

static struct mmu_notifier *mempin_mm_alloc(struct mm_struct *mm)
{
	struct mempin_mm *mpm = kzalloc(sizeof(*mpm), GFP_KERNEL_ACCOUNT);

	if (!mpm)
		return ERR_PTR(-ENOMEM);
	mutex_init(&mpm->lock);
	INIT_LIST_HEAD(&mpm->ctxs);
	return &mpm->mn;
}

static void mempin_mm_free(struct mmu_notifier *mn)
{
	struct mempin_mm *mpm = container_of(mn, struct mempin_mm, mn);

	mutex_destroy(&mpm->lock);
	kfree(mpm);
}

/*
 * exit_mmap(): no task uses the address space any more, so no ioctl runs
 * on these containers (each needs current->mm == ctx->mm).  Called before
 * exit_mmap() takes mmap_lock, which the pin path takes under ctx->lock.
 */
static void mempin_mm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct mempin_mm *mpm = container_of(mn, struct mempin_mm, mn);
	struct mempin_ctx *ctx;

	mutex_lock(&mpm->lock);
	list_for_each_entry(ctx, &mpm->ctxs, mm_node) {
		mutex_lock(&ctx->lock);
		mempin_release_all(ctx);
		/* Only ioctls use it, and they answer EPERM from now on. */
		free_page((unsigned long)ctx->scratch);
		ctx->scratch = NULL;
		WRITE_ONCE(ctx->mm_gone, true);
		mutex_unlock(&ctx->lock);
	}
	mutex_unlock(&mpm->lock);
}

static const struct mmu_notifier_ops mempin_mm_ops = {
	.release = mempin_mm_release,
	.alloc_notifier = mempin_mm_alloc,
	.free_notifier = mempin_mm_free,
};

/* At open(): binds @ctx to current->mm, which holds a user (mm_users). */
int mempin_mm_bind(struct mempin_ctx *ctx)
{
	struct mm_struct *mm = current->mm;
	struct mmu_notifier *mn;

	/* The first container of an mm registers: mm_take_all_locks(). */
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	mn = mmu_notifier_get_locked(&mempin_mm_ops, mm);
	mmap_write_unlock(mm);
	if (IS_ERR(mn))
		return PTR_ERR(mn);
	ctx->mpm = container_of(mn, struct mempin_mm, mn);
	mutex_lock(&ctx->mpm->lock);
	list_add(&ctx->mm_node, &ctx->mpm->ctxs);
	mutex_unlock(&ctx->mpm->lock);
	return 0;
}

/*
 * At the last close: from here on release cannot reach @ctx, so the caller
 * may release what is left without racing with it.
 */
void mempin_mm_unbind(struct mempin_ctx *ctx)
{
	mutex_lock(&ctx->mpm->lock);
	list_del(&ctx->mm_node);
	mutex_unlock(&ctx->mpm->lock);
	mmu_notifier_put(&ctx->mpm->mn);
}

/* Module exit: the notifiers mmu_notifier_put() still frees, freed. */
void mempin_mm_exit(void)
{
	mmu_notifier_synchronize();
}
