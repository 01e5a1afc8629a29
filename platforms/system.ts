// SPDX-License-Identifier: Apache-2.0
/**
 * The system every shipped platform runs: a Linux frontend on CPU 0 and the
 * baojs backend on CPU 1, serving six devices (a disk, a console, an
 * entropy source, a read-only disk, a socket device and a GPIO controller).
 * A platform that places a second frontend (`linux2` on CPU 2) adds its
 * console, a NIC in each frontend on the backend's switch and, with the
 * passthrough disk, gives it vdd. A platform places the system in its own
 * address map; the layout inside each part is the same everywhere.
 */
import type { DeviceModel, NamedRegion, PassthroughDevice, Platform } from '../src/config/platform.ts';

const MiB = 0x100000;

/** Where a platform puts the parts of the system, all guest-physical. */
export interface SystemPlacement {
  /** frontend RAM base (256 MiB) */
  frontendRam: number;
  /**
   * RAM base (256 MiB) of the second frontend `linux2`, if the
   * platform has one: it gets {@link frontend2Devices} and vdd
   */
  frontend2Ram?: number;
  /** backend RAM base (16 MiB: image, stack, JS heap) */
  backendRam: number;
  /** backend regions base: disk0 (64 MiB), disk1 (4 MiB), selftest (4 KiB) */
  backendRegions: number;
  /** first shared region; the six follow each other (8 + 4 + 1 + 4 + 2 + 1 MiB) */
  shmem: number;
  /** first virtio-mmio window in the frontend (0x200 bytes); one every 4 KiB */
  windows: number;
  /**
   * the machine's virtio-blk device passed through to the backend as
   * `pdisk0` (its virtio-mmio window and SPI), if the platform has one; its
   * DMA area `dma:pdisk0` (1 MiB) goes at backendRegions + 96 MiB
   */
  passthroughDisk?: { base: number; intid: number };
  /**
   * the machine's network card passed through to the backend as `uplink0`
   * (its virtio-mmio window and SPI), the switch's uplink, if the platform
   * has one; its DMA area `dma:uplink0` (2 MiB: rings and 256 receive and
   * 256 transmit buffers of 2 KiB) goes at backendRegions + 98 MiB
   */
  passthroughNic?: { base: number; intid: number };
  /**
   * the physical CPUs of the frontend, the backend and the second frontend
   * (default 0, 1 and 2)
   */
  cpus?: { frontend: number; backend: number; frontend2: number };
}

/** The six device models, placed at `at.windows` and `at.shmem`. */
export function systemDevices(at: SystemPlacement): DeviceModel[] {
  // One 4 KiB page per window: Bao's remio address lookup counts the byte
  // just past a window as part of it (src/core/remio.c, src/lib/inc/util.h
  // in_range), so windows must not touch; a page each also keeps every
  // window alone in its stage-2 page.
  const window = (i: number): { base: number; size: number } => ({ base: at.windows + i * 0x1000, size: 0x200 });
  return [
    {
      name: 'vda', kind: 'blk', bindKey: 0, dmId: 0, backing: 'disk0', window: window(0),
      backendIntid: 144, frontendIntid: 112, shmem: { id: 0, base: at.shmem + 0 * MiB, size: 8 * MiB },
    },
    {
      name: 'hvc0', kind: 'console', bindKey: 1, dmId: 1, window: window(1),
      backendIntid: 145, frontendIntid: 113, shmem: { id: 1, base: at.shmem + 8 * MiB, size: 4 * MiB },
      queueNumMax: 64,
    },
    {
      name: 'hwrng', kind: 'rng', bindKey: 2, dmId: 2, window: window(2),
      backendIntid: 146, frontendIntid: 114, shmem: { id: 2, base: at.shmem + 12 * MiB, size: 1 * MiB },
    },
    {
      name: 'vdb', kind: 'blk', bindKey: 3, dmId: 3, backing: 'disk1', readOnly: true, window: window(3),
      backendIntid: 147, frontendIntid: 115, shmem: { id: 3, base: at.shmem + 13 * MiB, size: 4 * MiB },
    },
    {
      name: 'vsock0', kind: 'vsock', bindKey: 4, dmId: 4, guestCid: 3, window: window(4),
      backendIntid: 148, frontendIntid: 116, shmem: { id: 4, base: at.shmem + 17 * MiB, size: 2 * MiB },
    },
    {
      name: 'gpio0', kind: 'gpio', bindKey: 5, dmId: 5, window: window(5),
      backendIntid: 149, frontendIntid: 117, shmem: { id: 5, base: at.shmem + 19 * MiB, size: 1 * MiB },
    },
  ];
}

/** Name of the second frontend VM. */
export const FRONTEND2 = 'linux2';

/**
 * The frontend disks served from the passthrough disk `pdisk0`, device
 * models 6 and 7 after {@link systemDevices}' six: `vdc` on its first
 * 64 MiB and `vdd` on the 32 MiB after it, each with an 8 MiB shared
 * region after gpio0's. With a second frontend, vdd is its disk (its
 * only virtio-blk device: /dev/vda there).
 */
