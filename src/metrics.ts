// SPDX-License-Identifier: Apache-2.0
/**
 * One metrics record per device, as Firecracker keeps one per device
 * (`src/vmm/src/logger/metrics.rs` there: a serializable record per device,
 * flushed as one JSON object): what the C paths and the TypeScript device
 * served, in one place. `Ctrl-] s` prints it for a person (src/stats.ts
 * formats it), `Ctrl-] p` prints it as JSON for `npm run bench`.
 *
 * Built on demand from the live counters (the dispatcher's, the
 * transport's, the device's, the words the host's C paths count in, and
 * {@link Host.perfCounters}); nothing on a request's path writes to it.
 * A new counter is one field here and one line in {@link deviceMetrics}.
 */
import { ConsolePortCtrl, ConsolePortWord, DataPlaneWord, DiskPlaneWord, NetPortWord, PERF_FIELDS, PERF_OUT_WORDS, PerfField, PerfKind, PerfOut, RegShadowWord, type Host } from './host.ts';
import { ConsoleDevice } from './devices/console.ts';
import { NetDevice } from './devices/net.ts';
import { VirtioBlkDriver } from './drivers/virtio-blk.ts';
import type { Backend, ServedDevice } from './backend.ts';
import type { DmCounters } from './dispatcher/dispatcher.ts';
import type { TransportCounters } from './virtio/mmio.ts';
import type { QueueStatus } from './virtio/queue.ts';

/** What the host's C paths answered for a device (runtime/remio.c, regshadow.c, dataplane.c). */
export interface CPathMetrics {
  /** the data plane and register shadow are on (false: turned off with Ctrl-] d) */
  on: boolean;
  /** InterruptStatus reads and InterruptACK writes answered in C */
  intStatusReads: number;
  intAcks: number;
  /** register reads answered from the register shadow */
  shadowReads: number;
  /** QueueNotify writes the block data plane served whole, and its descriptor chains */
  kicks: number;
  chains: number;
  /** of those chains: reads and writes, and their bytes */
  reads: number;
  writes: number;
  bytesRead: number;
  bytesWritten: number;
  /** used buffer notifications the data plane sent */
  usedNotifications: number;
  /** QueueNotify writes the data plane handed back to TypeScript (a chain it does not serve) */
  handBacks: number;
  /** hypercalls of the C paths that Bao answered with an error */
  errors: number;
  /**
   * a frontend disk on a physical disk with a disk plane ({@link Host.diskPlane}):
   * requests placed on the physical disk in C, in flight now, answers handed to
   * TypeScript, answers dropped after a device reset
   */
  disk: { requests: number; inFlight: number; handed: number; stale: number } | null;
  /**
   * a virtio-net port of the host's network plane ({@link Host.netPort}):
   * frames it took from this port's transmitq and gave its receiveq,
   * QueueNotify writes of each queue it answered, transmit QueueNotify
   * writes it handed to TypeScript, used buffer notifications it sent
   */
  net: { txFrames: number; rxFrames: number; txKicks: number; rxKicks: number; handBacks: number; usedNotifications: number } | null;
  /**
   * a virtio-console with the host's console plane ({@link Host.consolePort}):
   * whether it may serve transmitq now, the chains and bytes it wrote to the
   * UART, QueueNotify writes it answered and handed to TypeScript, used
   * buffer notifications it sent, the receive chains and typed bytes it
   * placed
   */
  console: { on: boolean; txChains: number; txBytes: number; txKicks: number; handBacks: number; usedNotifications: number; rxChains: number; rxBytes: number } | null;
}

/** The service windows of one kind of request ({@link Host.perfCounters}), guest time. */
export interface KindMetrics {
  /** windows that served exactly one request of the kind */
  windows: number;
  /** mean µs per window from the interrupt to the end of the backend's work (null: none) */
  meanUs: number | null;
  /** of which in JS, µs (null: none) */
  meanJsUs: number | null;
}

/** Everything one device served, from the interrupt to its own counters. */
export interface DeviceMetrics {
  /** the device model's name, kind and Bao dm_id (platform description) */
  name: string;
  kind: string;
  dmId: number;
  /** requests that reached TypeScript: the dispatcher's counters of the device model */
  remio: DmCounters;
  /** the virtio-mmio transport in TypeScript */
  transport: TransportCounters;
  /** what the host answered in C; null when the host has no C paths (the simulated host) */
  c: CPathMetrics | null;
  /** the device's own counters (chains, bytes, errors… per kind of device) */
  device: Record<string, number>;
  /** each virtqueue's indices and what is in flight between the host's C virtqueue and the device */
  queues: QueueStatus[];
  /** service windows per kind of request */
  service: { read: KindMetrics; write: KindMetrics; notify: KindMetrics };
  /** the {@link Host.perfCounters} array (PerfOut layout) the windows come from, for the benchmark */
  perf: number[];
}

