// SPDX-License-Identifier: Apache-2.0
// Where the build keeps what it fetches and what it builds outside the work tree.
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The work tree: the repository's root directory. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Cache root: $BAOJS_CACHE, else $XDG_CACHE_HOME/baojs, else ~/.cache/baojs. */
export function cacheDir() {
  if (process.env.BAOJS_CACHE) return process.env.BAOJS_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'baojs');
}

/** The pinned QuickJS release: Debian source package, version and orig tarball checksum. */
export const QUICKJS = {
  suite: 'trixie',
  debianVersion: '2025.04.26-1',
  version: '2025-04-26',
  origTarball: 'quickjs_2025.04.26.orig.tar.xz',
  sha256: 'ec81da5b3249ed648dbc7df4a1654988910e66a118d9b71cb63534216efcfbbe',
  keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
  get srcDir() { return join(cacheDir(), 'quickjs-2025.04.26'); },
};

/** `child` relative to `parent` when it lies inside it (or is it), else null. */
function inside(parent, child) {
  const r = relative(parent, child);
  if (r === '') return '.';
  return r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r) ? null : r;
}

/**
 * `path` as a user would type it in a message: relative to the work tree
 * when it lies in it (`build/qemu-aarch64-virt/baojs.elf`), else
 * `~/…` when it lies under the home directory (`~/.cache/baojs/…`),
 * else absolute.
 */
export function displayPath(path, opts = {}) {
  const abs = resolve(path);
  const root = opts.root ?? ROOT;
  const home = opts.home ?? homedir();
  const inTree = inside(root, abs);
  if (inTree !== null) return inTree;
  const inHome = home && home !== sep ? inside(home, abs) : null;
  if (inHome !== null) return inHome === '.' ? '~' : `~/${inHome}`;
  return abs;
}
