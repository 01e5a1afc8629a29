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

const MiB = 0x100000;
const WINDOWS = 0xa0000000;
const SHMEM = 0x30000000;

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
  frontend: {
    name: 'linux',
    cpus: [0],
    ram: { base: 0x40000000, size: 256 * MiB },
  },
  backend: {
    name: 'baojs',
    cpus: [1],
    ram: { base: 0x20000000, size: 16 * MiB },
    stackSize: 256 * 1024,
    heapSize: 8 * MiB,
    regions: [
      { name: 'disk0', base: 0x22000000, size: 64 * MiB },
      { name: 'disk1', base: 0x26000000, size: 4 * MiB },
      { name: 'selftest', base: 0x27000000, size: 0x1000 },
    ],
  },
  devices: [
    {
      name: 'vda', kind: 'blk', bindKey: 0, dmId: 0, backing: 'disk0',
      window: { base: WINDOWS + 0x000, size: 0x200 },
      backendIntid: 144, frontendIntid: 112,
      shmem: { id: 0, base: SHMEM + 0 * MiB, size: 8 * MiB },
    },
    {
      name: 'hvc0', kind: 'console', bindKey: 1, dmId: 1,
      window: { base: WINDOWS + 0x200, size: 0x200 },
      backendIntid: 145, frontendIntid: 113,
      shmem: { id: 1, base: SHMEM + 8 * MiB, size: 4 * MiB },
      queueNumMax: 64,
    },
    {
      name: 'hwrng', kind: 'rng', bindKey: 2, dmId: 2,
      window: { base: WINDOWS + 0x400, size: 0x200 },
      backendIntid: 146, frontendIntid: 114,
      shmem: { id: 2, base: SHMEM + 12 * MiB, size: 1 * MiB },
    },
    {
      name: 'vdb', kind: 'blk', bindKey: 3, dmId: 3, backing: 'disk1', readOnly: true,
      window: { base: WINDOWS + 0x600, size: 0x200 },
      backendIntid: 147, frontendIntid: 115,
      shmem: { id: 3, base: SHMEM + 13 * MiB, size: 4 * MiB },
    },
  ],
};

export default platform;
