// SPDX-License-Identifier: Apache-2.0
// The Bao VM configuration generator (qemu/bao/config.ts): for the shipped
// platform, both VMs are named, every device has a FRONTEND and a BACKEND
// remio entry with equal bind keys and the same shared region, windows and
// interrupts match the description, the backend's entry sits at its dmId;
// a broken description is refused. Pure JS: runs on Node and in QuickJS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, type Platform } from '../../src/config/platform.ts';
import { platform, placement } from '../../platforms/qemu-aarch64-virt.ts';
import { system } from '../../platforms/system.ts';
import { platform as riscv64Platform } from '../../platforms/qemu-riscv64-virt.ts';
import { BACKEND_IMAGE_NAME, FRONTEND_IMAGE_NAME, baoConfig, baoLoadAddress, baoSystem } from '../../qemu/bao/config.ts';

/** A deep copy of the shipped platform (plain data). */
function copy(): Platform {
  return JSON.parse(JSON.stringify(platform)) as Platform;
}

/** The `{ ... }` block of the C source that starts at `from` (brace matched). */
function block(text: string, from: number): string {
  const open = text.indexOf('{', from);
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  throw new Error('unbalanced braces');
}

/** The remio entries of one VM's block, parsed back from the C source. */
function remioEntries(vmBlock: string): Array<Record<string, number | string>> {
  const at = vmBlock.indexOf('.remio_devs');
  assert.ok(at >= 0, 'the VM has remio devices');
  const list = block(vmBlock, at);
  const entries: Array<Record<string, number | string>> = [];
  const re = /\{ \/\*[^*]*\*\/([^{}]*\{[^{}]*\}[^{}]*)\}/g;
  for (let m = re.exec(list); m; m = re.exec(list)) {
    const e: Record<string, number | string> = {};
    const [outer, inner = ''] = m[1].split('.shmem = ');
    const fields = (text: string, prefix: string): void => {
      for (const f of text.matchAll(/\.(\w+) = (0x[0-9a-f]+|\d+|REMIO_DEV_\w+)/g)) {
        e[prefix + f[1]] = f[2].startsWith('REMIO') ? f[2] : Number(f[2]);
      }
    };
    fields(outer, '');
    fields(inner, 'shmem.');
    entries.push(e);
  }
  return entries;
}

test('the shipped platform gives every VM, frontend 1 first, the backend second, with their images', () => {
  const sys = baoSystem(platform);
  assert.is(sys.vms.length, 3);
  const [fe, be, fe2] = sys.vms;
  const linux2 = platform.otherFrontends![0];
  assert.equal([fe2.role, fe2.name, fe2.image.symbol, fe2.image.path, fe2.image.base, fe2.entry], ['frontend', linux2.name, 'frontend2_image', 'frontend2.bin', linux2.ram.base, linux2.ram.base]);
  assert.is(fe2.cpuAffinity, 1 << linux2.cpus[0]);
  assert.equal(fe2.regions.map((r) => [r.base, r.size]), [[linux2.ram.base, linux2.ram.size]]);
  assert.is((fe.cpuAffinity | be.cpuAffinity) & fe2.cpuAffinity, 0, 'no CPU in two VMs');
  assert.is(fe.role, 'frontend');
  assert.is(fe.name, platform.frontend.name);
  assert.is(be.role, 'backend');
  assert.is(be.name, platform.backend.name);
  assert.is(fe.image.symbol, FRONTEND_IMAGE_NAME);
  assert.is(be.image.symbol, BACKEND_IMAGE_NAME);
  assert.is(be.image.base, platform.backend.ram.base);
  assert.is(be.entry, platform.backend.ram.base);
  assert.is(fe.image.base, platform.frontend.ram.base);
  assert.is(fe.cpuNum, platform.frontend.cpus.length);
  assert.is(be.cpuNum, platform.backend.cpus.length);
  assert.is(fe.cpuAffinity & be.cpuAffinity, 0, 'no CPU in both VMs');
  for (const c of platform.frontend.cpus) assert.ok(fe.cpuAffinity & (1 << c));
  for (const c of platform.backend.cpus) assert.ok(be.cpuAffinity & (1 << c));
});

