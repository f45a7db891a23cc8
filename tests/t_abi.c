// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl ABI: every errno of DESIGN.md section 3 and SPEC.md, the order
 * of the checks, struct growth rules (size, E2BIG, zero trailing bytes),
 * the INFO ioctl, batch partial progress, and a quiet kernel log.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "checked.h"
#include "suites.h"

/* The six ioctls and their first published (v1) sizes. */
enum { I_INFO, I_PIN, I_UNPIN, I_STATS, I_PIN_BATCH, I_UNPIN_BATCH, I_NR };
static const struct ioc {
	const char *name;
	unsigned long cmd;
	uint32_t size;
	uint32_t bad_flag;	/* lowest flag bit that is not defined */
} iocs[I_NR] = {
	{ "INFO", MEMPIN_IOC_INFO, sizeof(struct mempin_info_arg), 1U << 0 },
	{ "PIN", MEMPIN_IOC_PIN, sizeof(struct mempin_pin_arg), 1U << 1 },
	{ "UNPIN", MEMPIN_IOC_UNPIN, sizeof(struct mempin_unpin_arg), 1U << 1 },
	{ "STATS", MEMPIN_IOC_STATS, sizeof(struct mempin_stats_arg), 1U << 0 },
	{ "PIN_BATCH", MEMPIN_IOC_PIN_BATCH, sizeof(struct mempin_batch_arg), 1U << 0 },
	{ "UNPIN_BATCH", MEMPIN_IOC_UNPIN_BATCH, sizeof(struct mempin_batch_arg), 1U << 0 },
};

/* v1 sizes as published: growth must never change them. */
_Static_assert(sizeof(struct mempin_info_arg) == 48, "info v1");
_Static_assert(sizeof(struct mempin_pin_arg) == 40, "pin v1");
_Static_assert(sizeof(struct mempin_unpin_arg) == 32, "unpin v1");
_Static_assert(sizeof(struct mempin_stats_arg) == 32, "stats v1");
_Static_assert(sizeof(struct mempin_pin_entry) == 32, "range v1");
_Static_assert(sizeof(struct mempin_batch_arg) == 32, "batch v1");

static struct mempin_pin_entry fill_range;
static uint64_t fill_handle;

/*
 * Writes a valid argument of ioctl i into buf (size set to v1): the call
 * succeeds as is.  For UNPIN and UNPIN_BATCH, pins mem first.
 */
static void fill_valid(int fd, int i, void *buf, char *mem)
{
	memset(buf, 0, 8192);
	switch (i) {
	case I_PIN: {
		struct mempin_pin_arg *p = buf;

		p->addr = (uintptr_t)mem;
		p->len = PG;
		break;
	}
	case I_UNPIN: {
		struct mempin_unpin_arg *u = buf;

		u->handle = xpin(fd, mem, PG, 0);
		break;
	}
	case I_PIN_BATCH: {
		struct mempin_batch_arg *b = buf;

		memset(&fill_range, 0, sizeof(fill_range));
		fill_range.addr = (uintptr_t)mem;
		fill_range.len = PG;
		b->entries = (uintptr_t)&fill_range;
		b->count = 1;
		b->entry_size = sizeof(fill_range);
		break;
	}
	case I_UNPIN_BATCH: {
		struct mempin_batch_arg *b = buf;

		fill_handle = xpin(fd, mem, PG, 0);
		b->entries = (uintptr_t)&fill_handle;
		b->count = 1;
		b->entry_size = sizeof(fill_handle);
		break;
	}
	default:
		break;
	}
	((uint32_t *)buf)[0] = iocs[i].size;
}

/* Asserts the container holds nothing. */
static void assert_empty(int fd)
{
	ASSERT_STATS(fd, 0, 0, 0);
}

/* Unpins everything a fill_valid()/call left behind (via close). */
static int reopen(int fd)
{
	xclose(fd);
	return xmp_open();
}

static void *bigbuf(void)
{
	static uint64_t buf[8192 / 8 + 1];

	return buf;
}

/* ------------------------------------------------------------ ENOTTY */

START_TEST(enotty_unknown_nr)
{
	int fd = xmp_open();
	char arg[256] = { 0 };
	const unsigned long cmds[] = {
		_IOWR(MEMPIN_IOC_MAGIC, 0x06, struct mempin_pin_arg),
		_IOWR(MEMPIN_IOC_MAGIC, 0x7f, struct mempin_batch_arg),
		_IOWR(MEMPIN_IOC_MAGIC, 0xff, struct mempin_info_arg),
		_IO(MEMPIN_IOC_MAGIC, 0x06),
	};

	*(uint32_t *)arg = 64;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		ck_assert_msg(mp_ioctl(fd, cmds[i], arg) == -ENOTTY,
			      "cmd %#lx", cmds[i]);
	xclose(fd);
}
END_TEST

START_TEST(enotty_wrong_size_or_direction)
{
	int fd = xmp_open();
	char arg[256] = { 0 };
	/* The right magic and nr, but not the number of any mempin ioctl. */
	const unsigned long cmds[] = {
		_IOWR(MEMPIN_IOC_MAGIC, 0x01, char[48]),	/* PIN, size 48 */
		_IOWR(MEMPIN_IOC_MAGIC, 0x00, char[56]),	/* INFO, size 56 */
		_IOR(MEMPIN_IOC_MAGIC, 0x00, struct mempin_info_arg),
		_IOR(MEMPIN_IOC_MAGIC, 0x02, struct mempin_unpin_arg),
		_IOW(MEMPIN_IOC_MAGIC, 0x03, struct mempin_stats_arg),
		_IO(MEMPIN_IOC_MAGIC, 0x01),
		_IOWR(MEMPIN_IOC_MAGIC, 0x04, char[16]),
	};

	*(uint32_t *)arg = 40;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		ck_assert_msg(mp_ioctl(fd, cmds[i], arg) == -ENOTTY,
			      "cmd %#lx", cmds[i]);
	assert_empty(fd);
	xclose(fd);
}
END_TEST

