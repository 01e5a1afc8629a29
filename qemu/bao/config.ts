// SPDX-License-Identifier: Apache-2.0
/**
 * The Bao VM configuration of a baojs system, generated from the platform
 * description: the C source that Bao's own build takes as a configuration
 * (`make CONFIG=<name> CONFIG_REPO=<dir>`, the file `<dir>/<name>/config.c`).
 *
 * Pure TypeScript (no Node modules): the unit tests run it on Node and in
 * QuickJS. The command-line wrapper that writes the file is `gen-config.ts`.
 *
 * Field names and meanings follow Bao's source (bao-project/bao-hypervisor,
 * commit 738e3dc):
 *  - `src/core/inc/config.h`: `struct config` (`shmemlist`, `vmlist`),
 *    `struct vm_config` (`image`, `entry`, `cpu_affinity`, `platform`), and
 *    the `VM_IMAGE(name, "path")` / `VM_IMAGE_BUILTIN(name, base)` macros
 *    that embed a guest image in Bao's own image with `.incbin`;
 *  - `src/core/inc/vm.h`: `struct vm_platform` (`cpu_num`, `regions`,
 *    `devs`, `remio_devs`, `arch`), `struct vm_mem_region` (`base`, `size`,
 *    `place_phys`, `phys`), `struct vm_dev_region` (`pa`, `va`, `size`,
 *    `interrupts`);
 *  - `src/core/inc/remio.h`: `struct remio_dev` (`va`, `size`, `interrupt`,
 *    `bind_key`, `type` = `REMIO_DEV_FRONTEND` / `REMIO_DEV_BACKEND`,
 *    `shmem` = { `base`, `size`, `shmem_id` });
 *  - `src/core/inc/shmem.h`: `struct shmem` (`size`, `place_phys`, `phys`),
 *    indexed by shmem id; `src/core/shmem.c` takes free pages for an entry
 *    without `place_phys` and uses `phys` as it is for one with it;
 *  - `src/arch/armv8/inc/arch/vm.h`: `.arch.gic` = { `gicd_addr`,
 *    `gicr_addr` (GICv3) or `gicc_addr` (GICv2) }, the guest-physical
 *    addresses of the virtual GIC;
 *  - `src/arch/riscv/inc/arch/vm.h`: `.arch.irqc.plic.base`, the virtual
 *    PLIC's guest-physical address (Bao built with `IRQC=PLIC`: Linux 6.1
 *    has no APLIC/IMSIC driver); no timer interrupt (Bao answers SBI TIME).
 *
 * What Bao checks at boot (`src/core/remio.c` `remio_init`): one FRONTEND
 * and one BACKEND entry per bind key, with equal `shmem` base, size and id;
 * `src/core/vm.c` maps each remio shared region at `shmem.base` in the VM
 * that lists it and traps the frontend's window `[va, va + size)`. The
 * backend's `dm_id` in the remio hypercall is the index of the entry in the
 * backend VM's own `remio_devs`: the generator puts each device's BACKEND
 * entry at index `dmId`.
 *
 * Devices passed through to the backend (`backend.passthrough`) become
 * `devs` entries of the backend VM (`pa` = `va` = the page that holds the
 * window, `interrupts` = its SPI; `src/core/vm.c` maps the page and assigns
 * the interrupt to the VM). Such a device DMAs to *physical* addresses
 * while baojs, its driver, gives it guest-physical ones, and there is no
 * SMMU to translate: every region it reads or writes is placed at
 * IPA = PA — its `dma` region (`place_phys` on the backend's
 * `vm_mem_region`, whatever `regionPlacement` says) and the shared region
 * of every frontend disk on it (`place_phys` on the `shmem` entry), since
 * the data of a frontend request goes between the disk and that region
 * without a copy.
 */
import { ConfigError, devicesOfFrontend, frontendsOf, gicOf, pageSpan, validatePlatform, type Platform, type Range } from '../../src/config/platform.ts';

