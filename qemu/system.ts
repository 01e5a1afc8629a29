// SPDX-License-Identifier: Apache-2.0
/**
 * The whole system on QEMU: the remio test monitor at EL2, the Linux
 * frontend VM on CPU 0, the baojs backend VM on CPU 1 and every other
 * frontend of the platform (`linux2` on CPU 2: the same kernel and
 * initramfs, its own device tree at its own RAM), with the guest-physical
 * layout of the platform description (the same the Bao VM configuration
 * gives them). Each Linux's console is its /dev/hvc0, served by baojs;
 * frontend 1's is bridged to the UART at start, so QEMU's stdin/stdout is
 * its shell (`Ctrl-] 2` bridges frontend 2's, `Ctrl-] 1` back). Each
 * frontend with a NIC brings eth0 up at `frontendAddress` (10.0.0.n/24).
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildFirmware } from '../scripts/build.ts';
import { loadPlatform, monitorLayout } from '../scripts/gen-platform.ts';
import { ensureFrontend, frontendArchOf, type InitramfsFile } from './frontend/build.ts';
import { frontendTools } from './frontend/tool.ts';
import { buildFrontendDtb, frontendIdentityArgs } from './frontend/dts.ts';
export { frontendAddress } from './frontend/dts.ts';
import type { ConsoleSession } from './frontend/session.ts';
import { QemuProcess, qemuProgram } from './qemu.ts';
import { FRONTEND_LOAD_OFFSETS } from './frontend/standalone.ts';
import { monitorQemuArgs, type Blob, type GuestImage } from './monitor/launch.ts';
import { BaoBootError, startBao } from './bao/run.ts';
import { diskLockProblem, diskQemuArgs, DiskImageError, prepareDisks, type DiskAio, type DiskImage } from './disks.ts';
import { frontendsOf, type Platform } from '../src/config/platform.ts';
import type { UplinkOptions } from './uplink.ts';

const ROOT = join(import.meta.dirname, '..');

/** Options of {@link bootSystem}. */
export interface SystemOptions {
  /** platform description name (default qemu-aarch64-virt, the monitor's platform) */
  platform?: string;
  /** hard limit for the whole run, ms; QEMU is killed by its PID after it */
  timeoutMs: number;
  /** how long to wait for the frontend's shell, ms (default 120 s) */
  readyTimeoutMs?: number;
  /** run QEMU with `-icount` (e.g. 'shift=auto,sleep=off') for instruction-count time */
  icount?: string;
  /** extra kernel command line of frontend 1 */
  bootargs?: string;
  /** extra kernel command line of the other frontends (frontend 2 first) */
  otherBootargs?: string[];
  /** boot only frontend 1 (the other frontends' CPUs stay off; default false) */
  firstFrontendOnly?: boolean;
  /** mirror the frontend's kernel log on the monitor's debug UART (`linux:` lines) from the first instruction */
  earlycon?: boolean;
  /** files to add to the frontend's initramfs (beside the tools every system has: vsockcat, gpioctl) */
  initramfsExtra?: InitramfsFile[];
  /** more QEMU arguments (e.g. a QEMU monitor socket for debugging) */
  qemuArgs?: string[];
  /**
   * boot this user-built Bao image instead of the remio test monitor
   * (default `$BAO_IMAGE`); it embeds the frontend and firmware images
   * its configuration names (qemu/bao/gen-config.ts, docs/bao.md); ''
   * boots the monitor even when BAO_IMAGE is set (a test firmware of its
   * own cannot be inside a Bao image built beforehand)
   */
  baoImage?: string;
  /** a firmware ELF to use instead of the product image */
  firmwareElf?: string;
  /**
   * the image file of each passthrough disk of the platform, by device name
   * (`pdisk0`); one not given is `<cache dir>/disks/<platform>-<name>.img`,
   * made sparse when missing (qemu/disks.ts). Tests pass temporary images
   * (`temporaryDisks`) so as never to touch the user's.
   */
  disks?: Record<string, string | undefined>;
  /**
   * forwards of each passthrough network card's user network, by device
   * name (`uplink0`): `hostfwd` from the host's 127.0.0.1, `guestfwd` to
   * it (qemu/uplink.ts; restrict=on always, none by default)
   */
  uplinks?: Record<string, UplinkOptions | undefined>;
  /** per passthrough disk, a QEMU blkdebug rules file that makes chosen requests fail (tests) */
  diskFaults?: Record<string, string>;
  /** how QEMU performs every passthrough disk's I/O (`-drive aio=`, qemu/disks.ts `DiskAio`); default: QEMU's */
  diskAio?: DiskAio;
  /** called with everything QEMU prints */
  onOutput?: (text: string) => void;
  /** copy of everything QEMU prints */
  logFile?: string;
  /** progress lines (default: console.log) */
  log?: (line: string) => void;
}

