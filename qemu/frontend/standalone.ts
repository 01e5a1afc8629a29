// SPDX-License-Identifier: Apache-2.0
/**
 * Boots the Linux frontend on plain QEMU, without the remio monitor or Bao:
 * `-M virt,gic-version=3` at EL1 (PSCI over HVC), the PL011 console on
 * stdio, and QEMU's own virtio-mmio devices (virtio-mmio version 2). With
 * `iommuPlatform` a disk offers VIRTIO_F_ACCESS_PLATFORM, so Linux routes
 * its DMA through the restricted pool the device tree gives QEMU's
 * transports.
 *
 * riscv64 (a platform whose `machine.arch` is 'riscv64'):
 * `qemu-system-riscv64 -M virt -bios default` (QEMU's OpenSBI in M-mode),
 * Linux in S-mode, the ns16550a console, QEMU's 8 virtio-mmio transports
 * at 0x1000_1000 (PLIC sources 1..8). The kernel, initramfs and device
 * tree go where the platform's frontend RAM is, at `FRONTEND_LOAD_OFFSETS`,
 * as the monitor and Bao put them; QEMU's `-kernel` is `riscvBootStub`,
 * which OpenSBI enters at 0x8020_0000 and which enters the kernel with
 * a1 = the generated device tree (QEMU's `-kernel` would put the Image at
 * 0x8020_0000, outside the frontend's RAM, and QEMU's own copy of the tree
 * at the top of its RAM, inside a restricted pool there).
 *
 * It is the frontend's self-test and the performance reference: QEMU's
 * virtio-blk-device attached straight to the same kernel, no trap and
 * forward.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gicOf, type Platform, type Range } from '../../src/config/platform.ts';
import { platform as defaultPlatform } from '../../platforms/qemu-aarch64-virt.ts';
import { ensureFrontend, frontendArchOf, type FrontendArtifacts } from './build.ts';
import { buildFrontendDtb, QEMU_RISCV_VIRTIO_MMIO } from './dts.ts';
import { ConsoleSession, type ConsoleSessionOptions } from './session.ts';
import type { DiskAio } from '../disks.ts';

/** QEMU virt's RAM starts here (aarch64); the frontend's RAM must too for a standalone boot. */
const QEMU_VIRT_RAM_BASE = 0x40000000;
/** QEMU riscv64 virt's RAM starts here; OpenSBI keeps the first 2 MiB and enters `-kernel` at + 2 MiB. */
const QEMU_RISCV_VIRT_RAM_BASE = 0x80000000;
/** Where OpenSBI (`-bios default`) enters the next stage, QEMU's `-kernel`, on riscv64 virt. */
const QEMU_RISCV_KERNEL_ENTRY = 0x80200000;
/** The line init prints once the frontend is up. */
export const READY_MARKER = /baojs-frontend: ready[^\n]*\n/;

/**
 * Where a loader that is not QEMU's `-kernel` (the raw boot here, the remio
 * test monitor) puts the frontend's files: offsets from the start of the
 * frontend's RAM. The kernel Image (text_offset 0) sits 2 MiB in; the
 * initramfs goes in the device tree's `linux,initrd-start/end`
 * (`FrontendDtsOptions.initrd`).
 */
export const FRONTEND_LOAD_OFFSETS = { stub: 0x180000, kernel: 0x200000, initrd: 0x4000000, dtb: 0x8000000 } as const;

/**
 * A 40-byte aarch64 boot stub in the Linux arm64 boot protocol: x0 = device
 * tree address, x1..x3 = 0, then a branch to the kernel Image (MMU off, as
 * QEMU's generic loader leaves the CPU).
 */
export function linuxBootStub(kernel: number, dtb: number): Buffer {
  const b = Buffer.alloc(40);
  [
    0x580000c0, // ldr x0, dtb (pc + 24)
    0xaa1f03e1, // mov x1, xzr
    0xaa1f03e2, // mov x2, xzr
    0xaa1f03e3, // mov x3, xzr
    0x58000084, // ldr x4, kernel (pc + 16)
    0xd61f0080, // br x4
  ].forEach((insn, i) => b.writeUInt32LE(insn, i * 4));
  b.writeBigUInt64LE(BigInt(dtb), 24);
  b.writeBigUInt64LE(BigInt(kernel), 32);
  return b;
}

