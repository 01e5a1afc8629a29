/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host test of the firmware's memcpy, memmove and memset (firmware/string.c,
 * built here with its functions renamed fw_*; the test builds it once as
 * for aarch64/the host and once with __riscv defined, the riscv64 paths):
 * every length 0..300 and a few page-sized ones, every source and
 * destination offset 0..15, overlapping moves both ways; each result is
 * compared with a byte loop, and the bytes around the destination must be
 * untouched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

void *fw_memcpy(void *restrict dst, const void *restrict src, size_t n);
void *fw_memmove(void *dst, const void *src, size_t n);
void *fw_memset(void *dst, int c, size_t n);

#define BUF 9000
static uint8_t src[BUF], dst[BUF], want[BUF];
static unsigned passed, failed;

static void fill(uint8_t *b, unsigned seed)
{
	for (size_t i = 0; i < BUF; i++)
		b[i] = (uint8_t)(i * 131u + seed * 7u + (i >> 8));
}

static int same(const char *what, size_t n, size_t so, size_t doff)
{
	for (size_t i = 0; i < BUF; i++) {
		if (dst[i] != want[i]) {
			printf("not ok - %s n %zu src+%zu dst+%zu: byte %zu is %u, want %u\n", what, n, so, doff, i, dst[i], want[i]);
			failed++;
			return 0;
		}
	}
	passed++;
	return 1;
}

static const size_t sizes[] = {4096, 4096 + 13, 8192 - 3, 65 * 64 + 7};

int main(void)
{
	fill(src, 1);
	for (size_t k = 0; k < 301 + sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = k <= 300 ? k : sizes[k - 301];
		for (size_t so = 0; so < 16; so++) {
			for (size_t doff = 0; doff < 16; doff++) {
				fill(dst, 2);
				fill(want, 2);
				for (size_t i = 0; i < n; i++)
					want[64 + doff + i] = src[so + i];
				if (fw_memcpy(dst + 64 + doff, src + so, n) != dst + 64 + doff) {
					printf("not ok - memcpy returns its destination\n");
					failed++;
				}
				same("memcpy", n, so, doff);

				fill(dst, 3);
				fill(want, 3);
				for (size_t i = 0; i < n; i++)
					want[64 + doff + i] = (uint8_t)(0xa5 + so);
				fw_memset(dst + 64 + doff, 0xa5 + (int)so, n);
				same("memset", n, so, doff);

				/* overlapping moves inside one buffer: destination above and below the source */
				for (int dir = 0; dir < 2; dir++) {
					size_t s0 = 100 + so, d0 = dir ? s0 + doff + 1 : s0 - doff - 1;
					fill(dst, 4);
					fill(want, 4);
					uint8_t tmp[BUF];
					for (size_t i = 0; i < n; i++)
						tmp[i] = want[s0 + i];
					for (size_t i = 0; i < n; i++)
						want[d0 + i] = tmp[i];
					fw_memmove(dst + d0, dst + s0, n);
					same(dir ? "memmove up" : "memmove down", n, so, doff);
				}
			}
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed != 0;
}
