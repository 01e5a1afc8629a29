// SPDX-License-Identifier: Apache-2.0
// Bad input to the tooling, through the real command-line entries (spawned
// as a user would run them): each ends at once with one line naming the
// problem and a non-zero status, before anything is built or booted, and
// leaves nothing behind. No QEMU boots: the checks come first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs `node --import tsx <script> <args>` in the work tree with `env` added; status and output (stdout + stderr). */
function tool(script: string, args: string[], env: Record<string, string> = {}): { status: number | null; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, ms: Date.now() - t0 };
}

/** The non-empty lines of `text`. */
const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '');

/** A refused platform description written under platforms/ for the length of `body` (a window on the GIC distributor). */
function withRefusedPlatform(body: (name: string) => void): void {
  const name = `refused-${process.pid}`;
  const file = join(ROOT, 'platforms', `${name}.ts`);
  writeFileSync(file, [
    '// SPDX-License-Identifier: Apache-2.0',
    "import { platform as base } from './qemu-aarch64-virt.ts';",
    'const p = JSON.parse(JSON.stringify(base));',
    `p.name = '${name}';`,
    'p.devices[0].window.base = p.machine.gic.gicd;',
    'export const platform = p;',
    '',
  ].join('\n'));
  try {
    body(name);
  } finally {
    rmSync(file, { force: true });
    rmSync(join(ROOT, 'build', name), { recursive: true, force: true });
    rmSync(join(ROOT, 'build', 'gen', name), { recursive: true, force: true });
  }
}

test('a refused platform: the build stops in one line naming the field, and leaves no build/<name>/ (no .work-<pid>)', () => {
  withRefusedPlatform((name) => {
    const r = tool('scripts/build.ts', ['--platform', name]);
    assert.is(r.status, 1, r.out);
    assert.equal(lines(r.out).length, 1, r.out);
    assert.match(r.out, /^\[build\] devices\[0\]\.window: 0x8000000\.\.0x80001ff overlaps machine\.gic\.gicd, the GIC distributor/);
    assert.not.match(r.out, /\[build\] \[\d+\/\d+\] cc/, 'nothing compiled');
    assert.not.ok(existsSync(join(ROOT, 'build', name)), `build/${name} was left behind: ${existsSync(join(ROOT, 'build', name)) ? readdirSync(join(ROOT, 'build', name)) : ''}`);
    assert.not.ok(existsSync(join(ROOT, 'build', 'gen', name)), 'no generated header for a refused platform');
  });
});

test('a refused platform: gen-platform.ts stops in one line naming the field', () => {
  withRefusedPlatform((name) => {
    const out = join(tmpdir(), `gen-${process.pid}`);
    const r = tool('scripts/gen-platform.ts', [name, out]);
    assert.is(r.status, 1, r.out);
    assert.equal(lines(r.out).length, 1, r.out);
    assert.match(r.out, /^\[gen\] devices\[0\]\.window: .*machine\.gic\.gicd/);
    assert.not.ok(existsSync(out));
  });
});

test('QEMU=/nonexistent: the real error, before the build, for the bare run and the system run', () => {
  for (const args of [['--bare'], []]) {
    const r = tool('qemu/run.ts', args, { QEMU: '/nonexistent' });
    assert.is(r.status, 1, r.out);
    assert.equal(lines(r.out), ['[run] cannot start /nonexistent (the program named by QEMU=): ENOENT'], r.out);
  }
});

test('BAO_IMAGE naming a missing file, a directory, an ELF, or a file that is not Bao: one line each, before the build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baojs-bao-image-'));
  try {
    const elf = join(dir, 'bao.elf');
    writeFileSync(elf, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(4096)]));
    const other = join(dir, 'baojs.bin');
    writeFileSync(other, Buffer.alloc(65536, 0x5a));
    // the runner itself (npm start's last step), and the check npm scripts run before their build
    const cases: Array<[string, string, RegExp]> = [
      ['qemu/run.ts', join(dir, 'missing.bin'), /: no such file/],
      ['scripts/preflight.ts', dir, /is not a file/],
      ['scripts/preflight.ts', elf, /is not a Bao image: it is an ELF file .*bao\.bin/],
      ['qemu/run.ts', other, /is not a Bao image: it does not contain Bao's banner string "Bao Hypervisor"/],
    ];
    for (const [script, image, why] of cases) {
      const r = tool(script, [], { BAO_IMAGE: image });
      assert.is(r.status, 1, r.out);
      const l = lines(r.out);
      assert.is(l.length, 1, r.out);
      const prefix = script === 'qemu/run.ts' ? '[run]' : '[check]';
      assert.ok(l[0].startsWith(`${prefix} BAO_IMAGE=${image}`), l[0]);
      assert.match(l[0], why);
      assert.not.match(r.out, /PSCI|QEMU 7\.2/, 'no paragraph about PSCI for a file that is not Bao');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BAOJS_DISK naming a missing image: one line naming the file, before the build, and no file made', () => {
  // (an image too small for the disk ranges: test/tooling/disks.test.ts, on a description that has ranges)
  const dir = mkdtempSync(join(tmpdir(), 'baojs-disk-'));
  try {
    const missing = join(dir, 'missing.img');
    for (const script of ['scripts/preflight.ts', 'qemu/run.ts']) {
      const prefix = script === 'qemu/run.ts' ? '[run]' : '[check]';
      const r = tool(script, [], { BAOJS_DISK: missing });
      assert.is(r.status, 1, r.out);
      assert.equal(lines(r.out), [`${prefix} ${missing}: disk image of pdisk0 does not exist`], r.out);
      assert.not.ok(existsSync(missing), 'not created');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the checks pass quietly on a good environment: a file holding Bao\'s banner and a QEMU that starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baojs-bao-image-'));
  try {
    const image = join(dir, 'bao.bin');
    writeFileSync(image, Buffer.concat([Buffer.alloc(4096), Buffer.from('Bao Hypervisor\n\r'), Buffer.alloc(4096)]));
    const fakeQemu = join(dir, 'qemu');
    writeFileSync(fakeQemu, '#!/bin/sh\necho "QEMU emulator version 9.9.9"\n');
    chmodSync(fakeQemu, 0o755);
    const r = tool('scripts/preflight.ts', [], { BAO_IMAGE: image, QEMU: fakeQemu });
    assert.is(r.status, 0, r.out);
    assert.is(r.out, '');
    const failing = join(dir, 'qemu-broken');
    writeFileSync(failing, '#!/bin/sh\necho "libfoo.so: cannot open shared object file" >&2\nexit 127\n');
    chmodSync(failing, 0o755);
    const b = tool('scripts/preflight.ts', [], { QEMU: failing });
    assert.is(b.status, 1);
    assert.equal(lines(b.out), [`[check] ${failing} --version failed (status 127): libfoo.so: cannot open shared object file`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every npm script that builds and then runs QEMU checks the environment before the build', () => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const name of ['start', 'test', 'bench', 'profile']) {
    const s = scripts[name];
    const check = s.indexOf('scripts/preflight.ts');
    const build = s.indexOf('scripts/build.ts');
    assert.ok(check > 0 && build > check, `${name}: ${s}`);
  }
  // start:bare builds inside qemu/run.ts, which checks first (the QEMU=/nonexistent test above)
  assert.match(scripts['start:bare'], /qemu\/run\.ts --bare/);
});

test.run();
