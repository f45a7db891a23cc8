// SPDX-License-Identifier: GPL-2.0
/*
 * Phase "storm": storm_procs processes x storm_threads threads, for
 * storm_secs, doing at random: pin, unpin (handle, range), batch pin and
 * unpin, stats, replacing a container under the other threads (dup2 of a
 * fresh one over the shared fd: the old one is released when the last
 * ioctl in flight on it returns), dup+close, fork (the child must get EPERM,
 * then pins with its own container and exits holding it), exec (likewise,
 * after execve), munmap+mmap, mremap away and back, mprotect, madvise
 * DONTNEED/FREE/HUGEPAGE/COLLAPSE, and move_pages, on the same ranges and
 * containers.  A memfd's pages are shared by all the processes.
 *
 * Checked as it goes: every errno is one the operation may give; stats are
 * self-consistent.  At each process's end: VmPin equals the charged pages
 * of its containers, and is 0 once they are closed.  Then the phase checks.
 * On a failure each thread's last operations are printed (seed + sequence).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

enum op { OP_PIN, OP_UNPIN, OP_UNPIN_RANGE, OP_PIN_BATCH, OP_UNPIN_BATCH,
	  OP_STATS, OP_REPLACE, OP_DUP_CLOSE, OP_FORK, OP_EXEC, OP_MUNMAP,
	  OP_MREMAP, OP_MPROTECT, OP_DONTNEED, OP_FREE, OP_HUGE, OP_MOVE,
	  OP_KILL, OP_BATCH_RACE, OP_FILE_SWAP, OP_FDINFO, OP_NR };
static const char *const op_name[] = { "pin", "unpin", "unpin-range",
	"pin-batch", "unpin-batch", "stats", "replace-container", "dup-close",
	"fork", "exec", "munmap+mmap", "mremap", "mprotect", "MADV_DONTNEED",
	"MADV_FREE", "MADV_HUGEPAGE/COLLAPSE", "move_pages",
	"SIGKILL mid-ioctl", "batch vs mprotect", "anon<->ext4 swap",
	"read fdinfo" };
/* Weights, out of their sum. */
static const unsigned int op_weight[] = { 22, 10, 5, 6, 4, 6, 2, 2, 1, 1,
					  3, 2, 3, 3, 2, 1, 4, 1, 1, 2, 3 };

#define NERR 6
static const int err_list[NERR] = { EFAULT, ENOMEM, EBUSY, EAGAIN, ENOENT, EINTR };
struct shared {
	volatile int stop;
	uint64_t ops[OP_NR], errs[OP_NR], by_err[OP_NR][NERR];
};
static struct shared *sh;

#define SLOTS 2			/* containers per process */
#define SLOTFD0 200		/* their fds: fixed, so dup2 replaces them */
#define TABLE 256
#define NREG 4

struct held {
	uint64_t h, addr, len;
};
struct slot {
	pthread_mutex_t lock;
	struct held t[TABLE];
	unsigned int n;
};
static struct slot slots[SLOTS];

struct region {
	uint64_t base, len;
	bool shared;		/* memfd */
};
static struct region reg[NREG];
static int memfd = -1;
static uint64_t scratch;	/* mremap's parking place */
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER; /* mremap vs munmap */
static int proc_idx;

#define LOGN 24
struct tlog {
	char line[LOGN][200];
	unsigned int n;
};
static struct tlog tlogs[16];

static void tlog(unsigned int t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void tlog(unsigned int t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tlogs[t].line[tlogs[t].n++ % LOGN], 200, fmt, ap);
	va_end(ap);
}

static void dump_logs(unsigned int nthreads)
{
	say("REPRODUCER: seed %llu, process %d; the last operations of each thread "
	    "(MEMPIN_TEST_FUZZ_PHASES=storm MEMPIN_TEST_FUZZ_SEED=%llu make fuzz "
	    "reruns it, races permitting):", (unsigned long long)cfg.seed, proc_idx,
	    (unsigned long long)cfg.seed);
	for (unsigned int t = 0; t < nthreads; t++) {
		unsigned int n = tlogs[t].n, i = n > LOGN ? n - LOGN : 0;

		for (; i < n; i++)
			say("  p%d t%u #%u %s", proc_idx, t, i, tlogs[t].line[i % LOGN]);
	}
}

