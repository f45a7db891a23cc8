// SPDX-License-Identifier: GPL-2.0
/*
 * Phase "failnth": every error path made to fail on purpose, as syzkaller
 * does.  For each operation (open, close, exit, each ioctl on each kind of
 * mapping, each mempinctl command that talks to the module), run it with
 * the Nth fault-injection site of the calling task failing (failslab,
 * fail_page_alloc, fail_usercopy; /proc/thread-self/fail-nth), for
 * N = 1, 2, ... until a run completes with no fault injected.  Each run, in
 * a fresh process (so that open() also registers the mmu notifier):
 *
 *   setup (not armed)  mappings, containers, pins the operation needs
 *   armed              the one system call; then fail-nth is read (0: the
 *                      fault fired) and disarmed
 *   result             0 or an errno mempin(4) documents for it
 *   state              container stats, VmPin, the module's totals (sysfs:
 *                      pins, pinned_pages = the cap counter, containers),
 *                      nr_foll_pin_acquired - released (after stat_refresh)
 *                      and the user's budget (locked_vm, or VmPin in
 *                      charge_mode process: of a budget of LIMIT pages,
 *                      LIMIT - charged pages pin and one more does not) are
 *                      what the result says: unchanged on an error, the
 *                      operation's effect on success
 *   teardown           close everything; then all of the above at zero
 *   kernel log         not one new line (verbose=0: the injection itself
 *                      prints nothing)
 *
 * The process runs as root without CAP_IPC_LOCK, so RLIMIT_MEMLOCK applies;
 * both charge modes.  mempinctl runs under LD_PRELOAD=failnth-preload.so,
 * whose constructor arms fail-nth after the dynamic loader is done: every
 * fault site of the command itself, N = 1, 2, ...; it must end with a
 * status of 0, 1 (failed, with a message) or 3 (module not loaded), never
 * a signal, and change nothing.
 *
 * Opt-in (MEMPIN_TEST_FUZZ_PHASES=failnth): it needs a kernel with
 * CONFIG_FAULT_INJECTION (make check-debug DEBUG=kasan).  On any kernel,
 * MEMPIN_TEST_FAILNTH_DRY=1 runs each operation once, nothing injected:
 * the harness and the state checks themselves.  MEMPIN_TEST_FAILNTH_ONLY
 * ('|' list of substrings of operation names) and _MODES (user, process)
 * narrow the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "fuzz.h"

#define LIMIT	2048UL			/* RLIMIT_MEMLOCK, pages */
#define HPAGE	(2UL << 20)
#define SCATTER	1024UL			/* pages of the scattered pin: 8 KiB of runs */
#define MAX_N	20000			/* N never gets here: a loop bound */
#define DBG	"/sys/kernel/debug/"
#define STATS	"/sys/class/misc/mempin/stats/"

/* What one run of an operation left, for its checks. */
struct run {
	int fd, fd2;			/* containers; -1 if none */
	char *anon, *fault, *thp, *huge, *memfd, *ext4, *scat, *probe;
	uint64_t h[3];			/* pins made by the setup */
	struct mempin_pin_entry ent[3];
	/* What the setup holds, and what a success adds. */
	long pins, pages, containers;
	long dpins, dpages, dcontainers;
	int ret;			/* the armed call: 0 or -errno */
};

struct op {
	const char *name;
	unsigned int needs;		/* NEED_* */
	int (*setup)(struct run *r);
	int (*armed)(struct run *r);
	/* Errnos this operation may return when a fault is injected. */
	const int *errnos;
	int plain;			/* its result with no fault: 0 or -errno */
};

enum { NEED_EXT4 = 1, NEED_HUGETLB = 2 };

/* Outcomes per operation, shared with the run processes. */
struct tally {
	unsigned long runs, injected, ok, err[8];
	int errs[8];
	unsigned int n_last;
};

static struct shared {
	struct tally t[64];
	int fails;			/* failures so far, of all processes */
	int injected;			/* the last run's */
	int ret;
} *sh;

/* fail(), counted: one operation's failure stops its N, not the others. */
#define FAIL(...) do {						\
		if (sh)						\
			__sync_fetch_and_add(&sh->fails, 1);	\
		fail(__VA_ARGS__);				\
	} while (0)

static const char *ext4_dir;
static int fail_fd = -1;
/* No fail-nth (MEMPIN_TEST_FAILNTH_DRY=1): each operation once, unarmed. */
static bool dry;
/* MEMPIN_FEATURE_READONLY_COW: else a read-only pin of a private mapping
 * is refused (EFAULT, before 6.2). */
static bool readonly_cow;

/* ---- fail-nth ---- */

