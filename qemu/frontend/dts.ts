// SPDX-License-Identifier: Apache-2.0
/**
 * The Linux frontend's device tree, generated from the platform description
 * and compiled with `dtc`.
 *
 * One tree per frontend VM, with that VM's RAM and, for each device model
 * that serves it: a `virtio,mmio` node at the remio
 * window, interrupting on the device's frontend INTID, with `memory-region`
 * naming a `restricted-dma-pool` that covers the device's whole shared
 * region. Linux then keeps all of that device's DMA (rings and bounce
 * buffers) in the region (once the device offers VIRTIO_F_ACCESS_PLATFORM).
 * The shared regions are also listed as memory, so that they are in Linux's
 * linear map, which a restricted pool needs.
 *
 * Options cover the standalone boot too (plain QEMU, no monitor): PSCI over
 * HVC, the PL011 console, and QEMU virt's own virtio-mmio transports, with
 * an optional restricted pool in the frontend's RAM.
 *
 * The architecture follows `p.machine.arch`. aarch64: GIC (v2 or v3), the
 * architected timer, PSCI, PL011; interrupts are GIC INTIDs (SPI = INTID − 32).
 * riscv64: /cpus with timebase-frequency and one `riscv,cpu-intc` per hart,
 * a SiFive PLIC (`machine.plic`; S-mode external interrupt 9 and M-mode 11
 * of each hart, as on QEMU virt), an ns16550a UART; no PSCI and no timer
 * node (SBI). On riscv64 a device's `frontendIntid` is its PLIC source
 * number (one cell).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { devicesOfFrontend, frontendsOf, gicOf, PLIC_SIZE, type Platform, type Range } from '../../src/config/platform.ts';

/** QEMU virt's own virtio-mmio transports (aarch64): 32 windows of 0x200 bytes from 0x0a00_0000, SPI 16 + n, edge-triggered. */
export const QEMU_VIRTIO_MMIO = { base: 0x0a000000, stride: 0x200, count: 32, firstSpi: 16 } as const;

/** QEMU riscv64 virt's own virtio-mmio transports: 8 windows of 0x1000 bytes from 0x1000_1000, PLIC source 1 + n. */
export const QEMU_RISCV_VIRTIO_MMIO = { base: 0x10001000, stride: 0x1000, count: 8, firstSource: 1 } as const;

/**
 * `riscv,ndev` of the frontend's PLIC: QEMU 7.2 riscv virt's (0x60 = 96,
 * `VIRT_IRQCHIP_NUM_SOURCES`), or more when a device's interrupt source is
 * higher (Linux ignores sources above ndev).
 */
export const PLIC_NDEV_QEMU_VIRT = 96;

/** The ns16550a input clock QEMU virt gives its UART (1.8432 MHz × 2), Hz. */
export const NS16550_CLOCK_HZ = 3686400;

/** Options of the frontend device tree. */
export interface FrontendDtsOptions {
  /** which frontend VM: index in `frontendsOf(p)` (default 0, `p.frontend`); its RAM and only its device models go in */
  frontend?: number;
  /** aarch64: PSCI conduit: 'smc' under an EL2 monitor or Bao (default), 'hvc' on plain QEMU at EL1; unused on riscv64 (SBI) */
  conduit?: 'smc' | 'hvc';
  /** kernel command line (`/chosen/bootargs`) */
  bootargs?: string;
  /**
   * a new `/chosen/rng-seed` for this boot: {@link RNG_SEED_BYTES} bytes
   * from the host's CSPRNG, as QEMU's own virt board gives its guests; the
   * frontend kernel credits it (RANDOM_TRUST_BOOTLOADER, kernel.config).
   * Without a seed a frontend with no virtio-rng (frontend 2) has its CRNG
   * ready only after Linux's timer-jitter loop, run by its first reader of
   * /dev/urandom, which takes minutes of emulated time on a loaded host
   * (drivers/char/random.c try_to_generate_entropy). Only for a device tree
   * made for one boot: a seed baked into an image is the same every boot.
   */
  freshRngSeed?: boolean;
  /** include the machine's UART, PL011 or ns16550a (default false: under the monitor the UART belongs to the backend) */
  uart?: boolean;
  /** `/chosen/stdout-path`; default 'serial0:115200n8' with the UART, none without */
  stdoutPath?: string;
  /** where the loader puts the initramfs (`linux,initrd-start/end`); QEMU's `-initrd` fills these in itself */
  initrd?: Range;
  /** include a virtio-mmio node per platform device (default true) */
  devices?: boolean;
  /** trigger of the platform devices' interrupts (default 'level', active high; aarch64 only: a PLIC source has no trigger cell) */
  irqTrigger?: 'level' | 'edge';
  /** number of vCPUs (default: the frontend's CPU count) */
  cpus?: number;
  /** more memory for Linux, e.g. a shared region outside the frontend's RAM (it must be in the linear map to hold a restricted pool) */
  extraMemory?: Range[];
  /**
   * QEMU virt's own virtio-mmio transports (`QEMU_VIRTIO_MMIO` on aarch64,
   * `QEMU_RISCV_VIRTIO_MMIO` on riscv64): include `count` of them (from the
   * highest, which QEMU fills first), optionally sharing one restricted pool
   */
  qemuVirtio?: { count?: number; pool?: Range };
}