export function storageDevices(at: SystemPlacement): DeviceModel[] {
  const window = (i: number): { base: number; size: number } => ({ base: at.windows + i * 0x1000, size: 0x200 });
  return [
    {
      name: 'vdc', kind: 'blk', bindKey: 6, dmId: 6, backing: { disk: 'pdisk0', offset: 0, size: 64 * MiB }, window: window(6),
      backendIntid: 150, frontendIntid: 118, shmem: { id: 6, base: at.shmem + 20 * MiB, size: 8 * MiB },
    },
    {
      name: 'vdd', kind: 'blk', bindKey: 7, dmId: 7, backing: { disk: 'pdisk0', offset: 64 * MiB, size: 32 * MiB }, window: window(7),
      backendIntid: 151, frontendIntid: 119, shmem: { id: 7, base: at.shmem + 28 * MiB, size: 8 * MiB },
      ...(at.frontend2Ram !== undefined ? { frontend: FRONTEND2 } : {}),
    },
  ];
}

/**
 * The devices of a second frontend and the network, device models 8..10:
 * `con2` (frontend 2's console, /dev/hvc0 there), `net0` (frontend 1's NIC,
 * MAC 52:54:00:12:34:01) and `net1` (frontend 2's, 52:54:00:12:34:02),
 * both ports of the backend's switch; shared regions after vdd's (4, 16 and
 * 16 MiB: Linux's virtio-net fills its receive queue at probe and bounces
 * every frame through the restricted pool).
 */
export function frontend2Devices(at: SystemPlacement): DeviceModel[] {
  const window = (i: number): { base: number; size: number } => ({ base: at.windows + i * 0x1000, size: 0x200 });
  return [
    {
      name: 'con2', kind: 'console', bindKey: 8, dmId: 8, window: window(8), frontend: FRONTEND2,
      backendIntid: 152, frontendIntid: 120, shmem: { id: 8, base: at.shmem + 36 * MiB, size: 4 * MiB },
      queueNumMax: 64,
    },
    {
      name: 'net0', kind: 'net', bindKey: 9, dmId: 9, window: window(9), mac: '52:54:00:12:34:01',
      backendIntid: 153, frontendIntid: 121, shmem: { id: 9, base: at.shmem + 40 * MiB, size: 16 * MiB },
    },
    {
      name: 'net1', kind: 'net', bindKey: 10, dmId: 10, window: window(10), mac: '52:54:00:12:34:02', frontend: FRONTEND2,
      backendIntid: 154, frontendIntid: 122, shmem: { id: 10, base: at.shmem + 56 * MiB, size: 16 * MiB },
    },
  ];
}

/** Options of {@link system}. */
export interface SystemOptions {
  /** include {@link storageDevices} when the placement has a passthrough disk (default true) */
  storage?: boolean;
}

/** The VMs and devices of the system, placed by `at`. */
export function system(at: SystemPlacement, opts: SystemOptions = {}): Pick<Platform, 'frontend' | 'otherFrontends' | 'backend' | 'devices'> {
  const pt = at.passthroughDisk;
  const nic = at.passthroughNic;
  const dmaRegions: NamedRegion[] = [
    ...(pt ? [{ name: 'dma:pdisk0', base: at.backendRegions + 96 * MiB, size: 1 * MiB }] : []),
    ...(nic ? [{ name: 'dma:uplink0', base: at.backendRegions + 98 * MiB, size: 2 * MiB }] : []),
  ];
  // in the order QEMU virt fills its transports (qemu/disks.ts): the disk, then the card
  const passthroughList: PassthroughDevice[] = [
    ...(pt ? [{ name: 'pdisk0', kind: 'virtio-blk' as const, base: pt.base, size: 0x200, intid: pt.intid, dma: 'dma:pdisk0' }] : []),
    ...(nic ? [{ name: 'uplink0', kind: 'virtio-net' as const, base: nic.base, size: 0x200, intid: nic.intid, dma: 'dma:uplink0' }] : []),
  ];
  const passthrough = passthroughList.length > 0 ? passthroughList : undefined;
  const storage = pt !== undefined && (opts.storage ?? true);
  const cpus = at.cpus ?? { frontend: 0, backend: 1, frontend2: 2 };
  return {
    frontend: { name: 'linux', cpus: [cpus.frontend], ram: { base: at.frontendRam, size: 256 * MiB } },
    ...(at.frontend2Ram !== undefined ? { otherFrontends: [{ name: FRONTEND2, cpus: [cpus.frontend2], ram: { base: at.frontend2Ram, size: 256 * MiB } }] } : {}),
    backend: {
      name: 'baojs',
      cpus: [cpus.backend],
      ram: { base: at.backendRam, size: 16 * MiB },
      stackSize: 256 * 1024,
      heapSize: 8 * MiB,
      regions: [
        { name: 'disk0', base: at.backendRegions, size: 64 * MiB },
        { name: 'disk1', base: at.backendRegions + 64 * MiB, size: 4 * MiB },
        { name: 'selftest', base: at.backendRegions + 80 * MiB, size: 0x1000 },
        ...dmaRegions,
      ],
      ...(passthrough ? { passthrough } : {}),
    },
    devices: dense([
      ...systemDevices(at),
      ...(storage ? storageDevices(at) : []),
      ...(at.frontend2Ram !== undefined ? frontend2Devices(at) : []),
    ]),
  };
}

/**
 * `devices` with their dmId, bind key and shared-region id renumbered
 * 0..n-1 in list order: Bao indexes the backend's remio list by dm_id and
 * its shared-memory list by shmem id (qemu/bao/config.ts), so a system
 * without the storage devices closes up the numbers after them. Windows,
 * interrupts and shared-region addresses stay where they are.
 */
function dense(devices: DeviceModel[]): DeviceModel[] {
  return devices.map((d, i) => ({ ...d, dmId: i, bindKey: i, shmem: { ...d.shmem, id: i } }));
}