static int arm(unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n);

	if (dry)
		return 0;
	return pwrite(fail_fd, b, len, 0) == len ? 0 : -errno;
}

/*
 * 1 if the armed fault fired.  Reading copies out (a fail_usercopy site):
 * with one site left that read fails, which says the call did not use it.
 */
static int disarm(void)
{
	char b[16] = "";
	ssize_t n = dry ? 0 : pread(fail_fd, b, sizeof(b) - 1, 0);
	int fired = n > 0 && b[0] == '0';

	if (dry)
		return 0;
	if (pwrite(fail_fd, "0", 1, 0) != 1 && errno != EFAULT)
		FAIL("failnth: cannot disarm fail-nth: %s", strerror(errno));
	return fired;
}

static int fault_setup(void)
{
	static const char *const dirs[] = { "failslab", "fail_page_alloc",
					    "fail_usercopy" };
	/*
	 * task-filter first, probability last: in between, with the defaults
	 * (no filter, times 1), any task of the system would fail; init did,
	 * and the kernel panicked.
	 */
	static const char *const files[][2] = {
		{ "task-filter", "Y" }, { "verbose", "0" }, { "interval", "1" },
		{ "space", "0" }, { "times", "-1" }, { "probability", "100" },
	};
	char path[128];
	int bad = 0;

	/* As syzkaller: also GFP_KERNEL allocations, user pages, order 0. */
	bad |= kv_write_file(DBG "failslab/ignore-gfp-wait", "N") != 0;
	bad |= kv_write_file(DBG "fail_page_alloc/ignore-gfp-wait", "N") != 0;
	bad |= kv_write_file(DBG "fail_page_alloc/ignore-gfp-highmem", "N") != 0;
	bad |= kv_write_file(DBG "fail_page_alloc/min-order", "0") != 0;
	for (unsigned int d = 0; d < 3; d++) {
		for (unsigned int f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			snprintf(path, sizeof(path), DBG "%s/%s", dirs[d], files[f][0]);
			bad |= kv_write_file(path, files[f][1]) != 0;
		}
	}
	if (bad) {
		FAIL("failnth: cannot configure fault injection in " DBG
		     " (CONFIG_FAILSLAB, FAIL_PAGE_ALLOC, FAULT_INJECTION_USERCOPY,"
		     " FAULT_INJECTION_DEBUG_FS?)");
		return -1;
	}
	return 0;
}

/* ---- what the kernel shows ---- */

static long sysfs(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), STATS "%s", name);
	return kv_read_long(path);
}

static int64_t held(void)
{
	return pins_held(NULL, NULL);
}

/* Checks the module's totals, VmPin, and the container's stats if fd. */
static void check_state(const char *op, unsigned int n, const char *when, int fd,
			long pins, long pages, long containers, int64_t held0)
{
	struct mempin_stats_arg st = { .size = sizeof(st) };
	long v;

	if (fd >= 0) {
		if (ioctl(fd, MEMPIN_IOC_STATS, &st))
			FAIL("failnth %s N=%u %s: STATS: %s", op, n, when, strerror(errno));
		else if ((long)st.pins != pins || (long)st.pages != pages ||
			 st.charged_pages != st.pages)
			FAIL("failnth %s N=%u %s: container has %llu pins %llu pages "
			     "%llu charged, expected %ld pins %ld pages", op, n, when,
			     (unsigned long long)st.pins, (unsigned long long)st.pages,
			     (unsigned long long)st.charged_pages, pins, pages);
	}
	v = kv_vmpin_kb(0);
	if (v != pages * (long)(PG / 1024))
		FAIL("failnth %s N=%u %s: VmPin %ld kB, expected %ld", op, n, when, v,
		     pages * (long)(PG / 1024));
	if (sysfs("pins") != pins || sysfs("pinned_pages") != pages ||
	    sysfs("charged_pages") != pages || sysfs("containers") != containers)
		FAIL("failnth %s N=%u %s: module totals: %ld pins %ld pinned_pages "
		     "%ld charged_pages %ld containers, expected %ld %ld %ld %ld",
		     op, n, when, sysfs("pins"), sysfs("pinned_pages"),
		     sysfs("charged_pages"), sysfs("containers"), pins, pages, pages,
		     containers);
	if (held() - held0 != pages)
		FAIL("failnth %s N=%u %s: nr_foll_pin held %lld more than before, "
		     "expected %ld", op, n, when, (long long)(held() - held0), pages);
}

/*
 * The budget: with @charged pages charged, LIMIT - charged more pin and one
 * more does not (ENOMEM).  In a container of its own, closed again.
 */
