/* SPDX-License-Identifier: Apache-2.0 */
/*
 * printf of the firmware code a native harness links (built with
 * -Dprintf=test_printf): its log lines go to stderr, since stdout carries
 * the harness's binary log.
 */
#include <stdarg.h>
#include <stdio.h>

int test_printf(const char *fmt, ...);

int test_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vfprintf(stderr, fmt, ap);
	va_end(ap);
	return n;
}
