/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's console: polled writes to the PL011 (shared with the backend,
 * which owns the device), a minimal printf, and spinlocks.
 */
#include <stdarg.h>

#include "monitor.h"

/** PL011 data register offset. */
#define UART_DR 0x00
/** PL011 flag register offset. */
#define UART_FR 0x18
/** FR: transmit FIFO full. */
#define UART_FR_TXFF (1u << 5)

/** Serialises whole lines from several CPUs. */
static spinlock_t console_lock_word;

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

/** Nothing to set up: QEMU's PL011 transmits without configuration. */
void console_init(void)
{
}

/** Writes one byte to the PL011, waiting while its FIFO is full. */
void console_putc_raw(char c)
{
    volatile uint32_t *uart = (volatile uint32_t *)PLAT_UART_BASE;
    while (uart[UART_FR / 4] & UART_FR_TXFF) {
    }
    uart[UART_DR / 4] = (uint8_t)c;
}

/** Takes the console lock (for multi-call lines). */
void console_lock(void)
{
    spin_lock(&console_lock_word);
}

/** Releases the console lock. */
void console_unlock(void)
{
    spin_unlock(&console_lock_word);
}

/** Writes a string, turning "\n" into "\r\n". */
static void console_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') {
            console_putc_raw('\r');
        }
        console_putc_raw(*s);
    }
}

/** Writes `v` in base `base`, at least `width` digits (zero padded). */
static void console_putnum(uint64_t v, unsigned base, int width)
{
    char buf[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n < width) {
        buf[n++] = '0';
    }
    while (n) {
        console_putc_raw(buf[--n]);
    }
}

/**
 * Formatted output to the console under the console lock: %s %c %d %u %x
 * with an optional 'l' and zero-padded width (e.g. %016lx).
 */
void console_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    console_lock();
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            if (*fmt == '\n') {
                console_putc_raw('\r');
            }
            console_putc_raw(*fmt);
            continue;
        }
        fmt++;
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        bool is_long = false;
        while (*fmt == 'l') {
            is_long = true;
            fmt++;
        }
        switch (*fmt) {
        case 's':
            console_puts(va_arg(ap, const char *));
            break;
        case 'c':
            console_putc_raw((char)va_arg(ap, int));
            break;
        case 'd': {
            int64_t v = is_long ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (v < 0) {
                console_putc_raw('-');
                v = -v;
            }
            console_putnum((uint64_t)v, 10, width);
            break;
        }
        case 'u':
            console_putnum(is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width);
            break;
        case 'x':
            console_putnum(is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width);
            break;
        case '%':
            console_putc_raw('%');
            break;
        default:
            console_putc_raw('?');
            break;
        }
    }
    console_unlock();
    va_end(ap);
}
