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
 * Hot path: two host calls per interrupt, not three per request: the host
 * takes the batch with ASK into one preallocated `Uint32Array` of request
 * records and completes it from the same array; no allocation, no BigInt, no
 * closures per request. A host with its own remio loop ({@link
 * Host.remioServe}) hands the batches to one handler closure per DM, and,
 * given the DM's range ({@link Host.remioDirect}), calls the client itself
 * for a lone 4-byte register access: the handler's loop is then skipped.
 */
import { RemioDirectWord, RemioOp, RemioReq, RemioServeResult, RemioStatus, REMIO_DIRECT_WORDS, REMIO_OUT_WORDS, REMIO_REQ_WORDS, type Host } from '../host.ts';
import { WatchdogStop, type IoClient, type IoRange } from './client.ts';
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
  /**
   * Let the host's remio loop take and complete each DM's requests when it
   * has one ({@link Host.remioServe}; default true). False: the dispatcher
   * takes them itself with {@link Host.remioBatch} on each interrupt.
   */
  hostLoop?: boolean;
}

/** Records of a DM's batch for the host's remio loop: it hands over longer runs in several calls. */
const HOST_LOOP_RECORDS = 32;

/** Most device models the dispatcher holds (the Linux driver's limit). */
export const MAX_DEVICE_MODELS = 16;

interface DmState {
  info: DeviceModelInfo;
  ranges: IoRange[];
  counters: DmCounters;
  log: RateLimitedLog;
  /**
   * Whether the DM is in service and a NOTIFY is due at its end
   * ({@link RemioDirectWord}): shared with the host's remio loop, which also
   * serves the DM's direct range ({@link Host.remioDirect}) and counts what
   * it served there (drained by {@link Dispatcher.counters}).
   */
  svc: Uint32Array;
  rescheduled: boolean;
  /** NOTIFY for this DM (preallocated, handed to the DM's devices) */
  raise: () => void;
  /** service() for this DM (preallocated, for rescheduling) */
  again: () => void;
  /** answers the first records of the dispatcher's `reqs` for {@link Dispatcher.service} ({@link Dispatcher.makeHandler}) */
  handle: (n: number) => number;
}

