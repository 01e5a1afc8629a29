// SPDX-License-Identifier: Apache-2.0
/**
 * Starting and ending QEMU for the runner, the tests and the benchmarks.
 * Every QEMU started here has a time limit and is ended by its own PID,
 * never by name. Its serial console is a ConsoleSession (wait for a marker,
 * send input, run shell commands), and the firmware's verdict is read from
 * its `baojs: exit <N>` line (PSCI SYSTEM_OFF carries no status).
 */
import { spawn, spawnSync } from 'node:child_process';
import { ConsoleSession } from './frontend/session.ts';
import { gicOf, type Machine } from '../src/config/platform.ts';

/**
 * The QEMU program a run uses: `binary`, else `$QEMU`, else the system
 * emulator of the machine's instruction set (`qemu-system-aarch64`, or
 * `qemu-system-riscv64` for a riscv64 machine; found on PATH).
 */
export function qemuProgram(binary?: string, arch: Machine['arch'] = 'aarch64'): string {
  return binary ?? process.env.QEMU ?? `qemu-system-${arch}`;
}

/** The one-line message for a QEMU program that could not be started, e.g. `cannot start /nonexistent: ENOENT`. */
export function qemuStartMessage(bin: string, e: NodeJS.ErrnoException): string {
  const hint = bin === process.env.QEMU ? ' (the program named by QEMU=)' : '';
  return `cannot start ${bin}${hint}: ${e.code ?? e.message}`;
}

/**
 * Checks, before anything long runs, that the QEMU program starts: runs
 * `<bin> --version` and returns its first line.
 * @throws Error with one line naming the program and the reason
 *   (`cannot start /nonexistent: ENOENT`, or its status and first line of
 *   error output when it starts but fails).
 */
export function checkQemu(bin = qemuProgram()): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(qemuStartMessage(bin, r.error as NodeJS.ErrnoException));
  const first = (text: string | null): string => (text ?? '').trim().split('\n')[0] ?? '';
  if (r.status !== 0) throw new Error(`${bin} --version failed (status ${r.status}${r.signal ? `, ${r.signal}` : ''}): ${first(r.stderr) || first(r.stdout)}`);
  return first(r.stdout);
}

/** How to start one QEMU. */
export interface QemuOptions {
  /** the QEMU program, default `$QEMU` or `qemu-system-<arch>` */
  binary?: string;
  /** instruction set of the machine, for the default program (default aarch64) */
  arch?: Machine['arch'];
  /** arguments after the program name */
  args: string[];
  /** wall-clock limit, ms; QEMU is killed (SIGKILL, by PID) after it */
  timeoutMs: number;
  /** copy QEMU's output to this process's stdout as it comes */
  echo?: boolean;
  /** connect this process's stdin (when a terminal) to QEMU's serial console */
  interactive?: boolean;
  /** called with everything QEMU prints */
  onOutput?: (text: string) => void;
  /** copy of everything QEMU prints */
  logFile?: string;
  /** name in error messages (default 'qemu') */
  name?: string;
  /** sent when a command of `run` times out (ConsoleSessionOptions.timeoutProbe) */
  timeoutProbe?: string;
}

/** How a QEMU run ended. */
export interface QemuResult {
  /** everything QEMU printed (stdout and stderr), CR stripped */
  output: string;
  /** QEMU's own exit status (null when killed) */
  qemuStatus: number | null;
  /** the firmware's verdict from its last `baojs: exit <N>` line, or null */
  firmwareExit: number | null;
  /** true when the time limit ended the run */
  timedOut: boolean;
  /** wall time, ms */
  wallMs: number;
  /** set when QEMU could not be started at all: one line, e.g. `cannot start /nonexistent: ENOENT` */
  startError?: string;
}

/**
 * A running QEMU: a {@link ConsoleSession} over its serial console (wait
 * for output, send input, run shell commands) that QEMU itself was started
 * for, with the run's outcome in {@link QemuProcess.result}.
 */
export class QemuProcess extends ConsoleSession {
  /** resolves when QEMU has ended */
  readonly result: Promise<QemuResult>;

