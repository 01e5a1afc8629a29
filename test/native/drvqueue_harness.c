/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs runtime/drvqueue.h on the host for test/native/drvqueue.test.ts.
 * Reads queues from stdin until EOF, each: DRIVER_QUEUE_WORDS u32 state
 * words, u32 region size, then the region's bytes, the four arrays of
 * Queue Size elements (next u16, chain_count u16, writable f64, tokens
 * f64), then operations of u32 words until 0:
 *   1 count writable_from token(i32) (addr_lo addr_hi len)*count: dq_add, logs [1 ok]
 *   2: dq_kick, logs [2 notify]
 *   3 offset value: a u16 store into the region (the device)
 *   4 offset value: a u32 store into the region (the device)
 *   5: reaps until nothing more or broken, logs [5 n (token(i32) len)*n reason]
 *      (reason 0, or 1 for used.idx too far ahead, 2 for a bad id)
 * Writes the log, [0], then the state words, the arrays and the region.
 * The region is a buffer of exactly its size (ASan).
 */
#include <stdint.h>
#include <string.h>
#include "harness_io.h"
#include "drvqueue.h"

#define put put_u32
#define get get_u32

int main(void)
{
	static uint64_t addrs[65536];
	static uint32_t lens[65536];
	static struct dq_used reaped[65536];
	for (;;) {
		uint32_t st[DRIVER_QUEUE_WORDS], size;
		if (!read_all(st, sizeof st))
			return 0;
		size = get();
		uint32_t n = st[DQ_NUM];
		if (n < 1 || n > 32768)
			return 2;
		uint8_t *dma = malloc(size ? size : 1);
		uint16_t *next = malloc(2 * n), *count = malloc(2 * n);
		double *writable = malloc(8 * n), *tokens = malloc(8 * n);
		if (!dma || !next || !count || !writable || !tokens || !read_all(dma, size) || !read_all(next, 2 * n) ||
		    !read_all(count, 2 * n) || !read_all(writable, 8 * n) || !read_all(tokens, 8 * n))
			return 2;
		struct dq q = { .st = st, .dma = dma, .dma_size = size, .next = next, .chain_count = count, .writable = writable, .tokens = tokens };
		if (!dq_layout_ok(&q))
			return 4;
		for (uint32_t op; (op = get()) != 0;) {
			if (op == 1) {
				uint32_t c = get(), wf = get();
				int32_t token = (int32_t)get();
				if (c > 65536)
					return 2;
				for (uint32_t i = 0; i < c; i++) {
					uint32_t lo = get(), hi = get();
					addrs[i] = (uint64_t)hi << 32 | lo;
					lens[i] = get();
				}
				put(1);
				put(dq_add(&q, addrs, lens, wf, c, token));
			} else if (op == 2) {
				put(2);
				put(dq_kick(&q));
			} else if (op == 3 || op == 4) {
				uint32_t off = get(), v = get();
				if (off > size || (op == 3 ? 2u : 4u) > size - off)
					return 2;
				if (op == 3)
					dq_st16(dma + off, (uint16_t)v);
				else
					dq_st32(dma + off, v);
			} else if (op == 5) {
				uint32_t seen = 0xffffffffu, bad_idx, bad_arg, k = 0, reason = 0;
				for (;;) {
					enum dq_reap_result r = dq_reap_next(&q, &seen, &reaped[k], &bad_idx, &bad_arg);
					if (r == DQ_NONE)
						break;
					if (r != DQ_REAPED) {
						reason = r == DQ_BROKEN_IDX ? 1 : 2;
						break;
					}
					if (++k == 65536)
						return 5;
				}
				put(5);
				put(k);
				for (uint32_t i = 0; i < k; i++) {
					put((uint32_t)(int32_t)reaped[i].token);
					put(reaped[i].len);
				}
				put(reason);
			} else {
				return 3;
			}
		}
		put(0);
		write_all(st, sizeof st);
		write_all(next, 2 * n);
		write_all(count, 2 * n);
		write_all(writable, 8 * n);
		write_all(tokens, 8 * n);
		write_all(dma, size);
		free(dma);
		free(next);
		free(count);
		free(writable);
		free(tokens);
	}
}
