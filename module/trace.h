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
