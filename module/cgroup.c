// SPDX-License-Identifier: GPL-2.0
/*
 * Pin budgets per cgroup (cgroup v2), for what no kernel controller bounds.
 *
 * Every pin is charged to the pinning task's cgroup and to each of its
 * ancestors below the root: mempin keeps one node per cgroup on such a
 * chain, so every node's usage is exact whenever a budget is set on it.
 * The root cgroup has none (max_pinned_pages bounds everyone), which
 * spares every pin a compare-and-swap on one shared counter.  A
 * pin is refused (ENOMEM) if any node on the chain would go over its limit;
 * each node is charged with a compare-and-swap against its limit, so none
 * ever overshoots, even for an instant, however many pins race.  The pin
 * keeps a reference to the node it charged and uncharges the same chain:
 * moving the task or removing the cgroup changes nothing for it.
 *
 * Root sets rules through /sys/class/misc/mempin/cgroup/{set,unset}:
 *
 *   own         a budget for the cgroup (and its descendants, together);
 *   each-child  a budget for each direct child of the cgroup, so that pods
 *               that come and go need no rule of their own;
 *   rlimit      (option) pins charged under the rule are not checked
 *               against RLIMIT_MEMLOCK, only counted.
 *
 * Each node with a budget has a directory cgroup/<cgroup id>/ showing it.
 * Lock order: ctx->lock, then mempin_cg_mutex, then kernfs.  The sysfs
 * show functions take no lock, so removing a directory under the mutex
 * never waits for them to wait for it.
 */
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/hashtable.h>
#include <linux/kernfs.h>
#include <linux/kobject.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "internal.h"

#if MEMPIN_HAVE_CGROUP_BUDGETS

/* Rules (own and each-child together) root may set. */
#define MEMPIN_CG_MAX_RULES	1024

/*
 * A rule in one word, so that the lock-free sysfs readers see a whole one:
 * bit 0 set, bit 1 rlimit, the rest the limit in pages (all ones: none).
 */
#define MEMPIN_RULE_SET		BIT(0)
#define MEMPIN_RULE_RLIMIT	BIT(1)
#define MEMPIN_RULE_SHIFT	2
#define MEMPIN_RULE_NO_LIMIT	(ULONG_MAX >> MEMPIN_RULE_SHIFT)

struct mempin_cg_dir {
	struct kobject kobj;
	struct mempin_cg *cg;	/* valid until kobject_del() returns */
};

struct mempin_cg {
	struct hlist_node hnode;	/* mempin_cgs, by cgroup */
	struct cgroup *cgrp;		/* a reference */
	struct mempin_cg *parent;	/* a reference; NULL for the root */
	refcount_t ref;			/* pins, children, rules, containers */
	atomic_long_t usage;		/* pages charged here or below */
	atomic_long_t peak;		/* high-water mark of usage */
	atomic_long_t refused;		/* pins this node's limit refused */
	long limit;			/* effective, pages: LONG_MAX for none */
	bool lifts_rlimit;		/* effective: a rule with rlimit applies */
	unsigned long own, each;	/* rules, MEMPIN_RULE_* words */
	struct mempin_cg_dir *dir;	/* while the node has a budget */
	struct rcu_head rcu;
	char path[];			/* when first seen, for sysfs and fdinfo */
};

static DEFINE_MUTEX(mempin_cg_mutex);	/* the table, rules, directories */
static DEFINE_HASHTABLE(mempin_cgs, 8);
static unsigned int mempin_cg_rules;
static struct kobject *mempin_cg_kobj;	/* /sys/class/misc/mempin/cgroup */

static unsigned long mempin_rule_pages(unsigned long rule)
{
	return rule >> MEMPIN_RULE_SHIFT;
}

static long mempin_rule_limit(unsigned long rule)
{
	unsigned long pages = mempin_rule_pages(rule);

	return pages == MEMPIN_RULE_NO_LIMIT ? LONG_MAX : pages;
}

/* The rule of @cg's parent that gives @cg its budget, or 0. */
static unsigned long mempin_cg_from_parent(struct mempin_cg *cg)
{
	return cg->parent ? READ_ONCE(cg->parent->each) : 0;
}

