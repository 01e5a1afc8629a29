// SPDX-License-Identifier: Apache-2.0
/**
 * Builds the remio test monitor (and its bare-metal test guests) for a
 * platform's architecture: the common sources of this directory plus those
 * of `aarch64/` (EL2, with `aarch64-linux-gnu-gcc`) or `riscv64/` (HS-mode,
 * with `riscv64-unknown-elf-gcc`, integer-only so that the guests' FP state
 * is never touched). Outputs are cached under the cache directory, keyed by
 * a hash of every input (sources, generated platform and ABI headers,
 * compiler and flags), so a second call returns at once.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePlatform, loadPlatform } from '../../scripts/gen-platform.ts';
import { cacheDir } from '../../scripts/paths.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
/** The platform the monitor is built for by default (and the one of the bare-metal test guests). */
export const PLATFORM = 'qemu-aarch64-virt';
/** The architectures the monitor has a form for. */
export type MonitorArch = 'aarch64' | 'riscv64';

const COMMON_CFLAGS = [
  '-std=c11', '-O2', '-g', '-Wall', '-Wextra', '-Werror', '-ffreestanding', '-nostdlib', '-fno-pie', '-no-pie',
  '-mstrict-align', '-fno-stack-protector', '-fno-tree-loop-distribute-patterns', '-fno-common',
];
/** Compiler and architecture flags of each form. */
const TOOLCHAIN: Record<MonitorArch, { cc: string; cflags: string[] }> = {
  aarch64: { cc: 'aarch64-linux-gnu-gcc', cflags: [...COMMON_CFLAGS, '-mgeneral-regs-only', '-mcpu=cortex-a53'] },
  riscv64: { cc: 'riscv64-unknown-elf-gcc', cflags: [...COMMON_CFLAGS, '-march=rv64imac_zicsr_zifencei', '-mabi=lp64', '-mcmodel=medany'] },
};
const LDFLAGS = ['-nostdlib', '-static', '-no-pie', '-Wl,--build-id=none', '-Wl,-z,noexecstack'];

/** One bare-metal image: its sources, include directories and linker script template. */
export interface ImageSpec {
  /** output file name, e.g. 'monitor.elf' */
  name: string;
  /** C and assembly sources */
  sources: string[];
  /** extra include directories (the generated platform directory is always added) */
  includes: string[];
  /** linker script to preprocess with platform.h */
  ldScript: string;
  /** preprocessor definitions, e.g. ['GUEST_BASE=FRONTEND_RAM_BASE'] */
  defines?: string[];
  /** platform description it is built for (default {@link PLATFORM}); decides the toolchain */
  platform?: string;
}

/** The architecture of platform `name`. @throws Error for an architecture the monitor has no form for */
export async function monitorArch(name: string): Promise<MonitorArch> {
  const arch = (await loadPlatform(name)).machine.arch;
  if (arch !== 'aarch64' && arch !== 'riscv64') throw new Error(`${name}: the remio test monitor has no ${arch} form`);
  return arch;
}

