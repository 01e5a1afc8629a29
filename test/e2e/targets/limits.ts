// SPDX-License-Identifier: Apache-2.0
/**
 * Firmware test entry: a callback that recurses without end hits the JS
 * stack limit, and one that loops forever is stopped by the watchdog; the
 * firmware reports both and runs the next timer.
 */
import * as native from 'host';
import type { Host } from '../../../src/host.ts';

const host: Host = native;
function deeper(n: number): number {
  return deeper(n + 1) + 1;
}
host.setTimeout(() => deeper(0), 1);
host.setTimeout(() => {
  let spins = 0;
  for (;;) spins++;
}, 2);
host.setTimeout(() => {
  host.write('alive after the stack overflow and the endless loop\n');
  host.powerOff(0);
}, 3);