static const char *en(int r)
{
	static __thread char b[24];

	if (!r)
		return "ok";
	snprintf(b, sizeof(b), "%s", strerrorname_np(-r) ? strerrorname_np(-r) : "?");
	return b;
}

/* A subrange of a region: [addr, addr + len), maybe unaligned. */
static void pick_range(struct rng *r, uint64_t *addr, uint64_t *len)
{
	const struct region *g = &reg[below(r, NREG)];
	uint64_t np = g->len / PG, first = below(r, np);
	uint64_t n = 1 + below(r, below(r, 4) ? 8 : 64);

	if (first + n > np)
		n = np - first;
	*addr = g->base + first * PG;
	*len = n * PG;
	if (chance(r, 15)) {
		*addr += below(r, PG);
		*len = 1 + below(r, n * PG - (*addr & (PG - 1)));
	}
}

static void table_add(unsigned int s, uint64_t h, uint64_t addr, uint64_t len,
		      int fd)
{
	struct slot *sl = &slots[s];
	bool full;

	pthread_mutex_lock(&sl->lock);
	full = sl->n == TABLE;
	if (!full)
		sl->t[sl->n++] = (struct held){ h, addr, len };
	pthread_mutex_unlock(&sl->lock);
	if (full)
		mp_unpin(fd, h);
}

static bool table_take(struct rng *r, unsigned int s, struct held *out)
{
	struct slot *sl = &slots[s];
	bool got = false;

	pthread_mutex_lock(&sl->lock);
	if (sl->n) {
		unsigned int i = below(r, sl->n);

		*out = sl->t[i];
		sl->t[i] = sl->t[--sl->n];
		got = true;
	}
	pthread_mutex_unlock(&sl->lock);
	return got;
}

/* Errnos a pin may give while its memory changes under it. */
static bool pin_errno_ok(int e)
{
	return !e || e == -EFAULT || e == -ENOMEM || e == -EBUSY || e == -EAGAIN;
}

static void bad(unsigned int t, enum op op, const char *what, int r)
{
	fail("storm p%d t%u: %s: %s gave %s", proc_idx, t, op_name[op], what, en(r));
}

/* A fresh container over slot s: the old one goes when idle. */
static int slot_replace(unsigned int s)
{
	int fd = mp_open();

	if (fd < 0)
		return fd;
	pthread_mutex_lock(&slots[s].lock);
	dup2(fd, SLOTFD0 + s);
	slots[s].n = 0;		/* its handles went with the old container */
	pthread_mutex_unlock(&slots[s].lock);
	close(fd);
	return 0;
}

static void remap_range(struct region *g, uint64_t off, uint64_t len)
{
	void *a = (void *)(g->base + off);

	if (g->shared)
		mmap(a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED |
		     MAP_POPULATE, memfd, off);
	else
		mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		     MAP_FIXED | MAP_POPULATE, -1, 0);
}

static void child_in_fork(int slotfd, uint64_t addr)
{
	struct mempin_stats_arg st;
	int r = mp_stats(slotfd, &st), fd, code = 0;
	uint64_t h;

	if (r != -EPERM)
		code = 10;
	if (mp_pin(slotfd, (void *)addr, PG, 0, &h, NULL) != -EPERM)
		code = 11;
	fd = mp_open();
	if (fd >= 0) {
		/* Exits holding the pin: release runs in exit. */
		r = mp_pin(fd, (void *)(addr & ~(PG - 1)), PG, 0, &h, NULL);
		if (!pin_errno_ok(r))
			code = 12;
	}
	_exit(code);
}

/*
 * Region 3 flips between private anon memory and a MAP_SHARED mapping of
 * an ext4 file (dirty tracking: a writable long-term pin must be refused)
 * while pins of it run: the mapping check may see one and GUP the other.
 */
static int filefd = -1;
static pthread_mutex_t swap_lock = PTHREAD_MUTEX_INITIALIZER;

