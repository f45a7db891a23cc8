// SPDX-License-Identifier: GPL-2.0
/*
 * Which memory pins: THP, hugetlb, memfd/shmem, read-only mappings, private
 * mappings with read-only pins (per MEMPIN_FEATURE_READONLY_COW), shared and
 * private ext4 file mappings, holes, PROT_NONE, kernel addresses, VM_PFNMAP,
 * and a 1 GiB pin.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "checked.h"
#include "suites.h"

#define HPAGE (2UL << 20)
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

static int have_cow_feature(int fd)
{
	struct mempin_info_arg in;

	xinfo(fd, &in);
	return !!(in.features & MEMPIN_FEATURE_READONLY_COW);
}

/* Pins [p, p+len) expecting success: pages, stats, VmPin, vmstat. */
static uint64_t pin_checked(int fd, const void *p, size_t len, unsigned int flags,
			    uint64_t want_pages)
{
	struct mempin_stats_arg st0, st1;
	struct kv_pins a, b;
	long vm0 = kv_vmpin_kb(0);
	uint64_t h, pages = 0;
	int r;

	xstats(fd, &st0);
	kv_pins_read(&a);
	r = mp_pin(fd, p, len, flags, &h, &pages);
	kv_pins_read(&b);
	ck_assert_msg(r == 0, "pin %p+%zu flags %#x: %s", p, len, flags, strerror(-r));
	ck_assert_uint_eq(pages, want_pages);
	xstats(fd, &st1);
	ck_assert_uint_eq(st1.pins, st0.pins + 1);
	ck_assert_uint_eq(st1.pages, st0.pages + want_pages);
	ck_assert_int_eq(kv_vmpin_kb(0) - vm0,
			 (long)(st1.charged_pages - st0.charged_pages) * (long)(PG / 1024));
	ck_assert_uint_eq(KV_HELD(a, b), want_pages);
	return h;
}

/* Pins expecting -err and nothing pinned or charged. */
static void pin_refused(int fd, const void *p, size_t len, unsigned int flags, int err)
{
	struct mempin_stats_arg st0, st1;
	struct kv_pins a, b;
	long vm0 = kv_vmpin_kb(0);
	int r;

	xstats(fd, &st0);
	kv_pins_read(&a);
	r = mp_pin(fd, p, len, flags, NULL, NULL);
	kv_pins_read(&b);
	ck_assert_msg(r == -err, "pin %p+%zu flags %#x: %d (%s), want %d", p, len,
		      flags, r, strerror(-r), -err);
	xstats(fd, &st1);
	ck_assert_uint_eq(st1.pins, st0.pins);
	ck_assert_uint_eq(st1.pages, st0.pages);
	ck_assert_uint_eq(st1.charged_pages, st0.charged_pages);
	ck_assert_int_eq(kv_vmpin_kb(0), vm0);
	ck_assert_uint_eq(KV_ACQ(a, b), KV_REL(a, b));
}

/* ---------------------------------------------------------------- THP */

