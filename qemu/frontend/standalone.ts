// SPDX-License-Identifier: Apache-2.0
/**
 * Boots the Linux frontend on plain QEMU, without the remio monitor or Bao:
 * `-M virt,gic-version=3` at EL1 (PSCI over HVC), the PL011 console on
 * stdio, and QEMU's own virtio-mmio devices (virtio-mmio version 2). With
 * `iommuPlatform` a disk offers VIRTIO_F_ACCESS_PLATFORM, so Linux routes
 * its DMA through the restricted pool the device tree gives QEMU's
 * transports.
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
import { ensureFrontend, type FrontendArtifacts } from './build.ts';
import { buildFrontendDtb } from './dts.ts';
import { ConsoleSession, type ConsoleSessionOptions } from './session.ts';

/** QEMU virt's RAM starts here; the frontend's RAM must too for a standalone boot. */
const QEMU_VIRT_RAM_BASE = 0x40000000;
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

/** A disk given to the standalone frontend as a QEMU virtio-blk-device. */
export interface StandaloneDisk {
  /** raw image file */
  file: string;
  /** the disk refuses writes (VIRTIO_BLK_F_RO) */
  readOnly?: boolean;
  /** offer VIRTIO_F_ACCESS_PLATFORM (default true): Linux then uses the restricted pool */
  iommuPlatform?: boolean;
}

/** Options of `bootStandalone`. */
export interface StandaloneOptions {
  /** platform whose frontend (RAM size, CPU model, GIC) is booted; default qemu-aarch64-virt */
  platform?: Platform;
  /** kernel and initramfs; default `ensureFrontend()` */
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
   */
  rawBoot?: boolean;
  /**
   * PSCI conduit: 'hvc' (default) boots Linux at EL1; 'smc' starts the CPUs
   * at EL2 (`virtualization=on`), where QEMU answers PSCI over SMC, as an
   * EL2 monitor does
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

  /** Powers Linux off (`poweroff -f`: PSCI SYSTEM_OFF ends QEMU), killing QEMU by PID if it does not end; resolves with QEMU's exit code. */
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
  if (ram.base !== QEMU_VIRT_RAM_BASE) throw new Error(`frontend.ram.base must be 0x${QEMU_VIRT_RAM_BASE.toString(16)} for a standalone QEMU boot`);
  const artifacts = opts.artifacts ?? await ensureFrontend();
  const disks = opts.disks ?? [];
  const cpus = opts.cpus ?? 1;
  const pool: Range | undefined = opts.restrictedPool === false ? undefined
    : opts.restrictedPool === undefined || opts.restrictedPool === true ? { base: ram.base + ram.size - 16 * 0x100000, size: 16 * 0x100000 }
      : opts.restrictedPool;

  // A pool outside the frontend's RAM (like a Bao shared region) is given
  // to Linux as memory of its own, and QEMU's RAM grows to hold it.
  const poolOutside = pool !== undefined && (pool.base < ram.base || pool.base + pool.size > ram.base + ram.size);
  const qemuRamEnd = Math.max(ram.base + ram.size, poolOutside && pool ? pool.base + pool.size : 0);
  const rawBoot = opts.rawBoot ?? poolOutside;
  const kernelAddr = ram.base + FRONTEND_LOAD_OFFSETS.kernel;
  const initrdAddr = ram.base + FRONTEND_LOAD_OFFSETS.initrd;
  const dtbAddr = ram.base + FRONTEND_LOAD_OFFSETS.dtb;
  const initrdSize = statSync(artifacts.initramfs).size;
  if (rawBoot && statSync(artifacts.image).size > initrdAddr - kernelAddr) throw new Error('kernel Image too large for the raw boot layout');

  const workDir = mkdtempSync(join(tmpdir(), 'baojs-frontend-'));
  const bootargs = ['console=ttyAMA0', 'earlycon=pl011,0x09000000', 'panic=-1', opts.append ?? ''].join(' ').trim();
  const dtb = buildFrontendDtb(p, {
    conduit: opts.conduit ?? 'hvc', uart: true, devices: false, cpus, bootargs,
    qemuVirtio: { count: 32, pool }, extraMemory: poolOutside && pool ? [pool] : [],
    initrd: rawBoot ? { base: initrdAddr, size: initrdSize } : undefined,
  }, join(workDir, 'frontend.dtb'));
  const hexAddr = (n: number): string => `0x${n.toString(16)}`;
  let bootArgs = ['-kernel', artifacts.image, '-initrd', artifacts.initramfs, '-dtb', dtb];
  if (rawBoot) {
    const stub = join(workDir, 'boot-stub.bin');
    writeFileSync(stub, linuxBootStub(kernelAddr, dtbAddr));
    bootArgs = [
      '-device', `loader,file=${artifacts.image},addr=${hexAddr(kernelAddr)},force-raw=on`,
      '-device', `loader,file=${artifacts.initramfs},addr=${hexAddr(initrdAddr)},force-raw=on`,
      '-device', `loader,file=${dtb},addr=${hexAddr(dtbAddr)},force-raw=on`,
      // QEMU keeps its own device tree at the start of RAM for firmware: the stub goes above it.
      '-device', `loader,file=${stub},addr=${hexAddr(ram.base + FRONTEND_LOAD_OFFSETS.stub)},force-raw=on,cpu-num=0`,
    ];
  }

  const gic = gicOf(p.machine).version;
  const argv = [
    '-M', `virt,gic-version=${gic}${opts.conduit === 'smc' ? ',secure=off,virtualization=on' : ''}`, '-cpu', p.machine.qemuCpu, '-smp', String(cpus), '-m', `${Math.ceil((qemuRamEnd - ram.base) / 0x100000)}M`,
    '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-nic', 'none', '-no-reboot',
    ...bootArgs,
    '-global', 'virtio-mmio.force-legacy=false',
  ];
  if (opts.icount) argv.push('-icount', opts.icount);
  disks.forEach((d, i) => {
    argv.push('-drive', `if=none,id=d${i},format=raw,file=${d.file}${d.readOnly ? ',readonly=on' : ''}`);
    argv.push('-device', `virtio-blk-device,drive=d${i}${d.iommuPlatform === false ? '' : ',iommu_platform=on'}`);
  });
  argv.push(...(opts.qemuArgs ?? []));

  const child = spawn('qemu-system-aarch64', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
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
