// SPDX-License-Identifier: Apache-2.0
/**
 * The Linux frontend, for arm64 or riscv64 (`FrontendArch`): a kernel built
 * from Debian's `linux-source-6.1` with `allnoconfig` plus the project's
 * fragments (`kernel.config`, common, then `kernel-<arch>.config`), and an
 * initramfs made of Debian's static busybox and e2fsck for that architecture
 * and the project's `init`.
 *
 * Both are cached outside the work tree, each in a directory named by a hash
 * of its inputs (arm64: `<cache>/frontend-kernel-<hash>/Image`,
 * `<cache>/frontend-initramfs-<hash>/initramfs.cpio.gz`; riscv64: the same
 * with `-riscv64` after `frontend-kernel`/`frontend-initramfs`): a second run finds
 * them and returns at once. The kernel build prints a progress line every
 * few hundred objects and keeps the whole make output in `build.log` beside
 * the image; a failure prints the log's tail.
 *
 * Everything comes from Debian through apt: the kernel source, the cross
 * compilers and, through a private apt configuration that leaves the
 * system's dpkg architectures alone, the `busybox-static` and
 * `e2fsck-static` packages of the target architecture (verified by apt
 * against the archive's signed index; `ARCH_DATA` says which suite).
 *
 * Usage: `node --import tsx qemu/frontend/build.ts [arm64|riscv64]` prints the paths.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, copyFileSync, createWriteStream, openSync, closeSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, displayPath } from '../../scripts/paths.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** The kernel source package, the newest `linux-source-*` of Debian bookworm's main suite. */
export const KERNEL_SOURCE_PACKAGE = 'linux-source-6.1';
/** Where the kernel source package puts its tarball. */
export const KERNEL_SOURCE_TARBALL = '/usr/src/linux-source-6.1.tar.xz';
/** The project's kernel configuration fragment common to all architectures, applied on `allnoconfig` before the architecture's own (`ArchData.fragment`). */
export const KERNEL_FRAGMENT = join(here, 'kernel.config');
/** The project's init script, `/init` in the initramfs. */
export const INIT_SCRIPT = join(here, 'init');
/** The arm64 cross toolchain prefix (`ARCH_DATA[arch].crossCompile` for any architecture). */
export const CROSS_COMPILE = 'aarch64-linux-gnu-';

/** The architectures the Linux frontend is built for (Debian's names). */
export type FrontendArch = 'arm64' | 'riscv64';

/** What differs between the frontend's architectures: all data, no code. */
export interface ArchData {
  /** the kernel's ARCH= */
  kernelArch: string;
  /** cross toolchain prefix (Debian gcc-<triplet>), for the kernel and the C tools */
  crossCompile: string;
  /** the architecture's kernel configuration fragment, applied after `KERNEL_FRAGMENT` */
  fragment: string;
  /** the bootable image in the kernel build tree */
  kernelImage: string;
  /** ELF e_machine of the architecture's programs (183 AArch64, 243 RISC-V) */
  elfMachine: number;
  /**
   * Debian suite of the static busybox and e2fsck packages: 'host' = the
   * system's own suite (and its -updates); a name = that suite only, verified
   * with the same keyring (bookworm has no riscv64 port; trixie has).
   */
  programSuite: 'host' | string;
  /** suffix of the cache directories of this architecture's kernel and initramfs ('' for arm64: its names predate riscv64) */
  cacheSuffix: string;
  /** Debian package of the static C library and Linux headers the C tools link with */
  libcDev: string;
}