static char *thp_map(size_t nhuge, char **raw, size_t *rawlen)
{
	char *p;

	*rawlen = (nhuge + 1) * HPAGE;
	*raw = mmap(NULL, *rawlen, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(*raw != MAP_FAILED);
	p = (char *)(((uintptr_t)*raw + HPAGE - 1) & ~(HPAGE - 1));
	ck_assert_int_eq(madvise(p, nhuge * HPAGE, MADV_HUGEPAGE), 0);
	memset(p, 0x3c, nhuge * HPAGE);
	return p;
}

/* The 512 PFNs of p are contiguous and 2 MiB aligned. */
static int thp_backed(const char *p)
{
	uint64_t pfn0 = kv_pfn(p);

	if (!pfn0 || pfn0 == UINT64_MAX || pfn0 % 512)
		return 0;
	for (size_t i = 1; i < 512; i++)
		if (kv_pfn(p + i * PG) != pfn0 + i)
			return 0;
	return 1;
}

START_TEST(thp_pin)
{
	int fd = xmp_open();
	size_t rawlen;
	char *raw, *p = thp_map(1, &raw, &rawlen);
	long ahp = kv_anon_huge_kb(p);
	uint64_t pfn0, h;
	struct kv_pins a, b;

	ck_assert_msg(ahp >= 2048, "AnonHugePages %ld kB: no THP (check "
		      "/sys/kernel/mm/transparent_hugepage/enabled)", ahp);
	ck_assert_msg(thp_backed(p), "pagemap: PFNs not one aligned 2 MiB run");
	kv_pins_read(&a);
	/*
	 * Before the pin the kernel may still move the page (NUMA balancing
	 * in this two-node guest, or GUP migrating it out of CMA first):
	 * the promise starts at the pin.
	 */
	h = pin_checked(fd, p, HPAGE, 0, 512);
	pfn0 = kv_pfn(p);
	ASSERT_STATS(fd, 1, 512, 512);
	/* Pinned as a whole: still one huge page, and the same one. */
	ck_assert(thp_backed(p));
	ck_assert_int_ge(kv_anon_huge_kb(p), 2048);
	ck_assert_int_eq(kv_write_file("/proc/sys/vm/compact_memory", "1"), 0);
	ck_assert_uint_eq(kv_pfn(p), pfn0);
	xunpin(fd, h);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), 512);
	ck_assert_uint_eq(KV_REL(a, b), 512);
	xclose(fd);
	munmap(raw, rawlen);
}
END_TEST

START_TEST(thp_partial_and_across)
{
	int fd = xmp_open();
	size_t rawlen;
	char *raw, *p = thp_map(2, &raw, &rawlen);
	long vm0 = kv_vmpin_kb(0);

	ck_assert_msg(thp_backed(p) && thp_backed(p + HPAGE), "no THP");
	pin_checked(fd, p + 100 * PG + 5, PG, 0, 2);		/* inside one THP */
	pin_checked(fd, p + HPAGE - PG, 2 * PG, 0, 2);		/* across two */
	pin_checked(fd, p + HPAGE - 10, 20, 0, 2);
	/* Each pin charges its own pages, shared with another pin or not. */
	ASSERT_STATS(fd, 3, 6, 6);
	ASSERT_VMPIN(vm0, 6);
	pin_checked(fd, p, 2 * HPAGE, 0, 1024);
	ASSERT_STATS(fd, 4, 1030, 1030);
	ASSERT_VMPIN(vm0, 1030);
	xclose(fd);
	ASSERT_VMPIN(vm0, 0);
	munmap(raw, rawlen);
}
END_TEST

/* ------------------------------------------------------------ hugetlb */

START_TEST(hugetlb_anon)
{
	int fd = xmp_open();
	char *p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	long vm0 = kv_vmpin_kb(0);

	ck_assert_msg(p != MAP_FAILED, "MAP_HUGETLB: %s (reserved pages?)",
		      strerror(errno));
	memset(p, 7, 2 * HPAGE);
	pin_checked(fd, p, 2 * HPAGE, 0, 1024);
	ASSERT_STATS(fd, 1, 1024, 1024);
	ASSERT_VMPIN(vm0, 1024);
	/* Pages the first pin holds: charged again. */
	pin_checked(fd, p + HPAGE - 3 * PG + 1, 3 * PG, 0, 4);
	ASSERT_STATS(fd, 2, 1028, 1028);
	ASSERT_VMPIN(vm0, 1028);
	pin_checked(fd, p + 5, 10, MEMPIN_PIN_READONLY * have_cow_feature(fd), 1);
	ASSERT_VMPIN(vm0, 1029);
	xclose(fd);
	ASSERT_VMPIN(vm0, 0);
	munmap(p, 2 * HPAGE);
}
END_TEST

