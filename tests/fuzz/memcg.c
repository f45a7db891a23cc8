// SPDX-License-Identifier: GPL-2.0
/*
 * Phase "memcg": the module's own allocations failing.  A process in a
 * memory cgroup (cgroup v2) that the memcg OOM killer may not take
 * (oom_score_adj -1000) fills the cgroup to its memory.max with a tmpfs
 * balloon, lets 0..15 pages out again, and tries; every GFP_KERNEL_ACCOUNT
 * allocation past the limit fails: opening a container (its context, its GUP page), pinning a
 * range of 4096 physically scattered pages (the runs array grows to 32 KiB,
 * kmalloc then vmalloc), pinning over existing pins (a region of its own).
 * Each may give ENOMEM; none may leave a pin, a charge or a count wrong, or
 * print anything but the memcg's OOM reports.  Unpinning one of several
 * overlapping pins allocates nothing since issue 10, so it must succeed
 * however squeezed the cgroup is.
 *
 * Opt-in (MEMPIN_TEST_FUZZ_PHASES=...,memcg): every refused charge prints a
 * memcg OOM report, enough to wrap a 256 KiB kernel log, so the guest's own
 * final check of dmesg may see a report without its start and complain.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#define CG	"/sys/fs/cgroup"
#define GRP	CG "/mempin-fuzz"
#define SCATTER	4096		/* pages, faulted in backwards */
#define SHARED	64
#define STEPS	16	/* 0..15 pages of room */

static long cg_read(const char *file)
{
	char path[128];

	snprintf(path, sizeof(path), GRP "/%s", file);
	return kv_read_long(path);
}

static int cg_max(long bytes)
{
	char v[32];

	if (bytes < 0)
		return kv_write_file(GRP "/memory.max", "max");
	snprintf(v, sizeof(v), "%ld", bytes);
	return kv_write_file(GRP "/memory.max", v);
}

struct tally {
	unsigned long tries[4], enomem[4], balloon;
};
static const char *const what[] = { "open", "pin of 4096 scattered pages",
				    "pin over 2 pins", "unpin of an overlapped pin" };

/* At the limit even reading /proc fails: VmPin only once there is room. */
static void check_consistent(int fd, uint64_t pins, uint64_t pages, const char *when,
			     bool vmpin)
{
	struct mempin_stats_arg st;
	long vm = vmpin ? kv_vmpin_kb(0) : -2;

	/* Every pin charges all its pages: charged == pages, always. */
	if (mp_stats(fd, &st) || st.pins != pins || st.pages != pages ||
	    st.charged_pages != pages ||
	    (vmpin && vm != (long)(st.charged_pages * (PG / 1024))))
		fail("memcg: %s: stats %llu pins %llu pages %llu charged, VmPin %ld kB; "
		     "expected %llu pins %llu pages", when,
		     (unsigned long long)st.pins, (unsigned long long)st.pages,
		     (unsigned long long)st.charged_pages, vm,
		     (unsigned long long)pins, (unsigned long long)pages);
}

static void __attribute__((noinline)) prefault_stack(void)
{
	volatile char buf[256 << 10];

	for (size_t i = 0; i < sizeof(buf); i += PG)
		buf[i] = 1;
	buf[sizeof(buf) - 1] = 1;
}

