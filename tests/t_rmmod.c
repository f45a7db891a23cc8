// SPDX-License-Identifier: GPL-2.0
/*
 * Runs last.  First: after every other suite, nothing is left pinned and no
 * container is open.  Then the module refuses to unload while a container
 * is open, unloads once it is closed, and is loaded again ($MEMPIN_MODULE)
 * with /dev/mempin given back to root:1000 0660.  Cgroup rules, which hold
 * their nodes with no container open, go with the module.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "checked.h"
#include "suites.h"

static int delete_module(void)
{
	return syscall(SYS_delete_module, "mempin", O_NONBLOCK) ? -errno : 0;
}

/* Only where the guest says which module to load ($MEMPIN_MODULE). */
static int load_module(void)
{
	const char *path = getenv("MEMPIN_MODULE");
	int fd, r;

	if (!path || !*path)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return r;
}

static int fix_dev(void)
{
	if (chown(MEMPIN_DEV, 0, 1000) || chmod(MEMPIN_DEV, 0660))
		return -errno;
	return 0;
}

/* Unchecked teardown: whatever happened, leave the module loaded and the
 * device usable for whatever runs after. */
static void ensure_loaded(void)
{
	if (!getenv("MEMPIN_MODULE"))
		return;		/* not in the test guest */
	if (!kv_module_loaded())
		load_module();
	fix_dev();
}

START_TEST(suite_left_nothing_pinned)
{
	struct kv_pins p;

	kv_pins_read(&p);
	ck_assert_msg(p.acquired == p.released,
		      "nr_foll_pin_acquired %llu != nr_foll_pin_released %llu",
		      (unsigned long long)p.acquired, (unsigned long long)p.released);
	ck_assert_int_eq(kv_refcnt(), 0);
}
END_TEST

START_TEST(rmmod_busy_while_open)
{
	int fd = xmp_open();
	char *mem = xmap(PG);
	int r;

	xpin(fd, mem, PG, 0);
	ck_assert_int_eq(kv_refcnt(), 1);
	r = delete_module();
	ck_assert_msg(r == -EWOULDBLOCK || r == -EBUSY, "delete_module: %d (%s)", r,
		      strerror(-r));
	ck_assert(kv_module_loaded());
	/* The container still works. */
	ASSERT_STATS(fd, 1, 1, 1);
	xpin(fd, mem, PG, 0);
	xclose(fd);
	ck_assert_int_eq(kv_refcnt(), 0);
}
END_TEST

START_TEST(rmmod_after_close_then_reload)
{
	struct kv_pins p;
	struct mempin_info_arg in;
	struct stat st;
	char *mem = xmap(PG);
	int fd, r;

	ck_assert_msg(getenv("MEMPIN_MODULE"), "MEMPIN_MODULE is not set: "
		      "cannot load the module again");
	fd = xmp_open();
	xpin(fd, mem, PG, 0);
	xclose(fd);
	ck_assert_int_eq(kv_refcnt(), 0);
	r = delete_module();
	ck_assert_msg(r == 0, "delete_module: %s", strerror(-r));
	ck_assert(!kv_module_loaded());
	ck_assert_int_lt(mp_open(), 0);
	kv_pins_read(&p);
	ck_assert_uint_eq(p.acquired, p.released);

	r = load_module();
	ck_assert_msg(r == 0, "finit_module %s: %s", getenv("MEMPIN_MODULE"),
		      strerror(-r));
	ck_assert(kv_module_loaded());
	ck_assert_int_eq(kv_refcnt(), 0);
	ck_assert_int_eq(kv_param_get("max_pinned_pages"), 0);
	ck_assert_int_eq(fix_dev(), 0);
	ck_assert_int_eq(stat(MEMPIN_DEV, &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_gid, 1000);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	fd = xmp_open();
	ck_assert_int_eq(kv_refcnt(), 1);
	xinfo(fd, &in);
	ck_assert_uint_eq(in.abi_version, MEMPIN_ABI_VERSION);
	xpin(fd, mem, PG, 0);
	ASSERT_STATS(fd, 1, 1, 1);
	xclose(fd);
	ck_assert_int_eq(kv_refcnt(), 0);
}
END_TEST

#define CGROOT	"/sys/fs/cgroup"
#define CG	CGROOT "/mprm"
#define CG_CTL	"/sys/class/misc/mempin/cgroup"

/* The node directory of cgroup @path exists (its id is its inode). */
static int node_exists(const char *path)
{
	char dir[128];
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	snprintf(dir, sizeof(dir), CG_CTL "/%llu", (unsigned long long)st.st_ino);
	return stat(dir, &st) == 0;
}

/*
 * Rules are all that holds a node once no container is open: rmmod drops
 * them (the debug kernels' kmemleak scan and the guest's log check say
 * nothing leaked), and the module loaded again has none.
 */
START_TEST(rmmod_drops_cgroup_rules)
{
	int r;

	ck_assert_msg(getenv("MEMPIN_MODULE"), "MEMPIN_MODULE is not set");
	if (access(CGROOT "/cgroup.controllers", F_OK))
		ck_assert_int_eq(mount("cgroup2", CGROOT, "cgroup2", 0, NULL), 0);
	ck_assert(mkdir(CG, 0755) == 0 || errno == EEXIST);
	ck_assert(mkdir(CG "/c", 0755) == 0 || errno == EEXIST);
	ck_assert_int_eq(kv_write_file(CG_CTL "/set", "/mprm 1M each-child"), 0);
	ck_assert_int_eq(kv_write_file(CG_CTL "/set", "/mprm/c 64K rlimit"), 0);
	ck_assert(node_exists(CG) && node_exists(CG "/c"));
	ck_assert_int_eq(kv_refcnt(), 0);
	r = delete_module();
	ck_assert_msg(r == 0, "delete_module: %s", strerror(-r));
	r = load_module();
	ck_assert_msg(r == 0, "finit_module: %s", strerror(-r));
	ck_assert_int_eq(fix_dev(), 0);
	ck_assert(!node_exists(CG) && !node_exists(CG "/c"));
	ck_assert_int_eq(rmdir(CG "/c"), 0);
	ck_assert_int_eq(rmdir(CG), 0);
}
END_TEST

Suite *rmmod_suite(void)
{
	Suite *s = suite_create("rmmod");
	TCase *tc = TCASE("rmmod");

	tcase_add_unchecked_fixture(tc, NULL, ensure_loaded);
	tcase_add_test(tc, suite_left_nothing_pinned);
	tcase_add_test(tc, rmmod_busy_while_open);
	tcase_add_test(tc, rmmod_after_close_then_reload);
	tcase_add_test(tc, rmmod_drops_cgroup_rules);
	suite_add_tcase(s, tc);
	return s;
}
