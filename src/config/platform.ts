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
 *
 * Device kinds, their virtio device ids and their own fields are listed in
 * one place, the device registry (`src/devices/registry.ts`).
 */
import { DEVICE_KINDS, type DeviceKind, type DeviceKindEntry } from '../devices/registry.ts';
import { ConfigError } from './error.ts';

export { ConfigError };
export type { DeviceKind };

/** A memory or device range. */
export interface Range {
  /** guest-physical base address, bytes */
  base: number;
  /** size, bytes */
  size: number;
}

/** UART programming models the firmware drives. */
export type UartKind = 'pl011' | 'cdns' | 'ns16550';

/** The physical machine (what QEMU or the board provides). */
export interface Machine {
  /** instruction set: 'aarch64' (GIC, generic timer, PSCI) or 'riscv64' (PLIC, SBI timer, SBI system reset) */
  arch: 'aarch64' | 'riscv64';
  /** number of physical CPUs (Bao's qemu-aarch64-virt needs 4) */
  cpus: number;
  /** CPU model given to QEMU, e.g. 'cortex-a53' */
  qemuCpu: string;
  /** physical RAM */
  ram: Range;
  /** GIC version and its frames (aarch64) */
  gic?: { version: 2 | 3; gicd: number; gicr?: number; gicc?: number; gich?: number; gicv?: number };
  /** RISC-V platform-level interrupt controller (riscv64): its base; the S-mode context of hart h is 2h + 1, as on QEMU virt */
  plic?: { base: number };
  /** riscv64: frequency of the `time` CSR, Hz (QEMU virt: 10 MHz; the device tree's timebase-frequency) */
  timebaseHz?: number;
  /**
   * console UART and its interrupt; `kind` names the programming model:
   * `pl011` (Arm PrimeCell PL011, QEMU virt), `cdns` (Cadence UART,
   * Xilinx Zynq UltraScale+) or `ns16550` (QEMU riscv64 virt). Default `pl011`.
   */
  uart: Range & { intid: number; kind?: UartKind };
  /** QEMU machine that models this platform, e.g. 'virt' or 'xlnx-zcu102' (tests boot the firmware on it) */
  qemuMachine?: string;
  /**
   * aarch64: the generic timer's virtual timer PPI. riscv64: the number the
   * firmware gives the supervisor timer interrupt in its pending set (not a
   * PLIC source: 0, which the PLIC never delivers)
   */
  timerIntid: number;
}

/** A shared-memory region: mapped at the same GPA in the frontend and in the backend. */
export interface Shmem extends Range {
  /** Bao's shmem id (index into the system's shared-memory list) */
  id: number;
}

/** One device model: a remio device whose frontend half is a virtio-mmio window. */
export interface DeviceModel {
  /** name used in logs and counters, e.g. 'vda' */
  name: string;
  /** the device kind: a key of the device registry (`src/devices/registry.ts`), e.g. 'blk' */
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
  /**
   * blk: what holds the disk's bytes: the name of a backend memory region
   * (a RAM disk), or a {@link DiskRange} of a passthrough disk
   */
  backing?: string | DiskRange;
  /** blk: refuse writes (VIRTIO_BLK_F_RO) */
  readOnly?: boolean;
  /** largest queue size the device offers (QueueNumMax), a power of 2 up to 32768 */
  queueNumMax?: number;
  /** vsock: the frontend's guest CID (virtio 1.2 section 5.10.4), 3..2^32-2, unique among vsock devices */
  guestCid?: number;
  /** net: the port's MAC, 'xx:xx:xx:xx:xx:xx', unicast, unique among net devices */
  mac?: string;
  /** net: the port's MTU, 68..65535 (default 1500) */
  mtu?: number;
  /** net: the port reaches only ports of the switch that are not isolated (default false) */
  isolated?: boolean;
  /** net: offer the checksum and TCP segmentation offloads (VIRTIO_NET_F_CSUM, GUEST_CSUM, HOST/GUEST_TSO4/6; default true) */
  offloads?: boolean;
  /**
   * name of the frontend VM whose address space holds the window and that
   * the device serves (`frontend.name` or one of `otherFrontends[].name`);
   * default: the first frontend, `frontend`. Bao: the VM whose config lists
   * the device as REMIO_DEV_FRONTEND.
   */
  frontend?: string;
}

