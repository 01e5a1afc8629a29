// SPDX-License-Identifier: Apache-2.0
/**
 * uvu's `test`/`suite` API for test files run inside QuickJS, where uvu's
 * own runner cannot go (it reaches for `process` and `setTimeout`). The
 * engine bundles alias `uvu` to this module; `uvu/assert` stays the real one.
 *
 * Semantics follow uvu 0.5: `test.run()` queues the suite; the queue runs
 * once the test file has been evaluated (the bundle's entry calls
 * {@link exec}); hooks, `only` and `skip` behave and count as in uvu
 * (Total = tests run, Passed, Skipped; failed = Total - Passed).
 *
 * Output is plain text through `console.log`; the last line is
 * `RESULT_MARKER` followed by the JSON of a {@link FileResult}, which the
 * runner reads.
 */
import { NULL_THROW_HINT, quickjsHint } from './pitfalls.ts';

/** Prefix of the one line that reports a file's counts to the runner. */
export const RESULT_MARKER = '##baojs-engine-result ';

/** Counts for one test file, as uvu counts them. */
export interface FileResult {
  /** tests run (only the `only` ones if a suite has any) */
  total: number;
  /** of those, tests whose hooks and body completed */
  passed: number;
  /** tests skipped with `test.skip` or left out by `test.only` */
  skipped: number;
}

type Handler<S> = (context: S) => unknown;
interface Entry<S> { name: string; handler: Handler<S> }
interface Ctx<S> {
  tests: Entry<S>[];
  before: Handler<S>[];
  after: Handler<S>[];
  bEach: Handler<S>[];
  aEach: Handler<S>[];
  only: Entry<S>[];
  skips: number;
  state: S;
}

/** The hook-registering part of a uvu test function. */
export interface Hook<S> {
  (fn: Handler<S>): void;
  each(fn: Handler<S>): void;
}

/** uvu's `Test` callable: `test(name, fn)` plus hooks, only, skip and run. */
export interface Test<S> {
  (name: string, fn: Handler<S>): void;
  only(name: string, fn: Handler<S>): void;
  skip(name?: string, fn?: Handler<S>): void;
  before: Hook<S>;
  after: Hook<S>;
  run(): void;
}

type SuiteRun = () => Promise<[string, number, number, number]>;
const queue: SuiteRun[] = [];

function context<S>(state: S): Ctx<S> {
  return { tests: [], before: [], after: [], bEach: [], aEach: [], only: [], skips: 0, state };
}

/** Formats a thrown value: message, operator, assertion diff, a few stack frames, a QuickJS hint. */
function format(testName: string, err: unknown, suiteName: string): string {
  const title = `  ✘ ${suiteName ? `${suiteName} › ` : ''}"${testName}"`;
  if (err === null) return `${title}\n    thrown: null\n    QuickJS: ${NULL_THROW_HINT}\n`;
  if (!(err instanceof Error)) return `${title}\n    thrown non-Error: ${String(err)}\n`;
  const e = err as Error & { operator?: string; details?: string | false };
  let out = `${title}\n    ${e.name}: ${e.message}${e.operator ? `  (${e.operator})` : ''}\n`;
  if (e.details) out += '        ' + String(e.details).split('\n').join('\n        ') + '\n';
  const hint = quickjsHint(e.message);
  if (hint) out += `    QuickJS: ${hint}\n`;
  const frames = (e.stack ?? '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('at '));
  for (const f of frames.slice(0, 6)) out += `      ${f}\n`;
  return out;
}

async function runner<S>(ctx: Ctx<S>, name: string): Promise<[string, number, number, number]> {
  const { only, tests, before, after, bEach, aEach, state } = ctx;
  const list = only.length ? only : tests;
  const st = state as S & { __test__?: string };
  let num = 0;
  let errors = '';
  try {
    for (const hook of before) await hook(state);
    for (const t of list) {
      st.__test__ = t.name;
      try {
        for (const hook of bEach) await hook(state);
        await t.handler(state);
        for (const hook of aEach) await hook(state);
        num++;
      } catch (err) {
        for (const hook of aEach) await hook(state);
        errors += format(t.name, err, name);
      }
    }
  } catch (err) {
    // uvu counts every test of a suite whose before hook throws as not passed.
    errors += format('(before hook)', err, name);
  } finally {
    st.__test__ = '';
    try {
      for (const hook of after) await hook(state);
    } catch (err) {
      errors += format('(after hook)', err, name);
    }
  }
  const skipped = (only.length ? tests.length : 0) + ctx.skips;
  console.log(`  ${errors ? '✘' : '•'} ${name || '(default suite)'}  (${num} / ${list.length})`);
  return [errors, num, skipped, list.length];
}

function setup<S>(ctx: Ctx<S>, name: string): Test<S> {
  const st = ctx.state as S & { __test__?: string; __suite__?: string };
  st.__test__ = '';
  st.__suite__ = name;
  const hook = (key: 'before' | 'after', eachKey: 'bEach' | 'aEach'): Hook<S> => {
    const h = ((fn: Handler<S>) => { ctx[key].push(fn); }) as Hook<S>;
    h.each = (fn: Handler<S>) => { ctx[eachKey].push(fn); };
    return h;
  };
  const test = ((testName: string, fn: Handler<S>) => { ctx.tests.push({ name: testName, handler: fn }); }) as Test<S>;
  test.before = hook('before', 'bEach');
  test.after = hook('after', 'aEach');
  test.only = (testName: string, fn: Handler<S>) => { ctx.only.push({ name: testName, handler: fn }); };
  test.skip = () => { ctx.skips++; };
  test.run = () => {
    const copy: Ctx<S> = { ...ctx };
    Object.assign(ctx, context(copy.state));
    queue.push(() => runner(copy, name));
  };
  return test;
}

/** A named suite; `state` is the context object handed to every hook and test. */
export function suite<S = Record<string, unknown>>(name = '', state: S = {} as S): Test<S> {
  return setup(context(state), name);
}

/** The default (unnamed) suite. */
export const test: Test<Record<string, unknown>> = suite();

/**
 * Runs every queued suite in order (suites queued while running, too),
 * prints failures, then the result line. Never rejects.
 * @returns the file's counts
 */
export async function exec(): Promise<FileResult> {
  const result: FileResult = { total: 0, passed: 0, skipped: 0 };
  let failures = '';
  try {
    while (queue.length) {
      const run = queue.shift()!;
      const [errs, ran, skip, max] = await run();
      result.total += max;
      result.passed += ran;
      result.skipped += skip;
      if (errs) failures += errs;
    }
  } catch (err) {
    failures += format('(runner)', err, '');
    result.total += 1;
  }
  if (failures) console.log('\n' + failures);
  console.log(RESULT_MARKER + JSON.stringify(result));
  return result;
}
