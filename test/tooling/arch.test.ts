// SPDX-License-Identifier: Apache-2.0
// The architecture switch of `npm start -- --arch riscv64` / BAOJS_ARCH
// (scripts/arch.ts): the command line wins over the environment, aarch64
// is the default, an unknown name is refused with the accepted ones, and
// every architecture's system platform is a description that loads with
// that instruction set.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCHES, selectedArch, SYSTEM_PLATFORM } from '../../scripts/arch.ts';
import { loadPlatform, monitorLayout } from '../../scripts/gen-platform.ts';
import { gicFrames } from '../../src/config/platform.ts';

test('--arch, --arch=, BAOJS_ARCH and the default', () => {
  assert.is(selectedArch([], {}), 'aarch64');
  assert.is(selectedArch([], { BAOJS_ARCH: 'riscv64' }), 'riscv64');
  assert.is(selectedArch(['node', 'run.ts', '--arch', 'riscv64'], {}), 'riscv64');
  assert.is(selectedArch(['--arch=riscv64'], { BAOJS_ARCH: 'aarch64' }), 'riscv64');
  assert.is(selectedArch(['--arch', 'aarch64'], { BAOJS_ARCH: 'riscv64' }), 'aarch64');
});

test('an unknown architecture is refused, naming the accepted ones', () => {
  assert.throws(() => selectedArch(['--arch', 'x86_64'], {}), /unknown architecture 'x86_64'.*aarch64 or riscv64/);
  assert.throws(() => selectedArch(['--arch'], { BAOJS_ARCH: 'mips' }), /unknown architecture 'mips'/);
});

test('each architecture has a system platform of that instruction set', async () => {
  for (const arch of ARCHES) {
    const p = await loadPlatform(SYSTEM_PLATFORM[arch]);
    assert.is(p.machine.arch, arch);
    assert.ok(p.devices.length > 0 && (p.otherFrontends ?? []).length > 0, `${p.name}: devices and a second frontend`);
  }
});

test("each architecture's monitor keeps its debug UART clear of the interrupt controller and the guests' devices; a clash is refused", async () => {
  for (const arch of ARCHES) {
    const p = await loadPlatform(SYSTEM_PLATFORM[arch]);
    const uart = monitorLayout(p).debugUart;
    for (const r of [...gicFrames(p.machine), p.machine.uart, ...p.devices.map((d) => d.window)]) {
      assert.ok(uart.base + uart.size <= r.base || r.base + r.size <= uart.base, `${p.name}: debug UART 0x${uart.base.toString(16)} overlaps 0x${r.base.toString(16)}`);
    }
  }
  const rv = await loadPlatform(SYSTEM_PLATFORM.riscv64);
  const clash = { ...rv, machine: { ...rv.machine, plic: { base: monitorLayout(rv).debugUart.base - 0x1000 } } };
  assert.throws(() => monitorLayout(clash), /debug UART overlaps the interrupt controller/);
});

test.run();