/**
 * A frontend disk's bytes on a disk the backend VM owns: `size` bytes from
 * byte `offset` of the passthrough device `disk`
 * ({@link PassthroughDevice}, kind `virtio-blk`). Both are multiples of
 * 4096; writable ranges (the device's `readOnly` not true) on one disk do
 * not overlap; read-only ones may overlap anything.
 */
export interface DiskRange {
  /** name of a passthrough device of kind `virtio-blk` (`backend.passthrough[].name`) */
  disk: string;
  /** first byte of the range on the disk, bytes (multiple of 4096) */
  offset: number;
  /** length of the range, bytes (multiple of 4096, > 0) */
  size: number;
}

/**
 * Kinds of device a backend can own (and drive itself): a virtio-blk
 * device (a physical disk, ranges of which are frontend disks) or a
 * virtio-net device (the switch's uplink), each behind a virtio-mmio
 * version 2 transport.
 */
export type PassthroughKind = 'virtio-blk' | 'virtio-net';

/** Every {@link PassthroughKind}, for checks and messages. */
export const PASSTHROUGH_KINDS: readonly PassthroughKind[] = ['virtio-blk', 'virtio-net'];

/**
 * A device of the machine passed through to the backend VM, which drives it
 * (baojs is then the virtio *driver*): its register window (a virtio-mmio
 * transport, 0x200 bytes) is mapped into the backend only, in the 4 KiB
 * page that holds it, and its interrupt (an SPI) is the backend's own,
 * forwarded by the hypervisor. The device reads and writes the backend
 * region `dma` (rings, request headers) and the shared regions of the
 * frontend disks it serves by DMA at physical addresses: with no SMMU those
 * must be placed at IPA = PA (qemu/bao/config.ts, docs/bao.md).
 */
export interface PassthroughDevice extends Range {
  /** name used in logs and by {@link DiskRange.disk}, [a-z0-9_-]+, unique */
  name: string;
  /** what the device is: a virtio-blk or virtio-net device behind a virtio-mmio v2 transport */
  kind: PassthroughKind;
  /** its interrupt, level-triggered: aarch64 the GIC INTID of an SPI (32..255), riscv64 a PLIC source (1..1023) */
  intid: number;
  /** name of the backend region (`backend.regions`) that holds the driver's rings, request headers and (virtio-net) frame buffers */
  dma: string;
}

/**
 * Name under which `Host.region()` / `Host.regionBase()` expose a device's
 * shared-memory region: `'shmem:' + device name` (e.g. `shmem:vda`). The
 * colon keeps it apart from `backend.regions` names, which cannot hold one.
 */
export function shmemRegionName(device: Pick<DeviceModel, 'name'>): string {
  return `shmem:${device.name}`;
}

/** Every frontend VM of `p`, the first (`p.frontend`) first; the index is the frontend's number less one. */
export function frontendsOf(p: Pick<Platform, 'frontend' | 'otherFrontends'>): VmConfig[] {
  return [p.frontend, ...(p.otherFrontends ?? [])];
}

/**
 * Index in {@link frontendsOf} of the frontend device `d` serves (0 for a
 * device that names none).
 * @throws ConfigError on `devices[?].frontend` when it names no frontend VM
 */
export function frontendIndexOf(p: Pick<Platform, 'frontend' | 'otherFrontends'>, d: Pick<DeviceModel, 'name' | 'frontend'>): number {
  if (d.frontend === undefined) return 0;
  const i = frontendsOf(p).findIndex((vm) => vm.name === d.frontend);
  if (i < 0) throw new ConfigError(`devices[${d.name}].frontend`, `no frontend VM named ${d.frontend} (frontends: ${frontendsOf(p).map((vm) => vm.name).join(', ')})`);
  return i;
}

/** The device models of `p` that frontend number `index` (0-based, {@link frontendsOf}) reaches, in platform order. */
export function devicesOfFrontend(p: Platform, index: number): DeviceModel[] {
  return p.devices.filter((d) => frontendIndexOf(p, d) === index);
}

/** A VM of the system. */
export interface VmConfig {
  name: string;
  /** physical CPUs this VM runs on (Bao cpu_affinity) */
  cpus: number[];
  /** the VM's RAM, guest-physical (the firmware or kernel is loaded at its base) */
  ram: Range;
}

