// SPDX-License-Identifier: GPL-2.0
/*
 * mempin-tests: the Check suite of mempin, run as root inside the test guest
 * (tests/guest/).  Select one suite or test case with CK_RUN_SUITE /
 * CK_RUN_CASE (Check's own environment variables).  Exit status 0 only if
 * every test passed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	/* Re-executed by the exec test of t_lifecycle.c. */
	if (argc == 3 && !strcmp(argv[1], "--exec-eperm"))
		return exec_eperm_main(atoi(argv[2]));
	if (argc > 1 && !strcmp(argv[1], "--budget-exec"))
		return budget_exec_main(argc, argv);

	/* Re-executed, with a hostile argv, by the ps test of t_mempinctl.c. */
	if (getenv("MEMPIN_TEST_CTL_HOLDER"))
		return ctl_holder_main(getenv("MEMPIN_TEST_CTL_HOLDER"));

	setvbuf(stdout, NULL, _IOLBF, 0);
	sr = srunner_create(abi_suite());
	srunner_add_suite(sr, charge_suite());
	srunner_add_suite(sr, mappings_suite());
	srunner_add_suite(sr, migrate_suite());
	srunner_add_suite(sr, lifecycle_suite());
	srunner_add_suite(sr, lib_suite());
	srunner_add_suite(sr, limits_suite());
	srunner_add_suite(sr, budget_suite());
	srunner_add_suite(sr, cgroup_suite());
	srunner_add_suite(sr, observe_suite());
	srunner_add_suite(sr, mempinctl_suite());	/* reloads the module */
	srunner_add_suite(sr, rmmod_suite());	/* unloads the module: last */
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
