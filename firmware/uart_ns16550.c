/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ns16550-compatible console (the 8250 family; QEMU virt's UART, registers
 * one byte apart): polled TX, RX interrupt on received data (IER.ERBFI),
 * bytes kept in a ring for the main loop. The firmware or boot loader
 * before it configured the line; the firmware keeps it.
 */
#include "firmware.h"
#include "platform.h"

#ifdef PLAT_UART_NS16550

#define NS_RBR 0 /* receive buffer (read) */
#define NS_THR 0 /* transmit holding (write) */
#define NS_IER 1
#define NS_FCR 2 /* FIFO control (write) */
#define NS_MCR 4
#define NS_LSR 5
#define IER_ERBFI (1u << 0) /* received data available */
#define FCR_ENABLE_CLEAR 0x07u
#define MCR_DTR_RTS_OUT2 0x0bu /* OUT2 gates the interrupt line on PC-style boards */
#define LSR_DR   (1u << 0)
#define LSR_THRE (1u << 5)

static inline volatile uint8_t *uart_reg(unsigned off)
{
	return (volatile uint8_t *)(PLAT_UART_BASE + off);
}

void uart_init(void)
{
	*uart_reg(NS_FCR) = FCR_ENABLE_CLEAR;
	*uart_reg(NS_MCR) = MCR_DTR_RTS_OUT2;
	*uart_reg(NS_IER) = IER_ERBFI;
}

void uart_putc(char c)
{
	while (!(*uart_reg(NS_LSR) & LSR_THRE))
		;
	*uart_reg(NS_THR) = (uint8_t)c;
}

void uart_rx_drain(void)
{
	/* The interrupt is level: it drops once the receiver is empty. */
	while (*uart_reg(NS_LSR) & LSR_DR)
		console_rx_push(*uart_reg(NS_RBR));
}

#endif /* PLAT_UART_NS16550 */
