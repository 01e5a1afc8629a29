// SPDX-License-Identifier: Apache-2.0
/**
 * The backend's counters as a person reads them (console `Ctrl-] s`): per
 * device model, what was served where (register accesses and requests, in
 * C by the host's data plane or in the TypeScript device) and the mean
 * service time per kind of request, from {@link Host.perfCounters}; then
 * per device its whole metrics record (src/metrics.ts) on one line. The
 * benchmark reads the records as JSON instead (`Ctrl-] p`, bench/run.ts).
 */
import { PerfKind } from './host.ts';
import { kindMetrics, type DeviceMetrics } from './metrics.ts';

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
  return { read: kindMetrics(perf, PerfKind.READ).meanUs, write: kindMetrics(perf, PerfKind.WRITE).meanUs, notify: kindMetrics(perf, PerfKind.NOTIFY).meanUs };
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

/**
 * The `Ctrl-] s` lines of the devices' metrics records: first one
 * {@link serviceLine} per device, then one line per device with the whole
 * record, `baojs: stats <name> (<kind>, dm <id>): requests … (reads …,
 * writes …), notifies …, errors …; device: <its counters>; data plane: <what
 * C answered>; transport: <the TypeScript transport's counters>`.
 */
export function statsLinesFrom(records: DeviceMetrics[]): string[] {
  const lines = records.map((m) => serviceLine({
    name: m.name,
    tsAccesses: m.remio.requests,
    cAccesses: m.c ? m.c.intStatusReads + m.c.intAcks + m.c.shadowReads + m.c.kicks + (m.c.net ? m.c.net.txKicks + m.c.net.rxKicks : 0) + (m.c.console ? m.c.console.txKicks : 0) : 0,
    tsChains: m.device.chains ?? 0,
    cChains: m.c ? m.c.chains + (m.c.net ? m.c.net.txFrames + m.c.net.rxFrames : 0) + (m.c.console ? m.c.console.txChains + m.c.console.rxChains : 0) : 0,
    dataPlane: m.c === null ? null : m.c.on ? 'on' : 'off',
    meanUs: { read: m.service.read.meanUs, write: m.service.write.meanUs, notify: m.service.notify.meanUs },
  }));
  for (const m of records) {
    const r = m.remio;
    const dev = Object.entries(m.device).map(([k, v]) => `${k} ${v}`).join(', ');
    const c = m.c;
    const cPart = c === null ? '' : `; data plane${c.on ? '' : ' (off)'}: InterruptStatus reads ${c.intStatusReads}, InterruptACKs ${c.intAcks}, ` +
      `kicks ${c.kicks}, chains ${c.chains}, reads ${c.reads}, writes ${c.writes}, bytesRead ${c.bytesRead}, ` +
      `bytesWritten ${c.bytesWritten}, usedNotifications ${c.usedNotifications}, hand-backs ${c.handBacks}, errors ${c.errors}, ` +
      `shadow reads ${c.shadowReads}` +
      (c.console ? `; console plane${c.console.on ? '' : ' (off)'}: kicks ${c.console.txKicks}, chains ${c.console.txChains}, ` +
        `bytes ${c.console.txBytes}, usedNotifications ${c.console.usedNotifications}, hand-backs ${c.console.handBacks}, ` +
        `typed chains ${c.console.rxChains}, typed bytes ${c.console.rxBytes}` : '');
    const t = m.transport;
    lines.push(`baojs: stats ${m.name} (${m.kind}, dm ${m.dmId}): requests ${r.requests} (reads ${r.reads}, writes ${r.writes}), ` +
      `notifies ${r.notifies}, errors ${r.errors}; device: ${dev}${cPart}; transport: register reads ${t.reads}, register writes ${t.writes}, ` +
      `queue notifications ${t.kicks}, used notifications ${t.usedNotifications}, config notifications ${t.configNotifications}, ` +
      `bad accesses ${t.badAccesses}, DEVICE_NEEDS_RESET ${t.needsReset}, device resets ${t.resets}` +
      m.queues.map((q) => `; queue ${q.index}: size ${q.size}${q.enabled ? '' : ' (off)'}, avail ${q.availIdx}, consumed ${q.lastAvail}, ` +
        `used ${q.usedIdx}${q.hostServed ? `, completions held ${q.usedPending}` : ''}`).join(''));
  }
  return lines;
}