static bool mempin_cg_budgeted(struct mempin_cg *cg)
{
	return cg->own || cg->each || mempin_cg_from_parent(cg);
}

static struct mempin_cg *mempin_cg_find_rcu(struct cgroup *cgrp)
{
	struct mempin_cg *cg;

	hash_for_each_possible_rcu(mempin_cgs, cg, hnode, (unsigned long)cgrp)
		if (cg->cgrp == cgrp && refcount_inc_not_zero(&cg->ref))
			return cg;
	return NULL;
}

/* ---- the per-cgroup directories -------------------------------------- */

static struct mempin_cg *mempin_dir_cg(struct kobject *kobj)
{
	return container_of(kobj, struct mempin_cg_dir, kobj)->cg;
}

static ssize_t mempin_emit_pages(char *buf, long pages)
{
	if (pages == LONG_MAX)
		return sysfs_emit(buf, "max\n");
	return sysfs_emit(buf, "%llu\n", (u64)pages << PAGE_SHIFT);
}

static ssize_t path_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", mempin_dir_cg(kobj)->path);
}

static ssize_t removed_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	struct cgroup *cgrp = mempin_dir_cg(kobj)->cgrp;

	return sysfs_emit(buf, "%d\n",
			  !(READ_ONCE(cgrp->self.flags) & CSS_ONLINE));
}

static ssize_t limit_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return mempin_emit_pages(buf, READ_ONCE(mempin_dir_cg(kobj)->limit));
}

static ssize_t usage_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return mempin_emit_pages(buf,
				 atomic_long_read(&mempin_dir_cg(kobj)->usage));
}

static ssize_t peak_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return mempin_emit_pages(buf,
				 atomic_long_read(&mempin_dir_cg(kobj)->peak));
}

static ssize_t refused_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&mempin_dir_cg(kobj)->refused));
}

static int mempin_emit_rule(char *buf, int at, const char *kind,
			    unsigned long rule)
{
	long limit = mempin_rule_limit(rule);

	if (!rule)
		return at;
	at += sysfs_emit_at(buf, at, "%s ", kind);
	if (limit == LONG_MAX)
		at += sysfs_emit_at(buf, at, "max");
	else
		at += sysfs_emit_at(buf, at, "%llu", (u64)limit << PAGE_SHIFT);
	return at + sysfs_emit_at(buf, at, "%s\n",
				  rule & MEMPIN_RULE_RLIMIT ? " rlimit" : "");
}

static ssize_t rules_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	struct mempin_cg *cg = mempin_dir_cg(kobj);
	int at = 0;

	at = mempin_emit_rule(buf, at, "own", READ_ONCE(cg->own));
	at = mempin_emit_rule(buf, at, "each-child", READ_ONCE(cg->each));
	return mempin_emit_rule(buf, at, "from-parent",
				mempin_cg_from_parent(cg));
}

static struct kobj_attribute mempin_cg_path_attr = __ATTR_RO_MODE(path, 0400);
static struct kobj_attribute mempin_cg_removed_attr = __ATTR_RO_MODE(removed, 0400);
static struct kobj_attribute mempin_cg_limit_attr = __ATTR_RO_MODE(limit, 0400);
static struct kobj_attribute mempin_cg_usage_attr = __ATTR_RO_MODE(usage, 0400);
static struct kobj_attribute mempin_cg_peak_attr = __ATTR_RO_MODE(peak, 0400);
static struct kobj_attribute mempin_cg_refused_attr = __ATTR_RO_MODE(refused, 0400);
static struct kobj_attribute mempin_cg_rules_attr = __ATTR_RO_MODE(rules, 0400);

static struct attribute *mempin_cg_dir_attrs[] = {
	&mempin_cg_path_attr.attr,
	&mempin_cg_removed_attr.attr,
	&mempin_cg_limit_attr.attr,
	&mempin_cg_usage_attr.attr,
	&mempin_cg_peak_attr.attr,
	&mempin_cg_refused_attr.attr,
	&mempin_cg_rules_attr.attr,
	NULL
};
ATTRIBUTE_GROUPS(mempin_cg_dir);