START_TEST(enotty_other_magic)
{
	int fd = xmp_open();
	struct termios t;
	char arg[256] = { 0 };

	ck_assert_int_eq(mp_ioctl(fd, TCGETS, &t), -ENOTTY);
	ck_assert_int_eq(mp_ioctl(fd, _IOWR('x', 0x01, struct mempin_pin_arg), arg),
			 -ENOTTY);
	ck_assert_int_eq(mp_ioctl(fd, _IOWR(MEMPIN_IOC_MAGIC + 1, 0x01,
					    struct mempin_pin_arg), arg), -ENOTTY);
	xclose(fd);
}
END_TEST

/* Check 1 (ENOTTY) comes before check 2 (EPERM). */
static void child_enotty_eperm(struct chan *ch, void *arg)
{
	int fd = *(int *)arg;
	char buf[256] = { 0 };
	struct mempin_stats_arg st;

	CREQ_EQ(ch, mp_ioctl(fd, _IOWR(MEMPIN_IOC_MAGIC, 0x09, struct mempin_pin_arg), buf),
		-ENOTTY);
	CREQ_EQ(ch, mp_stats(fd, &st), -EPERM);
}

START_TEST(enotty_before_eperm)
{
	int fd = xmp_open();
	struct child c;

	child_start(&c, child_enotty_eperm, &fd);
	CHILD_OK(&c);
	xclose(fd);
}
END_TEST

/* ------------------------------------------------------------ EINVAL */

START_TEST(einval_pin_len0)
{
	int fd = xmp_open();
	char *mem = xmap(4 * PG);
	struct kv_pins a, b;
	long vm0 = kv_vmpin_kb(0);

	kv_pins_read(&a);
	ck_assert_int_eq(mp_pin(fd, mem, 0, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(mp_pin(fd, mem + 5, 0, MEMPIN_PIN_READONLY, NULL, NULL), -EINVAL);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), 0);
	ASSERT_VMPIN(vm0, 0);
	assert_empty(fd);
	xclose(fd);
}
END_TEST

START_TEST(einval_pin_wrap)
{
	int fd = xmp_open();

	ck_assert_int_eq(mp_pin(fd, (void *)0xfffffffffffff000ULL, 0x2000, 0, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(mp_pin(fd, (void *)1, UINT64_MAX, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(mp_pin(fd, (void *)0x7ffff000ULL, UINT64_MAX - 0x1000, 0,
				NULL, NULL), -EINVAL);
	assert_empty(fd);
	xclose(fd);
}
END_TEST

START_TEST(einval_size_too_small)
{
	int fd = xmp_open();
	char *mem = xmap(PG);
	void *buf = bigbuf();

	for (int i = 0; i < I_NR; i++) {
		const uint32_t sizes[] = { 0, 4, 8, iocs[i].size - 8, iocs[i].size - 1 };

		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			fill_valid(fd, i, buf, mem);
			((uint32_t *)buf)[0] = sizes[s];
			ck_assert_msg(mp_ioctl(fd, iocs[i].cmd, buf) == -EINVAL,
				      "%s size %u: errno %d", iocs[i].name, sizes[s], errno);
		}
		fd = reopen(fd);
	}
	xclose(fd);
}
END_TEST

START_TEST(einval_batch_entry_size)
{
	int fd = xmp_open();
	char *mem = xmap(PG);
	struct mempin_pin_entry r = { .addr = (uintptr_t)mem, .len = PG };
	const uint32_t pin_bad[] = { 0, 8, 16, 24, 31 };
	const uint32_t unpin_bad[] = { 0, 4, 7, 9, 16 };
	struct mempin_batch_arg b;
	uint64_t h;

	for (size_t i = 0; i < sizeof(pin_bad) / sizeof(pin_bad[0]); i++) {
		memset(&b, 0, sizeof(b));
		b.size = sizeof(b);
		b.entries = (uintptr_t)&r;
		b.count = 1;
		b.entry_size = pin_bad[i];
		ck_assert_msg(mp_ioctl(fd, MEMPIN_IOC_PIN_BATCH, &b) == -EINVAL,
			      "pin entry_size %u", pin_bad[i]);
	}
	assert_empty(fd);
	h = xpin(fd, mem, PG, 0);
	for (size_t i = 0; i < sizeof(unpin_bad) / sizeof(unpin_bad[0]); i++) {
		uint64_t hs[2] = { h, 0 };

		memset(&b, 0, sizeof(b));
		b.size = sizeof(b);
		b.entries = (uintptr_t)hs;
		b.count = 1;
		b.entry_size = unpin_bad[i];
		ck_assert_msg(mp_ioctl(fd, MEMPIN_IOC_UNPIN_BATCH, &b) == -EINVAL,
			      "unpin entry_size %u", unpin_bad[i]);
	}
	ASSERT_STATS(fd, 1, 1, 1);
	xclose(fd);
}
END_TEST

START_TEST(einval_batch_count)
{
	int fd = xmp_open();
	char *mem = xmap(PG);
	struct mempin_pin_entry r = { .addr = (uintptr_t)mem, .len = PG };
	uint64_t h = 1;
	struct mempin_batch_arg b;

	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.entries = (uintptr_t)&r;
	b.count = 65537;
	b.entry_size = sizeof(r);
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_PIN_BATCH, &b), -EINVAL);
	b.count = UINT32_MAX;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_PIN_BATCH, &b), -EINVAL);
	b.entries = (uintptr_t)&h;
	b.entry_size = sizeof(h);
	b.count = 65537;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_UNPIN_BATCH, &b), -EINVAL);
	assert_empty(fd);
	xclose(fd);
}
END_TEST