/**
 * A named memory region the backend can open with `host.region(name)`.
 * `name`: [a-z0-9_-]+, or `dma:` and such a name for the DMA area of a
 * passthrough device (by convention `dma:<device>`); never `shmem:…`,
 * which names the devices' shared regions ({@link shmemRegionName}).
 */
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
    /** extra regions in the backend VM (disk backings, self-test area, DMA areas of passthrough devices) */
    regions: NamedRegion[];
    /** devices of the machine the backend VM owns and drives (none by default) */
    passthrough?: PassthroughDevice[];
  };
  /** the first frontend VM: every device model that names no other serves it */
  frontend: VmConfig;
  /**
   * further frontend VMs (default none), each with its own CPUs and RAM; a
   * device model names the one it serves in {@link DeviceModel.frontend}
   */
  otherFrontends?: VmConfig[];
  /** the device models the backend serves */
  devices: DeviceModel[];
}

const PAGE = 0x1000;

/**
 * The fields of {@link DeviceModel} that belong to some kinds only, with
 * what they are called in messages. A device whose kind does not list the
 * field in its registry entry (`fields`) is refused.
 */
const KIND_FIELDS = {
  backing: 'backing store',
  readOnly: 'read-only setting',
  guestCid: 'guest CID',
  mac: 'MAC address',
  mtu: 'MTU',
  isolated: 'port isolation',
  offloads: 'offload setting',
} as const;

/** One register frame of the interrupt controller, with the field of {@link Machine.gic} that places it. */
export interface GicFrame extends Range {
  /** `machine.gic.gicd`, `machine.gic.gicr`, … */
  field: string;
  /** what the frame is, for messages */
  what: string;
}

/** GICv3 distributor frame: 64 KiB (Arm IHI 0069, 12.8 "The GIC Distributor register map"). */
const GICV3_GICD_SIZE = 0x10000;
/** GICv3 redistributor: two 64 KiB frames (RD_base, SGI_base) per CPU (Arm IHI 0069, 12.10). */
const GICV3_GICR_SIZE_PER_CPU = 0x20000;
/** GICv2 distributor: 4 KiB (Arm IHI 0048, 4.1.2). */
const GICV2_GICD_SIZE = 0x1000;
/** GICv2 CPU interface and virtual CPU interface: 8 KiB each (Arm IHI 0048, 4.1.3 and 5.5). */
const GICV2_GICC_SIZE = 0x2000;
/** GICv2 virtual interface control block: 4 KiB (Arm IHI 0048, 5.3). */
const GICV2_GICH_SIZE = 0x1000;

/** PLIC register space: 64 MiB (RISC-V PLIC specification 1.0.0, "Memory Map"). */
export const PLIC_SIZE = 0x4000000;

/** The GIC of machine `m`. @throws ConfigError when the machine has none (riscv64). */
export function gicOf(m: Machine): NonNullable<Machine['gic']> {
  if (!m.gic) throw new ConfigError('machine.gic', `missing: ${m.arch} machines without a GIC are not supported here yet`);
  return m.gic;
}

/**
 * The register frames of machine `m`'s interrupt controller (the PLIC's one frame on riscv64) that the
 * description places: the distributor (GICD), then the redistributors
 * (GICR, GICv3: one 128 KiB pair of frames per CPU of the machine) or the
 * CPU interface (GICC), and the virtualization frames GICH and GICV when
 * given. Sizes from Arm IHI 0069 (GICv3) and IHI 0048 (GICv2).
 */
