/* SPDX-License-Identifier: Apache-2.0 */
/* The error sentence helper (errmsg.h). */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int ctm_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}