START_TEST(einval_unpin_fields)
{
	int fd = xmp_open();
	char *mem = xmap(2 * PG);
	uint64_t h = xpin(fd, mem, 2 * PG, 0);
	struct mempin_unpin_arg u;

	/* By handle: addr and len must be 0. */
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.handle = h;
	u.addr = (uintptr_t)mem;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_UNPIN, &u), -EINVAL);
	u.addr = 0;
	u.len = 2 * PG;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_UNPIN, &u), -EINVAL);
	/* By range: len must be > 0 and handle 0. */
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.flags = MEMPIN_UNPIN_BY_RANGE;
	u.addr = (uintptr_t)mem;
	u.len = 0;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_UNPIN, &u), -EINVAL);
	u.len = 2 * PG;
	u.handle = h;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_UNPIN, &u), -EINVAL);
	ASSERT_STATS(fd, 1, 2, 2);
	u.handle = 0;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_UNPIN, &u), 0);
	assert_empty(fd);
	xclose(fd);
}
END_TEST

/* -------------------------------------------------------- EOPNOTSUPP */

START_TEST(eopnotsupp_flags)
{
	int fd = xmp_open();
	char *mem = xmap(PG);
	void *buf = bigbuf();

	for (int i = 0; i < I_NR; i++) {
		const uint32_t bad[] = { iocs[i].bad_flag, 1U << 31, ~0U };

		for (size_t f = 0; f < 3; f++) {
			fill_valid(fd, i, buf, mem);
			((uint32_t *)buf)[1] = bad[f];
			ck_assert_msg(mp_ioctl(fd, iocs[i].cmd, buf) == -EOPNOTSUPP,
				      "%s flags %#x: errno %d", iocs[i].name, bad[f], errno);
		}
		/* Nothing was pinned by a refused PIN / PIN_BATCH, nothing
		 * unpinned by a refused UNPIN / UNPIN_BATCH. */
		if (i == I_UNPIN || i == I_UNPIN_BATCH)
			ASSERT_STATS(fd, 3, 3, 3);	/* one page, 3 pins */
		else
			assert_empty(fd);
		fd = reopen(fd);
	}
	xclose(fd);
}
END_TEST

START_TEST(eopnotsupp_batch_reserved)
{
	int fd = xmp_open();
	char *mem = xmap(PG);
	void *buf = bigbuf();

	fill_valid(fd, I_PIN_BATCH, buf, mem);
	((struct mempin_batch_arg *)buf)->reserved = 1;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_PIN_BATCH, buf), -EOPNOTSUPP);
	assert_empty(fd);
	fill_valid(fd, I_UNPIN_BATCH, buf, mem);
	((struct mempin_batch_arg *)buf)->reserved = 0x80000000;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_UNPIN_BATCH, buf), -EOPNOTSUPP);
	ASSERT_STATS(fd, 1, 1, 1);
	xclose(fd);
}
END_TEST

/* N batch entries pinning the first N pages of mem, one page each. */
static void one_page_entries(struct mempin_pin_entry *r, int n, char *mem)
{
	memset(r, 0, n * sizeof(*r));
	for (int i = 0; i < n; i++) {
		r[i].addr = (uintptr_t)(mem + i * PG);
		r[i].len = PG;
	}
}

START_TEST(eopnotsupp_range_entry)
{
	int fd = xmp_open();
	char *mem = xmap(4 * PG);
	struct mempin_pin_entry r[3];
	unsigned int done;

	one_page_entries(r, 3, mem);
	r[1].reserved = 1;
	ck_assert_int_eq(mp_pin_batch(fd, r, 3, &done), -EOPNOTSUPP);
	ck_assert_uint_eq(done, 1);
	ck_assert_uint_ne(r[0].handle, 0);
	ck_assert_uint_eq(r[2].handle, 0);
	ASSERT_STATS(fd, 1, 1, 1);
	r[1].reserved = 0;
	r[1].flags = 1U << 1;
	ck_assert_int_eq(mp_pin_batch(fd, &r[1], 2, &done), -EOPNOTSUPP);
	ck_assert_uint_eq(done, 0);
	ASSERT_STATS(fd, 1, 1, 1);
	xclose(fd);
}
END_TEST

/* Check 4 (flags) before check 5 (len), check 3 (size) before 4. */
START_TEST(order_size_flags_len)
{
	int fd = xmp_open();
	struct mempin_pin_arg p;

	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.flags = 1U << 5;
	p.len = 0;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_PIN, &p), -EOPNOTSUPP);
	p.size = 8;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_PIN, &p), -EINVAL);
	/* len 0 at a kernel address: EINVAL (check 5 starts with len). */
	p.size = sizeof(p);
	p.flags = 0;
	p.addr = 0xffffffff81000000ULL;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_PIN, &p), -EINVAL);
	xclose(fd);
}
END_TEST

/* -------------------------------------------------------------- E2BIG */

START_TEST(e2big_trailing_nonzero)
{
	int fd = xmp_open();
	char *mem = xmap(PG);
	char *buf = bigbuf();

	for (int i = 0; i < I_NR; i++) {
		fill_valid(fd, i, buf, mem);
		((uint32_t *)buf)[0] = iocs[i].size + 8;
		buf[iocs[i].size + 3] = 1;
		ck_assert_msg(mp_ioctl(fd, iocs[i].cmd, buf) == -E2BIG,
			      "%s: errno %d", iocs[i].name, errno);
		/* Past 4096 bytes: E2BIG even if all zero. */
		fill_valid(fd, i, buf, mem);
		((uint32_t *)buf)[0] = 8192;
		ck_assert_msg(mp_ioctl(fd, iocs[i].cmd, buf) == -E2BIG,
			      "%s size 8192: errno %d", iocs[i].name, errno);
		if (i == I_UNPIN || i == I_UNPIN_BATCH)
			ASSERT_STATS(fd, 2, 2, 2);	/* one page, 2 pins */
		else
			assert_empty(fd);
		fd = reopen(fd);
	}
	xclose(fd);
}
END_TEST

