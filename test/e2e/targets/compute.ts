// SPDX-License-Identifier: Apache-2.0
/** Firmware test entry: runs the shared workload and prints `RESULT <json>`. */
import * as native from 'host';
import type { Host } from '../../../src/host.ts';
import { workload } from './workload.ts';

const host: Host = native;
const sleep = (ms: number): Promise<void> => new Promise((r) => { host.setTimeout(r, ms); });
workload(sleep).then((result) => {
  host.write(`RESULT ${JSON.stringify(result)}\n`);
  host.powerOff(0);
}, (e: unknown) => {
  host.write(`workload failed: ${String(e)}\n`);
  host.powerOff(1);
});