/**
 * baojs's console command that prints the backend's counters (`Ctrl-] s`,
 * src/main.ts): a system session sends it when a command times out, so the
 * error says whether a device stopped (src/stats.ts: queue indices, in
 * flight) or the frontend was only slow.
 */
export const STATS_PROBE = '\x1ds';

/** A running system: the Linux shell on hvc0, and QEMU's output (monitor, baojs, Linux). */
export interface SystemSession extends ConsoleSession {}

/** Builds what is missing and boots the system; resolves once every frontend's Linux shell is ready, with frontend 1's console bridged. */
export async function bootSystem(opts: SystemOptions): Promise<SystemSession> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const name = opts.platform ?? 'qemu-aarch64-virt';
  const p = await loadPlatform(name);
  const disks = prepareDisks(p, opts.disks).map((d) => ({
    ...d,
    ...(opts.diskFaults?.[d.name] ? { blkdebug: opts.diskFaults[d.name] } : {}),
    ...(opts.diskAio ? { aio: opts.diskAio } : {}),
  }));
  for (const d of disks) log(`[system] passthrough disk ${d.name}: ${d.file}`);
  const baoImage = opts.baoImage ?? process.env.BAO_IMAGE;
  if (baoImage) return bootUnderBao(p, baoImage, disks, opts, log);
  log('[system] building the baojs firmware');
  const elf = opts.firmwareElf ?? (await buildFirmware({ platform: name, quiet: true })).elf;
  log('[system] building the Linux frontend (cached after the first time)');
  const arch = frontendArchOf(p);
  const fe = await ensureFrontend([...frontendTools(arch), ...(opts.initramfsExtra ?? [])], arch);
  const O = FRONTEND_LOAD_OFFSETS;
  const outDir = join(ROOT, 'build', 'system');
  mkdirSync(outDir, { recursive: true });
  const earlycon = monitorEarlycon(p);
  const blobs: Blob[] = [];
  // each frontend: the kernel, its initramfs and its own device tree at its own RAM
  const images = frontendsOf(p).map((vm, i): GuestImage | undefined => {
    if (i > 0 && opts.firstFrontendOnly) return undefined;
    const ram = vm.ram.base;
    const extra = i === 0 ? opts.bootargs : opts.otherBootargs?.[i - 1];
    const bootargs = [opts.earlycon ? earlycon : '', 'console=hvc0', frontendIdentityArgs(p, i), extra ?? ''].join(' ').replace(/ +/g, ' ').trim();
    const dtb = buildFrontendDtb(p, {
      frontend: i,
      conduit: 'smc',
      bootargs,
      freshRngSeed: true,
      initrd: { base: ram + O.initrd, size: statSync(fe.initramfs).size },
    }, join(outDir, `frontend${i + 1}-${process.pid}.dtb`));
    blobs.push({ file: fe.initramfs, addr: ram + O.initrd }, { file: dtb, addr: ram + O.dtb });
    return { file: fe.image, addr: ram + O.kernel, x0: ram + O.dtb };
  });
  const args = await monitorQemuArgs({
    platform: p.name,
    frontend: images[0]!,
    otherFrontends: images.slice(1),
    backend: { file: elf },
    blobs,
    disks,
    uplinks: opts.uplinks,
    extra: [...(opts.icount ? ['-icount', opts.icount] : []), ...(opts.qemuArgs ?? [])],
  });
  log(`[system] ${qemuProgram(undefined, p.machine.arch)} ${args.join(' ')}`);
  const session = new QemuProcess({
    name: 'system', args, arch: p.machine.arch, timeoutMs: opts.timeoutMs, onOutput: opts.onOutput, logFile: opts.logFile, timeoutProbe: STATS_PROBE,
  });
  return waitForShell(session, disks, opts, opts.firstFrontendOnly ? 0 : (p.otherFrontends ?? []).length);
}

/**
 * The kernel arguments that mirror a frontend's kernel log on the monitor's
 * debug UART from the first instruction: a PL011 on aarch64, an ns16550 on
 * riscv64 (monitor-only; there is no such UART under Bao).
 */
export function monitorEarlycon(p: Platform): string {
  const at = `0x${monitorLayout(p).debugUart.base.toString(16)}`;
  return `${p.machine.arch === 'riscv64' ? `earlycon=uart8250,mmio,${at}` : `earlycon=pl011,mmio32,${at}`} keep_bootcon`;
}

