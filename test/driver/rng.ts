// SPDX-License-Identifier: Apache-2.0
/** A virtio-rng driver model (Linux `virtio-rng.c`): one writable buffer per request. */
import type { DeviceModel } from '../../src/config/platform.ts';
import type { SimBao } from '../sim/bao.ts';
import { DriverQueue, VirtioMmioDriver, type ProbeOptions } from './virtio.ts';

/** A virtio-rng frontend. */
export class RngDriver {
  readonly drv: VirtioMmioDriver;
  readonly q: DriverQueue;

  constructor(readonly sim: SimBao, model: DeviceModel, opts: ProbeOptions & { vcpu?: number } = {}) {
    this.drv = new VirtioMmioDriver(sim, model, opts.vcpu ?? 0);
    this.drv.probe(4, opts);
    this.q = this.drv.setupQueue(0);
    this.drv.driverOk();
  }

  /** Asks for `n` bytes; returns what the device filled. */
  read(n: number): Uint8Array {
    const a = this.drv.pool.alloc(n, 16);
    this.drv.mem.fill(a, n, 0);
    const head = this.q.add([], [{ addr: a, len: n }]);
    this.q.kick();
    this.drv.handleInterrupt();
    const used = this.q.getUsed();
    if (!used || used.id !== head) throw new Error('rng request not completed');
    const out = this.drv.mem.read(a, used.len);
    this.drv.pool.release(a);
    return out;
  }
}
