// SPDX-License-Identifier: Apache-2.0
// One idempotent set-up step, run first by `npm start`, `npm test` and `npm run build`:
//  1. npm dependencies (from the lockfile),
//  2. Debian packages the build and the tests need (apt-get when root; otherwise
//     print the exact command and stop),
//  3. the QuickJS C sources, pinned by Debian version and sha256, fetched with
//     apt-get from the archive named in this system's own apt sources, into a
//     cache outside the work tree.
// Plain JavaScript on purpose: it runs before the npm dependencies exist.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync, statSync, renameSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, displayPath, QUICKJS } from './paths.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => console.log(`[setup] ${msg}`);

/** Debian packages the project needs, with the reason for each. */
export const DEBIAN_PACKAGES = [
  ['qemu-system-arm', 'runs the firmware (qemu-system-aarch64)'],
  ['gcc-aarch64-linux-gnu', 'cross compiler for the firmware'],
  ['picolibc-aarch64-linux-gnu', 'C library for the bare-metal firmware'],
  ['gcc-riscv64-unknown-elf', 'cross compiler for the riscv64 firmware (qemu-riscv64-virt)'],
  ['picolibc-riscv64-unknown-elf', 'C library for the bare-metal riscv64 firmware'],
  ['qemu-system-misc', 'runs the riscv64 firmware (qemu-system-riscv64)'],
  ['qemu-system-data', "QEMU's OpenSBI (opensbi-riscv64-generic-fw_dynamic.bin): the SBI firmware in M-mode below the riscv64 firmware (-bios default)"],
  ['device-tree-compiler', 'device trees generated from the platform description'],
  ['gcc', 'host build of QuickJS (qjsc, engine tests)'],
  ['make', 'build driver'],
  ['xz-utils', 'unpacks the QuickJS source tarball'],
  ['dpkg-dev', 'apt-get source (QuickJS sources)'],
  ['libc6-dev', 'C headers for the host builds: qjsc, the engine tests, the native tests (gcc only recommends it)'],
  ['e2fsprogs', 'mkfs.ext4: the storage tests make an ext4 filesystem (with its journal) in a disk image on the host'],
  ['libc6-dev-arm64-cross', 'C library and Linux headers for aarch64 Linux programs: bench/frontend/blkbench.c and netbench.c, built by npm run bench and npm run profile (the cross compiler only recommends it)'],
];

function missingPackages(names) {
  const missing = [];
  for (const name of names) {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    if (r.status !== 0 || !r.stdout.includes('install ok installed')) missing.push(name);
  }
  return missing;
}

/**
 * Runs a command with its output captured: nothing is printed when it
 * succeeds (apt's and npm's notices need nothing from the user); when it
 * fails, the error carries the command and everything it printed.
 * @throws Error `<cmd> <args> failed (status N): <output>` or `cannot start <cmd>: <code>`
 */
export function runQuiet(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (r.error) throw new Error(`cannot start ${cmd}: ${r.error.code ?? r.error.message}`);
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    throw new Error(`${cmd} ${args.join(' ')} failed (status ${r.status ?? r.signal})${output ? `:\n${output}` : ''}`);
  }
  return r.stdout;
}

function ensureNpm() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= statSync(lock).mtimeMs &&
      existsSync(join(root, 'node_modules', 'tsx'))) return;
  log('installing npm dependencies (npm ci)');
  runQuiet('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root });
}

/** Installs the Debian packages in `names` that are missing (root), or stops with the command. */
export function ensureDebian(names) {
  const missing = missingPackages(names);
  if (missing.length === 0) return;
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid && process.getuid() !== 0) {
    console.error(`[setup] missing Debian packages: ${missing.join(', ')}\n[setup] run as root:\n  sudo sh -c '${cmd}'`);
    process.exit(1);
  }
  log(`installing Debian packages: ${missing.join(', ')}`);
  runQuiet('apt-get', ['update', '-q']);
  runQuiet('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** The first Debian archive URI named in this system's apt sources (deb822 or one-line). */
export function debianArchiveUri() {
  const texts = [];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)) {
      if (f.endsWith('.sources') || f.endsWith('.list')) texts.push([f, readFileSync(join(dir, f), 'utf8')]);
    }
  }
  if (existsSync('/etc/apt/sources.list')) texts.push(['sources.list', readFileSync('/etc/apt/sources.list', 'utf8')]);
  for (const [, text] of texts) {
    // deb822: a stanza with URIs and a Debian suite (not -security).
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(\S+)/m.exec(stanza);
      const suites = /^Suites:\s*(.+)$/m.exec(stanza);
      if (uris && suites && !/security/.test(suites[1]) && !/security/.test(uris[1]) &&
          /^Types:.*\bdeb\b/m.test(stanza)) return uris[1].replace(/\/$/, '');
    }
    for (const line of text.split('\n')) {
      const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (m && !/security/.test(m[1]) && !/security/.test(m[2])) return m[1].replace(/\/$/, '');
    }
  }
  throw new Error('no Debian archive found in /etc/apt/sources.list{,.d}: QuickJS sources cannot be fetched');
}

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Fetches and unpacks the pinned QuickJS sources into the cache; returns their directory. */
export function ensureQuickjs() {
  const dest = QUICKJS.srcDir;
  if (existsSync(join(dest, 'quickjs.c')) && existsSync(join(dest, '.verified'))) return dest;
  const work = join(cacheDir(), 'apt-src');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(work, 'dl'), { recursive: true });
  const uri = debianArchiveUri();
  const list = join(work, 'sources.list');
  writeFileSync(list, `deb-src [signed-by=${QUICKJS.keyring}] ${uri} ${QUICKJS.suite} main\n`);
  const aptOpts = [
    '-o', `Dir::Etc::SourceList=${list}`,
    '-o', 'Dir::Etc::SourceParts=/dev/null',
    '-o', `Dir::State::Lists=${join(work, 'lists')}`,
    '-o', 'APT::Get::List-Cleanup=0',
    '-o', 'Debug::NoLocking=1',
  ];
  log(`fetching QuickJS ${QUICKJS.debianVersion} sources from Debian ${QUICKJS.suite} (signed index, pinned sha256)`);
  runQuiet('apt-get', [...aptOpts, 'update', '-q']);
  runQuiet('apt-get', [...aptOpts, 'source', '--download-only', '-q', `quickjs=${QUICKJS.debianVersion}`], { cwd: join(work, 'dl') });
  const tarball = join(work, 'dl', QUICKJS.origTarball);
  if (!existsSync(tarball)) throw new Error(`apt-get source did not produce ${QUICKJS.origTarball}`);
  const got = sha256(tarball);
  if (got !== QUICKJS.sha256) throw new Error(`QuickJS tarball sha256 mismatch: got ${got}, want ${QUICKJS.sha256}`);
  log(`sha256 ${got} ok`);
  const tmp = dest + '.tmp';
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  runQuiet('tar', ['-xJf', tarball, '-C', tmp, '--strip-components=1']);
  writeFileSync(join(tmp, '.verified'), `${QUICKJS.origTarball} ${got}\n`);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  rmSync(work, { recursive: true, force: true });
  log(`QuickJS sources in ${displayPath(dest)}`);
  return dest;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    ensureDebian(DEBIAN_PACKAGES.map(([n]) => n));
    ensureNpm();
    ensureQuickjs();
  } catch (e) {
    console.error(`[setup] ${e.message}`);
    process.exit(1);
  }
}