export function gicFrames(m: Machine): GicFrame[] {
  const g = m.gic;
  if (g === undefined) return m.plic ? [{ field: 'machine.plic.base', what: 'the PLIC', base: m.plic.base, size: PLIC_SIZE }] : [];
  const v3 = g.version === 3;
  const frames: GicFrame[] = [{ field: 'machine.gic.gicd', what: 'the GIC distributor (GICD)', base: g.gicd, size: v3 ? GICV3_GICD_SIZE : GICV2_GICD_SIZE }];
  if (g.gicr !== undefined) frames.push({ field: 'machine.gic.gicr', what: 'the GIC redistributors (GICR)', base: g.gicr, size: GICV3_GICR_SIZE_PER_CPU * m.cpus });
  if (g.gicc !== undefined) frames.push({ field: 'machine.gic.gicc', what: 'the GIC CPU interface (GICC)', base: g.gicc, size: GICV2_GICC_SIZE });
  if (g.gich !== undefined) frames.push({ field: 'machine.gic.gich', what: 'the GIC virtual interface control (GICH)', base: g.gich, size: GICV2_GICH_SIZE });
  if (g.gicv !== undefined) frames.push({ field: 'machine.gic.gicv', what: 'the GIC virtual CPU interface (GICV)', base: g.gicv, size: GICV2_GICC_SIZE });
  return frames;
}

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
  if (m.arch !== 'aarch64' && m.arch !== 'riscv64') throw new ConfigError('machine.arch', `unsupported: ${m.arch}`);
  if (!Number.isInteger(m.cpus) || m.cpus < 2 || m.cpus > 8) throw new ConfigError('machine.cpus', 'must be 2..8');
  checkRange('machine.ram', m.ram);
  checkRange('machine.uart', m.uart);
  if (m.uart.kind !== undefined && m.uart.kind !== 'pl011' && m.uart.kind !== 'cdns' && m.uart.kind !== 'ns16550') throw new ConfigError('machine.uart.kind', `unknown UART: ${m.uart.kind}`);
  if (m.arch === 'riscv64') {
    if (!m.plic || typeof m.plic !== 'object') throw new ConfigError('machine.plic', 'missing (riscv64 needs a PLIC)');
    if (m.gic !== undefined) throw new ConfigError('machine.gic', 'a riscv64 machine has no GIC');
    if (!Number.isSafeInteger(m.timebaseHz) || (m.timebaseHz ?? 0) <= 0) throw new ConfigError('machine.timebaseHz', `must be a positive integer: ${m.timebaseHz}`);
    if ((m.uart.kind ?? 'pl011') !== 'ns16550') throw new ConfigError('machine.uart.kind', 'riscv64 machines have an ns16550 console here');
  }
  if (m.arch === 'aarch64' && (!m.gic || typeof m.gic !== 'object')) throw new ConfigError('machine.gic', 'missing');
  if (m.gic) {
    if (m.gic.version !== 2 && m.gic.version !== 3) throw new ConfigError('machine.gic.version', `must be 2 or 3: ${m.gic.version}`);
    if (m.gic.version === 3 && m.gic.gicr === undefined) throw new ConfigError('machine.gic.gicr', 'GICv3 needs a redistributor base');
    if (m.gic.version === 2 && m.gic.gicc === undefined) throw new ConfigError('machine.gic.gicc', 'GICv2 needs a CPU interface base');
  }
  // the interrupt controller's frames, GIC or PLIC
  for (const g of gicFrames(m)) {
    if (!Number.isSafeInteger(g.base) || g.base < 0) throw new ConfigError(g.field, `not a non-negative integer: ${g.base}`);
  }

  if (p.otherFrontends !== undefined && !Array.isArray(p.otherFrontends)) throw new ConfigError('otherFrontends', 'must be a list');
  const vms: Array<[string, VmConfig]> = [['backend', p.backend], ['frontend', p.frontend], ...(p.otherFrontends ?? []).map((vm, i) => [`otherFrontends[${i}]`, vm] as [string, VmConfig])];
  vms.forEach(([vmField, vm], k) => {
    if (!vm) throw new ConfigError(vmField, 'missing');
    if (typeof vm.name !== 'string' || !/^[a-z0-9_-]+$/.test(vm.name)) throw new ConfigError(`${vmField}.name`, 'must match [a-z0-9_-]+');
    checkRange(`${vmField}.ram`, vm.ram);
    if (vm.ram.base % PAGE || vm.ram.size % PAGE) throw new ConfigError(`${vmField}.ram`, 'must be 4 KiB aligned');
    if (!inside(vm.ram, m.ram)) throw new ConfigError(`${vmField}.ram`, 'outside machine.ram');
    if (!Array.isArray(vm.cpus) || vm.cpus.length === 0) throw new ConfigError(`${vmField}.cpus`, 'needs at least one CPU');
    vm.cpus.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c >= m.cpus) throw new ConfigError(`${vmField}.cpus[${i}]`, `no such CPU: ${c}`);
    });
    for (const [oField, o] of vms.slice(0, k)) {
      if (o.name === vm.name) throw new ConfigError(`${vmField}.name`, `shared with ${oField}`);
      if (o.cpus.some((c) => vm.cpus.includes(c))) {
        throw new ConfigError(k === 1 ? 'backend.cpus' : `${vmField}.cpus`, `shared with ${k === 1 ? 'the frontend' : oField} (Bao partitions CPUs statically)`);
      }
      if (overlaps(o.ram, vm.ram)) throw new ConfigError(k === 1 ? 'backend.ram' : `${vmField}.ram`, `overlaps ${k === 1 ? 'frontend' : oField}.ram`);
    }
  });
  const frontends = frontendsOf(p);
  const inFrontendRam = (r: Range): boolean => frontends.some((vm) => overlaps(r, vm.ram));
  const b = p.backend;
  if (!Number.isInteger(b.stackSize) || b.stackSize < 16 * 1024 || b.stackSize % 16) throw new ConfigError('backend.stackSize', 'must be a multiple of 16, at least 16 KiB');
  if (!Number.isInteger(b.heapSize) || b.heapSize < 512 * 1024) throw new ConfigError('backend.heapSize', 'must be at least 512 KiB');
  if (b.heapSize + b.stackSize >= b.ram.size) throw new ConfigError('backend.heapSize', 'heap and stack do not fit in backend.ram');

  const names = new Set<string>();
  b.regions.forEach((r, i) => {
    const f = `backend.regions[${i}]`;
    checkRange(f, r);
    if (!/^(dma:)?[a-z0-9_-]+$/.test(r.name)) throw new ConfigError(`${f}.name`, 'must match [a-z0-9_-]+, or dma: and such a name');
    if (names.has(r.name)) throw new ConfigError(`${f}.name`, `duplicate region name ${r.name}`);
    names.add(r.name);
    if (r.base % PAGE || r.size % PAGE) throw new ConfigError(f, 'must be 4 KiB aligned');
    if (!inside(r, m.ram)) throw new ConfigError(f, 'outside machine.ram');
    if (inFrontendRam(r) || overlaps(r, b.ram)) throw new ConfigError(f, 'overlaps a VM\'s RAM');
  });

  checkPassthroughDevices(p);
  if (!Array.isArray(p.devices) || p.devices.length > 16) throw new ConfigError('devices', 'at most 16 device models');
  const dmIds = new Set<number>();
  const shmemIds = new Set<number>();
  p.devices.forEach((d, i) => {
    const f = `devices[${i}]`;
    if (!/^[a-z0-9_-]+$/.test(d.name ?? '')) throw new ConfigError(`${f}.name`, 'must match [a-z0-9_-]+');
    if (typeof d.kind !== 'string' || !Object.prototype.hasOwnProperty.call(DEVICE_KINDS, d.kind)) {
      throw new ConfigError(`${f}.kind`, `unknown device kind: ${d.kind} (known: ${Object.keys(DEVICE_KINDS).join(', ')})`);
    }
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
    checkRange(`${f}.shmem`, d.shmem);
    if (d.shmem.base % PAGE || d.shmem.size % PAGE) throw new ConfigError(`${f}.shmem`, 'must be 4 KiB aligned');
    if (!inside(d.shmem, m.ram)) throw new ConfigError(`${f}.shmem`, 'outside machine.ram');
    if (inFrontendRam(d.shmem) || overlaps(d.shmem, b.ram)) throw new ConfigError(`${f}.shmem`, 'overlaps a VM\'s RAM');
    if (shmemIds.has(d.shmem.id)) throw new ConfigError(`${f}.shmem.id`, `duplicate shmem id ${d.shmem.id}`);
    shmemIds.add(d.shmem.id);
    if (d.queueNumMax !== undefined && (!Number.isInteger(d.queueNumMax) || d.queueNumMax < 1 || d.queueNumMax > 32768 || (d.queueNumMax & (d.queueNumMax - 1)))) {
      throw new ConfigError(`${f}.queueNumMax`, 'must be a power of 2 from 1 to 32768');
    }
    const kind: DeviceKindEntry = DEVICE_KINDS[d.kind];
    for (const key of Object.keys(KIND_FIELDS) as (keyof typeof KIND_FIELDS)[]) {
      if (d[key] !== undefined && !kind.fields.includes(key)) throw new ConfigError(`${f}.${key}`, `a ${d.kind} device has no ${KIND_FIELDS[key]}`);
    }
    if (d.frontend !== undefined && !frontends.some((vm) => vm.name === d.frontend)) {
      throw new ConfigError(`${f}.frontend`, `no frontend VM named ${d.frontend} (frontends: ${frontends.map((vm) => vm.name).join(', ')})`);
    }
    kind.validate?.(d, f, p, i);
    for (let j = 0; j < i; j++) {
      const o = p.devices[j];
      if (o.name === d.name) throw new ConfigError(`${f}.name`, `duplicate device name ${d.name}`);
      if (o.bindKey === d.bindKey) throw new ConfigError(`${f}.bindKey`, `duplicate bind key ${d.bindKey}`);
      if (overlaps(o.window, d.window)) throw new ConfigError(`${f}.window`, `overlaps devices[${j}].window`);
      if (overlaps(o.shmem, d.shmem)) throw new ConfigError(`${f}.shmem`, `overlaps devices[${j}].shmem`);
      if (o.backendIntid === d.backendIntid) throw new ConfigError(`${f}.backendIntid`, `shared with devices[${j}]`);
      if (o.frontendIntid === d.frontendIntid) throw new ConfigError(`${f}.frontendIntid`, `shared with devices[${j}]`);
    }
    b.regions.forEach((r, j) => {
      if (overlaps(r, d.shmem)) throw new ConfigError(`${f}.shmem`, `overlaps backend.regions[${j}]`);
    });
  });
  p.devices.forEach((d, i) => checkWindowClear(p, i));
  checkPassthroughClear(p);
  return p;
}

