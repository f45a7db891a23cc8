/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mempin internals.  A container (one per open()) holds pins; each pin is
 * one pinned byte range, stored as runs of physically contiguous pages.
 *
 *   main.c     device, open/release, ioctl decoding and dispatch
 *   pin.c      the pin path: mapping checks, GUP in chunks, runs, unpin
 *   account.c  charging: the user's or the process's RLIMIT_MEMLOCK budget,
 *              VmPin, the system-wide cap
 *   cgroup.c   budgets per cgroup: rules, charging up the hierarchy, sysfs
 *   mm.c       pins die with their address space (an mmu notifier)
 *   observe.c  what operators see: fdinfo, sysfs counters, tracepoints
 */
#ifndef MEMPIN_INTERNAL_H
#define MEMPIN_INTERNAL_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/types.h>

struct seq_file;
struct file;
struct attribute_group;
struct cred;
struct mempin_mm;
struct mempin_cg;
struct kobject;

/* GUP batch: one page of page pointers, rescheduling between batches. */
#define MEMPIN_CHUNK_PAGES	(PAGE_SIZE / sizeof(struct page *))
/* Largest single pin: keeps every allocation far below INT_MAX. */
#define MEMPIN_MAX_PIN_PAGES	BIT(26)
/*
 * Existing pins one new pin may overlap: how often one container may pin
 * one virtual page, whatever its budget (each pin adds to the page's
 * refcount, which must never overflow).
 */
#define MEMPIN_MAX_OVERLAP	1024
/*
 * A page whose reference count has passed this is not pinned again: each
 * pin of a small page adds GUP_PIN_COUNTING_BIAS (1024), and at 2^31 the
 * count overflows and GUP WARNs.  The budgets bound one user's or one
 * process's pins; this bounds everyone's together (many processes, many
 * uids, CAP_IPC_LOCK), with room for pins in flight.
 */
#define MEMPIN_REF_CEILING	BIT(30)
/*
 * Pages are only looked at while mempin holds more references than this in
 * all: below it, all of them together add at most 2^29 to any page's count,
 * and the look would cost every pin of small pages a read per page.
 */
#define MEMPIN_REFS_WATCHED	(MEMPIN_REF_CEILING / 2 / GUP_PIN_COUNTING_BIAS)
#define MEMPIN_MAX_BATCH	65536

/*
 * A run is pfn << MEMPIN_RUN_LEN_BITS | (pages - 1): 8 bytes for any number
 * of physically contiguous pages up to 2^24, so a 2 MiB THP costs 8 bytes.
 */
#define MEMPIN_RUN_LEN_BITS	24
#define MEMPIN_INLINE_RUNS	2
#define MEMPIN_RUN_LEN_MASK	((1ULL << MEMPIN_RUN_LEN_BITS) - 1)

static inline unsigned long mempin_run_pfn(u64 run)
{
	return run >> MEMPIN_RUN_LEN_BITS;
}

static inline unsigned long mempin_run_pages(u64 run)
{
	return (run & MEMPIN_RUN_LEN_MASK) + 1;
}

struct mempin_region {
	struct rb_node handle_node;	/* ctx->handles, by handle */
	struct rb_node va_node;		/* ctx->ranges, interval tree */
	unsigned long first, last;	/* virtual page numbers, inclusive */
	unsigned long subtree_last;	/* interval tree augmentation */
	u64 handle;
	u64 addr, len;			/* as the caller gave them */
	unsigned long npages;
	struct mempin_cg *cg;		/* the cgroup charged */
	bool cg_ref;			/* holds a reference to it (else ctx's) */
	bool writable;
	unsigned int nruns, runs_cap;
	u64 *runs;			/* in virtual address order */
	/* Where runs start: a 4 KiB pin or a 2 MiB THP needs no allocation. */
	u64 runs_inline[MEMPIN_INLINE_RUNS];
};

struct mempin_ctx {
	struct mm_struct *mm;		/* mmgrab()ed owner address space */
	struct mempin_mm *mpm;		/* its notifier (mm.c), and mm_node */
	struct list_head mm_node;	/* in mpm->ctxs */
	const struct cred *cred;	/* the opener's: its user is charged */
	bool per_process;		/* charge_mode "process" at open() */
	bool cap_ipc_lock;		/* the opener's: the rlimit does not bind */
	bool mm_gone;			/* its pins went with it (mm.c) */
	struct pid *owner;		/* the opening process, for fdinfo */
	/*
	 * The container's cgroup (a reference; RCU, for fdinfo): the
	 * opener's, or that of the first pin made while it had none charged
	 * to it.  The cg_pins pins charged to it share its reference: a pin
	 * costs no reference count unless its task has moved.
	 */
	struct mempin_cg __rcu *cg;
	unsigned long cg_pins;
	u64 id;				/* unique while loaded, for fdinfo */
	struct mutex lock;		/* everything below */
	struct rb_root handles;
	struct rb_root_cached ranges;
	struct page **scratch;		/* one GUP chunk; NULL once mm is gone */
	struct mempin_region *spare;	/* the last region freed, for reuse */
	u64 last_handle;
	/*
	 * Written under lock; fdinfo reads them without (READ_ONCE).  Each pin
	 * charges its own pages, so npages is also what the container charges.
	 */
	u64 npins;
	u64 npages;			/* page references held by all pins */
};

