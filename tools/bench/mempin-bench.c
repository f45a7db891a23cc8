// SPDX-License-Identifier: GPL-2.0
/*
 * mempin-bench: what a long-term pin costs through mempin, next to the pin
 * floor (tests/bench/floor), io_uring buffer registration and mlock.
 *
 * Runs as root where /dev/mempin exists (and /dev/mempin-floor, optional):
 * in the make bench guest, whose clock counts instructions (QEMU icount), or
 * on real hardware, where the figures are nanoseconds.  Prints raw CSV on
 * stdout (tests/bench/report.py turns it into tables and a plot), progress
 * on stderr.  Every figure is the median of several iterations after one
 * warm-up.  Record types, each preceded once by its '#' header:
 *
 *   info,KEY,VALUE
 *   time,SCENARIO,PEER,OP,PAGE,RANGE_BYTES,PAGES,N,NS_CALL,NS_PAGE,NS_MIN,NS_MAX,ITERS,NOTE
 *   mem,PEER,LAYOUT,PAGE,RANGE_BYTES,PINS,COPIES,SLAB_VMALLOC_B,MEMCG_B,
 *       VMALLOC_B,PAGETABLES_B,KERNELSTACK_B,PERCPU_B,MEMFREE_B,RUNS_PAGEMAP,
 *       B_PER_4K,B_PER_2M,NOTE     (bytes per copy of the pins)
 *
 * Options (or, with none, from $MEMPIN_BENCH_OPTS):
 *          -s LIST  scenarios to run (pinunpin,handles,batch,mem; default all)
 *          -q       quick: fewer iterations, ranges up to 64 MiB
 *          -m N     largest range in MiB (default 1024)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <mempin.h>
#include "../../tests/bench/floor/mempin_floor.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26)
#endif

#define KiB (1024UL)
#define MiB (1024UL * KiB)
#define GiB (1024UL * MiB)
#define PAGE 4096UL
#define HPAGE (2 * MiB)

static bool quick;
static unsigned long max_range = GiB;
static const char *scenarios = "pinunpin,handles,batch,mem";

static struct mempin *mp;
static int floor_fd = -1;
static struct io_uring ring;
static bool have_ring;

static void progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mempin-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void __attribute__((noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mempin-bench: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static bool want(const char *s)
{
	size_t n = strlen(s);
	const char *p = scenarios;

	while ((p = strstr(p, s))) {
		if ((p == scenarios || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* --- buffers --------------------------------------------------------- */

/*
 * PK_4K_SCATTERED: 4 KiB pages faulted last to first, so that (with the
 * page allocator handing out ascending pfns) no two neighbours are
 * physically contiguous: one run per page, the worst case for runs.
 */
enum page_kind { PK_4K, PK_4K_SCATTERED, PK_THP, PK_HUGETLB, PK_NR };
static const char *const page_name[PK_NR] = { "4k", "4k-scattered", "thp",
					      "hugetlb" };

struct buf {
	enum page_kind kind;
	char *map, *base;	/* the mapping; the aligned buffer in it */
	size_t maplen, len;	/* len: bytes usable from base */
	double thp_fraction;	/* of the buffer, from smaps (PK_THP) */
	long runs;		/* physically contiguous runs, or -1 */
};

static size_t round_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

/* AnonHugePages of the mapping holding addr, in bytes (from smaps). */
static size_t smaps_anon_huge(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	bool in = false;
	size_t kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		size_t v;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			in = (uintptr_t)addr >= s && (uintptr_t)addr < e;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %zu kB", &v) == 1)
			kb = v;
	}
	fclose(f);
	return kb * KiB;
}

static long pagemap_runs(const void *addr, size_t len);

/*
 * Maps and pre-faults len bytes of kind (THP and hugetlb: whole 2 MiB pages,
 * aligned).  reverse: fault the pages last to first (4 KiB pages then tend
 * to be physically discontiguous: the worst case for runs).  0 or -errno.
 */
