// SPDX-License-Identifier: Apache-2.0
/**
 * The disk images behind the devices a platform passes through to the
 * backend (`backend.passthrough`), on QEMU: which file each one is, the
 * checks made before QEMU starts (the file exists, holds every disk range
 * of the description, no other run has it open), and the QEMU arguments
 * that attach it as a `virtio-blk-device` on the virtio-mmio transport the
 * description names.
 *
 * QEMU virt has 32 virtio-mmio transports of 0x200 bytes from 0x0a00_0000
 * (transport n at 0x0a00_0000 + n * 0x200, SPI 16 + n = INTID 48 + n), and
 * gives them to `-device virtio-*-device` in command-line order from the
 * highest: the first device is transport 31 (0x0a00_3e00, INTID 79), the
 * second 30, … (QEMU `hw/arm/virt.c` create_virtio_devices). QEMU riscv64
 * virt has 8 of 0x1000 bytes from 0x1000_1000 (PLIC source n + 1), filled
 * the same way: the first device is transport 7 (0x1000_8000, source 8). The
 * arguments here come before any other virtio device of the command line,
 * and attach every passthrough device in the order of
 * `backend.passthrough`, network cards (qemu/uplink.ts) included.
 *
 * Images are opened `cache=writeback`: QEMU completes a write once it is in
 * the host's page cache, and a FLUSH from the driver becomes an fdatasync.
 * What QEMU acknowledged is therefore kept when QEMU itself is killed
 * (SIGKILL: the page cache belongs to the host kernel, which writes it
 * back), and what was flushed survives a host crash too; `directsync`
 * would sync every write (slow, and O_DIRECT is refused on tmpfs) and adds
 * nothing a driver that flushes needs.
 *
 * How QEMU performs the image's I/O (`aio=`) is its default, a pool of
 * host threads, unless a caller asks for Linux io_uring ({@link DiskImage.aio};
 * the bench does, for the disk and for its reference alike, where the host
 * has it: {@link ioUringAvailable}).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { diskMinimumSize, type PassthroughDevice, type Platform } from '../src/config/platform.ts';
import { cacheDir, displayPath } from '../scripts/paths.mjs';
import { QEMU_RISCV_VIRTIO_MMIO, QEMU_VIRTIO_MMIO } from './frontend/dts.ts';
import { uplinkQemuArgs, type UplinkOptions } from './uplink.ts';

/** A passthrough device and the image file behind it. */
export interface DiskImage {
  /** the passthrough device's name (`backend.passthrough[].name`), also QEMU's drive id */
  name: string;
  /** absolute path of the raw image */
  file: string;
  /**
   * a QEMU blkdebug rules file to put between the device and the image
   * (tests: requests that fail, QEMU `docs/devel/blkdebug.rst`), or none
   */
  blkdebug?: string;
  /**
   * how QEMU performs the image's I/O (`-drive aio=`): 'threads' (QEMU's
   * default, a pool of host threads) or 'io_uring' (Linux io_uring, see
   * {@link ioUringAvailable}); default: QEMU's
   */
  aio?: DiskAio;
}

/** How QEMU performs a disk image's I/O (QEMU `-drive aio=`, `docs/system/invocation`: threads, native, io_uring). */
export type DiskAio = 'threads' | 'io_uring';

/** {@link ioUringAvailable}'s answers, by QEMU binary */
const ioUring = new Map<string, boolean>();

/**
 * Whether `qemu` can open a disk image with `aio=io_uring` on this host:
 * QEMU built with liburing, and a kernel that lets this process set up an
 * io_uring (containers and hardened hosts may not). Probes once per
 * binary and process: QEMU opens an empty image in /dev/shm (or the
 * temporary directory), sets up its ring and is told to quit through its
 * monitor; true if it then exits with status 0.
 */
export function ioUringAvailable(qemu = 'qemu-system-aarch64'): boolean {
  const known = ioUring.get(qemu);
  if (known !== undefined) return known;
  let ok = false;
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'baojs-io-uring-'));
  try {
    const image = join(dir, 'probe.img');
    closeSync(openSync(image, 'w'));
    const r = spawnSync(qemu, ['-M', 'none', '-nodefaults', '-display', 'none', '-S', '-monitor', 'stdio',
      '-drive', `if=none,id=probe,format=raw,file=${image},aio=io_uring`], { input: 'quit\n', timeout: 20_000, encoding: 'utf8' });
    ok = r.status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  ioUring.set(qemu, ok);
  return ok;
}

/** Why a disk image cannot be used: one line naming the file. */
export class DiskImageError extends Error {
  constructor(message: string, readonly file: string) {
    super(message);
    this.name = 'DiskImageError';
  }
}

/** Smallest image made for a disk no range of the description uses yet. */
const MIN_DEFAULT_IMAGE = 1024 * 1024;

const hex8 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

