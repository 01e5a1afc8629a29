// SPDX-License-Identifier: Apache-2.0
/**
 * Firmware test entry: three timers become due during one long call into
 * JS; when the main loop gets to them they must run earliest deadline
 * first, and an interval must keep firing.
 */
import * as native from 'host';
import type { Host } from '../../../src/host.ts';

const host: Host = native;
let order = '';
host.setTimeout(() => { order += 'c'; }, 30);
host.setTimeout(() => { order += 'a'; }, 5);
host.setTimeout(() => { order += 'b'; }, 15);
let ticks = 0;
const interval = host.setInterval(() => { ticks++; }, 10);
const until = host.nowNs() + 60e6;
while (host.nowNs() < until) { /* all three are due before the main loop runs them */ }
host.setTimeout(() => {
  host.clearTimer(interval);
  host.write(`timer order ${order}, interval ticks ${ticks}\n`);
  host.powerOff(0);
}, 100);
