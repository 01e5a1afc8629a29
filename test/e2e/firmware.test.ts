// SPDX-License-Identifier: Apache-2.0
/**
 * The real firmware image on QEMU (no hypervisor below): the product image
 * boots, prints its ready line and passes its self-test; a JS workload gives
 * the same results on the target as on Node; an exception and an
 * out-of-memory in JS are reported and the firmware keeps running.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildFirmware } from '../../scripts/build.ts';
import { bareFirmwareArgs, QemuProcess, runQemu, type QemuResult } from '../../qemu/qemu.ts';
import { loadPlatform } from '../../scripts/gen-platform.ts';
import { embedsImage } from '../../qemu/system.ts';
import { generate, sha256, workload } from './targets/workload.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Builds `entry` (default: the product image) for `platform` and boots it
 * alone. `icount`: guest time counts instructions (qemu.ts
 * bareFirmwareArgs), for every run whose checks depend on guest time, so
 * that they hold on a loaded host; a run that only waits for an event (an
 * exception, the watchdog) runs without it.
 */
async function boot(entry?: string, name = 'product', platform = 'qemu-aarch64-virt', opts: { icount?: boolean } = {}): Promise<QemuResult> {
  const { elf } = await buildFirmware({
    platform,
    entry,
    outDir: entry ? join(ROOT, 'build', 'test', name) : undefined,
    quiet: true,
  });
  return run(elf, platform, opts);
}

/** Boots the image `elf` alone on `platform`'s machine (see {@link boot}). */
async function run(elf: string, platform = 'qemu-aarch64-virt', opts: { icount?: boolean } = {}): Promise<QemuResult> {
  const { machine } = await loadPlatform(platform);
  const r = await runQemu({ args: bareFirmwareArgs(elf, machine, { icount: opts.icount }), arch: machine.arch, timeoutMs: 120_000 });
  assert.not.ok(r.timedOut, `QEMU hit its time limit:\n${r.output}`);
  return r;
}

/**
 * The product image's start on `arch`: the ready line (QuickJS's pinned
 * version, more than 1 MiB of heap free, a plausible boot time), every
 * self-test check, firmware exit status 0.
 */
function assertReady(output: string, firmwareExit: number | null, arch: 'aarch64' | 'riscv64'): void {
  const m = new RegExp(`^baojs (\\S+) ready: quickjs (\\S+), ${arch}, heap (\\d+) KiB free, boot (\\d+(?:\\.\\d+)?) ms$`, 'm').exec(output);
  assert.ok(m, `no ready line in:\n${output}`);
  assert.is(m[2], '2025-04-26');
  assert.ok(Number(m[3]) > 1024, 'more than 1 MiB of heap free after start-up');
  assert.ok(Number(m[4]) > 0 && Number(m[4]) < 5000, `boot time ${m[4]} ms is plausible`);
  for (const check of ['clock', 'region', 'timer']) {
    assert.match(output, new RegExp(`^baojs: self-test ${check}: ok`, 'm'));
  }
  assert.is(firmwareExit, 0);
}

test('the product image boots, prints the ready line, passes its self-test and powers off with status 0', async () => {
  const r = await boot(undefined, 'product', 'qemu-aarch64-virt', { icount: true });
  assertReady(r.output, r.firmwareExit, 'aarch64');
  assert.is(r.qemuStatus, 0, 'QEMU ended by PSCI SYSTEM_OFF');
});

test('a JS workload computes on the target what Node computes', async () => {
  const r = await boot('test/e2e/targets/compute.ts', 'compute', 'qemu-aarch64-virt', { icount: true });
  const line = /^RESULT (.*)$/m.exec(r.output);
  assert.ok(line, `no RESULT line in:\n${r.output}`);
  const onTarget = JSON.parse(line[1]) as Record<string, unknown>;
  const onNode = await workload((ms) => new Promise((res) => setTimeout(res, ms)));
  assert.equal(onTarget, onNode);
  // And the SHA-256 agrees with an independent implementation.
  const expected = createHash('sha256').update(generate(32 * 1024, 0xbada55)).digest('hex');
  assert.is(onTarget.sha256, expected);
  assert.is(sha256(new Uint8Array(0)), createHash('sha256').update(new Uint8Array(0)).digest('hex'));
  assert.is(onTarget.promiseOrder, 'abc');
  assert.is(r.firmwareExit, 0);
});

test('an exception and an unhandled rejection are reported with a stack, and the firmware stays alive', async () => {
  const r = await boot('test/e2e/targets/throw.ts', 'throw');
  assert.match(r.output, /^baojs: uncaught exception in callback: Error: boom from a timer$/m);
  assert.match(r.output, /at deepest/);
  assert.match(r.output, /^baojs: unhandled promise rejection: TypeError: nobody catches this$/m);
  assert.match(r.output, /^still alive after the exceptions$/m);
  assert.is(r.firmwareExit, 0);
});