/** Per-architecture data of the frontend build. */
export const ARCH_DATA: Readonly<Record<FrontendArch, ArchData>> = {
  arm64: {
    kernelArch: 'arm64', crossCompile: CROSS_COMPILE, fragment: join(here, 'kernel-arm64.config'), kernelImage: 'arch/arm64/boot/Image',
    elfMachine: 183, programSuite: 'host', cacheSuffix: '', libcDev: 'libc6-dev-arm64-cross',
  },
  riscv64: {
    kernelArch: 'riscv', crossCompile: 'riscv64-linux-gnu-', fragment: join(here, 'kernel-riscv64.config'), kernelImage: 'arch/riscv/boot/Image',
    elfMachine: 243, programSuite: 'trixie', cacheSuffix: '-riscv64', libcDev: 'libc6-dev-riscv64-cross',
  },
};
/** Keyring that verifies Debian's archive (package debian-archive-keyring). */
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** Bump when the kernel build recipe below changes in a way that changes the output. */
const KERNEL_RECIPE = 'kernel-recipe-2: allnoconfig + KCONFIG_ALLCONFIG = common fragment + arch fragment; make Image';
/** Bump when the initramfs recipe below changes in a way that changes the output. */
const INITRAMFS_RECIPE = 'initramfs-recipe-1: gen_init_cpio -t 0 | gzip -9n';

/** Debian packages the frontend build and its standalone boot need, with the reason for each. */
export const FRONTEND_PACKAGES: ReadonlyArray<readonly [string, string]> = [
  [KERNEL_SOURCE_PACKAGE, 'the frontend kernel source'],
  ['gcc-aarch64-linux-gnu', 'cross compiler for the arm64 frontend kernel'],
  ['gcc-riscv64-linux-gnu', 'cross compiler for the riscv64 frontend kernel'],
  ['libc6-dev-riscv64-cross', 'static C library and Linux headers for the riscv64 frontend tools (qemu/frontend/tool.ts)'],
  ['gcc', 'host tools of the kernel build (kconfig, gen_init_cpio)'],
  ['libc6-dev', 'headers for the host tools (gcc only recommends them)'],
  ['make', 'kernel build driver'],
  ['bc', 'kernel build (timeconst)'],
  ['bison', 'kernel build (kconfig parser)'],
  ['flex', 'kernel build (kconfig lexer)'],
  ['xz-utils', 'unpacks the kernel source tarball'],
  ['gzip', 'compresses the initramfs'],
  ['device-tree-compiler', 'compiles the frontend device tree'],
  ['debian-archive-keyring', 'verifies the arm64 and riscv64 busybox and e2fsck packages'],
  ['qemu-system-arm', 'boots the arm64 frontend standalone (tests, reference figures)'],
  ['qemu-system-misc', 'boots the riscv64 frontend standalone (qemu-system-riscv64)'],
  ['qemu-system-data', "QEMU's OpenSBI (-bios default) below the riscv64 frontend on plain QEMU"],
];

/** What `ensureFrontend` returns: paths in the cache. */
export interface FrontendArtifacts {
  /** the architecture (absent: arm64, for artifacts described by hand) */
  arch?: FrontendArch;
  /** kernel `Image` (raw; arm64: load at a 2 MiB aligned address, text_offset 0; riscv64: 2 MiB aligned, entry at its start with a0 = hart id, a1 = device tree) */
  image: string;
  /** initramfs, cpio newc, gzip */
  initramfs: string;
  /** the kernel's full `.config` */
  config: string;
}

/** A file to add to the initramfs beside busybox and init. */
export interface InitramfsFile {
  /** absolute path inside the initramfs, e.g. `/usr/bin/garbage.sh` */
  path: string;
  /** the file's contents */
  contents: string | Uint8Array;
  /** permission bits, default 0o755 */
  mode?: number;
}