static void mempin_cg_dir_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct mempin_cg_dir, kobj));
}

static struct kobj_type mempin_cg_dir_ktype = {
	.release = mempin_cg_dir_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = mempin_cg_dir_groups,
};

static void mempin_cg_del_dir(struct mempin_cg *cg)
{
	if (!cg->dir)
		return;
	kobject_del(&cg->dir->kobj);
	kobject_put(&cg->dir->kobj);
	cg->dir = NULL;
}

/*
 * Recomputes @cg's effective limit from the rules and gives it a directory
 * if it has a budget, or takes it away.  Under mempin_cg_mutex.
 */
static int mempin_cg_sync(struct mempin_cg *cg)
{
	unsigned long from_parent = mempin_cg_from_parent(cg);
	long limit = LONG_MAX;
	int ret;

	if (cg->own)
		limit = mempin_rule_limit(cg->own);
	if (from_parent)
		limit = min(limit, mempin_rule_limit(from_parent));
	WRITE_ONCE(cg->limit, limit);
	WRITE_ONCE(cg->lifts_rlimit,
		   (cg->own | from_parent) & MEMPIN_RULE_RLIMIT);

	if (!mempin_cg_budgeted(cg)) {
		mempin_cg_del_dir(cg);
		return 0;
	}
	if (cg->dir)
		return 0;
	cg->dir = kzalloc(sizeof(*cg->dir), GFP_KERNEL_ACCOUNT);
	if (!cg->dir)
		return -ENOMEM;
	cg->dir->cg = cg;
	ret = kobject_init_and_add(&cg->dir->kobj, &mempin_cg_dir_ktype,
				   mempin_cg_kobj, "%llu", cgroup_id(cg->cgrp));
	if (ret) {
		kobject_put(&cg->dir->kobj);
		cg->dir = NULL;
	}
	return ret;
}

/* ---- nodes ------------------------------------------------------------ */

/* Frees @cg, once nothing refers to it, and drops what it held. */
static void mempin_cg_free_locked(struct mempin_cg *cg)
{
	while (cg) {
		struct mempin_cg *parent = cg->parent;

		hash_del_rcu(&cg->hnode);
		mempin_cg_del_dir(cg);
		cgroup_put(cg->cgrp);
		/* fdinfo may be reading the path under RCU. */
		kfree_rcu(cg, rcu);
		/* The child's reference to its parent goes with it. */
		if (!parent || !refcount_dec_and_test(&parent->ref))
			break;
		cg = parent;
	}
}

void mempin_cg_put(struct mempin_cg *cg)
{
	if (cg && refcount_dec_and_mutex_lock(&cg->ref, &mempin_cg_mutex)) {
		mempin_cg_free_locked(cg);
		mutex_unlock(&mempin_cg_mutex);
	}
}

static void mempin_cg_get(struct mempin_cg *cg)
{
	refcount_inc(&cg->ref);
}

/* The same under mempin_cg_mutex, where no node is at zero. */
static struct mempin_cg *mempin_cg_find_locked(struct cgroup *cgrp)
{
	struct mempin_cg *cg;

	rcu_read_lock();
	cg = mempin_cg_find_rcu(cgrp);
	rcu_read_unlock();
	return cg;
}

static void mempin_cg_put_locked(struct mempin_cg *cg)
{
	if (cg && refcount_dec_and_test(&cg->ref))
		mempin_cg_free_locked(cg);
}

/* A node for @cgrp, whose path is @path. */
static struct mempin_cg *mempin_cg_alloc(struct cgroup *cgrp, const char *path)
{
	struct mempin_cg *cg;

	cg = kzalloc(struct_size(cg, path, strlen(path) + 1),
		     GFP_KERNEL_ACCOUNT);
	if (!cg)
		return NULL;
	strcpy(cg->path, path);
	cgroup_get(cgrp);
	cg->cgrp = cgrp;
	refcount_set(&cg->ref, 1);
	cg->limit = LONG_MAX;
	return cg;
}

