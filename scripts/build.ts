// SPDX-License-Identifier: Apache-2.0
/**
 * Builds the baojs firmware image for a platform:
 *
 *  1. platform.h / platform.ld generated from the platform description;
 *  2. the TypeScript entry bundled by esbuild (ES module, `host` external);
 *  3. the bundle precompiled to QuickJS bytecode by the host `qjsc` of the
 *     same pinned release (no JS parsing at boot) and emitted as C;
 *  4. the pinned QuickJS sources cross-compiled for the target (cached
 *     outside the work tree, keyed by a hash of sources, patch and flags);
 *  5. firmware + runtime compiled and linked with linker/firmware.ld into
 *     `baojs.elf` (QEMU, the test monitor) and `baojs.bin` (Bao's VM image).
 *
 * Usage: `node --import tsx scripts/build.ts [--platform NAME] [--all]`
 * (`--all`: also the remio test monitor and the Linux frontend).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build as esbuild } from 'esbuild';
import { transformSync } from '@babel/core';
import { cacheDir, displayPath, QUICKJS } from './paths.mjs';
import { ensureHostQuickjs } from './quickjs-host.ts';
import { generatePlatform } from './gen-platform.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg: string): void => console.log(`[build] ${msg}`);

/** Instruction sets the firmware is built for (`machine.arch` of the platform description). */
export type Arch = 'aarch64' | 'riscv64';

const SPECS = '--specs=picolibc.specs';

/** How to compile for one instruction set. */
interface Target {
  /** cross tool prefix (Debian packages gcc-aarch64-linux-gnu, gcc-riscv64-unknown-elf) */
  cross: string;
  /** code generation flags */
  cflags: string[];
  /** extra flags for the firmware core, which runs in interrupt context too */
  coreFlags: string[];
}

/**
 * aarch64: -O2 for Cortex-A53; the firmware core without FP/SIMD registers
 * (the IRQ path does not save them). riscv64: RV64GC, the LP64D ABI, code
 * that runs at any address (medany: the backend's RAM sits above 2 GiB),
 * and -Os: QuickJS takes about 5 KB of stack per JS call level at -O2 on
 * riscv64 and 2 KB at -Os. GCC has no -mgeneral-regs-only for RISC-V: the
 * riscv64 trap entry saves the caller-saved FP registers instead.
 */
export const TARGETS: Record<Arch, Target> = {
  aarch64: { cross: 'aarch64-linux-gnu-', cflags: ['-O2', '-mcpu=cortex-a53'], coreFlags: ['-mgeneral-regs-only'] },
  riscv64: { cross: 'riscv64-unknown-elf-', cflags: ['-Os', '-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany'], coreFlags: [] },
};

/** The aarch64 cross prefix (the benchmarks read aarch64 images). */
export const CROSS = TARGETS.aarch64.cross;
/**
 * Flags shared by everything compiled for the target `arch`. -ffreestanding
 * implies -fno-builtin, which made every fixed-size memcpy (the unaligned
 * loads and stores of the virtqueue and driver-queue code, QuickJS's own)
 * a call into string.c; -fbuiltin after it lets GCC expand them inline
 * again (a 4 KiB request on a passthrough disk made 41 such calls).
 */
const targetCflags = (arch: Arch): string[] => [...TARGETS[arch].cflags, '-ffreestanding', '-fbuiltin', '-fno-pie', '-fwrapv', '-fno-common',
  '-ffunction-sections', '-fdata-sections', '-g', SPECS];
/** QuickJS configuration for the firmware (see runtime/patches/quickjs-bare-metal.patch). */
const QUICKJS_DEFINES = ['-D_GNU_SOURCE', `-DCONFIG_VERSION="${QUICKJS.version}"`, '-DCONFIG_NO_THREADS',
  '-DCONFIG_NO_TM_GMTOFF'];
const QUICKJS_SOURCES = ['quickjs.c', 'libregexp.c', 'libunicode.c', 'cutils.c', 'dtoa.c'];
const PATCH = join(root, 'runtime', 'patches', 'quickjs-bare-metal.patch');

