// SPDX-License-Identifier: Apache-2.0
/**
 * Tests of the remio test monitor under QEMU: the bare-metal conformance
 * frontend against the C test backend (every TAP line from both VMs counts
 * as a test), the fatal paths (an access Bao cannot decode, an unmapped
 * access), the baojs firmware as the backend of the conformance frontend,
 * and Linux as the frontend of the baojs firmware; on riscv64 the same
 * conformance frontend and C test backend (built for riscv64) with their
 * fatal paths, and the probe frontend against the baojs firmware.
 *
 * The bare-metal runs measure guest time (the frontend gives each
 * interrupt a limit in virtual-counter time): they run under
 * `-icount shift=0,sleep=off`, so that time counts guest instructions and
 * host load cannot stretch it. The Linux run asserts only what the
 * frontend printed, with a wall-clock limit.
 *
 * Usage: `node --import tsx qemu/monitor/test/run.ts`. Prints
 * `N passed, N failed, N skipped` and exits non-zero on any failure.
 * Environment: MONITOR_TEST_LINUX=0 skips the Linux run (its checks are
 * reported and counted as skipped); BAOJS_FIRMWARE=<elf> runs that image
 * instead of this tree's build (said on the output).
 */
import { statSync } from 'node:fs';
import { runQemu as runQemuProcess } from '../../qemu.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFirmware } from '../../../scripts/build.ts';
import { ensureRiscvProbe, ensureTestGuests } from '../build.ts';
import { monitorQemuArgs, type MonitorRun } from '../launch.ts';
import { prepareDisks, temporaryDisks, type DiskImage } from '../../disks.ts';
import { loadPlatform } from '../../../scripts/gen-platform.ts';
import { PLATFORM } from '../build.ts';

/** Result of one QEMU run. */
interface QemuResult {
  /** console output (CR removed) */
  out: string;
  /** true if the run hit its time limit and was killed */
  timedOut: boolean;
}

/** Runs QEMU for `arch` with `args` until it exits or `timeoutMs` passes (then kills it by its PID). */
async function runQemu(args: string[], timeoutMs: number, arch: 'aarch64' | 'riscv64' = 'aarch64'): Promise<QemuResult> {
  const r = await runQemuProcess({ args, timeoutMs, arch });
  return { out: r.output, timedOut: r.timedOut };
}

/** Temporary images of the platform's passthrough disks, made on first use, removed at exit. */
const scratchDisks = new Map<string, { disks: Record<string, string>; remove(): void }>();

/** The passthrough devices for a run with the baojs firmware, which drives them at start (qemu/disks.ts). */
async function passthroughDisks(platform = PLATFORM): Promise<DiskImage[]> {
  const p = await loadPlatform(platform);
  let scratch = scratchDisks.get(platform);
  if (!scratch) {
    scratch = temporaryDisks(p);
    scratchDisks.set(platform, scratch);
  }
  return prepareDisks(p, scratch.disks);
}

/** Guest time as a count of instructions (1 ns each), never waiting for the host: for the runs whose checks measure guest time. */
const ICOUNT = ['-icount', 'shift=0,sleep=off'];

/** The monitor's QEMU arguments for `run` under {@link ICOUNT}. */
const icountArgs = async (run: MonitorRun): Promise<string[]> => monitorQemuArgs({ ...run, extra: [...(run.extra ?? []), ...ICOUNT] });

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let passed = 0;
let failed = 0;
let skipped = 0;

/** Records one test result and prints it. */
function report(ok: boolean, name: string, detail = ''): void {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${ok || !detail ? '' : `\n${detail}`}`);
}

/**
 * Whether `pieces` appear in `out` in order, allowing a few foreign runs of
 * characters inside and between them: at most `slack` foreign characters in
 * all and the text cut into at most `maxRuns` runs (so that scattered
 * letters of unrelated lines cannot match). The monitor writes a frontend's
 * lines whole, but the backend owns the same UART and writes to it
 * directly, so a frontend line printed while the backend starts can carry
 * one of the backend's lines inside it. Exact matches take the fast path.
 */
function seenThroughBackend(out: string, pieces: string[], slack = 1024, maxRuns = 12): boolean {
  if (pieces.length === 1 && out.includes(pieces[0])) return true;
  const text = pieces.join('\u0000'); // NUL: any run of characters between two pieces
  for (let start = out.indexOf(text[0]); start >= 0; start = out.indexOf(text[0], start + 1)) {
    let i = start;
    let k = 0;
    let runs = 1;
    let inRun = true;
    while (k < text.length && i < out.length && i - start - k <= slack && runs <= maxRuns) {
      if (text[k] === '\u0000') {
        k++;
        inRun = false;
      } else if (out[i++] === text[k]) {
        k++;
        if (!inRun) runs++;
        inRun = true;
      } else {
        inRun = false;
      }
    }
    if (k === text.length && runs <= maxRuns) return true;
  }
  return false;
}

/** Records checks that did not run, and why (TAP's SKIP directive). */
function skip(names: string[], why: string): void {
  skipped += names.length;
  for (const name of names) console.log(`ok - ${name} # SKIP ${why}`);
}

