// SPDX-License-Identifier: Apache-2.0
/**
 * The firmware's JS entry: prints the ready line, runs the host self-test,
 * then either serves the platform's devices (under Bao or the test monitor)
 * or, on a bare machine where no hypervisor can send requests, powers off
 * with the self-test's verdict as exit status.
 */
import * as native from 'host';
import { CONSOLE_ESCAPE_BYTE, type Host } from './host.ts';
import { platform } from '@platform';
import { createBackend, type Backend } from './backend.ts';
import { ConsoleDevice } from './devices/console.ts';
import { Utf8Decoder } from './devices/utf8.ts';
import { ConsoleBridge, type BridgedConsole } from './console-bridge.ts';
import { frontendIndexOf, frontendsOf } from './config/platform.ts';
import { probePassthrough } from './passthrough-probe.ts';
import { selfTest } from './selftest.ts';
import { serveEcho } from './services/echo.ts';
import { serveKv } from './services/kv.ts';
import { BAOJS_VERSION } from './version.ts';
import { statsLinesFrom } from './stats.ts';
import type { UplinkPort } from './net/uplink.ts';
import { allMetrics, heapLine, metricsLines } from './metrics.ts';

/** Formats the ready line; `bootNs` is guest time since the firmware's first instruction. */
export function readyLine(host: Host, bootNs: number): string {
  const heap = host.heapStats();
  const freeKiB = Math.floor((heap.total - heap.used) / 1024);
  return `baojs ${BAOJS_VERSION} ready: ${host.engineVersion}, ${host.arch}, heap ${freeKiB} KiB free, boot ${(bootNs / 1e6).toFixed(3)} ms\n`;
}

/** The console escape byte (Ctrl-]): the byte after it is a command to baojs, not input for the frontend. */
export const CONSOLE_ESCAPE = CONSOLE_ESCAPE_BYTE;

/**
 * The counters for a person (`Ctrl-] s`): the devices' metrics records
 * (src/metrics.ts) as {@link statsLinesFrom} prints them, one line per
 * uplink ({@link UplinkPort.statsLine}), then the heap.
 */
export function statsLines(host: Host, backend: Backend): string[] {
  return [...statsLinesFrom(allMetrics(host, backend)), ...[...backend.uplinks.values()].map((u) => u.statsLine()), heapLine(host, 'stats')];
}

/**
 * Serves the platform's devices: builds the backend (dispatcher, transports,
 * devices), starts the example vsock services (echo on port 7, the
 * key-value store on port 5000), bridges console input from the platform UART to the console
 * device, and handles requests that arrived before the IRQs were enabled.
 * On the console, Ctrl-] s prints the counters, Ctrl-] d turns the host's
 * data plane off (every request through JS) and on again, Ctrl-] q only
 * its serving of block queues (every block request through the TypeScript
 * device, the interrupt registers and the register shadow still in C: the
 * path of any TypeScript device), Ctrl-] p prints
 * the metrics records the benchmark reads, Ctrl-] 1..9 bridges the UART to
 * that frontend's console (src/console-bridge.ts; frontend 1's at start),
 * Ctrl-] Ctrl-] sends a literal Ctrl-], Ctrl-] h lists the commands.
 */
