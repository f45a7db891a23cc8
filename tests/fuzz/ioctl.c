// SPDX-License-Identifier: GPL-2.0
/*
 * Phase "ioctl": one process, one container at a time, every call checked
 * against an exact model of what the kernel must answer (SPEC.md's order of
 * checks) and of what the container must hold afterwards.
 *
 * Case i is generated from mix64(seed ^ i) alone and the container is
 * reopened every RESET cases, so any window of cases replays exactly:
 * MEMPIN_TEST_FUZZ_SEED=S MEMPIN_TEST_FUZZ_FROM=i MEMPIN_TEST_FUZZ_CASES=n.
 *
 * Memory is a fixed window of the address space: PROT_NONE all around, with
 * segments of known kind inside, so the answer for any range that starts in
 * it is known.  The ioctl argument lives in its own area with read-write,
 * read-only and unmapped pages; batch entry arrays in another.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "fuzz.h"

#define RESET		64		/* cases per container */
#define BASE		0x100000000000UL
#define WIN_LO		(BASE - (16UL << 20))
#define WIN_HI		(BASE + (16UL << 20))
#define TASK_SZ		0x7ffffffff000UL
#define ARGB		(BASE + 0x100000UL)	/* arg area, page 256 */
#define ENTB		(BASE + 0x200000UL)	/* entry area, page 512 */
#define ENT_RW_PAGES	16
#define HUGEB		(BASE + 0x400000UL)	/* 2 MiB hugetlb, page 1024 */

enum seg { S_NONE, S_ANON, S_RO, S_SHM, S_SHMRO, S_HUGE, S_ARGRW, S_ARGRO };
struct segdef {
	unsigned long first, n;		/* pages from BASE */
	enum seg kind;
};
/* Everything else in the window is PROT_NONE or unmapped. */
static struct segdef segs[] = {
	{ 1, 64, S_ANON }, { 66, 16, S_RO }, { 84, 16, S_SHM },
	{ 101, 16, S_SHMRO }, { 256, 2, S_ARGRW }, { 258, 1, S_ARGRO },
	{ 260, 1, S_ARGRW }, { 512, ENT_RW_PAGES, S_ARGRW },
	{ 512 + ENT_RW_PAGES, 1, S_ARGRO }, { 1024, 512, S_HUGE },
};
#define NSEGS (sizeof(segs) / sizeof(segs[0]))
static bool have_huge, ro_cow;
static uint64_t max_pin_pages;

static enum seg seg_at(uint64_t addr)
{
	if (addr < WIN_LO || addr >= WIN_HI)
		return S_NONE;
	for (unsigned int i = 0; i < NSEGS; i++) {
		uint64_t s = BASE + segs[i].first * PG;

		if (addr >= s && addr < s + segs[i].n * PG)
			return segs[i].kind == S_HUGE && !have_huge ? S_NONE :
			       segs[i].kind;
	}
	return S_NONE;
}

/* User can read (and write) [a, a + n): for argument placement. */
static bool user_ok(uint64_t a, uint64_t n, bool write)
{
	if (!n)
		return true;
	if (a + n < a)
		return false;
	for (uint64_t p = a & ~(PG - 1); p < a + n; p += PG) {
		enum seg k = seg_at(p);

		if (k == S_NONE || (write && (k == S_RO || k == S_SHMRO || k == S_ARGRO)))
			return false;
	}
	return true;
}

static int setup_arena(void)
{
	int mfd;

	if (mmap((void *)WIN_LO, WIN_HI - WIN_LO, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE,
		 -1, 0) != (void *)WIN_LO) {
		fail("ioctl: cannot reserve the window at %#lx: %s", WIN_LO,
		     strerror(errno));
		return -1;
	}
	mfd = memfd_create("fuzz-shm", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, 32 * PG)) {
		fail("memfd: %s", strerror(errno));
		return -1;
	}
	/* Holes: pages 0, 65, 100, 117, 259, 261, 529 stay unmapped. */
	munmap((void *)BASE, PG);
	munmap((void *)(BASE + 65 * PG), PG);
	munmap((void *)(BASE + 100 * PG), PG);
	munmap((void *)(BASE + 117 * PG), PG);
	munmap((void *)(BASE + 259 * PG), PG);
	munmap((void *)(BASE + 261 * PG), PG);
	munmap((void *)(BASE + 529 * PG), PG);
	for (unsigned int i = 0; i < NSEGS; i++) {
		void *a = (void *)(BASE + segs[i].first * PG), *r;
		size_t len = segs[i].n * PG;

		switch (segs[i].kind) {
		case S_SHM:
			r = mmap(a, len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED | MAP_POPULATE, mfd, 0);
			break;
		case S_SHMRO:
			r = mmap(a, len, PROT_READ, MAP_SHARED | MAP_FIXED |
				 MAP_POPULATE, mfd, 16 * PG);
			break;
		case S_HUGE:
			r = mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
				 MAP_ANONYMOUS | MAP_FIXED | MAP_HUGETLB |
				 MAP_POPULATE, -1, 0);
			have_huge = r == a;
			if (!have_huge)
				say("ioctl: no hugetlb page (%s): segment left PROT_NONE",
				    strerror(errno));
			continue;
		case S_RO:
		case S_ARGRO:
			r = mmap(a, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
				 MAP_FIXED | MAP_POPULATE, -1, 0);
			break;
		default:
			r = mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
				 MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
			if (r == a)
				madvise(a, len, MADV_NOHUGEPAGE);
			break;
		}
		if (r != a) {
			fail("mmap segment %u: %s", i, strerror(errno));
			return -1;
		}
	}
	close(mfd);
	return 0;
}

