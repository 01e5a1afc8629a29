// SPDX-License-Identifier: Apache-2.0
/**
 * A console session with a child process (QEMU) whose stdin/stdout are a
 * Linux shell: wait for output markers, send lines, run a command and get
 * its output and exit status. Every session has a deadline after which the
 * process is killed by its own PID.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync } from 'node:fs';

/** Options of a console session. */
export interface ConsoleSessionOptions {
  /** name used in error messages, e.g. 'frontend' */
  name: string;
  /** hard deadline: the process is killed (SIGKILL, by PID) this long after the session starts */
  timeoutMs: number;
  /** copy everything the process prints to this file */
  logFile?: string;
  /** copy everything the process prints to this callback (e.g. to the terminal) */
  onOutput?: (text: string) => void;
  /**
   * bytes sent when a command of {@link ConsoleSession.run} times out; what
   * the process prints in the {@link PROBE_WAIT_MS} after is added to the
   * error (a system session sends baojs's `Ctrl-] s`: the backend's
   * counters and queue indices, to tell a stuck device from a slow one)
   */
  timeoutProbe?: string;
}

/** How long a {@link ConsoleSessionOptions.timeoutProbe}'s answer is collected, host ms. */
export const PROBE_WAIT_MS = 3000;

/** What `run` returns. */
export interface RunResult {
  /** the command's exit status */
  status: number;
  /** what the command printed (carriage returns removed, the echoed command line dropped) */
  output: string;
}

let markerSeq = 0;

/**
 * Longest command line {@link ConsoleSession.run} types, framing included,
 * bytes: the frontend's busybox shell edits lines of at most 1,024 bytes
 * (FEATURE_EDITING_MAX_LEN) and silently drops the rest.
 */
export const MAX_COMMAND_LINE = 1000;

/** A line-oriented session over a child process's stdio. */
export class ConsoleSession {
  /** everything the process printed so far */
  output = '';
  /** waits start matching here: the end of the last match */
  cursor = 0;
  /** resolves with the exit code (or null when killed by a signal) when the process ends */
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly deadline: NodeJS.Timeout;
  private killedByDeadline = false;

  /** Wraps `child`; starts the deadline clock. */
  constructor(readonly child: ChildProcessWithoutNullStreams, readonly opts: ConsoleSessionOptions) {
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.output += text;
      if (opts.logFile) appendFileSync(opts.logFile, text);
      opts.onOutput?.(text);
      for (const w of [...this.waiters]) w();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.stdin.on('error', () => { /* the process went away; waiters report it */ });
    this.exited = new Promise((resolve) => {
      child.on('close', (code) => {
        this.exitCode = code;
        clearTimeout(this.deadline);
        for (const w of [...this.waiters]) w();
        resolve(code);
      });
    });
    this.deadline = setTimeout(() => {
      this.killedByDeadline = true;
      this.kill();
    }, opts.timeoutMs);
    this.deadline.unref();
  }

  /** True when the session's deadline ended the process. */
  get timedOut(): boolean {
    return this.killedByDeadline;
  }

  /** The process's PID. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True once the process has ended. */
  get done(): boolean {
    return this.exitCode !== undefined;
  }

  /** The last `n` characters of the output, for error messages. */
  tail(n = 2000): string {
    return this.output.slice(-n);
  }