/** The image the runner uses for passthrough disk `name` when none is given: `<cache>/disks/<platform>-<name>.img`. */
export function defaultDiskImage(platform: string, name: string): string {
  return join(cacheDir(), 'disks', `${platform}-${name}.img`);
}

/**
 * Whether another process (another QEMU) holds `file` in a way that keeps
 * this run from writing it: QEMU takes open file description locks on byte
 * 100 + n ("I use permission n") and 200 + n ("I refuse to share
 * permission n") of the image, with n = 1 for write (QEMU `block/file-posix.c`
 * raw_apply_lock_bytes); a lock on byte 101 or 201 held by anyone makes the
 * next QEMU fail with `Failed to get "write" lock`. Read from /proc/locks
 * (Linux); false where it cannot be read.
 */
export function imageLocked(file: string): boolean {
  let locks: string;
  try {
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return false;
  }
  const st = statSync(file, { bigint: true });
  const major = Number(((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & ~0xfffn));
  const minor = Number((st.dev & 0xffn) | ((st.dev >> 12n) & ~0xffn));
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  for (const line of locks.split('\n')) {
    const f = line.trim().split(/\s+/);
    // "1: OFDLCK ADVISORY READ -1 fe:00:2148402 201 201" (a blocked waiter's line starts "1: ->")
    const at = f.indexOf(id);
    if (at < 0 || f[1] === '->') continue;
    const start = Number(f[at + 1]);
    const end = f[at + 2] === 'EOF' ? Infinity : Number(f[at + 2]);
    if ((start <= 101 && 101 <= end) || (start <= 201 && 201 <= end)) return true;
  }
  return false;
}

/** The one-line message for an image another run holds. */
function lockedMessage(file: string, name: string): string {
  return `${displayPath(file)}: disk image of ${name} is in use by another run (QEMU could not get its "write" lock); stop that run or give another image`;
}

/**
 * Checks an existing image for passthrough disk `name` of `p`: it is a
 * regular file, it holds `diskMinimumSize` bytes, no other run holds it.
 * Opens nothing for writing.
 * @throws DiskImageError naming the file
 */
function checkImage(p: Platform, name: string, file: string): void {
  const st = statSync(file);
  if (!st.isFile()) throw new DiskImageError(`${displayPath(file)}: disk image of ${name} is not a regular file`, file);
  const min = diskMinimumSize(p, name);
  if (st.size < min) {
    throw new DiskImageError(`${displayPath(file)}: disk image of ${name} has ${st.size} bytes, the disk ranges of ${p.name} need ${min}`, file);
  }
  if (imageLocked(file)) throw new DiskImageError(lockedMessage(file, name), file);
}

/**
 * Checks the image `file` given for passthrough disk `name` of `p` (it is
 * never created): it exists, is a regular file, holds `diskMinimumSize`
 * bytes and no other run holds it. Returns its absolute path.
 * @throws DiskImageError naming the file
 */
export function checkDiskImage(p: Platform, name: string, file: string): string {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new DiskImageError(`${displayPath(abs)}: disk image of ${name} does not exist`, abs);
  checkImage(p, name, abs);
  return abs;
}

/**
 * The image of each passthrough device of `p`, checked, in the order of
 * `backend.passthrough`. `disks[name]`, when given, must exist (it is never
 * created); otherwise the default image ({@link defaultDiskImage}) is used,
 * created sparse at `diskMinimumSize` (at least 1 MiB) if it does not exist.
 * Nothing is written to an image that exists.
 * @throws DiskImageError naming the file: missing, too small for the
 *   description's ranges, or in use by another run; Error for a name in
 *   `disks` that is no passthrough device of `p`
 */
export function prepareDisks(p: Platform, disks: Record<string, string | undefined> = {}): DiskImage[] {
  const list = blkDevices(p);
  for (const name of Object.keys(disks)) {
    if (disks[name] !== undefined && !list.some((d) => d.name === name)) {
      throw new Error(`no passthrough disk ${name} in ${p.name} (it has: ${list.map((d) => d.name).join(', ') || 'none'})`);
    }
  }
  return list.map((d) => {
    const given = disks[d.name];
    if (given !== undefined) return { name: d.name, file: checkDiskImage(p, d.name, given) };
    const file = defaultDiskImage(p.name, d.name);
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      createSparse(file, Math.max(diskMinimumSize(p, d.name), MIN_DEFAULT_IMAGE));
    }
    checkImage(p, d.name, file);
    return { name: d.name, file };
  });
}

