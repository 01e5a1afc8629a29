/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform's entropy source for host.entropy: the CPU's random number
 * instruction when it has one the firmware uses (arch.h arch_rng_present,
 * arch_rng_read: aarch64 Armv8.5-RNG's RNDR), else timer jitter mixed by
 * SplitMix64 (weak: not for keys).
 */
#include "firmware.h"
#include "arch.h"

bool entropy_is_hardware(void)
{
	return arch_rng_present();
}

uint64_t entropy_word(void)
{
	static uint64_t state;
	if (entropy_is_hardware()) {
		uint64_t v;
		for (int tries = 0; tries < 16; tries++)
			if (arch_rng_read(&v))
				return v;
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
