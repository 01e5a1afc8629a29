/* SPDX-License-Identifier: Apache-2.0 */
/* The two C library routines the compiler may call on its own (structure copies and clears). */
#include <stddef.h>

/** Fills `n` bytes at `s` with `c`. */
void *memset(void *s, int c, size_t n)
{
    unsigned char *p = s;
    while (n--) {
        *p++ = (unsigned char)c;
    }
    return s;
}

/** Copies `n` bytes from `src` to `dst` (no overlap). */
void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}
