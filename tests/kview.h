/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kview: what the kernel shows, independently of what mempin says about
 * itself.  VmPin (/proc/PID/status), FOLL_PIN counters (/proc/vmstat),
 * PFNs (/proc/self/pagemap), NUMA nodes (move_pages(2)), the module's
 * reference count and parameters (/sys/module/mempin), the kernel log
 * (/dev/kmsg), smaps.
 *
 * Also dropping root.  Independent of both <linux/mempin.h> and libmempin's
 * <mempin.h>, so every test file may include it, and of Check, so the
 * fuzzer (tests/fuzz) shares it; the asserting forms are in checked.h.
 */
#ifndef MEMPIN_TESTS_KVIEW_H
#define MEMPIN_TESTS_KVIEW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PG 4096UL

/* ---- kernel views ---- */

/* VmPin of pid (0 = self) in kB, or -1 if it cannot be read. */
long kv_vmpin_kb(pid_t pid);
/* A "Key:" line of /proc/PID/status as a number (first number), or -1. */
long kv_status_num(pid_t pid, const char *key);

/* nr_foll_pin_acquired / nr_foll_pin_released, after folding the per-cpu
 * counters (/proc/sys/vm/stat_refresh, root only) so deltas are exact. */
struct kv_pins {
	uint64_t acquired;
	uint64_t released;
};
int kv_pins_get(struct kv_pins *p);	/* 0 or -errno */
/* Deltas since *before. */
#define KV_ACQ(before, after) ((after).acquired - (before).acquired)
#define KV_REL(before, after) ((after).released - (before).released)
/*
 * Pins held gained between two reads.  Where GUP itself may pin, drop and
 * retry (6.12+ GUP-fast backs off file-backed pages to the slow path), the
 * kernel-independent figure is the net one, not nr_foll_pin_acquired.
 */
#define KV_HELD(before, after) (KV_ACQ(before, after) - KV_REL(before, after))

/* PFN backing addr (needs root), 0 if not present, UINT64_MAX on error. */
uint64_t kv_pfn(const void *addr);

/* NUMA: number of online nodes; the node of the page at addr (negative
 * errno as move_pages reports it); move one page to node: the status
 * move_pages stored (node or negative errno), or the syscall's -errno. */
int kv_nr_nodes(void);
int kv_node(const void *addr);
int kv_move(const void *addr, int node);
/* Moves n pages starting at addr to node; status[] receives per-page
 * status.  Returns the syscall's return value (or -errno). */
long kv_move_n(const void *addr, size_t n, int node, int *status);

/* The number a sysfs-style file starts with, or -1 if it cannot be read. */
long kv_read_long(const char *path);
/* /sys/module/mempin/refcnt, or -1 if the module is not loaded. */
long kv_refcnt(void);
int kv_module_loaded(void);

/* /sys/module/mempin/parameters/NAME. */
long kv_param_get(const char *name);
int kv_param_set(const char *name, long value); /* 0 or -errno */

/* Writes s to path; 0 or -errno. */
int kv_write_file(const char *path, const char *s);

/* AnonHugePages (kB) of the smaps entry containing addr, or -1. */
long kv_anon_huge_kb(const void *addr);

/* /dev/kmsg positioned after the last record (root), or -errno. */
int kv_kmsg_open(void);
/* Records logged since kv_kmsg_open() that mention mempin or look like a
 * kernel warning (WARNING, BUG, Call Trace, refcount_t, ...); the first one
 * is copied to first.  Returns their number. */
int kv_kmsg_scan(int fd, char *first, size_t len);

/*
 * KCSAN (make check-debug DEBUG=kcsan) reports every data race of the whole
 * kernel: from "BUG: KCSAN:" to its closing "=====" line.  It is mempin's
 * when one of the two racing accesses is in mempin's code or in a function
 * mempin called (the title names a mempin_ function, or one of the first
 * two frames of an access is "[mempin]"); the rest are the kernel's own
 * (GUP's own races below pin_user_pages(), a task named mempin-tests in
 * the report's CPU line), skipped and only counted.  Deeper than two frames
 * the data is the kernel's own; what this can miss is a race on mempin's
 * data three calls down (a %s through vsnprintf) or behind a tail call.  kv_kcsan_line() takes one log
 * line: 0 not part of a report, 1 part of one (skip it), 2 the end of one
 * naming mempin (a failure: its title is in k->title).
 */
struct kv_kcsan {
	int in, ours, frames;
	unsigned long mine, other;
	char title[256];
};
int kv_kcsan_line(struct kv_kcsan *k, const char *msg);

/* Kernel version as major * 65536 + minor * 256 (from uname). */
unsigned int kv_kernel_version(void);

/* Counts the entries of /proc/self/fd. */
int kv_count_fds(void);

/* ---- processes ---- */

/* In a (child) process: RLIMIT_MEMLOCK = memlock bytes (soft and hard),
 * no supplementary groups, gid, uid: no capabilities left.  0 or -errno. */
int drop_root(uid_t uid, gid_t gid, long memlock);
/* CapEff of this process. */
uint64_t kv_capeff(void);

#endif
