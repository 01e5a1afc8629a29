/* SPDX-License-Identifier: Apache-2.0 */
/* The console above the UART driver: a bare LF to CR LF on output, and the ring of
 * received bytes between the RX interrupt and the main loop. */
#include <stdio.h>
#include "firmware.h"

#define RX_RING 1024

static volatile uint8_t rx_ring[RX_RING];
static volatile unsigned rx_head, rx_tail; /* head: written by the IRQ handler, tail: by the main loop */
static volatile unsigned rx_dropped;         /* bytes that found the ring full (IRQ handler) */
static unsigned rx_dropped_reported;         /* main loop */

int console_last_read = -1;

void uart_write(const char *s, size_t len)
{
	static char prev;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && prev != '\r') /* a terminal's CR LF (e.g. a frontend tty) passes as is */
			uart_putc('\r');
		uart_putc(s[i]);
		prev = s[i];
	}
}

void console_rx_push(uint8_t c)
{
	unsigned next = (rx_head + 1) % RX_RING;
	if (next != rx_tail) {
		rx_ring[rx_head] = c;
		rx_head = next;
	} else {
		rx_dropped++;
	}
}

size_t console_read(uint8_t *buf, size_t max)
{
	unsigned dropped = rx_dropped;
	if (dropped != rx_dropped_reported) {
		printf("baojs: console: %u typed bytes dropped (input ring of %d bytes full)\n",
		       dropped - rx_dropped_reported, RX_RING);
		rx_dropped_reported = dropped;
	}
	size_t n = console_peek(buf, max);
	console_consume(n);
	if (n)
		console_last_read = buf[n - 1];
	return n;
}

size_t console_peek(uint8_t *buf, size_t max)
{
	size_t n = 0;
	for (unsigned t = rx_tail; n < max && t != rx_head; t = (t + 1) % RX_RING)
		buf[n++] = rx_ring[t];
	return n;
}

void console_consume(size_t n)
{
	rx_tail = (unsigned)((rx_tail + n) % RX_RING);
}
