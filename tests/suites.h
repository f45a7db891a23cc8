/* SPDX-License-Identifier: GPL-2.0 */
/* The Check suites of mempin-tests, in the order main() runs them. */
#ifndef MEMPIN_TESTS_SUITES_H
#define MEMPIN_TESTS_SUITES_H

#include <check.h>

Suite *abi_suite(void);		/* t_abi.c: errnos, ABI rules, batch */
Suite *charge_suite(void);	/* t_charge.c: VmPin, overlap, rlimit, cap */
Suite *mappings_suite(void);	/* t_mappings.c: THP, hugetlb, shmem, ext4 */
Suite *migrate_suite(void);	/* t_migrate.c: move_pages, compaction */
Suite *lifecycle_suite(void);	/* t_lifecycle.c: fork, munmap, threads */
Suite *lib_suite(void);		/* t_lib.c: libmempin */
Suite *limits_suite(void);	/* t_limits.c: limits under contention */
Suite *budget_suite(void);	/* t_budget.c: budgets under attack */
Suite *cgroup_suite(void);	/* t_cgroup.c: budgets per cgroup */
Suite *observe_suite(void);	/* t_observe.c: fdinfo, sysfs, trace */
Suite *mempinctl_suite(void);	/* t_mempinctl.c: the tool; reloads the module */
Suite *rmmod_suite(void);	/* t_rmmod.c: module unload/reload; last */

/* A test case with a timeout fit for a TCG guest. */
static inline TCase *tcase_slow(const char *name, double seconds)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, seconds);
	return tc;
}
#define TCASE(name) tcase_slow((name), 120)

/* The exec helper of t_lifecycle.c (argv: --exec-eperm FD). */
int exec_eperm_main(int fd);
/* The exec chain of t_budget.c (argv: --budget-exec LEFT UP_W DOWN_R). */
int budget_exec_main(int argc, char **argv);
/* The container holder of t_mempinctl.c ($MEMPIN_TEST_CTL_HOLDER=PIPEFD). */
int ctl_holder_main(const char *pipefd);

#endif
