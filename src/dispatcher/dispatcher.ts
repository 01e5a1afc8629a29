// SPDX-License-Identifier: Apache-2.0
/**
 * The remio dispatcher: takes requests from Bao for each device model (DM),
 * routes them by absolute guest-physical address to I/O clients, completes
 * them, and sends NOTIFY when a device raises its interrupt.
 *
 * The ABI is `remio-abi.md` (Bao `src/core/remio.c`, hypercall 0x2; ops
 * WRITE 0, READ 1, ASK 2, NOTIFY 3). The structure follows the Linux Bao I/O
 * dispatcher (`drivers/virt/bao/io-dispatcher/`): DMs, I/O clients by range,
 * a default client, and the QueueNotify fast path that completes the write
 * before the queue is processed.
 *
 * Hot path: one preallocated `Uint32Array` for ASK results and one for read
 * values; no allocation, no BigInt, no closures per request.
 */
import { RemioOp, RemioOut, RemioStatus, REMIO_OUT_WORDS, type Host } from '../host.ts';
import type { IoClient, IoRange } from './client.ts';
import { describeError, RateLimitedLog, type LogSink } from './log.ts';

/** Counters of one device model, plain numbers readable from JS. */
export interface DmCounters {
  /** requests taken with ASK */
  requests: number;
  /** READ requests */
  reads: number;
  /** WRITE requests */
  writes: number;
  /** NOTIFY hypercalls issued */
  notifies: number;
  /** non-zero hypercall statuses (other than an empty ASK), bad requests, client exceptions */
  errors: number;
  /** times {@link Dispatcher.service} ran for this DM */
  services: number;
  /** services that stopped at the per-service request bound and rescheduled themselves */
  deferrals: number;
}

/** What the dispatcher needs to know of a device model (from the platform description). */
export interface DeviceModelInfo {
  /** Bao's dm_id: index of the backend entry in the backend VM's remio device list (0..255) */
  dmId: number;
  /** for logs, e.g. 'vda' */
  name: string;
  /** INTID Bao raises in the backend when a request is queued for this DM */
  backendIntid: number;
}

/** Options of {@link Dispatcher}. */
export interface DispatcherOptions {
  /** where log lines go (default: host.write with a newline) */
  log?: LogSink;
  /**
   * Most requests one {@link Dispatcher.service} call takes before it yields
   * and reschedules itself with host.setTimeout(…, 0) (default 256): a
   * frontend that never stops issuing requests cannot starve the others.
   */
  maxRequestsPerService?: number;
}

/** Most device models the dispatcher holds (the Linux driver's limit). */
export const MAX_DEVICE_MODELS = 16;

interface DmState {
  info: DeviceModelInfo;
  ranges: IoRange[];
  counters: DmCounters;
  log: RateLimitedLog;
  inService: boolean;
  notifyPending: boolean;
  rescheduled: boolean;
  /** NOTIFY for this DM (preallocated, handed to the DM's devices) */
  raise: () => void;
  /** service() for this DM (preallocated, for rescheduling) */
  again: () => void;
}

const TWO32 = 4294967296;
const WIDTH_MASK = [0, 0xff, 0xffff, 0, 0xffffffff, 0, 0, 0, 0xffffffff];

/**
 * The remio dispatcher for one backend VM.
 *
 * Usage: {@link Dispatcher.addDeviceModel} for each DM, {@link
 * Dispatcher.register} an I/O client for each address range (a virtio-mmio
 * window), then call {@link Dispatcher.serviceIrq} from the host's IRQ
 * handler (or {@link Dispatcher.service} with a DM id).
 */
export class Dispatcher {
  private readonly dms: (DmState | undefined)[] = [];
  /** DMs by backend INTID (a sparse array: an element load costs QuickJS less than a Map.get call) */
  private readonly byIntid: (DmState | undefined)[] = [];
  private readonly out = new Uint32Array(REMIO_OUT_WORDS);
  private readonly val = new Uint32Array(2);
  /** NOTIFY's own scratch, so a NOTIFY never disturbs a request being answered */
  private readonly notifyOut = new Uint32Array(REMIO_OUT_WORDS);
  private readonly sink: LogSink;
  private readonly maxRequests: number;
  private readonly defaultClient: IoClient;
  private count = 0;

  /**
   * @param host the world (only `remio`, `setTimeout` and `write` are used)
   * @param options see {@link DispatcherOptions}
   */
  constructor(private readonly host: Host, options: DispatcherOptions = {}) {
    this.sink = options.log ?? ((line: string) => host.write(line + '\n'));
    this.maxRequests = options.maxRequestsPerService ?? 256;
    const sink = this.sink;
    const log = new RateLimitedLog(sink, 'remio default client: ');
    this.defaultClient = {
      read(addr: number, width: number): void {
        log.log(`${width}-byte read at 0x${addr.toString(16)}: no device there, answered 0`);
      },
      write(addr: number, width: number, lo: number, hi: number): void {
        log.log(`${width}-byte write of 0x${hi.toString(16)}:${lo.toString(16)} at 0x${addr.toString(16)}: no device there, ignored`);
      },
    };
  }

