/* SPDX-License-Identifier: Apache-2.0 */
/*
 * memcpy, memmove and memset for the firmware, in place of picolibc's
 * size-optimised versions (one byte per loop iteration: about 6 instructions
 * a byte, which made a 4 KiB block copy cost some 25,000 instructions).
 * These move 64 bytes (memcpy, aarch64) or 32 bytes per iteration with
 * general-purpose registers (on aarch64 the firmware core is built with
 * -mgeneral-regs-only; the IRQ path may use them); they are never used on
 * device memory.
 *
 * On aarch64 the doubleword accesses may be unaligned (`word` is an
 * unaligned type): allowed on Normal memory with SCTLR_EL1.A clear, the
 * firmware's MMU set-up. On riscv64, GCC splits an access it cannot prove
 * aligned into single bytes (its default tuning takes misaligned accesses
 * as slow: many harts trap them to the SBI firmware), which made these
 * loops as slow as the byte loop; there `word` is an aligned doubleword:
 * the destination is aligned first, and a copy whose source and
 * destination differ in their offset within 8 bytes goes byte by byte
 * (every block copy of the data plane is aligned). The linker takes these
 * before the library's.
 */
#include <stddef.h>
#include <stdint.h>

#if defined(__riscv)
typedef uint64_t word;
#else
typedef uint64_t __attribute__((may_alias, aligned(1))) word;
#endif

/* Keep GCC from turning the loops below back into calls to themselves. */
#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

/**
 * Whether the doubleword loops may run on `d` and `s` once `d` is aligned:
 * always where unaligned accesses are cheap; on riscv64 when both have the
 * same offset within a doubleword.
 */
static inline int words_ok(const void *d, const void *s)
{
#if defined(__riscv)
	return (((uintptr_t)d ^ (uintptr_t)s) & 7) == 0;
#else
	(void)d;
	(void)s;
	return 1;
#endif
}

/** Copies 32 bytes as four words, all loaded before any is stored (safe for overlapping moves either way). */
static inline __attribute__((always_inline)) void copy32(uint8_t *d, const uint8_t *s)
{
	word a = ((const word *)s)[0], b = ((const word *)s)[1];
	word c = ((const word *)s)[2], e = ((const word *)s)[3];
	((word *)d)[0] = a;
	((word *)d)[1] = b;
	((word *)d)[2] = c;
	((word *)d)[3] = e;
}

/** Bytes to copy or set one at a time before `p` is aligned for `word` (0 where alignment does not matter). */
static inline size_t head_bytes(const void *p, size_t n)
{
#if defined(__riscv)
	size_t h = (8 - ((uintptr_t)p & 7)) & 7;
	return h < n ? h : n;
#else
	(void)p;
	(void)n;
	return 0;
#endif
}

NO_LIBCALL static void copy_forward(uint8_t *d, const uint8_t *s, size_t n)
{
	if (!words_ok(d, s)) {
		while (n--)
			*d++ = *s++;
		return;
	}
	for (size_t h = head_bytes(d, n); h; h--, n--)
		*d++ = *s++;
#if defined(__aarch64__)
	/* 64 bytes per iteration in 10 instructions (4 LDP, 4 STP, the loop):
	 * GCC's version of the loop below takes about 9 per 32 bytes. */
	size_t blocks = n >> 6;
	if (blocks) {
		__asm__ volatile("1:\n\t"
				 "ldp x4, x5, [%[s]], #64\n\t"
				 "ldp x6, x7, [%[s], #-48]\n\t"
				 "ldp x8, x9, [%[s], #-32]\n\t"
				 "ldp x10, x11, [%[s], #-16]\n\t"
				 "stp x4, x5, [%[d]], #64\n\t"
				 "stp x6, x7, [%[d], #-48]\n\t"
				 "stp x8, x9, [%[d], #-32]\n\t"
				 "stp x10, x11, [%[d], #-16]\n\t"
				 "subs %[b], %[b], #1\n\t"
				 "b.ne 1b"
				 : [d] "+r"(d), [s] "+r"(s), [b] "+r"(blocks)
				 :
				 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "cc", "memory");
		n &= 63;
	}
#endif
	while (n >= 32) {
		copy32(d, s);
		d += 32;
		s += 32;
		n -= 32;
	}
	while (n >= 8) {
		*(word *)d = *(const word *)s;
		d += 8;
		s += 8;
		n -= 8;
	}
	while (n--)
		*d++ = *s++;
}

NO_LIBCALL static void copy_backward(uint8_t *d, const uint8_t *s, size_t n)
{
	d += n;
	s += n;
	if (!words_ok(d, s)) {
		while (n--)
			*--d = *--s;
		return;
	}
	/* the end of the destination aligned first (on riscv64) */
	size_t h = 0;
#if defined(__riscv)
	h = (uintptr_t)d & 7;
	if (h > n)
		h = n;
#endif
	for (; h; h--, n--)
		*--d = *--s;
	while (n >= 32) {
		d -= 32;
		s -= 32;
		n -= 32;
		copy32(d, s);
	}
	while (n >= 8) {
		d -= 8;
		s -= 8;
		n -= 8;
		*(word *)d = *(const word *)s;
	}
	while (n--)
		*--d = *--s;
}

NO_LIBCALL void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	copy_forward(dst, src, n);
	return dst;
}

NO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	/* Forward is safe unless the destination starts inside the source. */
	if (d <= s || d >= s + n)
		copy_forward(d, s, n);
	else
		copy_backward(d, s, n);
	return dst;
}

NO_LIBCALL void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	uint64_t v = (uint8_t)c * 0x0101010101010101ULL;
	for (size_t h = head_bytes(d, n); h; h--, n--)
		*d++ = (uint8_t)c;
	while (n >= 32) {
		((word *)d)[0] = v;
		((word *)d)[1] = v;
		((word *)d)[2] = v;
		((word *)d)[3] = v;
		d += 32;
		n -= 32;
	}
	while (n >= 8) {
		*(word *)d = v;
		d += 8;
		n -= 8;
	}
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}
