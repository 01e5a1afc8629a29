// SPDX-License-Identifier: Apache-2.0
// Where the build keeps what it fetches and what it builds outside the work tree.
import { homedir } from 'node:os';
import { join } from 'node:path';

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
