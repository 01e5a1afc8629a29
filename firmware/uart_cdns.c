/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cadence UART console (Zynq UltraScale+ MPSoC TRM UG1085, "UART
 * Controller"; registers in UG1087): polled TX, RX interrupt on the
 * receive trigger and time-out, bytes kept in a ring for the main loop.
 * The boot loader (or QEMU) configured the line; the firmware keeps it.
 */
#include "firmware.h"
#include "platform.h"

#ifdef PLAT_UART_CDNS

#define CDNS_CR      0x00
#define CDNS_IER     0x08
#define CDNS_ISR     0x14
#define CDNS_RXTOUT  0x1c
#define CDNS_RXWM    0x20
#define CDNS_SR      0x2c
#define CDNS_FIFO    0x30
#define CR_RX_EN     (1u << 2)
#define CR_TX_EN     (1u << 4)
#define SR_RXEMPTY   (1u << 1)
#define SR_TXFULL    (1u << 4)
#define INT_RTRIG    (1u << 0)
#define INT_TIMEOUT  (1u << 8)

static inline volatile uint32_t *uart_reg(unsigned off)
{
	return (volatile uint32_t *)(PLAT_UART_BASE + off);
}

void uart_init(void)
{
	*uart_reg(CDNS_CR) = (*uart_reg(CDNS_CR) & ~0x3cu) | CR_RX_EN | CR_TX_EN;
	*uart_reg(CDNS_RXWM) = 1;
	*uart_reg(CDNS_RXTOUT) = 10;
	*uart_reg(CDNS_ISR) = 0xffffffffu;
	*uart_reg(CDNS_IER) = INT_RTRIG | INT_TIMEOUT;
}

void uart_putc(char c)
{
	while (*uart_reg(CDNS_SR) & SR_TXFULL)
		;
	*uart_reg(CDNS_FIFO) = (uint8_t)c;
}

void uart_rx_drain(void)
{
	/* Clear first, then drain (see uart_pl011.c). */
	*uart_reg(CDNS_ISR) = INT_RTRIG | INT_TIMEOUT;
	while (!(*uart_reg(CDNS_SR) & SR_RXEMPTY))
		console_rx_push((uint8_t)*uart_reg(CDNS_FIFO));
}

#endif /* PLAT_UART_CDNS */
