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
 *
 * The notifier stays registered until the address space goes (or the
 * module is unloaded), not only while containers are open: registering
 * takes mm_take_all_locks(), which an open()/close() loop must not be able
 * to repeat over tens of thousands of mappings.
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
	struct list_head node;		/* in mempin_mms: holds its own ref */
};

/* Notifiers holding the reference of their own (mempin_mm_hold()). */
static LIST_HEAD(mempin_mms);
static DEFINE_SPINLOCK(mempin_mms_lock);

static struct mmu_notifier *mempin_mm_alloc(struct mm_struct *mm)
{
	struct mempin_mm *mpm = kzalloc(sizeof(*mpm), GFP_KERNEL_ACCOUNT);

	if (!mpm)
		return ERR_PTR(-ENOMEM);
	mutex_init(&mpm->lock);
	INIT_LIST_HEAD(&mpm->ctxs);
	INIT_LIST_HEAD(&mpm->node);
	return &mpm->mn;
}

static const struct mmu_notifier_ops mempin_mm_ops;

/*
 * A newly registered notifier takes a reference of its own, so that it
 * outlives its containers (mmap_lock held for writing: binds of one mm
 * are serialised, and a second get only counts).
 */
static void mempin_mm_hold(struct mempin_mm *mpm, struct mm_struct *mm)
{
	struct mmu_notifier *again;

	if (!list_empty(&mpm->node))
		return;
	again = mmu_notifier_get_locked(&mempin_mm_ops, mm);
	if (again != &mpm->mn) {
		if (!IS_ERR(again))
			mmu_notifier_put(again);
		return;
	}
	spin_lock(&mempin_mms_lock);
	list_add(&mpm->node, &mempin_mms);
	spin_unlock(&mempin_mms_lock);
}

/* Drops that reference, once: at release, or at module exit. */
static void mempin_mm_unhold(struct mempin_mm *mpm)
{
	bool held;

	spin_lock(&mempin_mms_lock);
	held = !list_empty(&mpm->node);
	list_del_init(&mpm->node);
	spin_unlock(&mempin_mms_lock);
	if (held)
		mmu_notifier_put(&mpm->mn);
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
	/* Allowed here (mmu_notifier_put()); the containers keep theirs. */
	mempin_mm_unhold(mpm);
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

	if (mmap_write_lock_killable(mm))
		return -EINTR;
	/* The first container of an mm registers: mm_take_all_locks(). */
	mn = mmu_notifier_get_locked(&mempin_mm_ops, mm);
	if (!IS_ERR(mn))
		mempin_mm_hold(container_of(mn, struct mempin_mm, mn), mm);
	mmap_write_unlock(mm);
	/* mm_take_all_locks() gives up on any signal: open() restarts. */
	if (PTR_ERR_OR_ZERO(mn) == -EINTR)
		return -ERESTARTSYS;
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

/*
 * Module exit (no container is left): unregisters the notifiers still held
 * for live address spaces, then waits until mmu_notifier_put() has freed
 * them all.
 */
void mempin_mm_exit(void)
{
	struct mempin_mm *mpm;

	/* Off the list under the lock: a racing release then drops nothing. */
	spin_lock(&mempin_mms_lock);
	while ((mpm = list_first_entry_or_null(&mempin_mms, struct mempin_mm,
					       node))) {
		list_del_init(&mpm->node);
		spin_unlock(&mempin_mms_lock);
		mmu_notifier_put(&mpm->mn);
		spin_lock(&mempin_mms_lock);
	}
	spin_unlock(&mempin_mms_lock);
	mmu_notifier_synchronize();
}
