// SPDX-License-Identifier: Apache-2.0
/**
 * Builds the remio test monitor (and its bare-metal test guests) with the
 * aarch64 cross compiler. Outputs are cached under the cache directory, keyed
 * by a hash of every input (sources, generated platform and ABI headers, flags), so a
 * second call returns at once.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePlatform } from '../../scripts/gen-platform.ts';
import { cacheDir } from '../../scripts/paths.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
/** The platform the monitor is built for. */
export const PLATFORM = 'qemu-aarch64-virt';
const genDir = join(root, 'build', 'gen', PLATFORM);

const CC = 'aarch64-linux-gnu-gcc';
const CFLAGS = [
  '-std=c11', '-O2', '-g', '-Wall', '-Wextra', '-Werror', '-ffreestanding', '-nostdlib', '-fno-pie', '-no-pie',
  '-mgeneral-regs-only', '-mstrict-align', '-fno-stack-protector', '-fno-tree-loop-distribute-patterns',
  '-fno-common', '-mcpu=cortex-a53',
];
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
}

/** Hex digest of everything that determines the image. */
function inputHash(spec: ImageSpec): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ CFLAGS, LDFLAGS, name: spec.name, defines: spec.defines ?? [] }));
  const headers = spec.includes.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.h')).map((f) => join(d, f)));
  for (const f of [...spec.sources, spec.ldScript, ...headers, join(genDir, 'platform.h'), join(genDir, 'abi.h')].sort()) {
    h.update(f.replace(root, '')).update('\0').update(readFileSync(f)).update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** Runs the compiler, turning a failure into an error carrying its output. */
function run(args: string[]): void {
  try {
    execFileSync(CC, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer };
    throw new Error(`${CC} ${args.join(' ')}\n${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`);
  }
}

/** Builds `spec` unless a cached copy with the same input hash exists; returns the ELF path. */
export async function buildImage(spec: ImageSpec): Promise<string> {
  await generatePlatform(PLATFORM, genDir);
  const outDir = join(cacheDir(), 'monitor', `${spec.name.replace(/\.elf$/, '')}-${inputHash(spec)}`);
  const out = join(outDir, spec.name);
  if (existsSync(out)) return out;
  const tmp = `${outDir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  const inc = [genDir, ...spec.includes].flatMap((d) => ['-I', d]).concat((spec.defines ?? []).map((d) => `-D${d}`));
  const objs: string[] = [];
  for (const src of spec.sources) {
    const obj = join(tmp, src.replace(/^.*\//, '').replace(/\.[cS]$/, '.o'));
    run([...CFLAGS, ...inc, '-c', src, '-o', obj]);
    objs.push(obj);
  }
  // The linker cannot read C integer suffixes: preprocess, then strip them.
  const ldPre = join(tmp, 'pre.ld');
  run(['-E', '-P', '-x', 'c', ...inc, spec.ldScript, '-o', ldPre]);
  const ld = join(tmp, 'image.ld');
  writeFileSync(ld, readFileSync(ldPre, 'utf8').replace(/\b(0x[0-9a-fA-F]+|\d+)UL\b/g, '$1'));
  run([...CFLAGS, ...LDFLAGS, '-T', ld, ...objs, '-o', join(tmp, spec.name)]);
  mkdirSync(dirname(outDir), { recursive: true });
  try {
    renameSync(tmp, outDir);
  } catch {
    // another build finished first: use its result
  }
  return out;
}

/** The monitor's C and assembly sources. */
function monitorSources(): string[] {
  return readdirSync(here).filter((f) => /\.(c|S)$/.test(f) && !f.endsWith('.ld.S')).sort().map((f) => join(here, f));
}

/** Builds (or finds cached) `monitor.elf`; returns its path. */
export async function ensureMonitor(): Promise<string> {
  return buildImage({
    name: 'monitor.elf',
    sources: monitorSources(),
    includes: [here],
    ldScript: join(here, 'monitor.ld.S'),
  });
}

const guestDir = join(here, 'test', 'guest');

/** Builds (or finds cached) one bare-metal test guest linked at `base` printing on `uart` (platform.h names). */
function buildGuest(name: string, main: string, base: string, uart: string): Promise<string> {
  return buildImage({
    name,
    sources: ['start.S', 'guest.c', main].map((f) => join(guestDir, f)),
    includes: [guestDir],
    ldScript: join(guestDir, 'guest.ld.S'),
    defines: [`GUEST_BASE=${base}`, `GUEST_UART=${uart}`],
  });
}

/**
 * The bare-metal conformance frontend (linked 2 MiB into frontend RAM, where a
 * Linux Image goes: QEMU keeps its own dtb at the RAM base) and the C test
 * backend (linked at the backend RAM base).
 */
export async function ensureTestGuests(): Promise<{ frontend: string; backend: string }> {
  const frontend = await buildGuest('frontend.elf', 'frontend.c', '(FRONTEND_RAM_BASE+0x200000)', 'MONITOR_DEBUG_UART_BASE');
  const backend = await buildGuest('backend.elf', 'backend.c', 'BACKEND_RAM_BASE', 'PLAT_UART_BASE');
  return { frontend, backend };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  Promise.all([ensureMonitor(), ensureTestGuests()]).then(([m, g]) => console.log([m, g.frontend, g.backend].join('\n')), (e: Error) => {
    console.error(e.message);
    process.exit(1);
  });
}