START_TEST(e2big_zero_trailing_ok)
{
	int fd = xmp_open();
	char *mem = xmap(PG);
	char *buf = bigbuf();
	long vm0 = kv_vmpin_kb(0);

	for (int i = 0; i < I_NR; i++) {
		const uint32_t sizes[] = { iocs[i].size + 8, 4096 };

		for (int s = 0; s < 2; s++) {
			fill_valid(fd, i, buf, mem);
			((uint32_t *)buf)[0] = sizes[s];
			ck_assert_msg(mp_ioctl(fd, iocs[i].cmd, buf) == 0,
				      "%s size %u: errno %d", iocs[i].name, sizes[s], errno);
			switch (i) {
			case I_INFO:
				ck_assert_uint_eq(((struct mempin_info_arg *)buf)->abi_version,
						  MEMPIN_ABI_VERSION);
				ck_assert_uint_eq(((struct mempin_info_arg *)buf)->page_size, PG);
				assert_empty(fd);
				break;
			case I_PIN:
				ck_assert_uint_eq(((struct mempin_pin_arg *)buf)->pages, 1);
				ck_assert_uint_ne(((struct mempin_pin_arg *)buf)->handle, 0);
				ASSERT_STATS(fd, 1, 1, 1);
				ASSERT_VMPIN(vm0, 1);
				break;
			case I_PIN_BATCH:
				ck_assert_uint_eq(((struct mempin_batch_arg *)buf)->done, 1);
				ck_assert_uint_ne(fill_range.handle, 0);
				ASSERT_STATS(fd, 1, 1, 1);
				break;
			case I_STATS:
				ck_assert_uint_eq(((struct mempin_stats_arg *)buf)->pins, 0);
				break;
			default:	/* the unpins: the pin made by fill_valid() went */
				assert_empty(fd);
				ASSERT_VMPIN(vm0, 0);
				break;
			}
			fd = reopen(fd);
		}
	}
	xclose(fd);
}
END_TEST

/* ------------------------------------------------------------- EFAULT */

/* Two pages: the first read-write, the second PROT_NONE. */
static char *guard_pair(void)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert(p != MAP_FAILED);
	memset(p, 0, PG);
	ck_assert(mprotect(p + PG, PG, PROT_NONE) == 0);
	return p;
}

START_TEST(efault_arg_unreadable)
{
	int fd = xmp_open();
	char *g = guard_pair();
	char *mem = xmap(PG);
	void *buf = bigbuf();

	for (int i = 0; i < I_NR; i++) {
		ck_assert_msg(mp_ioctl(fd, iocs[i].cmd, NULL) == -EFAULT, "%s NULL",
			      iocs[i].name);
		ck_assert_msg(mp_ioctl(fd, iocs[i].cmd, g + PG) == -EFAULT,
			      "%s PROT_NONE", iocs[i].name);
		ck_assert_msg(mp_ioctl(fd, iocs[i].cmd, (void *)0xffffffff81000000ULL) ==
			      -EFAULT, "%s kernel address", iocs[i].name);
		/* size and flags readable, the rest of the struct is not. */
		fill_valid(fd, i, buf, mem);
		memcpy(g + PG - 8, buf, 8);
		ck_assert_msg(mp_ioctl(fd, iocs[i].cmd, g + PG - 8) == -EFAULT,
			      "%s straddling", iocs[i].name);
		fd = reopen(fd);
	}
	assert_empty(fd);
	xclose(fd);
}
END_TEST

/* Output that cannot be written back: EFAULT, and a PIN is rolled back. */
START_TEST(efault_arg_readonly)
{
	int fd = xmp_open();
	char *mem = xmap(8 * PG);
	char *ro = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b;
	struct mempin_pin_arg *p = (struct mempin_pin_arg *)ro;

	ck_assert(ro != MAP_FAILED);
	memset(ro, 0, PG);
	((struct mempin_info_arg *)ro)->size = sizeof(struct mempin_info_arg);
	ck_assert(mprotect(ro, PG, PROT_READ) == 0);
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_INFO, ro), -EFAULT);
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_STATS, ro), -EFAULT);

	ck_assert(mprotect(ro, PG, PROT_READ | PROT_WRITE) == 0);
	memset(ro, 0, PG);
	p->size = sizeof(*p);
	p->addr = (uintptr_t)mem;
	p->len = 8 * PG;
	ck_assert(mprotect(ro, PG, PROT_READ) == 0);
	kv_pins_read(&a);
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_PIN, ro), -EFAULT);
	kv_pins_read(&b);
	/* The handle could not be returned: nothing may stay pinned. */
	assert_empty(fd);
	ASSERT_VMPIN(vm0, 0);
	ck_assert_uint_eq(KV_ACQ(a, b), KV_REL(a, b));
	xclose(fd);
}
END_TEST

