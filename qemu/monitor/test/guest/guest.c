/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the bare-metal test guests, the same on every architecture (see guest.h). */
#include <stdarg.h>

#include "guest.h"

const struct guest_device guest_devices[GUEST_DEVICE_COUNT] = {PLAT_FRONTEND0_DEVICES};
volatile uint32_t guest_irq_count[256];
/** Checks passed and failed so far. */
static int guest_pass_count, guest_fail_count;

/**
 * Writes one byte to this guest's UART (GUEST_UART: the platform's UART in
 * the backend, the monitor's debug UART in the frontend; both of the
 * platform's kind). PL011: UARTFR.TXFF (bit 5) polled, UARTDR written.
 * ns16550: LSR.THRE (bit 5) polled, THR written, byte registers.
 */
void guest_putc(char c)
{
#if defined(PLAT_UART_NS16550)
    while (!(mmio_ld8(GUEST_UART + 5) & (1u << 5))) {
    }
    mmio_st8(GUEST_UART, (uint8_t)c);
#else
    volatile uint32_t *uart = (volatile uint32_t *)GUEST_UART;
    while (uart[0x18 / 4] & (1u << 5)) {
    }
    uart[0] = (uint8_t)c;
#endif
}

/** Writes `v` in base `base`. */
static void guest_putnum(uint64_t v, unsigned base)
{
    char buf[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n) {
        guest_putc(buf[--n]);
    }
}

/** Minimal printf: %s %d %u %x (with optional l). */
void guest_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            guest_putc(*fmt);
            continue;
        }
        fmt++;
        while (*fmt == 'l') {
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (*s) guest_putc(*s++);
            break;
        }
        case 'd': {
            int64_t v = va_arg(ap, int64_t);
            if (v < 0) {
                guest_putc('-');
                v = -v;
            }
            guest_putnum((uint64_t)v, 10);
            break;
        }
        case 'u':
            guest_putnum(va_arg(ap, uint64_t), 10);
            break;
        case 'x':
            guest_putnum(va_arg(ap, uint64_t), 16);
            break;
        default:
            guest_putc('?');
        }
    }
    va_end(ap);
}

/** Records one check as a TAP line: `ok - name` or `not ok - name: got .. want ..`. */
void guest_check(bool ok, const char *name, uint64_t got, uint64_t want)
{
    if (ok) {
        guest_pass_count++;
        guest_printf("ok - %s\n", name);
    } else {
        guest_fail_count++;
        guest_printf("not ok - %s: got 0x%lx want 0x%lx\n", name, got, want);
    }
}

/** Number of failed checks. */
int guest_failures(void)
{
    return guest_fail_count;
}

/** Number of passed checks. */
int guest_passes(void)
{
    return guest_pass_count;
}

/** Fills `n` bytes at `s` with `c` (the compiler may call it). */
void *memset(void *s, int c, size_t n)
{
    unsigned char *p = s;
    while (n--) *p++ = (unsigned char)c;
    return s;
}

/** Copies `n` bytes (the compiler may call it). */
void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    while (n--) *dp++ = *sp++;
    return d;
}