static int buf_get(struct buf *b, enum page_kind kind, size_t len, bool reverse)
{
	bool small = kind == PK_4K || kind == PK_4K_SCATTERED;
	size_t span = small ? round_up(len, PAGE) : round_up(len, HPAGE);
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	size_t i;

	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->len = span;
	if (kind == PK_HUGETLB) {
		b->maplen = span;
		b->map = mmap(NULL, span, PROT_READ | PROT_WRITE,
			      flags | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
		if (b->map == MAP_FAILED)
			return -errno;
		b->base = b->map;
	} else {
		b->maplen = kind == PK_THP ? span + HPAGE : span;
		b->map = mmap(NULL, b->maplen, PROT_READ | PROT_WRITE, flags,
			      -1, 0);
		if (b->map == MAP_FAILED)
			return -errno;
		b->base = kind == PK_THP ?
			(char *)round_up((uintptr_t)b->map, HPAGE) : b->map;
		if (madvise(b->base, span, kind == PK_THP ? MADV_HUGEPAGE :
			    MADV_NOHUGEPAGE))
			return -errno;
	}
	reverse |= kind == PK_4K_SCATTERED;
	for (i = 0; i < span; i += PAGE)
		b->base[reverse ? span - PAGE - i : i] = 1;
	if (kind == PK_THP)
		b->thp_fraction = (double)smaps_anon_huge(b->base) / (double)span;
	b->runs = pagemap_runs(b->base, span);
	return 0;
}

static void buf_put(struct buf *b)
{
	if (b->map && b->map != MAP_FAILED)
		munmap(b->map, b->maplen);
	b->map = NULL;
}

/* Pfn of each page of the buffer from /proc/self/pagemap (root): runs. */
static long pagemap_runs(const void *addr, size_t len)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t n = len / PAGE, i, chunk = 4096;
	uint64_t *e = malloc(chunk * sizeof(*e)), prev = 0;
	long runs = 0;

	if (fd < 0 || !e) {
		if (fd >= 0)
			close(fd);
		free(e);
		return -1;
	}
	for (i = 0; i < n; i += chunk) {
		size_t k, m = n - i < chunk ? n - i : chunk;
		off_t off = (off_t)(((uintptr_t)addr / PAGE + i) * sizeof(*e));

		if (pread(fd, e, m * sizeof(*e), off) != (ssize_t)(m * sizeof(*e))) {
			runs = -1;
			break;
		}
		for (k = 0; k < m; k++) {
			uint64_t pfn = e[k] & ((1ULL << 55) - 1);

			if (!(e[k] >> 63) || !pfn) {
				runs = -1;	/* not present, or no CAP_SYS_ADMIN */
				goto out;
			}
			if (i + k == 0 || pfn != prev + 1)
				runs++;
			prev = pfn;
		}
	}
out:
	close(fd);
	free(e);
	return runs;
}

/* --- peers -------------------------------------------------------------- */

enum peer { PEER_MEMPIN, PEER_FLOOR, PEER_IOURING, PEER_MLOCK, PEER_NR };
static const char *const peer_name[PEER_NR] = { "mempin", "floor", "io_uring",
						 "mlock" };

/* One pin + unpin of [addr, addr + len) by peer: 0 or -errno. */
static int pin_unpin(enum peer p, void *addr, size_t len)
{
	switch (p) {
	case PEER_MEMPIN: {
		uint64_t h;
		int ret = mempin_pin(mp, addr, len, 0, &h);

		return ret ? ret : mempin_unpin(mp, h);
	}
	case PEER_FLOOR: {
		struct mempin_floor_arg a = { (uintptr_t)addr, len, 0 };

		return ioctl(floor_fd, MEMPIN_FLOOR_PIN_UNPIN, &a) ? -errno : 0;
	}
	case PEER_IOURING: {
		struct iovec iov = { addr, len };
		int ret = io_uring_register_buffers(&ring, &iov, 1);

		return ret ? ret : io_uring_unregister_buffers(&ring);
	}
	case PEER_MLOCK:
		if (mlock(addr, len))
			return -errno;
		return munlock(addr, len) ? -errno : 0;
	default:
		return -EINVAL;
	}
}

/* Why peer cannot do this, or NULL. */
static const char *peer_skip(enum peer p, size_t len)
{
	if (p == PEER_FLOOR && floor_fd < 0)
		return "no /dev/mempin-floor";
	if (p == PEER_IOURING && !have_ring)
		return "no io_uring";
	/* io_uring_register_buffers(): at most 1 GiB per buffer. */
	if (p == PEER_IOURING && len > GiB)
		return "io_uring: buffer over 1 GiB";
	return NULL;
}

