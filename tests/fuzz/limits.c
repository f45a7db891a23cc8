// SPDX-License-Identifier: GPL-2.0
/*
 * Phase "limits": two processes x two threads race to the administrator cap
 * (max_pinned_pages, root: it binds root too), then two unprivileged
 * processes x two threads race to their RLIMIT_MEMLOCK with the cap set as
 * well.  Never may either be exceeded:
 *  - cap: the processes publish in one shared counter the pages they hold,
 *    adding after a pin succeeds and subtracting before it unpins, so the
 *    published total never exceeds what the kernel holds; every success
 *    then checks the total its add returned against the cap.
 *  - RLIMIT_MEMLOCK: both processes are uid 1000, whose budget they share
 *    (charge_mode "user"): the published sum is checked against it too.  A
 *    monitor thread in each process and the parent read VmPin continuously;
 *    at quiet points VmPin == the containers' charged == their pages (every
 *    pin charges all its pages, overlapping or not).
 * Both limits must actually be hit (ENOMEM seen), or the race proved nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#define CAP_PAGES	1000
#define MEMLOCK_PAGES	600
#define REGION_PAGES	768

struct lshared {
	volatile int stop;
	/*
	 * Published page references of both processes: one counter, so that
	 * each add returns a consistent total (two loads of per-process
	 * counters could see one pin's pages in both, around an unpin).
	 */
	int64_t held;
	uint64_t pins, enomem, over_cap, vm_over, vm_max, checks;
	pid_t pids[2];
};
static struct lshared *ls;

struct lthread {
	unsigned int proc, t;
	bool rlimit;
	int fd;
	uint8_t *mem;
	double deadline;
};

#define HELD 64
static void *lthread_main(void *p)
{
	struct lthread *a = p;
	struct rng r = { mix64(cfg.seed ^ 0x11111111ULL ^ (a->proc << 8) ^ a->t) };
	struct { uint64_t h, pages; } held[HELD];
	unsigned int n = 0;

	while (!ls->stop && !failed() && now_s() < a->deadline) {
		if (n && (n == HELD || chance(&r, 40))) {
			unsigned int i = below(&r, n);

			__atomic_sub_fetch(&ls->held, held[i].pages, __ATOMIC_SEQ_CST);
			if (mp_unpin(a->fd, held[i].h))
				fail("limits: unpin of a held pin failed");
			held[i] = held[--n];
		} else {
			uint64_t pages = 1 + below(&r, chance(&r, 50) ? 40 : 300);
			uint64_t first = below(&r, REGION_PAGES - pages), h;
			int ret = mp_pin(a->fd, (char *)a->mem + first * PG,
					 pages * PG, 0, &h, NULL);
			int64_t sum;

			if (ret == -ENOMEM) {
				__atomic_add_fetch(&ls->enomem, 1, __ATOMIC_RELAXED);
				continue;
			}
			if (ret) {
				fail("limits: pin %llu pages: %s", (unsigned long long)pages,
				     strerror(-ret));
				break;
			}
			__atomic_add_fetch(&ls->pins, 1, __ATOMIC_RELAXED);
			sum = __atomic_add_fetch(&ls->held, pages, __ATOMIC_SEQ_CST);
			held[n].h = h;
			held[n++].pages = pages;
			if (a->rlimit && sum > MEMLOCK_PAGES) {
				__atomic_add_fetch(&ls->vm_over, 1, __ATOMIC_RELAXED);
				fail("limits: uid 1000's processes hold at least %lld charged "
				     "pages, RLIMIT_MEMLOCK is %d pages (seed %llu)",
				     (long long)sum, MEMLOCK_PAGES,
				     (unsigned long long)cfg.seed);
			}
			if (sum > CAP_PAGES) {
				__atomic_add_fetch(&ls->over_cap, 1, __ATOMIC_RELAXED);
				fail("limits: the processes hold at least %lld page references, "
				     "max_pinned_pages is %d (seed %llu)", (long long)sum,
				     CAP_PAGES, (unsigned long long)cfg.seed);
			}
		}
	}
	return NULL;
}

