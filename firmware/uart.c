/* SPDX-License-Identifier: Apache-2.0 */
/* PL011 console (Arm PrimeCell UART (PL011) TRM, DDI 0183): polled TX, interrupt-driven RX into a ring. */
#include "firmware.h"
#include "platform.h"

#define UART_DR   0x000
#define UART_FR   0x018
#define UART_IMSC 0x038
#define UART_ICR  0x044
#define UART_CR   0x030
#define FR_TXFF   (1u << 5)
#define FR_RXFE   (1u << 4)
#define IMSC_RXIM (1u << 4)
#define IMSC_RTIM (1u << 6)

#define RX_RING 1024

static volatile uint8_t rx_ring[RX_RING];
static volatile unsigned rx_head, rx_tail; /* head: written by IRQ, tail: by main loop */

static inline volatile uint32_t *uart_reg(unsigned off)
{
	return (volatile uint32_t *)(PLAT_UART_BASE + off);
}

void uart_init(void)
{
	/* The boot loader or QEMU left the UART enabled at its line settings: keep them. */
	*uart_reg(UART_IMSC) = IMSC_RXIM | IMSC_RTIM;
}

void uart_putc(char c)
{
	while (*uart_reg(UART_FR) & FR_TXFF)
		;
	*uart_reg(UART_DR) = (uint8_t)c;
}

void uart_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

void uart_rx_drain(void)
{
	while (!(*uart_reg(UART_FR) & FR_RXFE)) {
		uint8_t c = (uint8_t)*uart_reg(UART_DR);
		unsigned next = (rx_head + 1) % RX_RING;
		if (next != rx_tail) { /* full: drop the byte */
			rx_ring[rx_head] = c;
			rx_head = next;
		}
	}
	*uart_reg(UART_ICR) = IMSC_RXIM | IMSC_RTIM;
}

size_t uart_read(uint8_t *buf, size_t max)
{
	size_t n = 0;
	while (n < max && rx_tail != rx_head) {
		buf[n++] = rx_ring[rx_tail];
		rx_tail = (rx_tail + 1) % RX_RING;
	}
	return n;
}
