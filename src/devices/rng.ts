// SPDX-License-Identifier: Apache-2.0
/**
 * virtio-rng, the entropy device (virtio 1.2 section 5.4): one requestq;
 * the device fills each device-writable buffer from the platform's entropy
 * source (`Host.entropy`) and returns the bytes written.
 *
 * It never makes entropy up: if the source gives fewer bytes than asked,
 * the chain is returned with what it got (possibly 0). If the platform only
 * has a weak source (`Host.entropyQuality === 'weak'`: timer jitter and
 * counters), the device says so once in the log when it is created.
 */
import type { EntropyQuality } from '../host.ts';
import type { DeviceContext, DeviceCounters, VirtioDevice } from '../virtio/device.ts';
import { DeviceId } from '../virtio/spec.ts';

/** What the rng device needs from the host. */
export interface EntropySource {
  /** Fills `buf` with entropy; returns bytes written (Host.entropy). */
  entropy(buf: Uint8Array): number;
  /** the kind of source (Host.entropyQuality) */
  readonly entropyQuality: EntropyQuality;
}

/** Options of {@link RngDevice}. */
export interface RngOptions {
  /** QueueNumMax (default 64) */
  queueNumMax?: number;
  /** where the one-time weak-entropy warning goes */
  log?: (line: string) => void;
}

/** Counters of a virtio-rng device. */
export interface RngCounters extends DeviceCounters {
  /** entropy bytes delivered */
  bytes: number;
  /** requests the source could not fill completely */
  shortReads: number;
}

/** A virtio-rng device (device ID 4). */
export class RngDevice implements VirtioDevice {
  readonly deviceId = DeviceId.ENTROPY;
  readonly deviceFeatures = new Uint32Array(2);
  readonly numQueues = 1;
  readonly config = new Uint8Array(0);
  readonly counters: RngCounters = { chains: 0, errors: 0, bytes: 0, shortReads: 0 };

  private ctx: DeviceContext | null = null;
  private readonly numMax: number;

  /**
   * @param name for logs, e.g. 'hwrng'
   * @param source the entropy source (the Host)
   */
  constructor(readonly name: string, private readonly source: EntropySource, options: RngOptions = {}) {
    this.numMax = options.queueNumMax ?? 64;
    if (source.entropyQuality === 'weak' && options.log) {
      options.log(`${name}: warning: the platform has no hardware entropy source; virtio-rng serves weak entropy (timer jitter), not fit for keys`);
    }
  }

  /** QueueNumMax of the request queue. */
  queueNumMax(): number {
    return this.numMax;
  }

  /** See {@link VirtioDevice.activate}. */
  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
  }

  /** See {@link VirtioDevice.reset}. */
  reset(): void {
    this.ctx = null;
  }

  /** Fills every available request. @throws QueueError for a malformed chain */
  processQueue(index: number): void {
    const ctx = this.ctx;
    if (!ctx || index !== 0) return;
    const q = ctx.queues[0];
    const chain = ctx.chain;
    const mem = ctx.mem;
    try {
      while (q.pop(chain)) {
        this.counters.chains++;
        let written = 0;
        let short = false;
        for (let i = chain.firstWritable; i < chain.count && !short; i++) {
          const len = chain.len[i];
          if (len === 0) continue;
          const off = mem.check(chain.addr[i], len);
          if (off < 0) {
            this.counters.errors++;
            ctx.log(`buffer 0x${chain.addr[i].toString(16)}+${len} outside the shared region`);
            break;
          }
          const got = this.source.entropy(mem.u8.subarray(off, off + len));
          const n = got > 0 ? Math.min(got, len) : 0;
          written += n;
          if (n < len) short = true;
        }
        if (short) this.counters.shortReads++;
        this.counters.bytes += written;
        q.push(chain.head, written);
      }
    } finally {
      if (this.ctx) ctx.signalUsed(q);
    }
  }
}
