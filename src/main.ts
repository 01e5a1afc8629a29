// SPDX-License-Identifier: Apache-2.0
/**
 * The firmware's JS entry: prints the ready line, runs the host self-test,
 * then either serves the platform's devices (under Bao or the test monitor)
 * or, on a bare machine where no hypervisor can send requests, powers off
 * with the self-test's verdict as exit status.
 */
import * as native from 'host';
import type { Host } from './host.ts';
import { selfTest } from './selftest.ts';
import { BAOJS_VERSION } from './version.ts';

/** Formats the ready line; `bootNs` is guest time since the firmware's first instruction. */
export function readyLine(host: Host, bootNs: number): string {
  const heap = host.heapStats();
  const freeKiB = Math.floor((heap.total - heap.used) / 1024);
  return `baojs ${BAOJS_VERSION} ready: ${host.engineVersion}, ${host.arch}, heap ${freeKiB} KiB free, boot ${(bootNs / 1e6).toFixed(3)} ms\n`;
}

/** Runs the firmware's job on `host`. */
export async function main(host: Host): Promise<void> {
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
