// SPDX-License-Identifier: Apache-2.0
/**
 * The register shadow (Host.regShadow) against the transport that owns the
 * registers: after every write of a seeded register fuzz over every device
 * of the test platform (and after every device-side change), every read the
 * shadow may answer — each side-effect-free control register at every
 * queue and feature selector value, each config offset at each width —
 * gives the transport's own value, and every other read (write-only and
 * reserved registers, InterruptStatus, odd widths and alignments, bytes
 * past the config, any read while the shadow is off) is left to the
 * transport. Reads through the simulated Bao are answered from the shadow
 * the way the firmware answers them, and agree as well.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RegShadowCtrl, RegShadowWord, REG_SHADOW_WORDS } from '../../src/host.ts';
import { MmioReg } from '../../src/virtio/spec.ts';
import { registerFuzz, SHADOW_MUST_ANSWER } from '../driver/register-fuzz.ts';
import { makeSystem } from '../driver/system.ts';
import { BlkDriver } from '../driver/blk.ts';

const SEEDS = [1, 2, 3, 0x5eed];
const STEPS = 500;

for (const seed of SEEDS) {
  test(`seed ${seed}: ${STEPS} fuzz steps on every device; the shadow answers what the transport answers, and nothing else`, () => {
    const r = registerFuzz(seed, STEPS);
    assert.equal(r.mismatches.slice(0, 10), [], `${r.mismatches.length} mismatches`);
    assert.ok(r.compared > STEPS * 200, `reads compared: ${r.compared}`);
    // the fuzz reached varied states, so the comparisons meant something
    const seen = (off: number): number => r.seen.get(off)?.size ?? 0;
    assert.ok(seen(MmioReg.Status) >= 5, `Status values seen: ${[...(r.seen.get(MmioReg.Status) ?? [])]}`);
    assert.ok(seen(MmioReg.ConfigGeneration) >= 3, 'ConfigGeneration changed');
    assert.ok(seen(MmioReg.QueueReady) === 2, 'QueueReady 0 and 1');
    assert.ok(seen(MmioReg.QueueReset) === 2, 'QueueReset 0 and 1');
    assert.ok(seen(MmioReg.QueueNumMax) >= 2, 'QueueNumMax of a queue and of none');
    assert.ok(seen(MmioReg.DeviceFeatures) >= 3, 'DeviceFeatures words');
    assert.ok(seen(MmioReg.DeviceID) >= 3, 'every device kind');
    assert.ok(r.servedBySim > STEPS / 4, `reads the simulated host served from the shadow: ${r.servedBySim}`);
    assert.equal(r.system.sim.violations.map((v) => v.what), []);
  });
}

test('a driver\'s probe and requests are served with the shadow on; the shadow answered its register reads', () => {
  const s = makeSystem();
  const t = s.backend.devices.get('vda')!.transport;
  assert.is(t.regShadow.length, REG_SHADOW_WORDS);
  assert.is(t.regShadow[RegShadowWord.CTRL], RegShadowCtrl.VALID);
  const reads = s.backend.dispatcher.counters(s.model('vda').dmId).reads;
  const blk = new BlkDriver(s.sim, s.model('vda'));
  const data = new Uint8Array(1024).map((_, i) => (i * 3) & 0xff);
  assert.is(blk.write(4, data).status, 0);
  assert.equal(Array.from(blk.read(4, 2).data), Array.from(data));
  assert.is(blk.drv.readConfig(0, 8), (1024 * 1024) / 512, 'capacity (sectors), from the shadow');
  const shadowReads = t.regShadow[RegShadowWord.N_READS];
  assert.ok(shadowReads >= 10, `reads answered from the shadow: ${shadowReads}`);
  // the rest (InterruptStatus, with no data plane in the simulation) reached JS
  assert.ok(s.backend.dispatcher.counters(s.model('vda').dmId).reads > reads);
});

test('with the data plane off, the shadow is off too and every read reaches the transport; on again, it serves again', () => {
  const s = makeSystem();
  const t = s.backend.devices.get('hwrng')!.transport;
  const base = s.model('hwrng').window.base;
  assert.is(t.setDataPlaneEnabled(false), true);
  assert.is(t.dataPlaneState, 'off');
  const n0 = t.regShadow[RegShadowWord.N_READS];
  const js0 = t.counters.reads;
  assert.is(s.sim.load(0, base + MmioReg.MagicValue, 4).lo, 0x74726976);
  assert.is(t.regShadow[RegShadowWord.N_READS], n0);
  assert.is(t.counters.reads, js0 + 1);
  t.setDataPlaneEnabled(true);
  assert.is(s.sim.load(0, base + MmioReg.Version, 4).lo, 2);
  assert.is(t.regShadow[RegShadowWord.N_READS], n0 + 1);
  assert.is(t.counters.reads, js0 + 1);
});

test('the shadow\'s readable set is exactly the side-effect-free control registers', () => {
  const s = makeSystem();
  const sh = s.backend.devices.get('hvc0')!.transport.regShadow;
  const readable: number[] = [];
  for (let i = 0; i < 64; i++) if ((sh[RegShadowWord.READABLE_LO + (i >> 5)] >>> (i & 31)) & 1) readable.push(i * 4);
  assert.equal(readable, [...SHADOW_MUST_ANSWER].sort((a, b) => a - b));
});

test('without a host shadow (option off, or a host without one) every read reaches JS', () => {
  const s = makeSystem({ backend: { dataPlane: false } });
  const t = s.backend.devices.get('vda')!.transport;
  assert.is(t.regShadow[RegShadowWord.CTRL], 0);
  assert.is(t.dataPlaneState, null);
  new BlkDriver(s.sim, s.model('vda'));
  assert.is(t.regShadow[RegShadowWord.N_READS], 0);
  const s2 = makeSystem({ sim: { regShadow: false } });
  new BlkDriver(s2.sim, s2.model('vda'));
  assert.is(s2.backend.devices.get('vda')!.transport.regShadow[RegShadowWord.N_READS], 0);
});

test.run();