let firmware: Promise<string> | undefined;
/** The baojs firmware image: $BAOJS_FIRMWARE, else this tree's build (rebuilt unless built from the same inputs). */
function firmwareElf(): Promise<string> {
  firmware ??= process.env.BAOJS_FIRMWARE
    ? Promise.resolve(process.env.BAOJS_FIRMWARE).then((elf) => {
      console.log(`# baojs firmware: ${elf} (BAOJS_FIRMWARE)`);
      return elf;
    })
    : buildFirmware({ platform: PLATFORM, quiet: true }).then((r) => r.elf);
  return firmware;
}

/** The last lines of `out`, for failure reports. */
const tail = (out: string, n = 25): string => out.trimEnd().split('\n').slice(-n).map((l) => `    ${l}`).join('\n');

/** Counts the TAP lines the guests printed as tests of their own. */
function countGuestTap(out: string, prefix: string): void {
  for (const line of out.split('\n')) {
    const m = /^(?:\w+: )?(ok|not ok) - (.*)$/.exec(line);
    if (m) report(m[1] === 'ok', `${prefix}: ${m[2]}`);
  }
}

/** The conformance frontend against the C test backend. */
async function testConformance(guests: { frontend: string; backend: string }): Promise<void> {
  const run: MonitorRun = { frontend: { file: guests.frontend, x0: 0 }, backend: { file: guests.backend } };
  const r = await runQemu(await icountArgs(run), 60_000);
  countGuestTap(r.out, 'conformance');
  const summary = /frontend: (\d+) passed, (\d+) failed/.exec(r.out);
  report(!r.timedOut && !!summary && summary[2] === '0' && Number(summary[1]) > 50,
    'conformance frontend ran to its summary with no failures', tail(r.out));
  report(/monitor: vm \S+ SYSTEM_OFF/.test(r.out), 'SYSTEM_OFF from the frontend ends the run with a status line', tail(r.out));
  const rt = /remio round trip: (\d+) ns/.exec(r.out);
  if (rt) console.log(`# remio round trip (C test backend, -icount shift=0): ${rt[1]} ns of guest time, one instruction each`);
}

/** An LDP on a window (ISV = 0) ends the run with a message naming the address and instruction. */
async function testLdp(guests: { frontend: string; backend: string }, window: number): Promise<void> {
  const run: MonitorRun = { frontend: { file: guests.frontend, x0: 1 }, backend: { file: guests.backend } };
  const r = await runQemu(await icountArgs(run), 30_000);
  // The backend writes to the same UART meanwhile: allow its text inside the monitor's line, even inside "(instruction …)".
  const re = new RegExp(`FATAL: access to ${window.toString(16)}[\\s\\S]{0,4000}?\\(instruction [\\s\\S]{0,4000}?a9[0-9a-f]{6}\\)[\\s\\S]{0,4000}?has no valid syndrome`);
  report(!r.timedOut && re.test(r.out), 'an LDP on a window ends the run naming the address and the instruction', tail(r.out));
  report(!/not ok - LDP/.test(r.out), 'the frontend does not continue past the LDP', tail(r.out));
}

/** An access to an address nothing maps (the backend's RAM) is reported with the VM's registers. */
async function testUnmapped(guests: { frontend: string; backend: string }, addr: number): Promise<void> {
  const run: MonitorRun = { frontend: { file: guests.frontend, x0: 2 }, backend: { file: guests.backend } };
  const r = await runQemu(await icountArgs(run), 30_000);
  const re = new RegExp(`FATAL: read of 4 bytes at[\\s\\S]{0,4000}?unmapped address ${addr.toString(16)}`);
  report(!r.timedOut && re.test(r.out) && /registers: pc/.test(r.out),
    'a frontend load from the backend\'s RAM is refused and reported with registers', tail(r.out));
}

/**
 * The page of a device passed through to the backend is mapped in the
 * backend only (the C test backend reads its MagicValue among its start-up
 * checks): a frontend load from it is refused like any unmapped address.
 */
