/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs runtime/dataplane.c on the host for test/native/dataplane.test.ts.
 * Reads scenarios from stdin until EOF, each: DP_WORDS u32 state words,
 * u32 shared-region size, u32 disk size, the region's bytes, the disk's
 * bytes (little-endian). For each, calls dp_blk_process() on buffers of
 * exactly those sizes (so AddressSanitizer sees any byte outside them) and
 * writes: u32 result, u32 notify, the state words, the region, the disk.
 */
#include <stdint.h>
#include "harness_io.h"
#include "dataplane.h"

int main(void)
{
	for (;;) {
		uint32_t st[DP_WORDS], sizes[2];
		if (!read_all(st, sizeof st))
			return 0;
		if (!read_all(sizes, sizeof sizes))
			return 2;
		uint8_t *shmem = malloc(sizes[0] ? sizes[0] : 1), *disk = malloc(sizes[1] ? sizes[1] : 1);
		if (!shmem || !disk || !read_all(shmem, sizes[0]) || !read_all(disk, sizes[1]))
			return 2;
		struct dp_blk d = { .st = st, .shmem = shmem, .shmem_size = sizes[0], .disk = disk, .disk_size = sizes[1] };
		bool notify = false;
		uint32_t out[2] = { (uint32_t)dp_blk_process(&d, &notify), notify };
		write_all(out, sizeof out);
		write_all(st, sizeof st);
		write_all(shmem, sizes[0]);
		write_all(disk, sizes[1]);
		free(shmem);
		free(disk);
	}
}
