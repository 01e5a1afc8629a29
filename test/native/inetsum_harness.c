/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inet_sum() (runtime/inetsum.h) on records from stdin: u32 alignment
 * (0..7: where in an 8-aligned buffer the bytes start), u32 length, the
 * bytes. Answers one u32 per record: the folded sum.
 */
#include <string.h>
#include "harness_io.h"
#include "inetsum.h"

int main(void)
{
	uint32_t records = get_u32();
	for (uint32_t i = 0; i < records; i++) {
		uint32_t align = get_u32() & 7, len = get_u32();
		uint8_t *raw = malloc((size_t)len + 16);
		if (!raw || !read_all(raw + 8 + align, len))
			return 2;
		/* exactly len bytes readable past the start (ASan sees an overrun of the copy below) */
		uint8_t *p = malloc(len ? len : 1);
		if (!p)
			return 2;
		memcpy(p, raw + 8 + align, len);
		put_u32(inet_sum(p, len));
		/* and at the given misalignment inside a larger buffer */
		put_u32(inet_sum(raw + 8 + align, len));
		free(p);
		free(raw);
	}
	return 0;
}