async function testPassthroughHidden(guests: { frontend: string; backend: string }, addr: number): Promise<void> {
  const run: MonitorRun = { frontend: { file: guests.frontend, x0: 5 }, backend: { file: guests.backend } };
  const r = await runQemu(await icountArgs(run), 30_000);
  const re = new RegExp(`FATAL: read of 4 bytes at[\\s\\S]{0,4000}?unmapped address ${addr.toString(16)}`);
  report(!r.timedOut && re.test(r.out), 'a frontend load from the backend\'s passthrough device is refused as unmapped', tail(r.out));
  report(/backend: \d+ start-up checks, 0 failed/.test(r.out) && !/not ok - backend: the passthrough/.test(r.out),
    'the backend read the passthrough device\'s MagicValue meanwhile', tail(r.out));
}

/** The baojs firmware ({@link firmwareElf}) as the backend, driven by the conformance frontend's virtio-mmio mode. */
async function testFirmware(guests: { frontend: string; backend: string }): Promise<void> {
  const run: MonitorRun = { frontend: { file: guests.frontend, x0: 3 }, backend: { file: await firmwareElf() }, disks: await passthroughDisks() };
  const r = await runQemu(await icountArgs(run), 90_000);
  countGuestTap(r.out, 'baojs');
  const summary = /frontend: (\d+) passed, (\d+) failed/.exec(r.out);
  report(!r.timedOut && !!summary && summary[2] === '0', 'virtio conformance against the baojs firmware ran to its summary', tail(r.out));
  report(/baojs \S+ ready/.test(r.out), 'the baojs firmware reports ready under the monitor', tail(r.out));
  const rt = /round trip with the baojs firmware: (\d+) ns/.exec(r.out);
  if (rt) console.log(`# remio round trip (baojs firmware, -icount shift=0): ${rt[1]} ns of guest time, one instruction each`);
}

/** The checks of {@link testLinux} on each architecture, in order. */
const LINUX_CHECKS: Record<'aarch64' | 'riscv64', string[]> = {
  aarch64: [
    'linux: GICv3 driver finds the emulated redistributor',
    'linux: virtio-blk vda probed through the monitor',
    'linux: init runs (hvc0 served by baojs)',
    'linux: poweroff reaches the monitor',
  ],
  riscv64: [
    'linux riscv64: the PLIC driver takes the virtual PLIC',
    'linux riscv64: virtio-blk vda probed through the monitor',
    'linux riscv64: init runs (hvc0 served by baojs)',
    'linux riscv64: poweroff (SBI SRST) reaches the monitor',
  ],
};

/**
 * Linux as the frontend (kernel, initramfs and device tree from
 * qemu/frontend, built by `npm test`'s build step or on first use) with the
 * baojs firmware as the backend: boots to init, sees the disks, and powers
 * off (PSCI on aarch64, SBI SRST on riscv64). About 10 s of wall time on
 * aarch64, a minute on riscv64.
 */
async function testLinux(arch: 'aarch64' | 'riscv64'): Promise<void> {
  const { ensureFrontend } = await import('../../frontend/build.ts');
  const { buildFrontendDtb } = await import('../../frontend/dts.ts');
  const { FRONTEND_LOAD_OFFSETS: O } = await import('../../frontend/standalone.ts');
  const { monitorEarlycon } = await import('../../system.ts');
  const platform = arch === 'riscv64' ? RISCV_PLATFORM : PLATFORM;
  const p = await loadPlatform(platform);
  const a = await ensureFrontend(undefined, arch === 'riscv64' ? 'riscv64' : 'arm64');
  const ram = p.frontend.ram.base;
  const dtb = buildFrontendDtb(p, {
    conduit: 'smc',
    bootargs: `${monitorEarlycon(p)} console=hvc0 baojs.run=/dev/null baojs.poweroff=1`,
    freshRngSeed: true,
    initrd: { base: ram + O.initrd, size: statSync(a.initramfs).size },
  }, join(root, 'build', 'monitor-test', `frontend-${arch}.dtb`));
  const elf = arch === 'riscv64' ? await riscvFirmwareElf() : await firmwareElf();
  const r = await runQemu(await monitorQemuArgs({
    platform,
    frontend: { file: a.image, addr: ram + O.kernel, x0: ram + O.dtb },
    backend: { file: elf },
    blobs: [{ file: a.initramfs, addr: ram + O.initrd }, { file: dtb, addr: ram + O.dtb }],
    disks: await passthroughDisks(platform),
  }), arch === 'riscv64' ? 300_000 : 120_000, arch);
  const [gic, vda, init, off] = LINUX_CHECKS[arch];
  const irqc = arch === 'riscv64' ? ['plic: interrupt-controller@', ': mapped ', ' interrupts with 1 handlers for 2 contexts'] : ['GICv3: CPU0: found redistributor 0 '];
  report(seenThroughBackend(r.out, irqc), gic, tail(r.out));
  report(/virtio_blk virtio\d+: \[vda\]/.test(r.out), vda, tail(r.out));
  report(/baojs-frontend: ready/.test(r.out), init, tail(r.out));
  report(!r.timedOut && /monitor: vm \S+ SYSTEM_OFF/.test(r.out), off, tail(r.out));
}

