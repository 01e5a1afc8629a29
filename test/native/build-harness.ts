// SPDX-License-Identifier: Apache-2.0
/**
 * Builds a native test harness: firmware C code compiled with the host's
 * compiler under AddressSanitizer and UBSan (every error fatal), against
 * the generated `abi.h`, into build/native/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as assert from 'uvu/assert';
import { generateAbi } from '../../scripts/gen-abi.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Compiles `test/native/<name>.c` with `sources` (paths relative to the
 * repository) into build/native/<name>; returns the executable's path.
 * `extra` flags come first (defines, include directories that must win).
 * Fails the calling test with the compiler's output when it does not build.
 */
export function buildHarness(name: string, sources: string[], extra: string[] = []): string {
  const out = join(ROOT, 'build', 'native');
  mkdirSync(out, { recursive: true });
  const exe = join(out, name);
  const gen = dirname(generateAbi(join(out, 'gen')));
  const cc = spawnSync('gcc', ['-O1', '-g', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
    ...extra, `-I${join(ROOT, 'runtime')}`, `-I${gen}`, `-I${join(ROOT, 'test', 'native')}`, '-o', exe, join(ROOT, 'test', 'native', `${name}.c`), ...sources.map((s) => join(ROOT, s))],
  { encoding: 'utf8' });
  assert.is(cc.status, 0, cc.stderr);
  return exe;
}