START_TEST(hugetlb_memfd_shared)
{
	int fd = xmp_open();
	int mfd = memfd_create("mempin-huge", MFD_HUGETLB | MFD_CLOEXEC);
	char *p, *ro;
	long vm0 = kv_vmpin_kb(0);

	ck_assert_msg(mfd >= 0, "memfd MFD_HUGETLB: %s", strerror(errno));
	ck_assert_int_eq(ftruncate(mfd, HPAGE), 0);
	p = mmap(NULL, HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert(p != MAP_FAILED);
	memset(p, 9, HPAGE);
	pin_checked(fd, p, HPAGE, 0, 512);
	ro = mmap(NULL, HPAGE, PROT_READ, MAP_SHARED, mfd, 0);
	ck_assert(ro != MAP_FAILED);
	pin_refused(fd, ro, HPAGE, 0, EFAULT);
	pin_checked(fd, ro, HPAGE, MEMPIN_PIN_READONLY, 512);
	ASSERT_VMPIN(vm0, 1024);	/* other virtual pages: charged again */
	xclose(fd);
	ASSERT_VMPIN(vm0, 0);
	munmap(p, HPAGE);
	munmap(ro, HPAGE);
	close(mfd);
}
END_TEST

/* -------------------------------------------------------------- shmem */

START_TEST(memfd_shared_pins)
{
	int fd = xmp_open();
	int mfd = memfd_create("mempin-shm", MFD_CLOEXEC);
	char *p, *q;
	uint64_t pfn;

	ck_assert(mfd >= 0);
	ck_assert_int_eq(ftruncate(mfd, 16 * PG), 0);
	p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	q = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert(p != MAP_FAILED && q != MAP_FAILED);
	/* Not touched before: the pin faults the pages in. */
	pin_checked(fd, p, 16 * PG, 0, 16);
	pfn = kv_pfn(p);
	ck_assert_uint_ne(pfn, 0);
	q[0] = 42;
	ck_assert_int_eq(p[0], 42);
	ck_assert_uint_eq(kv_pfn(q), pfn);
	pin_checked(fd, q + 3, PG, MEMPIN_PIN_READONLY, 2);
	ASSERT_STATS(fd, 2, 18, 18);
	xclose(fd);
	munmap(p, 16 * PG);
	munmap(q, 16 * PG);
	close(mfd);
}
END_TEST

/* A read-only shared mapping pins only read-only. */
START_TEST(memfd_readonly_mapping)
{
	int fd = xmp_open();
	int mfd = memfd_create("mempin-ro", MFD_CLOEXEC);
	char *ro;

	ck_assert(mfd >= 0);
	ck_assert_int_eq(ftruncate(mfd, 8 * PG), 0);
	ro = mmap(NULL, 8 * PG, PROT_READ, MAP_SHARED, mfd, 0);
	ck_assert(ro != MAP_FAILED);
	pin_refused(fd, ro, 8 * PG, 0, EFAULT);
	pin_refused(fd, ro + 7 * PG, 1, 0, EFAULT);
	pin_checked(fd, ro, 8 * PG, MEMPIN_PIN_READONLY, 8);
	pin_refused(fd, ro, 8 * PG, 0, EFAULT);
	ASSERT_STATS(fd, 1, 8, 8);
	xclose(fd);
	munmap(ro, 8 * PG);
	close(mfd);
}
END_TEST

/* Read-only pins of private memory: refused unless READONLY_COW. */
START_TEST(private_readonly_pin_per_feature)
{
	int fd = xmp_open();
	int cow = have_cow_feature(fd);
	char *rw = xmap(4 * PG);
	char *ro = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mfd = memfd_create("mempin-priv", MFD_CLOEXEC);
	char *fp;

	ck_assert(ro != MAP_FAILED && mfd >= 0);
	ck_assert_int_eq(ftruncate(mfd, 4 * PG), 0);
	fp = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	ck_assert(fp != MAP_FAILED);
	if (cow) {
		pin_checked(fd, rw, 4 * PG, MEMPIN_PIN_READONLY, 4);
		pin_checked(fd, ro, 4 * PG, MEMPIN_PIN_READONLY, 4);
		pin_checked(fd, fp, 4 * PG, MEMPIN_PIN_READONLY, 4);
	} else {
		pin_refused(fd, rw, 4 * PG, MEMPIN_PIN_READONLY, EFAULT);
		pin_refused(fd, ro, 4 * PG, MEMPIN_PIN_READONLY, EFAULT);
		pin_refused(fd, fp, 4 * PG, MEMPIN_PIN_READONLY, EFAULT);
	}
	/* Writable pins of private memory always work (they break COW)... */
	pin_checked(fd, rw, 4 * PG, 0, 4);
	pin_checked(fd, fp, 4 * PG, 0, 4);
	/* ...but never of a mapping without PROT_WRITE (no FOLL_FORCE). */
	pin_refused(fd, ro, 4 * PG, 0, EFAULT);
	xclose(fd);
	munmap(ro, 4 * PG);
	munmap(fp, 4 * PG);
	close(mfd);
}
END_TEST

/* One pin over two mappings of different kinds. */
START_TEST(pin_spans_two_vmas)
{
	int fd = xmp_open();
	char *p = xmap(8 * PG);
	int mfd = memfd_create("mempin-span", MFD_CLOEXEC);
	char *q;

	ck_assert(mfd >= 0);
	ck_assert_int_eq(ftruncate(mfd, 4 * PG), 0);
	q = mmap(p + 4 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 mfd, 0);
	ck_assert(q == p + 4 * PG);
	pin_checked(fd, p + 2 * PG, 4 * PG, 0, 4);
	pin_checked(fd, p, 8 * PG, 0, 8);
	ASSERT_STATS(fd, 2, 12, 12);	/* the overlap charged twice */
	xclose(fd);
	close(mfd);
}
END_TEST

/* ------------------------------------------------------------- EFAULT */

START_TEST(efault_unmapped_and_protnone)
{
	int fd = xmp_open();
	char *p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert(p != MAP_FAILED);
	memset(p, 1, 8 * PG);
	ck_assert_int_eq(munmap(p + 6 * PG, 2 * PG), 0);	/* 6-7: hole */
	ck_assert_int_eq(mprotect(p + 3 * PG, PG, PROT_NONE), 0);	/* 3 */
	pin_refused(fd, p + 6 * PG, PG, 0, EFAULT);
	pin_refused(fd, p + 6 * PG, PG, MEMPIN_PIN_READONLY, EFAULT);
	pin_refused(fd, p + 3 * PG, PG, 0, EFAULT);
	pin_refused(fd, p + 3 * PG, PG, MEMPIN_PIN_READONLY, EFAULT);
	/* Mapped pages first, then the bad one: all or nothing. */
	pin_refused(fd, p, 4 * PG, 0, EFAULT);
	pin_refused(fd, p + 4 * PG, 3 * PG, 0, EFAULT);
	pin_refused(fd, p + 5 * PG + 100, PG, 0, EFAULT);
	pin_refused(fd, NULL, PG, 0, EFAULT);
	pin_refused(fd, (void *)PG, PG, 0, EFAULT);
	/* The good parts still pin. */
	pin_checked(fd, p, 3 * PG, 0, 3);
	pin_checked(fd, p + 4 * PG, 2 * PG, 0, 2);
	xclose(fd);
}
END_TEST

START_TEST(efault_kernel_addresses)
{
	int fd = xmp_open();

	pin_refused(fd, (void *)0xffffffff81000000ULL, PG, 0, EFAULT);
	pin_refused(fd, (void *)0xffffffff81000000ULL, PG, MEMPIN_PIN_READONLY, EFAULT);
	pin_refused(fd, (void *)0xffff888000000000ULL, 16 * PG, 0, EFAULT);
	/* The last user page and beyond (x86-64 TASK_SIZE is 2^47 - 4096). */
	pin_refused(fd, (void *)0x7ffffffff000ULL, PG, 0, EFAULT);
	pin_refused(fd, (void *)0x7fffffffe000ULL, 2 * PG, 0, EFAULT);
	pin_refused(fd, (void *)0x800000000000ULL, PG, 0, EFAULT);
	pin_refused(fd, (void *)(uintptr_t)-PG, PG - 1, 0, EFAULT);
	ASSERT_STATS(fd, 0, 0, 0);
	xclose(fd);
}
END_TEST

/*
 * Whether the kernel marks the mapping at @p VM_IO or VM_PFNMAP: "io" or
 * "pf" in its VmFlags (/proc/self/smaps).
 */
static int vma_io_or_pfnmap(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long lo, hi, a = (unsigned long)p;
	char line[512];
	int in = 0, r = -1;

	ck_assert(f);
	while (r < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = a >= lo && a < hi;
		else if (in && !strncmp(line, "VmFlags:", 8))
			r = strstr(line, " io") || strstr(line, " pf");
	}
	fclose(f);
	ck_assert_msg(r >= 0, "no VmFlags for %p", p);
	return r;
}

/*
 * VM_PFNMAP|VM_IO mappings are never pinned: /dev/mem's BIOS area (below
 * 1 MiB, which STRICT_DEVMEM lets root map: remap_pfn_range()).
 */
START_TEST(efault_pfnmap_devmem)
{
	int fd = xmp_open(), mfd = open("/dev/mem", O_RDONLY | O_CLOEXEC);
	char *p;

	ck_assert_msg(mfd >= 0, "/dev/mem: %s", strerror(errno));
	p = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, mfd, 0xf0000);
	ck_assert_msg(p != MAP_FAILED, "mmap /dev/mem: %s", strerror(errno));
	ck_assert_msg(vma_io_or_pfnmap(p), "/dev/mem mapping is not io/pf");
	pin_refused(fd, p, PG, MEMPIN_PIN_READONLY, EFAULT);
	pin_refused(fd, p, 4 * PG, MEMPIN_PIN_READONLY, EFAULT);
	munmap(p, 4 * PG);
	close(mfd);
	xclose(fd);
}
END_TEST