/** The riscv64 platform of the monitor's riscv64 form. */
const RISCV_PLATFORM = 'qemu-riscv64-virt';

let riscvFirmware: Promise<string> | undefined;
/** The baojs firmware built for {@link RISCV_PLATFORM}. */
function riscvFirmwareElf(): Promise<string> {
  riscvFirmware ??= buildFirmware({ platform: RISCV_PLATFORM, quiet: true }).then((r) => r.elf);
  return riscvFirmware;
}

/** Fewest TAP checks the riscv64 conformance frontend's summary may report (it has 99: 64 plus 5 per device). */
const RISCV_CONFORMANCE_MIN_CHECKS = 90;

/**
 * The monitor's riscv64 form (HS-mode below QEMU's OpenSBI, the backend on
 * hart 0, the frontend on hart 1) with the riscv64 builds of the C test
 * backend and the conformance frontend (test/guest, test/guest/riscv64):
 * mode 0 runs the conformance checks (every access width and the load and
 * store forms Bao decodes, the completion edge cases, NOTIFY through the
 * virtual PLIC, the SBI timer, BASE, HSM and IPI), the TAP lines of both
 * VMs counting as tests and the frontend's summary required with no
 * failures and at least {@link RISCV_CONFORMANCE_MIN_CHECKS} checks; mode 1
 * issues a c.ld on a window (fatal, naming the address and the
 * instruction); mode 2 loads from the backend's RAM (fatal, unmapped).
 * Under -icount, like the aarch64 runs.
 */
async function testRiscvConformance(): Promise<void> {
  const p = await loadPlatform(RISCV_PLATFORM);
  const guests = await ensureTestGuests(RISCV_PLATFORM);
  const run = (mode: number): Promise<QemuResult> => icountArgs({ platform: RISCV_PLATFORM, frontend: { file: guests.frontend, x0: mode }, backend: { file: guests.backend } })
    .then((args) => runQemu(args, 60_000, 'riscv64'));
  const r = await run(0);
  countGuestTap(r.out, 'riscv64 conformance');
  const summary = /frontend: (\d+) passed, (\d+) failed/.exec(r.out);
  report(!r.timedOut && !!summary && summary[2] === '0' && Number(summary[1]) >= RISCV_CONFORMANCE_MIN_CHECKS,
    'riscv64: conformance frontend ran to its summary with no failures', tail(r.out));
  report(/backend: \d+ start-up checks, 0 failed/.test(r.out), 'riscv64: the C test backend\'s start-up checks passed', tail(r.out));
  report(/monitor: vm \S+ SYSTEM_OFF/.test(r.out), 'riscv64: SBI SRST from the conformance frontend ends the run with a status line', tail(r.out));
  const rt = /remio round trip: (\d+) ns/.exec(r.out);
  if (rt) console.log(`# riscv64 remio round trip (C test backend, -icount shift=0): ${rt[1]} ns of guest time, one instruction each`);
  const window = p.devices[0].window.base.toString(16);
  const cld = await run(1);
  report(!cld.timedOut && new RegExp(`FATAL: access to ${window} at pc [0-9a-f]+ \\(instruction 0000[0-9a-f]{4}\\) is not a load or store Bao decodes`).test(cld.out),
    'riscv64 conformance: a c.ld on a window ends the run naming the address and the instruction', tail(cld.out));
  report(!/c\.ld on a window returned/.test(cld.out), 'riscv64 conformance: the frontend does not continue past the c.ld', tail(cld.out));
  const addr = p.frontend.ram.base + p.frontend.ram.size + 0x1000;
  const un = await run(2);
  report(!un.timedOut && new RegExp(`FATAL: read of 4 bytes at unmapped address ${addr.toString(16)}`).test(un.out) && /registers: pc/.test(un.out),
    'riscv64 conformance: a load from an address the frontend does not map is refused and reported with registers', tail(un.out));
  report(!/load from an unmapped address returned/.test(un.out), 'riscv64 conformance: the frontend does not continue past the unmapped load', tail(un.out));
}

