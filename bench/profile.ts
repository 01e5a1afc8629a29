// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run profile`: where the backend's instructions go, by function.
 *
 * Boots the system (monitor + Linux + baojs) under `-icount shift=0` with
 * QEMU's own execution log restricted to the backend's RAM (`-d
 * exec,nochain,in_asm -dfilter <backend RAM>`): every translation block the
 * backend CPU executes is logged, and its instruction count comes from the
 * block's disassembly. The frontend then runs one workload (default: 256
 * sequential 4 KiB reads of vda, `PROFILE_WORKLOAD` to change it); the
 * blocks executed during it are summed by the firmware's function symbols
 * (`nm`) and printed, most expensive first, in instructions per request.
 *
 * Exact (no sampling) but slow: QEMU writes one log line per block. A
 * developer's tool, not part of the test suite; no figure is asserted.
 *
 * Environment: PROFILE_WORKLOAD (a blkbench command line, e.g. `seq read
 * /dev/vda 4096 256`) or PROFILE_COMMAND (any shell command of frontend
 * 1; blkbench and netbench are there), PROFILE_REQUESTS (what to divide by; default the count at the
 * end of the workload), PROFILE_TOP (rows, default 40), PROFILE_KEEP_LOG=1
 * (keep QEMU's log and print where the workload's part of it starts),
 * PROFILE_LINES=<function> (break that function down by source line with
 * addr2line, each line also named by the nearest `CASE(OP_…)` label above
 * it: for QuickJS's JS_CallInternal, instructions by bytecode opcode),
 * PROFILE_DATAPLANE_OFF=1 (turn the C paths off first, `Ctrl-] d`: every
 * request and register access through JS), PROFILE_QUEUE_PLANE_OFF=1
 * (`Ctrl-] q`: every block request through the TypeScript device, the
 * interrupt registers still in C, as for any TypeScript device), PROFILE_ECHO=<n> (instead of a
 * command: `n` characters typed on the backend's console and echoed by the
 * frontend, each one a unit; everything the backend ran for them, the UART
 * interrupt included).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildFirmware, CROSS } from '../scripts/build.ts';
import { loadPlatform } from '../scripts/gen-platform.ts';
import { bootSystem, switchPlane } from '../qemu/system.ts';
import { BLKBENCH_PATH, ensureBlkbench } from './blkbench.ts';
import { NETBENCH_PATH, ensureNetbench } from './netbench.ts';
import { ExecLog, execLogArgs, symbols } from './execlog.ts';
import { onCommentLine, typeEchoed } from './echo.ts';

const ROOT = join(import.meta.dirname, '..');
const PLATFORM = 'qemu-aarch64-virt';

async function main(): Promise<void> {
  const p = await loadPlatform(PLATFORM);
  const workload = process.env.PROFILE_WORKLOAD ?? 'seq read /dev/vda 4096 256';
  const command = process.env.PROFILE_COMMAND ?? `blkbench ${workload}`;
  const echo = Number(process.env.PROFILE_ECHO ?? 0);
  const requests = echo > 0 ? echo : Number(process.env.PROFILE_REQUESTS ?? workload.trim().split(/\s+/).pop());
  const top = Number(process.env.PROFILE_TOP ?? 40);
  const fw = await buildFirmware({ platform: PLATFORM, quiet: true });
  const dir = join(ROOT, 'build', 'profile');
  mkdirSync(dir, { recursive: true });
  const logPath = join(dir, `exec-${process.pid}.log`);
  const { base, size } = p.backend.ram;
  console.log(`[profile] booting the system with QEMU's execution log of the backend (0x${base.toString(16)}+0x${size.toString(16)})`);
  const sys = await bootSystem({
    timeoutMs: 3_600_000, readyTimeoutMs: 1_800_000, icount: 'shift=0', firmwareElf: fw.elf, log: () => {},
    initramfsExtra: [{ path: BLKBENCH_PATH, contents: ensureBlkbench() }, { path: NETBENCH_PATH, contents: ensureNetbench() }],
    qemuArgs: execLogArgs(base, size, logPath),
  });
  const log = new ExecLog(logPath);
  let from = 0;
  let to = 0;
  try {
    await sys.check('sync', 600_000);
    if (process.env.PROFILE_DATAPLANE_OFF === '1') await switchPlane(sys, 'data', 'off', 60_000);
    if (process.env.PROFILE_QUEUE_PLANE_OFF === '1') await switchPlane(sys, 'queue', 'off', 60_000);
    if (echo > 0) {
      console.log(`[profile] ${echo} characters typed on the backend's console, each echoed by the frontend`);
      await onCommentLine(sys, async () => {
        from = log.mark();
        await typeEchoed(sys, echo);
        to = log.mark();
      });
    } else {
      from = log.mark();
      console.log(`[profile] ${command}`);
      const out = (await sys.check(command, 3_600_000)).trim();
      to = log.mark();
      if (out) console.log(out.replace(/^/gm, '[profile] | '));
    }
  } finally {
    sys.kill();
    await sys.close(2000);
  }

  const focus = process.env.PROFILE_LINES;
  const { total, blocks, byFn, byAddr } = log.count(from, to, symbols(fw.elf), focus);
  if (!process.env.PROFILE_KEEP_LOG) rmSync(logPath, { force: true });
  else console.log(`[profile] log kept: ${logPath}, the workload from byte ${from} to ${to}`);
  const rows = [...byFn.entries()].sort((a, b) => b[1] - a[1]);
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const what = echo > 0 ? `${echo} echoed characters` : `\`${command}\``;
  console.log(`\nbackend instructions during ${what}: ${fmt(total)} in ${fmt(blocks)} blocks, ${fmt(total / requests)} per ${echo > 0 ? 'character' : 'request'} (${requests})`);
  console.log(`${(echo > 0 ? 'per character' : 'per request').padStart(13)}        %  function`);
  for (const [name, n] of rows.slice(0, top)) {
    console.log(`  ${fmt(n / requests).padStart(11)}  ${((100 * n) / total).toFixed(1).padStart(5)}  ${name}`);
  }
  if (focus) printLines(fw.elf, focus, byAddr, requests, top);
}