/** Creates `file` (which must not exist) as a sparse file of `size` bytes. */
function createSparse(file: string, size: number): void {
  const fd = openSync(file, 'wx');
  try {
    // no data written: the blocks are allocated on first write
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}

/**
 * Temporary images for every passthrough disk of `p` (sparse, at
 * `diskMinimumSize`, at least 1 MiB) in a new directory under the system's
 * temporary directory, for tests that must not touch the user's images;
 * `remove()` deletes them.
 */
export function temporaryDisks(p: Platform): { disks: Record<string, string>; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'baojs-disks-'));
  const disks: Record<string, string> = {};
  for (const d of blkDevices(p)) {
    disks[d.name] = join(dir, `${d.name}.img`);
    createSparse(disks[d.name], Math.max(diskMinimumSize(p, d.name), MIN_DEFAULT_IMAGE));
  }
  return { disks, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The passthrough devices of `p` that are disks (kind virtio-blk), in order. */
function blkDevices(p: Platform): PassthroughDevice[] {
  return (p.backend.passthrough ?? []).filter((d) => d.kind === 'virtio-blk');
}

/**
 * QEMU arguments that attach `images` (from {@link prepareDisks}) and the
 * network cards as the platform's passthrough devices: per disk `-drive
 * if=none,id=<name>,format=raw,file=<image>,cache=writeback[,aio=<aio>] -device
 * virtio-blk-device,drive=<name>`, per network card the user network of
 * qemu/uplink.ts with the forwards `uplinks[name]` (none by default), in
 * the order of `backend.passthrough`, after
 * `-global virtio-mmio.force-legacy=false` (QEMU's transports are legacy,
 * version 1, unless told otherwise; the driver needs version 2). They must
 * come before any other virtio device of the command line.
 * @throws Error naming `backend.passthrough[i].base` when device i is not
 *   on the transport QEMU virt gives the (i+1)-th virtio device (the last - i),
 *   or `backend.passthrough[i].intid` when its INTID is not that
 *   transport's
 */
export function diskQemuArgs(p: Platform, images: DiskImage[], uplinks: Record<string, UplinkOptions | undefined> = {}): string[] {
  const list = p.backend.passthrough ?? [];
  if (list.length === 0) return [];
  const args = ['-global', 'virtio-mmio.force-legacy=false'];
  list.forEach((d, i) => {
    const riscv = p.machine.arch === 'riscv64';
    const { transport, base, intid } = qemuTransport(p.machine.arch, i);
    if (d.base !== base) {
      throw new Error(`backend.passthrough[${i}].base: ${hex8(d.base)} is not where QEMU virt puts the virtio device added ${i + 1}${['st', 'nd', 'rd'][i] ?? 'th'} (transport ${transport}, ${hex8(base)})`);
    }
    if (d.intid !== intid) {
      throw new Error(`backend.passthrough[${i}].intid: ${d.intid} is not the interrupt of QEMU virt's transport ${transport} (${riscv ? 'PLIC source' : 'INTID'} ${intid})`);
    }
    if (d.kind === 'virtio-net') {
      args.push(...uplinkQemuArgs(d.name, uplinks[d.name]));
      return;
    }
    const image = images.find((m) => m.name === d.name);
    if (!image) throw new Error(`no disk image for passthrough device ${d.name}`);
    if (/,/.test(image.file)) throw new DiskImageError(`${displayPath(image.file)}: QEMU cannot take a file name with a comma`, image.file);
    const file = image.blkdebug ? `blkdebug:${image.blkdebug}:${image.file}` : image.file;
    args.push('-drive', `if=none,id=${d.name},format=raw,file=${file},cache=writeback${image.aio ? `,aio=${image.aio}` : ''}`, '-device', `virtio-blk-device,drive=${d.name}`);
  });
  return args;
}

/**
 * Where QEMU virt puts the `i`-th virtio device of its command line (from
 * 0): the transport (the last one first), its window's guest-physical
 * address and its interrupt (aarch64 the GIC INTID of its SPI, riscv64 the
 * PLIC source), from QEMU's layout in qemu/frontend/dts.ts.
 */
export function qemuTransport(arch: 'aarch64' | 'riscv64', i: number): { transport: number; base: number; intid: number } {
  if (arch === 'riscv64') {
    const q = QEMU_RISCV_VIRTIO_MMIO;
    const transport = q.count - 1 - i;
    return { transport, base: q.base + transport * q.stride, intid: q.firstSource + transport };
  }
  const q = QEMU_VIRTIO_MMIO;
  const transport = q.count - 1 - i;
  return { transport, base: q.base + transport * q.stride, intid: 32 + q.firstSpi + transport };
}

/**
 * The one-line error for a QEMU that ended because it could not lock one
 * of `images` (`Failed to get "write" lock … Is another process using the
 * image [<file>]?`), or null when `output` shows no such failure.
 */
export function diskLockProblem(output: string, images: DiskImage[]): string | null {
  if (!/Failed to get "write" lock/.test(output)) return null;
  const m = /Is another process using the image \[([^\]\n]*)\]/.exec(output);
  const image = images.find((i) => m && resolve(m[1]) === i.file) ?? images[0];
  return image ? lockedMessage(image.file, image.name) : 'a disk image is in use by another run (QEMU could not get its "write" lock)';
}