START_TEST(efault_batch_entries)
{
	int fd = xmp_open();
	char *g = guard_pair();
	char *mem = xmap(4 * PG);
	struct mempin_pin_entry *r = (struct mempin_pin_entry *)(g + PG) - 2;
	uint64_t *h = (uint64_t *)(g + PG) - 1;
	struct mempin_batch_arg b;
	struct kv_pins a0, a1;

	/* Unreadable entries pointer: EFAULT, done 0. */
	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.entries = 0;
	b.count = 1;
	b.entry_size = sizeof(*r);
	b.done = 77;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_PIN_BATCH, &b), -EFAULT);
	ck_assert_uint_eq(b.done, 0);
	b.entries = (uintptr_t)(g + PG);
	b.done = 77;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_PIN_BATCH, &b), -EFAULT);
	ck_assert_uint_eq(b.done, 0);
	assert_empty(fd);

	/* Two readable entries, the third in the PROT_NONE page. */
	memset(r, 0, 2 * sizeof(*r));
	r[0].addr = (uintptr_t)mem;
	r[0].len = PG;
	r[1].addr = (uintptr_t)(mem + PG);
	r[1].len = 2 * PG;
	kv_pins_read(&a0);
	b.entries = (uintptr_t)r;
	b.count = 3;
	b.done = 77;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_PIN_BATCH, &b), -EFAULT);
	kv_pins_read(&a1);
	ck_assert_uint_eq(b.done, 2);
	ck_assert_uint_ne(r[0].handle, 0);
	ck_assert_uint_gt(r[1].handle, r[0].handle);
	ASSERT_STATS(fd, 2, 3, 3);
	ck_assert_uint_eq(KV_ACQ(a0, a1), 3);

	/* Unpin: one readable handle, the second unreadable. */
	h[0] = r[0].handle;
	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.entries = (uintptr_t)h;
	b.count = 2;
	b.entry_size = sizeof(*h);
	b.done = 77;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_UNPIN_BATCH, &b), -EFAULT);
	ck_assert_uint_eq(b.done, 1);
	ASSERT_STATS(fd, 1, 2, 2);
	xclose(fd);
}
END_TEST

/* ------------------------------------------------------------- ENOENT */

START_TEST(enoent_unknown_handle)
{
	int fd = xmp_open();
	char *mem = xmap(PG);
	uint64_t h = xpin(fd, mem, PG, 0);
	const uint64_t bad[] = { 0, h + 1, h + 1000, 12345, UINT64_MAX, 1ULL << 63 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (bad[i] != h)
			ck_assert_msg(mp_unpin(fd, bad[i]) == -ENOENT, "handle %llu",
				      (unsigned long long)bad[i]);
	ASSERT_STATS(fd, 1, 1, 1);
	xunpin(fd, h);
	xclose(fd);
}
END_TEST

START_TEST(enoent_double_unpin)
{
	int fd = xmp_open();
	char *mem = xmap(2 * PG);
	uint64_t h = xpin(fd, mem, PG, 0);

	xpin(fd, mem + PG, PG, 0);
	xunpin(fd, h);
	ck_assert_int_eq(mp_unpin(fd, h), -ENOENT);
	ck_assert_int_eq(mp_unpin_range(fd, mem + PG, PG), 0);
	ck_assert_int_eq(mp_unpin_range(fd, mem + PG, PG), -ENOENT);
	assert_empty(fd);
	xclose(fd);
}
END_TEST

START_TEST(enoent_range_mismatch)
{
	int fd = xmp_open();
	char *mem = xmap(4 * PG);

	xpin(fd, mem + 100, 2 * PG, 0);
	ck_assert_int_eq(mp_unpin_range(fd, mem, 2 * PG), -ENOENT);	/* same pages */
	ck_assert_int_eq(mp_unpin_range(fd, mem + 100, 2 * PG - 1), -ENOENT);
	ck_assert_int_eq(mp_unpin_range(fd, mem + 100, 2 * PG + 1), -ENOENT);
	ck_assert_int_eq(mp_unpin_range(fd, mem + 100, PG), -ENOENT);
	ck_assert_int_eq(mp_unpin_range(fd, mem + 101, 2 * PG), -ENOENT);
	ck_assert_int_eq(mp_unpin_range(fd, mem + PG, PG), -ENOENT);
	ASSERT_STATS(fd, 1, 3, 3);
	ck_assert_int_eq(mp_unpin_range(fd, mem + 100, 2 * PG), 0);
	assert_empty(fd);
	xclose(fd);
}
END_TEST

/* A handle of one container means nothing in another. */
START_TEST(enoent_other_container)
{
	int fd1 = xmp_open(), fd2 = xmp_open();
	char *mem = xmap(PG);
	uint64_t h = xpin(fd1, mem, PG, 0);

	ck_assert_int_eq(mp_unpin(fd2, h), -ENOENT);
	ck_assert_int_eq(mp_unpin_range(fd2, mem, PG), -ENOENT);
	ASSERT_STATS(fd1, 1, 1, 1);
	xclose(fd2);
	xclose(fd1);
}
END_TEST

/* ------------------------------------------------------------- ENOMEM */

START_TEST(enomem_max_pin_pages)
{
	int fd = xmp_open();
	struct mempin_info_arg in;
	size_t len;
	char *res;
	struct kv_pins a, b;

	xinfo(fd, &in);
	ck_assert_uint_gt(in.max_pin_pages, 0);
	ck_assert_uint_lt(in.max_pin_pages, 1ULL << 34);
	len = (size_t)(in.max_pin_pages + 1) * PG;
	/* PROT_NONE reservation: the size check (6) comes before the mapping
	 * checks (7), so ENOMEM, not EFAULT; nothing is ever faulted in. */
	res = mmap(NULL, len + PG, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert_msg(res != MAP_FAILED, "reserve %zu: %s", len, strerror(errno));
	kv_pins_read(&a);
	ck_assert_int_eq(mp_pin(fd, res, len, 0, NULL, NULL), -ENOMEM);
	ck_assert_int_eq(mp_pin(fd, res, len, MEMPIN_PIN_READONLY, NULL, NULL), -ENOMEM);
	/* One byte less than max+1 pages but unaligned: still max+1 pages. */
	ck_assert_int_eq(mp_pin(fd, res + 1, len - PG, 0, NULL, NULL), -ENOMEM);
	/* Exactly max_pin_pages: passes the size check, fails on PROT_NONE. */
	ck_assert_int_eq(mp_pin(fd, res, len - PG, 0, NULL, NULL), -EFAULT);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), 0);
	assert_empty(fd);
	munmap(res, len + PG);
	xclose(fd);
}
END_TEST