/** Where the images come from and how the VMs start. Paths are written into the C source as they are given. */
export interface BaoConfigOptions {
  /** the frontend's boot image, loaded at the start of its RAM (default 'frontend.bin') */
  frontendImage?: string;
  /** the baojs firmware, raw (`baojs.bin`), loaded at the start of the backend's RAM (default 'baojs.bin') */
  backendImage?: string;
  /** guest-physical address where Bao puts the frontend image (default: frontend.ram.base) */
  frontendImageBase?: number;
  /** the frontend's first instruction (default: the image base, where the boot wrapper starts) */
  frontendEntry?: number;
  /**
   * boot images of the other frontends (`otherFrontends`, in order), each
   * loaded at the start of that frontend's RAM and entered there (default
   * 'frontend2.bin', 'frontend3.bin', …)
   */
  otherFrontendImages?: string[];
  /**
   * Physical placement of the backend's named regions (disk backings,
   * self-test area): 'identity' (default) maps each at the same physical
   * address (`place_phys`), so that a boot loader can put a disk image
   * there before Bao starts and Bao refuses to give those pages to anyone
   * else; 'pool' lets Bao take any free pages (contents undefined).
   */
  regionPlacement?: 'identity' | 'pool';
}

/** Bao's name of a VM image symbol (`VM_IMAGE(<name>, ...)`): the frontend's. */
export const FRONTEND_IMAGE_NAME = 'frontend_image';
/** Bao's name of a VM image symbol (`VM_IMAGE(<name>, ...)`): the backend's. */
export const BACKEND_IMAGE_NAME = 'baojs_image';

/** One `struct vm_mem_region`. */
export interface BaoMemRegion extends Range {
  /** physical address when placed (`place_phys = true`), else undefined */
  phys?: number;
  /** what the region is, for the comment */
  what: string;
}

/** One `struct vm_dev_region`: a passthrough device and/or interrupts. */
export interface BaoDevRegion {
  /** physical and guest-physical address and size; absent for an interrupt-only entry */
  mmio?: { pa: number; va: number; size: number };
  /** physical interrupts given to the VM */
  interrupts: number[];
  what: string;
}

/** One `struct remio_dev`. */
export interface BaoRemioDev {
  type: 'REMIO_DEV_FRONTEND' | 'REMIO_DEV_BACKEND';
  bindKey: number;
  /** frontend only: the trapped window */
  va?: number;
  size?: number;
  /** FRONTEND: the INTID NOTIFY injects; BACKEND: the INTID raised per request */
  interrupt: number;
  shmem: { base: number; size: number; shmemId: number };
  /** the device model's name */
  device: string;
}

/** One `struct vm_config`. */
export interface BaoVm {
  /** 'frontend' or 'backend', and the VM's name in the platform description */
  role: 'frontend' | 'backend';
  name: string;
  image: { symbol: string; path: string; base: number };
  entry: number;
  /** bitmap of physical CPUs */
  cpuAffinity: number;
  cpuNum: number;
  regions: BaoMemRegion[];
  devs: BaoDevRegion[];
  remioDevs: BaoRemioDev[];
  /**
   * the VM's virtual interrupt controller (`.arch` of its platform):
   * aarch64 a GIC (`src/arch/armv8/inc/arch/vm.h`), riscv64 a PLIC at the
   * physical PLIC's address (`src/arch/riscv/inc/arch/vm.h`
   * `irqc.plic.base`: Bao built with `IRQC=PLIC`)
   */
  irqc: BaoIrqc;
}

/** A VM's virtual interrupt controller in Bao's configuration. */
export type BaoIrqc =
  | { kind: 'gic'; version: 2 | 3; gicd: number; gicr?: number; gicc?: number }
  | { kind: 'plic'; base: number };

/** The whole `struct config`. */
export interface BaoSystem {
  platform: string;
  /**
   * `shmemlist`, indexed by shmem id; `phys` when the region must sit at
   * that physical address (`place_phys`: a passthrough disk DMAs into it)
   */
  shmem: Array<{ id: number; size: number; device: string; phys?: number }>;
  /** `vmlist`: the first frontend (VM 0), the backend (VM 1), then the other frontends (VM 2, …) */
  vms: BaoVm[];
}

const PAGE = 0x1000;

/**
 * The Bao system of platform `p`: both VMs, the shared-memory list and the
 * remio devices, as data (what `baoConfig` prints).
 * @throws ConfigError naming the field when the description is invalid or
 *   cannot be expressed as a Bao configuration (e.g. dmIds or shmem ids that
 *   are not 0..n-1, which Bao uses as list indices).
 */
