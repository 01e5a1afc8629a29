// SPDX-License-Identifier: Apache-2.0
/**
 * The two QuickJS engines the engine tests run in, behind one shape:
 * `run(code, name)` evaluates one bundled test file (an ES module) and
 * returns its console output and whether it ended (by itself, by error or
 * by the time budget).
 *
 *  - quickjs-emscripten (in this process, WebAssembly): a newer upstream
 *    release than the firmware's, useful as a second opinion and for its
 *    fine-grained limits;
 *  - the host `qjs` built from the pinned sources: the firmware's exact
 *    engine, run as a child process.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { newQuickJSWASMModule, newVariant, RELEASE_SYNC, shouldInterruptAfterDeadline } from 'quickjs-emscripten';
import type { QuickJSContext, QuickJSHandle, QuickJSWASMModule } from 'quickjs-emscripten';

/** Limits every engine run is held to. */
export interface Limits {
  /** JS heap limit, bytes */
  memoryBytes: number;
  /** JS stack limit, bytes */
  stackBytes: number;
  /** wall-clock budget of one test file, ms */
  timeoutMs: number;
}

/** What one engine made of one bundle. */
export interface EngineRun {
  /** everything the bundle printed (console.log lines; for qjs also stderr), in order where known */
  output: string;
  /** why the run did not end normally, e.g. the time budget or an exception at top level; '' if it did */
  problem: string;
  /** wall time, ms */
  ms: number;
}

/** One engine: a label for reports and a function that runs a bundle. */
export interface Engine {
  /** short name, e.g. 'qjs' */
  name: string;
  /** what exactly runs, e.g. 'host qjs, quickjs 2025-04-26 (pinned, the firmware engine)' */
  label: string;
  /**
   * Runs bundle `code` (ES module source); `name` names it in stack traces.
   * Never rejects: failures are in `problem`.
   */
  run(code: string, name: string, limits: Limits): Promise<EngineRun>;
}

/** `console.log` for the quickjs-emscripten context: qjs-like (String of each argument, space-separated). */
const CONSOLE_JS = `
globalThis.console = { log(...args) {
  __baojs_write(args.map((a) => { try { return String(a); } catch { return Object.prototype.toString.call(a); } }).join(' '));
} };
`;

function errorText(vm: QuickJSContext, h: QuickJSHandle): string {
  const e = vm.dump(h) as { name?: string; message?: string; stack?: string } | string;
  if (e && typeof e === 'object') return `${e.name ?? 'Error'}: ${e.message ?? ''}\n${e.stack ?? ''}`.trimEnd();
  return String(e);
}

