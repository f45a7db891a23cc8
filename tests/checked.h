/* SPDX-License-Identifier: GPL-2.0 */
/*
 * checked: what only the Check suite uses: calls that ck_assert their
 * success (x*), assertions on what the kernel shows, and child processes
 * that report failures through a pipe.  The plain forms are in rawio.h and
 * kview.h, which the fuzzer shares.
 */
#ifndef MEMPIN_TESTS_CHECKED_H
#define MEMPIN_TESTS_CHECKED_H

#include "rawio.h"

/* ---- raw ioctls ---- */

int xmp_open(void);
void xclose(int fd);
uint64_t xpin(int fd, const void *addr, size_t len, unsigned int flags);
void xunpin(int fd, uint64_t handle);
void xstats(int fd, struct mempin_stats_arg *st);
void xinfo(int fd, struct mempin_info_arg *info);

/* Asserts the container's pins / pages / charged_pages. */
#define ASSERT_STATS(fd, p, n, c) do { \
	struct mempin_stats_arg _st; xstats((fd), &_st); \
	ck_assert_uint_eq(_st.pins, (p)); \
	ck_assert_uint_eq(_st.pages, (n)); \
	ck_assert_uint_eq(_st.charged_pages, (c)); } while (0)

/* Asserts VmPin == base + pages * 4 kB. */
#define ASSERT_VMPIN(base, pages) \
	ck_assert_int_eq(kv_vmpin_kb(0), (long)(base) + (long)(pages) * (long)(PG / 1024))

/* ---- kernel views ---- */

/* kv_pins_get(), asserting it could read the counters. */
void kv_pins_read(struct kv_pins *p);

/* ---- tracefs: the mempin:* events ---- */

#define TRACEFS "/sys/kernel/tracing"

/* Mounts tracefs if needed; asserts the module's events are there. */
void tracefs_mount(void);
/* Mounted, tracing on, the mempin events enabled, the buffer empty. */
void trace_start(void);
/* The mempin events disabled; the trace buffer as text (free() it). */
char *trace_stop(void);
/* Events off, whatever happened (unchecked teardown). */
void trace_off(void);
/* The text after "EV: pid=PID " of the n-th (from 0) such event, or NULL. */
const char *trace_find(const char *trace, const char *ev, pid_t pid, int n);
/* A whole file (at most max bytes) as a string; free() it. */
char *xread_all(const char *path, size_t max);

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

/* mmap helpers for the test process: anonymous private read-write memory,
 * touched (faulted in), THP disabled.  ck_assert on failure. */
void *xmap(size_t len);
/* @pages of anonymous memory, small pages, written: NULL on failure
 * (unchecked: children use it). */
char *touched(size_t pages);
void xunmap(void *p, size_t len);

/* One fd over a unix socket (SCM_RIGHTS): 0 or -errno; the fd or -1. */
int send_fd(int sock, int fd);
int recv_fd(int sock);

/* A "KEY:\tVALUE" line of this process's fdinfo for @fd: 0 or -errno. */
int fdinfo_value(int fd, const char *key, char *val, size_t len);

/* The counters of /sys/class/misc/mempin/stats/, by index. */
#define STATS_DIR "/sys/class/misc/mempin/stats/"
enum { C_CONTAINERS, C_PINS, C_PAGES, C_PAGES_MAX, C_CHARGED, C_RLIMIT, C_CAP,
	C_MAPPING, C_LIMIT, C_GUP, C_CGROUP, C_NR };
extern const char *const counter_names[C_NR];
/* The counter's value, asserting it could be read. */
uint64_t stats_counter(int i);

/* /dev/mempin root:1000 0660, as the test guest makes it: 0 or -errno. */
int mempin_dev_fix(void);
/* Unchecked teardown: the module loaded, the device as above, no cap, no
 * events: as the suites after one that reloads the module expect. */
void suite_restore(void);

#endif