export function baoSystem(p: Platform, opts: BaoConfigOptions = {}): BaoSystem {
  validatePlatform(p);
  const m = p.machine;
  const n = p.devices.length;
  // Bao indexes the backend's remio list by dm_id (src/core/remio.c
  // remio_hypercall) and the shmem list by shmem id (src/core/shmem.c
  // shmem_get): both must be exactly 0..n-1.
  p.devices.forEach((d, i) => {
    if (d.dmId >= n) throw new ConfigError(`devices[${i}].dmId`, `Bao's dm_id indexes the backend's remio list: dmIds must be 0..${n - 1}, got ${d.dmId}`);
    if (!Number.isInteger(d.shmem.id) || d.shmem.id < 0 || d.shmem.id >= n) {
      throw new ConfigError(`devices[${i}].shmem.id`, `Bao's shmem id indexes its shared-memory list: ids must be 0..${n - 1}, got ${d.shmem.id}`);
    }
  });
  // Bao finds the device of a trapped frontend access with in_range(addr,
  // va, size), which takes the byte just past a window as part of it, and
  // stops at the first entry of the frontend's list that matches
  // (src/core/remio.c remio_find_vm_dev_by_addr, src/lib/inc/util.h): a
  // window that starts where another ends would get its register 0 taken
  // by the other device. Windows must leave a gap.
  p.devices.forEach((d, i) => {
    const end = d.window.base + d.window.size;
    p.devices.forEach((o, j) => {
      if (j !== i && end >= o.window.base && end < o.window.base + o.window.size) {
        throw new ConfigError(`devices[${j}].window.base`,
          `window 0x${o.window.base.toString(16)} starts where ${d.name}'s window ends: Bao's remio address lookup counts the first byte past a window as part of it, so leave a gap`);
      }
    });
  });
  if (m.uart.base % PAGE) throw new ConfigError('machine.uart.base', 'a passthrough device must start on a 4 KiB page');
  let irqc: BaoIrqc;
  if (m.arch === 'riscv64') {
    if (!m.plic) throw new ConfigError('machine.plic', 'missing (riscv64 needs a PLIC)');
    irqc = { kind: 'plic', base: m.plic.base };
  } else {
    const mg = gicOf(m);
    if (mg.version === 2 && mg.gicc === undefined) throw new ConfigError('machine.gic.gicc', 'GICv2 needs a CPU interface base');
    irqc = mg.version === 3
      ? { kind: 'gic', version: 3, gicd: mg.gicd, gicr: mg.gicr }
      : { kind: 'gic', version: 2, gicd: mg.gicd, gicc: mg.gicc };
  }
  // aarch64: the virtual timer's PPI is the VM's; riscv64: the timer is Bao's SBI TIME, no interrupt to give
  const timer: BaoDevRegion[] = m.arch === 'riscv64' ? [] : [{ interrupts: [m.timerIntid], what: 'generic timer (virtual timer PPI)' }];
  const affinity = (cpus: number[]): number => cpus.reduce((a, c) => a + 2 ** c, 0);
  const shmemOf = (d: Platform['devices'][number]): BaoRemioDev['shmem'] => ({ base: d.shmem.base, size: d.shmem.size, shmemId: d.shmem.id });

  const fImageBase = opts.frontendImageBase ?? p.frontend.ram.base;
  if (fImageBase < p.frontend.ram.base || fImageBase >= p.frontend.ram.base + p.frontend.ram.size) {
    throw new ConfigError('frontend.ram', `the frontend image base 0x${fImageBase.toString(16)} is outside the frontend's RAM`);
  }
  const frontends: BaoVm[] = frontendsOf(p).map((vm, index) => ({
    role: 'frontend',
    name: vm.name,
    image: index === 0
      ? { symbol: FRONTEND_IMAGE_NAME, path: opts.frontendImage ?? 'frontend.bin', base: fImageBase }
      : { symbol: `frontend${index + 1}_image`, path: opts.otherFrontendImages?.[index - 1] ?? `frontend${index + 1}.bin`, base: vm.ram.base },
    entry: index === 0 ? opts.frontendEntry ?? fImageBase : vm.ram.base,
    cpuAffinity: affinity(vm.cpus),
    cpuNum: vm.cpus.length,
    regions: [{ base: vm.ram.base, size: vm.ram.size, what: 'RAM' }],
    devs: [...timer],
    remioDevs: devicesOfFrontend(p, index).map((d) => ({
      type: 'REMIO_DEV_FRONTEND' as const,
      bindKey: d.bindKey,
      va: d.window.base,
      size: d.window.size,
      interrupt: d.frontendIntid,
      shmem: shmemOf(d),
      device: d.name,
    })),
    irqc,
  }));

  const identity = (opts.regionPlacement ?? 'identity') === 'identity';
  const passthrough = p.backend.passthrough ?? [];
  const dmaRegions = new Set(passthrough.map((d) => d.dma));
  // One `devs` entry per page: two transports may share one (QEMU virt's are 0x200 apart).
  const pages = new Map<number, BaoDevRegion>();
  for (const d of passthrough) {
    const page = pageSpan(d);
    const dev = pages.get(page.base);
    if (dev) {
      dev.interrupts.push(d.intid);
      dev.what += `, ${d.kind} ${d.name}`;
    } else {
      pages.set(page.base, { mmio: { pa: page.base, va: page.base, size: page.size }, interrupts: [d.intid], what: `passthrough ${d.kind} ${d.name}` });
    }
  }
  const byDmId = [...p.devices].sort((a, b) => a.dmId - b.dmId);
  const backend: BaoVm = {
    role: 'backend',
    name: p.backend.name,
    image: { symbol: BACKEND_IMAGE_NAME, path: opts.backendImage ?? 'baojs.bin', base: p.backend.ram.base },
    entry: p.backend.ram.base,
    cpuAffinity: affinity(p.backend.cpus),
    cpuNum: p.backend.cpus.length,
    regions: [
      { base: p.backend.ram.base, size: p.backend.ram.size, what: 'RAM (firmware image, stack, heap)' },
      ...p.backend.regions.map((r) => {
        const dma = dmaRegions.has(r.name);
        const what = dma ? `region '${r.name}', DMA of a passthrough device: IPA = PA` : `region '${r.name}'`;
        return { base: r.base, size: r.size, what, ...(identity || dma ? { phys: r.base } : {}) };
      }),
    ],
    devs: [
      { mmio: { pa: m.uart.base, va: m.uart.base, size: m.uart.size }, interrupts: [m.uart.intid], what: `console UART (${m.uart.kind ?? 'pl011'}), passthrough` },
      ...timer,
      ...pages.values(),
    ],
    remioDevs: byDmId.map((d) => ({
      type: 'REMIO_DEV_BACKEND' as const,
      bindKey: d.bindKey,
      interrupt: d.backendIntid,
      shmem: shmemOf(d),
      device: d.name,
    })),
    irqc,
  };

  const onDisk = (d: Platform['devices'][number]): boolean => typeof d.backing === 'object' && d.backing !== null;
  const shmem = [...p.devices].sort((a, b) => a.shmem.id - b.shmem.id)
    .map((d) => ({ id: d.shmem.id, size: d.shmem.size, device: d.name, ...(onDisk(d) ? { phys: d.shmem.base } : {}) }));
  return { platform: p.name, shmem, vms: [frontends[0], backend, ...frontends.slice(1)] };
}

