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

/** Longest piece of a VM's line held before it is written (bytes). */
#define VM_LINE_MAX 256

/**
 * Each VM's line as it is being written: held until its "\n" so that it
 * reaches the shared UART in one piece, under the lock, instead of a
 * character per trapped store, which another VM's (or the backend's own
 * UART's) output could split. `cont` marks a line already partly written
 * (a piece longer than VM_LINE_MAX, or cut short by a monitor message).
 */
static struct {
    char buf[VM_LINE_MAX];
    unsigned len;
    bool cont;
} vm_line[VM_COUNT];

/** Writes VM `id`'s held piece, prefixed with its name unless a continuation; caller holds the lock. */
static void vm_line_write(unsigned id, bool newline)
{
    if (!vm_line[id].cont) {
        console_puts(vms[id].name);
        console_puts(": ");
    }
    for (unsigned i = 0; i < vm_line[id].len; i++) {
        console_putc_raw(vm_line[id].buf[i]);
    }
    if (newline) {
        console_puts("\n");
    }
    vm_line[id].len = 0;
    vm_line[id].cont = !newline;
}

/**
 * Ends every VM's held partial line (caller holds the lock), so that a
 * monitor message (a FATAL naming the VM's last access, SYSTEM_OFF) follows
 * what the VM had written; the rest of a cut line comes later under its
 * name again.
 */
static void vm_lines_flush(void)
{
    for (unsigned id = 0; id < VM_COUNT; id++) {
        if (vm_line[id].len || vm_line[id].cont) {
            vm_line_write(id, true);
        }
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
    vm_lines_flush();
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
 * goes to the console whole, prefixed with `<vm name>: `, "\n" as "\r\n"
 * ("\r" dropped, as the prefix already starts a line).
 */
void console_vm_putc(struct vm *vm, char c)
{
    unsigned id = vm->id;
    if (c == '\r') {
        return;
    }
    console_lock();
    if (c == '\n') {
        vm_line_write(id, true);
    } else {
        vm_line[id].buf[vm_line[id].len++] = c;
        if (vm_line[id].len == VM_LINE_MAX) {
            vm_line_write(id, false);
        }
    }
    console_unlock();
}
