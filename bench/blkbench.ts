// SPDX-License-Identifier: Apache-2.0
/**
 * The frontend's benchmark tool (bench/frontend/blkbench.c): built static
 * for arm64 Linux with the cross compiler the frontend kernel is built with
 * (glibc's static libc from Debian's libc6-dev-arm64-cross), cached by the
 * hash of its source, and the parser of the lines it prints.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
/** The tool's source. */
export const BLKBENCH_SOURCE = join(ROOT, 'bench', 'frontend', 'blkbench.c');
/** Where the tool lands inside the frontend's initramfs. */
export const BLKBENCH_PATH = '/usr/bin/blkbench';

/** Builds (or finds) the static tool; returns its bytes, ready for `InitramfsFile.contents`. */
export function ensureBlkbench(): Buffer {
  const src = readFileSync(BLKBENCH_SOURCE);
  const flags = ['-O2', '-s', '-static', '-Wall', '-Wextra', '-Werror'];
  const hash = createHash('sha256').update(src).update(flags.join(' ')).digest('hex').slice(0, 16);
  const dir = join(ROOT, 'build', 'bench');
  const out = join(dir, `blkbench-${hash}`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.${process.pid}`;
    const r = spawnSync('aarch64-linux-gnu-gcc', [...flags, '-o', tmp, BLKBENCH_SOURCE], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building blkbench failed (needs gcc-aarch64-linux-gnu and libc6-dev-arm64-cross):\n${r.stderr ?? r.error}`);
    renameSync(tmp, out);
  }
  return readFileSync(out);
}

/** One measurement as blkbench printed it. */
export interface BlkbenchResult {
  /** `seqread`, `seqwrite` or `randread` */
  op: string;
  /** request size, bytes */
  bs: number;
  /** requests made */
  count: number;
  /** requests in flight at once */
  qd: number;
  /** bytes moved */
  bytes: number;
  /** guest time, ns (CLOCK_MONOTONIC; instructions under -icount shift=0) */
  ns: number;
  /** requests that failed or came back short */
  errors: number;
}

/** Parses blkbench's result line out of a command's output. @throws when there is none. */
export function parseBlkbench(output: string): BlkbenchResult {
  const m = /blkbench: (\w+) bs (\d+) count (\d+) qd (\d+) bytes (\d+) ns (\d+) errors (\d+)/.exec(output);
  if (!m) throw new Error(`no blkbench result in:\n${output}`);
  const [op, ...n] = m.slice(1);
  const [bs, count, qd, bytes, ns, errors] = n.map(Number);
  return { op, bs, count, qd, bytes, ns, errors };
}
