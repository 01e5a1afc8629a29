// SPDX-License-Identifier: Apache-2.0
/** Finding the unit test files both runners run. */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Names of test files: `*.test.ts` and `*.test.mjs`. */
export const TEST_FILE = /\.test\.(ts|mjs)$/;

/**
 * Every test file under `dir` (recursively), sorted, as paths relative to
 * `root` with forward slashes.
 * @param root repository root (absolute)
 * @param dir directory to search, relative to `root`, e.g. 'test/unit'
 * @param filters if any, keep only paths containing one of these substrings
 */
export function findTestFiles(root: string, dir: string, filters: readonly string[] = []): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = join(abs, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && TEST_FILE.test(e.name)) out.push(relative(root, p).split('\\').join('/'));
    }
  };
  const start = join(root, dir);
  if (existsSync(start)) walk(start);
  return out
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
    .sort();
}

/** Removes ANSI colour and style escapes (uvu's diff colours its output). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
