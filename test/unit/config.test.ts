// SPDX-License-Identifier: Apache-2.0
// validatePlatform: the shipped platform passes; each broken variant is refused
// with a ConfigError that names the exact field. Pure JS: runs on Node and in QuickJS.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { devicesOfFrontend, frontendIndexOf, frontendsOf, gicFrames, validatePlatform } from '../../src/config/platform.ts';
import type { Platform } from '../../src/config/platform.ts';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';
import { platform as gicv2 } from '../../platforms/qemu-aarch64-virt-gicv2.ts';
import { platform as zcu102 } from '../../platforms/zcu102.ts';
import { platform as riscv } from '../../platforms/qemu-riscv64-virt.ts';
import { assertRefused } from '../sim/config-error.ts';

/** A deep copy of the shipped platform (plain data: JSON is enough, and exists in every engine). */
function copy(): Platform {
  return JSON.parse(JSON.stringify(platform)) as Platform;
}

/** Asserts that `mutate`d copies of the platform are refused with a ConfigError on `field`. */
function refused(mutate: (p: Platform) => void, field: string, because?: RegExp): void {
  const p = copy();
  mutate(p);
  assertRefused(p, field, because);
}

const shipped = suite('shipped platform');

shipped('qemu-aarch64-virt validates and is returned as is', () => {
  const before = JSON.stringify(platform);
  assert.is(validatePlatform(platform), platform);
  assert.is(JSON.stringify(platform), before, 'validation does not change the description');
});

shipped('a deep copy validates too', () => {
  const p = copy();
  assert.equal(validatePlatform(p), platform);
});

shipped('qemu-riscv64-virt validates: a PLIC instead of a GIC, the PLIC in its interrupt-controller frames', () => {
  assert.is(validatePlatform(riscv), riscv);
  assert.equal(gicFrames(riscv.machine).map((g) => g.field), ['machine.plic.base']);
  for (const d of riscv.devices) {
    for (const g of gicFrames(riscv.machine)) assert.ok(d.window.base >= g.base + g.size || d.window.base + d.window.size <= g.base, `${d.name} / ${g.field}`);
  }
});

shipped('a riscv64 machine without a PLIC, with a GIC, without a timebase or with another UART is refused, naming the field', () => {
  const rv = (mutate: (p: Platform) => void, field: string): void => {
    const p = JSON.parse(JSON.stringify(riscv)) as Platform;
    mutate(p);
    assertRefused(p, field);
  };
  rv((p) => { delete p.machine.plic; }, 'machine.plic');
  rv((p) => { p.machine.gic = { version: 3, gicd: 0x08000000, gicr: 0x080a0000 }; }, 'machine.gic');
  rv((p) => { delete p.machine.timebaseHz; }, 'machine.timebaseHz');
  rv((p) => { p.machine.uart.kind = 'pl011'; }, 'machine.uart.kind');
  rv((p) => { p.devices[0].window.base = 0x0c001000; }, 'devices[0].window');
});

shipped.run();

const broken = suite('broken variants');

broken('two overlapping remio windows -> devices[1].window', () => {
  refused((p) => { p.devices[1].window.base = p.devices[0].window.base; }, 'devices[1].window', /overlaps devices\[0\]\.window/);
});

broken('bind key 300 (Bao keeps 8 bits) -> devices[0].bindKey', () => {
  refused((p) => { p.devices[0].bindKey = 300; }, 'devices[0].bindKey', /below 256/);
});

broken('a blk device without a backing region -> devices[0].backing', () => {
  refused((p) => { delete p.devices[0].backing; }, 'devices[0].backing');
});

broken('a blk device backed by a region that does not exist -> devices[3].backing', () => {
  refused((p) => { p.devices[3].backing = 'nosuchdisk'; }, 'devices[3].backing', /nosuchdisk/);
});

broken('a console with a backing store -> devices[1].backing', () => {
  refused((p) => { p.devices[1].backing = 'disk0'; }, 'devices[1].backing');
});

broken('two devices with the same dmId -> devices[2].dmId', () => {
  refused((p) => { p.devices[2].dmId = p.devices[0].dmId; }, 'devices[2].dmId', /duplicate/);
});

broken('a window not aligned to 0x200 -> devices[0].window.base', () => {
  refused((p) => { p.devices[0].window.base += 0x100; }, 'devices[0].window.base');
});

