// SPDX-License-Identifier: Apache-2.0
// Devices of the machine passed through to the backend (backend.passthrough)
// and frontend disks on ranges of them (DiskRange backings): the shipped
// layout validates, each broken variant is refused on the exact field, and
// diskMinimumSize is what the ranges need. Pure JS: runs on Node and in QuickJS.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diskMinimumSize, pageSpan, validatePlatform, type DiskRange, type Platform } from '../../src/config/platform.ts';
import { platform as shipped, placement } from '../../platforms/qemu-aarch64-virt.ts';
import { platform as gicv2 } from '../../platforms/qemu-aarch64-virt-gicv2.ts';
import { platform as zcu102 } from '../../platforms/zcu102.ts';
import { platform as riscv } from '../../platforms/qemu-riscv64-virt.ts';
import { storageDevices, system } from '../../platforms/system.ts';
import { DEVICE_KINDS } from '../../src/devices/registry.ts';
import { assertRefused } from '../sim/config-error.ts';
import type { Host } from '../../src/host.ts';
import type { VsockHub } from '../../src/devices/vsock-socket.ts';
import type { EthernetSwitch } from '../../src/net/switch.ts';
import { SharedDisk } from '../../src/devices/disk.ts';
import { isAsyncBacking } from '../../src/devices/backing.ts';
import type { BlkDevice } from '../../src/devices/blk.ts';
import { FakeDisk } from '../sim/fake-disk.ts';

const MiB = 0x100000;

/** The shipped platform with the two frontend disks on pdisk0 (vdc, vdd), as a deep copy. */
function withStorage(): Platform {
  return JSON.parse(JSON.stringify({ ...shipped, ...system(placement, { storage: true }) })) as Platform;
}

/** Asserts that `mutate`d copies of {@link withStorage} are refused with a ConfigError on `field`. */
function refused(mutate: (p: Platform) => void, field: string, because?: RegExp): void {
  const p = withStorage();
  mutate(p);
  assertRefused(p, field, because);
}

const range = (p: Platform, name: string): DiskRange => p.devices.find((d) => d.name === name)!.backing as DiskRange;

const layout = suite('shipped layout');

layout('qemu-aarch64-virt: pdisk0 is QEMU virt transport 31 (0x0a003e00, INTID 79) with a 1 MiB DMA region, uplink0 transport 30 (0x0a003c00, INTID 78) with 2 MiB', () => {
  validatePlatform(shipped);
  const pt = shipped.backend.passthrough!;
  assert.equal(pt, [
    { name: 'pdisk0', kind: 'virtio-blk', base: 0x0a000000 + 31 * 0x200, size: 0x200, intid: 48 + 31, dma: 'dma:pdisk0' },
    { name: 'uplink0', kind: 'virtio-net', base: 0x0a000000 + 30 * 0x200, size: 0x200, intid: 48 + 30, dma: 'dma:uplink0' },
  ]);
  for (const [name, size] of [['dma:pdisk0', MiB], ['dma:uplink0', 2 * MiB]] as const) {
    const dma = shipped.backend.regions.find((r) => r.name === name)!;
    assert.is(dma.size, size);
    for (const r of shipped.backend.regions) if (r !== dma) assert.ok(r.base + r.size <= dma.base || dma.base + dma.size <= r.base, `${name} clear of ${r.name}`);
  }
  assert.equal(pageSpan(pt[0]), { base: 0x0a003000, size: 0x1000 });
  assert.equal(pageSpan(pt[1]), { base: 0x0a003000, size: 0x1000 }, 'two transports in one page');
});

layout('qemu-riscv64-virt: pdisk0 is QEMU riscv virt transport 7 (0x10008000, PLIC source 8), uplink0 transport 6 (0x10007000, source 7); a source outside 1..1023 is refused', () => {
  validatePlatform(riscv);
  const pt = riscv.backend.passthrough!;
  assert.equal(pt.map((d) => [d.name, d.kind, d.base, d.intid, d.dma]), [
    ['pdisk0', 'virtio-blk', 0x10001000 + 7 * 0x1000, 1 + 7, 'dma:pdisk0'],
    ['uplink0', 'virtio-net', 0x10001000 + 6 * 0x1000, 1 + 6, 'dma:uplink0'],
  ]);
  for (const bad of [0, 1024]) {
    const p = JSON.parse(JSON.stringify(riscv)) as Platform;
    p.backend.passthrough![0].intid = bad;
    assertRefused(p, 'backend.passthrough[0].intid', /PLIC source/);
  }
});

layout('the GICv2 variant and zcu102 have no passthrough device and no DMA region', () => {
  for (const p of [gicv2, zcu102]) {
    validatePlatform(p);
    assert.is(p.backend.passthrough, undefined, p.name);
    assert.not.ok(p.backend.regions.some((r) => r.name.startsWith('dma:')), p.name);
  }
});