/** Hex digest of everything that determines the image. */
function inputHash(spec: ImageSpec, arch: MonitorArch, genDir: string): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ tool: TOOLCHAIN[arch], LDFLAGS, name: spec.name, defines: spec.defines ?? [] }));
  const headers = spec.includes.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.h')).map((f) => join(d, f)));
  for (const f of [...spec.sources, spec.ldScript, ...headers, join(genDir, 'platform.h'), join(genDir, 'abi.h')].sort()) {
    h.update(f.replace(root, '')).update('\0').update(readFileSync(f)).update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** Runs compiler `cc`, turning a failure into an error carrying its output. */
function run(cc: string, args: string[]): void {
  try {
    execFileSync(cc, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer };
    throw new Error(`${cc} ${args.join(' ')}\n${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`);
  }
}

/** Builds `spec` unless a cached copy with the same input hash exists; returns the ELF path. */
export async function buildImage(spec: ImageSpec): Promise<string> {
  const platform = spec.platform ?? PLATFORM;
  const arch = await monitorArch(platform);
  const { cc, cflags } = TOOLCHAIN[arch];
  const genDir = join(root, 'build', 'gen', platform);
  await generatePlatform(platform, genDir);
  const tag = platform === PLATFORM ? '' : `-${arch}`;
  const outDir = join(cacheDir(), 'monitor', `${spec.name.replace(/\.elf$/, '')}${tag}-${inputHash(spec, arch, genDir)}`);
  const out = join(outDir, spec.name);
  if (existsSync(out)) return out;
  const tmp = `${outDir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  const inc = [genDir, ...spec.includes].flatMap((d) => ['-I', d]).concat((spec.defines ?? []).map((d) => `-D${d}`));
  const objs: string[] = [];
  for (const src of spec.sources) {
    const obj = join(tmp, src.replace(/^.*\//, '').replace(/\.[cS]$/, '.o'));
    run(cc, [...cflags, ...inc, '-c', src, '-o', obj]);
    objs.push(obj);
  }
  // The linker cannot read C integer suffixes: preprocess, then strip them.
  const ldPre = join(tmp, 'pre.ld');
  run(cc, ['-E', '-P', '-x', 'c', ...inc, spec.ldScript, '-o', ldPre]);
  const ld = join(tmp, 'image.ld');
  writeFileSync(ld, readFileSync(ldPre, 'utf8').replace(/\b(0x[0-9a-fA-F]+|\d+)UL\b/g, '$1'));
  run(cc, [...cflags, ...LDFLAGS, '-T', ld, ...objs, '-o', join(tmp, spec.name)]);
  mkdirSync(dirname(outDir), { recursive: true });
  try {
    renameSync(tmp, outDir);
  } catch {
    // another build finished first: use its result
  }
  return out;
}

/** The C and assembly sources of directory `dir` (linker scripts excluded). */
function sourcesOf(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.(c|S)$/.test(f) && !f.endsWith('.ld.S')).sort().map((f) => join(dir, f));
}

/** Builds (or finds cached) `monitor.elf` for `platform` (default {@link PLATFORM}); returns its path. */
export async function ensureMonitor(platform = PLATFORM): Promise<string> {
  const archDir = join(here, await monitorArch(platform));
  return buildImage({
    name: 'monitor.elf',
    sources: [...sourcesOf(here), ...sourcesOf(archDir)],
    includes: [here, archDir],
    ldScript: join(archDir, 'monitor.ld.S'),
    platform,
  });
}

const guestDir = join(here, 'test', 'guest');

/**
 * Builds (or finds cached) one bare-metal test guest for `platform`, linked
 * at `base` and printing on `uart` (platform.h names): the common sources
 * of test/guest (guest.c and `main`) and the architecture's part from
 * test/guest/<arch>/ (start.S, arch.c, and `<main>-arch.c` when there is
 * one), built with that architecture's toolchain.
 */
async function buildGuest(name: string, main: string, base: string, uart: string, platform: string): Promise<string> {
  const archDir = join(guestDir, await monitorArch(platform));
  const archMain = join(archDir, main.replace(/\.c$/, '-arch.c'));
  return buildImage({
    name,
    sources: [
      ...['guest.c', main].map((f) => join(guestDir, f)),
      ...['start.S', 'arch.c'].map((f) => join(archDir, f)),
      ...(existsSync(archMain) ? [archMain] : []),
    ],
    includes: [guestDir, archDir],
    ldScript: join(guestDir, 'guest.ld.S'),
    defines: [`GUEST_BASE=${base}`, `GUEST_UART=${uart}`],
    platform,
  });
}

/**
 * The bare-metal conformance frontend (linked 2 MiB into frontend RAM, where a
 * Linux Image goes: QEMU keeps its own dtb at the RAM base) and the C test
 * backend (linked at the backend RAM base), for `platform` (default
 * {@link PLATFORM}; `qemu-riscv64-virt` builds the riscv64 guests).
 */
export async function ensureTestGuests(platform = PLATFORM): Promise<{ frontend: string; backend: string }> {
  const frontend = await buildGuest('frontend.elf', 'frontend.c', '(FRONTEND_RAM_BASE+0x200000)', 'MONITOR_DEBUG_UART_BASE', platform);
  const backend = await buildGuest('backend.elf', 'backend.c', 'BACKEND_RAM_BASE', 'PLAT_UART_BASE', platform);
  return { frontend, backend };
}

const probeDir = join(here, 'test', 'guest-riscv64');

/**
 * The riscv64 probe frontend (test/guest-riscv64: the decodable load and
 * store forms, the SBI calls, the fatal paths), linked 2 MiB into the first
 * frontend's RAM of `platform`.
 */
export function ensureRiscvProbe(platform = 'qemu-riscv64-virt'): Promise<string> {
  return buildImage({
    name: 'probe.elf',
    sources: ['start.S', 'probe.c'].map((f) => join(probeDir, f)),
    includes: [probeDir],
    ldScript: join(guestDir, 'guest.ld.S'),
    defines: ['GUEST_BASE=(FRONTEND_RAM_BASE+0x200000)'],
    platform,
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  Promise.all([ensureMonitor(), ensureTestGuests()]).then(([m, g]) => console.log([m, g.frontend, g.backend].join('\n')), (e: Error) => {
    console.error(e.message);
    process.exit(1);
  });
}
