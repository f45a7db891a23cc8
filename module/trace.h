/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints mempin:pin, mempin:unpin and mempin:release, for trace-cmd,
 * perf and bpftrace.  result is 0 or a negative errno.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mempin

#if !defined(MEMPIN_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define MEMPIN_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(pin,
	    TP_PROTO(u64 addr, u64 len, u32 flags, u64 pages, u64 handle,
		     int result),
	    TP_ARGS(addr, len, flags, pages, handle, result),
	    TP_STRUCT__entry(__field(pid_t, pid)
			     __field(u64, addr)
			     __field(u64, len)
			     __field(u32, flags)
			     __field(u64, pages)
			     __field(u64, handle)
			     __field(int, result)),
	    TP_fast_assign(__entry->pid = task_tgid_nr(current);
			   __entry->addr = addr;
			   __entry->len = len;
			   __entry->flags = flags;
			   __entry->pages = pages;
			   __entry->handle = handle;
			   __entry->result = result),
	    TP_printk("pid=%d addr=0x%llx len=%llu flags=0x%x pages=%llu handle=%llu result=%d",
		      __entry->pid, __entry->addr, __entry->len,
		      __entry->flags, __entry->pages, __entry->handle,
		      __entry->result)
);

TRACE_EVENT(unpin,
	    TP_PROTO(u64 handle, u64 addr, u64 len, u64 pages, int result),
	    TP_ARGS(handle, addr, len, pages, result),
	    TP_STRUCT__entry(__field(pid_t, pid)
			     __field(u64, handle)
			     __field(u64, addr)
			     __field(u64, len)
			     __field(u64, pages)
			     __field(int, result)),
	    TP_fast_assign(__entry->pid = task_tgid_nr(current);
			   __entry->handle = handle;
			   __entry->addr = addr;
			   __entry->len = len;
			   __entry->pages = pages;
			   __entry->result = result),
	    TP_printk("pid=%d handle=%llu addr=0x%llx len=%llu pages=%llu result=%d",
		      __entry->pid, __entry->handle, __entry->addr,
		      __entry->len, __entry->pages, __entry->result)
);

/*
 * A pin was refused by a limit: budget says which (rlimit: RLIMIT_MEMLOCK;
 * cap: max_pinned_pages; cgroup: the budget of cgroup_id; limit: a pin
 * size or overlap bound or a page's reference count; mapping: the mapping
 * may not be pinned; gup: GUP failed).
 */
TRACE_DEFINE_ENUM(MEMPIN_REFUSED_RLIMIT);
TRACE_DEFINE_ENUM(MEMPIN_REFUSED_CAP);
TRACE_DEFINE_ENUM(MEMPIN_REFUSED_MAPPING);
TRACE_DEFINE_ENUM(MEMPIN_REFUSED_LIMIT);
TRACE_DEFINE_ENUM(MEMPIN_REFUSED_GUP);
TRACE_DEFINE_ENUM(MEMPIN_REFUSED_CGROUP);

TRACE_EVENT(refused,
	    TP_PROTO(int budget, u64 pages, u64 cgroup_id),
	    TP_ARGS(budget, pages, cgroup_id),
	    TP_STRUCT__entry(__field(pid_t, pid)
			     __field(int, budget)
			     __field(u64, pages)
			     __field(u64, cgroup_id)),
	    TP_fast_assign(__entry->pid = task_tgid_nr(current);
			   __entry->budget = budget;
			   __entry->pages = pages;
			   __entry->cgroup_id = cgroup_id),
	    TP_printk("pid=%d budget=%s pages=%llu cgroup_id=%llu",
		      __entry->pid,
		      __print_symbolic(__entry->budget,
				       { MEMPIN_REFUSED_RLIMIT, "rlimit" },
				       { MEMPIN_REFUSED_CAP, "cap" },
				       { MEMPIN_REFUSED_MAPPING, "mapping" },
				       { MEMPIN_REFUSED_LIMIT, "limit" },
				       { MEMPIN_REFUSED_GUP, "gup" },
				       { MEMPIN_REFUSED_CGROUP, "cgroup" }),
		      __entry->pages, __entry->cgroup_id)
);

/* The last reference to a container went: everything left is unpinned. */
TRACE_EVENT(release,
	    TP_PROTO(pid_t owner, u64 pins, u64 pages, u64 charged),
	    TP_ARGS(owner, pins, pages, charged),
	    TP_STRUCT__entry(__field(pid_t, pid)
			     __field(pid_t, owner)
			     __field(u64, pins)
			     __field(u64, pages)
			     __field(u64, charged)),
	    TP_fast_assign(__entry->pid = task_tgid_nr(current);
			   __entry->owner = owner;
			   __entry->pins = pins;
			   __entry->pages = pages;
			   __entry->charged = charged),
	    TP_printk("pid=%d owner=%d pins=%llu pages=%llu charged=%llu",
		      __entry->pid, __entry->owner, __entry->pins,
		      __entry->pages, __entry->charged)
);

#endif /* MEMPIN_TRACE_H */

/* Out of tree: define_trace.h must find this file in the module's dir. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