START_TEST(enomem_max_overlap)
{
	int fd = xmp_open();
	char *mem = xmap(2 * PG);
	struct mempin_info_arg in;
	struct mempin_pin_entry *r;
	unsigned int done, n;
	uint64_t h;

	xinfo(fd, &in);
	ck_assert_uint_gt(in.max_overlap, 0);
	ck_assert_uint_le(in.max_overlap, 65535);
	/* max_overlap + 1 pins of one page: the last overlaps max_overlap. */
	n = (unsigned int)in.max_overlap + 1;
	r = calloc(n, sizeof(*r));
	ck_assert(r);
	for (unsigned int i = 0; i < n; i++) {
		r[i].addr = (uintptr_t)mem;
		r[i].len = PG;
	}
	ck_assert_int_eq(mp_pin_batch(fd, r, n, &done), 0);
	ck_assert_uint_eq(done, n);
	ASSERT_STATS(fd, n, n, n);	/* root: each charged, no limit */
	ck_assert_int_eq(mp_pin(fd, mem, PG, 0, NULL, NULL), -ENOMEM);
	ck_assert_int_eq(mp_pin(fd, mem + 10, 2 * PG, 0, NULL, NULL), -ENOMEM);
	ck_assert_int_eq(mp_pin(fd, mem, PG, MEMPIN_PIN_READONLY, NULL, NULL), -ENOMEM);
	ASSERT_STATS(fd, n, n, n);
	/* Pages next to it are fine; after one unpin the page is too. */
	h = xpin(fd, mem + PG, PG, 0);
	xunpin(fd, h);
	xunpin(fd, r[0].handle);
	xpin(fd, mem, PG, 0);
	free(r);
	xclose(fd);
}
END_TEST

/* --------------------------------------------------------------- INFO */

START_TEST(info_fields)
{
	int fd = xmp_open();
	struct mempin_info_arg in;
	/* Every Debian kernel has cgroups: the budgets are never absent. */
	const uint64_t must = MEMPIN_FEATURE_READONLY | MEMPIN_FEATURE_BATCH |
			      MEMPIN_FEATURE_UNPIN_RANGE |
			      MEMPIN_FEATURE_CGROUP_BUDGETS;
	int cow = kv_kernel_version() >= (6 * 65536 + 2 * 256);

	memset(&in, 0xff, sizeof(in));
	in.size = sizeof(in);
	in.flags = 0;
	ck_assert_int_eq(mp_ioctl(fd, MEMPIN_IOC_INFO, &in), 0);
	ck_assert_uint_eq(in.size, sizeof(in));
	ck_assert_uint_eq(in.abi_version, MEMPIN_ABI_VERSION);
	ck_assert_uint_eq(in.page_size, (uint32_t)sysconf(_SC_PAGESIZE));
	ck_assert_uint_eq(in.features & must, must);
	ck_assert_uint_eq(in.features & ~(must | MEMPIN_FEATURE_READONLY_COW), 0);
	ck_assert_msg(!!(in.features & MEMPIN_FEATURE_READONLY_COW) == cow,
		      "READONLY_COW %d on kernel %#x",
		      !!(in.features & MEMPIN_FEATURE_READONLY_COW), kv_kernel_version());
	ck_assert_uint_ge(in.max_pin_pages, 262144);	/* a 1 GiB pin */
	ck_assert_uint_ge(in.max_overlap, 1);
	ck_assert_uint_eq(in.cap_pages, (uint64_t)kv_param_get("max_pinned_pages"));
	xclose(fd);
}
END_TEST

/* -------------------------------------------------------------- BATCH */

START_TEST(batch_pin_all)
{
	int fd = xmp_open();
	char *mem = xmap(8 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct mempin_pin_entry r[4];
	uint64_t h[4];
	unsigned int done;
	struct kv_pins a, b;

	memset(r, 0, sizeof(r));
	r[0].addr = (uintptr_t)mem;		r[0].len = 2 * PG;
	r[1].addr = (uintptr_t)mem + PG;	r[1].len = 2 * PG;	/* overlaps */
	r[2].addr = (uintptr_t)mem + 5 * PG + 7;	r[2].len = PG;	/* 2 pages */
	r[3].addr = (uintptr_t)mem;		r[3].len = 2 * PG;	/* again */
	kv_pins_read(&a);
	ck_assert_int_eq(mp_pin_batch(fd, r, 4, &done), 0);
	kv_pins_read(&b);
	ck_assert_uint_eq(done, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_ne(r[i].handle, 0);
		if (i)
			ck_assert_uint_gt(r[i].handle, r[i - 1].handle);
		h[i] = r[i].handle;
	}
	/* 2 + 2 + 2 + 2 pages, each pin charging its own, overlaps too. */
	ASSERT_STATS(fd, 4, 8, 8);
	ASSERT_VMPIN(vm0, 8);
	ck_assert_uint_eq(KV_ACQ(a, b), 8);
	ck_assert_int_eq(mp_unpin_batch(fd, h, 4, &done), 0);
	ck_assert_uint_eq(done, 4);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_REL(a, b), 8);
	assert_empty(fd);
	ASSERT_VMPIN(vm0, 0);
	xclose(fd);
}
END_TEST