/**
 * A 32-byte riscv64 boot stub in the Linux RISC-V boot protocol: keeps
 * a0 = hart id, sets a1 = device tree address, jumps to the kernel Image
 * (S-mode, MMU off, as SBI firmware leaves the hart).
 */
export function riscvBootStub(kernel: number, dtb: number): Buffer {
  const b = Buffer.alloc(32);
  [
    0x00000297, // auipc t0, 0
    0x0102b583, // ld a1, 16(t0)
    0x0182b303, // ld t1, 24(t0)
    0x00030067, // jr t1
  ].forEach((insn, i) => b.writeUInt32LE(insn, i * 4));
  b.writeBigUInt64LE(BigInt(dtb), 16);
  b.writeBigUInt64LE(BigInt(kernel), 24);
  return b;
}

/** A disk given to the standalone frontend as a QEMU virtio-blk-device. */
export interface StandaloneDisk {
  /** raw image file */
  file: string;
  /** the disk refuses writes (VIRTIO_BLK_F_RO) */
  readOnly?: boolean;
  /** offer VIRTIO_F_ACCESS_PLATFORM (default true): Linux then uses the restricted pool */
  iommuPlatform?: boolean;
  /** how QEMU performs the image's I/O (`-drive aio=`; qemu/disks.ts `DiskAio`); default: QEMU's */
  aio?: DiskAio;
}

/** Options of `bootStandalone`. */
export interface StandaloneOptions {
  /** platform whose frontend (RAM, CPU model, interrupt controller, architecture) is booted; default qemu-aarch64-virt */
  platform?: Platform;
  /** kernel and initramfs, of the platform's architecture; default `ensureFrontend([], frontendArchOf(platform))` */
  artifacts?: FrontendArtifacts;
  /** QEMU virtio-blk-device disks, in order (vda, vdb...) */
  disks?: StandaloneDisk[];
  /**
   * a restricted-dma-pool for QEMU's transports: true (default) = the last
   * 16 MiB of the frontend's RAM, a range, or false for none. A range
   * outside the frontend's RAM (e.g. a device's shared region) becomes a
   * memory node of its own, as under Bao, and QEMU's RAM grows to cover it.
   */
  restrictedPool?: boolean | Range;
  /**
   * Load kernel, initramfs and device tree with QEMU's generic loader and a
   * boot stub instead of `-kernel`, so that QEMU leaves the device tree as
   * generated (with `-kernel`, QEMU replaces its memory nodes by one of its
   * own): the layout Bao and the monitor give Linux. Default: true when the
   * restricted pool lies outside the frontend's RAM, false otherwise.
   * riscv64 always boots this way (false is refused).
   */
  rawBoot?: boolean;
  /**
   * aarch64 PSCI conduit: 'hvc' (default) boots Linux at EL1; 'smc' starts the CPUs
   * at EL2 (`virtualization=on`), where QEMU answers PSCI over SMC, as an
   * EL2 monitor does. riscv64 has no PSCI (harts start through SBI HSM): refused there.
   */
  conduit?: 'hvc' | 'smc';
  /** vCPUs (default 1) */
  cpus?: number;
  /** extra kernel command line */
  append?: string;
  /** QEMU `-icount` argument, e.g. 'shift=0' (guest time counts instructions) */
  icount?: string;
  /** more QEMU arguments */
  qemuArgs?: string[];
  /** kill QEMU (by PID) after this long, default 180 s */
  timeoutMs?: number;
  /** time allowed from start to the ready marker, default 60 s */
  readyTimeoutMs?: number;
  /** set the console log level to 1 once ready, so kernel messages do not interleave with command output (default true) */
  quietConsole?: boolean;
  /** log file and output callback of the session */
  logFile?: ConsoleSessionOptions['logFile'];
  onOutput?: ConsoleSessionOptions['onOutput'];
}

