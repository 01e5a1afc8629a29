// SPDX-License-Identifier: Apache-2.0
/**
 * Bao's qemu-aarch64-virt system with a GICv2 instead of a GICv3 (QEMU
 * `-M virt,gic-version=2`: GICD 0x0800_0000, GICC 0x0801_0000, GICH
 * 0x0803_0000, GICV 0x0804_0000; `hw/arm/virt.c`). Everything else is the
 * qemu-aarch64-virt description but the passthrough disk and network card; it exists to
 * run the firmware's GICv2 driver on QEMU.
 */
import type { Platform } from '../src/config/platform.ts';
import { platform as gicv3, placement } from './qemu-aarch64-virt.ts';
import { system } from './system.ts';

export const platform: Platform = {
  ...gicv3,
  ...system({ ...placement, passthroughDisk: undefined, passthroughNic: undefined }),
  name: 'qemu-aarch64-virt-gicv2',
  machine: {
    ...gicv3.machine,
    gic: { version: 2, gicd: 0x08000000, gicc: 0x08010000, gich: 0x08030000, gicv: 0x08040000 },
  },
};

export default platform;