static void file_swap(struct rng *r)
{
	void *a = (void *)reg[3].base;

	pthread_mutex_lock(&swap_lock);
	if (chance(r, 50))
		mmap(a, reg[3].len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED |
		     MAP_POPULATE, filefd, 0);
	else
		mmap(a, reg[3].len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		     MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
	pthread_mutex_unlock(&swap_lock);
}

/* A child pins big ranges from 3 threads on one container; killed at a
 * random moment: the fatal-signal paths (locks, GUP loop) roll back. */
static void *kill_child_thread(void *p)
{
	int fd = *(int *)p;
	uint8_t *m = mmap(NULL, 16UL << 20, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mempin_stats_arg st;
	uint64_t h;

	for (;;) {
		if (mp_pin(fd, m, 16UL << 20, 0, &h, NULL) == 0)
			mp_unpin(fd, h);
		mp_stats(fd, &st);
		mp_unpin_range(fd, m, PG);
	}
	return NULL;
}

static void kill_child(struct rng *r)
{
	unsigned int delay = 1000 + below(r, 30000);
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = mp_open();
		pthread_t th;

		if (fd < 0)
			_exit(1);
		pthread_create(&th, NULL, kill_child_thread, &fd);
		pthread_create(&th, NULL, kill_child_thread, &fd);
		kill_child_thread(&fd);
	}
	if (pid < 0)
		return;
	usleep(delay);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (!WIFSIGNALED(st))
		fail("storm p%d: SIGKILLed child status %#x", proc_idx, st);
}

/* Entry 0 is a slow pin; meanwhile the entries' page becomes read-only, so
 * writing the handle back may fail after the pin was made (undone). */
static uint8_t *race_mem;
struct race_arg {
	void *page;
	unsigned int delay;
};

static void *race_mprotect(void *p)
{
	struct race_arg *a = p;

	usleep(a->delay);
	mprotect(a->page, PG, PROT_READ);
	return NULL;
}

/*
 * Mapped before the threads start: an mmap(NULL) while another thread has
 * a munmap or mremap hole open could land in it, and be clobbered when the
 * hole is filled again (MAP_FIXED).
 */
static uint8_t *race_pages;

static int batch_race(struct rng *r, unsigned int t, int fd)
{
	struct mempin_pin_entry *e = (void *)(race_pages + t * PG);
	struct mempin_batch_arg b = { .size = sizeof(b), .entry_size = sizeof(*e) };
	struct race_arg ra = { e, below(r, 20000) };
	pthread_t th;
	int ret;

	mprotect(e, PG, PROT_READ | PROT_WRITE);
	memset(e, 0, PG);
	e[0].addr = (uintptr_t)race_mem;
	e[0].len = 8UL << 20;
	e[1].addr = reg[0].base;
	e[1].len = PG;
	b.entries = (uintptr_t)e;
	b.count = 2;
	/* Its stack is an mmap(NULL) too: not while a hole is open. */
	pthread_mutex_lock(&map_lock);
	pthread_create(&th, NULL, race_mprotect, &ra);
	pthread_mutex_unlock(&map_lock);
	ret = mp_ioctl(fd, MEMPIN_IOC_PIN_BATCH, &b);
	pthread_join(th, NULL);
	/* What was pinned and reported is ours to unpin. */
	for (unsigned int i = 0; i < b.done && i < 2; i++)
		mp_unpin(fd, e[i].handle);
	if (b.done > 2 || (ret == -EFAULT && b.done == 2) ||
	    (ret && ret != -EFAULT && !pin_errno_ok(ret)))
		fail("storm p%d: racing batch: %s with done %u; entries %#llx+%#llx, "
		     "%#llx+%#llx", proc_idx, strerror(-ret), b.done,
		     (unsigned long long)e[0].addr, (unsigned long long)e[0].len,
		     (unsigned long long)e[1].addr, (unsigned long long)e[1].len);
	return ret;
}

static void do_op(struct rng *r, unsigned int t, enum op op)
{
	unsigned int s = below(r, SLOTS);
	int fd = SLOTFD0 + s, ret = 0;
	uint64_t addr, len, h;
	struct held hd;

	switch (op) {
	case OP_PIN: {
		uint32_t fl = chance(r, 20) ? MEMPIN_PIN_READONLY : 0;

		pick_range(r, &addr, &len);
		tlog(t, "pin fd %d %#llx+%#llx flags %u", fd,
		     (unsigned long long)addr, (unsigned long long)len, fl);
		ret = mp_pin(fd, (void *)addr, len, fl, &h, NULL);
		if (!ret)
			table_add(s, h, addr, len, fd);
		else if (!pin_errno_ok(ret))
			bad(t, op, "pin", ret);
		break;
	}
	case OP_UNPIN:
		if (!table_take(r, s, &hd))
			return;
		tlog(t, "unpin fd %d handle %llu", fd, (unsigned long long)hd.h);
		ret = mp_unpin(fd, hd.h);
		if (ret && ret != -ENOENT)
			bad(t, op, "unpin", ret);
		break;
	case OP_UNPIN_RANGE:
		if (!table_take(r, s, &hd))
			return;
		tlog(t, "unpin-range fd %d %#llx+%#llx", fd,
		     (unsigned long long)hd.addr, (unsigned long long)hd.len);
		ret = mp_unpin_range(fd, (void *)hd.addr, hd.len);
		if (ret && ret != -ENOENT)
			bad(t, op, "unpin by range", ret);
		break;
	case OP_PIN_BATCH: {
		struct mempin_pin_entry e[8];
		struct mempin_batch_arg b = { .size = sizeof(b), .entry_size = sizeof(e[0]) };
		unsigned int n = 1 + below(r, 8);

		memset(e, 0, sizeof(e));
		for (unsigned int i = 0; i < n; i++) {
			uint64_t ea, el;

			pick_range(r, &ea, &el);
			e[i].addr = ea;
			e[i].len = el;
			if (chance(r, 5))
				e[i].addr = 0x1000;	/* a bad one in the middle */
		}
		b.entries = (uintptr_t)e;
		b.count = n;
		tlog(t, "pin-batch fd %d count %u first %#llx", fd, n,
		     (unsigned long long)e[0].addr);
		ret = mp_ioctl(fd, MEMPIN_IOC_PIN_BATCH, &b);
		if (b.done > n || (!ret && b.done != n))
			fail("storm p%d t%u: pin-batch done %u of %u, ret %s", proc_idx,
			     t, b.done, n, en(ret));
		for (unsigned int i = 0; i < b.done && i < n; i++)
			table_add(s, e[i].handle, e[i].addr, e[i].len, fd);
		if (!pin_errno_ok(ret))
			bad(t, op, "pin batch", ret);
		break;
	}
	case OP_UNPIN_BATCH: {
		uint64_t hs[8];
		struct mempin_batch_arg b = { .size = sizeof(b), .entry_size = 8 };
		unsigned int n = 0;

		while (n < 8 && table_take(r, s, &hd))
			hs[n++] = hd.h;
		if (chance(r, 10) && n)
			hs[below(r, n)] = ~0ULL;	/* unknown in the middle */
		b.entries = (uintptr_t)hs;
		b.count = n;
		tlog(t, "unpin-batch fd %d count %u", fd, n);
		ret = mp_ioctl(fd, MEMPIN_IOC_UNPIN_BATCH, &b);
		if (ret && ret != -ENOENT)
			bad(t, op, "unpin batch", ret);
		if (b.done > n || (!ret && b.done != n))
			fail("storm p%d t%u: unpin-batch done %u of %u", proc_idx, t,
			     b.done, n);
		break;
	}
	case OP_STATS: {
		struct mempin_stats_arg st;

		tlog(t, "stats fd %d", fd);
		ret = mp_stats(fd, &st);
		if (ret)
			bad(t, op, "stats", ret);
		else if (st.charged_pages != st.pages || st.pins > st.pages ||
			 st.pins > TABLE + 64)
			fail("storm p%d t%u: stats pins %llu pages %llu charged %llu",
			     proc_idx, t, (unsigned long long)st.pins,
			     (unsigned long long)st.pages,
			     (unsigned long long)st.charged_pages);
		break;
	}
	case OP_REPLACE:
		tlog(t, "replace container of fd %d", fd);
		ret = slot_replace(s);
		if (ret)
			bad(t, op, "open", ret);
		break;
	case OP_DUP_CLOSE: {
		int d = dup(fd);
		struct mempin_stats_arg st;

		tlog(t, "dup fd %d -> %d, stats, close", fd, d);
		if (d >= 0) {
			ret = mp_stats(d, &st);
			if (ret)
				bad(t, op, "stats on dup", ret);
			close(d);
		}
		break;
	}
	case OP_FORK: {
		pid_t pid;
		int st;

		pick_range(r, &addr, &len);
		tlog(t, "fork (child: EPERM on fd %d, own pin at %#llx)", fd,
		     (unsigned long long)addr);
		pid = fork();
		if (pid == 0)
			child_in_fork(fd, addr);
		if (pid < 0)
			break;
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fail("storm p%d t%u: fork child status %#x (10/11: no EPERM on "
			     "the parent's container, 12: its own pin failed)",
			     proc_idx, t, st);
		break;
	}
	case OP_EXEC: {
		pid_t pid;
		int st;
		char fds[16];

		snprintf(fds, sizeof(fds), "%d", fd);
		tlog(t, "exec (child: EPERM on fd %d after execve)", fd);
		pid = fork();
		if (pid == 0) {
			char *argv[] = { (char *)"mempin-fuzz", (char *)"--storm-exec",
					 fds, NULL };
			int fl = fcntl(fd, F_GETFD);

			fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
			execv(cfg.self, argv);
			_exit(20);
		}
		if (pid < 0)
			break;
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fail("storm p%d t%u: exec child status %#x", proc_idx, t, st);
		break;
	}
	case OP_MUNMAP: {
		struct region *g = &reg[below(r, NREG)];
		uint64_t np = g->len / PG, off = below(r, np) * PG;
		uint64_t n = (1 + below(r, 16)) * PG;

		if (off + n > g->len)
			n = g->len - off;
		tlog(t, "munmap+mmap %#llx+%#llx", (unsigned long long)(g->base + off),
		     (unsigned long long)n);
		pthread_mutex_lock(&map_lock);
		munmap((void *)(g->base + off), n);
		sched_yield();
		remap_range(g, off, n);
		pthread_mutex_unlock(&map_lock);
		break;
	}
	case OP_MREMAP: {
		struct region *g = &reg[0];
		uint64_t off = below(r, g->len / PG - 16) * PG, n = (1 + below(r, 16)) * PG;
		void *p;

		tlog(t, "mremap %#llx+%#llx away and back",
		     (unsigned long long)(g->base + off), (unsigned long long)n);
		pthread_mutex_lock(&map_lock);
		p = mremap((void *)(g->base + off), n, n, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)scratch);
		if (p == (void *)scratch) {
			sched_yield();
			p = mremap(p, n, n, MREMAP_MAYMOVE | MREMAP_FIXED,
				   (void *)(g->base + off));
			if (p != (void *)(g->base + off))
				remap_range(g, off, n);
		} else {
			remap_range(g, off, n);
		}
		/* Leave the parking place as it was: PROT_NONE. */
		mmap((void *)scratch, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		     MAP_FIXED, -1, 0);
		pthread_mutex_unlock(&map_lock);
		break;
	}
	case OP_MPROTECT: {
		static const int prots[] = { PROT_READ, PROT_NONE, PROT_READ | PROT_WRITE };
		int prot = PICK(r, prots);

		pick_range(r, &addr, &len);
		addr &= ~(PG - 1);
		tlog(t, "mprotect %#llx+%#llx %d then rw", (unsigned long long)addr,
		     (unsigned long long)len, prot);
		mprotect((void *)addr, len, prot);
		sched_yield();
		mprotect((void *)addr, len, PROT_READ | PROT_WRITE);
		break;
	}
	case OP_DONTNEED:
	case OP_FREE:
		pick_range(r, &addr, &len);
		addr &= ~(PG - 1);
		tlog(t, "%s %#llx+%#llx", op_name[op], (unsigned long long)addr,
		     (unsigned long long)len);
		madvise((void *)addr, len, op == OP_FREE ? MADV_FREE : MADV_DONTNEED);
		break;
	case OP_HUGE:
		tlog(t, "MADV_HUGEPAGE + MADV_COLLAPSE on the THP region");
		madvise((void *)reg[2].base, reg[2].len, MADV_HUGEPAGE);
		madvise((void *)reg[2].base, reg[2].len, MADV_COLLAPSE);
		break;
	case OP_MOVE: {
		int node = below(r, 2), st;

		pick_range(r, &addr, &len);
		tlog(t, "move_pages %#llx to node %d", (unsigned long long)addr, node);
		st = kv_move((void *)(addr & ~(PG - 1)), node);
		(void)st;	/* pinned: -EBUSY or the like; moved: node */
		break;
	}
	case OP_KILL:
		tlog(t, "fork a child pinning from 3 threads, SIGKILL it");
		kill_child(r);
		break;
	case OP_BATCH_RACE:
		tlog(t, "pin-batch whose entries turn read-only mid-call");
		ret = batch_race(r, t, fd);
		if (ret && ret != -EFAULT && !pin_errno_ok(ret))
			bad(t, op, "pin batch racing mprotect", ret);
		break;
	case OP_FILE_SWAP:
		if (filefd < 0)
			return;
		tlog(t, "map region 3 %s", chance(r, 50) ? "anon" : "ext4 MAP_SHARED");
		file_swap(r);
		break;
	case OP_FDINFO: {
		/* The module's fdinfo, while the other threads pin and unpin. */
		char path[64], buf[4096];
		int f;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		tlog(t, "read %s", path);
		f = open(path, O_RDONLY | O_CLOEXEC);
		if (f < 0) {
			ret = -errno;
			bad(t, op, "open fdinfo", ret);
			break;
		}
		while (read(f, buf, sizeof(buf)) > 0)
			;
		close(f);
		break;
	}
	default:
		break;
	}
	__atomic_add_fetch(&sh->ops[op], 1, __ATOMIC_RELAXED);
	if (ret) {
		__atomic_add_fetch(&sh->errs[op], 1, __ATOMIC_RELAXED);
		for (int i = 0; i < NERR; i++)
			if (-ret == err_list[i])
				__atomic_add_fetch(&sh->by_err[op][i], 1, __ATOMIC_RELAXED);
	}
}

