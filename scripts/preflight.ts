// SPDX-License-Identifier: Apache-2.0
/**
 * Checks what a run will need from the user's environment before anything
 * long is built: that the QEMU program starts (`$QEMU`, else
 * `qemu-system-aarch64`) and, when `BAO_IMAGE` is set, that it names a file
 * that can be a Bao image, and when `BAOJS_DISK` is set, that it names an
 * image the passthrough disk `pdisk0` can use (it exists, holds the
 * description's disk ranges, no other run holds it). `npm start`, `npm test`, `npm run bench` and
 * `npm run profile` run it first; `qemu/run.ts` calls it too.
 *
 * Usage: `node --import tsx scripts/preflight.ts [--bare] [--arch A]` (`--bare`: the
 * firmware alone, no Bao image needed; `opts.arch` names the machine's
 * instruction set, whose QEMU is checked). Prints one line naming the problem
 * and exits 1, or prints nothing and exits 0.
 */
import { pathToFileURL } from 'node:url';
import { checkQemu } from '../qemu/qemu.ts';
import { checkBaoImage } from '../qemu/bao/run.ts';
import { checkDiskImage } from '../qemu/disks.ts';
import { platform } from '../platforms/qemu-aarch64-virt.ts';
import { selectedArch } from './arch.ts';

/**
 * Checks the run environment `env`.
 * @throws Error with one line naming the problem: the QEMU program does
 *   not start (`cannot start /nonexistent: ENOENT`), `BAO_IMAGE` is
 *   missing or not a Bao image, or `BAOJS_DISK` cannot serve as the
 *   system's passthrough disk (qemu/disks.ts `checkDiskImage`).
 */
export function preflight(env: NodeJS.ProcessEnv = process.env, opts: { bare?: boolean; arch?: 'aarch64' | 'riscv64' } = {}): void {
  checkQemu(env.QEMU ?? `qemu-system-${opts.arch ?? 'aarch64'}`);
  if (!opts.bare && env.BAO_IMAGE) checkBaoImage(env.BAO_IMAGE);
  if (!opts.bare && env.BAOJS_DISK && (opts.arch ?? 'aarch64') === 'aarch64') checkDiskImage(platform, 'pdisk0', env.BAOJS_DISK);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    preflight(process.env, { bare: process.argv.includes('--bare'), arch: selectedArch() });
  } catch (e) {
    console.error(`[check] ${(e as Error).message}`);
    process.exit(1);
  }
}