/*
 * The node of @cgrp, with a reference, made with any missing ancestors'.
 * One walk up (a hierarchy may be deep): the new nodes are linked child to
 * parent as they are made, each taking over the reference to its parent;
 * the path is computed once, each parent's is its child's up to the last
 * "/".  Their budgets are set before they are hashed, where lock-free
 * lookups could charge them.  Under mempin_cg_mutex.
 */
static struct mempin_cg *mempin_cg_make_locked(struct cgroup *cgrp)
{
	struct mempin_cg *first = NULL, *child = NULL, *cg = NULL;
	char *pathbuf, *slash;
	struct cgroup *c;
	int len;

	cg = mempin_cg_find_locked(cgrp);
	if (cg)
		return cg;
	pathbuf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!pathbuf)
		return ERR_PTR(-ENOMEM);
	len = kernfs_path(cgrp->kn, pathbuf, PATH_MAX);
	if (len < 0 || len >= PATH_MAX || pathbuf[0] != '/')
		strscpy(pathbuf, "?", PATH_MAX);
	for (c = cgrp; cgroup_parent(c); c = cgroup_parent(c)) {
		cg = c == cgrp ? NULL : mempin_cg_find_locked(c);
		if (!cg)
			cg = mempin_cg_alloc(c, pathbuf);
		if (!cg)
			break;
		slash = strrchr(pathbuf, '/');
		if (slash)
			slash[slash == pathbuf] = 0;	/* "/a" -> "/" */
		if (child)
			child->parent = cg;
		else
			first = cg;
		if (!hlist_unhashed(&cg->hnode))
			break;		/* an existing node: its reference */
		child = cg;
	}
	kfree(pathbuf);
	if (!cg) {
		/* Out of memory: free what was made, nothing else holds it. */
		while (first) {
			cg = first;
			first = cg->parent;
			cgroup_put(cg->cgrp);
			kfree(cg);
		}
		return ERR_PTR(-ENOMEM);
	}
	/*
	 * Budgets from the parents' each-child rules first (a directory that
	 * cannot be made now is made at the next rule change: the budget
	 * holds without it), then lookups may find them.
	 */
	for (cg = first; cg != child->parent; cg = cg->parent)
		mempin_cg_sync(cg);
	for (cg = first; cg != child->parent; cg = cg->parent)
		hash_add_rcu(mempin_cgs, &cg->hnode, (unsigned long)cg->cgrp);
	return first;
}

/*
 * The node of the current task's cgroup, or NULL for the root cgroup:
 * @own (one the caller holds, maybe NULL) as it is, or another with a new
 * reference.
 */
struct mempin_cg *mempin_cg_current(struct mempin_cg *own)
{
	struct mempin_cg *cg;
	struct cgroup *cgrp;

	/*
	 * Every pin asks, and is usually answered @own.  Disabling preemption
	 * is an RCU read-side section for call_rcu() since the flavours were
	 * merged (4.20), and cheaper than rcu_read_lock() on PREEMPT_RCU
	 * kernels: it keeps the css_set (kfree_rcu()) while we look in it.
	 */
	preempt_disable();
	cgrp = rcu_dereference_sched(current->cgroups)->dfl_cgrp;
	if (own ? own->cgrp == cgrp : !cgroup_parent(cgrp)) {
		preempt_enable();
		return own;
	}
	preempt_enable();

	rcu_read_lock();
	cgrp = task_dfl_cgroup(current);
	if (!cgroup_parent(cgrp)) {
		rcu_read_unlock();
		return NULL;
	}
	cg = mempin_cg_find_rcu(cgrp);
	/* The task's css_set keeps its cgroup; ours keeps it past RCU. */
	if (!cg)
		cgroup_get(cgrp);
	rcu_read_unlock();
	if (cg)
		return cg;

	mutex_lock(&mempin_cg_mutex);
	cg = mempin_cg_make_locked(cgrp);
	mutex_unlock(&mempin_cg_mutex);
	cgroup_put(cgrp);
	return cg;
}

/* Adds @n to @cg's usage up to its limit, and raises its peak to match. */
static bool mempin_cg_add(struct mempin_cg *cg, long n)
{
	long cur = atomic_long_read(&cg->usage);
	long limit = READ_ONCE(cg->limit);
	long peak;

	do {
		if (cur + n > limit)
			return false;
	} while (!atomic_long_try_cmpxchg(&cg->usage, &cur, cur + n));
	cur += n;
	peak = atomic_long_read(&cg->peak);
	while (cur > peak && !atomic_long_try_cmpxchg(&cg->peak, &peak, cur))
		;
	return true;
}