/*
 * [vvar] is refused where the kernel maps it VM_PFNMAP|VM_IO (to 7.2).
 * 7.3 takes the vDSO data pages from the page allocator ("vdso/datastore:
 * Allocate data pages dynamically") and maps them without either flag: a
 * read-only pin of them is a pin like any other.  Never writable.
 */
START_TEST(pfnmap_vvar_as_kernel_maps_it)
{
	int fd = xmp_open();
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	unsigned long lo = 0, hi = 0;

	ck_assert(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vvar]")) {
			ck_assert_int_eq(sscanf(line, "%lx-%lx", &lo, &hi), 2);
			break;
		}
	fclose(f);
	ck_assert_msg(lo, "no [vvar] mapping");
	pin_refused(fd, (void *)lo, PG, 0, EFAULT);
	if (vma_io_or_pfnmap((void *)lo)) {
		pin_refused(fd, (void *)lo, PG, MEMPIN_PIN_READONLY, EFAULT);
		pin_refused(fd, (void *)lo, hi - lo, MEMPIN_PIN_READONLY, EFAULT);
	} else {
		uint64_t h = pin_checked(fd, (void *)lo, PG, MEMPIN_PIN_READONLY, 1);

		ck_assert_int_eq(mp_unpin(fd, h), 0);
	}
	xclose(fd);
}
END_TEST

