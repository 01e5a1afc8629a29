// SPDX-License-Identifier: Apache-2.0
/**
 * Small platform descriptions for the unit tests: the shape of
 * `platforms/qemu-aarch64-virt.ts` with regions small enough for QuickJS's
 * heap. Three frontend vCPUs share the machine with the backend, so that
 * several requests can be pending at once; the DM ids leave a gap (3 is an
 * unbound entry of Bao's list) to catch code that confuses dm_id with an index.
 */
import { validatePlatform, type Platform } from '../../src/config/platform.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const WINDOWS = 0x0b000000;
const SHMEM = 0x60000000;

/** Options of {@link testPlatform}. */
export interface TestPlatformOptions {
  /** bytes of each device's shared region (default 256 KiB) */
  shmemSize?: number;
  /** bytes of the vda backing (default 1 MiB) */
  diskSize?: number;
  /** QueueNumMax of vda (default: the device's own) */
  blkQueueNumMax?: number;
  /** add vsock0 (vsock, dm 5, guest CID 3) */
  vsock?: boolean;
  /** add gpio0 (gpio, dm 6) */
  gpio?: boolean;
  /** bytes of a backend region `dma0` at 0x5a000000 (DMA memory of a driver of a passthrough device; default none) */
  dmaSize?: number;
  /** add net0, net1, net2 (net, dm 7, 8, 9; MACs 52:54:00:00:00:01..03; 1 MiB shared regions) */
  net?: boolean;
  /**
   * add a virtio-net card passed through to the backend, `uplink0`
   * (window {@link UPLINK_BASE}, INTID {@link UPLINK_INTID}, DMA region
   * `dma:uplink0` of 2 MiB at 0x5b000000): the switch's uplink
   */
  uplink?: boolean;
  /** MTU of the net devices (default: the device's own, 1500) */
  netMtu?: number;
  /** offloads setting of the net devices (default: the device's own, offered) */
  netOffloads?: boolean;
}

/** The window and INTID of the test platform's passthrough network card `uplink0` (QEMU virt's transport 30). */
export const UPLINK_BASE = 0x0a003c00;
export const UPLINK_INTID = 78;

/** The MAC of the test platform's net device `i` (net0: 52:54:00:00:00:01). */
export function testMac(i: number): string {
  return `52:54:00:00:00:0${i + 1}`;
}

/** A validated test platform: vda (blk, dm 0), hwrng (rng, dm 1), hvc0 (console, dm 2), vdb (read-only blk, dm 4), with `vsock` vsock0 (dm 5), with `gpio` gpio0 (dm 6), with `net` net0..net2 (dm 7..9). */
export function testPlatform(options: TestPlatformOptions = {}): Platform {
  const shmem = options.shmemSize ?? 256 * KiB;
  return validatePlatform({
    name: 'sim-test',
    machine: {
      arch: 'aarch64',
      cpus: 4,
      qemuCpu: 'cortex-a53',
      ram: { base: 0x40000000, size: 0x100000000 },
      gic: { version: 3, gicd: 0x08000000, gicr: 0x080a0000 },
      uart: { base: 0x09000000, size: 0x1000, intid: 33 },
      timerIntid: 27,
    },
    frontend: { name: 'frontend', cpus: [0, 1, 2], ram: { base: 0x40000000, size: 256 * MiB } },
    backend: {
      name: 'baojs',
      cpus: [3],
      ram: { base: 0x50000000, size: 16 * MiB },
      stackSize: 256 * KiB,
      heapSize: 8 * MiB,
      regions: [
        { name: 'disk0', base: 0x52000000, size: options.diskSize ?? 1 * MiB },
        { name: 'disk1', base: 0x56000000, size: 64 * KiB },
        ...(options.dmaSize ? [{ name: 'dma0', base: 0x5a000000, size: options.dmaSize }] : []),
        ...(options.uplink ? [{ name: 'dma:uplink0', base: 0x5b000000, size: 2 * MiB }] : []),
      ],
      ...(options.uplink ? { passthrough: [{ name: 'uplink0', kind: 'virtio-net' as const, base: UPLINK_BASE, size: 0x200, intid: UPLINK_INTID, dma: 'dma:uplink0' }] } : {}),
    },
    devices: [
      {
        name: 'vda', kind: 'blk', bindKey: 0, dmId: 0, backing: 'disk0',
        window: { base: WINDOWS + 0x0000, size: 0x200 },
        backendIntid: 144, frontendIntid: 112,
        shmem: { id: 0, base: SHMEM + 0 * MiB, size: shmem },
        queueNumMax: options.blkQueueNumMax,
      },
      {
        name: 'hwrng', kind: 'rng', bindKey: 2, dmId: 1,
        window: { base: WINDOWS + 0x2000, size: 0x200 },
        backendIntid: 146, frontendIntid: 114,
        shmem: { id: 2, base: SHMEM + 2 * MiB, size: shmem },
      },
      {
        name: 'hvc0', kind: 'console', bindKey: 1, dmId: 2,
        window: { base: WINDOWS + 0x1000, size: 0x200 },
        backendIntid: 145, frontendIntid: 113,
        shmem: { id: 1, base: SHMEM + 1 * MiB, size: shmem },
        queueNumMax: 64,
      },
      {
        name: 'vdb', kind: 'blk', bindKey: 3, dmId: 4, backing: 'disk1', readOnly: true,
        window: { base: WINDOWS + 0x3000, size: 0x200 },
        backendIntid: 147, frontendIntid: 115,
        shmem: { id: 3, base: SHMEM + 3 * MiB, size: shmem },
      },
      ...(options.vsock ? [{
        name: 'vsock0', kind: 'vsock' as const, bindKey: 4, dmId: 5, guestCid: 3,
        window: { base: WINDOWS + 0x4000, size: 0x200 },
        backendIntid: 148, frontendIntid: 116,
        shmem: { id: 4, base: SHMEM + 4 * MiB, size: Math.max(shmem, 1 * MiB) },
      }] : []),
      ...(options.gpio ? [{
        name: 'gpio0', kind: 'gpio' as const, bindKey: 5, dmId: 6,
        window: { base: WINDOWS + 0x5000, size: 0x200 },
        backendIntid: 149, frontendIntid: 117,
        shmem: { id: 5, base: SHMEM + 6 * MiB, size: shmem },
      }] : []),
      ...(options.net ? [0, 1, 2].map((i) => ({
        name: `net${i}`, kind: 'net' as const, bindKey: 6 + i, dmId: 7 + i, mac: testMac(i), mtu: options.netMtu, offloads: options.netOffloads,
        window: { base: WINDOWS + 0x6000 + 0x1000 * i, size: 0x200 },
        backendIntid: 150 + i, frontendIntid: 118 + i,
        shmem: { id: 6 + i, base: SHMEM + (8 + i) * MiB, size: 1 * MiB },
      })) : []),
    ],
  });
}
