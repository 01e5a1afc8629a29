// SPDX-License-Identifier: Apache-2.0
// Set-up and build output for people: paths printed as a user would type
// them (displayPath), commands whose notices are kept back unless they fail
// (runQuiet), and the Debian packages every npm script needs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { displayPath } from '../../scripts/paths.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('displayPath: the work tree relative, the home directory as ~, anything else absolute', () => {
  const opts = { root: '/home/ada/baojs', home: '/home/ada' };
  assert.is(displayPath('/home/ada/baojs/build/qemu-aarch64-virt/baojs.elf', opts), 'build/qemu-aarch64-virt/baojs.elf');
  assert.is(displayPath('/home/ada/.cache/baojs/monitor/m-1/monitor.elf', opts), '~/.cache/baojs/monitor/m-1/monitor.elf');
  assert.is(displayPath('/home/ada', opts), '~');
  assert.is(displayPath('/home/ada/baojs', opts), '.');
  assert.is(displayPath('/home/adam/x', opts), '/home/adam/x', 'a sibling sharing the prefix is not under home');
  assert.is(displayPath('/home/ada/baojs-old/x', opts), '~/baojs-old/x', 'a sibling of the work tree is not in it');
  assert.is(displayPath('/var/cache/baojs/x', opts), '/var/cache/baojs/x');
  assert.is(displayPath('/root/.cache/baojs/x', { root: '/srv/baojs', home: '/root' }), '~/.cache/baojs/x');
  assert.is(displayPath('/srv/x', { root: '/srv/baojs', home: '/' }), '/srv/x', 'home / makes nothing ~');
});

/** Runs `code` (an ES module body) in a fresh Node with scripts/setup.mjs imported as `setup`. */
function withSetup(code: string): { status: number | null; stdout: string; stderr: string } {
  const url = pathToFileURL(join(ROOT, 'scripts', 'setup.mjs')).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as setup from '${url}';\n${code}`], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('runQuiet: a command that succeeds prints nothing; one that fails reports its command, status and whole output', () => {
  const ok = withSetup("setup.runQuiet('sh', ['-c', 'echo \"N: Download is performed unsandboxed as root\"; echo notice >&2']);");
  assert.is(ok.status, 0, ok.stderr);
  assert.is(ok.stdout, '');
  assert.is(ok.stderr, '');
  const bad = withSetup("try { setup.runQuiet('sh', ['-c', 'echo fetched; echo \"E: Unable to locate package x\" >&2; exit 100']); } catch (e) { console.log(e.message); }");
  assert.is(bad.stdout.trim(), "sh -c echo fetched; echo \"E: Unable to locate package x\" >&2; exit 100 failed (status 100):\nfetched\nE: Unable to locate package x");
  const missing = withSetup("try { setup.runQuiet('/nonexistent', []); } catch (e) { console.log(e.message); }");
  assert.is(missing.stdout.trim(), 'cannot start /nonexistent: ENOENT');
});

test('set-up installs what bench/profile (blkbench, static aarch64 Linux) and the host builds need, each with its reason', () => {
  const r = withSetup('console.log(JSON.stringify(setup.DEBIAN_PACKAGES));');
  assert.is(r.status, 0, r.stderr);
  const pkgs = new Map(JSON.parse(r.stdout) as Array<[string, string]>);
  assert.match(pkgs.get('libc6-dev-arm64-cross') ?? '', /blkbench/);
  assert.match(pkgs.get('libc6-dev') ?? '', /qjsc/);
  for (const [name, why] of pkgs) assert.ok(why.length > 10, `${name} has a reason`);
});

test('set-up run twice on a set-up machine prints nothing', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'setup.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(`${r.stdout}${r.stderr}`, '');
});

test.run();
