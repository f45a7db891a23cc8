// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD library of mempin-fuzz's failnth phase (failnth.c): arms
 * fail-nth with $MEMPIN_FAILNTH in its constructor, after the dynamic
 * loader has mapped every library, so that the Nth fault site of the
 * program itself fails.  The descriptor stays open: closing it would be a
 * site of its own.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void __attribute__((constructor)) failnth_arm(void)
{
	const char *n = getenv("MEMPIN_FAILNTH");
	int fd;

	if (!n || !*n)
		return;
	fd = open("/proc/thread-self/fail-nth", O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, n, strlen(n)) < 0)
		_exit(126);
}
