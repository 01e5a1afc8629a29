// SPDX-License-Identifier: Apache-2.0
/**
 * Boots a user-built Bao image (`BAO_IMAGE=<path to bao.bin>`, built with
 * the configuration from `gen-config.ts`) on QEMU's aarch64 `virt` machine,
 * instead of the remio test monitor: the same frontend and firmware images,
 * embedded in Bao's image by its configuration.
 *
 * QEMU starts the CPUs at EL2 (`virtualization=on`, `secure=off`) and
 * answers PSCI over SMC itself. Bao is put in physical RAM with QEMU's
 * generic loader and CPU 0 starts at its first byte (`src/arch/armv8/
 * aarch64/boot.S` `_reset_handler`: Bao finds its own load address); Bao
 * then wakes the other CPUs with PSCI CPU_ON (`src/arch/armv8/armv8-a/
 * cpu.c` `cpu_arch_profile_init`).
 *
 * Under Bao a VM's PSCI SYSTEM_OFF fails (`src/arch/armv8/psci.c`
 * `psci_smc_handler` knows no SYSTEM_OFF and answers NOT_SUPPORTED), so the
 * end of a run is the firmware's `baojs: exit <N>` line: QEMU is then
 * stopped by its PID.
 *
 * Bao at 738e3dc sets MPIDR bit 31 in the CPU_ON target (`src/arch/armv8/
 * platform.c` `platform_arch_cpuid_to_mpidr`), which QEMU 7.2's built-in
 * PSCI rejects; Bao then stops before its console is up and prints nothing.
 * The runner notices the silence and says so in one message.
 *
 * Usage: BAO_IMAGE=<bao.bin> node --import tsx qemu/bao/run.ts
 * Environment: BAO_IMAGE, QEMU (the QEMU program), BAOJS_TIMEOUT_S.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Platform } from '../../src/config/platform.ts';
import { platform as defaultPlatform } from '../../platforms/qemu-aarch64-virt.ts';
import { QemuProcess, type QemuResult } from '../qemu.ts';
import { baoLoadAddress } from './config.ts';

export { baoLoadAddress };

/** The line the firmware prints once it serves (src/main.ts `readyLine`). */
export const BAOJS_READY = /^baojs \S+ ready:[^\n]*\n/m;
/** Bao's banner, its first console line (`src/core/init.c`). */
export const BAO_BANNER = /Bao Hypervisor/;
/** The firmware's verdict line, printed before its (failing, under Bao) PSCI SYSTEM_OFF. */
export const BAOJS_EXIT = /^baojs: exit (-?\d+)\s*$/m;

const MiB = 0x100000;

/** QEMU arguments that boot Bao image `image` on platform `p` (QEMU virt, EL2, PSCI over SMC). */
export function baoQemuArgs(p: Platform, image: string, opts: { loadAddress?: number; icount?: string } = {}): string[] {
  const m = p.machine;
  const at = `0x${(opts.loadAddress ?? baoLoadAddress(p, statSync(image).size)).toString(16)}`;
  const args = [
    '-M', `virt,secure=off,virtualization=on,gic-version=${m.gic.version}`,
    '-cpu', m.qemuCpu, '-smp', String(m.cpus),
    '-m', `${Math.ceil((m.ram.base + m.ram.size - 0x40000000) / MiB)}M`,
    '-nographic', '-nic', 'none', '-no-reboot',
    '-device', `loader,file=${image},addr=${at},force-raw=on`,
    '-device', `loader,addr=${at},cpu-num=0`,
  ];
  if (opts.icount) args.push('-icount', opts.icount);
  return args;
}

/** Options of `startBao`. */
export interface BaoRunOptions {
  /** the Bao image (bao.bin); default `$BAO_IMAGE` */
  image?: string;
  /** platform the image was configured for (default qemu-aarch64-virt) */
  platform?: Platform;
  /** the QEMU program; default `$QEMU` or `qemu-system-aarch64` */
  qemu?: string;
  /** physical load address of Bao (default `baoLoadAddress`) */
  loadAddress?: number;
  /** QEMU `-icount` argument, e.g. 'shift=auto,sleep=off' */
  icount?: string;
  /** more QEMU arguments */
  qemuArgs?: string[];
  /** wall-clock limit of the whole run, ms (QEMU is killed by PID after it); default 120 s */
  timeoutMs?: number;
  /** time Bao has to print anything at all, ms (default 5 s) */
  silenceMs?: number;
  /** time the firmware has to print its ready line, ms (default 60 s) */
  readyMs?: number;
  /** copy QEMU's output to stdout */
  echo?: boolean;
  /** connect stdin to the console */
  interactive?: boolean;
  /** called with everything QEMU prints */
  onOutput?: (text: string) => void;
  /** copy of everything QEMU prints */
  logFile?: string;
}

/** Why a Bao boot failed, in one message for the user. */
export class BaoBootError extends Error {
  constructor(message: string, readonly output: string) {
    super(message);
    this.name = 'BaoBootError';
  }
}