/* Writes into a read-only arg page: briefly make it writable. */
static void ro_write(uint64_t a, const void *src, size_t n)
{
	uint64_t p0 = a & ~(PG - 1), p1 = (a + n + PG - 1) & ~(PG - 1);

	mprotect((void *)p0, p1 - p0, PROT_READ | PROT_WRITE);
	memcpy((void *)a, src, n);
	for (uint64_t p = p0; p < p1; p += PG)
		if (seg_at(p) == S_ARGRO)
			mprotect((void *)p, PG, PROT_READ);
}

/* Stores n bytes at a, where the user can read; what lands in holes is lost. */
static void put_bytes(uint64_t a, const void *src, size_t n)
{
	const uint8_t *s = src;

	while (n) {
		uint64_t chunk = PG - (a & (PG - 1));
		enum seg k = seg_at(a);

		if (chunk > n)
			chunk = n;
		if (k == S_ARGRW)
			memcpy((void *)a, s, chunk);
		else if (k == S_ARGRO)
			ro_write(a, s, chunk);
		a += chunk;
		s += chunk;
		n -= chunk;
	}
}

/* ---- the model ---- */

struct mpin {
	uint64_t h, addr, len, first, last;
};
static struct mpin *pins;
static unsigned int npins, pins_cap;
static uint64_t last_handle;

static void model_reset(void)
{
	npins = 0;
	last_handle = 0;
}

static void model_add(uint64_t h, uint64_t addr, uint64_t len)
{
	if (npins == pins_cap) {
		pins_cap = pins_cap ? 2 * pins_cap : 256;
		pins = realloc(pins, pins_cap * sizeof(*pins));
	}
	pins[npins++] = (struct mpin){ h, addr, len, addr / PG, (addr + len - 1) / PG };
}

static struct mpin *saved;
static unsigned int nsaved, saved_cap;

static void model_save(void)
{
	if (saved_cap < npins) {
		saved_cap = pins_cap;
		saved = realloc(saved, saved_cap * sizeof(*saved));
	}
	memcpy(saved, pins, npins * sizeof(*saved));
	nsaved = npins;
}

static void model_restore(void)
{
	memcpy(pins, saved, nsaved * sizeof(*saved));
	npins = nsaved;
}

static int model_find_h(uint64_t h)
{
	for (unsigned int i = 0; i < npins; i++)
		if (pins[i].h == h)
			return i;
	return -1;
}

static void model_del(int i)
{
	pins[i] = pins[--npins];
}

static uint64_t model_pages(void)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < npins; i++)
		n += pins[i].last - pins[i].first + 1;
	return n;
}

/*
 * Every pin charges all its pages, whatever other pins hold (issue 10): so
 * charged == pages, and VmPin with it.  A function of its own, so that the
 * checks keep saying which figure they compare.
 */
static uint64_t model_charged(void)
{
	return model_pages();
}

static unsigned int model_overlap(uint64_t first, uint64_t last)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < npins; i++)
		n += pins[i].first <= last && pins[i].last >= first;
	return n;
}

/* What PIN must answer for (addr, len, flags), SPEC.md steps 4-7. */
static int expect_pin(uint64_t addr, uint64_t len, uint32_t flags)
{
	uint64_t first, last;
	bool ro = flags & MEMPIN_PIN_READONLY;

	if (flags & ~MEMPIN_PIN_READONLY)
		return -EOPNOTSUPP;
	if (!len || addr + len < addr)
		return -EINVAL;
	if (addr + len > TASK_SZ)
		return -EFAULT;
	first = addr / PG;
	last = (addr + len - 1) / PG;
	if (last - first + 1 > max_pin_pages)
		return -ENOMEM;
	if (model_overlap(first, last) > 1024)
		return -ENOMEM;
	for (uint64_t p = first; p <= last; p++) {
		enum seg k = seg_at(p * PG);

		switch (k) {
		case S_ANON:
		case S_HUGE:
		case S_ARGRW:
			if (ro && !ro_cow)
				return -EFAULT;
			break;
		case S_RO:
		case S_ARGRO:
			if (!ro || !ro_cow)
				return -EFAULT;
			break;
		case S_SHM:
			break;
		case S_SHMRO:
			if (!ro)
				return -EFAULT;
			break;
		default:
			return -EFAULT;
		}
	}
	return 0;
}

/* ---- case generation ---- */

static const uint64_t bnd[] = {
	0, 1, PG - 1, PG, PG + 1, 1UL << 31, 1UL << 63, ~0UL, 1UL << 32,
	(1UL << 31) - 1, 1UL << 47, TASK_SZ, TASK_SZ - PG, ~0UL - PG + 1,
	0xffff888000000000UL, 0xffffffff81000000UL, 0x8000000000000000UL,
	0xdead000000000000UL, 0x0000800000000000UL, 0x00007fffffffffffUL,
};

static uint64_t gen_addr(struct rng *r)
{
	switch (below(r, 10)) {
	case 0:
		return PICK(r, bnd);
	case 1:
		return BASE + below(r, 1600) * PG - PG * below(r, 2);
	case 2:
		return WIN_LO + below(r, (WIN_HI - WIN_LO) / PG) * PG;
	default: {
		/* A data segment, page-aligned or not. */
		static const unsigned int data[] = { 0, 0, 0, 1, 2, 3, 9 };
		const struct segdef *s = &segs[PICK(r, data)];
		uint64_t a = BASE + (s->first + below(r, s->n)) * PG;
		static const uint64_t off[] = { 0, 0, 0, 1, 100, PG - 1, PG / 2 };

		return a + (chance(r, 10) ? below(r, PG) : PICK(r, off));
	}
	}
}

