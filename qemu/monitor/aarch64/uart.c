/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The aarch64 monitor's console UART (polled writes to the PL011 the
 * backend owns) and its spinlocks (exclusives, WFE while waiting).
 */
#include "aarch64.h"

/** PL011 data register offset. */
#define UART_DR 0x00
/** PL011 flag register offset. */
#define UART_FR 0x18
/** FR: transmit FIFO full. */
#define UART_FR_TXFF (1u << 5)

/** Writes one byte to the PL011, waiting while its FIFO is full. */
void console_putc_raw(char c)
{
    volatile uint32_t *uart = (volatile uint32_t *)PLAT_UART_BASE;
    while (uart[UART_FR / 4] & UART_FR_TXFF) {
    }
    uart[UART_DR / 4] = (uint8_t)c;
}

/** Takes spinlock `l`, spinning with WFE. */
void spin_lock(spinlock_t *l)
{
    uint32_t tmp, one = 1;
    __asm__ volatile("sevl\n"
                     "1: wfe\n"
                     "2: ldaxr %w0, [%1]\n"
                     "cbnz %w0, 1b\n"
                     "stxr %w0, %w2, [%1]\n"
                     "cbnz %w0, 2b\n"
                     : "=&r"(tmp)
                     : "r"(&l->locked), "r"(one)
                     : "memory");
}

/** Releases spinlock `l` and wakes waiters. */
void spin_unlock(spinlock_t *l)
{
    __asm__ volatile("stlr wzr, [%0]\n sev" ::"r"(&l->locked) : "memory");
}