/** What to build. */
export interface BuildOptions {
  /** platform description name, `platforms/<name>.ts` */
  platform?: string;
  /** TypeScript entry, relative to the repository root (default `src/main.ts`) */
  entry?: string;
  /** output directory (default `build/<platform>`) */
  outDir?: string;
  /** quiet: no per-step lines */
  quiet?: boolean;
}

/** The products of a build. */
export interface BuildResult {
  elf: string;
  bin: string;
  bundle: string;
  /** section sizes in bytes */
  sizes: { text: number; data: number; bss: number };
}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  }
  return r.stdout;
}

/** Runs compile jobs, two at a time (the machines we target have few cores). */
async function parallel(jobs: Array<{ label: string; cmd: string; args: string[] }>, quiet = false): Promise<void> {
  let next = 0;
  let failed: Error | undefined;
  const worker = async (): Promise<void> => {
    while (next < jobs.length && !failed) {
      const job = jobs[next++];
      if (!quiet) log(`[${next}/${jobs.length}] ${job.label}`);
      await new Promise<void>((resolve) => {
        const p = spawn(job.cmd, job.args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (out += d));
        p.on('close', (code) => {
          if (code !== 0) failed = new Error(`${job.label} failed:\n${out}`);
          else if (out.trim() && !quiet) process.stdout.write(out);
          resolve();
        });
      });
    }
  };
  await Promise.all([worker(), worker()]);
  if (failed) throw failed;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Cross-compiles the pinned QuickJS for `arch`, cached by inputs; returns the object files. */
export async function ensureTargetQuickjs(quiet = false, arch: Arch = 'aarch64'): Promise<string[]> {
  const cross = TARGETS[arch].cross;
  const flags = [...targetCflags(arch), ...QUICKJS_DEFINES, '-w'];
  const gccVersion = run(`${cross}gcc`, ['-dumpfullversion']).trim();
  const key = sha256([QUICKJS.sha256, readFileSync(PATCH, 'utf8'), flags.join(' '), gccVersion, 'target-v1'].join('\n')).slice(0, 16);
  const dir = join(cacheDir(), `target-quickjs-${key}`);
  const objs = QUICKJS_SOURCES.map((s) => join(dir, s.replace(/\.c$/, '.o')));
  if (existsSync(join(dir, '.complete'))) return objs;
  log(`cross-compiling QuickJS ${QUICKJS.version} for ${arch} (once; cached in ${displayPath(dir)})`);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const f of readdirSync(QUICKJS.srcDir)) {
    if (/\.[ch]$/.test(f)) copyFileSync(join(QUICKJS.srcDir, f), join(tmp, f));
  }
  run('patch', ['-s', '-p1', '-i', PATCH], { cwd: tmp });
  await parallel(QUICKJS_SOURCES.map((s) => ({
    label: `cc ${s} (QuickJS)`,
    cmd: `${cross}gcc`,
    args: [...flags, '-c', join(tmp, s), '-o', join(tmp, s.replace(/\.c$/, '.o'))],
  })), quiet);
  writeFileSync(join(tmp, '.complete'), `${key}\n`);
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another build finished the same objects first: use those.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, '.complete'))) throw e;
  }
  return objs;
}

/**
 * `let`/`const`/`class` bindings of `code` (an ES module) turned into `var`
 * (Babel's block-scoping transform: shadowed names renamed, a closure that
 * captures a loop's binding wrapped in a function). QuickJS checks the
 * temporal dead zone of every lexical binding on each access
 * (OP_get_loc_check, OP_set_loc_uninitialized at each block entry): about a
 * fifth of the interpreter's instructions on the request path. A `var` has
 * no such check. The TDZ itself only turns a use-before-definition into a
 * ReferenceError, which tsc's strict checks already rule out.
 * @throws Error with Babel's message if `code` does not parse
 */