static uint64_t gen_len(struct rng *r, uint64_t addr)
{
	switch (below(r, 10)) {
	case 0:
		return PICK(r, bnd);
	case 1: {
		static const uint64_t big[] = { (1UL << 26) * PG, ((1UL << 26) + 1) * PG,
						1UL << 40, 4UL << 30 };
		return PICK(r, big) - below(r, 2);
	}
	case 2:
		return -addr - below(r, 2);	/* addr + len wraps, or just not */
	case 3:
		return TASK_SZ - addr + below(r, 3) - 1;
	default: {
		static const int64_t adj[] = { 0, 0, 0, -1, 1, -100 };
		int64_t l = (int64_t)((1 + below(r, below(r, 4) ? 8 : 80)) * PG) +
			    PICK(r, adj);

		return l > 0 ? (uint64_t)l : 1;
	}
	}
}

static uint32_t gen_pin_flags(struct rng *r)
{
	if (chance(r, 8))
		return (uint32_t)rnd(r) | (chance(r, 50) ? 0x80000000u : 2u);
	return chance(r, 30) ? MEMPIN_PIN_READONLY : 0;
}

/* Where the argument struct goes, and what the kernel may do with it. */
enum place { PL_NORMAL, PL_NULL, PL_HOLE, PL_KERNEL, PL_NONCANON, PL_RO,
	     PL_STR_RO, PL_STR_HOLE, PL_STR_RO_HOLE, PL_NR };
static const char *const place_name[] = { "normal", "NULL", "unmapped",
	"kernel", "non-canonical", "read-only", "straddles rw|ro",
	"straddles rw|hole", "straddles ro|hole" };

struct call {
	unsigned long cmd;
	const char *what;
	uint8_t buf[8192 + 64];	/* the struct as the caller wrote it */
	uint64_t usize;		/* bytes the kernel may read */
	enum place pl;
	uint64_t arg;		/* where it is */
	int expect;		/* 0 or -errno; 1: cannot know */
	char desc[512];
};

static uint64_t place_arg(struct rng *r, struct call *c, size_t need)
{
	uint64_t a;
	unsigned int k;

	switch (c->pl) {
	case PL_NULL:
		return 0;
	case PL_HOLE:
		return BASE + 259 * PG + below(r, PG / 8) * 8;
	case PL_KERNEL:
		return chance(r, 50) ? 0xffff888000000000UL : 0xffffffff81000000UL;
	case PL_NONCANON:
		return chance(r, 50) ? 0x0000800000000000UL : 0x8000000000000000UL;
	case PL_RO:
		return BASE + 258 * PG + (need < PG ? below(r, (PG - need) / 8 + 1) * 8 : 0);
	case PL_STR_RO:	/* starts in rw page 257, ends in ro page 258 */
		k = 1 + below(r, need > 1 ? need - 1 : 1);
		return BASE + 258 * PG - k;
	case PL_STR_HOLE:	/* rw page 260, then the hole 261 */
		k = below(r, 4) ? 1 + below(r, need) : PICK(r, ((unsigned int[]){ 1, 2, 3, 4, 8 }));
		return BASE + 261 * PG - k;
	case PL_STR_RO_HOLE:
		k = 1 + below(r, need);
		return BASE + 259 * PG - k;
	default:
		a = BASE + 256 * PG + below(r, PG / 8) * 8;
		return a;
	}
}

static uint32_t struct_min(unsigned long cmd)
{
	return _IOC_SIZE(cmd);
}


/*
 * copy_struct_from_user(ksize, usize) of the struct at user address a whose
 * bytes are in bytes[]: the tail first (check_zeroed_user, in order: a
 * non-zero byte before an unreadable one is E2BIG), then the struct itself.
 * bytes[i] is read only where a + i is readable.
 */
static int expect_copy_struct(uint64_t a, const uint8_t *bytes,
			      uint32_t ksize, uint32_t usize)
{
	for (uint32_t i = ksize; i < usize; i++) {
		if (!user_ok(a + i, 1, false))
			return -EFAULT;
		if (bytes[i])
			return -E2BIG;
	}
	if (!user_ok(a, ksize, false))
		return -EFAULT;
	return 0;
}

/*
 * The generic part, mempin_ioctl() before the handler: where the struct is,
 * its size field, its tail.  Returns the errno the kernel must give before
 * reaching the handler, or 0 when the handler runs.
 */
static int expect_frame(struct call *c)
{
	uint32_t usize, min = struct_min(c->cmd);

	if (!user_ok(c->arg, 4, false))
		return -EFAULT;
	memcpy(&usize, c->buf, 4);
	if (usize < min)
		return -EINVAL;
	if (usize > PG)
		return -E2BIG;
	return expect_copy_struct(c->arg, c->buf, min, usize);
}

/* The fields of the struct at its kernel size, after the frame. */
static void mutate_frame(struct rng *r, struct call *c, uint32_t min)
{
	static const uint32_t sizes[] = { 0, 1, 4, 7, 8, 16, 24, 31, 4095, 4096,
					  4097, 8192, 0x80000000u, ~0u };
	uint32_t usize = min;

	c->pl = PL_NORMAL;
	if (chance(r, 25)) {
		switch (below(r, 5)) {
		case 0:
			usize = PICK(r, sizes);
			break;
		case 1:
			usize = min - 1 - below(r, min);
			break;
		case 2:		/* grown struct, zero tail */
			usize = min + 8 * (1 + below(r, 16));
			break;
		case 3:		/* grown struct, a non-zero byte in the tail */
			usize = min + 1 + below(r, 64);
			c->buf[min + below(r, usize - min)] = 1 + below(r, 255);
			break;
		default:
			usize = min + below(r, 8192);
			if (chance(r, 50))
				c->buf[min + below(r, usize - min + 1) % 8192] = 0x5a;
			break;
		}
	}
	memcpy(c->buf, &usize, 4);
	c->usize = usize;
	if (chance(r, 15))
		c->pl = 1 + below(r, PL_NR - 1);
}

/* ---- the phase ---- */