function qemuVersion(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : bin;
}

/**
 * The one message for a Bao that printed nothing: the likely cause (Bao's
 * PSCI CPU_ON with MPIDR bit 31, refused by QEMU 7.2) and what to do.
 */
export function silentBaoMessage(qemuBin: string, silenceMs: number, image: string): string {
  return `Bao printed nothing within ${silenceMs / 1000} s (${image} on ${qemuVersion(qemuBin)}). ` +
    'Bao wakes its secondary CPUs with PSCI CPU_ON before its console is up, and passes the target MPIDR with bit 31 set ' +
    '(src/arch/armv8/platform.c); QEMU 7.2\'s built-in PSCI rejects such a target, so Bao stops silently. ' +
    'Run with a QEMU whose PSCI accepts it (QEMU=<path to qemu-system-aarch64>) or with firmware that provides PSCI, ' +
    'and check that BAO_IMAGE is a bao.bin built for PLATFORM=qemu-aarch64-virt with the configuration from qemu/bao/gen-config.ts.';
}

/**
 * Starts QEMU with Bao and resolves once the baojs firmware has printed its
 * ready line under Bao. Rejects with a `BaoBootError` (QEMU killed by its
 * PID) when Bao prints nothing within `silenceMs`, when Bao starts but the
 * firmware does not get ready within `readyMs`, or when QEMU ends first.
 */
export async function startBao(opts: BaoRunOptions = {}): Promise<QemuProcess> {
  const image = opts.image ?? process.env.BAO_IMAGE;
  if (!image) throw new BaoBootError('no Bao image: set BAO_IMAGE=<path to bao.bin> (see docs/bao.md)', '');
  if (!existsSync(image)) throw new BaoBootError(`BAO_IMAGE: no such file: ${image}`, '');
  const p = opts.platform ?? defaultPlatform;
  const bin = opts.qemu ?? process.env.QEMU ?? 'qemu-system-aarch64';
  const silenceMs = opts.silenceMs ?? 5000;
  const readyMs = opts.readyMs ?? 60000;
  const args = [...baoQemuArgs(p, resolve(image), { loadAddress: opts.loadAddress, icount: opts.icount }), ...(opts.qemuArgs ?? [])];
  const q = new QemuProcess({
    name: 'bao', binary: bin, args, timeoutMs: opts.timeoutMs ?? 120000, echo: opts.echo, interactive: opts.interactive,
    onOutput: opts.onOutput, logFile: opts.logFile,
  });
  const fail = (message: string): never => {
    q.kill();
    throw new BaoBootError(message, q.output);
  };
  try {
    await q.waitFor(BAO_BANNER, silenceMs);
  } catch {
    if (q.child.exitCode !== null || q.child.signalCode !== null || q.output.includes('could not start')) {
      fail(`QEMU ended before Bao printed anything:\n${q.tail(1500)}`);
    }
    fail(silentBaoMessage(bin, silenceMs, image));
  }
  try {
    await q.waitFor(BAOJS_READY, readyMs);
  } catch {
    fail(`Bao started but the baojs firmware printed no ready line within ${readyMs / 1000} s: check that the Bao image embeds this build's baojs.bin ` +
      `and the configuration generated for ${p.name} (a Bao ERROR line above names what it refused).\n${q.tail(2000)}`);
  }
  return q;
}

/** The result of `runBao`: QEMU's, with the firmware's verdict. */
export interface BaoRunResult extends QemuResult {
  /** the N of the firmware's `baojs: exit <N>` line, or null if none came */
  verdict: number | null;
}

/**
 * Boots Bao, waits for the firmware's `baojs: exit <N>` line (Bao cannot
 * power the machine off for a VM), stops QEMU by its PID and returns the
 * output and the verdict. Without an exit line, the run ends at the time
 * limit (`timedOut`).
 * @throws BaoBootError as `startBao` does.
 */
export async function runBao(opts: BaoRunOptions = {}): Promise<BaoRunResult> {
  const q = await startBao(opts);
  try {
    await q.waitFor(BAOJS_EXIT, opts.timeoutMs ?? 120000);
  } catch {
    /* the time limit or QEMU's own end: reported by `done` */
  }
  q.kill();
  const r = await q.result;
  const m = BAOJS_EXIT.exec(r.output);
  return { ...r, verdict: m ? Number(m[1]) : null };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const timeoutMs = (Number(process.env.BAOJS_TIMEOUT_S) || 120) * 1000;
  runBao({ echo: true, interactive: true, timeoutMs }).then((r) => {
    if (r.verdict === null) {
      console.error(r.timedOut ? '\n[bao] no `baojs: exit` line within the time limit; QEMU stopped' : `\n[bao] QEMU ended without a verdict (status ${r.qemuStatus})`);
      process.exit(r.timedOut ? 124 : 1);
    }
    process.exit(r.verdict);
  }, (e: Error) => {
    console.error(`\n[bao] ${e.message}`);
    process.exit(1);
  });
}