static void check_budget(const char *op, unsigned int n, char *probe, long charged)
{
	long room = (long)LIMIT - charged;
	uint64_t h;
	int fd = open(MEMPIN_DEV, O_RDWR | O_CLOEXEC), r1 = 0, r2;

	if (fd < 0) {
		FAIL("failnth %s N=%u: budget probe: open: %s", op, n, strerror(errno));
		return;
	}
	if (room > 0)
		r1 = mp_pin(fd, probe, room * PG, 0, &h, NULL);
	if (!r1 && room > 0)
		mp_unpin(fd, h);
	r2 = mp_pin(fd, probe, (room + 1) * PG, 0, &h, NULL);
	if (r1 || r2 != -ENOMEM)
		FAIL("failnth %s N=%u: budget: %ld pages charged, but a pin of the "
		     "%ld left gave %s and of one more %s", op, n, charged, room,
		     strerror(-r1), r2 ? strerror(-r2) : "success");
	close(fd);
}

/* ---- mappings ---- */

static char *map_anon(size_t len, bool populate)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0),
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static char *map_thp(void)
{
	char *p = map_anon(2 * HPAGE, false);

	if (!p)
		return NULL;
	p = (char *)(((uintptr_t)p + HPAGE - 1) & ~(HPAGE - 1));
	madvise(p, HPAGE, MADV_HUGEPAGE);
	memset(p, 1, HPAGE);
	return p;
}

static char *map_hugetlb(void)
{
	char *p = mmap(NULL, HPAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 1, HPAGE);
	return p;
}