/**
 * Prints the instructions of `fn` by source line (the outermost frame of
 * addr2line's inlining chain, i.e. the line in `fn` itself), each line
 * named by the nearest `CASE(OP_…)` label above it in its file if any.
 */
function printLines(elf: string, fn: string, byAddr: Map<number, number>, requests: number, top: number): void {
  const addrs = [...byAddr.keys()].sort((a, b) => a - b);
  if (addrs.length === 0) {
    console.log(`\n${fn}: not executed during the workload`);
    return;
  }
  const out = execFileSync(`${CROSS}addr2line`, ['-a', '-i', '-e', elf, ...addrs.map((a) => `0x${a.toString(16)}`)], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const frames = new Map<number, string>();
  let at = -1;
  for (const l of out.split('\n')) {
    if (/^0x[0-9a-f]+$/.test(l)) at = parseInt(l, 16);
    else if (l && at >= 0) frames.set(at, l.replace(/ \(discriminator \d+\)$/, '')); // the last one is the outermost
  }
  const sources = new Map<string, string[]>();
  const label = (where: string): string => {
    const m = /^(.*):(\d+)$/.exec(where);
    if (!m) return '';
    // objects are compiled in a scratch directory (<dir>.tmp-<pid>) that is renamed when complete
    const file = existsSync(m[1]) ? m[1] : m[1].replace(/\.tmp-\d+\//, '/');
    if (!existsSync(file)) return '';
    let text = sources.get(file);
    if (!text) sources.set(file, (text = readFileSync(file, 'utf8').split('\n')));
    for (let i = Number(m[2]) - 1; i >= 0 && i > Number(m[2]) - 400; i--) {
      const c = /^\s*CASE\((\w+)\)/.exec(text[i]);
      if (c) return c[1];
    }
    return '';
  };
  const byLine = new Map<string, number>();
  for (const a of addrs) {
    const where = frames.get(a) ?? '??';
    byLine.set(where, (byLine.get(where) ?? 0) + (byAddr.get(a) ?? 0));
  }
  const sum = [...byLine.values()].reduce((x, y) => x + y, 0);
  const byLabel = new Map<string, number>();
  for (const [where, n] of byLine) {
    const l = label(where) || basename(where);
    byLabel.set(l, (byLabel.get(l) ?? 0) + n);
  }
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  console.log(`\n${fn} by source line (per request, %):`);
  for (const [where, n] of [...byLine.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${fmt(n / requests).padStart(11)}  ${((100 * n) / sum).toFixed(1).padStart(5)}  ${basename(where)}${label(where) ? `  (${label(where)})` : ''}`);
  }
  if ([...byLabel.keys()].some((k) => k.startsWith('OP_'))) {
    console.log(`\n${fn} by the nearest CASE label (per request, %):`);
    for (const [l, n] of [...byLabel.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`  ${fmt(n / requests).padStart(11)}  ${((100 * n) / sum).toFixed(1).padStart(5)}  ${l}`);
    }
  }
}

main().catch((e) => {
  console.error(`[profile] ${(e as Error).stack ?? e}`);
  process.exit(1);
});