static int child(struct tally *t)
{
	char pid[16];
	uint8_t *scat, *sh;
	static char page[PG];
	uint64_t h1, h2, h;
	long base;
	int fd, r, balloon;

	snprintf(pid, sizeof(pid), "%d", getpid());
	if (kv_write_file(GRP "/cgroup.procs", pid) ||
	    kv_write_file("/proc/self/oom_score_adj", "-1000"))
		return 2;
	scat = mmap(NULL, SCATTER * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sh = mmap(NULL, SHARED * PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (scat == MAP_FAILED || sh == MAP_FAILED)
		return 3;
	madvise(scat, SCATTER * PG, MADV_NOHUGEPAGE);
	for (long i = SCATTER - 1; i >= 0; i--)	/* pfns mostly not in order */
		scat[i * PG] = 1;
	fd = mp_open();
	balloon = memfd_create("balloon", MFD_CLOEXEC);
	if (fd < 0 || balloon < 0 || mp_pin(fd, sh, SHARED * PG, 0, &h1, NULL) ||
	    mp_pin(fd, sh, SHARED * PG, 0, &h2, NULL))
		return 4;
	memset(page, 0x5a, sizeof(page));
	/*
	 * At the limit, a user page fault would wait for the memcg OOM killer
	 * forever (nothing here may be killed): touch now whatever the loop
	 * touches later, stack, stdio buffers and all.
	 */
	prefault_stack();
	check_consistent(fd, 2, 2 * SHARED, "before", true);
	say("memcg: ready");
	for (int step = 0; step < STEPS && !failed(); step++) {
		uint64_t pins = 2, pages = 2 * SHARED;
		long room = step, n = 0;
		bool have_h;
		int extra;

		/*
		 * Fill the cgroup to its limit with the balloon (tmpfs pages,
		 * unreclaimable without swap: the writes end in ENOMEM, which
		 * also uses up the per-cpu charge stock), then let out room
		 * pages: what the module's allocations may use.
		 */
		base = cg_read("memory.current");
		cg_max(base + 64 * (long)PG);
		while (n < 100000 && write(balloon, page, PG) == (ssize_t)PG)
			n++;
		if (ftruncate(balloon, (n > room ? n - room : 0) * PG))
			fail("memcg: ftruncate: %s", strerror(errno));
		t->balloon += n;
		t->tries[0]++;
		extra = mp_open();
		if (extra >= 0)
			close(extra);
		else if (extra == -ENOMEM)
			t->enomem[0]++;
		else
			fail("memcg: open: %s", strerror(-extra));
		t->tries[1]++;
		r = mp_pin(fd, scat, SCATTER * PG, 0, &h, NULL);
		if (!r) {
			if (mp_unpin(fd, h))
				fail("memcg: unpin of the scattered pin failed");
		} else if (r == -ENOMEM) {
			t->enomem[1]++;
		} else {
			fail("memcg: pin of scattered pages: %s", strerror(-r));
		}
		check_consistent(fd, pins, pages, "after the scattered pin", false);
		t->tries[2]++;
		r = mp_pin(fd, sh, SHARED * PG, 0, &h, NULL);
		have_h = !r;
		if (!r) {
			pins++;
			pages += SHARED;
		} else if (r == -ENOMEM) {
			t->enomem[2]++;
		} else {
			fail("memcg: overlapping pin: %s", strerror(-r));
		}
		check_consistent(fd, pins, pages, "after the overlapping pin", false);
		t->tries[3]++;
		r = mp_unpin(fd, h1);
		if (!r) {
			pins--;
			pages -= SHARED;
		} else {
			if (r == -ENOMEM)
				t->enomem[3]++;
			fail("memcg: step %d (%ld pages of room): unpin of an overlapped "
			     "pin: %s; unpin never allocates", step, room, strerror(-r));
		}
		check_consistent(fd, pins, pages, "after the unpin", false);
		/* Back to two pins, with room to spare. */
		cg_max(-1);
		if (ftruncate(balloon, 0) || lseek(balloon, 0, SEEK_SET))
			fail("memcg: emptying the balloon: %s", strerror(errno));
		if (r == 0 && have_h)
			h1 = h;
		else if (r == 0 && mp_pin(fd, sh, SHARED * PG, 0, &h1, NULL))
			fail("memcg: re-pin with no limit failed");
		else if (r != 0 && have_h && mp_unpin(fd, h))
			fail("memcg: unpin with no limit failed");
		check_consistent(fd, 2, 2 * SHARED, "back to two pins", true);
	}
	close(fd);
	if (kv_vmpin_kb(0) != 0)
		fail("memcg: VmPin %ld kB after close", kv_vmpin_kb(0));
	return failed();
}

int phase_memcg(void)
{
	struct tally *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct stat sb;
	int st, nbad = 0;
	pid_t pid;

	if (stat(CG "/cgroup.controllers", &sb)) {
		mkdir(CG, 0755);
		if (mount("none", CG, "cgroup2", 0, NULL)) {
			say("memcg: no cgroup v2 (%s): phase skipped", strerror(errno));
			return 0;
		}
	}
	if (kv_write_file(CG "/cgroup.subtree_control", "+memory") ||
	    (mkdir(GRP, 0755) && errno != EEXIST)) {
		say("memcg: no memory controller (%s): phase skipped", strerror(errno));
		return 0;
	}
	say("memcg: %d steps: the cgroup filled to memory.max, then 0..%d pages let out",
	    STEPS, STEPS - 1);
	memset(t, 0, sizeof(*t));	/* no first touch at the limit */
	/* Fewer lines per memcg OOM report; restored below. */
	kv_write_file("/proc/sys/vm/oom_dump_tasks", "0");
	pid = fork();
	if (pid == 0)
		_exit(child(t));
	/* Every refused charge is an OOM report: read the log as it comes,
	 * before it wraps. */
	while (waitpid(pid, &st, WNOHANG) == 0) {
		nbad += kmsg_bad(phase_kmsg_fd, true);
		usleep(2000);
	}
	nbad += kmsg_bad(phase_kmsg_fd, true);
	kv_write_file("/proc/sys/vm/oom_dump_tasks", "1");
	if (nbad)
		fail("memcg: %d bad kernel log lines", nbad);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("memcg: child status %#x", st);
	for (int i = 0; i < 4; i++)
		say("memcg:   %-28s %4lu tries, %4lu ENOMEM", what[i], t->tries[i],
		    t->enomem[i]);
	say("memcg:   balloon pages written  %lu", t->balloon);
	rmdir(GRP);
	munmap(t, sizeof(*t));
	return failed() ? -1 : 0;
}
