/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs runtime/regshadow.c on the host for test/native/regshadow.test.ts.
 * Reads states from stdin until EOF, each: RS_WORDS u32 shadow words, u32
 * config size, the config bytes, u32 probe count, then per probe u32
 * offset low, u32 offset high, u32 width (little-endian). For each state,
 * calls rs_read() for every probe on buffers of exactly those sizes (so
 * AddressSanitizer sees any byte outside them) and writes per probe u32
 * answered, u32 value low, u32 value high, then the state's RS_N_READS word.
 */
#include <stdint.h>
#include "harness_io.h"
#include "regshadow.h"

int main(void)
{
	for (;;) {
		uint32_t *w = malloc(RS_WORDS * 4), size, probes;
		if (!w)
			return 2;
		if (!read_all(w, RS_WORDS * 4)) {
			free(w);
			return 0;
		}
		if (!read_all(&size, 4))
			return 2;
		uint8_t *config = malloc(size ? size : 1);
		if (!config || !read_all(config, size) || !read_all(&probes, 4))
			return 2;
		struct rs_shadow s = { .w = w, .config = config, .config_size = size };
		for (uint32_t i = 0; i < probes; i++) {
			uint32_t in[3];
			if (!read_all(in, sizeof in))
				return 2;
			uint64_t v = 0;
			bool ok = rs_read(&s, (uint64_t)in[1] << 32 | in[0], in[2], &v);
			uint32_t out[3] = { ok, (uint32_t)v, (uint32_t)(v >> 32) };
			write_all(out, sizeof out);
		}
		write_all(&w[RS_N_READS], 4);
		free(config);
		free(w);
	}
}