const hex = (v: number): string => `0x${v.toString(16)}`;
const cString = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;

/**
 * The C source of Bao's configuration for platform `p` (`config.c` of a
 * `CONFIG_REPO` directory), with a header comment saying where it goes and
 * which images it embeds.
 * @throws ConfigError as `baoSystem` does.
 */
export function baoConfig(p: Platform, opts: BaoConfigOptions = {}): string {
  const sys = baoSystem(p, opts);
  const [fe, be, ...others] = sys.vms;
  const L: string[] = [];
  const out = (indent: number, s: string): void => { L.push(`${'    '.repeat(indent)}${s}`); };

  out(0, '/**');
  out(0, ' * SPDX-License-Identifier: Apache-2.0');
  out(0, ' *');
  out(0, ` * Bao VM configuration of the baojs system '${p.name}', generated from`);
  out(0, ` * platforms/${p.name}.ts by qemu/bao/gen-config.ts: do not edit.`);
  out(0, ' *');
  out(0, ' * Build Bao with it (from Bao\'s source tree):');
  out(0, p.machine.arch === 'riscv64'
    ? ` *   make PLATFORM=qemu-riscv64-virt IRQC=PLIC CONFIG=${p.name} CONFIG_REPO=<the directory holding ${p.name}/config.c> CROSS_COMPILE=riscv64-unknown-elf-`
    : ` *   make PLATFORM=<bao platform> CONFIG=${p.name} CONFIG_REPO=<the directory holding ${p.name}/config.c> CROSS_COMPILE=aarch64-none-elf-`);
  out(0, ' * Bao embeds the guest images below (absolute paths, or relative to');
  out(0, ' * the directory make runs in); rebuild Bao whenever one changes.');
  out(0, ` *   ${fe.image.symbol}: the ${fe.name} frontend boot image, loaded at ${hex(fe.image.base)}, entry ${hex(fe.entry)}`);
  out(0, ` *   ${be.image.symbol}: the baojs firmware (baojs.bin), loaded at ${hex(be.image.base)}, entry ${hex(be.entry)}`);
  for (const o of others) out(0, ` *   ${o.image.symbol}: the ${o.name} frontend boot image, loaded at ${hex(o.image.base)}, entry ${hex(o.entry)}`);
  out(0, ' *');
  out(0, ` * VM 0 is the frontend${others.length ? ` ${fe.name}` : ''}, VM 1 the baojs backend${others.map((o, i) => `, VM ${i + 2} the frontend ${o.name}`).join('')}. Each remio device has a`);
  out(0, ' * FRONTEND entry (its virtio-mmio window and the interrupt NOTIFY raises)');
  out(0, ' * and a BACKEND entry (the interrupt raised per request) with the same');
  out(0, ' * bind key and shared region; the backend\'s entry at index i answers to');
  out(0, ' * dm_id i in the remio hypercall.');
  out(0, ' */');
  out(0, '');
  out(0, '#include <config.h>');
  out(0, '');
  for (const vm of sys.vms) out(0, `VM_IMAGE(${vm.image.symbol}, ${cString(vm.image.path)})`);
  out(0, '');
  out(0, 'struct config config = {');
  out(1, 'CONFIG_HEADER');
  out(0, '');
  out(1, '/* Shared memory, indexed by shmem id; Bao picks the physical pages, except where a');
  out(1, ' * passthrough disk DMAs into the region (IPA = PA: no SMMU translates its addresses). */');
  out(1, `.shmemlist_size = ${sys.shmem.length},`);
  out(1, '.shmemlist = (struct shmem[]) {');
  for (const s of sys.shmem) {
    const place = s.phys !== undefined ? ` .place_phys = true, .phys = ${hex(s.phys)},` : '';
    out(2, `[${s.id}] = { .size = ${hex(s.size)},${place} }, /* ${s.device} */`);
  }
  out(1, '},');
  out(0, '');
  out(1, `.vmlist_size = ${sys.vms.length},`);
  out(1, '.vmlist = (struct vm_config[]) {');
  sys.vms.forEach((vm, id) => {
    out(2, `{ /* VM ${id}: ${vm.name} (${vm.role}) */`);
    out(3, `.image = VM_IMAGE_BUILTIN(${vm.image.symbol}, ${hex(vm.image.base)}),`);
    out(3, `.entry = ${hex(vm.entry)},`);
    out(3, `.cpu_affinity = ${hex(vm.cpuAffinity)},`);
    out(0, '');
    out(3, '.platform = {');
    out(4, `.cpu_num = ${vm.cpuNum},`);
    out(0, '');
    out(4, `.region_num = ${vm.regions.length},`);
    out(4, '.regions = (struct vm_mem_region[]) {');
    for (const r of vm.regions) {
      const place = r.phys !== undefined ? ` .place_phys = true, .phys = ${hex(r.phys)},` : '';
      out(5, `{ .base = ${hex(r.base)}, .size = ${hex(r.size)},${place} }, /* ${r.what} */`);
    }
    out(4, '},');
    out(0, '');
    out(4, `.dev_num = ${vm.devs.length},`);
    // ISO C has no empty initializer list (Bao builds with -Wpedantic -Werror): no devices, no list
    if (vm.devs.length > 0) out(4, '.devs = (struct vm_dev_region[]) {');
    for (const d of vm.devs) {
      out(5, `{ /* ${d.what} */`);
      if (d.mmio) {
        out(6, `.pa = ${hex(d.mmio.pa)},`);
        out(6, `.va = ${hex(d.mmio.va)},`);
        out(6, `.size = ${hex(d.mmio.size)},`);
      }
      out(6, `.interrupt_num = ${d.interrupts.length},`);
      out(6, `.interrupts = (irqid_t[]) { ${d.interrupts.join(', ')} },`);
      out(5, '},');
    }
    if (vm.devs.length > 0) out(4, '},');
    out(0, '');
    out(4, `.remio_dev_num = ${vm.remioDevs.length},`);
    out(4, '.remio_devs = (struct remio_dev[]) {');
    vm.remioDevs.forEach((r, i) => {
      const index = vm.role === 'backend' ? `dm_id ${i}: ` : '';
      out(5, `{ /* ${index}${r.device} */`);
      out(6, `.bind_key = ${r.bindKey},`);
      out(6, `.type = ${r.type},`);
      if (r.va !== undefined) out(6, `.va = ${hex(r.va)},`);
      if (r.size !== undefined) out(6, `.size = ${hex(r.size)},`);
      out(6, `.interrupt = ${r.interrupt},`);
      out(6, `.shmem = { .base = ${hex(r.shmem.base)}, .size = ${hex(r.shmem.size)}, .shmem_id = ${r.shmem.shmemId} },`);
      out(5, '},');
    });
    out(4, '},');
    out(0, '');
    out(4, '.arch = {');
    const ic = vm.irqc;
    if (ic.kind === 'plic') {
      out(5, `.irqc.plic.base = ${hex(ic.base)},`);
    } else {
      out(5, '.gic = {');
      out(6, `.gicd_addr = ${hex(ic.gicd)},`);
      if (ic.gicr !== undefined) out(6, `.gicr_addr = ${hex(ic.gicr)},`);
      if (ic.gicc !== undefined) out(6, `.gicc_addr = ${hex(ic.gicc)},`);
      out(5, '},');
    }
    out(4, '},');
    out(3, '},');
    out(2, '},');
  });
  out(1, '},');
  out(0, '};');
  return `${L.join('\n')}\n`;
}