static char *map_memfd(void)
{
	int fd = memfd_create("failnth", MFD_CLOEXEC);
	char *p;

	if (fd < 0 || ftruncate(fd, 16 * PG))
		return NULL;
	p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		 fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static char *map_ext4(int prot)
{
	char path[256];
	char *p;
	int fd;

	snprintf(path, sizeof(path), "%s/failnth.%d", ext4_dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	unlink(path);
	if (ftruncate(fd, 16 * PG)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, 16 * PG, prot, MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* Pages faulted in backwards: physically scattered, one run each. */
static char *map_scattered(void)
{
	char *p = map_anon(SCATTER * PG, false);

	if (!p)
		return NULL;
	madvise(p, SCATTER * PG, MADV_NOHUGEPAGE);
	for (long i = SCATTER - 1; i >= 0; i--)
		p[i * PG] = 1;
	return p;
}

/* ---- operations: setup (not armed) and the armed call ---- */

static int pin_setup(struct run *r, const void *addr, size_t len, int i)
{
	int ret = mp_pin(r->fd, addr, len, 0, &r->h[i], NULL);

	if (ret)
		return ret;
	r->pins++;
	r->pages += len / PG;
	return 0;
}

static int open_fd(struct run *r)
{
	r->fd = open(MEMPIN_DEV, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	r->containers++;
	return 0;
}

static int s_none(struct run *r)
{
	(void)r;
	return 0;
}

static int s_open(struct run *r)
{
	return open_fd(r);
}

static int s_pinned2(struct run *r)
{
	int ret = open_fd(r);

	if (!ret)
		ret = pin_setup(r, r->anon, 4 * PG, 0);
	if (!ret)
		ret = pin_setup(r, r->scat, SCATTER * PG / 2, 1);
	return ret;
}

static int s_pinned3(struct run *r)
{
	int ret = open_fd(r);

	for (int i = 0; !ret && i < 3; i++)
		ret = pin_setup(r, r->anon + i * 2 * PG, 2 * PG, i);
	return ret;
}

static int a_open(struct run *r)
{
	int fd = open(MEMPIN_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	r->fd2 = fd;
	r->dcontainers = 1;
	return 0;
}

static int a_close(struct run *r)
{
	/* The release runs before close() returns (task_work), armed too. */
	close(r->fd);
	r->fd = -1;
	r->dcontainers = -1;
	r->dpins = -r->pins;
	r->dpages = -r->pages;
	return 0;
}

static int a_info(struct run *r)
{
	struct mempin_info_arg a = { .size = sizeof(a) };

	return ioctl(r->fd, MEMPIN_IOC_INFO, &a) ? -errno : 0;
}

static int a_stats(struct run *r)
{
	struct mempin_stats_arg a = { .size = sizeof(a) };

	return ioctl(r->fd, MEMPIN_IOC_STATS, &a) ? -errno : 0;
}

static int pin(struct run *r, void *addr, size_t len, unsigned int flags)
{
	struct mempin_pin_arg a = { .size = sizeof(a), .flags = flags,
				    .addr = (uintptr_t)addr, .len = len };

	if (ioctl(r->fd, MEMPIN_IOC_PIN, &a))
		return -errno;
	r->dpins = 1;
	r->dpages = a.pages;
	return 0;
}

static int a_pin_anon(struct run *r) { return pin(r, r->anon, 8 * PG, 0); }
static int a_pin_fault(struct run *r) { return pin(r, r->fault, 8 * PG, 0); }
static int a_pin_thp(struct run *r) { return pin(r, r->thp, HPAGE, 0); }
static int a_pin_huge(struct run *r) { return pin(r, r->huge, HPAGE, 0); }
static int a_pin_memfd(struct run *r) { return pin(r, r->memfd, 16 * PG, 0); }
static int a_pin_ro(struct run *r) { return pin(r, r->anon, 8 * PG, MEMPIN_PIN_READONLY); }
static int a_pin_scat(struct run *r) { return pin(r, r->scat, SCATTER * PG, 0); }
static int a_pin_over(struct run *r) { return pin(r, r->anon, 8 * PG, 0); }

static int a_pin_ext4_ro(struct run *r)
{
	return pin(r, r->ext4, 16 * PG, MEMPIN_PIN_READONLY);
}

static int a_pin_ext4_rw(struct run *r)
{
	return pin(r, r->ext4, 16 * PG, 0);
}

static int a_unpin(struct run *r)
{
	struct mempin_unpin_arg a = { .size = sizeof(a), .handle = r->h[0] };

	if (ioctl(r->fd, MEMPIN_IOC_UNPIN, &a))
		return -errno;
	r->dpins = -1;
	r->dpages = -4;
	return 0;
}

static int a_unpin_range(struct run *r)
{
	struct mempin_unpin_arg a = { .size = sizeof(a), .flags = MEMPIN_UNPIN_BY_RANGE,
				      .addr = (uintptr_t)r->anon, .len = 4 * PG };

	if (ioctl(r->fd, MEMPIN_IOC_UNPIN, &a))
		return -errno;
	r->dpins = -1;
	r->dpages = -4;
	return 0;
}

/*
 * Entries [0, done) took effect.  If even done could not be written back
 * (the final copy failed), the handles written say which did.
 */
static int a_pin_batch(struct run *r)
{
	struct mempin_batch_arg a = { .size = sizeof(a), .entries = (uintptr_t)r->ent,
				      .count = 3, .entry_size = sizeof(r->ent[0]),
				      .done = ~0U };
	int ret = ioctl(r->fd, MEMPIN_IOC_PIN_BATCH, &a) ? -errno : 0;
	unsigned int done = 0;

	while (done < 3 && r->ent[done].handle)
		done++;
	if (a.done != ~0U && a.done != done)
		FAIL("failnth pin_batch: done %u, but %u handles written", a.done, done);
	r->dpins = done;
	r->dpages = 2 * done;
	return ret;
}

static int a_unpin_batch(struct run *r)
{
	struct mempin_batch_arg a = { .size = sizeof(a), .entries = (uintptr_t)r->h,
				      .count = 3, .entry_size = 8, .done = ~0U };
	int ret = ioctl(r->fd, MEMPIN_IOC_UNPIN_BATCH, &a) ? -errno : 0;

	/* done unknown (not written back): the stats will tell. */
	if (a.done == ~0U) {
		struct mempin_stats_arg st = { .size = sizeof(st) };

		ioctl(r->fd, MEMPIN_IOC_STATS, &st);
		a.done = 3 - st.pins;
	}
	r->dpins = -(long)a.done;
	r->dpages = -2 * (long)a.done;
	return ret;
}

static const int e_mem_fault[] = { ENOMEM, EFAULT, 0 };
static const int e_fault[] = { EFAULT, 0 };
static const int e_none[] = { 0 };

static const struct op ops[] = {
	/* A fresh process: the first open registers the mmu notifier. */
	{ "open", 0, s_none, a_open, e_mem_fault, 0 },
	{ "open (second)", 0, s_open, a_open, e_mem_fault, 0 },
	{ "close (2 pins)", 0, s_pinned2, a_close, e_none, 0 },
	{ "info", 0, s_open, a_info, e_fault, 0 },
	{ "stats", 0, s_open, a_stats, e_fault, 0 },
	{ "pin anon", 0, s_open, a_pin_anon, e_mem_fault, 0 },
	{ "pin anon, not faulted in", 0, s_open, a_pin_fault, e_mem_fault, 0 },
	{ "pin THP", 0, s_open, a_pin_thp, e_mem_fault, 0 },
	{ "pin hugetlb", NEED_HUGETLB, s_open, a_pin_huge, e_mem_fault, 0 },
	{ "pin memfd", 0, s_open, a_pin_memfd, e_mem_fault, 0 },
	{ "pin read-only private", 0, s_open, a_pin_ro, e_mem_fault, 0 },
	{ "pin ext4 shared read-only", NEED_EXT4, s_open, a_pin_ext4_ro, e_mem_fault, 0 },
	{ "pin ext4 shared writable", NEED_EXT4, s_open, a_pin_ext4_rw, e_fault, -EFAULT },
	{ "pin 1024 scattered pages", 0, s_open, a_pin_scat, e_mem_fault, 0 },
	{ "pin over 3 pins", 0, s_pinned3, a_pin_over, e_mem_fault, 0 },
	{ "unpin by handle", 0, s_pinned2, a_unpin, e_fault, 0 },
	{ "unpin by range", 0, s_pinned2, a_unpin_range, e_fault, 0 },
	{ "pin batch of 3", 0, s_open, a_pin_batch, e_mem_fault, 0 },
	{ "unpin batch of 3", 0, s_pinned3, a_unpin_batch, e_fault, 0 },
	/* Exit with pins: the mmu notifier's release, armed. */
	{ "exit (2 pins)", 0, s_pinned2, NULL, e_none, 0 },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* The operation's result with no fault injected, on this kernel. */
static int plain(const struct op *op)
{
	if (op->armed == a_pin_ro && !readonly_cow)
		return -EFAULT;
	return op->plain;
}

static bool errno_ok(const struct op *op, int ret)
{
	if (ret == plain(op))
		return true;
	for (const int *e = op->errnos; *e; e++)
		if (ret == -*e)
			return true;
	return false;
}

static void tally(unsigned int i, int ret, bool injected)
{
	struct tally *t = &sh->t[i];
	unsigned int k;

	t->runs++;
	t->injected += injected;
	if (!ret) {
		t->ok++;
		return;
	}
	for (k = 0; k < 8 && t->errs[k] && t->errs[k] != -ret; k++)
		;
	if (k < 8) {
		t->errs[k] = -ret;
		t->err[k]++;
	}
}

/* Drops CAP_IPC_LOCK (RLIMIT_MEMLOCK then applies), keeps root. */
static int no_ipc_lock(void)
{
	struct __user_cap_header_struct hd = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	struct rlimit rl = { LIMIT * PG, LIMIT * PG };

	if (syscall(SYS_capget, &hd, d))
		return -errno;
	d[0].effective &= ~(1U << CAP_IPC_LOCK);
	d[0].permitted &= ~(1U << CAP_IPC_LOCK);
	d[0].inheritable &= ~(1U << CAP_IPC_LOCK);
	if (syscall(SYS_capset, &hd, d) || setrlimit(RLIMIT_MEMLOCK, &rl))
		return -errno;
	return 0;
}

/* The run process of one (operation, N).  Exits 0, or 1 on a setup error. */
static void __attribute__((noreturn)) run_child(unsigned int i, unsigned int n,
						int64_t held0)
{
	const struct op *op = &ops[i];
	struct run r = { .fd = -1, .fd2 = -1 };
	int ret, fired;

	if (no_ipc_lock())
		_exit(1);
	fail_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	r.anon = map_anon(16 * PG, true);
	r.fault = map_anon(8 * PG, false);
	r.thp = map_thp();
	r.memfd = map_memfd();
	r.scat = map_scattered();
	r.probe = map_anon((LIMIT + 1) * PG, true);
	if (op->needs & NEED_HUGETLB)
		r.huge = map_hugetlb();
	if (op->needs & NEED_EXT4)
		r.ext4 = map_ext4(op->armed == a_pin_ext4_rw ? PROT_READ | PROT_WRITE :
				  PROT_READ);
	for (int k = 0; k < 3; k++)
		r.ent[k] = (struct mempin_pin_entry){ .addr = (uintptr_t)(r.anon + 8 * PG + k * 2 * PG),
						      .len = 2 * PG };
	if ((fail_fd < 0 && !dry) || !r.anon || !r.fault || !r.thp || !r.memfd || !r.scat ||
	    !r.probe || ((op->needs & NEED_HUGETLB) && !r.huge) ||
	    ((op->needs & NEED_EXT4) && !r.ext4)) {
		FAIL("failnth %s: setup: a mapping or fail-nth failed: %s", op->name,
		     strerror(errno));
		_exit(1);
	}
	ret = op->setup(&r);
	if (ret) {
		FAIL("failnth %s: setup: %s", op->name, strerror(-ret));
		_exit(1);
	}
	if (!op->armed) {
		/* exit: the parent reads our fail-nth once we are a zombie. */
		if (arm(n))
			_exit(1);
		_exit(0);
	}
	if (arm(n)) {
		FAIL("failnth: cannot arm fail-nth: %s", strerror(errno));
		_exit(1);
	}
	ret = op->armed(&r);
	fired = disarm();
	sh->injected = fired;
	sh->ret = ret;
	if (!errno_ok(op, ret))
		FAIL("failnth %s N=%u: %s (fault %s)", op->name, n,
		     ret ? strerror(-ret) : "success", fired ? "injected" : "not injected");
	if (!fired && ret != plain(op))
		FAIL("failnth %s N=%u: with no fault injected: %s, expected %s", op->name,
		     n, ret ? strerror(-ret) : "success",
		     plain(op) ? strerror(-plain(op)) : "success");
	/* A batch says itself what took effect, error or not. */
	if (ret && op->armed != a_pin_batch && op->armed != a_unpin_batch)
		r.dpins = r.dpages = r.dcontainers = 0;
	check_state(op->name, n, "after the call", r.fd >= 0 ? r.fd : -1,
		    r.pins + r.dpins, r.pages + r.dpages, r.containers + r.dcontainers,
		    held0);
	check_budget(op->name, n, r.probe, r.pages + r.dpages);
	if (r.fd2 >= 0)
		close(r.fd2);
	if (r.fd >= 0)
		close(r.fd);
	check_state(op->name, n, "after close", -1, 0, 0, 0, held0);
	_exit(0);
}

/*
 * Any new kernel log line fails: the injection itself prints nothing
 * (verbose=0).  A debug kernel's note of a new deepest stack
 * (CONFIG_DEBUG_STACK_USAGE) is forgiven, as everywhere in the suite.  Only for a program armed for its whole run (mempinctl,
 * @user_faults): a page allocation failing in its own page fault makes the
 * fault handler say so and retry, an inode allocation failing in its
 * socket() makes net/socket.c say so; those lines are the injection's.
 */
static int kmsg_new_lines(int fd, const char *what, unsigned int n, bool user_faults)
{
	/* CONFIG_DEBUG_STACK_USAGE (debug kernels): a new deepest stack. */
	static regex_t stack;
	static bool compiled;
	char rec[8192];
	int lines = 0;
	ssize_t len;

	while ((len = read(fd, rec, sizeof(rec) - 1)) != 0) {
		char *msg;

		if (len < 0 && errno == EAGAIN)
			break;
		if (len < 0) {
			FAIL("failnth %s N=%u: kernel log: records lost", what, n);
			lines++;
			continue;
		}
		rec[len] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = 0;
		if (user_faults &&
		    (!strcmp(msg, "Huh VM_FAULT_OOM leaked out to the #PF handler. Retrying PF") ||
		     !strcmp(msg, "socket: no more sockets")))
			continue;
		if (!compiled)
			compiled = !regcomp(&stack, "^[^ ]+ \\([0-9]+\\) used greatest stack "
					    "depth: [0-9]+ bytes left$", REG_EXTENDED | REG_NOSUB);
		if (compiled && !regexec(&stack, msg, 0, NULL, 0))
			continue;
		if (lines++ < 20)
			say("failnth %s N=%u: kernel log: %s", what, n, msg);
	}
	if (lines)
		FAIL("failnth %s N=%u: %d new kernel log lines", what, n, lines);
	return lines;
}

/* Runs op i with fail-nth N in a fresh process; 1 if a fault was injected. */
static int run_one(unsigned int i, unsigned int n, int kfd)
{
	int64_t held0 = held();
	siginfo_t si = { 0 };
	pid_t pid;
	int fired = 0;

	sh->injected = 0;
	sh->ret = 0;
	pid = fork();
	if (pid < 0) {
		FAIL("failnth: fork: %s", strerror(errno));
		return 0;
	}
	if (!pid)
		run_child(i, n, held0);
	/* Dry, fail-nth reads 0 as well: it was never armed. */
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0 && !ops[i].armed && !dry) {
		char path[64], b[16] = "";
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/fail-nth", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && read(fd, b, sizeof(b) - 1) > 0)
			sh->injected = b[0] == '0';
		if (fd >= 0)
			close(fd);
	}
	waitpid(pid, NULL, 0);
	if (si.si_code != CLD_EXITED || si.si_status != 0)
		FAIL("failnth %s N=%u: the run process ended with %s %d", ops[i].name, n,
		     si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
	fired = sh->injected;
	tally(i, ops[i].armed ? sh->ret : 0, fired);
	sh->t[i].n_last = n;
	/* Releases at exit may run a little later (the last fput). */
	for (int k = 0; k < 50 && sysfs("containers") > 0; k++)
		usleep(20000);
	if (sysfs("pins") || sysfs("pinned_pages") || sysfs("containers") ||
	    held() != held0)
		FAIL("failnth %s N=%u: after the run process: %ld pins %ld pages %ld "
		     "containers, pins held %lld (%lld before)", ops[i].name, n,
		     sysfs("pins"), sysfs("pinned_pages"), sysfs("containers"),
		     (long long)held(), (long long)held0);
	kmsg_new_lines(kfd, ops[i].name, n, false);
	return fired;
}

/* ---- mempinctl ---- */

static const char *const ctl_cmds[][3] = {
	{ "status" }, { "-J", "status" }, { "ps" }, { "pins" }, { "-J", "ps" },
	{ "doctor" }, { "cap" }, { "cap", "64M" }, { "reset-high-water" },
};
#define NCTL (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static const char *ctl_path(void)
{
	const char *p = getenv("MEMPIN_TEST_MEMPINCTL");

	return p && *p ? p : "/bin/mempinctl";
}

/*
 * mempinctl ARGS with the Nth fault site after its start failing; while a
 * container of ours holds a pin (ps and pins list it).  Returns 1 if the
 * fault fired.
 */
static int ctl_one(unsigned int c, unsigned int n, int kfd, const char *preload)
{
	char name[64], env_n[32], env_pre[300];
	siginfo_t si = { 0 };
	char b[16] = "";
	int fired = 0;
	pid_t pid;

	snprintf(name, sizeof(name), "mempinctl %s%s%s", ctl_cmds[c][0],
		 ctl_cmds[c][1] ? " " : "", ctl_cmds[c][1] ? ctl_cmds[c][1] : "");
	int64_t held0 = held();

	snprintf(env_n, sizeof(env_n), "MEMPIN_FAILNTH=%.0u", dry ? 0 : n);
	snprintf(env_pre, sizeof(env_pre), "LD_PRELOAD=%s", preload);
	pid = fork();
	if (pid < 0)
		return 0;
	if (!pid) {
		char *envp[] = { env_n, env_pre, "PATH=/bin:/sbin", NULL };
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execve(ctl_path(), (char *const[]){ (char *)ctl_path(),
			(char *)ctl_cmds[c][0], (char *)ctl_cmds[c][1],
			(char *)ctl_cmds[c][2], NULL }, envp);
		_exit(127);
	}
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0 && !dry) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/fail-nth", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && read(fd, b, sizeof(b) - 1) > 0)
			fired = b[0] == '0';
		if (fd >= 0)
			close(fd);
	}
	waitpid(pid, NULL, 0);
	if (si.si_code != CLD_EXITED ||
	    (si.si_status != 0 && si.si_status != 1 && si.si_status != 3))
		FAIL("failnth %s N=%u: ended with %s %d (fault %s)", name, n,
		     si.si_code == CLD_EXITED ? "status" : "signal", si.si_status,
		     fired ? "injected" : "not injected");
	if (!fired && (si.si_code != CLD_EXITED || si.si_status != 0))
		FAIL("failnth %s N=%u: with no fault injected: status %d", name, n,
		     si.si_status);
	/* Ours is the only container: one pin of 4 pages, whatever ran. */
	if (sysfs("pins") != 1 || sysfs("pinned_pages") != 4 || sysfs("containers") != 1 ||
	    held() != held0)
		FAIL("failnth %s N=%u: the module's totals changed: %ld pins %ld pages "
		     "%ld containers, pins held %lld (%lld before)", name, n, sysfs("pins"),
		     sysfs("pinned_pages"), sysfs("containers"), (long long)held(),
		     (long long)held0);
	tally(NOPS + c, si.si_code == CLD_EXITED && si.si_status ? -si.si_status : 0,
	      fired);
	sh->t[NOPS + c].n_last = n;
	kmsg_new_lines(kfd, name, n, true);
	return fired;
}

static void report(const char *name, unsigned int i, const char *mode)
{
	struct tally *t = &sh->t[i];
	char errs[256] = "";
	size_t o = 0;

	for (unsigned int k = 0; k < 8 && t->errs[k]; k++)
		o += i < NOPS ? snprintf(errs + o, sizeof(errs) - o, ", %s %lu",
					 strerrorname_np(t->errs[k]), t->err[k]) :
				snprintf(errs + o, sizeof(errs) - o, ", exit %d: %lu",
					 t->errs[k], t->err[k]);
	say("failnth: %-28s %-7s N=1..%u: %lu runs, %lu injected, %lu succeeded%s",
	    name, mode, t->n_last, t->runs, t->injected, t->ok, errs);
}

/* MEMPIN_TEST_FAILNTH_ONLY: a '|' list of substrings of the names to run. */
static bool wanted(const char *name)
{
	const char *only = getenv("MEMPIN_TEST_FAILNTH_ONLY");
	char buf[256], *tok, *save;

	if (!only || !*only)
		return true;
	snprintf(buf, sizeof(buf), "%s", only);
	for (tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
		if (strstr(name, tok))
			return true;
	return false;
}

int phase_failnth(void)
{
	static const char *const modes[] = { "user", "process" };
	const char *want_modes = getenv("MEMPIN_TEST_FAILNTH_MODES");
	const char *preload = getenv("MEMPIN_TEST_FAILNTH_PRELOAD");
	const char *dry_env;
	unsigned long pairs = 0, injected = 0;
	int kfd = phase_kmsg_fd;
	bool huge = kv_read_long("/proc/sys/vm/nr_hugepages") > 0;

	ext4_dir = getenv("MEMPIN_EXT4_DIR");
	dry_env = getenv("MEMPIN_TEST_FAILNTH_DRY");
	if (dry_env && !strcmp(dry_env, "1")) {
		/* Also on a fault-injection kernel: the harness, quickly. */
		say("failnth: MEMPIN_TEST_FAILNTH_DRY=1: a dry run, nothing injected");
		dry = true;
	} else if (access("/proc/thread-self/fail-nth", F_OK)) {
		FAIL("failnth: no /proc/thread-self/fail-nth: a kernel without "
		     "CONFIG_FAULT_INJECTION");
		return -1;
	} else if (fault_setup()) {
		return -1;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	{
		struct mempin_info_arg info = { .size = sizeof(info) };
		int fd = mp_open();

		if (fd < 0 || mp_info(fd, &info)) {
			FAIL("failnth: open or INFO: %s", strerror(errno));
			return -1;
		}
		readonly_cow = info.features & MEMPIN_FEATURE_READONLY_COW;
		close(fd);
	}
	for (unsigned int m = 0; m < 2; m++) {
		if (want_modes && *want_modes && !strstr(want_modes, modes[m]))
			continue;
		if (kv_write_file("/sys/module/mempin/parameters/charge_mode", modes[m])) {
			FAIL("failnth: cannot set charge_mode %s", modes[m]);
			return -1;
		}
		memset(sh->t, 0, sizeof(sh->t));
		for (unsigned int i = 0; i < NOPS; i++) {
			int fails0 = sh->fails;
			unsigned int n;

			if (!wanted(ops[i].name))
				continue;
			if (((ops[i].needs & NEED_EXT4) && !ext4_dir) ||
			    ((ops[i].needs & NEED_HUGETLB) && !huge)) {
				say("failnth: %s: skipped (no %s)", ops[i].name,
				    ops[i].needs & NEED_EXT4 ? "ext4" : "hugetlb pages");
				continue;
			}
			for (n = 1; n < MAX_N && sh->fails == fails0; n++)
				if (!run_one(i, n, kfd))
					break;
			if (n == MAX_N)
				FAIL("failnth %s: still injecting at N=%u", ops[i].name, n);
			report(ops[i].name, i, modes[m]);
			pairs += sh->t[i].runs;
			injected += sh->t[i].injected;
		}
	}
	kv_write_file("/sys/module/mempin/parameters/charge_mode", "user");

	if (!preload || !*preload || access(ctl_path(), X_OK)) {
		say("failnth: mempinctl commands skipped (no %s or preload library)",
		    ctl_path());
	} else {
		struct run r = { .fd = -1 };
		uint64_t h;
		int ret;

		/* A container with one pin, for ps and pins to show. */
		r.anon = map_anon(4 * PG, true);
		ret = open_fd(&r);
		if (!ret)
			ret = mp_pin(r.fd, r.anon, 4 * PG, 0, &h, NULL);
		if (ret)
			FAIL("failnth: mempinctl setup: %s", strerror(-ret));
		for (unsigned int c = 0; c < NCTL; c++) {
			int fails0 = sh->fails;
			unsigned int n;
			char name[64];

			snprintf(name, sizeof(name), "mempinctl %s%s%s", ctl_cmds[c][0],
				 ctl_cmds[c][1] ? " " : "",
				 ctl_cmds[c][1] ? ctl_cmds[c][1] : "");
			if (!wanted(name))
				continue;
			for (n = 1; n < MAX_N && sh->fails == fails0; n++) {
				long cap = kv_param_get("max_pinned_pages");

				if (!ctl_one(c, n, kfd, preload))
					break;
				kv_param_set("max_pinned_pages", cap);
			}
			kv_param_set("max_pinned_pages", 0);
			report(name, NOPS + c, "");
			pairs += sh->t[NOPS + c].runs;
			injected += sh->t[NOPS + c].injected;
		}
		close(r.fd);
	}
	say("failnth: %lu (operation, N) pairs run, %lu with a fault injected, "
	    "%d failures", pairs, injected, sh->fails);
	return failed() ? -1 : 0;
}