  /**
   * Adds a device model.
   * @throws RangeError for a dmId outside 0..255, a duplicate dmId or backend
   *   INTID, or more than {@link MAX_DEVICE_MODELS} DMs
   */
  addDeviceModel(info: DeviceModelInfo): void {
    const { dmId, backendIntid } = info;
    if (!Number.isInteger(dmId) || dmId < 0 || dmId > 255) throw new RangeError(`dmId ${dmId} outside 0..255`);
    if (this.dms[dmId]) throw new RangeError(`dmId ${dmId} added twice`);
    if (this.byIntid[backendIntid] !== undefined) throw new RangeError(`backend INTID ${backendIntid} used by two DMs`);
    if (this.count >= MAX_DEVICE_MODELS) throw new RangeError(`more than ${MAX_DEVICE_MODELS} device models`);
    const dm: DmState = {
      info: { ...info },
      ranges: [],
      counters: { requests: 0, reads: 0, writes: 0, notifies: 0, errors: 0, services: 0, deferrals: 0 },
      log: new RateLimitedLog(this.sink, `dm ${dmId} (${info.name}): `),
      inService: false,
      notifyPending: false,
      rescheduled: false,
      // notify(dmId) without the call and the lookup
      raise: () => {
        if (dm.inService) dm.notifyPending = true;
        else this.sendNotify(dm);
      },
      again: () => {
        dm.rescheduled = false;
        this.service(dmId);
      },
    };
    this.dms[dmId] = dm;
    this.byIntid[backendIntid] = dm;
    this.count++;
  }

  /**
   * Routes accesses to `[base, base + size)` of DM `dmId` to `client`.
   * @throws RangeError for an unknown DM or a range overlapping another of the same DM
   */
  register(dmId: number, base: number, size: number, client: IoClient): void {
    const dm = this.dms[dmId];
    if (!dm) throw new RangeError(`no device model ${dmId}`);
    for (const r of dm.ranges) {
      if (base < r.base + r.size && r.base < base + size) throw new RangeError(`range 0x${base.toString(16)}+0x${size.toString(16)} overlaps another client of dm ${dmId}`);
    }
    dm.ranges.push({ base, size, client });
  }

  /** A function that raises DM `dmId`'s frontend interrupt (NOTIFY), for device transports. @throws RangeError for an unknown DM */
  interruptFor(dmId: number): () => void {
    const dm = this.dms[dmId];
    if (!dm) throw new RangeError(`no device model ${dmId}`);
    return dm.raise;
  }

  /** The DM ids added, ascending. */
  dmIds(): number[] {
    const ids: number[] = [];
    this.dms.forEach((d, i) => { if (d) ids.push(i); });
    return ids;
  }

  /** Counters of DM `dmId` (the live object). @throws RangeError for an unknown DM */
  counters(dmId: number): DmCounters {
    const dm = this.dms[dmId];
    if (!dm) throw new RangeError(`no device model ${dmId}`);
    return dm.counters;
  }

  /**
   * Services the DM whose backend interrupt is `intid`. Returns false (and
   * logs) if no DM has that interrupt.
   */
  serviceIrq(intid: number): boolean {
    const dm = this.byIntid[intid];
    if (dm === undefined) {
      this.sink(`remio: interrupt ${intid} belongs to no device model`);
      return false;
    }
    this.service(dm.info.dmId);
    return true;
  }

