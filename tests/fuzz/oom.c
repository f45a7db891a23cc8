// SPDX-License-Identifier: GPL-2.0
/*
 * Phase "oom": a process pins most of the guest's memory and then faults in
 * more until the OOM killer takes it (A); another asks for one pin larger
 * than the memory left, so the OOM kill lands inside GUP (B).  Each time the
 * victim must die of SIGKILL, its container be released, every charge and
 * pin come back, and the memory be free again.  The OOM report in the
 * kernel log is expected; anything else in it is not (kmsg_bad).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t k = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ':') {
			v = strtol(line + k + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void victim(bool inside_gup, int report)
{
	long avail = meminfo_kb("MemAvailable") / 4;	/* pages */
	uint64_t target = inside_gup ? 0 : avail * 3 / 4, pinned = 0, h;
	const uint64_t chunk = 16384;			/* 64 MiB */
	int fd = mp_open();
	char msg[128];

	kv_write_file("/proc/self/oom_score_adj", "1000");
	if (fd < 0)
		_exit(40);
	while (pinned < target) {
		uint64_t n = target - pinned < chunk ? target - pinned : chunk;
		void *m = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (m == MAP_FAILED || mp_pin(fd, m, n * PG, 0, &h, NULL))
			_exit(41);
		pinned += n;
	}
	snprintf(msg, sizeof(msg), "pinned %llu pages, VmPin %ld kB",
		 (unsigned long long)pinned, kv_vmpin_kb(0));
	if (write(report, msg, strlen(msg) + 1) < 0)
		_exit(42);
	if (inside_gup) {
		/* More than is left, not faulted in: GUP faults it, OOM. */
		uint64_t n = avail + 65536;
		void *m = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		int r;

		if (m == MAP_FAILED)
			_exit(43);
		r = mp_pin(fd, m, n * PG, 0, &h, NULL);
		/* Survived: it must have failed cleanly (ENOMEM, EINTR...). */
		_exit(r ? 44 : 45);
	}
	for (;;) {
		char *m = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			continue;
		memset(m, 0x5a, 16 << 20);
	}
}

static int one(bool inside_gup)
{
	long avail0 = meminfo_kb("MemAvailable"), avail1;
	double t0 = now_s();
	char msg[128] = "";
	int p[2], st = 0;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		victim(inside_gup, p[1]);
	}
	close(p[1]);
	if (read(p[0], msg, sizeof(msg) - 1) < 0)
		msg[0] = 0;
	close(p[0]);
	while (waitpid(pid, &st, WNOHANG) == 0 && now_s() - t0 < 600)
		usleep(100000);
	if (now_s() - t0 >= 600) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail("oom %s: no OOM kill in 600 s", inside_gup ? "B" : "A");
		return -1;
	}
	for (int i = 0; i < 50 && kv_refcnt() > 0; i++)
		usleep(100000);
	avail1 = meminfo_kb("MemAvailable");
	say("oom %s: victim %s; it %s after %.1f s; MemAvailable %ld -> %ld MiB, "
	    "refcnt %ld", inside_gup ? "B (inside GUP)" : "A (faulting after pinning)",
	    msg, WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exited", now_s() - t0,
	    avail0 / 1024, avail1 / 1024, kv_refcnt());
	if (!inside_gup && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
		fail("oom A: victim status %#x, not killed by SIGKILL", st);
	/* B: killed, or GUP gave up with an errno (exit 44); never pinned. */
	if (inside_gup && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) &&
	    !(WIFEXITED(st) && WEXITSTATUS(st) == 44))
		fail("oom B: victim status %#x (45: the oversized pin succeeded)", st);
	if (kv_refcnt() != 0)
		fail("oom: refcnt %ld after the victim died", kv_refcnt());
	if (avail1 < avail0 - 128 * 1024)
		fail("oom: MemAvailable %ld MiB after, %ld before: memory not returned",
		     avail1 / 1024, avail0 / 1024);
	return failed() ? -1 : 0;
}

int phase_oom(void)
{
	int64_t before = pins_held(NULL, NULL);

	kv_write_file("/proc/self/oom_score_adj", "-1000");
	if (one(false) == 0) {
		if (pins_held(NULL, NULL) != before)
			fail("oom A: pins held %lld, %lld before",
			     (long long)pins_held(NULL, NULL), (long long)before);
		cap_counter_zero();
	}
	if (!failed())
		one(true);
	kv_write_file("/proc/self/oom_score_adj", "0");
	return failed() ? -1 : 0;
}