/** The 4 KiB pages that hold `r` (what a stage-2 map of it covers). */
export function pageSpan(r: Range): Range {
  const base = Math.floor(r.base / PAGE) * PAGE;
  return { base, size: Math.ceil((r.base + r.size) / PAGE) * PAGE - base };
}

/**
 * Checks each of `backend.passthrough` on its own (before the device
 * models, whose disk ranges name them): a list, names [a-z0-9_-]+ and
 * unique, a known kind ({@link PASSTHROUGH_KINDS}), a virtio-mmio window (0x200 bytes,
 * 0x200-aligned), `intid` an SPI below 256, `dma` an existing backend region.
 * @throws ConfigError on `backend.passthrough[i].<field>`
 */
function checkPassthroughDevices(p: Platform): void {
  const list = p.backend.passthrough;
  if (list === undefined) return;
  if (!Array.isArray(list)) throw new ConfigError('backend.passthrough', 'must be a list');
  list.forEach((d, i) => {
    const f = `backend.passthrough[${i}]`;
    if (!d || typeof d !== 'object') throw new ConfigError(f, 'missing');
    if (typeof d.name !== 'string' || !/^[a-z0-9_-]+$/.test(d.name)) throw new ConfigError(`${f}.name`, 'must match [a-z0-9_-]+');
    if (list.slice(0, i).some((o) => o.name === d.name)) throw new ConfigError(`${f}.name`, `duplicate passthrough name ${d.name}`);
    if (!PASSTHROUGH_KINDS.includes(d.kind)) throw new ConfigError(`${f}.kind`, `unknown passthrough kind: ${d.kind} (known: ${PASSTHROUGH_KINDS.join(', ')})`);
    checkRange(f, d);
    if (d.size !== 0x200) throw new ConfigError(`${f}.size`, 'a virtio-mmio window is 0x200 bytes');
    if (d.base % 0x200) throw new ConfigError(`${f}.base`, 'must be 0x200 aligned');
    if (p.machine.arch === 'riscv64') {
      // a PLIC source (PLIC specification 1.0.0: 1..1023; 0 means none)
      if (!Number.isInteger(d.intid) || d.intid < 1 || d.intid > 1023) throw new ConfigError(`${f}.intid`, `must be a PLIC source, 1..1023: ${d.intid}`);
    } else if (!Number.isInteger(d.intid) || d.intid < 32 || d.intid > 255) {
      throw new ConfigError(`${f}.intid`, `must be an SPI, 32..255: ${d.intid}`);
    }
    if (typeof d.dma !== 'string' || !p.backend.regions.some((r) => r.name === d.dma)) throw new ConfigError(`${f}.dma`, `no backend region named ${d.dma}`);
  });
}

