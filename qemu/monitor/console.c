/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's console: a minimal printf over the architecture's
 * console_putc_raw (the platform UART, shared with the backend, which owns
 * it), whole lines under one lock.
 */
#include <stdarg.h>

#include "monitor.h"

/** Serialises whole lines from several CPUs. */
static spinlock_t console_lock_word;

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

/**
 * One character a VM wrote to the monitor's debug UART: each of its lines
 * goes to the console prefixed with `<vm name>: ` (a line open per VM, so
 * that two VMs writing at once keep their own prefixes), "\n" as "\r\n".
 */
void console_vm_putc(struct vm *vm, char c)
{
    static bool line_mid[VM_COUNT];
    console_lock();
    if (!line_mid[vm->id]) {
        for (const char *p = vm->name; *p; p++) {
            console_putc_raw(*p);
        }
        console_putc_raw(':');
        console_putc_raw(' ');
        line_mid[vm->id] = true;
    }
    if (c == '\n') {
        console_putc_raw('\r');
        line_mid[vm->id] = false;
    }
    console_putc_raw(c);
    console_unlock();
}
