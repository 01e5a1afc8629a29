/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The main loop's bulk copy: the block data plane's disk <-> shared region
 * copies (runtime/dataplane.c) and host.copy (runtime/host.c). Code that
 * runs in interrupt context uses firmware/string.c, general registers only.
 */
#ifndef BAOJS_BULKCOPY_H
#define BAOJS_BULKCOPY_H

#include <stdint.h>
#include <string.h>

/**
 * Copies `n` bytes from `s` to `d` (the two must not overlap): on aarch64,
 * 128 bytes per iteration through q0-q7 (10 instructions; the main loop
 * runs with IRQs masked, so no handler sees these registers, and they are
 * caller-saved), the tail with memcpy. Elsewhere (riscv64: RV64GC has no
 * vector unit) memcpy, 32 bytes per iteration through general registers
 * (firmware/string.c). With the V extension a vsetvli/vle8/vse8 loop would
 * move up to VLEN * 8 bytes per iteration (LMUL 8: 1 KiB with 128-bit
 * vectors), once sstatus.VS is turned on and the trap entry saves the
 * vector state.
 */
static inline void bulk_copy(uint8_t *d, const uint8_t *s, uint64_t n)
{
#if defined(__aarch64__)
	uint64_t blocks = n >> 7;
	if (blocks) {
		__asm__ volatile("1:\n\t"
				 "ldp q0, q1, [%[s]], #128\n\t"
				 "ldp q2, q3, [%[s], #-96]\n\t"
				 "ldp q4, q5, [%[s], #-64]\n\t"
				 "ldp q6, q7, [%[s], #-32]\n\t"
				 "stp q0, q1, [%[d]], #128\n\t"
				 "stp q2, q3, [%[d], #-96]\n\t"
				 "stp q4, q5, [%[d], #-64]\n\t"
				 "stp q6, q7, [%[d], #-32]\n\t"
				 "subs %[b], %[b], #1\n\t"
				 "b.ne 1b"
				 : [d] "+r"(d), [s] "+r"(s), [b] "+r"(blocks)
				 :
				 : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "cc", "memory");
		n &= 127;
	}
#endif
	memcpy(d, s, n);
}

#endif
