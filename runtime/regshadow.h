/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The register shadow: virtio-mmio register reads answered in C, without
 * calling into JS, from values the TypeScript transport keeps current.
 *
 * The transport (src/virtio/mmio.ts) stays the owner of every register. It
 * writes a shadow array (layout: enum rs_word of abi.h, generated from
 * `RegShadowWord` in src/host.ts by scripts/gen-abi.ts)
 * after every change of a register it lets the host answer, and marks in
 * two mask words which control registers (offsets 0x000-0x0fc, virtio 1.2
 * 4.2.2) may be answered: only those whose read has no side effect. The
 * configuration space (offset 0x100 up) is answered from the device's own
 * config bytes, which the transport reads live as well, so it needs no copy.
 *
 * rs_read() answers a READ only when the transport would answer it with no
 * side effect and exactly this value:
 *  - a 4-byte read at a 4-byte aligned control register whose mask bit is set;
 *  - a config read of 1, 2, 4 or 8 bytes aligned to its width and wholly
 *    inside the first RS_CONFIG_LEN bytes of config (little-endian).
 * Anything else (writes, unaligned or odd-width accesses, reserved and
 * write-only registers, InterruptStatus, bytes past the config, any read
 * while RS_CTRL_VALID is clear) returns false: the request goes to JS
 * untouched.
 *
 * Memory ordering: the transport's stores to the shadow and rs_read() run
 * on one CPU, in the backend's main loop (JS is called from it and returns
 * before the next request is taken), so no barrier is needed between them.
 *
 * Pure C over arrays: no hypercalls, no QuickJS, so that the host's own
 * compiler can test it (test/native/regshadow.test.ts).
 */
#ifndef BAOJS_REGSHADOW_H
#define BAOJS_REGSHADOW_H

#include <stdbool.h>
#include <stdint.h>
#include "abi.h"

/* enum rs_word, RS_WORDS, RS_CONTROL_REGS, RS_CTRL_* bits, VIRTIO_MMIO_* offsets: abi.h (scripts/gen-abi.ts). */

/** One transport's shadow as the host holds it. */
struct rs_shadow {
	uint32_t *w;            /**< RS_WORDS words, or NULL: no shadow */
	const uint8_t *config;  /**< the device's configuration space */
	uint32_t config_size;   /**< bytes of `config` */
};

/**
 * Answers a READ of `width` bytes at byte offset `off` of the window from
 * the shadow: true with the value zero-extended into *value (and
 * RS_N_READS counted), or false when JS must answer it. Never reads
 * outside `s->w[0..RS_WORDS)` and `s->config[0..config_size)`.
 */
bool rs_read(const struct rs_shadow *s, uint64_t off, uint32_t width, uint64_t *value);

#endif