/** Bytes of a {@link FrontendDtsOptions.freshRngSeed} (QEMU's virt board gives 32). */
export const RNG_SEED_BYTES = 32;

const hex = (n: number): string => `0x${n.toString(16)}`;
const cells2 = (n: number): string => `${hex(Math.floor(n / 2 ** 32))} ${hex(n % 2 ** 32)}`;
const reg = (r: Range): string => `<${cells2(r.base)} ${cells2(r.size)}>`;
const unit = (n: number): string => n.toString(16);

/**
 * Name of the reserved-memory node of a restricted pool: `<owner>-dma@<base>`,
 * where owner is a device model's name, or 'qemu-virtio' for the pool of
 * QEMU's own transports. Linux 6.1 shows the pool's slab counters
 * (`io_tlb_nslabs`, `io_tlb_used`, 2 KiB slabs) in debugfs under
 * `/sys/kernel/debug/<this name>/`.
 */
export function poolNodeName(owner: string, base: number): string {
  return `${owner}-dma@${unit(base)}`;
}

const GIC_SPI = 0;
const GIC_PPI = 1;
const IRQ_EDGE_RISING = 1;
const IRQ_LEVEL_HIGH = 4;

/**
 * The IPv4 address the runners give frontend number `index + 1`'s eth0
 * (/24 on 10.0.0.0): 10.0.0.1 for frontend 1, 10.0.0.2 for frontend 2, …
 */
export function frontendAddress(index: number): string {
  return `10.0.0.${index + 1}`;
}

/**
 * The kernel command line that tells the initramfs's init (qemu/frontend/init)
 * which frontend it is: `baojs.hostname=<VM name>`, and
 * `baojs.ip=<frontendAddress>/24` when the frontend has a net device.
 */
export function frontendIdentityArgs(p: Platform, index: number): string {
  const vm = frontendsOf(p)[index];
  if (!vm) throw new Error(`frontend ${index}: ${p.name} has ${frontendsOf(p).length} frontend VMs`);
  const net = devicesOfFrontend(p, index).some((d) => d.kind === 'net');
  return `baojs.hostname=${vm.name}${net ? ` baojs.ip=${frontendAddress(index)}/24` : ''}`;
}

