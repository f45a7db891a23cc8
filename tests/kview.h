/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kview: what the kernel shows, independently of what mempin says about
 * itself.  VmPin (/proc/PID/status), FOLL_PIN counters (/proc/vmstat),
 * PFNs (/proc/self/pagemap), NUMA nodes (move_pages(2)), the module's
 * reference count and parameters (/sys/module/mempin), the kernel log
 * (/dev/kmsg), smaps.
 *
 * Also process helpers (children that report failures through a pipe, and
 * dropping root).  Independent of both <linux/mempin.h> and libmempin's
 * <mempin.h>, so every test file may include it.
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
void kv_pins_read(struct kv_pins *p);
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

/* Kernel version as major * 65536 + minor * 256 (from uname). */
unsigned int kv_kernel_version(void);

/* Counts the entries of /proc/self/fd. */
int kv_count_fds(void);

/* ---- processes ---- */

/* Child's end: report a failure (and _exit(1)), or meet the parent. */
struct chan {
	int up_w;	/* child -> parent sync */
	int down_r;	/* parent -> child sync */
	int res_w;	/* failure message */
};
struct child {
	pid_t pid;
	int up_r;
	int down_w;
	int res_r;
	int status;	/* wait status after child_finish() */
};
typedef void (*child_fn)(struct chan *ch, void *arg);

/* Forks; the child runs fn(ch, arg) and _exit(0)s when it returns. */
void child_start(struct child *c, child_fn fn, void *arg);
/* Waits until the child calls ch_sync(); 0, or -1 if it exited first. */
int child_await(struct child *c);
/* Lets a child waiting in ch_sync() go on. */
void child_go(struct child *c);
/* Waits for the child; returns 0 if it exited 0, else fills msg. */
int child_finish(struct child *c, char *msg, size_t len);

void ch_sync(struct chan *ch);
__attribute__((noreturn, format(printf, 4, 5)))
void ch_fail(struct chan *ch, const char *file, int line, const char *fmt, ...);

#define CREQ(ch, cond) \
	do { if (!(cond)) ch_fail((ch), __FILE__, __LINE__, "%s", #cond); } while (0)
#define CREQ_EQ(ch, a, b) \
	do { long long _a = (long long)(a), _b = (long long)(b); \
	     if (_a != _b) ch_fail((ch), __FILE__, __LINE__, \
			"%s == %s: %lld != %lld", #a, #b, _a, _b); } while (0)

/* Parent side: run the child to its end and assert it passed. */
#define CHILD_OK(c) \
	do { char _m[1024]; int _r = child_finish((c), _m, sizeof(_m)); \
	     ck_assert_msg(_r == 0, "child failed: %s", _m); } while (0)

/* In a (child) process: RLIMIT_MEMLOCK = memlock bytes (soft and hard),
 * no supplementary groups, gid, uid: no capabilities left.  0 or -errno. */
int drop_root(uid_t uid, gid_t gid, long memlock);
/* CapEff of this process. */
uint64_t kv_capeff(void);

/* mmap helpers for the test process: anonymous private read-write memory,
 * touched (faulted in), THP disabled.  ck_assert on failure. */
void *xmap(size_t len);
void xunmap(void *p, size_t len);

#endif