const TWO32 = 4294967296;

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
  /** the batch's request records (RemioReq layout), maxRequestsPerService of them */
  private readonly reqs: Uint32Array;
  /** the clients with work deferred to after the batch's completion */
  private readonly clients: IoClient[];
  private readonly val = new Uint32Array(2);
  /** NOTIFY's own scratch, so a NOTIFY never disturbs a request being answered */
  private readonly notifyOut = new Uint32Array(REMIO_OUT_WORDS);
  private readonly sink: LogSink;
  private readonly maxRequests: number;
  private readonly defaultClient: IoClient;
  private readonly useHostLoop: boolean;
  private count = 0;

  /**
   * @param host the world (only `remioBatch`, `remioComplete`, `remio` (NOTIFY), `setTimeout` and `write` are used)
   * @param options see {@link DispatcherOptions}
   */
  constructor(private readonly host: Host, options: DispatcherOptions = {}) {
    this.sink = options.log ?? ((line: string) => host.write(line + '\n'));
    this.maxRequests = Math.max(1, Math.floor(options.maxRequestsPerService ?? 256));
    this.useHostLoop = options.hostLoop ?? true;
    this.reqs = new Uint32Array(this.maxRequests * REMIO_REQ_WORDS);
    const sink = this.sink;
    const log = new RateLimitedLog(sink, 'remio default client: ');
    this.defaultClient = {
      read(addr: number, width: number): number {
        log.log(`${width}-byte read at 0x${addr.toString(16)}: no device there, answered 0`);
        return 0;
      },
      write(addr: number, width: number, lo: number, hi: number): boolean {
        log.log(`${width}-byte write of 0x${hi.toString(16)}:${lo.toString(16)} at 0x${addr.toString(16)}: no device there, ignored`);
        return false;
      },
    };
    this.clients = [];
    for (let i = 0; i < this.maxRequests; i++) this.clients.push(this.defaultClient);
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
    const svc = new Uint32Array(REMIO_DIRECT_WORDS);
    const dm: DmState = {
      info: { ...info },
      ranges: [],
      counters: { requests: 0, reads: 0, writes: 0, notifies: 0, errors: 0, services: 0, deferrals: 0 },
      log: new RateLimitedLog(this.sink, `dm ${dmId} (${info.name}): `),
      svc,
      rescheduled: false,
      // notify(dmId) without the call and the lookup
      raise: () => {
        if (svc[RemioDirectWord.IN_SERVICE] !== 0) svc[RemioDirectWord.NOTIFY] = 1;
        else this.sendNotify(dm);
      },
      again: () => {
        dm.rescheduled = false;
        this.service(dmId);
      },
      handle: (): number => 0,
    };
    dm.handle = this.makeHandler(dm, this.reqs, false);
    this.dms[dmId] = dm;
    this.byIntid[backendIntid] = dm;
    this.count++;
    if (this.useHostLoop && this.host.remioServe) {
      const reqs = new Uint32Array(Math.min(HOST_LOOP_RECORDS, this.maxRequests) * REMIO_REQ_WORDS);
      this.host.remioServe(dmId, backendIntid, reqs, this.makeHandler(dm, reqs, true));
      // the same interrupt as a host function: no JS frame for each used-buffer notification
      if (this.host.remioRaiser) dm.raise = this.host.remioRaiser(dmId, svc);
    }
  }

  /**
   * Routes accesses to `[base, base + size)` of DM `dmId` to `client`. The
   * first range of a DM served by the host's remio loop is also handed to
   * it ({@link Host.remioDirect}, where the host has it): it then calls the
   * client itself for the 4-byte accesses that need no batch.
   * @throws RangeError for an unknown DM or a range overlapping another of the same DM
   */
  register(dmId: number, base: number, size: number, client: IoClient): void {
    const dm = this.dms[dmId];
    if (!dm) throw new RangeError(`no device model ${dmId}`);
    for (const r of dm.ranges) {
      if (base < r.base + r.size && r.base < base + size) throw new RangeError(`range 0x${base.toString(16)}+0x${size.toString(16)} overlaps another client of dm ${dmId}`);
    }
    dm.ranges.push({ base, size, client });
    if (dm.ranges.length === 1 && this.useHostLoop && this.host.remioServe && this.host.remioDirect) {
      try {
        this.host.remioDirect(dmId, base, size, client, dm.svc, (e: unknown) => this.fault(dm, client, e));
      } catch (e) {
        dm.log.log(`the host loop does not call the client itself (${describeError(e)}): every request goes through the batch handler`);
      }
    }
  }

  /** A function that raises DM `dmId`'s frontend interrupt (NOTIFY), for device transports: the host's ({@link Host.remioRaiser}) where it serves the DM. @throws RangeError for an unknown DM */
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

  /**
   * Counters of DM `dmId` (the live object), with what the host's remio
   * loop served in the DM's direct range since the last call added in
   * (each such request counts as a service). @throws RangeError for an
   * unknown DM
   */
  counters(dmId: number): DmCounters {
    const dm = this.dms[dmId];
    if (!dm) throw new RangeError(`no device model ${dmId}`);
    const s = dm.svc;
    const c = dm.counters;
    const n = s[RemioDirectWord.REQUESTS];
    if (n !== 0 || s[RemioDirectWord.NOTIFIES] !== 0) {
      c.requests += n;
      c.services += n;
      c.reads += s[RemioDirectWord.READS];
      c.writes += s[RemioDirectWord.WRITES];
      c.notifies += s[RemioDirectWord.NOTIFIES];
      s[RemioDirectWord.REQUESTS] = s[RemioDirectWord.READS] = s[RemioDirectWord.WRITES] = s[RemioDirectWord.NOTIFIES] = 0;
    }
    return c;
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
   * Takes and answers the requests pending for DM `dmId` in one batch:
   * {@link Host.remioBatch} issues ASK until Bao answers +1 (EMPTY), the
   * requests are handled in order, {@link Host.remioComplete} completes them
   * all (the frontend vCPUs resume), and only then runs the work stores
   * deferred (the queue a QueueNotify named: {@link IoClient.afterComplete}).
   * Any non-zero status other than an ending +1 is logged with its code. At
   * most `maxRequestsPerService` requests; if more may be pending the DM is
   * serviced again from a zero-delay timer. NOTIFYs raised meanwhile are
   * coalesced into one at the end. Never throws. Returns the number of
   * requests answered.
   */
  service(dmId: number): number {
    const dm = this.dms[dmId];
    if (!dm) {
      this.sink(`remio: service of unknown device model ${dmId}`);
      return 0;
    }
    const svc = dm.svc;
    if (svc[RemioDirectWord.IN_SERVICE] !== 0) return 0; // re-entered from a device callback: the running loop will see the work
    svc[RemioDirectWord.IN_SERVICE] = 1;
    dm.counters.services++;
    const c = dm.counters;
    const reqs = this.reqs;
    let taken = 0;
    let completed = false;
    try {
      const host = this.host;
      const n = host.remioBatch(dmId, reqs, this.maxRequests);
      if (n < 0) {
        c.errors++;
        dm.log.log(`ASK failed with status ${n}`);
        return 0;
      }
      taken = n;
      // how the batch ended: 1 EMPTY, 0 the bound, else an error (read before completion overwrites it)
      const end = reqs[RemioReq.STATUS];
      const deferred = dm.handle(n);
      if (n > 0) {
        // Complete, echoing op and request_id; the frontend vCPUs resume.
        completed = true;
        if (host.remioComplete(dmId, reqs, n) !== 0) this.logCompletions(dm, n);
        // Deferred work (the queue a QueueNotify named) runs after completion;
        // loads defer none (IoClient.afterComplete).
        this.runDeferred(dm, deferred);
      }
      if (end !== RemioStatus.EMPTY) {
        if (end === 0) {
          c.deferrals++;
          if (!dm.rescheduled) {
            dm.rescheduled = true;
            host.setTimeout(dm.again, 0);
          }
        } else {
          c.errors++;
          dm.log.log(`ASK failed with status ${end | 0}`);
        }
      }
    } catch (e) {
      c.errors++;
      dm.log.log(`service loop error: ${describeError(e)}`);
      if (taken > 0 && !completed) this.completeAfterError(dm, taken);
    } finally {
      svc[RemioDirectWord.IN_SERVICE] = 0;
      if (svc[RemioDirectWord.NOTIFY] !== 0) {
        svc[RemioDirectWord.NOTIFY] = 0;
        this.sendNotify(dm);
      }
    }
    return taken;
  }

  /**
   * The end of a batch of the host's remio loop ({@link Host.remioServe})
   * after an exception escaped {@link Dispatcher.handle} (an internal
   * error: clients' own exceptions are caught there): logs it, answers
   * every READ of the batch 0, and returns whether a NOTIFY is due. The
   * batch handler answers records in order, runs the deferred work at once
   * (the host completed a QueueNotify before the call; every other request
   * is completed when the handler returns) and returns a NOTIFY raised
   * meanwhile as {@link RemioServeResult.NOTIFY}.
   */
  private serveFailed(dm: DmState, reqs: Uint32Array, n: number, e: unknown): number {
    dm.counters.errors++;
    dm.log.log(`service loop error: ${describeError(e)}`);
    for (let i = 0, b = 0; i < n; i++, b += REMIO_REQ_WORDS) {
      if (reqs[b + RemioReq.OP] === RemioOp.READ) {
        reqs[b + RemioReq.VALUE_LO] = 0;
        reqs[b + RemioReq.VALUE_HI] = 0;
      }
    }
    const svc = dm.svc;
    svc[RemioDirectWord.IN_SERVICE] = 0;
    if (svc[RemioDirectWord.NOTIFY] === 0) return 0;
    svc[RemioDirectWord.NOTIFY] = 0;
    dm.counters.notifies++;
    return RemioServeResult.NOTIFY;
  }

  /**
   * Makes a request handler of DM `dm` over the request records `reqs`: it
   * answers records `0..n-1` in order, routes each by address to its
   * client, writes a READ's value (zero-extended to its width) into the
   * record's VALUE words, and counts. A client's exception is reported to
   * it ({@link IoClient.fault}) and the request answered 0 / dropped.
   *
   * - `hostLoop` false ({@link DmState.handle}, for {@link
   *   Dispatcher.service}): returns how many clients have deferred work
   *   (in `this.clients`, for {@link Dispatcher.runDeferred}).
   * - `hostLoop` true: the batch handler of {@link Host.remioServe}. It
   *   also marks the DM in service, runs the deferred work at once (the
   *   host completed a QueueNotify before the call; every other request is
   *   completed when the handler returns) and returns a NOTIFY raised
   *   meanwhile as {@link RemioServeResult.NOTIFY}; an exception that
   *   escapes (an internal error) ends in {@link Dispatcher.serveFailed}.
   *
   * One closure per DM and path, every value it needs captured: QuickJS
   * reads a captured variable for a fraction of a property's cost, and the
   * host calls it with no wrapper in between.
   */
  private makeHandler(dm: DmState, reqs: Uint32Array, hostLoop: boolean): (n: number) => number {
    const c = dm.counters;
    const hi = this.val;
    const clients = this.clients;
    const ranges = dm.ranges;
    const defaultClient = this.defaultClient;
    const log = dm.log;
    const svc = dm.svc;
    // the range the last request fell in (none yet: an empty one)
    let lastClient = defaultClient;
    let lastBase = 0;
    let lastSize = 0;
    return (n: number): number => {
      let deferred = 0;
      // counted once per batch: a property update costs QuickJS more than the request's arithmetic
      let reads = 0;
      let writes = 0;
      if (hostLoop) svc[RemioDirectWord.IN_SERVICE] = 1;
      try {
        for (let i = 0, b = 0; i < n; i++, b += REMIO_REQ_WORDS) {
          // below 4 GiB (every window of the platforms) an int, not a double: QuickJS's fast paths
          const ah = reqs[b + RemioReq.ADDR_HI];
          const addr = ah === 0 ? reqs[b + RemioReq.ADDR_LO] : reqs[b + RemioReq.ADDR_LO] + ah * TWO32;
          const op = reqs[b + RemioReq.OP];
          const width = reqs[b + RemioReq.WIDTH];
          // route by address: the range of the last request (captured variables), else a search (inlined)
          let client = lastClient;
          if (!(addr >= lastBase && addr - lastBase < lastSize)) {
            client = defaultClient;
            for (let j = 0, m = ranges.length; j < m; j++) {
              const r = ranges[j];
              if (addr >= r.base && addr - r.base < r.size) {
                client = lastClient = r.client;
                lastBase = r.base;
                lastSize = r.size;
                break;
              }
            }
          }
          if (op === RemioOp.READ) {
            reads++;
            // Bao stores all 64 bits into the frontend register: zero-extended to the width
            let lo = 0;
            let h = 0;
            try {
              if (width === 4) lo = client.read(addr, 4, hi);
              else if (width === 1 || width === 2) lo = client.read(addr, width, hi) & (width === 1 ? 0xff : 0xffff);
              else if (width === 8) {
                hi[0] = 0;
                lo = client.read(addr, 8, hi);
                h = hi[0];
              } else this.badWidth(dm, reqs, b, addr);
            } catch (e) {
              this.fault(dm, client, e);
              lo = 0;
              h = 0;
            }
            reqs[b + RemioReq.VALUE_LO] = lo; // a u32 store keeps the low 32 bits
            reqs[b + RemioReq.VALUE_HI] = h;
          } else if (op === RemioOp.WRITE) {
            writes++;
            // the host masked the value to the width (Bao reports the whole register)
            let later: boolean | void = false;
            if (width === 4 || width === 8 || width === 1 || width === 2) {
              try {
                later = client.write(addr, width, reqs[b + RemioReq.VALUE_LO], reqs[b + RemioReq.VALUE_HI]);
              } catch (e) {
                this.fault(dm, client, e);
              }
            } else this.badWidth(dm, reqs, b, addr);
            // work deferred to after completion, once per client in a row
            if (later === true && client.afterComplete && (deferred === 0 || clients[deferred - 1] !== client)) clients[deferred++] = client;
          } else {
            c.errors++;
            log.log(`request ${reqs[b + RemioReq.REQUEST_ID]} has unknown op ${op}`);
          }
        }
        c.requests += n;
        if (reads !== 0) c.reads += reads;
        if (writes !== 0) c.writes += writes;
        if (!hostLoop) return deferred;
        c.services++;
        if (deferred !== 0) this.runDeferred(dm, deferred);
      } catch (e) {
        if (!hostLoop) throw e;
        return this.serveFailed(dm, reqs, n, e);
      }
      svc[RemioDirectWord.IN_SERVICE] = 0;
      if (svc[RemioDirectWord.NOTIFY] === 0) return 0;
      svc[RemioDirectWord.NOTIFY] = 0;
      c.notifies++;
      return RemioServeResult.NOTIFY;
    };
  }

  /** Counts and logs record `b` of `reqs`, whose width is not 1, 2, 4 or 8 (a READ is answered 0, a WRITE ignored). */
  private badWidth(dm: DmState, reqs: Uint32Array, b: number, addr: number): void {
    const op = reqs[b + RemioReq.OP];
    dm.counters.errors++;
    dm.log.log(`request ${reqs[b + RemioReq.REQUEST_ID]} at 0x${addr.toString(16)} has width ${reqs[b + RemioReq.WIDTH]}: ${op === RemioOp.READ ? 'answered 0' : 'ignored'}`);
  }

  /** Runs the deferred work of the first `deferred` clients of `this.clients` ({@link IoClient.afterComplete}). */
  private runDeferred(dm: DmState, deferred: number): void {
    const clients = this.clients;
    for (let i = 0; i < deferred; i++) {
      const client = clients[i];
      try {
        client.afterComplete!();
      } catch (e) {
        this.fault(dm, client, e);
      }
    }
  }

  /**
   * Makes the dispatcher consistent after the host's watchdog stopped a
   * call into JS ({@link Host.onWatchdog}; the stop skips every `catch` and
   * `finally`): each device model left in service is taken out of service,
   * its clients get {@link IoClient.fault} with a {@link WatchdogStop} (a
   * virtio transport sets DEVICE_NEEDS_RESET and logs one line naming the
   * device and the watchdog; a DM whose clients have no fault handler gets
   * a line of its own), a NOTIFY raised meanwhile is sent, and the DM is
   * serviced again from a zero-delay timer for requests queued since. The
   * requests of the stopped batch were completed by the host already (a
   * READ answered 0, a WRITE dropped). A DM not in service is untouched (a
   * stop in a timer that belongs to no device model changes nothing here).
   * Never throws. Returns the number of device models recovered.
   */
  recoverAfterWatchdog(): number {
    let recovered = 0;
    for (const dm of this.dms) {
      if (dm === undefined || dm.svc[RemioDirectWord.IN_SERVICE] === 0) continue;
      recovered++;
      dm.svc[RemioDirectWord.IN_SERVICE] = 0;
      dm.counters.errors++;
      const stop = new WatchdogStop(`stopped by the watchdog while serving dm ${dm.info.dmId}: a call into the device ran past its time budget`);
      let told = false;
      for (const r of dm.ranges) {
        if (!r.client.fault) continue;
        told = true;
        try {
          r.client.fault(stop);
        } catch (e) {
          dm.log.log(`fault handler threw: ${describeError(e)}`);
        }
      }
      if (!told) dm.log.log('service stopped by the watchdog; its requests were completed (reads answered 0, writes dropped)');
      if (dm.svc[RemioDirectWord.NOTIFY] !== 0) {
        dm.svc[RemioDirectWord.NOTIFY] = 0;
        this.sendNotify(dm);
      }
      // unconditionally: a stop may have come between setting `rescheduled` and the timer
      dm.rescheduled = true;
      this.host.setTimeout(dm.again, 0);
    }
    return recovered;
  }

  /** Logs each failed completion of the batch with its code. */
  private logCompletions(dm: DmState, n: number): void {
    const reqs = this.reqs;
    for (let i = 0, b = 0; i < n; i++, b += REMIO_REQ_WORDS) {
      const st = reqs[b + RemioReq.STATUS] | 0;
      if (st === RemioStatus.OK) continue;
      dm.counters.errors++;
      dm.log.log(`completion of request ${reqs[b + RemioReq.REQUEST_ID]} (op ${reqs[b + RemioReq.OP]}) failed with status ${st}`);
    }
  }

  /** After an unexpected error: completes the taken requests (reads answer 0) so no frontend vCPU hangs. */
  private completeAfterError(dm: DmState, n: number): void {
    const reqs = this.reqs;
    try {
      for (let i = 0, b = 0; i < n; i++, b += REMIO_REQ_WORDS) {
        if (reqs[b + RemioReq.OP] === RemioOp.READ) {
          reqs[b + RemioReq.VALUE_LO] = 0;
          reqs[b + RemioReq.VALUE_HI] = 0;
        }
      }
      if (this.host.remioComplete(dm.info.dmId, reqs, n) !== 0) this.logCompletions(dm, n);
    } catch (e) {
      dm.counters.errors++;
      dm.log.log(`completion after error failed: ${describeError(e)}`);
    }
  }

  /**
   * Raises DM `dmId`'s interrupt in the frontend (NOTIFY). Inside a service
   * of that DM the NOTIFY is sent once, when the loop ends.
   */
  notify(dmId: number): void {
    const dm = this.dms[dmId];
    if (!dm) return;
    if (dm.svc[RemioDirectWord.IN_SERVICE] !== 0) {
      dm.svc[RemioDirectWord.NOTIFY] = 1;
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