/** The device tree source (dts) of a frontend of platform `p` (`opts.frontend`, default the first), for the platform's architecture. */
export function frontendDts(p: Platform, opts: FrontendDtsOptions = {}): string {
  if (p.machine.arch === 'riscv64') return riscvFrontendDts(p, opts);
  const m = p.machine;
  const conduit = opts.conduit ?? 'smc';
  const vm = frontendsOf(p)[opts.frontend ?? 0];
  if (!vm) throw new Error(`frontend ${opts.frontend}: ${p.name} has ${frontendsOf(p).length} frontend VMs`);
  const devices = devicesOfFrontend(p, opts.frontend ?? 0);
  const ncpu = opts.cpus ?? vm.cpus.length;
  const withDevices = opts.devices ?? true;
  const trigger = (opts.irqTrigger ?? 'level') === 'level' ? IRQ_LEVEL_HIGH : IRQ_EDGE_RISING;
  const gic = gicOf(m);
  // GICv2 PPIs carry a CPU target mask in the flags; GICv3 ignores it.
  const ppiFlags = (t: number): number => (gic.version === 2 ? (((1 << ncpu) - 1) << 8) | t : t);
  const L: string[] = [];
  const out = (indent: number, s: string): void => { L.push(`${'\t'.repeat(indent)}${s}`); };

  headerLines(out, p, vm.name);
  out(1, 'compatible = "linux,dummy-virt";');
  out(1, 'interrupt-parent = <&gic>;');
  out(1, '#address-cells = <2>;');
  out(1, '#size-cells = <2>;');
  out(0, '');

  chosenNodes(out, opts);

  out(1, 'psci {');
  out(2, 'compatible = "arm,psci-0.2";');
  out(2, `method = "${conduit}";`);
  out(1, '};');
  out(0, '');

  out(1, 'cpus {');
  out(2, '#address-cells = <1>;');
  out(2, '#size-cells = <0>;');
  for (let i = 0; i < ncpu; i++) {
    out(2, `cpu@${unit(i)} {`);
    out(3, 'device_type = "cpu";');
    out(3, `compatible = "arm,${m.qemuCpu}", "arm,armv8";`);
    out(3, `reg = <${hex(i)}>;`);
    out(3, 'enable-method = "psci";');
    out(2, '};');
  }
  out(1, '};');
  out(0, '');

  const qemuPool = memoryNodes(out, vm, withDevices ? devices : [], opts);

  if (gic.version === 3) {
    if (gic.gicr === undefined) throw new Error('machine.gic.gicr: GICv3 needs a redistributor base');
    out(1, `gic: interrupt-controller@${unit(gic.gicd)} {`);
    out(2, 'compatible = "arm,gic-v3";');
    out(2, `reg = ${reg({ base: gic.gicd, size: 0x10000 })}, ${reg({ base: gic.gicr, size: 0x20000 * m.cpus })};`);
  } else {
    if (gic.gicc === undefined) throw new Error('machine.gic.gicc: GICv2 needs a CPU interface base');
    out(1, `gic: interrupt-controller@${unit(gic.gicd)} {`);
    out(2, 'compatible = "arm,cortex-a15-gic";');
    out(2, `reg = ${reg({ base: gic.gicd, size: 0x1000 })}, ${reg({ base: gic.gicc, size: 0x2000 })};`);
  }
  out(2, '#interrupt-cells = <3>;');
  out(2, '#address-cells = <0>;');
  out(2, 'interrupt-controller;');
  out(1, '};');
  out(0, '');

  // Architected timer: secure phys, non-secure phys, virtual, hypervisor PPIs.
  out(1, 'timer {');
  out(2, 'compatible = "arm,armv8-timer";');
  const ppis = [29, 30, m.timerIntid, 26].map((intid) => `<${GIC_PPI} ${intid - 16} ${hex(ppiFlags(IRQ_LEVEL_HIGH))}>`);
  out(2, `interrupts = ${ppis.join(', ')};`);
  out(2, 'always-on;');
  out(1, '};');
  out(0, '');

  if (opts.uart) {
    out(1, 'apb_pclk: apb-pclk {');
    out(2, 'compatible = "fixed-clock";');
    out(2, '#clock-cells = <0>;');
    out(2, 'clock-frequency = <24000000>;');
    out(2, 'clock-output-names = "clk24mhz";');
    out(1, '};');
    out(0, '');
    out(1, `uart0: pl011@${unit(m.uart.base)} {`);
    out(2, 'compatible = "arm,pl011", "arm,primecell";');
    out(2, `reg = ${reg(m.uart)};`);
    out(2, `interrupts = <${GIC_SPI} ${m.uart.intid - 32} ${IRQ_LEVEL_HIGH}>;`);
    out(2, 'clocks = <&apb_pclk>, <&apb_pclk>;');
    out(2, 'clock-names = "uartclk", "apb_pclk";');
    out(1, '};');
    out(0, '');
  }

  if (withDevices) deviceNodes(out, devices, (d) => [`interrupts = <${GIC_SPI} ${d.frontendIntid - 32} ${trigger}>;`]);

  if (opts.qemuVirtio) {
    const q = QEMU_VIRTIO_MMIO;
    const count = Math.min(q.count, Math.max(0, opts.qemuVirtio.count ?? q.count));
    // QEMU fills its transports from the highest address down: list them in
    // that order so that the first `-device` is probed first (vda).
    for (let n = q.count - 1; n >= q.count - count; n--) {
      const base = q.base + n * q.stride;
      out(1, `virtio_mmio@${unit(base)} {`);
      out(2, 'compatible = "virtio,mmio";');
      out(2, `reg = ${reg({ base, size: q.stride })};`);
      out(2, `interrupts = <${GIC_SPI} ${q.firstSpi + n} ${IRQ_EDGE_RISING}>;`);
      out(2, 'dma-coherent;');
      if (qemuPool) out(2, 'memory-region = <&dma_qemu>;');
      out(1, '};');
    }
  }
  out(0, '};');
  return `${L.join('\n')}\n`;
}