static struct {
	uint64_t cases, ioctls, by_kind[10], by_place[PL_NR], by_err[140], ok;
	uint64_t pins_made, batch_entries, resets;
} st;
static int fd = -1;
static char ring[RESET][512];
static uint64_t case_no;

static void replay_hint(void)
{
	uint64_t from = case_no - case_no % RESET;

	say("REPRODUCER: MEMPIN_TEST_FUZZ_PHASES=ioctl MEMPIN_TEST_FUZZ_SEED=%llu "
	    "MEMPIN_TEST_FUZZ_FROM=%llu MEMPIN_TEST_FUZZ_CASES=%llu "
	    "MEMPIN_TEST_FUZZ_VERBOSE=1 make fuzz",
	    (unsigned long long)cfg.seed, (unsigned long long)from,
	    (unsigned long long)(case_no - from + 1));
	say("calls since the container was opened (case %llu on):",
	    (unsigned long long)from);
	for (uint64_t i = from; i <= case_no; i++)
		say("  %s", ring[i % RESET]);
}

static void check_model(const char *when)
{
	struct mempin_stats_arg s;
	int r = mp_stats(fd, &s);
	uint64_t pages = model_pages(), charged = model_charged();
	long vm = kv_vmpin_kb(0);

	if (r || s.pins != npins || s.pages != pages || s.charged_pages != charged ||
	    vm != (long)(charged * (PG / 1024))) {
		fail("ioctl: %s: stats r=%d pins %llu pages %llu charged %llu VmPin %ld kB;"
		     " model: pins %u pages %llu charged %llu",
		     when, r, (unsigned long long)s.pins, (unsigned long long)s.pages,
		     (unsigned long long)s.charged_pages, vm, npins,
		     (unsigned long long)pages, (unsigned long long)charged);
		replay_hint();
	}
}

static int reopen(void)
{
	if (fd >= 0) {
		check_model("before close");
		close(fd);
		if (kv_vmpin_kb(0) != 0) {
			fail("ioctl: VmPin %ld kB after close", kv_vmpin_kb(0));
			replay_hint();
		}
	}
	model_reset();
	fd = mp_open();
	if (fd < 0) {
		fail("open %s: %s", MEMPIN_DEV, strerror(-fd));
		return -1;
	}
	st.resets++;
	return 0;
}

