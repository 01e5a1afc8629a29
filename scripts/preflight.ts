// SPDX-License-Identifier: Apache-2.0
/**
 * Checks what a run will need from the user's environment before anything
 * long is built: that the QEMU program starts (`$QEMU`, else
 * `qemu-system-aarch64`) and, when `BAO_IMAGE` is set, that it names a file
 * that can be a Bao image. `npm start`, `npm test`, `npm run bench` and
 * `npm run profile` run it first; `qemu/run.ts` calls it too.
 *
 * Usage: `node --import tsx scripts/preflight.ts [--bare]` (`--bare`: the
 * firmware alone, no Bao image needed). Prints one line naming the problem
 * and exits 1, or prints nothing and exits 0.
 */
import { pathToFileURL } from 'node:url';
import { checkQemu } from '../qemu/qemu.ts';
import { checkBaoImage } from '../qemu/bao/run.ts';

/**
 * Checks the run environment `env`.
 * @throws Error with one line naming the problem: the QEMU program does
 *   not start (`cannot start /nonexistent: ENOENT`), or `BAO_IMAGE` is
 *   missing or not a Bao image.
 */
export function preflight(env: NodeJS.ProcessEnv = process.env, opts: { bare?: boolean } = {}): void {
  checkQemu(env.QEMU ?? 'qemu-system-aarch64');
  if (!opts.bare && env.BAO_IMAGE) checkBaoImage(env.BAO_IMAGE);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    preflight(process.env, { bare: process.argv.includes('--bare') });
  } catch (e) {
    console.error(`[check] ${(e as Error).message}`);
    process.exit(1);
  }
}