/**
 * The monitor's riscv64 form (HS-mode below QEMU's OpenSBI) with the baojs
 * firmware as the backend of the riscv64 probe frontend: mode 0 reads and
 * writes every device's virtio-mmio registers with each load and store
 * form Bao decodes (lw, lwu, c.lw, sw, c.sw) and checks the SBI answers,
 * its TAP lines counting as tests; mode 1 issues a c.ld on a window, which
 * Bao cannot decode (fatal, naming the address and the instruction); mode 2
 * loads from the backend's RAM (fatal, unmapped); mode 3 makes a 1-byte
 * load of a PLIC priority (fatal: Bao's virtual PLIC takes aligned 32-bit
 * accesses only there). Under -icount.
 */
async function testRiscvProbe(): Promise<void> {
  const p = await loadPlatform(RISCV_PLATFORM);
  const probe = await ensureRiscvProbe(RISCV_PLATFORM);
  const backend = { file: await riscvFirmwareElf() };
  const disks = await passthroughDisks(RISCV_PLATFORM);
  const run = (mode: number): Promise<QemuResult> => icountArgs({ platform: RISCV_PLATFORM, frontend: { file: probe, x0: mode }, backend, disks })
    .then((args) => runQemu(args, 60_000, 'riscv64'));
  const r = await run(0);
  countGuestTap(r.out, 'riscv64 probe');
  const summary = /probe: (\d+) passed, (\d+) failed/.exec(r.out);
  report(!r.timedOut && !!summary && summary[2] === '0' && Number(summary[1]) >= 3 * p.devices.filter((d) => (d.frontend ?? 0) === 0).length,
    'riscv64: the probe frontend ran to its summary with no failures', tail(r.out));
  report(/baojs \S+ ready: .*riscv64/.test(r.out), 'riscv64: the baojs firmware reports ready under the monitor', tail(r.out));
  report(/monitor: vm \S+ SYSTEM_OFF/.test(r.out), 'riscv64: SBI SRST shutdown from the frontend ends the run with a status line', tail(r.out));
  const window = p.devices[0].window.base.toString(16);
  const cld = await run(1);
  report(!cld.timedOut && new RegExp(`FATAL: access to ${window} at pc [0-9a-f]+ \\(instruction 0000[0-9a-f]{4}\\) is not a load or store Bao decodes`).test(cld.out),
    'riscv64: a c.ld on a window ends the run naming the address and the instruction', tail(cld.out));
  report(!/c\.ld on a window returned/.test(cld.out), 'riscv64: the frontend does not continue past the c.ld', tail(cld.out));
  const un = await run(2);
  report(!un.timedOut && new RegExp(`FATAL: read of 4 bytes at unmapped address ${p.backend.ram.base.toString(16)}`).test(un.out) && /registers: pc/.test(un.out),
    'riscv64: a frontend load from the backend\'s RAM is refused and reported with registers', tail(un.out));
  const plic = await run(3);
  report(!plic.timedOut && /a 1-byte access at PLIC offset 4, which Bao's virtual PLIC does not emulate/.test(plic.out)
    && new RegExp(`FATAL: read of 1 bytes at unmapped address ${((p.machine.plic?.base ?? 0) + 4).toString(16)}`).test(plic.out),
  'riscv64: a 1-byte load of a PLIC priority is refused as Bao\'s virtual PLIC refuses it', tail(plic.out));
  report(!/1-byte load of a PLIC priority returned/.test(plic.out), 'riscv64: the frontend does not continue past it', tail(plic.out));
}

/** Runs every test; exits non-zero on failure. */
async function main(): Promise<void> {
  const p = await loadPlatform(PLATFORM);
  const guests = await ensureTestGuests();
  await testConformance(guests);
  await testLdp(guests, p.devices[0].window.base);
  await testUnmapped(guests, p.frontend.ram.base + p.frontend.ram.size + 0x1000);
  process.on('exit', () => { for (const d of scratchDisks.values()) d.remove(); });
  const pt = p.backend.passthrough?.[0];
  if (pt) await testPassthroughHidden(guests, pt.base);
  await testFirmware(guests);
  await testRiscvConformance();
  await testRiscvProbe();
  for (const arch of ['aarch64', 'riscv64'] as const) {
    if (process.env.MONITOR_TEST_LINUX === '0') skip(LINUX_CHECKS[arch], 'MONITOR_TEST_LINUX=0');
    else await testLinux(arch);
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  for (const d of scratchDisks.values()) d.remove();
  process.exit(failed ? 1 : 0);
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  console.log(`${passed} passed, ${failed + 1} failed, ${skipped} skipped`);
  for (const d of scratchDisks.values()) d.remove();
  process.exit(1);
});
