// SPDX-License-Identifier: Apache-2.0
/**
 * The firmware's memcpy, memmove and memset (firmware/string.c) against a
 * byte loop (string_test.c, host compiler, AddressSanitizer/UBSan): built
 * as for the host and aarch64, and with `__riscv` defined for the riscv64
 * paths (aligned doublewords when source and destination share their
 * offset within 8 bytes, bytes otherwise), which the firmware suite then
 * runs on riscv64 itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(import.meta.dirname, '..', '..');

for (const [label, defines] of [['the generic paths', []], ['the riscv64 paths', ['-D__riscv=1']]] as const) {
  test(`string.c, ${label}: every length to 300 and page sizes, every offset pair to 16, overlaps both ways`, () => {
    const out = join(ROOT, 'build', 'native');
    mkdirSync(out, { recursive: true });
    const exe = join(out, `string_test${defines.length ? '_riscv' : ''}`);
    const cc = spawnSync('gcc', ['-O2', '-g', ...defines, '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
      '-Dmemcpy=fw_memcpy', '-Dmemmove=fw_memmove', '-Dmemset=fw_memset',
      '-o', exe, join(ROOT, 'test', 'native', 'string_test.c'), join(ROOT, 'firmware', 'string.c')], { encoding: 'utf8' });
    assert.is(cc.status, 0, cc.stderr);
    const r = spawnSync(exe, [], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
    assert.is(r.status, 0, `${r.stdout.slice(0, 4000)}${r.stderr}${r.error ? `\n${r.error.message}` : ''}`);
    const m = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.is(Number(m[2]), 0);
    assert.ok(Number(m[1]) > 300 * 256 * 4, `${m[1]} checks passed`);
  });
}

test.run();
