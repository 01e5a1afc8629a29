// SPDX-License-Identifier: Apache-2.0
/**
 * Which architecture a run is for: `--arch aarch64|riscv64` on the command
 * line (`npm start -- --arch riscv64`), else the environment's
 * `BAOJS_ARCH`, else aarch64. Each architecture has one system platform,
 * the QEMU `virt` machine description that `npm start`, the system tests
 * and the benchmark boot (monitor or Bao, Linux frontends, baojs backend).
 */

import type { Machine } from '../src/config/platform.ts';

/** The instruction sets baojs is built for (a platform description's `machine.arch`). */
export type SystemArch = Machine['arch'];

/** Every architecture, in the order tests and benchmarks report them. */
export const ARCHES: readonly SystemArch[] = ['aarch64', 'riscv64'];

/** The system platform (`platforms/<name>.ts`) of each architecture. */
export const SYSTEM_PLATFORM: Readonly<Record<SystemArch, string>> = {
  aarch64: 'qemu-aarch64-virt',
  riscv64: 'qemu-riscv64-virt',
};

/**
 * The architecture `argv` (`--arch X` or `--arch=X`) or `env.BAOJS_ARCH` names; aarch64 when neither does.
 * @throws Error naming the accepted values when the name is not one of {@link ARCHES}.
 */
export function selectedArch(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): SystemArch {
  let name: string | undefined;
  const i = argv.indexOf('--arch');
  if (i >= 0) name = argv[i + 1];
  const eq = argv.find((a) => a.startsWith('--arch='));
  if (eq) name = eq.slice('--arch='.length);
  name ??= env.BAOJS_ARCH || 'aarch64';
  if (!(ARCHES as readonly string[]).includes(name)) throw new Error(`unknown architecture '${name}' (--arch or BAOJS_ARCH): use ${ARCHES.join(' or ')}`);
  return name as SystemArch;
}
