// SPDX-License-Identifier: Apache-2.0
/**
 * The platform description: one source for every address, size and
 * interrupt of a baojs system. The linker script constants, the firmware
 * header, the remio test monitor's map, the frontend device tree and the Bao
 * VM configuration are all generated from it (`scripts/gen-platform.ts`),
 * and the device models read it at run time.
 *
 * All addresses are guest-physical (GPA) of the VM named; sizes in bytes;
 * interrupt ids are GIC INTIDs (SPI n = INTID 32 + n).
 */

/** A memory or device range. */
export interface Range {
  /** guest-physical base address, bytes */
  base: number;
  /** size, bytes */
  size: number;
}

/** UART programming models the firmware drives. */
export type UartKind = 'pl011' | 'cdns';

/** The physical machine (what QEMU or the board provides). */
export interface Machine {
  /** e.g. 'aarch64' */
  arch: 'aarch64';
  /** number of physical CPUs (Bao's qemu-aarch64-virt needs 4) */
  cpus: number;
  /** CPU model given to QEMU, e.g. 'cortex-a53' */
  qemuCpu: string;
  /** physical RAM */
  ram: Range;
  /** GIC version and its frames */
  gic: { version: 2 | 3; gicd: number; gicr?: number; gicc?: number; gich?: number; gicv?: number };
  /**
   * console UART and its interrupt; `kind` names the programming model:
   * `pl011` (Arm PrimeCell PL011, QEMU virt) or `cdns` (Cadence UART,
   * Xilinx Zynq UltraScale+). Default `pl011`.
   */
  uart: Range & { intid: number; kind?: UartKind };
  /** QEMU machine that models this platform, e.g. 'virt' or 'xlnx-zcu102' (tests boot the firmware on it) */
  qemuMachine?: string;
  /** generic timer: the virtual timer PPI */
  timerIntid: number;
}

/** A shared-memory region: mapped at the same GPA in the frontend and in the backend. */
export interface Shmem extends Range {
  /** Bao's shmem id (index into the system's shared-memory list) */
  id: number;
}

/** Kinds of virtio device baojs implements (virtio 1.2 section 5 device IDs). */
export type DeviceKind = 'blk' | 'console' | 'rng' | 'vsock';

/** One device model: a remio device whose frontend half is a virtio-mmio window. */
export interface DeviceModel {
  /** name used in logs and counters, e.g. 'vda' */
  name: string;
  kind: DeviceKind;
  /** Bao bind key joining the frontend and backend halves (< 256) */
  bindKey: number;
  /** index of the backend entry in the backend VM's remio device list (Bao's dm_id) */
  dmId: number;
  /** virtio-mmio window in the frontend's address space (0x200 bytes for virtio-mmio) */
  window: Range;
  /** INTID Bao raises in the backend for each new request (< 256) */
  backendIntid: number;
  /** INTID NOTIFY injects into the frontend (< 256) */
  frontendIntid: number;
  /** the device's shared region; frontend virtio DMA lives only here */
  shmem: Shmem;
  /** blk: name of the backing memory region in the backend */
  backing?: string;
  /** blk: refuse writes (VIRTIO_BLK_F_RO) */
  readOnly?: boolean;
  /** largest queue size the device offers (QueueNumMax), a power of 2 up to 32768 */
  queueNumMax?: number;
  /** vsock: the frontend's guest CID (virtio 1.2 section 5.10.4), 3..2^32-2, unique among vsock devices */
  guestCid?: number;
}

/**
 * Name under which `Host.region()` / `Host.regionBase()` expose a device's
 * shared-memory region: `'shmem:' + device name` (e.g. `shmem:vda`). The
 * colon keeps it apart from `backend.regions` names, which cannot hold one.
 */
export function shmemRegionName(device: Pick<DeviceModel, 'name'>): string {
  return `shmem:${device.name}`;
}

/** A VM of the system. */
export interface VmConfig {
  name: string;
  /** physical CPUs this VM runs on (Bao cpu_affinity) */
  cpus: number[];
  /** the VM's RAM, guest-physical (the firmware or kernel is loaded at its base) */
  ram: Range;
}

/** A named memory region the backend can open with `host.region(name)`. */
export interface NamedRegion extends Range {
  name: string;
}

/** The whole description of a platform. */
export interface Platform {
  /** e.g. 'qemu-aarch64-virt' */
  name: string;
  machine: Machine;
  /** the baojs backend VM */
  backend: VmConfig & {
    /** firmware stack, bytes (per CPU; the backend runs on one) */
    stackSize: number;
    /** JS heap region size, bytes (from the end of the image to the region end) */
    heapSize: number;
    /** extra regions in the backend VM (disk backings, self-test area) */
    regions: NamedRegion[];
  };
  /** the frontend VM */
  frontend: VmConfig;
  /** the device models the backend serves */
  devices: DeviceModel[];
}