/* --- output ------------------------------------------------------------- */

static void info(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("info,%s,", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

struct stat3 {
	uint64_t med, min, max;
	unsigned int iters;
};

static struct stat3 summarize(uint64_t *t, unsigned int n)
{
	struct stat3 s = { 0, 0, 0, n };

	qsort(t, n, sizeof(*t), cmp_u64);
	s.min = t[0];
	s.max = t[n - 1];
	s.med = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	return s;
}

/* One time row; per-call figures are s / per (calls in one measurement). */
static void time_row(const char *scen, const char *peer, const char *op,
		     const char *page, size_t range, unsigned long pages,
		     unsigned long n, double per, struct stat3 s, const char *note)
{
	double call = (double)s.med / per;

	printf("time,%s,%s,%s,%s,%zu,%lu,%lu,%.1f,%.2f,%.1f,%.1f,%u,%s\n",
	       scen, peer, op, page, range, pages, n, call,
	       pages ? call / (double)pages : 0.0, (double)s.min / per,
	       (double)s.max / per, s.iters, note ? note : "");
	fflush(stdout);
}

static void skip_row(const char *scen, const char *peer, const char *op,
		     const char *page, size_t range, unsigned long pages,
		     const char *why)
{
	printf("time,%s,%s,%s,%s,%zu,%lu,0,,,,,0,skipped: %s\n", scen, peer, op,
	       page, range, pages, why);
	fflush(stdout);
}

/* --- scenario: pin+unpin of one range ------------------------------------ */

static unsigned int iterations(size_t len)
{
	unsigned long pages = len / PAGE, it;

	if (quick)
		return len >= 64 * MiB ? 2 : 5;
	it = (64 * 1024UL) / (pages ? pages : 1);	/* ~256 MiB a peer */
	return it < 3 ? 3 : it > 50 ? 50 : (unsigned int)it;
}

static void bench_pinunpin_peer(enum peer p, struct buf *b, size_t len)
{
	unsigned long pages = len / PAGE;
	unsigned int n = iterations(len), i;
	const char *why = peer_skip(p, len);
	uint64_t t[64];
	char note[64] = "";
	int ret;

	if (why) {
		skip_row("pinunpin", peer_name[p], "pin+unpin", page_name[b->kind],
			 len, pages, why);
		return;
	}
	b->runs = pagemap_runs(b->base, round_up(len, PAGE));
	ret = pin_unpin(p, b->base, len);	/* warm-up */
	for (i = 0; !ret && i < n; i++) {
		uint64_t t0 = now_ns();

		ret = pin_unpin(p, b->base, len);
		t[i] = now_ns() - t0;
	}
	if (ret) {
		snprintf(note, sizeof(note), "%s", strerror(-ret));
		skip_row("pinunpin", peer_name[p], "pin+unpin",
			 page_name[b->kind], len, pages, note);
		return;
	}
	if (b->kind == PK_THP && b->thp_fraction < 0.999)
		snprintf(note, sizeof(note), "THP only %.1f%%; ",
			 100 * b->thp_fraction);
	/* Physically contiguous runs of the range (pagemap, root only). */
	if (b->runs > 0)
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
			 "%ld runs", b->runs);
	time_row("pinunpin", peer_name[p], "pin+unpin", page_name[b->kind], len,
		 pages, 1, 1, summarize(t, n), note);
}

static void bench_memory(struct buf *b, const char *layout, size_t pin_len);

static void bench_pinunpin(void)
{
	static const size_t sizes[] = { 4 * KiB, 64 * KiB, 2 * MiB, 64 * MiB,
					GiB };
	enum page_kind k;
	unsigned int s;
	enum peer p;

	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t len = sizes[s];

		if (len > max_range)
			continue;
		for (k = 0; k < PK_NR; k++) {
			struct buf b;
			int ret;

			/* Scattered pages: only where runs could be long. */
			if (k == PK_4K_SCATTERED && len < 64 * KiB)
				continue;
			ret = buf_get(&b, k, len, false);

			progress("pin+unpin %zu KiB, %s pages", len / KiB,
				 page_name[k]);
			if (ret) {
				for (p = 0; p < PEER_NR; p++)
					skip_row("pinunpin", peer_name[p],
						 "pin+unpin", page_name[k], len,
						 len / PAGE, strerror(-ret));
				buf_put(&b);
				continue;
			}
			for (p = 0; p < PEER_NR; p++)
				bench_pinunpin_peer(p, &b, len);
			if (len == GiB && want("mem"))
				bench_memory(&b, "one 1 GiB pin", len);
			if (len == GiB && k != PK_4K && k != PK_4K_SCATTERED &&
			    want("mem"))
				bench_memory(&b, "2 MiB pins", HPAGE);
			buf_put(&b);
		}
	}
}

