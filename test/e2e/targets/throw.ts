// SPDX-License-Identifier: Apache-2.0
/**
 * Firmware test entry: an exception escapes a timer callback, a promise is
 * rejected unhandled; the firmware must report both and keep running the
 * next timer.
 */
import * as native from 'host';
import type { Host } from '../../../src/host.ts';

const host: Host = native;
function deepest(): never {
  throw new Error('boom from a timer');
}
host.setTimeout(() => deepest(), 1);
host.setTimeout(() => { void Promise.reject(new TypeError('nobody catches this')); }, 2);
host.setTimeout(() => {
  host.write('still alive after the exceptions\n');
  host.powerOff(0);
}, 10);
