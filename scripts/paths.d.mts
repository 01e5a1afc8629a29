// SPDX-License-Identifier: Apache-2.0
// Types of paths.mjs (plain JavaScript, run before the npm dependencies exist).

/** Cache root: $BAOJS_CACHE, else $XDG_CACHE_HOME/baojs, else ~/.cache/baojs. */
export function cacheDir(): string;

/** The pinned QuickJS release: Debian source package, version and orig tarball checksum. */
export const QUICKJS: {
  /** Debian suite the source package comes from, e.g. 'trixie' */
  readonly suite: string;
  /** Debian source package version, e.g. '2025.04.26-1' */
  readonly debianVersion: string;
  /** upstream release, e.g. '2025-04-26' */
  readonly version: string;
  /** file name of the orig tarball */
  readonly origTarball: string;
  /** sha256 of the orig tarball, hex */
  readonly sha256: string;
  /** keyring that verifies the Debian archive */
  readonly keyring: string;
  /** directory of the verified, unpacked sources in the cache */
  readonly srcDir: string;
};

/**
 * `path` as a user would type it in a message: relative to the work tree
 * when it lies in it, else `~/…` under the home directory, else absolute.
 * `opts` overrides the work tree and the home directory (tests).
 */
export function displayPath(path: string, opts?: { root?: string; home?: string }): string;