const log = (msg: string): void => console.log(`[frontend] ${msg}`);

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function elapsed(t0: number): string {
  const s = Math.round((Date.now() - t0) / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function runSync(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (status ${r.status}):\n${(r.stderr || r.stdout || '').trim()}`);
  return r.stdout;
}

interface SetupModule {
  ensureDebian(names: string[]): void;
  debianArchiveUri(): string;
}

/** scripts/setup.mjs, typed (it is plain JavaScript that runs before npm dependencies exist). */
async function setupModule(): Promise<SetupModule> {
  const url = new URL('../../scripts/setup.mjs', import.meta.url).href;
  return (await import(url)) as SetupModule;
}

/** Installs the missing Debian packages the frontend needs (as root), or stops with the command to run. */
export async function ensureFrontendPackages(): Promise<void> {
  (await setupModule()).ensureDebian(FRONTEND_PACKAGES.map(([n]) => n));
}

function debVersion(pkg: string): string {
  return runSync('dpkg-query', ['-W', '-f=${Version}', pkg]).trim();
}

/** Moves a finished build directory into place; if another process won the race, keeps theirs. */
function publish(tmp: string, dest: string): void {
  try {
    renameSync(tmp, dest);
  } catch (e) {
    if (existsSync(dest)) rmSync(tmp, { recursive: true, force: true });
    else throw e;
  }
}

/** Unpacks the kernel source tarball into the cache (once per package version); returns the tree. */
export function ensureKernelSource(): string {
  const version = debVersion(KERNEL_SOURCE_PACKAGE);
  const dest = join(cacheDir(), `linux-source-${version}`);
  if (existsSync(join(dest, '.unpacked'))) return dest;
  if (!existsSync(KERNEL_SOURCE_TARBALL)) throw new Error(`${KERNEL_SOURCE_TARBALL} missing: reinstall ${KERNEL_SOURCE_PACKAGE}`);
  const t0 = Date.now();
  log(`unpacking ${KERNEL_SOURCE_PACKAGE} ${version}`);
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  runSync('tar', ['-xJf', KERNEL_SOURCE_TARBALL, '-C', tmp, '--strip-components=1']);
  writeFileSync(join(tmp, '.unpacked'), `${KERNEL_SOURCE_PACKAGE} ${version}\n`);
  // Older unpacked versions are of no further use.
  for (const f of readdirSync(cacheDir())) {
    if (f.startsWith('linux-source-') && f !== `linux-source-${version}` && !f.includes('.tmp-')) {
      rmSync(join(cacheDir(), f), { recursive: true, force: true });
    }
  }
  publish(tmp, dest);
  log(`kernel source unpacked in ${elapsed(t0)}`);
  return dest;
}

/** Lines of the fragment as [symbol, value] ('n' for "is not set"). */
function fragmentSettings(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    let m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) { out.push([m[1], m[2]]); continue; }
    m = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (m) out.push([m[1], 'n']);
  }
  return out;
}

/** Checks that every setting of the fragment survived `allnoconfig` (a dependency left out would drop it silently). */
function checkConfig(fragment: string, config: string): void {
  const have = new Map<string, string>();
  for (const [k, v] of fragmentSettings(config)) have.set(k, v);
  const bad: string[] = [];
  for (const [k, want] of fragmentSettings(fragment)) {
    const got = have.get(k) ?? 'n';
    if (got !== want) bad.push(`${k}: wanted ${want}, got ${got}`);
  }
  if (bad.length) throw new Error(`kernel configuration does not honour the fragment (missing dependencies?):\n  ${bad.join('\n  ')}`);
}

function kernelMakeArgs(src: string, out: string, arch: FrontendArch): string[] {
  const a = ARCH_DATA[arch];
  return ['-C', src, `O=${out}`, `ARCH=${a.kernelArch}`, `CROSS_COMPILE=${a.crossCompile}`, 'KBUILD_BUILD_USER=baojs', 'KBUILD_BUILD_HOST=baojs',
    'KBUILD_BUILD_TIMESTAMP=1970-01-01'];
}

/** The whole fragment of `arch`: the common one, then the architecture's. */
export function kernelFragment(arch: FrontendArch = 'arm64'): string {
  return `${readFileSync(KERNEL_FRAGMENT, 'utf8')}\n${readFileSync(ARCH_DATA[arch].fragment, 'utf8')}`;
}

/** Runs make, appending to `logFile`; prints a progress line every `every` compiled objects. */
function makeWithProgress(args: string[], logFile: string, label: string, every = 250): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const logStream = createWriteStream(logFile, { flags: 'a' });
    logStream.write(`$ make ${args.join(' ')}\n`);
    const child = spawn('make', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let objects = 0;
    let partial = '';
    const onData = (chunk: Buffer): void => {
      logStream.write(chunk);
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (/^\s+(CC|AS|AR|LD|HOSTCC|OBJCOPY|GZIP)\s/.test(line)) {
          objects++;
          if (objects % every === 0) log(`${label}: ${objects} objects built (${elapsed(t0)})`);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => { logStream.end(); reject(e); });
    child.on('close', (code) => {
      logStream.end(() => {
        if (code === 0) {
          log(`${label}: done, ${objects} objects in ${elapsed(t0)}`);
          resolve();
        } else {
          const tail = readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
          reject(new Error(`${label} failed (make status ${code}); last lines of ${logFile}:\n${tail}`));
        }
      });
    });
  });
}

/** The kernel's cache key: source version, fragments, recipe, compiler, architecture. */
function kernelKey(arch: FrontendArch): { hash: string; version: string } {
  const version = debVersion(KERNEL_SOURCE_PACKAGE);
  const gcc = runSync(`${ARCH_DATA[arch].crossCompile}gcc`, ['--version']).split('\n')[0];
  const hash = sha256([KERNEL_RECIPE, KERNEL_SOURCE_PACKAGE, version, gcc, ARCH_DATA[arch].kernelArch, kernelFragment(arch)].join('\0')).slice(0, 16);
  return { hash, version };
}

/**
 * Builds (or finds in the cache) the frontend kernel for `arch`, with
 * `make -j<cores>` (at most 2: the build shares the machine).
 * @returns the `Image` and `.config` paths.
 * @throws Error with the tail of build.log when make fails, or when the
 *   configuration lost a setting of the fragments (a missing dependency)
 */
export async function ensureKernel(arch: FrontendArch = 'arm64'): Promise<{ image: string; config: string }> {
  await ensureFrontendPackages();
  const { hash, version } = kernelKey(arch);
  const dest = join(cacheDir(), `frontend-kernel${ARCH_DATA[arch].cacheSuffix}-${hash}`);
  const image = join(dest, 'Image');
  const config = join(dest, 'config');
  if (existsSync(image) && existsSync(config)) return { image, config };

  const src = ensureKernelSource();
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const out = join(tmp, 'build');
  mkdirSync(out, { recursive: true });
  const logFile = join(tmp, 'build.log');
  const jobs = Math.max(1, Math.min(2, cpus().length));
  const t0 = Date.now();
  log(`building the ${arch} frontend kernel (${KERNEL_SOURCE_PACKAGE} ${version}, ${jobs} jobs); log: ${displayPath(join(dest, 'build.log'))}`);
  const base = kernelMakeArgs(src, out, arch);
  const fragment = kernelFragment(arch);
  const fragmentFile = join(tmp, 'fragment.config');
  writeFileSync(fragmentFile, fragment);
  await makeWithProgress([...base, `KCONFIG_ALLCONFIG=${fragmentFile}`, 'allnoconfig'], logFile, `${arch} kernel config`, 1e9);
  checkConfig(fragment, readFileSync(join(out, '.config'), 'utf8'));
  await makeWithProgress([...base, `-j${jobs}`, 'Image'], logFile, `${arch} kernel build`);
  copyFileSync(join(out, ARCH_DATA[arch].kernelImage), join(tmp, 'Image'));
  copyFileSync(join(out, '.config'), join(tmp, 'config'));
  copyFileSync(join(out, 'System.map'), join(tmp, 'System.map'));
  rmSync(out, { recursive: true, force: true });
  publish(tmp, dest);
  log(`${arch} frontend kernel ready in ${elapsed(t0)}: ${displayPath(image)}`);
  return { image, config };
}

/** The current Debian suite (VERSION_CODENAME of /etc/os-release). */
function debianSuite(): string {
  const m = /^VERSION_CODENAME=(\S+)$/m.exec(readFileSync('/etc/os-release', 'utf8'));
  if (!m) throw new Error('/etc/os-release names no VERSION_CODENAME');
  return m[1];
}

/** A static program taken from a Debian package for the initramfs (the package of the frontend's architecture). */
export interface DebianProgram {
  /** Debian package, e.g. 'busybox-static' */
  pkg: string;
  /** the program's path inside the package, e.g. 'bin/busybox' (or under usr/, in suites with merged /usr) */
  path: string;
}

/** The former name of `DebianProgram`. */
export type Arm64Program = DebianProgram;

/** Debian's static busybox: the frontend's shell and tools. */
export const BUSYBOX: DebianProgram = { pkg: 'busybox-static', path: 'bin/busybox' };
/** Debian's static e2fsck: checks the filesystems the tests make (busybox has no fsck of its own). */
export const E2FSCK: DebianProgram = { pkg: 'e2fsck-static', path: 'sbin/e2fsck.static' };

/**
 * Fetches a static program of `arch` from Debian (once) through a private
 * apt configuration (its own sources list, index directory and
 * architecture), so the system's dpkg architectures and apt lists stay as
 * they are; apt checks the package against the signed index. The suite is
 * `ARCH_DATA[arch].programSuite`: the system's own for arm64, trixie for
 * riscv64 (bookworm has no riscv64 port), both verified with
 * debian-archive-keyring. Cached in `<cache>/<package>-<arch>/<version>/`.
 * @returns the program's path in the cache and the package's Debian version.
 * @throws Error when the package or the program is missing, or not a 64-bit little-endian ELF of `arch`.
 */
export async function ensureProgram(prog: DebianProgram, arch: FrontendArch = 'arm64'): Promise<{ path: string; version: string }> {
  const name = prog.path.split('/').pop()!;
  const dir = join(cacheDir(), `${prog.pkg}-${arch}`);
  const current = join(dir, 'current');
  if (existsSync(current)) {
    const version = readFileSync(current, 'utf8').trim();
    const path = join(dir, version, name);
    if (existsSync(path)) return { path, version };
  }
  await ensureFrontendPackages();
  const setup = await setupModule();
  const work = join(cacheDir(), `apt-${arch}.tmp-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  for (const d of ['lists/partial', 'cache/archives/partial', 'dl', 'x']) mkdirSync(join(work, d), { recursive: true });
  const uri = setup.debianArchiveUri();
  const wanted = ARCH_DATA[arch].programSuite;
  const suite = wanted === 'host' ? debianSuite() : wanted;
  const suites = wanted === 'host' ? [suite, `${suite}-updates`] : [suite];
  const list = join(work, 'sources.list');
  writeFileSync(list, suites.map((s) => `deb [arch=${arch} signed-by=${DEBIAN_KEYRING}] ${uri} ${s} main\n`).join(''));
  const opts = [
    '-o', `APT::Architecture=${arch}`, '-o', `APT::Architectures::=${arch}`,
    '-o', `Dir::Etc::SourceList=${list}`, '-o', 'Dir::Etc::SourceParts=/dev/null',
    '-o', `Dir::State::Lists=${join(work, 'lists')}`, '-o', `Dir::Cache=${join(work, 'cache')}`,
    '-o', 'Dir::State::status=/dev/null', '-o', 'APT::Get::List-Cleanup=0', '-o', 'Debug::NoLocking=1',
  ];
  log(`fetching ${prog.pkg} (${arch}) from Debian ${suite} (signed index)`);
  try {
    runSync('apt-get', [...opts, '-q', 'update']);
    runSync('apt-get', [...opts, '-q', 'download', `${prog.pkg}:${arch}`], { cwd: join(work, 'dl') });
    const deb = readdirSync(join(work, 'dl')).find((f) => f.startsWith(`${prog.pkg}_`) && f.endsWith(`_${arch}.deb`));
    if (!deb) throw new Error(`apt-get download produced no ${prog.pkg} ${arch} package`);
    const debPath = join(work, 'dl', deb);
    const version = runSync('dpkg-deb', ['-f', debPath, 'Version']).trim();
    runSync('dpkg-deb', ['-x', debPath, join(work, 'x')]);
    // Suites with merged /usr (trixie) ship bin/busybox as usr/bin/busybox.
    const bin = [join(work, 'x', prog.path), join(work, 'x', 'usr', prog.path)].find((f) => existsSync(f));
    if (!bin) throw new Error(`${deb} has no ${prog.path} (nor usr/${prog.path})`);
    const elf = readFileSync(bin).subarray(0, 20);
    // ELF, 64-bit, little endian, e_machine of the architecture (183 AArch64, 243 RISC-V).
    if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1 || elf.readUInt16LE(18) !== ARCH_DATA[arch].elfMachine) {
      throw new Error(`${deb}: ${prog.path} is not a ${arch} ELF`);
    }
    const vdir = join(dir, version);
    mkdirSync(vdir, { recursive: true });
    copyFileSync(bin, join(vdir, name));
    writeFileSync(current, `${version}\n`);
    log(`${prog.pkg} ${version} (${arch})`);
    return { path: join(vdir, name), version };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `ensureProgram(prog, 'arm64')`, under its former name. */
export function ensureArm64Program(prog: DebianProgram): Promise<{ path: string; version: string }> {
  return ensureProgram(prog, 'arm64');
}

/** Compiles the kernel's `usr/gen_init_cpio` (a host tool that writes cpio archives with device nodes, no root needed). */
function ensureGenInitCpio(): string {
  const src = join(ensureKernelSource(), 'usr', 'gen_init_cpio.c');
  const bin = join(cacheDir(), `gen_init_cpio-${sha256(readFileSync(src)).slice(0, 12)}`);
  if (!existsSync(bin)) {
    runSync('gcc', ['-O2', '-o', `${bin}.tmp-${process.pid}`, src]);
    renameSync(`${bin}.tmp-${process.pid}`, bin);
  }
  return bin;
}

/**
 * Builds (or finds in the cache) the initramfs of `arch`: busybox (applet links made
 * by init at boot), e2fsck, `/init`, `/etc/profile`, the console and null device
 * nodes, and any `extra` files (programs in them must be built for `arch`:
 * `buildFrontendTool(source, arch)`).
 * @returns the path of the gzip-compressed cpio (newc) archive.
 */
export async function ensureInitramfs(extra: InitramfsFile[] = [], arch: FrontendArch = 'arm64'): Promise<string> {
  const busybox = await ensureProgram(BUSYBOX, arch);
  const e2fsck = await ensureProgram(E2FSCK, arch);
  const init = readFileSync(INIT_SCRIPT);
  const profile = 'export PS1=\'\\h:\\w# \'\n';
  const parts: Array<string | Uint8Array> = [INITRAMFS_RECIPE, busybox.version, readFileSync(busybox.path), e2fsck.version, init, profile];
  for (const f of extra) parts.push(f.path, String(f.mode ?? 0o755), f.contents);
  const hash = sha256(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(`${p}\0`) : Buffer.from(p))))).slice(0, 16);
  const dest = join(cacheDir(), `frontend-initramfs${ARCH_DATA[arch].cacheSuffix}-${hash}`);
  const out = join(dest, 'initramfs.cpio.gz');
  if (existsSync(out)) return out;

  await ensureFrontendPackages();
  const gen = ensureGenInitCpio();
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'files'), { recursive: true });
  const files = join(tmp, 'files');
  writeFileSync(join(files, 'init'), init);
  writeFileSync(join(files, 'profile'), profile);
  const lines = [
    'dir /dev 0755 0 0',
    'nod /dev/console 0600 0 0 c 5 1',
    'nod /dev/null 0666 0 0 c 1 3',
    ...['/bin', '/sbin', '/usr', '/usr/bin', '/usr/sbin', '/proc', '/sys', '/tmp', '/mnt', '/root', '/etc'].map((d) => `dir ${d} 0755 0 0`),
    `file /bin/busybox ${busybox.path} 0755 0 0`,
    'slink /bin/sh busybox 0777 0 0',
    `file /sbin/e2fsck ${e2fsck.path} 0755 0 0`,
    'slink /sbin/fsck.ext2 e2fsck 0777 0 0',
    'slink /sbin/fsck.ext4 e2fsck 0777 0 0',
    `file /init ${join(files, 'init')} 0755 0 0`,
    `file /etc/profile ${join(files, 'profile')} 0644 0 0`,
  ];
  const dirs = new Set(['/', '/dev', '/bin', '/sbin', '/usr', '/usr/bin', '/usr/sbin', '/proc', '/sys', '/tmp', '/mnt', '/root', '/etc']);
  extra.forEach((f, i) => {
    if (!f.path.startsWith('/') || f.path.includes('..') || /\s/.test(f.path)) throw new Error(`initramfs file path must be absolute, without spaces or '..': ${f.path}`);
    const parents = f.path.split('/').slice(1, -1);
    for (let k = 1; k <= parents.length; k++) {
      const d = `/${parents.slice(0, k).join('/')}`;
      if (!dirs.has(d)) { dirs.add(d); lines.push(`dir ${d} 0755 0 0`); }
    }
    const local = join(files, `extra-${i}`);
    writeFileSync(local, f.contents);
    lines.push(`file ${f.path} ${local} ${(f.mode ?? 0o755).toString(8)} 0 0`);
  });
  const listFile = join(tmp, 'initramfs.list');
  writeFileSync(listFile, `${lines.join('\n')}\n`);
  const cpio = join(tmp, 'initramfs.cpio');
  const fd = openSync(cpio, 'w');
  try {
    const r = spawnSync(gen, ['-t', '0', listFile], { stdio: ['ignore', fd, 'pipe'] });
    if (r.status !== 0) throw new Error(`gen_init_cpio failed: ${r.stderr?.toString()}`);
  } finally {
    closeSync(fd);
  }
  runSync('gzip', ['-9n', cpio]);
  rmSync(files, { recursive: true, force: true });
  publish(tmp, dest);
  log(`initramfs ready: ${displayPath(out)}`);
  return out;
}

