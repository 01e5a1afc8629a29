// SPDX-License-Identifier: Apache-2.0
/**
 * Small programs for the frontend's initramfs (the benchmark's blkbench,
 * the tests' vsockcat, gpioctl, recappend and ethflood): C sources built static for arm64 or riscv64 Linux with the
 * cross compiler the frontend kernel of that architecture is built with (glibc's static libc
 * from Debian's libc6-dev-arm64-cross or libc6-dev-riscv64-cross), cached in `build/frontend-tools/`
 * by the hash of the source, the flags and the architecture.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ARCH_DATA, type FrontendArch } from './build.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const FLAGS = ['-O2', '-s', '-static', '-Wall', '-Wextra', '-Werror'];

/**
 * Builds (or finds) the static program from one C `source` file for `arch`
 * (default arm64; arm64 builds keep their former cache names); returns
 * its bytes, ready for `InitramfsFile.contents`.
 * @throws Error with the compiler's messages when the build fails
 */
export function buildFrontendTool(source: string, arch: FrontendArch = 'arm64'): Buffer {
  const src = readFileSync(source);
  const name = basename(source, '.c');
  const a = ARCH_DATA[arch];
  const h = createHash('sha256').update(src).update(FLAGS.join(' '));
  if (arch !== 'arm64') h.update(`\0${arch}`);
  const hash = h.digest('hex').slice(0, 16);
  const dir = join(ROOT, 'build', 'frontend-tools');
  const out = join(dir, `${name}${a.cacheSuffix}-${hash}`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.${process.pid}`;
    const gcc = `${a.crossCompile}gcc`;
    const r = spawnSync(gcc, [...FLAGS, '-o', tmp, source], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building ${name} for ${arch} failed (needs gcc-${a.crossCompile.slice(0, -1)} and ${a.libcDev}):\n${r.stderr ?? r.error}`);
    renameSync(tmp, out);
  }
  return readFileSync(out);
}

/** The tests' AF_VSOCK client (test/e2e/frontend/vsockcat.c), in every system's frontend. */
export const VSOCKCAT = { source: join(ROOT, 'test', 'e2e', 'frontend', 'vsockcat.c'), path: '/usr/bin/vsockcat' };

/** The tests' GPIO character-device client (test/e2e/frontend/gpioctl.c), in every system's frontend. */
export const GPIOCTL = { source: join(ROOT, 'test', 'e2e', 'frontend', 'gpioctl.c'), path: '/usr/bin/gpioctl' };

/** The storage tests' crash-consistency workload (test/e2e/frontend/recappend.c), in every system's frontend. */
export const RECAPPEND = { source: join(ROOT, 'test', 'e2e', 'frontend', 'recappend.c'), path: '/usr/bin/recappend' };

/** The network tests' broadcast flooder and counter (test/e2e/frontend/ethflood.c), added by the tests that use it. */
export const ETHFLOOD = { source: join(ROOT, 'test', 'e2e', 'frontend', 'ethflood.c'), path: '/usr/bin/ethflood' };

/** The programs every system's frontend carries, as initramfs files, built for `arch` (default arm64). @throws Error when one fails to build */
export function frontendTools(arch: FrontendArch = 'arm64'): Array<{ path: string; contents: Buffer }> {
  return [VSOCKCAT, GPIOCTL, RECAPPEND].map((t) => ({ path: t.path, contents: buildFrontendTool(t.source, arch) }));
}