/**
 * The riscv64 device tree of a frontend: see the file's comment. Memory,
 * reserved memory and the virtio-mmio nodes are as on aarch64; interrupts
 * are PLIC sources.
 */
function riscvFrontendDts(p: Platform, opts: FrontendDtsOptions): string {
  const m = p.machine;
  if (!m.plic) throw new Error('machine.plic: a riscv64 frontend needs a PLIC');
  if (!m.timebaseHz) throw new Error('machine.timebaseHz: a riscv64 frontend needs the time CSR frequency');
  const vm = frontendsOf(p)[opts.frontend ?? 0];
  if (!vm) throw new Error(`frontend ${opts.frontend}: ${p.name} has ${frontendsOf(p).length} frontend VMs`);
  const devices = devicesOfFrontend(p, opts.frontend ?? 0);
  const ncpu = opts.cpus ?? vm.cpus.length;
  const withDevices = opts.devices ?? true;
  const q = QEMU_RISCV_VIRTIO_MMIO;
  const qcount = opts.qemuVirtio ? Math.min(q.count, Math.max(0, opts.qemuVirtio.count ?? q.count)) : 0;
  if (opts.uart && (m.uart.kind ?? 'pl011') !== 'ns16550') throw new Error(`machine.uart.kind: the riscv64 frontend drives an ns16550, not ${m.uart.kind ?? 'pl011'}`);
  const sources = [
    ...(withDevices ? devices.map((d) => d.frontendIntid) : []),
    ...(opts.uart ? [m.uart.intid] : []),
    ...(qcount ? [q.firstSource + q.count - 1] : []),
  ];
  for (const s of sources) if (!Number.isInteger(s) || s < 1) throw new Error(`PLIC source ${s}: must be 1 or more`);
  const ndev = Math.max(PLIC_NDEV_QEMU_VIRT, ...sources);
  const L: string[] = [];
  const out = (indent: number, s: string): void => { L.push(`${'\t'.repeat(indent)}${s}`); };

  headerLines(out, p, vm.name);
  out(1, 'compatible = "riscv-virtio";');
  // No interrupt-parent at the root: the harts' interrupt controllers would
  // inherit the PLIC, a loop Linux refuses; each device names the PLIC.
  out(1, '#address-cells = <2>;');
  out(1, '#size-cells = <2>;');
  out(0, '');

  chosenNodes(out, opts);

  out(1, 'cpus {');
  out(2, '#address-cells = <1>;');
  out(2, '#size-cells = <0>;');
  out(2, `timebase-frequency = <${m.timebaseHz}>;`);
  for (let i = 0; i < ncpu; i++) {
    out(2, `cpu@${unit(i)} {`);
    out(3, 'device_type = "cpu";');
    out(3, `reg = <${hex(i)}>;`);
    out(3, 'status = "okay";');
    out(3, 'compatible = "riscv";');
    // No Sstc: the remio monitor and Bao are not known to give a guest the
    // stimecmp CSR; without it Linux programs its timer through SBI.
    out(3, 'riscv,isa = "rv64imafdc";');
    out(3, 'mmu-type = "riscv,sv39";');
    out(3, `cpu${i}_intc: interrupt-controller {`);
    out(4, 'compatible = "riscv,cpu-intc";');
    out(4, '#interrupt-cells = <1>;');
    out(4, 'interrupt-controller;');
    out(3, '};');
    out(2, '};');
  }
  out(1, '};');
  out(0, '');

  const qemuPool = memoryNodes(out, vm, withDevices ? devices : [], opts);

  // Per hart: M-mode external interrupt (11), then S-mode (9): contexts 2h and 2h + 1.
  out(1, `plic: interrupt-controller@${unit(m.plic.base)} {`);
  out(2, 'compatible = "sifive,plic-1.0.0", "riscv,plic0";');
  out(2, `reg = ${reg({ base: m.plic.base, size: PLIC_SIZE })};`);
  out(2, '#address-cells = <0>;');
  out(2, '#interrupt-cells = <1>;');
  out(2, 'interrupt-controller;');
  out(2, `interrupts-extended = ${Array.from({ length: ncpu }, (_, i) => `<&cpu${i}_intc 11>, <&cpu${i}_intc 9>`).join(', ')};`);
  out(2, `riscv,ndev = <${ndev}>;`);
  out(1, '};');
  out(0, '');

  if (opts.uart) {
    out(1, `uart0: serial@${unit(m.uart.base)} {`);
    out(2, 'compatible = "ns16550a";');
    out(2, `reg = ${reg(m.uart)};`);
    out(2, 'interrupt-parent = <&plic>;');
    out(2, `interrupts = <${m.uart.intid}>;`);
    out(2, `clock-frequency = <${NS16550_CLOCK_HZ}>;`);
    out(2, 'reg-shift = <0>;');
    out(1, '};');
    out(0, '');
  }

  if (withDevices) deviceNodes(out, devices, (d) => ['interrupt-parent = <&plic>;', `interrupts = <${d.frontendIntid}>;`]);

  // QEMU fills its transports from the highest address down: list them in
  // that order so that the first `-device` is probed first (vda).
  for (let n = q.count - 1; n >= q.count - qcount; n--) {
    const base = q.base + n * q.stride;
    out(1, `virtio_mmio@${unit(base)} {`);
    out(2, 'compatible = "virtio,mmio";');
    out(2, `reg = ${reg({ base, size: q.stride })};`);
    out(2, 'interrupt-parent = <&plic>;');
    out(2, `interrupts = <${q.firstSource + n}>;`);
    out(2, 'dma-coherent;');
    if (qemuPool) out(2, 'memory-region = <&dma_qemu>;');
    out(1, '};');
  }
  out(0, '};');
  return `${L.join('\n')}\n`;
}

