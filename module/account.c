// SPDX-License-Identifier: GPL-2.0
/*
 * Charging pinned pages, and the system-wide cap.
 *
 * Every pin charges its own pages, overlapping or not, so that the page
 * references a user holds through mempin are bounded by the user's budget
 * as well as the memory (and a page mapped at a thousand addresses costs a
 * thousand pages of budget).  The budget is, by charge_mode:
 *
 *   user     the opener's user_struct->locked_vm against RLIMIT_MEMLOCK,
 *            shared by all the user's processes and with io_uring's fixed
 *            buffers, as io_uring and iommufd charge (the default);
 *   process  the address space's pinned_vm against RLIMIT_MEMLOCK, as RDMA
 *            charges: each process of a user has a budget of its own.
 *
 * mm->pinned_vm (VmPin) shows a process's pins in both modes.  Charges
 * never outlive the address space: its pins are released with it (mm.c).
 * On top, each pin is charged to the pinning task's cgroup and its
 * ancestors (cgroup.c), whose budgets bind everyone, root included.
 */
#include <linux/atomic.h>
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "internal.h"
#include "trace.h"

static unsigned long max_pinned_pages;
module_param(max_pinned_pages, ulong, 0644);
MODULE_PARM_DESC(max_pinned_pages,
		 "System-wide cap on page references pinned through mempin, for everyone (0: no cap)");

/* What all containers hold, for the cap and for sysfs (observe.c). */
struct mempin_totals mempin_totals;

/*
 * charge_mode changes only while no container exists: a container keeps
 * the mode it was opened in, and its pins are uncharged where charged.
 */
static DEFINE_SPINLOCK(mempin_mode_lock);
static bool mempin_per_process;

static const char *const mempin_mode_names[] = { "user", "process" };

static int mempin_mode_set(const char *val, const struct kernel_param *kp)
{
	int mode = sysfs_match_string(mempin_mode_names, val);
	int ret = 0;

	if (mode < 0)
		return -EINVAL;
	spin_lock(&mempin_mode_lock);
	if (atomic64_read(&mempin_totals.containers))
		ret = -EBUSY;
	else
		mempin_per_process = mode;
	spin_unlock(&mempin_mode_lock);
	return ret;
}

static int mempin_mode_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 mempin_mode_names[READ_ONCE(mempin_per_process)]);
}

static const struct kernel_param_ops mempin_mode_ops = {
	.set = mempin_mode_set,
	.get = mempin_mode_get,
};

module_param_cb(charge_mode, &mempin_mode_ops, NULL, 0644);
MODULE_PARM_DESC(charge_mode,
		 "What RLIMIT_MEMLOCK bounds: user (all processes of the opener's user together, as io_uring) or process (each address space, as RDMA); settable only while no container exists");

/* Counts a new container, which takes the charge mode in force now. */
void mempin_container_add(struct mempin_ctx *ctx)
{
	spin_lock(&mempin_mode_lock);
	ctx->per_process = mempin_per_process;
	atomic64_inc(&mempin_totals.containers);
	spin_unlock(&mempin_mode_lock);
}

void mempin_container_del(void)
{
	atomic64_dec(&mempin_totals.containers);
}

unsigned long mempin_cap_pages(void)
{
	return READ_ONCE(max_pinned_pages);
}

/*
 * Adds @n to @counter only if the sum stays within @limit (< 0: none).  Never
 * over, even for an instant: a concurrent reader sees no overshoot, and a
 * concurrent pin that fits is never refused because of one.
 */
static bool mempin_add_within(atomic64_t *counter, s64 n, s64 limit)
{
	s64 cur = atomic64_read(counter);

	do {
		if (limit >= 0 && cur + n > limit)
			return false;
	} while (!atomic64_try_cmpxchg(counter, &cur, cur + n));
	return true;
}

/* The same for user_struct's atomic_long_t, as io_uring's __io_account_mem. */
static bool mempin_add_within_long(atomic_long_t *counter, long n, long limit)
{
	long cur = atomic_long_read(counter);

	do {
		if (cur + n > limit)
			return false;
	} while (!atomic_long_try_cmpxchg(counter, &cur, cur + n));
	return true;
}

/* Raises the high-water mark to the pages pinned now, if they are more. */
static void mempin_raise_pages_max(void)
{
	s64 total = atomic64_read(&mempin_totals.pages);
	s64 max = atomic64_read(&mempin_totals.pages_max);

	while (total > max &&
	       !atomic64_try_cmpxchg(&mempin_totals.pages_max, &max, total))
		;
}

/* Reserves page references against the cap, and keeps the high-water mark. */
int mempin_cap_reserve(unsigned long pages)
{
	unsigned long cap = mempin_cap_pages();

	if (!mempin_add_within(&mempin_totals.pages, pages, cap ? cap : -1)) {
		mempin_count_refusal(MEMPIN_REFUSED_CAP, pages, NULL);
		return -ENOMEM;
	}
	mempin_raise_pages_max();
	return 0;
}

/*
 * Starts the high-water mark again from the pages pinned now.  The raise
 * after the store undoes a store of a total read before a concurrent pin
 * raised the mark past it: the mark is never left below what is pinned.
 */
