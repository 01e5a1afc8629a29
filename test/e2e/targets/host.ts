// SPDX-License-Identifier: Apache-2.0
/**
 * Firmware test entry: the native host module's checks on its inputs, on a
 * bare machine. Prints one `CHECK <name> <ok|FAIL> <detail>` line each.
 */
import * as native from 'host';
import type { Host } from '../../../src/host.ts';
import { platform } from '@platform';

const host: Host = native;
function check(name: string, ok: boolean, detail: string): void {
  host.write(`CHECK ${name} ${ok ? 'ok' : 'FAIL'} ${detail}\n`);
}
function throwsRange(name: string, f: () => unknown, kind: typeof RangeError | typeof TypeError = RangeError): void {
  try {
    f();
    check(name, false, 'did not throw');
  } catch (e) {
    check(name, e instanceof kind, String(e));
  }
}

const uart = platform.machine.uart.base;
if (platform.machine.uart.kind === 'ns16550') {
  const lsr = host.mmioRead(uart + 5, 1); // ns16550 LSR: the transmitter is idle between lines
  check('mmio-read-uart', (lsr & 0x20) !== 0, `LSR 0x${lsr.toString(16)}`);
} else {
  const fr = host.mmioRead(uart + 0x18, 4); // PL011 UARTFR
  check('mmio-read-uart', (fr & ~0x1ff) === 0, `UARTFR 0x${fr.toString(16)}`);
}
throwsRange('mmio-outside-devices', () => host.mmioRead(platform.backend.ram.base, 4));
throwsRange('mmio-unaligned', () => host.mmioRead(uart + 0x19, 4));
throwsRange('mmio-bad-width', () => host.mmioRead(uart + 0x18, 3));
throwsRange('region-unknown', () => host.region('no-such-region'));
throwsRange('irq-timer-reserved', () => host.irqEnable(platform.machine.timerIntid));
throwsRange('irq-beyond-gic', () => host.irqEnable(5000));
throwsRange('remio-without-hypervisor', () => host.remio(0, 0, 2, 0, 0, 0, new Uint32Array(8)));
throwsRange('ipc-without-hypervisor', () => host.ipcNotify(0, 0));
const a = new Uint8Array(4096);
const b = new Uint8Array(4096);
host.entropy(a);
host.entropy(b);
let same = 0;
let zeros = 0;
for (let i = 0; i < a.length; i++) {
  if (a[i] === b[i]) same++;
  if (a[i] === 0) zeros++;
}
check('entropy-varies', same < 100 && zeros < 100, `${same} equal bytes between two draws, ${zeros} zero bytes`);
check('entropy-quality', host.entropyQuality === 'weak', `${host.entropyQuality} (cortex-a53 has no RNDR, the riscv64 firmware no seed CSR)`);
const region = new Uint8Array(host.region(`shmem:${platform.devices[0].name}`));
region[0] = 0xa5;
check('shmem-region', region.length === platform.devices[0].shmem.size && new Uint8Array(host.region(`shmem:${platform.devices[0].name}`))[0] === 0xa5,
  `${region.length} bytes, one view's write seen through another`);
// host.copy: between two buffers, overlapping inside one, and nothing outside either view
const src = new Uint8Array(64);
for (let i = 0; i < src.length; i++) src[i] = i + 1;
const dst = new Uint8Array(64);
host.copy!(dst, 5, src.subarray(8), 3, 20);
let copied = dst[4] === 0 && dst[25] === 0;
for (let i = 0; i < 20; i++) if (dst[5 + i] !== src[11 + i]) copied = false;
host.copy!(src, 2, src, 0, 10); // overlapping, forward
const overlap = src[2] === 1 && src[11] === 10 && src[0] === 1 && src[12] === 13;
check('copy-bytes', copied && overlap, `into an offset view ${copied}, overlapping ${overlap}`);
const before = dst.join(',');
throwsRange('copy-outside', () => host.copy!(dst, 60, src, 0, 8));
throwsRange('copy-negative', () => host.copy!(dst, 0, src, -1, 8));
check('copy-outside-untouched', dst.join(',') === before, 'a refused copy writes nothing');
// host.writeBytes(bytes, start, end): only the range reaches the UART (the dashes would spoil the CHECK line), a range outside throws
const line = '--CHECK writebytes-range ok only bytes[2, end - 2) written\n--';
const lineBytes = new Uint8Array(line.length);
for (let i = 0; i < line.length; i++) lineBytes[i] = line.charCodeAt(i);
host.writeBytes!(lineBytes, 2, line.length - 2);
throwsRange('writebytes-outside', () => host.writeBytes!(lineBytes, 4, line.length + 1));
throwsRange('writebytes-reversed', () => host.writeBytes!(lineBytes, 5, 4));
// host.remioDirect: only for a DM the remio loop serves, once, with a whole state array and functions
const client = { read: () => 0, write: () => false };
const state = new Uint32Array(6);
const fault = (): void => {};
const dm = platform.devices[0];
throwsRange('direct-unserved-dm', () => host.remioDirect!(dm.dmId, dm.window.base, dm.window.size, client, state, fault));
host.remioServe!(dm.dmId, dm.backendIntid, new Uint32Array(8), () => 0);
throwsRange('direct-short-state', () => host.remioDirect!(dm.dmId, dm.window.base, dm.window.size, client, new Uint32Array(5), fault));
throwsRange('direct-no-write', () => host.remioDirect!(dm.dmId, dm.window.base, dm.window.size, { read: () => 0 } as never, state, fault), TypeError);
throwsRange('direct-no-fault', () => host.remioDirect!(dm.dmId, dm.window.base, dm.window.size, client, state, 7 as never), TypeError);
check('direct-registered', host.remioDirect!(dm.dmId, dm.window.base, dm.window.size, client, state, fault) === true, 'a served DM takes one range');
throwsRange('direct-second-range', () => host.remioDirect!(dm.dmId, dm.window.base + dm.window.size, dm.window.size, client, state, fault));
// host.remioRaiser: a served DM's interrupt as a host function; in service it only marks NOTIFY, outside it sends (and counts) one
throwsRange('raiser-unserved-dm', () => host.remioRaiser!(platform.devices[1].dmId, new Uint32Array(6)));
throwsRange('raiser-short-state', () => host.remioRaiser!(dm.dmId, new Uint32Array(5)));
const words = new Uint32Array(6);
const raise = host.remioRaiser!(dm.dmId, words);
words[0] = 1;
raise();
check('raiser-in-service', words[1] === 1 && words[5] === 0, `NOTIFY word ${words[1]}, sent ${words[5]}`);
words[0] = 0;
words[1] = 0;
// outside a service it is a NOTIFY hypercall: refused without a hypervisor, as host.remio is
throwsRange('raiser-without-hypervisor', () => raise());
check('raiser-nothing-sent', words[1] === 0 && words[5] === 0, `NOTIFY word ${words[1]}, sent ${words[5]}`);
host.powerOff(0);