/** Writes the source's header and opens the root node with the model naming frontend `vm` of `p`. */
function headerLines(out: (indent: number, s: string) => void, p: Platform, vm: string): void {
  out(0, '// SPDX-License-Identifier: Apache-2.0');
  out(0, `// Generated from platforms/${p.name}.ts by qemu/frontend/dts.ts: do not edit.`);
  out(0, '/dts-v1/;');
  out(0, '');
  out(0, '/ {');
  out(1, `model = "baojs frontend ${vm} (${p.name})";`);
}

/** Writes the chosen node (bootargs, a fresh rng-seed, stdout-path, initramfs) and, with a UART, the aliases naming it serial0. */
function chosenNodes(out: (indent: number, s: string) => void, opts: FrontendDtsOptions): void {
  out(1, 'chosen {');
  if (opts.bootargs !== undefined) out(2, `bootargs = "${opts.bootargs.replace(/["\\]/g, '\\$&')}";`);
  if (opts.freshRngSeed) out(2, `rng-seed = [${[...randomBytes(RNG_SEED_BYTES)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}];`);
  const stdout = opts.stdoutPath ?? (opts.uart ? 'serial0:115200n8' : undefined);
  if (stdout) out(2, `stdout-path = "${stdout}";`);
  if (opts.initrd) {
    out(2, `linux,initrd-start = <${cells2(opts.initrd.base)}>;`);
    out(2, `linux,initrd-end = <${cells2(opts.initrd.base + opts.initrd.size)}>;`);
  }
  out(1, '};');
  if (opts.uart) {
    out(1, 'aliases {');
    out(2, 'serial0 = &uart0;');
    out(1, '};');
  }
  out(0, '');
}