void mempin_reset_pages_max(void)
{
	atomic64_set(&mempin_totals.pages_max,
		     atomic64_read(&mempin_totals.pages));
	mempin_raise_pages_max();
}

/*
 * Whether a pin must look at each page's reference count (pin.c).  Read
 * after the pin's own reservation: the pins that do not look hold at most
 * MEMPIN_REFS_WATCHED references together.
 */
bool mempin_refs_watched(void)
{
	return atomic64_read(&mempin_totals.pages) > MEMPIN_REFS_WATCHED;
}

void mempin_cap_release(unsigned long pages)
{
	atomic64_sub(pages, &mempin_totals.pages);
}

/* Counts a refusal for sysfs and tells the tracepoint which budget. */
void mempin_count_refusal(enum mempin_refusal why, unsigned long pages,
			  struct mempin_cg *cg)
{
	atomic64_inc(&mempin_totals.refused[why]);
	trace_refused(why, pages, cg ? mempin_cg_id(cg) : 0);
}

/*
 * Charges a pin's pages before they are pinned: to the pinning task's
 * cgroup and its ancestors, then to the user's or process's RLIMIT_MEMLOCK
 * budget.  Never past a limit even for an instant (see
 * mempin_add_within()).  The opener's CAP_IPC_LOCK, or a cgroup rule with
 * rlimit, lifts the rlimit, not the charge: the counters always say what
 * is pinned.
 * Sets pin->cg and whose reference keeps it (see struct mempin_ctx).
 */
int mempin_charge(struct mempin_ctx *ctx, struct mempin_region *pin)
{
	struct mempin_cg *own = rcu_dereference_protected(ctx->cg,
					lockdep_is_held(&ctx->lock));
	long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	struct user_struct *user = ctx->cred->user;
	unsigned long pages = pin->npages;
	struct mempin_cg *cg, *refused;
	bool lifts_rlimit, fits;

	cg = mempin_cg_current(own);	/* a new reference unless own */
	if (IS_ERR(cg))
		return PTR_ERR(cg);
	refused = mempin_cg_charge(cg, pages, &lifts_rlimit);
	if (refused) {
		mempin_count_refusal(MEMPIN_REFUSED_CGROUP, pages, refused);
		goto out_put;
	}

	if (ctx->per_process)
		fits = mempin_add_within(&ctx->mm->pinned_vm, pages, limit);
	else
		fits = mempin_add_within_long(&user->locked_vm, pages, limit);
	/* The opener's CAP_IPC_LOCK: its user is the one charged. */
	if (!fits) {
		if (!lifts_rlimit && !ctx->cap_ipc_lock) {
			mempin_count_refusal(MEMPIN_REFUSED_RLIMIT, pages, NULL);
			mempin_cg_uncharge(cg, pages);
			goto out_put;
		}
		if (ctx->per_process)
			atomic64_add(pages, &ctx->mm->pinned_vm);
		else
			atomic_long_add(pages, &user->locked_vm);
	}
	if (!ctx->per_process)
		atomic64_add(pages, &ctx->mm->pinned_vm);

	pin->cg = cg;
	pin->cg_ref = false;
	if (cg != own && !ctx->cg_pins) {
		/* Moved, and nothing charged where it was: follow. */
		rcu_assign_pointer(ctx->cg, cg);
		mempin_cg_put(own);
	} else if (cg != own) {
		pin->cg_ref = true;
		return 0;
	}
	ctx->cg_pins++;
	return 0;

out_put:
	if (cg != own)
		mempin_cg_put(cg);
	return -ENOMEM;
}

/* Takes back the RLIMIT_MEMLOCK part of charges: never fails or allocates. */
void mempin_uncharge_rlimit(struct mempin_ctx *ctx, unsigned long pages)
{
	if (!ctx->per_process)
		atomic_long_sub(pages, &ctx->cred->user->locked_vm);
	atomic64_sub(pages, &ctx->mm->pinned_vm);
}

/* Takes back a pin's cgroup charge, and its share of a reference. */
void mempin_uncharge_cgroup(struct mempin_ctx *ctx, struct mempin_region *pin)
{
	mempin_cg_uncharge(pin->cg, pin->npages);
	if (pin->cg_ref)
		mempin_cg_put(pin->cg);
	else
		ctx->cg_pins--;
}

/* Takes back all of mempin_charge(). */
void mempin_uncharge(struct mempin_ctx *ctx, struct mempin_region *pin)
{
	mempin_uncharge_rlimit(ctx, pin->npages);
	mempin_uncharge_cgroup(ctx, pin);
}

/*
 * How many pins of the container overlap [first, last], counting up to
 * MEMPIN_MAX_OVERLAP + 1.  The bound keeps one container from pinning one
 * virtual page without end even where the budget does not apply
 * (CAP_IPC_LOCK).
 */
unsigned int mempin_count_overlap(struct mempin_ctx *ctx, unsigned long first,
				  unsigned long last)
{
	struct mempin_region *q;
	unsigned int n = 0;

	for (q = mempin_it_iter_first(&ctx->ranges, first, last);
	     q && n <= MEMPIN_MAX_OVERLAP;
	     q = mempin_it_iter_next(q, first, last))
		n++;
	return n;
}