/** A configuration error naming the bad field, e.g. `devices[2].window.base`. */
export class ConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

const PAGE = 0x1000;

function checkRange(field: string, r: Range | undefined): void {
  if (!r || typeof r !== 'object') throw new ConfigError(field, 'missing');
  if (!Number.isSafeInteger(r.base) || r.base < 0) throw new ConfigError(`${field}.base`, `not a non-negative integer: ${r.base}`);
  if (!Number.isSafeInteger(r.size) || r.size <= 0) throw new ConfigError(`${field}.size`, `not a positive integer: ${r.size}`);
}

function overlaps(a: Range, b: Range): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

function inside(inner: Range, outer: Range): boolean {
  return inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size;
}

function checkByte(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new ConfigError(field, `must be an integer below 256 (Bao keeps it in 8 bits): ${v}`);
}

/**
 * Validates a platform description.
 * @throws ConfigError naming the first bad field.
 */
export function validatePlatform(p: Platform): Platform {
  if (!p || typeof p.name !== 'string' || !/^[a-z0-9-]+$/.test(p.name)) throw new ConfigError('name', 'must match [a-z0-9-]+');
  const m = p.machine;
  if (!m) throw new ConfigError('machine', 'missing');
  if (m.arch !== 'aarch64') throw new ConfigError('machine.arch', `unsupported: ${m.arch}`);
  if (!Number.isInteger(m.cpus) || m.cpus < 2 || m.cpus > 8) throw new ConfigError('machine.cpus', 'must be 2..8');
  checkRange('machine.ram', m.ram);
  checkRange('machine.uart', m.uart);
  if (m.uart.kind !== undefined && m.uart.kind !== 'pl011' && m.uart.kind !== 'cdns') throw new ConfigError('machine.uart.kind', `unknown UART: ${m.uart.kind}`);
  if (m.gic.version !== 2 && m.gic.version !== 3) throw new ConfigError('machine.gic.version', `must be 2 or 3: ${m.gic.version}`);
  if (m.gic.version === 3 && m.gic.gicr === undefined) throw new ConfigError('machine.gic.gicr', 'GICv3 needs a redistributor base');
  if (m.gic.version === 2 && m.gic.gicc === undefined) throw new ConfigError('machine.gic.gicc', 'GICv2 needs a CPU interface base');

  for (const [vmField, vm] of [['backend', p.backend], ['frontend', p.frontend]] as const) {
    if (!vm) throw new ConfigError(vmField, 'missing');
    checkRange(`${vmField}.ram`, vm.ram);
    if (vm.ram.base % PAGE || vm.ram.size % PAGE) throw new ConfigError(`${vmField}.ram`, 'must be 4 KiB aligned');
    if (!inside(vm.ram, m.ram)) throw new ConfigError(`${vmField}.ram`, 'outside machine.ram');
    if (!Array.isArray(vm.cpus) || vm.cpus.length === 0) throw new ConfigError(`${vmField}.cpus`, 'needs at least one CPU');
    vm.cpus.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c >= m.cpus) throw new ConfigError(`${vmField}.cpus[${i}]`, `no such CPU: ${c}`);
    });
  }
  if (p.backend.cpus.some((c) => p.frontend.cpus.includes(c))) throw new ConfigError('backend.cpus', 'shared with the frontend (Bao partitions CPUs statically)');
  if (overlaps(p.backend.ram, p.frontend.ram)) throw new ConfigError('backend.ram', 'overlaps frontend.ram');
  const b = p.backend;
  if (!Number.isInteger(b.stackSize) || b.stackSize < 16 * 1024 || b.stackSize % 16) throw new ConfigError('backend.stackSize', 'must be a multiple of 16, at least 16 KiB');
  if (!Number.isInteger(b.heapSize) || b.heapSize < 512 * 1024) throw new ConfigError('backend.heapSize', 'must be at least 512 KiB');
  if (b.heapSize + b.stackSize >= b.ram.size) throw new ConfigError('backend.heapSize', 'heap and stack do not fit in backend.ram');

  const names = new Set<string>();
  b.regions.forEach((r, i) => {
    const f = `backend.regions[${i}]`;
    checkRange(f, r);
    if (!/^[a-z0-9_-]+$/.test(r.name)) throw new ConfigError(`${f}.name`, 'must match [a-z0-9_-]+');
    if (names.has(r.name)) throw new ConfigError(`${f}.name`, `duplicate region name ${r.name}`);
    names.add(r.name);
    if (r.base % PAGE || r.size % PAGE) throw new ConfigError(f, 'must be 4 KiB aligned');
    if (!inside(r, m.ram)) throw new ConfigError(f, 'outside machine.ram');
    if (overlaps(r, p.frontend.ram) || overlaps(r, b.ram)) throw new ConfigError(f, 'overlaps a VM\'s RAM');
  });

  if (!Array.isArray(p.devices) || p.devices.length > 16) throw new ConfigError('devices', 'at most 16 device models');
  const dmIds = new Set<number>();
  const shmemIds = new Set<number>();
  p.devices.forEach((d, i) => {
    const f = `devices[${i}]`;
    if (!/^[a-z0-9_-]+$/.test(d.name ?? '')) throw new ConfigError(`${f}.name`, 'must match [a-z0-9_-]+');
    if (!['blk', 'console', 'rng', 'vsock'].includes(d.kind)) throw new ConfigError(`${f}.kind`, `unknown device kind: ${d.kind}`);
    checkByte(`${f}.bindKey`, d.bindKey);
    checkByte(`${f}.backendIntid`, d.backendIntid);
    checkByte(`${f}.frontendIntid`, d.frontendIntid);
    if (d.backendIntid < 32) throw new ConfigError(`${f}.backendIntid`, 'must be an SPI (32 or more)');
    if (d.frontendIntid < 32) throw new ConfigError(`${f}.frontendIntid`, 'must be an SPI (32 or more)');
    if (!Number.isInteger(d.dmId) || d.dmId < 0 || d.dmId >= 16) throw new ConfigError(`${f}.dmId`, 'must be 0..15');
    if (dmIds.has(d.dmId)) throw new ConfigError(`${f}.dmId`, `duplicate dmId ${d.dmId}`);
    dmIds.add(d.dmId);
    checkRange(`${f}.window`, d.window);
    if (d.window.size !== 0x200) throw new ConfigError(`${f}.window.size`, 'a virtio-mmio window is 0x200 bytes');
    if (d.window.base % 0x200) throw new ConfigError(`${f}.window.base`, 'must be 0x200 aligned');
    if (overlaps(d.window, p.frontend.ram)) throw new ConfigError(`${f}.window`, 'overlaps frontend.ram');
    checkRange(`${f}.shmem`, d.shmem);
    if (d.shmem.base % PAGE || d.shmem.size % PAGE) throw new ConfigError(`${f}.shmem`, 'must be 4 KiB aligned');
    if (!inside(d.shmem, m.ram)) throw new ConfigError(`${f}.shmem`, 'outside machine.ram');
    if (overlaps(d.shmem, p.frontend.ram) || overlaps(d.shmem, b.ram)) throw new ConfigError(`${f}.shmem`, 'overlaps a VM\'s RAM');
    if (shmemIds.has(d.shmem.id)) throw new ConfigError(`${f}.shmem.id`, `duplicate shmem id ${d.shmem.id}`);
    shmemIds.add(d.shmem.id);
    if (d.queueNumMax !== undefined && (!Number.isInteger(d.queueNumMax) || d.queueNumMax < 1 || d.queueNumMax > 32768 || (d.queueNumMax & (d.queueNumMax - 1)))) {
      throw new ConfigError(`${f}.queueNumMax`, 'must be a power of 2 from 1 to 32768');
    }
    if (d.kind === 'blk') {
      if (!d.backing || !names.has(d.backing)) throw new ConfigError(`${f}.backing`, `no backend region named ${d.backing}`);
    } else if (d.backing !== undefined) {
      throw new ConfigError(`${f}.backing`, `a ${d.kind} device has no backing store`);
    }
    if (d.kind === 'vsock') {
      if (!Number.isInteger(d.guestCid) || d.guestCid! < 3 || d.guestCid! > 0xfffffffe) throw new ConfigError(`${f}.guestCid`, 'a vsock device needs a guest CID from 3 to 4294967294');
    } else if (d.guestCid !== undefined) {
      throw new ConfigError(`${f}.guestCid`, `a ${d.kind} device has no guest CID`);
    }
    for (let j = 0; j < i; j++) {
      const o = p.devices[j];
      if (o.name === d.name) throw new ConfigError(`${f}.name`, `duplicate device name ${d.name}`);
      if (o.bindKey === d.bindKey) throw new ConfigError(`${f}.bindKey`, `duplicate bind key ${d.bindKey}`);
      if (overlaps(o.window, d.window)) throw new ConfigError(`${f}.window`, `overlaps devices[${j}].window`);
      if (overlaps(o.shmem, d.shmem)) throw new ConfigError(`${f}.shmem`, `overlaps devices[${j}].shmem`);
      if (o.backendIntid === d.backendIntid) throw new ConfigError(`${f}.backendIntid`, `shared with devices[${j}]`);
      if (o.frontendIntid === d.frontendIntid) throw new ConfigError(`${f}.frontendIntid`, `shared with devices[${j}]`);
      if (d.kind === 'vsock' && o.kind === 'vsock' && o.guestCid === d.guestCid) throw new ConfigError(`${f}.guestCid`, `shared with devices[${j}]`);
    }
    b.regions.forEach((r, j) => {
      if (overlaps(r, d.shmem)) throw new ConfigError(`${f}.shmem`, `overlaps backend.regions[${j}]`);
    });
  });
  return p;
}
