// SPDX-License-Identifier: GPL-2.0
/*
 * What operators see: fdinfo of a container against the stats ioctl and
 * VmPin (also from a forked child, and bounded past 256 pins), the sysfs
 * counters against the sum over open containers in several processes and
 * back to zero, the refusal counters by reason, the tracepoints read from
 * tracefs.  mempinctl, which shows all of it, has its own suite
 * (t_mempinctl.c).
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "checked.h"
#include "suites.h"

#define FDINFO_MAX_LISTED 256

/* ------------------------------------------------------------ fdinfo */

struct fdi_pin {
	uint64_t handle, addr, len, pages;
	char mode[4];
};

struct fdi {
	uint64_t id;
	long owner;
	uint64_t pins, pages, charged, charged_bytes, unlisted;
	char charge_mode[16];		/* user | process */
	long charged_uid;
	char address_space[8];		/* live | gone */
	unsigned int nlist;
	struct fdi_pin list[FDINFO_MAX_LISTED + 1];
};

/*
 * /proc/PID/fdinfo/FD (pid 0: self), checked for the documented layout:
 * the id, owner, totals, charge mode, charged uid and address space in
 * order, then the pins, then mempin-pins-unlisted last, each "key:\tvalue".
 * Returns 0 or a message in why.
 */
#define FDI_HEAD 10
static int fdi_read(pid_t pid, int fd, struct fdi *f, char *why, size_t len)
{
	static const char *const head[FDI_HEAD] = {
		"mempin-id", "mempin-owner-pid", "mempin-pins",
		"mempin-pinned-pages", "mempin-charged-pages",
		"mempin-charged-bytes", "mempin-charge-mode",
		"mempin-charged-uid", "mempin-address-space",
		"mempin-cgroup",
	};
	char path[64], line[256];
	unsigned int n = 0;
	bool last = false;
	FILE *in;

	memset(f, 0, sizeof(*f));
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	else
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	in = fopen(path, "re");
	if (!in) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), in)) {
		char *tab = strstr(line, ":\t");
		uint64_t v;

		if (strncmp(line, "mempin-", 7))
			continue;
		if (!tab || last) {
			snprintf(why, len, "bad or misplaced line: %s", line);
			fclose(in);
			return -1;
		}
		*tab = 0;
		tab[2 + strcspn(tab + 2, "\n")] = 0;
		v = strtoull(tab + 2, NULL, 10);
		if (n < FDI_HEAD) {
			if (strcmp(line, head[n])) {
				snprintf(why, len, "line %u is %s, not %s", n, line, head[n]);
				fclose(in);
				return -1;
			}
			switch (n) {
			case 0: f->id = v; break;
			case 1: f->owner = (long)v; break;
			case 2: f->pins = v; break;
			case 3: f->pages = v; break;
			case 4: f->charged = v; break;
			case 5: f->charged_bytes = v; break;
			case 6:
				snprintf(f->charge_mode, sizeof(f->charge_mode),
					 "%s", tab + 2);
				break;
			case 7: f->charged_uid = (long)v; break;
			case 8:
				snprintf(f->address_space,
					 sizeof(f->address_space), "%s", tab + 2);
				break;
			}
		} else if (!strcmp(line, "mempin-pins-unlisted")) {
			f->unlisted = v;
			last = true;
		} else {
			struct fdi_pin *p = &f->list[f->nlist];

			if (f->nlist == FDINFO_MAX_LISTED + 1 ||
			    sscanf(line, "mempin-pin-%lu", &p->handle) != 1 ||
			    sscanf(tab + 2, "0x%lx %lu %lu %3s", &p->addr, &p->len,
				   &p->pages, p->mode) != 4) {
				snprintf(why, len, "bad pin line %s:\t%s", line, tab + 2);
				fclose(in);
				return -1;
			}
			f->nlist++;
		}
		n++;
	}
	fclose(in);
	if (n < FDI_HEAD || !last) {
		snprintf(why, len, "%s: %u mempin lines, no mempin-pins-unlisted", path, n);
		return -1;
	}
	return 0;
}

static void xfdi(pid_t pid, int fd, struct fdi *f)
{
	char why[512];

	ck_assert_msg(fdi_read(pid, fd, f, why, sizeof(why)) == 0, "fdinfo: %s", why);
}

/*
 * fdinfo totals == MEMPIN_IOC_STATS; charged-bytes == charged pages ==
 * pinned pages (each pin charges its own).  Our own container, opened in
 * the default charge mode by us: charged to our uid, its address space
 * live (the stats ioctl answered).
 */
