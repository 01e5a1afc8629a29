// SPDX-License-Identifier: Apache-2.0
// The riscv64 Linux frontend's device tree and boot stub, without booting:
// the tree has the harts' interrupt controllers, the PLIC (covering every
// device's source), no Arm node; every device names the PLIC; the tree
// compiles; the boot stub decodes to what the RISC-V boot protocol needs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFrontendDtb, frontendDts, PLIC_NDEV_QEMU_VIRT, QEMU_RISCV_VIRTIO_MMIO } from '../../qemu/frontend/dts.ts';
import { riscvBootStub } from '../../qemu/frontend/standalone.ts';
import { ARCH_DATA, frontendArchOf } from '../../qemu/frontend/build.ts';
import { devicesOfFrontend, frontendsOf } from '../../src/config/platform.ts';
import { platform } from '../../platforms/qemu-riscv64-virt.ts';
import { platform as aarch64 } from '../../platforms/qemu-aarch64-virt.ts';

const work = mkdtempSync(join(tmpdir(), 'baojs-frontend-riscv64-test-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

test('architecture of a platform and its build data', () => {
  assert.is(frontendArchOf(platform), 'riscv64');
  assert.is(frontendArchOf(aarch64), 'arm64');
  assert.is(ARCH_DATA.riscv64.elfMachine, 243);
  assert.is(ARCH_DATA.arm64.elfMachine, 183);
  assert.is(ARCH_DATA.riscv64.kernelImage, 'arch/riscv/boot/Image');
});

test('monitor tree: harts, PLIC with every device source, devices on the PLIC, no Arm nodes, no UART', () => {
  for (const [index, vm] of frontendsOf(platform).entries()) {
    const dts = frontendDts(platform, { frontend: index, bootargs: 'console=hvc0' });
    assert.not.match(dts, /psci|arm,gic|armv8-timer|pl011|ns16550/);
    assert.match(dts, `timebase-frequency = <${platform.machine.timebaseHz}>;`);
    for (let h = 0; h < vm.cpus.length; h++) assert.match(dts, `cpu${h}_intc: interrupt-controller {`);
    const plic = new RegExp(`plic: interrupt-controller@${platform.machine.plic!.base.toString(16)} \\{([^}]*)\\}`).exec(dts);
    assert.ok(plic, 'PLIC node');
    const irqs = Array.from({ length: vm.cpus.length }, (_, h) => `<&cpu${h}_intc 11>, <&cpu${h}_intc 9>`).join(', ');
    assert.match(plic![1], `interrupts-extended = ${irqs};`);
    const ndev = Number(/riscv,ndev = <(\d+)>/.exec(plic![1])![1]);
    const own = devicesOfFrontend(platform, index);
    assert.ok(ndev >= PLIC_NDEV_QEMU_VIRT && own.every((d) => d.frontendIntid <= ndev), `ndev ${ndev}`);
    assert.not.match(dts.split('cpus {')[0], 'interrupt-parent', 'no interrupt-parent at the root');
    for (const d of own) {
      const node = new RegExp(`virtio_mmio@${d.window.base.toString(16)} \\{([^}]*)\\}`).exec(dts);
      assert.ok(node, d.name);
      assert.match(node![1], 'interrupt-parent = <&plic>;');
      assert.match(node![1], `interrupts = <${d.frontendIntid}>;`);
    }
    buildFrontendDtb(platform, { frontend: index }, join(work, `f${index}.dtb`));
  }
});

test('standalone tree: ns16550a on its source, QEMU\'s 8 transports from the highest, sources 1..8', () => {
  const dts = frontendDts(platform, { uart: true, devices: false, qemuVirtio: { count: 8 } });
  assert.match(dts, /compatible = "ns16550a";\n\t\treg = <0x0 0x10000000 0x0 0x1000>;\n\t\tinterrupt-parent = <&plic>;\n\t\tinterrupts = <10>;\n\t\tclock-frequency = <3686400>;/);
  const q = QEMU_RISCV_VIRTIO_MMIO;
  const order = [...dts.matchAll(/virtio_mmio@([0-9a-f]+) \{[^}]*interrupts = <(\d+)>/g)].map((m) => [parseInt(m[1], 16), Number(m[2])]);
  assert.equal(order, Array.from({ length: 8 }, (_, i) => [q.base + (7 - i) * q.stride, 8 - i]));
  assert.throws(() => frontendDts({ ...platform, machine: { ...platform.machine, uart: { ...platform.machine.uart, kind: 'pl011' } } }, { uart: true }), /ns16550/);
});

test('riscv boot stub: a1 = device tree, jump to the kernel, a0 untouched', () => {
  const b = riscvBootStub(0x90200000, 0x98000000);
  assert.is(b.length, 32);
  // auipc t0,0; ld a1,16(t0); ld t1,24(t0); jr t1
  assert.equal([0, 4, 8, 12].map((o) => b.readUInt32LE(o)), [0x00000297, 0x0102b583, 0x0182b303, 0x00030067]);
  assert.is(b.readBigUInt64LE(16), 0x98000000n);
  assert.is(b.readBigUInt64LE(24), 0x90200000n);
  // The disassembler of gcc-riscv64-linux-gnu's binutils agrees.
  const file = join(work, 'stub.bin');
  writeFileSync(file, b);
  const r = spawnSync('riscv64-linux-gnu-objdump', ['-D', '-b', 'binary', '-m', 'riscv:rv64', '--stop-address=16', file], { encoding: 'utf8' });
  assert.is(r.status, 0, `objdump: ${r.stderr ?? r.error}`);
  assert.match(r.stdout, /auipc\s+t0,0x0/);
  assert.match(r.stdout, /ld\s+a1,16\(t0\)/);
  assert.match(r.stdout, /ld\s+t1,24\(t0\)/);
  assert.match(r.stdout, /jr\s+t1/);
});

test.run();