export function withoutTdz(code: string, filename: string): string;
/** The same, carrying `inputSourceMap` through: returns the code and the combined source map. */
export function withoutTdz(code: string, filename: string, inputSourceMap: object): { code: string; map: object };
export function withoutTdz(code: string, filename: string, inputSourceMap?: object): string | { code: string; map: object } {
  const r = transformSync(code, {
    configFile: false, babelrc: false, sourceType: 'module', filename, compact: false, comments: false,
    plugins: [['@babel/plugin-transform-block-scoping', { tdz: false }]],
    ...(inputSourceMap ? { inputSourceMap: inputSourceMap as never, sourceMaps: true } : {}),
  });
  if (!r?.code) throw new Error(`block-scoping transform of ${filename} produced nothing`);
  if (!inputSourceMap) return r.code;
  if (!r.map) throw new Error(`block-scoping transform of ${filename} made no source map`);
  return { code: r.code, map: r.map };
}

/**
 * Bundles `entry` with esbuild for the firmware: one ES module, `host`
 * external, lexical bindings turned into `var` ({@link withoutTdz}).
 */
export async function bundle(entry: string, platform: string, outFile: string): Promise<void> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  await esbuild({
    entryPoints: [join(root, entry)],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    outfile: outFile,
    external: ['host'],
    alias: { '@platform': join(root, 'platforms', `${platform}.ts`) },
    define: { __BAOJS_VERSION__: JSON.stringify(pkg.version) },
    legalComments: 'none',
    logLevel: 'warning',
  });
  writeFileSync(outFile, withoutTdz(readFileSync(outFile, 'utf8'), basename(outFile)));
}

const WARN_FLAGS = ['-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-cast-function-type', '-std=gnu11'];
const LINK_FLAGS = [SPECS, '-nostartfiles', '-static', '-no-pie', '-Wl,--gc-sections', '-Wl,--no-warn-rwx-segments'];
/** The stamp beside the products of {@link buildFirmware}: what they were built from. */
const STAMP = 'baojs.inputs.json';

/** What {@link buildFirmware} records about its products in {@link STAMP}. */
interface FirmwareStamp {
  /** {@link firmwareInputsKey} of the inputs */
  key: string;
  sizes: BuildResult['sizes'];
  /** sha256 of each product as written, so that a product replaced or edited later is not taken for this build's */
  sha256: { elf: string; bin: string; bundle: string };
}

const fileHash = (file: string): string => sha256(readFileSync(file));

/** Every file under `dir` (recursively), sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * A digest (16 hex digits) of everything the firmware image is made from:
 * the bytecode of the bundle (`bundleC`), every file under firmware/,
 * runtime/, linker/ and the generated platform directory `gen`, the flags,
 * the cross compiler's version, the QuickJS objects (their cache key is in
 * their path) and this build script itself. Equal digests, same image.
 */