static void assert_fdi_stats(int fd, const struct fdi *f)
{
	struct mempin_stats_arg st;

	xstats(fd, &st);
	ck_assert_uint_eq(f->pins, st.pins);
	ck_assert_uint_eq(f->pages, st.pages);
	ck_assert_uint_eq(f->charged, st.charged_pages);
	ck_assert_uint_eq(f->charged, f->pages);
	ck_assert_uint_eq(f->charged_bytes, st.charged_pages * PG);
	ck_assert_uint_eq(f->nlist + f->unlisted, st.pins);
	ck_assert_str_eq(f->charge_mode, "user");
	ck_assert_int_eq(f->charged_uid, (long)getuid());
	ck_assert_str_eq(f->address_space, "live");
}

static const struct fdi_pin *fdi_find(const struct fdi *f, uint64_t handle)
{
	for (unsigned int i = 0; i < f->nlist; i++)
		if (f->list[i].handle == handle)
			return &f->list[i];
	return NULL;
}

#define ASSERT_FDI_PIN(f, h, a, l, n, m) do { \
	const struct fdi_pin *_p = fdi_find((f), (h)); \
	ck_assert_msg(_p, "handle %llu not in fdinfo", (unsigned long long)(h)); \
	ck_assert_uint_eq(_p->addr, (uintptr_t)(a)); \
	ck_assert_uint_eq(_p->len, (l)); \
	ck_assert_uint_eq(_p->pages, (n)); \
	ck_assert_str_eq(_p->mode, (m)); } while (0)

static char *shared_map(size_t len)
{
	int fd = memfd_create("observe", MFD_CLOEXEC);
	char *p;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert(p != MAP_FAILED);
	memset(p, 1, len);
	close(fd);
	return p;
}

START_TEST(fdinfo_matches_stats_and_vmpin)
{
	int fd = xmp_open();
	char *mem = xmap(32 * PG), *shm = shared_map(4 * PG);
	long vm0 = kv_vmpin_kb(0);
	uint64_t h1, h2, h3, h4;
	struct fdi f;

	xfdi(0, fd, &f);
	ck_assert_int_eq(f.owner, getpid());
	ck_assert_uint_eq(f.pins, 0);
	ck_assert_uint_eq(f.nlist, 0);
	ck_assert_uint_eq(f.unlisted, 0);
	assert_fdi_stats(fd, &f);

	h1 = xpin(fd, mem, 8 * PG, 0);				/* pages 0-7 */
	h2 = xpin(fd, mem + 4 * PG, 8 * PG, 0);			/* 4-11: overlap */
	h3 = xpin(fd, mem + 20 * PG + 100, PG, 0);		/* unaligned: 2 pages */
	h4 = xpin(fd, shm, 4 * PG, MEMPIN_PIN_READONLY);	/* shmem, ro */
	xfdi(0, fd, &f);
	assert_fdi_stats(fd, &f);
	ck_assert_uint_eq(f.pins, 4);
	ck_assert_uint_eq(f.pages, 8 + 8 + 2 + 4);
	ck_assert_uint_eq(f.charged, 8 + 8 + 2 + 4);	/* overlap: twice */
	ASSERT_VMPIN(vm0, f.charged);
	ck_assert_uint_eq(f.nlist, 4);
	/* Listed by handle, in order. */
	ck_assert_uint_eq(f.list[0].handle, h1);
	ck_assert_uint_eq(f.list[3].handle, h4);
	ASSERT_FDI_PIN(&f, h1, mem, 8 * PG, 8, "rw");
	ASSERT_FDI_PIN(&f, h2, mem + 4 * PG, 8 * PG, 8, "rw");
	ASSERT_FDI_PIN(&f, h3, mem + 20 * PG + 100, PG, 2, "rw");
	ASSERT_FDI_PIN(&f, h4, shm, 4 * PG, 4, "ro");

	xunpin(fd, h1);
	ck_assert_int_eq(mp_unpin_range(fd, mem + 20 * PG + 100, PG), 0);
	xfdi(0, fd, &f);
	assert_fdi_stats(fd, &f);
	ck_assert_uint_eq(f.pins, 2);
	ck_assert_uint_eq(f.charged, 8 + 4);
	ASSERT_VMPIN(vm0, 12);
	ck_assert_ptr_null(fdi_find(&f, h1));
	ck_assert_ptr_null(fdi_find(&f, h3));
	ASSERT_FDI_PIN(&f, h2, mem + 4 * PG, 8 * PG, 8, "rw");
	xunpin(fd, h2);
	xunpin(fd, h4);
	xfdi(0, fd, &f);
	assert_fdi_stats(fd, &f);
	ck_assert_uint_eq(f.charged, 0);
	ASSERT_VMPIN(vm0, 0);
	xclose(fd);
}
END_TEST

struct fork_view {
	int fd;
	pid_t parent;
	struct fdi want;
};

/* The child sees the inherited container as its parent does, owner and all;
 * none of it is charged to the child. */