/* --- scenario: many 4 KiB pins, unpinned by handle ----------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so every run does the same work. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void shuffle(size_t *v, size_t n)
{
	size_t i;

	for (i = n - 1; i > 0; i--) {
		size_t j = rng() % (i + 1), x = v[i];

		v[i] = v[j];
		v[j] = x;
	}
}

static void bench_handles_n(struct buf *b, size_t n)
{
	const size_t ops = 1000;	/* unpin + re-pin cycles at size n */
	uint64_t *h = calloc(n, sizeof(*h)), t0, tpin, tun;
	size_t *order = calloc(n, sizeof(*order)), i;
	uint64_t tu[5], tp[5], td[5], tf[5];
	unsigned int r, rounds = n <= 1000 ? 5 : 1;
	int ret = 0;

	if (!h || !order)
		die("out of memory");
	for (r = 0; r < rounds; r++) {
		struct mempin *c;

		if ((ret = mempin_open(&c, 0)))
			die("mempin_open: %s", strerror(-ret));
		/* Fill: n separate pins, one page each, in address order. */
		t0 = now_ns();
		for (i = 0; i < n && !ret; i++)
			ret = mempin_pin(c, b->base + i * PAGE, PAGE, 0, &h[i]);
		tf[r] = now_ns() - t0;
		if (ret)
			die("pin %zu of %zu: %s", i, n, strerror(-ret));
		/* At size n: unpin a random pin by handle, pin it again. */
		tpin = tun = 0;
		for (i = 0; i < ops && !ret; i++) {
			size_t j = rng() % n;

			t0 = now_ns();
			ret = mempin_unpin(c, h[j]);
			tun += now_ns() - t0;
			if (ret)
				break;
			t0 = now_ns();
			ret = mempin_pin(c, b->base + j * PAGE, PAGE, 0, &h[j]);
			tpin += now_ns() - t0;
		}
		if (ret)
			die("unpin/pin at %zu pins: %s", n, strerror(-ret));
		tu[r] = tun;
		tp[r] = tpin;
		/* Drain: every pin, by handle, in random order. */
		for (i = 0; i < n; i++)
			order[i] = i;
		shuffle(order, n);
		t0 = now_ns();
		for (i = 0; i < n && !ret; i++)
			ret = mempin_unpin(c, h[order[i]]);
		td[r] = now_ns() - t0;
		if (ret)
			die("drain at %zu pins: %s", n, strerror(-ret));
		mempin_close(c);
	}
	time_row("handles", "mempin", "unpin by handle", "4k", PAGE, 1, n,
		 (double)ops, summarize(tu, rounds), "random pin; size kept at N");
	time_row("handles", "mempin", "pin", "4k", PAGE, 1, n, (double)ops,
		 summarize(tp, rounds), "re-pin of the one unpinned; size kept at N");
	time_row("handles", "mempin", "pin (fill)", "4k", PAGE, 1, n, (double)n,
		 summarize(tf, rounds), "pins 1..N in address order");
	time_row("handles", "mempin", "unpin (drain)", "4k", PAGE, 1, n,
		 (double)n, summarize(td, rounds), "N..1 in random order");
	free(h);
	free(order);
}

static void bench_handles(void)
{
	const size_t n_max = quick ? 10000 : 100000;
	struct buf b;
	int ret = buf_get(&b, PK_4K, n_max * PAGE, false);

	if (ret)
		die("cannot map %zu pages: %s", n_max, strerror(-ret));
	progress("100 and %zu pins, unpin by handle", n_max);
	bench_handles_n(&b, 100);
	bench_handles_n(&b, n_max);
	buf_put(&b);
}