broken('a shared region inside the backend RAM -> devices[0].shmem', () => {
  refused((p) => { p.devices[0].shmem.base = p.backend.ram.base; }, 'devices[0].shmem', /RAM/);
});

broken('QueueNumMax that is not a power of 2 -> devices[1].queueNumMax', () => {
  refused((p) => { p.devices[1].queueNumMax = 48; }, 'devices[1].queueNumMax');
});

broken('a backend interrupt that is not an SPI -> devices[2].backendIntid', () => {
  refused((p) => { p.devices[2].backendIntid = 27; }, 'devices[2].backendIntid', /SPI/);
});

broken('backend and frontend on the same CPU -> backend.cpus', () => {
  refused((p) => { p.backend.cpus = [0]; }, 'backend.cpus');
});

broken('heap and stack larger than the backend RAM -> backend.heapSize', () => {
  refused((p) => { p.backend.heapSize = p.backend.ram.size; }, 'backend.heapSize');
});

broken('two backend regions with the same name -> backend.regions[1].name', () => {
  refused((p) => { p.backend.regions[1].name = p.backend.regions[0].name; }, 'backend.regions[1].name', /duplicate/);
});

broken('GICv3 without a redistributor -> machine.gic.gicr', () => {
  refused((p) => { delete p.machine.gic!.gicr; }, 'machine.gic.gicr');
});

broken.run();

// A remio window traps every frontend access inside it: over memory or over
// the machine's own devices it hides them. Each is refused on the window's
// field, naming what it covers.
const windows = suite('windows over memory and devices');

windows('a window on another device\'s shared region -> devices[0].window', () => {
  refused((p) => { p.devices[0].window.base = p.devices[2].shmem.base; }, 'devices[0].window', /devices\[2\]\.shmem, the shared region of hwrng/);
});

windows('a window on the last bytes of its own shared region -> devices[1].window', () => {
  refused((p) => {
    const s = p.devices[1].shmem;
    p.devices[1].window.base = s.base + s.size - 0x200;
  }, 'devices[1].window', /devices\[1\]\.shmem/);
});

windows('a window on the backend VM\'s RAM -> devices[3].window', () => {
  refused((p) => { p.devices[3].window.base = p.backend.ram.base + 0x1000; }, 'devices[3].window', /backend\.ram/);
});

windows('a window on the frontend\'s own RAM -> devices[0].window', () => {
  refused((p) => { p.devices[0].window.base = p.frontend.ram.base; }, 'devices[0].window', /frontend\.ram/);
});

windows('a window on a backend disk region -> devices[2].window', () => {
  refused((p) => { p.devices[2].window.base = p.backend.regions[1].base; }, 'devices[2].window', /backend\.regions\[1\]/);
});

windows('a window on the GIC distributor -> devices[0].window, naming machine.gic.gicd', () => {
  refused((p) => { p.devices[0].window.base = p.machine.gic!.gicd; }, 'devices[0].window', /machine\.gic\.gicd, the GIC distributor/);
});

windows('a window on the last redistributor frame (GICR of the last CPU) -> devices[1].window', () => {
  const gicr = gicFrames(platform.machine).find((g) => g.field === 'machine.gic.gicr')!;
  assert.is(gicr.size, 0x20000 * platform.machine.cpus, '128 KiB of redistributor per CPU');
  refused((p) => { p.devices[1].window.base = gicr.base + gicr.size - 0x200; }, 'devices[1].window', /machine\.gic\.gicr/);
  // The first window-aligned address past the redistributors is not GIC any more.
  const p = copy();
  p.devices[1].window.base = gicr.base + gicr.size;
  validatePlatform(p);
});

windows('a window on a GICv2 CPU interface -> devices[0].window, naming machine.gic.gicc', () => {
  refused((p) => {
    p.machine.gic = { version: 2, gicd: 0x08000000, gicc: 0x08010000 };
    p.devices[0].window.base = 0x08011e00;
  }, 'devices[0].window', /machine\.gic\.gicc/);
});

windows('a window on the UART -> devices[2].window', () => {
  refused((p) => { p.devices[2].window.base = p.machine.uart.base + 0x200; }, 'devices[2].window', /machine\.uart/);
});

