/* SPDX-License-Identifier: Apache-2.0 */
/*
 * memcpy, memmove and memset for the firmware, in place of picolibc's
 * size-optimised versions (one byte per loop iteration: about 6 instructions
 * a byte, which made a 4 KiB block copy cost some 25,000 instructions).
 * These move 64 bytes (memcpy, aarch64) or 32 bytes per iteration with general-purpose registers (on
 * aarch64 the firmware core is built with -mgeneral-regs-only; the IRQ path may use
 * them), relying on unaligned loads and stores being allowed on Normal
 * memory with SCTLR_EL1.A clear (the firmware's MMU set-up; on riscv64
 * they are legal, done by the hart or emulated by the SBI implementation);
 * they are never used on device memory. The linker takes these before the
 * library's.
 */
#include <stddef.h>
#include <stdint.h>

typedef uint64_t __attribute__((may_alias, aligned(1))) u64u;
typedef uint32_t __attribute__((may_alias, aligned(1))) u32u;

/* Keep GCC from turning the loops below back into calls to themselves. */
#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

NO_LIBCALL static void copy_forward(uint8_t *d, const uint8_t *s, size_t n)
{
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
		uint64_t a = ((const u64u *)s)[0], b = ((const u64u *)s)[1];
		uint64_t c = ((const u64u *)s)[2], e = ((const u64u *)s)[3];
		((u64u *)d)[0] = a;
		((u64u *)d)[1] = b;
		((u64u *)d)[2] = c;
		((u64u *)d)[3] = e;
		d += 32;
		s += 32;
		n -= 32;
	}
	while (n >= 8) {
		*(u64u *)d = *(const u64u *)s;
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
	while (n >= 32) {
		d -= 32;
		s -= 32;
		n -= 32;
		uint64_t a = ((const u64u *)s)[0], b = ((const u64u *)s)[1];
		uint64_t c = ((const u64u *)s)[2], e = ((const u64u *)s)[3];
		((u64u *)d)[0] = a;
		((u64u *)d)[1] = b;
		((u64u *)d)[2] = c;
		((u64u *)d)[3] = e;
	}
	while (n >= 8) {
		d -= 8;
		s -= 8;
		n -= 8;
		*(u64u *)d = *(const u64u *)s;
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
	while (n >= 32) {
		((u64u *)d)[0] = v;
		((u64u *)d)[1] = v;
		((u64u *)d)[2] = v;
		((u64u *)d)[3] = v;
		d += 32;
		n -= 32;
	}
	while (n >= 8) {
		*(u64u *)d = v;
		d += 8;
		n -= 8;
	}
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}