test('the backend gets its RAM, its named regions, the UART and the timer', () => {
  const be = baoSystem(platform).vms[1];
  assert.equal(be.regions.map((r) => [r.base, r.size]), [
    [platform.backend.ram.base, platform.backend.ram.size],
    ...platform.backend.regions.map((r) => [r.base, r.size]),
  ]);
  assert.is(be.regions[0].phys, undefined, 'RAM comes from Bao\'s pool');
  for (const r of be.regions.slice(1)) assert.is(r.phys, r.base, 'named regions are placed at the same physical address');
  const uart = be.devs.find((d) => d.mmio?.pa === platform.machine.uart.base);
  assert.ok(uart, 'the UART is passed through');
  assert.equal(uart!.interrupts, [platform.machine.uart.intid]);
  assert.ok(be.devs.some((d) => d.interrupts.includes(platform.machine.timerIntid)));
  const pool = baoSystem(platform, { regionPlacement: 'pool' }).vms[1];
  const dma = new Set((platform.backend.passthrough ?? []).map((d) => d.dma));
  for (const r of pool.regions) {
    const name = platform.backend.regions.find((n) => n.base === r.base)?.name ?? 'RAM';
    assert.is(r.phys, dma.has(name) ? r.base : undefined, `${name}: from the pool, unless a passthrough device DMAs into it`);
  }
});

/** The shipped platform with the frontend disks on the passthrough disk (vdc, vdd). */
const withStorage = (): Platform => JSON.parse(JSON.stringify({ ...platform, ...system(placement, { storage: true }) })) as Platform;

