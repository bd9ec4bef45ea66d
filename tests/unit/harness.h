/* SPDX-License-Identifier: Apache-2.0 */
/* Shared main() support for the Check unit tests: run the suites, print
 * Check's summary and a final "N passed, N failed" line for tests/run. */
#ifndef CONTAINARIUM_TEST_HARNESS_H
#define CONTAINARIUM_TEST_HARNESS_H

#include <check.h>

/* Runs every suite in the NULL-terminated list; returns the exit status. */
int ctm_run_suites(Suite **suites);

#endif
