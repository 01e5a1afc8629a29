// SPDX-License-Identifier: Apache-2.0
/**
 * The register shadow against the transport: a seeded register fuzz over
 * every device of the test platform, and after every write (and every
 * device-side change) a comparison of every register the shadow may answer
 * — every control register at every queue and feature selector value, and
 * every config offset at every width — between the shadow lookup
 * (test/sim/regshadow.ts, the one the simulated host serves with and the C
 * lookup is held to) and the transport's own answer. Used by
 * test/unit/regshadow.test.ts (Node and QuickJS) and, for the states it
 * visits, test/native/regshadow.test.ts (the C lookup under ASan).
 */
import type { DeviceModel } from '../../src/config/platform.ts';
import { RegShadowWord } from '../../src/host.ts';
import { ConsoleDevice } from '../../src/devices/console.ts';
import type { VirtioMmioTransport } from '../../src/virtio/mmio.ts';
import { DeviceStatus, MmioReg } from '../../src/virtio/spec.ts';
import { Prng } from '../sim/prng.ts';
import { regShadowRead } from '../sim/regshadow.ts';
import { makeSystem, type System } from './system.ts';
import { VirtioMmioDriver } from './virtio.ts';

/**
 * The control registers whose read has no side effect and whose value is
 * the transport's (virtio 1.2 4.2.2: the read-only registers, and the
 * read/write QueueReady, Status and QueueReset), which the shadow must
 * answer; InterruptStatus is the data plane's word (answered from there).
 */
export const SHADOW_MUST_ANSWER: readonly number[] = [
  MmioReg.MagicValue, MmioReg.Version, MmioReg.DeviceID, MmioReg.VendorID, MmioReg.DeviceFeatures, MmioReg.QueueNumMax,
  MmioReg.QueueReady, MmioReg.Status, MmioReg.SHMLenLow, MmioReg.SHMLenHigh, MmioReg.SHMBaseLow, MmioReg.SHMBaseHigh,
  MmioReg.QueueReset, MmioReg.ConfigGeneration,
];

/** One read the shadow was asked: offset in the window, width, and what the transport answers (undefined: the shadow must decline). */
export interface ShadowProbe {
  off: number;
  width: number;
  expected?: { lo: number; hi: number };
}

/** A state the fuzz visited: the shadow and config as they were, and the reads asked of them. */
export interface ShadowState {
  shadow: Uint32Array;
  config: Uint8Array;
  probes: ShadowProbe[];
}

/** What {@link registerFuzz} found. */
export interface FuzzReport {
  system: System;
  /** comparisons made (reads asked of the shadow) */
  compared: number;
  /** disagreements, as text (empty when the shadow and the transport agree) */
  mismatches: string[];
  /** distinct values seen per shadowed register (coverage: the fuzz reached varied states) */
  seen: Map<number, Set<number>>;
  /** reads the simulated host answered from the shadow on the real path */
  servedBySim: number;
}

const CONTROL_OFFSETS = [
  MmioReg.DeviceFeaturesSel, MmioReg.DriverFeatures, MmioReg.DriverFeaturesSel, MmioReg.QueueSel, MmioReg.QueueNum,
  MmioReg.QueueReady, MmioReg.QueueNotify, MmioReg.InterruptACK, MmioReg.Status, MmioReg.QueueDescLow, MmioReg.QueueDescHigh,
  MmioReg.QueueDriverLow, MmioReg.QueueDriverHigh, MmioReg.QueueDeviceLow, MmioReg.QueueDeviceHigh, MmioReg.SHMSel,
  MmioReg.QueueReset, MmioReg.MagicValue, MmioReg.DeviceFeatures, MmioReg.QueueNumMax, MmioReg.ConfigGeneration,
];

function value(p: Prng, model: DeviceModel): number {
  switch (p.below(7)) {
    case 0: return p.below(4);
    case 1: return p.pick([0, 1, 3, 7, 0xb, 0xf, 0x4f, 0x80, 0x8f, 0xff]);
    case 2: return p.pick([1, 2, 4, 8, 16, 64, 256, 3]);
    case 3: return model.shmem.base + p.below(model.shmem.size / 16) * 16;
    case 4: return p.pick([0x3, 0x103, 0x100, 0x30000000, 0xffffffff]); // feature words: VERSION_1 | ACCESS_PLATFORM (| RING_RESET), …
    default: return p.u32();
  }
}

