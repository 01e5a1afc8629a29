// SPDX-License-Identifier: Apache-2.0
/**
 * How to boot a system on the remio test monitor: the QEMU command line that
 * loads the monitor, the guests and the monitor's boot-parameter block
 * (each VM's entry address and x0), all with QEMU's generic loader.
 */
import { readFileSync } from 'node:fs';
import { loadPlatform, monitorLayout } from '../../scripts/gen-platform.ts';
import { ensureMonitor, PLATFORM } from './build.ts';
import { diskQemuArgs, type DiskImage } from '../disks.ts';
import type { UplinkOptions } from '../uplink.ts';
import type { Platform } from '../../src/config/platform.ts';

/** A guest image: an ELF (loaded at its segments' addresses) or a raw binary loaded at `addr`. */
export interface GuestImage {
  /** path of the ELF or raw image */
  file: string;
  /** raw images only: guest-physical load address */
  addr?: number;
  /** entry point; default: the ELF's entry, or `addr` for a raw image */
  entry?: number;
  /** the boot argument: x0 at entry on aarch64, a1 on riscv64 (the dtb address for a Linux frontend, a test mode for the conformance frontend) */
  x0?: number;
}

/** Extra blobs to place in guest memory (a Linux frontend's dtb and initramfs). */
export interface Blob {
  /** path of the file */
  file: string;
  /** guest-physical address */
  addr: number;
}

/** Options of a monitor run. */
export interface MonitorRun {
  /** platform description (default the monitor's aarch64 platform, qemu-aarch64-virt) */
  platform?: string;
  /** the frontend VM's image (runs on the frontend's CPU at EL1) */
  frontend: GuestImage;
  /** the backend VM's image (runs on the backend's CPU at EL1) */
  backend: GuestImage;
  /**
   * images of the platform's other frontends (`otherFrontends`, in order);
   * one not given is not started (its CPU stays off and its devices idle)
   */
  otherFrontends?: Array<GuestImage | undefined>;
  /** more files to load (raw, at an address) */
  blobs?: Blob[];
  /**
   * images of the platform's passthrough disks (qemu/disks.ts
   * `prepareDisks`), attached before any other virtio device so that each
   * lands on the transport the description gives it
   */
  disks?: DiskImage[];
  /** forwards of the passthrough network cards' user networks, by device name (qemu/uplink.ts) */
  uplinks?: Record<string, UplinkOptions | undefined>;
  /** more QEMU arguments, appended */
  extra?: string[];
}

/** The entry address of an ELF file, or undefined if `file` is not a 64-bit ELF. */
export function elfEntry(file: string): number | undefined {
  const head = readFileSync(file).subarray(0, 32);
  if (head.length < 32 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return undefined;
  return Number(head.readBigUInt64LE(24));
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Loader arguments for one guest; returns [args, entry]. */
function guestArgs(g: GuestImage): [string[], number] {
  const elf = elfEntry(g.file);
  if (elf !== undefined && g.addr === undefined) {
    return [['-device', `loader,file=${g.file}`], g.entry ?? elf];
  }
  if (g.addr === undefined) throw new Error(`${g.file}: a raw image needs a load address`);
  return [['-device', `loader,file=${g.file},addr=${hex(g.addr)},force-raw=on`], g.entry ?? g.addr];
}

/**
 * The machine and monitor part of the command line. aarch64: QEMU virt at
 * EL2 with GICv3, CPU 0 starting in the monitor. riscv64: QEMU virt with
 * the hypervisor extension (and Svpbmt, as for Bao) below QEMU's OpenSBI in
 * M-mode (`-bios default`), which starts the monitor in HS-mode on its boot
 * hart (`-kernel`, an ELF entered at its entry point).
 */
function machineArgs(p: Platform, monitor: string): string[] {
  const m = p.machine;
  const common = ['-smp', String(m.cpus), '-nographic', '-nic', 'none'];
  if (m.arch === 'riscv64') {
    return ['-M', 'virt', '-cpu', `${m.qemuCpu},h=true,svpbmt=true`, ...common,
      '-m', `${(m.ram.base + m.ram.size - 0x80000000) / 2 ** 20}M`, '-bios', 'default', '-kernel', monitor];
  }
  return ['-M', 'virt,secure=off,virtualization=on,gic-version=3', '-cpu', m.qemuCpu, ...common,
    '-m', `${(m.ram.size / 2 ** 30) | 0}G`, '-device', `loader,file=${monitor},cpu-num=0`];
}

/**
 * The full `qemu-system-aarch64` (or `-riscv64`) argument list for a run:
 * machine, monitor, guests, blobs, the boot-parameter block (frontend
 * entry, frontend boot argument, backend entry, backend boot argument, then
 * entry and argument of each other frontend, 0 for one not started; 8
 * bytes each), the passthrough disks, then `extra`.
 * @throws Error from `diskQemuArgs` when a passthrough device is not on the
 *   transport its place on the command line gives it
 */
export async function monitorQemuArgs(run: MonitorRun): Promise<string[]> {
  const p = await loadPlatform(run.platform ?? PLATFORM);
  const params = monitorLayout(p).bootParams;
  const monitor = await ensureMonitor(p.name);
  const [feArgs, feEntry] = guestArgs(run.frontend);
  const [beArgs, beEntry] = guestArgs(run.backend);
  const others = (p.otherFrontends ?? []).map((vm, i) => {
    const g = run.otherFrontends?.[i];
    return g ? guestArgs(g) : undefined;
  });
  if ((run.otherFrontends?.length ?? 0) > others.length) throw new Error(`${run.otherFrontends!.length} other frontend images for ${others.length} other frontends in ${p.name}`);
  const words = [feEntry, run.frontend.x0 ?? 0, beEntry, run.backend.x0 ?? 0,
    ...others.flatMap((o, i) => (o ? [o[1], run.otherFrontends![i]!.x0 ?? 0] : [0, 0]))];
  const args = [
    ...machineArgs(p, monitor),
    ...feArgs, ...beArgs, ...others.flatMap((o) => o?.[0] ?? []),
    ...(run.blobs ?? []).flatMap((b) => ['-device', `loader,file=${b.file},addr=${hex(b.addr)},force-raw=on`]),
    ...words.flatMap((w, i) => ['-device', `loader,addr=${hex(params + 8 * i)},data=${hex(w)},data-len=8`]),
    ...(run.disks ? diskQemuArgs(p, run.disks, run.uplinks) : []),
    ...(run.extra ?? []),
  ];
  return args;
}
