// SPDX-License-Identifier: Apache-2.0
// The Bao runner's decisions (qemu/bao/run.ts), without Bao: what is
// refused as a Bao image, when a run is over after the frontend's power-off
// (PowerOffWatch, fed the console text and the time), that startBao stops
// QEMU by its PID at once when it is (a stand-in QEMU script plays Bao and
// the frontend), and that the message for a silent Bao names the fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BAO_CPU_ON_FIX, BaoBootError, POWEROFF_QUIET_MS, PowerOffWatch, baoImageProblem, baoQemuArgs, silentBaoMessage, silentRiscvBaoMessage, startBao,
} from '../../qemu/bao/run.ts';
import { platform as riscv } from '../../platforms/qemu-riscv64-virt.ts';

const bytes = (...parts: Array<string | number[] | Buffer>): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

test('baoImageProblem: magic numbers and Bao\'s banner', () => {
  assert.is(baoImageProblem(bytes(Buffer.alloc(8192), 'Bao Hypervisor\n\r', Buffer.alloc(100))), null);
  assert.match(baoImageProblem(bytes())!, /empty/);
  assert.match(baoImageProblem(bytes([0x7f, 0x45, 0x4c, 0x46], 'Bao Hypervisor'))!, /ELF/, 'bao.elf holds the banner too, but is an ELF');
  assert.match(baoImageProblem(bytes([0x1f, 0x8b, 8, 0], Buffer.alloc(64)))!, /gzip/);
  assert.match(baoImageProblem(bytes([0x27, 0x05, 0x19, 0x56], Buffer.alloc(64)))!, /U-Boot/);
  const linux = Buffer.alloc(0x40);
  linux.write('ARM\x64', 0x38, 'latin1');
  assert.match(baoImageProblem(linux)!, /Linux arm64 kernel Image/);
  assert.match(baoImageProblem(bytes('Bao Hypervi', Buffer.alloc(8), 'sor'))!, /banner string/);
});

test('PowerOffWatch: Linux\'s power-down line ends the run at once, even split across chunks', () => {
  const w = new PowerOffWatch();
  assert.not.ok(w.feed('frontend:/root# \x1b[6npoweroff -f\r\n', 1000));
  assert.not.ok(w.due(1000));
  assert.not.ok(w.feed('[   12.5] reboot: Power ', 1100));
  assert.ok(w.feed('down\r\n', 1101));
  assert.ok(w.due(1101));
});

test('PowerOffWatch: Bao\'s report of the unsupported SYSTEM_OFF ends the run at once', () => {
  const w = new PowerOffWatch();
  assert.ok(w.feed('BAO INFO: unknown psci smc_fid 0x84000008\r\n', 5));
  assert.ok(w.due(5));
});

test('PowerOffWatch: after a poweroff command, a quiet console ends the run; output meanwhile restarts the quiet time', () => {
  const w = new PowerOffWatch();
  w.feed('frontend:/root# poweroff -f\r\n', 0);
  assert.not.ok(w.due(POWEROFF_QUIET_MS - 1));
  w.feed('[ 3.1] sd 0:0:0:0: shutting down\r\n', 1500);
  assert.not.ok(w.due(1500 + POWEROFF_QUIET_MS - 1));
  assert.ok(w.due(1500 + POWEROFF_QUIET_MS));
});

test('PowerOffWatch: no poweroff command, or a shell back at its prompt after one: a quiet console is just a quiet console', () => {
  const idle = new PowerOffWatch();
  idle.feed('frontend:/root# ', 0);
  assert.not.ok(idle.due(60_000));
  const failed = new PowerOffWatch();
  failed.feed('frontend:/root# poweroff -x\r\n', 0);
  failed.feed('poweroff: invalid option -- \'x\'\r\nfrontend:/root# ', 10);
  assert.not.ok(failed.due(60_000), 'the shell came back: the user is still working');
  failed.feed('poweroff -f\r\n', 70_000);
  assert.not.ok(failed.due(70_000 + POWEROFF_QUIET_MS - 1));
  assert.ok(failed.due(70_000 + POWEROFF_QUIET_MS), 'a second poweroff arms it again');
  // a command that merely mentions the word is not a poweroff
  const echo = new PowerOffWatch();
  echo.feed('frontend:/root# echo poweroff\r\npoweroff\r\nfrontend:/root# ', 0);
  assert.not.ok(echo.due(60_000));
});

