/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The riscv64 monitor's console UART (polled writes to the ns16550 the
 * backend owns: THR at offset 0, LSR.THRE at offset 5) and its spinlocks
 * (amoswap with acquire/release ordering).
 */
#include "riscv64.h"

/** ns16550 transmit holding register offset. */
#define UART_THR 0
/** ns16550 line status register offset. */
#define UART_LSR 5
/** LSR: transmit holding register empty. */
#define UART_LSR_THRE (1u << 5)

/** Writes one byte to the ns16550, waiting while its transmitter is busy. */
void console_putc_raw(char c)
{
    volatile uint8_t *uart = (volatile uint8_t *)PLAT_UART_BASE;
    while (!(uart[UART_LSR] & UART_LSR_THRE)) {
    }
    uart[UART_THR] = (uint8_t)c;
}

/** Takes spinlock `l`, spinning on a plain load between attempts. */
void spin_lock(spinlock_t *l)
{
    for (;;) {
        uint32_t old;
        __asm__ volatile("amoswap.w.aq %0, %2, (%1)" : "=r"(old) : "r"(&l->locked), "r"(1u) : "memory");
        if (!old) {
            return;
        }
        while (l->locked) {
        }
    }
}

/** Releases spinlock `l`. */
void spin_unlock(spinlock_t *l)
{
    __asm__ volatile("amoswap.w.rl zero, zero, (%0)" ::"r"(&l->locked) : "memory");
}