/* Why a pin was refused, counted system-wide for sysfs. */
enum mempin_refusal {
	MEMPIN_REFUSED_RLIMIT,		/* over RLIMIT_MEMLOCK */
	MEMPIN_REFUSED_CAP,		/* over max_pinned_pages */
	MEMPIN_REFUSED_MAPPING,		/* a mapping that must not be pinned */
	MEMPIN_REFUSED_LIMIT,		/* over max_pin_pages or max_overlap */
	MEMPIN_REFUSED_GUP,		/* GUP failed: fault, signal, memory */
	MEMPIN_REFUSED_CGROUP,		/* over a cgroup's budget (cgroup.c) */
	MEMPIN_REFUSED_NR,
};

/* Totals over all containers (account.c keeps them, observe.c shows them). */
struct mempin_totals {
	atomic64_t containers;
	atomic64_t containers_opened;	/* ever: gives each its id */
	atomic64_t pins;
	atomic64_t pages;		/* page references: what the cap bounds */
	atomic64_t pages_max;		/* high-water mark of pages */
	atomic64_t refused[MEMPIN_REFUSED_NR];
};

extern struct mempin_totals mempin_totals;

/* pin.c */
int mempin_pin_range(struct mempin_ctx *ctx, u64 addr, u64 len, bool readonly,
		     struct mempin_region **pinp);
void mempin_unpin(struct mempin_ctx *ctx, struct mempin_region *pin);
struct mempin_region *mempin_find_handle(struct mempin_ctx *ctx, u64 handle);
struct mempin_region *mempin_find_range(struct mempin_ctx *ctx, u64 addr, u64 len);
void mempin_release_all(struct mempin_ctx *ctx);

/* pin.c: walking the interval tree of pins by virtual page */
struct mempin_region *
mempin_it_iter_first(struct rb_root_cached *root, unsigned long first,
		     unsigned long last);
struct mempin_region *
mempin_it_iter_next(struct mempin_region *reg, unsigned long first,
		    unsigned long last);

/* account.c */
void mempin_container_add(struct mempin_ctx *ctx);
void mempin_container_del(void);
unsigned int mempin_count_overlap(struct mempin_ctx *ctx, unsigned long first,
				  unsigned long last);
int mempin_charge(struct mempin_ctx *ctx, struct mempin_region *pin);
void mempin_uncharge(struct mempin_ctx *ctx, struct mempin_region *pin);
void mempin_uncharge_cgroup(struct mempin_ctx *ctx, struct mempin_region *pin);
void mempin_uncharge_rlimit(struct mempin_ctx *ctx, unsigned long pages);
int mempin_cap_reserve(unsigned long pages);
void mempin_cap_release(unsigned long pages);
void mempin_reset_pages_max(void);
unsigned long mempin_cap_pages(void);
bool mempin_refs_watched(void);
void mempin_count_refusal(enum mempin_refusal why, unsigned long pages,
			  struct mempin_cg *cg);

/* cgroup.c */
#if IS_ENABLED(CONFIG_CGROUPS)
#define MEMPIN_HAVE_CGROUP_BUDGETS	1
#else
#define MEMPIN_HAVE_CGROUP_BUDGETS	0
#endif
struct mempin_cg *mempin_cg_current(struct mempin_cg *own);
struct mempin_cg *mempin_cg_charge(struct mempin_cg *cg, unsigned long pages,
				   bool *lifts_rlimit);
void mempin_cg_uncharge(struct mempin_cg *cg, unsigned long pages);
void mempin_cg_put(struct mempin_cg *cg);
u64 mempin_cg_id(struct mempin_cg *cg);
const char *mempin_cg_path(struct mempin_cg *cg);
int mempin_cg_init(struct kobject *dev_kobj);
bool mempin_cg_available(void);
void mempin_cg_exit(void);

/* mm.c */
int mempin_mm_bind(struct mempin_ctx *ctx);
void mempin_mm_unbind(struct mempin_ctx *ctx);
void mempin_mm_exit(void);

/* observe.c */
extern const struct attribute_group *mempin_attr_groups[];
void mempin_show_fdinfo(struct seq_file *m, struct file *file);

#endif /* MEMPIN_INTERNAL_H */