test('the message for a silent Bao names the one-line fix in Bao', () => {
  const m = silentBaoMessage('/nonexistent-qemu', 5000, 'bao.bin');
  assert.ok(m.includes(BAO_CPU_ON_FIX), m);
  assert.match(BAO_CPU_ON_FIX, /src\/arch\/armv8\/armv8-a\/cpu\.c/);
  assert.match(BAO_CPU_ON_FIX, /bit 31/);
  assert.match(m, /QEMU 7\.2/);
});

/** A stand-in for QEMU running Bao: prints Bao's banner and the ready lines, echoes one shell command, then `then` (sh). */
function fakeQemu(dir: string, then: string): string {
  const file = join(dir, `qemu-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, [
    '#!/bin/sh',
    'echo "Bao Hypervisor"',
    'echo "baojs 0.1.0 ready: quickjs 2025-04-26, aarch64, heap 7894 KiB free, boot 29.255 ms"',
    'echo "baojs-frontend: ready (6.1.0, 1.40s)"',
    'printf "frontend:/root# "',
    'read line',
    'echo "$line"',
    then,
    '',
  ].join('\n'));
  chmodSync(file, 0o755);
  return file;
}

test('startBao: QEMU is stopped by its PID as soon as the frontend has powered off (line, or quiet after poweroff), not at the time limit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'baojs-bao-run-'));
  try {
    const image = join(dir, 'bao.bin');
    writeFileSync(image, bytes(Buffer.alloc(4096), 'Bao Hypervisor\n\r'));
    for (const [then, within] of [
      ['echo "[   12.5] reboot: Power down"; exec sleep 300', 1500],
      ['exec sleep 300', POWEROFF_QUIET_MS + 1500],
    ] as const) {
      const q = await startBao({ image, qemu: fakeQemu(dir, then), timeoutMs: 60_000, silenceMs: 10_000, readyMs: 10_000 });
      await q.waitFor(/# $/, 10_000);
      const t0 = Date.now();
      q.send('poweroff -f\n');
      const status = await q.exited;
      const ms = Date.now() - t0;
      assert.is(status, null, 'ended by a signal (SIGKILL by PID), not by itself');
      assert.not.ok(q.timedOut, 'not the time limit');
      assert.ok(ms < within, `${then}: ended ${ms} ms after poweroff, expected under ${within}`);
    }
    // the same run with the watch off keeps QEMU running
    const q = await startBao({ image, qemu: fakeQemu(dir, 'echo "reboot: Power down"; exec sleep 300'), timeoutMs: 60_000, stopOnPowerOff: false });
    await q.waitFor(/# $/, 10_000);
    q.send('poweroff -f\n');
    await q.waitFor(/Power down/, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.not.ok(q.done, 'without the watch QEMU keeps running');
    q.kill();
    await q.exited;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('riscv64: Bao starts below QEMU\'s OpenSBI with the hypervisor extension, Svpbmt and 4 harts; a silent one gets the QEMU 7.2 needs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baojs-bao-rv-'));
  try {
    const image = join(dir, 'bao.bin');
    writeFileSync(image, 'Bao Hypervisor');
    const args = baoQemuArgs(riscv, image, { icount: 'shift=0' });
    const at = (flag: string): string => args[args.indexOf(flag) + 1];
    assert.is(at('-M'), 'virt');
    assert.match(at('-cpu'), /^rv64,.*h=true.*svpbmt=true/);
    assert.is(at('-smp'), '4');
    assert.is(at('-m'), '4096M', 'RAM from 0x8000_0000 to the end of the description\'s');
    assert.is(at('-bios'), 'default');
    assert.is(at('-kernel'), image);
    assert.is(at('-icount'), 'shift=0');
    assert.not.ok(args.some((a) => a.startsWith('loader')), 'OpenSBI loads and starts Bao, no generic loader');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.match(silentRiscvBaoMessage('qemu-system-riscv64', 5000, 'bao.bin'), /IRQC=PLIC.*Svpbmt.*4 harts.*Zicbom/);
});

test('startBao refuses a file that is not a Bao image before starting QEMU', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'baojs-bao-run-'));
  try {
    const image = join(dir, 'baojs.bin');
    writeFileSync(image, Buffer.alloc(4096, 0x11));
    let error: unknown;
    try {
      await startBao({ image, qemu: '/nonexistent' });
    } catch (e) {
      error = e;
    }
    assert.instance(error, BaoBootError);
    assert.match((error as Error).message, /is not a Bao image/);
    assert.not.match((error as Error).message, /\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