  constructor(opts: QemuOptions) {
    const bin = qemuProgram(opts.binary, opts.arch);
    // Board models may carry audio devices: keep QEMU away from the host's sound system.
    const child = spawn(bin, opts.args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, QEMU_AUDIO_DRV: 'none' } });
    const echo = opts.echo ? (text: string) => process.stdout.write(text.replace(/\r/g, '')) : undefined;
    super(child, {
      name: opts.name ?? 'qemu',
      timeoutMs: opts.timeoutMs,
      logFile: opts.logFile,
      ...(opts.timeoutProbe !== undefined ? { timeoutProbe: opts.timeoutProbe } : {}),
      onOutput: echo && opts.onOutput ? (t) => { echo(t); opts.onOutput!(t); } : (echo ?? opts.onOutput),
    });
    const started = Date.now();
    const tty = Boolean(opts.interactive && process.stdin.isTTY);
    const forward = (d: Buffer): void => this.send(d.toString('binary'));
    if (tty) {
      process.stdin.setRawMode(true);
      process.stdin.on('data', forward);
    }
    let startError = '';
    const ended = new Promise<number | null>((resolve) => {
      child.on('error', (e) => {
        startError = qemuStartMessage(bin, e);
        // in the output too, so that a wait on this session that fails shows why
        this.output += `[qemu] ${startError}\n`;
        resolve(null);
      });
      void this.exited.then(resolve);
    });
    this.result = ended.then((status) => {
      if (tty) {
        process.stdin.off('data', forward);
        process.stdin.setRawMode(false);
        process.stdin.pause();
      }
      const output = this.output.replace(/\r/g, '');
      return {
        output, qemuStatus: status, firmwareExit: firmwareExitCode(output), timedOut: this.timedOut, wallMs: Date.now() - started,
        ...(startError ? { startError } : {}),
      };
    });
  }
}

/** The status of the last `baojs: exit <N>` line in `output`, or null. */
export function firmwareExitCode(output: string): number | null {
  const all = [...output.matchAll(/^baojs: exit (-?\d+)\s*$/gm)];
  return all.length ? Number(all[all.length - 1][1]) : null;
}

/** Starts QEMU and waits for it to end. */
export function runQemu(opts: QemuOptions): Promise<QemuResult> {
  return new QemuProcess(opts).result;
}

/**
 * The QEMU `-M` value for machine `m` with the CPUs starting at EL2 and no
 * EL3 (QEMU then answers PSCI over SMC): `virt` with the platform's GIC
 * version, or the board model the description names (e.g. `xlnx-zcu102`).
 */
export function qemuMachineArg(m: Machine): string {
  const name = m.qemuMachine ?? 'virt';
  if (m.arch === 'riscv64') return name;
  if (name === 'virt') return `virt,secure=off,virtualization=on,gic-version=${gicOf(m).version}`;
  return `${name},secure=off,virtualization=on`;
}

/**
 * QEMU arguments that boot the firmware alone on the platform's machine,
 * with no hypervisor below it. aarch64: the CPU starts at EL2 and the
 * firmware drops to EL1 itself; PSCI goes to QEMU over SMC. riscv64: QEMU's
 * OpenSBI (`-bios default`) runs in M-mode and starts the firmware in
 * S-mode with the hart id in a0 and the device tree in a1; SBI system reset
 * powers off. `icount` makes guest time a
 * count of instructions (1 ns each) that skips idle periods at once
 * (`-icount shift=0,sleep=off`): what a run computes from guest time is
 * then the same on a quiet and on a loaded host.
 */
export function bareFirmwareArgs(elf: string, m: Machine, opts: { icount?: boolean; memMiB?: number } = {}): string[] {
  const args = [
    '-M', qemuMachineArg(m),
    '-cpu', m.qemuCpu,
    ...(m.arch === 'riscv64' ? ['-bios', 'default'] : []),
    '-m', `${opts.memMiB ?? 4096}M`,
    '-nographic', '-nic', 'none',
    '-kernel', elf,
  ];
  if (opts.icount) args.push('-icount', 'shift=0,sleep=off');
  return args;
}
