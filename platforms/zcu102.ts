// SPDX-License-Identifier: Apache-2.0
/**
 * Xilinx ZCU102 (Zynq UltraScale+ MPSoC; Bao platform `zcu102`): 4
 * Cortex-A53, GIC-400 (GICv2: GICD 0xF901_0000, GICC 0xF902_0000, GICH
 * 0xF904_0000, GICV 0xF906_0000), Cadence UART0 at 0xFF00_0000 (SPI 21 =
 * INTID 53), DDR low at 0x0 (2 GiB), virtual timer PPI 27 (UG1085 memory
 * map and interrupt table). QEMU models the board as `-M xlnx-zcu102`.
 *
 * System: the frontend on CPU 0, baojs on CPU 1, as on qemu-aarch64-virt;
 * the remio windows sit at 0xA000_0000 in the frontend (the PL's AXI
 * window, unused by a board without a bitstream).
 */
import type { Platform } from '../src/config/platform.ts';
import { system } from './system.ts';

export const platform: Platform = {
  name: 'zcu102',
  machine: {
    arch: 'aarch64',
    cpus: 4,
    qemuCpu: 'cortex-a53',
    qemuMachine: 'xlnx-zcu102',
    ram: { base: 0x00000000, size: 0x80000000 },
    gic: { version: 2, gicd: 0xf9010000, gicc: 0xf9020000, gich: 0xf9040000, gicv: 0xf9060000 },
    uart: { base: 0xff000000, size: 0x1000, intid: 53, kind: 'cdns' },
    timerIntid: 27,
  },
  ...system({ frontendRam: 0x40000000, backendRam: 0x20000000, backendRegions: 0x22000000, shmem: 0x30000000, windows: 0xa0000000 }),
};

export default platform;