layout('vdc and vdd follow the six devices unchanged, on 64 MiB and 32 MiB of pdisk0', () => {
  const p = withStorage();
  validatePlatform(p);
  assert.equal(p.devices.slice(0, 6), shipped.devices.slice(0, 6));
  const [vdc, vdd] = storageDevices(placement);
  assert.equal(p.devices.slice(6, 8), [vdc, vdd]);
  assert.is(vdc.frontend, undefined, 'vdc is frontend 1\'s');
  assert.is(vdd.frontend, 'linux2', 'vdd is frontend 2\'s');
  assert.equal([vdc.dmId, vdc.bindKey, vdc.backendIntid, vdc.frontendIntid, vdc.window.base], [6, 6, 150, 118, 0x0b006000]);
  assert.equal([vdd.dmId, vdd.bindKey, vdd.backendIntid, vdd.frontendIntid, vdd.window.base], [7, 7, 151, 119, 0x0b007000]);
  const gpio = p.devices[5].shmem;
  assert.is(vdc.shmem.base, gpio.base + gpio.size);
  assert.is(vdd.shmem.base, vdc.shmem.base + 8 * MiB);
  assert.equal(range(p, 'vdc'), { disk: 'pdisk0', offset: 0, size: 64 * MiB });
  assert.equal(range(p, 'vdd'), { disk: 'pdisk0', offset: 64 * MiB, size: 32 * MiB });
});

layout('diskMinimumSize: the largest end of the ranges on the disk, 0 for a disk no device uses', () => {
  const p = withStorage();
  assert.is(diskMinimumSize(p, 'pdisk0'), 96 * MiB);
  range(p, 'vdc').offset = 200 * MiB;
  assert.is(diskMinimumSize(p, 'pdisk0'), 264 * MiB);
  assert.is(diskMinimumSize(p, 'nosuchdisk'), 0);
  assert.is(diskMinimumSize(shipped, 'pdisk0'), shipped.devices.some((d) => typeof d.backing === 'object') ? 96 * MiB : 0);
});

layout.run();

const pt = suite('broken passthrough devices');

pt('two passthrough devices with one name -> backend.passthrough[2].name', () => {
  refused((p) => { p.backend.passthrough!.push({ ...p.backend.passthrough![0], base: 0x0a003a00, intid: 77 }); }, 'backend.passthrough[2].name', /duplicate/);
});

pt('an unknown kind -> backend.passthrough[0].kind', () => {
  refused((p) => { (p.backend.passthrough![0] as { kind: string }).kind = 'virtio-gpu'; }, 'backend.passthrough[0].kind', /known: virtio-blk, virtio-net/);
});

pt('a window of 0x1000 bytes -> backend.passthrough[0].size', () => {
  refused((p) => { p.backend.passthrough![0].size = 0x1000; }, 'backend.passthrough[0].size');
});

pt('its page on a remio window -> backend.passthrough[0].base, naming the window', () => {
  refused((p) => { p.backend.passthrough![0].base = p.devices[2].window.base + 0x400; }, 'backend.passthrough[0].base', /devices\[2\]\.window/);
});

pt('its page on the UART (0x200 past its base) -> backend.passthrough[0].base', () => {
  refused((p) => { p.backend.passthrough![0].base = p.machine.uart.base + 0x200; }, 'backend.passthrough[0].base', /machine\.uart/);
});

pt('on the GIC distributor -> backend.passthrough[0].base', () => {
  refused((p) => { p.backend.passthrough![0].base = p.machine.gic!.gicd + 0xe00; }, 'backend.passthrough[0].base', /machine\.gic\.gicd/);
});

pt('in machine RAM -> backend.passthrough[0].base', () => {
  refused((p) => { p.backend.passthrough![0].base = p.backend.ram.base + 0x10000; }, 'backend.passthrough[0].base', /machine\.ram/);
});

pt('an INTID that is a PPI -> backend.passthrough[0].intid', () => {
  refused((p) => { p.backend.passthrough![0].intid = 27; }, 'backend.passthrough[0].intid', /SPI/);
});

pt('the UART\'s INTID -> backend.passthrough[0].intid', () => {
  refused((p) => { p.backend.passthrough![0].intid = p.machine.uart.intid; }, 'backend.passthrough[0].intid', /uart/);
});

pt('a device model\'s backend INTID -> backend.passthrough[0].intid', () => {
  refused((p) => { p.backend.passthrough![0].intid = p.devices[4].backendIntid; }, 'backend.passthrough[0].intid', /devices\[4\]\.backendIntid/);
});

pt('a device model\'s frontend INTID -> backend.passthrough[0].intid', () => {
  refused((p) => { p.backend.passthrough![0].intid = p.devices[1].frontendIntid; }, 'backend.passthrough[0].intid', /devices\[1\]\.frontendIntid/);
});

