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
 * they are never used on device memory. On riscv64, GCC splits a load or
 * store it cannot prove aligned into single bytes (its default tuning takes
 * misaligned accesses as slow: many harts trap them to the SBI firmware),
 * which made the 8-byte loops below as slow as the byte loop; there the
 * copies use aligned doublewords, 64 bytes per iteration, when source and
 * destination share their offset within 8 bytes (every block copy of the
 * data plane), and bytes otherwise. The linker takes these before the
 * library's.
 */
#include <stddef.h>
#include <stdint.h>

typedef uint64_t __attribute__((may_alias, aligned(1))) u64u;
typedef uint32_t __attribute__((may_alias, aligned(1))) u32u;

/* Keep GCC from turning the loops below back into calls to themselves. */
#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

#if defined(__riscv)
/** True when `d` and `s` have the same offset within a doubleword (riscv64: aligned copies apply). */
static inline int same_alignment(const void *d, const void *s)
{
	return (((uintptr_t)d ^ (uintptr_t)s) & 7) == 0;
}
#endif

NO_LIBCALL static void copy_forward(uint8_t *d, const uint8_t *s, size_t n)
{
#if defined(__riscv)
	if (!same_alignment(d, s)) {
		while (n--)
			*d++ = *s++;
		return;
	}
	for (; n && ((uintptr_t)d & 7); n--)
		*d++ = *s++;
	uint64_t *d8 = (uint64_t *)d;
	const uint64_t *s8 = (const uint64_t *)s;
	for (; n >= 64; n -= 64, d8 += 8, s8 += 8) {
		uint64_t a = s8[0], b = s8[1], c = s8[2], e = s8[3];
		uint64_t f = s8[4], g = s8[5], h = s8[6], i = s8[7];
		d8[0] = a;
		d8[1] = b;
		d8[2] = c;
		d8[3] = e;
		d8[4] = f;
		d8[5] = g;
		d8[6] = h;
		d8[7] = i;
	}
	for (; n >= 8; n -= 8)
		*d8++ = *s8++;
	d = (uint8_t *)d8;
	s = (const uint8_t *)s8;
	while (n--)
		*d++ = *s++;
	return;
#endif
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
#if defined(__riscv)
	if (same_alignment(d, s)) {
		for (; n && ((uintptr_t)d & 7); n--)
			*--d = *--s;
		uint64_t *d8 = (uint64_t *)d;
		const uint64_t *s8 = (const uint64_t *)s;
		for (; n >= 8; n -= 8)
			*--d8 = *--s8;
		d = (uint8_t *)d8;
		s = (const uint8_t *)s8;
	}
	while (n--)
		*--d = *--s;
	return;
#endif
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
#if defined(__riscv)
	for (; n && ((uintptr_t)d & 7); n--)
		*d++ = (uint8_t)c;
	uint64_t *d8 = (uint64_t *)d;
	for (; n >= 32; n -= 32, d8 += 4) {
		d8[0] = v;
		d8[1] = v;
		d8[2] = v;
		d8[3] = v;
	}
	for (; n >= 8; n -= 8)
		*d8++ = v;
	d = (uint8_t *)d8;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
#endif
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
