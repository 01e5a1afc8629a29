// SPDX-License-Identifier: Apache-2.0
/**
 * The guest images a Bao configuration of baojs embeds:
 *  - the baojs firmware, `build/<platform>/baojs.bin` (raw, loaded at the
 *    start of the backend's RAM), from `scripts/build.ts`;
 *  - the Linux frontend's boot image, `build/bao/<platform>/frontend.bin`,
 *    made here: Bao loads one image per VM at one address and jumps to
 *    `entry` with no boot protocol of its own (`src/core/vm.c`
 *    `vm_install_image`, `vcpu_arch_reset`), so the kernel, its device tree
 *    and its initramfs travel in one blob with a small boot stub in front
 *    (the same job as the `lloader` wrapper of Bao's demos, which appends a
 *    device tree to a Linux Image); each other frontend's the same way
 *    (`frontend2.bin`, …: the same kernel and initramfs, its own device
 *    tree, at its own RAM).
 *
 * Layout of frontend.bin, offsets from the frontend's RAM base (where Bao
 * puts it and where the VM starts):
 *   0x0        boot stub: x0 = device tree, x1..x3 = 0, branch to the kernel
 *              (riscv64: a0 = the hart id Bao passes, a1 = device tree,
 *              jump to the kernel; Bao leaves a1 0, `src/arch/riscv/vm.c`)
 *   0x10000    device tree (from `qemu/frontend/dts.ts`, PSCI over SMC, no
 *              UART: the console is the baojs virtio console, hvc0)
 *   0x200000   kernel Image (arm64 and riscv boot protocols: 2 MiB aligned)
 *   next 2 MiB boundary after the kernel's image_size: the initramfs
 *              (named in the device tree's linux,initrd-start/end)
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { frontendsOf, type Platform } from '../../src/config/platform.ts';
import { ensureFrontend, frontendArchOf, type FrontendArtifacts } from '../frontend/build.ts';
import { buildFrontendTool, ETHFLOOD, frontendTools } from '../frontend/tool.ts';
import { compileDtb, frontendDts, frontendIdentityArgs } from '../frontend/dts.ts';
import { linuxBootStub, riscvBootStub } from '../frontend/standalone.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MiB = 0x100000;

/** Where the files of a Bao build of platform `name` go: `build/bao/<name>/`. */
export function baoBuildDir(name: string): string {
  return join(root, 'build', 'bao', name);
}

/** The default path of the baojs firmware image for platform `name` (`build/<name>/baojs.bin`). */
export function defaultBackendImage(name: string): string {
  return join(root, 'build', name, 'baojs.bin');
}

/**
 * The default path of the boot image of frontend number `index + 1` for
 * platform `name`: `build/bao/<name>/frontend.bin` for the first,
 * `frontend2.bin`, … for the others.
 */
export function defaultFrontendImage(name: string, index = 0): string {
  return join(baoBuildDir(name), `frontend${index ? index + 1 : ''}.bin`);
}

/** Offsets inside frontend.bin (from the frontend's RAM base). */
export const FRONTEND_BLOB = { stub: 0, dtb: 0x10000, kernel: 0x200000 } as const;

/** Options of `buildFrontendImage`. */
export interface FrontendImageOptions {
  /**
   * kernel and initramfs (default: built or taken from the cache with the
   * tools a system's frontend has under the monitor, and the network tests'
   * flooder, so that the system tests run unchanged under Bao)
   */
  artifacts?: FrontendArtifacts;
  /** extra kernel command line, after `console=hvc0` */
  append?: string;
  /** output file (default `defaultFrontendImage(p.name, frontend)`) */
  out?: string;
  /** which frontend: index in `frontendsOf(p)` (default 0) */
  frontend?: number;
}

/**
 * Builds the frontend's Bao boot image for platform `p`: boot stub, device
 * tree, kernel Image and initramfs in one file, to be loaded at the start
 * of the frontend's RAM and entered there. Returns the path.
 * @throws when the pieces do not fit the frontend's RAM.
 */
export async function buildFrontendImage(p: Platform, opts: FrontendImageOptions = {}): Promise<string> {
  const arch = frontendArchOf(p);
  const a = opts.artifacts ?? await ensureFrontend([...frontendTools(arch), { path: ETHFLOOD.path, contents: buildFrontendTool(ETHFLOOD.source, arch) }], arch);
  const index = opts.frontend ?? 0;
  const vm = frontendsOf(p)[index];
  if (!vm) throw new Error(`frontend ${index}: ${p.name} has ${frontendsOf(p).length} frontend VMs`);
  const out = opts.out ?? defaultFrontendImage(p.name, index);
  const base = vm.ram.base;
  const kernel = readFileSync(a.image);
  // arm64 and riscv Image headers: image_size (u64 at offset 16) covers the BSS too.
  const imageSize = Math.max(kernel.length, Number(kernel.readBigUInt64LE(16)));
  const initrdOffset = Math.ceil((FRONTEND_BLOB.kernel + imageSize) / (2 * MiB)) * 2 * MiB;
  const initrdSize = statSync(a.initramfs).size;
  const total = initrdOffset + initrdSize;
  if (total > vm.ram.size / 2) throw new Error(`frontend image (${total} bytes) takes more than half of the frontend's RAM`);

  const bootargs = ['console=hvc0', 'panic=-1', frontendIdentityArgs(p, index), opts.append ?? ''].join(' ').trim();
  const dtbPath = compileDtb(frontendDts(p, { frontend: index, conduit: 'smc', bootargs, initrd: { base: base + initrdOffset, size: initrdSize } }),
    join(dirname(out), `frontend${index ? index + 1 : ''}.dtb`));
  const dtb = readFileSync(dtbPath);
  if (FRONTEND_BLOB.dtb + dtb.length > FRONTEND_BLOB.kernel) throw new Error('frontend device tree too large for its slot');

  const blob = Buffer.alloc(total);
  const stub = arch === 'riscv64' ? riscvBootStub : linuxBootStub;
  stub(base + FRONTEND_BLOB.kernel, base + FRONTEND_BLOB.dtb).copy(blob, FRONTEND_BLOB.stub);
  dtb.copy(blob, FRONTEND_BLOB.dtb);
  kernel.copy(blob, FRONTEND_BLOB.kernel);
  readFileSync(a.initramfs).copy(blob, initrdOffset);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, blob);
  return out;
}
