// SPDX-License-Identifier: GPL-2.0
/*
 * mempin-demo: what a long-term pin buys, shown with the kernel's own
 * numbers.  Two buffers: one mlock()ed, one pinned through libmempin.
 * move_pages() asks the kernel to migrate both to the other NUMA node;
 * the mlocked pages move (new node, new PFN), the pinned ones stay.
 * Needs root (PFNs in /proc/self/pagemap) and two NUMA nodes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mempin.h"

#define NPAGES 8
#define MPOL_MF_MOVE (1 << 1)

static long page_size;

static long vm_pin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static uint64_t pfn_of(const void *addr)
{
	uint64_t entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t off = (off_t)((uintptr_t)addr / page_size) * 8;

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry), off) != sizeof(entry))
		entry = 0;
	close(fd);
	return entry & ((1ULL << 55) - 1);
}

/*
 * What move_pages() writes for no page: the kernel stores a node (>= 0) or
 * a -errno, and leaves every entry of a batch it failed to migrate as it
 * found it (it then returns the number of pages not moved).
 */
#define STATUS_UNSET INT_MIN

/*
 * Node of each page (nodes == NULL) or move them there; status per page,
 * STATUS_UNSET where the kernel said nothing.  Returns what the syscall
 * returned: -1 (errno set), else the number of pages not moved.
 */
static long move_pages(char *buf, const int *nodes, int *status)
{
	void *pages[NPAGES];

	for (int i = 0; i < NPAGES; i++) {
		pages[i] = buf + i * page_size;
		status[i] = STATUS_UNSET;
	}
	return syscall(SYS_move_pages, 0, NPAGES, pages, nodes, status,
		       MPOL_MF_MOVE);
}

/* What the kernel answered to one move_pages() call, as a line. */
static void print_move_result(const char *name, long ret, int err)
{
	if (ret < 0)
		printf("  %s: move_pages failed: %s\n", name, strerror(err));
	else
		printf("  %s: move_pages: %ld of %d pages not moved\n",
		       name, ret, NPAGES);
}

struct snapshot {
	int node[NPAGES];
	uint64_t pfn[NPAGES];
};

static void snap(char *buf, struct snapshot *s)
{
	move_pages(buf, NULL, s->node);
	for (int i = 0; i < NPAGES; i++)
		s->pfn[i] = pfn_of(buf + i * page_size);
}

static int report(const char *name, const struct snapshot *a,
		  const struct snapshot *b, const int *status)
{
	int moved = 0;

	for (int i = 0; i < NPAGES; i++) {
		int m = a->node[i] != b->node[i] || a->pfn[i] != b->pfn[i];

		printf("  %-8s page %d: node %d -> %d, pfn %#9llx -> %#9llx  %s",
		       name, i, a->node[i], b->node[i],
		       (unsigned long long)a->pfn[i],
		       (unsigned long long)b->pfn[i],
		       m ? "MOVED" : "stayed");
		if (status[i] == STATUS_UNSET)
			printf(" (move_pages: no per-page status, its batch failed)");
		else if (status[i] < 0)
			printf(" (move_pages: %s)", strerror(-status[i]));
		printf("\n");
		moved += m;
	}
	return moved;
}

int main(void)
{
	struct snapshot locked_before, locked_after, pinned_before, pinned_after;
	int target[NPAGES], st_locked[NPAGES], st_pinned[NPAGES];
	struct mempin_stats stats;
	struct mempin *mp;
	uint64_t handle;
	char *locked, *pinned;
	int ret, moved_locked, moved_pinned, err_locked, err_pinned;
	long ret_locked, ret_pinned;

	page_size = sysconf(_SC_PAGESIZE);
	locked = mmap(NULL, NPAGES * page_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pinned = mmap(NULL, NPAGES * page_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (locked == MAP_FAILED || pinned == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(locked, 0xaa, NPAGES * page_size);
	memset(pinned, 0x55, NPAGES * page_size);

	printf("mempin demo: %d pages mlock()ed, %d pages pinned with libmempin\n",
	       NPAGES, NPAGES);
	printf("VmPin before pinning: %ld kB\n", vm_pin_kb());
	if (mlock(locked, NPAGES * page_size)) {
		perror("mlock");
		return 1;
	}
	ret = mempin_open(&mp, 0);
	if (!ret)
		ret = mempin_pin(mp, pinned, NPAGES * page_size, 0, &handle);
	if (ret) {
		fprintf(stderr, "mempin: %s\n", strerror(-ret));
		return 1;
	}
	mempin_stats(mp, &stats);
	printf("VmPin after pinning:  %ld kB (mempin: %llu pins, %llu pages charged)\n",
	       vm_pin_kb(), (unsigned long long)stats.pins,
	       (unsigned long long)stats.charged_pages);

	snap(locked, &locked_before);
	snap(pinned, &pinned_before);
	for (int i = 0; i < NPAGES; i++)
		target[i] = !locked_before.node[i];
	printf("\nmove_pages() to the other NUMA node:\n");
	ret_locked = move_pages(locked, target, st_locked);
	err_locked = errno;
	ret_pinned = move_pages(pinned, target, st_pinned);
	err_pinned = errno;
	print_move_result("mlocked", ret_locked, err_locked);
	print_move_result("pinned", ret_pinned, err_pinned);
	snap(locked, &locked_after);
	snap(pinned, &pinned_after);
	moved_locked = report("mlocked", &locked_before, &locked_after, st_locked);
	moved_pinned = report("pinned", &pinned_before, &pinned_after, st_pinned);

	mempin_unpin(mp, handle);
	mempin_close(mp);
	printf("\nVmPin after unpin and close: %ld kB\n", vm_pin_kb());
	printf("\nmlocked pages moved: %d of %d; pinned pages moved: %d of %d\n",
	       moved_locked, NPAGES, moved_pinned, NPAGES);
	if (moved_pinned || moved_locked != NPAGES) {
		printf("demo: UNEXPECTED (a pinned page moved or an mlocked one did not)\n");
		return 1;
	}
	printf("demo: mlock() keeps pages resident; only a long-term pin keeps them in place.\n");
	return 0;
}