  /**
   * Waits until `pattern` appears in the output after the cursor; moves the
   * cursor past the match.
   * @throws when `timeoutMs` passes or the process ends first.
   */
  waitFor(pattern: string | RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const re = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        const m = re.exec(this.output.slice(this.cursor));
        if (m) {
          finish();
          m.index += this.cursor;
          this.cursor = m.index + m[0].length;
          resolve(m);
        } else if (this.done) {
          finish();
          reject(new Error(`${this.opts.name}: ended${this.killedByDeadline ? ' (session deadline passed)' : ''} (exit ${this.exitCode}) before ${re}; last output:\n${this.tail()}`));
        }
      };
      const finish = (): void => {
        this.waiters.delete(check);
        if (timer) clearTimeout(timer);
      };
      timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.opts.name}: no ${re} within ${timeoutMs} ms; last output:\n${this.tail()}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Sends `text` to the process's stdin as is. */
  send(text: string): void {
    if (!this.done) this.child.stdin.write(text);
  }

  /**
   * Runs a shell command line and waits for it to finish. The command is
   * framed by begin and end markers that the echo of the typed line never
   * matches, so the output is exactly what the command printed. `command`
   * is one line of shell that does not end in `&` or `;`; one that reads
   * standard input must redirect it (`< /dev/null`).
   * @throws Error for a framed line longer than {@link MAX_COMMAND_LINE}
   *   bytes (busybox's line editor would cut it and wait for the rest)
   */
  async run(command: string, timeoutMs = 30000): Promise<RunResult> {
    const n = ++markerSeq;
    this.cursor = Math.max(this.cursor, this.output.length);
    const line = `echo "@@BAOJS""_BEGIN ${n}"; ${command.trim()}; echo "@@BAOJS""_END ${n} $?"`;
    const bytes = Buffer.byteLength(line);
    if (bytes > MAX_COMMAND_LINE) {
      throw new Error(`${this.opts.name}: a command line of ${bytes} bytes (at most ${MAX_COMMAND_LINE}: busybox's line editor keeps 1,024); split it: ${command.slice(0, 80)}…`);
    }
    this.send(`${line}\n`);
    const begin = await this.waitFor(new RegExp(`@@BAOJS_BEGIN ${n}\\r?\\n`), timeoutMs).catch((e: Error) => this.probed(e));
    const end = await this.waitFor(new RegExp(`@@BAOJS_END ${n} (\\d+)`), timeoutMs).catch((e: Error) => this.probed(e));
    const output = this.output.slice(begin.index + begin[0].length, end.index).replace(/\r/g, '');
    return { status: Number(end[1]), output };
  }

  /**
   * Throws `e`, a failed wait; first, if the process still runs and the
   * session has a {@link ConsoleSessionOptions.timeoutProbe}, sends it and
   * adds what the process printed in the next {@link PROBE_WAIT_MS} to the
   * message.
   */
  private async probed(e: Error): Promise<never> {
    const probe = this.opts.timeoutProbe;
    if (probe === undefined || this.done) throw e;
    const from = this.output.length;
    this.send(probe);
    await new Promise((r) => setTimeout(r, PROBE_WAIT_MS));
    e.message += `\n${this.opts.name}: printed in answer to the timeout probe:\n${this.output.slice(from).replace(/\r/g, '')}`;
    throw e;
  }

  /** Runs a command and throws (with its output) unless it exits with status 0; returns its output. */
  async check(command: string, timeoutMs = 30000): Promise<string> {
    const r = await this.run(command, timeoutMs);
    if (r.status !== 0) throw new Error(`${this.opts.name}: \`${command}\` exited ${r.status}:\n${r.output}`);
    return r.output;
  }

  /**
   * Bridges frontend number `frontend`'s console (1-based) to the UART with
   * baojs's console escape (`Ctrl-] <n>`, src/console-bridge.ts) and waits
   * for baojs's notice; what that console printed while not bridged
   * follows the notice. Later {@link run}s talk to that frontend's shell.
   * @throws when the notice does not come within `timeoutMs`
   */
  async switchConsole(frontend: number, timeoutMs = 15000): Promise<void> {
    if (!Number.isInteger(frontend) || frontend < 1 || frontend > 9) throw new RangeError(`frontend ${frontend}: 1..9`);
    this.cursor = Math.max(this.cursor, this.output.length);
    this.send(`\x1d${frontend}`);
    await this.waitFor(new RegExp(`baojs: console bridged to frontend ${frontend} `), timeoutMs);
  }

  /**
   * Runs `body` with frontend number `frontend`'s console bridged, then
   * bridges frontend 1's again (also when `body` throws).
   */
  async onFrontend<T>(frontend: number, body: () => Promise<T>): Promise<T> {
    await this.switchConsole(frontend);
    try {
      return await body();
    } finally {
      if (!this.done) await this.switchConsole(1);
    }
  }

  /** Kills the process by its PID (SIGKILL) if it is still running. */
  kill(): void {
    const pid = this.child.pid;
    if (pid !== undefined && !this.done) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }

  /** Waits up to `graceMs` for the process to end by itself, then kills it by PID; resolves with its exit code. */
  async close(graceMs = 5000): Promise<number | null> {
    if (!this.done) {
      const t = setTimeout(() => this.kill(), graceMs);
      await this.exited;
      clearTimeout(t);
    }
    clearTimeout(this.deadline);
    return this.exitCode ?? null;
  }
}