test('a passthrough device: its page and SPI go to the backend only; its DMA region and the disks\' shared regions sit at IPA = PA', () => {
  const p = withStorage();
  const pt = p.backend.passthrough![0];
  const sys = baoSystem(p, { regionPlacement: 'pool' });
  const [fe, be] = sys.vms;
  const page = { pa: pt.base & ~0xfff, va: pt.base & ~0xfff, size: 0x1000 };
  assert.equal(page, { pa: 0x0a003000, va: 0x0a003000, size: 0x1000 });
  const dev = be.devs.find((d) => d.mmio?.pa === page.pa);
  assert.ok(dev, 'the backend has the page');
  assert.equal(dev!.mmio, page);
  assert.equal(dev!.interrupts, [pt.intid, 78], 'pdisk0 and uplink0 (INTID 78) share the page');
  assert.not.ok(fe.devs.some((d) => d.mmio?.pa === page.pa || d.interrupts.includes(pt.intid)), 'the frontend has neither');
  const dmaRegion = p.backend.regions.find((r) => r.name === pt.dma)!;
  assert.is(be.regions.find((r) => r.base === dmaRegion.base)!.phys, dmaRegion.base, 'the DMA region is placed even in a pool layout');
  for (const d of p.devices) {
    const onDisk = typeof d.backing === 'object';
    assert.is(sys.shmem[d.shmem.id].phys, onDisk ? d.shmem.base : undefined, `${d.name}: ${onDisk ? 'placed' : 'from the pool'}`);
  }
  const c = baoConfig(p);
  const vdc = p.devices.find((d) => d.name === 'vdc')!;
  assert.match(c, `[${vdc.shmem.id}] = { .size = 0x${vdc.shmem.size.toString(16)}, .place_phys = true, .phys = 0x${vdc.shmem.base.toString(16)}, }, /* vdc */`);
  assert.match(c, `[0] = { .size = 0x${p.devices[0].shmem.size.toString(16)}, }, /* vda */`);
  const backendC = c.slice(c.indexOf('/* VM 1: '));
  assert.match(backendC, /\{ \/\* passthrough virtio-blk pdisk0, virtio-net uplink0 \*\/\s+\.pa = 0xa003000,\s+\.va = 0xa003000,\s+\.size = 0x1000,\s+\.interrupt_num = 2,\s+\.interrupts = \(irqid_t\[\]\) \{ 79, 78 \},/);
  assert.not.match(c.slice(0, c.indexOf('/* VM 1: ')), '0xa003000');
  const MiB = 0x100000;
  for (const size of [1 * MiB, 300 * MiB]) {
    const at = baoLoadAddress(p, size);
    for (const d of [vdc, p.devices.find((x) => x.name === 'vdd')!]) {
      assert.ok(at + size + 32 * MiB <= d.shmem.base || at >= d.shmem.base + d.shmem.size, `Bao at 0x${at.toString(16)} misses ${d.name}'s shared region`);
    }
  }
});

test('two passthrough transports in one page (pdisk0, uplink0): one devs entry with both interrupts', () => {
  const p = withStorage();
  assert.equal(p.backend.passthrough!.map((d) => d.base), [0x0a003e00, 0x0a003c00]);
  const be = baoSystem(p).vms[1];
  const devs = be.devs.filter((d) => d.mmio?.pa === 0x0a003000);
  assert.is(devs.length, 1);
  assert.equal(devs[0].interrupts, [79, 78]);
});

test('every device has a FRONTEND entry in its own frontend\'s VM only and a BACKEND entry, with equal bind keys, shared region, windows and interrupts', () => {
  const [fe, be, fe2] = baoSystem(platform).vms;
  assert.is(fe.remioDevs.length + fe2.remioDevs.length, platform.devices.length);
  assert.equal(fe2.remioDevs.map((r) => r.device), ['vdd', 'con2', 'net1']);
  assert.is(be.remioDevs.length, platform.devices.length);
  assert.ok([...fe.remioDevs, ...fe2.remioDevs].every((r) => r.type === 'REMIO_DEV_FRONTEND'));
  assert.ok(be.remioDevs.every((r) => r.type === 'REMIO_DEV_BACKEND'));
  for (const d of platform.devices) {
    const [own, other] = d.frontend === 'linux2' ? [fe2, fe] : [fe, fe2];
    assert.not.ok(other.remioDevs.some((r) => r.bindKey === d.bindKey), `${d.name}: no entry in the other frontend`);
    const f = own.remioDevs.find((r) => r.bindKey === d.bindKey);
    const b = be.remioDevs[d.dmId];
    assert.ok(f, `${d.name}: frontend entry`);
    assert.is(b.bindKey, d.bindKey, `${d.name}: the backend entry at index dmId has the bind key`);
    assert.is(f!.va, d.window.base);
    assert.is(f!.size, d.window.size);
    assert.is(f!.interrupt, d.frontendIntid);
    assert.is(b.interrupt, d.backendIntid);
    assert.equal(f!.shmem, { base: d.shmem.base, size: d.shmem.size, shmemId: d.shmem.id });
    assert.equal(b.shmem, f!.shmem, `${d.name}: Bao refuses halves whose shared regions differ`);
  }
});

test('the shared-memory list is indexed by shmem id with each device\'s size', () => {
  const sys = baoSystem(platform);
  sys.shmem.forEach((s, i) => assert.is(s.id, i));
  for (const d of platform.devices) assert.is(sys.shmem[d.shmem.id].size, d.shmem.size);
});

test('the C source names both images and VMs and carries every remio entry', () => {
  const c = baoConfig(platform, { frontendImage: '/images/frontend.bin', backendImage: '/images/baojs.bin' });
  assert.ok(c.startsWith('/**\n * SPDX-License-Identifier: Apache-2.0'));
  assert.match(c, `VM_IMAGE(${FRONTEND_IMAGE_NAME}, "/images/frontend.bin")`);
  assert.match(c, `VM_IMAGE(${BACKEND_IMAGE_NAME}, "/images/baojs.bin")`);
  assert.match(c, 'struct config config = {');
  assert.match(c, `.shmemlist_size = ${platform.devices.length},`);
  assert.match(c, '.vmlist_size = 3,');
  assert.match(c, 'VM_IMAGE(frontend2_image, "frontend2.bin")');
  const vm0 = c.indexOf('/* VM 0: ');
  const vm1 = c.indexOf('/* VM 1: ');
  const vm2 = c.indexOf('/* VM 2: ');
  assert.ok(vm0 > 0 && vm1 > vm0 && vm2 > vm1);
  assert.match(c.slice(vm2), `.image = VM_IMAGE_BUILTIN(frontend2_image, 0x${platform.otherFrontends![0].ram.base.toString(16)}),`);
  assert.match(c.slice(vm0, vm1), platform.frontend.name);
  assert.match(c.slice(vm1), platform.backend.name);
  assert.match(c.slice(vm0), `.image = VM_IMAGE_BUILTIN(${FRONTEND_IMAGE_NAME}, 0x${platform.frontend.ram.base.toString(16)}),`);
  assert.match(c.slice(vm1), `.image = VM_IMAGE_BUILTIN(${BACKEND_IMAGE_NAME}, 0x${platform.backend.ram.base.toString(16)}),`);

  const front = remioEntries(block(c, vm0 - 3));
  const back = remioEntries(block(c, vm1 - 3));
  const front2 = remioEntries(block(c, vm2 - 3));
  assert.is(front.length + front2.length, platform.devices.length);
  assert.is(back.length, platform.devices.length);
  for (const d of platform.devices) {
    const f = (d.frontend === 'linux2' ? front2 : front).find((e) => e.bind_key === d.bindKey)!;
    const b = back[d.dmId];
    assert.ok(f, `${d.name}: FRONTEND entry in the C source`);
    assert.equal(f, {
      bind_key: d.bindKey, type: 'REMIO_DEV_FRONTEND', va: d.window.base, size: d.window.size, interrupt: d.frontendIntid,
      'shmem.base': d.shmem.base, 'shmem.size': d.shmem.size, 'shmem.shmem_id': d.shmem.id,
    }, `${d.name}: frontend fields`);
    assert.equal(b, {
      bind_key: d.bindKey, type: 'REMIO_DEV_BACKEND', interrupt: d.backendIntid,
      'shmem.base': d.shmem.base, 'shmem.size': d.shmem.size, 'shmem.shmem_id': d.shmem.id,
    }, `${d.name}: backend fields (no window)`);
  }
});

test('a GICv2 machine gives the VMs a CPU interface instead of redistributors', () => {
  const p = copy();
  p.machine.gic = { version: 2, gicd: 0xf9010000, gicc: 0xf9020000 };
  const c = baoConfig(p);
  assert.match(c, '.gicc_addr = 0xf9020000,');
  assert.not.match(c, '.gicr_addr');
});

test('qemu-riscv64-virt: every VM gets the virtual PLIC at the PLIC\'s address and no timer interrupt; the backend its UART and source; the build line names IRQC=PLIC', () => {
  const rv = riscv64Platform;
  const sys = baoSystem(rv);
  assert.is(sys.vms.length, 3);
  for (const vm of sys.vms) {
    assert.equal(vm.irqc, { kind: 'plic', base: rv.machine.plic!.base });
    assert.not.ok(vm.devs.some((d) => d.interrupts.includes(rv.machine.timerIntid)), `${vm.name}: no timer interrupt`);
  }
  const be = sys.vms[1];
  assert.equal(be.entry, rv.backend.ram.base);
  assert.equal(be.devs.find((d) => d.mmio?.pa === rv.machine.uart.base)?.interrupts, [rv.machine.uart.intid]);
  const c = baoConfig(rv);
  assert.is(c.split('.irqc.plic.base = 0xc000000,').length - 1, 3, 'one virtual PLIC per VM');
  assert.not.match(c, '.gic');
  assert.not.match(c, /\{\s*\}/, 'no empty initializer list (ISO C; Bao builds with -Wpedantic -Werror): a VM without devices has no .devs');
  assert.match(block(c, c.indexOf('/* VM 2:')), /\.dev_num = 0,\n\s*\n\s*\.remio_dev_num/);
  assert.match(c, 'make PLATFORM=qemu-riscv64-virt IRQC=PLIC');
  assert.match(c, 'CROSS_COMPILE=riscv64-unknown-elf-');
  // every remio entry as on aarch64: equal bind keys and shared regions, one BACKEND entry per device at its dmId
  const backendRemio = remioEntries(block(c, c.indexOf('/* VM 1:')));
  assert.is(backendRemio.length, rv.devices.length);
  // the aarch64 output keeps its GIC
  assert.match(baoConfig(platform), '.gicd_addr = ');
  assert.not.match(baoConfig(platform), '.irqc.plic');
});

/** Asserts that a mutated copy is refused with a ConfigError on `field` (and a message matching `because`). */
function refused(mutate: (p: Platform) => void, field: string, because?: RegExp): void {
  const p = copy();
  mutate(p);
  try {
    baoConfig(p);
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is((e as ConfigError).field, field);
    if (because) assert.match((e as ConfigError).message, because);
    return;
  }
  assert.unreachable(`baoConfig accepted a platform with a bad ${field}`);
}

test('a broken description is refused, naming the field', () => {
  refused((p) => { p.devices[1].bindKey = p.devices[0].bindKey; }, 'devices[1].bindKey');
  refused((p) => { p.devices[0].window.base += 4; }, 'devices[0].window.base');
  refused((p) => { p.frontend.cpus = [...p.backend.cpus]; }, 'backend.cpus');
  refused((p) => { p.devices[0].backendIntid = 300; }, 'devices[0].backendIntid');
  // Valid for the firmware, but not expressible for Bao: its lists are indexed by dm_id and shmem id.
  refused((p) => { p.devices[p.devices.length - 1].dmId = 9; }, `devices[${platform.devices.length - 1}].dmId`);
  refused((p) => { p.devices[0].shmem.id = p.devices.length + 3; }, 'devices[0].shmem.id');
  refused((p) => { p.machine.uart.base += 0x800; }, 'machine.uart.base');
  // Bao's remio lookup counts the byte past a window as part of it: windows must not touch.
  refused((p) => { p.devices[1].window.base = p.devices[0].window.base + p.devices[0].window.size; }, 'devices[1].window.base');
});

test('a window over memory or the machine\'s devices is refused before any C is written', () => {
  // Bao would trap every access there: the region, RAM or registers under it would be gone for the frontend.
  refused((p) => { p.devices[0].window.base = p.devices[1].shmem.base; }, 'devices[0].window', /devices\[1\]\.shmem/);
  refused((p) => { p.devices[2].window.base = p.backend.ram.base; }, 'devices[2].window', /backend\.ram/);
  refused((p) => { p.devices[1].window.base = p.machine.gic!.gicd + 0x1000; }, 'devices[1].window', /machine\.gic\.gicd/);
  refused((p) => { p.devices[3].window.base = p.machine.gic!.gicr!; }, 'devices[3].window', /machine\.gic\.gicr/);
  refused((p) => { p.devices[0].window.base = p.machine.uart.base; }, 'devices[0].window', /machine\.uart/);
});

test('Bao is loaded clear of QEMU\'s device tree and of the regions pinned to physical addresses', () => {
  const MiB = 0x100000;
  const pinned = platform.backend.regions;
  for (const size of [1 * MiB, 12 * MiB, 200 * MiB, 400 * MiB]) {
    const at = baoLoadAddress(platform, size);
    assert.is(at % (2 * MiB), 0);
    assert.ok(at >= platform.machine.ram.base + 2 * MiB);
    assert.ok(at + size <= platform.machine.ram.base + platform.machine.ram.size);
    for (const r of pinned) assert.ok(at + size <= r.base || at >= r.base + r.size, `${size} B at 0x${at.toString(16)} misses ${r.name}`);
  }
  assert.throws(() => baoLoadAddress(platform, platform.machine.ram.size));
});

test.run();
