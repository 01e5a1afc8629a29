// SPDX-License-Identifier: Apache-2.0
/**
 * Firmware test entry: a timer callback allocates until the JS heap limit
 * is reached; the firmware must print its out-of-memory line, free what the
 * callback held, and run the next timer.
 */
import * as native from 'host';
import type { Host } from '../../../src/host.ts';

const host: Host = native;
host.setTimeout(() => {
  const hoard: Array<{ bytes: ArrayBuffer; note: string }> = [];
  for (;;) hoard.push({ bytes: new ArrayBuffer(16 * 1024), note: `chunk ${hoard.length}` });
}, 1);
host.setTimeout(() => {
  const heap = host.heapStats();
  host.write(`alive after out-of-memory, heap used ${Math.round(heap.used / 1024)} KiB of ${Math.round(heap.total / 1024)} KiB\n`);
  host.powerOff(0);
}, 20);