/*
 * Charges @pages to @cg and each ancestor, all or none.  Returns the node
 * whose limit refused them (its refusal counted), or NULL; *@lifts_rlimit
 * says whether a rule on the way stands in for RLIMIT_MEMLOCK.
 */
struct mempin_cg *mempin_cg_charge(struct mempin_cg *cg, unsigned long pages,
				   bool *lifts_rlimit)
{
	struct mempin_cg *c, *u;

	*lifts_rlimit = false;
	for (c = cg; c; c = c->parent) {
		if (!mempin_cg_add(c, pages)) {
			atomic_long_inc(&c->refused);
			for (u = cg; u != c; u = u->parent)
				atomic_long_sub(pages, &u->usage);
			return c;
		}
		*lifts_rlimit |= READ_ONCE(c->lifts_rlimit);
	}
	return NULL;
}

/* Never fails, never allocates. */
void mempin_cg_uncharge(struct mempin_cg *cg, unsigned long pages)
{
	for (; cg; cg = cg->parent)
		atomic_long_sub(pages, &cg->usage);
}

u64 mempin_cg_id(struct mempin_cg *cg)
{
	return cgroup_id(cg->cgrp);
}

const char *mempin_cg_path(struct mempin_cg *cg)
{
	return cg ? cg->path : "/";
}

/* ---- rules: /sys/class/misc/mempin/cgroup/{set,unset} -------------------- */

/* "/" or "/a/b": no empty, "." or ".." component, no trailing "/". */
static bool mempin_cg_path_ok(const char *path)
{
	const char *p = path;

	if (*p != '/')
		return false;
	if (!p[1])
		return true;
	while (*p == '/') {
		const char *name = ++p;
		size_t len = strcspn(name, "/");

		if (!len || (len == 1 && name[0] == '.') ||
		    (len == 2 && name[0] == '.' && name[1] == '.'))
			return false;
		p = name + len;
	}
	return !*p;
}

/* SIZE: bytes, with K, M, G or T (powers of 1024), a page multiple; "max". */
static int mempin_cg_parse_size(const char *s, unsigned long *pages)
{
	static const char units[] = "KMGT";
	char digits[24];
	size_t len = strlen(s);
	unsigned int shift = 0;
	const char *unit;
	u64 bytes;
	int ret;

	if (!strcmp(s, "max")) {
		*pages = MEMPIN_RULE_NO_LIMIT;
		return 0;
	}
	if (!len || len >= sizeof(digits))
		return len ? -ERANGE : -EINVAL;
	unit = strchr(units, s[len - 1]);
	if (s[len - 1] && unit) {
		shift = 10 * (unit - units + 1);
		len--;
	}
	memcpy(digits, s, len);
	digits[len] = 0;
	if (!len || digits[0] == '+')
		return -EINVAL;
	ret = kstrtou64(digits, 10, &bytes);
	if (ret)
		return ret;
	if (shift && bytes > (U64_MAX >> shift))
		return -ERANGE;
	bytes <<= shift;
	if (bytes & ~PAGE_MASK)
		return -EINVAL;
	if ((bytes >> PAGE_SHIFT) >= MEMPIN_RULE_NO_LIMIT ||
	    (bytes >> PAGE_SHIFT) > LONG_MAX)
		return -ERANGE;
	*pages = bytes >> PAGE_SHIFT;
	return 0;
}

/* Recomputes the budgets @cg's rules give: its own and its children's. */
static int mempin_cg_sync_rules(struct mempin_cg *cg)
{
	struct mempin_cg *c;
	int bkt, ret = mempin_cg_sync(cg);

	hash_for_each(mempin_cgs, bkt, c, hnode)
		if (c->parent == cg && refcount_read(&c->ref) && !ret)
			ret = mempin_cg_sync(c);
	return ret;
}

