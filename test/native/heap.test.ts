// SPDX-License-Identifier: Apache-2.0
/**
 * Runs the host test of the firmware's TLSF allocator (heap_test.c, built
 * with the host compiler and AddressSanitizer/UBSan) and checks its verdict.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(import.meta.dirname, '..', '..');

test('the TLSF heap keeps bytes, alignment, statistics and coalescing under 200,000 random operations', () => {
  const out = join(ROOT, 'build', 'native');
  mkdirSync(out, { recursive: true });
  const exe = join(out, 'heap_test');
  const cc = spawnSync('gcc', ['-O1', '-g', '-DHEAP_NO_LIBC', '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
    `-I${join(ROOT, 'firmware')}`, '-o', exe, join(ROOT, 'test', 'native', 'heap_test.c'), join(ROOT, 'firmware', 'heap.c')],
  { encoding: 'utf8' });
  assert.is(cc.status, 0, cc.stderr);
  // A wall-clock limit only (45 s on a busy machine, over 120 s beside two CPU-bound processes), within the file's 600 s.
  const r = spawnSync(exe, [], { encoding: 'utf8', timeout: 540_000 });
  assert.is(r.status, 0, `${r.stdout}${r.stderr}${r.error ? `\n${r.error.message}` : ''}`);
  const m = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.is(Number(m[2]), 0);
  assert.ok(Number(m[1]) >= 12, `${m[1]} checks passed`);
});

test.run();