static void vm_seen(long kb, const char *who)
{
	uint64_t pages = kb > 0 ? kb / (PG / 1024) : 0, m;

	__atomic_add_fetch(&ls->checks, 1, __ATOMIC_RELAXED);
	m = __atomic_load_n(&ls->vm_max, __ATOMIC_RELAXED);
	while (pages > m && !__atomic_compare_exchange_n(&ls->vm_max, &m, pages, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	if (pages > MEMLOCK_PAGES) {
		if (__atomic_add_fetch(&ls->vm_over, 1, __ATOMIC_RELAXED) <= 5)
			fail("limits: %s VmPin %ld kB over RLIMIT_MEMLOCK %lu kB (seed %llu)",
			     who, kb, MEMLOCK_PAGES * (PG / 1024),
			     (unsigned long long)cfg.seed);
	}
}

static void *monitor_main(void *p)
{
	double deadline = *(double *)p;

	while (!ls->stop && now_s() < deadline + 1)
		vm_seen(kv_vmpin_kb(0), "own");
	return NULL;
}

static int lproc(unsigned int idx, bool rlimit, double deadline)
{
	struct lthread a[2];
	pthread_t th[2], mon;
	uint8_t *mem = mmap(NULL, REGION_PAGES * PG, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int fds[2];
	long sum = 0, pages = 0, vm;

	if (rlimit && drop_root(1000, 1000, MEMLOCK_PAGES * PG)) {
		fail("limits: cannot drop root");
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		fds[i] = mp_open();
		if (fds[i] < 0) {
			fail("limits: open: %s", strerror(-fds[i]));
			return 1;
		}
	}
	if (rlimit)
		pthread_create(&mon, NULL, monitor_main, &deadline);
	for (unsigned int t = 0; t < 2; t++) {
		/* Both threads pin the same memory, on one container (root) or
		 * two (rlimit): every pin charges all its pages, overlapping or
		 * not, in either. */
		a[t] = (struct lthread){ idx, t, rlimit, fds[rlimit ? t : 0], mem, deadline };
		pthread_create(&th[t], NULL, lthread_main, &a[t]);
	}
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	if (rlimit)
		pthread_join(mon, NULL);
	for (int i = 0; i < 2; i++) {
		struct mempin_stats_arg st;

		mp_stats(fds[i], &st);
		sum += st.charged_pages;
		pages += st.pages;
	}
	vm = kv_vmpin_kb(0);
	if (vm != sum * (long)(PG / 1024) || sum != pages)
		fail("limits: p%u: VmPin %ld kB, containers charged %ld pages, hold %ld",
		     idx, vm, sum, pages);
	close(fds[0]);
	close(fds[1]);
	if (kv_vmpin_kb(0) != 0)
		fail("limits: p%u: VmPin %ld kB after close", idx, kv_vmpin_kb(0));
	return failed();
}

static int pinned_fd = -2;

static long read_pinned_pages(void)
{
	int fd = pinned_fd;
	char buf[32];
	ssize_t n;

	if (fd == -2)
		fd = pinned_fd = open("/sys/class/misc/mempin/stats/pinned_pages",
				      O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static int round_(bool rlimit, unsigned int secs)
{
	double deadline = now_s() + secs;
	int bad = 0;

	memset(ls, 0, sizeof(*ls));
	if (kv_param_set("max_pinned_pages", CAP_PAGES)) {
		fail("limits: cannot set max_pinned_pages");
		return -1;
	}
	for (unsigned int i = 0; i < 2; i++) {
		ls->pids[i] = fork();
		if (ls->pids[i] == 0)
			_exit(lproc(i, rlimit, deadline));
	}
	/* The parent watches both VmPin too, from outside; and the module's
	 * own count of pinned pages against the cap, where it shows it. */
	while (now_s() < deadline) {
		long total = read_pinned_pages();

		if (total > CAP_PAGES &&
		    __atomic_add_fetch(&ls->over_cap, 1, __ATOMIC_RELAXED) <= 5)
			fail("limits: stats/pinned_pages %ld over max_pinned_pages %d "
			     "(seed %llu)", total, CAP_PAGES, (unsigned long long)cfg.seed);
		for (int i = 0; rlimit && i < 2; i++) {
			long kb = kv_vmpin_kb(ls->pids[i]);

			if (kb >= 0)
				vm_seen(kb, "(parent's view)");
		}
	}
	for (int i = 0; i < 2; i++) {
		int st;

		waitpid(ls->pids[i], &st, 0);
		bad += !WIFEXITED(st) || WEXITSTATUS(st);
	}
	kv_param_set("max_pinned_pages", 0);
	say("limits: %s: %llu pins, %llu ENOMEM, cap exceeded %llu times; "
	    "VmPin checks %llu, max %llu pages of %d, over %llu times",
	    rlimit ? "RLIMIT_MEMLOCK (uid 1000) + cap" : "cap (root)",
	    (unsigned long long)ls->pins, (unsigned long long)ls->enomem,
	    (unsigned long long)ls->over_cap, (unsigned long long)ls->checks,
	    (unsigned long long)ls->vm_max, MEMLOCK_PAGES,
	    (unsigned long long)ls->vm_over);
	if (!ls->enomem)
		fail("limits: %s never refused a pin: the race proved nothing",
		     rlimit ? "RLIMIT_MEMLOCK" : "the cap");
	if (bad && !failed())
		fail("limits: %d processes failed", bad);
	return failed() ? -1 : 0;
}

int phase_limits(void)
{
	unsigned int half = cfg.limit_secs / 2 ? cfg.limit_secs / 2 : 1;

	ls = mmap(NULL, sizeof(*ls), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ls == MAP_FAILED)
		return -1;
	say("limits: seed %llu, cap %d pages, RLIMIT_MEMLOCK %d pages, %u s",
	    (unsigned long long)cfg.seed, CAP_PAGES, MEMLOCK_PAGES, cfg.limit_secs);
	round_(false, half);
	if (!failed())
		round_(true, half);
	munmap(ls, sizeof(*ls));
	if (pinned_fd >= 0)
		close(pinned_fd);
	pinned_fd = -2;
	return failed() ? -1 : 0;
}
