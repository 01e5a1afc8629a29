/* SPDX-License-Identifier: Apache-2.0 */
/* The register shadow (see regshadow.h); virtio 1.2 4.2.2. */
#include <string.h>
#include "regshadow.h"

bool rs_read(const struct rs_shadow *s, uint64_t off, uint32_t width, uint64_t *value)
{
	uint32_t *w = s->w;
	if (!w || !(w[RS_CTRL] & RS_CTRL_VALID))
		return false;
	if (off < VIRTIO_MMIO_CONFIG) {
		/* control registers: aligned 32-bit reads of the registers the mask allows */
		uint32_t i = (uint32_t)off / 4;
		if (width != 4 || (off & 3) || !((w[RS_READABLE_LO + i / 32] >> (i % 32)) & 1))
			return false;
		*value = w[RS_REGS + i];
	} else {
		/* the configuration space: 1, 2, 4 or 8 bytes aligned to their width, inside the config */
		uint64_t c = off - VIRTIO_MMIO_CONFIG;
		uint32_t len = w[RS_CONFIG_LEN] < s->config_size ? w[RS_CONFIG_LEN] : s->config_size;
		if ((width != 1 && width != 2 && width != 4 && width != 8) || (c & (width - 1)) || c > len || width > len - c)
			return false;
		uint64_t v = 0;
		memcpy(&v, s->config + c, width); /* little-endian, as the config bytes are (aarch64, and the test hosts) */
		*value = v;
	}
	w[RS_N_READS]++;
	return true;
}