test('exhausting the JS heap prints a clear out-of-memory line, and the firmware stays alive', async () => {
  const r = await boot('test/e2e/targets/oom.ts', 'oom');
  assert.match(r.output, /^baojs: out of memory in callback: JS heap limit \d+ KiB reached/m);
  const alive = /^alive after out-of-memory, heap used (\d+) KiB of (\d+) KiB$/m.exec(r.output);
  assert.ok(alive, `no sign of life after out-of-memory:\n${r.output}`);
  assert.ok(Number(alive[1]) < Number(alive[2]) / 2, 'the hoard was freed');
  assert.is(r.firmwareExit, 0);
});

test('a runaway recursion hits the stack limit and an endless loop the watchdog; both are reported and the firmware stays alive', async () => {
  const r = await boot('test/e2e/targets/limits.ts', 'limits');
  assert.match(r.output, /^baojs: uncaught exception in callback: InternalError: stack overflow$/m);
  assert.match(r.output, /^ {4}\.\.\. \d+ more frames$/m, 'a runaway stack is cut short');
  assert.match(r.output, /^baojs: watchdog: a call into JS \(callback\) ran longer than \d+ ms and was stopped$/m);
  assert.match(r.output, /^alive after the stack overflow and the endless loop$/m);
  assert.is(r.firmwareExit, 0);
});

test('timers that fall due together run earliest deadline first; an interval keeps firing', async () => {
  const r = await boot('test/e2e/targets/timers.ts', 'timers', 'qemu-aarch64-virt', { icount: true });
  const m = /^timer order (\w+), interval ticks (\d+)$/m.exec(r.output);
  assert.ok(m, r.output);
  assert.is(m[1], 'abc');
  // 10 ms interval: one late tick when the 60 ms call ends, then one per period until the report
  // 100 ms later (the interval restarts from each tick, so 10 or 11 in guest time).
  assert.ok(Number(m[2]) >= 10 && Number(m[2]) <= 11, `${m[2]} interval ticks in 100 ms`);
  assert.is(r.firmwareExit, 0);
});

test('the build never hands out a stale image: other inputs or a replaced file are rebuilt, same inputs reused', async () => {
  const outDir = join(ROOT, 'build', 'test', 'freshness');
  const build = (entry: string) => buildFirmware({ entry, outDir, quiet: true });
  const first = await build('test/e2e/targets/throw.ts');
  assert.match((await run(first.elf)).output, /^still alive after the exceptions$/m);
  const throwImage = readFileSync(first.elf);
  const throwBin = readFileSync(first.bin);
  const mtime = statSync(first.elf).mtimeMs;
  assert.is(statSync((await build('test/e2e/targets/throw.ts')).elf).mtimeMs, mtime, 'same inputs: the image is reused');
  // other inputs, as after an edit: the image in the directory is not theirs
  const second = await build('test/e2e/targets/timers.ts');
  assert.match((await run(second.elf)).output, /^timer order \w+, interval ticks \d+$/m);
  // an image put in place by other means (an older build, a copy): its bytes are not what the build recorded
  writeFileSync(second.elf, throwImage);
  const third = await build('test/e2e/targets/timers.ts');
  assert.not.ok(readFileSync(third.elf).equals(throwImage), 'the replaced image was handed out');
  assert.match((await run(third.elf)).output, /^timer order \w+, interval ticks \d+$/m);
  // Under Bao the firmware comes inside the user's Bao image: the runner checks it holds this build's bytes.
  const bao = join(outDir, 'bao.bin');
  writeFileSync(bao, Buffer.concat([Buffer.alloc(4096, 0xaa), readFileSync(third.bin), Buffer.alloc(4096, 0x55)]));
  assert.ok(embedsImage(bao, third.bin), 'a Bao image with this build inside');
  writeFileSync(bao, Buffer.concat([Buffer.alloc(4096, 0xaa), throwBin, Buffer.alloc(4096, 0x55)]));
  assert.not.ok(embedsImage(bao, third.bin), 'a Bao image with another build inside');
});

for (const platform of ['qemu-aarch64-virt', 'qemu-riscv64-virt']) {
  test(`${platform}: the host module checks its inputs: MMIO only inside device regions, known regions and INTIDs, no hypercall without a hypervisor, copies and console writes only inside their views, a direct range and an interrupt function only for a served DM`, async () => {
    const r = await boot('test/e2e/targets/host.ts', platform === 'qemu-aarch64-virt' ? 'host' : `host-${platform}`, platform);
    const checks = [...r.output.matchAll(/^CHECK (\S+) (ok|FAIL) (.*)$/gm)];
    assert.is(checks.length, 30, r.output);
    for (const c of checks) assert.is(c[2], 'ok', `${c[1]}: ${c[3]}`);
    assert.is(r.firmwareExit, 0);
  });
}

