// SPDX-License-Identifier: Apache-2.0
/**
 * Requests per second through the simulated path (simulated Bao → dispatcher
 * → virtio-mmio → device → used ring → NOTIFY), on whatever engine runs it:
 * - register reads (Status), one trapped load each;
 * - 4 KiB block reads: one request = avail ring + QueueNotify + backing copy
 *   + used ring + NOTIFY + the driver's interrupt handling (2 more trapped
 *   accesses: InterruptStatus, InterruptACK).
 * Usage: node --import tsx bench/sim.ts [seconds per figure, default 1]
 */
import { BlkDriver } from '../test/driver/blk.ts';
import { makeSystem } from '../test/driver/system.ts';
import { MmioReg } from '../src/virtio/spec.ts';

const seconds = Number((globalThis as { process?: { argv: string[] } }).process?.argv[2] ?? 1) || 1;

function rate(label: string, body: () => void, unit = 'requests'): void {
  // warm up
  for (let i = 0; i < 200; i++) body();
  let n = 0;
  const start = Date.now();
  let now = start;
  while (now - start < seconds * 1000) {
    for (let i = 0; i < 100; i++) body();
    n += 100;
    now = Date.now();
  }
  const perSecond = (n * 1000) / (now - start);
  console.log(`${label}: ${Math.round(perSecond).toLocaleString('en-US')} ${unit}/s`);
}

const s = makeSystem({ sim: { garbageUpperBits: true } });
const blk = new BlkDriver(s.sim, s.model('vda'));
const statusAddr = s.model('vda').window.base + MmioReg.Status;

rate('register read (Status), one trapped load', () => {
  s.sim.load(0, statusAddr, 4);
});

const before = s.sim.trapped;
let reads = 0;
rate('4 KiB block read via QueueNotify', () => {
  const r = blk.read(8, 8);
  if (r.status !== 0) throw new Error('read failed');
  reads++;
});
console.log(`  (${((s.sim.trapped - before) / reads).toFixed(1)} trapped accesses per block read, ${(s.sim.notifyCount(0) / reads).toFixed(2)} NOTIFY)`);
