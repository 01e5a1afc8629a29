// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run test:engine`: every unit test file (test/unit/**\/*.test.{ts,mjs})
 * bundled with esbuild and run inside QuickJS, in two engines:
 *  - quickjs-emscripten (a newer QuickJS release, in this process),
 *  - the host `qjs` built from the pinned sources (the firmware's engine).
 *
 * Usage: node --import tsx test/engine/run.ts [--engine=qjs|quickjs-emscripten]
 *          [--verbose] [--dir=test/unit] [substring…]
 *
 * Prints per engine one line per file (the failures in full), a line per
 * engine, and last `N passed, N failed` over both engines. Exits 1 if any
 * test failed, any file could not be bundled or did not finish, or no test
 * ran at all.
 *
 * Environment: BAOJS_ENGINE_TIMEOUT_S (per file, default 180: the disk
 * suite's randomized runs take about 50 s on an idle 2-core machine and
 * more on a busy one; the limit catches a hung file, not a slow one),
 * BAOJS_ENGINE_MEMORY_MIB (default 512), BAOJS_ENGINE_STACK_KIB (default: the
 * firmware's JS stack, 224 KiB on the shipped platform).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { SourceMap } from 'node:module';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';
import { ensureHostQuickjs } from '../../scripts/quickjs-host.ts';
import { bundleForQuickjs, mapPositions, ROOT } from './bundle.ts';
import { emscriptenEngine, qjsEngine } from './engines.ts';
import type { Engine, EngineRun, Limits } from './engines.ts';
import { findTestFiles, stripAnsi } from './files.ts';
import { quickjsHint } from './pitfalls.ts';
import { RESULT_MARKER } from './uvu-shim.ts';
import type { FileResult } from './uvu-shim.ts';

/** The outcome of one file in one engine. */
interface Outcome {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
  /** text to show under the file's line when it failed (or always with --verbose) */
  details: string;
}

function envNumber(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/**
 * The JS stack the firmware gives QuickJS: the backend's stack less what its
 * C frames keep (runtime/engine.c), so recursion too deep for the firmware
 * fails here too. The heap is not the firmware's: tests also hold simulated
 * guest memory and backing stores.
 */
const FIRMWARE_JS_STACK_KIB = platform.backend.stackSize / 1024 - 32;

const LIMITS: Limits = {
  memoryBytes: envNumber('BAOJS_ENGINE_MEMORY_MIB', 512) * 1024 * 1024,
  stackBytes: envNumber('BAOJS_ENGINE_STACK_KIB', FIRMWARE_JS_STACK_KIB) * 1024,
  timeoutMs: envNumber('BAOJS_ENGINE_TIMEOUT_S', 180) * 1000,
};

/** Reads the shim's result line out of a run; anything wrong with the run is a failure. */
function judge(file: string, run: EngineRun, name: string, map: SourceMap): Outcome {
  const lines = stripAnsi(mapPositions(run.output, name, map)).split('\n');
  const at = lines.findIndex((l) => l.startsWith(RESULT_MARKER));
  let result: FileResult | undefined;
  if (at >= 0) {
    try { result = JSON.parse(lines[at].slice(RESULT_MARKER.length)) as FileResult; } catch { /* reported below */ }
    lines.splice(at, 1);
  }
  let details = lines.join('\n').trimEnd();
  const problems: string[] = [];
  if (run.problem) {
    problems.push(run.problem.split('\n').map((l) => stripAnsi(mapPositions(l, name, map))).join('\n'));
    const hint = quickjsHint(/(?:Error): (.*)/.exec(run.problem)?.[1] ?? '');
    if (hint) problems.push(`QuickJS: ${hint}`);
  }
  if (result && result.total === 0 && result.skipped === 0) {
    problems.push('no test ran: the file registered none, or never called test.run()');
  }
  if (!result) {
    problems.push(run.problem
      ? 'no test results'
      : 'the file ended without reporting results: a promise it awaits never settled (QuickJS has no timers or I/O of its own)');
  }
  if (problems.length) details = [details, ...problems].filter(Boolean).join('\n');
  const total = result?.total ?? 0;
  const passed = result?.passed ?? 0;
  // A file that did not finish cleanly counts as (at least) one failed test.
  const failed = total - passed + (problems.length && total - passed === 0 ? 1 : 0);
  return { file, passed, failed, skipped: result?.skipped ?? 0, ms: run.ms, details };
}

function indent(text: string, pad = '      '): string {
  return text.split('\n').map((l) => (l ? pad + l : l)).join('\n');
}

function report(o: Outcome, verbose: boolean): void {
  const counts = `${o.passed} passed${o.failed ? `, ${o.failed} failed` : ''}${o.skipped ? `, ${o.skipped} skipped` : ''}`;
  console.log(`  ${o.failed ? '✘' : '✔'} ${o.file}  ${counts}  (${o.ms} ms)`);
  if ((o.failed || verbose) && o.details) console.log(indent(o.details));
}

/** Runs `jobs` with at most `limit` in flight; results in input order. */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const only = args.find((a) => a.startsWith('--engine='))?.slice('--engine='.length);
  const dir = args.find((a) => a.startsWith('--dir='))?.slice('--dir='.length) ?? 'test/unit';
  const filters = args.filter((a) => !a.startsWith('--'));
  const started = Date.now();

  const files = findTestFiles(ROOT, dir, filters);
  if (files.length === 0) {
    console.log(`no test files under ${dir}` + (filters.length ? ` matching ${filters.join(', ')}` : ''));
    console.log('0 passed, 0 failed');
    return 1;
  }

  const engines: Engine[] = [];
  if (!only || only === 'quickjs-emscripten') engines.push(emscriptenEngine());
  if (!only || only === 'qjs') {
    const host = ensureHostQuickjs();
    engines.push(qjsEngine(host.qjs, host.version, join(ROOT, 'build', 'engine')));
  }
  if (engines.length === 0) {
    console.error(`unknown engine ${only}: use qjs or quickjs-emscripten`);
    return 2;
  }

  const t0 = Date.now();
  const bundles = await Promise.all(files.map((f) => bundleForQuickjs(join(ROOT, f))));
  const kib = bundles.reduce((n, b) => n + (b.ok ? b.bytes : 0), 0) / 1024;
  console.log(`[engine] bundled ${files.length} test file(s) for QuickJS (esbuild, es2022, neutral): ${kib.toFixed(0)} KiB in ${Date.now() - t0} ms`);

  // Every engine runs all files, one engine after the other (quickjs-emscripten
  // runs in this process and would hold up the timers of qjs children):
  // qjs runs several child processes at a time, quickjs-emscripten one file at a time.
  const results: Outcome[][] = [];
  for (const engine of engines) {
    const jobs = files.map((file, i) => async (): Promise<Outcome> => {
      const b = bundles[i];
      if (!b.ok) {
        return { file, passed: 0, failed: 1, skipped: 0, ms: 0, details: `cannot be bundled for QuickJS:\n${b.error}` };
      }
      const name = file.replace(/[/\\]/g, '__').replace(/\.(ts|mjs)$/, '') + '.mjs';
      return judge(file, await engine.run(b.code, name, LIMITS), name, b.map);
    });
    results.push(await pool(jobs, engine.name === 'qjs' ? Math.max(1, availableParallelism()) : 1));
  }

  let passed = 0;
  let failed = 0;
  const lines: string[] = [];
  engines.forEach((engine, e) => {
    console.log(`\n[engine] ${engine.label}`);
    let p = 0;
    let f = 0;
    let ms = 0;
    for (const o of results[e]) {
      report(o, verbose);
      p += o.passed;
      f += o.failed;
      ms += o.ms;
    }
    lines.push(`[engine] ${engine.name}: ${p} passed, ${f} failed (${results[e].length} files, ${(ms / 1000).toFixed(2)} s)`);
    passed += p;
    failed += f;
  });
  console.log('');
  for (const l of lines) console.log(l);
  console.log(`[engine] total ${((Date.now() - started) / 1000).toFixed(1)} s, limits: heap ${LIMITS.memoryBytes / 1048576} MiB, stack ${LIMITS.stackBytes / 1024} KiB, ${LIMITS.timeoutMs / 1000} s per file`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