/*
 * Sets *@rule of @cg to @val (0: removes it).  Rules hold one reference on
 * their node, for own and each-child together: a rule keeps its cgroup's
 * usage counted while nothing is pinned there.
 */
static int mempin_cg_set_rule(struct mempin_cg *cg, unsigned long *rule,
			      unsigned long val)
{
	bool had = cg->own || cg->each;
	unsigned long old = *rule;
	int ret;

	if (!old && val && mempin_cg_rules >= MEMPIN_CG_MAX_RULES)
		return -ENOSPC;
	mempin_cg_rules += !old - !val;
	WRITE_ONCE(*rule, val);
	ret = mempin_cg_sync_rules(cg);
	/* Taking a budget away only removes directories: it cannot fail. */
	if (ret && val) {
		mempin_cg_rules -= !old - !val;
		WRITE_ONCE(*rule, old);
		mempin_cg_sync_rules(cg);
		return ret;
	}
	if (!had && (cg->own || cg->each))
		mempin_cg_get(cg);
	else if (had && !(cg->own || cg->each))
		mempin_cg_put_locked(cg);
	return 0;
}

/*
 * Drops the rules of every cgroup, or (@removed_only) of those that have
 * been removed: nothing can be charged there any more, and the rule would
 * keep the cgroup's memory.  Starts over after each: the put may free
 * nodes the walk would visit.
 */
static void mempin_cg_drop_rules_locked(bool removed_only)
{
	struct mempin_cg *cg;
	int bkt;

again:
	hash_for_each(mempin_cgs, bkt, cg, hnode) {
		bool online = READ_ONCE(cg->cgrp->self.flags) & CSS_ONLINE;

		if (!(cg->own || cg->each) || (removed_only && online))
			continue;
		mempin_cg_get(cg);
		mempin_cg_set_rule(cg, &cg->own, 0);
		mempin_cg_set_rule(cg, &cg->each, 0);
		mempin_cg_put_locked(cg);
		goto again;
	}
}

/*
 * Splits "PATH SIZE OPTION..." (set) or "PATH OPTION..." (unset) in @buf,
 * which it modifies.  Options: each-child, rlimit (set only).
 */
static int mempin_cg_parse(char *buf, bool set, char **path,
			   unsigned long *pages, bool *each, bool *rlimit)
{
	char *tok, *p = strim(buf);
	int ret;

	*each = false;
	*rlimit = false;
	*path = strsep(&p, " \t");
	if (!**path || !mempin_cg_path_ok(*path))
		return -EINVAL;
	if (set) {
		do
			tok = strsep(&p, " \t");
		while (tok && !*tok);
		if (!tok)
			return -EINVAL;
		ret = mempin_cg_parse_size(tok, pages);
		if (ret)
			return ret;
	}
	while ((tok = strsep(&p, " \t"))) {
		if (!*tok)
			continue;
		if (!strcmp(tok, "each-child") && !*each)
			*each = true;
		else if (set && !strcmp(tok, "rlimit") && !*rlimit)
			*rlimit = true;
		else
			return -EINVAL;
	}
	return 0;
}