/**
 * Checks that the passthrough devices lie clear of everything else: the
 * page(s) of each ({@link pageSpan}, what the hypervisor maps into the
 * backend) clear of machine RAM (VMs, regions, shared memory), the remio
 * windows, the UART and the GIC frames; no two devices overlap (two may
 * share a page: both go to the backend); each `intid` used by no device
 * model, the UART or another passthrough device.
 * @throws ConfigError on `backend.passthrough[i].<field>`
 */
function checkPassthroughClear(p: Platform): void {
  const list = p.backend.passthrough ?? [];
  list.forEach((d, i) => {
    const f = `backend.passthrough[${i}]`;
    if (d.intid === p.machine.uart.intid) throw new ConfigError(`${f}.intid`, 'shared with machine.uart');
    p.devices.forEach((o, j) => {
      if (o.backendIntid === d.intid) throw new ConfigError(`${f}.intid`, `shared with devices[${j}].backendIntid`);
      if (o.frontendIntid === d.intid) throw new ConfigError(`${f}.intid`, `shared with devices[${j}].frontendIntid`);
    });
    const page = pageSpan(d);
    const refuse = (what: string, r: Range): never => {
      throw new ConfigError(`${f}.base`, `the page ${span(page)} of ${d.name} overlaps ${what} (${span(r)}); a passthrough device is mapped by the page`);
    };
    if (overlaps(page, p.machine.ram)) refuse('machine.ram', p.machine.ram);
    if (overlaps(page, p.machine.uart)) refuse('machine.uart, the console UART', p.machine.uart);
    for (const g of gicFrames(p.machine)) if (overlaps(page, g)) refuse(`${g.field}, ${g.what}`, g);
    p.devices.forEach((o, j) => {
      if (overlaps(page, o.window)) refuse(`devices[${j}].window, the remio window of ${o.name}`, o.window);
    });
    for (let j = 0; j < i; j++) {
      const o = list[j];
      if (overlaps(o, d)) throw new ConfigError(`${f}.base`, `overlaps backend.passthrough[${j}]`);
      if (o.intid === d.intid) throw new ConfigError(`${f}.intid`, `shared with backend.passthrough[${j}]`);
    }
  });
}

