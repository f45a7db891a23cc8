// SPDX-License-Identifier: GPL-2.0
/*
 * mempin-fuzz: see fuzz.h.  Configured by the environment (the guest passes
 * on every MEMPIN_TEST_* variable of the host's make fuzz):
 *   MEMPIN_TEST_FUZZ_SEED        seed (default: from the clock; printed)
 *   MEMPIN_TEST_FUZZ_PHASES      comma list of ioctl,storm,limits,budget,oom
 *                                (the default), memcg (opt-in: see memcg.c),
 *                                failnth (opt-in: see failnth.c)
 *   MEMPIN_TEST_FUZZ_IOCTLS      ioctl phase: fuzzed ioctls (1000000)
 *   MEMPIN_TEST_FUZZ_IOCTL_SECS  ... and seconds at most (120)
 *   MEMPIN_TEST_FUZZ_FROM, _CASES  replay cases [FROM, FROM + CASES) only
 *   MEMPIN_TEST_FUZZ_VERBOSE     print every ioctl case
 *   MEMPIN_TEST_FUZZ_STORM_SECS  (40), _STORM_PROCS (3), _STORM_THREADS (4)
 *   MEMPIN_TEST_FUZZ_LIMIT_SECS  (16)
 *   MEMPIN_TEST_FUZZ_BUDGET_SECS (30), _BUDGET_STEPS (0: no bound; a
 *                                failure prints the steps to replay it)
 * Exit status 0 when every phase passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static bool want(const char *phase)
{
	const char *p = cfg.phases;
	size_t n = strlen(phase);

	while (p && *p) {
		if (!strncmp(p, phase, n) && (p[n] == ',' || !p[n]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(void);
		bool allow_oom;
	} phases[] = {
		{ "ioctl", phase_ioctl, false },
		{ "storm", phase_storm, false },
		{ "limits", phase_limits, false },
		{ "budget", phase_budget, false },
		{ "oom", phase_oom, true },
		{ "memcg", phase_memcg, true },
		{ "failnth", phase_failnth, false },
	};
	static char self[4096];
	unsigned int passed = 0, nfailed = 0;
	double t0 = now_s();
	struct timespec ts;

	if (argc >= 2 && !strcmp(argv[1], "--storm-exec"))
		return storm_exec_child(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "--budget-exec"))
		return budget_exec_child(argc, argv);
	clock_gettime(CLOCK_REALTIME, &ts);
	cfg.seed = env_u64("MEMPIN_TEST_FUZZ_SEED",
			   mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ getpid()));
	cfg.phases = getenv("MEMPIN_TEST_FUZZ_PHASES");
	if (!cfg.phases || !*cfg.phases)
		cfg.phases = "ioctl,storm,limits,budget,oom";
	cfg.ioctls = env_u64("MEMPIN_TEST_FUZZ_IOCTLS", 1000000);
	cfg.ioctl_secs = env_u64("MEMPIN_TEST_FUZZ_IOCTL_SECS", 120);
	cfg.first_case = env_u64("MEMPIN_TEST_FUZZ_FROM", 0);
	cfg.ncases = env_u64("MEMPIN_TEST_FUZZ_CASES", 0);
	cfg.verbose = env_u64("MEMPIN_TEST_FUZZ_VERBOSE", 0);
	cfg.storm_secs = env_u64("MEMPIN_TEST_FUZZ_STORM_SECS", 40);
	cfg.storm_procs = env_u64("MEMPIN_TEST_FUZZ_STORM_PROCS", 3);
	cfg.storm_threads = env_u64("MEMPIN_TEST_FUZZ_STORM_THREADS", 4);
	cfg.limit_secs = env_u64("MEMPIN_TEST_FUZZ_LIMIT_SECS", 16);
	cfg.budget_secs = env_u64("MEMPIN_TEST_FUZZ_BUDGET_SECS", 30);
	cfg.budget_steps = env_u64("MEMPIN_TEST_FUZZ_BUDGET_STEPS", 0);
	if (readlink("/proc/self/exe", self, sizeof(self) - 1) < 0)
		strcpy(self, argv[0]);
	cfg.self = self;
	fail_init();
	say("mempin-fuzz: seed %llu (MEMPIN_TEST_FUZZ_SEED=%llu reruns it), phases %s",
	    (unsigned long long)cfg.seed, (unsigned long long)cfg.seed, cfg.phases);

	static char first[4096];

	for (unsigned int i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		int64_t before;
		double t1 = now_s();
		bool ok, clean;

		if (!want(phases[i].name))
			continue;
		fail_reset();
		phase_kmsg_fd = kv_kmsg_open();
		before = pins_held(NULL, NULL);
		say("=== phase %s ===", phases[i].name);
		ok = phases[i].run() == 0 && !failed();
		clean = phase_end_checks(phases[i].name, phase_kmsg_fd,
					 phases[i].allow_oom, before) == 0;
		ok &= clean && !failed();
		close(phase_kmsg_fd);
		say("=== phase %s: %s in %.1f s ===", phases[i].name,
		    ok ? "PASS" : "FAIL", now_s() - t1);
		if (ok) {
			passed++;
			continue;
		}
		nfailed++;
		if (!first[0])
			snprintf(first, sizeof(first), "%s", fail_msg());
		/* Went on only if nothing leaked and the module reloaded. */
		if (!clean) {
			say("mempin-fuzz: the phase left the kernel unclean: stopping");
			break;
		}
	}
	say("mempin-fuzz: seed %llu, %.1f s",
	    (unsigned long long)cfg.seed, now_s() - t0);
	if (nfailed)
		say("mempin-fuzz: first failure: %s", first);
	say("fuzz: %u passed, %u failed", passed, nfailed);
	return nfailed ? 1 : 0;
}
