// SPDX-License-Identifier: Apache-2.0
/**
 * Generates, from the one platform description, the files the C side needs:
 *  - `platform.h`: every address, size and INTID of the machine, the two
 *    VMs, the backend's named regions and the device models (firmware and
 *    remio test monitor include it);
 *  - `platform.ld`: the linker script constants (load address, RAM size,
 *    stack and heap sizes) that `linker/firmware.ld` INCLUDEs;
 *  - `abi.h` (scripts/gen-abi.ts): the constants C shares with the
 *    TypeScript side (remio ops and statuses, virtio-mmio register offsets,
 *    device ids, data plane and register shadow words), next to
 *    `platform.h` so that every C file that sees one sees the other.
 *
 * Usage: `node --import tsx scripts/gen-platform.ts <platform> <outdir>`.
 */
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { devicesOfFrontend, frontendIndexOf, frontendsOf, gicFrames, PLIC_SIZE, validatePlatform, type Platform, type Range } from '../src/config/platform.ts';
import { displayPath } from './paths.mjs';
import { generateAbi, writeIfChanged } from './gen-abi.ts';
import { DEVICE_KINDS } from '../src/devices/registry.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Loads and validates `platforms/<name>.ts`. @throws ConfigError naming the bad field. */
export async function loadPlatform(name: string): Promise<Platform> {
  const file = join(root, 'platforms', `${name}.ts`);
  if (!existsSync(file)) throw new Error(`no platform description ${displayPath(file)}`);
  const mod = await import(pathToFileURL(file).href) as { platform: Platform };
  return validatePlatform(mod.platform);
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const u = (n: number): string => `${hex(n)}UL`;
const cName = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/** Size of the remio test monitor's own RAM, carved from the top of machine RAM. */
const MONITOR_RAM_SIZE = 0x1000000;
/**
 * Frontend guest-physical address of the monitor's write-only debug UART (a
 * monitor-only aid, absent under Bao; a PL011 on aarch64, an ns16550 on
 * riscv64, the kind of the machine's UART), per architecture: clear of
 * QEMU virt's devices, the interrupt controller, the remio windows and the
 * VMs' RAM (riscv64 virt has its PLIC where aarch64 has the debug UART).
 */
const MONITOR_DEBUG_UART_BASE: Record<string, number> = { aarch64: 0x0c000000, riscv64: 0x0b000000 };

/** Where the remio test monitor (qemu/monitor) lives; none of it exists under Bao. */
export interface MonitorLayout {
  /** the monitor's own RAM: outside both VMs, their regions and shared memory */
  ram: Range;
  /** boot-parameter block (first page of `ram`), filled by QEMU's generic loader */
  bootParams: number;
  /** the frontend's emulated write-only debug PL011 (frontend guest-physical) */
  debugUart: Range;
}

/** The monitor's memory layout for platform `p`. @throws Error if it collides with the system. */
export function monitorLayout(p: Platform): MonitorLayout {
  const ram = { base: p.machine.ram.base + p.machine.ram.size - MONITOR_RAM_SIZE, size: MONITOR_RAM_SIZE };
  const debugUart = { base: MONITOR_DEBUG_UART_BASE[p.machine.arch] ?? MONITOR_DEBUG_UART_BASE.aarch64, size: 0x1000 };
  const hits = (a: Range, b: Range): boolean => a.base < b.base + b.size && b.base < a.base + a.size;
  const used: Range[] = [...frontendsOf(p).map((vm) => vm.ram), p.backend.ram, ...p.backend.regions, ...p.devices.map((d) => d.shmem)];
  if (used.some((r) => hits(r, ram))) throw new Error('monitor RAM (top of machine.ram) overlaps a VM or region');
  if ([...used, ...p.devices.map((d) => d.window), p.machine.uart].some((r) => hits(r, debugUart))) {
    throw new Error('monitor debug UART overlaps a frontend range');
  }
  if (gicFrames(p.machine).some((g) => hits(g, debugUart))) {
    throw new Error('monitor debug UART overlaps the interrupt controller');
  }
  return { ram, bootParams: ram.base, debugUart };
}

/**
 * MMIO ranges the firmware touches: the UART, the GIC distributor, the
 * redistributors (GICv3) or the CPU interface (GICv2), or the PLIC
 * (riscv64), and the windows of the passthrough devices
 * (`backend.passthrough`); frame sizes from {@link gicFrames}.
 */
export function deviceRanges(p: Platform): Range[] {
  const gic = p.machine.gic;
  const programmed = gic === undefined ? ['machine.plic.base']
    : gic.version === 3 ? ['machine.gic.gicd', 'machine.gic.gicr'] : ['machine.gic.gicd', 'machine.gic.gicc'];
  return [
    { base: p.machine.uart.base, size: p.machine.uart.size },
    ...gicFrames(p.machine).filter((g) => programmed.includes(g.field)).map((g) => ({ base: g.base, size: g.size })),
    ...(p.backend.passthrough ?? []).map((d) => ({ base: d.base, size: d.size })),
  ];
}

/** The C header text for platform `p`. */
export function platformHeader(p: Platform): string {
  const m = p.machine;
  const b = p.backend;
  const f = p.frontend;
  const passthrough = b.passthrough ?? [];
  const L: string[] = [];
  L.push('/* SPDX-License-Identifier: Apache-2.0 */');
  L.push(`/* Generated from platforms/${p.name}.ts by scripts/gen-platform.ts: do not edit. */`);
  L.push('#ifndef BAOJS_PLATFORM_H', '#define BAOJS_PLATFORM_H', '');
  L.push(`#define PLAT_NAME "${p.name}"`);
  L.push(`#define PLAT_CPUS ${m.cpus}`);
  L.push(`#define PLAT_QEMU_CPU "${m.qemuCpu}"`);
  L.push(`#define PLAT_RAM_BASE ${u(m.ram.base)}`, `#define PLAT_RAM_SIZE ${u(m.ram.size)}`);
  L.push(`#define PLAT_ARCH "${m.arch}"`, `#define PLAT_ARCH_${cName(m.arch)} 1`);
  if (m.gic) {
    L.push(`#define PLAT_GIC_VERSION ${m.gic.version}`, `#define PLAT_GICD_BASE ${u(m.gic.gicd)}`);
    if (m.gic.gicr !== undefined) L.push(`#define PLAT_GICR_BASE ${u(m.gic.gicr)}`);
    if (m.gic.gicc !== undefined) L.push(`#define PLAT_GICC_BASE ${u(m.gic.gicc)}`);
    if (m.gic.gich !== undefined) L.push(`#define PLAT_GICH_BASE ${u(m.gic.gich)}`);
    if (m.gic.gicv !== undefined) L.push(`#define PLAT_GICV_BASE ${u(m.gic.gicv)}`);
  }
  if (m.plic) L.push(`#define PLAT_PLIC_BASE ${u(m.plic.base)}`, `#define PLAT_PLIC_SIZE ${u(PLIC_SIZE)}`);
  if (m.timebaseHz !== undefined) L.push(`#define PLAT_TIMEBASE_HZ ${m.timebaseHz}UL`);
  L.push(`#define PLAT_UART_BASE ${u(m.uart.base)}`, `#define PLAT_UART_SIZE ${u(m.uart.size)}`, `#define PLAT_UART_INTID ${m.uart.intid}`);
  L.push(`#define PLAT_UART_${(m.uart.kind ?? 'pl011').toUpperCase()} 1`);
  L.push(`#define PLAT_TIMER_INTID ${m.timerIntid}`, '');
  L.push('/* MMIO the firmware maps as device memory: { base, size } (UART, the interrupt controller frames it programs, passthrough devices) */');
  L.push('#define PLAT_DEVICE_RANGES \\');
  for (const r of deviceRanges(p)) L.push(`  { ${u(r.base)}, ${u(r.size)} }, \\`);
  L.push('');
  for (const [pre, vm] of [['BACKEND', b], ['FRONTEND', f]] as const) {
    L.push(`#define ${pre}_RAM_BASE ${u(vm.ram.base)}`, `#define ${pre}_RAM_SIZE ${u(vm.ram.size)}`);
    L.push(`#define ${pre}_CPU ${vm.cpus[0]}`);
  }
  L.push(`#define BACKEND_STACK_SIZE ${u(b.stackSize)}`, `#define BACKEND_HEAP_SIZE ${u(b.heapSize)}`, '');
  const frontends = frontendsOf(p);
  L.push('/* Frontend VMs, the first (FRONTEND_*) first: { name, CPU, RAM base, RAM size } */');
  L.push(`#define PLAT_FRONTEND_COUNT ${frontends.length}`);
  L.push('#define PLAT_FRONTENDS \\');
  for (const vm of frontends) L.push(`  { "${vm.name}", ${vm.cpus[0]}, ${u(vm.ram.base)}, ${u(vm.ram.size)} }, \\`);
  L.push('');
  L.push('/* Named regions of the backend: { name, base, size } */');
  L.push(`#define BACKEND_REGION_COUNT ${b.regions.length + p.devices.length}`);
  L.push('#define BACKEND_REGIONS \\');
  for (const r of b.regions) L.push(`  { "${r.name}", ${u(r.base)}, ${u(r.size)} }, \\`);
  for (const d of p.devices) L.push(`  { "shmem:${d.name}", ${u(d.shmem.base)}, ${u(d.shmem.size)} }, \\`);
  L.push('');
  L.push('/* Device regions the backend may reach with host.mmioRead/mmioWrite: { name, base, size } */');
  L.push('#define BACKEND_MMIO_REGIONS \\');
  L.push(`  { "uart", ${u(m.uart.base)}, ${u(m.uart.size)} }, \\`);
  for (const d of passthrough) L.push(`  { "${d.name}", ${u(d.base)}, ${u(d.size)} }, \\`);
  L.push('');
  L.push('/* Devices passed through to the backend, which drives them: { name, base, size, INTID } */');
  L.push(`#define PLAT_PASSTHROUGH_COUNT ${passthrough.length}`);
  L.push('#define PLAT_PASSTHROUGH \\');
  for (const d of passthrough) L.push(`  { "${d.name}", ${u(d.base)}, ${u(d.size)}, ${d.intid} }, \\`);
  L.push('');
  L.push('/* Device models: { name, virtio device id, dm_id, bind key, window base, window size,');
  L.push(' *   backend INTID, frontend INTID, shmem id, shmem base, shmem size, frontend index (PLAT_FRONTENDS) } */');
  const row = (d: Platform['devices'][number]): string =>
    `  { "${d.name}", ${DEVICE_KINDS[d.kind].deviceId}, ${d.dmId}, ${d.bindKey}, ${u(d.window.base)}, ${u(d.window.size)}, ` +
    `${d.backendIntid}, ${d.frontendIntid}, ${d.shmem.id}, ${u(d.shmem.base)}, ${u(d.shmem.size)}, ${frontendIndexOf(p, d)} }, \\`;
  L.push(`#define PLAT_DEVICE_COUNT ${p.devices.length}`);
  L.push('#define PLAT_DEVICES \\');
  for (const d of p.devices) L.push(row(d));
  L.push('');
  const first = devicesOfFrontend(p, 0);
  L.push('/* The device models of the first frontend only (rows as PLAT_DEVICES) */');
  L.push(`#define PLAT_FRONTEND0_DEVICE_COUNT ${first.length}`);
  L.push('#define PLAT_FRONTEND0_DEVICES \\');
  for (const d of first) L.push(row(d));
  L.push('');
  for (const d of p.devices) {
    const n = cName(d.name);
    L.push(`#define DEV_${n}_DM_ID ${d.dmId}`, `#define DEV_${n}_WINDOW ${u(d.window.base)}`,
      `#define DEV_${n}_BACKEND_INTID ${d.backendIntid}`, `#define DEV_${n}_FRONTEND_INTID ${d.frontendIntid}`,
      `#define DEV_${n}_SHMEM_BASE ${u(d.shmem.base)}`, `#define DEV_${n}_SHMEM_SIZE ${u(d.shmem.size)}`);
  }
  const mon = monitorLayout(p);
  L.push('', '/* remio test monitor (qemu/monitor only; not part of a Bao system) */');
  L.push(`#define FRONTEND_NAME "${f.name}"`, `#define BACKEND_NAME "${b.name}"`);
  L.push('/* VMs: the frontends and the backend */', `#define VM_COUNT ${frontends.length + 1}`);
  L.push(`#define MONITOR_RAM_BASE ${u(mon.ram.base)}`, `#define MONITOR_RAM_SIZE ${u(mon.ram.size)}`);
  L.push(`#define MONITOR_BOOT_PARAMS ${u(mon.bootParams)}`);
  L.push(`#define MONITOR_DEBUG_UART_BASE ${u(mon.debugUart.base)}`, `#define MONITOR_DEBUG_UART_SIZE ${u(mon.debugUart.size)}`);
  L.push('', '#endif', '');
  return L.join('\n');
}

/** The linker-script constants for platform `p` (INCLUDEd by linker/firmware.ld). */
export function platformLd(p: Platform): string {
  const b = p.backend;
  return [
    `/* Generated from platforms/${p.name}.ts by scripts/gen-platform.ts: do not edit. */`,
    `RAM_BASE = ${hex(b.ram.base)};`,
    `RAM_SIZE = ${hex(b.ram.size)};`,
    `STACK_SIZE = ${hex(b.stackSize)};`,
    `HEAP_SIZE = ${hex(b.heapSize)};`,
    '',
  ].join('\n');
}

/** Generates platform.h, platform.ld and abi.h for `name` into `outDir`. */
export async function generatePlatform(name: string, outDir: string): Promise<Platform> {
  const p = await loadPlatform(name);
  writeIfChanged(join(outDir, 'platform.h'), platformHeader(p));
  writeIfChanged(join(outDir, 'platform.ld'), platformLd(p));
  generateAbi(outDir);
  return p;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [name = 'qemu-aarch64-virt', out = join(root, 'build', 'gen', 'qemu-aarch64-virt')] = process.argv.slice(2);
  generatePlatform(name, out).then(() => console.log(`[gen] ${displayPath(out)}/{platform.h,platform.ld,abi.h}`), (e: Error) => {
    console.error(`[gen] ${e.message}`);
    process.exit(1);
  });
}