/**
 * The frontend architecture of a platform: 'riscv64' for a riscv64 machine,
 * 'arm64' for aarch64.
 */
export function frontendArchOf(p: { machine: { arch?: string } }): FrontendArch {
  return p.machine.arch === 'riscv64' ? 'riscv64' : 'arm64';
}

/**
 * Everything the Linux frontend needs, built or taken from the cache:
 * installs missing Debian packages, builds the kernel and the initramfs.
 * @param extra files to add to the initramfs (tests' helper scripts; programs built for `arch`)
 * @param arch the frontend's architecture (default 'arm64'; `frontendArchOf(platform)` gives a platform's)
 */
export async function ensureFrontend(extra: InitramfsFile[] = [], arch: FrontendArch = 'arm64'): Promise<FrontendArtifacts> {
  if (!(arch in ARCH_DATA)) throw new Error(`frontend architecture ${arch}: one of ${Object.keys(ARCH_DATA).join(', ')}`);
  const { image, config } = await ensureKernel(arch);
  const initramfs = await ensureInitramfs(extra, arch);
  return { arch, image, initramfs, config };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureFrontend([], (process.argv[2] ?? 'arm64') as FrontendArch).then((a) => {
    console.log(`image: ${a.image}\ninitramfs: ${a.initramfs}\nconfig: ${a.config}`);
  }, (e: Error) => {
    console.error(`[frontend] ${e.message}`);
    process.exit(1);
  });
}