struct targ {
	unsigned int t;
	double deadline;
};

static void *thread_main(void *p)
{
	struct targ *a = p;
	struct rng r = { mix64(cfg.seed ^ ((uint64_t)proc_idx << 32) ^ a->t) };
	unsigned int wsum = 0;

	for (int i = 0; i < OP_NR; i++)
		wsum += op_weight[i];
	while (!sh->stop && !failed() && now_s() < a->deadline) {
		unsigned int w = below(&r, wsum);
		int op = 0;

		while (w >= op_weight[op])
			w -= op_weight[op++];
		do_op(&r, a->t, op);
	}
	return NULL;
}

static int proc_main(unsigned int idx, double deadline)
{
	pthread_t th[16];
	struct targ ta[16];
	unsigned int nt = cfg.storm_threads > 16 ? 16 : cfg.storm_threads;
	long vm, sum = 0;
	int code = 0;

	proc_idx = idx;
	reg[0].len = 256 * PG;
	reg[0].base = (uintptr_t)mmap(NULL, reg[0].len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	reg[1].len = 64 * PG;
	reg[1].shared = true;
	reg[1].base = (uintptr_t)mmap(NULL, reg[1].len, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_POPULATE, memfd, 0);
	reg[2].len = 4UL << 20;
	{
		uint8_t *p = mmap(NULL, 6UL << 20, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		reg[2].base = ((uintptr_t)p + (2UL << 20) - 1) & ~((2UL << 20) - 1);
		madvise((void *)reg[2].base, reg[2].len, MADV_HUGEPAGE);
		memset((void *)reg[2].base, 1, reg[2].len);
	}
	reg[3].len = 32 * PG;
	reg[3].base = (uintptr_t)mmap(NULL, reg[3].len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	race_pages = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	race_mem = mmap(NULL, 8UL << 20, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	{
		const char *dir = getenv("MEMPIN_EXT4_DIR");
		char path[256];

		if (dir && *dir) {
			snprintf(path, sizeof(path), "%s/storm-%u", dir, idx);
			filefd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (filefd >= 0 && ftruncate(filefd, reg[3].len)) {
				close(filefd);
				filefd = -1;
			}
			unlink(path);
		}
	}
	scratch = (uintptr_t)mmap(NULL, 16 * PG, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (unsigned int s = 0; s < SLOTS; s++) {
		pthread_mutex_init(&slots[s].lock, NULL);
		if (slot_replace(s)) {
			fail("storm p%u: open %s", idx, MEMPIN_DEV);
			return 1;
		}
	}
	for (unsigned int t = 0; t < nt; t++) {
		ta[t] = (struct targ){ t, deadline };
		pthread_create(&th[t], NULL, thread_main, &ta[t]);
	}
	for (unsigned int t = 0; t < nt; t++)
		pthread_join(th[t], NULL);
	/* Quiet now: VmPin is exactly what the two containers charged. */
	for (unsigned int s = 0; s < SLOTS; s++) {
		struct mempin_stats_arg st;

		if (mp_stats(SLOTFD0 + s, &st))
			fail("storm p%u: stats at the end", idx);
		sum += st.charged_pages;
	}
	vm = kv_vmpin_kb(0);
	if (vm != sum * (long)(PG / 1024))
		fail("storm p%u: VmPin %ld kB, containers charged %ld pages", idx, vm, sum);
	for (unsigned int s = 0; s < SLOTS; s++)
		close(SLOTFD0 + s);
	vm = kv_vmpin_kb(0);
	if (vm != 0)
		fail("storm p%u: VmPin %ld kB after closing every container", idx, vm);
	if (failed()) {
		dump_logs(nt);
		code = 1;
	}
	return code;
}

/* The exec'd child: the inherited container is not its own. */
int storm_exec_child(int argc, char **argv)
{
	struct mempin_stats_arg st;
	int fd, mine;
	uint64_t h;
	static char page[4096] __attribute__((aligned(4096)));

	if (argc < 3)
		return 30;
	fd = atoi(argv[2]);
	if (mp_stats(fd, &st) != -EPERM)
		return 21;
	if (mp_pin(fd, page, 1, 0, &h, NULL) != -EPERM)
		return 22;
	mine = mp_open();
	page[0] = 1;
	if (mine < 0 || mp_pin(mine, page, 1, 0, &h, NULL))
		return 23;
	return 0;		/* exits holding it */
}

int phase_storm(void)
{
	unsigned int np = cfg.storm_procs;
	double t0 = now_s(), deadline = t0 + cfg.storm_secs;
	pid_t pids[16];
	uint64_t total = 0;
	int bad = 0;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memfd = memfd_create("storm-shm", MFD_CLOEXEC);
	if (sh == MAP_FAILED || memfd < 0 || ftruncate(memfd, 64 * PG))
		return -1;
	say("storm: seed %llu, %u processes x %u threads, %u s",
	    (unsigned long long)cfg.seed, np, cfg.storm_threads, cfg.storm_secs);
	if (np > 16)
		np = 16;
	for (unsigned int i = 0; i < np; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(proc_main(i, deadline));
	}
	for (unsigned int i = 0; i < np; i++) {
		int st = 0;
		pid_t w;

		/* Deadline plus a grace period, then it counts as hung. */
		while ((w = waitpid(pids[i], &st, WNOHANG)) == 0 &&
		       now_s() < deadline + 300)
			usleep(200000);
		if (w == 0) {
			fail("storm: process %u still running 300 s after the end: hung",
			     i);
			sh->stop = 1;
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &st, 0);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	close(memfd);
	for (int i = 0; i < OP_NR; i++)
		total += sh->ops[i];
	say("storm: %llu operations in %.1f s by %u processes x %u threads:",
	    (unsigned long long)total, now_s() - t0, np, cfg.storm_threads);
	for (int i = 0; i < OP_NR; i++) {
		char eb[200] = "";
		size_t o = 0;

		for (int e = 0; e < NERR; e++)
			if (sh->by_err[i][e])
				o += snprintf(eb + o, sizeof(eb) - o, " %s %llu",
					      strerrorname_np(err_list[e]),
					      (unsigned long long)sh->by_err[i][e]);
		say("storm:   %-24s %10llu%s%s", op_name[i],
		    (unsigned long long)sh->ops[i], *eb ? ", failed:" : "", eb);
	}
	if (bad && !failed())
		fail("storm: %d processes failed", bad);
	munmap(sh, sizeof(*sh));
	return failed() ? -1 : 0;
}