/* --- scenario: 1024 ranges, batch vs single ioctls ------------------------ */

static void bench_batch(void)
{
	const unsigned int nr = 1024, rounds = quick ? 3 : 7;
	struct mempin_range_req *req = calloc(nr, sizeof(*req));
	uint64_t *h = calloc(nr, sizeof(*h));
	uint64_t tsp[8], tsu[8], tbp[8], tbu[8], tio[8], tnull[8], t0;
	struct iovec *iov = calloc(nr, sizeof(*iov));
	unsigned int i, r, done;
	struct buf b;
	int ret;

	if (!req || !h || !iov)
		die("out of memory");
	ret = buf_get(&b, PK_4K, nr * PAGE, false);
	if (ret)
		die("cannot map the batch buffer: %s", strerror(-ret));
	progress("%u ranges: batch vs single ioctls", nr);
	for (r = 0; r <= rounds; r++) {	/* round 0: warm-up */
		unsigned int k = r ? r - 1 : 0;

		t0 = now_ns();
		for (i = 0; i < nr; i++)
			if ((ret = mempin_pin(mp, b.base + i * PAGE, PAGE, 0, &h[i])))
				die("single pin: %s", strerror(-ret));
		tsp[k] = now_ns() - t0;
		t0 = now_ns();
		for (i = 0; i < nr; i++)
			if ((ret = mempin_unpin(mp, h[i])))
				die("single unpin: %s", strerror(-ret));
		tsu[k] = now_ns() - t0;

		for (i = 0; i < nr; i++)
			req[i] = (struct mempin_range_req){ b.base + i * PAGE,
							    PAGE, 0, 0 };
		t0 = now_ns();
		ret = mempin_pin_batch(mp, req, nr, &done);
		tbp[k] = now_ns() - t0;
		if (ret || done != nr)
			die("batch pin: %s, %u done", strerror(-ret), done);
		for (i = 0; i < nr; i++)
			h[i] = req[i].handle;
		t0 = now_ns();
		ret = mempin_unpin_batch(mp, h, nr, &done);
		tbu[k] = now_ns() - t0;
		if (ret || done != nr)
			die("batch unpin: %s, %u done", strerror(-ret), done);

		/* What one ioctl costs that does nothing (ENOTTY). */
		t0 = now_ns();
		for (i = 0; i < nr; i++)
			if (ioctl(mempin_fd(mp), _IO(MEMPIN_IOC_MAGIC, 0x7f)) != -1 ||
			    errno != ENOTTY)
				die("null ioctl did not fail with ENOTTY");
		tnull[k] = now_ns() - t0;

		if (have_ring) {
			for (i = 0; i < nr; i++)
				iov[i] = (struct iovec){ b.base + i * PAGE, PAGE };
			t0 = now_ns();
			ret = io_uring_register_buffers(&ring, iov, nr);
			if (!ret)
				ret = io_uring_unregister_buffers(&ring);
			tio[k] = now_ns() - t0;
			if (ret)
				die("io_uring 1024 buffers: %s", strerror(-ret));
		}
	}
	{
		uint64_t ts[8], tb[8];

		for (r = 0; r < rounds; r++) {
			ts[r] = tsp[r] + tsu[r];
			tb[r] = tbp[r] + tbu[r];
		}
		time_row("batch", "mempin", "single pin", "4k", PAGE, 1, nr, nr,
			 summarize(tsp, rounds), "1024 MEMPIN_IOC_PIN");
		time_row("batch", "mempin", "single unpin", "4k", PAGE, 1, nr, nr,
			 summarize(tsu, rounds), "1024 MEMPIN_IOC_UNPIN");
		time_row("batch", "mempin", "single pin+unpin", "4k", PAGE, 1, nr,
			 nr, summarize(ts, rounds), "per range");
		time_row("batch", "mempin", "batch pin", "4k", PAGE, 1, nr, nr,
			 summarize(tbp, rounds), "one MEMPIN_IOC_PIN_BATCH");
		time_row("batch", "mempin", "batch unpin", "4k", PAGE, 1, nr, nr,
			 summarize(tbu, rounds), "one MEMPIN_IOC_UNPIN_BATCH");
		time_row("batch", "mempin", "batch pin+unpin", "4k", PAGE, 1, nr,
			 nr, summarize(tb, rounds), "per range");
		time_row("batch", "mempin", "null ioctl", "4k", PAGE, 0, nr, nr,
			 summarize(tnull, rounds),
			 "ioctl() with an unknown number: the syscall's own cost");
		if (have_ring)
			time_row("batch", "io_uring", "register+unregister", "4k",
				 PAGE, 1, nr, nr, summarize(tio, rounds),
				 "1024 iovecs in one registration; per range");
	}
	buf_put(&b);
	free(req);
	free(h);
	free(iov);
}

