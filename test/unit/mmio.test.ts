// SPDX-License-Identifier: Apache-2.0
/** The virtio-mmio version 2 register file (virtio 1.2 section 4.2.2), probed the way a driver does. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSystem } from '../driver/system.ts';
import { VirtioMmioDriver } from '../driver/virtio.ts';
import { BlkDriver } from '../driver/blk.ts';
import { RngDriver } from '../driver/rng.ts';
import { DeviceStatus, Feature, MmioReg } from '../../src/virtio/spec.ts';

function drv(name = 'vda') {
  const s = makeSystem();
  return { s, d: new VirtioMmioDriver(s.sim, s.model(name)) };
}

test('identification: MagicValue, Version 2, DeviceID per device, VendorID', () => {
  const s = makeSystem();
  for (const [name, id] of [['vda', 2], ['hvc0', 3], ['hwrng', 4], ['vdb', 2]] as const) {
    const d = new VirtioMmioDriver(s.sim, s.model(name));
    assert.is(d.readl(MmioReg.MagicValue), 0x74726976);
    assert.is(d.readl(MmioReg.Version), 2);
    assert.is(d.readl(MmioReg.DeviceID), id);
    assert.is(d.readl(MmioReg.VendorID), 0x4a4f4142);
  }
});

test('DeviceFeatures: transport bits in word 1 and 0, nothing beyond word 1', () => {
  const { d } = drv();
  const f = d.deviceFeatures();
  const bit = (b: number) => ((f[b >> 5] >>> (b & 31)) & 1) === 1;
  for (const b of [Feature.VERSION_1, Feature.ACCESS_PLATFORM, Feature.RING_EVENT_IDX, Feature.INDIRECT_DESC]) assert.ok(bit(b), `bit ${b}`);
  assert.not.ok(bit(Feature.RING_PACKED));
  d.writel(MmioReg.DeviceFeaturesSel, 2);
  assert.is(d.readl(MmioReg.DeviceFeatures), 0);
});

test('FEATURES_OK is refused without VERSION_1 or with a bit not offered', () => {
  const { d } = drv();
  assert.throws(() => d.probe(2, { accept: (b) => b !== Feature.VERSION_1 }), /refused FEATURES_OK/);
  d.reset();
  d.addStatus(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
  d.writel(MmioReg.DriverFeaturesSel, 1);
  d.writel(MmioReg.DriverFeatures, 1 | 2 | (1 << 2)); // VERSION_1, ACCESS_PLATFORM, RING_PACKED (not offered)
  d.addStatus(DeviceStatus.FEATURES_OK);
  assert.is(d.status() & DeviceStatus.FEATURES_OK, 0);
  // DRIVER_OK without FEATURES_OK is ignored
  d.addStatus(DeviceStatus.DRIVER_OK);
  assert.is(d.status() & DeviceStatus.DRIVER_OK, 0);
});

test('a driver without ACCESS_PLATFORM is accepted with a warning', () => {
  const { s, d } = drv();
  d.probe(2, { accept: (b) => b !== Feature.ACCESS_PLATFORM });
  assert.ok(s.logs.some((l) => l.includes('ACCESS_PLATFORM')));
});

test('write-only registers read 0; read-only and reserved registers ignore writes; all logged', () => {
  const { s, d } = drv();
  for (const off of [MmioReg.DeviceFeaturesSel, MmioReg.QueueSel, MmioReg.QueueNum, MmioReg.QueueNotify, MmioReg.QueueDescLow, MmioReg.SHMSel, 0x0c4, 0x0f8]) {
    assert.is(d.readl(off), 0, `offset 0x${off.toString(16)}`);
  }
  d.writel(MmioReg.MagicValue, 0);
  d.writel(MmioReg.Version, 7);
  d.writel(MmioReg.QueueNumMax, 1);
  assert.is(d.readl(MmioReg.MagicValue), 0x74726976);
  assert.is(d.readl(MmioReg.Version), 2);
  assert.is(d.readl(MmioReg.QueueNumMax), 256);
  assert.ok(s.logs.length > 5);
  assert.equal(s.sim.violations, []);
});

test('control registers: other widths and unaligned accesses read 0 and ignore writes', () => {
  const { s, d } = drv();
  const base = d.base;
  for (const w of [1, 2, 8]) assert.equal(s.sim.load(0, base + MmioReg.MagicValue, w), { lo: 0, hi: 0 }, `width ${w}`);
  assert.equal(s.sim.load(0, base + 2, 4), { lo: 0, hi: 0 }, 'unaligned');
  d.addStatus(DeviceStatus.ACKNOWLEDGE);
  s.sim.store(0, base + MmioReg.Status, 1, 0);
  s.sim.store(0, base + MmioReg.Status, 2, 0);
  s.sim.store(0, base + MmioReg.Status + 1, 4, 0);
  assert.is(d.status(), DeviceStatus.ACKNOWLEDGE, 'none of those reset the device');
});

test('config space: 8/16/32/64-bit aligned reads; unaligned or past the end read 0; read-only', () => {
  const { d } = drv();
  const sectors = (1 << 20) / 512;
  assert.is(d.readConfig(0, 8), sectors);
  assert.is(d.readConfig(0, 4), sectors);
  assert.is(d.readConfig(0, 2), sectors & 0xffff);
  assert.is(d.readConfig(1, 1), sectors >> 8);
  assert.is(d.readConfig(20, 4), 512, 'blk_size');
  assert.is(d.readConfig(1, 2), 0, 'unaligned 16-bit');
  assert.is(d.readConfig(2, 4), 0, 'unaligned 32-bit');
  assert.is(d.readConfig(4, 8), 0, 'unaligned 64-bit');
  assert.is(d.readConfig(0xfc, 4), 0, 'past the end');
  d.writeConfig(0, 4, 0);
  assert.is(d.readConfig(0, 4), sectors);
  const { d: r } = drv('hwrng');
  assert.is(r.readConfig(0, 4), 0, 'rng has no config');
});

test('SHM registers answer "no region": length -1', () => {
  const { d } = drv();
  d.writel(MmioReg.SHMSel, 0);
  assert.is(d.readl(MmioReg.SHMLenLow), 0xffffffff);
  assert.is(d.readl(MmioReg.SHMLenHigh), 0xffffffff);
});

test('queue registers: QueueNumMax per queue, 0 for a missing queue, layout ignored while ready', () => {
  const { s, d } = drv('hvc0');
  d.probe(3);
  d.writel(MmioReg.QueueSel, 1);
  assert.is(d.readl(MmioReg.QueueNumMax), 64);
  d.writel(MmioReg.QueueSel, 2);
  assert.is(d.readl(MmioReg.QueueNumMax), 0);
  assert.is(d.readl(MmioReg.QueueReady), 0);
  d.writel(MmioReg.QueueReady, 1);
  assert.is(d.readl(MmioReg.QueueReady), 0, 'missing queue cannot become ready');
  const q = d.setupQueue(0);
  d.writel(MmioReg.QueueSel, 0);
  d.writel(MmioReg.QueueNum, 8);
  assert.ok(s.logs.some((l) => l.includes('while QueueReady')));
  assert.is(q.num, 64);
});

test('Status 0 resets: status, InterruptStatus, QueueReady all 0; the device works again after', () => {
  const s = makeSystem();
  const b = new BlkDriver(s.sim, s.model('vda'));
  assert.is(b.read(0, 1).status, 0);
  b.drv.writel(MmioReg.Status, 0);
  assert.is(b.drv.status(), 0);
  assert.is(b.drv.readl(MmioReg.InterruptStatus), 0);
  b.drv.writel(MmioReg.QueueSel, 0);
  assert.is(b.drv.readl(MmioReg.QueueReady), 0);
  const again = new BlkDriver(s.sim, s.model('vda'));
  assert.is(again.write(0, new Uint8Array(512).fill(3)).status, 0);
});

test('a queue placed outside the shared region: DEVICE_NEEDS_RESET and a config interrupt', () => {
  const { d } = drv('hwrng');
  d.probe(4);
  d.writel(MmioReg.QueueSel, 0);
  d.writel(MmioReg.QueueNum, 64);
  d.writeAddr(MmioReg.QueueDescLow, 0x40000000); // frontend RAM: not shared
  d.writeAddr(MmioReg.QueueDriverLow, d.model.shmem.base);
  d.writeAddr(MmioReg.QueueDeviceLow, d.model.shmem.base + 0x1000);
  d.writel(MmioReg.QueueReady, 1);
  d.driverOk();
  assert.ok(d.needsReset());
  assert.is(d.handleInterrupt() & 2, 2);
});

test('bad QueueNum (not a power of 2, above max) and misaligned rings need a reset', () => {
  for (const [num, descOff] of [[3, 0], [128, 0], [0, 0], [64, 8]]) {
    const { d } = drv('hwrng');
    d.probe(4);
    d.writel(MmioReg.QueueSel, 0);
    d.writel(MmioReg.QueueNum, num);
    d.writeAddr(MmioReg.QueueDescLow, d.model.shmem.base + descOff);
    d.writeAddr(MmioReg.QueueDriverLow, d.model.shmem.base + 0x2000);
    d.writeAddr(MmioReg.QueueDeviceLow, d.model.shmem.base + 0x3000);
    d.writel(MmioReg.QueueReady, 1);
    assert.ok(d.needsReset(), `num ${num} desc +${descOff}`);
  }
});

test('a kick before DRIVER_OK is not lost: the avail ring is rescanned when the device starts', () => {
  const s = makeSystem();
  const d = new VirtioMmioDriver(s.sim, s.model('hwrng'));
  d.probe(4);
  const q = d.setupQueue(0);
  const a = d.pool.alloc(32);
  q.add([], [{ addr: a, len: 32 }]);
  q.forceKick(); // before DRIVER_OK: the device may not process
  assert.is(q.usedIdx, 0);
  d.driverOk();
  assert.is(q.usedIdx, 1);
  assert.is(q.getUsed()!.len, 32);
});

test('QueueReset (VIRTIO_F_RING_RESET): resets one queue, reads 1 until re-enabled', () => {
  const s = makeSystem();
  const r = new RngDriver(s.sim, s.model('hwrng'));
  assert.ok(r.drv.has(Feature.RING_RESET));
  r.read(8);
  r.drv.writel(MmioReg.QueueSel, 0);
  r.drv.writel(MmioReg.QueueReset, 1);
  assert.is(r.drv.readl(MmioReg.QueueReset), 1);
  assert.is(r.drv.readl(MmioReg.QueueReady), 0);
  r.q.release();
  const q = r.drv.setupQueue(0);
  assert.is(r.drv.readl(MmioReg.QueueReset), 0);
  const a = r.drv.pool.alloc(16);
  q.add([], [{ addr: a, len: 16 }]);
  q.kick();
  assert.is(q.getUsed()!.len, 16);
});

test('QueueReset without the feature negotiated is ignored', () => {
  const s = makeSystem();
  const r = new RngDriver(s.sim, s.model('hwrng'), { accept: (b) => b !== Feature.RING_RESET });
  r.drv.writel(MmioReg.QueueSel, 0);
  r.drv.writel(MmioReg.QueueReset, 1);
  assert.is(r.drv.readl(MmioReg.QueueReady), 1);
  assert.is(r.read(8).length, 8);
});

test('the driver cannot clear status bits except by writing 0', () => {
  const { d } = drv();
  d.probe(2);
  d.writel(MmioReg.Status, DeviceStatus.ACKNOWLEDGE);
  assert.is(d.status(), DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
});

test('queueNotified (the host\'s one call for a QueueNotify) does what write and afterComplete do', () => {
  // the same steps on two systems: through write + afterComplete, and through queueNotified
  const run = (viaNotified: boolean) => {
    const s = makeSystem();
    const d = new VirtioMmioDriver(s.sim, s.model('hwrng'));
    const t = s.backend.devices.get('hwrng')!.transport;
    const notify = (v: number): void => {
      if (viaNotified) t.queueNotified(v);
      else if (t.write(s.model('hwrng').window.base + MmioReg.QueueNotify, 4, v, 0)) t.afterComplete();
    };
    d.probe(4);
    const q = d.setupQueue(0);
    q.add([], [{ addr: d.pool.alloc(32), len: 32 }]);
    notify(0); // before DRIVER_OK: counted, nothing served
    const before = q.usedIdx;
    d.driverOk();
    q.add([], [{ addr: d.pool.alloc(16), len: 16 }]);
    notify(0);
    notify(7); // no such queue: logged, ignored
    const used: number[] = [];
    for (let u = q.getUsed(); u; u = q.getUsed()) used.push(u.len);
    return { before, used, counters: { ...t.counters }, device: { ...s.backend.devices.get('hwrng')!.device.counters }, logs: s.logs.filter((l) => l.includes('QueueNotify')) };
  };
  const a = run(false);
  const b = run(true);
  assert.equal(b, a);
  assert.equal(a.used, [32, 16]);
  assert.is(a.before, 0);
  assert.ok(a.logs.length >= 1, 'the missing queue was logged');
});

test('a queue handler that throws, reached by queueNotified: the device fails as through afterComplete', () => {
  const run = (viaNotified: boolean) => {
    const s = makeSystem();
    const d = new VirtioMmioDriver(s.sim, s.model('hwrng'));
    const dev = s.backend.devices.get('hwrng')!;
    const t = dev.transport;
    d.probe(4);
    const q = d.setupQueue(0);
    d.driverOk();
    let calls = 0;
    (dev.device as { processQueue(i: number): void }).processQueue = () => {
      calls++;
      throw new Error('handler bug');
    };
    q.add([], [{ addr: d.pool.alloc(16), len: 16 }]);
    if (viaNotified) t.queueNotified(0);
    else if (t.write(s.model('hwrng').window.base + MmioReg.QueueNotify, 4, 0, 0)) t.afterComplete();
    return { calls, needsReset: d.needsReset(), used: q.getUsed(), logs: s.logs.filter((l) => l.includes('handler bug')).length };
  };
  const a = run(false);
  const b = run(true);
  assert.equal(b, a);
  assert.is(a.calls, 1);
  assert.ok(a.needsReset, 'DEVICE_NEEDS_RESET after the handler threw');
  assert.is(a.used, null);
  assert.ok(a.logs >= 1, 'the exception was logged');
});

test.run();