/**
 * Bytes a passthrough disk must hold for platform `p`: the largest end
 * (`offset + size`) of the {@link DiskRange}s on disk `diskName`, 0 if no
 * device uses it. The runner checks an image against it.
 */
export function diskMinimumSize(p: Platform, diskName: string): number {
  let min = 0;
  for (const d of p.devices) {
    const b = d.backing;
    if (b !== undefined && typeof b === 'object' && b.disk === diskName) min = Math.max(min, b.offset + b.size);
  }
  return min;
}

const hex = (v: number): string => `0x${v.toString(16)}`;
const span = (r: Range): string => `${hex(r.base)}..${hex(r.base + r.size - 1)}`;

/**
 * Refuses a remio window that lies over anything else the frontend or the
 * backend reaches at that address: Bao traps every access inside the
 * window, so whatever it covers becomes unreachable to the frontend (and
 * the shared regions, RAM and backend regions are mapped at the same
 * guest-physical address in both VMs, so a window over them hides memory
 * the devices rely on). Checked: every device's shared region (its own
 * included), both VMs' RAM, the backend's named regions, the interrupt
 * controller's frames ({@link gicFrames}) and the UART.
 * @throws ConfigError on `devices[i].window` naming what the window covers.
 */
function checkWindowClear(p: Platform, i: number): void {
  const w = p.devices[i].window;
  const f = `devices[${i}].window`;
  const refuse = (what: string, r: Range): never => {
    throw new ConfigError(f, `${span(w)} overlaps ${what} (${span(r)}); a remio window must lie clear of memory and of the machine's devices`);
  };
  p.devices.forEach((o, j) => {
    if (overlaps(w, o.shmem)) refuse(`devices[${j}].shmem, the shared region of ${o.name}`, o.shmem);
  });
  if (overlaps(w, p.frontend.ram)) refuse('frontend.ram', p.frontend.ram);
  (p.otherFrontends ?? []).forEach((vm, j) => {
    if (overlaps(w, vm.ram)) refuse(`otherFrontends[${j}].ram, the RAM of ${vm.name}`, vm.ram);
  });
  if (overlaps(w, p.backend.ram)) refuse('backend.ram, the RAM of the backend VM', p.backend.ram);
  p.backend.regions.forEach((r, j) => {
    if (overlaps(w, r)) refuse(`backend.regions[${j}], the backend's region ${r.name}`, r);
  });
  for (const g of gicFrames(p.machine)) if (overlaps(w, g)) refuse(`${g.field}, ${g.what}`, g);
  if (overlaps(w, p.machine.uart)) refuse('machine.uart, the console UART', p.machine.uart);
}
