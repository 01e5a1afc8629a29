// SPDX-License-Identifier: Apache-2.0
/**
 * Starting and ending QEMU for the runner, the tests and the benchmarks.
 * Every QEMU started here has a time limit and is ended by its own PID,
 * never by name. Output is collected line by line, so callers can wait for
 * a marker, send input to the serial console, and read the firmware's
 * verdict from its `baojs: exit <N>` line (PSCI SYSTEM_OFF carries no
 * status).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Machine } from '../src/config/platform.ts';

/** How to start one QEMU. */
export interface QemuOptions {
  /** the QEMU program, default `$QEMU` or `qemu-system-aarch64` */
  binary?: string;
  /** arguments after the program name */
  args: string[];
  /** wall-clock limit, ms; QEMU is killed (SIGKILL, by PID) after it */
  timeoutMs: number;
  /** copy QEMU's output to this process's stdout as it comes */
  echo?: boolean;
  /** connect this process's stdin to QEMU's serial console */
  interactive?: boolean;
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
}

/** A running QEMU. */
export class QemuProcess {
  readonly child: ChildProcessWithoutNullStreams;
  private out = '';
  private waiters: Array<{ re: RegExp; from: number; resolve: (m: RegExpExecArray) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  private readonly started = Date.now();
  private killedByTimeout = false;
  private readonly limit: NodeJS.Timeout;
  readonly done: Promise<QemuResult>;

  constructor(readonly opts: QemuOptions) {
    const bin = opts.binary ?? process.env.QEMU ?? 'qemu-system-aarch64';
    // Board models may carry audio devices: keep QEMU away from the host's sound system.
    this.child = spawn(bin, opts.args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, QEMU_AUDIO_DRV: 'none' } });
    const onData = (d: Buffer): void => {
      const s = d.toString('utf8').replace(/\r/g, '');
      this.out += s;
      if (opts.echo) process.stdout.write(s);
      this.checkWaiters();
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    if (opts.interactive && process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.on('data', (d) => this.child.stdin.write(d));
    }
    this.limit = setTimeout(() => {
      this.killedByTimeout = true;
      this.kill();
    }, opts.timeoutMs);
    this.done = new Promise((resolve) => {
      const finish = (status: number | null): void => {
        clearTimeout(this.limit);
        if (opts.interactive && process.stdin.isTTY) {
          process.stdin.setRawMode(false);
          process.stdin.pause();
        }
        for (const w of this.waiters) {
          clearTimeout(w.timer);
          w.reject(new Error(`QEMU ended before ${w.re} appeared${this.killedByTimeout ? ' (time limit)' : ''}\n${this.tail()}`));
        }
        this.waiters = [];
        resolve({
          output: this.out,
          qemuStatus: status,
          firmwareExit: firmwareExitCode(this.out),
          timedOut: this.killedByTimeout,
          wallMs: Date.now() - this.started,
        });
      };
      this.child.on('close', (status) => finish(status));
      this.child.on('error', (e) => {
        this.out += `\n[qemu] could not start ${bin}: ${e.message}\n`;
        finish(null);
      });
    });
  }

  /** All output so far. */
  get output(): string {
    return this.out;
  }

  /** The last `n` lines of output, for error messages. */
  tail(n = 30): string {
    return this.out.split('\n').slice(-n).join('\n');
  }

  /**
   * Resolves when `re` matches output printed after character offset `from`
   * (default: anything printed so far counts). Rejects after `timeoutMs` or
   * when QEMU ends first.
   */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}\n${this.tail()}`));
      }, timeoutMs);
      this.waiters.push({ re, from, resolve, reject, timer });
      this.checkWaiters();
    });
  }

  /** Writes `text` to QEMU's serial console (its stdin). */
  send(text: string): void {
    this.child.stdin.write(text);
  }

  /** Ends QEMU by its PID (SIGKILL). */
  kill(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  private checkWaiters(): void {
    for (const w of [...this.waiters]) {
      const re = new RegExp(w.re.source, w.re.flags.replace('g', ''));
      const m = re.exec(this.out.slice(w.from));
      if (m) {
        clearTimeout(w.timer);
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(m);
      }
    }
  }
}

/** The status of the last `baojs: exit <N>` line in `output`, or null. */
export function firmwareExitCode(output: string): number | null {
  const all = [...output.matchAll(/^baojs: exit (-?\d+)\s*$/gm)];
  return all.length ? Number(all[all.length - 1][1]) : null;
}

/** Starts QEMU and waits for it to end. */
export function runQemu(opts: QemuOptions): Promise<QemuResult> {
  return new QemuProcess(opts).done;
}

/**
 * The QEMU `-M` value for machine `m` with the CPUs starting at EL2 and no
 * EL3 (QEMU then answers PSCI over SMC): `virt` with the platform's GIC
 * version, or the board model the description names (e.g. `xlnx-zcu102`).
 */
export function qemuMachineArg(m: Machine): string {
  const name = m.qemuMachine ?? 'virt';
  if (name === 'virt') return `virt,secure=off,virtualization=on,gic-version=${m.gic.version}`;
  return `${name},secure=off,virtualization=on`;
}

/**
 * QEMU arguments that boot the firmware alone on the platform's machine,
 * with no hypervisor below it: the CPU starts at EL2 and the firmware drops
 * to EL1 itself; PSCI goes to QEMU over SMC. `icount` makes guest time a
 * count of instructions (1 ns each).
 */
export function bareFirmwareArgs(elf: string, m: Machine, opts: { icount?: boolean; memMiB?: number } = {}): string[] {
  const args = [
    '-M', qemuMachineArg(m),
    '-cpu', m.qemuCpu,
    '-m', `${opts.memMiB ?? 4096}M`,
    '-nographic', '-nic', 'none',
    '-kernel', elf,
  ];
  if (opts.icount) args.push('-icount', 'shift=0');
  return args;
}