function firmwareInputsKey(arch: Arch, bundleC: string, gen: string, qjsObjs: string[]): string {
  const h = createHash('sha256');
  const target = TARGETS[arch];
  const gccVersion = run(`${target.cross}gcc`, ['-dumpfullversion']).trim();
  h.update(JSON.stringify({ arch, target, TARGET_CFLAGS: targetCflags(arch), QUICKJS_DEFINES, WARN_FLAGS, LINK_FLAGS, gccVersion, qjs: qjsObjs.map((o) => relative(cacheDir(), o)) }));
  h.update(readFileSync(bundleC));
  const files = [...['firmware', 'runtime', 'linker'].flatMap((d) => filesUnder(join(root, d))), ...filesUnder(gen), fileURLToPath(import.meta.url)];
  for (const f of files) h.update('\0').update(relative(root, f)).update('\0').update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

/** The products in `out` if its stamp names `key` and every product still has the bytes the stamp recorded; else undefined. */
function reuseFirmware(out: string, key: string): BuildResult | undefined {
  try {
    const stamp = JSON.parse(readFileSync(join(out, STAMP), 'utf8')) as FirmwareStamp;
    if (stamp.key !== key) return undefined;
    const r = { elf: join(out, 'baojs.elf'), bin: join(out, 'baojs.bin'), bundle: join(out, 'bundle.js'), sizes: stamp.sizes };
    const same = fileHash(r.elf) === stamp.sha256.elf && fileHash(r.bin) === stamp.sha256.bin && fileHash(r.bundle) === stamp.sha256.bundle;
    return same ? r : undefined;
  } catch {
    return undefined; // no stamp, or a product missing: build
  }
}

/** Writes the stamp atomically (a concurrent reader sees the old one or the new one). */
function writeStamp(out: string, stamp: FirmwareStamp): void {
  const tmp = join(out, `${STAMP}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(stamp, null, 2)}\n`);
  renameSync(tmp, join(out, STAMP));
}

/**
 * Builds the firmware image, or returns the one in the output directory
 * when that was built from the same inputs ({@link firmwareInputsKey}) and
 * its files are unchanged since: an image left from other sources, or
 * replaced by hand, is never used.
 * @throws Error with the failing command's output.
 */
export async function buildFirmware(opts: BuildOptions = {}): Promise<BuildResult> {
  const platform = opts.platform ?? 'qemu-aarch64-virt';
  const entry = opts.entry ?? 'src/main.ts';
  const out = opts.outDir ?? join(root, 'build', platform);
  const quiet = opts.quiet ?? false;
  const gen = join(root, 'build', 'gen', platform);
  // Intermediate files go to a directory of this process, the products are
  // renamed into place: builds of the same image may run at the same time.
  const work = join(out, `.work-${process.pid}`);
  // The description is validated first: a refused platform leaves nothing behind.
  const arch = (await generatePlatform(platform, gen)).machine.arch;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    return await buildInto(work, out, { platform, entry, gen, quiet, arch });
  } finally {
    // on success only the emptied work directory is left; on a failure, the partial outputs
    rmSync(work, { recursive: true, force: true });
  }
}

/** The build's steps after the platform files, with intermediate files in `work` and the products renamed into `out`. */
async function buildInto(work: string, out: string, o: { platform: string; entry: string; gen: string; quiet: boolean; arch: Arch }): Promise<BuildResult> {
  const { platform, entry, gen, quiet, arch } = o;
  const { cross, coreFlags } = TARGETS[arch];
  const cflags = targetCflags(arch);

  const bundleJs = join(work, 'bundle.js');
  await bundle(entry, platform, bundleJs);
  if (!quiet) log(`bundle ${entry}: ${readFileSync(bundleJs).length} bytes`);

  const { qjsc } = ensureHostQuickjs();
  const bundleC = join(work, 'bundle.c');
  // Run from the work directory so that stack traces name `bundle.js`, not a path of this machine.
  run(qjsc, ['-c', '-m', '-M', 'host', '-N', 'baojs_bundle', '-o', 'bundle.c', 'bundle.js'], { cwd: work });
  // qjsc also emits a module table for -M: keep only the bytecode arrays.
  const c = readFileSync(bundleC, 'utf8');
  writeFileSync(bundleC, `#include <stdint.h>\n${c.replace(/#include[^\n]*\n/g, '')}`);

  const qjsObjs = await ensureTargetQuickjs(quiet, arch);
  const key = firmwareInputsKey(arch, bundleC, gen, qjsObjs);
  const reused = reuseFirmware(out, key);
  if (reused) {
    if (!quiet) log(`${displayPath(reused.elf)}: up to date (inputs ${key})`);
    return reused;
  }
  const archDir = join(root, 'firmware', 'arch', arch);
  const incs = [`-I${gen}`, `-I${join(root, 'firmware')}`, `-I${archDir}`,
    // the patched QuickJS headers (JS_GetPropertyCached), next to its objects
    `-I${join(root, 'runtime')}`, `-I${dirname(qjsObjs[0])}`];
  const objDir = join(work, 'obj');
  mkdirSync(objDir, { recursive: true });
  const jobs: Array<{ label: string; cmd: string; args: string[] }> = [];
  const objs: string[] = [];
  const add = (src: string, extra: string[]): void => {
    const obj = join(objDir, basename(src).replace(/\.[cS]$/, '.o'));
    // one object directory: two sources with one base name would overwrite each other's object
    if (objs.includes(obj)) throw new Error(`${displayPath(src)}: another source already makes ${basename(obj)}; rename one of them`);
    objs.push(obj);
    jobs.push({ label: `cc ${displayPath(src)}`, cmd: `${cross}gcc`, args: [...cflags, ...extra, ...incs, '-c', src, '-o', obj] });
  };
  // The firmware core may run in interrupt context (see TARGETS: coreFlags).
  for (const f of readdirSync(archDir)) {
    if (/\.[cS]$/.test(f)) add(join(archDir, f), [...WARN_FLAGS, ...coreFlags]);
  }
  for (const f of readdirSync(join(root, 'firmware'))) {
    if (/\.c$/.test(f)) add(join(root, 'firmware', f), [...WARN_FLAGS, ...coreFlags]);
  }
  for (const f of readdirSync(join(root, 'runtime'))) {
    if (/\.c$/.test(f)) add(join(root, 'runtime', f), [...WARN_FLAGS, ...QUICKJS_DEFINES]);
  }
  add(bundleC, ['-w']);
  await parallel(jobs, quiet);

  const workElf = join(work, 'baojs.elf');
  run(`${cross}gcc`, [...cflags.filter((f) => f.startsWith('-m')), ...LINK_FLAGS, `-T${join(root, 'linker', 'firmware.ld')}`, `-L${gen}`, '-o', workElf, ...objs, ...qjsObjs, '-lm']);
  run(`${cross}objcopy`, ['-O', 'binary', workElf, join(work, 'baojs.bin')]);
  const sizes = sectionSizes(workElf, arch);
  const [elf, bin, bundleOut] = ['baojs.elf', 'baojs.bin', 'bundle.js'].map((f) => {
    renameSync(join(work, f), join(out, f));
    return join(out, f);
  });
  writeStamp(out, { key, sizes, sha256: { elf: fileHash(elf), bin: fileHash(bin), bundle: fileHash(bundleOut) } });
  if (!quiet) log(`${displayPath(elf)}: text ${sizes.text} B, data ${sizes.data} B, bss ${sizes.bss} B; ${displayPath(bin)}: ${readFileSync(bin).length} B`);
  return { elf, bin, bundle: bundleOut, sizes };
}

