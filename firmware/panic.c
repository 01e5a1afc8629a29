/* SPDX-License-Identifier: Apache-2.0 */
/* Fatal errors: a line on the console, then power off (the arch's trap code dumps unexpected exceptions). */
#include <stdio.h>
#include <stdarg.h>
#include "firmware.h"
#include "arch.h"

void panic(const char *fmt, ...)
{
	va_list ap;
	arch_irq_mask();
	fputs("baojs: panic: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\nbaojs: exit 1\n", stdout);
	power_off();
}
