/* SPDX-License-Identifier: Apache-2.0 */
/* PL011 console (Arm PrimeCell UART (PL011) TRM, DDI 0183): polled TX, interrupt-driven RX into a ring. */
#include "firmware.h"
#include "platform.h"

#ifdef PLAT_UART_PL011

#define UART_DR   0x000
#define UART_FR   0x018
#define UART_IMSC 0x038
#define UART_ICR  0x044
#define UART_CR   0x030
#define FR_TXFF   (1u << 5)
#define FR_RXFE   (1u << 4)
#define IMSC_RXIM (1u << 4)
#define IMSC_RTIM (1u << 6)

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

void uart_rx_drain(void)
{
	/* Clear first, then drain: a byte that arrives after the last read
	 * raises the interrupt again. (Clearing after the drain would drop the
	 * interrupt of such a byte, and the UART would never signal again.) */
	*uart_reg(UART_ICR) = IMSC_RXIM | IMSC_RTIM;
	while (!(*uart_reg(UART_FR) & FR_RXFE))
		console_rx_push((uint8_t)*uart_reg(UART_DR));
}

#endif /* PLAT_UART_PL011 */