static void child_fork_view(struct chan *ch, void *arg)
{
	struct fork_view *fv = arg;
	struct fdi f;
	char why[512];

	CREQ(ch, fdi_read(0, fv->fd, &f, why, sizeof(why)) == 0);
	CREQ_EQ(ch, f.id, fv->want.id);
	CREQ_EQ(ch, f.owner, fv->parent);
	CREQ_EQ(ch, f.pins, fv->want.pins);
	CREQ_EQ(ch, f.pages, fv->want.pages);
	CREQ_EQ(ch, f.charged, fv->want.charged);
	CREQ_EQ(ch, f.charged_bytes, fv->want.charged_bytes);
	CREQ(ch, !strcmp(f.charge_mode, fv->want.charge_mode));
	CREQ_EQ(ch, f.charged_uid, fv->want.charged_uid);
	/* The parent's address space, alive. */
	CREQ(ch, !strcmp(f.address_space, "live"));
	CREQ_EQ(ch, f.nlist, fv->want.nlist);
	CREQ_EQ(ch, f.list[0].handle, fv->want.list[0].handle);
	CREQ_EQ(ch, f.list[0].addr, fv->want.list[0].addr);
	CREQ_EQ(ch, kv_vmpin_kb(0), 0);
	/* The container is not the child's to change. */
	CREQ_EQ(ch, mp_pin(fv->fd, (void *)(uintptr_t)f.list[0].addr, PG, 0,
			   NULL, NULL), -EPERM);
	ch_sync(ch);
}

START_TEST(fdinfo_after_fork)
{
	struct fork_view fv = { .parent = getpid() };
	char *mem = xmap(16 * PG);
	int other = xmp_open();
	struct child c;
	struct fdi f;

	fv.fd = xmp_open();
	xpin(fv.fd, mem, 16 * PG, 0);
	xpin(fv.fd, mem + 2 * PG, 4 * PG, 0);
	xfdi(0, fv.fd, &fv.want);
	assert_fdi_stats(fv.fd, &fv.want);
	/* Another container has another id. */
	xfdi(0, other, &f);
	ck_assert_uint_ne(f.id, fv.want.id);
	xclose(other);
	child_start(&c, child_fork_view, &fv);
	if (child_await(&c) == 0) {
		/* The parent's view of the child's fd: the same container. */
		xfdi(c.pid, fv.fd, &f);
		ck_assert_uint_eq(f.id, fv.want.id);
		ck_assert_int_eq(f.owner, getpid());
		ck_assert_uint_eq(f.pins, 2);
		ck_assert_uint_eq(f.pages, 20);
		ck_assert_uint_eq(f.charged, 20);
		ck_assert_str_eq(f.address_space, "live");
		ck_assert_int_eq(kv_vmpin_kb(c.pid), 0);
		child_go(&c);
	}
	CHILD_OK(&c);
	xfdi(0, fv.fd, &f);
	ck_assert_uint_eq(f.pins, 2);
	xclose(fv.fd);
}
END_TEST

START_TEST(fdinfo_list_bounded)
{
	int fd = xmp_open();
	char *mem = xmap(300 * PG);
	uint64_t h[300];
	struct fdi f;
	int i;

	for (i = 0; i < 300; i++)
		h[i] = xpin(fd, mem + i * PG, PG, 0);
	xfdi(0, fd, &f);
	assert_fdi_stats(fd, &f);
	ck_assert_uint_eq(f.pins, 300);
	ck_assert_uint_eq(f.nlist, FDINFO_MAX_LISTED);
	ck_assert_uint_eq(f.unlisted, 300 - FDINFO_MAX_LISTED);
	for (i = 0; i < FDINFO_MAX_LISTED; i++) {
		ck_assert_uint_eq(f.list[i].handle, h[i]);
		ck_assert_uint_eq(f.list[i].addr, (uintptr_t)(mem + i * PG));
	}
	for (i = 0; i < 100; i++)
		xunpin(fd, h[i]);
	xfdi(0, fd, &f);
	assert_fdi_stats(fd, &f);
	ck_assert_uint_eq(f.nlist, 200);
	ck_assert_uint_eq(f.unlisted, 0);
	ck_assert_uint_eq(f.list[0].handle, h[100]);
	xclose(fd);
}
END_TEST

struct bg_pin {
	int fd;
	char *mem;
	size_t len;
	int ret;
	volatile int done;
};

