// SPDX-License-Identifier: Apache-2.0
/**
 * The firmware's JS entry: prints the ready line, runs the host self-test,
 * then either serves the platform's devices (under Bao or the test monitor)
 * or, on a bare machine where no hypervisor can send requests, powers off
 * with the self-test's verdict as exit status.
 */
import * as native from 'host';
import { DataPlaneWord, PERF_OUT_WORDS, RegShadowWord, type Host } from './host.ts';
import { platform } from '@platform';
import { createBackend, type Backend } from './backend.ts';
import { ConsoleDevice } from './devices/console.ts';
import { selfTest } from './selftest.ts';
import { serveEcho } from './services/echo.ts';
import { serveKv } from './services/kv.ts';
import type { VirtioMmioTransport } from './virtio/mmio.ts';
import { BAOJS_VERSION } from './version.ts';
import { meanServiceUs, serviceLine } from './stats.ts';

/** Formats the ready line; `bootNs` is guest time since the firmware's first instruction. */
export function readyLine(host: Host, bootNs: number): string {
  const heap = host.heapStats();
  const freeKiB = Math.floor((heap.total - heap.used) / 1024);
  return `baojs ${BAOJS_VERSION} ready: ${host.engineVersion}, ${host.arch}, heap ${freeKiB} KiB free, boot ${(bootNs / 1e6).toFixed(3)} ms\n`;
}

/** The console escape byte (Ctrl-]): the byte after it is a command to baojs, not input for the frontend. */
export const CONSOLE_ESCAPE = 0x1d;

/**
 * The counters for a person (`Ctrl-] s`): per device, one line of what was
 * served where and how long it took ({@link serviceLine}), then per device
 * the detailed counters (the dispatcher's, the device's, the data plane's),
 * then the heap figures.
 */
export function statsLines(host: Host, backend: Backend): string[] {
  const lines: string[] = [];
  const perf = new Float64Array(PERF_OUT_WORDS);
  for (const d of backend.devices.values()) {
    const c = backend.dispatcher.counters(d.model.dmId);
    host.perfCounters(d.model.backendIntid, perf);
    const dp = d.transport.dataPlaneState === null ? null : d.transport.dataPlane;
    lines.push(serviceLine({
      name: d.model.name,
      tsAccesses: c.requests,
      cAccesses: dp ? dp[DataPlaneWord.N_INT_STATUS_READS] + dp[DataPlaneWord.N_INT_ACKS] + dp[DataPlaneWord.N_KICKS] : 0,
      tsChains: (d.device.counters as { chains?: number }).chains ?? 0,
      cChains: dp ? dp[DataPlaneWord.N_CHAINS] : 0,
      dataPlane: d.transport.dataPlaneState,
      meanUs: meanServiceUs(perf),
    }));
  }
  for (const d of backend.devices.values()) {
    const c = backend.dispatcher.counters(d.model.dmId);
    const dev = Object.entries(d.device.counters).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`baojs: stats ${d.model.name} (${d.model.kind}, dm ${d.model.dmId}): requests ${c.requests} ` +
      `(reads ${c.reads}, writes ${c.writes}), notifies ${c.notifies}, errors ${c.errors}; device: ${dev}` +
      dataPlaneStats(d.transport));
  }
  lines.push(heapLine(host, 'stats'));
  return lines;
}

/** The heap figures, `baojs: <tag> heap: used N KiB, high water N KiB of N KiB`. */
function heapLine(host: Host, tag: string): string {
  const heap = host.heapStats();
  return `baojs: ${tag} heap: used ${Math.round(heap.used / 1024)} KiB, high water ${Math.round(heap.highWater / 1024)} KiB of ${Math.round(heap.total / 1024)} KiB`;
}

/**
 * The raw counters for `npm run bench` (`Ctrl-] p`): per device the
 * {@link Host.perfCounters} array (PerfOut layout, space-separated) as
 * `baojs: perf <device>: …`, then `baojs: perf heap: …` (as the stats'
 * heap line), which ends the block.
 */
export function perfLines(host: Host, backend: Backend): string[] {
  const lines: string[] = [];
  const perf = new Float64Array(PERF_OUT_WORDS);
  for (const d of backend.devices.values()) {
    host.perfCounters(d.model.backendIntid, perf);
    lines.push(`baojs: perf ${d.model.name}: ${Array.from(perf).join(' ')}`);
  }
  lines.push(heapLine(host, 'perf'));
  return lines;
}

