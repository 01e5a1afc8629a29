// SPDX-License-Identifier: Apache-2.0
/**
 * Bao's `qemu-aarch64-virt` platform: QEMU `-M virt,gic-version=3 -cpu
 * cortex-a53 -smp 4`, RAM at 0x4000_0000 (4 GiB), PL011 at 0x0900_0000
 * (SPI 1 = INTID 33), GICv3 (GICD 0x0800_0000, GICR 0x080A_0000), virtual
 * timer PPI 27 (QEMU `hw/arm/virt.c` memory map; Bao
 * `src/platform/qemu-aarch64-virt/`).
 *
 * System: the Linux frontend on CPU 0, the baojs backend on CPU 1, a
 * second Linux frontend (`linux2`, RAM at 0x7000_0000) on CPU 2, CPU 3
 * spare; the remio windows sit at 0x0b00_0000 in the frontend (a hole in QEMU virt's
 * map, clear of QEMU's own virtio-mmio transports at 0x0a00_0000); each
 * device's shared region sits at the same address in both VMs.
 *
 * The backend owns one QEMU `virtio-blk-device` (`pdisk0`): QEMU virt's
 * virtio-mmio transports are 32 windows of 0x200 bytes from 0x0a00_0000
 * with SPI 16 + n (INTID 48 + n), filled from the highest index, so the
 * first `-device virtio-blk-device` of the command line is transport 31 at
 * 0x0a00_3e00, INTID 79 (`hw/arm/virt.c`; the runner adds it first).
 */
import type { Platform } from '../src/config/platform.ts';
import { system, type SystemPlacement } from './system.ts';

/** Where this platform puts the system (the GICv2 variant reuses it, without the passthrough devices). */
export const placement: SystemPlacement = {
  frontendRam: 0x40000000, backendRam: 0x50000000, backendRegions: 0x52000000, shmem: 0x60000000, windows: 0x0b000000,
  frontend2Ram: 0x70000000,
  passthroughDisk: { base: 0x0a003e00, intid: 79 },
  passthroughNic: { base: 0x0a003c00, intid: 78 },
};

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
  ...system(placement),
};

export default platform;