static void *bg_pin_thread(void *arg)
{
	struct bg_pin *bp = arg;

	bp->ret = mp_pin(bp->fd, bp->mem, bp->len, 0, NULL, NULL);
	__atomic_store_n(&bp->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Reads fdinfo while a 128 MiB pin runs in another thread: every read is
 * one snapshot (listed + unlisted == pins), the list complete or, when the
 * pin holds the lock, empty.  How many reads land inside the pin is up to
 * the scheduler, so the count is printed, not asserted.
 */
static void fdinfo_during_long_pin(void)
{
	struct bg_pin lp = { .len = 128UL << 20 };
	int busy = 0, reads = 0;
	pthread_t t;
	struct fdi f;
	char *small = xmap(PG);

	lp.fd = xmp_open();
	lp.mem = xmap(lp.len);
	xpin(lp.fd, small, PG, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, bg_pin_thread, &lp), 0);
	while (!__atomic_load_n(&lp.done, __ATOMIC_ACQUIRE)) {
		xfdi(0, lp.fd, &f);
		ck_assert(f.pins == 1 || f.pins == 2);
		if (f.nlist == 0) {
			ck_assert_uint_eq(f.unlisted, f.pins);
			busy++;
		} else {
			ck_assert_uint_eq(f.nlist + f.unlisted, f.pins);
		}
		reads++;
	}
	pthread_join(t, NULL);
	ck_assert_int_eq(lp.ret, 0);
	printf("fdinfo_never_waits_for_a_pin: %d reads during a long pin, %d with the lock busy\n",
	       reads, busy);
	xfdi(0, lp.fd, &f);
	assert_fdi_stats(lp.fd, &f);
	ck_assert_uint_eq(f.pins, 2);
	xclose(lp.fd);
	xunmap(lp.mem, lp.len);
	xunmap(small, PG);
}

/*
 * fdinfo answers while a pin holds the container's lock: totals, and every
 * pin unlisted.  To hold the lock for as long as the test likes, without
 * asking any clock, the pin runs into a page of a userfaultfd range: GUP
 * faults and sleeps in the fault handler (mmap_lock dropped, the container
 * lock held) until the test fills the page; then the list is back.
 * Some kernels (bookworm's 6.1, bullseye's 5.10) take FOLL_LONGTERM's slow
 * path without FAULT_FLAG_ALLOW_RETRY, so the fault fails (EFAULT) instead
 * of waiting; there, and on kernels without userfaultfd, only the
 * concurrent reads of fdinfo_during_long_pin() are checked.
 */
START_TEST(fdinfo_never_waits_for_a_pin)
{
	struct bg_pin bp = { .len = 2 * PG };
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zero = { .range.len = PG };
	struct pollfd pfd = { .events = POLLIN };
	struct uffd_msg msg;
	char *small = xmap(PG);
	pthread_t t;
	struct fdi f;

	pfd.fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (pfd.fd < 0 && errno == ENOSYS) {
		/* A kernel built without CONFIG_USERFAULTFD (the debug one). */
		printf("fdinfo_never_waits_for_a_pin: no userfaultfd in this kernel\n");
		xunmap(small, PG);
		fdinfo_during_long_pin();
		return;
	}
	ck_assert_msg(pfd.fd >= 0, "userfaultfd: %s", strerror(errno));
	ck_assert_int_eq(ioctl(pfd.fd, UFFDIO_API, &api), 0);
	/* Page 0 present, page 1 missing: the pin stops in the middle. */
	bp.mem = mmap(NULL, bp.len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(bp.mem != MAP_FAILED);
	reg.range.start = (uintptr_t)bp.mem;
	reg.range.len = bp.len;
	ck_assert_int_eq(ioctl(pfd.fd, UFFDIO_REGISTER, &reg), 0);
	zero.range.start = (uintptr_t)bp.mem;
	ck_assert_int_eq(ioctl(pfd.fd, UFFDIO_ZEROPAGE, &zero), 0);

	bp.fd = xmp_open();
	xpin(bp.fd, small, PG, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, bg_pin_thread, &bp), 0);
	/* The fault of page 1, or the pin's end if the kernel cannot wait. */
	while (!__atomic_load_n(&bp.done, __ATOMIC_ACQUIRE) && poll(&pfd, 1, 20) == 0)
		;
	ck_assert_msg(!(pfd.revents & ~POLLIN), "poll userfaultfd: revents %#x", pfd.revents);
	if (!(pfd.revents & POLLIN)) {
		pthread_join(t, NULL);
		ck_assert_int_eq(bp.ret, -EFAULT);
		printf("fdinfo_never_waits_for_a_pin: long-term GUP does not wait for userfaultfd here\n");
		xclose(bp.fd);
		close(pfd.fd);
		fdinfo_during_long_pin();
		return;
	}
	ck_assert_int_eq(read(pfd.fd, &msg, sizeof(msg)), sizeof(msg));
	ck_assert_int_eq(msg.event, UFFD_EVENT_PAGEFAULT);
	ck_assert_uint_eq(msg.arg.pagefault.address & ~(PG - 1),
			  (uintptr_t)bp.mem + PG);

	/* The pin thread sleeps inside MEMPIN_IOC_PIN, the lock held. */
	for (int i = 0; i < 3; i++) {
		xfdi(0, bp.fd, &f);
		ck_assert_uint_eq(f.pins, 1);
		ck_assert_uint_eq(f.nlist, 0);
		ck_assert_uint_eq(f.unlisted, 1);
	}
	ck_assert(!__atomic_load_n(&bp.done, __ATOMIC_ACQUIRE));

	zero.range.start = (uintptr_t)bp.mem + PG;
	ck_assert_int_eq(ioctl(pfd.fd, UFFDIO_ZEROPAGE, &zero), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(bp.ret, 0);
	xfdi(0, bp.fd, &f);
	assert_fdi_stats(bp.fd, &f);
	ck_assert_uint_eq(f.pins, 2);
	ck_assert_uint_eq(f.nlist, 2);
	ck_assert_uint_eq(f.list[1].addr, (uintptr_t)bp.mem);
	xclose(bp.fd);
	close(pfd.fd);
	munmap(bp.mem, bp.len);
	xunmap(small, PG);
	fdinfo_during_long_pin();
}
END_TEST

/* ------------------------------------------------------------- sysfs */


static void counters(uint64_t *v)
{
	for (int i = 0; i < C_NR; i++)
		v[i] = stats_counter(i);
}

/* Every counter is read-only but pinned_pages_max, which root may reset. */
START_TEST(sysfs_file_modes)
{
	struct stat st;
	char path[128];

	for (int i = 0; i < C_NR; i++) {
		snprintf(path, sizeof(path), STATS_DIR "%s", counter_names[i]);
		ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
		if (i == C_PAGES_MAX) {
			ck_assert_uint_eq(st.st_mode & 0777, 0644);
			continue;
		}
		ck_assert_uint_eq(st.st_mode & 0777, 0444);
		ck_assert_int_lt(kv_write_file(path, "0"), 0);
	}
	ck_assert_int_eq(stat("/sys/module/mempin/parameters/max_pinned_pages", &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0644);
}
END_TEST

static void child_resets_pages_max(struct chan *ch, void *arg)
{
	(void)arg;
	CREQ_EQ(ch, drop_root(1001, 1001, -1), 0);
	CREQ_EQ(ch, kv_write_file(STATS_DIR "pinned_pages_max", "0"), -EACCES);
}

/*
 * pinned_pages_max is a high-water mark of pinned_pages (page references,
 * overlaps counted twice): it stays when pins go, and writing 0 (root
 * only) starts it again from what is pinned now.
 */
START_TEST(sysfs_pages_max_resets_to_what_is_pinned)
{
	char *mem = xmap(64 * PG);
	int fd = xmp_open();
	uint64_t base = stats_counter(C_PAGES), h;
	struct child c;

	h = xpin(fd, mem, 64 * PG, 0);
	xpin(fd, mem, 16 * PG, 0);
	ck_assert_uint_eq(stats_counter(C_PAGES), base + 80);
	ck_assert_uint_ge(stats_counter(C_PAGES_MAX), base + 80);
	xunpin(fd, h);
	ck_assert_uint_eq(stats_counter(C_PAGES), base + 16);
	ck_assert_uint_ge(stats_counter(C_PAGES_MAX), base + 80);

	ck_assert_int_eq(kv_write_file(STATS_DIR "pinned_pages_max", "0\n"), 0);
	ck_assert_uint_eq(stats_counter(C_PAGES_MAX), stats_counter(C_PAGES));
	ck_assert_uint_eq(stats_counter(C_PAGES_MAX), base + 16);
	xpin(fd, mem + 32 * PG, 8 * PG, 0);
	ck_assert_uint_eq(stats_counter(C_PAGES_MAX), base + 24);
	xclose(fd);
	ck_assert_uint_eq(stats_counter(C_PAGES), base);
	ck_assert_uint_eq(stats_counter(C_PAGES_MAX), base + 24);

	/* Only 0, only root. */
	ck_assert_int_eq(kv_write_file(STATS_DIR "pinned_pages_max", "5"), -EINVAL);
	ck_assert_int_eq(kv_write_file(STATS_DIR "pinned_pages_max", "max"), -EINVAL);
	ck_assert_uint_eq(stats_counter(C_PAGES_MAX), base + 24);
	child_start(&c, child_resets_pages_max, NULL);
	CHILD_OK(&c);
	ck_assert_uint_eq(stats_counter(C_PAGES_MAX), base + 24);
	xunmap(mem, 64 * PG);
}
END_TEST

#define NKIDS 3

struct holders {
	int fds[NKIDS][2];	/* each child's containers, -1: none */
};

struct holder_arg {
	struct holders *h;	/* MAP_SHARED: the children write their fds */
	int i;
};

/* Child i: i + 1 containers... at most two, with overlapping pins. */
static void child_holder(struct chan *ch, void *arg)
{
	struct holder_arg *a = arg;
	int n = a->i == 0 ? 1 : 2;
	char *mem = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	CREQ(ch, mem != MAP_FAILED);
	for (int k = 0; k < n; k++) {
		int fd = mp_open();

		CREQ(ch, fd >= 0);
		a->h->fds[a->i][k] = fd;
		CREQ_EQ(ch, mp_pin(fd, mem, (size_t)(4 + a->i) * PG, 0, NULL, NULL), 0);
		CREQ_EQ(ch, mp_pin(fd, mem + 2 * PG, 8 * PG, 0, NULL, NULL), 0);
	}
	ch_sync(ch);
}

static void sum_fdinfo(pid_t pid, int fd, uint64_t *sum)
{
	struct fdi f;

	xfdi(pid, fd, &f);
	sum[C_CONTAINERS]++;
	sum[C_PINS] += f.pins;
	sum[C_PAGES] += f.pages;
	sum[C_CHARGED] += f.charged;
}

START_TEST(sysfs_totals_are_the_sum_and_return_to_zero)
{
	struct holders *h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct holder_arg args[NKIDS];
	struct child c[NKIDS];
	uint64_t v[C_NR], sum[C_NR] = { 0 };
	char *mem = xmap(64 * PG);
	int fd[2], i, k;

	ck_assert(h != MAP_FAILED);
	memset(h->fds, -1, sizeof(h->fds));
	counters(v);
	ck_assert_uint_eq(v[C_CONTAINERS], 0);
	ck_assert_uint_eq(v[C_PINS], 0);
	ck_assert_uint_eq(v[C_PAGES], 0);
	ck_assert_uint_eq(v[C_CHARGED], 0);

	for (i = 0; i < NKIDS; i++) {
		args[i] = (struct holder_arg){ h, i };
		child_start(&c[i], child_holder, &args[i]);
	}
	fd[0] = xmp_open();
	fd[1] = xmp_open();
	xpin(fd[0], mem, 32 * PG, 0);
	xpin(fd[0], mem, 32 * PG, 0);		/* identical: charged again */
	xpin(fd[1], mem + 8 * PG, 16 * PG, 0);
	for (i = 0; i < NKIDS; i++)
		ck_assert_int_eq(child_await(&c[i]), 0);

	sum_fdinfo(0, fd[0], sum);
	sum_fdinfo(0, fd[1], sum);
	for (i = 0; i < NKIDS; i++)
		for (k = 0; k < 2; k++)
			if (h->fds[i][k] >= 0)
				sum_fdinfo(c[i].pid, h->fds[i][k], sum);
	counters(v);
	ck_assert_uint_eq(sum[C_CONTAINERS], 2 + 1 + 2 + 2);
	ck_assert_uint_eq(v[C_CONTAINERS], sum[C_CONTAINERS]);
	ck_assert_uint_eq(v[C_PINS], sum[C_PINS]);
	ck_assert_uint_eq(v[C_PAGES], sum[C_PAGES]);
	ck_assert_uint_eq(v[C_CHARGED], sum[C_CHARGED]);
	ck_assert_uint_eq(sum[C_PINS], 3 + 5 * 2);
	ck_assert_uint_eq(sum[C_PAGES], 80 + (4 + 8) + 2 * (5 + 8) + 2 * (6 + 8));
	/* Every pin charges all its pages: charged == pinned. */
	ck_assert_uint_eq(sum[C_CHARGED], sum[C_PAGES]);
	/* The high-water mark is at least this peak. */
	ck_assert_uint_ge(v[C_PAGES_MAX], v[C_PAGES]);

	for (i = 0; i < NKIDS; i++) {
		child_go(&c[i]);
		CHILD_OK(&c[i]);
	}
	counters(v);
	ck_assert_uint_eq(v[C_CONTAINERS], 2);
	ck_assert_uint_eq(v[C_PINS], 3);
	ck_assert_uint_eq(v[C_PAGES], 80);
	ck_assert_uint_eq(v[C_CHARGED], 80);
	xclose(fd[0]);
	xclose(fd[1]);
	counters(v);
	ck_assert_uint_eq(v[C_CONTAINERS], 0);
	ck_assert_uint_eq(v[C_PINS], 0);
	ck_assert_uint_eq(v[C_PAGES], 0);
	ck_assert_uint_eq(v[C_CHARGED], 0);
	ck_assert_uint_ge(v[C_PAGES_MAX], sum[C_PAGES]);
	munmap(h, sizeof(*h));
}
END_TEST

/* Exactly counter `which` went up by one since before; the others stayed. */
static void assert_refused(const uint64_t *before, int which)
{
	uint64_t after[C_NR];

	counters(after);
	for (int i = C_RLIMIT; i <= C_GUP; i++)
		ck_assert_msg(after[i] == before[i] + (i == which),
			      "%s went from %llu to %llu", counter_names[i],
			      (unsigned long long)before[i], (unsigned long long)after[i]);
}

static void child_over_rlimit(struct chan *ch, void *arg)
{
	char *mem = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int fd;

	(void)arg;
	CREQ_EQ(ch, drop_root(1000, 1000, PG), 0);
	fd = mp_open();
	CREQ(ch, fd >= 0);
	CREQ_EQ(ch, mp_pin(fd, mem, PG, 0, NULL, NULL), 0);
	CREQ_EQ(ch, mp_pin(fd, mem + PG, PG, 0, NULL, NULL), -ENOMEM);
	close(fd);
}

START_TEST(refusals_counted_by_reason)
{
	struct mempin_info_arg in;
	uint64_t v[C_NR];
	struct child c;
	char *mem = xmap(4 * PG), *none, *shm;
	int fd = xmp_open(), mfd, i;

	/* RLIMIT_MEMLOCK, as uid 1000 with one page of it. */
	counters(v);
	child_start(&c, child_over_rlimit, NULL);
	CHILD_OK(&c);
	assert_refused(v, C_RLIMIT);

	/* The administrator's cap. */
	counters(v);
	ck_assert_int_eq(kv_param_set("max_pinned_pages", (long)v[C_PAGES] + 1), 0);
	ck_assert_int_eq(mp_pin(fd, mem, 2 * PG, 0, NULL, NULL), -ENOMEM);
	ck_assert_int_eq(kv_param_set("max_pinned_pages", 0), 0);
	assert_refused(v, C_CAP);

	/* A mapping that must not be pinned: PROT_NONE. */
	none = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(none != MAP_FAILED);
	counters(v);
	ck_assert_int_eq(mp_pin(fd, none, PG, 0, NULL, NULL), -EFAULT);
	assert_refused(v, C_MAPPING);

	/* Limits: more pages than the machine has (checked first)... */
	counters(v);
	ck_assert_int_eq(mp_pin(fd, (void *)(1UL << 20), 1UL << 36, 0, NULL, NULL), -ENOMEM);
	assert_refused(v, C_LIMIT);
	/* ... and a pin over more than max_overlap existing pins. */
	xinfo(fd, &in);
	for (i = 0; i < (int)in.max_overlap + 1; i++)
		xpin(fd, mem, PG, 0);
	counters(v);
	ck_assert_int_eq(mp_pin(fd, mem, PG, 0, NULL, NULL), -ENOMEM);
	assert_refused(v, C_LIMIT);

	/* GUP itself: a shared mapping past the end of its file (SIGBUS). */
	mfd = memfd_create("past-eof", MFD_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, PG), 0);
	shm = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert(shm != MAP_FAILED);
	counters(v);
	ck_assert_int_eq(mp_pin(fd, shm + PG, PG, 0, NULL, NULL), -EFAULT);
	assert_refused(v, C_GUP);

	/* A pin that works counts nothing. */
	counters(v);
	xpin(fd, shm, PG, 0);
	assert_refused(v, -1);
	xclose(fd);
	close(mfd);
}
END_TEST

/* -------------------------------------------------------- tracepoints */

START_TEST(tracepoint_formats)
{
	static const struct {
		const char *event;
		const char *fields[8];
	} ev[] = {
		{ "pin", { "pid_t pid;", "u64 addr;", "u64 len;", "u32 flags;",
			   "u64 pages;", "u64 handle;", "int result;" } },
		{ "unpin", { "pid_t pid;", "u64 handle;", "u64 addr;", "u64 len;",
			     "u64 pages;", "int result;" } },
		{ "release", { "pid_t pid;", "pid_t owner;", "u64 pins;", "u64 pages;",
			       "u64 charged;" } },
	};
	char path[128], want[64];

	tracefs_mount();
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		char *fmt;

		snprintf(path, sizeof(path), TRACEFS "/events/mempin/%s/format", ev[i].event);
		fmt = xread_all(path, 1 << 16);
		snprintf(want, sizeof(want), "name: %s\n", ev[i].event);
		ck_assert_msg(strstr(fmt, want), "%s has no %s", path, want);
		for (int k = 0; ev[i].fields[k]; k++) {
			snprintf(want, sizeof(want), "field:%s", ev[i].fields[k]);
			ck_assert_msg(strstr(fmt, want), "%s has no %s", path, want);
		}
		free(fmt);
	}
}
END_TEST

START_TEST(tracepoints_fire_with_their_fields)
{
	char *mem = xmap(8 * PG), *none, *trace;
	unsigned long long addr, len, pages, handle, pins, charged;
	const char *l;
	unsigned int flags;
	pid_t me = getpid();
	int fd, result, owner;
	uint64_t h1, h2;

	none = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(none != MAP_FAILED);
	trace_start();

	fd = xmp_open();
	h1 = xpin(fd, mem + 10, 2 * PG, 0);			/* 3 pages */
	ck_assert_int_eq(mp_pin(fd, none, PG, 0, NULL, NULL), -EFAULT);
	h2 = xpin(fd, mem, 4 * PG, 0);
	xunpin(fd, h1);
	ck_assert_int_eq(mp_unpin(fd, 12345), -ENOENT);
	xclose(fd);		/* h2 still pinned: release reports it */

	trace = trace_stop();

	l = trace_find(trace, "pin", me, 0);
	ck_assert_msg(l, "no pin event of pid %d in:\n%s", me, trace);
	ck_assert_int_eq(sscanf(l, "addr=0x%llx len=%llu flags=0x%x pages=%llu handle=%llu result=%d",
				&addr, &len, &flags, &pages, &handle, &result), 6);
	ck_assert_uint_eq(addr, (uintptr_t)mem + 10);
	ck_assert_uint_eq(len, 2 * PG);
	ck_assert_uint_eq(flags, 0);
	ck_assert_uint_eq(pages, 3);
	ck_assert_uint_eq(handle, h1);
	ck_assert_int_eq(result, 0);

	l = trace_find(trace, "pin", me, 1);
	ck_assert_msg(l, "no second pin event in:\n%s", trace);
	ck_assert_int_eq(sscanf(l, "addr=0x%llx len=%llu flags=0x%x pages=%llu handle=%llu result=%d",
				&addr, &len, &flags, &pages, &handle, &result), 6);
	ck_assert_uint_eq(addr, (uintptr_t)none);
	ck_assert_uint_eq(pages, 0);
	ck_assert_uint_eq(handle, 0);
	ck_assert_int_eq(result, -EFAULT);

	l = trace_find(trace, "pin", me, 2);
	ck_assert_msg(l, "no third pin event in:\n%s", trace);
	ck_assert_int_eq(sscanf(l, "addr=0x%llx len=%llu flags=0x%x pages=%llu handle=%llu result=%d",
				&addr, &len, &flags, &pages, &handle, &result), 6);
	ck_assert_uint_eq(handle, h2);
	ck_assert_uint_eq(pages, 4);
	ck_assert_ptr_null(trace_find(trace, "pin", me, 3));

	l = trace_find(trace, "unpin", me, 0);
	ck_assert_msg(l, "no unpin event in:\n%s", trace);
	ck_assert_int_eq(sscanf(l, "handle=%llu addr=0x%llx len=%llu pages=%llu result=%d",
				&handle, &addr, &len, &pages, &result), 5);
	ck_assert_uint_eq(handle, h1);
	ck_assert_uint_eq(addr, (uintptr_t)mem + 10);
	ck_assert_uint_eq(len, 2 * PG);
	ck_assert_uint_eq(pages, 3);
	ck_assert_int_eq(result, 0);

	l = trace_find(trace, "unpin", me, 1);
	ck_assert_msg(l, "no second unpin event in:\n%s", trace);
	ck_assert_int_eq(sscanf(l, "handle=%llu addr=0x%llx len=%llu pages=%llu result=%d",
				&handle, &addr, &len, &pages, &result), 5);
	ck_assert_uint_eq(handle, 12345);
	ck_assert_int_eq(result, -ENOENT);

	l = trace_find(trace, "release", me, 0);
	ck_assert_msg(l, "no release event in:\n%s", trace);
	ck_assert_int_eq(sscanf(l, "owner=%d pins=%llu pages=%llu charged=%llu",
				&owner, &pins, &pages, &charged), 4);
	ck_assert_int_eq(owner, me);
	ck_assert_uint_eq(pins, 1);
	ck_assert_uint_eq(pages, 4);
	ck_assert_uint_eq(charged, 4);
	free(trace);
}
END_TEST

/* ----------------------------------------------------------- teardown */


Suite *observe_suite(void)
{
	Suite *s = suite_create("observe");
	TCase *tc;

	tc = TCASE("fdinfo");
	tcase_add_unchecked_fixture(tc, NULL, suite_restore);
	tcase_add_test(tc, fdinfo_matches_stats_and_vmpin);
	tcase_add_test(tc, fdinfo_after_fork);
	tcase_add_test(tc, fdinfo_list_bounded);
	tcase_add_test(tc, fdinfo_never_waits_for_a_pin);
	suite_add_tcase(s, tc);

	tc = TCASE("sysfs");
	tcase_add_unchecked_fixture(tc, NULL, suite_restore);
	tcase_add_test(tc, sysfs_file_modes);
	tcase_add_test(tc, sysfs_pages_max_resets_to_what_is_pinned);
	tcase_add_test(tc, sysfs_totals_are_the_sum_and_return_to_zero);
	tcase_add_test(tc, refusals_counted_by_reason);
	suite_add_tcase(s, tc);

	tc = TCASE("trace");
	tcase_add_unchecked_fixture(tc, NULL, suite_restore);
	tcase_add_test(tc, tracepoint_formats);
	tcase_add_test(tc, tracepoints_fire_with_their_fields);
	suite_add_tcase(s, tc);

	return s;
}
