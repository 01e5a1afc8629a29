/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform's entropy source for host.entropy: Armv8.5-RNG's RNDR when
 * the CPU has it (ID_AA64ISAR0_EL1.RNDR, Arm ARM), else generic
 * timer jitter mixed by SplitMix64 (weak: not for keys).
 */
#include "firmware.h"
#include "arch.h"

/** True when the CPU implements RNDR (ID_AA64ISAR0_EL1.RNDR, Armv8.5-RNG). */
bool entropy_is_hardware(void)
{
	return ((SYSREG_READ(id_aa64isar0_el1) >> 60) & 0xf) != 0;
}

/** One 64-bit word of entropy: RNDR when present, else counter jitter mixed by SplitMix64 (weak). */
uint64_t entropy_word(void)
{
	static uint64_t state;
	if (entropy_is_hardware()) {
		uint64_t v;
		int ok;
		for (int tries = 0; tries < 16; tries++) {
			__asm__ volatile("mrs %0, s3_3_c2_c4_0; cset %w1, ne" : "=r"(v), "=r"(ok) :: "cc");
			if (ok)
				return v;
		}
	}
	/* Weak: the low bits of the counter sampled around a data-dependent delay. */
	for (int i = 0; i < 4; i++) {
		uint64_t t0 = timer_ticks();
		for (volatile unsigned spin = (unsigned)(t0 & 63); spin; spin--)
			;
		state ^= timer_ticks() ^ (t0 << 17);
		uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		state = z ^ (z >> 31);
	}
	return state;
}
