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
 * The runner notices the silence and says so in one message, with the
 * one-line change to Bao that docs/bao.md describes.
 *
 * Before QEMU starts, `BAO_IMAGE` is checked ({@link checkBaoImage}): a
 * missing file, an ELF or a file without Bao's banner string is refused
 * with one line. After the frontend powers off (Linux's `poweroff -f`:
 * Bao answers its PSCI SYSTEM_OFF with NOT_SUPPORTED and keeps running),
 * {@link PowerOffWatch} notices and QEMU is stopped by its PID at once.
 *
 * Usage: BAO_IMAGE=<bao.bin> node --import tsx qemu/bao/run.ts
 * Environment: BAO_IMAGE, QEMU (the QEMU program), BAOJS_TIMEOUT_S.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gicOf, type Platform } from '../../src/config/platform.ts';
import { platform as defaultPlatform } from '../../platforms/qemu-aarch64-virt.ts';
import { QemuProcess, checkQemu, qemuProgram, type QemuResult } from '../qemu.ts';
import { baoLoadAddress } from './config.ts';

export { baoLoadAddress };

/** The line the firmware prints once it serves (src/main.ts `readyLine`). */
export const BAOJS_READY = /^baojs \S+ ready:[^\n]*\n/m;
/** Bao's banner, its first console line (`src/core/init.c`). */
export const BAO_BANNER = /Bao Hypervisor/;
/** The firmware's verdict line, printed before its (failing, under Bao) PSCI SYSTEM_OFF. */
export const BAOJS_EXIT = /^baojs: exit (-?\d+)\s*$/m;

const MiB = 0x100000;

/** Bao's banner as its image holds it (`src/core/init.c` prints it first); every Bao image contains these bytes. */
export const BAO_BANNER_BYTES = 'Bao Hypervisor';

/** A `BAO_IMAGE` that cannot be a Bao image: the message is one line for the user. */
export class BaoImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BaoImageError';
  }
}

/** Largest Bao image the check reads whole (Bao with two guests embedded is tens of MiB). */
const BAO_IMAGE_MAX = 1024 * MiB;

/**
 * What is wrong with `bytes` as Bao's raw image (`bao.bin`), or null when
 * it may be one: empty; an ELF (`bao.elf`, or baojs.elf: QEMU's loader
 * would copy the ELF headers as code); a gzip, U-Boot (uImage) or Linux
 * arm64 kernel Image; or, failing those, no `Bao Hypervisor` banner
 * string anywhere in it (baojs.bin, a frontend image). Cheap: magic
 * numbers and one substring search; it cannot prove an image is good.
 */
export function baoImageProblem(bytes: Uint8Array): string | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length === 0) return 'it is empty';
  if (b.length >= 4 && b.readUInt32BE(0) === 0x7f454c46) return 'it is an ELF file (Bao\'s build writes the raw image bao.bin beside bao.elf: give that)';
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'it is gzip-compressed (give the raw bao.bin)';
  if (b.length >= 4 && b.readUInt32BE(0) === 0x27051956) return 'it is a U-Boot image (uImage), not the raw bao.bin';
  // Linux arm64 Image header: magic "ARM\x64" at offset 0x38 (Documentation/arch/arm64/booting.rst)
  if (b.length >= 0x3c && b.readUInt32LE(0x38) === 0x644d5241) return 'it is a Linux arm64 kernel Image';
  if (b.indexOf(BAO_BANNER_BYTES, 0, 'latin1') < 0) return `it does not contain Bao's banner string "${BAO_BANNER_BYTES}" (is it baojs.bin, or another program?)`;
  return null;
}

/**
 * Checks `image` (the value of `BAO_IMAGE`) before anything is built or
 * started.
 * @throws BaoImageError with one line naming the file and what is wrong:
 *   missing, not a regular file, or {@link baoImageProblem}.
 */