function serve(host: Host): Backend {
  const decoder = new Utf8Decoder();
  // bound, not wrapped: every character the frontend prints passes here
  const write = host.writeBytes
    ? host.writeBytes.bind(host)
    : (bytes: Uint8Array, start: number, end: number): void => { const text = decoder.decode(bytes.subarray(start, end)); if (text) host.write(text); };
  let bridge: ConsoleBridge | undefined;
  const backend = createBackend(host, platform, { consoleOutput: (name, bytes, start, end) => (bridge ? bridge.output(name, bytes, start, end) : write(bytes, start, end)) });
  // the example vsock services every frontend with a vsock device reaches at CID 2
  serveEcho(backend.vsock);
  serveKv(backend.vsock);
  // each frontend's first console, in the order of the platform's frontends
  const consoles: BridgedConsole[] = [];
  frontendsOf(platform).forEach((vm, i) => {
    for (const d of backend.devices.values()) {
      if (d.device instanceof ConsoleDevice && frontendIndexOf(platform, d.model) === i) {
        consoles.push({ number: i + 1, frontend: vm.name, name: d.model.name, device: d.device });
        break;
      }
    }
  });
  bridge = new ConsoleBridge(consoles, { write, writeLine: (line) => host.write(`${line}\n`) });
  // every console prints to the UART (through the bridge): while one is bridged, the host's
  // console plane writes its transmitq there itself (runtime/consoleplane.h), where the data plane is
  for (const d of backend.devices.values()) {
    if (d.device instanceof ConsoleDevice && d.transport.dataPlaneState !== null) d.device.useHostPlane(host, d.model.dmId, d.transport.queues);
  }
  const input = new Uint8Array(256);
  let escaped = false;
  let dataPlaneOn = true;
  let queuePlaneOn = true;
  const command = (byte: number): void => {
    if (byte === CONSOLE_ESCAPE) bridge!.input(new Uint8Array([byte]));
    else if (byte === 0x73 /* s */) host.write(statsLines(host, backend).join('\n') + '\n');
    else if (byte === 0x70 /* p */) host.write(metricsLines(host, backend).join('\n') + '\n');
    else if (byte >= 0x31 /* 1 */ && byte <= 0x39 /* 9 */) bridge!.select(byte - 0x30);
    else if (byte === 0x64 /* d */) {
      dataPlaneOn = !dataPlaneOn;
      let n = 0;
      for (const d of backend.devices.values()) if (d.transport.setDataPlaneEnabled(dataPlaneOn)) n++;
      host.write(`baojs: data plane ${dataPlaneOn ? 'on' : 'off'} (${n} devices)\n`);
    } else if (byte === 0x71 /* q */) {
      queuePlaneOn = !queuePlaneOn;
      let n = 0;
      for (const d of backend.devices.values()) if (d.transport.setQueuePlaneEnabled(queuePlaneOn)) n++;
      host.write(`baojs: queue plane ${queuePlaneOn ? 'on' : 'off'} (${n} devices)\n`);
    } else host.write(`baojs: console commands: Ctrl-] s  counters;  Ctrl-] d  data plane off/on;  Ctrl-] q  block queues to TypeScript and back;  Ctrl-] p  metrics records as JSON (for npm run bench);  Ctrl-] <n>  bridge frontend n\'s console (${bridge!.hint()});  Ctrl-] Ctrl-]  send Ctrl-]\n`);
  };
  // read once: every interrupt passes here
  const consoleIntid = host.consoleIntid;
  const dispatcher = backend.dispatcher;
  host.onIrq((intid: number) => {
    if (intid !== consoleIntid) {
      backend.serviceIrq(intid);
      return;
    }
    // a short read left nothing behind: a byte typed later reports the interrupt again
    for (let n = input.length; n === input.length;) {
      n = host.consoleRead(input);
      let start = 0;
      for (let i = 0; i < n; i++) {
        if (escaped) {
          escaped = false;
          command(input[i]);
          start = i + 1;
        } else if (input[i] === CONSOLE_ESCAPE) {
          bridge.input(input, start, i);
          escaped = true;
          start = i + 1;
        }
      }
      bridge.input(input, start, n); // a range of the read buffer: no view per read
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
  if (host.underHypervisor) for (const line of probePassthrough(host, platform.backend.passthrough ?? [])) host.write(`${line}\n`);
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

// A plain object, not the module namespace: a namespace's exports are live bindings, which
// QuickJS looks up on every `host.x` (its property caches skip them); the host's exports are
// all set once when the module is made.
const host: Host = { ...native };
main(host).catch((e: unknown) => {
  host.write(`baojs: main failed: ${e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e)}\n`);
  host.powerOff(1);
});