pt('a DMA region that does not exist -> backend.passthrough[0].dma', () => {
  refused((p) => { p.backend.passthrough![0].dma = 'dma:nothing'; }, 'backend.passthrough[0].dma', /dma:nothing/);
});

pt('a region named shmem:… (the shared regions\' names) -> backend.regions[3].name', () => {
  refused((p) => { p.backend.regions[3].name = 'shmem:vda'; }, 'backend.regions[3].name');
});

pt('two devices sharing an INTID -> backend.passthrough[2].intid', () => {
  refused((p) => { p.backend.passthrough!.push({ ...p.backend.passthrough![0], name: 'pdisk1', base: 0x0a003a00 }); }, 'backend.passthrough[2].intid', /passthrough\[0\]/);
});

pt('three transports in one page validate (all go to the backend)', () => {
  const p = withStorage();
  p.backend.passthrough!.push({ ...p.backend.passthrough![0], name: 'pdisk1', base: 0x0a003a00, intid: 77, dma: 'dma:pdisk1' });
  p.backend.regions.push({ name: 'dma:pdisk1', base: p.backend.regions.find((r) => r.name === 'dma:uplink0')!.base + 2 * MiB, size: MiB });
  validatePlatform(p);
});

pt.run();

const ranges = suite('broken disk ranges');

ranges('a disk that does not exist -> devices[6].backing.disk', () => {
  refused((p) => { range(p, 'vdc').disk = 'pdisk9'; }, 'devices[6].backing.disk', /pdisk9/);
});

ranges('a disk range on a platform without passthrough devices -> devices[6].backing.disk', () => {
  refused((p) => { delete p.backend.passthrough; }, 'devices[6].backing.disk');
});

ranges('an offset that is not a multiple of 4096 -> devices[7].backing.offset', () => {
  refused((p) => { range(p, 'vdd').offset += 512; }, 'devices[7].backing.offset', /4096/);
});

ranges('a size that is not a multiple of 4096 -> devices[6].backing.size', () => {
  refused((p) => { range(p, 'vdc').size = 4096 * 3 + 512; }, 'devices[6].backing.size', /4096/);
});

ranges('a size of 0 -> devices[6].backing.size', () => {
  refused((p) => { range(p, 'vdc').size = 0; }, 'devices[6].backing.size');
});

ranges('a negative offset -> devices[6].backing.offset', () => {
  refused((p) => { range(p, 'vdc').offset = -4096; }, 'devices[6].backing.offset');
});

ranges('two writable ranges that overlap by one page -> devices[7].backing', () => {
  refused((p) => { range(p, 'vdd').offset = 64 * MiB - 4096; }, 'devices[7].backing', /overlaps the writable range of devices\[6\] \(vdc\)/);
});

ranges('a read-only range may overlap a writable one, either way round', () => {
  const p = withStorage();
  range(p, 'vdd').offset = 0;
  p.devices[7].readOnly = true;
  validatePlatform(p);
  p.devices[7].readOnly = false;
  p.devices[6].readOnly = true;
  validatePlatform(p);
});

ranges('a disk range on a console -> devices[1].backing', () => {
  refused((p) => { p.devices[1].backing = { disk: 'pdisk0', offset: 0, size: 4096 }; }, 'devices[1].backing', /no backing store/);
});

ranges.run();

const creation = suite('creation of the frontend disks');

creation('a blk device on a disk range is a range of the driven disk; a range past its end and a disk not driven are refused naming the field; a RAM disk is still built', () => {
  const p = withStorage();
  const host = { region: () => new ArrayBuffer(64 * 1024) } as unknown as Host;
  const vdc = p.devices[6].backing as DiskRange;
  const big = new SharedDisk(new FakeDisk({ capacity: diskMinimumSize(p, 'pdisk0') }, () => new Uint8Array(0)), 'pdisk0');
  const env = { host, log: () => {}, vsock: {} as VsockHub, netSwitch: {} as EthernetSwitch, disks: new Map([['pdisk0', big]]) };
  const dev = DEVICE_KINDS.blk.create(p.devices[6], env) as BlkDevice;
  assert.is(dev.backing.capacity, vdc.size);
  assert.ok(isAsyncBacking(dev.backing));
  const small = new SharedDisk(new FakeDisk({ capacity: vdc.size - 4096 }, () => new Uint8Array(0)), 'pdisk0');
  assert.throws(() => DEVICE_KINDS.blk.create(p.devices[6], { ...env, disks: new Map([['pdisk0', small]]) }), /vdc\.backing: .*past the end of pdisk0/);
  assert.throws(() => DEVICE_KINDS.blk.create(p.devices[6], { ...env, disks: new Map() }), /vdc\.backing\.disk: the passthrough disk pdisk0 is not driven/);
  assert.ok(DEVICE_KINDS.blk.create(p.devices[0], env));
});

creation.run();
