// SPDX-License-Identifier: Apache-2.0
/**
 * QEMU `-M virt` for riscv64 (Bao platform `qemu-riscv64-virt`, built with
 * its PLIC: `make IRQC=PLIC`): 4 harts, RAM at 0x8000_0000 (4 GiB; QEMU's
 * OpenSBI keeps its first 2 MiB), ns16550 UART at 0x1000_0000 (PLIC
 * source 10), PLIC at 0x0c00_0000 (the S-mode context of hart h is
 * 2h + 1), a 10 MHz `time` CSR (QEMU `hw/riscv/virt.c` memory map and
 * device tree).
 *
 * System: the same parts as on qemu-aarch64-virt, moved above OpenSBI and
 * Bao (which QEMU loads at 0x8020_0000): the Linux frontend's RAM at
 * 0x9000_0000, the baojs backend at 0xa000_0000, its regions at
 * 0xa200_0000, a second frontend at 0xc000_0000, the shared regions from
 * 0xd000_0000, above both frontends' RAM (riscv64 Linux ignores memory
 * below the RAM its kernel is loaded in, so a restricted DMA pool there
 * would be unusable); the remio windows at 0x0800_0000 in the frontend (a hole in
 * QEMU virt's map between the platform bus and the PLIC). Passed through to
 * the backend, as on aarch64: the disk `pdisk0` on QEMU's last virtio-mmio
 * transport (0x1000_8000, PLIC source 8) and the uplink's network card on
 * the one before (0x1000_7000, source 7), the first two virtio devices of
 * the command line (qemu/disks.ts).
 * The supervisor timer interrupt is no PLIC source: the firmware counts it
 * as INTID 0, a source number the PLIC never delivers.
 *
 * The backend runs on hart 0 and the frontends on harts 1 and 2: QEMU 7.2
 * with -icount runs the harts in turn, always starting from hart 0, and
 * gives the first one all the time up to the next timer deadline. A
 * frontend that busy-waits for the backend (Linux's virtio console waits
 * for each transmit buffer with interrupts off) would, on hart 0, use it
 * all every round and leave the backend none: the system stopped at the
 * first shell prompt under -icount. With the backend first, it runs
 * whenever it has work (QEMU 8.0 shares the time among the harts).
 */
import type { Platform } from '../src/config/platform.ts';
import { system, type SystemPlacement } from './system.ts';

export const placement: SystemPlacement = {
  frontendRam: 0x90000000, backendRam: 0xa0000000, backendRegions: 0xa2000000, shmem: 0xd0000000, windows: 0x08000000,
  frontend2Ram: 0xc0000000,
  cpus: { backend: 0, frontend: 1, frontend2: 2 },
  passthroughDisk: { base: 0x10008000, intid: 8 },
  passthroughNic: { base: 0x10007000, intid: 7 },
};

export const platform: Platform = {
  name: 'qemu-riscv64-virt',
  machine: {
    arch: 'riscv64',
    cpus: 4,
    qemuCpu: 'rv64',
    ram: { base: 0x80000000, size: 0x100000000 },
    plic: { base: 0x0c000000 },
    timebaseHz: 10_000_000,
    uart: { base: 0x10000000, size: 0x1000, intid: 10, kind: 'ns16550' },
    timerIntid: 0,
  },
  ...system(placement),
};

export default platform;