static int mempin_cg_write(const char *ubuf, size_t count, bool set)
{
	unsigned long pages = 0, *rule;
	struct mempin_cg *cg;
	struct cgroup *cgrp;
	bool each, rlimit;
	char *buf, *path;
	int ret;

	/*
	 * Paths are from the root of the hierarchy, as sysfs shows them:
	 * from 6.0 cgroup_get_from_path() would resolve them from the
	 * writer's cgroup namespace root instead.
	 */
	if (!capable(CAP_SYS_ADMIN) ||
	    current->nsproxy->cgroup_ns->root_cset->dfl_cgrp !=
	    &cgrp_dfl_root.cgrp)
		return -EACCES;
	mutex_lock(&mempin_cg_mutex);
	mempin_cg_drop_rules_locked(true);
	mutex_unlock(&mempin_cg_mutex);
	buf = kmemdup_nul(ubuf, count, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = mempin_cg_parse(buf, set, &path, &pages, &each, &rlimit);
	if (ret)
		goto out;
	cgrp = cgroup_get_from_path(path);
	if (IS_ERR(cgrp)) {
		ret = PTR_ERR(cgrp);
		goto out;
	}
	/* The root's budget is max_pinned_pages. */
	if (!cgroup_parent(cgrp)) {
		ret = -EINVAL;
		goto out_put;
	}
	mutex_lock(&mempin_cg_mutex);
	/* unset makes no node: no node, no rule, and no ENOMEM. */
	cg = set ? mempin_cg_make_locked(cgrp) : mempin_cg_find_locked(cgrp);
	if (IS_ERR(cg)) {
		ret = PTR_ERR(cg);
	} else if (!cg) {
		ret = -ENOENT;
	} else {
		rule = each ? &cg->each : &cg->own;
		if (!set && !*rule)
			ret = -ENOENT;
		else
			ret = mempin_cg_set_rule(cg, rule, !set ? 0 :
				pages << MEMPIN_RULE_SHIFT | MEMPIN_RULE_SET |
				(rlimit ? MEMPIN_RULE_RLIMIT : 0));
		mempin_cg_put_locked(cg);
	}
	mutex_unlock(&mempin_cg_mutex);
out_put:
	cgroup_put(cgrp);
out:
	kfree(buf);
	return ret;
}

static ssize_t set_store(struct kobject *kobj, struct kobj_attribute *attr,
			 const char *buf, size_t count)
{
	int ret = mempin_cg_write(buf, count, true);

	return ret ? ret : count;
}

static ssize_t unset_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *buf, size_t count)
{
	int ret = mempin_cg_write(buf, count, false);

	return ret ? ret : count;
}

static struct kobj_attribute mempin_cg_set_attr = __ATTR_WO(set);
static struct kobj_attribute mempin_cg_unset_attr = __ATTR_WO(unset);

static struct attribute *mempin_cg_ctl_attrs[] = {
	&mempin_cg_set_attr.attr,
	&mempin_cg_unset_attr.attr,
	NULL
};

static const struct attribute_group mempin_cg_ctl_group = {
	.attrs = mempin_cg_ctl_attrs,
};

/* Makes /sys/class/misc/mempin/cgroup/ under the device's @dev_kobj. */
int mempin_cg_init(struct kobject *dev_kobj)
{
	int ret;

	mempin_cg_kobj = kobject_create_and_add("cgroup", dev_kobj);
	if (!mempin_cg_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(mempin_cg_kobj, &mempin_cg_ctl_group);
	if (ret) {
		kobject_put(mempin_cg_kobj);
		mempin_cg_kobj = NULL;
	}
	return ret;
}

/*
 * At module exit: no container is left, so only rules hold nodes.  The
 * files go first, waiting for writers, so that none adds a rule after.
 */
void mempin_cg_exit(void)
{
	if (!mempin_cg_kobj)
		return;
	sysfs_remove_group(mempin_cg_kobj, &mempin_cg_ctl_group);
	mutex_lock(&mempin_cg_mutex);
	mempin_cg_drop_rules_locked(false);
	mutex_unlock(&mempin_cg_mutex);
	kobject_put(mempin_cg_kobj);
}

/* Whether budgets can be set: MEMPIN_IOC_INFO's feature bit. */
bool mempin_cg_available(void)
{
	return mempin_cg_kobj;
}

#else	/* No cgroups: no budgets, and MEMPIN_IOC_INFO says so. */

struct mempin_cg *mempin_cg_current(struct mempin_cg *own)
{
	return NULL;
}

struct mempin_cg *mempin_cg_charge(struct mempin_cg *cg, unsigned long pages,
				   bool *lifts_rlimit)
{
	*lifts_rlimit = false;
	return NULL;
}

void mempin_cg_uncharge(struct mempin_cg *cg, unsigned long pages)
{
}

void mempin_cg_put(struct mempin_cg *cg)
{
}

u64 mempin_cg_id(struct mempin_cg *cg)
{
	return 0;
}

const char *mempin_cg_path(struct mempin_cg *cg)
{
	return "-";
}

int mempin_cg_init(struct kobject *dev_kobj)
{
	return 0;
}

bool mempin_cg_available(void)
{
	return false;
}

void mempin_cg_exit(void)
{
}

#endif