/* --------------------------------------------------------------- ext4 */

#define EXT4_SUPER_MAGIC_ 0xEF53

START_TEST(ext4_file_mappings)
{
	const char *dir = getenv("MEMPIN_EXT4_DIR");
	char path[512], buf[PG];
	struct statfs sfs;
	int fd, ffd;
	int cow;
	char *shw, *shr, *prv;

	ck_assert_msg(dir && *dir, "MEMPIN_EXT4_DIR is not set: the guest must "
		      "provide an ext4 mount (tests/guest)");
	ck_assert_msg(statfs(dir, &sfs) == 0, "statfs %s: %s", dir, strerror(errno));
	ck_assert_msg(sfs.f_type == EXT4_SUPER_MAGIC_, "%s is not ext4 (%#lx)", dir,
		      (unsigned long)sfs.f_type);
	snprintf(path, sizeof(path), "%s/mempin-test.%d", dir, (int)getpid());
	ffd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(ffd >= 0, "create %s: %s", path, strerror(errno));
	unlink(path);	/* gone when closed */
	memset(buf, 0x61, sizeof(buf));
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(write(ffd, buf, PG), (ssize_t)PG);
	ck_assert_int_eq(fsync(ffd), 0);

	fd = xmp_open();
	cow = have_cow_feature(fd);
	shw = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, 0);
	shr = mmap(NULL, 16 * PG, PROT_READ, MAP_SHARED, ffd, 0);
	prv = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ffd, 0);
	ck_assert(shw != MAP_FAILED && shr != MAP_FAILED && prv != MAP_FAILED);
	ck_assert_int_eq(shw[0], 0x61);

	/* Shared, dirty-tracked: a writable long-term pin is refused. */
	pin_refused(fd, shw, 16 * PG, 0, EFAULT);
	pin_refused(fd, shw + 15 * PG, 1, 0, EFAULT);
	pin_refused(fd, shr, 16 * PG, 0, EFAULT);
	/* Read-only pins of the shared mappings are fine. */
	pin_checked(fd, shr, 16 * PG, MEMPIN_PIN_READONLY, 16);
	pin_checked(fd, shw, 16 * PG, MEMPIN_PIN_READONLY, 16);
	/* Private: a writable pin breaks COW into anonymous pages. */
	pin_checked(fd, prv, 16 * PG, 0, 16);
	ck_assert_int_eq(prv[5], 0x61);
	if (cow)
		pin_checked(fd, prv + PG, PG, MEMPIN_PIN_READONLY, 1);
	/* prv's page 1, pinned twice, is charged twice. */
	ASSERT_STATS(fd, 3 + cow, 48 + cow, 48 + cow);
	xclose(fd);
	munmap(shw, 16 * PG);
	munmap(shr, 16 * PG);
	munmap(prv, 16 * PG);
	close(ffd);
}
END_TEST

