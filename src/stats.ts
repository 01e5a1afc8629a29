// SPDX-License-Identifier: Apache-2.0
/**
 * The backend's counters as a person reads them (console `Ctrl-] s`): per
 * device model, what was served where (register accesses and requests, in
 * C by the host's data plane or in the TypeScript device) and the mean
 * service time per kind of request, from {@link Host.perfCounters}. The
 * raw arrays are for the benchmark alone (`Ctrl-] p`, bench/run.ts).
 */
import { PERF_FIELDS, PerfField, PerfKind, PerfOut } from './host.ts';

/** Mean service time of one request of each kind, µs of guest time (null: none measured). */
export interface MeanServiceUs {
  /** a register read */
  read: number | null;
  /** a register write other than QueueNotify */
  write: number | null;
  /** a QueueNotify, with the processing of the queue it starts */
  notify: number | null;
}

/**
 * The mean service time per kind from a {@link Host.perfCounters} array
 * (PerfOut layout): the TOTAL ticks of the windows that served exactly one
 * request of the kind, over their COUNT, at CLOCK_HZ. Guest time: under
 * QEMU `-icount shift=0` 1 µs is 1,000 guest instructions; under plain TCG
 * it follows the host's load.
 */
export function meanServiceUs(perf: ArrayLike<number>): MeanServiceUs {
  const hz = perf[PerfOut.CLOCK_HZ];
  const mean = (kind: PerfKind): number | null => {
    const at = PerfOut.KINDS + kind * PERF_FIELDS;
    const n = perf[at + PerfField.COUNT];
    return hz > 0 && n > 0 ? (perf[at + PerfField.TOTAL] / n / hz) * 1e6 : null;
  };
  return { read: mean(PerfKind.READ), write: mean(PerfKind.WRITE), notify: mean(PerfKind.NOTIFY) };
}

/** What one device model served, for {@link serviceLine}. */
export interface ServiceFigures {
  /** the device model's name, e.g. 'vda' */
  name: string;
  /** register accesses served by the TypeScript device (the dispatcher's requests) */
  tsAccesses: number;
  /** register accesses answered in C by the host's data plane (InterruptStatus, InterruptACK, QueueNotify) */
  cAccesses: number;
  /** requests (descriptor chains) served by the TypeScript device */
  tsChains: number;
  /** requests (descriptor chains) served in C by the data plane */
  cChains: number;
  /** the device's data plane: 'on', 'off' (turned off with Ctrl-] d) or null (none) */
  dataPlane: 'on' | 'off' | null;
  /** mean service times, {@link meanServiceUs} */
  meanUs: MeanServiceUs;
}

const us = (v: number | null): string => (v === null ? '-' : v < 10 ? v.toFixed(1) : String(Math.round(v)));

/**
 * One line per device, e.g. `baojs: stats vda: register accesses 1,100 in
 * C + 134 in TypeScript; requests 850 in C + 8 in TypeScript; mean service
 * time (guest microseconds): register read 3.1, register write 2.9, QueueNotify 12`.
 * A device with no data plane has only TypeScript figures.
 */
export function serviceLine(f: ServiceFigures): string {
  const split = (c: number, ts: number): string => (f.dataPlane === null ? `${ts} in TypeScript` : `${c} in C + ${ts} in TypeScript`);
  const off = f.dataPlane === 'off' ? ' (data plane off)' : '';
  return `baojs: stats ${f.name}: register accesses ${split(f.cAccesses, f.tsAccesses)}; ` +
    `requests ${split(f.cChains, f.tsChains)}${off}; ` +
    `mean service time (guest microseconds): register read ${us(f.meanUs.read)}, register write ${us(f.meanUs.write)}, QueueNotify ${us(f.meanUs.notify)}`;
}