/**
 * Writes one virtio-mmio node per device model: its window, the
 * properties `irq` gives for its frontend interrupt, DMA coherence and its
 * restricted pool (from {@link memoryNodes}).
 */
function deviceNodes(out: (indent: number, s: string) => void, devices: ReturnType<typeof devicesOfFrontend>, irq: (d: ReturnType<typeof devicesOfFrontend>[number]) => string[]): void {
  for (const d of devices) {
    out(1, `// ${d.name}: ${d.kind}, bind key ${d.bindKey}, shared region ${d.shmem.id}`);
    out(1, `virtio_mmio@${unit(d.window.base)} {`);
    out(2, 'compatible = "virtio,mmio";');
    out(2, `reg = ${reg(d.window)};`);
    for (const line of irq(d)) out(2, line);
    out(2, 'dma-coherent;');
    out(2, `memory-region = <&dma_${d.name.replace(/-/g, '_')}>;`);
    out(1, '};');
  }
  out(0, '');
}

/**
 * Writes the memory nodes (the frontend's RAM, then each of its devices'
 * shared regions and `opts.extraMemory`: a restricted pool must be in the
 * linear map) and the reserved-memory node with one restricted DMA pool
 * per device (and one for QEMU's own transports, `opts.qemuVirtio.pool`).
 * @returns QEMU's pool, when there is one, for its transports' nodes.
 */
function memoryNodes(out: (indent: number, s: string) => void, vm: { ram: Range }, devices: ReturnType<typeof devicesOfFrontend>, opts: FrontendDtsOptions): Range | undefined {
  const memory: Range[] = [vm.ram];
  for (const d of devices) memory.push({ base: d.shmem.base, size: d.shmem.size });
  memory.push(...(opts.extraMemory ?? []));
  for (const r of memory) {
    out(1, `memory@${unit(r.base)} {`);
    out(2, 'device_type = "memory";');
    out(2, `reg = ${reg(r)};`);
    out(1, '};');
  }
  out(0, '');

  const pools: Array<{ label: string; name: string; range: Range }> = [];
  for (const d of devices) pools.push({ label: `dma_${d.name.replace(/-/g, '_')}`, name: poolNodeName(d.name, d.shmem.base), range: d.shmem });
  const qemuPool = opts.qemuVirtio?.pool;
  if (qemuPool) pools.push({ label: 'dma_qemu', name: poolNodeName('qemu-virtio', qemuPool.base), range: qemuPool });
  if (pools.length) {
    out(1, 'reserved-memory {');
    out(2, '#address-cells = <2>;');
    out(2, '#size-cells = <2>;');
    out(2, 'ranges;');
    for (const pool of pools) {
      out(2, `${pool.label}: ${pool.name} {`);
      out(3, 'compatible = "restricted-dma-pool";');
      out(3, `reg = ${reg(pool.range)};`);
      out(2, '};');
    }
    out(1, '};');
    out(0, '');
  }
  return qemuPool;
}

/**
 * Compiles device tree source to a blob with `dtc`; writes `<out>.dts` beside it.
 * @throws with dtc's messages when the source does not compile.
 */
export function compileDtb(source: string, out: string): string {
  mkdirSync(dirname(out), { recursive: true });
  const dtsPath = out.replace(/\.dtb$/, '') + '.dts';
  writeFileSync(dtsPath, source);
  const r = spawnSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', out, dtsPath], { encoding: 'utf8' });
  if (r.error) throw new Error(`dtc: ${r.error.message} (install device-tree-compiler)`);
  if (r.status !== 0) throw new Error(`dtc failed on ${dtsPath}:\n${r.stderr.trim()}`);
  return out;
}

/** Generates and compiles the frontend device tree of `p` into `out` (a .dtb path); returns `out`. */
export function buildFrontendDtb(p: Platform, opts: FrontendDtsOptions, out: string): string {
  return compileDtb(frontendDts(p, opts), out);
}
