// SPDX-License-Identifier: Apache-2.0
/**
 * The backend's exact instruction counts from QEMU's execution log, for
 * `npm run profile` and the benchmark's per-frame network figures.
 *
 * QEMU runs with `-d exec,nochain,in_asm -dfilter <backend RAM>` (see
 * {@link execLogArgs}): every translation block the backend's CPU executes
 * is logged as a `Trace` line, and each block's disassembly (`IN:`) once,
 * which gives its instruction count. A pc can be translated more than
 * once: under `-icount` QEMU also makes blocks cut short to a count of
 * instructions (the rest of the instruction budget, or up to an I/O
 * access: `cflags & CF_COUNT_MASK`, the Trace line's last field), each
 * with its own `IN:`. A block's size is therefore the full translation's
 * (the longest `IN:` at its pc), or that count if the Trace line has one
 * and it is smaller; taking the last `IN:` at a pc instead counted every
 * later run of a hot block with the size of one short translation.
 * Summing the blocks between two byte
 * offsets of the log counts what the backend executed in that interval
 * and nothing else: under `-icount` the vCPUs share one clock, so a
 * backend's service window in guest time also holds the instructions of
 * whatever other vCPU ran meanwhile (a frontend sending flat out); this
 * count does not.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { CROSS } from '../scripts/build.ts';

/** A function symbol of the firmware: [start, end) guest-physical addresses. */
export interface Sym { start: number; end: number; name: string }

/** The firmware's function symbols (`nm -n -S`), sorted by address. */
export function symbols(elf: string): Sym[] {
  const text = execFileSync(`${CROSS}nm`, ['-n', '-S', '--defined-only', elf], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out: Sym[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) (?:([0-9a-f]+) )?([tTwW]) (\S+)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1], 16);
    out.push({ start, end: m[2] ? start + parseInt(m[2], 16) : start, name: m[4] });
  }
  // symbols without a size end where the next one starts
  for (let i = 0; i < out.length; i++) if (out[i].end === out[i].start) out[i].end = out[i + 1]?.start ?? out[i].start + 4;
  return out;
}

/** The name of the function holding `pc`, or the address in hex. */
export function lookup(syms: Sym[], pc: number): string {
  let lo = 0;
  let hi = syms.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (syms[mid].start <= pc) lo = mid + 1;
    else hi = mid - 1;
  }
  const s = syms[hi];
  return s && pc < s.end ? s.name : `0x${pc.toString(16)}`;
}

/** Reads `path` from byte `from` to byte `to` line by line (the log can be GiBs). */
export function* lines(path: string, from: number, to: number): Generator<string> {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 22);
  let pos = from;
  let rest = '';
  try {
    while (pos < to) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos);
      if (n <= 0) break;
      pos += n;
      const parts = (rest + buf.toString('latin1', 0, n)).split('\n');
      rest = parts.pop() ?? '';
      yield* parts;
    }
    if (rest) yield rest;
  } finally {
    closeSync(fd);
  }
}

/** QEMU arguments that log every block the CPU executes in `[base, base + size)` (guest-physical) to `logPath`. */
export function execLogArgs(base: number, size: number, logPath: string): string[] {
  return ['-d', 'exec,nochain,in_asm', '-dfilter', `0x${base.toString(16)}+0x${size.toString(16)}`, '-D', logPath];
}

/** What the backend executed between two offsets of the log. */
export interface ExecCount {
  /** instructions */
  total: number;
  /** translation blocks */
  blocks: number;
  /** instructions by function (with {@link ExecLog.count}'s `syms`) */
  byFn: Map<string, number>;
  /** executions of each instruction address of function `focus` (with {@link ExecLog.count}'s `focus`) */
  byAddr: Map<number, number>;
}

/**
 * A Trace line of `-d exec`: `Trace <cpu>: <host code> [<cs_base>/<pc>/<flags>/<cflags>] <symbol>`
 * (QEMU accel/tcg/cpu-exec.c); groups: pc, cflags.
 */
const TRACE = /^Trace \d+: \S+ \[[0-9a-f]+\/([0-9a-f]+)\/(?:[0-9a-f]+\/([0-9a-f]+)\])?/;
/** The instruction count a block was cut to, in its cflags (QEMU include/exec/exec-all.h CF_COUNT_MASK); 0: not cut. */
const CF_COUNT_MASK = 0x1ff;

/** One execution log: offsets to mark intervals, and counts over them once QEMU is done. */
export class ExecLog {
  private tbSize: Map<number, number> | null = null;
  private tbInsns = new Map<number, number[]>();

  /** @param path the file of {@link execLogArgs} */
  constructor(readonly path: string) {}

  /** The log's length now, bytes: an interval's start or end (QEMU flushes its log as it writes). */
  mark(): number {
    return statSync(this.path).size;
  }

  /** Instructions of every block's full translation (address → count: the longest disassembly at that address in the whole log). */
  private blockSizes(): Map<number, number> {
    if (this.tbSize) return this.tbSize;
    const tbSize = new Map<number, number>();
    let cur = -1;
    let count = 0;
    let insns: number[] = [];
    const endBlock = (): void => {
      if (cur >= 0 && count > (tbSize.get(cur) ?? 0)) {
        tbSize.set(cur, count);
        this.tbInsns.set(cur, insns);
      }
      cur = -1;
      count = 0;
      insns = [];
    };
    for (const line of lines(this.path, 0, this.mark())) {
      if (line.startsWith('IN:')) {
        endBlock();
        continue;
      }
      const m = /^0x([0-9a-f]{8,16}):\s/.exec(line);
      if (m) {
        const a = parseInt(m[1], 16);
        if (cur < 0) cur = a;
        insns.push(a);
        count++;
      } else if (cur >= 0 && line.trim() === '') endBlock();
    }
    endBlock();
    return (this.tbSize = tbSize);
  }

  /**
   * The instructions executed between offsets `from` and `to` ({@link
   * ExecLog.mark}); by function when `syms` is given, and instruction by
   * instruction inside function `focus`.
   */
  count(from: number, to: number, syms?: Sym[], focus?: string): ExecCount {
    const tbSize = this.blockSizes();
    const out: ExecCount = { total: 0, blocks: 0, byFn: new Map(), byAddr: new Map() };
    for (const line of lines(this.path, from, to)) {
      const m = TRACE.exec(line);
      if (!m) continue;
      const pc = parseInt(m[1], 16);
      const full = tbSize.get(pc) ?? 1;
      const limit = m[2] ? parseInt(m[2], 16) & CF_COUNT_MASK : 0;
      const n = limit !== 0 && limit < full ? limit : full;
      if (syms) {
        const name = lookup(syms, pc);
        out.byFn.set(name, (out.byFn.get(name) ?? 0) + n);
        if (focus && name === focus) for (const a of (this.tbInsns.get(pc) ?? [pc]).slice(0, n)) out.byAddr.set(a, (out.byAddr.get(a) ?? 0) + 1);
      }
      out.total += n;
      out.blocks++;
    }
    return out;
  }
}
