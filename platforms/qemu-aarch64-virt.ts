// SPDX-License-Identifier: Apache-2.0
/**
 * Bao's `qemu-aarch64-virt` platform: QEMU `-M virt,gic-version=3 -cpu
 * cortex-a53 -smp 4`, RAM at 0x4000_0000 (4 GiB), PL011 at 0x0900_0000
 * (SPI 1 = INTID 33), GICv3 (GICD 0x0800_0000, GICR 0x080A_0000), virtual
 * timer PPI 27 (QEMU `hw/arm/virt.c` memory map; Bao
 * `src/platform/qemu-aarch64-virt/`).
 *
 * System: the Linux frontend on CPU 0, the baojs backend on CPU 1; the
 * remio windows sit at 0x0b00_0000 in the frontend (a hole in QEMU virt's
 * map, clear of QEMU's own virtio-mmio transports at 0x0a00_0000); each
 * device's shared region sits at the same address in both VMs.
 */
import type { Platform } from '../src/config/platform.ts';

const MiB = 0x100000;
const WINDOWS = 0x0b000000;
const SHMEM = 0x60000000;

export const platform: Platform = {
  name: 'qemu-aarch64-virt',
  machine: {
    arch: 'aarch64',
    cpus: 4,
    qemuCpu: 'cortex-a53',
    ram: { base: 0x40000000, size: 0x100000000 },
    gic: { version: 3, gicd: 0x08000000, gicr: 0x080a0000 },
    uart: { base: 0x09000000, size: 0x1000, intid: 33 },
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
    ram: { base: 0x50000000, size: 16 * MiB },
    stackSize: 256 * 1024,
    heapSize: 8 * MiB,
    regions: [
      { name: 'disk0', base: 0x52000000, size: 64 * MiB },
      { name: 'disk1', base: 0x56000000, size: 4 * MiB },
      { name: 'selftest', base: 0x57000000, size: 0x1000 },
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