/**
 * Resolves once the frontend's shell is ready on `session`, and then, one
 * after the other through their consoles (`Ctrl-] n`), the shells of the
 * `others` other frontends; frontend 1's console is bridged again at the end.
 * @throws DiskImageError (one line naming the file) when QEMU ended because
 *   another run holds a disk image; the wait's own error otherwise
 */
async function waitForShell(session: ConsoleSession, disks: DiskImage[], opts: SystemOptions, others: number): Promise<SystemSession> {
  try {
    await session.waitFor(/baojs-frontend: ready|Failed to get "write" lock/, opts.readyTimeoutMs ?? 120_000);
  } catch (e) {
    throw lockError(session.output, disks) ?? e;
  }
  const locked = lockError(session.output, disks);
  if (locked) {
    await session.close(5_000);
    throw locked;
  }
  // The shell prints its prompt after the ready line; wait for it so the first command is not typed into init.
  await session.waitFor(/# /, 30_000);
  // the other frontends' shells too, each through its console, then frontend 1's console again
  if (others > 0) {
    for (let n = 2; n <= others + 1; n++) {
      await session.switchConsole(n);
      await session.waitFor(/baojs-frontend: ready/, opts.readyTimeoutMs ?? 120_000);
      await session.waitFor(/# /, 30_000);
    }
    await session.switchConsole(1);
  }
  return session;
}

/**
 * The same system under a user-built Bao instead of the monitor: Bao is
 * started by qemu/bao/run.ts (which explains a Bao that stays silent), then
 * the session is the same Linux shell on hvc0. Under Bao a VM cannot power
 * the machine off: {@link ConsoleSession.close} ends QEMU by its PID.
 */
async function bootUnderBao(p: Platform, image: string, disks: DiskImage[], opts: SystemOptions, log: (line: string) => void): Promise<SystemSession> {
  log(`[system] booting Bao image ${image}`);
  if (existsSync(image)) {
    const { bin } = await buildFirmware({ platform: p.name, quiet: true });
    if (!embedsImage(image, bin)) {
      log(`[system] warning: ${image} does not contain this tree's ${relative(process.cwd(), bin)}: it runs the firmware it was built with; rebuild Bao to run this one (docs/bao.md)`);
    }
  }
  let q;
  try {
    q = await startBao({
      image, platform: p, icount: opts.icount, qemuArgs: [...diskQemuArgs(p, disks, opts.uplinks), ...(opts.qemuArgs ?? [])], timeoutMs: opts.timeoutMs,
      onOutput: opts.onOutput, logFile: opts.logFile, timeoutProbe: STATS_PROBE,
    });
  } catch (e) {
    throw (e instanceof BaoBootError ? lockError(e.output, disks) : null) ?? e;
  }
  return waitForShell(q, disks, opts, (p.otherFrontends ?? []).length);
}

/** A DiskImageError when `output` shows QEMU refusing a locked disk image of `disks`, else null. */
function lockError(output: string, disks: DiskImage[]): DiskImageError | null {
  const problem = diskLockProblem(output, disks);
  return problem ? new DiskImageError(problem, disks[0]?.file ?? '') : null;
}

/**
 * Whether the Bao image `image` holds the firmware image `bin` byte for
 * byte: Bao's configuration includes each VM's image verbatim
 * (`VM_IMAGE`, an `.incbin`), so a Bao built before the last firmware
 * change does not.
 */
export function embedsImage(image: string, bin: string): boolean {
  return readFileSync(image).includes(readFileSync(bin));
}

/** The hvc0 console's escape byte (Ctrl-]) that starts a baojs console command (see src/main.ts). */
export const CONSOLE_ESCAPE = '\x1d';

/**
 * Switches one of the backend's C paths `to` 'on' or 'off' with its console
 * command (a toggle; src/main.ts) and checks where it went: 'data' is
 * Ctrl-] d, the data plane with the interrupt registers and the register
 * shadow (off: every request and register access through JS); 'queue' is
 * Ctrl-] q, the block data plane's serving of queues only (off: every
 * block request through the TypeScript device, as any TypeScript device).
 * @throws when the notice does not come within `timeoutMs`, or says the other state
 */
export async function switchPlane(s: ConsoleSession, plane: 'data' | 'queue', to: 'on' | 'off', timeoutMs = 30_000): Promise<void> {
  s.send(`${CONSOLE_ESCAPE}${plane === 'data' ? 'd' : 'q'}`);
  const m = await s.waitFor(new RegExp(`baojs: ${plane} plane (on|off) \\(\\d+ devices\\)`), timeoutMs);
  if (m[1] !== to) throw new Error(`the ${plane} plane went ${m[1]}, expected ${to}`);
}