START_TEST(batch_pin_partial)
{
	int fd = xmp_open();
	char *mem = xmap(8 * PG);
	char *hole = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long vm0 = kv_vmpin_kb(0);
	struct mempin_pin_entry r[5];
	unsigned int done;
	struct kv_pins a, b;

	ck_assert(hole != MAP_FAILED);
	munmap(hole, PG);	/* now certainly unmapped */
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 5; i++) {
		r[i].addr = (uintptr_t)(mem + i * PG);
		r[i].len = PG;
		r[i].handle = 0xabcdef00 + i;	/* must stay for [done, 5) */
	}
	r[2].addr = (uintptr_t)hole;
	kv_pins_read(&a);
	ck_assert_int_eq(mp_pin_batch(fd, r, 5, &done), -EFAULT);
	kv_pins_read(&b);
	ck_assert_uint_eq(done, 2);
	ck_assert_uint_ne(r[0].handle, 0xabcdef00);
	ck_assert_uint_ne(r[0].handle, 0);
	ck_assert_uint_gt(r[1].handle, r[0].handle);
	/* r[2] failed: its handle field may have been cleared; the rest
	 * were not looked at. */
	ck_assert_uint_ne(r[2].handle, r[1].handle);
	ck_assert_uint_eq(r[3].handle, 0xabcdef03);
	ck_assert_uint_eq(r[4].handle, 0xabcdef04);
	ASSERT_STATS(fd, 2, 2, 2);
	ASSERT_VMPIN(vm0, 2);
	ck_assert_uint_eq(KV_ACQ(a, b), 2);

	/* Fix entry 2 and retry from done. */
	r[2].addr = (uintptr_t)(mem + 2 * PG);
	ck_assert_int_eq(mp_pin_batch(fd, &r[done], 5 - done, &done), 0);
	ck_assert_uint_eq(done, 3);
	ck_assert_uint_gt(r[2].handle, r[1].handle);
	ck_assert_uint_gt(r[4].handle, r[3].handle);
	ASSERT_STATS(fd, 5, 5, 5);
	ASSERT_VMPIN(vm0, 5);
	xclose(fd);
	ASSERT_VMPIN(vm0, 0);
}
END_TEST

START_TEST(batch_pin_partial_einval)
{
	int fd = xmp_open();
	char *mem = xmap(4 * PG);
	struct mempin_pin_entry r[3];
	unsigned int done;

	one_page_entries(r, 3, mem);
	r[1].len = 0;
	ck_assert_int_eq(mp_pin_batch(fd, r, 3, &done), -EINVAL);
	ck_assert_uint_eq(done, 1);
	ck_assert_uint_eq(r[2].handle, 0);
	ASSERT_STATS(fd, 1, 1, 1);
	r[1].len = PG;
	r[1].addr = 0xffffffff81000000ULL;	/* kernel address: EFAULT */
	ck_assert_int_eq(mp_pin_batch(fd, &r[1], 2, &done), -EFAULT);
	ck_assert_uint_eq(done, 0);
	ASSERT_STATS(fd, 1, 1, 1);
	xclose(fd);
}
END_TEST

START_TEST(batch_unpin_partial)
{
	int fd = xmp_open();
	char *mem = xmap(4 * PG);
	long vm0 = kv_vmpin_kb(0);
	uint64_t h[4];
	unsigned int done;

	for (int i = 0; i < 4; i++)
		h[i] = xpin(fd, mem + i * PG, PG, 0);
	h[2] = h[3] + 100;	/* unknown; the real h[2] stays pinned */
	ck_assert_int_eq(mp_unpin_batch(fd, h, 4, &done), -ENOENT);
	ck_assert_uint_eq(done, 2);
	/* h[0], h[1] went; the real third pin and h[3] stay. */
	ASSERT_STATS(fd, 2, 2, 2);
	ASSERT_VMPIN(vm0, 2);
	ck_assert_int_eq(mp_unpin(fd, h[0]), -ENOENT);
	ck_assert_int_eq(mp_unpin_batch(fd, &h[3], 1, &done), 0);
	ck_assert_uint_eq(done, 1);
	ASSERT_STATS(fd, 1, 1, 1);
	ck_assert_int_eq(mp_unpin_range(fd, mem + 2 * PG, PG), 0);
	assert_empty(fd);
	ASSERT_VMPIN(vm0, 0);
	xclose(fd);
}
END_TEST

START_TEST(batch_unpin_duplicate)
{
	int fd = xmp_open();
	char *mem = xmap(2 * PG);
	uint64_t h[3];
	unsigned int done;

	h[0] = xpin(fd, mem, PG, 0);
	h[2] = xpin(fd, mem + PG, PG, 0);
	h[1] = h[0];
	ck_assert_int_eq(mp_unpin_batch(fd, h, 3, &done), -ENOENT);
	ck_assert_uint_eq(done, 1);
	ASSERT_STATS(fd, 1, 1, 1);
	xclose(fd);
}
END_TEST

START_TEST(batch_count_zero)
{
	int fd = xmp_open();
	unsigned int done;

	ck_assert_int_eq(mp_pin_batch(fd, NULL, 0, &done), 0);
	ck_assert_uint_eq(done, 0);
	ck_assert_int_eq(mp_unpin_batch(fd, NULL, 0, &done), 0);
	ck_assert_uint_eq(done, 0);
	assert_empty(fd);
	xclose(fd);
}
END_TEST

/* ------------------------------------------------------------- dmesg */

static void child_eperm_burst(struct chan *ch, void *arg)
{
	int fd = *(int *)arg;
	struct mempin_stats_arg st;

	for (int i = 0; i < 50; i++)
		CREQ_EQ(ch, mp_stats(fd, &st), -EPERM);
}