/* --- scenario: kernel memory of the bookkeeping --------------------------- */

struct kmem {
	long long slab, vmalloc, pagetables, kernelstack, percpu, memfree; /* B */
	long long cg_slab, cg_vmalloc;	/* this memory cgroup's, or -1 */
};

static char memcg_stat[256];	/* this process's memory.stat, if any */

static void memcg_find(void)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[200];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "0::", 3)) {
			snprintf(memcg_stat, sizeof(memcg_stat),
				 "/sys/fs/cgroup%s/memory.stat", line + 3);
			if (access(memcg_stat, R_OK))
				memcg_stat[0] = 0;
		}
	}
	fclose(f);
}

static void kmem_read(struct kmem *m)
{
	FILE *f;
	char key[64];
	long long v;
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);

	/* Folds the per-cpu vmstat deltas into the global counters (root). */
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			(void)0;
		close(fd);
	}
	/*
	 * Reading memory.stat flushes the cgroup's per-cpu statistics only
	 * past a threshold (from 6.8, one of pages), so a delta of a few KiB
	 * may not show yet; the periodic flush every 2 s does them all.  In
	 * the icount guest the wait costs no host time.
	 */
	if (memcg_stat[0])
		usleep(2100 * 1000);
	memset(m, 0, sizeof(*m));
	f = fopen("/proc/meminfo", "r");
	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fscanf(f, "%63[^:]: %lld kB\n", key, &v) == 2) {
		v *= 1024;
		if (!strcmp(key, "Slab"))
			m->slab = v;
		else if (!strcmp(key, "VmallocUsed"))
			m->vmalloc = v;
		else if (!strcmp(key, "PageTables"))
			m->pagetables = v;
		else if (!strcmp(key, "KernelStack"))
			m->kernelstack = v;
		else if (!strcmp(key, "Percpu"))
			m->percpu = v;
		else if (!strcmp(key, "MemFree"))
			m->memfree = v;
	}
	fclose(f);
	/*
	 * The memory cgroup counts the objects charged to it (mempin's
	 * allocations are all GFP_KERNEL_ACCOUNT) to the byte, less a per-cpu
	 * stock of at most a page; Slab counts whole slab pages.
	 */
	m->cg_slab = m->cg_vmalloc = -1;
	if (memcg_stat[0] && (f = fopen(memcg_stat, "r"))) {
		while (fscanf(f, "%63s %lld\n", key, &v) == 2) {
			if (!strcmp(key, "slab"))
				m->cg_slab = v;
			else if (!strcmp(key, "vmalloc"))
				m->cg_vmalloc = v;
		}
		fclose(f);
	}
}

/*
 * One mem row: what holding copies sets of pins over range bytes made the
 * counters move by, divided by copies.  B per page and per 2 MiB come from
 * the memory cgroup when there is one (precise), else Slab + VmallocUsed.
 */
static void kmem_row(const char *peer, const char *layout, struct buf *b,
		     size_t range, unsigned long pins, unsigned int copies,
		     const struct kmem *a, const struct kmem *z, long runs,
		     const char *note)
{
	double k = copies, pages = (double)range / PAGE;
	double sys = ((z->slab - a->slab) + (z->vmalloc - a->vmalloc)) / k;
	bool cg = a->cg_slab >= 0 && z->cg_slab >= 0;
	double cgb = cg ? ((z->cg_slab - a->cg_slab) +
			   (a->cg_vmalloc >= 0 ? z->cg_vmalloc - a->cg_vmalloc : 0)) / k
			: 0;
	/* io_uring does not charge all it allocates to the cgroup. */
	double used = cg && strcmp(peer, "io_uring") ? cgb : sys;

	printf("mem,%s,%s,%s,%zu,%lu,%u,%.0f,%.0f,%.0f,%lld,%lld,%lld,%lld,%ld,%.3f,%.1f,%s\n",
	       peer, layout, page_name[b->kind], range, pins, copies, sys,
	       cg ? cgb : -1.0, (z->vmalloc - a->vmalloc) / k,
	       z->pagetables - a->pagetables, z->kernelstack - a->kernelstack,
	       z->percpu - a->percpu, a->memfree - z->memfree, runs,
	       used / pages, used / pages * 512, note ? note : "");
	fflush(stdout);
}