export function checkBaoImage(image: string): void {
  let size: number;
  try {
    const st = statSync(image);
    if (!st.isFile()) throw new BaoImageError(`BAO_IMAGE=${image} is not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof BaoImageError) throw e;
    throw new BaoImageError(`BAO_IMAGE=${image}: no such file (build Bao as docs/bao.md says, then name its bao.bin)`);
  }
  if (size > BAO_IMAGE_MAX) throw new BaoImageError(`BAO_IMAGE=${image} is not a Bao image: ${size} bytes is more than any Bao image with these guests`);
  const bytes = Buffer.alloc(size);
  const fd = openSync(image, 'r');
  try {
    for (let at = 0; at < size;) {
      const n = readSync(fd, bytes, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  const problem = baoImageProblem(bytes);
  if (problem) throw new BaoImageError(`BAO_IMAGE=${image} is not a Bao image: ${problem}`);
}

/**
 * What ends a run once the frontend has powered off, under Bao, which
 * answers a VM's PSCI SYSTEM_OFF with NOT_SUPPORTED and keeps the machine
 * running (`src/arch/armv8/psci.c`): Linux's own last line
 * (`reboot: Power down`, kernel/reboot.c), Bao's report of the unknown
 * SYSTEM_OFF call (`unknown psci smc_fid 0x84000008`), or, after the
 * shell echoed a `poweroff` command, a console quiet for
 * {@link POWEROFF_QUIET_MS}.
 */
export const FRONTEND_POWER_OFF = [/reboot: Power down/, /unknown psci smc_fid 0x84000008/];
/** The frontend shell's echo of a `poweroff` command line (prompt, then the command). */
export const POWEROFF_COMMAND = /# (?:\x1b\[[0-9;]*[A-Za-z])*poweroff\b[^\n]*\n/;
/** Quiet console after a `poweroff` command that ends the run, ms. */
export const POWEROFF_QUIET_MS = 2000;

/** A shell prompt at the end of the output: the shell is back (the `poweroff` did not end the frontend). */
const PROMPT_AT_END = /# (?:\x1b\[[0-9;]*[A-Za-z])*$/;

/**
 * Decides when a run under Bao is over after the frontend's power-off.
 * Pure: feed it the console text as it comes, with the time, and ask it
 * with {@link PowerOffWatch.due}; the caller stops QEMU by its PID.
 */
export class PowerOffWatch {
  /** output not yet consumed (CR removed), at most 512 characters */
  private tail = '';
  /** when the shell echoed a `poweroff` command, null if none is pending */
  private poweroffAt: number | null = null;
  private lastOutputAt = 0;
  private ended = false;

  constructor(private readonly quietMs = POWEROFF_QUIET_MS) {}

  /** Takes console output received at `nowMs`; returns true once a power-off line has come. */
  feed(text: string, nowMs: number): boolean {
    this.lastOutputAt = nowMs;
    // a tail long enough for a marker split across chunks
    this.tail = (this.tail + text.replace(/\r/g, '')).slice(-512);
    if (FRONTEND_POWER_OFF.some((re) => re.test(this.tail))) this.ended = true;
    const m = POWEROFF_COMMAND.exec(this.tail);
    if (m) {
      this.poweroffAt = nowMs;
      this.tail = this.tail.slice(m.index + m[0].length);
    } else if (this.poweroffAt !== null && PROMPT_AT_END.test(this.tail)) {
      this.poweroffAt = null;
    }
    return this.ended;
  }

  /**
   * True when the run is over at `nowMs`: a power-off line came, or the
   * console has been quiet for the quiet time since a `poweroff` command
   * (and no new prompt came after it).
   */
  due(nowMs: number): boolean {
    if (this.ended) return true;
    return this.poweroffAt !== null && nowMs - this.lastOutputAt >= this.quietMs;
  }
}

/**
 * QEMU arguments that boot Bao image `image` on platform `p`: on aarch64
 * QEMU virt at EL2 (PSCI over SMC), Bao at `opts.loadAddress` with CPU 0
 * starting there; on riscv64 QEMU virt with the hypervisor extension and
 * QEMU's OpenSBI in M-mode (`-bios default`), which starts Bao in HS-mode
 * at 0x8020_0000 (`-kernel`). riscv64 needs Svpbmt (Bao maps devices with
 * PBMT bits) and 4 harts (facts checked on QEMU 7.2; docs/bao.md).
 */
export function baoQemuArgs(p: Platform, image: string, opts: { loadAddress?: number; icount?: string } = {}): string[] {
  const m = p.machine;
  if (m.arch === 'riscv64') {
    const args = [
      '-M', 'virt', '-cpu', `${m.qemuCpu},h=true,svpbmt=true`, '-smp', String(m.cpus),
      '-m', `${Math.ceil((m.ram.base + m.ram.size - 0x80000000) / MiB)}M`,
      '-nographic', '-nic', 'none', '-no-reboot', '-bios', 'default', '-kernel', image,
    ];
    if (opts.icount) args.push('-icount', opts.icount);
    return args;
  }
  const at = `0x${(opts.loadAddress ?? baoLoadAddress(p, statSync(image).size)).toString(16)}`;
  const args = [
    '-M', `virt,secure=off,virtualization=on,gic-version=${gicOf(m).version}`,
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
  /** stop QEMU (by its PID) as soon as the frontend has powered off ({@link PowerOffWatch}); default true */
  stopOnPowerOff?: boolean;
  /** sent when a command of the session's `run` times out (ConsoleSessionOptions.timeoutProbe) */
  timeoutProbe?: string;
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
  try {
    return checkQemu(bin);
  } catch {
    return bin;
  }
}

/** The one-line change to Bao that lets it start its CPUs on QEMU 7.2 (docs/bao.md, "Booting it on QEMU"). */
export const BAO_CPU_ON_FIX = 'in src/arch/armv8/armv8-a/cpu.c, cpu_arch_profile_init, clear bit 31 of the target MPIDR passed to psci_cpu_on ' +
  '(psci_cpu_on(mpidr & ~(1UL << 31), load_addr, 0))';

/**
 * The one message for a Bao that printed nothing: the likely cause (Bao's
 * PSCI CPU_ON with MPIDR bit 31, refused by QEMU 7.2), the one-line fix in
 * Bao ({@link BAO_CPU_ON_FIX}) and the other ways out.
 */
export function silentBaoMessage(qemuBin: string, silenceMs: number, image: string): string {
  return `Bao printed nothing within ${silenceMs / 1000} s (${image} on ${qemuVersion(qemuBin)}). ` +
    'Bao wakes its secondary CPUs with PSCI CPU_ON before its console is up, and passes the target MPIDR with bit 31 set ' +
    '(src/arch/armv8/platform.c); QEMU 7.2\'s built-in PSCI rejects such a target, so a stock Bao stops silently. ' +
    `The fix is one line in Bao: ${BAO_CPU_ON_FIX}; rebuild Bao (docs/bao.md). ` +
    'Or run with a QEMU whose PSCI accepts the target (QEMU=<path to qemu-system-aarch64>).';
}

/**
 * The message for a riscv64 Bao that printed nothing: what Bao needs from
 * QEMU 7.2 and its own build there (docs/bao.md, "riscv64").
 */
export function silentRiscvBaoMessage(qemuBin: string, silenceMs: number, image: string): string {
  return `Bao printed nothing within ${silenceMs / 1000} s (${image} on ${qemuVersion(qemuBin)}). ` +
    'On QEMU 7.2 Bao for qemu-riscv64-virt needs its PLIC build (make IRQC=PLIC), Svpbmt on the CPU and 4 harts (both given here), ' +
    'and a platform header that does not claim Zicbom/Zicboz, which QEMU 7.2 lacks (a cbo.flush is an illegal instruction); see docs/bao.md.';
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
  try {
    checkBaoImage(image);
  } catch (e) {
    throw new BaoBootError((e as Error).message, '');
  }
  const p = opts.platform ?? defaultPlatform;
  const bin = qemuProgram(opts.qemu, p.machine.arch);
  const silenceMs = opts.silenceMs ?? 5000;
  const readyMs = opts.readyMs ?? 60000;
  const args = [...baoQemuArgs(p, resolve(image), { loadAddress: opts.loadAddress, icount: opts.icount }), ...(opts.qemuArgs ?? [])];
  const watch = opts.stopOnPowerOff === false ? null : new PowerOffWatch();
  let stop: (() => void) | null = null;
  const onOutput = (text: string): void => {
    opts.onOutput?.(text);
    if (watch?.feed(text, Date.now())) stop?.();
  };
  const q = new QemuProcess({
    name: 'bao', binary: bin, args, timeoutMs: opts.timeoutMs ?? 120000, echo: opts.echo, interactive: opts.interactive,
    onOutput, logFile: opts.logFile, timeoutProbe: opts.timeoutProbe,
  });
  if (watch) {
    // Bao cannot power the machine off for a VM: end QEMU by its PID once the frontend has.
    const quiet = setInterval(() => {
      if (watch.due(Date.now())) stop?.();
    }, 250);
    quiet.unref();
    stop = (): void => {
      clearInterval(quiet);
      q.kill();
    };
    void q.exited.then(() => clearInterval(quiet));
  }
  const fail = (message: string): never => {
    q.kill();
    throw new BaoBootError(message, q.output);
  };
  try {
    await q.waitFor(BAO_BANNER, silenceMs);
  } catch {
    if (q.done || q.child.exitCode !== null || q.child.signalCode !== null) {
      fail(`QEMU ended before Bao printed anything:\n${q.tail(1500)}`);
    }
    fail(p.machine.arch === 'riscv64' ? silentRiscvBaoMessage(bin, silenceMs, image) : silentBaoMessage(bin, silenceMs, image));
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