for (const [platform, what] of [
  ['qemu-aarch64-virt-gicv2', 'QEMU virt with a GICv2 (distributor + memory-mapped CPU interface)'],
  ['zcu102', "QEMU's ZCU102 model (Cadence UART, GIC-400, RAM at 0)"],
]) {
  test(`the ${platform} build boots on ${what}; its timer interrupt fires`, async () => {
    const r = await boot(undefined, platform, platform, { icount: true });
    assert.match(r.output, /^baojs \S+ ready: quickjs 2025-04-26, aarch64/m);
    assert.match(r.output, /^baojs: self-test timer: ok/m);
    assert.match(r.output, /^baojs: self-test region: ok/m);
    assert.is(r.firmwareExit, 0);
  });
}

// riscv64: the same sources and the same bundle, on qemu-system-riscv64 -M virt with QEMU's OpenSBI in M-mode.
test('the qemu-riscv64-virt build boots in S-mode below OpenSBI, prints the ready line, passes its self-test and powers off (SBI system reset)', async () => {
  const r = await boot(undefined, 'qemu-riscv64-virt', 'qemu-riscv64-virt', { icount: true });
  assert.match(r.output, /^OpenSBI v\d/m, 'OpenSBI ran below the firmware');
  assertReady(r.output, r.firmwareExit, 'riscv64');
  assert.match(r.output, /^baojs: no hypervisor below: no device to serve; self-test passed$/m);
  assert.is(r.qemuStatus, 0, 'QEMU ended by SBI system reset');
});

test('riscv64: a JS workload computes what Node computes; a runaway recursion and an endless loop are stopped', async () => {
  const r = await boot('test/e2e/targets/compute.ts', 'compute-riscv64', 'qemu-riscv64-virt', { icount: true });
  const line = /^RESULT (.*)$/m.exec(r.output);
  assert.ok(line, `no RESULT line in:\n${r.output}`);
  assert.equal(JSON.parse(line[1]), await workload((ms) => new Promise((res) => setTimeout(res, ms))));
  assert.is(r.firmwareExit, 0);
  const l = await boot('test/e2e/targets/limits.ts', 'limits-riscv64', 'qemu-riscv64-virt');
  assert.match(l.output, /^baojs: uncaught exception in callback: InternalError: stack overflow$/m);
  assert.match(l.output, /^baojs: watchdog: a call into JS \(callback\) ran longer than \d+ ms and was stopped$/m);
  assert.match(l.output, /^alive after the stack overflow and the endless loop$/m);
  assert.is(l.firmwareExit, 0);
});

test('riscv64: an unexpected trap is reported with its cause and a register dump, then the firmware powers off with status 1', async () => {
  const r = await boot('test/e2e/targets/fault.ts', 'fault-riscv64', 'qemu-riscv64-virt');
  assert.match(r.output, /^FAULT NEXT$/m);
  assert.match(r.output, /^baojs: unexpected exception: scause 0x0000000000000005 \(load access fault\), stval 0x0000000010000018$/m);
  assert.match(r.output, /^ {2}sepc 0x[0-9a-f]{16} {2}sstatus 0x[0-9a-f]{16}$/m);
  assert.match(r.output, /^ {2}ra {3}0x[0-9a-f]{16} {2}sp {3}0x[0-9a-f]{16}$/m);
  assert.match(r.output, /^ {2}t6 {3}0x[0-9a-f]{16}$/m);
  assert.not.match(r.output, /^no fault$/m);
  assert.is(r.firmwareExit, 1);
  assert.is(r.qemuStatus, 0, 'QEMU ended by SBI system reset');
});

for (const platform of ['qemu-aarch64-virt', 'qemu-riscv64-virt']) {
  test(`${platform}: typed lines reach JS through the UART's receive interrupt`, async () => {
    const { elf } = await buildFirmware({ platform, entry: 'test/e2e/targets/echo.ts', outDir: join(ROOT, 'build', 'test', `echo-${platform}`), quiet: true });
    const { machine } = await loadPlatform(platform);
    const q = new QemuProcess({ args: bareFirmwareArgs(elf, machine), arch: machine.arch, timeoutMs: 60_000 });
    try {
      await q.waitFor(/^ECHO READY\r?$/m, 30_000);
      q.send('hello from the host\r');
      await q.waitFor(/^ECHO hello from the host\r?$/m, 10_000);
      q.send('quit\r');
    } catch (e) {
      q.kill();
      throw e;
    }
    const r = await q.result;
    assert.match(r.output, /^ECHO quit$/m);
    assert.is(r.firmwareExit, 0, r.output);
  });
}

test.run();
