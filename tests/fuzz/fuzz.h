/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mempin-fuzz: the hostile-input run of make fuzz (tests/guest/fuzz.sh),
 * one static program run as root in the test guest.  Phases:
 *   ioctl   single-threaded ioctl fuzzer with an exact model (ioctl.c)
 *   storm   processes x threads racing pins against memory changes (storm.c)
 *   limits  two processes racing to the cap and to RLIMIT_MEMLOCK (limits.c)
 *   oom     a pinning process taken by the OOM killer (oom.c)
 *   budget  two users' processes forking, exec'ing, passing containers,
 *           against their budgets (budget.c)
 *   memcg   the module's allocations failing in a squeezed memcg (memcg.c)
 *   failnth every fault-injection site of each operation failing in turn
 *           (failnth.c; needs a fault-injection kernel: make check-debug)
 * After each: nothing pinned or charged anywhere, rmmod, reload, clean log.
 * No dependency on Check: this must keep working when things go wrong.
 */
#ifndef MEMPIN_FUZZ_H
#define MEMPIN_FUZZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/mempin.h>

#include "../rawio.h"

/* ---- configuration (environment MEMPIN_TEST_FUZZ_*, see main.c) ---- */
struct fuzz_cfg {
	uint64_t seed;
	uint64_t ioctls;	/* ioctl phase: ioctl calls at most */
	unsigned int ioctl_secs;	/* ... and seconds at most */
	uint64_t first_case;	/* replay: first case (rounded to a reset) */
	uint64_t ncases;	/* replay: cases; 0 = bounded as above */
	bool verbose;		/* print every call */
	unsigned int storm_secs, storm_procs, storm_threads;
	unsigned int limit_secs;
	unsigned int budget_secs;	/* budget phase: seconds at most */
	uint64_t budget_steps;	/* ... and steps (0: no bound; replays) */
	bool oom;
	const char *phases;	/* comma list, default all */
	const char *self;	/* /proc/self/exe path for exec */
};
extern struct fuzz_cfg cfg;

/* ---- rng: splitmix64, seedable per case so any case replays ---- */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
struct rng {
	uint64_t s;
};
static inline uint64_t rnd(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}
static inline uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}
static inline bool chance(struct rng *r, unsigned int pct)
{
	return below(r, 100) < pct;
}
#define PICK(r, arr) ((arr)[below((r), sizeof(arr) / sizeof((arr)[0]))])

/* ---- reporting ---- */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Records a failure (first one wins, across processes) and goes on. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool failed(void);
/* Next phase: its failures are its own (the summary keeps the first). */
void fail_reset(void);
const char *fail_msg(void);
/* Shared memory for failure reporting; call before forking. */
void fail_init(void);
double now_s(void);

/* ---- raw ioctls and kernel views: ../rawio.h, ../kview.h ---- */
/* nr_foll_pin_acquired - nr_foll_pin_released, INT64_MIN if unreadable. */
int64_t pins_held(uint64_t *acq, uint64_t *rel);

/* /dev/kmsg: where a phase starts; what bad it logged since. */
extern int phase_kmsg_fd;			/* of the running phase */
/* Bad records since kv_kmsg_open (printed); OOM reports allowed if allow_oom. */
int kmsg_bad(int fd, bool allow_oom);

/* Module: rmmod (must succeed), insmod $MEMPIN_MODULE, fix /dev/mempin. */
int module_reload(void);
int module_unload(void);	/* rmmod; 0 or -errno (and fail()) */
int module_load(void);		/* insmod, /dev/mempin as udev sets it */
/* After a phase: all the checks of the issue.  0 if clean. */
int phase_end_checks(const char *phase, int kmsg_fd, bool allow_oom,
		     int64_t pins_before);
/* The global cap counter is zero: with max_pinned_pages = n, n pages pin
 * and n + 1 do not.  Leaves the cap at 0. */
int cap_counter_zero(void);

int phase_ioctl(void);
int phase_storm(void);
int phase_limits(void);
int phase_oom(void);
int phase_memcg(void);
int phase_budget(void);
int phase_failnth(void);
int storm_exec_child(int argc, char **argv);
int budget_exec_child(int argc, char **argv);

#endif
