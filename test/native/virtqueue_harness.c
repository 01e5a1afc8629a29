/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs runtime/virtqueue.h on the host for test/native/virtqueue.test.ts.
 * Reads queues from stdin until EOF, each: QUEUE_WORDS u32 state words,
 * u32 region size, u32 base (guest-physical, below 4 GiB), u32 max_segs,
 * u32 batch, then the region's bytes. Serves it as a device does: peek,
 * consume and push each chain (len = (head * 7 + count) & 0xffff), and
 * decide on a notification after every `batch` chains and at the end.
 * Writes a log of u32 words: [1 head count first_writable readable_lo
 * readable_hi writable_lo writable_hi (addr_lo addr_hi len writable)*count
 * empty_after] per chain (empty_after: vq_empty() right after it), [2 notify] per decision, [3] when the ring was empty, [4] at a
 * hand-back (the run stops there; as host.vqPop, also for a chain whose
 * byte totals pass 32 bits), [0] at the end; then the state words and
 * the region. The region is a buffer of exactly its size (ASan).
 */
#include <stdint.h>
#include <string.h>
#include "harness_io.h"
#include "virtqueue.h"

static void put(uint32_t v)
{
	write_all(&v, 4);
}

int main(void)
{
	static struct vq_seg segs[4096];
	for (;;) {
		uint32_t st[QUEUE_WORDS], hdr[4];
		if (!read_all(st, sizeof st))
			return 0;
		if (!read_all(hdr, sizeof hdr) || hdr[2] > 4096 || hdr[3] == 0)
			return 2;
		uint8_t *shmem = malloc(hdr[0] ? hdr[0] : 1);
		if (!shmem || !read_all(shmem, hdr[0]))
			return 2;
		struct vq q = { .st = st, .shmem = shmem, .shmem_size = hdr[0], .shmem_base = hdr[1] };
		if (!vq_layout_ok(&q))
			return 4;
		uint32_t since = 0;
		for (;;) {
			struct vq_chain c = { .seg = segs };
			enum vq_result r = vq_peek(&q, &c, hdr[2]);
			if (r == VQ_EMPTY) {
				put(3);
				break;
			}
			/* as host.vqPop: byte totals past 32 bits go to the reference too */
			if (r == VQ_HANDBACK || c.readable > 0xffffffffu || c.writable > 0xffffffffu) {
				put(4);
				break;
			}
			vq_consume(&q);
			put(1);
			put(c.head);
			put(c.count);
			put(c.first_writable);
			put((uint32_t)c.readable);
			put((uint32_t)(c.readable >> 32));
			put((uint32_t)c.writable);
			put((uint32_t)(c.writable >> 32));
			for (uint32_t i = 0; i < c.count; i++) {
				put((uint32_t)c.seg[i].addr);
				put((uint32_t)(c.seg[i].addr >> 32));
				put(c.seg[i].len);
				put(c.seg[i].writable);
			}
			/* as host.vqPop after the last chain it may take: VQ_POP_DRAINED */
			put(vq_empty(&q));
			vq_push(&q, c.head, (uint32_t)((c.head * 7u + c.count) & 0xffff));
			if (++since == hdr[3]) {
				since = 0;
				put(2);
				put(vq_needs_notification(&q));
			}
		}
		put(2);
		put(vq_needs_notification(&q));
		put(0);
		write_all(st, sizeof st);
		write_all(shmem, hdr[0]);
		free(shmem);
	}
}
