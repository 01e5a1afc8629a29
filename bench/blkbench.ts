// SPDX-License-Identifier: Apache-2.0
/**
 * The frontend's benchmark tool (bench/frontend/blkbench.c), built by
 * qemu/frontend/tool.ts, and the parser of the lines it prints.
 */
import { join } from 'node:path';
import { buildFrontendTool } from '../qemu/frontend/tool.ts';
import type { FrontendArch } from '../qemu/frontend/build.ts';

const ROOT = join(import.meta.dirname, '..');
/** The tool's source. */
export const BLKBENCH_SOURCE = join(ROOT, 'bench', 'frontend', 'blkbench.c');
/** Where the tool lands inside the frontend's initramfs. */
export const BLKBENCH_PATH = '/usr/bin/blkbench';

/** Builds (or finds) the static tool for the frontend of `arch`; returns its bytes, ready for `InitramfsFile.contents`. */
export function ensureBlkbench(arch: FrontendArch = 'arm64'): Buffer {
  return buildFrontendTool(BLKBENCH_SOURCE, arch);
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