START_TEST(dmesg_quiet_after_bad_calls)
{
	int k = kv_kmsg_open();
	int fd = xmp_open();
	char *mem = xmap(4 * PG);
	char *g = guard_pair();
	char *buf = bigbuf();
	char first[1024];
	struct child c;
	struct mempin_pin_entry r[2];
	uint64_t h;
	unsigned int done;
	int n;

	ck_assert_msg(k >= 0, "/dev/kmsg: %s", strerror(-k));
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < I_NR; i++) {
			mp_ioctl(fd, iocs[i].cmd, NULL);
			mp_ioctl(fd, iocs[i].cmd, g + PG);
			fill_valid(fd, i, buf, mem);
			((uint32_t *)buf)[0] = 0;
			mp_ioctl(fd, iocs[i].cmd, buf);
			((uint32_t *)buf)[0] = 8192;
			mp_ioctl(fd, iocs[i].cmd, buf);
			((uint32_t *)buf)[0] = iocs[i].size + 8;
			buf[iocs[i].size + 5] = 1;
			mp_ioctl(fd, iocs[i].cmd, buf);
			fill_valid(fd, i, buf, mem);
			((uint32_t *)buf)[1] = ~0U;
			mp_ioctl(fd, iocs[i].cmd, buf);
		}
		mp_ioctl(fd, _IOWR(MEMPIN_IOC_MAGIC, 0x33, struct mempin_pin_arg), buf);
		mp_pin(fd, mem, 0, 0, NULL, NULL);
		mp_pin(fd, (void *)-PG, 2 * PG, 0, NULL, NULL);
		mp_pin(fd, (void *)0xffffffff81000000ULL, PG, 0, NULL, NULL);
		mp_pin(fd, g + PG, PG, 0, NULL, NULL);
		mp_pin(fd, g, 2 * PG, 0, NULL, NULL);
		mp_pin(fd, NULL, PG, 0, NULL, NULL);
		mp_pin(fd, mem, 1ULL << 40, 0, NULL, NULL);
		mp_unpin(fd, 987654321);
		mp_unpin_range(fd, mem, 3);
		memset(r, 0, sizeof(r));
		r[0].addr = (uintptr_t)mem;
		r[0].len = PG;
		r[1].addr = (uintptr_t)(g + PG);
		r[1].len = PG;
		mp_pin_batch(fd, r, 2, &done);
		h = 55555;
		mp_unpin_batch(fd, &h, 1, &done);
		fd = reopen(fd);
	}
	child_start(&c, child_eperm_burst, &fd);
	CHILD_OK(&c);
	xclose(fd);
	n = kv_kmsg_scan(k, first, sizeof(first));
	ck_assert_msg(n == 0, "%d new kernel log lines, first: %s", n, first);
	close(k);
}
END_TEST

Suite *abi_suite(void)
{
	Suite *s = suite_create("abi");
	TCase *tc;

	tc = TCASE("enotty");
	tcase_add_test(tc, enotty_unknown_nr);
	tcase_add_test(tc, enotty_wrong_size_or_direction);
	tcase_add_test(tc, enotty_other_magic);
	tcase_add_test(tc, enotty_before_eperm);
	suite_add_tcase(s, tc);

	tc = TCASE("einval");
	tcase_add_test(tc, einval_pin_len0);
	tcase_add_test(tc, einval_pin_wrap);
	tcase_add_test(tc, einval_size_too_small);
	tcase_add_test(tc, einval_batch_entry_size);
	tcase_add_test(tc, einval_batch_count);
	tcase_add_test(tc, einval_unpin_fields);
	suite_add_tcase(s, tc);

	tc = TCASE("eopnotsupp");
	tcase_add_test(tc, eopnotsupp_flags);
	tcase_add_test(tc, eopnotsupp_batch_reserved);
	tcase_add_test(tc, eopnotsupp_range_entry);
	tcase_add_test(tc, order_size_flags_len);
	suite_add_tcase(s, tc);

	tc = TCASE("e2big");
	tcase_add_test(tc, e2big_trailing_nonzero);
	tcase_add_test(tc, e2big_zero_trailing_ok);
	suite_add_tcase(s, tc);

	tc = TCASE("efault_arg");
	tcase_add_test(tc, efault_arg_unreadable);
	tcase_add_test(tc, efault_arg_readonly);
	tcase_add_test(tc, efault_batch_entries);
	suite_add_tcase(s, tc);

	tc = TCASE("enoent");
	tcase_add_test(tc, enoent_unknown_handle);
	tcase_add_test(tc, enoent_double_unpin);
	tcase_add_test(tc, enoent_range_mismatch);
	tcase_add_test(tc, enoent_other_container);
	suite_add_tcase(s, tc);

	tc = TCASE("enomem_limits");
	tcase_add_test(tc, enomem_max_pin_pages);
	tcase_add_test(tc, enomem_max_overlap);
	suite_add_tcase(s, tc);

	tc = TCASE("info");
	tcase_add_test(tc, info_fields);
	suite_add_tcase(s, tc);

	tc = TCASE("batch");
	tcase_add_test(tc, batch_pin_all);
	tcase_add_test(tc, batch_pin_partial);
	tcase_add_test(tc, batch_pin_partial_einval);
	tcase_add_test(tc, batch_unpin_partial);
	tcase_add_test(tc, batch_unpin_duplicate);
	tcase_add_test(tc, batch_count_zero);
	suite_add_tcase(s, tc);

	tc = TCASE("dmesg");
	tcase_add_test(tc, dmesg_quiet_after_bad_calls);
	suite_add_tcase(s, tc);
	return s;
}