/* ----------------------------------------------------------------- big */

START_TEST(pin_1gib)
{
	const size_t len = 1UL << 30;
	int fd = xmp_open();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b;
	uint64_t h, pages = 0;
	int r;

	ck_assert(p != MAP_FAILED);
	kv_pins_read(&a);
	r = mp_pin(fd, p, len, 0, &h, &pages);	/* not pre-faulted */
	ck_assert_msg(r == 0, "1 GiB pin: %s", strerror(-r));
	kv_pins_read(&b);
	ck_assert_uint_eq(pages, 262144);
	ASSERT_STATS(fd, 1, 262144, 262144);
	ASSERT_VMPIN(vm0, 262144);
	ck_assert_uint_eq(KV_ACQ(a, b), 262144);
	/* The memory is really there and writable. */
	p[0] = 1;
	p[len - 1] = 2;
	ck_assert_uint_ne(kv_pfn(p + len / 2), 0);
	xclose(fd);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_REL(a, b), 262144);
	ASSERT_VMPIN(vm0, 0);
	munmap(p, len);
}
END_TEST

Suite *mappings_suite(void)
{
	Suite *s = suite_create("mappings");
	TCase *tc;

	tc = TCASE("thp");
	tcase_add_test(tc, thp_pin);
	tcase_add_test(tc, thp_partial_and_across);
	suite_add_tcase(s, tc);

	tc = TCASE("hugetlb");
	tcase_add_test(tc, hugetlb_anon);
	tcase_add_test(tc, hugetlb_memfd_shared);
	suite_add_tcase(s, tc);

	tc = TCASE("shmem");
	tcase_add_test(tc, memfd_shared_pins);
	tcase_add_test(tc, memfd_readonly_mapping);
	tcase_add_test(tc, private_readonly_pin_per_feature);
	tcase_add_test(tc, pin_spans_two_vmas);
	suite_add_tcase(s, tc);

	tc = TCASE("efault");
	tcase_add_test(tc, efault_unmapped_and_protnone);
	tcase_add_test(tc, efault_kernel_addresses);
	tcase_add_test(tc, efault_pfnmap_devmem);
	tcase_add_test(tc, pfnmap_vvar_as_kernel_maps_it);
	suite_add_tcase(s, tc);

	tc = TCASE("ext4");
	tcase_add_test(tc, ext4_file_mappings);
	suite_add_tcase(s, tc);

	tc = tcase_slow("big", 900);
	tcase_add_test(tc, pin_1gib);
	suite_add_tcase(s, tc);
	return s;
}