const MiB = 0x100000;
/** QEMU virt puts its own device tree at the start of RAM (even with no kernel): Bao goes above it. */
const QEMU_DTB_ROOM = 2 * MiB;
/** Room Bao needs after its image (CPU structures, page tables, VM bookkeeping): generous. */
const BAO_NOLOAD_SLACK = 32 * MiB;

/**
 * The physical address where a loader (QEMU's, U-Boot) can put a Bao image
 * of `imageSize` bytes for platform `p`: the lowest 2 MiB boundary in
 * machine RAM, above the first 2 MiB (QEMU keeps its own device tree
 * there), where the image and Bao's working memory after it stay clear of
 * every region the configuration pins to a physical address (the backend's
 * named regions and the shared regions passthrough disks DMA into,
 * `place_phys`). Bao finds its own load address at boot
 * (`src/arch/armv8/aarch64/boot.S`) and reserves the pinned regions, so
 * they must not overlap it (`src/core/mem.c`).
 * @throws Error when no such place exists.
 */
export function baoLoadAddress(p: Platform, imageSize: number): number {
  const sys = baoSystem(p);
  const pinned: Range[] = [
    ...sys.vms.flatMap((vm) => vm.regions.filter((r) => r.phys !== undefined).map((r) => ({ base: r.phys!, size: r.size }))),
    ...sys.shmem.filter((s) => s.phys !== undefined).map((s) => ({ base: s.phys!, size: s.size })),
  ];
  const need = imageSize + BAO_NOLOAD_SLACK;
  const end = p.machine.ram.base + p.machine.ram.size;
  let at = p.machine.ram.base + QEMU_DTB_ROOM;
  while (at + need <= end) {
    const hit = pinned.find((r) => at < r.base + r.size && r.base < at + need);
    if (!hit) return at;
    at = Math.ceil((hit.base + hit.size) / (2 * MiB)) * 2 * MiB;
  }
  throw new Error(`no room in machine RAM for a ${imageSize}-byte Bao image clear of the pinned regions`);
}
