// SPDX-License-Identifier: GPL-2.0
/*
 * What operators see: per-container fdinfo, system-wide counters in sysfs
 * (/sys/class/misc/mempin/stats/), and the tracepoints (trace.h).  The cap
 * itself is the module parameter max_pinned_pages (account.c).
 */
#include <linux/cred.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/pid.h>
#include <linux/rbtree.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>

#include "internal.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* Pins fdinfo lists one by one; the rest are only counted. */
#define MEMPIN_FDINFO_MAX_PINS	256

/*
 * One "key:\tvalue" per line, keys prefixed mempin- (the DRM usage-stats
 * convention).  The list of pins is shown only if mutex_trylock() succeeds,
 * so reading fdinfo never waits for (or deadlocks with) a long pin in
 * progress; then the totals are read under the same lock, so that one read
 * is one snapshot (listed + unlisted == pins).  Without the lock, each
 * total is read once and every pin is unlisted.
 */
void mempin_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct mempin_ctx *ctx = file->private_data;
	bool locked = mutex_trylock(&ctx->lock);
	u64 npins = READ_ONCE(ctx->npins);
	u64 pages = READ_ONCE(ctx->npages);
	u64 listed = 0;
	struct rb_node *node;
	pid_t owner = 0;

	/* 0 once the owner is gone: its number may name another process. */
	rcu_read_lock();
	if (pid_task(ctx->owner, PIDTYPE_TGID))
		owner = pid_vnr(ctx->owner);
	rcu_read_unlock();
	/* The same container through dup(), fork() or SCM_RIGHTS: same id. */
	seq_printf(m, "mempin-id:\t%llu\n", ctx->id);
	seq_printf(m, "mempin-owner-pid:\t%d\n", owner);
	seq_printf(m, "mempin-pins:\t%llu\n", npins);
	seq_printf(m, "mempin-pinned-pages:\t%llu\n", pages);
	/* Each pin charges its own pages: charged == pinned. */
	seq_printf(m, "mempin-charged-pages:\t%llu\n", pages);
	seq_printf(m, "mempin-charged-bytes:\t%llu\n", pages << PAGE_SHIFT);
	seq_printf(m, "mempin-charge-mode:\t%s\n",
		   ctx->per_process ? "process" : "user");
	seq_printf(m, "mempin-charged-uid:\t%u\n",
		   from_kuid_munged(seq_user_ns(m), ctx->cred->user->uid));
	seq_printf(m, "mempin-address-space:\t%s\n",
		   READ_ONCE(ctx->mm_gone) ? "gone" : "live");
	/* Its cgroup (struct mempin_ctx): freed after RCU. */
	rcu_read_lock();
	seq_printf(m, "mempin-cgroup:\t%s\n",
		   mempin_cg_path(rcu_dereference(ctx->cg)));
	rcu_read_unlock();
	if (!locked) {
		seq_printf(m, "mempin-pins-unlisted:\t%llu\n", npins);
		return;
	}
	for (node = rb_first(&ctx->handles);
	     node && listed < MEMPIN_FDINFO_MAX_PINS; node = rb_next(node)) {
		struct mempin_region *reg = rb_entry(node, struct mempin_region,
						     handle_node);

		seq_printf(m, "mempin-pin-%llu:\t0x%llx %llu %lu %s\n",
			   reg->handle, reg->addr, reg->len, reg->npages,
			   reg->writable ? "rw" : "ro");
		listed++;
	}
	seq_printf(m, "mempin-pins-unlisted:\t%llu\n", npins - listed);
	mutex_unlock(&ctx->lock);
}

/* A sysfs file showing one of mempin_totals' counters. */
struct mempin_counter_attr {
	struct device_attribute attr;
	atomic64_t *counter;
};

static ssize_t mempin_counter_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct mempin_counter_attr *ca =
		container_of(attr, struct mempin_counter_attr, attr);

	return sysfs_emit(buf, "%lld\n", atomic64_read(ca->counter));
}

#define MEMPIN_COUNTER(_name, _counter)					\
	static struct mempin_counter_attr mempin_attr_##_name = {	\
		.attr = __ATTR(_name, 0444, mempin_counter_show, NULL),	\
		.counter = &mempin_totals._counter,			\
	}

MEMPIN_COUNTER(containers, containers);
MEMPIN_COUNTER(pins, pins);
MEMPIN_COUNTER(pinned_pages, pages);

/* Root writes 0 to start the high-water mark again from what is pinned. */
static ssize_t pinned_pages_max_store(struct device *dev,
				      struct device_attribute *attr,
				      const char *buf, size_t count)
{
	u64 val;
	int ret = kstrtou64(buf, 0, &val);

	if (ret)
		return ret;
	if (val)
		return -EINVAL;
	mempin_reset_pages_max();
	return count;
}

static struct mempin_counter_attr mempin_attr_pinned_pages_max = {
	.attr = __ATTR(pinned_pages_max, 0644, mempin_counter_show,
		       pinned_pages_max_store),
	.counter = &mempin_totals.pages_max,
};

/* Each pin charges its own pages: the same counter. */
MEMPIN_COUNTER(charged_pages, pages);
MEMPIN_COUNTER(refused_rlimit, refused[MEMPIN_REFUSED_RLIMIT]);
MEMPIN_COUNTER(refused_cap, refused[MEMPIN_REFUSED_CAP]);
MEMPIN_COUNTER(refused_mapping, refused[MEMPIN_REFUSED_MAPPING]);
MEMPIN_COUNTER(refused_limit, refused[MEMPIN_REFUSED_LIMIT]);
MEMPIN_COUNTER(refused_gup, refused[MEMPIN_REFUSED_GUP]);
MEMPIN_COUNTER(refused_cgroup, refused[MEMPIN_REFUSED_CGROUP]);

static struct attribute *mempin_stats_attrs[] = {
	&mempin_attr_containers.attr.attr,
	&mempin_attr_pins.attr.attr,
	&mempin_attr_pinned_pages.attr.attr,
	&mempin_attr_pinned_pages_max.attr.attr,
	&mempin_attr_charged_pages.attr.attr,
	&mempin_attr_refused_rlimit.attr.attr,
	&mempin_attr_refused_cap.attr.attr,
	&mempin_attr_refused_mapping.attr.attr,
	&mempin_attr_refused_limit.attr.attr,
	&mempin_attr_refused_gup.attr.attr,
	&mempin_attr_refused_cgroup.attr.attr,
	NULL
};

static const struct attribute_group mempin_stats_group = {
	.name = "stats",
	.attrs = mempin_stats_attrs,
};

const struct attribute_group *mempin_attr_groups[] = {
	&mempin_stats_group,
	NULL
};
