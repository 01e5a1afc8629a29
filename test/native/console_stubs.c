/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The console the remio loop's console plane uses (firmware/console.c), for
 * the native harnesses that build runtime/remio.c without one: no UART, no
 * typed byte (none of their device models has a console plane).
 */
#include <stddef.h>
#include <stdint.h>
#include "firmware.h"

void uart_write(const char *s, size_t len)
{
	(void)s;
	(void)len;
}

int console_last_read = -1;

size_t console_peek(uint8_t *buf, size_t max)
{
	(void)buf;
	(void)max;
	return 0;
}

void console_consume(size_t n)
{
	(void)n;
}