/*
 * Kernel memory that pinning b as pins of pin_len bytes holds, from the
 * kernel's own counters: the median of three tries.
 */
static void bench_memory(struct buf *b, const char *layout, size_t pin_len)
{
	static bool header_null;
	unsigned long npins = b->len / pin_len;
	/* One pin's memory is small: hold several (overlapping) copies. */
	unsigned int copies = npins == 1 ? 8 : 1, c2;
	uint64_t *h = calloc(npins * copies, sizeof(*h));
	long runs = pagemap_runs(b->base, b->len);
	struct kmem a[3], z[3];
	unsigned int t, best;
	size_t i;
	int ret = 0;

	if (!h)
		die("out of memory");
	progress("kernel memory: %s, %s pages", layout, page_name[b->kind]);
	if (!header_null) {
		/* What the counters move by when nothing is pinned. */
		header_null = true;
		kmem_read(&a[0]);
		kmem_read(&z[0]);
		kmem_row("none", "nothing pinned (noise)", b, b->len, 0, 1,
			 &a[0], &z[0], -1, "two reads in a row");
	}
	for (t = 0; t < 3; t++) {
		struct mempin *c;

		if ((ret = mempin_open(&c, 0)))
			die("mempin_open: %s", strerror(-ret));
		kmem_read(&a[t]);
		for (c2 = 0; c2 < copies && !ret; c2++)
			for (i = 0; i < npins && !ret; i++)
				ret = mempin_pin(c, b->base + i * pin_len,
						 pin_len, 0, &h[c2 * npins + i]);
		kmem_read(&z[t]);
		mempin_close(c);
		if (ret)
			die("memory: pin %zu: %s", i, strerror(-ret));
	}
	/* The try with the median Slab + VmallocUsed delta. */
	{
		long long d[3];

		for (t = 0; t < 3; t++)
			d[t] = z[t].slab - a[t].slab + z[t].vmalloc - a[t].vmalloc;
		best = (d[0] <= d[1]) == (d[1] <= d[2]) ? 1 :
		       (d[1] <= d[0]) == (d[0] <= d[2]) ? 0 : 2;
	}
	kmem_row("mempin", layout, b, b->len, npins, copies, &a[best], &z[best],
		 runs, copies > 1 ? "median of 3; 8 identical pins held / 8" :
		 "median of 3");

	/* io_uring holds the same buffer registered, for comparison. */
	if (have_ring && pin_len == b->len && b->len <= GiB) {
		struct iovec iov = { b->base, b->len };

		kmem_read(&a[0]);
		ret = io_uring_register_buffers(&ring, &iov, 1);
		kmem_read(&z[0]);
		if (!ret)
			io_uring_unregister_buffers(&ring);
		if (!ret)
			kmem_row("io_uring", layout, b, b->len, 1, 1, &a[0],
				 &z[0], runs, "registered buffer");
	}
	free(h);
}

/* Per-pin overhead: one 4 KiB pin per page. */
static void bench_memory_many(void)
{
	const size_t n = quick ? 10000 : 100000;
	uint64_t *h = calloc(n, sizeof(*h));
	struct kmem a, z;
	struct buf b;
	struct mempin *c;
	size_t i;
	int ret = buf_get(&b, PK_4K, n * PAGE, false);

	if (ret || !h)
		die("memory: cannot map %zu pages", n);
	progress("kernel memory: %zu pins of 4 KiB", n);
	if ((ret = mempin_open(&c, 0)))
		die("mempin_open: %s", strerror(-ret));
	kmem_read(&a);
	for (i = 0; i < n && !ret; i++)
		ret = mempin_pin(c, b.base + i * PAGE, PAGE, 0, &h[i]);
	kmem_read(&z);
	mempin_close(c);
	if (ret)
		die("memory: pin %zu: %s", i, strerror(-ret));
	kmem_row("mempin", "4 KiB pins, one per page", &b, n * PAGE, n, 1, &a,
		 &z, -1, "per-pin overhead");
	buf_put(&b);
	free(h);
}

