/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs runtime/netplane.c on the host for test/native/netplane.test.ts.
 * Reads scenarios from stdin until EOF, each (little-endian u32 words):
 *   ports, fdb entries, seen slots, age ms, now ms, ingress port,
 *   the fdb words, the seen words,
 *   per port: 1 (a network plane port: then its words follow) or 0 (a port
 *   of the switch without one), NP_STATE_WORDS state words, DP_WORDS transport words,
 *   QUEUE_WORDS receiveq words, QUEUE_WORDS transmitq words, the shared
 *   region's guest-physical base (low, high), its size, its bytes.
 * For each, calls np_tx_process() on buffers of exactly those sizes (so
 * AddressSanitizer sees any byte outside them) and writes: the result, the
 * notify mask, the seen words, and per network plane port its four word
 * arrays and its region.
 *
 * With ports = 0xffffffff the scenario is a table lookup instead: fdb
 * entries, the fdb words, a count of MACs and each MAC (high, low); the
 * answer is each one's entry's port and slot (0xffffffff twice if none).
 */
#include <string.h>
#include "harness_io.h"
#include "netplane.h"

static void read_words(uint32_t *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		w[i] = get_u32();
}

int main(void)
{
	for (;;) {
		uint32_t nports;
		if (!read_all(&nports, 4))
			return 0;
		if (nports == 0xffffffffu) {
			uint32_t entries = get_u32();
			uint32_t *fdb = malloc((size_t)entries * NP_FDB_ENTRY_WORDS * 4 + 4);
			if (!fdb)
				return 2;
			read_words(fdb, entries * NP_FDB_ENTRY_WORDS);
			struct np_switch sw = { .fdb = fdb, .fdb_mask = entries - 1 };
			for (uint32_t n = get_u32(); n; n--) {
				uint32_t hi = get_u32(), lo = get_u32();
				const uint32_t *e = np_fdb_find(&sw, hi, lo);
				put_u32(e ? e[NP_FDB_PORT] : 0xffffffffu);
				put_u32(e ? e[NP_FDB_SLOT] : 0xffffffffu);
			}
			free(fdb);
			continue;
		}
		if (nports > NP_PORTS)
			return 2;
		uint32_t entries = get_u32(), slots = get_u32(), age = get_u32(), now = get_u32(), in = get_u32();
		struct np_switch sw;
		memset(&sw, 0, sizeof sw);
		uint32_t *fdb = malloc((size_t)entries * NP_FDB_ENTRY_WORDS * 4 + 4), *seen = malloc((size_t)slots * 4 + 4);
		if (!fdb || !seen)
			return 2;
		read_words(fdb, entries * NP_FDB_ENTRY_WORDS);
		read_words(seen, slots);
		sw = (struct np_switch){ .fdb = fdb, .fdb_mask = entries - 1, .seen = seen, .seen_slots = slots, .age_ms = age };
		uint32_t *words[NP_PORTS];
		uint8_t *shmem[NP_PORTS];
		uint32_t size[NP_PORTS];
		for (uint32_t p = 0; p < nports; p++) {
			words[p] = NULL;
			shmem[p] = NULL;
			if (!get_u32())
				continue;
			uint32_t *w = malloc((NP_STATE_WORDS + DP_WORDS + 2 * QUEUE_WORDS) * 4);
			if (!w)
				return 2;
			read_words(w, NP_STATE_WORDS + DP_WORDS + 2 * QUEUE_WORDS);
			uint64_t base = get_u32();
			base |= (uint64_t)get_u32() << 32;
			size[p] = get_u32();
			shmem[p] = malloc(size[p] ? size[p] : 1);
			if (!shmem[p] || !read_all(shmem[p], size[p]))
				return 2;
			words[p] = w;
			struct np_port *np = &sw.ports[p];
			np->st = w;
			np->irq = w + NP_STATE_WORDS;
			np->rx = (struct vq){ .st = w + NP_STATE_WORDS + DP_WORDS, .shmem = shmem[p], .shmem_size = size[p], .shmem_base = base };
			np->tx = (struct vq){ .st = w + NP_STATE_WORDS + DP_WORDS + QUEUE_WORDS, .shmem = shmem[p], .shmem_size = size[p], .shmem_base = base };
			np->dm = p;
		}
		uint32_t notify = 0;
		put_u32((uint32_t)np_tx_process(&sw, in, now, &notify));
		put_u32(notify);
		write_all(seen, (size_t)slots * 4);
		for (uint32_t p = 0; p < nports; p++) {
			if (!words[p])
				continue;
			write_all(words[p], (NP_STATE_WORDS + DP_WORDS + 2 * QUEUE_WORDS) * 4);
			write_all(shmem[p], size[p]);
			free(words[p]);
			free(shmem[p]);
		}
		free(fdb);
		free(seen);
	}
}