/** The counters of a transport's host data plane ({@link Host.dataPlane}), or '' if it has none. */
function dataPlaneStats(t: VirtioMmioTransport): string {
  const state = t.dataPlaneState;
  if (state === null) return '';
  const st = t.dataPlane;
  const bytes = (lo: DataPlaneWord): number => st[lo] + st[lo + 1] * 4294967296;
  return `; data plane${state === 'off' ? ' (off)' : ''}: InterruptStatus reads ${st[DataPlaneWord.N_INT_STATUS_READS]}, InterruptACKs ${st[DataPlaneWord.N_INT_ACKS]}, ` +
    `kicks ${st[DataPlaneWord.N_KICKS]}, chains ${st[DataPlaneWord.N_CHAINS]}, reads ${st[DataPlaneWord.N_READS]}, ` +
    `writes ${st[DataPlaneWord.N_WRITES]}, bytesRead ${bytes(DataPlaneWord.N_BYTES_READ_LO)}, ` +
    `bytesWritten ${bytes(DataPlaneWord.N_BYTES_WRITTEN_LO)}, usedNotifications ${st[DataPlaneWord.N_USED_NOTIFICATIONS]}, ` +
    `hand-backs ${st[DataPlaneWord.N_HANDBACKS]}, errors ${st[DataPlaneWord.N_ERRORS]}, shadow reads ${t.regShadow[RegShadowWord.N_READS]}`;
}

/**
 * Serves the platform's devices: builds the backend (dispatcher, transports,
 * devices), starts the example vsock services (echo on port 7, the
 * key-value store on port 5000), bridges console input from the platform UART to the console
 * device, and handles requests that arrived before the IRQs were enabled.
 * On the console, Ctrl-] s prints the counters, Ctrl-] d turns the host's
 * data plane off (every request through JS) and on again, Ctrl-] p prints
 * the raw perf counters the benchmark reads, Ctrl-] Ctrl-] sends a literal
 * Ctrl-], Ctrl-] h lists the commands.
 */
function serve(host: Host): Backend {
  const backend = createBackend(host, platform);
  // the example vsock services every frontend with a vsock device reaches at CID 2
  serveEcho(backend.vsock);
  serveKv(backend.vsock);
  const consoles = [...backend.devices.values()].map((d) => d.device).filter((d) => d instanceof ConsoleDevice);
  const input = new Uint8Array(256);
  let escaped = false;
  let dataPlaneOn = true;
  const forward = (bytes: Uint8Array): void => {
    if (bytes.length) for (const c of consoles) c.input(bytes);
  };
  const command = (byte: number): void => {
    if (byte === CONSOLE_ESCAPE) forward(new Uint8Array([byte]));
    else if (byte === 0x73 /* s */) host.write(statsLines(host, backend).join('\n') + '\n');
    else if (byte === 0x70 /* p */) host.write(perfLines(host, backend).join('\n') + '\n');
    else if (byte === 0x64 /* d */) {
      dataPlaneOn = !dataPlaneOn;
      let n = 0;
      for (const d of backend.devices.values()) if (d.transport.setDataPlaneEnabled(dataPlaneOn)) n++;
      host.write(`baojs: data plane ${dataPlaneOn ? 'on' : 'off'} (${n} devices)\n`);
    } else host.write('baojs: console commands: Ctrl-] s  counters;  Ctrl-] d  data plane off/on;  Ctrl-] p  raw perf counters (for npm run bench);  Ctrl-] Ctrl-]  send Ctrl-]\n');
  };
  // read once: every interrupt passes here
  const consoleIntid = host.consoleIntid;
  const dispatcher = backend.dispatcher;
  host.onIrq((intid: number) => {
    if (intid !== consoleIntid) {
      dispatcher.serviceIrq(intid);
      return;
    }
    for (let n = host.consoleRead(input); n > 0; n = host.consoleRead(input)) {
      let start = 0;
      for (let i = 0; i < n; i++) {
        if (escaped) {
          escaped = false;
          command(input[i]);
          start = i + 1;
        } else if (input[i] === CONSOLE_ESCAPE) {
          forward(input.subarray(start, i));
          escaped = true;
          start = i + 1;
        }
      }
      forward(input.subarray(start, n));
    }
  });
  // after a watchdog stop: fail the devices that were being served
  host.onWatchdog(() => { dispatcher.recoverAfterWatchdog(); });
  backend.pollAll();
  return backend;
}

/** Runs the firmware's job on `host`. */
export async function main(host: Host): Promise<void> {
  if (host.underHypervisor) serve(host);
  host.write(readyLine(host, host.nowNs()));
  const results = await selfTest(host);
  let failed = 0;
  for (const r of results) {
    host.write(`baojs: self-test ${r.name}: ${r.ok ? 'ok' : 'FAILED'} (${r.detail})\n`);
    if (!r.ok) failed++;
  }
  if (!host.underHypervisor) {
    host.write(`baojs: no hypervisor below: no device to serve; self-test ${failed ? 'failed' : 'passed'}\n`);
    host.powerOff(failed ? 1 : 0);
  }
}

const host: Host = native;
main(host).catch((e: unknown) => {
  host.write(`baojs: main failed: ${e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e)}\n`);
  host.powerOff(1);
});