static void bench_memory_reverse(void)
{
	struct buf b;
	size_t len = max_range < GiB ? max_range : GiB;
	int ret = buf_get(&b, PK_4K_SCATTERED, len, true);

	if (ret)
		die("memory: cannot map %zu MiB: %s", len / MiB, strerror(-ret));
	bench_memory(&b, "one 1 GiB pin", len);
	buf_put(&b);
}

/* --- main ----------------------------------------------------------------- */

static void print_info(void)
{
	struct utsname u;
	char line[128] = "?";
	FILE *f;

	uname(&u);
	info("kernel", "%s %s", u.release, u.machine);
	f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (f && fgets(line, sizeof(line), f))
		line[strcspn(line, "\n")] = 0;
	if (f)
		fclose(f);
	info("clocksource", "%s", line);
	info("cpus", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f && fgets(line, sizeof(line), f))
		line[strcspn(line, "\n")] = 0;
	if (f)
		fclose(f);
	info("thp", "%s", line);
	info("quick", "%d", quick);
	info("memcg", "%s", memcg_stat[0] ? memcg_stat : "none");
}

int main(int argc, char **argv)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	int opt, ret;

	/* The make bench guest passes its options this way. */
	char *env = getenv("MEMPIN_BENCH_OPTS"), *eargv[16] = { argv[0] };

	if (argc == 1 && env && *env) {
		char *tok = strtok(strdup(env), " ");

		for (argc = 1; tok && argc < 15; tok = strtok(NULL, " "))
			eargv[argc++] = tok;
		argv = eargv;
	}
	while ((opt = getopt(argc, argv, "qs:m:")) != -1) {
		switch (opt) {
		case 'q':
			quick = true;
			break;
		case 's':
			scenarios = optarg;
			break;
		case 'm':
			max_range = strtoul(optarg, NULL, 0) * MiB;
			break;
		default:
			fprintf(stderr, "usage: %s [-q] [-s pinunpin,handles,batch,mem] [-m MiB]\n",
				argv[0]);
			return 2;
		}
	}
	if (quick && max_range > 64 * MiB)
		max_range = 64 * MiB;
	/* Without CAP_IPC_LOCK the limit must allow a 1 GiB pin. */
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		progress("note: cannot lift RLIMIT_MEMLOCK: %s", strerror(errno));
	ret = mempin_open(&mp, 0);
	if (ret)
		die("mempin_open: %s (is the module loaded?)", strerror(-ret));
	memcg_find();
	floor_fd = open("/dev/mempin-floor", O_RDWR | O_CLOEXEC);
	if (floor_fd < 0)
		progress("no /dev/mempin-floor (%s): floor skipped", strerror(errno));
	ret = io_uring_queue_init(8, &ring, 0);
	have_ring = !ret;
	if (ret)
		progress("io_uring_queue_init: %s: io_uring skipped", strerror(-ret));

	printf("#info,key,value\n");
	print_info();
	printf("#time,scenario,peer,op,page,range_bytes,pages,n,ns_call,ns_page,ns_min,ns_max,iters,note\n");
	printf("#mem,peer,layout,page,range_bytes,pins,copies,slab_vmalloc_b,memcg_b,vmalloc_b,pagetables_b,kernelstack_b,percpu_b,memfree_b,runs_pagemap,b_per_4k,b_per_2m,note\n");
	fflush(stdout);

	if (want("pinunpin"))
		bench_pinunpin();
	if (want("mem")) {
		if (!want("pinunpin") || max_range < GiB)
			bench_memory_reverse();
		bench_memory_many();
	}
	if (want("handles"))
		bench_handles();
	if (want("batch"))
		bench_batch();

	if (have_ring)
		io_uring_queue_exit(&ring);
	if (floor_fd >= 0)
		close(floor_fd);
	mempin_close(mp);
	progress("done");
	return 0;
}