/**
 * Runs `steps` fuzz steps on the test platform with seed `seed`; after every
 * write compares the shadow with the transport (see the file comment).
 * `record` receives each compared state (for the native test).
 */
export function registerFuzz(seed: number, steps: number, record?: (s: ShadowState) => void): FuzzReport {
  const system = makeSystem({ sim: { seed } });
  const { sim, backend } = system;
  const p = new Prng(seed ^ 0x5a5a);
  const report: FuzzReport = { system, compared: 0, mismatches: [], seen: new Map(), servedBySim: 0 };
  const scratch = new Uint32Array(backend.devices.values().next().value!.transport.regShadow.length);
  const v = new Uint32Array(2);
  const out = new Uint32Array(2);
  /** the high half of an 8-byte read (IoClient.read) */
  const hiWord = new Uint32Array(1);
  let on = true;

  /** The shadow's answer (on a copy: the probe must not count) against the transport's, for every read it may answer. */
  const compare = (model: DeviceModel, t: VirtioMmioTransport, why: string): void => {
    const cfg = t.device.config;
    const state: ShadowState | undefined = record ? { shadow: t.regShadow.slice(), config: cfg.slice(), probes: [] } : undefined;
    const ask = (off: number, width: number, mustAnswer: boolean): void => {
      scratch.set(t.regShadow);
      const answered = regShadowRead(scratch, cfg, off, width, v);
      report.compared++;
      let expected: { lo: number; hi: number } | undefined;
      if (mustAnswer) {
        hiWord[0] = 0;
        out[0] = t.read(model.window.base + off, width, hiWord);
        out[1] = hiWord[0];
        expected = { lo: out[0] >>> 0, hi: width === 8 ? out[1] >>> 0 : 0 };
        if (width < 4) expected.lo &= width === 1 ? 0xff : 0xffff;
      }
      state?.probes.push({ off, width, expected });
      const what = `seed ${seed}, ${model.name}, after ${why}: ${width}-byte read at 0x${off.toString(16)}`;
      if (answered !== mustAnswer) {
        report.mismatches.push(`${what}: shadow ${answered ? 'answered' : 'declined'}, expected it to ${mustAnswer ? 'answer' : 'decline'}`);
      } else if (expected && (v[0] !== expected.lo || v[1] !== expected.hi)) {
        report.mismatches.push(`${what}: shadow 0x${v[1].toString(16)}:${v[0].toString(16)}, transport 0x${expected.hi.toString(16)}:${expected.lo.toString(16)}`);
      }
      if (expected && off < MmioReg.Config) {
        let s = report.seen.get(off);
        if (!s) report.seen.set(off, (s = new Set()));
        s.add(expected.lo);
      }
    };
    for (let off = 0; off < MmioReg.Config; off += 4) {
      ask(off, 4, on && SHADOW_MUST_ANSWER.includes(off));
      ask(off + 1 + p.below(3), 4, false);
      ask(off, p.pick([1, 2, 8]), false);
    }
    for (const width of [1, 2, 4, 8]) {
      for (let c = 0; c < cfg.length + 9; c++) ask(MmioReg.Config + c, width, on && c % width === 0 && c + width <= cfg.length);
    }
    ask(-4, 4, false);
    if (state) record!(state);
  };

  const models = system.platform.devices;
  const drivers = new Map(models.map((m) => [m.name, new VirtioMmioDriver(sim, m, 0)]));
  const transportOf = (m: DeviceModel): VirtioMmioTransport => backend.devices.get(m.name)!.transport;

  /** A write through the simulated Bao, then the comparison; every selector value is visited by writes of its own. */
  const store = (m: DeviceModel, off: number, width: number, val: number, why: string): void => {
    sim.store(p.below(3), m.window.base + off, width, val >>> 0, width === 8 ? p.u32() : 0);
    compare(m, transportOf(m), why);
  };

  for (let step = 0; step < steps; step++) {
    const m = p.pick(models);
    const t = transportOf(m);
    const drv = drivers.get(m.name)!;
    const r = p.below(100);
    if (r < 55) {
      const off = p.chance(0.9) ? p.pick(CONTROL_OFFSETS) : p.below(0x40) * 4;
      const width = p.chance(0.9) ? 4 : p.pick([1, 2, 8]);
      store(m, off, width, value(p, m), `write of 0x${off.toString(16)}`);
    } else if (r < 65) {
      // a whole driver bring-up, every write of it compared
      try {
        drv.probe(t.device.deviceId, { accept: () => p.chance(0.9) });
        for (let q = 0; q < t.device.numQueues; q++) {
          if (p.chance(0.8)) {
            drv.setupQueue(q, p.chance(0.5) ? 1 << p.below(5) : undefined);
            compare(m, t, `queue ${q} set up`);
            if (p.chance(0.2)) store(m, MmioReg.QueueReset, 4, 1, `QueueReset of queue ${q}`);
          }
        }
        if (p.chance(0.8)) drv.driverOk();
      } catch {
        // a refusal (FEATURES_OK, a queue left ready by the fuzz, the pool full): the fuzz goes on
        drivers.set(m.name, new VirtioMmioDriver(sim, m, 0));
      }
      compare(m, t, 'a driver bring-up');
    } else if (r < 72) {
      const cfg = t.device.config;
      const width = p.pick([1, 2, 4, 8]);
      store(m, MmioReg.Config + p.below(cfg.length + 4), width, p.u32(), 'a config write');
    } else if (r < 80) {
      // device-side changes: a configuration change, a console resize, a failure
      const d = t.device;
      if (d instanceof ConsoleDevice && p.chance(0.5)) d.setSize(1 + p.below(300), 1 + p.below(100));
      else if (p.chance(0.6)) t.configChanged();
      else t.fault(new Error('fuzz: device failure'));
      compare(m, t, 'a device-side change');
    } else if (r < 84) {
      // the data plane (and the shadow with it) off, or on again
      on = !on;
      for (const x of models) transportOf(x).setDataPlaneEnabled(on);
      compare(m, t, on ? 'the shadow turned on' : 'the shadow turned off');
    } else if (r < 90) {
      store(m, MmioReg.Status, 4, p.chance(0.5) ? 0 : t.deviceStatus | p.pick([1, 2, 8, 4, 0x80]), 'a Status write');
    } else {
      // every selector value, one write each
      for (let q = 0; q <= t.device.numQueues + 1; q++) store(m, MmioReg.QueueSel, 4, q === t.device.numQueues + 1 ? p.u32() : q, `QueueSel ${q}`);
      for (let f = 0; f < 4; f++) store(m, MmioReg.DeviceFeaturesSel, 4, f === 3 ? p.u32() : f, `DeviceFeaturesSel ${f}`);
    }
    // the real path: a read through the simulated Bao, answered from the shadow when it can, as the transport would
    const off = p.chance(0.7) ? p.pick(SHADOW_MUST_ANSWER) : MmioReg.Config + p.below(t.device.config.length + 2);
    const width = off < MmioReg.Config ? 4 : p.pick([1, 2, 4]);
    const before = t.regShadow[RegShadowWord.N_READS];
    const got = sim.load(1, m.window.base + off, width);
    report.servedBySim += t.regShadow[RegShadowWord.N_READS] - before;
    hiWord[0] = 0;
    out[0] = t.read(m.window.base + off, width, hiWord);
    out[1] = hiWord[0];
    const want = width === 1 ? out[0] & 0xff : width === 2 ? out[0] & 0xffff : out[0] >>> 0;
    if (got.lo !== want || got.hi !== 0) {
      report.mismatches.push(`seed ${seed}, ${m.name}, step ${step}: load of ${width} bytes at 0x${off.toString(16)} got 0x${got.lo.toString(16)}, the transport says 0x${want.toString(16)}`);
    }
  }
  // the devices end in a state a driver can use (a failure needs a reset; the fuzz leaves no device wedged)
  for (const m of models) if (transportOf(m).deviceStatus & DeviceStatus.DEVICE_NEEDS_RESET) store(m, MmioReg.Status, 4, 0, 'the final reset');
  return report;
}