/** The metrics record of served device `d` (see the file comment). */
export function deviceMetrics(host: Host, backend: Backend, d: ServedDevice): DeviceMetrics {
  const perf = new Float64Array(PERF_OUT_WORDS);
  host.perfCounters(d.model.backendIntid, perf);
  const t = d.transport;
  const state = t.dataPlaneState;
  let c: CPathMetrics | null = null;
  if (state !== null) {
    const st = t.dataPlane;
    const u64 = (lo: DataPlaneWord): number => st[lo] + st[lo + 1] * 4294967296;
    c = {
      on: state === 'on',
      intStatusReads: st[DataPlaneWord.N_INT_STATUS_READS],
      intAcks: st[DataPlaneWord.N_INT_ACKS],
      shadowReads: t.regShadow[RegShadowWord.N_READS],
      kicks: st[DataPlaneWord.N_KICKS],
      chains: st[DataPlaneWord.N_CHAINS],
      reads: st[DataPlaneWord.N_READS],
      writes: st[DataPlaneWord.N_WRITES],
      bytesRead: u64(DataPlaneWord.N_BYTES_READ_LO),
      bytesWritten: u64(DataPlaneWord.N_BYTES_WRITTEN_LO),
      usedNotifications: st[DataPlaneWord.N_USED_NOTIFICATIONS],
      handBacks: st[DataPlaneWord.N_HANDBACKS],
      errors: st[DataPlaneWord.N_ERRORS],
      disk: st[DataPlaneWord.RANGE_SIZE_LO] === 0 && st[DataPlaneWord.RANGE_SIZE_HI] === 0 ? null : {
        requests: st[DataPlaneWord.N_DISK_REQUESTS], inFlight: st[DataPlaneWord.N_IN_FLIGHT],
        handed: st[DataPlaneWord.N_DISK_HANDED], stale: st[DataPlaneWord.N_DISK_STALE],
      },
      net: null,
      console: null,
    };
    const np = d.device instanceof NetDevice ? d.device.planeState : null;
    if (np !== null) {
      c.net = {
        txFrames: np[NetPortWord.N_TX_FRAMES], rxFrames: np[NetPortWord.N_RX_FRAMES],
        txKicks: np[NetPortWord.N_TX_KICKS], rxKicks: np[NetPortWord.N_RX_KICKS],
        handBacks: np[NetPortWord.N_HANDBACKS], usedNotifications: np[NetPortWord.N_USED_NOTIFICATIONS],
      };
    }
    const cp = d.device instanceof ConsoleDevice ? d.device.planeState : null;
    if (cp !== null) {
      c.console = {
        on: state === 'on' && (cp[ConsolePortWord.CTRL] & ConsolePortCtrl.TX) !== 0, txChains: cp[ConsolePortWord.N_TX_CHAINS],
        txBytes: cp[ConsolePortWord.N_TX_BYTES_LO] + cp[ConsolePortWord.N_TX_BYTES_HI] * 4294967296,
        txKicks: cp[ConsolePortWord.N_TX_KICKS], handBacks: cp[ConsolePortWord.N_HANDBACKS], usedNotifications: cp[ConsolePortWord.N_USED_NOTIFICATIONS],
        rxChains: cp[ConsolePortWord.N_RX_CHAINS], rxBytes: cp[ConsolePortWord.N_RX_BYTES_LO] + cp[ConsolePortWord.N_RX_BYTES_HI] * 4294967296,
      };
    }
  }
  const device: Record<string, number> = {};
  for (const [k, v] of Object.entries(d.device.counters)) if (typeof v === 'number') device[k] = v;
  return {
    name: d.model.name,
    kind: d.model.kind,
    dmId: d.model.dmId,
    remio: { ...backend.dispatcher.counters(d.model.dmId) },
    transport: { ...t.counters },
    c,
    device,
    queues: t.queues.map((q) => q.status()),
    service: { read: kindMetrics(perf, PerfKind.READ), write: kindMetrics(perf, PerfKind.WRITE), notify: kindMetrics(perf, PerfKind.NOTIFY) },
    perf: Array.from(perf),
  };
}