/** The upstream release embedded in the WebAssembly file (the one date string in it), or 'unknown'. */
function emscriptenEngineVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('@jitl/quickjs-wasmfile-release-sync/package.json'));
    const wasm = readFileSync(join(dir, 'dist', 'emscripten-module.wasm')).toString('latin1');
    return /\b20\d\d-\d\d-\d\d\b/.exec(wasm)?.[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * quickjs-emscripten's release-sync variant. Each bundle gets a fresh
 * runtime with the memory and stack limits and an interrupt handler for
 * the time budget; pending jobs (promise reactions) run until none is left.
 * A wasm module that aborted is replaced before the next run.
 */
export function emscriptenEngine(): Engine {
  let module: QuickJSWASMModule | undefined;
  // Emscripten's own messages (e.g. an abort in the engine) go to the run in progress.
  let sink: string[] = [];
  const variant = newVariant(RELEASE_SYNC, {
    emscriptenModule: { printErr: (text: string) => { sink.push(`[quickjs-emscripten] ${text}`); } } as object,
  });
  const pkg = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('quickjs-emscripten/package.json'), 'utf8')) as { version: string };
  return {
    name: 'quickjs-emscripten',
    label: `quickjs-emscripten ${pkg.version} (wasm, quickjs ${emscriptenEngineVersion()}: newer than the firmware's)`,
    async run(code, name, limits) {
      const started = Date.now();
      const lines: string[] = [];
      sink = lines;
      let problem = '';
      module ??= await newQuickJSWASMModule(variant);
      const rt = module.newRuntime();
      rt.setMemoryLimit(limits.memoryBytes);
      rt.setMaxStackSize(limits.stackBytes);
      const deadline = started + limits.timeoutMs;
      rt.setInterruptHandler(shouldInterruptAfterDeadline(deadline));
      const vm = rt.newContext();
      try {
        const write = vm.newFunction('__baojs_write', (s) => { lines.push(vm.getString(s)); });
        vm.setProp(vm.global, '__baojs_write', write);
        write.dispose();
        vm.unwrapResult(vm.evalCode(CONSOLE_JS, 'console.js', { type: 'global' })).dispose();

        const result = vm.evalCode(code, name, { type: 'module' });
        if (result.error) {
          problem = `exception while evaluating the module:\n${errorText(vm, result.error)}`;
          result.error.dispose();
        } else {
          const evaluated = result.value;
          for (;;) {
            const jobs = rt.executePendingJobs();
            if (jobs.error) {
              problem = `exception in a promise job:\n${errorText(vm, jobs.error)}`;
              jobs.error.dispose();
              break;
            }
            if (!rt.hasPendingJob()) break;
          }
          // Evaluating a module yields a promise in newer releases: a
          // top-level throw (or await that rejects) shows up as its rejection.
          if (!problem && vm.typeof(evaluated) === 'object') {
            const state = vm.getPromiseState(evaluated);
            if (state.type === 'rejected') {
              problem = `exception while evaluating the module:\n${errorText(vm, state.error)}`;
              state.error.dispose();
            } else if (state.type === 'fulfilled' && !state.notAPromise) {
              state.value.dispose();
            }
          }
          evaluated.dispose();
        }
      } catch (e) {
        const message = (e as Error).message;
        problem = `the engine failed: ${message}`;
        if (/call stack/i.test(message)) {
          problem += ' (the WebAssembly stack ran out before QuickJS\'s own stack limit: lower ' +
            'BAOJS_ENGINE_STACK_KIB to get a QuickJS stack overflow instead)';
        }
        module = undefined; // do not reuse a wasm instance that may have aborted
      } finally {
        if (Date.now() >= deadline) problem ||= `time budget of ${limits.timeoutMs / 1000} s exceeded (interrupted)`;
        try {
          vm.dispose();
          rt.dispose();
        } catch (e) {
          // Leaked handles or an aborted instance: start afresh next time.
          module = undefined;
          const message = (e as Error).message;
          if (KNOWN_TEARDOWN_BUG.test(message)) {
            // The 2025-09-13 engine that quickjs-emscripten embeds asserts in
            // JS_FreeRuntime when async code left cyclic garbage holding large
            // ArrayBuffers; the tests themselves ran to their end. The pinned
            // engine of the firmware (the qjs run) has no such failure.
            lines.push(`[quickjs-emscripten] note: known teardown assertion of the embedded engine ignored: ${message.split('\n')[0]}`);
          } else {
            problem ||= `the engine could not be torn down cleanly: ${message}`;
          }
        }
      }
      return { output: lines.join('\n'), problem, ms: Date.now() - started };
    },
  };
}

/** The teardown assertion of quickjs-emscripten's embedded engine (2025-09-13) that is not ours to fix. */
const KNOWN_TEARDOWN_BUG = /Assertion failed: list_empty\(&rt->gc_obj_list\)/;

/**
 * The host `qjs` at `qjsPath` (the pinned engine, built by
 * scripts/quickjs-host.ts). Each bundle is written to `workDir` and run as
 * `qjs -m --memory-limit … --stack-size … <file>`, killed by its PID when
 * the time budget runs out.
 */
export function qjsEngine(qjsPath: string, version: string, workDir: string): Engine {
  return {
    name: 'qjs',
    label: `host qjs, quickjs ${version} (the firmware's pinned engine)`,
    run(code, name, limits) {
      mkdirSync(workDir, { recursive: true });
      const file = join(workDir, name);
      writeFileSync(file, code);
      const started = Date.now();
      return new Promise<EngineRun>((resolve) => {
        // --no-unhandled-rejection: qjs's default tracker exits at the first
        // promise rejected before a handler is attached, which includes
        // `await f()` of an async f that throws (the shim catches those).
        // A throw at the module's top level is still reported, with status 1.
        const child = spawn(qjsPath, [
          '-m', '--no-unhandled-rejection', '--memory-limit', String(limits.memoryBytes), '--stack-size', String(limits.stackBytes), file,
        ], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        let timedOut = false;
        child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; });
        child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; });
        const timer = setTimeout(() => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          timedOut = true;
          if (child.pid !== undefined) {
            try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
          }
        }, limits.timeoutMs);
        const finish = (problem: string) => {
          clearTimeout(timer);
          resolve({ output: output.replace(/\n$/, ''), problem, ms: Date.now() - started });
        };
        child.on('error', (e) => finish(`could not start qjs: ${e.message}`));
        child.on('close', (status, signal) => {
          if (timedOut) finish(`time budget of ${limits.timeoutMs / 1000} s exceeded (killed)`);
          else if (signal) finish(`qjs was killed by ${signal}`);
          else if (status !== 0) finish(`qjs exited with status ${status}`);
          else finish('');
        });
      });
    },
  };
}
