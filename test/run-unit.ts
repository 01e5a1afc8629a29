// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run test:unit`: every test/unit/**\/*.test.{ts,mjs} on Node with uvu.
 *
 * Each file runs in its own process (`node --import tsx <file>`, its suites
 * run by uvu as usual), several at a time, each with a time budget after
 * which it is killed with every process it started (SIGKILL to its process
 * group, by the group's id). uvu's summary (`Total:`, `Passed:`,
 * `Skipped:`) gives the counts; failed = Total - Passed, as uvu counts.
 *
 * Usage: node --import tsx test/run-unit.ts [--verbose] [--dir=test/unit] [substring…]
 *
 * Prints one line per file (a failing file's whole output under it), then
 * `N passed, N failed` alone on the last line. Exits 1 if a test failed, a
 * file crashed, timed out or ran no test, or no test ran at all.
 *
 * Environment: BAOJS_UNIT_TIMEOUT_S (per file, default 120).
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTestFiles, stripAnsi } from './engine/files.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TIMEOUT_MS = (Number(process.env.BAOJS_UNIT_TIMEOUT_S) || 120) * 1000;

/** The outcome of one test file. */
interface FileOutcome {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
  /** the file's output, shown when it failed (or with --verbose) */
  output: string;
  /** what went wrong beyond failed assertions, '' if nothing */
  problem: string;
}

/** Process groups of the test files running now (each file's own group: see runFile). */
const running = new Set<number>();
// the runner stopped from outside (Ctrl-C, a CI timeout): the files' groups
// are not in the runner's, so end them here
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    for (const pgid of running) {
      try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
    }
    process.exit(130);
  });
}

/** Runs one file under Node + tsx and reads uvu's summary. Never rejects. */
function runFile(file: string): Promise<FileOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, file)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      // its own process group: a file killed for its time budget takes the
      // QEMUs it started with it (their own deadlines live in its process)
      detached: true,
    });
    if (child.pid !== undefined) running.add(child.pid);
    let output = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; });
    const timer = setTimeout(() => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, TIMEOUT_MS);
    const done = (status: number | null, signal: string | null, startError?: Error) => {
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
      const text = stripAnsi(output);
      const num = (label: string) => {
        const m = new RegExp(`^\\s*${label}:\\s+(\\d+)\\s*$`, 'm').exec(text);
        return m ? Number(m[1]) : undefined;
      };
      const total = num('Total');
      const passed = num('Passed') ?? 0;
      const skipped = num('Skipped') ?? 0;
      let problem = '';
      if (startError) problem = `could not start node: ${startError.message}`;
      else if (timedOut) problem = `time budget of ${TIMEOUT_MS / 1000} s exceeded (killed)`;
      else if (total === undefined) problem = `no uvu summary (exit status ${status ?? signal}): the file crashed, or never called test.run()`;
      else if (total === 0 && skipped === 0) problem = 'no test ran: the file registered none';
      else if (status !== 0 && total === passed) problem = `exit status ${status ?? signal} although every test passed`;
      let failed = (total ?? 0) - passed;
      if (problem && failed === 0) failed = 1;
      resolve({ file, passed, failed, skipped, ms: Date.now() - started, output: text.trimEnd(), problem });
    };
    child.on('error', (e) => done(null, null, e));
    child.on('close', (status, signal) => done(status, signal));
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const dir = args.find((a) => a.startsWith('--dir='))?.slice('--dir='.length) ?? 'test/unit';
  const filters = args.filter((a) => !a.startsWith('--'));
  const started = Date.now();
  const files = findTestFiles(ROOT, dir, filters);
  if (files.length === 0) {
    console.log(`no test files under ${dir}` + (filters.length ? ` matching ${filters.join(', ')}` : ''));
    console.log('0 passed, 0 failed');
    return 1;
  }
  console.log(`[unit] ${files.length} test file(s) on Node ${process.version} with uvu`);

  // A small pool; results are printed in file order as soon as they are known.
  const outcomes: (FileOutcome | undefined)[] = new Array(files.length);
  let next = 0;
  let printed = 0;
  const flush = () => {
    while (printed < files.length && outcomes[printed]) {
      const o = outcomes[printed++]!;
      const counts = `${o.passed} passed${o.failed ? `, ${o.failed} failed` : ''}${o.skipped ? `, ${o.skipped} skipped` : ''}`;
      console.log(`  ${o.failed ? '✘' : '✔'} ${o.file}  ${counts}  (${o.ms} ms)`);
      if (o.failed || verbose) {
        const body = [o.output, o.problem].filter(Boolean).join('\n');
        if (body) console.log(body.split('\n').map((l) => (l ? `      ${l}` : l)).join('\n'));
      }
    }
  };
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      outcomes[i] = await runFile(files[i]);
      flush();
    }
  };
  await Promise.all(Array.from({ length: Math.min(files.length, Math.max(1, availableParallelism())) }, worker));

  const all = outcomes as FileOutcome[];
  const passed = all.reduce((n, o) => n + o.passed, 0);
  const failed = all.reduce((n, o) => n + o.failed, 0);
  console.log(`[unit] ${files.length} file(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
