// SPDX-License-Identifier: Apache-2.0
/**
 * The firmware's JS entry: prints the ready line, runs the host self-test,
 * then either serves the platform's devices (under Bao or the test monitor)
 * or, on a bare machine where no hypervisor can send requests, powers off
 * with the self-test's verdict as exit status.
 */
import * as native from 'host';
import type { Host } from './host.ts';
import { platform } from '@platform';
import { createBackend } from './backend.ts';
import { ConsoleDevice } from './devices/console.ts';
import { selfTest } from './selftest.ts';
import { BAOJS_VERSION } from './version.ts';

/** Formats the ready line; `bootNs` is guest time since the firmware's first instruction. */
export function readyLine(host: Host, bootNs: number): string {
  const heap = host.heapStats();
  const freeKiB = Math.floor((heap.total - heap.used) / 1024);
  return `baojs ${BAOJS_VERSION} ready: ${host.engineVersion}, ${host.arch}, heap ${freeKiB} KiB free, boot ${(bootNs / 1e6).toFixed(3)} ms\n`;
}

/**
 * Serves the platform's devices: builds the backend (dispatcher, transports,
 * devices), bridges console input from the platform UART to the console
 * device, and handles requests that arrived before the IRQs were enabled.
 */
function serve(host: Host): void {
  const backend = createBackend(host, platform);
  const consoles = [...backend.devices.values()].map((d) => d.device).filter((d) => d instanceof ConsoleDevice);
  const input = new Uint8Array(256);
  host.onIrq((intid: number) => {
    if (intid !== host.consoleIntid) {
      backend.dispatcher.serviceIrq(intid);
      return;
    }
    for (let n = host.consoleRead(input); n > 0; n = host.consoleRead(input)) {
      for (const c of consoles) c.input(input.subarray(0, n));
    }
  });
  backend.pollAll();
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