/** `size -A` figures of an ELF: text (+rodata), data (+tdata), bss (+tbss). */
export function sectionSizes(elf: string, arch: Arch = 'aarch64'): { text: number; data: number; bss: number } {
  const outText = run(`${TARGETS[arch].cross}size`, ['-A', elf]);
  const s = { text: 0, data: 0, bss: 0 };
  for (const line of outText.split('\n')) {
    const m = /^\.(\S+)\s+(\d+)/.exec(line);
    if (!m) continue;
    const n = Number(m[2]);
    if (m[1] === 'text' || m[1] === 'rodata' || m[1] === 'srodata') s.text += n;
    else if (m[1] === 'data' || m[1] === 'tdata' || m[1] === 'sdata') s.data += n;
    else if (m[1] === 'bss' || m[1] === 'tbss' || m[1] === 'sbss') s.bss += n;
  }
  return s;
}

/**
 * Builds everything `npm start` and the tests boot: the firmware image and,
 * with `all`, the remio test monitor and the Linux frontend of each
 * architecture (kernel, initramfs), each cached by its inputs.
 */
export async function buildAll(platform: string | undefined, all: boolean): Promise<void> {
  await buildFirmware({ platform });
  if (!all) return;
  const { ensureMonitor } = await import('../qemu/monitor/build.ts');
  log(`remio test monitor: ${displayPath(await ensureMonitor())}`);
  const { ensureFrontend, ARCH_DATA } = await import('../qemu/frontend/build.ts');
  // the frontend of every architecture: the tests boot each (the standalone reference, Bao images)
  for (const arch of Object.keys(ARCH_DATA) as Array<keyof typeof ARCH_DATA>) {
    const fe = await ensureFrontend([], arch);
    log(`Linux frontend (${arch}): ${displayPath(fe.image)}, ${displayPath(fe.initramfs)}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--platform');
  const platform = i > 0 ? process.argv[i + 1] : undefined;
  buildAll(platform, process.argv.includes('--all')).catch((e: Error) => {
    console.error(`[build] ${e.message}`);
    process.exit(1);
  });
}
