// SPDX-License-Identifier: Apache-2.0
/**
 * A simulated device behind every passthrough window of a platform
 * description, for tests that build a backend of a platform with
 * `backend.passthrough` (the shipped one: pdisk0, uplink0): a virtio-blk
 * device of the size its disk ranges need, completing every request at its
 * QueueNotify, and a virtio-net card.
 */
import { diskMinimumSize, type Platform } from '../../src/config/platform.ts';
import type { SimBao } from './bao.ts';
import { SimBlkDevice } from './blk-device.ts';
import { SimNetDevice } from './net-device.ts';

/** Attaches a simulated device to `sim` for each of `p.backend.passthrough`; returns them by name. */
export function passthroughDevices(sim: SimBao, p: Platform): Map<string, SimBlkDevice | SimNetDevice> {
  const out = new Map<string, SimBlkDevice | SimNetDevice>();
  for (const d of p.backend.passthrough ?? []) {
    const at = { base: d.base, intid: d.intid, dma: d.dma };
    out.set(d.name, d.kind === 'virtio-blk'
      ? new SimBlkDevice(sim, { ...at, capacity: Math.max(diskMinimumSize(p, d.name), 512), autoComplete: true })
      : new SimNetDevice(sim, at));
  }
  return out;
}

/** {@link passthroughDevices}, returning `sim`. */
export function attachPassthroughDevices(sim: SimBao, p: Platform): SimBao {
  passthroughDevices(sim, p);
  return sim;
}