/** The windows of `kind` in a perfCounters array: their number and mean total and JS time, µs. */
export function kindMetrics(perf: ArrayLike<number>, kind: PerfKind): KindMetrics {
  const hz = perf[PerfOut.CLOCK_HZ];
  const at = PerfOut.KINDS + kind * PERF_FIELDS;
  const n = perf[at + PerfField.COUNT];
  const mean = (f: PerfField): number | null => (hz > 0 && n > 0 ? (perf[at + f] / n / hz) * 1e6 : null);
  return { windows: n, meanUs: mean(PerfField.TOTAL), meanJsUs: mean(PerfField.JS) };
}

/** Every served device's record, in the platform's order. */
export function allMetrics(host: Host, backend: Backend): DeviceMetrics[] {
  return [...backend.devices.values()].map((d) => deviceMetrics(host, backend, d));
}

/**
 * The records for `npm run bench` (`Ctrl-] p`): one line per device,
 * `baojs: metrics <name>: <the record as JSON>`, then the heap line
 * `baojs: metrics heap: used N KiB, high water N KiB of N KiB`, which ends
 * the block.
 */
/** The metrics record of a physical disk the backend drives (`backend.passthrough`). */
export interface DiskMetrics {
  /** the passthrough device's name and kind (platform description) */
  name: string;
  kind: string;
  /** its interrupt */
  intid: number;
  /** size, bytes */
  capacity: number;
  /** the driver's counters (requests, completions, errors, kicks, interrupts…) */
  driver: Record<string, number>;
  /** the frontend disks' side: requests completed after splitting, failed, queued for room, flushes, flushes joined */
  shared: Record<string, number>;
  /** requests waiting for room in the disk's queue now */
  waiting: number;
  /**
   * its disk plane ({@link Host.diskPlane}), null without one: interrupts it
   * took, chains it reaped, answers it gave in C, calls into JS it needed,
   * times it found returned chains without their interrupt
   */
  plane: { interrupts: number; reaped: number; answered: number; jsCalls: number; polled: number } | null;
  /** the {@link Host.perfCounters} array of its interrupt: WINDOWS and WINDOW_TICKS are the completions' cost */
  perf: number[];
}

/** The metrics record of each physical disk of `backend`. */
export function diskMetrics(host: Host, backend: Backend): DiskMetrics[] {
  const out: DiskMetrics[] = [];
  for (const d of backend.disks.values()) {
    const perf = new Float64Array(PERF_OUT_WORDS);
    host.perfCounters(d.device.intid, perf);
    const driver: Record<string, number> = {};
    const counters = (d.driver as { counters?: Record<string, unknown> }).counters ?? {};
    for (const [k, v] of Object.entries(counters)) if (typeof v === 'number') driver[k] = v;
    out.push({
      name: d.device.name, kind: d.device.kind, intid: d.device.intid, capacity: d.driver.capacity,
      driver, shared: { ...d.shared.counters }, waiting: d.shared.waiting, plane: planeMetrics(d.driver), perf: Array.from(perf),
    });
  }
  return out;
}

/** The counters of a driver's disk plane, or null. */
function planeMetrics(driver: unknown): DiskMetrics['plane'] {
  const st = driver instanceof VirtioBlkDriver ? driver.plane : null;
  if (!st) return null;
  return {
    interrupts: st[DiskPlaneWord.N_INTERRUPTS], reaped: st[DiskPlaneWord.N_REAPED],
    answered: st[DiskPlaneWord.N_ANSWERED], jsCalls: st[DiskPlaneWord.N_JS_CALLS], polled: st[DiskPlaneWord.N_POLLED],
  };
}

export function metricsLines(host: Host, backend: Backend): string[] {
  const lines = allMetrics(host, backend).map((m) => `baojs: metrics ${m.name}: ${JSON.stringify(m)}`);
  for (const m of diskMetrics(host, backend)) lines.push(`baojs: metrics ${m.name}: ${JSON.stringify(m)}`);
  lines.push(heapLine(host, 'metrics'));
  return lines;
}

/** The heap figures, `baojs: <tag> heap: used N KiB, high water N KiB of N KiB`. */
export function heapLine(host: Host, tag: string): string {
  const heap = host.heapStats();
  return `baojs: ${tag} heap: used ${Math.round(heap.used / 1024)} KiB, high water ${Math.round(heap.highWater / 1024)} KiB of ${Math.round(heap.total / 1024)} KiB`;
}