  /**
   * Takes and answers the requests pending for DM `dmId`: ASK until Bao
   * answers +1 (EMPTY); any other non-zero status is logged with its code
   * and ends the loop. At most `maxRequestsPerService` requests; if more may
   * be pending the DM is serviced again from a zero-delay timer. NOTIFYs
   * raised meanwhile are coalesced into one at the end. Never throws.
   * Returns the number of requests answered.
   */
  service(dmId: number): number {
    const dm = this.dms[dmId];
    if (!dm) {
      this.sink(`remio: service of unknown device model ${dmId}`);
      return 0;
    }
    if (dm.inService) return 0; // re-entered from a device callback: the running loop will see the work
    dm.inService = true;
    dm.counters.services++;
    let handled = 0;
    try {
      const host = this.host;
      const out = this.out;
      const val = this.val;
      const c = dm.counters;
      const ranges = dm.ranges;
      const defaultClient = this.defaultClient;
      const maxRequests = this.maxRequests;
      for (;;) {
        if (handled >= maxRequests) {
          c.deferrals++;
          if (!dm.rescheduled) {
            dm.rescheduled = true;
            host.setTimeout(dm.again, 0);
          }
          break;
        }
        const st = host.remio(dmId, 0, RemioOp.ASK, 0, 0, 0, out);
        if (st === RemioStatus.EMPTY) break;
        if (st !== RemioStatus.OK) {
          c.errors++;
          dm.log.log(`ASK failed with status ${st}`);
          break;
        }
        handled++;
        // Answer the request (inlined: one call less per request).
        const addr = out[RemioOut.ADDR_LO] + out[RemioOut.ADDR_HI] * TWO32;
        const op = out[RemioOut.OP];
        const width = out[RemioOut.WIDTH];
        const id = out[RemioOut.REQUEST_ID];
        c.requests++;
        // route by address (inlined: one call less per request)
        let client = defaultClient;
        for (let i = 0, n = ranges.length; i < n; i++) {
          const r = ranges[i];
          if (addr >= r.base && addr - r.base < r.size) {
            client = r.client;
            break;
          }
        }
        const goodWidth = width === 1 || width === 2 || width === 4 || width === 8;
        if (!goodWidth) {
          c.errors++;
          dm.log.log(`request ${id} at 0x${addr.toString(16)} has width ${width}: ${op === RemioOp.READ ? 'answered 0' : 'ignored'}`);
        }
        val[0] = 0;
        val[1] = 0;
        if (op === RemioOp.READ) {
          c.reads++;
          if (goodWidth) {
            try {
              client.read(addr, width, val);
            } catch (e) {
              this.fault(dm, client, e);
              val[0] = 0;
              val[1] = 0;
            }
            // Bao stores all 64 bits into the frontend register: zero-extend.
            if (width !== 8) {
              val[0] = (val[0] & WIDTH_MASK[width]) >>> 0;
              val[1] = 0;
            }
          }
        } else if (op === RemioOp.WRITE) {
          c.writes++;
          if (goodWidth) {
            // Bao reports the whole 64-bit source register: mask to the width.
            const lo = width === 8 ? out[RemioOut.VALUE_LO] : (out[RemioOut.VALUE_LO] & WIDTH_MASK[width]) >>> 0;
            const hi = width === 8 ? out[RemioOut.VALUE_HI] : 0;
            try {
              client.write(addr, width, lo, hi);
            } catch (e) {
              this.fault(dm, client, e);
            }
          }
        } else {
          c.errors++;
          dm.log.log(`request ${id} has unknown op ${op}`);
        }
        // Complete, echoing op and request_id; the frontend vCPU resumes.
        const done = host.remio(dmId, addr, op, val[0], val[1], id, out);
        if (done !== RemioStatus.OK) {
          c.errors++;
          dm.log.log(`completion of request ${id} (op ${op}) failed with status ${done}`);
        }
        // Deferred work (the queue a QueueNotify named) runs after completion;
        // loads defer none (IoClient.afterComplete), so a read skips the call.
        if (op === RemioOp.WRITE && client.afterComplete) {
          try {
            client.afterComplete();
          } catch (e) {
            this.fault(dm, client, e);
          }
        }
      }
    } catch (e) {
      dm.counters.errors++;
      dm.log.log(`service loop error: ${describeError(e)}`);
    } finally {
      dm.inService = false;
    }
    if (dm.notifyPending) {
      dm.notifyPending = false;
      this.sendNotify(dm);
    }
    return handled;
  }

  /**
   * Raises DM `dmId`'s interrupt in the frontend (NOTIFY). Inside a service
   * of that DM the NOTIFY is sent once, when the loop ends.
   */
  notify(dmId: number): void {
    const dm = this.dms[dmId];
    if (!dm) return;
    if (dm.inService) {
      dm.notifyPending = true;
      return;
    }
    this.sendNotify(dm);
  }

  private sendNotify(dm: DmState): void {
    dm.counters.notifies++;
    const st = this.host.remio(dm.info.dmId, 0, RemioOp.NOTIFY, 0, 0, 0, this.notifyOut);
    if (st !== RemioStatus.OK) {
      dm.counters.errors++;
      dm.log.log(`NOTIFY failed with status ${st}`);
    }
  }

  private fault(dm: DmState, client: IoClient, e: unknown): void {
    dm.counters.errors++;
    dm.log.log(`device threw: ${describeError(e)}`);
    if (client.fault) {
      try {
        client.fault(e);
      } catch (e2) {
        dm.log.log(`fault handler threw: ${describeError(e2)}`);
      }
    }
  }
}
