/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Internet checksum's sum (RFC 1071) in C: the accelerator of
 * `onesSum` in src/net/offload.ts, which the switch uses to complete
 * partial checksums and to checksum the segments it cuts from GSO frames
 * (Host.inetSum, runtime/host.c). The TypeScript function stays the
 * reference and the fallback; test/native/inetsum.test.ts compares the two
 * on seeded buffers of every length and alignment.
 *
 * Header-only, pure C: the host's own compiler tests it.
 */
#ifndef BAOJS_INETSUM_H
#define BAOJS_INETSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/**
 * The 16-bit ones' complement sum of the big-endian words of p[0..n), an
 * odd last byte padded with a zero byte, folded to 0..0xffff (not
 * complemented). Summed in the CPU's byte order 32 bits at a time and
 * swapped once at the end (RFC 1071 2(B): the sum is independent of byte
 * order up to a swap).
 */
static inline uint32_t inet_sum(const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	for (; n >= 16; p += 16, n -= 16) {
		uint32_t w[4];
		memcpy(w, p, 16);
		s += (uint64_t)w[0] + w[1] + w[2] + w[3];
	}
	for (; n >= 4; p += 4, n -= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		s += w;
	}
	if (n >= 2) {
		uint16_t h;
		memcpy(&h, p, 2);
		s += h;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t t[2] = { p[0], 0 };
		uint16_t h;
		memcpy(&h, t, 2);
		s += h;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = ((s & 0xff) << 8) | (s >> 8);
#endif
	return (uint32_t)s;
}

#endif
