/* SPDX-License-Identifier: Apache-2.0 */
/* The version string (version.h). */
#include "version.h"

#include <stdio.h>

#include "containarium_version.h" /* CONTAINARIUM_VERSION, from debian/changelog */

const char *ctm_version(void)
{
	return CONTAINARIUM_VERSION;
}

int ctm_print_version(const char *program)
{
	printf("%s %s\n", program, CONTAINARIUM_VERSION);
	return 0;
}
