// SPDX-License-Identifier: Apache-2.0
/**
 * Firmware test entry: the console's receive path. Typed bytes reach JS
 * through the UART's interrupt (host.onIrq with host.consoleIntid, then
 * host.consoleRead); each line is echoed back as `ECHO <line>`, and the line
 * `quit` powers off. A guard timer gives up after 20 s.
 */
import * as native from 'host';
import type { Host } from '../../../src/host.ts';

const host: Host = native;
const input = new Uint8Array(64);
let line = '';
host.onIrq((intid: number) => {
  if (intid !== host.consoleIntid) return;
  for (let n = host.consoleRead(input); n > 0; n = host.consoleRead(input)) {
    for (let i = 0; i < n; i++) {
      const c = input[i];
      if (c !== 13 && c !== 10) {
        line += String.fromCharCode(c);
        continue;
      }
      if (line === '') continue;
      host.write(`ECHO ${line}\n`);
      if (line === 'quit') host.powerOff(0);
      line = '';
    }
  }
});
host.setTimeout(() => {
  host.write('no quit line within 20 s\n');
  host.powerOff(1);
}, 20_000);
host.write('ECHO READY\n');