/** A running standalone frontend: a console session plus what it was started with. */
export class StandaloneFrontend extends ConsoleSession {
  /** the QEMU command line */
  argv: string[] = [];
  /** directory holding the generated device tree (removed by `shutdown`) */
  workDir = '';
  /** the ready line init printed */
  readyLine = '';

  /** Powers Linux off (`poweroff -f`: PSCI SYSTEM_OFF, or SBI system reset on riscv64, ends QEMU), killing QEMU by PID if it does not end; resolves with QEMU's exit code. */
  async shutdown(graceMs = 10000): Promise<number | null> {
    if (!this.done) this.send('\nsync; poweroff -f\n');
    const code = await this.close(graceMs);
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
    return code;
  }
}

/**
 * Starts QEMU with the frontend kernel, initramfs and a generated device
 * tree, and resolves once init has printed the ready marker and the shell
 * answers.
 * @throws (after killing QEMU) when the frontend does not come up in time.
 */
export async function bootStandalone(opts: StandaloneOptions = {}): Promise<StandaloneFrontend> {
  const p = opts.platform ?? defaultPlatform;
  const ram = p.frontend.ram;
  const arch = frontendArchOf(p);
  if (arch === 'riscv64') {
    if (opts.conduit !== undefined) throw new Error('conduit: riscv64 has no PSCI');
    if (opts.rawBoot === false) throw new Error('rawBoot: the riscv64 standalone boot always loads the files itself');
    if (ram.base < QEMU_RISCV_KERNEL_ENTRY + 0x200000) throw new Error(`frontend.ram.base must be 0x${(QEMU_RISCV_KERNEL_ENTRY + 0x200000).toString(16)} or above for a riscv64 standalone boot (OpenSBI and the boot stub are below)`);
  } else if (ram.base !== QEMU_VIRT_RAM_BASE) {
    throw new Error(`frontend.ram.base must be 0x${QEMU_VIRT_RAM_BASE.toString(16)} for a standalone QEMU boot`);
  }
  const artifacts = opts.artifacts ?? await ensureFrontend([], arch);
  if ((artifacts.arch ?? 'arm64') !== arch) throw new Error(`artifacts are for ${artifacts.arch ?? 'arm64'}, ${p.name} is ${arch}`);
  const disks = opts.disks ?? [];
  const cpus = opts.cpus ?? 1;
  const pool: Range | undefined = opts.restrictedPool === false ? undefined
    : opts.restrictedPool === undefined || opts.restrictedPool === true ? { base: ram.base + ram.size - 16 * 0x100000, size: 16 * 0x100000 }
      : opts.restrictedPool;

  // A pool outside the frontend's RAM (like a Bao shared region) is given
  // to Linux as memory of its own, and QEMU's RAM grows to hold it.
  const poolOutside = pool !== undefined && (pool.base < ram.base || pool.base + pool.size > ram.base + ram.size);
  const qemuRamEnd = Math.max(ram.base + ram.size, poolOutside && pool ? pool.base + pool.size : 0);
  const rawBoot = arch === 'riscv64' || (opts.rawBoot ?? poolOutside);
  const kernelAddr = ram.base + FRONTEND_LOAD_OFFSETS.kernel;
  const initrdAddr = ram.base + FRONTEND_LOAD_OFFSETS.initrd;
  const dtbAddr = ram.base + FRONTEND_LOAD_OFFSETS.dtb;
  const initrdSize = statSync(artifacts.initramfs).size;
  if (rawBoot && statSync(artifacts.image).size > initrdAddr - kernelAddr) throw new Error('kernel Image too large for the raw boot layout');

  const workDir = mkdtempSync(join(tmpdir(), 'baojs-frontend-'));
  const hexAddr = (n: number): string => `0x${n.toString(16)}`;
  const consoleArgs = arch === 'riscv64' ? ['console=ttyS0', `earlycon=uart8250,mmio,${hexAddr(p.machine.uart.base)}`] : ['console=ttyAMA0', 'earlycon=pl011,0x09000000'];
  const bootargs = [...consoleArgs, 'panic=-1', opts.append ?? ''].join(' ').trim();
  const dtb = buildFrontendDtb(p, {
    conduit: arch === 'riscv64' ? undefined : opts.conduit ?? 'hvc', uart: true, devices: false, cpus, bootargs, freshRngSeed: true,
    qemuVirtio: { count: arch === 'riscv64' ? QEMU_RISCV_VIRTIO_MMIO.count : 32, pool }, extraMemory: poolOutside && pool ? [pool] : [],
    initrd: rawBoot ? { base: initrdAddr, size: initrdSize } : undefined,
  }, join(workDir, 'frontend.dtb'));
  // Kernel, initramfs and device tree at their offsets in the frontend's RAM.
  const loaders = [
    '-device', `loader,file=${artifacts.image},addr=${hexAddr(kernelAddr)},force-raw=on`,
    '-device', `loader,file=${artifacts.initramfs},addr=${hexAddr(initrdAddr)},force-raw=on`,
    '-device', `loader,file=${dtb},addr=${hexAddr(dtbAddr)},force-raw=on`,
  ];
  let bootArgs = ['-kernel', artifacts.image, '-initrd', artifacts.initramfs, '-dtb', dtb];
  if (rawBoot && arch === 'arm64') {
    const stub = join(workDir, 'boot-stub.bin');
    writeFileSync(stub, linuxBootStub(kernelAddr, dtbAddr));
    bootArgs = [
      ...loaders,
      // QEMU keeps its own device tree at the start of RAM for firmware: the stub goes above it.
      '-device', `loader,file=${stub},addr=${hexAddr(ram.base + FRONTEND_LOAD_OFFSETS.stub)},force-raw=on,cpu-num=0`,
    ];
  }

  let argv: string[];
  if (arch === 'riscv64') {
    // OpenSBI enters QEMU's -kernel, the stub, which enters the kernel in the frontend's RAM.
    const stub = join(workDir, 'boot-stub.bin');
    writeFileSync(stub, riscvBootStub(kernelAddr, dtbAddr));
    argv = [
      '-M', 'virt', '-cpu', p.machine.qemuCpu, '-smp', String(cpus), '-m', `${Math.ceil((qemuRamEnd - QEMU_RISCV_VIRT_RAM_BASE) / 0x100000)}M`,
      '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-nic', 'none', '-no-reboot',
      '-bios', 'default', '-kernel', stub,
      ...loaders,
      '-global', 'virtio-mmio.force-legacy=false',
    ];
  } else {
    const gic = gicOf(p.machine).version;
    argv = [
      '-M', `virt,gic-version=${gic}${opts.conduit === 'smc' ? ',secure=off,virtualization=on' : ''}`, '-cpu', p.machine.qemuCpu, '-smp', String(cpus), '-m', `${Math.ceil((qemuRamEnd - ram.base) / 0x100000)}M`,
      '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-nic', 'none', '-no-reboot',
      ...bootArgs,
      '-global', 'virtio-mmio.force-legacy=false',
    ];
  }
  if (opts.icount) argv.push('-icount', opts.icount);
  disks.forEach((d, i) => {
    argv.push('-drive', `if=none,id=d${i},format=raw,file=${d.file}${d.readOnly ? ',readonly=on' : ''}${d.aio ? `,aio=${d.aio}` : ''}`);
    argv.push('-device', `virtio-blk-device,drive=d${i}${d.iommuPlatform === false ? '' : ',iommu_platform=on'}`);
  });
  argv.push(...(opts.qemuArgs ?? []));

  const child = spawn(arch === 'riscv64' ? 'qemu-system-riscv64' : 'qemu-system-aarch64', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  const session = new StandaloneFrontend(child, {
    name: 'standalone frontend', timeoutMs: opts.timeoutMs ?? 180000, logFile: opts.logFile, onOutput: opts.onOutput,
  });
  session.argv = argv;
  session.workDir = workDir;
  try {
    const m = await session.waitFor(READY_MARKER, opts.readyTimeoutMs ?? 60000);
    session.readyLine = m[0].trim();
    if (opts.quietConsole ?? true) await session.check('dmesg -n 1', 15000);
    else await session.check('true', 15000);
  } catch (e) {
    session.kill();
    await session.close(1000);
    rmSync(workDir, { recursive: true, force: true });
    throw e;
  }
  return session;
}
