// SPDX-License-Identifier: Apache-2.0
/**
 * Writes the Bao VM configuration of a platform for Bao's own build:
 * `<outdir>/<platform>/config.c` (default outdir `build/bao`), and a
 * README.md beside it saying how to build Bao with it.
 *
 * Usage: node --import tsx qemu/bao/gen-config.ts [platform] [outdir]
 *          [--frontend=<image>] [--backend=<image>] [--images]
 *
 * The images default to the build outputs: `build/bao/<platform>/frontend.bin`
 * (see images.ts) and `build/<platform>/baojs.bin`. `--images` builds both
 * first (the firmware with scripts/build.ts, the frontend from the cached
 * kernel and initramfs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPlatform } from '../../scripts/gen-platform.ts';
import type { Platform } from '../../src/config/platform.ts';
import { baoConfig, baoSystem, type BaoConfigOptions } from './config.ts';
import { baoBuildDir, buildFrontendImage, defaultBackendImage, defaultFrontendImage } from './images.ts';

/** What `writeBaoConfig` wrote. */
export interface BaoConfigFiles {
  /** `<outdir>/<platform>/config.c` */
  config: string;
  /** the directory to pass as Bao's CONFIG_REPO */
  configRepo: string;
  /** the name to pass as Bao's CONFIG */
  configName: string;
  frontendImage: string;
  backendImage: string;
  /** the other frontends' images (frontend 2 first) */
  otherFrontendImages: string[];
}

/**
 * Writes `config.c` and `README.md` for platform `p` under `outdir/<p.name>/`.
 * Image paths are made absolute, so Bao's build finds them from its own tree.
 * @throws ConfigError (from `baoConfig`) when the description is refused.
 */
export function writeBaoConfig(p: Platform, outdir = join(baoBuildDir(p.name), '..'), opts: BaoConfigOptions = {}): BaoConfigFiles {
  const frontendImage = resolve(opts.frontendImage ?? defaultFrontendImage(p.name));
  const backendImage = resolve(opts.backendImage ?? defaultBackendImage(p.name));
  const otherFrontendImages = (p.otherFrontends ?? []).map((_, i) => resolve(opts.otherFrontendImages?.[i] ?? defaultFrontendImage(p.name, i + 1)));
  const o = { ...opts, frontendImage, backendImage, otherFrontendImages };
  const text = baoConfig(p, o);
  const sys = baoSystem(p, o);
  const dir = join(resolve(outdir), p.name);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config.c');
  writeFileSync(config, text);
  const [fe, be, ...others] = sys.vms;
  writeFileSync(join(dir, 'README.md'), [
    `# Bao configuration of baojs on ${p.name}`,
    '',
    `Generated from platforms/${p.name}.ts: \`config.c\` is a Bao configuration`,
    'for Bao\'s own build. From Bao\'s source tree:',
    '',
    '```',
    p.machine.arch === 'riscv64'
      ? `make PLATFORM=qemu-riscv64-virt IRQC=PLIC CONFIG=${p.name} CONFIG_REPO=${resolve(outdir)} CROSS_COMPILE=riscv64-unknown-elf-`
      : `make PLATFORM=<bao platform> CONFIG=${p.name} CONFIG_REPO=${resolve(outdir)} CROSS_COMPILE=<aarch64 cross prefix>`,
    '```',
    '',
    'It embeds (rebuild Bao when one changes):',
    '',
    `- \`${fe.image.symbol}\`: ${frontendImage} (VM 0, ${fe.name}, at 0x${fe.image.base.toString(16)})`,
    `- \`${be.image.symbol}\`: ${backendImage} (VM 1, baojs, at 0x${be.image.base.toString(16)})`,
    ...others.map((vm, i) => `- \`${vm.image.symbol}\`: ${otherFrontendImages[i]} (VM ${i + 2}, ${vm.name}, at 0x${vm.image.base.toString(16)})`),
    '',
    'See docs/bao.md in the baojs repository.',
    '',
  ].join('\n'));
  return { config, configRepo: resolve(outdir), configName: p.name, frontendImage, backendImage, otherFrontendImages };
}

async function main(argv: string[]): Promise<void> {
  const flags = argv.filter((a) => a.startsWith('--'));
  const [name = 'qemu-aarch64-virt', outdir] = argv.filter((a) => !a.startsWith('--'));
  const flag = (k: string): string | undefined => flags.find((f) => f.startsWith(`--${k}=`))?.slice(k.length + 3);
  const p = await loadPlatform(name);
  const opts: BaoConfigOptions = { frontendImage: flag('frontend'), backendImage: flag('backend') };
  if (flags.includes('--images')) {
    const { buildFirmware } = await import('../../scripts/build.ts');
    await buildFirmware({ platform: name });
    console.log(`frontend image: ${await buildFrontendImage(p, { out: opts.frontendImage ? resolve(opts.frontendImage) : undefined })}`);
    for (let i = 1; i <= (p.otherFrontends ?? []).length; i++) console.log(`frontend ${i + 1} image: ${await buildFrontendImage(p, { frontend: i })}`);
  }
  const files = writeBaoConfig(p, outdir ?? join(baoBuildDir(name), '..'), opts);
  console.log(`${files.config}\n  Bao: make CONFIG=${files.configName} CONFIG_REPO=${files.configRepo} ...\n  frontend image: ${files.frontendImage}\n  baojs image: ${files.backendImage}` +
    files.otherFrontendImages.map((f, i) => `\n  frontend ${i + 2} image: ${f}`).join(''));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(`[bao] ${e.message}`);
    process.exit(1);
  });
}