static const char *errname(int e)
{
	static char b[16];

	switch (-e) {
	case 0: return "ok";
	case ENOTTY: return "ENOTTY";
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case E2BIG: return "E2BIG";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOMEM: return "ENOMEM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	}
	snprintf(b, sizeof(b), "errno %d", -e);
	return b;
}

/* Issues the call as built; records and compares. */
static int issue(struct call *c, int expect)
{
	int ret;
	size_t n = c->usize < sizeof(c->buf) ? c->usize : sizeof(c->buf);

	if (n < 4)
		n = 4;
	if (c->arg && c->pl != PL_KERNEL && c->pl != PL_NONCANON)
		put_bytes(c->arg, c->buf, n > PG + 64 ? PG + 64 : n);
	snprintf(ring[case_no % RESET], sizeof(ring[0]),
		 "case %llu: %s cmd=%#lx arg=%#llx (%s) size=%llu %s -> expect %s",
		 (unsigned long long)case_no, c->what, c->cmd,
		 (unsigned long long)c->arg, place_name[c->pl],
		 (unsigned long long)c->usize, c->desc,
		 expect == 1 ? "any" : errname(expect));
	if (cfg.verbose)
		say("%s", ring[case_no % RESET]);
	ret = mp_ioctl(fd, c->cmd, (void *)c->arg);
	st.ioctls++;
	st.by_place[c->pl]++;
	st.by_err[-ret < 139 ? -ret : 139]++;
	if (!ret)
		st.ok++;
	if (expect != 1 && ret != expect) {
		fail("ioctl case %llu: %s gave %s, expected %s",
		     (unsigned long long)case_no, c->what, errname(ret), errname(expect));
		replay_hint();
	}
	return ret;
}

static void case_pin(struct rng *r, struct call *c)
{
	struct mempin_pin_arg a = { 0 };
	int exp, ret;

	c->cmd = MEMPIN_IOC_PIN;
	c->what = "PIN";
	a.flags = gen_pin_flags(r);
	if (npins && chance(r, 15)) {	/* again, exactly a live pin's range */
		struct mpin *p = &pins[below(r, npins)];

		a.addr = p->addr;
		a.len = p->len;
	} else {
		a.addr = gen_addr(r);
		a.len = gen_len(r, a.addr);
	}
	if (chance(r, 5))
		a.handle = rnd(r);	/* out fields: ignored on the way in */
	memcpy(c->buf, &a, sizeof(a));
	mutate_frame(r, c, sizeof(a));
	c->arg = place_arg(r, c, c->usize > PG ? 8 : c->usize);
	snprintf(c->desc, sizeof(c->desc), "flags=%#x addr=%#llx len=%#llx",
		 a.flags, (unsigned long long)a.addr, (unsigned long long)a.len);
	exp = expect_frame(c);
	if (!exp)
		exp = expect_pin(a.addr, a.len, a.flags);
	/* Pinned but the handle cannot be written back: undone, EFAULT. */
	if (!exp && !user_ok(c->arg, sizeof(a), true))
		exp = -EFAULT;
	ret = issue(c, exp);
	if (!ret) {
		struct mempin_pin_arg *o = (void *)c->arg;
		uint64_t want = (a.addr + a.len - 1) / PG - a.addr / PG + 1;

		if (o->handle <= last_handle || o->pages != want) {
			fail("ioctl case %llu: PIN gave handle %llu (last %llu) pages %llu (want %llu)",
			     (unsigned long long)case_no, (unsigned long long)o->handle,
			     (unsigned long long)last_handle,
			     (unsigned long long)o->pages, (unsigned long long)want);
			replay_hint();
		}
		last_handle = o->handle;
		model_add(o->handle, a.addr, a.len);
		st.pins_made++;
	}
}

static uint64_t gen_handle(struct rng *r)
{
	static const uint64_t odd[] = { 0, ~0ULL, 1ULL << 63, 0x100000000ULL };

	if (npins && chance(r, 70))
		return pins[below(r, npins)].h;
	if (chance(r, 50))
		return last_handle + below(r, 3);	/* maybe one just unpinned */
	return PICK(r, odd);
}

static void case_unpin(struct rng *r, struct call *c)
{
	struct mempin_unpin_arg a = { 0 };
	int exp, ret, match = -1, nmatch = 0;

	c->cmd = MEMPIN_IOC_UNPIN;
	c->what = "UNPIN";
	if (chance(r, 40)) {
		a.flags = MEMPIN_UNPIN_BY_RANGE;
		if (npins && chance(r, 70)) {
			struct mpin *p = &pins[below(r, npins)];

			a.addr = p->addr;
			a.len = p->len;
			if (chance(r, 10))
				a.len += below(r, 2) ? 1 : -1;
		} else {
			a.addr = gen_addr(r);
			a.len = gen_len(r, a.addr);
		}
		if (chance(r, 5))
			a.handle = 1 + below(r, 4);
	} else {
		a.handle = gen_handle(r);
		if (chance(r, 5))
			a.addr = 1;
		if (chance(r, 5))
			a.len = PG;
	}
	if (chance(r, 6))
		a.flags |= (uint32_t)rnd(r) & ~1u;
	memcpy(c->buf, &a, sizeof(a));
	mutate_frame(r, c, sizeof(a));
	c->arg = place_arg(r, c, c->usize > PG ? 8 : c->usize);
	snprintf(c->desc, sizeof(c->desc), "flags=%#x handle=%llu addr=%#llx len=%#llx",
		 a.flags, (unsigned long long)a.handle, (unsigned long long)a.addr,
		 (unsigned long long)a.len);
	exp = expect_frame(c);
	if (!exp && (a.flags & ~MEMPIN_UNPIN_BY_RANGE))
		exp = -EOPNOTSUPP;
	if (!exp && !(a.flags & MEMPIN_UNPIN_BY_RANGE)) {
		if (a.addr || a.len)
			exp = -EINVAL;
		else
			exp = (match = model_find_h(a.handle)) < 0 ? -ENOENT : 0;
		nmatch = match >= 0;
	} else if (!exp) {
		if (a.handle || !a.len || a.addr + a.len < a.addr) {
			exp = -EINVAL;
		} else {
			for (unsigned int i = 0; i < npins; i++)
				if (pins[i].addr == a.addr && pins[i].len == a.len) {
					match = i;
					nmatch++;
				}
			exp = nmatch ? 0 : -ENOENT;
		}
	}
	ret = issue(c, exp);
	if (ret || match < 0)
		return;
	if (nmatch == 1) {
		model_del(match);
		return;
	}
	/* One of several identical pins went: find which, unpinning the rest. */
	{
		uint64_t addr = a.addr, len = a.len;
		unsigned int gone = 0;

		for (unsigned int i = 0; i < npins;) {
			if (pins[i].addr != addr || pins[i].len != len) {
				i++;
				continue;
			}
			ret = mp_unpin(fd, pins[i].h);
			if (ret == -ENOENT)
				gone++;
			else if (ret) {
				fail("ioctl case %llu: unpin of duplicate %llu: %s",
				     (unsigned long long)case_no,
				     (unsigned long long)pins[i].h, errname(ret));
				replay_hint();
			}
			model_del(i);
		}
		if (gone != 1) {
			fail("ioctl case %llu: by-range unpin of %u identical pins "
			     "removed %u of them", (unsigned long long)case_no, nmatch, gone);
			replay_hint();
		}
	}
}

static void case_stats_info(struct rng *r, struct call *c, bool info)
{
	union {
		struct mempin_stats_arg s;
		struct mempin_info_arg i;
	} a;
	int exp, ret;

	memset(&a, 0, sizeof(a));
	c->cmd = info ? MEMPIN_IOC_INFO : MEMPIN_IOC_STATS;
	c->what = info ? "INFO" : "STATS";
	if (chance(r, 10))
		a.s.flags = 1u << below(r, 32);
	if (chance(r, 10))
		memset((uint8_t *)&a + 8, 0xa5, sizeof(a) - 8); /* out fields */
	memcpy(c->buf, &a, info ? sizeof(a.i) : sizeof(a.s));
	mutate_frame(r, c, info ? sizeof(a.i) : sizeof(a.s));
	c->arg = place_arg(r, c, c->usize > PG ? 8 : c->usize);
	snprintf(c->desc, sizeof(c->desc), "flags=%#x", a.s.flags);
	exp = expect_frame(c);
	if (!exp && a.s.flags)
		exp = -EOPNOTSUPP;
	if (!exp && !user_ok(c->arg, struct_min(c->cmd), true))
		exp = -EFAULT;
	ret = issue(c, exp);
	if (ret)
		return;
	if (info) {
		struct mempin_info_arg *o = (void *)c->arg;

		if (o->abi_version != 1 || o->page_size != PG ||
		    (o->features & ~(MEMPIN_FEATURE_READONLY | MEMPIN_FEATURE_BATCH |
				     MEMPIN_FEATURE_UNPIN_RANGE |
				     MEMPIN_FEATURE_READONLY_COW |
				     MEMPIN_FEATURE_CGROUP_BUDGETS)) ||
		    o->max_pin_pages != max_pin_pages || o->max_overlap != 1024 ||
		    o->cap_pages != 0)
			fail("ioctl case %llu: INFO abi %u page %u features %#llx max %llu "
			     "overlap %llu cap %llu", (unsigned long long)case_no,
			     o->abi_version, o->page_size, (unsigned long long)o->features,
			     (unsigned long long)o->max_pin_pages,
			     (unsigned long long)o->max_overlap,
			     (unsigned long long)o->cap_pages);
	} else {
		struct mempin_stats_arg *o = (void *)c->arg;

		if (o->pins != npins || o->pages != model_pages() ||
		    o->charged_pages != model_charged()) {
			fail("ioctl case %llu: STATS %llu/%llu/%llu, model %u/%llu/%llu",
			     (unsigned long long)case_no, (unsigned long long)o->pins,
			     (unsigned long long)o->pages,
			     (unsigned long long)o->charged_pages, npins,
			     (unsigned long long)model_pages(),
			     (unsigned long long)model_charged());
			replay_hint();
		}
	}
}

/*
 * One PIN_BATCH entry of esz bytes (eb) at user address e, as
 * mempin_ioc_pin_batch() sees it: stores what the user can read, returns
 * the errno the entry must give (0: it pins).  Where the entry runs into a
 * hole, its readable part is what the kernel reads: bytes left there by
 * earlier cases decide E2BIG against EFAULT, so they are read back.
 */
static int expect_pin_entry(uint64_t e, const uint8_t *eb, uint32_t esz,
			    const struct mempin_pin_entry *pe)
{
	int exp;

	if (e + esz < e)
		return -EFAULT;
	put_bytes(e, eb, esz);
	exp = expect_copy_struct(e, (const uint8_t *)(uintptr_t)e, sizeof(*pe), esz);
	if (exp)
		return exp;
	if (pe->reserved)
		return -EOPNOTSUPP;
	/* The handle field is written (0) before pinning. */
	if (!user_ok(e + offsetof(struct mempin_pin_entry, handle), 8, true))
		return -EFAULT;
	return expect_pin(pe->addr, pe->len, pe->flags);
}

/*
 * Batches.  Entries go to the entry area (16 rw pages, a read-only page, a
 * hole); a bad entry may sit anywhere in the vector, or the vector may run
 * into the read-only page or the hole.
 */
#define SENTINEL 0x5e5e5e5e5e5e5e5eULL

static void case_batch(struct rng *r, struct call *c, bool pin)
{
	struct mempin_batch_arg a = { 0 };
	static const uint32_t esz_odd[] = { 0, 8, 24, 31, 33, 40, 64, 4096, 4097, ~0u };
	static const uint32_t cnt_odd[] = { 0, 1, 65535, 65536, 65537, 0x80000000u, ~0u };
	uint32_t esz = pin ? sizeof(struct mempin_pin_entry) : 8, count;
	uint64_t ent, area = ENTB, area_end;
	int exp = 0, ret;
	uint32_t done_exp = 0;
	unsigned int bad_at;

	c->cmd = pin ? MEMPIN_IOC_PIN_BATCH : MEMPIN_IOC_UNPIN_BATCH;
	c->what = pin ? "PIN_BATCH" : "UNPIN_BATCH";
	if (chance(r, 12))
		esz = PICK(r, esz_odd);
	else if (pin && chance(r, 10))
		esz = 32 + 8 * below(r, 4);
	count = chance(r, 8) ? PICK(r, cnt_odd) : below(r, below(r, 4) ? 8 : 64);
	/* Vector start: inside the area, or so that it runs off its end. */
	area_end = ENTB + (ENT_RW_PAGES + 1) * PG;	/* ro page included */
	if (chance(r, 15) && esz && esz < 8192)
		ent = area_end - esz * (1 + below(r, 4)) + (chance(r, 50) ? PG : 0) -
		      below(r, 2) * 4;
	else
		ent = area + below(r, 8) * 8;
	if (chance(r, 4))
		ent = PICK(r, bnd);
	a.entries = ent;
	a.count = count;
	a.entry_size = esz;
	if (chance(r, 5))
		a.flags = 1u << below(r, 32);
	if (chance(r, 5))
		a.reserved = 1u << below(r, 32);
	a.done = (uint32_t)rnd(r);
	bad_at = chance(r, 40) && count ? below(r, count < 64 ? count : 64) : ~0u;
	model_save();

	/* Fill the vector where it is writable; compute the expected answer. */
	if (a.flags || a.reserved)
		exp = -EOPNOTSUPP;
	else if (esz < (pin ? 32u : 8u) || esz > PG || count > 65536 || (!pin && esz != 8))
		exp = -EINVAL;
	for (uint32_t i = 0; !exp && i < count; i++) {
		uint64_t e = ent + (uint64_t)i * esz;
		uint8_t eb[4200];

		memset(eb, 0, esz);
		if (pin) {
			struct mempin_pin_entry pe = { 0 };

			pe.flags = gen_pin_flags(r);
			if (npins && chance(r, 15)) {
				struct mpin *p = &pins[below(r, npins)];

				pe.addr = p->addr;
				pe.len = p->len;
			} else {
				pe.addr = gen_addr(r);
				pe.len = gen_len(r, pe.addr);
				if (i != bad_at && chance(r, 60)) {	/* mostly good */
					pe.addr = BASE + (1 + below(r, 60)) * PG + below(r, 2) * 7;
					pe.len = (1 + below(r, 4)) * PG;
					pe.flags = 0;
				}
			}
			if (i == bad_at)
				switch (below(r, 4)) {
				case 0: pe.reserved = 1 + below(r, 1000); break;
				case 1: pe.flags |= 4; break;
				case 2: pe.len = 0; break;
				default: pe.addr = BASE + 65 * PG; pe.len = PG; break;
				}
			pe.handle = SENTINEL;
			memcpy(eb, &pe, sizeof(pe));
			if (esz > 32 && i == bad_at && chance(r, 50))
				eb[32 + below(r, esz - 32)] = 0x77;
			exp = expect_pin_entry(e, eb, esz, &pe);
			if (!exp) {
				/* Handles are learnt after the call: a placeholder. */
				model_add(0, pe.addr, pe.len);
				done_exp++;
			}
		} else {
			uint64_t h = gen_handle(r);
			int m;

			if (i == bad_at)
				h = last_handle + 1000 + below(r, 5);
			if (!user_ok(e, 8, false)) {
				exp = -EFAULT;
			} else {
				put_bytes(e, &h, 8);
				m = model_find_h(h);
				if (m < 0)
					exp = -ENOENT;
				else {
					model_del(m);
					done_exp++;
				}
			}
		}
		if (i > 70000)
			break;
	}
	memcpy(c->buf, &a, sizeof(a));
	mutate_frame(r, c, sizeof(a));
	c->arg = place_arg(r, c, c->usize > PG ? 8 : c->usize);
	snprintf(c->desc, sizeof(c->desc),
		 "flags=%#x entries=%#llx count=%u entry_size=%u reserved=%#x bad_at=%d "
		 "(expect done=%u)", a.flags, (unsigned long long)ent, count, esz,
		 a.reserved, (int)bad_at, done_exp);
	{
		int fr = expect_frame(c);

		if (fr) {
			/* The handler never ran: undo the model's guesses. */
			model_restore();
			exp = fr;
			done_exp = 0;
		}
		/* done and the rest are written back, even on error. */
		else if (!user_ok(c->arg, sizeof(a), true))
			exp = -EFAULT;
		ret = issue(c, fr ? fr : exp);
		if (fr && ret)
			return;
	}
	if (!pin) {
		st.batch_entries += done_exp;
		if (!ret || user_ok(c->arg, sizeof(a), true)) {
			uint32_t done = ((struct mempin_batch_arg *)c->arg)->done;

			if (done != done_exp) {
				fail("ioctl case %llu: UNPIN_BATCH done %u, expected %u",
				     (unsigned long long)case_no, done, done_exp);
				replay_hint();
			}
		}
		return;
	}
	/* Learn the handles of what was pinned: entries [0, done). */
	{
		unsigned int first = npins - done_exp, k = 0;

		for (uint32_t i = 0; k < done_exp && i < count; i++) {
			uint64_t h = *(uint64_t *)(ent + (uint64_t)i * esz + 24);

			if (h == SENTINEL || h == 0)
				break;
			if (h <= last_handle) {
				fail("ioctl case %llu: batch handle %llu not above %llu",
				     (unsigned long long)case_no, (unsigned long long)h,
				     (unsigned long long)last_handle);
				replay_hint();
			}
			last_handle = h;
			pins[first + k++].h = h;
		}
		if (k != done_exp) {
			fail("ioctl case %llu: PIN_BATCH wrote %u handles, expected %u",
			     (unsigned long long)case_no, k, done_exp);
			replay_hint();
			npins = first + k;
		}
		st.batch_entries += k;
		st.pins_made += k;
		if (user_ok(c->arg, sizeof(a), true)) {
			uint32_t done = ((struct mempin_batch_arg *)c->arg)->done;

			if (done != done_exp) {
				fail("ioctl case %llu: PIN_BATCH done %u, expected %u",
				     (unsigned long long)case_no, done, done_exp);
				replay_hint();
			}
		}
	}
}

/* Command numbers around and away from mempin's. */
static void case_badcmd(struct rng *r, struct call *c)
{
	static const unsigned long good[] = { MEMPIN_IOC_INFO, MEMPIN_IOC_PIN,
		MEMPIN_IOC_UNPIN, MEMPIN_IOC_STATS, MEMPIN_IOC_PIN_BATCH,
		MEMPIN_IOC_UNPIN_BATCH };
	/* Types the VFS (do_vfs_ioctl) answers itself, whatever the driver. */
	static const unsigned int vfs_types[] = { 0x00, 'T', 'X', 'f', 0x94 };
	unsigned long cmd, g = PICK(r, good);
	bool vfs = false;

	switch (below(r, 6)) {
	case 0:		/* mempin's type, number past the table */
		cmd = _IOC(below(r, 4), MEMPIN_IOC_MAGIC, 6 + below(r, 250), below(r, 64));
		break;
	case 1:		/* a real number with another size */
		cmd = (g & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
		      ((unsigned long)(1 + below(r, 16383)) << _IOC_SIZESHIFT);
		if (cmd == g)
			cmd ^= 8UL << _IOC_SIZESHIFT;
		break;
	case 2:		/* ... another direction */
		cmd = g ^ ((1UL + below(r, 3)) << _IOC_DIRSHIFT);
		break;
	case 3:		/* another type */
		cmd = (g & ~(0xffUL << 8)) | ((MEMPIN_IOC_MAGIC + 1 + below(r, 254)) & 0xff) << 8;
		break;
	case 4:		/* bits above 32 are dropped by the syscall */
		cmd = g | (1UL << (32 + below(r, 32)));
		if (chance(r, 50))
			cmd ^= 1;
		break;
	default:
		cmd = (uint32_t)rnd(r);
		break;
	}
	for (unsigned int i = 0; i < 5; i++)
		vfs |= _IOC_TYPE(cmd) == vfs_types[i];
	c->cmd = cmd;
	c->what = "BADCMD";
	c->pl = PL_NORMAL;
	c->usize = 64;
	memset(c->buf, 0, 64);
	c->arg = chance(r, 50) ? PICK(r, bnd) : BASE + 256 * PG;
	if (c->arg != BASE + 256 * PG)
		c->pl = PL_KERNEL;	/* not written by us */
	snprintf(c->desc, sizeof(c->desc), "type=%#x nr=%u size=%u dir=%u%s",
		 (unsigned int)_IOC_TYPE(cmd), (unsigned int)_IOC_NR(cmd),
		 (unsigned int)_IOC_SIZE(cmd), (unsigned int)_IOC_DIR(cmd),
		 vfs ? " (a VFS type: any answer)" : "");
	/* ioctl(2) takes an unsigned int cmd: the high bits never arrive. */
	for (unsigned int i = 0; i < 6; i++)
		if ((uint32_t)cmd == (uint32_t)good[i])
			g = cmd;
	if ((uint32_t)cmd == (uint32_t)g) {
		/* Same as a good one after truncation: just must not crash. */
		issue(c, 1);
		return;
	}
	if (vfs) {
		/* FIOCLEX & co act on the fd: keep it as it was. */
		if ((uint32_t)cmd == FIOCLEX || (uint32_t)cmd == FIONCLEX ||
		    (uint32_t)cmd == FIONBIO || (uint32_t)cmd == FIOASYNC ||
		    _IOC_TYPE(cmd) == 'X')
			return;
		issue(c, 1);
		return;
	}
	issue(c, -ENOTTY);
}

int phase_ioctl(void)
{
	struct mempin_info_arg info;
	struct sysinfo si;
	double t0 = now_s(), last_print = t0;
	uint64_t from = cfg.first_case - cfg.first_case % RESET;
	uint64_t end = cfg.ncases ? cfg.first_case + cfg.ncases : UINT64_MAX;
	struct call *c = malloc(sizeof(*c));

	if (setup_arena() || !c)
		return -1;
	if (reopen())
		return -1;
	if (mp_info(fd, &info)) {
		fail("INFO failed");
		return -1;
	}
	ro_cow = info.features & MEMPIN_FEATURE_READONLY_COW;
	max_pin_pages = info.max_pin_pages;
	sysinfo(&si);
	say("ioctl: seed %llu, cases from %llu, at most %llu ioctls / %u s; "
	    "max_pin_pages %llu (totalram %llu pages), READONLY_COW %d, hugetlb %d",
	    (unsigned long long)cfg.seed, (unsigned long long)from,
	    (unsigned long long)cfg.ioctls, cfg.ioctl_secs,
	    (unsigned long long)max_pin_pages,
	    (unsigned long long)((uint64_t)si.totalram * si.mem_unit / PG), ro_cow,
	    have_huge);
	for (case_no = from; case_no < end && !failed(); case_no++) {
		struct rng r = { mix64(cfg.seed ^ mix64(case_no)) };
		unsigned int kind = below(&r, 100);
		double t;

		if (case_no % RESET == 0 && case_no != from) {
			if (kmsg_bad(phase_kmsg_fd, false)) {
				fail("ioctl: the kernel logged something bad by case %llu",
				     (unsigned long long)case_no);
				case_no--;
				replay_hint();
				break;
			}
			if (reopen())
				break;
			t = now_s();
			/* Fuzzed calls: the model's STATS checks do not count. */
			if (!cfg.ncases && (st.ioctls >= cfg.ioctls ||
					    t - t0 >= cfg.ioctl_secs))
				break;
			if (t - last_print >= 30) {
				say("ioctl: %llu cases, %llu fuzzed ioctls, %.0f s",
				    (unsigned long long)case_no,
				    (unsigned long long)st.ioctls, t - t0);
				last_print = t;
			}
		}
		memset(c, 0, offsetof(struct call, desc));
		c->desc[0] = 0;
		st.cases++;
		if (kind < 30) {
			st.by_kind[0]++;
			case_pin(&r, c);
		} else if (kind < 50) {
			st.by_kind[1]++;
			case_unpin(&r, c);
		} else if (kind < 62) {
			st.by_kind[2]++;
			case_batch(&r, c, true);
		} else if (kind < 70) {
			st.by_kind[3]++;
			case_batch(&r, c, false);
		} else if (kind < 76) {
			st.by_kind[4]++;
			case_stats_info(&r, c, false);
		} else if (kind < 80) {
			st.by_kind[5]++;
			case_stats_info(&r, c, true);
		} else {
			st.by_kind[6]++;
			case_badcmd(&r, c);
		}
		if (case_no % 8 == 7)
			check_model("every 8 cases");
	}
	if (fd >= 0) {
		check_model("at the end");
		close(fd);
		fd = -1;
	}
	say("ioctl: %llu cases, %llu fuzzed ioctls in %.1f s, %llu containers",
	    (unsigned long long)st.cases, (unsigned long long)st.ioctls, now_s() - t0,
	    (unsigned long long)st.resets);
	say("ioctl: cases: PIN %llu, UNPIN %llu, PIN_BATCH %llu, UNPIN_BATCH %llu, "
	    "STATS %llu, INFO %llu, bad cmd %llu; pins made %llu, batch entries done %llu",
	    (unsigned long long)st.by_kind[0], (unsigned long long)st.by_kind[1],
	    (unsigned long long)st.by_kind[2], (unsigned long long)st.by_kind[3],
	    (unsigned long long)st.by_kind[4], (unsigned long long)st.by_kind[5],
	    (unsigned long long)st.by_kind[6], (unsigned long long)st.pins_made,
	    (unsigned long long)st.batch_entries);
	for (int i = 0; i < PL_NR; i++)
		say("ioctl:   arg %-18s %llu", place_name[i], (unsigned long long)st.by_place[i]);
	for (int i = 0; i < 140; i++)
		if (st.by_err[i])
			say("ioctl:   answer %-12s %llu", errname(-i),
			    (unsigned long long)st.by_err[i]);
	munmap((void *)WIN_LO, WIN_HI - WIN_LO);
	free(c);
	return failed() ? -1 : 0;
}