windows('a GIC frame whose address is not an integer -> machine.gic.gicd', () => {
  refused((p) => { (p.machine.gic as { gicd: unknown }).gicd = '0x08000000'; }, 'machine.gic.gicd');
});

windows('every shipped platform validates, windows clear of the GIC frames and the UART', () => {
  for (const p of [platform, gicv2, zcu102]) {
    validatePlatform(p);
    for (const d of p.devices) {
      for (const g of gicFrames(p.machine)) assert.ok(d.window.base >= g.base + g.size || d.window.base + d.window.size <= g.base, `${p.name} ${d.name} / ${g.field}`);
    }
  }
});

windows.run();

const frontends = suite('several frontends');

frontends('the shipped system: linux on CPU 0, linux2 on CPU 2 with its own RAM; vdd, con2 and net1 are its devices, the rest frontend 1\'s', () => {
  assert.equal(frontendsOf(platform).map((vm) => [vm.name, vm.cpus]), [['linux', [0]], ['linux2', [2]]]);
  assert.equal(devicesOfFrontend(platform, 1).map((d) => d.name), ['vdd', 'con2', 'net1']);
  assert.equal(devicesOfFrontend(platform, 0).map((d) => d.name), ['vda', 'hvc0', 'hwrng', 'vdb', 'vsock0', 'gpio0', 'vdc', 'net0']);
  assert.equal(platform.devices.map((d) => d.dmId), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'existing dm ids kept, new ones after');
  assert.equal(platform.devices.filter((d) => d.kind === 'net').map((d) => [d.name, d.mac]), [['net0', '52:54:00:12:34:01'], ['net1', '52:54:00:12:34:02']]);
  for (const p of [gicv2, zcu102]) validatePlatform(p);
  assert.is(zcu102.otherFrontends, undefined, 'zcu102 keeps its one frontend');
});

frontends('a device model names an existing frontend; VMs have distinct names, CPUs and RAM', () => {
  refused((p) => { p.devices[0].frontend = 'nosuch'; }, 'devices[0].frontend', /no frontend VM named nosuch/);
  refused((p) => { p.otherFrontends![0].name = p.frontend.name; }, 'otherFrontends[0].name', /shared with frontend/);
  refused((p) => { p.otherFrontends![0].name = 'Linux 2'; }, 'otherFrontends[0].name');
  refused((p) => { p.otherFrontends![0].cpus = [0]; }, 'otherFrontends[0].cpus', /shared with frontend/);
  refused((p) => { p.otherFrontends![0].cpus = [...p.backend.cpus]; }, 'otherFrontends[0].cpus', /shared with backend/);
  refused((p) => { p.otherFrontends![0].cpus = [9]; }, 'otherFrontends[0].cpus[0]');
  refused((p) => { p.otherFrontends![0].ram.base = p.frontend.ram.base; }, 'otherFrontends[0].ram', /overlaps frontend\.ram/);
  refused((p) => { p.otherFrontends![0].ram.base = p.machine.ram.base + p.machine.ram.size; }, 'otherFrontends[0].ram', /outside machine\.ram/);
  refused((p) => { p.otherFrontends = {} as never; }, 'otherFrontends', /list/);
});

frontends('nothing of the system lies over another frontend\'s RAM', () => {
  const ram = (p: Platform): number => p.otherFrontends![0].ram.base;
  refused((p) => { p.devices[0].window.base = ram(p) + 0x1000; }, 'devices[0].window', /otherFrontends\[0\]\.ram/);
  refused((p) => { p.devices[0].shmem.base = ram(p); }, 'devices[0].shmem', /a VM's RAM/);
  refused((p) => { p.backend.regions[0].base = ram(p); }, 'backend.regions[0]', /a VM's RAM/);
});

frontends('frontendIndexOf: 0 for a device that names none or the first frontend, 1 for linux2; refuses an unknown name', () => {
  const p = copy();
  assert.is(frontendIndexOf(p, { name: 'x' }), 0);
  assert.is(frontendIndexOf(p, { name: 'x', frontend: 'linux' }), 0);
  assert.is(frontendIndexOf(p, { name: 'x', frontend: 'linux2' }), 1);
  assert.throws(() => frontendIndexOf(p, { name: 'x', frontend: 'linux3' }), /devices\[x\]\.frontend/);
});

frontends.run();
