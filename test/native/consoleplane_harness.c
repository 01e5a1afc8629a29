/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs runtime/consoleplane.c on the host for test/native/consoleplane.test.ts.
 * Reads scenarios from stdin until EOF, each (little-endian u32 words): the
 * mode (0 transmitq, 1 receiveq), CP_STATE_WORDS console plane words,
 * QUEUE_WORDS words of the queue, the shared region's guest-physical base
 * (low, high), its size, its bytes; in mode 1 then a count of typed bytes
 * and the bytes. For each, calls cp_tx_process() (mode 0) or
 * cp_rx_deliver() (mode 1) on a region of exactly that size (so
 * AddressSanitizer sees any byte outside it) and writes: the result (mode
 * 1: the bytes placed), the notify flag, the DP_INT_STATUS word, the
 * plane's words, the queue's words, the bytes written to the sink (a
 * count, then the bytes), the region.
 */
#include <string.h>
#include "harness_io.h"
#include "consoleplane.h"

static uint8_t *sink_bytes;
static size_t sink_len, sink_cap;

static void sink(const uint8_t *bytes, size_t len)
{
	if (sink_len + len > sink_cap) {
		sink_cap = (sink_len + len) * 2;
		sink_bytes = realloc(sink_bytes, sink_cap);
		if (!sink_bytes)
			exit(2);
	}
	memcpy(sink_bytes + sink_len, bytes, len);
	sink_len += len;
}

int main(void)
{
	for (;;) {
		uint32_t mode, st[CP_STATE_WORDS], q[QUEUE_WORDS], irq[DP_WORDS], hdr[3];
		if (!read_all(&mode, 4))
			return 0;
		if (!read_all(st, sizeof st) || !read_all(q, sizeof q) || !read_all(hdr, sizeof hdr))
			return 2;
		uint8_t *shmem = malloc(hdr[2] ? hdr[2] : 1);
		if (!shmem || !read_all(shmem, hdr[2]))
			return 2;
		uint32_t typed = mode == 1 ? get_u32() : 0;
		uint8_t *bytes = malloc(typed ? typed : 1);
		if (!bytes || !read_all(bytes, typed))
			return 2;
		memset(irq, 0, sizeof irq);
		struct vq vq = { .st = q, .shmem = shmem, .shmem_size = hdr[2], .shmem_base = (uint64_t)hdr[1] << 32 | hdr[0] };
		struct cp_port p = { .st = st, .irq = irq, .rx = vq, .tx = vq };
		bool notify = false;
		sink_len = 0;
		put_u32(mode == 1 ? cp_rx_deliver(&p, bytes, typed, &notify) : (uint32_t)cp_tx_process(&p, sink, &notify));
		free(bytes);
		put_u32(notify);
		put_u32(irq[DP_INT_STATUS]);
		write_all(st, sizeof st);
		write_all(q, sizeof q);
		put_u32((uint32_t)sink_len);
		write_all(sink_bytes ? sink_bytes : (const uint8_t *)"", sink_len);
		write_all(shmem, hdr[2]);
		free(shmem);
	}
}
